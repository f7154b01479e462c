//! Workspaces without long-lived keys, against the emulators: Alibaba RRSA
//! (the pod's token exchanged with STS AssumeRoleWithOIDC) and Huawei
//! workload identity (the token exchanged with IAM). Each serves the RPCs,
//! refreshes its keys ahead of expiry (a manual clock moves), survives keys
//! the vendor expires early and a token file the kubelet rotated, keeps old
//! keys through a failed refresh, refuses a wrong token with an error that
//! names the workspace and the setting — and no token or key reaches the
//! logs.

mod common;

use std::{
    path::Path,
    sync::Arc,
    time::{Duration, SystemTime},
};

use datastudio_gateway::{
    api::{Api, PageTokens},
    config::Config,
    deploy::Ledger,
    domain::{Router, Workspace},
    emulator::{
        alibaba::{self, RRSA_AUDIENCE, Rrsa},
        common::{DEMO_ISSUER, Fault, FaultRule, OidcIssuer},
        huawei::{self, WorkloadIdentity},
    },
    pb,
    providers::{ProviderConfig, alibaba as ali, client::Shared, credentials::ManualClock},
    server::{self, Settings},
    telemetry::{otlp, testing},
};
use tonic::{Code, transport::Channel};

use common::Gateway;

const ROLE: &str = "acs:ram::1000000000000001:role/datastudio-gateway";
const PROVIDER: &str = "acs:ram::1000000000000001:oidc-provider/ack-rrsa-demo";
const SUBJECT: &str = "system:serviceaccount:datastudio:datastudio-gateway";
const STS: &str = "AssumeRoleWithOIDC";

fn logs() -> &'static testing::Capture {
    testing::capture_with(otlp::Settings::default())
}

fn hour() -> SystemTime {
    SystemTime::now() + Duration::from_secs(3600)
}

/// The DataWorks emulator with STS trusting `issuer`'s tokens for [`SUBJECT`].
async fn alibaba_emulator(issuer: &Arc<OidcIssuer>) -> alibaba::Handle {
    let rrsa = Rrsa { issuer: issuer.clone(), ..Rrsa::default() };
    alibaba::start(alibaba::Options { deploy_step: Duration::from_millis(300), rrsa, ..Default::default() })
        .await
        .expect("emulator")
}

/// A DataWorks workspace `ws` on RRSA, its token in `{d}/token`.
fn alibaba_yaml(d: &Path, url: &str, ws: &str) -> String {
    let d = d.display();
    format!(
        r#"
server:
  grpc_listen: 127.0.0.1:0
  admin_listen: 127.0.0.1:0
  state_dir: {d}/state
workspaces:
  {ws}:
    vendor: alibaba
    region: cn-hangzhou
    project_id: 10003
    endpoints: {{ api: "{url}", sts: "{url}" }}
    credentials:
      rrsa:
        role_arn: {ROLE}
        oidc_provider_arn: {PROVIDER}
        token_file: {d}/token
"#
    )
}

/// A gateway whose only workspace is built from `yaml` with `clock`.
async fn gateway_with_clock(yaml: &str, dir: tempfile::TempDir, clock: Arc<ManualClock>) -> Gateway {
    datastudio_gateway::install_crypto_provider();
    let cfg = Config::from_yaml(yaml).expect("config");
    assert_eq!(datastudio_gateway::config::check(&cfg), vec![], "the config checks out");
    let shared = Shared::new(&cfg);
    let mut list = Vec::new();
    for (name, ws) in &cfg.workspaces {
        let (adapter, project) = match &ws.provider {
            ProviderConfig::Alibaba(c) => (
                ali::build_with_clock(name, ws, c, &shared, clock.clone()).expect("adapter"),
                c.project_id.clone().unwrap_or_default(),
            ),
            ProviderConfig::Huawei(c) => (
                Arc::new(
                    datastudio_gateway::providers::huawei::HuaweiAdapter::with_clock(
                        name,
                        ws,
                        c,
                        &shared,
                        clock.clone(),
                    )
                    .expect("adapter"),
                ) as Arc<dyn datastudio_gateway::domain::Adapter>,
                c.project_id.clone().unwrap_or_default(),
            ),
            other => panic!("not a keyless vendor: {other:?}"),
        };
        list.push(Workspace::new(name, &ws.region, &project, true, adapter));
    }
    let api = Api::new(Router::new(list), PageTokens::random(), Ledger::in_memory(cfg.limits.idempotency_ttl));
    let running = server::start(&Settings::from(&cfg.server), api).await.expect("start");
    let channel =
        Channel::from_shared(format!("http://{}", running.grpc_addr)).expect("uri").connect().await.expect("connect");
    Gateway { running: Some(running), channel, dir }
}

/// Every read RPC once on workspace `ws` (`workspaces/{name}`), reading the
/// versions of file `file` `versions_page` at a time.
async fn reads(gw: &Gateway, ws: &str, file: &str, versions_page: i32) {
    let packages = gw
        .release()
        .list_release_packages(pb::ListReleasePackagesRequest { parent: ws.into(), page_size: 5, ..Default::default() })
        .await
        .expect("ListReleasePackages")
        .into_inner();
    let first = packages.release_packages.first().expect("a package").name.clone();
    gw.release().get_release_package(pb::GetReleasePackageRequest { name: first, view: 0 }).await.expect("package");
    let files = gw
        .files()
        .list_files(pb::ListFilesRequest { parent: ws.into(), page_size: 5, ..Default::default() })
        .await
        .expect("ListFiles")
        .into_inner();
    assert!(!files.files.is_empty());
    let file = format!("{ws}/files/{file}");
    gw.files().get_file(pb::GetFileRequest { name: file.clone(), view: 0 }).await.expect("GetFile");
    let versions = gw
        .files()
        .list_file_versions(pb::ListFileVersionsRequest {
            parent: file.clone(),
            page_size: versions_page,
            ..Default::default()
        })
        .await
        .expect("ListFileVersions")
        .into_inner();
    let v = versions.file_versions.first().expect("a version").name.clone();
    gw.files().get_file_version(pb::GetFileVersionRequest { name: v, view: 0 }).await.expect("GetFileVersion");
    gw.workspaces().get_workspace(pb::GetWorkspaceRequest { name: ws.into() }).await.expect("GetWorkspace");
}

/// Every read RPC once on DataWorks workspace `ws`.
async fn alibaba_reads(gw: &Gateway, ws: &str) {
    reads(gw, ws, "100001", 5).await;
}

async fn metrics(gw: &Gateway) -> String {
    reqwest::get(format!("http://{}/metrics", gw.admin_addr())).await.unwrap().text().await.unwrap()
}

#[tokio::test]
async fn rrsa_serves_every_rpc_refreshes_ahead_and_survives_expiry_and_rotation() {
    let cap = logs();
    let issuer = OidcIssuer::new(DEMO_ISSUER, b"cluster-key-1");
    let emu = alibaba_emulator(&issuer).await;
    let dir = common::secrets_dir(&[]);
    let (first, first_id) = issuer.mint(SUBJECT, RRSA_AUDIENCE, hour());
    std::fs::write(dir.path().join("token"), &first).unwrap();
    let clock = ManualClock::new(SystemTime::now());
    let yaml = alibaba_yaml(dir.path(), &emu.url(), "dw");
    const WS: &str = "workspaces/dw";
    let gw = gateway_with_clock(&yaml, dir, clock.clone()).await;
    let sts = || emu.control.count(STS);

    alibaba_reads(&gw, WS).await;
    let deployed = gw
        .release()
        .deploy_files(pb::DeployFilesRequest {
            parent: WS.into(),
            files: vec![format!("{WS}/files/100001")],
            comment: "keyless".into(),
            request_id: uuid::Uuid::new_v4().to_string(),
            ..Default::default()
        })
        .await
        .expect("DeployFiles")
        .into_inner();
    let mut watch = gw
        .release()
        .watch_deployment(pb::WatchDeploymentRequest { name: deployed.deployments[0].name.clone(), view: 0 })
        .await
        .unwrap()
        .into_inner();
    let mut last = None;
    while let Some(m) = watch.message().await.unwrap() {
        last = m.deployment;
    }
    assert_eq!(last.unwrap().state(), pb::DeploymentState::Succeeded);
    assert_eq!(sts(), 1, "one exchange for every call while the keys are fresh");
    assert_eq!(issuer.accepted(), vec![first_id.clone()]);
    let refused = |c: &datastudio_gateway::emulator::common::Recorded| c.status >= 400;
    assert!(!emu.control.requests().iter().any(refused), "no vendor refusal");

    // 45 minutes on, 15 before Expiration: refreshed before use.
    clock.advance(Duration::from_secs(45 * 60));
    alibaba_reads(&gw, WS).await;
    assert_eq!(sts(), 2, "refreshed ahead of expiry");
    assert!(!emu.control.requests().iter().any(refused), "the old keys were never refused");

    // The kubelet rotated the token, and STS's keys expire early.
    let (second, second_id) = issuer.mint(SUBJECT, RRSA_AUDIENCE, hour());
    std::fs::write(gw.dir.path().join("token"), &second).unwrap();
    emu.control.expire_issued_credentials();
    alibaba_reads(&gw, WS).await;
    assert_eq!(sts(), 3, "exchanged again once DataWorks refused the expired keys");
    assert_eq!(issuer.accepted().last(), Some(&second_id), "the rotated token was read");
    let expired =
        emu.control.requests().iter().filter(|r| r.code.as_deref() == Some("InvalidSecurityToken.Expired")).count();
    assert_eq!(expired, 1, "one refused call, sent again with new keys");

    // STS fails while the keys are due: the old keys serve, the exchange
    // waits for its backoff.
    clock.advance(Duration::from_secs(45 * 60));
    emu.control.inject(FaultRule { action: STS.into(), fault: Fault::Status { status: 503 }, times: 100 });
    let before = sts();
    alibaba_reads(&gw, WS).await;
    let failed = sts() - before;
    assert!(failed >= 1, "the refresh was tried");
    alibaba_reads(&gw, WS).await;
    assert_eq!(sts() - before, failed, "no exchange during the backoff: the old keys serve");
    emu.control.clear_faults();
    clock.advance(Duration::from_secs(5));
    alibaba_reads(&gw, WS).await;
    assert_eq!(sts() - before, failed + 1, "after the backoff the refresh succeeds");

    let m = metrics(&gw).await;
    assert!(
        m.contains(r#"datastudio_credential_refreshes_total{vendor="alibaba",workspace="dw",outcome="ok"} 4"#),
        "{m}"
    );
    assert!(m.contains(r#"datastudio_credential_refreshes_total{vendor="alibaba",workspace="dw",outcome="failed"} 1"#));

    let logs = cap.logs();
    for secret in [first.as_str(), second.as_str(), "CAIS", "STSsecret"] {
        assert!(!logs.contains(secret), "a secret reached the logs");
    }
    assert!(logs.contains("vendor credentials refreshed"), "refreshes are logged");
}

#[tokio::test]
async fn a_wrong_or_missing_token_is_refused_naming_the_workspace_and_setting() {
    let cap = logs();
    let issuer = OidcIssuer::new(DEMO_ISSUER, b"cluster-key-1");
    let emu = alibaba_emulator(&issuer).await;
    let dir = common::secrets_dir(&[]);
    let (foreign, _) = OidcIssuer::new(DEMO_ISSUER, b"another-cluster").mint(SUBJECT, RRSA_AUDIENCE, hour());
    std::fs::write(dir.path().join("token"), &foreign).unwrap();
    let clock = ManualClock::new(SystemTime::now());
    let yaml = alibaba_yaml(dir.path(), &emu.url(), "dw-wrong");
    const WS: &str = "workspaces/dw-wrong";
    let gw = gateway_with_clock(&yaml, dir, clock.clone()).await;
    let list = || pb::ListFilesRequest { parent: WS.into(), page_size: 5, ..Default::default() };

    let e = gw.files().list_files(list()).await.unwrap_err();
    assert_eq!(e.code(), Code::Internal);
    let info = common::error_info(&e).expect("ErrorInfo");
    assert_eq!(info.reason, "VENDOR_AUTH_FAILED");
    assert_eq!(info.metadata["vendor_code"], "AuthenticationFail.OIDCToken.Invalid");
    for part in ["workspace dw-wrong", "credentials.rrsa", ROLE, "AuthenticationFail.OIDCToken.Invalid"] {
        assert!(e.message().contains(part), "{part:?} in {}", e.message());
    }
    assert_eq!(emu.control.count(STS), 1, "a refusal is not retried");
    assert_eq!(emu.control.count("ListFiles"), 0, "nothing reached DataWorks");

    // A token for another audience, once the backoff has passed.
    let (wrong_aud, _) = issuer.mint(SUBJECT, "someone-else", hour());
    std::fs::write(gw.dir.path().join("token"), &wrong_aud).unwrap();
    clock.advance(Duration::from_secs(5));
    let e = gw.files().list_files(list()).await.unwrap_err();
    assert_eq!(
        common::error_info(&e).unwrap().metadata["vendor_code"],
        "AuthenticationFail.OIDCToken.AudienceNotMatch"
    );

    // No token file: the setting and the file are named, nothing is sent.
    std::fs::remove_file(gw.dir.path().join("token")).unwrap();
    clock.advance(Duration::from_secs(10));
    let sent = emu.control.requests().len();
    let e = gw.files().list_files(list()).await.unwrap_err();
    assert_eq!(e.code(), Code::Internal);
    assert_eq!(common::error_info(&e).unwrap().reason, "CREDENTIALS_UNAVAILABLE");
    assert!(e.message().contains("workspace dw-wrong: credentials.rrsa.token_file"), "{}", e.message());
    assert_eq!(emu.control.requests().len(), sent);

    // A right token again: served.
    let (good, _) = issuer.mint(SUBJECT, RRSA_AUDIENCE, hour());
    std::fs::write(gw.dir.path().join("token"), &good).unwrap();
    clock.advance(Duration::from_secs(20));
    gw.files().list_files(list()).await.expect("served with a good token");

    let m = metrics(&gw).await;
    assert!(
        m.contains(
            r#"datastudio_credential_refreshes_total{vendor="alibaba",workspace="dw-wrong",outcome="refused"} 2"#
        ),
        "{m}"
    );
    let logs = cap.logs();
    for secret in [foreign.as_str(), wrong_aud.as_str(), good.as_str()] {
        assert!(!logs.contains(secret), "a token reached the logs");
    }
}

// ---------- Huawei Cloud: CCE workload identity ----------

const CLIENT_ID: &str = "datastudio-gateway";
const ID_TOKENS: &str = "iam.id-tokens";
const SECURITY_TOKENS: &str = "iam.securitytokens";

/// The DataArts emulator whose IAM trusts `issuer`'s tokens for [`SUBJECT`].
async fn huawei_emulator(issuer: &Arc<OidcIssuer>) -> huawei::Handle {
    let workload_identity = WorkloadIdentity { issuer: issuer.clone(), ..WorkloadIdentity::default() };
    huawei::start(huawei::Options { deploy_step: Duration::from_millis(300), workload_identity, ..Default::default() })
        .await
        .expect("emulator")
}

/// A DataArts workspace `ws` on workload identity, its token in `{d}/token`;
/// `sign_with` is the YAML of that setting (and its duration).
fn huawei_yaml(d: &Path, url: &str, ws: &str, sign_with: &str) -> String {
    let d = d.display();
    format!(
        r#"
server:
  grpc_listen: 127.0.0.1:0
  admin_listen: 127.0.0.1:0
  state_dir: {d}/state
workspaces:
  {ws}:
    vendor: huawei
    region: cn-north-4
    project_id: b384b9e9ab9b4ee8994c8633aabc9505
    workspace_id: ws-1234
    endpoints: {{ factory: "{url}", dlf: "{url}", iam: "{url}" }}
    credentials:
      workload_identity:
        idp_id: workload_identity
        token_file: {d}/token
        {sign_with}
"#
    )
}

/// Every read RPC once on DataArts workspace `ws`.
async fn huawei_reads(gw: &Gateway, ws: &str) {
    reads(gw, ws, &format!("script:{}", huawei::VERSIONED_SCRIPT), 2).await;
}

/// One DataArts workspace on workload identity through its whole life:
/// `sign_with` as configured, `life` what the credentials live, `exchange`
/// the IAM call counted per refresh.
async fn workload_identity_lives(ws_name: &str, sign_with: &str, life: Duration, exchange: &str) {
    let cap = logs();
    let ws = format!("workspaces/{ws_name}");
    let ws = ws.as_str();
    let issuer = OidcIssuer::new(DEMO_ISSUER, b"cce-cluster-key");
    let emu = huawei_emulator(&issuer).await;
    let dir = common::secrets_dir(&[]);
    let (first, first_id) = issuer.mint(SUBJECT, CLIENT_ID, hour());
    std::fs::write(dir.path().join("token"), &first).unwrap();
    let clock = ManualClock::new(SystemTime::now());
    let yaml = huawei_yaml(dir.path(), &emu.url(), ws_name, sign_with);
    let gw = gateway_with_clock(&yaml, dir, clock.clone()).await;
    let exchanges = || emu.control.count(exchange);
    let refused = |c: &datastudio_gateway::emulator::common::Recorded| c.status >= 400;

    huawei_reads(&gw, ws).await;
    let deployed = gw
        .release()
        .deploy_release_packages(pb::DeployReleasePackagesRequest {
            parent: ws.into(),
            release_packages: vec![format!("{ws}/releasePackages/{}", huawei::DEPLOYABLE_PACKAGE_ID)],
            startup_mode: pb::StartupMode::DeployOnly as i32,
            request_id: uuid::Uuid::new_v4().to_string(),
        })
        .await
        .expect("DeployReleasePackages")
        .into_inner();
    let mut watch = gw
        .release()
        .watch_deployment(pb::WatchDeploymentRequest { name: deployed.deployments[0].name.clone(), view: 0 })
        .await
        .unwrap()
        .into_inner();
    let mut last = None;
    while let Some(m) = watch.message().await.unwrap() {
        last = m.deployment;
    }
    assert_eq!(last.unwrap().state(), pb::DeploymentState::Succeeded);
    assert_eq!((emu.control.count(ID_TOKENS), exchanges()), (1, 1), "one exchange while fresh");
    assert_eq!(issuer.accepted(), vec![first_id]);
    assert!(!emu.control.requests().iter().any(refused), "no vendor refusal");

    // 40 minutes before expiry: refreshed before use.
    clock.advance(life - Duration::from_secs(40 * 60));
    huawei_reads(&gw, ws).await;
    assert_eq!(exchanges(), 2, "refreshed ahead of expiry");
    assert!(!emu.control.requests().iter().any(refused), "the old credentials were never refused");

    // The kubelet rotated the token, and IAM's credentials expire early.
    let (second, second_id) = issuer.mint(SUBJECT, CLIENT_ID, hour());
    std::fs::write(gw.dir.path().join("token"), &second).unwrap();
    emu.control.expire_issued_credentials();
    huawei_reads(&gw, ws).await;
    assert_eq!(exchanges(), 3, "exchanged again once DataArts refused the expired credentials");
    assert_eq!(issuer.accepted().last(), Some(&second_id), "the rotated token was read");
    assert_eq!(emu.control.count_status(401), 1, "one refused call, sent again with new credentials");

    // IAM fails while the credentials are due: the old ones serve.
    clock.advance(life - Duration::from_secs(40 * 60));
    emu.control.inject(FaultRule { action: ID_TOKENS.into(), fault: Fault::Status { status: 503 }, times: 100 });
    let before = emu.control.count(ID_TOKENS);
    huawei_reads(&gw, ws).await;
    let failed = emu.control.count(ID_TOKENS) - before;
    assert!(failed >= 1, "the refresh was tried");
    huawei_reads(&gw, ws).await;
    assert_eq!(emu.control.count(ID_TOKENS) - before, failed, "no exchange during the backoff");
    emu.control.clear_faults();
    clock.advance(Duration::from_secs(5));
    huawei_reads(&gw, ws).await;
    assert_eq!(emu.control.count(ID_TOKENS) - before, failed + 1, "after the backoff the refresh succeeds");

    let m = metrics(&gw).await;
    let ok =
        format!(r#"datastudio_credential_refreshes_total{{vendor="huawei",workspace="{ws_name}",outcome="ok"}} 4"#);
    assert!(m.contains(&ok), "{m}");
    let logs = cap.logs();
    for secret in [first.as_str(), second.as_str(), "MIIFed", "TMPsecret", "gQpjbi"] {
        assert!(!logs.contains(secret), "a secret reached the logs");
    }
}

#[tokio::test]
async fn workload_identity_with_a_token_serves_refreshes_and_survives_expiry_and_rotation() {
    workload_identity_lives("da-token", "sign_with: token", Duration::from_secs(24 * 3600), ID_TOKENS).await;
}

#[tokio::test]
async fn workload_identity_with_temporary_keys_serves_refreshes_and_survives_expiry_and_rotation() {
    let sign_with = "sign_with: temporary_keys\n        duration: 2h";
    workload_identity_lives("da-keys", sign_with, Duration::from_secs(2 * 3600), SECURITY_TOKENS).await;
}

#[tokio::test]
async fn a_wrong_id_token_is_refused_naming_the_workspace_and_setting() {
    let cap = logs();
    let issuer = OidcIssuer::new(DEMO_ISSUER, b"cce-cluster-key");
    let emu = huawei_emulator(&issuer).await;
    let dir = common::secrets_dir(&[]);
    let (foreign, _) = OidcIssuer::new(DEMO_ISSUER, b"another-cluster").mint(SUBJECT, CLIENT_ID, hour());
    std::fs::write(dir.path().join("token"), &foreign).unwrap();
    let clock = ManualClock::new(SystemTime::now());
    let yaml = huawei_yaml(dir.path(), &emu.url(), "da-wrong", "");
    let gw = gateway_with_clock(&yaml, dir, clock.clone()).await;
    let list = || pb::ListFilesRequest { parent: "workspaces/da-wrong".into(), page_size: 5, ..Default::default() };

    let e = gw.files().list_files(list()).await.unwrap_err();
    assert_eq!(e.code(), Code::Internal);
    let info = common::error_info(&e).expect("ErrorInfo");
    assert_eq!(
        (info.reason.as_str(), info.metadata["vendor_code"].as_str()),
        ("VENDOR_AUTH_FAILED", "IDP.InvalidIdToken")
    );
    for part in ["workspace da-wrong", "credentials.workload_identity", "workload_identity", "ID token is invalid"] {
        assert!(e.message().contains(part), "{part:?} in {}", e.message());
    }
    assert_eq!(emu.control.count(ID_TOKENS), 1, "a refusal is not retried");
    assert_eq!(emu.control.count("scripts.list"), 0, "nothing reached DataArts");

    // A subject no conversion rule maps.
    let (stranger, _) = issuer.mint("system:serviceaccount:other:sa", CLIENT_ID, hour());
    std::fs::write(gw.dir.path().join("token"), &stranger).unwrap();
    clock.advance(Duration::from_secs(5));
    let e = gw.files().list_files(list()).await.unwrap_err();
    assert_eq!(common::error_info(&e).unwrap().metadata["vendor_code"], "IDP.NoMapping");
    assert_eq!(common::error_info(&e).unwrap().reason, "VENDOR_AUTH_FAILED");

    let logs = cap.logs();
    for secret in [foreign.as_str(), stranger.as_str()] {
        assert!(!logs.contains(secret), "a token reached the logs");
    }
}

// ---------- Alibaba Cloud: the ECS instance RAM role ----------

/// A DataWorks workspace `ws` on the instance's RAM role (`role` the YAML
/// of `instance_role`).
fn instance_yaml(d: &Path, url: &str, ws: &str, role: &str) -> String {
    let d = d.display();
    format!(
        r#"
server:
  grpc_listen: 127.0.0.1:0
  admin_listen: 127.0.0.1:0
  state_dir: {d}/state
workspaces:
  {ws}:
    vendor: alibaba
    region: cn-hangzhou
    project_id: 10003
    endpoints: {{ api: "{url}", metadata: "{url}" }}
    credentials:
      instance_role: {role}
"#
    )
}

#[tokio::test]
async fn the_instance_role_serves_refreshes_ahead_and_survives_expiry() {
    let cap = logs();
    let emu = alibaba::start(alibaba::Options { deploy_step: Duration::from_millis(300), ..Default::default() })
        .await
        .expect("emulator");
    let dir = common::secrets_dir(&[]);
    let clock = ManualClock::new(SystemTime::now());
    let gw = gateway_with_clock(&instance_yaml(dir.path(), &emu.url(), "dw-node", "{}"), dir, clock.clone()).await;
    let counts = || {
        let c = |a: &str| emu.control.count(a);
        (c("metadata.token"), c("metadata.role-name"), c("metadata.role-credentials"))
    };

    alibaba_reads(&gw, "workspaces/dw-node").await;
    assert_eq!(counts(), (1, 1, 1), "a session token, the role's name, its keys; once");

    // The role's keys live 6 h: refreshed 15 minutes before.
    clock.advance(Duration::from_secs(6 * 3600 - 15 * 60));
    alibaba_reads(&gw, "workspaces/dw-node").await;
    assert_eq!(counts(), (2, 2, 2), "refreshed ahead of expiry");

    emu.control.expire_issued_credentials();
    alibaba_reads(&gw, "workspaces/dw-node").await;
    assert_eq!(counts(), (3, 3, 3), "read again once DataWorks refused the expired keys");
    let expired =
        emu.control.requests().iter().filter(|r| r.code.as_deref() == Some("InvalidSecurityToken.Expired")).count();
    assert_eq!(expired, 1);

    let m = metrics(&gw).await;
    assert!(
        m.contains(r#"datastudio_credential_refreshes_total{vendor="alibaba",workspace="dw-node",outcome="ok"} 3"#),
        "{m}"
    );
    let logs = cap.logs();
    for secret in ["STSsecret", "CAIS", "AQAE"] {
        assert!(!logs.contains(secret), "a secret reached the logs");
    }
}

#[tokio::test]
async fn a_role_the_instance_does_not_have_is_refused_naming_the_setting() {
    let emu = alibaba::start(alibaba::Options::default()).await.expect("emulator");
    let dir = common::secrets_dir(&[]);
    let clock = ManualClock::new(SystemTime::now());
    let yaml = instance_yaml(dir.path(), &emu.url(), "dw-norole", "{ role_name: someone-else }");
    let gw = gateway_with_clock(&yaml, dir, clock).await;
    let e = gw
        .files()
        .list_files(pb::ListFilesRequest { parent: "workspaces/dw-norole".into(), page_size: 5, ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!((e.code(), common::error_info(&e).unwrap().reason.as_str()), (Code::Internal, "VENDOR_AUTH_FAILED"));
    assert!(e.message().contains("workspace dw-norole: reading credentials.instance_role"), "{}", e.message());
    assert_eq!(emu.control.count("metadata.role-name"), 0, "a configured role is not looked up");
    assert_eq!(emu.control.count("ListFiles"), 0);
}
