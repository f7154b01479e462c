//! ReleaseService on a DataArts workspace, through the real gRPC server
//! against the DataArts emulator.

mod common;
#[path = "common/huawei.rs"]
mod hw;

use std::collections::HashSet;

use datastudio_gateway::{
    cli::Listen,
    config::Config,
    emulator::huawei::{
        self, ADMIN, APPLICANTS, DEPLOYABLE_PACKAGE_ID, DEPLOYERS, FAILING_PACKAGE_ID, PACKAGE_COUNT, PENDING_JOB,
        VERSIONED_SCRIPT, VIEWER,
    },
    pb,
};
use prost_types::Timestamp;
use tonic::Code;

const UUID: &str = "6f1d2c1e-4b8a-4a57-9a43-0d7c3b2a1e90";

fn list(f: impl FnOnce(&mut pb::ListReleasePackagesRequest)) -> pb::ListReleasePackagesRequest {
    let mut r = pb::ListReleasePackagesRequest { parent: hw::WS.into(), page_size: 100, ..Default::default() };
    f(&mut r);
    r
}

/// Every package matching `req`, following page tokens.
async fn all(h: &hw::Hw, mut req: pb::ListReleasePackagesRequest) -> (Vec<pb::ReleasePackage>, i32, usize) {
    let mut out = Vec::new();
    let mut pages = 0;
    let mut total = -1;
    loop {
        let r = h.gw.release().list_release_packages(req.clone()).await.expect("list").into_inner();
        pages += 1;
        if total >= 0 {
            assert_eq!(r.total_size, total, "total_size is stable across pages");
        }
        total = r.total_size;
        out.extend(r.release_packages);
        if r.next_page_token.is_empty() {
            return (out, total, pages);
        }
        req.page_token = r.next_page_token;
        assert!(pages < 500, "paging does not end");
    }
}

fn ms(t: &Option<Timestamp>) -> i64 {
    t.as_ref().map(|t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000).unwrap_or_default()
}

#[tokio::test]
async fn packages_page_without_gaps_or_duplicates_and_with_a_correct_total() {
    let h = hw::start().await;
    for size in [7, 50] {
        let (pkgs, total, pages) = all(&h, list(|r| r.page_size = size)).await;
        assert_eq!(total as u64, PACKAGE_COUNT);
        assert_eq!(pkgs.len() as u64, PACKAGE_COUNT, "page size {size}");
        assert!(pages >= 5, "page size {size}: {pages} pages");
        let names: HashSet<_> = pkgs.iter().map(|p| p.name.clone()).collect();
        assert_eq!(names.len(), pkgs.len(), "no duplicates");
        assert!(pkgs.windows(2).all(|w| ms(&w[0].create_time) >= ms(&w[1].create_time)), "newest first");
        assert!(pkgs.iter().all(|p| p.vendor() == pb::Vendor::HuaweiDataarts && p.vendor_record.is_none()));
    }
    let requests = h.emu.control.requests();
    assert_eq!(requests[0].action, "workspace-users.list", "approvers are resolved at start-up");
    assert!(requests[1..].iter().all(|r| r.action == "release-packages.list" && r.status == 200));
}

#[tokio::test]
async fn every_package_filter_changes_the_result() {
    let h = hw::start().await;
    let (base, base_total, _) = all(&h, list(|_| {})).await;
    assert_eq!(base_total as u64, PACKAGE_COUNT);

    let (k, total, _) = all(&h, list(|r| r.keyword = "finance".into())).await;
    assert!(!k.is_empty() && k.len() < base.len() && total as usize == k.len());
    assert!(k.iter().all(|p| p.display_name.contains("finance")));

    let (s, _, _) = all(&h, list(|r| r.states = vec![pb::ReleasePackageState::Failed as i32])).await;
    assert!(!s.is_empty() && s.len() < base.len());
    assert!(s.iter().all(|p| p.state() == pb::ReleasePackageState::Failed));
    let (s2, _, _) = all(
        &h,
        list(|r| {
            r.states = vec![pb::ReleasePackageState::Failed as i32, pb::ReleasePackageState::PendingApproval as i32]
        }),
    )
    .await;
    assert!(s2.len() > s.len() && s2.len() < base.len());

    let before = h.calls();
    let (none, total, _) = all(&h, list(|r| r.states = vec![pb::ReleasePackageState::Rejected as i32])).await;
    assert!(none.is_empty() && total == 0);
    assert_eq!(h.calls(), before, "a state DataArts never reports needs no vendor call");

    let by_name = |n: &str| pb::UserRef { key: Some(pb::user_ref::Key::DisplayName(n.into())) };
    let by_id = |n: &str| pb::UserRef { key: Some(pb::user_ref::Key::Id(n.into())) };
    let (c, _, _) = all(&h, list(|r| r.creators = vec![by_name("alice")])).await;
    assert!(!c.is_empty() && c.len() < base.len());
    assert!(c.iter().all(|p| p.creator.as_ref().unwrap().display_name == "alice"));
    let bob = APPLICANTS[1].0;
    let (ci, total, _) = all(&h, list(|r| r.creators = vec![by_id(bob)])).await;
    assert!(!ci.is_empty() && ci.len() < base.len());
    assert!(ci.iter().all(|p| p.creator.as_ref().unwrap().id == bob));
    assert!(total as usize >= ci.len(), "total is an upper bound when the gateway filters");
    let (mixed, _, _) = all(&h, list(|r| r.creators = vec![by_name("alice"), by_id(bob)])).await;
    assert_eq!(mixed.len(), c.len() + ci.len(), "a union of both keys");

    let (e, _, _) = all(&h, list(|r| r.executors = vec![by_name(DEPLOYERS[0].1)])).await;
    assert!(!e.is_empty() && e.len() < base.len());
    assert!(e.iter().all(|p| p.executor.as_ref().unwrap().display_name == DEPLOYERS[0].1));
    let (ei, _, _) = all(&h, list(|r| r.executors = vec![by_id(DEPLOYERS[1].0)])).await;
    assert!(!ei.is_empty() && ei.iter().all(|p| p.executor.as_ref().unwrap().id == DEPLOYERS[1].0));

    let mid = ms(&base[base.len() / 2].create_time);
    let range = |s: i64, e: i64| {
        Some(pb::TimeRange {
            start_time: Some(Timestamp { seconds: s / 1000, nanos: 0 }),
            end_time: Some(Timestamp { seconds: e / 1000, nanos: 0 }),
        })
    };
    let (ct, _, _) = all(&h, list(|r| r.create_time = range(mid, mid + 30 * 86_400_000))).await;
    assert!(!ct.is_empty() && ct.len() < base.len());
    assert!(ct.iter().all(|p| (mid / 1000 * 1000..=mid + 30 * 86_400_000).contains(&ms(&p.create_time))));
    let (et, _, _) = all(&h, list(|r| r.execute_time = range(mid, mid + 30 * 86_400_000))).await;
    assert!(!et.is_empty() && et.len() < base.len());
    assert!(et.iter().all(|p| p.execute_time.is_some()));

    let (asc, _, _) = all(&h, list(|r| r.order_by = "create_time".into())).await;
    assert_eq!(asc.first().map(|p| p.name.clone()), base.last().map(|p| p.name.clone()));
    assert!(asc.windows(2).all(|w| ms(&w[0].create_time) <= ms(&w[1].create_time)));
    let (ex, _, _) = all(&h, list(|r| r.order_by = "execute_time desc".into())).await;
    assert!(ex.windows(2).all(|w| ms(&w[0].execute_time) >= ms(&w[1].execute_time)));
    assert_ne!(ex.iter().map(|p| &p.name).collect::<Vec<_>>(), base.iter().map(|p| &p.name).collect::<Vec<_>>());
}

#[tokio::test]
async fn get_release_package_with_items_and_raw_record() {
    let h = hw::start().await;
    let id = DEPLOYABLE_PACKAGE_ID;
    let p =
        h.gw.release()
            .get_release_package(pb::GetReleasePackageRequest {
                name: hw::name("releasePackages", id),
                view: pb::View::Full as i32,
            })
            .await
            .expect("get")
            .into_inner()
            .release_package
            .unwrap();
    assert_eq!(p.name, hw::name("releasePackages", id));
    assert_eq!(p.state(), pb::ReleasePackageState::PendingApproval);
    assert_eq!(p.target_environment(), pb::Environment::Production);
    assert!(!p.items.is_empty() && !p.approvers.is_empty());
    for item in &p.items {
        let (prefix, kind) = match item.kind() {
            pb::FileKind::Script => ("script:", "script"),
            pb::FileKind::Job => ("job:", "job"),
            other => panic!("unexpected kind {other:?}"),
        };
        assert_eq!(item.file, hw::name("files", format!("{prefix}{}", item.file_display_name)), "{kind}");
        assert!(item.version >= 1 && item.submitter.is_some() && item.submit_time.is_some());
    }
    let rec = p.vendor_record.expect("VIEW_FULL");
    assert!(rec.fields.contains_key("task_details") && rec.fields.contains_key("release_package"));

    let e =
        h.gw.release()
            .get_release_package(pb::GetReleasePackageRequest { name: hw::name("releasePackages", 99_999), view: 0 })
            .await
            .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    assert_eq!(hw::meta(&e, "vendor_code"), "DLF.0810");
    assert!(!hw::meta(&e, "vendor_request_id").is_empty());

    let before = h.calls();
    let e =
        h.gw.release()
            .get_release_package(pb::GetReleasePackageRequest { name: hw::name("releasePackages", "abc"), view: 0 })
            .await
            .unwrap_err();
    assert_eq!((e.code(), common::violated_fields(&e)), (Code::InvalidArgument, vec!["name".to_owned()]));
    assert_eq!(h.calls(), before);
}

#[tokio::test]
async fn deploy_runs_then_succeeds_and_get_deployment_follows_it() {
    let h = hw::start().await;
    let pkg = hw::name("releasePackages", DEPLOYABLE_PACKAGE_ID);
    let r =
        h.gw.release()
            .deploy_release_packages(pb::DeployReleasePackagesRequest {
                parent: hw::WS.into(),
                release_packages: vec![pkg.clone()],
                startup_mode: pb::StartupMode::DeployOnly as i32,
                request_id: UUID.into(),
            })
            .await
            .expect("deploy")
            .into_inner();
    assert_eq!(r.deployments.len(), 1);
    let d = &r.deployments[0];
    let task = d.vendor_task_id.clone();
    assert_eq!(d.name, hw::name("deployments", format!("{DEPLOYABLE_PACKAGE_ID}-{task}")));
    assert_eq!(
        (d.state(), d.release_package.as_str(), d.request_id.as_str()),
        (pb::DeploymentState::Running, pkg.as_str(), UUID)
    );
    assert!(d.vendor_subtask_count >= 1);

    let get = |name: String| {
        let mut c = h.gw.release();
        async move {
            c.get_deployment(pb::GetDeploymentRequest { name, view: 0 })
                .await
                .expect("get deployment")
                .into_inner()
                .deployment
                .unwrap()
        }
    };
    assert_eq!(get(d.name.clone()).await.state(), pb::DeploymentState::Running);
    tokio::time::sleep(hw::DEPLOY_STEP * 2).await;
    let done = get(d.name.clone()).await;
    assert_eq!(done.state(), pb::DeploymentState::Succeeded);
    assert!(!done.files.is_empty() && done.error_message.is_empty());
    let p =
        h.gw.release()
            .get_release_package(pb::GetReleasePackageRequest { name: pkg.clone(), view: 0 })
            .await
            .unwrap()
            .into_inner()
            .release_package
            .unwrap();
    assert_eq!(p.state(), pb::ReleasePackageState::Succeeded);
    assert_eq!(p.executor.unwrap().display_name, "dsgw-deployer");
    assert!(p.items.iter().all(|i| i.job_start_state() == pb::JobStartState::Unspecified), "DEPLOY_ONLY starts no job");

    // Deployed already: the vendor refuses a second release.
    let e =
        h.gw.release()
            .deploy_release_packages(pb::DeployReleasePackagesRequest {
                parent: hw::WS.into(),
                release_packages: vec![pkg],
                startup_mode: 0,
                request_id: uuid::Uuid::new_v4().to_string(),
            })
            .await
            .unwrap_err();
    assert_eq!((e.code(), hw::meta(&e, "vendor_code").as_str()), (Code::FailedPrecondition, "DLF.3100"));

    let e =
        h.gw.release()
            .get_deployment(pb::GetDeploymentRequest { name: hw::name("deployments", "not-a-deployment"), view: 0 })
            .await
            .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn a_failing_package_ends_failed_with_a_reason_and_watch_ends_there() {
    let h = hw::start().await;
    let pkg = hw::name("releasePackages", FAILING_PACKAGE_ID);
    let d =
        h.gw.release()
            .deploy_release_packages(pb::DeployReleasePackagesRequest {
                parent: hw::WS.into(),
                release_packages: vec![pkg.clone()],
                startup_mode: pb::StartupMode::Unspecified as i32,
                request_id: uuid::Uuid::new_v4().to_string(),
            })
            .await
            .expect("deploy")
            .into_inner()
            .deployments
            .remove(0);
    let mut stream =
        h.gw.release()
            .watch_deployment(pb::WatchDeploymentRequest { name: d.name.clone(), view: pb::View::Full as i32 })
            .await
            .expect("watch")
            .into_inner();
    let mut states = Vec::new();
    let mut last = None;
    while let Some(m) = stream.message().await.expect("stream") {
        let dep = m.deployment.unwrap();
        states.push(dep.state());
        last = Some(dep);
    }
    assert_eq!(states.first(), Some(&pb::DeploymentState::Running));
    assert_eq!(states.last(), Some(&pb::DeploymentState::Failed));
    let last = last.unwrap();
    assert!(last.error_message.contains("failed"), "{}", last.error_message);
    assert!(last.vendor_record.is_some());
    assert!(h.count("system-tasks.show") >= 1, "the failure reason comes from the system task");

    let p =
        h.gw.release()
            .get_release_package(pb::GetReleasePackageRequest { name: pkg, view: 0 })
            .await
            .unwrap()
            .into_inner()
            .release_package
            .unwrap();
    assert_eq!(p.state(), pb::ReleasePackageState::Failed);
    assert!(!p.error_message.is_empty());
    let first = &p.items[0];
    assert_eq!((first.state(), first.kind()), (pb::ReleasePackageState::Failed, pb::FileKind::Job));
    assert_eq!(
        first.job_start_state(),
        pb::JobStartState::Unspecified,
        "UNSPECIFIED startup mode sends startup_mode 0: jobs start only when asked"
    );
}

#[tokio::test]
async fn deploy_input_the_vendor_cannot_take_is_refused_before_any_call() {
    let h = hw::start().await;
    let before = h.calls();
    let e =
        h.gw.release()
            .deploy_release_packages(pb::DeployReleasePackagesRequest {
                parent: hw::WS.into(),
                release_packages: vec![hw::name("releasePackages", 12), hw::name("releasePackages", "pkg-x")],
                startup_mode: 0,
                request_id: uuid::Uuid::new_v4().to_string(),
            })
            .await
            .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(common::violated_fields(&e), vec!["release_packages[1]".to_owned()]);
    assert_eq!(h.calls(), before, "no vendor call");

    let e =
        h.gw.release()
            .deploy_files(pb::DeployFilesRequest {
                parent: hw::WS.into(),
                files: vec![hw::name("files", "1234")],
                request_id: uuid::Uuid::new_v4().to_string(),
                ..Default::default()
            })
            .await
            .unwrap_err();
    assert_eq!((e.code(), common::violated_fields(&e)), (Code::InvalidArgument, vec!["files[0]".to_owned()]));
    assert_eq!(h.calls(), before, "no vendor call");

    let e =
        h.gw.release()
            .deploy_release_packages(pb::DeployReleasePackagesRequest {
                parent: hw::WS.into(),
                release_packages: vec![hw::name("releasePackages", 99_999)],
                startup_mode: 0,
                request_id: uuid::Uuid::new_v4().to_string(),
            })
            .await
            .unwrap_err();
    assert_eq!((e.code(), hw::meta(&e, "vendor_code").as_str()), (Code::NotFound, "DLF.0810"));
}

#[tokio::test]
async fn deploy_files_packages_pending_items_and_deploys_them() {
    let h = hw::start().await;
    let script = hw::name("files", format!("script:{VERSIONED_SCRIPT}"));
    let job = hw::name("files", format!("job:{PENDING_JOB}"));
    let deploy = |files: Vec<String>, mode: pb::StartupMode| {
        let mut c = h.gw.release();
        async move {
            c.deploy_files(pb::DeployFilesRequest {
                parent: hw::WS.into(),
                files,
                comment: "release etl".into(),
                startup_mode: mode as i32,
                request_id: uuid::Uuid::new_v4().to_string(),
            })
            .await
        }
    };
    let e = deploy(vec![format!("{script}/versions/4")], pb::StartupMode::DeployAndStart).await.unwrap_err();
    assert_eq!((e.code(), hw::reason(&e).as_str()), (Code::FailedPrecondition, "DEPLOY_PRECONDITION_FAILED"));
    assert_eq!(common::unmet(&e), vec![("VERSION_NOT_PENDING".to_owned(), format!("{script}/versions/4"))]);

    let d = deploy(vec![format!("{script}/versions/5"), job.clone()], pb::StartupMode::DeployAndStart)
        .await
        .expect("deploy files")
        .into_inner()
        .deployments;
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].files, vec![script.clone(), job.clone()]);
    assert_eq!(d[0].state(), pb::DeploymentState::Running);
    assert_eq!((h.count("pending-items.package"), h.count("release-packages.deploy")), (1, 1));

    assert_eq!(h.count("workspace-users.list"), 1, "approvers were resolved once, at start-up");
    let p =
        h.gw.release()
            .get_release_package(pb::GetReleasePackageRequest { name: d[0].release_package.clone(), view: 0 })
            .await
            .unwrap()
            .into_inner()
            .release_package
            .unwrap();
    assert_eq!(p.display_name, "release etl");
    let approvers: Vec<(&str, &str)> = p.approvers.iter().map(|u| (u.id.as_str(), u.display_name.as_str())).collect();
    assert_eq!(approvers, vec![DEPLOYERS[0]], "approver_ids from the `approvers` setting");
    assert_eq!(p.items.len(), 2);
    assert_eq!(p.items[0].version, 5);

    tokio::time::sleep(hw::DEPLOY_STEP * 2).await;
    let done =
        h.gw.release()
            .get_deployment(pb::GetDeploymentRequest { name: d[0].name.clone(), view: 0 })
            .await
            .unwrap()
            .into_inner()
            .deployment
            .unwrap();
    assert_eq!(done.state(), pb::DeploymentState::Succeeded);
    let p =
        h.gw.release()
            .get_release_package(pb::GetReleasePackageRequest { name: d[0].release_package.clone(), view: 0 })
            .await
            .unwrap()
            .into_inner()
            .release_package
            .unwrap();
    let job_item = p.items.iter().find(|i| i.kind() == pb::FileKind::Job).unwrap();
    assert_eq!(job_item.job_start_state(), pb::JobStartState::Succeeded, "DEPLOY_AND_START starts the job");

    let v =
        h.gw.files()
            .get_file_version(pb::GetFileVersionRequest { name: format!("{script}/versions/5"), view: 0 })
            .await
            .unwrap()
            .into_inner()
            .file_version
            .unwrap();
    assert!(v.is_current_prod, "version 5 is in production now");

    let e = deploy(vec![script.clone()], pb::StartupMode::DeployOnly).await.unwrap_err();
    assert_eq!((e.code(), hw::reason(&e).as_str()), (Code::FailedPrecondition, "DEPLOY_PRECONDITION_FAILED"));
    assert_eq!(common::unmet(&e), vec![("FILE_NOT_PENDING".to_owned(), script)]);
}

#[tokio::test]
async fn start_up_names_every_approver_that_cannot_approve() {
    datastudio_gateway::install_crypto_provider();
    let emu = huawei::start(hw::options()).await.expect("emulator");
    let dir = common::secrets_dir(&[("hw_ak", hw::AK), ("hw_sk", hw::SK)]);
    let approvers = [APPLICANTS[0].1, "nobody", ADMIN.0, VIEWER.1, DEPLOYERS[1].1];
    let cfg = Config::from_yaml(&hw::yaml(dir.path(), &emu.url(), hw::Creds::Keys(hw::SK), &approvers)).unwrap();
    assert!(datastudio_gateway::config::check(&cfg).is_empty(), "the shape is fine: only the vendor can tell");
    let Err(e) = datastudio_gateway::gateway::start(&cfg, &Listen { grpc_listen: None, admin_listen: None }).await
    else {
        panic!("the gateway started with approvers that cannot approve");
    };
    let msg = e.to_string();
    for bad in [
        format!("approvers[0] \"{}\"", APPLICANTS[0].1),
        "approvers[1] \"nobody\"".into(),
        format!("approvers[3] \"{}\"", VIEWER.1),
    ] {
        assert!(msg.contains(&bad), "{bad} in {msg}");
    }
    assert!(!msg.contains("approvers[2]") && !msg.contains("approvers[4]"), "admin and deployer qualify: {msg}");
    assert!(msg.contains("workspace da-test") && msg.contains("admin or deployer"), "{msg}");
    assert_eq!(emu.control.count("workspace-users.list"), 1);
}

#[tokio::test]
async fn without_approvers_deploy_files_is_unavailable_and_says_which_setting_enables_it() {
    let h = hw::start_with(hw::options(), hw::Creds::Keys(hw::SK)).await;
    let ws =
        h.gw.workspaces().get_workspace(pb::GetWorkspaceRequest { name: hw::WS.into() }).await.unwrap().into_inner();
    let caps = ws.workspace.unwrap().capabilities.unwrap();
    let op = caps.operations.iter().find(|o| o.method.ends_with("/DeployFiles")).unwrap();
    assert!(!op.supported && op.note.contains("`approvers`"), "{op:?}");
    let deploy_packages = caps.operations.iter().find(|o| o.method.ends_with("/DeployReleasePackages")).unwrap();
    assert!(deploy_packages.supported, "deploying existing packages needs no approvers");
    let e =
        h.gw.release()
            .deploy_files(pb::DeployFilesRequest {
                parent: hw::WS.into(),
                files: vec![hw::name("files", format!("job:{PENDING_JOB}"))],
                request_id: uuid::Uuid::new_v4().to_string(),
                ..Default::default()
            })
            .await
            .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("`approvers`"), "{}", e.message());
    assert_eq!(h.calls(), 0, "no vendor call, at start-up or since");
}
