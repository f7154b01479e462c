//! HTTP/JSON from the outside, as curl would call it: the real binary's
//! demo (gateway + both emulators) for reads, deploys followed as JSON lines
//! and server-sent events, and JSON `google.rpc.Status` errors; an
//! in-process gateway for the auth and admission limits it shares with
//! gRPC, and for CORS.

mod common;

use std::process::{Child, Command};

use bytes::Bytes;
use common::pki;
use datastudio_gateway::{cli::Listen, config::Config, gateway, pb};
use serde_json::{Value, json};
use tonic::{Code, Request, transport::Channel};

/// The demo binary, killed when dropped.
struct Demo {
    child: Child,
    base: String,
    emulator: String,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn demo() -> Demo {
    let (child, printed, _) = common::demo::start(Command::new(common::binary()));
    let (grpc, emulator) = (printed.field("grpc="), printed.after("DataWorks emulator at "));
    Demo { base: format!("http://{grpc}"), emulator: emulator.to_owned(), child }
}

/// An HTTP/1.1 client, as curl is.
fn http() -> reqwest::Client {
    datastudio_gateway::install_crypto_provider();
    reqwest::Client::builder().http1_only().build().unwrap()
}

async fn get(url: &str) -> (u16, Value) {
    let r = http().get(url).send().await.expect("GET");
    let status = r.status().as_u16();
    (status, r.json().await.expect("JSON answer"))
}

/// The `@type`s of a JSON Status's details.
fn detail<'a>(status: &'a Value, ty: &str) -> Option<&'a Value> {
    status["details"].as_array()?.iter().find(|d| d["@type"] == format!("type.googleapis.com/google.rpc.{ty}"))
}

fn violated_field(status: &Value) -> Option<&str> {
    detail(status, "BadRequest")?["fieldViolations"][0]["field"].as_str()
}

/// Reads a streamed answer to its end.
async fn read_all(mut r: reqwest::Response) -> String {
    let mut out = Vec::new();
    while let Some(chunk) = r.chunk().await.expect("chunk") {
        out.extend_from_slice(&chunk);
    }
    String::from_utf8(out).expect("UTF-8")
}

#[tokio::test]
async fn curl_lists_deploys_and_follows_a_deployment_on_the_demo() {
    let demo = demo();
    let b = &demo.base;

    // Lists, paged through the query string, on both vendors.
    let (status, page) = get(&format!("{b}/v1/workspaces/demo-dataworks/releasePackages?page_size=3")).await;
    assert_eq!(status, 200, "{page}");
    let packages = page["releasePackages"].as_array().expect("releasePackages");
    assert_eq!(packages.len(), 3);
    assert!(packages[0]["name"].as_str().unwrap().starts_with("workspaces/demo-dataworks/releasePackages/"));
    assert!(packages[0]["state"].as_str().unwrap().starts_with("RELEASE_PACKAGE_STATE_"), "enums by name");
    let token = page["nextPageToken"].as_str().expect("nextPageToken");
    let (status, next) =
        get(&format!("{b}/v1/workspaces/demo-dataworks/releasePackages?pageSize=3&page_token={}", percent(token)))
            .await;
    assert_eq!(status, 200, "{next}");
    assert_ne!(next["releasePackages"][0]["name"], packages[0]["name"], "the second page");
    let (status, hw) = get(&format!(
        "{b}/v1/workspaces/demo-dataarts/releasePackages?page_size=2&states=RELEASE_PACKAGE_STATE_SUCCEEDED"
    ))
    .await;
    assert_eq!(status, 200, "{hw}");
    for p in hw["releasePackages"].as_array().unwrap() {
        assert_eq!(p["state"], "RELEASE_PACKAGE_STATE_SUCCEEDED");
    }
    // A resource name with a colon in its last segment (not a custom verb).
    let (status, file) = get(&format!("{b}/v1/workspaces/demo-dataarts/files/script:etl-000")).await;
    assert_eq!(status, 200, "{file}");
    assert_eq!(file["file"]["name"], "workspaces/demo-dataarts/files/script:etl-000");

    // Deploy by POST (custom method); the same request_id answers the same deployment.
    let deploy = json!({"files": ["workspaces/demo-dataworks/files/100001"], "requestId": "5d1e7c3a-2b4f-4c6d-8e9f-0a1b2c3d4e5f"});
    let url = format!("{b}/v1/workspaces/demo-dataworks/files:deploy");
    let first: Value = http().post(&url).json(&deploy).send().await.unwrap().json().await.unwrap();
    let name = first["deployments"][0]["name"].as_str().expect("deployment name").to_owned();
    let again: Value = http().post(&url).json(&deploy).send().await.unwrap().json().await.unwrap();
    assert_eq!(again["deployments"][0]["name"], name.as_str(), "request_id makes the deploy idempotent");

    // Followed as JSON lines, to SUCCEEDED.
    let r = http().get(format!("{b}/v1/{name}:watch")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/x-ndjson");
    let text = read_all(r).await;
    let states: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("one JSON object a line"))
        .map(|v| v["deployment"]["state"].as_str().expect("state").to_owned())
        .collect();
    assert_eq!(states.last().map(String::as_str), Some("DEPLOYMENT_STATE_SUCCEEDED"), "{text}");

    // And as server-sent events.
    let r = http().get(format!("{b}/v1/{name}:watch")).header("accept", "text/event-stream").send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let text = read_all(r).await;
    let events: Vec<Value> = text
        .split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| serde_json::from_str(e.strip_prefix("data: ").expect("a data event")).expect("JSON data"))
        .collect();
    assert_eq!(events.last().unwrap()["deployment"]["state"], "DEPLOYMENT_STATE_SUCCEEDED", "{text}");
    let (status, got) = get(&format!("{b}/v1/{name}")).await;
    assert_eq!((status, got["deployment"]["state"].as_str()), (200, Some("DEPLOYMENT_STATE_SUCCEEDED")));

    // Errors: JSON google.rpc.Status, HTTP status from the gRPC code.
    let (status, e) = get(&format!("{b}/v1/workspaces/demo-dataworks/releasePackages?page_size=-1")).await;
    assert_eq!((status, e["code"].as_i64()), (400, Some(3)), "{e}");
    assert_eq!(violated_field(&e), Some("page_size"), "{e}");
    assert_eq!(detail(&e, "ErrorInfo").unwrap()["reason"], "INVALID_ARGUMENT");
    let (status, e) = get(&format!("{b}/v1/workspaces/demo-dataworks/releasePackages?colour=red")).await;
    assert_eq!((status, violated_field(&e)), (400, Some("colour")), "{e}");
    let (status, e) = get(&format!("{b}/v1/workspaces/demo-dataworks/releasePackages?states=SOMETIMES")).await;
    assert_eq!((status, violated_field(&e)), (400, Some("states")), "{e}");
    let r = http().post(&url).json(&json!({"files": "not a list", "requestId": "x"})).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(violated_field(&r.json().await.unwrap()), Some("files"));
    let r = http().post(&url).header("content-type", "application/json").body("{not json").send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(violated_field(&r.json().await.unwrap()), Some("body"));
    let (status, e) = get(&format!("{b}/v1/workspaces/demo-dataworks/deployments/424242")).await;
    assert_eq!((status, e["code"].as_i64()), (404, Some(5)), "{e}");
    let (status, e) = get(&format!("{b}/v1/nothing/here")).await;
    assert_eq!((status, detail(&e, "ErrorInfo").unwrap()["reason"].as_str()), (404, Some("ROUTE_NOT_FOUND")));
    let r = http().delete(format!("{b}/v1/workspaces")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    // A watch that fails before its first message is an ordinary error answer.
    let r = http().get(format!("{b}/v1/workspaces/demo-dataworks/deployments/424242:watch")).send().await.unwrap();
    assert_eq!(r.status(), 404);

    // The caller's trace reaches the vendor, as over gRPC.
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let r = http()
        .get(format!("{b}/v1/workspaces/demo-dataworks/releasePackages?page_size=1"))
        .header("traceparent", format!("00-{trace}-00f067aa0ba902b7-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let seen: Value =
        http().get(format!("{}/_emulator/requests", demo.emulator)).send().await.unwrap().json().await.unwrap();
    assert!(
        seen.as_array().unwrap().iter().any(|r| r["traceparent"].as_str().is_some_and(|t| t.contains(trace))),
        "the vendor did not see the caller's trace: {seen}"
    );

    // X-Server-Timeout is the call's deadline: a vendor answer far slower
    // than it is 504 DEADLINE_EXCEEDED.
    let faults = format!("{}/_emulator/faults", demo.emulator);
    let slow = json!({"action": "GetFile", "fault": {"kind": "latency", "ms": 10000}, "times": 1});
    http().post(&faults).json(&slow).send().await.unwrap().error_for_status().unwrap();
    let r = http()
        .get(format!("{b}/v1/workspaces/demo-dataworks/files/100003"))
        .header("x-server-timeout", "0.5")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 504);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], 4);
    let r = http().get(format!("{b}/v1/workspaces")).header("x-server-timeout", "soon").send().await.unwrap();
    assert_eq!((r.status().as_u16(), violated_field(&r.json().await.unwrap())), (400, Some("X-Server-Timeout")));

    // The vendor throttles: 503 with RetryInfo and Retry-After.
    let throttle = json!({"action": "GetFile", "fault": {"kind": "throttle", "retry_after_ms": 2000}, "times": 50});
    http().post(&faults).json(&throttle).send().await.unwrap().error_for_status().unwrap();
    let r = http().get(format!("{b}/v1/workspaces/demo-dataworks/files/100002")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["code"], 14);
    assert!(detail(&e, "RetryInfo").is_some(), "{e}");
}

/// Percent-encodes a query value.
fn percent(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

// ---------- auth, limits and CORS, shared with gRPC ----------

#[tokio::test]
async fn auth_limits_and_cors_are_shared_with_grpc() {
    datastudio_gateway::install_crypto_provider();
    let emu = common::alibaba::emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    std::fs::write(dir.path().join("ak"), "demo-ak").unwrap();
    std::fs::write(dir.path().join("sk"), "demo-sk").unwrap();
    let key = pki::signer("k1");
    std::fs::write(dir.path().join("jwks.json"), json!({"keys": [key.jwk]}).to_string()).unwrap();
    let yaml = format!(
        r#"server:
  grpc_listen: 127.0.0.1:0
  admin_listen: 127.0.0.1:0
  state_dir: {d}/state
  max_in_flight: 1
  max_in_flight_per_caller: 1
  cors_allowed_origins: ["https://console.example.com"]
workspaces:
  dw:
    vendor: alibaba
    region: cn-hangzhou
    project_id: 10003
    endpoints: {{ api: "{url}" }}
    credentials:
      access_key_id: {{ file: {d}/ak }}
      access_key_secret: {{ file: {d}/sk }}
auth:
  jwt:
    jwks_file: {d}/jwks.json
    issuer: https://issuer.test
    audiences: [datastudio-gateway]
  policies:
    - name: readers
      subjects: [reader]
      workspaces: ["*"]
      permissions: [read]
"#,
        url = emu.url()
    );
    let cfg = Config::from_yaml(&yaml).expect("config parses");
    let problems = datastudio_gateway::config::check(&cfg);
    assert!(problems.is_empty(), "config problems: {problems:?}");
    let running = gateway::start(&cfg, &Listen { grpc_listen: None, admin_listen: None }).await.expect("start");
    let b = format!("http://{}", running.grpc_addr);
    let list = format!("{b}/v1/workspaces/dw/files?page_size=2");
    let reader = format!("Bearer {}", pki::token(&key, "reader", "datastudio-gateway", pki::now() + 3600));

    // Without a token: 401 here, UNAUTHENTICATED over gRPC.
    let r = http().get(&list).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["code"], 16, "{e}");
    let channel = Channel::from_shared(b.clone()).unwrap().connect().await.unwrap();
    let mut files = pb::file_service_client::FileServiceClient::new(channel);
    let req = pb::ListFilesRequest { parent: "workspaces/dw".into(), page_size: 2, ..Default::default() };
    let e = files.list_files(req.clone()).await.unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
    // With the reader's token: reads pass on both, deploys are PERMISSION_DENIED (403).
    let r = http().get(&list).header("authorization", &reader).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let mut with_token = Request::new(req.clone());
    with_token.metadata_mut().insert("authorization", reader.parse().unwrap());
    files.list_files(with_token).await.expect("gRPC read with the token");
    let deploy = json!({"files": ["workspaces/dw/files/100002"], "requestId": "5d1e7c3a-2b4f-4c6d-8e9f-0a1b2c3d4e60"});
    let r = http()
        .post(format!("{b}/v1/workspaces/dw/files:deploy"))
        .header("authorization", &reader)
        .json(&deploy)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], 7);

    // A gRPC call that holds the only in-flight slot (its request never
    // ends) makes the HTTP/JSON call wait its turn: 429 with RetryInfo.
    let conn = common::raw::connect(running.grpc_addr, None).await;
    let held = http::Request::post("http://gateway/datastudio.v1.FileService/ListFiles")
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("authorization", &reader)
        .body(())
        .unwrap();
    let mut send = conn.clone().ready().await.unwrap();
    let (_held_answer, mut held_body) = send.send_request(held, false).unwrap();
    held_body.send_data(Bytes::new(), false).unwrap();
    let mut refused = None;
    for _ in 0..100 {
        let r = http().get(&list).header("authorization", &reader).send().await.unwrap();
        if r.status() == 429 {
            refused = Some(r);
            break;
        }
        tokio::task::yield_now().await;
    }
    let r = refused.expect("the HTTP/JSON call is refused while the gRPC call holds the slot");
    assert!(r.headers().contains_key("retry-after"));
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["code"], 8, "{e}");
    assert!(detail(&e, "RetryInfo").is_some(), "{e}");
    drop(held_body);

    // CORS: the configured origin may call (preflight and the call), others not.
    let preflight = |origin: &str| {
        http()
            .request(reqwest::Method::OPTIONS, &list)
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let ok = preflight("https://console.example.com").await.unwrap();
    assert_eq!(ok.headers()["access-control-allow-origin"], "https://console.example.com");
    let other = preflight("https://elsewhere.example.com").await.unwrap();
    assert!(!other.headers().contains_key("access-control-allow-origin"));
    running.shutdown().await;
}

#[tokio::test]
async fn mtls_identities_and_policies_apply_to_http_json_over_http1() {
    datastudio_gateway::install_crypto_provider();
    let emu = common::alibaba::emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let server_ca = pki::ca("server CA");
    let client_ca = pki::ca("client CA");
    let (sc, sk) = pki::leaf(&server_ca, "localhost", false);
    for (name, text) in
        [("tls.crt", sc.as_str()), ("tls.key", &sk), ("ca.crt", &client_ca.pem), ("ak", "demo-ak"), ("sk", "demo-sk")]
    {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let yaml = format!(
        r#"server:
  grpc_listen: 127.0.0.1:0
  admin_listen: 127.0.0.1:0
  state_dir: {d}/state
  tls: {{ cert_file: {d}/tls.crt, key_file: {d}/tls.key, client_ca_file: {d}/ca.crt }}
workspaces:
  dw:
    vendor: alibaba
    region: cn-hangzhou
    project_id: 10003
    endpoints: {{ api: "{url}" }}
    credentials:
      access_key_id: {{ file: {d}/ak }}
      access_key_secret: {{ file: {d}/sk }}
auth:
  policies:
    - name: etl
      subjects: ["spiffe://corp/ns/etl/*"]
      workspaces: [dw]
      permissions: [read]
"#,
        url = emu.url()
    );
    let cfg = Config::from_yaml(&yaml).expect("config parses");
    let running = gateway::start(&cfg, &Listen { grpc_listen: None, admin_listen: None }).await.expect("start");
    let client = |san: &str| {
        let (c, k) = pki::leaf(&client_ca, san, false);
        reqwest::Client::builder()
            .http1_only()
            .add_root_certificate(reqwest::Certificate::from_pem(server_ca.pem.as_bytes()).unwrap())
            .identity(reqwest::Identity::from_pem(format!("{c}{k}").as_bytes()).unwrap())
            .resolve("localhost", running.grpc_addr)
            .build()
            .unwrap()
    };
    let url = format!("https://localhost:{}/v1/workspaces/dw/files?page_size=2", running.grpc_addr.port());
    // The certificate's identity is granted read on dw: the list answers (over HTTP/1.1).
    let r = client("spiffe://corp/ns/etl/sa/loader").get(&url).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.version()), (200, reqwest::Version::HTTP_11));
    // Another identity from the same CA has no grant: 403, as PERMISSION_DENIED over gRPC.
    let r = client("spiffe://corp/ns/web/sa/site").get(&url).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let e: Value = r.json().await.unwrap();
    assert!(e["message"].as_str().unwrap().contains("datastudio.read on workspaces/dw"), "{e}");
    running.shutdown().await;
}

#[test]
fn check_config_names_a_cors_origin_that_is_not_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gateway.yaml");
    std::fs::write(
        &file,
        "server:\n  cors_allowed_origins: [\"https://ok.example.com\", \"https://x.example.com/app\", \"*\"]\nworkspaces: {}\n",
    )
    .unwrap();
    let out = Command::new(common::binary()).arg("check-config").arg(&file).output().unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("server.cors_allowed_origins[1]"), "{text}");
    assert!(text.contains("server.cors_allowed_origins[2]"), "{text}");
    assert!(!text.contains("server.cors_allowed_origins[0]"), "{text}");
}
