// The generated TypeScript client against a running gateway: the Node entry over
// gRPC, and the browser entry (./web) over gRPC-Web with Node's fetch (the browser
// itself: scripts/browser-test.sh).
// scripts/clients-test.sh starts a demo gateway and sets DATASTUDIO_GATEWAY_ADDR;
// without it these tests are skipped, unless DATASTUDIO_GATEWAY_REQUIRED=1
// makes that a failure.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { equals } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { Http2SessionManager } from "@connectrpc/connect-node";
import {
  createGatewayClients,
  DeployFilesResponseSchema,
  DeploymentState,
  errorInfo,
  fieldViolations,
  Vendor,
} from "../src/index.js";
import * as web from "../src/web.js";

const addr = process.env.DATASTUDIO_GATEWAY_ADDR ?? "";
if (!addr && process.env.DATASTUDIO_GATEWAY_REQUIRED === "1") {
  throw new Error("DATASTUDIO_GATEWAY_ADDR is not set");
}
const workspace = `workspaces/${process.env.DATASTUDIO_WORKSPACE || "demo-dataworks"}`;
const terminal = new Set([
  DeploymentState.SUCCEEDED,
  DeploymentState.FAILED,
  DeploymentState.CANCELLED,
]);

describe("datastudio-gateway TypeScript client", { skip: addr ? false : "DATASTUDIO_GATEWAY_ADDR is not set" }, () => {
  const baseUrl = `http://${addr}`;
  // An explicit session manager, so the test can close the connection.
  const sessionManager = new Http2SessionManager(baseUrl);
  const { releases, files } = createGatewayClients(baseUrl, { sessionManager });
  after(() => sessionManager.abort());

  test("lists release packages across pages with a filter", async () => {
    const keyword = "hotfix";
    const seen = new Set<string>();
    let pages = 0;
    let pageToken = "";
    let totalSize = 0;
    do {
      const page = await releases.listReleasePackages(
        { parent: workspace, pageSize: 25, keyword, pageToken },
        { timeoutMs: 30_000 },
      );
      pages++;
      totalSize = page.totalSize;
      assert.ok(page.releasePackages.length <= 25);
      for (const p of page.releasePackages) {
        assert.ok(!seen.has(p.name), `returned twice: ${p.name}`);
        seen.add(p.name);
        assert.ok(p.displayName.toLowerCase().includes(keyword), `${p.name} (${p.displayName})`);
        assert.ok(p.name.startsWith(`${workspace}/releasePackages/`), p.name);
      }
      pageToken = page.nextPageToken;
      assert.ok(pages < 100, "more than 100 pages");
    } while (pageToken !== "");
    assert.ok(pages >= 2, `want at least 2 pages, got ${pages}`);
    assert.equal(seen.size, totalSize);
  });

  test("gets a release package", async () => {
    const [listed] = (await releases.listReleasePackages({ parent: workspace, pageSize: 1 })).releasePackages;
    assert.ok(listed);
    const got = (await releases.getReleasePackage({ name: listed.name }, { timeoutMs: 30_000 })).releasePackage;
    assert.ok(got);
    assert.equal(got.name, listed.name);
    assert.equal(got.displayName, listed.displayName);
    assert.equal(got.state, listed.state);
    assert.notEqual(got.vendor, Vendor.UNSPECIFIED);
  });

  test("lists files", async () => {
    const page = await files.listFiles({ parent: workspace, pageSize: 10 }, { timeoutMs: 30_000 });
    assert.ok(page.files.length >= 1 && page.files.length <= 10);
    assert.notEqual(page.nextPageToken, "", "expected more than one page of files");
    for (const f of page.files) {
      assert.ok(f.name.startsWith(`${workspace}/files/`), f.name);
      assert.notEqual(f.displayName, "");
    }
  });

  test("lists a file's versions", async () => {
    const parent = `${workspace}/files/${process.env.DATASTUDIO_VERSIONED_FILE || "100001"}`;
    const { fileVersions } = await files.listFileVersions({ parent, pageSize: 100 }, { timeoutMs: 30_000 });
    assert.ok(fileVersions.length >= 2, `want several versions, got ${fileVersions.length}`);
    fileVersions.forEach((v, i) => {
      assert.equal(v.name, `${parent}/versions/${v.version}`);
      if (i > 0) assert.ok(v.version < fileVersions[i - 1]!.version, "not newest first");
    });
  });

  test("deploys files idempotently and watches the deployment to its end", async () => {
    const request = {
      parent: workspace,
      files: [`${workspace}/files/${process.env.DATASTUDIO_DEPLOY_FILE || "100041"}`],
      comment: "typescript client test",
      requestId: randomUUID(),
    };
    const first = await releases.deployFiles(request, { timeoutMs: 60_000 });
    assert.ok(first.deployments.length > 0, "no deployment");
    const again = await releases.deployFiles(request, { timeoutMs: 60_000 });
    assert.ok(equals(DeployFilesResponseSchema, first, again), "a repeat with the same request_id must return the first result");
    for (const d of first.deployments) {
      assert.equal(d.requestId, request.requestId);
      const states: DeploymentState[] = [];
      for await (const msg of releases.watchDeployment({ name: d.name }, { timeoutMs: 90_000 })) {
        assert.equal(msg.deployment?.name, d.name);
        assert.ok(!(states.length > 0 && terminal.has(states.at(-1)!)), `message after a terminal state: ${states}`);
        states.push(msg.deployment?.state ?? DeploymentState.UNSPECIFIED);
      }
      const last = states.at(-1);
      assert.ok(last !== undefined && terminal.has(last), `stream ended without a terminal state: ${states}`);
      assert.equal(DeploymentState[last], DeploymentState[DeploymentState.SUCCEEDED]);
    }
  });

  test("rejects a bad page_size with INVALID_ARGUMENT and a BadRequest naming it", async () => {
    const error = await releases
      .listReleasePackages({ parent: workspace, pageSize: 1000 }, { timeoutMs: 30_000 })
      .then(() => assert.fail("page_size 1000 was accepted"), (e: unknown) => e);
    assert.ok(error instanceof ConnectError, String(error));
    assert.equal(Code[error.code], Code[Code.InvalidArgument]);
    const violations = fieldViolations(error);
    assert.deepEqual(violations.map((v) => v.field), ["page_size"]);
    assert.ok(violations.every((v) => v.description !== ""));
    assert.ok(errorInfo(error)?.reason, "no ErrorInfo reason");
  });
});

describe("the browser entry (./web) over gRPC-Web", { skip: addr ? false : "DATASTUDIO_GATEWAY_ADDR is not set" }, () => {
  const { releases, workspaces } = web.createGatewayClients(`http://${addr}`);

  test("lists release packages and gets the workspace", async () => {
    const page = await releases.listReleasePackages({ parent: workspace, pageSize: 3 }, { timeoutMs: 30_000 });
    assert.equal(page.releasePackages.length, 3);
    for (const p of page.releasePackages) assert.ok(p.name.startsWith(`${workspace}/releasePackages/`), p.name);
    const got = (await workspaces.getWorkspace({ name: workspace }, { timeoutMs: 30_000 })).workspace;
    assert.equal(got?.name, workspace);
    assert.notEqual(got?.vendor, Vendor.UNSPECIFIED);
  });

  test("reads INVALID_ARGUMENT with its BadRequest and ErrorInfo from the gRPC-Web trailers", async () => {
    const error = await releases
      .listReleasePackages({ parent: workspace, pageSize: -1 }, { timeoutMs: 30_000 })
      .then(() => assert.fail("page_size -1 was accepted"), (e: unknown) => e);
    assert.ok(error instanceof ConnectError, String(error));
    assert.equal(Code[error.code], Code[Code.InvalidArgument]);
    assert.deepEqual(web.fieldViolations(error).map((v) => v.field), ["page_size"]);
    assert.equal(web.errorInfo(error)?.reason, "INVALID_ARGUMENT");
  });
});
