// The browser page: the TypeScript client's browser entry
// (datastudio-gateway-client/web, installed from the folder above as a consumer
// would) over gRPC-Web, against the gateway named in the page's query
// (?gateway=http://127.0.0.1:50051). Writes what it got into #result, as JSON,
// and sets data-done.
import { createGatewayClients, errorInfo, fieldViolations } from "datastudio-gateway-client/web";

async function main(): Promise<unknown> {
  const gateway = new URL(location.href).searchParams.get("gateway") ?? "";
  const { releases } = createGatewayClients(gateway);
  const page = await releases.listReleasePackages({ parent: "workspaces/demo-dataworks", pageSize: 3 });
  let invalid: unknown = {};
  try {
    await releases.listReleasePackages({ parent: "workspaces/demo-dataworks", pageSize: -1 });
  } catch (e) {
    invalid = {
      code: (e as { code?: unknown }).code,
      fields: fieldViolations(e).map((v) => v.field),
      reason: errorInfo(e)?.reason,
    };
  }
  return {
    names: page.releasePackages.map((p) => p.name),
    nextPageToken: page.nextPageToken !== "",
    invalid,
  };
}

const out = document.getElementById("result")!;
main()
  .then((r) => (out.textContent = JSON.stringify({ ok: r })))
  .catch((e) => (out.textContent = JSON.stringify({ error: String(e) })))
  .finally(() => out.setAttribute("data-done", "1"));
