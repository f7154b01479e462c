//! Hostile and careless callers against the real binary (demo mode, the
//! default server limits): connections whose streams never read (receive
//! window 0), idle and half-greeted connections, a 100 KB bearer token,
//! a thousand watches from one caller. The process keeps bounded memory,
//! stays alive, and serves other callers within their deadlines.

mod common;

use std::{
    net::SocketAddr,
    process::{Child, Command},
    time::Duration,
};

use bytes::Bytes;
use datastudio_gateway::pb;
use h2::client::SendRequest;
use tokio::{io::AsyncWriteExt, time::timeout};
use tonic::{Code, transport::Channel};
use tonic_reflection::pb::v1::{ServerReflectionRequest, server_reflection_request::MessageRequest};

const REFLECTION: &str = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
const WATCH: &str = "/datastudio.v1.ReleaseService/WatchDeployment";

/// Kills the demo when the test ends, however it ends; keeps its log
/// (stdout) after the ready line.
struct Demo(Child, std::sync::Arc<std::sync::Mutex<String>>);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Demo {
    fn start() -> (Demo, SocketAddr) {
        Demo::start_with(Command::new(common::binary()))
    }

    /// The demo with at most `files` open file descriptors (`ulimit -n`)
    /// and `env` set.
    fn start_limited(files: u32, env: &[(&str, &str)]) -> (Demo, SocketAddr) {
        let mut sh = Command::new("sh");
        sh.args(["-c", &format!("ulimit -n {files} && exec \"$0\" \"$@\"")]).arg(common::binary());
        sh.envs(env.iter().copied());
        Demo::start_with(sh)
    }

    fn start_with(cmd: Command) -> (Demo, SocketAddr) {
        let (child, printed, log) = common::demo::start(cmd);
        let grpc = printed.field("grpc=").parse().expect("grpc address");
        (Demo(child, log), grpc)
    }

    /// Resident memory, KiB (`VmRSS` of /proc/PID/status).
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.0.id())).expect("proc status");
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS");
        line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("VmRSS value")
    }

    fn alive(&mut self) -> bool {
        self.0.try_wait().expect("try_wait").is_none()
    }
}

/// Opens up to `n` streams of `path` on `conn` that are never read nor
/// closed; returns how many the gateway holds open and how many it refused
/// at once with RESOURCE_EXHAUSTED. Streams are kept alive in `keep`.
async fn open_unread(
    conn: &SendRequest<Bytes>,
    path: &str,
    msg: &impl prost::Message,
    meta: &[(&str, &str)],
    n: usize,
    keep: &mut Vec<(h2::client::ResponseFuture, h2::SendStream<Bytes>)>,
) -> (usize, usize) {
    let (mut held, mut refused) = (0, 0);
    for _ in 0..n {
        // The gateway's stream limit per connection: past it, a new stream waits.
        let Ok(Ok((mut resp, stream))) =
            timeout(Duration::from_millis(200), common::raw::start(conn, path, msg, meta, false)).await
        else {
            break;
        };
        // A refusal comes at once as a trailers-only answer; an admitted
        // stream answers (headers) and then waits for the reader.
        let answer = match timeout(Duration::from_secs(2), &mut resp).await {
            Ok(a) => a,
            // Not sent: the client waits for a free stream of the connection (its limit).
            Err(_) => break,
        };
        match answer {
            Ok(r) if r.headers().get("grpc-status").is_some() => {
                assert_eq!(
                    r.headers().get("grpc-status").map(|v| Code::from_bytes(v.as_bytes())),
                    Some(Code::ResourceExhausted),
                    "{:?}",
                    r.headers()
                );
                refused += 1;
                continue;
            }
            _ => held += 1,
        }
        keep.push((resp, stream));
    }
    (held, refused)
}

async fn good_caller(grpc: SocketAddr) -> Result<(), tonic::Status> {
    let channel = Channel::from_shared(format!("http://{grpc}"))
        .expect("uri")
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    fn with<T>(r: T) -> tonic::Request<T> {
        let mut r = tonic::Request::new(r);
        r.metadata_mut().insert("authorization", "Bearer good-caller".parse().expect("token"));
        r.set_timeout(Duration::from_secs(3));
        r
    }
    pb::workspace_service_client::WorkspaceServiceClient::new(channel.clone())
        .list_workspaces(with(pb::ListWorkspacesRequest::default()))
        .await?;
    pb::file_service_client::FileServiceClient::new(channel)
        .get_file(with(pb::GetFileRequest { name: "workspaces/demo-dataworks/files/100001".into(), view: 0 }))
        .await?;
    Ok(())
}

/// Starts a deployment of a demo file; its name.
async fn deploy(grpc: SocketAddr) -> String {
    let channel = Channel::from_shared(format!("http://{grpc}")).expect("uri").connect().await.expect("connect");
    pb::release_service_client::ReleaseServiceClient::new(channel)
        .deploy_files(pb::DeployFilesRequest {
            parent: "workspaces/demo-dataworks".into(),
            files: vec!["workspaces/demo-dataworks/files/100001".into()],
            request_id: uuid::Uuid::new_v4().to_string(),
            ..Default::default()
        })
        .await
        .expect("deploy")
        .into_inner()
        .deployments
        .remove(0)
        .name
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_callers_get_bounded_resources_and_others_are_served() {
    datastudio_gateway::install_crypto_provider();
    let (mut demo, grpc) = Demo::start();
    good_caller(grpc).await.expect("served before the attack");
    let deployment = deploy(grpc).await;
    let before = demo.rss_kib();

    // 1. 60 connections whose streams never read: receive window 0, as many
    //    reflection streams as the gateway lets each open.
    let reflect = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::FileContainingSymbol("datastudio.v1.ReleaseService".into())),
    };
    let mut keep = Vec::new();
    let mut conns = Vec::new();
    let (mut held, mut refused) = (0, 0);
    let attack = async {
        for _ in 0..60 {
            let conn = common::raw::connect(grpc, Some(0)).await;
            let (h, r) = open_unread(&conn, REFLECTION, &reflect, &[], 100, &mut keep).await;
            held += h;
            refused += r;
            conns.push(conn);
        }
    };
    timeout(Duration::from_secs(60), attack).await.expect("the attack is bounded in time");
    assert!(held <= 128, "one caller held {held} streams, more than its share (128); RSS {} KiB", demo.rss_kib());
    assert!(refused > 0, "no stream was refused");

    // 2. Idle connections that never send the HTTP/2 preface, and slow ones
    //    that send half of it.
    let mut idle = Vec::new();
    for i in 0..200 {
        let mut s = tokio::net::TcpStream::connect(grpc).await.expect("idle connection");
        if i % 4 == 0 {
            s.write_all(b"PRI * HTTP/2.0\r\n").await.expect("half a preface");
        }
        idle.push(s);
    }

    // 3. A 100 KB bearer token fails that call alone; its connection lives.
    let conn = common::raw::connect(grpc, None).await;
    let token = format!("Bearer {}", "t".repeat(100_000));
    let req = pb::ListWorkspacesRequest::default();
    let list = "/datastudio.v1.WorkspaceService/ListWorkspaces";
    let code = common::raw::unary(&conn, list, &req, &[("authorization", &token)]).await;
    assert_eq!(code, Code::Unauthenticated);
    let code = common::raw::unary(&conn, list, &req, &[("authorization", "Bearer small")]).await;
    assert_eq!(code, Code::Ok, "the connection survived the large token");

    // 4. A thousand watches of one deployment from one caller, never read:
    //    it holds its share.
    let watch = pb::WatchDeploymentRequest { name: deployment, view: 0 };
    let (mut watching, mut watch_refused) = (0, 0);
    for _ in 0..10 {
        let conn = common::raw::connect(grpc, Some(0)).await;
        let mut calls = Vec::new();
        for _ in 0..100 {
            let meta = [("authorization", "Bearer greedy")];
            calls.push(common::raw::start(&conn, WATCH, &watch, &meta, true).await.expect("watch starts"));
        }
        // Refusals come at once; an admitted watch answers once it has
        // looked (a deployment that has ended is looked up at the vendor,
        // within the vendor's rate), or holds its slot while it waits.
        let answers =
            futures::future::join_all(calls.iter_mut().map(|(resp, _)| timeout(Duration::from_secs(5), resp))).await;
        for a in answers {
            match a {
                Ok(Ok(r)) if r.headers().get("grpc-status").is_some() => {
                    assert_eq!(
                        r.headers().get("grpc-status").map(|v| Code::from_bytes(v.as_bytes())),
                        Some(Code::ResourceExhausted)
                    );
                    watch_refused += 1;
                }
                _ => watching += 1,
            }
        }
        keep.extend(calls);
        conns.push(conn);
    }
    // A watch of a deployment that has ended gives its watch slot back once
    // its last message is written; the unread answer still holds a call slot.
    assert!(watching <= 128, "one caller kept {watching} watches open");
    assert!(watch_refused >= 1000 - 128, "only {watch_refused} watches refused");

    // Others are served within their deadline; memory stays bounded.
    good_caller(grpc).await.expect("another caller is served during the attack");
    let after = demo.rss_kib();
    assert!(demo.alive(), "the gateway died");
    assert!(after < 64 * 1024, "RSS {after} KiB (before the attack: {before} KiB)");
    eprintln!(
        "RSS {before} KiB -> {after} KiB; reflection streams held {held}, refused {refused}; watches held \
         {watching}, refused {watch_refused}"
    );
    drop((keep, conns, idle));
}

/// With few file descriptors (`ulimit -n 256`), 300 connections that never
/// greet do not starve other callers: each is closed after
/// server.handshake_timeout, and accepting backs off instead of spinning
/// while the descriptors are used up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_and_do_not_starve_callers() {
    datastudio_gateway::install_crypto_provider();
    // Long enough that the gateway, slow on a loaded machine, has taken every
    // descriptor before the first idle connection is closed; short enough
    // that the closes come within the test.
    let env = [("DSGW_SERVER__HANDSHAKE_TIMEOUT", "3s"), ("RUST_LOG", "warn")];
    let (mut demo, grpc) = Demo::start_limited(256, &env);
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(tokio::net::TcpStream::connect(grpc).await.expect("connect (the backlog takes it)"));
    }
    // Another caller, queued behind them, is served within its deadline.
    let served = timeout(Duration::from_secs(20), async {
        let channel = Channel::from_shared(format!("http://{grpc}")).expect("uri").connect().await?;
        let mut r = tonic::Request::new(pb::ListWorkspacesRequest::default());
        r.set_timeout(Duration::from_secs(15));
        pb::workspace_service_client::WorkspaceServiceClient::new(channel)
            .list_workspaces(r)
            .await
            .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { e.into() })?;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    })
    .await;
    assert!(matches!(served, Ok(Ok(()))), "another caller starved: {served:?}");
    // The idle connections were closed by the gateway (after its SETTINGS).
    let mut closed = 0;
    for s in &mut idle {
        let mut buf = Vec::new();
        if timeout(Duration::from_secs(5), tokio::io::AsyncReadExt::read_to_end(s, &mut buf)).await.is_ok() {
            closed += 1;
        }
    }
    assert!(closed >= 250, "only {closed} of 300 idle connections were closed");
    assert!(demo.alive(), "the gateway died");
    // Out of descriptors, accepting backed off and said so once per run, not once per try.
    let log = demo.1.lock().expect("log").clone();
    let told = log.matches("cannot accept connections").count();
    assert!((1..=5).contains(&told), "{told} accept failures logged:\n{log}");
}
