//! HTTP plumbing of the shared vendor client: one pooled rustls client per
//! workspace, the gateway's User-Agent, deadline-bounded sends, transport
//! errors mapped to UNAVAILABLE / DEADLINE_EXCEEDED, and for every attempt
//! a client span (with `traceparent` injected) and vendor call metrics.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use tonic::Code;

use tracing::Instrument;

use super::{Attempt, Vendor};
use crate::{
    config::Timeouts,
    domain::{CallCtx, Error, Reason, Result, VendorDetail},
    telemetry,
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
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Reads a vendor's JSON `body` into `T`. The body is checked to be UTF-8
/// once, as a whole, and read as text: read as bytes, serde_json checks each
/// string it hands out on its own (a page of 100 rows: over a thousand
/// checks, about 6 % of the instructions of a DataWorks list call).
pub(crate) fn from_json<'a, T: serde::Deserialize<'a>>(body: &'a [u8]) -> serde_json::Result<T> {
    let text = std::str::from_utf8(body).map_err(<serde_json::Error as serde::de::Error>::custom)?;
    serde_json::from_str(text)
}

/// Whether a vendor's `body` opens a JSON object (its first character after
/// white space is `{`).
pub(crate) fn is_object(body: &[u8]) -> bool {
    body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// One workspace's pooled HTTP client and its per-attempt timeout.
pub(super) struct Http {
    client: reqwest::Client,
    /// `timeouts.read`: no attempt lasts longer, whatever the caller's deadline.
    read: Duration,
}

/// Builds the pooled client for one workspace.
pub(super) fn client(t: &Timeouts) -> anyhow::Result<Http> {
    crate::install_crypto_provider();
    let client = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(t.connect)
        .pool_idle_timeout(Duration::from_secs(60))
        .build()?;
    Ok(Http { client, read: t.read })
}

/// Time left before the caller's deadline, if it has one.
fn remaining(ctx: &CallCtx) -> Option<Duration> {
    ctx.deadline.map(|d| d.saturating_duration_since(Instant::now()))
}

/// What one vendor HTTP attempt is, for its client span and metrics.
#[derive(Debug, Clone, Copy)]
pub(super) struct Call<'a> {
    /// The vendor.
    pub(super) vendor: &'static Vendor,
    /// Vendor action / API name (`ListDeploymentPackages`, `release-packages.list`).
    pub(super) api: &'a str,
    /// Attempt number and rate-limit wait.
    pub(super) attempt: Attempt,
}

/// Sends `req` once, bounded by the caller's deadline, reads the whole
/// answer, then `parse`s it inside the attempt's client span: a vendor error
/// from `parse` (its `VendorDetail`) gives the span's `vendor.error_code`,
/// `vendor.request_id` and the call's outcome (`throttled`, `rejected`, ...).
pub(super) async fn send_and_parse<T>(
    http: &Http,
    ctx: &CallCtx,
    call: Call<'_>,
    req: reqwest::Request,
    parse: impl FnOnce(&Answer) -> Result<T>,
) -> Result<T> {
    let (attempt, answer) = exchange(http, ctx, call, req).await?;
    let out = answer.and_then(|a| {
        let _g = attempt.span().enter();
        parse(&a)
    });
    attempt.finish(out.as_ref().map(|_| ()));
    out
}

/// One HTTP exchange inside its client span; Err only when no attempt was
/// made (the deadline had passed).
async fn exchange(
    http: &Http,
    ctx: &CallCtx,
    call: Call<'_>,
    mut req: reqwest::Request,
) -> Result<(telemetry::vendor::Attempt, Result<Answer>)> {
    // An attempt ends at `timeouts.read` or the caller's deadline, whichever
    // comes first (a long deadline leaves room for retries, not for one
    // long attempt).
    let mut t = http.read;
    if let Some(left) = remaining(ctx) {
        if left.is_zero() {
            return Err(Error::new(Code::DeadlineExceeded, Reason::DeadlineExceeded, "the call's deadline passed"));
        }
        t = t.min(left);
    }
    *req.timeout_mut() = Some(t);
    let client = &http.client;
    let mut attempt = telemetry::vendor::Attempt::start(
        telemetry::vendor::Request {
            vendor: call.vendor.name,
            request_id_header: call.vendor.request_id_header,
            api: call.api,
            workspace: &ctx.workspace,
            retry_attempt: call.attempt.number,
            limiter_wait: call.attempt.limiter_wait,
        },
        &mut req,
    );
    let vendor = call.vendor.name;
    let unavailable = |e: reqwest::Error| transport_error(vendor, &e);
    let answer = async {
        let resp = client.execute(req).await.map_err(unavailable)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(unavailable)?;
        Ok(Answer { status, headers, body })
    }
    .instrument(attempt.span().clone())
    .await;
    if let Ok(a) = &answer {
        attempt.answered(a.status.as_u16(), &a.headers);
    }
    Ok((attempt, answer))
}

/// Maps a transport failure; never includes headers or bodies.
fn transport_error(vendor: &'static str, e: &reqwest::Error) -> Error {
    let (code, reason, what) = if e.is_timeout() {
        (Code::Unavailable, Reason::VendorTimeout, "timed out")
    } else if e.is_connect() {
        (Code::Unavailable, Reason::VendorUnreachable, "could not be reached")
    } else {
        (Code::Unavailable, Reason::VendorConnectionFailed, "connection failed")
    };
    Error::new(code, reason, format!("the {vendor} API {what}")).with_vendor(VendorDetail {
        vendor: vendor.into(),
        code: reason.as_str().into(),
        request_id: String::new(),
        http_status: 0,
    })
}
