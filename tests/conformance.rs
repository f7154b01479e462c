//! The vendor-conformance suite: one table of neutral scenarios, run
//! against every vendor's emulator through the real gRPC server. A third
//! vendor plugs in by adding one `Harness` constructor.

mod common;
#[path = "common/huawei.rs"]
mod hw;

use std::collections::HashSet;

use common::Gateway;
use datastudio_gateway::{emulator::alibaba::objects, pb};
use tonic::Code;

/// What the suite needs to know about one driver and its vendor.
struct Harness {
    vendor: pb::Vendor,
    ws: &'static str,
    gw: Gateway,
    /// Vendor calls made so far.
    calls: Box<dyn Fn() -> usize + Send + Sync>,
    /// Vendor deploy calls made so far.
    deploys: Box<dyn Fn() -> usize + Send + Sync>,
    /// A file with at least three versions.
    versioned_file: String,
    /// Files that DeployFiles deploys successfully, in one call.
    deployable_files: Vec<String>,
    /// Whether `GetWorkspace` must declare DeployFiles supported (else it
    /// must say why not, and DeployFiles must cost no vendor call).
    deploys_files: bool,
    /// What GetReleasePackage answers for a package that does not exist.
    unknown_package: Code,
    /// A release package DeployReleasePackages can deploy (where it can).
    deployable_package: Option<String>,
    /// Keep the vendor alive.
    _emu: Box<dyn std::any::Any + Send>,
}

async fn alibaba(
    flavour: &str,
    deploy_action: &'static str,
    unknown_package: Code,
    versioned: &str,
    deployable: &[&str],
) -> Harness {
    let env = common::alibaba::start_with(flavour, "demo-sk").await;
    let (c1, c2) = (env.emu.control.clone(), env.emu.control.clone());
    Harness {
        vendor: pb::Vendor::AlibabaDataworks,
        ws: common::alibaba::WS,
        calls: Box::new(move || c1.requests().len()),
        deploys: Box::new(move || c2.count(deploy_action)),
        versioned_file: format!("{}/files/{versioned}", common::alibaba::WS),
        deployable_files: deployable.iter().map(|f| format!("{}/files/{f}", common::alibaba::WS)).collect(),
        deploys_files: true,
        unknown_package,
        deployable_package: ready_package(&env.gw, common::alibaba::WS).await,
        gw: env.gw,
        _emu: Box::new(env.emu),
    }
}

/// A listed release package in state READY, if any.
async fn ready_package(gw: &Gateway, ws: &str) -> Option<String> {
    let q = pb::ListReleasePackagesRequest {
        parent: ws.into(),
        page_size: 1,
        states: vec![pb::ReleasePackageState::Ready as i32],
        ..Default::default()
    };
    gw.release().list_release_packages(q).await.ok()?.into_inner().release_packages.pop().map(|p| p.name)
}

async fn alibaba_legacy() -> Harness {
    alibaba("legacy", "DeployFile", Code::NotFound, "100001", &["100004"]).await
}

async fn alibaba_pipeline() -> Harness {
    // The vendor reference does not say which code GetPipelineRun answers
    // for an unknown run; the emulator answers InvalidParameter ("does not
    // exist"), which maps to INVALID_ARGUMENT.
    // Files are Data Studio objects.
    alibaba(
        "pipeline",
        "CreatePipelineRun",
        Code::InvalidArgument,
        objects::NODE,
        &[objects::OTHER_NODE, objects::CYCLE_WORKFLOW],
    )
    .await
}

/// DataArts with `approvers`: DeployFiles packages two scripts' pending
/// items (approver_ids from the setting) and deploys the package.
async fn huawei() -> Harness {
    dataarts(hw::start().await, true)
}

/// DataArts without `approvers`: DeployFiles is declared unsupported, with
/// the setting that enables it.
async fn huawei_without_approvers() -> Harness {
    dataarts(hw::start_with(hw::options(), hw::Creds::Keys(hw::SK)).await, false)
}

fn dataarts(h: hw::Hw, deploys_files: bool) -> Harness {
    let (c1, c2) = (h.emu.control.clone(), h.emu.control.clone());
    Harness {
        vendor: pb::Vendor::HuaweiDataarts,
        ws: hw::WS,
        calls: Box::new(move || c1.requests().len()),
        deploys: Box::new(move || c2.count("release-packages.deploy")),
        versioned_file: hw::name("files", "script:etl-000"),
        deployable_files: vec![hw::name("files", "script:etl-000"), hw::name("files", "script:ads-005")],
        deploys_files,
        unknown_package: Code::NotFound,
        deployable_package: Some(hw::name(
            "releasePackages",
            datastudio_gateway::emulator::huawei::DEPLOYABLE_PACKAGE_ID,
        )),
        gw: h.gw,
        _emu: Box::new(h.emu),
    }
}

/// The in-memory driver (built with the `test-util` feature): a third
/// vendor registered through the same table, held to the same suite.
async fn memory() -> Harness {
    use datastudio_gateway::providers::memory::{Api, Store};
    let store_name = uuid::Uuid::new_v4().to_string();
    let dir = common::secrets_dir(&[]);
    let d = dir.path().display().to_string();
    let yaml = format!(
        r#"
server:
  grpc_listen: 127.0.0.1:0
  admin_listen: 127.0.0.1:0
  state_dir: {d}/state
workspaces:
  mem:
    vendor: memory
    region: local
    store: {store_name}
"#
    );
    let gw = common::start_yaml(&yaml, dir).await;
    let store = Store::named(&store_name);
    let s2 = store.clone();
    Harness {
        vendor: pb::Vendor::Unspecified,
        ws: "workspaces/mem",
        calls: Box::new(move || store.calls()),
        deploys: Box::new(move || s2.count(Api::Deploy)),
        versioned_file: "workspaces/mem/files/1".into(),
        deployable_files: vec!["workspaces/mem/files/2".into()],
        deploys_files: true,
        unknown_package: Code::NotFound,
        deployable_package: None,
        gw,
        _emu: Box::new(()),
    }
}

/// One test per driver × scenario: `conformance!(scenario, ...)` expands to
/// a module per harness (`alibaba_legacy::paging_...`) with one test per
/// scenario, so a failure names both.
macro_rules! conformance {
    ($($scenario:ident),* $(,)?) => {
        conformance!(@harness [alibaba_legacy, alibaba_pipeline, huawei, huawei_without_approvers, memory] [$($scenario),*]);
    };
    (@harness [$($h:ident),*] $scenarios:tt) => {
        $(conformance!(@tests $h $scenarios);)*
    };
    (@tests $h:ident [$($scenario:ident),*]) => {
        mod $h {
            $(
                #[tokio::test]
                async fn $scenario() {
                    crate::$scenario(crate::$h().await).await
                }
            )*
        }
    };
    // Scenarios of what only some workspace kinds declare, in a module of
    // their own: `conformance!(only pipeline_only [alibaba_pipeline]: ...)`.
    (only $m:ident [$($h:ident),*]: $($scenario:ident),* $(,)?) => {
        mod $m {
            conformance!(@harness [$($h),*] [$($scenario),*]);
        }
    };
}

conformance!(
    paging_is_consistent_at_page_sizes_1_2_3,
    paging_covers_every_package_once_with_a_correct_total,
    get_agrees_with_list_and_full_view_carries_the_vendor_record,
    versions_are_listed_newest_first_and_each_can_be_read,
    unknown_resources_are_not_found_and_bad_ids_cost_no_vendor_call,
    deploy_files_is_followed_to_the_end_and_never_repeated,
    capabilities_cover_every_list_filter,
    every_declared_filter_is_honoured_or_refused,
    package_deploys_and_cancels_are_proven_or_refused,
);

conformance!(only pipeline_only [alibaba_pipeline]:
    lists_every_object_kind,
    reads_an_objects_content_and_versions,
    deploys_two_objects_to_succeeded_as_one_deployment,
    every_declared_file_filter_is_exercised,
);

async fn packages(h: &Harness, size: i32, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut token = String::new();
    while out.len() < limit {
        let r =
            h.gw.release()
                .list_release_packages(pb::ListReleasePackagesRequest {
                    parent: h.ws.into(),
                    page_size: size,
                    page_token: token,
                    ..Default::default()
                })
                .await
                .expect("list packages")
                .into_inner();
        out.extend(r.release_packages.into_iter().map(|p| p.name));
        if r.next_page_token.is_empty() {
            break;
        }
        token = r.next_page_token;
    }
    out.truncate(limit);
    out
}

async fn files(h: &Harness, size: i32, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut token = String::new();
    while out.len() < limit {
        let r =
            h.gw.files()
                .list_files(pb::ListFilesRequest {
                    parent: h.ws.into(),
                    page_size: size,
                    page_token: token,
                    ..Default::default()
                })
                .await
                .expect("list files")
                .into_inner();
        out.extend(r.files.into_iter().map(|f| f.name));
        if r.next_page_token.is_empty() {
            break;
        }
        token = r.next_page_token;
    }
    out.truncate(limit);
    out
}

async fn paging_is_consistent_at_page_sizes_1_2_3(h: Harness) {
    let reference = packages(&h, 12, 12).await;
    assert_eq!(reference.len(), 12, "{:?}", h.vendor);
    assert_eq!(reference.iter().collect::<HashSet<_>>().len(), 12);
    for size in [1, 2, 3] {
        assert_eq!(packages(&h, size, 12).await, reference, "{:?} packages, page size {size}", h.vendor);
    }
    let reference = files(&h, 9, 9).await;
    for size in [1, 2, 3] {
        assert_eq!(files(&h, size, 9).await, reference, "{:?} files, page size {size}", h.vendor);
    }
}

async fn paging_covers_every_package_once_with_a_correct_total(h: Harness) {
    let mut seen = HashSet::new();
    let mut token = String::new();
    let mut totals = HashSet::new();
    loop {
        let r =
            h.gw.release()
                .list_release_packages(pb::ListReleasePackagesRequest {
                    parent: h.ws.into(),
                    page_size: 7,
                    page_token: token,
                    ..Default::default()
                })
                .await
                .expect("list packages")
                .into_inner();
        totals.insert(r.total_size);
        for p in r.release_packages {
            assert_eq!(p.vendor(), h.vendor);
            assert!(seen.insert(p.name.clone()), "{:?}: {} listed twice", h.vendor, p.name);
        }
        if r.next_page_token.is_empty() {
            break;
        }
        token = r.next_page_token;
    }
    assert_eq!(totals.len(), 1, "{:?}: one total_size on every page ({totals:?})", h.vendor);
    assert_eq!(totals.into_iter().next(), Some(seen.len() as i32), "{:?}: total_size counts every package", h.vendor);
}

async fn get_agrees_with_list_and_full_view_carries_the_vendor_record(h: Harness) {
    let listed =
        h.gw.release()
            .list_release_packages(pb::ListReleasePackagesRequest {
                parent: h.ws.into(),
                page_size: 3,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .release_packages;
    for p in listed {
        assert_eq!(p.vendor(), h.vendor);
        assert!(p.vendor_record.is_none(), "BASIC view has no raw record");
        let got =
            h.gw.release()
                .get_release_package(pb::GetReleasePackageRequest { name: p.name.clone(), view: pb::View::Full as i32 })
                .await
                .unwrap()
                .into_inner()
                .release_package
                .unwrap();
        assert_eq!((got.name.as_str(), got.display_name.as_str()), (p.name.as_str(), p.display_name.as_str()));
        assert!(got.vendor_record.is_some_and(|r| !r.fields.is_empty()), "{:?}: FULL view", h.vendor);
    }
    let f =
        h.gw.files()
            .get_file(pb::GetFileRequest { name: h.versioned_file.clone(), view: pb::View::Full as i32 })
            .await
            .unwrap()
            .into_inner()
            .file
            .unwrap();
    assert!(!f.content.is_empty() && f.vendor_record.is_some(), "{:?}", h.vendor);
}

async fn versions_are_listed_newest_first_and_each_can_be_read(h: Harness) {
    let r =
        h.gw.files()
            .list_file_versions(pb::ListFileVersionsRequest {
                parent: h.versioned_file.clone(),
                page_size: 3,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
    assert_eq!(r.file_versions.len(), 3, "{:?}", h.vendor);
    let numbers: Vec<i64> = r.file_versions.iter().map(|v| v.version).collect();
    assert!(numbers.windows(2).all(|w| w[0] > w[1]), "{:?}: newest first {numbers:?}", h.vendor);
    for v in &r.file_versions {
        let got =
            h.gw.files()
                .get_file_version(pb::GetFileVersionRequest { name: v.name.clone(), view: 0 })
                .await
                .unwrap()
                .into_inner()
                .file_version
                .unwrap();
        assert_eq!((got.version, got.content.as_str()), (v.version, v.content.as_str()), "{:?}", h.vendor);
        assert!(!got.content.is_empty());
    }
}

async fn unknown_resources_are_not_found_and_bad_ids_cost_no_vendor_call(h: Harness) {
    let e = h
        .gw
        .release()
        .get_release_package(pb::GetReleasePackageRequest { name: format!("{}/releasePackages/99999", h.ws), view: 0 })
        .await
        .unwrap_err();
    assert_eq!(e.code(), h.unknown_package, "{:?}: {e:?}", h.vendor);
    let info = common::error_info(&e).unwrap();
    assert!(!info.metadata["vendor_request_id"].is_empty(), "{:?}", h.vendor);
    let before = (h.calls)();
    let e =
        h.gw.release()
            .get_deployment(pb::GetDeploymentRequest { name: format!("{}/deployments/not a number", h.ws), view: 0 })
            .await
            .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{:?}", h.vendor);
    assert_eq!((h.calls)(), before, "{:?}: no vendor call for a malformed id", h.vendor);
}

async fn deploy_files_is_followed_to_the_end_and_never_repeated(h: Harness) {
    let ws = h.gw.workspaces().get_workspace(pb::GetWorkspaceRequest { name: h.ws.into() }).await.unwrap().into_inner();
    let caps = ws.workspace.unwrap().capabilities.unwrap();
    let op = caps.operations.iter().find(|o| o.method == "datastudio.v1.ReleaseService/DeployFiles").unwrap();
    assert_eq!(op.supported, h.deploys_files, "{:?}: GetWorkspace on DeployFiles: {op:?}", h.vendor);
    let req = pb::DeployFilesRequest {
        parent: h.ws.into(),
        files: h.deployable_files.clone(),
        comment: "conformance".into(),
        request_id: uuid::Uuid::new_v4().to_string(),
        ..Default::default()
    };
    if !h.deploys_files {
        assert!(!op.note.is_empty(), "{:?}: an unsupported operation says why", h.vendor);
        let before = (h.calls)();
        let e = h.gw.release().deploy_files(req).await.unwrap_err();
        assert_eq!(e.code(), Code::FailedPrecondition, "{:?}: {e:?}", h.vendor);
        assert!(e.message().contains(&op.note), "{:?}: the refusal says why: {}", h.vendor, e.message());
        assert_eq!((h.calls)(), before, "{:?}: no vendor call", h.vendor);
        return;
    }
    let first = h.gw.release().deploy_files(req.clone()).await.unwrap().into_inner();
    let deploys = (h.deploys)();
    assert!(deploys >= 1, "{:?}: deployed", h.vendor);
    let again = h.gw.release().deploy_files(req).await.unwrap().into_inner();
    assert_eq!(first, again, "{:?}: the same answer", h.vendor);
    assert_eq!((h.deploys)(), deploys, "{:?}: deployed once", h.vendor);
    let mut deployed_files = Vec::new();
    for d in &first.deployments {
        assert_eq!(d.vendor(), h.vendor);
        deployed_files.extend(d.files.iter().cloned());
        let mut s =
            h.gw.release()
                .watch_deployment(pb::WatchDeploymentRequest { name: d.name.clone(), view: 0 })
                .await
                .unwrap()
                .into_inner();
        let mut last = None;
        while let Some(m) = s.message().await.unwrap() {
            last = m.deployment;
        }
        assert_eq!(last.unwrap().state(), pb::DeploymentState::Succeeded, "{:?}", h.vendor);
    }
    deployed_files.sort();
    let mut want = h.deployable_files.clone();
    want.sort();
    assert_eq!(deployed_files, want, "{:?}: every file deployed", h.vendor);
}

async fn capabilities_cover_every_list_filter(h: Harness) {
    let fields = |d: &str| -> Vec<String> {
        let fds =
            <prost_types::FileDescriptorSet as prost::Message>::decode(datastudio_gateway::pb::FILE_DESCRIPTOR_SET)
                .unwrap();
        let m = fds.file.iter().flat_map(|f| &f.message_type).find(|m| m.name() == d).unwrap();
        m.field
            .iter()
            .map(|f| f.name().to_owned())
            .filter(|n| !["parent", "page_size", "page_token", "view"].contains(&n.as_str()))
            .map(|n| format!("{d}.{n}"))
            .collect()
    };
    let expected: Vec<String> =
        fields("ListReleasePackagesRequest").into_iter().chain(fields("ListFilesRequest")).collect();
    let ws = h.gw.workspaces().get_workspace(pb::GetWorkspaceRequest { name: h.ws.into() }).await.unwrap().into_inner();
    let caps = ws.workspace.unwrap().capabilities.unwrap();
    for f in &expected {
        let got = caps.filters.iter().find(|x| &x.field == f);
        assert!(
            got.is_some_and(|x| x.handling() != pb::FilterHandling::Unspecified),
            "{:?}: capabilities say nothing about {f}",
            h.vendor
        );
    }
    assert_eq!(caps.operations.len(), 11, "{:?}: every RPC of Release and File services", h.vendor);
}

/// A user as a filter value: by name where the vendor reports one, else by id.
fn user_ref(u: &pb::User) -> pb::UserRef {
    use pb::user_ref::Key;
    let key = if u.display_name.is_empty() { Key::Id(u.id.clone()) } else { Key::DisplayName(u.display_name.clone()) };
    pb::UserRef { key: Some(key) }
}

fn user_is(u: Option<&pb::User>, r: &pb::UserRef) -> bool {
    use pb::user_ref::Key;
    match (u, &r.key) {
        (Some(u), Some(Key::Id(id))) => &u.id == id,
        (Some(u), Some(Key::DisplayName(n))) => &u.display_name == n,
        _ => false,
    }
}

fn at(t: Option<prost_types::Timestamp>) -> Option<pb::TimeRange> {
    t.map(|t| pb::TimeRange { start_time: Some(t), end_time: Some(t) })
}

fn within(t: Option<&prost_types::Timestamp>, r: Option<&pb::TimeRange>) -> bool {
    let key = |t: &prost_types::Timestamp| (t.seconds, t.nanos);
    match (t, r) {
        (Some(t), Some(r)) => {
            r.start_time.as_ref().is_none_or(|s| key(s) <= key(t))
                && r.end_time.as_ref().is_none_or(|e| key(t) <= key(e))
        }
        _ => false,
    }
}

/// A word of `text` to search for.
fn word(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric()).find(|w| w.len() >= 3).unwrap_or(text).to_owned()
}

const PACKAGE_FILTERS: [&str; 7] =
    ["keyword", "states", "creators", "executors", "create_time", "execute_time", "order_by"];
const FILE_FILTERS: [&str; 12] = [
    "folder_path",
    "keyword",
    "exact_name",
    "use_type",
    "file_types",
    "owner",
    "node_id",
    "include_content",
    "include_folder_path",
    "file_ids",
    "last_editor",
    "commit_status",
];

/// A ListReleasePackages request with filter `f` set from `row` (the first
/// row that has what it needs), or None when no row has it.
fn package_filter(f: &str, rows: &[pb::ReleasePackage], ws: &str) -> Option<pb::ListReleasePackagesRequest> {
    let mut r = pb::ListReleasePackagesRequest { parent: ws.into(), page_size: 100, ..Default::default() };
    let find = |p: &dyn Fn(&pb::ReleasePackage) -> bool| rows.iter().find(|r| p(r));
    match f {
        "keyword" => r.keyword = word(&find(&|p| !p.display_name.is_empty())?.display_name),
        "states" => r.states = vec![find(&|p| p.state() != pb::ReleasePackageState::Unspecified)?.state],
        "creators" => r.creators = vec![user_ref(find(&|p| p.creator.is_some())?.creator.as_ref()?)],
        "executors" => {
            let u = find(&|p| p.executor.as_ref().is_some_and(|u| !u.id.is_empty() || !u.display_name.is_empty()))?;
            r.executors = vec![user_ref(u.executor.as_ref()?)];
        }
        "create_time" => r.create_time = at(find(&|p| p.create_time.is_some())?.create_time),
        "execute_time" => r.execute_time = at(find(&|p| p.execute_time.is_some_and(|t| t.seconds > 0))?.execute_time),
        "order_by" => r.order_by = "create_time asc".into(),
        other => panic!("no package filter {other}"),
    }
    Some(r)
}

fn package_matches(f: &str, q: &pb::ListReleasePackagesRequest, p: &pb::ReleasePackage) -> bool {
    match f {
        "keyword" => p.display_name.to_lowercase().contains(&q.keyword.to_lowercase()),
        "states" => q.states.contains(&p.state),
        "creators" => user_is(p.creator.as_ref(), &q.creators[0]),
        "executors" => user_is(p.executor.as_ref(), &q.executors[0]),
        "create_time" => within(p.create_time.as_ref(), q.create_time.as_ref()),
        "execute_time" => within(p.execute_time.as_ref(), q.execute_time.as_ref()),
        _ => true,
    }
}

/// A ListFiles request with filter `f` set from the first row that has what
/// it needs, or None when no row has it.
fn file_filter(f: &str, rows: &[pb::File], ws: &str) -> Option<pb::ListFilesRequest> {
    let mut r = pb::ListFilesRequest { parent: ws.into(), page_size: 100, ..Default::default() };
    let find = |p: &dyn Fn(&pb::File) -> bool| rows.iter().find(|r| p(r));
    match f {
        "folder_path" => r.folder_path = find(&|x| !x.folder_path.is_empty())?.folder_path.clone(),
        "keyword" => r.keyword = word(&find(&|x| !x.display_name.is_empty())?.display_name),
        "exact_name" => r.exact_name = find(&|x| !x.display_name.is_empty())?.display_name.clone(),
        "use_type" => r.use_type = find(&|x| x.use_type() != pb::UseType::Unspecified)?.use_type,
        "file_types" => r.file_types = vec![find(&|x| !x.file_type.is_empty())?.file_type.clone()],
        "owner" => r.owner = Some(user_ref(find(&|x| x.owner.is_some())?.owner.as_ref()?)),
        "node_id" => r.node_id = find(&|x| !x.node_id.is_empty())?.node_id.clone(),
        "include_content" => r.include_content = true,
        "include_folder_path" => r.include_folder_path = true,
        "file_ids" => r.file_ids = vec![find(&|_| true)?.name.rsplit_once("/files/")?.1.to_owned()],
        "last_editor" => r.last_editor = Some(user_ref(find(&|x| x.last_editor.is_some())?.last_editor.as_ref()?)),
        "commit_status" => {
            r.commit_status = find(&|x| x.commit_status() != pb::CommitStatus::Unspecified)?.commit_status
        }
        other => panic!("no file filter {other}"),
    }
    Some(r)
}

fn file_matches(f: &str, q: &pb::ListFilesRequest, x: &pb::File) -> bool {
    match f {
        "folder_path" => x.folder_path.starts_with(&q.folder_path),
        "keyword" => x.display_name.to_lowercase().contains(&q.keyword.to_lowercase()),
        "exact_name" => x.display_name == q.exact_name,
        "use_type" => x.use_type == q.use_type,
        "file_types" => q.file_types.contains(&x.file_type),
        "owner" => user_is(x.owner.as_ref(), q.owner.as_ref().unwrap()),
        "node_id" => x.node_id == q.node_id,
        "file_ids" => x.name.ends_with(&format!("/files/{}", q.file_ids[0])),
        "last_editor" => user_is(x.last_editor.as_ref(), q.last_editor.as_ref().unwrap()),
        "commit_status" => x.commit_status == q.commit_status,
        _ => true,
    }
}

/// Every filter `GetWorkspace` declares is proven on this workspace kind:
/// one the vendor or the gateway applies, set from a listed row, gives a
/// non-empty list whose every row satisfies it; a rejected one is
/// INVALID_ARGUMENT naming the field, with no vendor call.
async fn every_declared_filter_is_honoured_or_refused(h: Harness) {
    let ws = h.gw.workspaces().get_workspace(pb::GetWorkspaceRequest { name: h.ws.into() }).await.unwrap().into_inner();
    let caps = ws.workspace.unwrap().capabilities.unwrap();
    let handling = |field: String| {
        caps.filters.iter().find(|f| f.field == field).map(|f| f.handling()).unwrap_or_else(|| panic!("{field}"))
    };
    let all = |msg: &str| format!("{:?}: {msg}", h.vendor);
    let base = pb::ListReleasePackagesRequest { parent: h.ws.into(), page_size: 100, ..Default::default() };
    let pkgs = h.gw.release().list_release_packages(base).await.expect("list").into_inner().release_packages;
    // Up to 500 files, with their folders where the workspace can tell them.
    let folders = handling("ListFilesRequest.include_folder_path".into()) != pb::FilterHandling::Rejected;
    let mut files = Vec::new();
    let mut token = String::new();
    for _ in 0..5 {
        let q = pb::ListFilesRequest {
            parent: h.ws.into(),
            page_size: 100,
            page_token: token,
            include_folder_path: folders,
            ..Default::default()
        };
        let page = h.gw.files().list_files(q).await.expect("list").into_inner();
        files.extend(page.files);
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    for f in PACKAGE_FILTERS {
        let field = format!("ListReleasePackagesRequest.{f}");
        let how = handling(field.clone());
        let Some(q) = package_filter(f, &pkgs, h.ws) else {
            assert_eq!(how, pb::FilterHandling::Rejected, "{}", all(&format!("no listed package to prove {f} with")));
            continue;
        };
        let before = (h.calls)();
        let got = h.gw.release().list_release_packages(q.clone()).await;
        match how {
            pb::FilterHandling::Rejected => {
                let e = got.expect_err(&all(&format!("{f} is declared rejected")));
                assert_eq!(e.code(), Code::InvalidArgument, "{}", all(f));
                assert!(common::violated_fields(&e).iter().any(|v| v == f), "{}: {:?}", all(f), e.message());
                assert_eq!((h.calls)(), before, "{}", all(&format!("{f}: a refused filter costs no vendor call")));
            }
            _ => {
                let rows =
                    got.unwrap_or_else(|e| panic!("{}", all(&format!("{f}: {e:?}")))).into_inner().release_packages;
                assert!(!rows.is_empty(), "{}", all(&format!("{f} found nothing: {q:?}")));
                for p in &rows {
                    assert!(package_matches(f, &q, p), "{}", all(&format!("{f}: {} does not match {q:?}", p.name)));
                }
                if f == "order_by" {
                    let times: Vec<_> = rows.iter().map(|p| p.create_time.map(|t| (t.seconds, t.nanos))).collect();
                    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{}", all("create_time asc"));
                }
            }
        }
    }
    for f in FILE_FILTERS {
        let field = format!("ListFilesRequest.{f}");
        let how = handling(field.clone());
        let Some(mut q) = file_filter(f, &files, h.ws) else {
            assert_eq!(how, pb::FilterHandling::Rejected, "{}", all(&format!("no listed file to prove {f} with")));
            continue;
        };
        // Folders are asked for when the rows are compared by them.
        q.include_folder_path |= folders && f == "folder_path";
        let before = (h.calls)();
        let got = h.gw.files().list_files(q.clone()).await;
        match how {
            pb::FilterHandling::Rejected => {
                let e = got.expect_err(&all(&format!("{f} is declared rejected")));
                assert_eq!(e.code(), Code::InvalidArgument, "{}", all(f));
                assert!(common::violated_fields(&e).iter().any(|v| v == f), "{}: {:?}", all(f), e.message());
                assert_eq!((h.calls)(), before, "{}", all(&format!("{f}: a refused filter costs no vendor call")));
            }
            _ => {
                let rows = got.unwrap_or_else(|e| panic!("{}", all(&format!("{f}: {e:?}")))).into_inner().files;
                assert!(!rows.is_empty(), "{}", all(&format!("{f} found nothing: {q:?}")));
                for x in &rows {
                    assert!(file_matches(f, &q, x), "{}", all(&format!("{f}: {} does not match {q:?}", x.name)));
                }
                if f == "include_content" {
                    assert!(rows.iter().any(|x| !x.content.is_empty()), "{}", all("include_content gave no content"));
                }
                if f == "include_folder_path" {
                    assert!(rows.iter().any(|x| !x.folder_path.is_empty()), "{}", all("no folder path"));
                }
            }
        }
    }
}

/// DeployReleasePackages and CancelDeployment as `GetWorkspace` declares
/// them: supported, they work (a package deployed and followed to its
/// end; a deployment cancelled, then refused as ended); unsupported, they
/// are FAILED_PRECONDITION with no vendor call.
async fn package_deploys_and_cancels_are_proven_or_refused(h: Harness) {
    let ws = h.gw.workspaces().get_workspace(pb::GetWorkspaceRequest { name: h.ws.into() }).await.unwrap().into_inner();
    let caps = ws.workspace.unwrap().capabilities.unwrap();
    let supported = |m: &str| {
        caps.operations.iter().find(|o| o.method == format!("datastudio.v1.ReleaseService/{m}")).unwrap().supported
    };
    let all = |msg: &str| format!("{:?}: {msg}", h.vendor);
    let refused = |e: tonic::Status, before: usize| {
        assert_eq!(e.code(), Code::FailedPrecondition, "{}", all(e.message()));
        assert_eq!((h.calls)(), before, "{}", all("an unsupported operation costs no vendor call"));
    };
    let deploy = |pkg: String| {
        let mut c = h.gw.release();
        let req = pb::DeployReleasePackagesRequest {
            parent: h.ws.into(),
            release_packages: vec![pkg],
            request_id: uuid::Uuid::new_v4().to_string(),
            ..Default::default()
        };
        async move { c.deploy_release_packages(req).await.map(|r| r.into_inner().deployments) }
    };
    if supported("DeployReleasePackages") {
        let pkg = h.deployable_package.clone().unwrap_or_else(|| panic!("{}", all("no package to prove it with")));
        let d = deploy(pkg.clone()).await.unwrap_or_else(|e| panic!("{}", all(&format!("{e:?}"))));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].release_package, pkg);
        let mut s =
            h.gw.release()
                .watch_deployment(pb::WatchDeploymentRequest { name: d[0].name.clone(), view: 0 })
                .await
                .unwrap()
                .into_inner();
        let mut last = None;
        while let Some(m) = s.message().await.unwrap() {
            last = m.deployment;
        }
        assert_eq!(last.unwrap().state(), pb::DeploymentState::Succeeded, "{}", all("the package deploy ended"));
    } else {
        let before = (h.calls)();
        refused(deploy(format!("{}/releasePackages/1", h.ws)).await.unwrap_err(), before);
    }
    let cancel = |name: String| {
        let mut c = h.gw.release();
        async move {
            c.cancel_deployment(pb::CancelDeploymentRequest { name }).await.map(|r| r.into_inner().deployment.unwrap())
        }
    };
    if supported("CancelDeployment") {
        let req = pb::DeployFilesRequest {
            parent: h.ws.into(),
            files: h.deployable_files.clone(),
            request_id: uuid::Uuid::new_v4().to_string(),
            ..Default::default()
        };
        let d = h.gw.release().deploy_files(req).await.expect("deploy").into_inner().deployments.remove(0);
        let c = cancel(d.name.clone()).await.unwrap_or_else(|e| panic!("{}", all(&format!("{e:?}"))));
        assert_eq!(c.state(), pb::DeploymentState::Cancelled, "{}", all("cancelled"));
        let again = cancel(d.name).await.expect_err("ended");
        assert_eq!(again.code(), Code::FailedPrecondition);
        assert_eq!(common::error_info(&again).unwrap().reason, "DEPLOYMENT_ENDED");
    } else {
        let before = (h.calls)();
        refused(cancel(format!("{}/deployments/1", h.ws)).await.unwrap_err(), before);
    }
}

// ---------------------------------------------------------------- pipeline only

/// Every file `req` lists, page after page (100 a page).
async fn all_files(h: &Harness, req: pb::ListFilesRequest) -> Result<(Vec<pb::File>, i32), tonic::Status> {
    let (mut out, mut token) = (Vec::new(), String::new());
    loop {
        let r =
            h.gw.files()
                .list_files(pb::ListFilesRequest { page_size: 100, page_token: token, ..req.clone() })
                .await?
                .into_inner();
        out.extend(r.files);
        if r.next_page_token.is_empty() {
            return Ok((out, r.total_size));
        }
        token = r.next_page_token;
    }
}

fn file_name(h: &Harness, id: &str) -> String {
    format!("{}/files/{id}", h.ws)
}

async fn get_file(h: &Harness, name: &str) -> pb::File {
    h.gw.files()
        .get_file(pb::GetFileRequest { name: name.into(), view: 0 })
        .await
        .expect("get file")
        .into_inner()
        .file
        .unwrap()
}

/// Nodes, both workflow types, resources and functions are listed, each
/// once, and GetFile agrees with the listing.
async fn lists_every_object_kind(h: Harness) {
    let (files, total) =
        all_files(&h, pb::ListFilesRequest { parent: h.ws.into(), ..Default::default() }).await.unwrap();
    assert_eq!(files.len(), 20, "9 nodes, 5 workflows, 3 resources, 3 functions");
    assert_eq!(total, 20);
    assert_eq!(files.iter().map(|f| &f.name).collect::<HashSet<_>>().len(), 20, "each once");
    let kinds: HashSet<pb::FileKind> = files.iter().map(|f| f.kind()).collect();
    let all = [pb::FileKind::Script, pb::FileKind::Job, pb::FileKind::Resource, pb::FileKind::Function];
    assert_eq!(kinds, all.into_iter().collect());
    let types: HashSet<&str> = files.iter().map(|f| f.file_type.as_str()).collect();
    assert!(
        types.contains("CycleWorkflow") && types.contains("ManualWorkflow") && types.contains("ODPS_SQL"),
        "{types:?}"
    );
    // Paging across the listings' seams: the same files at any page size.
    let names: Vec<&String> = files.iter().map(|f| &f.name).collect();
    for size in [1, 3, 7] {
        let mut seen = Vec::new();
        let mut token = String::new();
        loop {
            let r =
                h.gw.files()
                    .list_files(pb::ListFilesRequest {
                        parent: h.ws.into(),
                        page_size: size,
                        page_token: token,
                        ..Default::default()
                    })
                    .await
                    .unwrap()
                    .into_inner();
            assert_eq!(r.total_size, 20);
            seen.extend(r.files.into_iter().map(|f| f.name));
            if r.next_page_token.is_empty() {
                break;
            }
            token = r.next_page_token;
        }
        assert_eq!(seen.iter().collect::<Vec<_>>(), names, "page size {size}");
    }
    for id in [objects::NODE, objects::CYCLE_WORKFLOW, objects::MANUAL_WORKFLOW, objects::RESOURCE, objects::FUNCTION] {
        let got = get_file(&h, &file_name(&h, id)).await;
        let listed = files.iter().find(|f| f.name == got.name).expect("listed");
        assert_eq!(
            (&got.display_name, got.kind, &got.file_type, &got.folder_path, &got.owner),
            (&listed.display_name, listed.kind, &listed.file_type, &listed.folder_path, &listed.owner),
            "{id}"
        );
        assert!(!got.content.is_empty() && got.current_version > 0, "{id}: {got:?}");
    }
    // A pipeline run's items are Data Studio objects: GetFile resolves them.
    let runs =
        h.gw.release()
            .list_release_packages(pb::ListReleasePackagesRequest {
                parent: h.ws.into(),
                page_size: 3,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .release_packages;
    for run in runs {
        let pkg =
            h.gw.release()
                .get_release_package(pb::GetReleasePackageRequest { name: run.name, view: 0 })
                .await
                .unwrap()
                .into_inner()
                .release_package
                .unwrap();
        for item in pkg.items {
            let got = get_file(&h, &item.file).await;
            assert_eq!((got.name, got.kind), (item.file, item.kind), "the item's kind is the file's");
        }
    }
}

/// An object's content comes from its FlowSpec, its versions from its
/// snapshots (newest first, the deployed one marked), each readable.
async fn reads_an_objects_content_and_versions(h: Harness) {
    let name = file_name(&h, objects::NODE);
    let f = get_file(&h, &name).await;
    assert_eq!(f.current_version, 3);
    assert!(f.content.contains("SELECT 3"), "{}", f.content);
    let r = h
        .gw
        .files()
        .list_file_versions(pb::ListFileVersionsRequest { parent: name.clone(), page_size: 2, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((r.total_size, r.file_versions.iter().map(|v| v.version).collect::<Vec<_>>()), (3, vec![3, 2]));
    let rest =
        h.gw.files()
            .list_file_versions(pb::ListFileVersionsRequest {
                parent: name.clone(),
                page_size: 2,
                page_token: r.next_page_token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
    assert_eq!((rest.file_versions.len(), rest.next_page_token.as_str()), (1, ""));
    let prod: Vec<i64> =
        r.file_versions.iter().chain(&rest.file_versions).filter(|v| v.is_current_prod).map(|v| v.version).collect();
    assert_eq!(prod, vec![2], "the deployed snapshot's version");
    for n in 1..=3 {
        let v =
            h.gw.files()
                .get_file_version(pb::GetFileVersionRequest { name: format!("{name}/versions/{n}"), view: 0 })
                .await
                .unwrap()
                .into_inner()
                .file_version
                .unwrap();
        assert_eq!(v.version, n);
        assert!(v.content.contains(&format!("SELECT {n}")), "{}", v.content);
    }
    let e =
        h.gw.files()
            .get_file_version(pb::GetFileVersionRequest { name: format!("{name}/versions/9"), view: 0 })
            .await
            .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    // Content handed out as a download link is not fetched: said so, clearly.
    let e =
        h.gw.files()
            .get_file_version(pb::GetFileVersionRequest {
                name: format!("{}/versions/1", file_name(&h, objects::URL_RESOURCE)),
                view: 0,
            })
            .await
            .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("ContentUrl") && !e.message().contains("Signature"), "{}", e.message());
    let e =
        h.gw.files()
            .get_file(pb::GetFileRequest { name: file_name(&h, "8604388726201139999"), view: 0 })
            .await
            .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    // An object id is an int64: anything else is refused, naming the field, before any vendor call.
    let before = (h.calls)();
    let e = h.gw.files().get_file(pb::GetFileRequest { name: file_name(&h, "node-1"), view: 0 }).await.unwrap_err();
    assert_eq!(
        (e.code(), common::violated_fields(&e), (h.calls)()),
        (Code::InvalidArgument, vec!["name".to_owned()], before)
    );
}

/// Two objects: two pipeline runs under one deployment, driven to
/// SUCCEEDED; a bad object anywhere creates no run.
async fn deploys_two_objects_to_succeeded_as_one_deployment(h: Harness) {
    let (stale, missing) =
        (format!("{}/versions/1", file_name(&h, objects::NODE)), file_name(&h, "8604388726201139999"));
    let e =
        h.gw.release()
            .deploy_files(pb::DeployFilesRequest {
                parent: h.ws.into(),
                files: vec![file_name(&h, objects::CYCLE_WORKFLOW), stale.clone(), missing.clone()],
                request_id: uuid::Uuid::new_v4().to_string(),
                ..Default::default()
            })
            .await
            .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    let unmet = common::unmet(&e);
    assert_eq!(
        unmet,
        vec![("VERSION_NOT_DEPLOYABLE".to_owned(), stale), ("FILE_NOT_FOUND".to_owned(), missing)],
        "every bad object named"
    );
    assert_eq!((h.deploys)(), 0, "no run created");
    let files = vec![format!("{}/versions/3", file_name(&h, objects::NODE)), file_name(&h, objects::CYCLE_WORKFLOW)];
    let d =
        h.gw.release()
            .deploy_files(pb::DeployFilesRequest {
                parent: h.ws.into(),
                files,
                request_id: uuid::Uuid::new_v4().to_string(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .deployments;
    assert_eq!(d.len(), 1, "one deployment");
    assert_eq!((h.deploys)(), 2, "one pipeline run per object");
    let mut s =
        h.gw.release()
            .watch_deployment(pb::WatchDeploymentRequest { name: d[0].name.clone(), view: 0 })
            .await
            .unwrap()
            .into_inner();
    let mut last = None;
    while let Some(m) = s.message().await.unwrap() {
        last = m.deployment;
    }
    assert_eq!(last.unwrap().state(), pb::DeploymentState::Succeeded);
    let got =
        h.gw.release()
            .get_deployment(pb::GetDeploymentRequest { name: d[0].name.clone(), view: pb::View::Full as i32 })
            .await
            .unwrap()
            .into_inner()
            .deployment
            .unwrap();
    assert_eq!(got.state(), pb::DeploymentState::Succeeded);
    assert!(got.vendor_record.is_some(), "the runs' records");
    let e =
        h.gw.release().cancel_deployment(pb::CancelDeploymentRequest { name: d[0].name.clone() }).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "an ended deployment is not cancelled: {e:?}");
    // Cancelling stops every run.
    let d =
        h.gw.release()
            .deploy_files(pb::DeployFilesRequest {
                parent: h.ws.into(),
                files: vec![file_name(&h, objects::RESOURCE), file_name(&h, objects::FUNCTION)],
                request_id: uuid::Uuid::new_v4().to_string(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .deployments;
    let c =
        h.gw.release()
            .cancel_deployment(pb::CancelDeploymentRequest { name: d[0].name.clone() })
            .await
            .unwrap()
            .into_inner()
            .deployment
            .unwrap();
    assert_eq!((c.name.as_str(), c.state()), (d[0].name.as_str(), pb::DeploymentState::Cancelled));
    // A deployment id that is not one is refused before any vendor call.
    let before = (h.calls)();
    let e =
        h.gw.release()
            .get_deployment(pb::GetDeploymentRequest { name: format!("{}/deployments/a.a", h.ws), view: 0 })
            .await
            .unwrap_err();
    assert_eq!((e.code(), (h.calls)()), (Code::InvalidArgument, before));
}

/// Every ListFiles filter the workspace declares is exercised: honoured
/// ones narrow the listing to what they say, rejected ones are refused
/// naming the field.
async fn every_declared_file_filter_is_exercised(h: Harness) {
    let ws = h.gw.workspaces().get_workspace(pb::GetWorkspaceRequest { name: h.ws.into() }).await.unwrap().into_inner();
    let caps = ws.workspace.unwrap().capabilities.unwrap();
    let base = pb::ListFilesRequest { parent: h.ws.into(), ..Default::default() };
    let (all, _) = all_files(&h, base.clone()).await.unwrap();
    let sample = all.iter().find(|f| f.name.ends_with(objects::NODE)).unwrap().clone();
    let other = all.iter().find(|f| f.name.ends_with(objects::FUNCTION)).unwrap().clone();
    let uid = |id: &str| Some(pb::UserRef { key: Some(pb::user_ref::Key::Id(id.into())) });
    let mut exercised = 0;
    for f in caps.filters.iter().filter(|f| f.field.starts_with("ListFilesRequest.")) {
        let field = f.field.trim_start_matches("ListFilesRequest.");
        type Check = Box<dyn Fn(&pb::File) -> bool>;
        let (req, check): (pb::ListFilesRequest, Check) = match field {
            "folder_path" => {
                let folder = sample.folder_path.clone();
                let r = pb::ListFilesRequest { folder_path: folder.clone(), ..base.clone() };
                (r, Box::new(move |x| x.folder_path.starts_with(&folder)))
            }
            "keyword" => {
                let k = sample.display_name[1..5].to_owned();
                (
                    pb::ListFilesRequest { keyword: k.clone(), ..base.clone() },
                    Box::new(move |x| x.display_name.contains(&k)),
                )
            }
            "exact_name" => {
                let n = sample.display_name.clone();
                (pb::ListFilesRequest { exact_name: n.clone(), ..base.clone() }, Box::new(move |x| x.display_name == n))
            }
            "use_type" => {
                (pb::ListFilesRequest { use_type: pb::UseType::Normal as i32, ..base.clone() }, Box::new(|_| true))
            }
            "file_types" => {
                let t = vec![sample.file_type.clone(), other.file_type.clone()];
                (
                    pb::ListFilesRequest { file_types: t.clone(), ..base.clone() },
                    Box::new(move |x| t.contains(&x.file_type)),
                )
            }
            "owner" => {
                let o = sample.owner.clone().unwrap().id;
                (
                    pb::ListFilesRequest { owner: uid(&o), ..base.clone() },
                    Box::new(move |x| x.owner.as_ref().is_some_and(|u| u.id == o)),
                )
            }
            "node_id" => (pb::ListFilesRequest { node_id: "700000000001".into(), ..base.clone() }, Box::new(|_| true)),
            "include_content" => {
                (pb::ListFilesRequest { include_content: true, ..base.clone() }, Box::new(|x| !x.content.is_empty()))
            }
            "include_folder_path" => (
                pb::ListFilesRequest { include_folder_path: true, ..base.clone() },
                Box::new(|x| !x.folder_path.is_empty()),
            ),
            "file_ids" => {
                let ids: Vec<String> =
                    [&sample, &other].iter().map(|f| f.name.rsplit_once('/').unwrap().1.to_owned()).collect();
                let names = [sample.name.clone(), other.name.clone()];
                (pb::ListFilesRequest { file_ids: ids, ..base.clone() }, Box::new(move |x| names.contains(&x.name)))
            }
            "last_editor" => {
                (pb::ListFilesRequest { last_editor: uid("2003000000000001"), ..base.clone() }, Box::new(|_| true))
            }
            "commit_status" => (
                pb::ListFilesRequest { commit_status: pb::CommitStatus::Committed as i32, ..base.clone() },
                Box::new(|_| true),
            ),
            other => panic!("no scenario exercises the declared filter {other}"),
        };
        match f.handling() {
            pb::FilterHandling::Rejected => {
                let e = h.gw.files().list_files(req).await.unwrap_err();
                assert_eq!(e.code(), Code::InvalidArgument, "{field}");
                assert!(common::violated_fields(&e).contains(&field.to_owned()), "{field}: {e:?}");
            }
            pb::FilterHandling::Vendor | pb::FilterHandling::Gateway => {
                let (got, _) = all_files(&h, req).await.unwrap_or_else(|e| panic!("{field}: {e:?}"));
                assert!(got.iter().any(|x| x.name == sample.name), "{field}: the sample passes");
                assert!(got.iter().all(&check), "{field}: every file passes");
                assert!(field.starts_with("include_") || got.len() < all.len(), "{field}: the filter narrows");
            }
            pb::FilterHandling::Unspecified => panic!("{field}: handling unspecified"),
        }
        exercised += 1;
    }
    assert_eq!(exercised, 12);
}
