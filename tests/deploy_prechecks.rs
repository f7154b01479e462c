//! DeployFiles is all or nothing before the first vendor write: every item
//! is checked first, and every item that cannot be deployed is named in
//! one FAILED_PRECONDITION (`PreconditionFailure`), through the real server
//! against the DataWorks and DataArts emulators.

mod common;
#[path = "common/huawei.rs"]
mod hw;

use common::alibaba::{self, WS};
use datastudio_gateway::{
    emulator::{
        alibaba::{UNCOMMITTED_FILE, objects},
        huawei::PENDING_JOB,
    },
    pb,
};
use tonic::{Code, Status};

/// DeployFiles of `files` on the DataWorks workspace.
async fn deploy(env: &alibaba::AliEnv, files: Vec<String>) -> Result<Vec<pb::Deployment>, Status> {
    let req = pb::DeployFilesRequest {
        parent: WS.into(),
        files,
        request_id: uuid::Uuid::new_v4().to_string(),
        ..Default::default()
    };
    env.gw.release().deploy_files(req).await.map(|r| r.into_inner().deployments)
}

/// The code, reason and (type, subject) violations of a refusal.
fn refusal(e: &Status) -> (Code, String, Vec<(String, String)>) {
    (e.code(), common::error_info(e).map(|i| i.reason).unwrap_or_default(), common::unmet(e))
}

fn unmet(kind: &str, subject: &str) -> (String, String) {
    (kind.to_owned(), subject.to_owned())
}

const REFUSED: &str = "DEPLOY_PRECONDITION_FAILED";

#[tokio::test]
async fn legacy_a_never_committed_second_file_deploys_nothing() {
    let env = alibaba::start().await;
    let draft = format!("{WS}/files/{UNCOMMITTED_FILE}");
    let e = deploy(&env, vec![format!("{WS}/files/100002"), draft.clone()]).await.unwrap_err();
    assert_eq!(refusal(&e), (Code::FailedPrecondition, REFUSED.into(), vec![unmet("FILE_NOT_COMMITTED", &draft)]));
    assert!(e.message().contains("files[1]"), "{}", e.message());
    assert_eq!(env.emu.control.count("DeployFile"), 0, "nothing deployed");
    assert_eq!(env.emu.control.count("ListFiles"), 1, "one ListFiles checks both");
    assert_eq!(env.emu.control.requests().len(), 1);
}

#[tokio::test]
async fn legacy_every_bad_file_is_named_together() {
    let env = alibaba::start().await;
    let (stale, missing, draft) = (
        format!("{WS}/files/100002/versions/99"),
        format!("{WS}/files/999999"),
        format!("{WS}/files/{UNCOMMITTED_FILE}"),
    );
    let files = vec![stale.clone(), format!("{WS}/files/100003"), missing.clone(), draft.clone()];
    let e = deploy(&env, files).await.unwrap_err();
    let want = vec![
        unmet("VERSION_NOT_DEPLOYABLE", &stale),
        unmet("FILE_NOT_FOUND", &missing),
        unmet("FILE_NOT_COMMITTED", &draft),
    ];
    assert_eq!(refusal(&e), (Code::FailedPrecondition, REFUSED.into(), want));
    assert_eq!(env.emu.control.count("DeployFile"), 0);
}

#[tokio::test]
async fn legacy_checks_thirty_files_in_one_call_and_sixty_in_two() {
    let env = alibaba::start().await;
    let names = |n: i64| (0..n).map(|i| format!("{WS}/files/{}", 100_100 + i)).collect::<Vec<_>>();
    let mut thirty = names(30);
    thirty.push(format!("{WS}/files/{UNCOMMITTED_FILE}"));
    let e = deploy(&env, thirty).await.unwrap_err();
    assert_eq!(common::unmet(&e).len(), 1);
    assert_eq!(env.emu.control.count("ListFiles"), 1, "31 ids: one FileIdIn call");
    let e = deploy(&env, [names(60), vec![format!("{WS}/files/999999")]].concat()).await.unwrap_err();
    assert_eq!(common::unmet(&e), vec![unmet("FILE_NOT_FOUND", &format!("{WS}/files/999999"))]);
    assert_eq!(env.emu.control.count("ListFiles"), 3, "61 ids: two more calls of at most 50");
    assert_eq!(env.emu.control.count("GetFile"), 0);
    assert_eq!(env.emu.control.count("DeployFile"), 0);
}

#[tokio::test]
async fn legacy_a_pinned_latest_version_deploys() {
    let env = alibaba::start().await;
    let f = env
        .gw
        .files()
        .get_file(pb::GetFileRequest { name: format!("{WS}/files/100004"), view: 0 })
        .await
        .unwrap()
        .into_inner()
        .file
        .unwrap();
    let d = deploy(&env, vec![format!("{WS}/files/100004/versions/{}", f.current_version)]).await.unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!((env.emu.control.count("ListFiles"), env.emu.control.count("DeployFile")), (1, 1));
}

#[tokio::test]
async fn pipeline_a_legacy_file_or_a_stale_version_creates_no_run() {
    let env = alibaba::start_with("pipeline", "demo-sk").await;
    // Pipeline files are Data Studio objects: a legacy FileId is none.
    let legacy = format!("{WS}/files/100003");
    let stale = format!("{WS}/files/{}/versions/1", objects::OTHER_NODE);
    let e =
        deploy(&env, vec![format!("{WS}/files/{}", objects::NODE), legacy.clone(), stale.clone()]).await.unwrap_err();
    let want = vec![unmet("FILE_NOT_FOUND", &legacy), unmet("VERSION_NOT_DEPLOYABLE", &stale)];
    assert_eq!(refusal(&e), (Code::FailedPrecondition, REFUSED.into(), want));
    assert_eq!(env.emu.control.count("CreatePipelineRun"), 0);
    assert_eq!(env.emu.control.count("ExecPipelineRunStage"), 0);
}

#[tokio::test]
async fn dataarts_every_file_without_a_pending_item_is_named_and_nothing_is_packaged() {
    let h = hw::start().await;
    let (job, a, b) = (
        hw::name("files", format!("job:{PENDING_JOB}")),
        hw::name("files", "script:no-such-script"),
        hw::name("files", "job:no-such-job"),
    );
    let req = pb::DeployFilesRequest {
        parent: hw::WS.into(),
        files: vec![job, a.clone(), b.clone()],
        request_id: uuid::Uuid::new_v4().to_string(),
        ..Default::default()
    };
    let e = h.gw.release().deploy_files(req).await.unwrap_err();
    let want = vec![unmet("FILE_NOT_PENDING", &a), unmet("FILE_NOT_PENDING", &b)];
    assert_eq!(refusal(&e), (Code::FailedPrecondition, REFUSED.into(), want));
    assert_eq!((h.count("pending-items.package"), h.count("release-packages.deploy")), (0, 0));
}

#[tokio::test]
async fn pipeline_every_started_run_is_named_before_any_stage_starts() {
    let env = alibaba::start_with("pipeline", "demo-sk").await;
    let runs = env
        .gw
        .release()
        .list_release_packages(pb::ListReleasePackagesRequest { parent: WS.into(), page_size: 3, ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .release_packages;
    // The newest run was never started (READY): with two started ones, the
    // deploy is refused as a whole, naming each started run.
    assert_eq!(runs[0].state(), pb::ReleasePackageState::Ready);
    let started: Vec<String> = runs[1..].iter().map(|r| r.name.clone()).collect();
    let names: Vec<String> = runs.into_iter().map(|r| r.name).collect();
    let req = pb::DeployReleasePackagesRequest {
        parent: WS.into(),
        release_packages: names.clone(),
        request_id: uuid::Uuid::new_v4().to_string(),
        ..Default::default()
    };
    let e = env.gw.release().deploy_release_packages(req).await.unwrap_err();
    let want = started.iter().map(|n| unmet("PACKAGE_ALREADY_DEPLOYED", n)).collect();
    assert_eq!(refusal(&e), (Code::FailedPrecondition, REFUSED.into(), want));
    assert_eq!(env.emu.control.count("ExecPipelineRunStage"), 0, "not even the READY run is started");
}
