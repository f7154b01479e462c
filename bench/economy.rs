//! Quota-economy benchmark: counts vendor calls, not time. Each job is done
//! through the gateway, and directly with the official DataWorks Python SDK
//! where a Python with bench/requirements.txt is given; the vendor calls are
//! counted in the emulators' request logs. Where no SDK can do the job (the
//! DataArts SDK reads no script version; no SDK watches a deployment), the
//! direct figure is computed and marked so.
//!
//!   cargo bench --bench economy                         # gateway figures, computed direct ones
//!   cargo bench --bench economy -- --python PYTHON      # and the SDK measured (bench/run.sh passes it)
//!
//! Jobs: 20 concurrent identical list reads (a DataWorks page of deployment
//! packages; the emulator answers after 100 ms, as a vendor would, so the
//! reads are in flight together); 100 GetFileVersion calls over 10
//! versions; 10 concurrent reads of a DataArts script's version history;
//! 50 watchers of one DataWorks deployment.
//!
//! Prints a table and writes bench/results/economy-<unix time>.json.

use std::{path::PathBuf, time::Instant};

use datastudio_gateway::{
    cli::Listen,
    config::Config,
    emulator::{
        alibaba,
        common::{Control, Fault, FaultRule},
        huawei,
    },
    gateway, pb,
};
use serde_json::json;
use tokio_stream::StreamExt;
use tonic::transport::Channel;

/// The emulated vendor's answer time for the concurrent reads.
const VENDOR_LATENCY_MS: u64 = 100;

/// One job's figures.
struct Row {
    job: &'static str,
    gateway: usize,
    direct: Option<usize>,
    how: String,
}

fn calls(c: &Control, action: &str) -> usize {
    c.count(action)
}

/// Runs bench/economy_sdk.py `job` with `n` against the DataWorks emulator;
/// the vendor calls it made, or why not.
async fn sdk(python: &Option<PathBuf>, emu: &Control, url: &str, job: &str, n: u32, action: &str) -> Option<usize> {
    let py = python.clone()?;
    let before = calls(emu, action);
    let (url, name) = (url.to_owned(), job.to_owned());
    let status = tokio::task::spawn_blocking(move || {
        std::process::Command::new(py)
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/bench"))
            .args(["economy_sdk.py", &name, "--alibaba-url", &url, "--n", &n.to_string()])
            .status()
    })
    .await
    .ok()?;
    match status {
        Ok(s) if s.success() => Some(calls(emu, action) - before),
        other => {
            eprintln!("the SDK job {job} failed ({other:?}): its figure is left out");
            None
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `cargo test --all-targets` runs bench binaries without `--bench`: build-check only.
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        println!("benchmark built; run it with `cargo bench --bench {}`", env!("CARGO_CRATE_NAME"));
        return Ok(());
    }
    let python = args.iter().position(|a| a == "--python").and_then(|i| args.get(i + 1)).map(PathBuf::from);
    datastudio_gateway::install_crypto_provider();
    let ali = alibaba::start(alibaba::Options::default()).await?;
    let hw = huawei::start(huawei::Options::default()).await?;
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    for (name, value) in [("ak", "demo-ak"), ("sk", "demo-sk"), ("hak", "hw-demo-ak"), ("hsk", "hw-demo-sk")] {
        std::fs::write(d.join(name), value)?;
    }
    let yaml = format!(
        r#"
server: {{ grpc_listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0, state_dir: {d}/state }}
workspaces:
  dw:
    vendor: alibaba
    region: cn-hangzhou
    project_id: 10003
    endpoints: {{ api: "{ali}" }}
    rate_limits: {{ default: 1000 }}
    credentials: {{ access_key_id: {{ file: {d}/ak }}, access_key_secret: {{ file: {d}/sk }} }}
  da:
    vendor: huawei
    region: cn-north-4
    project_id: b384b9e9ab9b4ee8994c8633aabc9505
    workspace_id: ws-1234
    endpoints: {{ factory: "{hw}", dlf: "{hw}", iam: "{hw}" }}
    rate_limits: {{ default: 1000 }}
    credentials: {{ access_key_id: {{ file: {d}/hak }}, secret_access_key: {{ file: {d}/hsk }} }}
"#,
        d = d.display(),
        ali = ali.url(),
        hw = hw.url()
    );
    let cfg = Config::from_yaml(&yaml).map_err(|e| anyhow::anyhow!("{e}"))?;
    let running = gateway::start(&cfg, &Listen { grpc_listen: None, admin_listen: None }).await?;
    let channel = Channel::from_shared(format!("http://{}", running.grpc_addr))?.connect().await?;
    let releases = pb::release_service_client::ReleaseServiceClient::new(channel.clone());
    let files = pb::file_service_client::FileServiceClient::new(channel.clone());
    let mut rows = Vec::new();

    // 1. 20 concurrent identical list reads.
    ali.control.inject(FaultRule {
        action: "ListDeploymentPackages".into(),
        fault: Fault::Latency { ms: VENDOR_LATENCY_MS },
        times: 1000,
    });
    let before = calls(&ali.control, "ListDeploymentPackages");
    let mut readers = Vec::new();
    for _ in 0..20 {
        let mut c = releases.clone();
        readers.push(tokio::spawn(async move {
            c.list_release_packages(pb::ListReleasePackagesRequest {
                parent: "workspaces/dw".into(),
                page_size: 20,
                ..Default::default()
            })
            .await
        }));
    }
    for r in readers {
        r.await??;
    }
    let gw = calls(&ali.control, "ListDeploymentPackages") - before;
    let direct = sdk(&python, &ali.control, &ali.url(), "list", 20, "ListDeploymentPackages").await;
    ali.control.clear_faults();
    rows.push(Row {
        job: "20 concurrent identical list reads (DataWorks)",
        gateway: gw,
        direct,
        how: if direct.is_some() { "SDK, 20 threads at once" } else { "no SDK run" }.into(),
    });

    // 2. 100 GetFileVersion calls over 10 versions.
    let before = calls(&ali.control, "GetFileVersion");
    for i in 0..100u32 {
        let name = format!("workspaces/dw/files/{}/versions/1", 100_001 + i % 10);
        files.clone().get_file_version(pb::GetFileVersionRequest { name, view: 0 }).await?;
    }
    let gw = calls(&ali.control, "GetFileVersion") - before;
    let direct = sdk(&python, &ali.control, &ali.url(), "versions", 100, "GetFileVersion").await;
    rows.push(Row {
        job: "100 GetFileVersion over 10 versions (DataWorks)",
        gateway: gw,
        direct,
        how: if direct.is_some() { "SDK, one call each" } else { "no SDK run" }.into(),
    });

    // 3. 10 concurrent reads of a DataArts script's version history.
    let parent = format!("workspaces/da/files/script:{}", huawei::VERSIONED_SCRIPT);
    let before = hw.control.requests().len();
    let mut readers = Vec::new();
    for _ in 0..10 {
        let (mut c, parent) = (files.clone(), parent.clone());
        readers.push(tokio::spawn(async move {
            c.list_file_versions(pb::ListFileVersionsRequest { parent, page_size: 20, ..Default::default() }).await
        }));
    }
    let mut versions = 0;
    for r in readers {
        versions = r.await??.into_inner().file_versions.len();
    }
    let gw = hw.control.requests().len() - before;
    rows.push(Row {
        job: "10 concurrent reads of a DataArts version history",
        gateway: gw,
        // Without the gateway each reader reads the script's row, its
        // production version and each version (v1 show ?version=N).
        direct: Some(10 * (2 + versions)),
        how: format!(
            "computed: the DataArts SDK cannot read a script version; raw HTTP 2 + {versions} a read ({versions} versions, the emulator's longest history)"
        ),
    });

    // 4. 50 watchers of one deployment.
    let before = calls(&ali.control, "GetDeploymentPackage");
    let started = Instant::now();
    let deployed = releases
        .clone()
        .deploy_files(pb::DeployFilesRequest {
            parent: "workspaces/dw".into(),
            files: vec!["workspaces/dw/files/100002".into()],
            request_id: uuid::Uuid::new_v4().to_string(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let name = deployed.deployments.first().map(|d| d.name.clone()).unwrap_or_default();
    let mut watchers = Vec::new();
    for _ in 0..50 {
        let (mut c, name) = (releases.clone(), name.clone());
        watchers.push(tokio::spawn(async move {
            let mut s = c.watch_deployment(pb::WatchDeploymentRequest { name, view: 0 }).await?.into_inner();
            while s.next().await.transpose()?.is_some() {}
            Ok::<_, tonic::Status>(())
        }));
    }
    for w in watchers {
        w.await??;
    }
    let took = started.elapsed();
    let gw = calls(&ali.control, "GetDeploymentPackage") - before;
    // A direct watcher polls GetDeploymentPackage once a second until the end.
    let per_watcher = took.as_secs() as usize + 1;
    rows.push(Row {
        job: "50 watchers of one deployment (DataWorks)",
        gateway: gw,
        direct: Some(50 * per_watcher),
        how: format!("computed: 50 watchers polling once a second for {:.1} s", took.as_secs_f64()),
    });

    println!("\n| job | vendor calls through the gateway | vendor calls directly | direct figure |");
    println!("|---|---|---|---|");
    for r in &rows {
        let direct = r.direct.map_or("-".to_owned(), |n| n.to_string());
        println!("| {} | {} | {} | {} |", r.job, r.gateway, direct, r.how);
    }
    let json = json!({
        "vendor_latency_ms": VENDOR_LATENCY_MS,
        "sdk": python.is_some().then_some("alibabacloud-dataworks-public20240518 (bench/requirements.txt)"),
        "jobs": rows.iter().map(|r| json!({"job": r.job, "gateway": r.gateway, "direct": r.direct, "direct_is": r.how})).collect::<Vec<_>>(),
    });
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench/results").join(format!(
        "economy-{}.json",
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs()
    ));
    std::fs::write(&out, serde_json::to_string_pretty(&json)?)?;
    println!("\nwritten to bench/results/{}", out.file_name().and_then(|f| f.to_str()).unwrap_or_default());
    Ok(())
}
