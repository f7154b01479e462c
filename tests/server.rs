//! The server behaves like a well-run gRPC service: health, reflection,
//! admin port, unknown workspaces.

mod common;

use datastudio_gateway::{pb, server::SERVICES};
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
use tonic_types::StatusExt;

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

/// The two-vendor config with `server_extra` added to its `server:` section.
async fn start_with_server(server_extra: &str) -> common::Gateway {
    let dir = common::secrets_dir(&[("ali_ak", "ak-1"), ("ali_sk", "sk-1"), ("hw_ak", "ak-2"), ("hw_sk", "sk-2")]);
    let yaml = common::two_vendor_yaml(dir.path())
        .replace("  shutdown_grace: 5s\n", &format!("  shutdown_grace: 5s\n{server_extra}"));
    common::start_yaml(&yaml, dir).await
}

fn list_workspaces(token: Option<&str>) -> tonic::Request<pb::ListWorkspacesRequest> {
    let mut r = tonic::Request::new(pb::ListWorkspacesRequest::default());
    if let Some(t) = token {
        r.metadata_mut().insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    r
}

fn reason(s: &tonic::Status) -> String {
    common::error_info(s).map(|i| i.reason).unwrap_or_default()
}

#[tokio::test]
async fn oversized_metadata_fails_that_call_alone_and_the_connection_lives() {
    let gw = common::start_default().await;
    let mut ws = gw.workspaces();
    let e = ws.list_workspaces(list_workspaces(Some(&"t".repeat(100_000)))).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unauthenticated, "{e:?}");
    assert!(e.message().contains("authorization"), "{}", e.message());
    assert!(e.message().len() < 300, "the token is not echoed: {} bytes", e.message().len());
    let mut r = tonic::Request::new(pb::ListWorkspacesRequest::default());
    r.metadata_mut().insert("x-big", "b".repeat(20_000).parse().unwrap());
    let e = ws.list_workspaces(r).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e:?}");
    assert_eq!(common::violated_fields(&e), ["metadata \"x-big\""]);
    // The same connection still serves calls.
    ws.list_workspaces(list_workspaces(None)).await.expect("the connection survived");
}

#[tokio::test]
async fn a_request_over_the_size_limit_is_resource_exhausted() {
    let gw = start_with_server("  max_message_bytes: 2048\n").await;
    let r =
        pb::ListFilesRequest { parent: "workspaces/dw-test".into(), keyword: "k".repeat(4000), ..Default::default() };
    let e = gw.files().list_files(r).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::ResourceExhausted, "{e:?}");
}

#[tokio::test]
async fn in_flight_limits_refuse_at_once_with_retry_info() {
    use tonic_reflection::pb::v1;
    let gw = start_with_server("  max_in_flight: 3\n  max_in_flight_per_caller: 2\n").await;
    // A reflection stream the caller keeps open holds a call slot.
    let open = |token: Option<&'static str>| {
        let channel = gw.channel.clone();
        async move {
            let (tx, rx) = tokio::sync::mpsc::channel::<v1::ServerReflectionRequest>(1);
            let mut r = tonic::Request::new(tokio_stream::wrappers::ReceiverStream::new(rx));
            if let Some(t) = token {
                r.metadata_mut().insert("authorization", format!("Bearer {t}").parse().unwrap());
            }
            let mut c = v1::server_reflection_client::ServerReflectionClient::new(channel);
            let stream = c.server_reflection_info(r).await.expect("stream opens");
            (tx, stream)
        }
    };
    let a1 = open(None).await;
    let _a2 = open(None).await;
    let mut ws = gw.workspaces();
    let e = ws.list_workspaces(list_workspaces(None)).await.unwrap_err();
    assert_eq!((e.code(), reason(&e).as_str()), (tonic::Code::ResourceExhausted, "CALLER_LIMIT_REACHED"), "{e:?}");
    assert!(e.get_details_retry_info().is_some(), "RetryInfo");
    assert!(e.message().contains("server.max_in_flight_per_caller"), "{}", e.message());
    // Another caller has its own share ...
    let _b1 = open(Some("b")).await;
    // ... until the gateway as a whole is full.
    let e = ws.list_workspaces(list_workspaces(Some("c"))).await.unwrap_err();
    assert_eq!((e.code(), reason(&e).as_str()), (tonic::Code::ResourceExhausted, "GATEWAY_OVERLOADED"), "{e:?}");
    assert!(e.get_details_retry_info().is_some(), "RetryInfo");
    // Health checks are not admitted: probes answer while the gateway is full.
    let health = HealthClient::new(gw.channel.clone()).check(HealthCheckRequest { service: String::new() }).await;
    assert_eq!(health.expect("health while full").into_inner().status(), ServingStatus::Serving);
    // A stream that ends gives its slot back.
    drop(a1);
    let mut served = false;
    for _ in 0..100 {
        if ws.list_workspaces(list_workspaces(Some("c"))).await.is_ok() {
            served = true;
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(served, "the closed stream's slot was never given back");
}

/// Refused together, callers are told different delays (the wait plus a
/// random share of half of it), each also as `grpc-retry-pushback-ms` so a
/// gRPC retry policy honours it: they do not come back in lockstep.
#[tokio::test]
async fn a_burst_of_refusals_spreads_its_retry_delays_and_sends_the_pushback_trailer() {
    use tonic_reflection::pb::v1;
    let gw = start_with_server("  max_in_flight_per_caller: 1\n").await;
    let (_tx, rx) = tokio::sync::mpsc::channel::<v1::ServerReflectionRequest>(1);
    let mut c = v1::server_reflection_client::ServerReflectionClient::new(gw.channel.clone());
    let _held = c.server_reflection_info(tokio_stream::wrappers::ReceiverStream::new(rx)).await.expect("stream opens");
    let burst = (0..35).map(|_| {
        let mut ws = gw.workspaces();
        async move { ws.list_workspaces(list_workspaces(None)).await.unwrap_err() }
    });
    let mut delays = Vec::new();
    for e in futures::future::join_all(burst).await {
        assert_eq!((e.code(), reason(&e).as_str()), (tonic::Code::ResourceExhausted, "CALLER_LIMIT_REACHED"), "{e:?}");
        let delay = e.get_details_retry_info().and_then(|r| r.retry_delay).expect("RetryInfo");
        let pushback = e.metadata().get("grpc-retry-pushback-ms").expect("grpc-retry-pushback-ms");
        assert_eq!(pushback.to_str().unwrap(), delay.as_millis().to_string(), "the trailer says the RetryInfo delay");
        let (wait, most) = (std::time::Duration::from_secs(1), std::time::Duration::from_millis(1500));
        assert!(delay >= wait && delay <= most, "the 1 s wait plus at most half of it: {delay:?}");
        delays.push(delay.as_millis());
    }
    delays.sort_unstable();
    delays.dedup();
    assert!(delays.len() >= 10, "35 refusals should ask for many different delays: {delays:?}");
}

#[tokio::test]
async fn address_in_use_names_the_listener_and_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let dir = common::secrets_dir(&[("ali_ak", "ak-1"), ("ali_sk", "sk-1"), ("hw_ak", "ak-2"), ("hw_sk", "sk-2")]);
    let yaml = common::two_vendor_yaml(dir.path());
    let cfg = datastudio_gateway::config::Config::from_yaml(&yaml).unwrap();
    for (grpc, admin, listener, setting) in
        [(Some(addr), None, "gRPC", "server.grpc_listen"), (None, Some(addr), "admin", "server.admin_listen")]
    {
        let listen = datastudio_gateway::cli::Listen { grpc_listen: grpc, admin_listen: admin };
        let e = datastudio_gateway::gateway::start(&cfg, &listen).await.err().expect("the address is taken");
        let e = format!("{e:#}");
        assert!(e.contains(&format!("the {listener} listener cannot bind {addr} ({setting})")), "{e}");
    }
}

/// After server.max_connection_age a connection is asked to go (GOAWAY);
/// an idle one is then closed.
#[tokio::test]
async fn an_idle_connection_is_closed_at_its_max_age() {
    let gw = start_with_server("  max_connection_age: 1s\n").await;
    let tcp = tokio::net::TcpStream::connect(gw.grpc_addr()).await.unwrap();
    let (_send, conn) = h2::client::handshake(tcp).await.expect("HTTP/2");
    let ended = tokio::time::timeout(std::time::Duration::from_secs(10), conn).await;
    assert!(ended.is_ok(), "the idle connection is still open");
}
