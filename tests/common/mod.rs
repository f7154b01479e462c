//! Test harness: a real gateway on an ephemeral loopback port.
#![allow(dead_code)]

use std::path::PathBuf;

pub mod alibaba;
pub mod demo;
pub mod pki;
pub mod raw;
pub mod redis;

use datastudio_gateway::{cli::Listen, config::Config, gateway, pb, server::Running};
use tonic::transport::Channel;

/// A gateway running in this process.
pub struct Gateway {
    pub running: Option<Running>,
    pub channel: Channel,
    pub dir: tempfile::TempDir,
}

impl Gateway {
    pub fn release(&self) -> pb::release_service_client::ReleaseServiceClient<Channel> {
        pb::release_service_client::ReleaseServiceClient::new(self.channel.clone())
    }
    pub fn files(&self) -> pb::file_service_client::FileServiceClient<Channel> {
        pb::file_service_client::FileServiceClient::new(self.channel.clone())
    }
    pub fn workspaces(&self) -> pb::workspace_service_client::WorkspaceServiceClient<Channel> {
        pb::workspace_service_client::WorkspaceServiceClient::new(self.channel.clone())
    }
    pub fn grpc_addr(&self) -> std::net::SocketAddr {
        self.running.as_ref().expect("running").grpc_addr
    }
    pub fn admin_addr(&self) -> std::net::SocketAddr {
        self.running.as_ref().expect("running").admin_addr
    }
}

/// Writes `secrets` as files in a temp dir and returns it; `{dir}` in YAML
/// refers to it.
pub fn secrets_dir(secrets: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, value) in secrets {
        std::fs::write(dir.path().join(name), value).expect("write secret");
    }
    dir
}

/// A config with one workspace per vendor, credentials in files.
pub fn two_vendor_yaml(dir: &std::path::Path) -> String {
    let d = dir.display();
    format!(
        r#"
server:
  grpc_listen: 127.0.0.1:0
  admin_listen: 127.0.0.1:0
  shutdown_grace: 5s
  state_dir: {d}/state
workspaces:
  dw-test:
    vendor: alibaba
    region: cn-hangzhou
    project_id: 10003
    credentials:
      access_key_id: {{ file: {d}/ali_ak }}
      access_key_secret: {{ file: {d}/ali_sk }}
  da-test:
    vendor: huawei
    region: cn-north-4
    project_id: b384b9e9ab9b4ee8994c8633aabc9505
    workspace_id: ws-1234
    credentials:
      access_key_id: {{ file: {d}/hw_ak }}
      secret_access_key: {{ file: {d}/hw_sk }}
"#
    )
}

/// Starts a gateway for `yaml`.
pub async fn start_yaml(yaml: &str, dir: tempfile::TempDir) -> Gateway {
    datastudio_gateway::install_crypto_provider();
    let cfg = Config::from_yaml(yaml).expect("config parses");
    let problems = datastudio_gateway::config::check(&cfg);
    assert!(problems.is_empty(), "config problems: {problems:?}");
    let running = gateway::start(&cfg, &Listen { grpc_listen: None, admin_listen: None }).await.expect("start");
    let channel =
        Channel::from_shared(format!("http://{}", running.grpc_addr)).expect("uri").connect().await.expect("connect");
    Gateway { running: Some(running), channel, dir }
}

/// A gateway with the two-vendor config.
pub async fn start_default() -> Gateway {
    let dir = secrets_dir(&[("ali_ak", "ak-1"), ("ali_sk", "sk-1"), ("hw_ak", "ak-2"), ("hw_sk", "sk-2")]);
    let yaml = two_vendor_yaml(dir.path());
    start_yaml(&yaml, dir).await
}

/// The project's binary.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_datastudio-gateway"))
}

/// The google.rpc.BadRequest field names of a status.
pub fn violated_fields(s: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    s.get_details_bad_request().map(|b| b.field_violations.into_iter().map(|v| v.field).collect()).unwrap_or_default()
}

/// The google.rpc.ErrorInfo of a status.
pub fn error_info(s: &tonic::Status) -> Option<tonic_types::ErrorInfo> {
    use tonic_types::StatusExt;
    s.get_details_error_info()
}

/// The google.rpc.PreconditionFailure violations of a status: (type, subject).
pub fn unmet(s: &tonic::Status) -> Vec<(String, String)> {
    use tonic_types::StatusExt;
    s.get_details_precondition_failure()
        .map(|p| p.violations.into_iter().map(|v| (v.r#type, v.subject)).collect())
        .unwrap_or_default()
}
