//! The gRPC server and the admin HTTP port, with graceful drain.
//!
//! Request path: connection hygiene ([`conn`]: handshake timeout, accept
//! back-off) → tonic (grpc-timeout honoured, message size, HTTP/2 stream,
//! window, header and keepalive limits, calls past the per-connection limit
//! refused at once) → CORS ([`web`]) → HTTP/JSON into gRPC ([`http_json`])
//! → gRPC-Web into gRPC (tonic-web) → trace (server span with the caller's trace context, RPC
//! metrics) → health, or admission ([`admit`]: in-flight, per-caller and
//! metadata limits) → reflection / the three services → adapters.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use tokio::{net::TcpListener, sync::watch, task::JoinHandle};
use tokio_stream::StreamExt;
use tonic::transport::Server;

use crate::{admin, api::Api, pb, telemetry};

pub(crate) mod admit;
pub(crate) mod conn;
pub(crate) mod http_json;
pub(crate) mod web;

/// Names of the services reported by `grpc.health.v1`.
pub const SERVICES: [&str; 3] =
    ["datastudio.v1.ReleaseService", "datastudio.v1.FileService", "datastudio.v1.WorkspaceService"];

/// HTTP/2 streams a connection advertises, per call it may run at once:
/// the calls past `server.max_concurrent_streams` reach the gateway and are
/// refused at once rather than queued in the client.
const STREAM_HEADROOM: u32 = 4;

/// Server settings taken from the config (and CLI overrides).
#[derive(Debug, Clone)]
pub struct Settings {
    /// gRPC listen address (port 0 picks one).
    pub grpc_listen: SocketAddr,
    /// Admin listen address (port 0 picks one).
    pub admin_listen: SocketAddr,
    /// Drain time after a shutdown signal.
    pub shutdown_grace: Duration,
    /// Largest message, bytes.
    pub max_message_bytes: usize,
    /// Calls in progress per connection; more are refused at once.
    pub max_concurrent_streams: u32,
    /// In-flight, per-caller and metadata limits.
    pub(crate) admission: admit::Limits,
    /// Largest HTTP/2 header list, bytes.
    pub max_header_list_bytes: u32,
    /// HTTP/2 receive window per stream, bytes.
    pub stream_window_bytes: u32,
    /// HTTP/2 receive window per connection, bytes.
    pub connection_window_bytes: u32,
    /// HTTP/2 keepalive ping interval.
    pub keepalive_interval: Duration,
    /// HTTP/2 keepalive ping timeout.
    pub keepalive_timeout: Duration,
    /// Time a new connection has to greet: the HTTP/2 preface (gRPC port),
    /// a request's headers (admin port, also between keep-alive requests).
    pub handshake_timeout: Duration,
    /// Connections the admin port serves at once.
    pub max_admin_connections: usize,
    /// Age after which a gRPC connection gets GOAWAY.
    pub max_connection_age: Duration,
    /// Serve reflection.
    pub reflection: bool,
    /// TLS (and mTLS) on the gRPC port.
    pub tls: Option<crate::config::TlsConfig>,
    /// Browser origins allowed cross-origin (CORS).
    pub cors_allowed_origins: Vec<String>,
}

impl From<&crate::config::ServerConfig> for Settings {
    fn from(c: &crate::config::ServerConfig) -> Self {
        Settings {
            grpc_listen: c.grpc_listen,
            admin_listen: c.admin_listen,
            shutdown_grace: c.shutdown_grace,
            max_message_bytes: c.max_message_bytes,
            max_concurrent_streams: c.max_concurrent_streams,
            admission: admit::Limits {
                max_in_flight: c.max_in_flight,
                max_in_flight_per_caller: c.max_in_flight_per_caller,
                max_watches_per_caller: c.max_watches_per_caller,
                max_metadata_bytes: c.max_metadata_bytes,
            },
            max_header_list_bytes: c.max_header_list_bytes,
            stream_window_bytes: c.stream_window_bytes,
            connection_window_bytes: c.connection_window_bytes,
            keepalive_interval: c.keepalive_interval,
            keepalive_timeout: c.keepalive_timeout,
            handshake_timeout: c.handshake_timeout,
            max_admin_connections: c.max_admin_connections,
            max_connection_age: c.max_connection_age,
            reflection: c.reflection,
            tls: c.tls.clone(),
            cors_allowed_origins: c.cors_allowed_origins.clone(),
        }
    }
}

/// A running server.
pub struct Running {
    /// Bound gRPC address.
    pub grpc_addr: SocketAddr,
    /// Bound admin address.
    pub admin_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    admin_shutdown: watch::Sender<bool>,
    grpc: JoinHandle<Result<(), tonic::transport::Error>>,
    admin: JoinHandle<()>,
    health: tonic_health::server::HealthReporter,
    ready: Arc<admin::Readiness>,
    grace: Duration,
    /// The services' state, for tests to look inside.
    #[cfg(any(test, feature = "test-util"))]
    api: Api,
}

/// Binds both ports and starts serving `api`.
pub async fn start(settings: &Settings, api: Api) -> anyhow::Result<Running> {
    // TLS files are read before binding, so a bad certificate fails the start.
    let tls = settings.tls.as_ref().map(crate::auth::tls::Reloading::new).transpose()?;
    let grpc_listener = bind("gRPC", "server.grpc_listen", settings.grpc_listen).await?;
    let admin_listener = bind("admin", "server.admin_listen", settings.admin_listen).await?;
    let grpc_addr = grpc_listener.local_addr()?;
    let admin_addr = admin_listener.local_addr()?;

    let (health, health_service) = tonic_health::server::health_reporter();
    for s in SERVICES {
        health.set_service_status(s, tonic_health::ServingStatus::Serving).await;
    }
    health.set_service_status("", tonic_health::ServingStatus::Serving).await;

    let (shutdown, mut rx) = watch::channel(false);
    let n = settings.max_message_bytes;
    let methods = telemetry::trace::Methods::from_descriptor_sets(&[
        pb::FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
    ]);
    // Calls to the API and reflection are admitted (limits, metadata size);
    // health checks are not, so probes answer while the gateway is full.
    let admit = admit::Admission::new(settings.admission);
    // Calls past the per-connection limit are refused at once
    // (RESOURCE_EXHAUSTED), not queued: the connection advertises more
    // HTTP/2 streams than the limit, so a client's extra calls reach the
    // gateway instead of waiting in the client for a stream while earlier
    // calls wait for their rate-limit turns.
    let limit = settings.max_concurrent_streams;
    // HTTP/JSON and gRPC-Web share the port (HTTP/1.1 too), routed by
    // content type: see http_json and web.
    let http_json = http_json::Routes::new(&[pb::FILE_DESCRIPTOR_SET, tonic_types::pb::FILE_DESCRIPTOR_SET], n)?;
    let mut router = Server::builder()
        .accept_http1(true)
        .max_concurrent_streams(Some(limit.saturating_mul(STREAM_HEADROOM)))
        .concurrency_limit_per_connection(usize::try_from(limit).unwrap_or(usize::MAX))
        .load_shed(true)
        .initial_stream_window_size(settings.stream_window_bytes)
        .initial_connection_window_size(settings.connection_window_bytes)
        .http2_max_header_list_size(settings.max_header_list_bytes)
        .http2_keepalive_interval(Some(settings.keepalive_interval))
        .http2_keepalive_timeout(Some(settings.keepalive_timeout))
        .max_connection_age(settings.max_connection_age)
        .layer(web::cors(&settings.cors_allowed_origins))
        .layer(http_json::HttpJsonLayer::new(http_json))
        .layer(tonic_web::GrpcWebLayer::new())
        .layer(telemetry::trace::layer(methods))
        .add_service(health_service)
        .add_service(admit.wrap(api.release_service().max_decoding_message_size(n).max_encoding_message_size(n)))
        .add_service(admit.wrap(api.file_service().max_decoding_message_size(n).max_encoding_message_size(n)))
        .add_service(admit.wrap(api.workspace_service().max_decoding_message_size(n).max_encoding_message_size(n)));
    if settings.reflection {
        let v1 = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            // google.rpc error details, so grpcurl and other reflection clients decode them.
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
            .build_v1()?;
        let v1alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            // google.rpc error details, so grpcurl and other reflection clients decode them.
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
            .build_v1alpha()?;
        router = router.add_service(admit.wrap(v1)).add_service(admit.wrap(v1alpha));
    }
    let stop = async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    // A connection has server.handshake_timeout to send the HTTP/2 preface
    // (after its TLS handshake); accepting backs off while it fails.
    let greet = settings.handshake_timeout;
    let grpc = match tls {
        // TLS connections (handshakes, certificate reload): see auth::tls.
        Some(tls) => {
            let incoming =
                crate::auth::tls::incoming(grpc_listener, tls).map(move |s| s.map(|s| conn::Greeting::new(s, greet)));
            tokio::spawn(router.serve_with_incoming_shutdown(incoming, stop))
        }
        None => {
            let incoming = async_stream::stream! {
                loop {
                    let s = conn::accept(&grpc_listener, "gRPC").await;
                    yield Ok::<_, std::io::Error>(conn::Greeting::new(s, greet));
                }
            };
            tokio::spawn(router.serve_with_incoming_shutdown(incoming, stop))
        }
    };

    let ready = Arc::new(admin::Readiness::default());
    ready.set_ready(true);
    // The admin port outlives the drain: probes read `draining`, and
    // `/metrics` answers, until the last call has finished.
    let (admin_shutdown, admin_rx) = watch::channel(false);
    let admin_limits = admin::Limits { max_connections: settings.max_admin_connections, header_timeout: greet };
    let admin = tokio::spawn(admin::serve(admin_listener, ready.clone(), admin_limits, admin_rx));
    Ok(Running {
        grpc_addr,
        admin_addr,
        shutdown,
        admin_shutdown,
        grpc,
        admin,
        health,
        ready,
        grace: settings.shutdown_grace,
        #[cfg(any(test, feature = "test-util"))]
        api,
    })
}

impl Running {
    /// Whether this gateway's deployment engine polls the deployment
    /// `workspaces/{workspace}/deployments/{id}` now (with the Redis
    /// backend: holds its lease).
    #[cfg(any(test, feature = "test-util"))]
    pub fn drives(&self, workspace: &str, id: &str) -> bool {
        self.api.engine().drives(workspace, id)
    }

    /// Stops taking calls, lets in-flight calls finish within the grace
    /// period, then returns. Health reports NOT_SERVING from the start.
    pub async fn shutdown(self) {
        self.ready.set_ready(false);
        for s in SERVICES {
            self.health.set_service_status(s, tonic_health::ServingStatus::NotServing).await;
        }
        self.health.set_service_status("", tonic_health::ServingStatus::NotServing).await;
        let _ = self.shutdown.send(true);
        let grpc = self.grpc;
        match tokio::time::timeout(self.grace, grpc).await {
            Ok(Ok(Ok(()))) => tracing::info!("drained; all in-flight calls finished"),
            Ok(Ok(Err(e))) => tracing::error!(error = %e, "gRPC server ended with an error"),
            Ok(Err(e)) => tracing::error!(error = %e, "gRPC server task failed"),
            Err(_) => tracing::warn!(grace = ?self.grace, "shutdown grace ran out; dropping remaining calls"),
        }
        let _ = self.admin_shutdown.send(true);
        let mut admin = self.admin;
        if tokio::time::timeout(ADMIN_CLOSE, &mut admin).await.is_err() {
            admin.abort();
        }
    }
}

/// How long admin connections (a scrape in progress) may take to close
/// once the drain has ended.
const ADMIN_CLOSE: Duration = Duration::from_secs(1);

/// Binds a listener; an error names the listener, its setting and the address.
async fn bind(listener: &str, setting: &str, addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("the {listener} listener cannot bind {addr} ({setting}): {e}"))
}

/// Resolves when SIGTERM or SIGINT arrives.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
