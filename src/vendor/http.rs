//! HTTP plumbing shared by the vendor adapters: one pooled rustls client per
//! workspace, the gateway's User-Agent, deadline-bounded sends, transport
//! errors mapped to UNAVAILABLE / DEADLINE_EXCEEDED.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use tonic::Code;

use crate::{
    config::Timeouts,
    domain::{CallCtx, Error, Result, VendorDetail},
};

/// The User-Agent every vendor request carries.
pub const USER_AGENT: &str = concat!("datastudio-gateway/", env!("CARGO_PKG_VERSION"));

/// A vendor answer, read whole.
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Bytes,
}

impl Answer {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Builds the pooled client for one workspace.
pub fn client(t: &Timeouts) -> anyhow::Result<reqwest::Client> {
    crate::install_crypto_provider();
    Ok(reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(t.connect)
        .timeout(t.read)
        .pool_idle_timeout(Duration::from_secs(60))
        .build()?)
}

/// Time left before the caller's deadline, if it has one.
pub fn remaining(ctx: &CallCtx) -> Option<Duration> {
    ctx.deadline.map(|d| d.saturating_duration_since(Instant::now()))
}

/// Sends `req`, bounded by the caller's deadline, and reads the whole answer.
pub async fn send(
    client: &reqwest::Client,
    ctx: &CallCtx,
    vendor: &'static str,
    mut req: reqwest::Request,
) -> Result<Answer> {
    if let Some(left) = remaining(ctx) {
        if left.is_zero() {
            return Err(Error::new(Code::DeadlineExceeded, "DEADLINE_EXCEEDED", "the call's deadline passed"));
        }
        let t = req.timeout().copied().map_or(left, |t| t.min(left));
        *req.timeout_mut() = Some(t);
    }
    let unavailable = |e: reqwest::Error| transport_error(vendor, &e);
    let resp = client.execute(req).await.map_err(unavailable)?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.bytes().await.map_err(unavailable)?;
    Ok(Answer { status, headers, body })
}

/// Maps a transport failure; never includes headers or bodies.
fn transport_error(vendor: &'static str, e: &reqwest::Error) -> Error {
    let (code, reason, what) = if e.is_timeout() {
        (Code::Unavailable, "VENDOR_TIMEOUT", "timed out")
    } else if e.is_connect() {
        (Code::Unavailable, "VENDOR_UNREACHABLE", "could not be reached")
    } else {
        (Code::Unavailable, "VENDOR_CONNECTION_FAILED", "connection failed")
    };
    Error::new(code, reason, format!("the {vendor} API {what}")).with_vendor(VendorDetail {
        vendor,
        code: reason.into(),
        request_id: String::new(),
        http_status: 0,
    })
}
