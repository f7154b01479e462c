//! `demo` and `emulator`: the gateway wired to built-in vendor emulators
//! with seeded data, so a new user sees it work with no cloud account.

use std::{net::SocketAddr, path::Path, time::Duration};

use crate::{
    cli::Listen,
    config::Config,
    emulator::{alibaba, huawei},
    gateway, server,
};

/// The demo's DataWorks workspace.
pub const DEMO_ALIBABA: &str = "demo-dataworks";
/// The demo's DataArts Studio workspace.
pub const DEMO_HUAWEI: &str = "demo-dataarts";

/// Emulators started for a demo, with a gateway config pointing at them.
pub(crate) struct DemoVendors {
    /// DataWorks emulator.
    pub alibaba: alibaba::Handle,
    /// DataArts Studio emulator.
    pub huawei: huawei::Handle,
    /// The gateway config (credentials are files in `dir`).
    pub config: Config,
    /// Holds the credential files (kept alive, never read).
    pub _dir: tempfile::TempDir,
}

/// Starts the emulators on loopback and builds the demo config.
pub(crate) async fn vendors(deploy_step: Duration) -> anyhow::Result<DemoVendors> {
    let ali = alibaba::start(alibaba::Options { deploy_step, ..Default::default() }).await?;
    let hw_opts = huawei::Options { deploy_step, ..Default::default() };
    let hw = huawei::start(hw_opts.clone()).await?;
    let dir = tempfile::tempdir()?;
    let yaml = config_yaml(dir.path(), &ali.url(), &hw.url(), &hw_opts, None)?;
    let config = Config::from_yaml(&yaml).map_err(|e| anyhow::anyhow!("demo config: {e}"))?;
    Ok(DemoVendors { alibaba: ali, huawei: hw, config, _dir: dir })
}

/// Writes credential files into `d` and returns a gateway config (YAML) with
/// the workspaces [`DEMO_ALIBABA`] and [`DEMO_HUAWEI`] on emulators at
/// `ali_url` (default credentials) and `hw_url` (`hw`'s credentials, project
/// and workspace; one of the emulator's deployers approves the packages
/// DeployFiles creates). `rate_limit` overrides every vendor API's rate (the
/// benchmarks lift the limits to measure the hop, not the quota protection).
pub fn config_yaml(
    d: &Path,
    ali_url: &str,
    hw_url: &str,
    hw: &huawei::Options,
    rate_limit: Option<f64>,
) -> anyhow::Result<String> {
    let (ali_ak, ali_sk) = &alibaba::Options::default().credentials[0];
    let (hw_ak, hw_sk) = &hw.credentials[0];
    for (name, value) in [("ali_ak", ali_ak), ("ali_sk", ali_sk), ("hw_ak", hw_ak), ("hw_sk", hw_sk)] {
        std::fs::write(d.join(name), value)?;
    }
    std::fs::write(d.join("page_token_key"), uuid::Uuid::new_v4().to_string())?;
    let rates = rate_limit.map(|r| format!("\n    rate_limits: {{ default: {r} }}")).unwrap_or_default();
    Ok(format!(
        r#"
server:
  grpc_listen: 127.0.0.1:50051
  admin_listen: 127.0.0.1:9090
  shutdown_grace: 5s
  # a browser page from a front-end dev server on this machine (Vite's port)
  cors_allowed_origins: ["http://localhost:5173", "http://127.0.0.1:5173"]
  state_dir: {d}/state
  page_token_key: {{ file: {d}/page_token_key }}
workspaces:
  {DEMO_ALIBABA}:
    vendor: alibaba
    region: cn-hangzhou
    project_id: 10003
    endpoints: {{ api: "{ali_url}" }}
    credentials:
      access_key_id: {{ file: {d}/ali_ak }}
      access_key_secret: {{ file: {d}/ali_sk }}{rates}
  {DEMO_HUAWEI}:
    vendor: huawei
    region: cn-north-4
    project_id: {project}
    workspace_id: {workspace}
    approvers: [{approver}]
    endpoints: {{ factory: "{hw_url}", dlf: "{hw_url}", iam: "{hw_url}" }}
    credentials:
      access_key_id: {{ file: {d}/hw_ak }}
      secret_access_key: {{ file: {d}/hw_sk }}{rates}
"#,
        d = d.display(),
        project = hw.project_id,
        workspace = hw.workspace_id,
        approver = huawei::DEPLOYERS[0].1,
    ))
}

/// The `requestId` of the deploy the demo prints: fixed, so running the
/// printed command again follows the same deployment.
const DEMO_REQUEST_ID: &str = "d3b07384-d9a0-4c9b-8f3e-6a1f0c2b9e11";

/// Runs the demo until a signal.
pub async fn run(listen: &Listen) -> anyhow::Result<()> {
    let v = vendors(Duration::from_secs(3)).await?;
    let running = gateway::start(&v.config, listen).await?;
    let g = running.grpc_addr;
    println!("datastudio-gateway demo ready: grpc={g} admin={}", running.admin_addr);
    println!("DataWorks emulator at {}", v.alibaba.url());
    println!("DataArts Studio emulator at {}", v.huawei.url());
    println!("workspaces: {DEMO_ALIBABA} (Alibaba DataWorks), {DEMO_HUAWEI} (Huawei DataArts Studio)");
    println!();
    println!("Try (grpcurl: go install github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.3), on either workspace:");
    println!("  grpcurl -plaintext {g} datastudio.v1.WorkspaceService/ListWorkspaces");
    for (ws, file) in [(DEMO_ALIBABA, "100001"), (DEMO_HUAWEI, "script:etl-000")] {
        println!(
            "  grpcurl -plaintext -d '{{\"parent\":\"workspaces/{ws}\",\"page_size\":3}}' {g} datastudio.v1.ReleaseService/ListReleasePackages"
        );
        println!(
            "  grpcurl -plaintext -d '{{\"parent\":\"workspaces/{ws}/files/{file}\",\"page_size\":2}}' {g} datastudio.v1.FileService/ListFileVersions"
        );
    }
    println!("Or with this binary's command line (README \"Command line\"), deploying and following a file:");
    println!("  datastudio-gateway deploy files --addr {g} -w {DEMO_ALIBABA} 100004 --watch");
    println!();
    println!(
        "Or HTTP/JSON with curl (README \"HTTP/JSON and browsers\"): list, then deploy a file and follow it to its end"
    );
    println!("(the same requestId answers the same deployment: run it again to follow it again):");
    println!("  curl -sSf 'http://{g}/v1/workspaces/{DEMO_ALIBABA}/releasePackages?page_size=3'");
    println!("  curl -sSf 'http://{g}/v1/workspaces/{DEMO_HUAWEI}/files/script:etl-000/versions?page_size=2'");
    println!(
        "  name=$(curl -sSf -X POST -H 'content-type: application/json' -d '{{\"files\":[\"workspaces/{DEMO_ALIBABA}/files/100001\"],\"requestId\":\"{DEMO_REQUEST_ID}\"}}' http://{g}/v1/workspaces/{DEMO_ALIBABA}/files:deploy | sed -E 's/^[{{]\"deployments\":[[][{{]\"name\":\"([^\"]+)\".*/\\1/') && curl -sSfN \"http://{g}/v1/$name:watch\""
    );
    println!("Stop with Ctrl-C.");
    server::shutdown_signal().await;
    running.shutdown().await;
    Ok(())
}

/// Runs the emulators alone until a signal.
pub async fn emulators_only(alibaba_listen: SocketAddr, huawei_listen: SocketAddr) -> anyhow::Result<()> {
    let ali = alibaba::start(alibaba::Options { listen: alibaba_listen, ..Default::default() }).await?;
    let hw_opts = huawei::Options { listen: huawei_listen, ..Default::default() };
    let facts = format!(
        "access key {} / {}, IAM {}/{} password {}, project {}, workspace {}",
        hw_opts.credentials[0].0,
        hw_opts.credentials[0].1,
        hw_opts.iam_users[0].0,
        hw_opts.iam_users[0].1,
        hw_opts.iam_users[0].2,
        hw_opts.project_id,
        hw_opts.workspace_id
    );
    let hw = huawei::start(hw_opts).await?;
    println!("DataWorks emulator: {} (access key demo-ak / demo-sk, ProjectId 10003)", ali.url());
    println!("DataArts Studio emulator: {} ({facts})", hw.url());
    println!("control on both: POST /_emulator/faults, POST /_emulator/throttle, GET /_emulator/requests");
    server::shutdown_signal().await;
    Ok(())
}
