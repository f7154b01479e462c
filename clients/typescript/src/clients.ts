// The three clients over one transport; each entry (index.ts, web.ts) picks the transport.
// Not exported from the package.
import { createClient, type Transport } from "@connectrpc/connect";
import type { GatewayClients } from "./common.js";
import { FileService } from "./gen/datastudio/v1/file_pb.js";
import { ReleaseService } from "./gen/datastudio/v1/release_pb.js";
import { WorkspaceService } from "./gen/datastudio/v1/workspace_pb.js";

export function clientsOver(transport: Transport): GatewayClients {
  return {
    releases: createClient(ReleaseService, transport),
    files: createClient(FileService, transport),
    workspaces: createClient(WorkspaceService, transport),
  };
}
