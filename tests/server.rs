//! The server behaves like a well-run gRPC service: health, reflection,
//! admin port, unknown workspaces.

mod common;

use datastudio_gateway::{pb, server::SERVICES};
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};

#[tokio::test]
async fn health_is_serving_for_every_service() {
    let gw = common::start_default().await;
    let mut h = HealthClient::new(gw.channel.clone());
    for s in SERVICES.iter().copied().chain([""]) {
        let r = h.check(HealthCheckRequest { service: s.into() }).await.expect("health").into_inner();
        assert_eq!(r.status(), ServingStatus::Serving, "service {s:?}");
    }
    let unknown = h.check(HealthCheckRequest { service: "nope.Service".into() }).await.unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);
}

#[tokio::test]
async fn the_healthcheck_subcommand_exits_0_only_when_serving() {
    let gw = common::start_default().await;
    let run = |args: Vec<String>| async move {
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new(common::binary()).arg("healthcheck").args(args).output()
        });
        let out = out.await.expect("join").expect("run healthcheck");
        let text = |b: &[u8]| String::from_utf8_lossy(b).trim().to_owned();
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    let addr = gw.grpc_addr().to_string();
    let (code, stdout, _) = run(vec!["--addr".into(), addr.clone()]).await;
    assert_eq!((code, stdout.as_str()), (Some(0), "SERVING"));
    let svc = vec!["--addr".into(), addr.clone(), "--service".into(), "datastudio.v1.ReleaseService".into()];
    assert_eq!(run(svc).await.0, Some(0));
    let (code, _, err) = run(vec!["--addr".into(), addr, "--service".into(), "nope.Service".into()]).await;
    assert_eq!(code, Some(1));
    assert!(err.contains("NotFound"), "{err}");
    // Nothing listens there: unhealthy, within the timeout.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let args = vec!["--addr".into(), format!("127.0.0.1:{port}"), "--timeout".into(), "2s".into()];
    let (code, _, err) = run(args).await;
    assert_eq!(code, Some(1));
    assert!(err.starts_with("unhealthy:"), "{err}");
    let (code, _, err) = run(vec!["--timeout".into(), "soon".into()]).await;
    assert_eq!(code, Some(2), "a bad argument is a usage error: {err}");
}

#[tokio::test]
async fn reflection_lists_all_three_services_v1_and_v1alpha() {
    use tonic_reflection::pb::{v1, v1alpha};
    let gw = common::start_default().await;

    let mut c = v1::server_reflection_client::ServerReflectionClient::new(gw.channel.clone());
    let req = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(String::new())),
    };
    let mut stream = c.server_reflection_info(tokio_stream::iter([req])).await.unwrap().into_inner();
    let msg = stream.message().await.unwrap().unwrap();
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) = msg.message_response else {
        panic!("unexpected reflection answer")
    };
    let names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    for s in SERVICES {
        assert!(names.contains(&s.to_string()), "{s} missing from {names:?}");
    }

    let mut c = v1alpha::server_reflection_client::ServerReflectionClient::new(gw.channel.clone());
    let req = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1alpha::server_reflection_request::MessageRequest::ListServices(String::new())),
    };
    let mut stream = c.server_reflection_info(tokio_stream::iter([req])).await.unwrap().into_inner();
    let msg = stream.message().await.unwrap().unwrap();
    let Some(v1alpha::server_reflection_response::MessageResponse::ListServicesResponse(list)) = msg.message_response
    else {
        panic!("unexpected reflection answer")
    };
    assert!(list.service.iter().any(|s| s.name == "datastudio.v1.WorkspaceService"));
}

#[tokio::test]
async fn admin_port_answers_health_and_readiness() {
    let gw = common::start_default().await;
    let base = format!("http://{}", gw.admin_addr());
    let client = reqwest::Client::new();
    for path in ["/healthz", "/readyz"] {
        let r = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn unknown_workspace_is_not_found() {
    let gw = common::start_default().await;
    let e = gw
        .files()
        .list_files(pb::ListFilesRequest { parent: "workspaces/nope".into(), ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::NotFound);
    assert_eq!(common::error_info(&e).unwrap().reason, "WORKSPACE_NOT_FOUND");
    let e =
        gw.workspaces().get_workspace(pb::GetWorkspaceRequest { name: "workspaces/nope".into() }).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::NotFound);
}

#[tokio::test]
async fn workspaces_are_listed_without_credentials() {
    let gw = common::start_default().await;
    let r = gw
        .workspaces()
        .list_workspaces(pb::ListWorkspacesRequest { page_size: 1, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.total_size, 2);
    assert_eq!(r.workspaces.len(), 1);
    assert_eq!(r.workspaces[0].name, "workspaces/da-test");
    assert_eq!(r.workspaces[0].vendor(), pb::Vendor::HuaweiDataarts);
    let r2 = gw
        .workspaces()
        .list_workspaces(pb::ListWorkspacesRequest { page_size: 1, page_token: r.next_page_token })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r2.workspaces[0].name, "workspaces/dw-test");
    assert!(r2.next_page_token.is_empty());
    let text = format!("{:?}{:?}", r.workspaces, r2.workspaces);
    for secret in ["sk-1", "sk-2", "ak-1", "ak-2"] {
        assert!(!text.contains(secret));
    }
}
