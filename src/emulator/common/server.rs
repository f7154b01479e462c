//! Serving an emulator: the `/_emulator/...` control routes, [`Handle`], a mid-answer reset.

use axum::{
    Json,
    extract::State,
    routing::{get, post},
};

use super::control::{Control, FaultRule, Recorded, ThrottleConfig};

/// Routes for `/_emulator/...` (faults, throttle, request log), shared by both emulators.
pub(crate) fn control_routes<S: Clone + Send + Sync + 'static>(control: Control) -> axum::Router<S> {
    axum::Router::new()
        .route("/_emulator/faults", post(inject).delete(clear_faults))
        .route("/_emulator/throttle", post(set_throttle))
        .route("/_emulator/requests", get(requests))
        .route("/_emulator/expire-credentials", post(expire_credentials))
        .with_state(control)
}

async fn inject(State(c): State<Control>, Json(rule): Json<FaultRule>) -> &'static str {
    c.inject(rule);
    "ok"
}

async fn clear_faults(State(c): State<Control>) -> &'static str {
    c.clear_faults();
    "ok"
}

async fn set_throttle(State(c): State<Control>, Json(t): Json<ThrottleConfig>) -> &'static str {
    c.set_throttle(t);
    "ok"
}

async fn expire_credentials(State(c): State<Control>) -> &'static str {
    c.expire_issued_credentials();
    "ok"
}

async fn requests(State(c): State<Control>) -> Json<Vec<Recorded>> {
    Json(c.requests())
}

/// A running emulator (stops when dropped).
pub struct Handle {
    /// Bound address.
    pub addr: std::net::SocketAddr,
    /// Faults, throttle and request log.
    pub control: Control,
    task: tokio::task::JoinHandle<()>,
}

impl Handle {
    /// `http://addr`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `app` on `listener` in a task, with TCP_NODELAY (without it a
/// header write followed by a body write waits on the peer's delayed ACK).
pub(crate) fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    control: Control,
    name: &'static str,
) -> anyhow::Result<Handle> {
    let addr = listener.local_addr()?;
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp: &mut tokio::net::TcpStream| {
        let _ = tcp.set_nodelay(true);
    });
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, emulator = name, "emulator stopped");
        }
    });
    Ok(Handle { addr, control, task })
}

/// A response whose body fails right after the headers: the client sees
/// the connection break mid-answer, like a reset.
pub(crate) fn reset_response() -> axum::response::Response {
    let broken = futures::stream::once(async {
        Err::<bytes::Bytes, std::io::Error>(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "injected reset"))
    });
    axum::response::Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(axum::body::Body::from_stream(broken))
        .unwrap_or_default()
}
