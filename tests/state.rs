//! Damaged state files: `serve` refuses to start naming the file and line;
//! with `state.on_damage: quarantine` the gateway starts and refuses what
//! the damage makes unsafe, without calling the vendor.

mod common;

use std::{
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use common::alibaba::{self, WS};
use datastudio_gateway::pb;
use tonic::{Code, Request};

const QUARANTINE: &str = "state: { on_damage: quarantine }";

/// Runs `serve` on `dir`'s two-vendor config; its exit code and stderr
/// (None: still running after 30 s, so it started).
fn serve(dir: &Path) -> (Option<i32>, String) {
    let config = dir.join("config.yaml");
    std::fs::write(&config, common::two_vendor_yaml(dir)).unwrap();
    let mut child = Command::new(common::binary())
        .args(["serve", "--config"])
        .arg(&config)
        .env("DSGW_TELEMETRY__LOG_FORMAT", "text")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run serve");
    let started = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if started.elapsed() > Duration::from_secs(30) {
            child.kill().unwrap();
            child.wait().unwrap();
            return (None, String::new());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    (code, err)
}

/// How many copies of `name` are kept aside in `dir`.
fn kept_aside(dir: &Path, name: &str) -> usize {
    let prefix = format!("{name}.damaged-");
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with(&prefix))
        .count()
}

fn two_vendor_dir() -> tempfile::TempDir {
    let dir = common::secrets_dir(&[("ali_ak", "ak-1"), ("ali_sk", "sk-1"), ("hw_ak", "ak-2"), ("hw_sk", "sk-2")]);
    std::fs::create_dir(dir.path().join("state")).unwrap();
    dir
}

#[test]
fn serve_refuses_a_damaged_deploy_ledger_naming_the_file_and_line() {
    let dir = two_vendor_dir();
    // A record of the previous format (still read), then a damaged line.
    std::fs::write(
        dir.path().join("state/deploys.jsonl"),
        b"{\"id\":\"r1\",\"fp\":\"f\",\"at\":1,\"outcome\":null}\n\xff\xfe{\"id\":\"r2\"}\n",
    )
    .unwrap();
    let (code, err) = serve(dir.path());
    assert!(code.is_some_and(|c| c != 0), "exit {code:?}: {err}");
    assert!(err.contains("deploys.jsonl is damaged at line 2: it is not UTF-8 text"), "{err}");
    assert!(err.contains("state.on_damage: quarantine"), "says what to do: {err}");
}

#[test]
fn serve_refuses_a_damaged_daily_budget_file() {
    let dir = two_vendor_dir();
    std::fs::write(dir.path().join("state/budget-alibaba-0123456789abcdef.json"), "{\"day\":\"2026-11-2").unwrap();
    let (code, err) = serve(dir.path());
    assert!(code.is_some_and(|c| c != 0), "exit {code:?}: {err}");
    assert!(err.contains("budget-alibaba-0123456789abcdef.json is damaged at line 1: it is not a record"), "{err}");
}

#[test]
fn serve_refuses_a_state_dir_that_is_a_file() {
    let dir = two_vendor_dir();
    std::fs::remove_dir(dir.path().join("state")).unwrap();
    std::fs::write(dir.path().join("state"), "").unwrap();
    let (code, err) = serve(dir.path());
    assert!(code.is_some_and(|c| c != 0), "exit {code:?}: {err}");
    assert!(err.contains("1 problem(s)"), "{err}");
}

fn deploy(request_id: &str) -> pb::DeployFilesRequest {
    pb::DeployFilesRequest {
        parent: WS.into(),
        files: vec![format!("{WS}/files/100002")],
        comment: "after the damage".into(),
        request_id: request_id.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_quarantined_ledger_refuses_unproven_request_ids_without_calling_the_vendor() {
    let emu = alibaba::emulator().await;
    let dir = common::secrets_dir(&[("ak", "demo-ak"), ("sk", "demo-sk"), ("ptk", "k")]);
    std::fs::create_dir(dir.path().join("state")).unwrap();
    std::fs::write(dir.path().join("state/deploys.jsonl"), "{\"sum\":\"00\",\"rec\":{}}\n").unwrap();
    let gw = alibaba::gateway(&emu, dir, "legacy", QUARANTINE).await;
    let state = gw.dir.path().join("state");
    assert_eq!(kept_aside(&state, "deploys.jsonl"), 1, "the damaged ledger is kept aside");
    assert!(state.join("deploys.quarantine.json").exists(), "the quarantine is on disk");

    let e = gw.release().deploy_files(deploy(&uuid::Uuid::new_v4().to_string())).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert_eq!(common::error_info(&e).unwrap().reason, "DEPLOY_LEDGER_DAMAGED");
    assert!(e.message().contains("UUIDv7"), "tells the caller what to send: {}", e.message());
    assert_eq!(emu.control.requests().len(), 0, "no vendor call");

    let fresh = uuid::Uuid::now_v7().to_string();
    let d = gw.release().deploy_files(deploy(&fresh)).await.expect("a fresh UUIDv7 deploys").into_inner();
    assert_eq!(d.deployments[0].request_id, fresh);
    assert_eq!(emu.control.count("DeployFile"), 1);
    gw.release().deploy_files(deploy(&fresh)).await.expect("a repeat is answered from its record");
    assert_eq!(emu.control.count("DeployFile"), 1, "and not sent again");

    let metrics = reqwest::get(format!("http://{}/metrics", gw.admin_addr())).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("datastudio_gateway_state_quarantined_total{file=\"deploys\"}"), "{metrics}");
}

#[tokio::test]
async fn a_quarantined_budget_file_counts_the_day_as_used_up() {
    let emu = alibaba::emulator().await;
    let dir = common::secrets_dir(&[("ak", "demo-ak"), ("sk", "demo-sk"), ("ptk", "k")]);
    let budget = "    daily_budget: 100\nstate: { on_damage: quarantine }";
    let get = || Request::new(pb::GetFileRequest { name: format!("{WS}/files/100001"), view: 0 });
    let gw = alibaba::gateway(&emu, dir, "legacy", budget).await;
    gw.files().get_file(get()).await.expect("within budget");
    let dir = gw.dir;
    drop(gw.running);
    // The count file written (behind the call) by that call, damaged.
    let written = Instant::now();
    let file = loop {
        let found = std::fs::read_dir(dir.path().join("state"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "json") && p.to_string_lossy().contains("/budget-"));
        match found {
            Some(f) => break f,
            None if written.elapsed() < Duration::from_secs(10) => tokio::time::sleep(Duration::from_millis(20)).await,
            None => panic!("no budget file was written"),
        }
    };
    std::fs::write(&file, "{\"day\": garbage").unwrap();
    let gw = alibaba::gateway(&emu, dir, "legacy", budget).await;
    let e = gw.files().get_file(get()).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    assert_eq!(emu.control.count("GetFile"), 1, "only the call before the damage reached the vendor");
    assert_eq!(kept_aside(file.parent().unwrap(), &file.file_name().unwrap().to_string_lossy()), 1);
}
