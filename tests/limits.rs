//! Quota protection end to end: waiting instead of failing, RetryInfo for
//! short deadlines, daily budgets, read retries, deploys that never repeat.

mod common;

use std::time::{Duration, Instant};

use common::alibaba::{self, WS};
use datastudio_gateway::{
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

fn dir() -> tempfile::TempDir {
    common::secrets_dir(&[("ak", "demo-ak"), ("sk", "demo-sk"), ("ptk", "k")])
}

#[tokio::test]
async fn callers_offered_three_times_the_vendor_rate_wait_instead_of_failing() {
    let emu = alibaba::emulator().await;
    emu.control.set_throttle(ThrottleConfig { qps: Some(5.0), daily_quota: None });
    // Basic edition: 5 calls/s per API, the emulator's limit.
    let gw = alibaba::gateway(&emu, dir(), "legacy", "    edition: basic").await;
    let started = Instant::now();
    let mut calls = Vec::new();
    // 30 calls offered at 15/s (2 s), by up to 50 concurrent callers.
    for i in 0..30u32 {
        let mut files = gw.files();
        calls.push(tokio::spawn(async move { files.get_file(get_file(100_001 + i, Duration::from_secs(20))).await }));
        tokio::time::sleep(Duration::from_millis(66)).await;
    }
    let mut ok = 0;
    for c in calls {
        match c.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => panic!("a caller with a long deadline saw {e:?}"),
        }
    }
    assert_eq!(ok, 30);
    assert_eq!(emu.control.count_status(429), 0, "no vendor throttling reached the emulator");
    // 30 calls at 5/s take about 6 s: the gateway used the whole rate.
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(5600), "{took:?}");
}

#[tokio::test]
async fn a_deadline_shorter_than_the_queue_gets_retry_info_at_once() {
    let emu = alibaba::emulator().await;
    let gw = alibaba::gateway(&emu, dir(), "legacy", "    rate_limits: { default: 2 }").await;
    let mut queued = Vec::new();
    for i in 0..8u32 {
        let mut files = gw.files();
        queued.push(tokio::spawn(async move { files.get_file(get_file(100_001 + i, Duration::from_secs(30))).await }));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t0 = Instant::now();
    let e = gw.files().get_file(get_file(100_020, Duration::from_secs(1))).await.unwrap_err();
    assert!(t0.elapsed() < Duration::from_millis(500), "failed at once, not after its deadline: {:?}", t0.elapsed());
    assert_eq!(e.code(), Code::ResourceExhausted);
    let retry = e.get_details_retry_info().expect("RetryInfo").retry_delay.unwrap();
    assert!(retry >= Duration::from_secs(3), "the true wait: {retry:?}");
    for q in queued {
        assert!(q.await.unwrap().is_ok());
    }
}

#[tokio::test]
async fn the_daily_budget_refuses_the_101st_call_before_the_vendor() {
    let emu = alibaba::emulator().await;
    let gw = alibaba::gateway(&emu, dir(), "legacy", "    daily_budget: 100\n    rate_limits: { default: 1000 }").await;
    for i in 0..100u32 {
        gw.files().get_file(get_file(100_001 + i, Duration::from_secs(5))).await.expect("within budget");
    }
    let e = gw.files().get_file(get_file(100_001, Duration::from_secs(5))).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted);
    assert!(e.get_details_quota_failure().is_some(), "QuotaFailure");
    assert_eq!(emu.control.count("GetFile"), 100, "the emulator saw 100 calls");
    // The count is on disk: a restarted gateway still refuses.
    let dir = gw.dir;
    drop(gw.running);
    let gw2 = alibaba::gateway(&emu, dir, "legacy", "    daily_budget: 100\n    rate_limits: { default: 1000 }").await;
    assert_eq!(
        gw2.files().get_file(get_file(100_001, Duration::from_secs(5))).await.unwrap_err().code(),
        Code::ResourceExhausted
    );
    assert_eq!(emu.control.count("GetFile"), 100);
}

#[tokio::test]
async fn a_dataworks_daily_quota_closes_the_api_until_its_reset_also_after_a_restart() {
    let emu = alibaba::emulator().await;
    emu.control.set_throttle(ThrottleConfig { qps: None, daily_quota: Some(3) });
    let extra = "    rate_limits: { default: 1000 }";
    let gw = alibaba::gateway(&emu, dir(), "legacy", extra).await;
    for i in 0..3u32 {
        gw.files().get_file(get_file(100_001 + i, Duration::from_secs(5))).await.expect("within the vendor's quota");
    }
    // The vendor's Throttling.Api.Risk (retry-after to its midnight):
    // QuotaFailure at once, one vendor call, no retries.
    let e = gw.files().get_file(get_file(100_001, Duration::from_secs(5))).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted);
    assert_eq!(common::error_info(&e).unwrap().reason, "VENDOR_DAILY_QUOTA_EXHAUSTED");
    assert!(e.get_details_quota_failure().is_some(), "QuotaFailure");
    let reset = e.get_details_retry_info().and_then(|r| r.retry_delay).expect("RetryInfo until the reset");
    assert!(reset > Duration::ZERO && reset <= Duration::from_secs(86_410), "a day at most, plus jitter: {reset:?}");
    assert_eq!(emu.control.count("GetFile"), 4, "not retried");
    // Closed: later calls are refused without reaching the vendor.
    for _ in 0..3 {
        let e = gw.files().get_file(get_file(100_002, Duration::from_secs(5))).await.unwrap_err();
        assert_eq!(e.code(), Code::ResourceExhausted);
        assert!(e.get_details_quota_failure().is_some() && e.get_details_retry_info().is_some());
    }
    assert_eq!(emu.control.count("GetFile"), 4, "no vendor call while closed");
    // A restarted gateway keeps the closure.
    let dir = gw.dir;
    drop(gw.running);
    let gw2 = alibaba::gateway(&emu, dir, "legacy", extra).await;
    let e = gw2.files().get_file(get_file(100_003, Duration::from_secs(5))).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted);
    assert_eq!(emu.control.count("GetFile"), 4, "still closed after the restart");
}

#[tokio::test]
async fn an_advertised_daily_reset_is_kept() {
    let env = alibaba::start().await;
    env.emu.control.inject(FaultRule {
        action: "GetFile".into(),
        fault: Fault::DailyQuota { retry_after_ms: 7_200_000 },
        times: 1,
    });
    let e = env.gw.files().get_file(get_file(100_001, Duration::from_secs(5))).await.unwrap_err();
    let reset = e.get_details_retry_info().and_then(|r| r.retry_delay).unwrap();
    // The vendor's x-acs-retry-after, plus the gateway's jitter (at most 10 s).
    assert!((7200..=7210).contains(&reset.as_secs()), "the vendor's x-acs-retry-after: {reset:?}");
    let e = env.gw.files().get_file(get_file(100_001, Duration::from_secs(5))).await.unwrap_err();
    let left = e.get_details_retry_info().and_then(|r| r.retry_delay).unwrap();
    assert!(left <= Duration::from_secs(7210) && left > Duration::from_secs(7190), "closed until then: {left:?}");
    assert_eq!(env.emu.control.count("GetFile"), 1);
}

#[tokio::test]
async fn reads_are_retried_on_transient_failures_writes_never() {
    let env = alibaba::start().await;
    env.emu.control.inject(FaultRule { action: "GetFile".into(), fault: Fault::Status { status: 503 }, times: 1 });
    env.gw.files().get_file(get_file(100_001, Duration::from_secs(5))).await.expect("retried to success");
    assert_eq!(env.emu.control.count("GetFile"), 2);
    env.emu.control.inject(FaultRule {
        action: "GetFile".into(),
        fault: Fault::Throttle { retry_after_ms: 300 },
        times: 1,
    });
    env.gw
        .files()
        .get_file(get_file(100_002, Duration::from_secs(5)))
        .await
        .expect("retried after the advertised pause");
    assert_eq!(env.emu.control.count("GetFile"), 4);
    env.emu.control.inject(FaultRule { action: "DeployFile".into(), fault: Fault::Status { status: 503 }, times: 1 });
    env.gw
        .release()
        .deploy_files(pb::DeployFilesRequest {
            parent: WS.into(),
            files: vec![format!("{WS}/files/100002")],
            request_id: "9a0c5d4e-1111-4222-8333-444455556666".into(),
            ..Default::default()
        })
        .await
        .expect("looked up, then sent once more");
    // A 5xx after the request left may have been applied: never retried
    // blindly. It is looked up (the emulator refused it before applying
    // it, so nothing is found) and only then sent once more.
    assert_eq!(env.emu.control.count("ListDeploymentPackages"), 1, "one lookup");
    assert_eq!(env.emu.control.count("DeployFile"), 2, "the 503, then exactly one more");
}

#[tokio::test]
async fn the_same_deploy_twenty_times_and_after_a_restart_deploys_once() {
    let emu = alibaba::emulator().await;
    let gw = alibaba::gateway(&emu, dir(), "legacy", "").await;
    let req = pb::DeployFilesRequest {
        parent: WS.into(),
        files: vec![format!("{WS}/files/100004")],
        comment: "once".into(),
        request_id: "7d444840-9dc0-11d1-b245-5ffdce74fad2".into(),
        ..Default::default()
    };
    let mut calls = Vec::new();
    for _ in 0..20 {
        let mut c = gw.release();
        let r = req.clone();
        calls.push(tokio::spawn(async move { c.deploy_files(r).await.map(|r| r.into_inner()) }));
    }
    let mut answers = Vec::new();
    for c in calls {
        answers.push(c.await.unwrap().expect("deploy"));
    }
    assert!(answers.iter().all(|a| a == &answers[0]), "20 identical answers");
    assert_eq!(emu.control.count("DeployFile"), 1);
    let dir = gw.dir;
    drop(gw.running);
    let gw2 = alibaba::gateway(&emu, dir, "legacy", "").await;
    let again = gw2.release().deploy_files(req.clone()).await.unwrap().into_inner();
    assert_eq!(again, answers[0]);
    assert_eq!(emu.control.count("DeployFile"), 1, "not deployed again after the restart");
    let e =
        gw2.release().deploy_files(pb::DeployFilesRequest { comment: "different".into(), ..req }).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(common::violated_fields(&e), vec!["request_id"]);
}

#[path = "common/huawei.rs"]
mod hw;

#[tokio::test]
async fn the_same_package_deploy_ten_times_deploys_once() {
    use datastudio_gateway::emulator::huawei::DEPLOYABLE_PACKAGE_ID;
    let h = hw::start().await;
    let req = pb::DeployReleasePackagesRequest {
        parent: hw::WS.into(),
        release_packages: vec![hw::name("releasePackages", DEPLOYABLE_PACKAGE_ID)],
        startup_mode: pb::StartupMode::DeployOnly as i32,
        request_id: "5a8c1f0e-2b3d-4c5e-8f90-a1b2c3d4e5f6".into(),
    };
    let mut calls = Vec::new();
    for _ in 0..10 {
        let mut c = h.gw.release();
        let r = req.clone();
        calls.push(tokio::spawn(async move { c.deploy_release_packages(r).await.map(|r| r.into_inner()) }));
    }
    let mut answers = Vec::new();
    for c in calls {
        answers.push(c.await.unwrap().expect("deploy"));
    }
    assert!(answers.iter().all(|a| a == &answers[0]));
    assert_eq!(h.count("release-packages.deploy"), 1, "deployed once");
    let e =
        h.gw.release()
            .deploy_release_packages(pb::DeployReleasePackagesRequest {
                startup_mode: pb::StartupMode::DeployAndStart as i32,
                ..req
            })
            .await
            .unwrap_err();
    assert_eq!(common::violated_fields(&e), vec!["request_id"]);
}

#[tokio::test]
async fn timeouts_read_cuts_an_attempt_even_under_a_long_caller_deadline() {
    let emu = alibaba::emulator().await;
    let gw = alibaba::gateway(&emu, dir(), "legacy", "    timeouts: { connect: 1s, read: 500ms }").await;
    // The vendor would answer the first GetFile after 3 s.
    emu.control.inject(FaultRule { action: "GetFile".into(), fault: Fault::Latency { ms: 3000 }, times: 1 });
    let started = std::time::Instant::now();
    gw.files().get_file(get_file(100_001, Duration::from_secs(20))).await.expect("the retry answers");
    // Cut at 500 ms and retried (the emulator drops the abandoned attempt
    // unlogged), not one 3 s attempt.
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(500) && took < Duration::from_secs(3), "{took:?}");
    assert_eq!(emu.control.count("GetFile"), 1, "the retry, answered");
}

#[tokio::test]
async fn calls_past_a_connections_stream_limit_are_refused_at_once() {
    let emu = alibaba::emulator().await;
    let dir = dir();
    let d = dir.path().display().to_string();
    let yaml = format!(
        r#"
server:
  grpc_listen: 127.0.0.1:0
  admin_listen: 127.0.0.1:0
  page_token_key: {{ file: {d}/ptk }}
  state_dir: {d}/state
  max_concurrent_streams: 4
workspaces:
  dw:
    vendor: alibaba
    region: cn-hangzhou
    project_id: 10003
    flavour: legacy
    endpoints: {{ api: "{url}" }}
    credentials:
      access_key_id: {{ file: {d}/ak }}
      access_key_secret: {{ file: {d}/sk }}
    rate_limits: {{ default: 0.2 }}
"#,
        url = emu.url()
    );
    let gw = common::start_yaml(&yaml, dir).await;
    gw.files().get_file(get_file(100_001, Duration::from_secs(30))).await.expect("the first turn is free");
    // Four calls on the one connection wait for turns 5, 10, 15, 20 s away.
    let mut waiting = Vec::new();
    for i in 0..4u32 {
        let mut files = gw.files();
        waiting.push(tokio::spawn(async move { files.get_file(get_file(100_002 + i, Duration::from_secs(30))).await }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // A fifth is refused at once, not left in the client until a stream frees.
    let t0 = Instant::now();
    let e = gw.files().get_file(get_file(100_010, Duration::from_secs(3))).await.unwrap_err();
    assert!(t0.elapsed() < Duration::from_millis(500), "refused at once: {:?}", t0.elapsed());
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    for w in waiting {
        w.abort();
    }
}

/// A deadline that has passed before the answer is ready (`grpc-timeout:
/// 1u`) is DEADLINE_EXCEEDED, not the rate limit's RESOURCE_EXHAUSTED.
#[tokio::test]
async fn a_deadline_too_short_for_any_answer_is_deadline_exceeded() {
    let emu = alibaba::emulator().await;
    let gw = alibaba::gateway(&emu, dir(), "legacy", "    rate_limits: { default: 0.1 }").await;
    // The bucket's one token goes to this call: the next one would wait 10 s.
    gw.files().get_file(get_file(100_001, Duration::from_secs(5))).await.expect("first call");
    // A raw client: tonic's own would give up on its side first.
    let conn = common::raw::connect(gw.grpc_addr(), None).await;
    let req = pb::GetFileRequest { name: format!("{WS}/files/100002"), view: 0 };
    for timeout in ["1u", "1n"] {
        let code =
            common::raw::unary(&conn, "/datastudio.v1.FileService/GetFile", &req, &[("grpc-timeout", timeout)]).await;
        assert_eq!(code, Code::DeadlineExceeded, "{timeout}");
    }
    assert_eq!(emu.control.count("GetFile"), 1, "no vendor call after the first");
}
