//! A gateway with a DataWorks workspace wired to the DataWorks emulator.

use std::time::Duration;

use datastudio_gateway::emulator::alibaba::{self, Handle};

use super::Gateway;

/// Workspace name used by these tests.
pub const WS: &str = "workspaces/dw";

pub struct AliEnv {
    pub gw: Gateway,
    pub emu: Handle,
}

/// Starts emulator + gateway; `flavour` is legacy or pipeline; `secret` is
/// what the gateway's secret file holds (the emulator accepts demo-sk).
pub async fn start_with(flavour: &str, secret: &str) -> AliEnv {
    let emu = emulator().await;
    let dir = super::secrets_dir(&[("ak", "demo-ak"), ("sk", secret), ("ptk", "page-token-key")]);
    let gw = gateway(&emu, dir, flavour, "").await;
    AliEnv { gw, emu }
}

/// The DataWorks emulator with quick deployments.
pub async fn emulator() -> Handle {
    alibaba::start(alibaba::Options { deploy_step: Duration::from_millis(300), ..Default::default() })
        .await
        .expect("emulator")
}

/// A gateway on `emu` whose files live in `dir` (secrets ak/sk/ptk, state
/// under dir/state); `extra` is appended to the workspace's YAML (indented
/// four spaces).
pub async fn gateway(emu: &Handle, dir: tempfile::TempDir, flavour: &str, extra: &str) -> Gateway {
    let d = dir.path().display().to_string();
    let yaml = format!(
        r#"
server:
  grpc_listen: 127.0.0.1:0
  admin_listen: 127.0.0.1:0
  page_token_key: {{ file: {d}/ptk }}
  state_dir: {d}/state
workspaces:
  dw:
    vendor: alibaba
    region: cn-hangzhou
    project_id: 10003
    flavour: {flavour}
    endpoints: {{ api: "{url}" }}
    credentials:
      access_key_id: {{ file: {d}/ak }}
      access_key_secret: {{ file: {d}/sk }}
{extra}
"#,
        url = emu.url()
    );
    super::start_yaml(&yaml, dir).await
}

pub async fn start() -> AliEnv {
    start_with("legacy", "demo-sk").await
}
