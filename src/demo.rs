//! `demo` and `emulator`: the gateway wired to built-in vendor emulators
//! with seeded data, so a new user sees it work with no cloud account.

use std::{net::SocketAddr, time::Duration};

use crate::{cli::Listen, config::Config, emulator::alibaba, gateway, server};

/// The demo's DataWorks workspace.
pub const DEMO_ALIBABA: &str = "demo-dataworks";

/// Emulators started for a demo, with a gateway config pointing at them.
pub struct DemoVendors {
    /// DataWorks emulator.
    pub alibaba: alibaba::Handle,
    /// The gateway config (credentials are files in `dir`).
    pub config: Config,
    /// Holds the credential files.
    pub dir: tempfile::TempDir,
}

/// Starts the emulators on loopback and builds the demo config.
pub async fn vendors(deploy_step: Duration) -> anyhow::Result<DemoVendors> {
    let ali = alibaba::start(alibaba::Options { deploy_step, ..Default::default() }).await?;
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    std::fs::write(d.join("ali_ak"), "demo-ak")?;
    std::fs::write(d.join("ali_sk"), "demo-sk")?;
    let yaml = format!(
        r#"
server:
  grpc_listen: 127.0.0.1:50051
  admin_listen: 127.0.0.1:9090
  shutdown_grace: 5s
  state_dir: {d}/state
workspaces:
  {DEMO_ALIBABA}:
    vendor: alibaba
    region: cn-hangzhou
    project_id: 10003
    endpoints: {{ api: "{ali_url}" }}
    credentials:
      access_key_id: {{ file: {d}/ali_ak }}
      access_key_secret: {{ file: {d}/ali_sk }}
"#,
        d = d.display(),
        ali_url = ali.url(),
    );
    let config = Config::from_yaml(&yaml).map_err(|e| anyhow::anyhow!("demo config: {e}"))?;
    Ok(DemoVendors { alibaba: ali, config, dir })
}

/// Runs the demo until a signal.
pub async fn run(listen: &Listen) -> anyhow::Result<()> {
    let v = vendors(Duration::from_secs(3)).await?;
    let running = gateway::start(&v.config, listen).await?;
    let g = running.grpc_addr;
    println!("datastudio-gateway demo ready: grpc={g} admin={}", running.admin_addr);
    println!("DataWorks emulator at {}", v.alibaba.url());
    println!("workspaces: {DEMO_ALIBABA}");
    println!();
    println!("Try (grpcurl: go install github.com/fullstorydev/grpcurl/cmd/grpcurl@latest):");
    println!("  grpcurl -plaintext {g} datastudio.v1.WorkspaceService/ListWorkspaces");
    println!(
        "  grpcurl -plaintext -d '{{\"parent\":\"workspaces/{DEMO_ALIBABA}\",\"page_size\":3}}' {g} datastudio.v1.ReleaseService/ListReleasePackages"
    );
    println!(
        "  grpcurl -plaintext -d '{{\"parent\":\"workspaces/{DEMO_ALIBABA}/files/100001\",\"page_size\":2}}' {g} datastudio.v1.FileService/ListFileVersions"
    );
    println!("Stop with Ctrl-C.");
    server::shutdown_signal().await;
    running.shutdown().await;
    Ok(())
}

/// Runs the emulators alone until a signal.
pub async fn emulators_only(alibaba_listen: SocketAddr, huawei: SocketAddr) -> anyhow::Result<()> {
    let _ = huawei;
    let ali = alibaba::start(alibaba::Options { listen: alibaba_listen, ..Default::default() }).await?;
    println!("DataWorks emulator: {} (access key demo-ak / demo-sk, ProjectId 10003)", ali.url());
    println!("control: POST {}/_emulator/faults, POST /_emulator/throttle, GET /_emulator/requests", ali.url());
    server::shutdown_signal().await;
    Ok(())
}
