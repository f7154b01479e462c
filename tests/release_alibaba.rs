//! ReleaseService on a DataWorks workspace, through the real server against
//! the DataWorks emulator.

mod common;

use std::collections::HashSet;

use common::alibaba::{self, WS};
use datastudio_gateway::pb;
use prost_types::Timestamp;
use tonic::Code;

const UUID: &str = "0b1c2d3e-4f50-4617-8899-aabbccddeeff";

async fn list(env: &alibaba::AliEnv, f: impl FnOnce(&mut pb::ListReleasePackagesRequest)) -> Vec<pb::ReleasePackage> {
    let mut r = pb::ListReleasePackagesRequest { parent: WS.into(), page_size: 100, ..Default::default() };
    f(&mut r);
    let mut all = Vec::new();
    loop {
        let resp = env.gw.release().list_release_packages(r.clone()).await.expect("list").into_inner();
        all.extend(resp.release_packages);
        if resp.next_page_token.is_empty() {
            return all;
        }
        r.page_token = resp.next_page_token;
    }
}

fn ms(p: &pb::ReleasePackage, t: fn(&pb::ReleasePackage) -> Option<Timestamp>) -> i64 {
    t(p).map(|t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000).unwrap_or(0)
}

#[tokio::test]
async fn paging_covers_every_package_once_with_a_correct_total() {
    let env = alibaba::start().await;
    let mut seen = HashSet::new();
    let mut token = String::new();
    let mut pages = 0;
    let total;
    loop {
        let r = env
            .gw
            .release()
            .list_release_packages(pb::ListReleasePackagesRequest {
                parent: WS.into(),
                page_size: 45,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        for p in &r.release_packages {
            assert!(seen.insert(p.name.clone()), "duplicate {}", p.name);
            assert_eq!(p.vendor(), pb::Vendor::AlibabaDataworks);
        }
        if r.next_page_token.is_empty() {
            total = r.total_size;
            break;
        }
        token = r.next_page_token;
    }
    assert!(pages >= 5, "{pages} pages");
    assert_eq!(seen.len() as i32, total);
    assert_eq!(total, 240);
    // Every list call was one vendor call: page sizes line up with PageNumber.
    assert_eq!(env.emu.control.count("ListDeploymentPackages"), pages);
}

#[tokio::test]
async fn changing_page_size_between_pages_neither_skips_nor_repeats() {
    let env = alibaba::start().await;
    let first = env
        .gw
        .release()
        .list_release_packages(pb::ListReleasePackagesRequest { parent: WS.into(), page_size: 7, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let second = env
        .gw
        .release()
        .list_release_packages(pb::ListReleasePackagesRequest {
            parent: WS.into(),
            page_size: 10,
            page_token: first.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let all = list(&env, |r| r.page_size = 17).await;
    let names: Vec<_> = first.release_packages.iter().chain(&second.release_packages).map(|p| p.name.clone()).collect();
    let expect: Vec<_> = all.iter().take(17).map(|p| p.name.clone()).collect();
    assert_eq!(names, expect);
}

#[tokio::test]
async fn every_package_filter_changes_the_result() {
    let env = alibaba::start().await;
    let all = list(&env, |_| {}).await;
    assert_eq!(all.len(), 240);
    let subset = |got: &[pb::ReleasePackage], pred: &dyn Fn(&pb::ReleasePackage) -> bool, what: &str| {
        assert!(!got.is_empty() && got.len() < all.len(), "{what}: {} of {}", got.len(), all.len());
        let expect: Vec<_> = all.iter().filter(|p| pred(p)).map(|p| &p.name).collect();
        let names: Vec<_> = got.iter().map(|p| &p.name).collect();
        assert_eq!(names, expect, "{what}");
    };
    let got = list(&env, |r| r.keyword = "hotfix".into()).await;
    subset(&got, &|p| p.display_name.contains("hotfix"), "keyword");
    let got = list(&env, |r| r.states = vec![pb::ReleasePackageState::Failed as i32]).await;
    subset(&got, &|p| p.state() == pb::ReleasePackageState::Failed, "one state (vendor)");
    let got = list(&env, |r| {
        r.states = vec![pb::ReleasePackageState::Failed as i32, pb::ReleasePackageState::Rejected as i32]
    })
    .await;
    subset(
        &got,
        &|p| matches!(p.state(), pb::ReleasePackageState::Failed | pb::ReleasePackageState::Rejected),
        "two states (gateway)",
    );
    let uid = all[0].creator.clone().unwrap().id;
    let got = list(&env, |r| r.creators = vec![pb::UserRef { key: Some(pb::user_ref::Key::Id(uid.clone())) }]).await;
    subset(&got, &|p| p.creator.as_ref().unwrap().id == uid, "creator");
    let ex = all[0].executor.clone().unwrap().id;
    let got = list(&env, |r| r.executors = vec![pb::UserRef { key: Some(pb::user_ref::Key::Id(ex.clone())) }]).await;
    subset(&got, &|p| p.executor.as_ref().is_some_and(|u| u.id == ex), "executor");
    let mid = ms(&all[120], |p| p.create_time);
    let got = list(&env, |r| {
        r.create_time =
            Some(pb::TimeRange { start_time: None, end_time: Some(Timestamp { seconds: mid / 1000, nanos: 0 }) })
    })
    .await;
    subset(&got, &|p| ms(p, |p| p.create_time) <= mid, "create_time end (vendor)");
    let got = list(&env, |r| {
        r.create_time =
            Some(pb::TimeRange { start_time: Some(Timestamp { seconds: mid / 1000, nanos: 0 }), end_time: None })
    })
    .await;
    subset(&got, &|p| ms(p, |p| p.create_time) >= mid, "create_time start (gateway)");
    let got = list(&env, |r| {
        r.execute_time =
            Some(pb::TimeRange { start_time: None, end_time: Some(Timestamp { seconds: mid / 1000, nanos: 0 }) })
    })
    .await;
    subset(&got, &|p| p.execute_time.is_some() && ms(p, |p| p.execute_time) <= mid, "execute_time end (vendor)");
}

#[tokio::test]
async fn filters_the_vendor_lacks_are_rejected_or_refused_by_name() {
    let env = alibaba::start().await;
    let e = env
        .gw
        .release()
        .list_release_packages(pb::ListReleasePackagesRequest {
            parent: WS.into(),
            order_by: "execute_time".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(common::violated_fields(&e), vec!["order_by"]);
    let e = env
        .gw
        .release()
        .list_release_packages(pb::ListReleasePackagesRequest {
            parent: WS.into(),
            creators: vec![pb::UserRef { key: Some(pb::user_ref::Key::DisplayName("alice".into())) }],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(common::violated_fields(&e), vec!["creators[0].display_name"]);
    assert_eq!(env.emu.control.requests().len(), 0, "no vendor call for rejected input");
    let ws = env.gw.workspaces().get_workspace(pb::GetWorkspaceRequest { name: WS.into() }).await.unwrap().into_inner();
    let caps = ws.workspace.unwrap().capabilities.unwrap();
    let order = caps.filters.iter().find(|f| f.field == "ListReleasePackagesRequest.order_by").unwrap();
    assert_eq!(order.handling(), pb::FilterHandling::Rejected);
    let deploy = caps.operations.iter().find(|o| o.method.ends_with("DeployReleasePackages")).unwrap();
    assert!(!deploy.supported && deploy.note.contains("DeployFiles"));
}

#[tokio::test]
async fn get_release_package_with_items_and_raw_record() {
    let env = alibaba::start().await;
    let name = format!("{WS}/releasePackages/3000005");
    let p = env
        .gw
        .release()
        .get_release_package(pb::GetReleasePackageRequest { name: name.clone(), view: pb::View::Full as i32 })
        .await
        .unwrap()
        .into_inner()
        .release_package
        .unwrap();
    assert_eq!(p.name, name);
    assert_eq!(p.items.len(), 1);
    assert!(p.items[0].file.starts_with(&format!("{WS}/files/1")));
    assert_eq!(p.target_environment(), pb::Environment::Production);
    assert!(p.vendor_record.unwrap().fields.contains_key("Deployment"));
    let e = env
        .gw
        .release()
        .get_release_package(pb::GetReleasePackageRequest { name: format!("{WS}/releasePackages/42"), view: 0 })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    let info = common::error_info(&e).unwrap();
    assert_eq!(info.metadata["vendor_code"], "Invalid.Deployment.NotExists");
    assert!(!info.metadata["vendor_request_id"].is_empty());
}

#[tokio::test]
async fn deploy_files_then_watch_to_the_end() {
    let env = alibaba::start().await;
    let d = env
        .gw
        .release()
        .deploy_files(pb::DeployFilesRequest {
            parent: WS.into(),
            files: vec![format!("{WS}/files/100002"), format!("{WS}/files/100007")],
            comment: "release from test".into(),
            request_id: UUID.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .deployments;
    assert_eq!(d.len(), 2);
    assert_eq!(d[0].request_id, UUID);
    assert_eq!(d[0].files, vec![format!("{WS}/files/100002")]);
    assert_eq!(env.emu.control.count("DeployFile"), 2);
    let mut finals = Vec::new();
    for dep in &d {
        let mut s = env
            .gw
            .release()
            .watch_deployment(pb::WatchDeploymentRequest { name: dep.name.clone(), view: 0 })
            .await
            .unwrap()
            .into_inner();
        let mut states = Vec::new();
        while let Some(m) = s.message().await.unwrap() {
            states.push(m.deployment.unwrap());
        }
        finals.push(states);
    }
    // The first watch saw the deployment run and end; by the time the second
    // watch started, that deployment had already ended.
    assert!(finals[0].len() >= 2, "saw the deployment change: {:?}", finals[0]);
    // It starts as the deploy call answered it (PENDING) or as the engine
    // last saw it (RUNNING): not yet ended.
    let first = finals[0].first().unwrap().state();
    assert!(matches!(first, pb::DeploymentState::Pending | pb::DeploymentState::Running), "{first:?}");
    let (ok, failed) = (finals[0].last().unwrap(), finals[1].last().unwrap());
    assert_eq!(ok.state(), pb::DeploymentState::Succeeded);
    assert_eq!(failed.state(), pb::DeploymentState::Failed, "files ending in 7 fail in the emulator");
    assert!(!failed.error_message.is_empty());
    let got = env
        .gw
        .release()
        .get_deployment(pb::GetDeploymentRequest { name: d[0].name.clone(), view: 0 })
        .await
        .unwrap()
        .into_inner()
        .deployment
        .unwrap();
    assert_eq!(got.state(), pb::DeploymentState::Succeeded);
}

#[tokio::test]
async fn deploy_of_a_stale_version_or_missing_file_deploys_nothing() {
    let env = alibaba::start().await;
    let e = env
        .gw
        .release()
        .deploy_files(pb::DeployFilesRequest {
            parent: WS.into(),
            files: vec![format!("{WS}/files/100002"), format!("{WS}/files/999999")],
            request_id: "0b1c2d3e-4f50-4617-8899-000000000001".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert_eq!(common::unmet(&e), vec![("FILE_NOT_FOUND".to_owned(), format!("{WS}/files/999999"))]);
    let e = env
        .gw
        .release()
        .deploy_files(pb::DeployFilesRequest {
            parent: WS.into(),
            files: vec![format!("{WS}/files/100002/versions/99")],
            request_id: "0b1c2d3e-4f50-4617-8899-000000000002".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert_eq!(env.emu.control.count("DeployFile"), 0);
    let e = env
        .gw
        .release()
        .deploy_release_packages(pb::DeployReleasePackagesRequest {
            parent: WS.into(),
            release_packages: vec![format!("{WS}/releasePackages/3000001")],
            request_id: "0b1c2d3e-4f50-4617-8899-000000000003".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("DeployFiles"));
    assert_eq!(env.emu.control.count("ListFiles"), 2, "only the ListFiles checks reached the vendor");
    assert_eq!(env.emu.control.requests().len(), 2);
}

#[tokio::test]
async fn pipeline_flavour_runs_stages_in_order() {
    let env = alibaba::start_with("pipeline", "demo-sk").await;
    let runs = list(&env, |r| r.page_size = 25).await;
    assert_eq!(runs.len(), 60);
    let d = env
        .gw
        .release()
        .deploy_files(pb::DeployFilesRequest {
            parent: WS.into(),
            files: vec![format!("{WS}/files/{}", datastudio_gateway::emulator::alibaba::objects::NODE)],
            request_id: "0b1c2d3e-4f50-4617-8899-000000000006".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .deployments;
    assert_eq!(d[0].state(), pb::DeploymentState::Running);
    let mut last = d[0].clone();
    for _ in 0..60 {
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        last = env
            .gw
            .release()
            .get_deployment(pb::GetDeploymentRequest { name: d[0].name.clone(), view: 0 })
            .await
            .unwrap()
            .into_inner()
            .deployment
            .unwrap();
        if last.state() == pb::DeploymentState::Succeeded {
            break;
        }
    }
    assert_eq!(last.state(), pb::DeploymentState::Succeeded);
    assert_eq!(env.emu.control.count("ExecPipelineRunStage"), 4, "one trigger per stage, in order");
    let pkg = env
        .gw
        .release()
        .get_release_package(pb::GetReleasePackageRequest { name: last.release_package.clone(), view: 0 })
        .await
        .unwrap()
        .into_inner()
        .release_package
        .unwrap();
    assert_eq!(pkg.stages.len(), 4);
    assert!(pkg.stages.iter().all(|s| s.state() == pb::ReleasePackageState::Succeeded));
    assert_eq!(pkg.items[0].file, format!("{WS}/files/{}", datastudio_gateway::emulator::alibaba::objects::NODE));
    // A run that has already been deployed is refused, not re-run.
    let e = env
        .gw
        .release()
        .deploy_release_packages(pb::DeployReleasePackagesRequest {
            parent: WS.into(),
            release_packages: vec![last.release_package.clone()],
            request_id: "0b1c2d3e-4f50-4617-8899-000000000007".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn list_rows_claim_no_environment_and_get_reads_it() {
    let env = alibaba::start().await;
    let rows = list(&env, |r| r.page_size = 10).await;
    assert!(
        rows.iter().all(|p| p.target_environment() == pb::Environment::Unspecified),
        "ListDeploymentPackages carries no environment"
    );
    let get = |id: &str| {
        let mut c = env.gw.release();
        let name = format!("{WS}/releasePackages/{id}");
        async move {
            c.get_release_package(pb::GetReleasePackageRequest { name, view: 0 })
                .await
                .unwrap()
                .into_inner()
                .release_package
                .unwrap()
        }
    };
    assert_eq!(get("3000002").await.target_environment(), pb::Environment::Development);
    assert_eq!(get("3000005").await.target_environment(), pb::Environment::Production);
}

#[tokio::test]
async fn pipeline_cancelled_means_cancel_or_termination_and_keyword_ignores_case() {
    let env = alibaba::start_with("pipeline", "demo-sk").await;
    let all = list(&env, |_| {}).await;
    let cancelled: Vec<&String> =
        all.iter().filter(|p| p.state() == pb::ReleasePackageState::Cancelled).map(|p| &p.name).collect();
    assert!(!cancelled.is_empty(), "the emulator seeds runs in Termination");
    let got = list(&env, |r| r.states = vec![pb::ReleasePackageState::Cancelled as i32]).await;
    assert_eq!(got.iter().map(|p| &p.name).collect::<Vec<_>>(), cancelled, "Termination runs are CANCELLED too");

    let lower = list(&env, |r| r.keyword = "pipeline run 1".into()).await;
    let upper = list(&env, |r| r.keyword = "PIPELINE Run 1".into()).await;
    assert!(!lower.is_empty());
    assert_eq!(
        upper.iter().map(|p| &p.name).collect::<Vec<_>>(),
        lower.iter().map(|p| &p.name).collect::<Vec<_>>(),
        "keyword ignores case"
    );
}
