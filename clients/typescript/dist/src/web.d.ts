import { type GrpcWebTransportOptions } from "@connectrpc/connect-web";
import type { GatewayClients } from "./common.js";
export * from "./common.js";
/**
 * Connects to a gateway over gRPC-Web, e.g. `createGatewayClients("https://gateway.example.com")`.
 * A page on another origin needs that origin in the gateway's `server.cors_allowed_origins`.
 * Options are those of `createGrpcWebTransport` from @connectrpc/connect-web.
 */
export declare function createGatewayClients(baseUrl: string, options?: Omit<GrpcWebTransportOptions, "baseUrl">): GatewayClients;
