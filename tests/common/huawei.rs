//! DataArts harness: the emulator, and a real gateway whose `da-test`
//! workspace points every DataArts endpoint (factory, DLF, IAM) at it.
//! Include with `mod common; #[path = "common/huawei.rs"] mod hw;`.
#![allow(dead_code)]

use std::{sync::Arc, time::Duration};

use datastudio_gateway::{
    api::{Api, PageTokens},
    config::Config,
    deploy::Ledger,
    domain::{Router, Workspace},
    emulator::huawei::{self, Handle, Options},
    providers::{
        ProviderConfig,
        huawei::{HuaweiAdapter, auth::Clock},
    },
    server::{self, Settings},
};
use tonic::transport::Channel;

use crate::common::{Gateway, secrets_dir, start_yaml};

/// The workspace as callers name it.
pub const WS: &str = "workspaces/da-test";
/// The emulator's access key.
pub const AK: &str = "hw-ak-1";
/// Its secret.
pub const SK: &str = "hw-sk-secret-1";
/// IAM account, user and password the emulator accepts.
pub const IAM: (&str, &str, &str) = ("corp", "gateway", "iam-password-1");
/// How long emulated deploys take.
pub const DEPLOY_STEP: Duration = Duration::from_millis(300);

/// Credentials the gateway is configured with.
#[derive(Clone, Copy)]
pub enum Creds<'a> {
    /// AK/SK with this secret.
    Keys(&'a str),
    /// IAM password authentication with this password.
    Iam(&'a str),
}

/// The emulator and a gateway in front of it.
pub struct Hw {
    pub emu: Handle,
    pub gw: Gateway,
}

impl Hw {
    /// Vendor requests received so far.
    pub fn calls(&self) -> usize {
        self.emu.control.requests().len()
    }
    /// Vendor requests of `action` so far.
    pub fn count(&self, action: &str) -> usize {
        self.emu.control.count(action)
    }
}

/// Emulator options the tests use.
pub fn options() -> Options {
    Options {
        credentials: vec![(AK.into(), SK.into())],
        iam_users: vec![(IAM.0.into(), IAM.1.into(), IAM.2.into())],
        deploy_step: DEPLOY_STEP,
        ..Options::default()
    }
}

/// The approver the default harness configures: a deployer of the emulator.
pub const APPROVER: &str = huawei::DEPLOYERS[0].1;

/// The gateway config for a DataArts workspace at `url`, secrets in `dir`,
/// with `approvers` (none: DeployFiles is unavailable).
pub fn yaml(dir: &std::path::Path, url: &str, creds: Creds, approvers: &[&str]) -> String {
    let d = dir.display();
    let credentials = match creds {
        Creds::Keys(_) => {
            format!("access_key_id: {{ file: {d}/hw_ak }}\n      secret_access_key: {{ file: {d}/hw_sk }}")
        }
        Creds::Iam(_) => {
            format!("iam: {{ domain_name: {}, user_name: {}, password: {{ file: {d}/hw_pw }} }}", IAM.0, IAM.1)
        }
    };
    let approvers = if approvers.is_empty() {
        String::new()
    } else {
        let quoted: Vec<String> = approvers.iter().map(|a| format!("{a:?}")).collect();
        format!("\n    approvers: [{}]", quoted.join(", "))
    };
    format!(
        r#"
server:
  grpc_listen: 127.0.0.1:0
  admin_listen: 127.0.0.1:0
  shutdown_grace: 5s
  state_dir: {d}/state
workspaces:
  da-test:
    vendor: huawei
    region: cn-north-4
    project_id: b384b9e9ab9b4ee8994c8633aabc9505
    workspace_id: ws-1234{approvers}
    endpoints: {{ factory: "{url}", dlf: "{url}", iam: "{url}" }}
    credentials:
      {credentials}
"#
    )
}

fn secrets(creds: Creds) -> tempfile::TempDir {
    match creds {
        Creds::Keys(sk) => secrets_dir(&[("hw_ak", AK), ("hw_sk", sk)]),
        Creds::Iam(pw) => secrets_dir(&[("hw_pw", pw)]),
    }
}

/// Emulator + gateway with the right access keys and [`APPROVER`].
pub async fn start() -> Hw {
    start_configured(options(), Creds::Keys(SK), &[APPROVER]).await
}

/// Emulator + gateway with chosen options and credentials, without
/// approvers (no start-up call; DeployFiles unavailable).
pub async fn start_with(opts: Options, creds: Creds<'_>) -> Hw {
    start_configured(opts, creds, &[]).await
}

/// Emulator + gateway with chosen options, credentials and approvers.
pub async fn start_configured(opts: Options, creds: Creds<'_>, approvers: &[&str]) -> Hw {
    let emu = huawei::start(opts).await.expect("emulator starts");
    let dir = secrets(creds);
    let yaml = yaml(dir.path(), &emu.url(), creds, approvers);
    let gw = start_yaml(&yaml, dir).await;
    Hw { emu, gw }
}

/// Emulator + gateway whose adapter reads `clock` (IAM token expiry); the
/// adapter is returned too.
pub async fn start_with_clock(creds: Creds<'_>, clock: Arc<dyn Clock>) -> (Hw, Arc<HuaweiAdapter>) {
    datastudio_gateway::install_crypto_provider();
    let emu = huawei::start(options()).await.expect("emulator starts");
    let dir = secrets(creds);
    let cfg = Config::from_yaml(&yaml(dir.path(), &emu.url(), creds, &[])).expect("config");
    let ws = &cfg.workspaces["da-test"];
    let ProviderConfig::Huawei(hw) = &ws.provider else { panic!("da-test is a huawei workspace") };
    let shared = datastudio_gateway::providers::client::Shared::new(&cfg);
    let adapter = Arc::new(HuaweiAdapter::with_clock("da-test", ws, hw, &shared, clock).expect("adapter"));
    let project = hw.project_id.clone().unwrap_or_default();
    let router = Router::new([Workspace::new("da-test", &ws.region, &project, true, adapter.clone())]);
    let running = server::start(
        &Settings::from(&cfg.server),
        Api::new(router, PageTokens::random(), Ledger::in_memory(cfg.limits.idempotency_ttl)),
    )
    .await
    .expect("start");
    let channel =
        Channel::from_shared(format!("http://{}", running.grpc_addr)).expect("uri").connect().await.expect("connect");
    (Hw { emu, gw: Gateway { running: Some(running), channel, dir } }, adapter)
}

/// `workspaces/da-test/{collection}/{id}`.
pub fn name(collection: &str, id: impl std::fmt::Display) -> String {
    format!("{WS}/{collection}/{id}")
}

/// The ErrorInfo metadata value `key`.
pub fn meta(s: &tonic::Status, key: &str) -> String {
    crate::common::error_info(s).and_then(|i| i.metadata.get(key).cloned()).unwrap_or_default()
}

/// The ErrorInfo reason.
pub fn reason(s: &tonic::Status) -> String {
    crate::common::error_info(s).map(|i| i.reason).unwrap_or_default()
}
