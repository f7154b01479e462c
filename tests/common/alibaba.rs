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
    let emu = alibaba::start(alibaba::Options { deploy_step: Duration::from_millis(300), ..Default::default() })
        .await
        .expect("emulator");
    let dir = super::secrets_dir(&[("ak", "demo-ak"), ("sk", secret), ("ptk", "page-token-key")]);
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
"#,
        url = emu.url()
    );
    let gw = super::start_yaml(&yaml, dir).await;
    AliEnv { gw, emu }
}

pub async fn start() -> AliEnv {
    start_with("legacy", "demo-sk").await
}
