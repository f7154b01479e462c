//! DataArts errors, credentials and IAM tokens, through the real gRPC server
//! against the DataArts emulator: every vendor error code maps to its gRPC
//! code with ErrorInfo; authentication failures are never retried; rotated
//! credential files are picked up; one token renewal serves every waiter.

mod common;
#[path = "common/huawei.rs"]
mod hw;

use std::time::{Duration, SystemTime};

use datastudio_gateway::{
    emulator::common::{Fault, FaultRule, ThrottleConfig},
    pb,
    providers::{client::MAX_ATTEMPTS, huawei::auth::ManualClock},
};
use tonic::Code;
use tonic_types::StatusExt;

fn list_packages() -> pb::ListReleasePackagesRequest {
    pb::ListReleasePackagesRequest { parent: hw::WS.into(), page_size: 5, ..Default::default() }
}

fn list_files() -> pb::ListFilesRequest {
    pb::ListFilesRequest { parent: hw::WS.into(), page_size: 5, ..Default::default() }
}

fn vendor_error(status: u16, code: &str) -> Fault {
    Fault::VendorError { status, code: code.into(), message: format!("injected {code}") }
}

#[tokio::test]
async fn vendor_errors_map_by_code_with_error_info() {
    let h = hw::start().await;
    let cases: Vec<(Fault, Code, &str, &str)> = vec![
        (vendor_error(400, "DLF.0810"), Code::NotFound, "VENDOR_NOT_FOUND", "DLF.0810"),
        (vendor_error(400, "DLF.0100"), Code::NotFound, "VENDOR_NOT_FOUND", "DLF.0100"),
        (vendor_error(400, "DLF.0137"), Code::NotFound, "VENDOR_NOT_FOUND", "DLF.0137"),
        (vendor_error(400, "DLF.6201"), Code::NotFound, "VENDOR_NOT_FOUND", "DLF.6201"),
        (vendor_error(400, "DLF.6205"), Code::NotFound, "VENDOR_NOT_FOUND", "DLF.6205"),
        (vendor_error(400, "DLF.6241"), Code::NotFound, "VENDOR_NOT_FOUND", "DLF.6241"),
        (vendor_error(400, "DLF.6322"), Code::NotFound, "VENDOR_NOT_FOUND", "DLF.6322"),
        (vendor_error(400, "DLF.20819"), Code::NotFound, "VENDOR_NOT_FOUND", "DLF.20819"),
        (vendor_error(400, "DLF.6888"), Code::PermissionDenied, "VENDOR_PERMISSION_DENIED", "DLF.6888"),
        (vendor_error(400, "DLF.0802"), Code::InvalidArgument, "VENDOR_INVALID_ARGUMENT", "DLF.0802"),
        (vendor_error(400, "DLF.3100"), Code::FailedPrecondition, "VENDOR_REFUSED", "DLF.3100"),
        // An error code on HTTP 200 is an error, not an empty page.
        (vendor_error(200, "DLF.0810"), Code::NotFound, "VENDOR_NOT_FOUND", "DLF.0810"),
        (vendor_error(200, "DLF.3100"), Code::FailedPrecondition, "VENDOR_REFUSED", "DLF.3100"),
        (vendor_error(401, "APIGW.0301"), Code::Internal, "VENDOR_AUTH_FAILED", "APIGW.0301"),
        (vendor_error(401, "APIG.0301"), Code::Internal, "VENDOR_AUTH_FAILED", "APIG.0301"),
        (vendor_error(401, "APIGW.1002"), Code::Internal, "VENDOR_AUTH_FAILED", "APIGW.1002"),
        (vendor_error(429, "APIG.0308"), Code::Unavailable, "VENDOR_THROTTLED", "APIG.0308"),
        (vendor_error(400, "APIGW.0308"), Code::Unavailable, "VENDOR_THROTTLED", "APIGW.0308"),
        (Fault::Throttle { retry_after_ms: 0 }, Code::Unavailable, "VENDOR_THROTTLED", "APIGW.0308"),
        (Fault::Status { status: 503 }, Code::Unavailable, "VENDOR_UNAVAILABLE", "APIGW.0202"),
        (vendor_error(500, "DLF.0001"), Code::Unavailable, "VENDOR_UNAVAILABLE", "DLF.0001"),
        (Fault::Malformed, Code::Internal, "VENDOR_RESPONSE_MALFORMED", "MalformedResponse"),
    ];
    for (fault, code, reason, vendor_code) in cases {
        // Transient failures are retried (reads only): inject one per attempt.
        let transient = matches!(reason, "VENDOR_THROTTLED" | "VENDOR_UNAVAILABLE");
        let attempts = if transient { MAX_ATTEMPTS } else { 1 };
        h.emu.control.clear_faults();
        h.emu.control.inject(FaultRule {
            action: "release-packages.list".into(),
            fault: fault.clone(),
            times: attempts,
        });
        let before = h.calls();
        let e = h.gw.release().list_release_packages(list_packages()).await.unwrap_err();
        assert_eq!(h.calls() - before, attempts as usize, "{fault:?}: retried only if transient");
        let info = common::error_info(&e).unwrap_or_else(|| panic!("{fault:?}: no ErrorInfo"));
        assert_eq!((e.code(), info.reason.as_str()), (code, reason), "{fault:?}");
        assert_eq!(info.domain, "datastudio-gateway");
        assert_eq!(info.metadata.get("vendor").map(String::as_str), Some("huawei"), "{fault:?}");
        assert_eq!(info.metadata.get("vendor_code").map(String::as_str), Some(vendor_code), "{fault:?}");
        let rid = info.metadata.get("vendor_request_id").cloned().unwrap_or_default();
        assert_eq!(rid.len(), 32, "{fault:?}: the X-Request-Id travels in ErrorInfo");
        if reason == "VENDOR_THROTTLED" {
            assert!(e.get_details_retry_info().is_some(), "{fault:?}: RetryInfo");
        }
    }

    h.emu.control.inject(FaultRule { action: "scripts.list".into(), fault: Fault::Reset, times: MAX_ATTEMPTS });
    let e = h.gw.files().list_files(list_files()).await.unwrap_err();
    assert_eq!(e.code(), Code::Unavailable);

    // The emulator's own throttling answers APIGW.0308 like the vendor; the
    // gateway learns from it (pause, lower rate, retry) and callers see none.
    // (Files: the package list's bucket is slow after the throttles above.)
    let throttled_before = h.emu.control.count_status(429);
    h.emu.control.set_throttle(ThrottleConfig { qps: Some(2.0), daily_quota: None });
    for _ in 0..6 {
        h.gw.files().list_files(list_files()).await.expect("throttling absorbed by the gateway");
    }
    let seen = h.emu.control.count_status(429) - throttled_before;
    assert!((1..=2).contains(&seen), "the vendor throttled the first burst only: {seen}");
    let throttled = h.emu.control.requests().into_iter().rev().find(|r| r.status == 429).expect("a 429");
    assert_eq!(throttled.code.as_deref(), Some("APIGW.0308"));
}

#[tokio::test]
async fn a_one_day_throttling_policy_is_a_daily_quota_that_closes_the_api() {
    let h = hw::start().await;
    h.emu.control.inject(FaultRule {
        action: "release-packages.list".into(),
        fault: Fault::DailyQuota { retry_after_ms: 0 },
        times: 1,
    });
    let before = h.calls();
    let e = h.gw.release().list_release_packages(list_packages()).await.unwrap_err();
    assert_eq!(h.calls() - before, 1, "QuotaFailure at once: no retries");
    assert_eq!((e.code(), hw::reason(&e).as_str()), (Code::ResourceExhausted, "VENDOR_DAILY_QUOTA_EXHAUSTED"));
    assert!(e.get_details_quota_failure().is_some(), "QuotaFailure");
    let reset = e.get_details_retry_info().and_then(|r| r.retry_delay).expect("RetryInfo until DataArts' midnight");
    assert!(reset > Duration::ZERO && reset <= Duration::from_secs(86_410), "a day at most, plus jitter: {reset:?}");
    // Closed until the reset: no vendor call; other APIs stay open.
    let e = h.gw.release().list_release_packages(list_packages()).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted);
    assert_eq!(h.calls() - before, 1, "no vendor call while closed");
    h.gw.files().list_files(list_files()).await.expect("another API is open");
    // The emulator's own daily quota answers the same way.
    h.emu.control.set_throttle(ThrottleConfig { qps: None, daily_quota: Some(0) });
    let e = h.gw.files().list_files(list_files()).await.unwrap_err();
    assert_eq!(hw::reason(&e), "VENDOR_DAILY_QUOTA_EXHAUSTED");
}

#[tokio::test]
async fn a_wrong_secret_is_an_internal_vendor_auth_failure_after_exactly_one_call_and_a_rotated_file_fixes_it() {
    let h = hw::start_with(hw::options(), hw::Creds::Keys("not-the-secret")).await;
    let e = h.gw.files().list_files(list_files()).await.unwrap_err();
    assert_eq!(e.code(), Code::Internal, "the gateway's own credentials, not the caller's");
    assert_eq!(hw::reason(&e), "VENDOR_AUTH_FAILED");
    let calls = h.emu.control.requests();
    assert_eq!(calls.len(), 1, "authentication failures are never retried");
    assert_eq!((calls[0].status, calls[0].code.as_deref()), (401, Some("APIGW.0301")));
    assert!(!e.message().contains("not-the-secret") && !format!("{e:?}").contains("not-the-secret"));

    // Rotate the mounted secret: the next call after the re-check signs with it.
    std::fs::write(h.gw.dir.path().join("hw_sk"), hw::SK).expect("rotate");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = h.gw.files().list_files(list_files()).await.expect("the rotated secret is used");
    assert_eq!(r.into_inner().files.len(), 5);
}

#[tokio::test]
async fn a_stale_or_unknown_key_is_an_internal_vendor_auth_failure_too() {
    let opts = datastudio_gateway::emulator::huawei::Options {
        credentials: vec![("someone-else".into(), hw::SK.into())],
        ..hw::options()
    };
    let h = hw::start_with(opts, hw::Creds::Keys(hw::SK)).await;
    let e = h.gw.release().list_release_packages(list_packages()).await.unwrap_err();
    assert_eq!((e.code(), hw::meta(&e, "vendor_code").as_str()), (Code::Internal, "APIGW.0301"));
    assert_eq!(h.calls(), 1);
}

#[tokio::test]
async fn iam_tokens_are_shared_and_renewed_once_before_they_expire() {
    let clock = ManualClock::new(SystemTime::now());
    let (h, adapter) = hw::start_with_clock(hw::Creds::Iam(hw::IAM.2), clock.clone()).await;
    let burst = || {
        let calls: Vec<_> = (0..12)
            .map(|_| {
                let mut c = h.gw.files();
                tokio::spawn(async move { c.list_files(list_files()).await })
            })
            .collect();
        async move {
            for c in calls {
                c.await.expect("join").expect("list files with a token");
            }
        }
    };
    burst().await;
    assert_eq!(h.count("iam.tokens"), 1, "one token for twelve concurrent callers");
    assert_eq!(adapter.token_renewals(), 1);

    clock.advance(Duration::from_secs(22 * 3600));
    burst().await;
    assert_eq!(h.count("iam.tokens"), 1, "still valid for more than an hour");

    clock.advance(Duration::from_secs(3600 + 60));
    burst().await;
    assert_eq!(h.count("iam.tokens"), 2, "renewed once, ahead of the 24 h expiry, for all waiters");
    assert_eq!(adapter.token_renewals(), 2);
    assert!(h.emu.control.requests().iter().all(|r| r.status < 300));
}

#[tokio::test]
async fn a_wrong_iam_password_is_an_internal_vendor_auth_failure_without_retries() {
    let h = hw::start_with(hw::options(), hw::Creds::Iam("wrong-password")).await;
    let e = h.gw.release().list_release_packages(list_packages()).await.unwrap_err();
    assert_eq!(e.code(), Code::Internal);
    assert_eq!(hw::reason(&e), "VENDOR_AUTH_FAILED");
    assert_eq!((h.calls(), h.count("iam.tokens")), (1, 1));
    assert!(!e.message().contains("wrong-password"));
}
