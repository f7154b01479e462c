//! Caller authentication, per-workspace policies and the deploy audit,
//! through the real server: JWT bearer tokens, mTLS client certificates,
//! certificate rotation, and audit lines captured from the log.

mod common;

use std::{
    io::Write,
    path::Path,
    sync::{Arc, Mutex, OnceLock},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use common::pki::{ca, jws, leaf, now, signer, token};
use datastudio_gateway::{cli::Listen, config::Config, gateway, pb, server::Running};
use tonic::{
    Code, Request,
    transport::{Certificate, Channel, ClientTlsConfig, Identity},
};

const FILE: &str = "workspaces/dw/files/100002";

// ---------- log capture (one global subscriber for this test binary) ----------

#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logs() -> &'static Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let w = logs.clone();
        tracing_subscriber::fmt().json().with_max_level(tracing::Level::DEBUG).with_writer(move || w.clone()).init();
        logs
    })
}

fn log_text() -> String {
    String::from_utf8_lossy(&logs().0.lock().unwrap()).into_owned()
}

// ---------- tokens ----------

fn with_token<T>(msg: T, token: &str) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    r
}

// ---------- gateway ----------

struct Env {
    running: Running,
    dir: tempfile::TempDir,
    _emu: datastudio_gateway::emulator::alibaba::Handle,
}

async fn start(dir: tempfile::TempDir, server_extra: &str, auth: &str) -> Env {
    let _ = logs();
    datastudio_gateway::install_crypto_provider();
    let emu = common::alibaba::emulator().await;
    let d = dir.path().display().to_string();
    std::fs::write(dir.path().join("ak"), "demo-ak").unwrap();
    std::fs::write(dir.path().join("sk"), "demo-sk").unwrap();
    let ws = |name: &str| {
        format!(
            "  {name}:\n    vendor: alibaba\n    region: cn-hangzhou\n    project_id: 10003\n    endpoints: {{ api: \"{}\" }}\n    credentials:\n      access_key_id: {{ file: {d}/ak }}\n      access_key_secret: {{ file: {d}/sk }}\n",
            emu.url()
        )
    };
    let yaml = format!(
        "server:\n  grpc_listen: 127.0.0.1:0\n  admin_listen: 127.0.0.1:0\n  state_dir: {d}/state\n{server_extra}workspaces:\n{}{}{auth}",
        ws("dw"),
        ws("other")
    );
    let cfg = Config::from_yaml(&yaml).expect("config parses");
    let problems = datastudio_gateway::config::check(&cfg);
    assert!(problems.is_empty(), "config problems: {problems:?}");
    let running = gateway::start(&cfg, &Listen { grpc_listen: None, admin_listen: None }).await.expect("start");
    Env { running, dir, _emu: emu }
}

async fn plain(env: &Env) -> Channel {
    Channel::from_shared(format!("http://{}", env.running.grpc_addr)).unwrap().connect().await.unwrap()
}

fn deploy_files(parent: &str, request_id: &str) -> pb::DeployFilesRequest {
    pb::DeployFilesRequest {
        parent: format!("workspaces/{parent}"),
        files: vec![format!("workspaces/{parent}/files/100002")],
        request_id: request_id.into(),
        ..Default::default()
    }
}

fn list(parent: &str) -> pb::ListFilesRequest {
    pb::ListFilesRequest { parent: format!("workspaces/{parent}"), page_size: 5, ..Default::default() }
}

const JWT_POLICIES: &str = r#"auth:
  jwt:
    jwks_file: {dir}/jwks.json
    issuer: https://issuer.test
    audiences: [datastudio-gateway]
  policies:
    - name: readers
      subjects: [reader, "deployer-*"]
      workspaces: ["*"]
      permissions: [read]
    - name: dw-deployers
      subjects: ["deployer-*"]
      workspaces: [dw]
      permissions: [read, deploy]
"#;

#[tokio::test]
async fn jwt_tokens_policies_and_the_deploy_audit() {
    let good = signer("k1");
    let dir = tempfile::tempdir().unwrap();
    let jwks = serde_json::json!({"keys": [good.jwk]});
    std::fs::write(dir.path().join("jwks.json"), jwks.to_string()).unwrap();
    let auth = JWT_POLICIES.replace("{dir}", &dir.path().display().to_string());
    let env = start(dir, "", &auth).await;
    let ch = plain(&env).await;
    let mut files = pb::file_service_client::FileServiceClient::new(ch.clone());
    let mut release = pb::release_service_client::ReleaseServiceClient::new(ch.clone());
    let aud = "datastudio-gateway";
    let exp = now() + 600;

    // Refused tokens: all UNAUTHENTICATED, none reaching the vendor.
    let evil = signer("k1");
    let hs = jws(
        serde_json::json!({"alg": "HS256", "typ": "JWT", "kid": "k1"}),
        serde_json::json!({"iss": "https://issuer.test", "aud": aud, "sub": "reader", "exp": exp}),
        |m| ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"secret"), m).as_ref().to_vec(),
    );
    let none = format!(
        "{}.{}.",
        B64.encode(r#"{"alg":"none","typ":"JWT"}"#),
        B64.encode(
            serde_json::json!({"iss": "https://issuer.test", "aud": aud, "sub": "reader", "exp": exp}).to_string()
        )
    );
    let bad = [
        ("malformed", "not.a.jwt".to_owned()),
        ("wrong signature", token(&evil, "reader", aud, exp)),
        ("wrong audience", token(&good, "reader", "someone-else", exp)),
        ("expired", token(&good, "reader", aud, now() - 3600)),
        ("alg none", none),
        ("HS256", hs),
    ];
    let e = files.list_files(list("dw")).await.unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "missing token: {e:?}");
    for (what, t) in &bad {
        let e = files.list_files(with_token(list("dw"), t)).await.unwrap_err();
        assert_eq!(e.code(), Code::Unauthenticated, "{what}: {e:?}");
        assert!(!e.message().contains(t.as_str()), "{what}: the token is echoed");
    }
    let mut r = Request::new(list("dw"));
    r.metadata_mut().insert("authorization", "Basic dXNlcjpwYXNz".parse().unwrap());
    assert_eq!(files.list_files(r).await.unwrap_err().code(), Code::Unauthenticated);

    // Reader: may list, may not deploy.
    let reader = token(&good, "reader", aud, exp);
    files.list_files(with_token(list("dw"), &reader)).await.expect("reader lists");
    files.list_files(with_token(list("other"), &reader)).await.expect("reader lists other");
    let e = release
        .deploy_files(with_token(deploy_files("dw", "0b1c2d3e-4f50-4617-8899-00000000a001"), &reader))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    assert!(e.message().contains("datastudio.deploy on workspaces/dw"), "{}", e.message());
    assert!(!e.message().contains("dw-deployers"), "policy names stay internal: {}", e.message());

    // Deployer of dw: deploys there, not to `other`.
    let deployer = token(&good, "deployer-etl", aud, exp);
    let e = release
        .deploy_files(with_token(deploy_files("other", "0b1c2d3e-4f50-4617-8899-00000000a002"), &deployer))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    let d = release
        .deploy_files(with_token(deploy_files("dw", "0b1c2d3e-4f50-4617-8899-00000000a003"), &deployer))
        .await
        .expect("deployer deploys to dw")
        .into_inner()
        .deployments;
    assert_eq!(d.len(), 1);
    // Unauthenticated deploys are refused and audited too.
    let e = release.deploy_files(deploy_files("dw", "0b1c2d3e-4f50-4617-8899-00000000a004")).await.unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
    // A deploy refused by validation is audited with who sent it; an
    // anonymous one is refused as unauthenticated before it is validated.
    let forged = "workspaces/dw/files/1\naudit event=deploy identity=admin outcome=deployed";
    let invalid = |rid: &str| pb::DeployFilesRequest { files: vec![forged.into()], ..deploy_files("dw", rid) };
    let e = release.deploy_files(with_token(invalid("0b1c2d3e-4f50-4617-8899-00000000a005"), &deployer)).await;
    assert_eq!(e.unwrap_err().code(), Code::InvalidArgument);
    let e = release.deploy_files(invalid("0b1c2d3e-4f50-4617-8899-00000000a006")).await.unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");

    // ListWorkspaces shows what the caller may read.
    let mut ws = pb::workspace_service_client::WorkspaceServiceClient::new(ch.clone());
    let all = ws.list_workspaces(with_token(pb::ListWorkspacesRequest::default(), &reader)).await.unwrap().into_inner();
    assert_eq!(all.workspaces.len(), 2);

    // Health stays open.
    let mut health = tonic_health::pb::health_client::HealthClient::new(ch);
    health.check(tonic_health::pb::HealthCheckRequest { service: String::new() }).await.expect("health is open");

    // The audit trail: one line per attempt, no token contents anywhere in the log.
    let text = log_text();
    let audit: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["target"] == "audit" && v["fields"]["event"] == "deploy")
        .collect();
    let find = |rid: &str| {
        audit
            .iter()
            .find(|v| v["fields"]["request_id"] == rid)
            .unwrap_or_else(|| panic!("no audit line for {rid} in {audit:#?}"))["fields"]
            .clone()
    };
    let denied = find("0b1c2d3e-4f50-4617-8899-00000000a001");
    assert_eq!(denied["outcome"], "denied");
    assert_eq!(denied["identity"], "reader");
    assert_eq!(denied["workspace"], "dw");
    assert_eq!(denied["items"], FILE);
    let cross = find("0b1c2d3e-4f50-4617-8899-00000000a002");
    assert_eq!((cross["outcome"].as_str(), cross["workspace"].as_str()), (Some("denied"), Some("other")));
    let ok = find("0b1c2d3e-4f50-4617-8899-00000000a003");
    assert_eq!(ok["outcome"], "deployed");
    assert_eq!(ok["identity"], "deployer-etl");
    assert_eq!(ok["via"], "jwt");
    assert_eq!(ok["deployments"], d[0].name.as_str());
    let anon = find("0b1c2d3e-4f50-4617-8899-00000000a004");
    assert_eq!(anon["outcome"], "unauthenticated");
    let refused = find("0b1c2d3e-4f50-4617-8899-00000000a005");
    assert_eq!((refused["outcome"].as_str(), refused["code"].as_str()), (Some("failed"), Some("InvalidArgument")));
    assert_eq!((refused["identity"].as_str(), refused["via"].as_str()), (Some("deployer-etl"), Some("jwt")));
    assert_eq!(refused["items"], forged, "the item name as sent, kept whole in one JSON line");
    let anon = find("0b1c2d3e-4f50-4617-8899-00000000a006");
    assert_eq!((anon["outcome"].as_str(), anon["identity"].as_str()), (Some("unauthenticated"), Some("-")));
    assert_eq!(audit.iter().filter(|v| v["fields"]["request_id"] == "0b1c2d3e-4f50-4617-8899-00000000a005").count(), 1);
    for t in [&reader, &deployer] {
        let sig = t.rsplit('.').next().unwrap();
        assert!(!text.contains(sig), "a token signature reached the log");
    }
    env.running.shutdown().await;
}

// ---------- mTLS ----------

fn write(dir: &Path, name: &str, text: &str) {
    // Write then rename, like a Secret update: readers never see half a file.
    let tmp = dir.join(format!("{name}.tmp"));
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(tmp, dir.join(name)).unwrap();
}

async fn tls_channel(env: &Env, server_ca: &str, client: Option<&(String, String)>) -> Result<Channel, String> {
    let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(server_ca)).domain_name("localhost");
    if let Some((c, k)) = client {
        tls = tls.identity(Identity::from_pem(c, k));
    }
    Channel::from_shared(format!("https://{}", env.running.grpc_addr))
        .unwrap()
        .tls_config(tls)
        .map_err(|e| e.to_string())?
        .connect()
        .await
        .map_err(|e| format!("{e:?}"))
}

/// Lists files on `dw` over a fresh TLS connection.
async fn list_over_tls(env: &Env, server_ca: &str, client: Option<&(String, String)>) -> Result<(), Status> {
    let ch = tls_channel(env, server_ca, client).await.map_err(|e| Status::new(Code::Unavailable, e))?;
    pb::file_service_client::FileServiceClient::new(ch).list_files(list("dw")).await.map(|_| ())
}

use tonic::Status;

#[tokio::test]
async fn mtls_identity_policy_and_certificate_rotation() {
    let server_ca = ca("server CA");
    let client_ca = ca("client CA");
    let other_ca = ca("another CA");
    let dir = tempfile::tempdir().unwrap();
    let (sc, sk) = leaf(&server_ca, "localhost", false);
    write(dir.path(), "tls.crt", &sc);
    write(dir.path(), "tls.key", &sk);
    write(dir.path(), "ca.crt", &client_ca.pem);
    let d = dir.path().display().to_string();
    let server =
        format!("  tls:\n    cert_file: {d}/tls.crt\n    key_file: {d}/tls.key\n    client_ca_file: {d}/ca.crt\n");
    let auth = "auth:\n  policies:\n    - name: etl\n      subjects: [\"spiffe://corp/ns/etl/*\"]\n      workspaces: [dw]\n      permissions: [read]\n";
    let env = start(dir, &server, auth).await;

    let etl = leaf(&client_ca, "spiffe://corp/ns/etl/sa/loader", false);
    list_over_tls(&env, &server_ca.pem, Some(&etl)).await.expect("a valid client certificate is accepted");
    // Valid certificate, identity without a grant: PERMISSION_DENIED naming the permission.
    let web = leaf(&client_ca, "spiffe://corp/ns/web/sa/site", false);
    let e = list_over_tls(&env, &server_ca.pem, Some(&web)).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    assert!(e.message().contains("datastudio.read on workspaces/dw"), "{}", e.message());
    // Refused at the handshake: no certificate, another CA's, an expired one.
    let foreign = leaf(&other_ca, "spiffe://corp/ns/etl/sa/loader", false);
    let expired = leaf(&client_ca, "spiffe://corp/ns/etl/sa/loader", true);
    for (what, c) in [("no certificate", None), ("another CA", Some(&foreign)), ("expired", Some(&expired))] {
        let e = list_over_tls(&env, &server_ca.pem, c).await.unwrap_err();
        assert!(
            matches!(e.code(), Code::Unavailable | Code::Unknown | Code::Internal),
            "{what}: refused by the transport, got {e:?}"
        );
    }
    // Plaintext is refused too.
    let plain = Channel::from_shared(format!("http://{}", env.running.grpc_addr)).unwrap().connect().await;
    if let Ok(ch) = plain {
        assert!(pb::file_service_client::FileServiceClient::new(ch).list_files(list("dw")).await.is_err());
    }

    // Rotation: a new server certificate from a new CA, and a new client CA.
    let server_ca2 = ca("server CA 2");
    let client_ca2 = ca("client CA 2");
    let (sc2, sk2) = leaf(&server_ca2, "localhost", false);
    assert!(list_over_tls(&env, &server_ca2.pem, Some(&etl)).await.is_err(), "old cert still served");
    write(env.dir.path(), "tls.key", &sk2);
    write(env.dir.path(), "tls.crt", &sc2);
    write(env.dir.path(), "ca.crt", &client_ca2.pem);
    let etl2 = leaf(&client_ca2, "spiffe://corp/ns/etl/sa/loader", false);
    list_over_tls(&env, &server_ca2.pem, Some(&etl2)).await.expect("new connections see the new cert and CA");
    assert!(list_over_tls(&env, &server_ca2.pem, Some(&etl)).await.is_err(), "the old client CA is gone");
    assert!(list_over_tls(&env, &server_ca.pem, Some(&etl2)).await.is_err(), "the old server cert is gone");
    env.running.shutdown().await;
}

#[test]
fn check_config_reports_policy_problems() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    std::fs::write(dir.path().join("ak"), "a").unwrap();
    std::fs::write(dir.path().join("jwks.json"), r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#).unwrap();
    let yaml = format!(
        r#"
server: {{ state_dir: {d}/state }}
workspaces:
  dw:
    vendor: alibaba
    region: cn-hangzhou
    project_id: 1
    credentials: {{ access_key_id: {{ file: {d}/ak }}, access_key_secret: {{ file: {d}/ak }} }}
auth:
  jwt: {{ jwks_file: {d}/jwks.json, issuer: https://i, audiences: [a] }}
  policies:
    - {{ name: p, subjects: ["a**", "ok/*"], workspaces: [dw, nope], permissions: [deploy], allow_anonymous: true }}
    - {{ name: p, subjects: [x], workspaces: ["*"], permissions: [] }}
"#
    );
    let cfg = Config::from_yaml(&yaml).unwrap();
    let paths: Vec<String> = datastudio_gateway::config::check(&cfg).into_iter().map(|p| p.path).collect();
    for want in [
        "auth.jwt.jwks_file",
        "auth.policies[0].subjects[0]",
        "auth.policies[0].workspaces[1]",
        "auth.policies[0].allow_anonymous",
        "auth.policies[1].name",
        "auth.policies[1].permissions",
    ] {
        assert!(paths.iter().any(|p| p == want), "{want} missing from {paths:?}");
    }
    assert!(!paths.iter().any(|p| p == "auth.policies[0].subjects[1]"), "{paths:?}");
}
