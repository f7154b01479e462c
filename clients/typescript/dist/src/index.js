// datastudio-gateway TypeScript client for Node: the generated datastudio.v1
// messages and service descriptors (protobuf-es v2), plus helpers that build
// Connect clients over gRPC (HTTP/2) and read google.rpc error details.
// Browsers import "datastudio-gateway-client/web" (web.ts): the same, over gRPC-Web.
import { createGrpcTransport } from "@connectrpc/connect-node";
import { clientsOver } from "./clients.js";
export * from "./common.js";
/**
 * Connects to a gateway over gRPC, e.g. `createGatewayClients("http://localhost:50051")`;
 * the three clients share one HTTP/2 connection.
 * Options are those of `createGrpcTransport` from @connectrpc/connect-node.
 */
export function createGatewayClients(baseUrl, options = {}) {
    return clientsOver(createGrpcTransport({ ...options, baseUrl }));
}
//# sourceMappingURL=index.js.map