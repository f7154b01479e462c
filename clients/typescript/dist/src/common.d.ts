import { type Client } from "@connectrpc/connect";
import type { FileService } from "./gen/datastudio/v1/file_pb.js";
import type { ReleaseService } from "./gen/datastudio/v1/release_pb.js";
import type { WorkspaceService } from "./gen/datastudio/v1/workspace_pb.js";
import { type BadRequest_FieldViolation, type ErrorInfo } from "./gen/google/rpc/error_details_pb.js";
export * from "./gen/datastudio/v1/common_pb.js";
export * from "./gen/datastudio/v1/file_pb.js";
export * from "./gen/datastudio/v1/release_pb.js";
export * from "./gen/datastudio/v1/workspace_pb.js";
/** google.rpc error details (BadRequest, ErrorInfo, RetryInfo, QuotaFailure, …). */
export * as rpc from "./gen/google/rpc/error_details_pb.js";
/** Connect clients for the gateway's three services, sharing one transport. */
export interface GatewayClients {
    releases: Client<typeof ReleaseService>;
    files: Client<typeof FileService>;
    workspaces: Client<typeof WorkspaceService>;
}
/** The field violations of an error's google.rpc.BadRequest details (none if it has none). */
export declare function fieldViolations(error: unknown): BadRequest_FieldViolation[];
/** An error's google.rpc.ErrorInfo detail (reason, domain, vendor metadata), if any. */
export declare function errorInfo(error: unknown): ErrorInfo | undefined;
