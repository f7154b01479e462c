//! HTTP plumbing shared by the vendor adapters: one pooled rustls client per
//! workspace, the gateway's User-Agent, deadline-bounded sends, transport
//! errors mapped to UNAVAILABLE / DEADLINE_EXCEEDED, and for every attempt
//! a client span (with `traceparent` injected) and vendor call metrics.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use tonic::Code;

use tracing::Instrument;

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

/// What one vendor HTTP attempt is, for its client span and metrics.
///
/// A plain vendor name converts into a `Call` (`http::send(c, ctx, VENDOR, req)`
/// keeps working): the API name is then taken from the `x-acs-action`
/// header, else `other`.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// `alibaba` or `huawei`.
    pub vendor: &'static str,
    /// Vendor action / API name (`ListDeploymentPackages`, `release-packages.list`).
    pub api: &'a str,
    /// 0 for the first attempt, n for the n-th retry (`retry.attempt`).
    pub attempt: u32,
    /// How long this attempt waited for a rate-limit slot (`limiter.wait_ms`).
    pub limiter_wait: Duration,
}

impl<'a> Call<'a> {
    /// A first attempt of `api`, with no limiter wait.
    pub fn new(vendor: &'static str, api: &'a str) -> Self {
        Call { vendor, api, attempt: 0, limiter_wait: Duration::ZERO }
    }
    /// Sets the attempt number (0 = first).
    pub fn attempt(mut self, n: u32) -> Self {
        self.attempt = n;
        self
    }
    /// Sets the time waited for a rate-limit slot.
    pub fn limiter_wait(mut self, d: Duration) -> Self {
        self.limiter_wait = d;
        self
    }
}

impl From<&'static str> for Call<'static> {
    fn from(vendor: &'static str) -> Self {
        Call::new(vendor, "")
    }
}

/// Sends `req` once, bounded by the caller's deadline, and reads the whole
/// answer. Every attempt gets one client span (child of the current span,
/// its `traceparent` injected into `req` when `telemetry.propagate_to_vendor`
/// is on) and one `datastudio_vendor_calls_total` count, its outcome taken
/// from the HTTP status. Prefer [`send_and_parse`], whose span and outcome
/// also know the vendor's error code.
pub async fn send<'a>(
    client: &reqwest::Client,
    ctx: &CallCtx,
    call: impl Into<Call<'a>>,
    req: reqwest::Request,
) -> Result<Answer> {
    let (attempt, answer) = exchange(client, ctx, call.into(), req).await?;
    attempt.finish(answer.as_ref().map(|_| ()));
    answer
}

/// [`send`], then `parse` the answer inside the same span: a vendor error
/// from `parse` (its `VendorDetail`) gives the span's `vendor.error_code`,
/// `vendor.request_id` and the call's outcome (`throttled`, `rejected`, ...).
pub async fn send_and_parse<'a, T>(
    client: &reqwest::Client,
    ctx: &CallCtx,
    call: impl Into<Call<'a>>,
    req: reqwest::Request,
    parse: impl FnOnce(&Answer) -> Result<T>,
) -> Result<T> {
    let (attempt, answer) = exchange(client, ctx, call.into(), req).await?;
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
    client: &reqwest::Client,
    ctx: &CallCtx,
    call: Call<'_>,
    mut req: reqwest::Request,
) -> Result<(telemetry::vendor::Attempt, Result<Answer>)> {
    if let Some(left) = remaining(ctx) {
        if left.is_zero() {
            return Err(Error::new(Code::DeadlineExceeded, Reason::DeadlineExceeded, "the call's deadline passed"));
        }
        let t = req.timeout().copied().map_or(left, |t| t.min(left));
        *req.timeout_mut() = Some(t);
    }
    let mut attempt = telemetry::vendor::Attempt::start(
        telemetry::vendor::Request {
            vendor: call.vendor,
            api: call.api,
            workspace: &ctx.workspace,
            retry_attempt: call.attempt,
            limiter_wait: call.limiter_wait,
        },
        &mut req,
    );
    let vendor = call.vendor;
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
