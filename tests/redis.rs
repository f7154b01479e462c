//! Many replicas, one quota: three gateways sharing one real redis-server
//! (started here on an ephemeral loopback port; installed from Debian's
//! package if missing) in front of one DataWorks emulator.

mod common;

use std::time::{Duration, Instant};

use common::{
    Gateway,
    alibaba::{self, WS},
    redis::RedisServer,
};
use datastudio_gateway::{
    emulator::alibaba::{Handle, objects},
    emulator::common::{Fault, FaultRule, ThrottleConfig},
    pb,
};
use tonic::{Code, Request};
use tonic_types::StatusExt;

fn get_file(id: u32, timeout: Duration) -> Request<pb::GetFileRequest> {
    let mut r = Request::new(pb::GetFileRequest { name: format!("{WS}/files/{id}"), view: 0 });
    r.set_timeout(timeout);
    r
}

fn deploy(request_id: &str, comment: &str) -> Request<pb::DeployFilesRequest> {
    let mut r = Request::new(pb::DeployFilesRequest {
        parent: WS.into(),
        files: vec![format!("{WS}/files/100004")],
        comment: comment.into(),
        request_id: request_id.into(),
        ..Default::default()
    });
    r.set_timeout(Duration::from_secs(20));
    r
}

fn reason(s: &tonic::Status) -> String {
    common::error_info(s).map(|i| i.reason).unwrap_or_default()
}

/// One replica on the shared Redis; `ws` is extra workspace YAML (indented four spaces).
async fn replica(emu: &Handle, redis: &RedisServer, policy: &str, replicas: u32, ws: &str) -> Gateway {
    let dir = common::secrets_dir(&[("ak", "demo-ak"), ("sk", "demo-sk"), ("ptk", "shared-page-key")]);
    let d = dir.path().display().to_string();
    std::fs::write(dir.path().join("redis_url"), redis.url()).expect("write the Redis URL");
    let extra = format!(
        "{ws}\nlimits:\n  backend: redis\n  replicas: {replicas}\n  redis:\n    url: {{ file: {d}/redis_url }}\n    \
         failure_policy: {policy}\n"
    );
    alibaba::gateway(emu, dir, "legacy", &extra).await
}

async fn replicas(emu: &Handle, redis: &RedisServer, policy: &str, ws: &str) -> Vec<Gateway> {
    let mut v = Vec::new();
    for _ in 0..3 {
        v.push(replica(emu, redis, policy, 3, ws).await);
    }
    v
}

async fn metrics(gw: &Gateway) -> String {
    reqwest::get(format!("http://{}/metrics", gw.admin_addr())).await.expect("metrics").text().await.expect("text")
}

#[tokio::test]
async fn a_vendor_daily_quota_met_by_one_replica_closes_the_api_for_all() {
    let redis = RedisServer::start();
    let emu = alibaba::emulator().await;
    emu.control.inject(FaultRule {
        action: "GetFile".into(),
        fault: Fault::DailyQuota { retry_after_ms: 3_600_000 },
        times: 1,
    });
    let gws = replicas(&emu, &redis, "fail_closed", "").await;
    let e = gws[0].files().get_file(get_file(100_001, Duration::from_secs(5))).await.unwrap_err();
    assert_eq!((e.code(), reason(&e).as_str()), (Code::ResourceExhausted, "VENDOR_DAILY_QUOTA_EXHAUSTED"));
    for gw in &gws[1..] {
        let e = gw.files().get_file(get_file(100_002, Duration::from_secs(5))).await.unwrap_err();
        assert_eq!((e.code(), reason(&e).as_str()), (Code::ResourceExhausted, "VENDOR_DAILY_QUOTA_EXHAUSTED"));
        assert!(e.get_details_quota_failure().is_some() && e.get_details_retry_info().is_some());
    }
    assert_eq!(emu.control.count("GetFile"), 1, "the other replicas made no vendor call");
}

#[tokio::test]
async fn three_replicas_offered_three_times_the_vendor_rate_keep_one_quota() {
    let redis = RedisServer::start();
    let emu = alibaba::emulator().await;
    emu.control.set_throttle(ThrottleConfig { qps: Some(5.0), daily_quota: None });
    // Basic edition: 5 calls/s per API for the whole fleet, the emulator's limit.
    let gws = replicas(&emu, &redis, "fail_closed", "    edition: basic").await;
    let started = Instant::now();
    let mut calls = Vec::new();
    // 30 calls offered at 15/s (2 s), spread over the three replicas.
    for i in 0..30u32 {
        let mut files = gws[i as usize % 3].files();
        calls.push(tokio::spawn(async move { files.get_file(get_file(100_001 + i, Duration::from_secs(20))).await }));
        tokio::time::sleep(Duration::from_millis(66)).await;
    }
    for c in calls {
        if let Err(e) = c.await.expect("task") {
            panic!("a caller with a long deadline saw {e:?}");
        }
    }
    assert_eq!(emu.control.count_status(429), 0, "no vendor throttling reached the emulator");
    // 30 calls at one shared 5/s take about 6 s (each replica alone would
    // have sent its 10 in 2 s, at 15/s together).
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(5600), "{took:?}");
    assert!(took < Duration::from_secs(9), "the whole rate was used: {took:?}");
    assert!(redis.keys("dsgw:rate:*") >= 1, "the bucket lives in Redis");
}

#[tokio::test]
async fn one_request_id_sent_to_every_replica_at_once_deploys_once() {
    let redis = RedisServer::start();
    let emu = alibaba::emulator().await;
    let gws = replicas(&emu, &redis, "fail_closed", "").await;
    let id = "5f0e8a52-3c1d-4c8e-9a77-0d1e2f3a4b5c";
    let mut calls = Vec::new();
    for round in 0..3 {
        for gw in &gws {
            let mut c = gw.release();
            calls.push(tokio::spawn(async move { c.deploy_files(deploy(id, "once")).await.map(|r| r.into_inner()) }));
        }
        if round == 0 {
            tokio::task::yield_now().await;
        }
    }
    let mut answers = Vec::new();
    for c in calls {
        answers.push(c.await.expect("task").expect("deploy"));
    }
    assert!(answers.iter().all(|a| a == &answers[0]), "nine identical answers");
    assert_eq!(emu.control.count("DeployFile"), 1, "one vendor deploy");
    // Later repeats anywhere replay the record; another request under the id is refused.
    for gw in &gws {
        assert_eq!(gw.release().deploy_files(deploy(id, "once")).await.expect("replay").into_inner(), answers[0]);
    }
    let e = gws[2].release().deploy_files(deploy(id, "something else")).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(emu.control.count("DeployFile"), 1);
    assert_eq!(redis.keys("dsgw:deploy:*"), 1, "one record, no lease left behind");
}

/// A pipeline-flavour replica on the shared Redis whose deployment leases
/// last 2 s (the shortest the 500 ms Redis timeout allows).
async fn pipeline_replica(emu: &Handle, redis: &RedisServer) -> Gateway {
    let dir = common::secrets_dir(&[("ak", "demo-ak"), ("sk", "demo-sk"), ("ptk", "shared-page-key")]);
    let d = dir.path().display().to_string();
    std::fs::write(dir.path().join("redis_url"), redis.url()).expect("write the Redis URL");
    let extra = format!(
        "limits:\n  backend: redis\n  replicas: 3\n  redis:\n    url: {{ file: {d}/redis_url }}\n    \
         deployment_lease: 2s\n"
    );
    alibaba::gateway(emu, dir, "pipeline", &extra).await
}

async fn get_deployment(gw: &Gateway, name: &str) -> pb::Deployment {
    let req = pb::GetDeploymentRequest { name: name.into(), view: 0 };
    gw.release().get_deployment(req).await.expect("get").into_inner().deployment.expect("deployment")
}

/// Which replicas drive `name` now.
fn drivers(gws: &[Gateway], name: &str) -> Vec<usize> {
    let id = name.rsplit_once('/').expect("deployment name").1;
    (0..gws.len()).filter(|&i| gws[i].running.as_ref().is_some_and(|r| r.drives("dw", id))).collect()
}

#[tokio::test]
async fn one_replica_drives_a_pipeline_run_and_another_takes_over_when_it_stops() {
    let redis = RedisServer::start();
    let emu = datastudio_gateway::emulator::alibaba::start(datastudio_gateway::emulator::alibaba::Options {
        deploy_step: Duration::from_millis(700),
        ..Default::default()
    })
    .await
    .expect("emulator");
    let mut gws = Vec::new();
    for _ in 0..3 {
        gws.push(pipeline_replica(&emu, &redis).await);
    }
    let id = "7d3c1b2a-9e8f-4a6b-8c5d-4e3f2a1b0c9d";
    let mut calls = Vec::new();
    for gw in &gws {
        let mut c = gw.release();
        let req = pb::DeployFilesRequest {
            parent: WS.into(),
            files: vec![format!("{WS}/files/{}", objects::NODE)],
            request_id: id.into(),
            ..Default::default()
        };
        calls.push(tokio::spawn(async move { c.deploy_files(req).await.map(|r| r.into_inner()) }));
    }
    let mut answers = Vec::new();
    for c in calls {
        answers.push(c.await.expect("task").expect("deploy"));
    }
    assert!(answers.iter().all(|a| a == &answers[0]), "three identical answers");
    assert_eq!(emu.control.count("CreatePipelineRun"), 1, "one vendor deploy");
    let d = answers[0].deployments[0].clone();
    assert_eq!(drivers(&gws, &d.name).len(), 1, "exactly one replica drives it");

    // Mid-run (a stage or two in), the replica that drives it stops.
    let t0 = Instant::now();
    while emu.control.count("ExecPipelineRunStage") < 2 {
        assert!(t0.elapsed() < Duration::from_secs(10), "the run did not move on");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stopped = drivers(&gws, &d.name)[0];
    let mut gone = gws.remove(stopped);
    gone.running.take().expect("running").shutdown().await;
    drop(gone);

    // Another replica takes the lease over once it expires, and the run ends.
    let (mut took_over, mut last) = (false, get_deployment(&gws[0], &d.name).await);
    let t0 = Instant::now();
    while last.state() != pb::DeploymentState::Succeeded {
        assert!(t0.elapsed() < Duration::from_secs(30), "the run did not end after its driver stopped: {last:?}");
        took_over |= !drivers(&gws, &d.name).is_empty();
        tokio::time::sleep(Duration::from_millis(100)).await;
        last = get_deployment(&gws[0], &d.name).await;
    }
    assert!(took_over, "a remaining replica drove it");
    assert_eq!(emu.control.count("ExecPipelineRunStage"), 4, "every stage triggered exactly once");
    assert_eq!(emu.control.count("CreatePipelineRun"), 1);
    // Readers on the replica that does not drive it see what the driver
    // published, one sweep (at most a second) later.
    for gw in &gws {
        let mut seen = get_deployment(gw, &d.name).await;
        let t0 = Instant::now();
        while seen.state() != pb::DeploymentState::Succeeded {
            assert!(t0.elapsed() < Duration::from_secs(3), "every replica's readers see the end: {seen:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
            seen = get_deployment(gw, &d.name).await;
        }
        assert_eq!((seen.request_id.as_str(), seen.files.as_slice()), (id, d.files.as_slice()));
    }
    assert_eq!(redis.keys("dsgw:{deployments}:lease:*"), 0, "the lease is released at the end");
}

#[tokio::test]
async fn polls_pause_while_redis_is_down_and_the_run_ends_once_it_is_back_even_without_its_data() {
    let mut redis = RedisServer::start();
    let emu = datastudio_gateway::emulator::alibaba::start(datastudio_gateway::emulator::alibaba::Options {
        deploy_step: Duration::from_millis(300),
        ..Default::default()
    })
    .await
    .expect("emulator");
    let gw = pipeline_replica(&emu, &redis).await;
    let req = pb::DeployFilesRequest {
        parent: WS.into(),
        files: vec![format!("{WS}/files/{}", objects::NODE)],
        request_id: "3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7".into(),
        ..Default::default()
    };
    let d = gw.release().deploy_files(req).await.expect("deploy").into_inner().deployments.remove(0);
    // Redis goes away (and comes back empty: no persistence) while the first stage runs.
    redis.stop();
    let stages = emu.control.count("ExecPipelineRunStage");
    assert_eq!(stages, 1, "only the deploy's own stage so far");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(emu.control.count("ExecPipelineRunStage"), stages, "no stage is started without a lease");
    redis.resume();
    let (t0, mut last) = (Instant::now(), get_deployment(&gw, &d.name).await);
    while last.state() != pb::DeploymentState::Succeeded {
        assert!(t0.elapsed() < Duration::from_secs(20), "the run did not end after Redis came back: {last:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        last = get_deployment(&gw, &d.name).await;
    }
    assert_eq!(emu.control.count("ExecPipelineRunStage"), 4, "every stage once");
    assert_eq!(last.request_id, d.request_id);
}

#[tokio::test]
async fn fail_closed_refuses_while_redis_is_down_and_recovers_without_a_restart() {
    let mut redis = RedisServer::start();
    let emu = alibaba::emulator().await;
    let gw = replica(&emu, &redis, "fail_closed", 3, "    rate_limits: { default: 50 }").await;
    gw.files().get_file(get_file(100_001, Duration::from_secs(5))).await.expect("served through Redis");

    redis.stop();
    let e = gw.files().get_file(get_file(100_002, Duration::from_secs(5))).await.unwrap_err();
    assert_eq!((e.code(), reason(&e).as_str()), (Code::Unavailable, "RATE_LIMITER_UNAVAILABLE"), "{e:?}");
    let id = "0c9d8e7f-6a5b-4c3d-8e1f-203142536475";
    let e = gw.release().deploy_files(deploy(id, "later")).await.unwrap_err();
    assert_eq!((e.code(), reason(&e).as_str()), (Code::Unavailable, "IDEMPOTENCY_STORE_UNAVAILABLE"), "{e:?}");
    assert_eq!(emu.control.count("GetFile"), 1, "no vendor call without the limiter");
    assert_eq!(emu.control.count("DeployFile"), 0, "no deploy without its record");

    redis.resume();
    let t0 = Instant::now();
    loop {
        match gw.files().get_file(get_file(100_003, Duration::from_secs(5))).await {
            Ok(_) => break,
            Err(e) => assert!(t0.elapsed() < Duration::from_secs(5), "not recovered after 5 s: {e:?}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    gw.release().deploy_files(deploy(id, "later")).await.expect("the refused deploy goes through now");
    assert_eq!(emu.control.count("DeployFile"), 1);
    assert!(metrics(&gw).await.contains("datastudio_gateway_redis_outages_total"));
}

#[tokio::test]
async fn fail_local_serves_each_replica_at_its_share_while_redis_is_down() {
    let mut redis = RedisServer::start();
    let emu = alibaba::emulator().await;
    emu.control.set_throttle(ThrottleConfig { qps: Some(6.0), daily_quota: None });
    // 6 calls/s for the fleet; 2/s for each of 3 replicas when on their own.
    let gws = replicas(&emu, &redis, "fail_local", "    rate_limits: { default: 6 }").await;
    for gw in &gws {
        gw.files().get_file(get_file(100_001, Duration::from_secs(5))).await.expect("served through Redis");
    }
    redis.stop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let mut calls = Vec::new();
    for (g, gw) in gws.iter().enumerate() {
        for i in 0..4u32 {
            let mut files = gw.files();
            let id = 100_010 + 10 * g as u32 + i;
            calls.push(tokio::spawn(async move { files.get_file(get_file(id, Duration::from_secs(10))).await }));
        }
    }
    for c in calls {
        if let Err(e) = c.await.expect("task") {
            panic!("fail_local still serves calls: {e:?}");
        }
    }
    // Four calls at 2/s on each replica: the last goes 1.5 s after the first
    // (at the fleet's 6/s one replica would be done in 0.5 s).
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(1400), "limited at the per-replica share: {took:?}");
    assert_eq!(emu.control.count_status(429), 0, "the shares add up to the vendor limit");
    assert!(
        metrics(&gws[0])
            .await
            .lines()
            .any(|l| l.starts_with("datastudio_gateway_limiter_fallback_total ") && !l.ends_with(" 0"))
    );
    // Deploys are refused rather than risked, whatever the policy.
    let e = gws[1].release().deploy_files(deploy("1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", "x")).await.unwrap_err();
    assert_eq!(e.code(), Code::Unavailable);
    assert_eq!(emu.control.count("DeployFile"), 0);

    redis.resume();
    let t0 = Instant::now();
    while redis.keys("dsgw:rate:*") == 0 {
        assert!(t0.elapsed() < Duration::from_secs(5), "the buckets did not move back to Redis");
        gws[0].files().get_file(get_file(100_001, Duration::from_secs(5))).await.expect("served");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn callers_are_answered_within_their_deadline_and_no_vendor_call_outlives_one() {
    let redis = RedisServer::start();
    let emu = alibaba::emulator().await;
    emu.control.set_throttle(ThrottleConfig { qps: Some(5.0), daily_quota: None });
    // Configured at twice the vendor's 5/s: it throttles, the shared bucket
    // pauses and slows, and reservations are voided and taken again.
    let gws = replicas(&emu, &redis, "fail_closed", "    rate_limits: { default: 10 }").await;
    let deadline = Duration::from_secs(2);
    let mut calls = Vec::new();
    // 15 calls/s offered for 6 s with 2 s deadlines.
    for i in 0..90u32 {
        let mut files = gws[i as usize % 3].files();
        let until = Instant::now() + deadline;
        let call = tokio::spawn(async move { files.get_file(get_file(100_001 + i, deadline)).await });
        calls.push((until, call));
        tokio::time::sleep(Duration::from_millis(66)).await;
    }
    let (mut served, mut late) = (Vec::new(), 0);
    for (until, c) in calls {
        match c.await.expect("task") {
            Ok(_) => served.push(until),
            Err(e) => late += usize::from(e.code() == Code::DeadlineExceeded || e.code() == Code::Cancelled),
        }
    }
    assert_eq!(late, 0, "every caller is answered (or refused) before its deadline");
    // Each vendor answer of 200 served one caller: the k-th latest came
    // before the k-th latest deadline of the callers served, or some caller
    // had given up before its vendor call.
    let mut answered: Vec<Instant> = emu
        .control
        .requests_timed()
        .into_iter()
        .filter(|(_, r)| r.action == "GetFile" && r.status == 200)
        .map(|(at, _)| at)
        .collect();
    assert_eq!(answered.len(), served.len(), "one vendor call for each caller served");
    assert!(served.len() >= 25, "the vendor's rate was used: {} served", served.len());
    answered.sort_unstable_by(|a, b| b.cmp(a));
    served.sort_unstable_by(|a, b| b.cmp(a));
    for (at, until) in answered.iter().zip(&served) {
        assert!(at <= until, "a vendor call {:?} after the deadline of the caller it served", *at - *until);
    }
}

/// Runs `serve` as its own process with `url` in DATASTUDIO_GATEWAY_REDIS_URL (as the Helm chart
/// passes it) and returns its log lines up to the first that contains `until` (at most 10 s).
fn serve_until(dir: &std::path::Path, url: &str, ca: &std::path::Path, until: &str) -> Vec<String> {
    use std::io::BufRead;
    let d = dir.display();
    let cfg = format!(
        "server: {{ grpc_listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0, state_dir: {d}/state }}\n\
         limits:\n  backend: redis\n  redis:\n    url: {{ env: DATASTUDIO_GATEWAY_REDIS_URL }}\n\
         workspaces:\n  dw:\n    vendor: alibaba\n    region: cn-hangzhou\n    project_id: 10003\n    \
         credentials:\n      access_key_id: {{ file: {d}/ak }}\n      access_key_secret: {{ file: {d}/sk }}\n"
    );
    std::fs::write(dir.join("config.yaml"), cfg).expect("config");
    let mut child = std::process::Command::new(common::binary())
        .args(["serve", "--config"])
        .arg(dir.join("config.yaml"))
        .env("DATASTUDIO_GATEWAY_REDIS_URL", url)
        .env("SSL_CERT_FILE", ca)
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("serve");
    let (tx, rx) = std::sync::mpsc::channel();
    for out in [
        child.stdout.take().map(|o| Box::new(o) as Box<dyn std::io::Read + Send>),
        child.stderr.take().map(|e| Box::new(e) as _),
    ]
    .into_iter()
    .flatten()
    {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    let mut lines = Vec::new();
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(10) {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(100)) {
            let done = l.contains(until);
            lines.push(l);
            if done {
                break;
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    lines
}

#[test]
fn rediss_with_a_password_from_the_environment_connects_and_never_logs_it() {
    let dir = common::secrets_dir(&[("ak", "demo-ak"), ("sk", "demo-sk")]);
    let Some(tls) = common::redis::tls_files(dir.path(), "pa55:word") else {
        eprintln!("openssl is not installed: TLS test skipped");
        return;
    };
    let ca = tls.ca.clone();
    let redis = RedisServer::start_tls(tls);
    let port = redis.port();
    let lines = serve_until(dir.path(), &format!("rediss://:pa55%3Aword@localhost:{port}/0"), &ca, "shared Redis");
    assert!(lines.iter().any(|l| l.contains("connected to the shared Redis")), "{lines:#?}");
    let lines = serve_until(dir.path(), &format!("rediss://:wr0ngpass@localhost:{port}/0"), &ca, "shared Redis");
    let failed = lines.iter().find(|l| l.contains("the shared Redis is unreachable")).expect("reported");
    assert!(failed.contains("AuthenticationFailed"), "says why: {failed}");
    assert!(lines.iter().all(|l| !l.contains("wr0ngpass") && !l.contains("pa55")), "{lines:#?}");
}

// --- the shared limiter on its own: two "replicas" as two backends on one Redis ---------------

mod backend {
    use std::{sync::Arc, time::Duration};

    use datastudio_gateway::{
        config::{FailurePolicy, RedisConfig, SecretRef},
        limit::{Backend, Settings, redis::RedisBackend},
        redis_store::RedisStore,
    };
    use tokio::time::Instant;
    use tonic::Code;

    use super::RedisServer;

    struct Replicas {
        a: RedisBackend,
        b: RedisBackend,
        _dir: tempfile::TempDir,
    }

    fn two(redis: &RedisServer) -> Replicas {
        two_with(redis, FailurePolicy::FailClosed)
    }

    fn two_with(redis: &RedisServer, failure_policy: FailurePolicy) -> Replicas {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("url"), redis.url()).expect("write");
        let cfg = RedisConfig {
            url: SecretRef::File(dir.path().join("url")),
            failure_policy,
            key_prefix: "t:".into(),
            timeout: Duration::from_millis(500),
            deployment_lease: Duration::from_secs(30),
        };
        let one = || {
            let store: Arc<RedisStore> = RedisStore::open(&cfg).expect("open");
            RedisBackend::new(store, Settings::default(), dir.path().join("state"), jiff::tz::TimeZone::UTC, 2)
        };
        Replicas { a: one(), b: one(), _dir: dir }
    }

    const LONG: Duration = Duration::from_secs(10);

    #[tokio::test]
    async fn a_throttle_seen_by_one_replica_pauses_and_slows_the_other() {
        let redis = RedisServer::start();
        let r = two(&redis);
        r.a.acquire("acct", "X", 10.0, LONG, None).await.expect("first");
        r.a.throttled("acct", "X", 10.0, Some(Duration::from_millis(400)), Instant::now()).await;
        // The same burst's 429 reported by the other replica: pause, not another halving.
        r.b.throttled("acct", "X", 10.0, Some(Duration::from_millis(300)), Instant::now()).await;
        let t0 = Instant::now();
        r.b.acquire("acct", "X", 10.0, LONG, None).await.expect("after the pause");
        assert!(t0.elapsed() >= Duration::from_millis(350), "paused: {:?}", t0.elapsed());
        let t1 = Instant::now();
        r.a.acquire("acct", "X", 10.0, LONG, None).await.expect("next");
        let gap = t1.elapsed();
        // Halved once: 5/s, one call each 200 ms (halved twice would be 400 ms).
        assert!(gap >= Duration::from_millis(170) && gap < Duration::from_millis(320), "{gap:?}");
    }

    /// A new configured rate (a changed config, read by every replica) takes
    /// effect at once while the shared bucket has not adapted to the vendor;
    /// a bucket the vendor throttled keeps what it learned.
    #[tokio::test]
    async fn a_raised_configured_rate_applies_at_once_unless_the_vendor_throttled() {
        let redis = RedisServer::start();
        let r = two(&redis);
        r.a.acquire("acct", "X", 2.0, LONG, None).await.expect("X at 2/s");
        r.a.acquire("acct", "Y", 2.0, LONG, None).await.expect("Y at 2/s");
        r.a.throttled("acct", "Y", 2.0, Some(Duration::from_millis(1)), Instant::now()).await;
        let t0 = Instant::now();
        for _ in 0..20 {
            r.b.acquire("acct", "X", 1000.0, LONG, None).await.expect("X at 1000/s");
        }
        // The first waits out the slot taken at 2/s; at 2/s the rest would take 10 s.
        let took = t0.elapsed();
        assert!(took < Duration::from_secs(2), "20 calls at 1000/s took {took:?}");
        // Y was throttled at 2/s (halved, nothing learned yet): 1/s, not 1000/s.
        r.b.acquire("acct", "Y", 1000.0, LONG, None).await.expect("Y after its pause");
        let t1 = Instant::now();
        r.b.acquire("acct", "Y", 1000.0, LONG, None).await.expect("Y next");
        let gap = t1.elapsed();
        assert!(gap >= Duration::from_millis(700), "the adapted rate was kept: {gap:?}");
    }

    #[tokio::test]
    async fn a_late_429_for_a_call_sent_before_the_halving_does_not_halve_again() {
        let redis = RedisServer::start();
        let r = two(&redis);
        r.a.acquire("acct", "X", 10.0, LONG, None).await.expect("first");
        let early = Instant::now();
        tokio::time::sleep(Duration::from_millis(20)).await;
        r.a.throttled("acct", "X", 10.0, Some(Duration::from_millis(100)), Instant::now()).await;
        // The pause is over when the answer to a call sent earlier comes back throttled.
        tokio::time::sleep(Duration::from_millis(200)).await;
        r.b.throttled("acct", "X", 10.0, Some(Duration::from_millis(100)), early).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
        r.b.acquire("acct", "X", 10.0, LONG, None).await.expect("after the pause");
        let t1 = Instant::now();
        r.a.acquire("acct", "X", 10.0, LONG, None).await.expect("next");
        let gap = t1.elapsed();
        // Halved once: 5/s, one call each 200 ms (halved twice would be 400 ms).
        assert!(gap >= Duration::from_millis(170) && gap < Duration::from_millis(320), "{gap:?}");
    }

    #[tokio::test]
    async fn a_short_deadline_fails_at_once_with_the_true_wait_and_waiters_go_in_turn() {
        let redis = RedisServer::start();
        let r = Arc::new(two(&redis));
        r.a.acquire("acct", "X", 4.0, LONG, None).await.expect("now");
        let mut waiting = Vec::new();
        for i in 0..4 {
            let r = r.clone();
            waiting.push(tokio::spawn(async move {
                let b = if i % 2 == 0 { &r.a } else { &r.b };
                b.acquire("acct", "X", 4.0, LONG, None).await.map(|_| Instant::now())
            }));
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let t0 = Instant::now();
        let e = r.b.acquire("acct", "X", 4.0, Duration::from_millis(500), None).await.unwrap_err();
        assert!(t0.elapsed() < Duration::from_millis(100), "at once: {:?}", t0.elapsed());
        assert_eq!(e.code, Code::ResourceExhausted);
        let wait = e.retry_after.expect("RetryInfo");
        assert!(wait >= Duration::from_millis(1100), "four callers ahead at 4/s: {wait:?}");
        let mut at = Vec::new();
        for w in waiting {
            at.push(w.await.expect("task").expect("served"));
        }
        for pair in at.windows(2) {
            let gap = pair[1].duration_since(pair[0]);
            assert!(gap >= Duration::from_millis(200), "one slot each 250 ms, in order: {gap:?}");
        }
    }

    #[tokio::test]
    async fn a_cancelled_last_waiter_hands_its_slot_back() {
        let redis = RedisServer::start();
        let r = Arc::new(two(&redis));
        r.a.acquire("acct", "X", 1.0, LONG, None).await.expect("now");
        let r2 = r.clone();
        let gone = tokio::spawn(async move { r2.b.acquire("acct", "X", 1.0, LONG, None).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        gone.abort();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let t0 = Instant::now();
        r.a.acquire("acct", "X", 1.0, LONG, None).await.expect("the freed slot");
        let took = t0.elapsed();
        assert!(took < Duration::from_millis(1000), "took the cancelled caller's slot, not the one after: {took:?}");
    }

    #[tokio::test]
    async fn under_fail_local_slots_reserved_before_an_outage_count_against_the_replicas_share() {
        let mut redis = RedisServer::start();
        let r = Arc::new(two_with(&redis, FailurePolicy::FailLocal));
        // 2/s for the fleet of two: 1/s for one replica on its own.
        r.a.acquire("acct", "X", 2.0, LONG, None).await.expect("now");
        let mut held = Vec::new();
        for _ in 0..3 {
            let r = r.clone();
            held.push(tokio::spawn(
                async move { r.a.acquire("acct", "X", 2.0, LONG, None).await.map(|_| Instant::now()) },
            ));
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Slots at 0.5, 1 and 1.5 s are reserved; Redis goes away first.
        tokio::time::sleep(Duration::from_millis(100)).await;
        redis.stop();
        let mut at = Vec::new();
        for h in held {
            at.push(h.await.expect("task").expect("served by the local share"));
        }
        at.sort();
        for pair in at.windows(2) {
            let gap = pair[1].duration_since(pair[0]);
            assert!(gap >= Duration::from_millis(900), "held slots go at the replica's 1/s share: {gap:?}");
        }
    }

    /// A stand-in vendor API on the real clock (Redis keeps its own):
    /// `rate` calls per second with a burst of one second's worth, like the
    /// emulators' throttle; a refusal says how long to wait or not.
    struct Vendor {
        interval: Duration,
        next: std::sync::Mutex<Instant>,
        advertises: bool,
    }

    impl Vendor {
        fn new(rate: f64, advertises: bool) -> Arc<Self> {
            let interval = Duration::from_secs_f64(1.0 / rate);
            Arc::new(Vendor { interval, next: std::sync::Mutex::new(Instant::now()), advertises })
        }

        fn call(&self) -> Result<(), Option<Duration>> {
            let now = Instant::now();
            let mut next = self.next.lock().unwrap();
            let latest = now + Duration::from_secs(1) - self.interval;
            if *next > latest {
                return Err(self.advertises.then(|| *next - latest));
            }
            *next = (*next).max(now) + self.interval;
            Ok(())
        }
    }

    /// 12 callers, half on each replica, calling `vendor` as fast as the
    /// shared bucket configured at `configured` lets them for `secs`, 20 ms
    /// per answer: calls accepted and throttled per 10 s window.
    async fn saturate(r: Arc<Replicas>, configured: f64, vendor: Arc<Vendor>, secs: u64) -> Vec<(u32, u32)> {
        let windows = Arc::new(std::sync::Mutex::new(vec![(0u32, 0u32); secs.div_ceil(10) as usize]));
        let t0 = Instant::now();
        let end = Duration::from_secs(secs);
        let mut callers = Vec::new();
        for i in 0..12 {
            let (r, vendor, windows) = (r.clone(), vendor.clone(), windows.clone());
            callers.push(tokio::spawn(async move {
                let b = if i % 2 == 0 { &r.a } else { &r.b };
                while t0.elapsed() < end {
                    if let Err(e) = b.acquire("acct", "ListFiles", configured, LONG, None).await {
                        tokio::time::sleep(e.retry_after.unwrap_or(Duration::from_secs(1))).await;
                        continue;
                    }
                    let sent = Instant::now();
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    let answer = vendor.call();
                    let at = t0.elapsed();
                    if at >= end {
                        break;
                    }
                    let w = (at.as_secs() / 10) as usize;
                    match answer {
                        Ok(()) => windows.lock().unwrap()[w].0 += 1,
                        Err(retry_after) => {
                            windows.lock().unwrap()[w].1 += 1;
                            b.throttled("acct", "ListFiles", configured, retry_after, sent).await;
                        }
                    }
                }
            }));
        }
        for c in callers {
            c.await.unwrap();
        }
        Arc::try_unwrap(windows).unwrap().into_inner().unwrap()
    }

    /// From 10× the vendor's rate configured: no 429 after 30 s and at least
    /// 90 % of the vendor's rate used (real time: Redis has its own clock).
    async fn converges(advertises: bool) {
        let redis = RedisServer::start();
        let r = Arc::new(two(&redis));
        let windows = saturate(r, 50.0, Vendor::new(5.0, advertises), 50).await;
        eprintln!("retry-after {advertises}: (accepted, throttled) per 10 s: {windows:?}");
        for (i, (accepted, throttled)) in windows.iter().enumerate().skip(3) {
            let case = format!("retry-after {advertises}, {}-{} s", i * 10, i * 10 + 10);
            assert_eq!(*throttled, 0, "{case}: 429s: {windows:?}");
            assert!(*accepted >= 45, "{case}: used {accepted} of 50: {windows:?}");
        }
    }

    #[tokio::test]
    async fn ten_times_too_high_a_rate_converges_under_the_vendors_for_every_replica() {
        converges(true).await;
    }

    #[tokio::test]
    async fn ten_times_too_high_converges_without_retry_after_too() {
        converges(false).await;
    }

    #[tokio::test]
    async fn no_turn_is_given_after_the_callers_deadline_while_the_vendor_throttles() {
        let redis = RedisServer::start();
        let r = Arc::new(two(&redis));
        // Configured at 4× a 5/s vendor: throttles pause the bucket, lower
        // its rate and void reservations; 3× the vendor's rate offered.
        let vendor = Vendor::new(5.0, true);
        let mut callers = Vec::new();
        for i in 0..120u32 {
            let (r, vendor) = (r.clone(), vendor.clone());
            let until = Instant::now() + Duration::from_millis(1500);
            // What the gateway allows: the deadline less its margin.
            let margin = Settings::default().margin;
            callers.push(tokio::spawn(async move {
                let b = if i % 2 == 0 { &r.a } else { &r.b };
                let mut calls = Vec::new();
                loop {
                    let left = until.saturating_duration_since(Instant::now()).saturating_sub(margin);
                    if b.acquire("acct", "X", 20.0, left, None).await.is_err() {
                        break;
                    }
                    let sent = Instant::now();
                    calls.push(sent);
                    match vendor.call() {
                        Ok(()) => break,
                        Err(retry) => b.throttled("acct", "X", 20.0, retry, sent).await,
                    }
                }
                (until, calls)
            }));
            tokio::time::sleep(Duration::from_millis(66)).await;
        }
        let mut made = 0;
        for c in callers {
            let (until, calls) = c.await.expect("task");
            for sent in calls {
                made += 1;
                assert!(sent <= until, "a vendor call {:?} after its caller's deadline", sent - until);
            }
        }
        assert!(made >= 30, "calls were made: {made}");
    }

    #[tokio::test]
    async fn slots_reserved_before_redis_lost_its_data_do_not_overlap_the_new_ones() {
        let mut redis = RedisServer::start();
        let r = Arc::new(two(&redis));
        // 4/s: one slot each 250 ms. Eight waiters reserve slots up to 2 s ahead.
        r.a.acquire("acct", "X", 4.0, LONG, None).await.expect("now");
        let mut old = Vec::new();
        for _ in 0..8 {
            let r = r.clone();
            old.push(tokio::spawn(
                async move { r.a.acquire("acct", "X", 4.0, LONG, None).await.map(|_| Instant::now()) },
            ));
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Redis restarts empty before most of those slots come.
        tokio::time::sleep(Duration::from_millis(100)).await;
        redis.stop();
        redis.resume();
        // New callers on the other replica, once the first sees Redis again
        // (until then it keeps the slots it holds, as fail_closed does).
        let t0 = Instant::now();
        let first = loop {
            match r.a.acquire("acct", "X", 4.0, LONG, None).await {
                Ok(_) => break Instant::now(),
                Err(e) => assert!(t0.elapsed() < Duration::from_secs(5), "Redis not back: {e:?}"),
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let mut new = Vec::new();
        for _ in 0..4 {
            let r = r.clone();
            new.push(tokio::spawn(async move {
                // Until this replica sees Redis again too.
                loop {
                    match r.b.acquire("acct", "X", 4.0, LONG, None).await {
                        Err(e) if e.code == Code::Unavailable => tokio::time::sleep(Duration::from_millis(20)).await,
                        got => return got.map(|_| Instant::now()),
                    }
                }
            }));
        }
        let mut after = vec![first];
        for h in old.into_iter().chain(new) {
            let at = h.await.expect("task").expect("served");
            if at >= first {
                after.push(at);
            }
        }
        after.sort();
        // One slot each 250 ms: any five turns span a second, less the
        // scheduling jitter of a busy machine (overlapping schedules would
        // put five in half a second).
        for five in after.windows(5) {
            let span = five[4].duration_since(five[0]);
            assert!(span >= Duration::from_millis(800), "five turns in {span:?} after the restart: {after:?}");
        }
        // Full rate at once: no gaps, no halving.
        let span = after[after.len() - 1].duration_since(after[0]);
        let full = Duration::from_millis(250) * (after.len() as u32 - 1);
        assert!(span <= full + Duration::from_millis(300), "{} calls in {span:?} (full rate: {full:?})", after.len());
    }

    #[tokio::test]
    async fn under_fail_local_callers_queued_locally_take_shared_slots_once_redis_is_back() {
        let mut redis = RedisServer::start();
        let r = Arc::new(two_with(&redis, FailurePolicy::FailLocal));
        // 4/s for the fleet of two: 2/s for one replica on its own.
        r.a.acquire("acct", "X", 4.0, LONG, None).await.expect("through Redis");
        redis.stop();
        // Redis is down: twelve callers queue at this replica's 2/s share.
        let mut local = Vec::new();
        for _ in 0..12 {
            let r = r.clone();
            local.push(tokio::spawn(
                async move { r.a.acquire("acct", "X", 4.0, LONG, None).await.map(|_| Instant::now()) },
            ));
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        redis.resume();
        // Once both replicas see Redis again, the other one calls too.
        let t0 = Instant::now();
        // (A daily budget of 1000 counts 999 left in Redis, 499 in the local share.)
        for (b, probe) in [(&r.a, "probe-a"), (&r.b, "probe-b")] {
            while b.spend(probe, 1000).await.expect("counted") != 999 {
                assert!(t0.elapsed() < Duration::from_secs(5), "Redis not seen back");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let first = Instant::now();
        let mut shared = Vec::new();
        for _ in 0..6 {
            let r = r.clone();
            shared.push(tokio::spawn(async move {
                loop {
                    match r.b.acquire("acct", "X", 4.0, LONG, None).await {
                        Err(e) if e.code == Code::Unavailable => tokio::time::sleep(Duration::from_millis(20)).await,
                        got => return got.map(|_| Instant::now()),
                    }
                }
            }));
        }
        let mut after = Vec::new();
        for h in local.into_iter().chain(shared) {
            let at = h.await.expect("task").expect("served");
            if at >= first {
                after.push(at);
            }
        }
        after.sort();
        assert!(after.len() >= 8, "{after:?}");
        // 4/s in all: any five turns span a second (less scheduling jitter);
        // local turns on top of the shared slots would make it 6/s.
        for five in after.windows(5) {
            let span = five[4].duration_since(five[0]);
            assert!(span >= Duration::from_millis(850), "five turns in {span:?} after the outage: {after:?}");
        }
    }

    #[tokio::test]
    async fn an_api_closed_for_the_day_by_one_replica_is_closed_for_the_other() {
        let redis = RedisServer::start();
        let r = two(&redis);
        r.a.acquire("acct", "X", 10.0, LONG, None).await.expect("open");
        r.a.close("acct", "X", Duration::from_secs(3600)).await;
        let e = r.b.acquire("acct", "X", 10.0, LONG, None).await.unwrap_err();
        assert_eq!((e.code, e.reason.as_str()), (Code::ResourceExhausted, "VENDOR_DAILY_QUOTA_EXHAUSTED"));
        assert!(e.quota.is_some(), "QuotaFailure");
        let left = e.retry_after.expect("RetryInfo until the reset");
        assert!(left > Duration::from_secs(3590) && left <= Duration::from_secs(3600), "{left:?}");
        r.b.acquire("acct", "Y", 10.0, LONG, None).await.expect("another API is open");
        r.b.acquire("other", "X", 10.0, LONG, None).await.expect("another account is open");
        // An earlier reset reported later does not reopen it.
        r.b.close("acct", "X", Duration::from_secs(60)).await;
        let e = r.a.acquire("acct", "X", 10.0, LONG, None).await.unwrap_err();
        assert!(e.retry_after.unwrap() > Duration::from_secs(3590));
    }

    #[tokio::test]
    async fn the_daily_budget_is_one_count_for_every_replica() {
        let redis = RedisServer::start();
        let r = two(&redis);
        assert_eq!(r.a.spend("acct", 3).await.expect("1"), 2);
        assert_eq!(r.b.spend("acct", 3).await.expect("2"), 1);
        assert_eq!(r.a.spend("acct", 3).await.expect("3"), 0);
        let e = r.b.spend("acct", 3).await.unwrap_err();
        assert_eq!(e.code, Code::ResourceExhausted);
        assert_eq!(e.quota.as_ref().map(|q| q.0.as_str()), Some("acct"));
        assert_eq!(r.a.spend("other", 3).await.expect("another account"), 2);
        assert_eq!(redis.keys("t:budget:*"), 2);
    }
}

// --- deploy records on their own: markers, leases, outcomes -----------------------------------

mod records {
    use std::{sync::Arc, time::Duration};

    use datastudio_gateway::{
        config::{FailurePolicy, RedisConfig, SecretRef},
        deploy::{Begin, Outcome, RedisRecords, Store},
        redis_store::RedisStore,
    };

    use super::RedisServer;

    const LEASE: Duration = Duration::from_millis(300);

    fn replica(redis: &RedisServer, dir: &tempfile::TempDir) -> RedisRecords {
        std::fs::write(dir.path().join("url"), redis.url()).expect("write");
        let store: Arc<RedisStore> = RedisStore::open(&RedisConfig {
            url: SecretRef::File(dir.path().join("url")),
            failure_policy: FailurePolicy::FailClosed,
            key_prefix: "r:".into(),
            timeout: Duration::from_millis(500),
            deployment_lease: Duration::from_secs(30),
        })
        .expect("open");
        RedisRecords::with_lease(store, Duration::from_secs(60), LEASE)
    }

    fn done() -> Outcome {
        Outcome::Done { response: String::new() }
    }

    #[tokio::test]
    async fn a_holder_that_vanishes_leaves_an_unknown_outcome_never_a_second_deploy() {
        let redis = RedisServer::start();
        let dir = tempfile::tempdir().expect("tempdir");
        let (a, b) = (replica(&redis, &dir), replica(&redis, &dir));
        assert!(matches!(a.begin("gone", "fp").await.expect("a"), Begin::Taken(_)));
        assert_eq!(b.begin("gone", "fp").await.expect("b"), Begin::Elsewhere { fp: "fp".into() });
        // A never renews nor finishes (it died): B's wait ends when the lease lapses.
        let t0 = tokio::time::Instant::now();
        let o = b.wait("gone").await.expect("wait").expect("an outcome");
        assert!(matches!(o, Outcome::Unknown { .. }), "{o:?}");
        assert!(t0.elapsed() < LEASE * 3, "{:?}", t0.elapsed());
        assert!(matches!(
            a.begin("gone", "fp").await.expect("again"),
            Begin::Recorded { outcome: Outcome::Unknown { .. }, .. }
        ));
    }

    #[tokio::test]
    async fn a_renewed_marker_is_waited_for_and_a_released_one_can_be_taken() {
        let redis = RedisServer::start();
        let dir = tempfile::tempdir().expect("tempdir");
        let (a, b) = (Arc::new(replica(&redis, &dir)), replica(&redis, &dir));
        let Begin::Taken(ticket) = a.begin("slow", "fp").await.expect("a") else { panic!("not taken") };
        let holder = {
            let (a, ticket) = (a.clone(), ticket.clone());
            tokio::spawn(async move {
                // A deploy that takes three leases, renewed as it goes.
                for _ in 0..9 {
                    tokio::time::sleep(a.renew_every().expect("renews")).await;
                    a.renew("slow", &ticket).await;
                }
                a.finish("slow", "fp", &ticket, Some(&done())).await.expect("finish");
            })
        };
        assert_eq!(b.wait("slow").await.expect("wait"), Some(done()), "the real outcome, not unknown");
        holder.await.expect("holder");
        // Released (nothing sent): the waiter hears so, and the id is free again.
        let Begin::Taken(t2) = a.begin("free", "fp").await.expect("a") else { panic!("not taken") };
        let waiter = tokio::spawn(async move { b.wait("free").await });
        a.finish("free", "fp", &t2, None).await.expect("release");
        assert_eq!(waiter.await.expect("task").expect("wait"), None);
        assert!(matches!(a.begin("free", "other").await.expect("again"), Begin::Taken(_)));
        assert_eq!(redis.keys("r:deploy:*"), 3, "records of slow and free, and free's new lease");
    }
}
