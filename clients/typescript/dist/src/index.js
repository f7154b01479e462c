// datastudio-gateway TypeScript client: the generated datastudio.v1 messages
// and service descriptors (protobuf-es v2), plus helpers that build Connect
// clients over gRPC (HTTP/2) and read google.rpc error details.
import { createClient, ConnectError } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { FileService } from "./gen/datastudio/v1/file_pb.js";
import { ReleaseService } from "./gen/datastudio/v1/release_pb.js";
import { WorkspaceService } from "./gen/datastudio/v1/workspace_pb.js";
import { BadRequestSchema, ErrorInfoSchema, } from "./gen/google/rpc/error_details_pb.js";
export * from "./gen/datastudio/v1/common_pb.js";
export * from "./gen/datastudio/v1/file_pb.js";
export * from "./gen/datastudio/v1/release_pb.js";
export * from "./gen/datastudio/v1/workspace_pb.js";
/** google.rpc error details (BadRequest, ErrorInfo, RetryInfo, QuotaFailure, …). */
export * as rpc from "./gen/google/rpc/error_details_pb.js";
/**
 * Connects to a gateway over gRPC, e.g. `createGatewayClients("http://localhost:50051")`.
 * Options are those of `createGrpcTransport` from @connectrpc/connect-node.
 */
export function createGatewayClients(baseUrl, options = {}) {
    const transport = createGrpcTransport({ ...options, baseUrl });
    return {
        releases: createClient(ReleaseService, transport),
        files: createClient(FileService, transport),
        workspaces: createClient(WorkspaceService, transport),
    };
}
/** The field violations of an error's google.rpc.BadRequest details (none if it has none). */
export function fieldViolations(error) {
    return ConnectError.from(error)
        .findDetails(BadRequestSchema)
        .flatMap((b) => b.fieldViolations);
}
/** An error's google.rpc.ErrorInfo detail (reason, domain, vendor metadata), if any. */
export function errorInfo(error) {
    return ConnectError.from(error).findDetails(ErrorInfoSchema)[0];
}
//# sourceMappingURL=index.js.map