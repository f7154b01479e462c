// datastudio-gateway TypeScript client for browsers ("datastudio-gateway-client/web"):
// what the Node entry (index.ts) offers, over gRPC-Web with fetch
// (@connectrpc/connect-web). The gateway speaks gRPC-Web on its gRPC port, not the
// Connect protocol. Nothing here or below loads a Node module, so bundlers take it
// for the browser as it is.
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { clientsOver } from "./clients.js";
export * from "./common.js";
/**
 * Connects to a gateway over gRPC-Web, e.g. `createGatewayClients("https://gateway.example.com")`.
 * A page on another origin needs that origin in the gateway's `server.cors_allowed_origins`.
 * Options are those of `createGrpcWebTransport` from @connectrpc/connect-web.
 */
export function createGatewayClients(baseUrl, options = {}) {
    return clientsOver(createGrpcWebTransport({ ...options, baseUrl }));
}
//# sourceMappingURL=web.js.map