// The three clients over one transport; each entry (index.ts, web.ts) picks the transport.
// Not exported from the package.
import { createClient } from "@connectrpc/connect";
import { FileService } from "./gen/datastudio/v1/file_pb.js";
import { ReleaseService } from "./gen/datastudio/v1/release_pb.js";
import { WorkspaceService } from "./gen/datastudio/v1/workspace_pb.js";
export function clientsOver(transport) {
    return {
        releases: createClient(ReleaseService, transport),
        files: createClient(FileService, transport),
        workspaces: createClient(WorkspaceService, transport),
    };
}
//# sourceMappingURL=clients.js.map