// The caller cookbook in TypeScript (Node, Connect over gRPC): each recipe is
// a small, complete flow against a gateway. scripts/clients-test.sh runs every
// recipe against demo gateways and checks what it prints; the README's
// "Caller cookbook" links here. Built with the package (tsc), run as
//
//   node dist/cookbook/cookbook.js deploy|retry|auth|roundrobin|errors
//
// Settings come from the environment (see README "Caller cookbook"). Connect
// has no gRPC service config: retries and balancing are the caller's code,
// as below.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import {
  createGatewayClients,
  DeploymentState,
  rpc,
  type GatewayClients,
} from "../src/index.js";

const env = (name: string, def = ""): string => process.env[name] || def;
const addr = (): string => env("DATASTUDIO_GATEWAY_ADDR", "localhost:50051");
const workspace = (): string => "workspaces/" + env("DATASTUDIO_WORKSPACE", "demo-dataworks");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Deploy with a request_id, repeat the call as a retry would (the gateway
// returns the first result and deploys nothing twice), then watch each
// deployment to its terminal state.
async function deploy(): Promise<void> {
  const { releases } = createGatewayClients(`http://${addr()}`);
  const req = {
    parent: workspace(),
    files: [`${workspace()}/files/${env("DATASTUDIO_DEPLOY_FILE", "100023")}`],
    comment: "cookbook",
    requestId: randomUUID(), // keep it for every retry of this deploy
  };
  const first = await releases.deployFiles(req, { timeoutMs: 60_000 });
  const again = await releases.deployFiles(req, { timeoutMs: 60_000 }); // a retry after a lost answer
  if (again.deployments[0].name !== first.deployments[0].name) {
    throw new Error("a repeated request_id started another deployment");
  }
  console.log("deploy: repeat with the same request_id -> same deployment");
  for (const d of first.deployments) {
    console.log(`deploy: request_id ${req.requestId} -> ${d.name}`);
    let last = "";
    // The server ends the stream after the terminal state.
    for await (const msg of releases.watchDeployment({ name: d.name }, { timeoutMs: 90_000 })) {
      last = DeploymentState[msg.deployment?.state ?? DeploymentState.UNSPECIFIED];
      console.log("watch:", last);
    }
    console.log("deploy: finished", last);
  }
}

/** The RetryInfo delay of an error, in milliseconds (0 when it has none). */
function retryDelayMs(err: ConnectError): number {
  const d = err.findDetails(rpc.RetryInfoSchema)[0]?.retryDelay;
  return d ? Number(d.seconds) * 1000 + Math.round(d.nanos / 1e6) : 0;
}

// Retries UNAVAILABLE and RESOURCE_EXHAUSTED after the server's RetryInfo
// delay plus up to 20 % of it at random (the gateway already spreads its
// delays; our own share keeps callers from aligning), else after exponential
// backoff with full jitter. Each attempt has its own deadline (timeoutMs).
async function withRetry<T>(
  name: string,
  call: (timeoutMs: number) => Promise<T>,
  attempts = 5,
): Promise<[T, number]> {
  let backoff = 200;
  for (let n = 1; ; n++) {
    try {
      return [await call(10_000), n];
    } catch (e) {
      const err = ConnectError.from(e);
      if (n === attempts || (err.code !== Code.Unavailable && err.code !== Code.ResourceExhausted)) throw err;
      const delay = retryDelayMs(err);
      const wait = delay ? delay + Math.random() * (delay / 5) : Math.random() * backoff;
      console.log(`${name}: attempt ${n} ${Code[err.code]}, RetryInfo ${delay} ms, waiting ${Math.round(wait)} ms`);
      await sleep(wait);
      backoff *= 2;
    }
  }
}

async function retry(): Promise<void> {
  const { files } = createGatewayClients(`http://${addr()}`);
  const [, attempts] = await withRetry("retry", (timeoutMs) =>
    files.getFile({ name: `${workspace()}/files/100001` }, { timeoutMs }),
  );
  console.log(`retry: ok after ${attempts} attempts`);
}

// A bearer token on every call, over TLS with a client certificate (mTLS).
async function auth(): Promise<void> {
  const tls = {
    ca: readFileSync(env("DATASTUDIO_TLS_CA")),
    cert: readFileSync(env("DATASTUDIO_TLS_CERT")),
    key: readFileSync(env("DATASTUDIO_TLS_KEY")),
  };
  const bearer: Interceptor = (next) => async (req) => {
    req.header.set("authorization", `Bearer ${env("DATASTUDIO_TOKEN")}`);
    return next(req);
  };
  const url = `https://${env("DATASTUDIO_SECURE_ADDR")}`;
  const req = { parent: workspace(), pageSize: 5 };
  const withToken = createGatewayClients(url, { nodeOptions: tls, interceptors: [bearer] });
  const resp = await withToken.releases.listReleasePackages(req, { timeoutMs: 30_000 });
  console.log(`auth: token over mTLS: ${resp.releasePackages.length} release packages`);
  // The certificate alone is another identity, which no policy names.
  const certOnly = createGatewayClients(url, { nodeOptions: tls });
  try {
    await certOnly.releases.listReleasePackages(req, { timeoutMs: 30_000 });
    console.log("auth: mTLS without the token: OK");
  } catch (e) {
    console.log("auth: mTLS without the token:", Code[ConnectError.from(e).code]);
  }
}

// Connect has no client-side balancing: keep one client per replica and take
// them in turn. In Kubernetes, list the chart's headless Service's addresses
// (dns.resolve of datastudio-gateway-headless.NAMESPACE.svc) the same way.
async function roundrobin(): Promise<void> {
  const replicas: GatewayClients[] = env("DATASTUDIO_REPLICAS")
    .split(",")
    .map((a) => createGatewayClients(`http://${a}`));
  const calls = 10;
  for (let i = 0; i < calls; i++) {
    await replicas[i % replicas.length].workspaces.listWorkspaces({}, { timeoutMs: 10_000 });
  }
  console.log(`roundrobin: ${calls} calls over ${replicas.length} replicas`);
}

// Every detail the gateway attaches, read from the error.
function printDetails(e: unknown): void {
  const err = ConnectError.from(e);
  console.log(`errors: ${Code[err.code]} ${JSON.stringify(err.rawMessage)}`);
  for (const d of err.findDetails(rpc.ErrorInfoSchema)) {
    console.log(`errors:   ErrorInfo reason=${d.reason} domain=${d.domain} metadata=${JSON.stringify(d.metadata)}`);
  }
  for (const v of err.findDetails(rpc.BadRequestSchema).flatMap((b) => b.fieldViolations)) {
    console.log(`errors:   BadRequest field=${v.field}: ${v.description}`);
  }
  for (const v of err.findDetails(rpc.PreconditionFailureSchema).flatMap((p) => p.violations)) {
    console.log(`errors:   PreconditionFailure type=${v.type} subject=${v.subject}`);
  }
  for (const v of err.findDetails(rpc.QuotaFailureSchema).flatMap((q) => q.violations)) {
    console.log(`errors:   QuotaFailure subject=${v.subject}: ${v.description}`);
  }
  if (err.findDetails(rpc.RetryInfoSchema).length) {
    console.log(`errors:   RetryInfo ${retryDelayMs(err)} ms`);
  }
}

async function errors(): Promise<void> {
  const { releases, files } = createGatewayClients(`http://${addr()}`);
  const calls = [
    () => releases.listReleasePackages({ parent: workspace(), pageSize: -1 }, { timeoutMs: 30_000 }),
    () =>
      releases.deployFiles(
        { parent: workspace(), files: [`${workspace()}/files/999999`], requestId: randomUUID() },
        { timeoutMs: 30_000 },
      ),
    () => files.getFile({ name: `${workspace()}/files/100001` }, { timeoutMs: 30_000 }),
  ];
  for (const call of calls) {
    try {
      await call();
      console.log("errors: OK");
    } catch (e) {
      printDetails(e);
    }
  }
}

const recipes: Record<string, () => Promise<void>> = { deploy, retry, auth, roundrobin, errors };
const recipe = recipes[process.argv[2] ?? ""];
if (process.argv.length !== 3 || !recipe) {
  console.error(`usage: cookbook.js ${Object.keys(recipes).join("|")}`);
  process.exit(2);
}
await recipe();
