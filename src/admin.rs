//! The admin HTTP port: `/healthz` (alive), `/readyz` (taking calls) and
//! `/metrics` (Prometheus metrics, OpenMetrics text).

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use axum::{Router, extract::State, http::StatusCode, routing::get};
use tokio::{net::TcpListener, sync::watch};

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

/// Serves the admin port until `stop` turns true.
pub(crate) async fn serve(listener: TcpListener, ready: Arc<Readiness>, mut stop: watch::Receiver<bool>) {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(ready);
    let _ = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await;
}
