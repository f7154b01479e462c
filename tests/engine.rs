//! The deployment engine through the real server and the DataWorks
//! emulator (pipeline flavour, where following a run takes vendor writes):
//! deployments run to their end with nobody watching, reads never write,
//! and watchers share the engine's polls.

mod common;

use std::time::Duration;

use common::alibaba::{self, WS};
use datastudio_gateway::{
    config::{LiveSecret, Secret},
    emulator::alibaba::objects,
    pb,
    providers::alibaba::{
        api::Api as AliApi,
        client::{Keys, Signer},
    },
};
use serde_json::Value;

async fn deploy(env: &alibaba::AliEnv, file: &str) -> pb::Deployment {
    env.gw
        .release()
        .deploy_files(pb::DeployFilesRequest {
            parent: WS.into(),
            files: vec![format!("{WS}/files/{file}")],
            request_id: uuid::Uuid::new_v4().to_string(),
            ..Default::default()
        })
        .await
        .expect("deploy")
        .into_inner()
        .deployments
        .remove(0)
}

async fn get(env: &alibaba::AliEnv, name: &str) -> pb::Deployment {
    env.gw
        .release()
        .get_deployment(pb::GetDeploymentRequest { name: name.into(), view: 0 })
        .await
        .expect("get")
        .into_inner()
        .deployment
        .expect("deployment")
}

#[tokio::test]
async fn a_pipeline_deploy_with_no_watcher_runs_every_stage_once() {
    let env = alibaba::start_with("pipeline", "demo-sk").await;
    let d = deploy(&env, objects::NODE).await;
    assert_eq!(env.emu.control.count("ExecPipelineRunStage"), 1, "the deploy starts the first stage");
    // Nobody reads or watches: the engine alone moves the run on.
    let mut stages = 0;
    for _ in 0..150 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        stages = env.emu.control.count("ExecPipelineRunStage");
        if stages == 4 {
            break;
        }
    }
    assert_eq!(stages, 4, "every stage triggered, each once");
    let mut last = get(&env, &d.name).await;
    for _ in 0..50 {
        if last.state() == pb::DeploymentState::Succeeded {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        last = get(&env, &d.name).await;
    }
    assert_eq!(last.state(), pb::DeploymentState::Succeeded);
    assert_eq!(env.emu.control.count("ExecPipelineRunStage"), 4, "no stage triggered twice");
    assert!(!last.request_id.is_empty(), "GetDeployment keeps what the deploy call knew");
    assert_eq!((last.request_id.as_str(), last.files.as_slice()), (d.request_id.as_str(), d.files.as_slice()));
    // The end is counted for alerts (datastudio_deployments_ended_total).
    let metrics = reqwest::get(format!("http://{}/metrics", env.gw.admin_addr())).await.expect("scrape");
    let text = metrics.text().await.expect("metrics");
    let ended = text
        .lines()
        .find_map(|l| l.strip_prefix("datastudio_deployments_ended_total{state=\"succeeded\"} "))
        .and_then(|v| v.parse::<f64>().ok());
    assert!(ended.is_some_and(|n| n >= 1.0), "{text}");
}

/// Calls the DataWorks emulator directly (not through the gateway),
/// signed like the gateway signs.
async fn direct(env: &alibaba::AliEnv, action: AliApi, query: &[(&str, &str)], form: &[(&str, &str)]) -> Value {
    let fixed = |s: &str| LiveSecret::fixed(Secret::new(s));
    let signer = Signer::new(&env.emu.url(), Keys { id: fixed("demo-ak"), secret: fixed("demo-sk"), token: None })
        .expect("signer");
    let own = |p: &[(&str, &str)]| p.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let req = signer.request(action, own(query), own(form)).expect("request");
    let resp = reqwest::Client::new().execute(reqwest::Request::try_from(req).unwrap()).await.expect("send");
    resp.json().await.expect("json")
}

#[tokio::test]
async fn reads_of_a_deployment_never_write() {
    let env = alibaba::start_with("pipeline", "demo-sk").await;
    // A run started outside the gateway and left after its first stage:
    // moving it on is a write, which no reader may cause.
    let created = direct(
        &env,
        AliApi::CreatePipelineRun,
        &[],
        &[("ProjectId", "10003"), ("Type", "Online"), ("ObjectIds", &format!("[\"{}\"]", objects::NODE))],
    )
    .await;
    let id = created["Id"].as_str().expect("run id").to_owned();
    let run = direct(&env, AliApi::GetPipelineRun, &[("ProjectId", "10003"), ("Id", &id)], &[]).await;
    let first = run["Pipeline"]["Stages"][0]["Code"].as_str().expect("first stage").to_owned();
    direct(&env, AliApi::ExecPipelineRunStage, &[("ProjectId", "10003")], &[("Id", &id), ("Code", &first)]).await;
    let before = env.emu.control.count("ExecPipelineRunStage");
    let mut names = vec![format!("{WS}/deployments/{id}")];
    // Seeded runs, for good measure.
    let runs = env
        .gw
        .release()
        .list_release_packages(pb::ListReleasePackagesRequest {
            parent: WS.into(),
            page_size: 20,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .release_packages;
    names.extend(runs.iter().take(4).map(|r| format!("{WS}/deployments/{}", r.name.rsplit_once('/').unwrap().1)));
    for name in &names {
        for _ in 0..20 {
            get(&env, name).await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut s = env
            .gw
            .release()
            .watch_deployment(pb::WatchDeploymentRequest { name: name.clone(), view: 0 })
            .await
            .unwrap()
            .into_inner();
        let _ = tokio::time::timeout(Duration::from_millis(300), s.message()).await;
    }
    assert_eq!(
        env.emu.control.count("ExecPipelineRunStage"),
        before,
        "100 GetDeployment calls and 5 watches made no vendor write"
    );
    assert_eq!(env.emu.control.count("CreatePipelineRun"), 1, "only the test's own run");
}

#[tokio::test]
async fn fifty_watchers_share_the_engines_polls() {
    let env = alibaba::start_with("pipeline", "demo-sk").await;
    let d = deploy(&env, objects::NODE).await;
    let before = env.emu.control.count("GetPipelineRun");
    let watchers: Vec<_> = (0..50)
        .map(|_| {
            let mut client = env.gw.release();
            let name = d.name.clone();
            tokio::spawn(async move {
                let mut s =
                    client.watch_deployment(pb::WatchDeploymentRequest { name, view: 0 }).await.unwrap().into_inner();
                let mut last = None;
                while let Some(m) = s.message().await.unwrap() {
                    last = m.deployment;
                }
                last.unwrap().state()
            })
        })
        .collect();
    for w in watchers {
        assert_eq!(w.await.unwrap(), pb::DeploymentState::Succeeded);
    }
    let polls = env.emu.control.count("GetPipelineRun") - before;
    // The engine's own polls (a few per stage), not 50 watchers' worth.
    assert!(polls < 40, "{polls} vendor polls for 50 watchers of one deployment");
}

async fn cancel(env: &alibaba::AliEnv, name: &str) -> Result<pb::Deployment, tonic::Status> {
    env.gw
        .release()
        .cancel_deployment(pb::CancelDeploymentRequest { name: name.into() })
        .await
        .map(|r| r.into_inner().deployment.expect("deployment"))
}

#[tokio::test]
async fn a_cancelled_pipeline_deployment_is_abolished_once_and_left_alone() {
    let env = alibaba::start_with("pipeline", "demo-sk").await;
    let d = deploy(&env, objects::NODE).await;
    let c = cancel(&env, &d.name).await.expect("cancel");
    assert_eq!(c.state(), pb::DeploymentState::Cancelled);
    assert_eq!(c.request_id, d.request_id, "the record's request_id is kept");
    assert_eq!(env.emu.control.count("AbolishPipelineRun"), 1);
    let stages = env.emu.control.count("ExecPipelineRunStage");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(env.emu.control.count("ExecPipelineRunStage"), stages, "no stage is started after the cancellation");
    assert_eq!(get(&env, &d.name).await.state(), pb::DeploymentState::Cancelled);
    let again = cancel(&env, &d.name).await.expect_err("an ended deployment");
    assert_eq!(again.code(), tonic::Code::FailedPrecondition);
    assert_eq!(common::error_info(&again).expect("ErrorInfo").reason, "DEPLOYMENT_ENDED");
    assert_eq!(env.emu.control.count("AbolishPipelineRun"), 1, "nothing sent for an ended deployment");
}

#[tokio::test]
async fn legacy_deployments_cannot_be_cancelled_and_bad_names_are_refused() {
    let env = alibaba::start_with("legacy", "demo-sk").await;
    let e = cancel(&env, &format!("{WS}/deployments/42")).await.expect_err("legacy");
    assert_eq!(e.code(), tonic::Code::FailedPrecondition);
    assert!(e.message().contains("CancelDeployment"), "{}", e.message());
    let e = cancel(&env, "workspaces/dw/files/42").await.expect_err("not a deployment");
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert_eq!(common::violated_fields(&e), vec!["name".to_owned()]);
    assert_eq!(env.emu.control.requests().len(), 0, "no vendor call");
}

#[tokio::test]
async fn run_until_stops_the_engine_after_the_named_stage() {
    let emu = alibaba::emulator().await;
    let dir = common::secrets_dir(&[("ak", "demo-ak"), ("sk", "demo-sk"), ("ptk", "page-token-key")]);
    let gw = alibaba::gateway(&emu, dir, "pipeline", "    pipeline: { run_until: DEV_CHECK }").await;
    let env = alibaba::AliEnv { gw, emu };
    let d = deploy(&env, objects::NODE).await;
    let mut last = get(&env, &d.name).await;
    for _ in 0..50 {
        if last.state() == pb::DeploymentState::Succeeded {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        last = get(&env, &d.name).await;
    }
    assert_eq!(last.state(), pb::DeploymentState::Succeeded, "{last:?}");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        env.emu.control.count("ExecPipelineRunStage"),
        2,
        "BUILD_PACKAGE and DEV_CHECK only: PROD_CHECK and PROD are left to people"
    );
}

/// `serve` as its own process on `config`; returns it and its gRPC address.
fn serve(config: &std::path::Path) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(common::binary())
        .args(["serve", "--grpc-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--config"])
        .arg(config)
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("serve");
    let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let grpc = loop {
        let line = lines.next().expect("serve's log ended before it was ready").expect("log line");
        if let Some(g) = line.split_whitespace().find_map(|w| w.strip_prefix("grpc=")) {
            break g.trim_matches(|c: char| c == '"' || c == ',').to_owned();
        }
    };
    // Keep reading its log so that it never blocks on a full pipe.
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
    (child, grpc)
}

async fn release_client(grpc: &str) -> pb::release_service_client::ReleaseServiceClient<tonic::transport::Channel> {
    let channel = tonic::transport::Channel::from_shared(format!("http://{grpc}")).expect("uri");
    pb::release_service_client::ReleaseServiceClient::new(channel.connect().await.expect("connect"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_deploy_survives_kill_9_and_every_stage_runs_once() {
    let emu = datastudio_gateway::emulator::alibaba::start(datastudio_gateway::emulator::alibaba::Options {
        deploy_step: Duration::from_millis(800),
        ..Default::default()
    })
    .await
    .expect("emulator");
    let dir = common::secrets_dir(&[("ak", "demo-ak"), ("sk", "demo-sk")]);
    let d = dir.path().display();
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "server: {{ state_dir: {d}/state }}\nworkspaces:\n  dw:\n    vendor: alibaba\n    region: cn-hangzhou\n    \
             project_id: 10003\n    flavour: pipeline\n    endpoints: {{ api: \"{url}\" }}\n    credentials:\n      \
             access_key_id: {{ file: {d}/ak }}\n      access_key_secret: {{ file: {d}/sk }}\n",
            url = emu.url()
        ),
    )
    .expect("config");
    let start = |config: std::path::PathBuf| async move {
        tokio::task::spawn_blocking(move || serve(&config)).await.expect("serve task")
    };
    let (mut first, grpc) = start(config.clone()).await;
    let request_id = uuid::Uuid::new_v4().to_string();
    let deployed = release_client(&grpc)
        .await
        .deploy_files(pb::DeployFilesRequest {
            parent: WS.into(),
            files: vec![format!("{WS}/files/{}", objects::NODE)],
            request_id: request_id.clone(),
            ..Default::default()
        })
        .await
        .expect("deploy")
        .into_inner()
        .deployments
        .remove(0);
    // The deploy answered; the run has three stages to go.
    assert!(emu.control.count("ExecPipelineRunStage") < 4);
    first.kill().expect("kill -9");
    first.wait().expect("reaped");
    let killed_at = emu.control.count("ExecPipelineRunStage");
    assert!(killed_at < 4, "killed before the run ended ({killed_at} stages started)");

    let (mut second, grpc) = start(config).await;
    let mut client = release_client(&grpc).await;
    let get = pb::GetDeploymentRequest { name: deployed.name.clone(), view: 0 };
    let mut last = client.get_deployment(get.clone()).await.expect("get").into_inner().deployment.expect("deployment");
    let t0 = std::time::Instant::now();
    while last.state() != pb::DeploymentState::Succeeded {
        assert!(t0.elapsed() < Duration::from_secs(30), "the restarted gateway did not finish the run: {last:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
        last = client.get_deployment(get.clone()).await.expect("get").into_inner().deployment.expect("deployment");
    }
    assert_eq!(emu.control.count("ExecPipelineRunStage"), 4, "every stage triggered once, across the kill");
    assert_eq!(emu.control.count("CreatePipelineRun"), 1, "deployed once");
    assert!(!last.files.is_empty(), "{last:?}");
    assert_eq!((last.request_id.as_str(), last.files.as_slice()), (request_id.as_str(), deployed.files.as_slice()));
    let _ = second.kill();
    let _ = second.wait();
}
