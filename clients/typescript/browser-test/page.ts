// The browser page: the TypeScript client's generated ReleaseService over
// gRPC-Web (@connectrpc/connect-web), against the gateway named in the
// page's query (?gateway=http://127.0.0.1:50051). Writes what it got into
// #result, as JSON, and sets data-done.
import { ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { ReleaseService } from "../src/gen/datastudio/v1/release_pb.js";

async function main(): Promise<unknown> {
  const gateway = new URL(location.href).searchParams.get("gateway") ?? "";
  const releases = createClient(ReleaseService, createGrpcWebTransport({ baseUrl: gateway }));
  const page = await releases.listReleasePackages({ parent: "workspaces/demo-dataworks", pageSize: 3 });
  let invalid = "";
  try {
    await releases.listReleasePackages({ parent: "workspaces/demo-dataworks", pageSize: -1 });
  } catch (e) {
    invalid = ConnectError.from(e).code.toString();
  }
  return {
    names: page.releasePackages.map((p) => p.name),
    nextPageToken: page.nextPageToken !== "",
    invalidArgumentCode: invalid,
  };
}

const out = document.getElementById("result")!;
main()
  .then((r) => (out.textContent = JSON.stringify({ ok: r })))
  .catch((e) => (out.textContent = JSON.stringify({ error: String(e) })))
  .finally(() => out.setAttribute("data-done", "1"));
