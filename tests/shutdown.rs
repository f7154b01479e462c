//! SIGTERM drains: an in-flight call completes, new calls are refused, the
//! process exits cleanly. Runs the real binary in demo mode.

mod common;

use std::{process::Command, time::Duration};

use datastudio_gateway::pb;
use tonic::transport::Channel;

#[tokio::test]
async fn sigterm_lets_in_flight_calls_finish_and_refuses_new_ones() {
    datastudio_gateway::install_crypto_provider();
    let (mut child, printed, _) = common::demo::start(Command::new(common::binary()));
    let (grpc, admin) = (printed.field("grpc="), printed.field("admin="));
    let emu = printed.after("DataWorks emulator at ");
    // Make the next GetFile slow at the vendor.
    reqwest::Client::new()
        .post(format!("{emu}/_emulator/faults"))
        .json(&serde_json::json!({"action": "GetFile", "fault": {"kind": "latency", "ms": 1500}}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let channel = Channel::from_shared(format!("http://{grpc}")).unwrap().connect().await.unwrap();
    let mut files = pb::file_service_client::FileServiceClient::new(channel);
    let slow = tokio::spawn(async move {
        files.get_file(pb::GetFileRequest { name: "workspaces/demo-dataworks/files/100001".into(), view: 0 }).await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let kill = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    // New connections are refused while the old call drains.
    let fresh =
        Channel::from_shared(format!("http://{grpc}")).unwrap().connect_timeout(Duration::from_secs(1)).connect().await;
    assert!(fresh.is_err(), "a new connection was accepted during drain");
    // The admin port stays up for the drain: probes read `draining`, metrics answer.
    let http = reqwest::Client::new();
    let ready = http.get(format!("http://{admin}/readyz")).send().await.expect("readyz answers during drain");
    assert_eq!(ready.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.text().await.unwrap(), "draining\n");
    let metrics = http.get(format!("http://{admin}/metrics")).send().await.expect("metrics answer during drain");
    assert_eq!(metrics.status(), reqwest::StatusCode::OK);
    let done = slow.await.unwrap().expect("the in-flight call completed");
    assert!(done.into_inner().file.unwrap().content.contains("SELECT"));
    let status = tokio::task::spawn_blocking(move || child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "exit status {status:?}");
}
