//! Bad input is INVALID_ARGUMENT naming the field, before any vendor call.
//! (The workspaces here point at no vendor at all: a request that got past
//! validation would fail differently.)

mod common;

use datastudio_gateway::pb;
use prost_types::Timestamp;
use tonic::Code;

const W: &str = "workspaces/dw-test";
const UUID: &str = "6f1d2c1e-4b8a-4a57-9a43-0d7c3b2a1e90";

fn ts(s: i64) -> Option<Timestamp> {
    Some(Timestamp { seconds: s, nanos: 0 })
}

fn pkgs(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{W}/releasePackages/{i}")).collect()
}

/// (case, field expected in BadRequest, the call)
type Case = (&'static str, &'static str, Call);

enum Call {
    ListPkgs(pb::ListReleasePackagesRequest),
    GetPkg(pb::GetReleasePackageRequest),
    Deploy(pb::DeployReleasePackagesRequest),
    DeployFiles(pb::DeployFilesRequest),
    GetDeployment(pb::GetDeploymentRequest),
    Watch(pb::WatchDeploymentRequest),
    ListFiles(pb::ListFilesRequest),
    GetFile(pb::GetFileRequest),
    ListVersions(pb::ListFileVersionsRequest),
    GetVersion(pb::GetFileVersionRequest),
    ListWs(pb::ListWorkspacesRequest),
    GetWs(pb::GetWorkspaceRequest),
}

fn cases() -> Vec<Case> {
    use Call::*;
    let lp = |f: fn(&mut pb::ListReleasePackagesRequest)| {
        let mut r = pb::ListReleasePackagesRequest { parent: W.into(), ..Default::default() };
        f(&mut r);
        ListPkgs(r)
    };
    let lf = |f: fn(&mut pb::ListFilesRequest)| {
        let mut r = pb::ListFilesRequest { parent: W.into(), ..Default::default() };
        f(&mut r);
        ListFiles(r)
    };
    let dp = |f: fn(&mut pb::DeployReleasePackagesRequest)| {
        let mut r = pb::DeployReleasePackagesRequest {
            parent: W.into(),
            release_packages: pkgs(1),
            request_id: UUID.into(),
            ..Default::default()
        };
        f(&mut r);
        Deploy(r)
    };
    let df = |f: fn(&mut pb::DeployFilesRequest)| {
        let mut r = pb::DeployFilesRequest {
            parent: W.into(),
            files: vec![format!("{W}/files/1")],
            request_id: UUID.into(),
            ..Default::default()
        };
        f(&mut r);
        DeployFiles(r)
    };
    vec![
        ("missing parent", "parent", lp(|r| r.parent.clear())),
        ("parent not a workspace name", "parent", lp(|r| r.parent = "projects/x".into())),
        ("upper-case workspace", "parent", lp(|r| r.parent = "workspaces/DW".into())),
        ("negative page size", "page_size", lp(|r| r.page_size = -1)),
        ("page size over 100", "page_size", lp(|r| r.page_size = 101)),
        ("malformed page token", "page_token", lp(|r| r.page_token = "%%%".into())),
        ("forged page token", "page_token", lp(|r| r.page_token = "eyJtIjoiTGlzdCJ9AAAAAAAAAAAAAAAAAAAAAA".into())),
        ("keyword too long", "keyword", lp(|r| r.keyword = "k".repeat(300))),
        ("keyword with control chars", "keyword", lp(|r| r.keyword = "a\u{7}b".into())),
        ("unknown state", "states[0]", lp(|r| r.states = vec![42])),
        ("unspecified state", "states[0]", lp(|r| r.states = vec![0])),
        ("empty creator", "creators[0]", lp(|r| r.creators = vec![pb::UserRef { key: None }])),
        (
            "blank creator id",
            "creators[0].id",
            lp(|r| r.creators = vec![pb::UserRef { key: Some(pb::user_ref::Key::Id(" ".into())) }]),
        ),
        (
            "inverted create time",
            "create_time",
            lp(|r| r.create_time = Some(pb::TimeRange { start_time: ts(2_000), end_time: ts(1_000) })),
        ),
        (
            "invalid timestamp nanos",
            "execute_time.end_time",
            lp(|r| {
                r.execute_time =
                    Some(pb::TimeRange { start_time: None, end_time: Some(Timestamp { seconds: 1, nanos: -5 }) })
            }),
        ),
        ("unknown order", "order_by", lp(|r| r.order_by = "name".into())),
        ("unknown view", "view", lp(|r| r.view = 9)),
        ("bad package name", "name", GetPkg(pb::GetReleasePackageRequest { name: format!("{W}/files/1"), view: 0 })),
        ("missing package name", "name", GetPkg(pb::GetReleasePackageRequest { name: String::new(), view: 0 })),
        ("no packages", "release_packages", dp(|r| r.release_packages.clear())),
        ("101 packages", "release_packages", dp(|r| r.release_packages = pkgs(101))),
        (
            "duplicate package",
            "release_packages[1]",
            dp(|r| r.release_packages = vec![pkgs(1)[0].clone(), pkgs(1)[0].clone()]),
        ),
        (
            "package of another workspace",
            "release_packages[0]",
            dp(|r| r.release_packages = vec!["workspaces/other/releasePackages/1".into()]),
        ),
        ("missing request id", "request_id", dp(|r| r.request_id.clear())),
        ("non-uuid request id", "request_id", dp(|r| r.request_id = "retry-1".into())),
        ("unknown startup mode", "startup_mode", dp(|r| r.startup_mode = 7)),
        ("no files", "files", df(|r| r.files.clear())),
        ("bad file version", "files[0]", df(|r| r.files = vec![format!("{W}/files/1/versions/x")])),
        ("version zero", "files[0]", df(|r| r.files = vec![format!("{W}/files/1/versions/0")])),
        (
            "duplicate file",
            "files[1]",
            df(|r| r.files = vec![format!("{W}/files/1"), format!("{W}/files/1/versions/2")]),
        ),
        ("comment too long", "comment", df(|r| r.comment = "c".repeat(2000))),
        ("comment with NUL", "comment", df(|r| r.comment = "release\0notes".into())),
        ("dot file id", "name", GetFile(pb::GetFileRequest { name: format!("{W}/files/.."), view: 0 })),
        ("deploy files without request id", "request_id", df(|r| r.request_id.clear())),
        (
            "bad deployment name",
            "name",
            GetDeployment(pb::GetDeploymentRequest { name: "deployments/1".into(), view: 0 }),
        ),
        ("bad watch name", "name", Watch(pb::WatchDeploymentRequest { name: format!("{W}/deployments/"), view: 0 })),
        ("file page size", "page_size", lf(|r| r.page_size = 1000)),
        ("51 file ids", "file_ids", lf(|r| r.file_ids = (0..51).map(|i| i.to_string()).collect())),
        ("empty file id", "file_ids[0]", lf(|r| r.file_ids = vec![String::new()])),
        ("empty file type", "file_types[0]", lf(|r| r.file_types = vec![" ".into()])),
        ("unknown use type", "use_type", lf(|r| r.use_type = 99)),
        ("unknown commit status", "commit_status", lf(|r| r.commit_status = 5)),
        ("owner without key", "owner", lf(|r| r.owner = Some(pb::UserRef { key: None }))),
        ("folder path too long", "folder_path", lf(|r| r.folder_path = "f/".repeat(200))),
        ("bad file name", "name", GetFile(pb::GetFileRequest { name: format!("{W}/files"), view: 0 })),
        ("file name with nested path", "name", GetFile(pb::GetFileRequest { name: format!("{W}/files/a/b"), view: 0 })),
        (
            "versions parent",
            "parent",
            ListVersions(pb::ListFileVersionsRequest { parent: W.into(), ..Default::default() }),
        ),
        (
            "version not a number",
            "name",
            GetVersion(pb::GetFileVersionRequest { name: format!("{W}/files/1/versions/latest"), view: 0 }),
        ),
        (
            "workspaces page size",
            "page_size",
            ListWs(pb::ListWorkspacesRequest { page_size: -3, page_token: String::new() }),
        ),
        ("workspace name", "name", GetWs(pb::GetWorkspaceRequest { name: "dw-test".into() })),
    ]
}

#[tokio::test]
async fn every_bad_request_is_invalid_argument_naming_the_field() {
    let gw = common::start_default().await;
    let all = cases();
    assert!(all.len() >= 30);
    for (what, field, call) in all {
        let r = match call {
            Call::ListPkgs(r) => gw.release().list_release_packages(r).await.map(drop),
            Call::GetPkg(r) => gw.release().get_release_package(r).await.map(drop),
            Call::Deploy(r) => gw.release().deploy_release_packages(r).await.map(drop),
            Call::DeployFiles(r) => gw.release().deploy_files(r).await.map(drop),
            Call::GetDeployment(r) => gw.release().get_deployment(r).await.map(drop),
            Call::Watch(r) => gw.release().watch_deployment(r).await.map(drop),
            Call::ListFiles(r) => gw.files().list_files(r).await.map(drop),
            Call::GetFile(r) => gw.files().get_file(r).await.map(drop),
            Call::ListVersions(r) => gw.files().list_file_versions(r).await.map(drop),
            Call::GetVersion(r) => gw.files().get_file_version(r).await.map(drop),
            Call::ListWs(r) => gw.workspaces().list_workspaces(r).await.map(drop),
            Call::GetWs(r) => gw.workspaces().get_workspace(r).await.map(drop),
        };
        let e = r.expect_err(what);
        assert_eq!(e.code(), Code::InvalidArgument, "{what}: {e:?}");
        let fields = common::violated_fields(&e);
        assert!(fields.iter().any(|f| f == field), "{what}: expected {field} in {fields:?}");
        assert_eq!(common::error_info(&e).expect("ErrorInfo").domain, "datastudio-gateway", "{what}");
    }
}

#[tokio::test]
async fn several_bad_fields_are_reported_together() {
    let gw = common::start_default().await;
    let e = gw
        .release()
        .deploy_release_packages(pb::DeployReleasePackagesRequest {
            parent: "nope".into(),
            release_packages: vec![],
            startup_mode: 9,
            request_id: "x".into(),
        })
        .await
        .unwrap_err();
    let fields = common::violated_fields(&e);
    for f in ["parent", "release_packages", "startup_mode", "request_id"] {
        assert!(fields.contains(&f.to_string()), "{f} in {fields:?}");
    }
}

#[tokio::test]
async fn a_huge_name_is_quoted_short_with_its_length() {
    let gw = common::start_default().await;
    let huge = format!("{W}/nope/{}", "x".repeat(1 << 20));
    let e = gw.files().get_file(pb::GetFileRequest { name: huge, view: 0 }).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "not RESOURCE_EXHAUSTED from an oversized grpc-message");
    assert!(e.message().len() < 512, "{} bytes", e.message().len());
    assert!(e.message().contains("bytes)"), "{}", e.message());
}

#[tokio::test]
async fn many_bad_items_keep_the_message_and_details_within_what_clients_read() {
    let gw = common::start_default().await;
    let files: Vec<String> = (0..100).map(|i| format!("{W}/nope/{i}-{}", "y".repeat(200))).collect();
    let e = gw
        .release()
        .deploy_files(pb::DeployFilesRequest { parent: W.into(), files, request_id: UUID.into(), ..Default::default() })
        .await
        .unwrap_err();
    assert!(e.message().len() <= 2100, "{} bytes", e.message().len());
    assert!(e.message().contains("more (see BadRequest)"), "{}", e.message());
    let fields = common::violated_fields(&e);
    assert!(fields.len() < 100 && fields[0] == "files[0]", "{fields:?}");
    let last = fields.last().unwrap();
    assert!(last.starts_with("files["), "the last entry says how many more: {last}");
}
