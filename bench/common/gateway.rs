//! One gateway in the bench's process, for the limiter benches: a DataWorks
//! workspace `dw` on an emulator, with its own state and demo keys.

use std::path::Path;

use datastudio_gateway::{cli::Listen, config::Config, gateway, server::Running};
use tonic::transport::Channel;

/// A gateway on `emu_url`, its state and keys under `dir` (created when
/// missing); `limits` is the YAML of the limits block, `ws` extra workspace
/// YAML. The config is checked as `serve` would.
pub(crate) async fn gateway(dir: &Path, emu_url: &str, limits: &str, ws: &str) -> anyhow::Result<(Running, Channel)> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("ak"), "demo-ak")?;
    std::fs::write(dir.join("sk"), "demo-sk")?;
    let d = dir.display();
    let yaml = format!(
        "server: {{ grpc_listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0, state_dir: {d}/state }}\n{limits}\n\
         workspaces:\n  dw:\n    vendor: alibaba\n    region: cn-hangzhou\n    project_id: 10003\n{ws}\n    \
         endpoints: {{ api: \"{emu_url}\" }}\n    credentials:\n      access_key_id: {{ file: {d}/ak }}\n      \
         access_key_secret: {{ file: {d}/sk }}\n",
    );
    let cfg = Config::from_yaml(&yaml).map_err(|e| anyhow::anyhow!("{e}"))?;
    let problems = datastudio_gateway::config::check(&cfg);
    anyhow::ensure!(problems.is_empty(), "config problems: {problems:?}");
    let running = gateway::start(&cfg, &Listen { grpc_listen: None, admin_listen: None }).await?;
    let channel = Channel::from_shared(format!("http://{}", running.grpc_addr))?.connect().await?;
    Ok((running, channel))
}
