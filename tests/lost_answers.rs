//! Deploy writes whose answer was lost are looked up at the vendor, never
//! re-sent blindly: through the real server against the DataWorks
//! emulator, whose faults drop an answer after the write was applied
//! (`LoseAnswer`) or reset the connection before it was (`Reset`).

mod common;

use std::time::Duration;

use common::alibaba::{self, WS};
use datastudio_gateway::{
    emulator::{
        alibaba::objects,
        common::{Fault, FaultRule},
    },
    pb,
};
use tonic::Code;

fn request(file: &str, request_id: &str) -> pb::DeployFilesRequest {
    pb::DeployFilesRequest {
        parent: WS.into(),
        files: vec![format!("{WS}/files/{file}")],
        request_id: request_id.into(),
        ..Default::default()
    }
}

async fn deploy(env: &alibaba::AliEnv, req: pb::DeployFilesRequest) -> Result<pb::Deployment, tonic::Status> {
    env.gw.release().deploy_files(req).await.map(|r| r.into_inner().deployments.remove(0))
}

fn lose(env: &alibaba::AliEnv, action: &str, fault: Fault) {
    env.emu.control.inject(FaultRule { action: action.into(), fault, times: 1 });
}

/// (answered, lost) requests of `action` at the emulator.
fn sent(env: &alibaba::AliEnv, action: &str) -> (usize, usize) {
    let r = env.emu.control.requests();
    let of = r.iter().filter(|r| r.action == action);
    (of.clone().filter(|r| r.status != 0).count(), of.filter(|r| r.status == 0).count())
}

async fn until_ended(env: &alibaba::AliEnv, name: &str) -> pb::Deployment {
    for _ in 0..100 {
        let d = env
            .gw
            .release()
            .get_deployment(pb::GetDeploymentRequest { name: name.into(), view: 0 })
            .await
            .expect("get")
            .into_inner()
            .deployment
            .expect("deployment");
        if d.state() == pb::DeploymentState::Succeeded || d.state() == pb::DeploymentState::Failed {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{name} did not end");
}

#[tokio::test]
async fn legacy_an_applied_deploy_whose_answer_was_lost_is_found_not_repeated() {
    let env = alibaba::start().await;
    lose(&env, "DeployFile", Fault::LoseAnswer);
    let id = uuid::Uuid::new_v4().to_string();
    let d = deploy(&env, request("100003", &id)).await.expect("resolved by the lookup");
    assert_eq!(sent(&env, "DeployFile"), (0, 1), "one DeployFile, whose answer was lost; none repeated");
    assert_eq!(env.emu.control.count("ListDeploymentPackages"), 1, "one lookup");
    assert_eq!(d.files, vec![format!("{WS}/files/100003")]);
    assert_eq!(until_ended(&env, &d.name).await.state(), pb::DeploymentState::Succeeded, "the package the vendor made");
    let again = deploy(&env, request("100003", &id)).await.expect("repeat");
    assert_eq!(again.name, d.name, "a repeat answers the found deployment");
    assert_eq!(env.emu.control.count("DeployFile"), 1);
}

#[tokio::test]
async fn legacy_a_deploy_lost_before_the_vendor_applied_it_is_sent_once_more() {
    let env = alibaba::start().await;
    lose(&env, "DeployFile", Fault::Reset);
    let d = deploy(&env, request("100003", &uuid::Uuid::new_v4().to_string())).await.expect("sent once more");
    assert_eq!(sent(&env, "DeployFile"), (1, 1), "the lost one, then exactly one more");
    assert_eq!(until_ended(&env, &d.name).await.state(), pb::DeploymentState::Succeeded);
}

#[tokio::test]
async fn legacy_a_lost_answer_that_cannot_be_looked_up_stays_unknown() {
    let env = alibaba::start().await;
    lose(&env, "DeployFile", Fault::LoseAnswer);
    env.emu.control.inject(FaultRule {
        action: "ListDeploymentPackages".into(),
        fault: Fault::Status { status: 503 },
        times: 10,
    });
    let id = uuid::Uuid::new_v4().to_string();
    let e = deploy(&env, request("100003", &id)).await.expect_err("unknown");
    assert_eq!(e.code(), Code::Unknown);
    assert_eq!(common::error_info(&e).expect("ErrorInfo").reason, "DEPLOY_OUTCOME_UNKNOWN");
    let again = deploy(&env, request("100003", &id)).await.expect_err("replayed");
    assert_eq!(common::error_info(&again).expect("ErrorInfo").reason, "DEPLOY_OUTCOME_UNKNOWN");
    assert_eq!(env.emu.control.count("DeployFile"), 1, "never re-sent blindly");
}

#[tokio::test]
async fn pipeline_a_lost_create_is_found_and_the_run_goes_to_its_end() {
    let env = alibaba::start_with("pipeline", "demo-sk").await;
    lose(&env, "CreatePipelineRun", Fault::LoseAnswer);
    let d = deploy(&env, request(objects::NODE, &uuid::Uuid::new_v4().to_string())).await.expect("resolved");
    assert_eq!(sent(&env, "CreatePipelineRun"), (0, 1), "one run created, none repeated");
    assert_eq!(until_ended(&env, &d.name).await.state(), pb::DeploymentState::Succeeded);
    assert_eq!(env.emu.control.count("ExecPipelineRunStage"), 4, "each stage once");
}

#[tokio::test]
async fn pipeline_a_create_lost_before_it_applied_is_sent_once_more() {
    let env = alibaba::start_with("pipeline", "demo-sk").await;
    lose(&env, "CreatePipelineRun", Fault::Reset);
    let d = deploy(&env, request(objects::NODE, &uuid::Uuid::new_v4().to_string())).await.expect("sent once more");
    assert_eq!(sent(&env, "CreatePipelineRun"), (1, 1));
    assert_eq!(until_ended(&env, &d.name).await.state(), pb::DeploymentState::Succeeded);
}

#[tokio::test]
async fn pipeline_a_lost_stage_start_is_found_and_not_repeated() {
    let env = alibaba::start_with("pipeline", "demo-sk").await;
    lose(&env, "ExecPipelineRunStage", Fault::LoseAnswer);
    let d = deploy(&env, request(objects::NODE, &uuid::Uuid::new_v4().to_string())).await.expect("resolved");
    assert_eq!(until_ended(&env, &d.name).await.state(), pb::DeploymentState::Succeeded);
    assert_eq!(sent(&env, "ExecPipelineRunStage"), (3, 1), "four stages, each started once");
}

#[path = "common/huawei.rs"]
mod hw;

async fn dataarts_deploy(h: &hw::Hw) -> Result<pb::Deployment, tonic::Status> {
    let req = pb::DeployFilesRequest {
        parent: hw::WS.into(),
        files: vec![hw::name("files", "script:etl-000"), hw::name("files", "script:ads-005")],
        request_id: uuid::Uuid::new_v4().to_string(),
        ..Default::default()
    };
    h.gw.release().deploy_files(req).await.map(|r| r.into_inner().deployments.remove(0))
}

async fn dataarts_until_ended(h: &hw::Hw, name: &str) -> pb::DeploymentState {
    for _ in 0..100 {
        let d =
            h.gw.release()
                .get_deployment(pb::GetDeploymentRequest { name: name.into(), view: 0 })
                .await
                .expect("get")
                .into_inner()
                .deployment
                .expect("deployment");
        if d.state() == pb::DeploymentState::Succeeded || d.state() == pb::DeploymentState::Failed {
            return d.state();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{name} did not end");
}

fn hw_fault(h: &hw::Hw, action: &str, fault: Fault) {
    h.emu.control.inject(FaultRule { action: action.into(), fault, times: 1 });
}

#[tokio::test]
async fn dataarts_a_lost_package_answer_is_found_and_not_packaged_twice() {
    let h = hw::start().await;
    hw_fault(&h, "pending-items.package", Fault::LoseAnswer);
    let d = dataarts_deploy(&h).await.expect("resolved");
    assert_eq!(h.count("pending-items.package"), 1, "packaged once");
    assert_eq!(h.count("release-packages.deploy"), 1);
    assert_eq!(dataarts_until_ended(&h, &d.name).await, pb::DeploymentState::Succeeded);
}

#[tokio::test]
async fn dataarts_a_lost_deploy_answer_is_found_and_followed_by_package() {
    let h = hw::start().await;
    hw_fault(&h, "release-packages.deploy", Fault::LoseAnswer);
    let d = dataarts_deploy(&h).await.expect("resolved");
    assert_eq!(h.count("release-packages.deploy"), 1, "deployed once");
    let id = d.name.rsplit_once("/deployments/").expect("a deployment name").1;
    assert!(
        id.bytes().all(|b| b.is_ascii_digit()),
        "named by its package alone (the task id was in the lost answer): {id}"
    );
    assert_eq!(dataarts_until_ended(&h, &d.name).await, pb::DeploymentState::Succeeded);
}

#[tokio::test]
async fn dataarts_a_deploy_lost_before_it_applied_is_sent_once_more() {
    let h = hw::start().await;
    hw_fault(&h, "release-packages.deploy", Fault::Reset);
    let d = dataarts_deploy(&h).await.expect("sent once more");
    assert_eq!(h.count("release-packages.deploy"), 2, "the lost one, then one more");
    assert_eq!(dataarts_until_ended(&h, &d.name).await, pb::DeploymentState::Succeeded);
}

/// A gateway on `emu` whose state lives in `state` (shared by "restarts").
async fn gateway_at(emu: &datastudio_gateway::emulator::alibaba::Handle, state: &std::path::Path) -> common::Gateway {
    let dir = common::secrets_dir(&[("ak", "demo-ak"), ("sk", "demo-sk"), ("ptk", "page-token-key")]);
    let d = dir.path().display().to_string();
    let yaml = format!(
        r#"
server:
  grpc_listen: 127.0.0.1:0
  admin_listen: 127.0.0.1:0
  page_token_key: {{ file: {d}/ptk }}
  state_dir: {state}
workspaces:
  dw:
    vendor: alibaba
    region: cn-hangzhou
    project_id: 10003
    endpoints: {{ api: "{url}" }}
    credentials:
      access_key_id: {{ file: {d}/ak }}
      access_key_secret: {{ file: {d}/sk }}
"#,
        state = state.display(),
        url = emu.url()
    );
    common::start_yaml(&yaml, dir).await
}

#[tokio::test]
async fn a_deploy_in_flight_when_the_gateway_stopped_is_looked_up_on_repeat() {
    let emu = alibaba::emulator().await;
    let state = tempfile::tempdir().expect("state dir");
    let first = gateway_at(&emu, state.path()).await;
    // The vendor takes its time: the gateway "stops" with the deploy in flight.
    emu.control.inject(FaultRule { action: "DeployFile".into(), fault: Fault::Latency { ms: 1500 }, times: 1 });
    let id = uuid::Uuid::new_v4().to_string();
    let mut client = first.release();
    let (req, req2) = (request("100003", &id), request("100003", &id));
    let in_flight = tokio::spawn(async move { client.deploy_files(req).await });
    tokio::time::sleep(Duration::from_millis(400)).await;
    // What a restart reads: the in-flight marker, now of unknown outcome.
    let restarted = gateway_at(&emu, state.path()).await;
    tokio::time::sleep(Duration::from_millis(1500)).await; // the vendor has applied it
    let d = restarted.release().deploy_files(req2).await.expect("resolved by a lookup").into_inner().deployments;
    assert_eq!(env_count(&emu, "DeployFile"), 1, "never sent again");
    assert_eq!(d.len(), 1);
    let first_answer = in_flight.await.expect("task").expect("the first call's own answer").into_inner().deployments;
    assert_eq!(d[0].name, first_answer[0].name, "the repeat found the deployment the first call made");
    drop(first);
}

#[tokio::test]
async fn a_deploy_marked_in_flight_that_never_reached_the_vendor_is_sent_on_repeat() {
    let emu = alibaba::emulator().await;
    let state = tempfile::tempdir().expect("state dir");
    let first = gateway_at(&emu, state.path()).await;
    // The file check (ListFiles) hangs: the marker is on disk, DeployFile not
    // sent yet (this process then "stops": the test ends before it would go on).
    emu.control.inject(FaultRule { action: "ListFiles".into(), fault: Fault::Latency { ms: 10_000 }, times: 1 });
    let id = uuid::Uuid::new_v4().to_string();
    let mut client = first.release();
    let req = request("100003", &id);
    let _in_flight = tokio::spawn(async move { client.deploy_files(req).await });
    tokio::time::sleep(Duration::from_millis(400)).await;
    let restarted = gateway_at(&emu, state.path()).await;
    let d = restarted.release().deploy_files(request("100003", &id)).await.expect("deployed now").into_inner();
    assert_eq!(d.deployments.len(), 1);
    assert_eq!(env_count(&emu, "ListDeploymentPackages"), 1, "looked up first");
    assert_eq!(env_count(&emu, "DeployFile"), 1, "then sent once");
    drop(first);
}

fn env_count(emu: &datastudio_gateway::emulator::alibaba::Handle, action: &str) -> usize {
    emu.control.count(action)
}
