// What both entries offer: the generated datastudio.v1 messages and service
// descriptors, google.rpc error details, and the error-detail readers. Loads
// no transport, so the browser entry (web.ts) can take it whole.
import { ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema, } from "./gen/google/rpc/error_details_pb.js";
export * from "./gen/datastudio/v1/common_pb.js";
export * from "./gen/datastudio/v1/file_pb.js";
export * from "./gen/datastudio/v1/release_pb.js";
export * from "./gen/datastudio/v1/workspace_pb.js";
/** google.rpc error details (BadRequest, ErrorInfo, RetryInfo, QuotaFailure, …). */
export * as rpc from "./gen/google/rpc/error_details_pb.js";
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
//# sourceMappingURL=common.js.map