//! FileService and vendor error handling on a DataWorks workspace, through
//! the real server against the DataWorks emulator.

mod common;

use std::collections::HashSet;

use common::alibaba::{self, WS};
use datastudio_gateway::{
    emulator::common::{Fault, FaultRule},
    pb,
    providers::client::MAX_ATTEMPTS,
};
use tonic::Code;

async fn files(env: &alibaba::AliEnv, f: impl FnOnce(&mut pb::ListFilesRequest)) -> Vec<pb::File> {
    let mut r = pb::ListFilesRequest { parent: WS.into(), page_size: 100, ..Default::default() };
    f(&mut r);
    let mut all = Vec::new();
    loop {
        let resp = env.gw.files().list_files(r.clone()).await.expect("list files").into_inner();
        all.extend(resp.files);
        if resp.next_page_token.is_empty() {
            return all;
        }
        r.page_token = resp.next_page_token;
    }
}

fn id(u: &str) -> Option<pb::UserRef> {
    Some(pb::UserRef { key: Some(pb::user_ref::Key::Id(u.into())) })
}

#[tokio::test]
async fn file_paging_spans_many_pages_without_gaps() {
    let env = alibaba::start().await;
    let mut seen = HashSet::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let r = env
            .gw
            .files()
            .list_files(pb::ListFilesRequest {
                parent: WS.into(),
                page_size: 60,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        assert_eq!(r.total_size, 301);
        for f in r.files {
            assert!(seen.insert(f.name));
        }
        if r.next_page_token.is_empty() {
            break;
        }
        token = r.next_page_token;
    }
    assert_eq!((pages, seen.len()), (6, 301));
}

#[tokio::test]
async fn every_file_filter_changes_the_result() {
    let env = alibaba::start().await;
    let all = files(&env, |_| {}).await;
    assert_eq!(all.len(), 301);
    assert!(all.iter().all(|f| f.folder_path.is_empty() && f.content.is_empty()), "only on request");
    let check = |got: Vec<pb::File>, pred: &dyn Fn(&pb::File) -> bool, what: &str| {
        assert!(!got.is_empty() && got.len() < all.len(), "{what}: {}", got.len());
        let expect: Vec<_> = all.iter().filter(|f| pred(f)).map(|f| f.name.clone()).collect();
        assert_eq!(got.iter().map(|f| f.name.clone()).collect::<Vec<_>>(), expect, "{what}");
    };
    let with_paths = files(&env, |r| r.include_folder_path = true).await;
    assert!(with_paths.iter().all(|f| f.folder_path.starts_with("Business_process/")), "include_folder_path");
    let folder = "Business_process/finance";
    let got = files(&env, |r| r.folder_path = folder.into()).await;
    let in_folder: HashSet<_> =
        with_paths.iter().filter(|f| f.folder_path.starts_with(folder)).map(|f| f.name.clone()).collect();
    assert!(!got.is_empty() && got.len() < 301 && got.iter().all(|f| in_folder.contains(&f.name)), "folder_path");
    check(files(&env, |r| r.keyword = "order".into()).await, &|f| f.display_name.contains("order"), "keyword");
    let name = all[10].display_name.clone();
    check(files(&env, |r| r.exact_name = name.clone()).await, &|f| f.display_name == name, "exact_name");
    check(
        files(&env, |r| r.use_type = pb::UseType::Manual as i32).await,
        &|f| f.use_type() == pb::UseType::Manual,
        "use_type",
    );
    check(
        files(&env, |r| r.file_types = vec!["6".into(), "23".into()]).await,
        &|f| f.file_type == "6" || f.file_type == "23",
        "file_types",
    );
    let owner = all[3].owner.clone().unwrap().id;
    check(files(&env, |r| r.owner = id(&owner)).await, &|f| f.owner.as_ref().unwrap().id == owner, "owner");
    let node = all[5].node_id.clone();
    check(files(&env, |r| r.node_id = node.clone()).await, &|f| f.node_id == node, "node_id");
    let ids: Vec<String> =
        all.iter().step_by(7).take(50).map(|f| f.name.rsplit('/').next().unwrap().to_owned()).collect();
    check(
        files(&env, |r| r.file_ids = ids.clone()).await,
        &|f| ids.contains(&f.name.rsplit('/').next().unwrap().to_owned()),
        "file_ids",
    );
    let editor = all[8].last_editor.clone().unwrap().id;
    check(
        files(&env, |r| r.last_editor = id(&editor)).await,
        &|f| f.last_editor.as_ref().unwrap().id == editor,
        "last_editor",
    );
    check(
        files(&env, |r| r.commit_status = pb::CommitStatus::Uncommitted as i32).await,
        &|f| f.commit_status() == pb::CommitStatus::Uncommitted,
        "commit_status",
    );
    let with_content = files(&env, |r| {
        r.include_content = true;
        r.page_size = 5;
        r.file_ids = vec!["100001".into()];
    })
    .await;
    assert!(with_content[0].content.contains("SELECT"), "include_content");
}

#[tokio::test]
async fn bad_file_filters_never_reach_the_vendor() {
    let env = alibaba::start().await;
    for (req, field) in [
        (pb::ListFilesRequest { file_types: vec!["10".into(), "12345".into()], ..Default::default() }, "file_types[1]"),
        (pb::ListFilesRequest { file_ids: vec!["abc".into()], ..Default::default() }, "file_ids[0]"),
        (pb::ListFilesRequest { node_id: "x".into(), ..Default::default() }, "node_id"),
        (
            pb::ListFilesRequest {
                owner: Some(pb::UserRef { key: Some(pb::user_ref::Key::DisplayName("bob".into())) }),
                ..Default::default()
            },
            "owner.display_name",
        ),
    ] {
        let e = env.gw.files().list_files(pb::ListFilesRequest { parent: WS.into(), ..req }).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        assert_eq!(common::violated_fields(&e), vec![field]);
    }
    let e = env
        .gw
        .files()
        .get_file(pb::GetFileRequest { name: format!("{WS}/files/script:x"), view: 0 })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(env.emu.control.requests().is_empty());
}

#[tokio::test]
async fn file_and_versions() {
    let env = alibaba::start().await;
    let f = env
        .gw
        .files()
        .get_file(pb::GetFileRequest { name: format!("{WS}/files/100001"), view: pb::View::Full as i32 })
        .await
        .unwrap()
        .into_inner()
        .file
        .unwrap();
    assert!(f.content.contains("SELECT"));
    assert_eq!(f.deleted_status, "NORMAL");
    assert!(f.vendor_record.unwrap().fields.contains_key("NodeConfiguration"));
    // A file with several versions, listed one per page, newest first.
    let all = files(&env, |_| {}).await;
    let many = all.iter().find(|f| f.current_version >= 4).expect("a file with 4+ versions");
    let mut token = String::new();
    let mut versions = Vec::new();
    loop {
        let r = env
            .gw
            .files()
            .list_file_versions(pb::ListFileVersionsRequest {
                parent: many.name.clone(),
                page_size: 1,
                page_token: token,
                view: 0,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(i64::from(r.total_size), many.current_version);
        versions.extend(r.file_versions);
        if r.next_page_token.is_empty() {
            break;
        }
        token = r.next_page_token;
    }
    let numbers: Vec<i64> = versions.iter().map(|v| v.version).collect();
    let expect: Vec<i64> = (1..=many.current_version).rev().collect();
    assert_eq!(numbers, expect);
    let v1 = versions.last().unwrap();
    assert_eq!(v1.change_type(), pb::ChangeType::Added);
    assert!(v1.node_content.starts_with('{') && v1.property_content.contains("fileName"));
    assert_eq!(versions.iter().filter(|v| v.is_current_prod).count(), 1);
    let got = env
        .gw
        .files()
        .get_file_version(pb::GetFileVersionRequest { name: v1.name.clone(), view: 0 })
        .await
        .unwrap()
        .into_inner()
        .file_version
        .unwrap();
    assert_eq!(got.content, v1.content);
    let e = env
        .gw
        .files()
        .get_file_version(pb::GetFileVersionRequest { name: format!("{}/versions/99", many.name), view: 0 })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
}

#[tokio::test]
async fn vendor_errors_map_by_code_with_error_info() {
    let env = alibaba::start().await;
    let cases = [
        (
            Fault::VendorError { status: 403, code: "Forbidden.Access".into(), message: "no".into() },
            Code::PermissionDenied,
            "Forbidden.Access",
        ),
        (
            Fault::VendorError { status: 200, code: "Forbidden.Access".into(), message: "no".into() },
            Code::PermissionDenied,
            "Forbidden.Access",
        ),
        (Fault::Throttle { retry_after_ms: 1500 }, Code::Unavailable, "Throttling.User"),
        (Fault::Status { status: 500 }, Code::Unavailable, "InternalError.System"),
        (
            Fault::VendorError { status: 400, code: "InvalidParameter".into(), message: "bad".into() },
            Code::InvalidArgument,
            "InvalidParameter",
        ),
        (Fault::Malformed, Code::Internal, "MalformedResponse"),
        (Fault::Reset, Code::Unavailable, "VENDOR_CONNECTION_FAILED"),
        // Last: the daily quota closes GetFile until the vendor's reset.
        (
            Fault::VendorError { status: 429, code: "Throttling.Api.Risk".into(), message: "quota".into() },
            Code::ResourceExhausted,
            "Throttling.Api.Risk",
        ),
    ];
    for (fault, code, vendor_code) in cases {
        // Enough for every attempt: transient failures are retried.
        env.emu.control.clear_faults();
        env.emu.control.inject(FaultRule { action: "GetFile".into(), fault: fault.clone(), times: MAX_ATTEMPTS });
        let e = env
            .gw
            .files()
            .get_file(pb::GetFileRequest { name: format!("{WS}/files/100001"), view: 0 })
            .await
            .unwrap_err();
        assert_eq!(e.code(), code, "{fault:?}: {e:?}");
        let info = common::error_info(&e).expect("ErrorInfo");
        assert_eq!(info.metadata["vendor"], "alibaba", "{fault:?}");
        assert_eq!(info.metadata["vendor_code"], vendor_code, "{fault:?}");
        if !matches!(fault, Fault::Reset) {
            assert!(!info.metadata["vendor_request_id"].is_empty(), "{fault:?} carries the vendor request id");
        }
        use tonic_types::StatusExt;
        if matches!(fault, Fault::Throttle { .. }) {
            let retry = e.get_details_retry_info().expect("RetryInfo").retry_delay.unwrap();
            // The advertised 1.5 s plus the gateway's jitter (at most half of it).
            assert!((1500..=2250).contains(&retry.as_millis()), "{retry:?}");
            let attempts =
                env.emu.control.requests().iter().filter(|r| r.code.as_deref() == Some("Throttling.User")).count();
            assert_eq!(attempts as u32, MAX_ATTEMPTS, "throttled reads are retried after the advertised pause");
        }
        if vendor_code == "Throttling.Api.Risk" {
            assert!(e.get_details_quota_failure().is_some());
        }
    }
}

#[tokio::test]
async fn a_wrong_secret_is_an_internal_vendor_auth_failure_after_exactly_one_vendor_call() {
    let env = alibaba::start_with("legacy", "wrong-secret").await;
    let e =
        env.gw.files().get_file(pb::GetFileRequest { name: format!("{WS}/files/100001"), view: 0 }).await.unwrap_err();
    // The gateway's own credentials, not the caller's: INTERNAL, for operators to fix.
    assert_eq!(e.code(), Code::Internal);
    let info = common::error_info(&e).unwrap();
    assert_eq!(info.reason, "VENDOR_AUTH_FAILED");
    assert_eq!(info.metadata["vendor_code"], "SignatureDoesNotMatch");
    assert!(e.message().contains("refused the gateway's credentials for this workspace"), "{}", e.message());
    assert_eq!(env.emu.control.requests().len(), 1);
    assert!(!e.message().contains("wrong-secret"));
}

#[tokio::test]
async fn a_rotated_credential_file_is_picked_up_without_restart() {
    let env = alibaba::start_with("legacy", "old-secret").await;
    let req = || pb::GetFileRequest { name: format!("{WS}/files/100001"), view: 0 };
    assert_eq!(env.gw.files().get_file(req()).await.unwrap_err().code(), Code::Internal);
    std::fs::write(env.gw.dir.path().join("sk"), "demo-sk").unwrap();
    // Files are re-checked at most once a second.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert!(env.gw.files().get_file(req()).await.is_ok());
}
