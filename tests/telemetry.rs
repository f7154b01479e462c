//! Observability through the real server against the DataWorks emulator:
//! one trace from the caller through the gateway to the vendor, metrics on
//! the admin port, and no secret in any span, metric or log line.
//!
//! The whole test process shares one telemetry installation (spans kept in
//! memory, JSON logs in a buffer), with the OTLP exporter pointed at a
//! collector that refuses connections; each test looks only at its own
//! traces.

mod common;
#[path = "common/huawei.rs"]
mod hw;

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use common::alibaba::{self, WS};
use datastudio_gateway::{
    emulator::common::{Fault, FaultRule},
    pb,
    providers::client::MAX_ATTEMPTS,
    telemetry::{self, otlp, testing},
};
use opentelemetry::{
    Value,
    trace::{SpanKind, Status, Tracer as _, TracerProvider as _},
};
use opentelemetry_sdk::trace::SpanData;
use tonic::{Code, Request};

/// A collector address nothing listens on.
const DEAD_COLLECTOR: &str = "http://127.0.0.1:1";

fn cap() -> &'static testing::Capture {
    let settings = otlp::Settings {
        endpoint: Some(DEAD_COLLECTOR.into()),
        timeout: Some(Duration::from_millis(300)),
        ..otlp::Settings::default()
    };
    let c = testing::capture_with(settings);
    assert!(c.installed, "the capture owns this test process's subscriber");
    c
}

/// A fresh sampled `traceparent`: (header, trace id, parent span id).
fn traceparent() -> (String, String, String) {
    let trace = format!("{:032x}", rand::random::<u128>() | 1);
    let parent = format!("{:016x}", rand::random::<u64>() | 1);
    (format!("00-{trace}-{parent}-01"), trace, parent)
}

fn with_trace<T>(msg: T, tp: &str) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert("traceparent", tp.parse().expect("ascii"));
    r.metadata_mut().insert("baggage", "tenant=t1".parse().expect("ascii"));
    r
}

fn attr<'a>(s: &'a SpanData, key: &str) -> Option<&'a Value> {
    s.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| &kv.value)
}

fn attr_str(s: &SpanData, key: &str) -> String {
    attr(s, key).map(|v| v.as_str().into_owned()).unwrap_or_default()
}

fn attr_i64(s: &SpanData, key: &str) -> Option<i64> {
    match attr(s, key)? {
        Value::I64(n) => Some(*n),
        _ => None,
    }
}

/// The spans of `trace` once its server span has ended (it ends with the
/// response's last frame, which may reach the caller a moment earlier).
async fn trace_spans(trace: &str) -> Vec<SpanData> {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let spans = cap().trace(trace);
        if spans.iter().any(|s| s.span_kind == SpanKind::Server) || Instant::now() > until {
            return spans;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn server_span(spans: &[SpanData]) -> &SpanData {
    let servers: Vec<_> = spans.iter().filter(|s| s.span_kind == SpanKind::Server).collect();
    assert_eq!(servers.len(), 1, "one server span: {spans:#?}");
    servers[0]
}

fn client_spans(spans: &[SpanData]) -> Vec<&SpanData> {
    spans.iter().filter(|s| s.span_kind == SpanKind::Client).collect()
}

#[tokio::test]
async fn the_callers_trace_reaches_the_vendor() {
    let cap = cap();
    let env = alibaba::start().await;
    let (tp, trace, parent) = traceparent();
    let req = pb::ListReleasePackagesRequest { parent: WS.into(), page_size: 3, ..Default::default() };
    let resp = env.gw.release().list_release_packages(with_trace(req, &tp)).await.expect("list").into_inner();
    assert_eq!(resp.release_packages.len(), 3);

    let spans = trace_spans(&trace).await;
    let server = server_span(&spans);
    assert_eq!(server.name, "datastudio.v1.ReleaseService/ListReleasePackages");
    assert_eq!(server.span_context.trace_id().to_string(), trace, "the caller's trace id is the gateway's");
    assert_eq!(server.parent_span_id.to_string(), parent, "the caller's span is the parent");
    assert_eq!(attr_str(server, "rpc.system"), "grpc");
    assert_eq!(attr_str(server, "rpc.service"), "datastudio.v1.ReleaseService");
    assert_eq!(attr_str(server, "rpc.method"), "ListReleasePackages");
    assert_eq!(attr_i64(server, "rpc.grpc.status_code"), Some(0));
    assert_eq!(server.status, Status::Unset);

    // One client span per vendor attempt, each a child of the server span,
    // and the emulator saw each one's own traceparent.
    let clients = client_spans(&spans);
    let received: Vec<String> =
        env.emu.control.requests().into_iter().filter_map(|r| r.traceparent).filter(|t| t.contains(&trace)).collect();
    assert!(!clients.is_empty(), "at least one vendor call");
    assert_eq!(clients.len(), received.len(), "one client span per vendor request: {received:?}");
    for c in &clients {
        assert_eq!(c.parent_span_id, server.span_context.span_id());
        let sent = format!("00-{trace}-{}-01", c.span_context.span_id());
        assert!(received.contains(&sent), "{sent} not among {received:?}");
        let api = attr_str(c, "vendor.api");
        assert_eq!(c.name, format!("POST {api}"));
        assert_eq!(attr_str(c, "vendor.name"), "alibaba");
        assert_eq!(attr_str(c, "datastudio.workspace"), "dw");
        assert_eq!(attr_str(c, "http.request.method"), "POST");
        assert_eq!(attr_str(c, "url.full"), format!("{}/", env.emu.url().trim_end_matches('/')));
        assert_eq!(attr_str(c, "server.address"), "127.0.0.1");
        assert_eq!(attr_i64(c, "http.response.status_code"), Some(200));
        assert!(!attr_str(c, "vendor.request_id").is_empty(), "x-acs-request-id recorded");
        assert_eq!(attr_i64(c, "retry.attempt"), Some(0));
        assert_eq!(attr_i64(c, "limiter.wait_ms"), Some(0));
        assert!(attr(c, "vendor.error_code").is_none());
    }

    // Log lines carry the ids of the span they were written in.
    let client_id = clients[0].span_context.span_id().to_string();
    let logs = cap.logs();
    let line = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["trace_id"] == trace.as_str() && l["span_id"] == client_id.as_str())
        .unwrap_or_else(|| panic!("no log line of the client span in\n{logs}"));
    assert_eq!(line["fields"]["message"], "vendor call");
    assert_eq!(line["span"]["name"], "vendor.http");
}

#[tokio::test]
async fn deploys_keep_the_callers_trace_on_every_vendor_call() {
    cap();
    // Both DataWorks flavours: legacy deploys file by file, pipeline runs one Data Studio object a run.
    for (flavour, file) in [("legacy", "100002"), ("pipeline", datastudio_gateway::emulator::alibaba::objects::NODE)] {
        let env = alibaba::start_with(flavour, "demo-sk").await;
        let (tp, trace, _) = traceparent();
        let req = pb::DeployFilesRequest {
            parent: WS.into(),
            files: vec![format!("{WS}/files/{file}")],
            request_id: uuid::Uuid::new_v4().to_string(),
            ..Default::default()
        };
        let before = env.emu.control.requests().len();
        let d = env.gw.release().deploy_files(with_trace(req, &tp)).await.expect("deploy").into_inner();
        assert_eq!(d.deployments.len(), 1, "{flavour}");
        let sent = env.emu.control.requests();
        let seen: Vec<Option<&str>> =
            sent[before..].iter().map(|r| r.traceparent.as_deref().and_then(|t| t.split('-').nth(1))).collect();
        assert!(!seen.is_empty(), "{flavour}: the deploy called the vendor");
        assert!(seen.iter().all(|t| *t == Some(trace.as_str())), "{flavour}: {trace} on every call: {seen:?}");
    }
}

#[tokio::test]
async fn a_call_without_traceparent_starts_its_own_trace() {
    cap();
    let env = alibaba::start().await;
    let before = env.emu.control.requests().len();
    env.gw
        .files()
        .get_file(pb::GetFileRequest { name: format!("{WS}/files/100001"), view: 0 })
        .await
        .expect("get file");
    let sent = env.emu.control.requests()[before..].iter().filter_map(|r| r.traceparent.clone()).collect::<Vec<_>>();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let trace = sent[0].split('-').nth(1).unwrap_or_default().to_owned();
    let spans = trace_spans(&trace).await;
    let server = server_span(&spans);
    assert_eq!(server.name, "datastudio.v1.FileService/GetFile");
    assert_eq!(server.parent_span_id, opentelemetry::trace::SpanId::INVALID, "a root span");
}

#[tokio::test]
async fn errors_show_in_the_status_code_and_the_vendor_error() {
    cap();
    let env = alibaba::start().await;

    // Refused by validation: a trailers-only answer, no vendor call.
    let (tp, trace, _) = traceparent();
    let bad = pb::ListReleasePackagesRequest { parent: WS.into(), page_size: -1, ..Default::default() };
    let e = env.gw.release().list_release_packages(with_trace(bad, &tp)).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let spans = trace_spans(&trace).await;
    assert_eq!(attr_i64(server_span(&spans), "rpc.grpc.status_code"), Some(Code::InvalidArgument as i64));
    assert_eq!(server_span(&spans).status, Status::Unset, "a caller error is not a server error");
    assert!(client_spans(&spans).is_empty());

    // Throttled by the vendor: the client span says so, the server span fails.
    // Throttled on every attempt the guard makes.
    env.emu.control.inject(FaultRule {
        action: "GetFile".into(),
        fault: Fault::Throttle { retry_after_ms: 50 },
        times: MAX_ATTEMPTS,
    });
    let (tp, trace, _) = traceparent();
    let get = pb::GetFileRequest { name: format!("{WS}/files/100001"), view: 0 };
    let e = env.gw.files().get_file(with_trace(get, &tp)).await.unwrap_err();
    assert_eq!(e.code(), Code::Unavailable);
    let spans = trace_spans(&trace).await;
    let server = server_span(&spans);
    assert_eq!(attr_i64(server, "rpc.grpc.status_code"), Some(Code::Unavailable as i64));
    assert!(matches!(server.status, Status::Error { .. }));
    let clients = client_spans(&spans);
    assert_eq!(clients.len(), MAX_ATTEMPTS as usize, "one client span per attempt");
    let mut attempts: Vec<i64> = clients.iter().filter_map(|c| attr_i64(c, "retry.attempt")).collect();
    attempts.sort_unstable();
    assert_eq!(attempts, (0..i64::from(MAX_ATTEMPTS)).collect::<Vec<_>>(), "the guard numbers its attempts");
    for c in clients {
        assert!(attr_i64(c, "limiter.wait_ms").is_some_and(|w| w >= 0));
        assert_eq!(attr_i64(c, "http.response.status_code"), Some(429));
        assert_eq!(attr_str(c, "vendor.error_code"), "Throttling.User");
        assert_eq!(attr_str(c, "error.type"), "VENDOR_THROTTLED");
        assert!(!attr_str(c, "vendor.request_id").is_empty());
        assert!(matches!(c.status, Status::Error { .. }));
    }

    // Unknown methods are named _OTHER, whatever the caller sends.
    let (tp, trace, _) = traceparent();
    let mut grpc = tonic::client::Grpc::new(env.gw.channel.clone());
    grpc.ready().await.expect("ready");
    let path = http::uri::PathAndQuery::from_static("/evil.Service/Random123");
    let mut req = Request::new(());
    req.metadata_mut().insert("traceparent", tp.parse().expect("ascii"));
    let e = grpc.unary::<(), (), _>(req, path, Unit).await.unwrap_err();
    assert_eq!(e.code(), Code::Unimplemented);
    let spans = trace_spans(&trace).await;
    assert_eq!(server_span(&spans).name, "_OTHER/_OTHER");
}

/// An empty-message codec for calling an arbitrary path.
#[derive(Clone, Copy)]
struct Unit;

impl tonic::codec::Codec for Unit {
    type Encode = ();
    type Decode = ();
    type Encoder = Unit;
    type Decoder = Unit;
    fn encoder(&mut self) -> Unit {
        Unit
    }
    fn decoder(&mut self) -> Unit {
        Unit
    }
}

impl tonic::codec::Encoder for Unit {
    type Item = ();
    type Error = tonic::Status;
    fn encode(&mut self, _: (), _: &mut tonic::codec::EncodeBuf<'_>) -> Result<(), tonic::Status> {
        Ok(())
    }
}

impl tonic::codec::Decoder for Unit {
    type Item = ();
    type Error = tonic::Status;
    fn decode(&mut self, _: &mut tonic::codec::DecodeBuf<'_>) -> Result<Option<()>, tonic::Status> {
        Ok(Some(()))
    }
}

#[tokio::test]
async fn a_collector_that_is_down_changes_no_result() {
    cap();
    let env = alibaba::start().await;
    let req = || pb::ListReleasePackagesRequest { parent: WS.into(), page_size: 5, ..Default::default() };
    let first = env.gw.release().list_release_packages(req()).await.expect("list").into_inner();
    let started = Instant::now();
    for _ in 0..20 {
        let again = env.gw.release().list_release_packages(req()).await.expect("list").into_inner();
        assert_eq!(again, first);
    }
    assert!(started.elapsed() < Duration::from_secs(10), "20 calls took {:?}", started.elapsed());

    // The exporter itself: spans past its bounded queue are dropped, never
    // waited for, and shutting down gives up after the timeout.
    let settings = otlp::Settings {
        endpoint: Some(DEAD_COLLECTOR.into()),
        timeout: Some(Duration::from_millis(200)),
        ..otlp::Settings::default()
    };
    assert!(settings.exports());
    let (builder, warnings) = settings.provider_builder();
    assert!(warnings.is_empty(), "{warnings:?}");
    let provider = builder.build();
    let tracer = provider.tracer("dead-collector-test");
    let started = Instant::now();
    for i in 0..5000 {
        tracer.in_span(format!("s{i}"), |_| {});
    }
    assert!(started.elapsed() < Duration::from_secs(2), "5000 spans took {:?}", started.elapsed());
    let started = Instant::now();
    let _ = tokio::task::spawn_blocking(move || provider.shutdown_with_timeout(Duration::from_secs(1))).await;
    assert!(started.elapsed() < Duration::from_secs(3), "shutdown took {:?}", started.elapsed());
}

/// One sample of the exposition: metric name, labels, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses Prometheus / OpenMetrics text: comments skipped, label values
/// unescaped (`\\`, `\"`, `\n`). Fails on anything malformed.
fn parse_exposition(text: &str) -> Result<Vec<Sample>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let err = |what: &str| format!("line {}: {what}: {line:?}", n + 1);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name_end = line.find(['{', ' ']).ok_or_else(|| err("no value"))?;
        let name = &line[..name_end];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            return Err(err("bad metric name"));
        }
        let mut labels = BTreeMap::new();
        let mut rest = &line[name_end..];
        if let Some(body) = rest.strip_prefix('{') {
            let mut chars = body.char_indices().peekable();
            let close = loop {
                let Some((i, c)) = chars.next() else { return Err(err("unclosed labels")) };
                match c {
                    '}' => break i,
                    ',' | ' ' => continue,
                    _ => {}
                }
                let mut key = String::from(c);
                loop {
                    match chars.next() {
                        Some((_, '=')) => break,
                        Some((_, k)) if k.is_ascii_alphanumeric() || k == '_' => key.push(k),
                        _ => return Err(err("bad label name")),
                    }
                }
                if chars.next().map(|(_, c)| c) != Some('"') {
                    return Err(err("label value not quoted"));
                }
                let mut value = String::new();
                loop {
                    match chars.next() {
                        Some((_, '"')) => break,
                        Some((_, '\\')) => match chars.next() {
                            Some((_, 'n')) => value.push('\n'),
                            Some((_, e @ ('\\' | '"'))) => value.push(e),
                            _ => return Err(err("bad escape")),
                        },
                        Some((_, v)) => value.push(v),
                        None => return Err(err("unterminated label value")),
                    }
                }
                if labels.insert(key, value).is_some() {
                    return Err(err("repeated label"));
                }
            };
            rest = &body[close + 1..];
        }
        let value = rest.split_whitespace().next().ok_or_else(|| err("no value"))?;
        let value = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse::<f64>().map_err(|_| err("bad value"))?,
        };
        out.push(Sample { name: name.to_owned(), labels, value });
    }
    Ok(out)
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| s.name == name && labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v)))
        .map(|s| s.value)
}

#[test]
fn the_exposition_parser_is_strict() {
    let s = parse_exposition("# HELP x y\nx_total{a=\"q\\\"\\\\\\n\",b=\"\"} 3\ny 1.5e3\n# EOF\n").unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].labels["a"], "q\"\\\n");
    assert_eq!(s[1].value, 1500.0);
    for bad in ["x{a=1} 1", "x{a=\"1\" 1", "x", "x{a=\"1\",a=\"2\"} 1", "x 1e"] {
        assert!(parse_exposition(bad).is_err(), "{bad}");
    }
}

#[tokio::test]
async fn metrics_expose_rpcs_vendor_calls_and_the_quota_gauges() {
    cap();
    let env = alibaba::start().await;
    for _ in 0..3 {
        env.gw
            .release()
            .list_release_packages(pb::ListReleasePackagesRequest {
                parent: WS.into(),
                page_size: 2,
                ..Default::default()
            })
            .await
            .expect("list");
    }
    // A throttled first attempt (the retry may then succeed) and an unknown file.
    env.emu.control.inject(FaultRule {
        action: "GetFile".into(),
        fault: Fault::Throttle { retry_after_ms: 50 },
        times: 1,
    });
    let get = |id: &str| pb::GetFileRequest { name: format!("{WS}/files/{id}"), view: 0 };
    let _ = env.gw.files().get_file(get("100001")).await;
    assert_eq!(env.gw.files().get_file(get("999999")).await.unwrap_err().code(), Code::NotFound);
    // This workspace has no daily budget: feed the gauge directly to check its encoding.
    telemetry::metrics::daily_budget_remaining("alibaba", "telemetry-test", 77);
    telemetry::metrics::daily_budget_limit("alibaba", "telemetry-test", 100);

    let resp = reqwest::get(format!("http://{}/metrics", env.gw.admin_addr())).await.expect("scrape");
    assert_eq!(resp.status(), 200);
    let ctype = resp.headers()["content-type"].to_str().unwrap_or_default().to_owned();
    assert!(ctype.starts_with("application/openmetrics-text"), "{ctype}");
    let text = resp.text().await.expect("body");
    assert_eq!(text.lines().last(), Some("# EOF"));
    let s = parse_exposition(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));

    let rpc =
        [("grpc_service", "datastudio.v1.ReleaseService"), ("grpc_method", "ListReleasePackages"), ("grpc_code", "OK")];
    assert!(value(&s, "grpc_server_handled_total", &rpc).unwrap_or(0.0) >= 3.0, "{text}");
    assert!(value(&s, "grpc_server_handling_seconds_count", &rpc).unwrap_or(0.0) >= 3.0);
    let inf = [rpc[0], rpc[1], rpc[2], ("le", "+Inf")];
    assert!(value(&s, "grpc_server_handling_seconds_bucket", &inf).unwrap_or(0.0) >= 3.0);
    let not_found =
        [("grpc_service", "datastudio.v1.FileService"), ("grpc_method", "GetFile"), ("grpc_code", "NotFound")];
    assert!(value(&s, "grpc_server_handled_total", &not_found).unwrap_or(0.0) >= 1.0);

    let ok = [("vendor", "alibaba"), ("api", "ListDeploymentPackages"), ("outcome", "ok")];
    assert!(value(&s, "datastudio_vendor_calls_total", &ok).unwrap_or(0.0) >= 3.0, "{text}");
    assert!(value(&s, "datastudio_vendor_call_duration_seconds_count", &ok).unwrap_or(0.0) >= 3.0);
    let throttled = [("vendor", "alibaba"), ("api", "GetFile"), ("outcome", "throttled")];
    assert!(value(&s, "datastudio_vendor_calls_total", &throttled).unwrap_or(0.0) >= 1.0);
    let get = [("vendor", "alibaba"), ("api", "GetFile")];
    assert!(value(&s, "datastudio_vendor_throttled_total", &get).unwrap_or(0.0) >= 1.0);

    // Recorded by the guard on the real calls above: every call took a
    // limiter slot, and the throttled GetFile was retried.
    let lists = [("vendor", "alibaba"), ("api", "ListDeploymentPackages")];
    assert!(value(&s, "datastudio_limiter_wait_seconds_count", &lists).unwrap_or(0.0) >= 3.0, "{text}");
    assert!(value(&s, "datastudio_limiter_queue_depth", &lists).is_some_and(|v| v >= 0.0), "{text}");
    assert!(value(&s, "datastudio_vendor_retries_total", &get).unwrap_or(0.0) >= 1.0, "{text}");
    let budget = [("vendor", "alibaba"), ("account", "telemetry-test")];
    assert_eq!(value(&s, "datastudio_daily_budget_remaining", &budget), Some(77.0));
    assert_eq!(value(&s, "datastudio_daily_budget_limit", &budget), Some(100.0));
    assert!(value(&s, "datastudio_deploys_in_flight", &[]).is_some());
}

#[tokio::test]
async fn no_secret_reaches_spans_metrics_or_logs() {
    let cap = cap();
    const WRONG: &str = "wrong-secret-7f3a9c1e";
    // A good secret and a rejected one: both the success and the error paths.
    let good = alibaba::start().await;
    let bad = alibaba::start_with("legacy", WRONG).await;
    let secrets = [std::fs::read_to_string(good.gw.dir.path().join("sk")).expect("sk"), WRONG.to_owned()];
    assert_eq!(secrets[0], "demo-sk");
    let (tp1, t1, _) = traceparent();
    let (tp2, t2, _) = traceparent();
    let get = || pb::GetFileRequest { name: format!("{WS}/files/100001"), view: 0 };
    good.gw.files().get_file(with_trace(get(), &tp1)).await.expect("get file");
    let e = bad.gw.files().get_file(with_trace(get(), &tp2)).await.unwrap_err();
    assert_eq!(e.code(), Code::Internal, "the vendor refused the gateway's own credentials");

    let mut spans = trace_spans(&t1).await;
    spans.extend(trace_spans(&t2).await);
    assert_eq!(client_spans(&spans).len(), 2);
    let mut exported = String::new();
    for s in &spans {
        exported.push_str(&format!("{} {:?} {:?} {:?}\n", s.name, s.attributes, s.events, s.status));
    }
    let scrape = reqwest::get(format!("http://{}/metrics", good.gw.admin_addr())).await.expect("scrape");
    let metrics = scrape.text().await.expect("body");
    let refused = [("vendor", "alibaba"), ("workspace", "dw")];
    let samples = parse_exposition(&metrics).unwrap_or_else(|e| panic!("{e}\n{metrics}"));
    let counted = value(&samples, "datastudio_vendor_credentials_refused_total", &refused);
    assert!(counted.unwrap_or(0.0) >= 1.0, "the refusal is counted: {metrics}");
    let logs = cap.logs();
    assert!(logs.contains(&t2), "the failing call was logged");
    for (what, text) in [("span", &exported), ("metric", &metrics), ("log", &logs)] {
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "{what} data contains the secret {secret:?}");
        }
        // Nor anything of the signed headers.
        for marker in ["ACS3-HMAC-SHA256", "Signature=", "x-acs-signature-nonce", "authorization"] {
            assert!(!text.to_ascii_lowercase().contains(&marker.to_ascii_lowercase()), "{what} data has {marker}");
        }
    }
}

/// A fake OTLP collector: what it received, by protocol.
#[derive(Clone, Default)]
struct Collector(std::sync::Arc<std::sync::Mutex<Vec<ExportTraceServiceRequest>>>);

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
    trace_service_server::{TraceService, TraceServiceServer},
};

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        req: Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(req.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

impl Collector {
    /// (service.name, span names) of everything received.
    fn received(&self) -> (Vec<String>, Vec<String>) {
        let mut services = Vec::new();
        let mut names = Vec::new();
        for r in self.0.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            for rs in &r.resource_spans {
                for kv in rs.resource.iter().flat_map(|r| &r.attributes) {
                    if kv.key == "service.name" {
                        services.push(format!("{:?}", kv.value));
                    }
                }
                names.extend(rs.scope_spans.iter().flat_map(|s| &s.spans).map(|s| s.name.clone()));
            }
        }
        (services, names)
    }
}

/// Settings read from these variables only.
fn settings(vars: &[(&str, String)]) -> otlp::Settings {
    otlp::Settings::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
}

/// Exports two spans through a provider built from `settings`.
async fn export_through(settings: otlp::Settings) {
    let (builder, warnings) = settings.provider_builder();
    assert!(warnings.is_empty(), "{warnings:?}");
    let provider = builder.build();
    let tracer = provider.tracer("collector-test");
    tracer.in_span("outer", |_| tracer.in_span("inner", |_| {}));
    let flushed = tokio::task::spawn_blocking(move || {
        let r = provider.force_flush();
        let _ = provider.shutdown();
        r
    })
    .await
    .expect("join");
    assert!(flushed.is_ok(), "{flushed:?}");
}

#[tokio::test]
async fn spans_reach_an_otlp_collector_over_grpc_and_http() {
    // OTLP/gRPC.
    let grpc = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tonic::transport::Server::builder()
        .add_service(TraceServiceServer::new(grpc.clone()))
        .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener));
    let server = tokio::spawn(server);
    export_through(settings(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{addr}")),
        ("OTEL_SERVICE_NAME", "gw-grpc-test".to_owned()),
    ]))
    .await;
    let (services, names) = grpc.received();
    assert!(services.iter().all(|s| s.contains("gw-grpc-test")) && !services.is_empty(), "{services:?}");
    assert_eq!(names.len(), 2, "{names:?}");
    server.abort();

    // OTLP/HTTP with protobuf bodies, at /v1/traces.
    let http = Collector::default();
    let sink = http.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: bytes::Bytes| {
            let sink = sink.clone();
            async move {
                use prost::Message;
                match ExportTraceServiceRequest::decode(body) {
                    Ok(r) => {
                        sink.0.lock().unwrap_or_else(|e| e.into_inner()).push(r);
                        (http::StatusCode::OK, ExportTraceServiceResponse { partial_success: None }.encode_to_vec())
                    }
                    Err(_) => (http::StatusCode::BAD_REQUEST, Vec::new()),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    export_through(settings(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{addr}")),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
        ("OTEL_SERVICE_NAME", "gw-http-test".to_owned()),
    ]))
    .await;
    let (services, names) = http.received();
    assert!(services.iter().all(|s| s.contains("gw-http-test")) && !services.is_empty(), "{services:?}");
    assert_eq!(names.len(), 2, "{names:?}");
    server.abort();
}

#[tokio::test]
async fn dataarts_calls_carry_the_trace_and_no_credential() {
    use hw as huawei;
    let cap = cap();
    // IAM password authentication: the token request (password in its body)
    // is a vendor call of the same trace.
    let env = huawei::start_with(huawei::options(), huawei::Creds::Iam(huawei::IAM.2)).await;
    let (tp, trace, _) = traceparent();
    let req = pb::ListReleasePackagesRequest { parent: huawei::WS.into(), page_size: 2, ..Default::default() };
    env.gw.release().list_release_packages(with_trace(req, &tp)).await.expect("list");

    let spans = trace_spans(&trace).await;
    let server = server_span(&spans);
    let clients = client_spans(&spans);
    let apis: Vec<String> = clients.iter().map(|c| attr_str(c, "vendor.api")).collect();
    assert!(apis.iter().any(|a| a == "iam.tokens"), "{apis:?}");
    assert!(apis.iter().any(|a| a == "release-packages.list"), "{apis:?}");
    let received: Vec<String> =
        env.emu.control.requests().into_iter().filter_map(|r| r.traceparent).filter(|t| t.contains(&trace)).collect();
    assert_eq!(clients.len(), received.len(), "{received:?}");
    for c in &clients {
        assert_eq!(c.parent_span_id, server.span_context.span_id());
        assert_eq!(attr_str(c, "vendor.name"), "huawei");
        assert_eq!(attr_str(c, "datastudio.workspace"), "da-test");
        assert!(!attr_str(c, "vendor.request_id").is_empty(), "X-Request-Id recorded");
        assert!(received.contains(&format!("00-{trace}-{}-01", c.span_context.span_id())));
    }

    let exported = format!("{spans:?}");
    let logs = cap.logs();
    for text in [&exported, &logs] {
        assert!(!text.contains(huawei::IAM.2), "the IAM password leaked");
        assert!(!text.to_ascii_lowercase().contains("x-auth-token"), "a token header leaked");
    }
}
