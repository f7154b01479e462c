import { type GrpcTransportOptions } from "@connectrpc/connect-node";
import type { GatewayClients } from "./common.js";
export * from "./common.js";
/**
 * Connects to a gateway over gRPC, e.g. `createGatewayClients("http://localhost:50051")`;
 * the three clients share one HTTP/2 connection.
 * Options are those of `createGrpcTransport` from @connectrpc/connect-node.
 */
export declare function createGatewayClients(baseUrl: string, options?: Omit<GrpcTransportOptions, "baseUrl">): GatewayClients;
