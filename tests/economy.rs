//! Quota economy through the real gRPC server against the DataWorks
//! emulator: identical reads in flight share one vendor call, file versions
//! are read from the vendor once, nothing is shared across workspaces, and
//! the metrics say what was saved. Vendor calls are counted in the
//! emulator's request log.

mod common;

use std::time::Duration;

use datastudio_gateway::{
    emulator::{
        alibaba::{self as emu_alibaba, Handle},
        common::{Fault, FaultRule},
    },
    pb,
};
use prost::Message;
use tonic::{Code, Request};

/// A gateway with two workspaces, `dw` and `dw2`, on one emulator (same
/// project, same credentials), and `cache` as its `limits.cache`.
async fn gateway(emu: &Handle, cache: &str) -> common::Gateway {
    let dir = common::secrets_dir(&[("ak", "demo-ak"), ("sk", "demo-sk"), ("ptk", "page-token-key")]);
    let d = dir.path().display().to_string();
    let ws = |name: &str| {
        format!(
            r#"  {name}:
    vendor: alibaba
    region: cn-hangzhou
    project_id: 10003
    endpoints: {{ api: "{url}" }}
    rate_limits: {{ default: 1000 }}
    credentials:
      access_key_id: {{ file: {d}/ak }}
      access_key_secret: {{ file: {d}/sk }}
"#,
            url = emu.url()
        )
    };
    let yaml = format!(
        r#"
server:
  grpc_listen: 127.0.0.1:0
  admin_listen: 127.0.0.1:0
  page_token_key: {{ file: {d}/ptk }}
  state_dir: {d}/state
limits:
  cache: {cache}
workspaces:
{}{}"#,
        ws("dw"),
        ws("dw2")
    );
    common::start_yaml(&yaml, dir).await
}

async fn emulator() -> Handle {
    emu_alibaba::start(emu_alibaba::Options::default()).await.expect("emulator")
}

/// Holds the next `times` answers to `action` for `ms`, so that callers
/// started together are in flight together.
fn slow(emu: &Handle, action: &str, times: u32, ms: u64) {
    emu.control.inject(FaultRule { action: action.into(), fault: Fault::Latency { ms }, times });
}

/// ListFileVersions of a file of `ws` (the metrics test alone lists files).
fn versions(ws: &str) -> Request<pb::ListFileVersionsRequest> {
    let mut r = Request::new(pb::ListFileVersionsRequest {
        parent: format!("workspaces/{ws}/files/100001"),
        page_size: 10,
        ..Default::default()
    });
    r.set_timeout(Duration::from_secs(20));
    r
}

fn list(ws: &str) -> Request<pb::ListFilesRequest> {
    let mut r = Request::new(pb::ListFilesRequest {
        parent: format!("workspaces/{ws}"),
        page_size: 20,
        keyword: "ods".into(),
        ..Default::default()
    });
    r.set_timeout(Duration::from_secs(20));
    r
}

async fn scrape(gw: &common::Gateway) -> String {
    reqwest::get(format!("http://{}/metrics", gw.admin_addr())).await.expect("scrape").text().await.expect("body")
}

/// The value of the first series line starting with `prefix`.
fn value(metrics: &str, prefix: &str) -> f64 {
    metrics
        .lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{prefix} missing from\n{metrics}"))
}

#[tokio::test]
async fn twenty_identical_list_reads_make_one_vendor_call() {
    let emu = emulator().await;
    let gw = gateway(&emu, "{ max_bytes: 0 }").await;
    let alone = gw.files().list_files(list("dw")).await.expect("list").into_inner();
    assert_eq!(emu.control.count("ListFiles"), 1);

    slow(&emu, "ListFiles", 1, 500);
    let mut calls = Vec::new();
    for _ in 0..20 {
        let mut files = gw.files();
        calls.push(tokio::spawn(async move { files.list_files(list("dw")).await }));
    }
    for c in calls {
        let page = c.await.unwrap().expect("shared answer").into_inner();
        assert_eq!(page.encode_to_vec(), alone.encode_to_vec(), "a shared answer is byte for byte the vendor's");
    }
    assert_eq!(emu.control.count("ListFiles"), 2, "20 concurrent identical reads, one vendor call");

    let metrics = scrape(&gw).await;
    assert!(
        value(&metrics, r#"datastudio_vendor_calls_saved_total{reason="coalesced",operation="ListFiles"}"#) >= 19.0,
        "{metrics}"
    );
    let rpcs = r#"datastudio_rpc_vendor_calls_count{grpc_service="datastudio.v1.FileService",grpc_method="ListFiles"}"#;
    let calls = r#"datastudio_rpc_vendor_calls_sum{grpc_service="datastudio.v1.FileService",grpc_method="ListFiles"}"#;
    assert_eq!(value(&metrics, rpcs), 21.0, "every RPC is counted");
    assert_eq!(value(&metrics, calls), 2.0, "the vendor calls are charged to the RPCs that made them");
}

#[tokio::test]
async fn workspaces_never_share_an_answer() {
    let emu = emulator().await;
    let gw = gateway(&emu, "{ max_bytes: 0 }").await;
    slow(&emu, "ListFileVersions", 2, 500);
    let mut calls = Vec::new();
    for i in 0..10 {
        let mut files = gw.files();
        let ws = if i % 2 == 0 { "dw" } else { "dw2" };
        calls.push(tokio::spawn(async move { (ws, files.list_file_versions(versions(ws)).await) }));
    }
    for c in calls {
        let (ws, page) = c.await.unwrap();
        let page = page.expect("list").into_inner();
        assert!(!page.file_versions.is_empty());
        let own = format!("workspaces/{ws}/");
        assert!(page.file_versions.iter().all(|v| v.name.starts_with(&own)), "{ws} sees its own names");
    }
    assert_eq!(emu.control.count("ListFileVersions"), 2, "one vendor call per workspace");
}

#[tokio::test]
async fn a_callers_short_deadline_does_not_fail_the_others() {
    let emu = emulator().await;
    let gw = gateway(&emu, "{ max_bytes: 0 }").await;
    slow(&emu, "ListFileVersions", 1, 800);
    let mut long = Vec::new();
    for _ in 0..5 {
        let mut files = gw.files();
        long.push(tokio::spawn(async move { files.list_file_versions(versions("dw")).await }));
    }
    // Once the vendor holds the long callers' flight (800 ms), a caller
    // with 200 ms joins it and leaves at its deadline.
    while emu.control.pending_faults() > 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut short = versions("dw");
    short.set_timeout(Duration::from_millis(200));
    let e = gw.files().list_file_versions(short).await.unwrap_err();
    // tonic ends a call at its grpc-timeout with CANCELLED ("Timeout expired").
    assert!(matches!(e.code(), Code::DeadlineExceeded | Code::Cancelled), "{e:?}");
    for c in long {
        c.await.unwrap().expect("the others still get the answer");
    }
    assert_eq!(emu.control.count("ListFileVersions"), 1);
}

#[tokio::test]
async fn a_hundred_reads_of_ten_versions_make_ten_vendor_calls() {
    let emu = emulator().await;
    let gw = gateway(&emu, "{ max_bytes: 1048576, max_age: 10m }").await;
    let name = |i: u32| format!("workspaces/dw/files/{}/versions/1", 100_001 + i);
    let mut first = Vec::new();
    for i in 0..10 {
        let v = gw.files().get_file_version(pb::GetFileVersionRequest { name: name(i), view: 0 }).await.unwrap();
        first.push(v.into_inner().encode_to_vec());
    }
    for round in 0..9 {
        for i in 0..10 {
            let v = gw.files().get_file_version(pb::GetFileVersionRequest { name: name(i), view: 0 }).await.unwrap();
            assert_eq!(
                v.into_inner().encode_to_vec(),
                first[i as usize],
                "round {round}: the kept answer is the vendor's"
            );
        }
    }
    assert_eq!(emu.control.count("GetFileVersion"), 10, "each version read from the vendor once");
    // Another workspace on the same vendor project reads its own.
    gw.files()
        .get_file_version(pb::GetFileVersionRequest { name: name(0).replace("/dw/", "/dw2/"), view: 0 })
        .await
        .unwrap();
    assert_eq!(emu.control.count("GetFileVersion"), 11);
    // The full view is another request.
    gw.files().get_file_version(pb::GetFileVersionRequest { name: name(0), view: 2 }).await.unwrap();
    assert_eq!(emu.control.count("GetFileVersion"), 12);

    let metrics = scrape(&gw).await;
    assert!(value(&metrics, r#"datastudio_cache_hits_total{operation="GetFileVersion"}"#) >= 90.0);
    assert!(
        value(&metrics, r#"datastudio_vendor_calls_saved_total{reason="cached",operation="GetFileVersion"}"#) >= 90.0
    );
    assert!(value(&metrics, "datastudio_cache_bytes ") > 0.0);
}

#[tokio::test]
async fn files_are_never_kept() {
    let emu = emulator().await;
    let gw = gateway(&emu, "{ max_bytes: 1048576 }").await;
    for _ in 0..3 {
        gw.files().get_file(pb::GetFileRequest { name: "workspaces/dw/files/100001".into(), view: 0 }).await.unwrap();
    }
    assert_eq!(emu.control.count("GetFile"), 3, "a file changes: every read goes to the vendor");
}

#[tokio::test]
async fn a_deploy_through_the_gateway_forgets_the_kept_versions_of_its_files() {
    let emu = emulator().await;
    let gw = gateway(&emu, "{ max_bytes: 1048576 }").await;
    let get = |file: u32| pb::GetFileVersionRequest { name: format!("workspaces/dw/files/{file}/versions/1"), view: 0 };
    for _ in 0..2 {
        for file in [100_002, 100_003] {
            gw.files().get_file_version(get(file)).await.unwrap();
        }
    }
    assert_eq!(emu.control.count("GetFileVersion"), 2, "kept");
    gw.release()
        .deploy_files(pb::DeployFilesRequest {
            parent: "workspaces/dw".into(),
            files: vec!["workspaces/dw/files/100002".into()],
            request_id: "0b7c9d2e-5a1f-4c3b-9e8d-7f6a5b4c3d2e".into(),
            ..Default::default()
        })
        .await
        .expect("deploy");
    for file in [100_002, 100_003] {
        gw.files().get_file_version(get(file)).await.unwrap();
    }
    assert_eq!(
        emu.control.count("GetFileVersion"),
        3,
        "the deployed file's version is read again, the other's is kept"
    );
}
