//! The admin HTTP port: `/healthz` (alive), `/readyz` (taking calls) and
//! `/metrics` (Prometheus metrics, OpenMetrics text). HTTP/1.1 only, with a
//! header read timeout and a cap on open connections, so slow or idle
//! clients cannot hold the port (or the process's file descriptors).

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use axum::{Router, extract::State, http::StatusCode, routing::get};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use tokio::{
    net::TcpListener,
    sync::{Semaphore, watch},
};

/// Whether the gateway takes calls.
#[derive(Debug, Default)]
pub(crate) struct Readiness(AtomicBool);

impl Readiness {
    /// Sets readiness.
    pub(crate) fn set_ready(&self, v: bool) {
        self.0.store(v, Ordering::SeqCst);
    }
    /// Reads readiness.
    pub(crate) fn is_ready(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

async fn readyz(State(r): State<Arc<Readiness>>) -> (StatusCode, &'static str) {
    if r.is_ready() { (StatusCode::OK, "ready\n") } else { (StatusCode::SERVICE_UNAVAILABLE, "draining\n") }
}

async fn metrics() -> (StatusCode, [(&'static str, &'static str); 1], String) {
    use crate::telemetry::metrics;
    (StatusCode::OK, [("content-type", metrics::CONTENT_TYPE)], metrics::encode())
}

/// Bounds of the admin port.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Connections served at once; more are closed at once.
    pub(crate) max_connections: usize,
    /// Time a connection has to send a request's headers (also between
    /// keep-alive requests).
    pub(crate) header_timeout: Duration,
}

/// Serves the admin port (HTTP/1.1) until `stop` turns true; open
/// connections then finish their requests.
pub(crate) async fn serve(
    listener: TcpListener,
    ready: Arc<Readiness>,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(ready);
    let service = TowerToHyperService::new(app);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut full = false;
    loop {
        let tcp = tokio::select! {
            tcp = crate::server::conn::accept(&listener, "admin") => tcp,
            _ = stop.wait_for(|s| *s) => break,
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            // Closed at once: the admin port never holds more than its cap.
            if !full {
                tracing::warn!(
                    max = limits.max_connections,
                    "admin port: connection cap reached (server.max_admin_connections); closing new connections"
                );
            }
            full = true;
            continue;
        };
        full = false;
        let conn = graceful.watch(http.serve_connection(TokioIo::new(tcp), service.clone()));
        tokio::spawn(async move {
            let _ = conn.await;
            drop(permit);
        });
    }
    graceful.shutdown().await;
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    async fn admin(limits: Limits) -> (std::net::SocketAddr, watch::Sender<bool>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = watch::channel(false);
        tokio::spawn(serve(listener, Arc::new(Readiness::default()), limits, rx));
        (addr, tx)
    }

    async fn healthz(addr: std::net::SocketAddr) -> std::io::Result<String> {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await?;
        let mut out = String::new();
        s.read_to_string(&mut out).await?;
        Ok(out)
    }

    #[tokio::test]
    async fn slow_headers_are_cut_and_connections_are_capped() {
        let (addr, _stop) = admin(Limits { max_connections: 2, header_timeout: Duration::from_millis(300) }).await;
        // Two connections that never finish their headers hold the cap ...
        let mut slow = Vec::new();
        for _ in 0..2 {
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            s.write_all(b"GET /healthz HTTP/1.1\r\nx-slow: ").await.unwrap();
            slow.push(s);
        }
        tokio::task::yield_now().await;
        // ... so a third is closed at once, unanswered ...
        let refused = healthz(addr).await.unwrap_or_default();
        assert!(!refused.contains("200 OK"), "{refused}");
        // ... until the header timeout closes them.
        let mut buf = Vec::new();
        for mut s in slow {
            let _ = s.read_to_end(&mut buf).await;
        }
        assert!(healthz(addr).await.unwrap().contains("200 OK"));
    }
}
