//! The client span and the metrics of one vendor HTTP attempt; used by
//! the shared vendor client (`providers::client`), so every attempt of
//! every driver gets one span.
//!
//! Span: named `{METHOD} {vendor API}` (the API name is the low-cardinality
//! route: DataWorks sends every action to `POST /`), kind client, HTTP
//! client semconv (`http.request.method`, `url.full` without query or user
//! info, `server.address`, `server.port`, `http.response.status_code`,
//! `error.type`) and the gateway's own attributes (see [`attr`]). No header
//! value and no body is ever recorded, so signatures and tokens
//! (`Authorization`, `x-acs-security-token`, `X-Auth-Token`,
//! `X-Security-Token`) cannot leak into telemetry.

use std::time::{Duration, Instant};

use http::HeaderMap;
use tracing::{Span, field::Empty};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::{metrics, propagation};
use crate::domain::{Error, Fate, Reason};

/// Attribute names of the client span beyond HTTP semconv.
pub(crate) mod attr {
    /// The vendor's request id (`x-acs-request-id` / `RequestId`, `X-Request-Id`).
    pub(crate) const REQUEST_ID: &str = "vendor.request_id";
    /// The vendor's error code (`Throttling.User`, `DLF.0810`), on errors.
    pub(crate) const ERROR_CODE: &str = "vendor.error_code";
}

/// Outcome words of `datastudio_vendor_calls_total{outcome}`.
pub(crate) mod outcome {
    /// A 2xx answer the adapter accepted.
    pub(crate) const OK: &str = "ok";
    /// Throttled (HTTP 429, `Throttling.*`, `APIGW.0308`).
    pub(crate) const THROTTLED: &str = "throttled";
    /// The daily quota is used up (`Throttling.Api.Risk`).
    pub(crate) const QUOTA_EXHAUSTED: &str = "quota_exhausted";
    /// No answer within the timeout or the caller's deadline.
    pub(crate) const TIMEOUT: &str = "timeout";
    /// Connect failure or connection reset.
    pub(crate) const TRANSPORT_ERROR: &str = "transport_error";
    /// The vendor rejected the gateway's credentials.
    pub(crate) const AUTH_ERROR: &str = "auth_error";
    /// Vendor 5xx or internal error.
    pub(crate) const SERVER_ERROR: &str = "server_error";
    /// An answer the adapter could not read.
    pub(crate) const MALFORMED: &str = "malformed";
    /// Any other refusal (not found, invalid parameter, permission).
    pub(crate) const REJECTED: &str = "rejected";
}

/// The outcome word of an attempt: from the adapter's error when there is
/// one, else from the HTTP status.
pub(crate) fn outcome(status: Option<u16>, err: Option<&Error>) -> &'static str {
    if let Some(e) = err {
        return match e.reason.fate() {
            Fate::Throttled => outcome::THROTTLED,
            Fate::AnswerLost => match e.reason {
                Reason::VendorTimeout => outcome::TIMEOUT,
                _ => outcome::TRANSPORT_ERROR,
            },
            Fate::Unreadable => outcome::MALFORMED,
            Fate::VendorFailed => outcome::SERVER_ERROR,
            Fate::Refused => match e.reason {
                Reason::VendorDailyQuotaExhausted => outcome::QUOTA_EXHAUSTED,
                Reason::VendorAuthFailed => outcome::AUTH_ERROR,
                _ => outcome::REJECTED,
            },
            Fate::NotSent => match e.reason {
                Reason::VendorUnreachable => outcome::TRANSPORT_ERROR,
                Reason::DeadlineExceeded => outcome::TIMEOUT,
                _ => outcome::REJECTED,
            },
            Fate::Gateway => outcome::REJECTED,
        };
    }
    match status {
        Some(429) => outcome::THROTTLED,
        Some(401) => outcome::AUTH_ERROR,
        Some(s) if s >= 500 => outcome::SERVER_ERROR,
        Some(s) if s >= 400 => outcome::REJECTED,
        _ => outcome::OK,
    }
}

/// One vendor HTTP attempt being traced and measured.
pub(crate) struct Attempt {
    span: Span,
    start: Instant,
    vendor: &'static str,
    request_id_header: &'static str,
    api: String,
    workspace: String,
    status: Option<u16>,
    request_id: Option<String>,
}

/// What the span says about the request.
pub(crate) struct Request<'a> {
    /// Vendor.
    pub vendor: &'static str,
    /// The header of the vendor's request id.
    pub request_id_header: &'static str,
    /// Vendor API name.
    pub api: &'a str,
    /// Gateway workspace.
    pub workspace: &'a str,
    /// 0 for the first attempt.
    pub retry_attempt: u32,
    /// Rate-limit wait before this attempt.
    pub limiter_wait: Duration,
}

/// `url` without query, fragment or user info.
pub(crate) fn url_full(url: &reqwest::Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.to_string()
}

impl Attempt {
    /// Opens the client span (a child of the current span) and, when
    /// `telemetry.propagate_to_vendor` is on, writes its `traceparent` into
    /// `req`.
    pub(crate) fn start(r: Request<'_>, req: &mut reqwest::Request) -> Attempt {
        let api = r.api.to_owned();
        let url = req.url();
        let method = req.method().as_str();
        let wait_ms = i64::try_from(r.limiter_wait.as_millis()).unwrap_or(i64::MAX);
        let span = tracing::info_span!(
            "vendor.http",
            otel.name = %format_args!("{method} {api}"),
            otel.kind = "client",
            otel.status_code = Empty,
            http.request.method = method,
            url.full = %url_full(url),
            server.address = url.host_str().unwrap_or_default(),
            server.port = url.port_or_known_default().map(i64::from),
            http.response.status_code = Empty,
            error.type = Empty,
            vendor.name = r.vendor,
            vendor.api = api.as_str(),
            vendor.request_id = Empty,
            vendor.error_code = Empty,
            datastudio.workspace = r.workspace,
            retry.attempt = i64::from(r.retry_attempt),
            limiter.wait_ms = wait_ms,
        );
        if propagation::propagate_to_vendor() {
            propagation::inject_trace_context(&span.context(), req.headers_mut());
        }
        Attempt {
            span,
            start: Instant::now(),
            vendor: r.vendor,
            request_id_header: r.request_id_header,
            api,
            workspace: r.workspace.to_owned(),
            status: None,
            request_id: None,
        }
    }

    /// The client span (instrument the exchange with it).
    pub(crate) fn span(&self) -> &Span {
        &self.span
    }

    /// Notes the vendor's answer (status line and headers).
    pub(crate) fn answered(&mut self, status: u16, headers: &HeaderMap) {
        self.status = Some(status);
        self.span.record("http.response.status_code", i64::from(status));
        let rid = headers.get(self.request_id_header).and_then(|v| v.to_str().ok()).filter(|v| !v.is_empty());
        self.request_id = rid.map(str::to_owned);
    }

    /// Ends the attempt: error attributes, span status, metrics.
    pub(crate) fn finish(self, result: Result<(), &Error>) {
        let err = result.err();
        let outcome = outcome(self.status, err);
        let detail = err.and_then(|e| e.vendor.as_ref());
        let rid = detail.map(|d| d.request_id.as_str()).filter(|r| !r.is_empty()).or(self.request_id.as_deref());
        if let Some(rid) = rid {
            self.span.record(attr::REQUEST_ID, rid);
        }
        if let Some(e) = err {
            self.span.record("error.type", e.reason.as_str());
            self.span.record("otel.status_code", "error");
            if let Some(d) = detail {
                self.span.record(attr::ERROR_CODE, d.code.as_str());
            }
        } else if self.status.is_some_and(|s| s >= 400) {
            self.span.record("error.type", self.status.map(i64::from).unwrap_or_default());
            self.span.record("otel.status_code", "error");
        }
        let elapsed = self.start.elapsed();
        tracing::debug!(
            parent: &self.span,
            vendor = self.vendor,
            api = %self.api,
            status = self.status.unwrap_or_default(),
            outcome,
            elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            vendor_request_id = rid.unwrap_or_default(),
            "vendor call"
        );
        metrics::vendor_call(self.vendor, &self.api, outcome, elapsed);
        super::tally::add(1);
        if outcome == outcome::THROTTLED || outcome == outcome::QUOTA_EXHAUSTED {
            metrics::vendor_throttled(self.vendor, &self.api);
        }
        if err.is_some_and(|e| e.reason == Reason::VendorAuthFailed) {
            metrics::vendor_credentials_refused(self.vendor, &self.workspace);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes() {
        assert_eq!(outcome(Some(200), None), "ok");
        assert_eq!(outcome(Some(429), None), "throttled");
        assert_eq!(outcome(Some(503), None), "server_error");
        assert_eq!(outcome(Some(404), None), "rejected");
        assert_eq!(outcome(None, None), "ok");
        let e = |code, reason| Error::new(code, reason, "x");
        assert_eq!(outcome(Some(200), Some(&e(tonic::Code::Unavailable, Reason::VendorThrottled))), "throttled");
        assert_eq!(outcome(None, Some(&e(tonic::Code::Unavailable, Reason::VendorUnreachable))), "transport_error");
        assert_eq!(outcome(Some(200), Some(&e(tonic::Code::Internal, Reason::VendorResponseMalformed))), "malformed");
        assert_eq!(outcome(Some(400), Some(&e(tonic::Code::NotFound, Reason::VendorNotFound))), "rejected");
    }

    #[test]
    fn url_loses_query_and_user_info() {
        let u: reqwest::Url =
            "https://ak:sk@dataworks.cn-hangzhou.aliyuncs.com/?Action=X&Signature=abc#f".parse().unwrap();
        assert_eq!(url_full(&u), "https://dataworks.cn-hangzhou.aliyuncs.com/");
    }
}
