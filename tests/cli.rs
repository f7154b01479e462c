//! The client command line run as a user would, against the real binary's
//! demo (gateway + vendor emulators): every subcommand, tables and
//! `-o json|yaml` parsed back, exit codes per gRPC status, deploy --watch to
//! SUCCEEDED (plain lines off a terminal, the live display under a
//! pseudo-terminal from `script`), and shell completions.

mod common;

use std::{
    net::SocketAddr,
    process::{Child, Command as StdCommand},
};

use assert_cmd::Command;
use serde_json::Value;

/// The demo on free loopback ports, killed when the test ends, with the
/// command-line example it prints and its DataWorks emulator's URL.
struct Demo(Child, SocketAddr, String, String);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn demo() -> Demo {
    let (child, printed, _) = common::demo::start(StdCommand::new(common::binary()));
    let grpc = printed.field("grpc=").parse().expect("grpc address");
    let (example, emulator) = (printed.after("  datastudio-gateway "), printed.after("DataWorks emulator at "));
    Demo(child, grpc, example.to_owned(), emulator.to_owned())
}

/// The CLI pointed at `addr` through DATASTUDIO_ADDR, with no other
/// DATASTUDIO_* setting inherited from the environment.
fn cli(addr: SocketAddr) -> Command {
    let mut c = Command::new(common::binary());
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("DATASTUDIO_")) {
        c.env_remove(k);
    }
    c.env("DATASTUDIO_ADDR", addr.to_string());
    c
}

fn stdout(c: &mut Command) -> String {
    let out = c.assert().success().get_output().clone();
    String::from_utf8(out.stdout).expect("utf-8")
}

fn json(c: &mut Command) -> Value {
    serde_json::from_str(&stdout(c.args(["-o", "json"]))).expect("-o json parses")
}

fn yaml(c: &mut Command) -> Value {
    serde_yaml::from_str(&stdout(c.args(["-o", "yaml"]))).expect("-o yaml parses")
}

/// Runs `c`, expecting exit `code`; its stderr.
fn fails(c: &mut Command, code: i32) -> String {
    let out = c.assert().code(code).get_output().clone();
    String::from_utf8(out.stderr).expect("utf-8")
}

#[test]
fn reads_print_tables_json_and_yaml() {
    let d = demo();
    let table = stdout(cli(d.1).args(["workspaces", "list"]));
    let header = table.lines().next().expect("a header");
    assert!(header.starts_with("WORKSPACE") && header.contains("VENDOR"), "{table}");
    assert!(table.contains("demo-dataworks") && table.contains("demo-dataarts"), "{table}");
    let ws = json(cli(d.1).args(["workspaces", "list"]));
    assert_eq!(ws["workspaces"].as_array().map(Vec::len), Some(2), "{ws}");
    assert_eq!(ws["workspaces"][0]["vendor"], "VENDOR_HUAWEI_DATAARTS", "proto3 JSON: enums by name");
    let one = yaml(cli(d.1).args(["workspaces", "get", "demo-dataworks"]));
    assert_eq!(one["workspace"]["name"], "workspaces/demo-dataworks", "{one}");
    assert!(stdout(cli(d.1).args(["workspaces", "get", "demo-dataworks"])).contains("DeployFiles"));

    for ws in ["demo-dataworks", "demo-dataarts"] {
        let page = yaml(cli(d.1).args(["releases", "list", "-w", ws, "--page-size", "3"]));
        let packages = page["releasePackages"].as_array().expect("releasePackages");
        assert_eq!(packages.len(), 3, "{page}");
        assert!(page["nextPageToken"].as_str().is_some_and(|t| !t.is_empty()), "{page}");
        let name = packages[0]["name"].as_str().expect("name").to_owned();
        // A full name needs no --workspace; the table shows its fields.
        let got = json(cli(d.1).args(["releases", "get", &name]));
        assert_eq!(got["releasePackage"]["name"], name.as_str());
        let shown = stdout(cli(d.1).args(["releases", "get", &name]));
        assert!(shown.contains("name:") && shown.contains(&name), "{shown}");
        // The next page through the printed token.
        let token = page["nextPageToken"].as_str().expect("token");
        let next = json(cli(d.1).args(["releases", "list", "-w", ws, "--page-size", "3", "--page-token", token]));
        assert_ne!(next["releasePackages"][0]["name"], name.as_str(), "{next}");
    }
    let states = json(cli(d.1).args(["releases", "list", "-w", "demo-dataarts", "--state", "deploying"]));
    let states: Vec<&Value> =
        states["releasePackages"].as_array().expect("packages").iter().map(|p| &p["state"]).collect();
    assert!(!states.is_empty() && states.iter().all(|s| *s == "RELEASE_PACKAGE_STATE_DEPLOYING"), "{states:?}");

    let files = json(cli(d.1).env("DATASTUDIO_WORKSPACE", "demo-dataarts").args(["files", "list", "--page-size", "2"]));
    assert_eq!(files["files"].as_array().map(Vec::len), Some(2), "{files}");
    let file = stdout(cli(d.1).args(["files", "get", "-w", "demo-dataworks", "100001"]));
    assert!(file.contains("workspaces/demo-dataworks/files/100001") && file.contains("-- ods_user_100001"), "{file}");
    let versions = yaml(cli(d.1).args(["files", "versions", "workspaces/demo-dataworks/files/100001"]));
    let versions = versions["fileVersions"].as_array().expect("fileVersions");
    assert!(versions.len() >= 2 && versions[0]["version"] == "3", "int64 as a string: {versions:?}");
    let table = stdout(cli(d.1).args(["files", "versions", "-w", "demo-dataworks", "100001"]));
    assert!(table.lines().next().is_some_and(|h| h.starts_with("VERSION")), "{table}");
}

#[test]
fn exit_codes_follow_the_status_with_its_details() {
    let d = demo();
    // NOT_FOUND: 4, with the ErrorInfo.
    let err = fails(cli(d.1).args(["releases", "get", "-w", "demo-dataworks", "99999999"]), 4);
    assert!(err.starts_with("error: NOT_FOUND: "), "{err}");
    assert!(err.contains("reason: VENDOR_NOT_FOUND"), "{err}");
    // INVALID_ARGUMENT: 3, naming the field.
    let err = fails(cli(d.1).args(["releases", "list", "-w", "demo-dataworks", "--page-size", "1000"]), 3);
    assert!(err.contains("INVALID_ARGUMENT") && err.contains("field page_size: "), "{err}");
    let err = fails(cli(d.1).args(["deploy", "files", "-w", "demo-dataworks", "100001", "--request-id", "nope"]), 3);
    assert!(err.contains("field request_id"), "{err}");
    // FAILED_PRECONDITION: 7 (DataWorks cannot stop a DeployFile deployment).
    let deployed = json(cli(d.1).args(["deploy", "files", "-w", "demo-dataworks", "100001"]));
    let name = deployed["deployments"][0]["name"].as_str().expect("deployment").to_owned();
    let err = fails(cli(d.1).args(["deployments", "cancel", &name]), 7);
    assert!(err.contains("FAILED_PRECONDITION") && err.contains("reason: OPERATION_NOT_SUPPORTED_BY_VENDOR"), "{err}");
    // The vendor's daily quota used up: RESOURCE_EXHAUSTED, retryable, 8, with QuotaFailure and RetryInfo.
    let fault = serde_json::json!({"action": "GetFile", "fault": {"kind": "daily_quota", "retry_after_ms": 0}});
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(reqwest::Client::new().post(format!("{}/_emulator/faults", d.3)).json(&fault).send())
        .and_then(reqwest::Response::error_for_status)
        .expect("fault injected");
    let err = fails(cli(d.1).args(["files", "get", "-w", "demo-dataworks", "100001"]), 8);
    assert!(err.starts_with("error: RESOURCE_EXHAUSTED: "), "{err}");
    assert!(err.contains("\n  quota vendor:alibaba: ") && err.contains("\n  retry after: "), "{err}");
    // Usage: 2 (clap's, and ours before any call).
    fails(cli(d.1).args(["releases", "list", "--bogus"]), 2);
    let err = fails(cli(d.1).args(["releases", "list"]), 2);
    assert!(err.contains("--workspace"), "{err}");
    let err = fails(cli(d.1).args(["workspaces", "list", "--token-file", "/nonexistent/token"]), 2);
    assert!(err.contains("token file"), "{err}");
    // Nobody listening: UNAVAILABLE, retryable: 8.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
    let err = fails(cli(closed).args(["workspaces", "list"]), 8);
    assert!(err.starts_with("error: UNAVAILABLE"), "{err}");
}

/// A P-256 JWKS and an ES256 token for `sub` signed by its key (the gateway
/// only verifies tokens, so the test makes its own).
fn jwks_and_token(sub: &str) -> (String, String) {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
    let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let raw = kp.public_key_raw();
    let jwks = serde_json::json!({"keys": [{
        "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": "k1",
        "x": B64.encode(&raw[1..33]), "y": B64.encode(&raw[33..65]),
    }]});
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_secs();
    let header = serde_json::json!({"alg": "ES256", "typ": "JWT", "kid": "k1"});
    let claims = serde_json::json!({"iss": "https://issuer.test", "aud": "datastudio-gateway", "sub": sub, "exp": now + 600, "iat": now});
    let input = format!("{}.{}", B64.encode(header.to_string()), B64.encode(claims.to_string()));
    let rng = ring::rand::SystemRandom::new();
    let key = ring::signature::EcdsaKeyPair::from_pkcs8(
        &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &kp.serialize_der(),
        &rng,
    )
    .expect("P-256 key");
    let sig = key.sign(&rng, input.as_bytes()).expect("sign");
    (jwks.to_string(), format!("{input}.{}", B64.encode(sig.as_ref())))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_tokens_from_a_flag_a_file_or_the_environment_and_exit_6_without_one() {
    let dir = common::secrets_dir(&[("ali_ak", "ak-1"), ("ali_sk", "sk-1"), ("hw_ak", "ak-2"), ("hw_sk", "sk-2")]);
    let (jwks, token) = jwks_and_token("reader");
    std::fs::write(dir.path().join("jwks.json"), jwks).expect("jwks");
    std::fs::write(dir.path().join("token"), format!("{token}\n")).expect("token file");
    let yaml = format!(
        "{}auth:\n  jwt:\n    jwks_file: {}/jwks.json\n    issuer: https://issuer.test\n    audiences: [datastudio-gateway]\n  policies:\n    - name: readers\n      subjects: [reader]\n      workspaces: [\"*\"]\n      permissions: [read]\n",
        common::two_vendor_yaml(dir.path()),
        dir.path().display()
    );
    let token_file = dir.path().join("token");
    let gw = common::start_yaml(&yaml, dir).await;
    let addr = gw.running.as_ref().expect("running").grpc_addr;
    let run = move || {
        // The token from a file, from the environment, from a flag.
        let ws = json(cli(addr).args(["workspaces", "list", "--token-file"]).arg(&token_file));
        assert_eq!(ws["workspaces"].as_array().map(Vec::len), Some(2), "{ws}");
        stdout(cli(addr).env("DATASTUDIO_TOKEN", &token).args(["workspaces", "get", "dw-test"]));
        stdout(cli(addr).args(["workspaces", "get", "da-test", "--token", &token]));
        // No credentials: UNAUTHENTICATED, 6, before any vendor call.
        let err = fails(cli(addr).args(["releases", "list", "-w", "dw-test"]), 6);
        assert!(err.starts_with("error: UNAUTHENTICATED"), "{err}");
        // A token that does not verify: 6, and the token is never printed.
        let bad = format!("{token}x");
        let err = fails(cli(addr).args(["releases", "list", "-w", "dw-test", "--token", &bad]), 6);
        assert!(err.starts_with("error: UNAUTHENTICATED"), "{err}");
        assert!(!err.contains(&token), "{err}");
        // A reader deploying: PERMISSION_DENIED, 6.
        let err = fails(
            cli(addr).env("DATASTUDIO_TOKEN_FILE", &token_file).args(["deploy", "files", "-w", "dw-test", "100001"]),
            6,
        );
        assert!(err.contains("PERMISSION_DENIED"), "{err}");
    };
    tokio::task::spawn_blocking(run).await.expect("cli runs");
    drop(gw);
}

#[test]
fn deploy_watch_prints_each_state_and_a_retry_reuses_the_request_id() {
    let d = demo();
    let out = cli(d.1).args(["deploy", "files", "-w", "demo-dataworks", "100002", "--watch"]).assert().success();
    let out = out.get_output();
    let (lines, err) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let states: Vec<&str> = lines.lines().map(|l| l.split_whitespace().nth(1).expect("a state")).collect();
    assert_eq!(states.last(), Some(&"SUCCEEDED"), "{lines}");
    assert!(states.windows(2).all(|w| w[0] != w[1]), "one line per change: {lines}");
    let name = lines.lines().last().and_then(|l| l.split_whitespace().next()).expect("name").to_owned();
    // The printed request id makes a retry return the same deployment.
    let id = err.split_whitespace().nth(2).expect("request id: ID").to_owned();
    assert!(err.starts_with("request id: "), "{err}");
    let again = json(cli(d.1).args(["deploy", "files", "-w", "demo-dataworks", "100002", "--request-id", &id]));
    assert_eq!(again["deployments"][0]["name"], name.as_str(), "{again}");
    // Get and watch an ended deployment; JSON lines while watching.
    let got = json(cli(d.1).args(["deployments", "get", &name]));
    assert_eq!(got["deployment"]["state"], "DEPLOYMENT_STATE_SUCCEEDED", "{got}");
    let watched = stdout(cli(d.1).args(["deployments", "watch", &name, "-o", "json"]));
    let last: Value = serde_json::from_str(watched.lines().last().expect("a line")).expect("a JSON line");
    assert_eq!(last["deployment"]["state"], "DEPLOYMENT_STATE_SUCCEEDED", "{watched}");
    assert!(stdout(cli(d.1).args(["deployments", "get", &name])).contains("SUCCEEDED"));
    // A deployment that ends FAILED (the emulator fails files whose id ends in 7): exit 10.
    let out = cli(d.1).args(["deploy", "files", "-w", "demo-dataworks", "100007", "--watch"]).assert().code(10);
    let lines = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(lines.lines().last().is_some_and(|l| l.contains(" FAILED ")), "{lines}");
}

#[test]
fn the_demo_prints_a_command_line_example_that_deploys_to_succeeded() {
    let d = demo();
    assert!(d.2.contains("--watch"), "the demo prints a deploy --watch example: {:?}", d.2);
    let lines = stdout(Command::new(common::binary()).args(d.2.split_whitespace()));
    assert!(lines.lines().last().is_some_and(|l| l.ends_with(" SUCCEEDED")), "{lines}");
}

#[test]
fn deploy_watch_draws_a_live_display_on_a_terminal() {
    let d = demo();
    // `script` (util-linux) runs the CLI on a pseudo-terminal and copies what it draws.
    let cmd = format!(
        "DATASTUDIO_ADDR={} {} deploy files -w demo-dataarts script:etl-000 --watch",
        d.1,
        common::binary().display()
    );
    let out = StdCommand::new("script").args(["-qefc", &cmd, "/dev/null"]).output().expect("script runs");
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "exit {:?}: {screen}", out.status);
    // Redrawn in place (erase-line sequences), ending with a tick and every stage seen.
    assert!(screen.contains("\x1b[2K"), "no redraw: {screen:?}");
    let last = screen.rsplit('\r').find(|l| l.contains('✔')).expect("a finished line");
    assert!(last.contains("RUNNING → SUCCEEDED"), "{last:?}");
    assert!(screen.contains("[==>]") || screen.contains("[=> ]"), "a progress bar while running: {screen:?}");
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    for shell in ["bash", "zsh", "fish"] {
        let out = Command::new(common::binary()).args(["completions", shell]).assert().success();
        let script = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
        assert!(script.contains("datastudio-gateway"), "{shell}: {script}");
        assert!(script.contains("deployments") && script.contains("request-id"), "{shell}");
    }
}

/// (CA PEM, its issuer) and leaves it signs: (cert PEM, key PEM) for a DNS name or a URI.
fn ca() -> (String, rcgen::Issuer<'static, rcgen::KeyPair>) {
    let kp = rcgen::KeyPair::generate().expect("key");
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.distinguished_name.push(rcgen::DnType::CommonName, "test CA");
    let pem = p.self_signed(&kp).expect("CA").pem();
    (pem, rcgen::Issuer::new(p, kp))
}

fn leaf(issuer: &rcgen::Issuer<'static, rcgen::KeyPair>, san: rcgen::SanType) -> (String, String) {
    let kp = rcgen::KeyPair::generate().expect("key");
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    p.subject_alt_names = vec![san];
    (p.signed_by(&kp, issuer).expect("leaf").pem(), kp.serialize_pem())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_with_ca_client_certificate_and_server_name() {
    let dir = common::secrets_dir(&[("ali_ak", "ak-1"), ("ali_sk", "sk-1"), ("hw_ak", "ak-2"), ("hw_sk", "sk-2")]);
    let (server_ca, server_issuer) = ca();
    let (client_ca, client_issuer) = ca();
    let (sc, sk) = leaf(&server_issuer, rcgen::SanType::DnsName("gateway.test".try_into().expect("dns")));
    let (cc, ck) = leaf(&client_issuer, rcgen::SanType::URI("spiffe://corp/ns/etl/sa/cli".try_into().expect("uri")));
    for (name, pem) in [
        ("tls.crt", &sc),
        ("tls.key", &sk),
        ("client-ca.crt", &client_ca),
        ("ca.crt", &server_ca),
        ("me.crt", &cc),
        ("me.key", &ck),
    ] {
        std::fs::write(dir.path().join(name), pem).expect("write");
    }
    let d = dir.path().to_path_buf();
    let yaml = common::two_vendor_yaml(&d).replacen(
        "server:\n",
        &format!(
            "server:\n  tls:\n    cert_file: {0}/tls.crt\n    key_file: {0}/tls.key\n    client_ca_file: {0}/client-ca.crt\n",
            d.display()
        ),
        1,
    ) + "auth:\n  policies:\n    - name: etl\n      subjects: [\"spiffe://corp/ns/etl/*\"]\n      workspaces: [\"*\"]\n      permissions: [read]\n";
    let gw = common::start_yaml(&yaml, dir).await;
    let addr = gw.running.as_ref().expect("running").grpc_addr;
    let run = move || {
        let tls = |c: &mut Command| {
            c.env("DATASTUDIO_CA_FILE", d.join("ca.crt")).env("DATASTUDIO_SERVER_NAME", "gateway.test");
        };
        // CA, client certificate and key, and the name on the server's certificate.
        let mut ok = cli(addr);
        tls(&mut ok);
        let ws = json(
            ok.args(["workspaces", "get", "dw-test", "--cert-file"])
                .arg(d.join("me.crt"))
                .arg("--key-file")
                .arg(d.join("me.key")),
        );
        assert_eq!(ws["workspace"]["name"], "workspaces/dw-test", "{ws}");
        // Without a client certificate the handshake is refused: UNAVAILABLE, 8.
        let mut anonymous = cli(addr);
        tls(&mut anonymous);
        let err = fails(anonymous.args(["workspaces", "get", "dw-test"]), 8);
        assert!(err.starts_with("error: UNAVAILABLE"), "{err}");
        // Plaintext to a TLS port: the server drops the connection (as a broken
        // pipe or garbage, by timing): UNAVAILABLE, 8, with the transport's causes.
        let err = fails(cli(addr).args(["workspaces", "get", "dw-test"]), 8);
        assert!(err.starts_with("error: UNAVAILABLE") && err.contains("\n  cause: "), "{err}");
        // A certificate without its key: usage, 2.
        fails(cli(addr).args(["workspaces", "get", "dw-test", "--cert-file"]).arg(d.join("me.crt")), 2);
    };
    tokio::task::spawn_blocking(run).await.expect("cli runs");
    drop(gw);
}
