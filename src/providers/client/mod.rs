//! The one shared vendor client. Every driver talks to its vendor through a
//! [`VendorClient`]: the daily budget, a turn from the rate limiter, the
//! retry policy, the caller's deadline, and a client span and metrics per
//! HTTP attempt. The HTTP client itself is private to this module, so no
//! driver can send a request around it.
//!
//! A driver names each vendor call with its own typed [`Action`]; whether a
//! call is a [`Access::Read`] (retried after transient failures) or a
//! [`Access::Write`] (never re-sent once it may have left) is part of the
//! action's type, declared in one exhaustive `match` in the driver.

mod guard;
mod http;

use std::{future::Future, sync::Arc};

use bytes::Bytes;

pub use self::guard::{Attempt, MAX_ATTEMPTS, Shared};
pub use self::http::{Answer, USER_AGENT};
pub(crate) use self::http::{from_json, is_object};
use crate::domain::{CallCtx, Error, Reason, Result};

/// Whether a vendor call changes anything at the vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Idempotent read: retried on transient failures.
    Read,
    /// Write (deploy, package, run a stage): never re-sent once it may
    /// have reached the vendor.
    Write,
}

/// One vendor API a driver calls.
pub(crate) trait Action: Copy + std::fmt::Debug + Send + Sync + 'static {
    /// Every API of the driver: what a `rate_limits` key may name.
    const ALL: &'static [Self];
    /// The vendor's name of the API: rate-limit key (`rate_limits`), span
    /// and metric label (`ListFiles`, `release-packages.list`).
    fn name(self) -> &'static str;
    /// Read or write, declared per action.
    fn access(self) -> Access;
}

/// A `rate_limits` key, parsed: `default` (every API of the driver) or
/// one of the driver's APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RateKey<A> {
    /// `default`.
    Default,
    /// One API.
    Api(A),
}

impl<A: Action> RateKey<A> {
    /// The key, or why it names nothing (listing the names it may take).
    pub(crate) fn parse(key: &str) -> std::result::Result<Self, String> {
        if key == "default" {
            return Ok(RateKey::Default);
        }
        A::ALL.iter().copied().find(|a| a.name() == key).map(RateKey::Api).ok_or_else(|| {
            let names: Vec<&str> = A::ALL.iter().map(|a| a.name()).collect();
            format!("is not an API of this vendor: use default or one of {}", names.join(", "))
        })
    }
}

/// Facts about a vendor the shared client needs.
#[derive(Debug)]
pub(crate) struct Vendor {
    /// Short name: ErrorInfo metadata, span attribute, metric label.
    pub name: &'static str,
    /// The response header that carries the vendor's request id.
    pub request_id_header: &'static str,
}

/// Calls per second a vendor account allows (for the whole fleet).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rates {
    /// Reads.
    pub read: f64,
    /// Writes.
    pub write: f64,
}

/// A workspace's way to its vendor.
pub(crate) struct VendorClient {
    http: http::Http,
    guard: guard::Guard,
    vendor: &'static Vendor,
}

/// One attempt of a vendor call, handed to the driver's closure by
/// [`VendorClient::call`]: the only way to send a request.
pub(crate) struct Exchange<'a> {
    http: &'a http::Http,
    ctx: &'a CallCtx,
    vendor: &'static Vendor,
    api: &'static str,
    attempt: Attempt,
}

impl VendorClient {
    /// The client of one workspace: `account` identifies the vendor account
    /// whose limits it shares (hashed, never stored or shown as is);
    /// `defaults` are the driver's published rates for it, overridden by
    /// the workspace's `rate_limits`, whose keys name APIs of type `A`.
    pub(crate) fn new<A: Action>(
        shared: &Arc<Shared>,
        vendor: &'static Vendor,
        ws: &crate::config::WorkspaceConfig,
        account: &str,
        defaults: Rates,
    ) -> anyhow::Result<Self> {
        Ok(VendorClient {
            http: http::client(&ws.timeouts)?,
            guard: shared.guard::<A>(vendor, ws, account, defaults)?,
            vendor,
        })
    }

    /// A client with its own limiter, the given rates and the default
    /// timeouts (unit tests of drivers).
    #[cfg(test)]
    pub(crate) fn for_tests(vendor: &'static Vendor, defaults: Rates) -> Self {
        let mut cfg = crate::config::Config::default();
        // Closed APIs are saved here, never in the default state directory.
        cfg.server.state_dir = tempfile::tempdir().expect("a temporary state directory").keep();
        VendorClient {
            http: http::client(&crate::config::Timeouts::default()).expect("client"),
            guard: Shared::new(&cfg).guard_for_tests(vendor, defaults),
            vendor,
        }
    }

    /// Runs `action`: `attempt` builds and sends one attempt through the
    /// [`Exchange`] it is given, under the budget, the limiter and the
    /// retry policy of the action's [`Access`].
    pub(crate) async fn call<'s, A, T, F, Fut>(&'s self, ctx: &'s CallCtx, action: A, mut attempt: F) -> Result<T>
    where
        A: Action,
        F: FnMut(Exchange<'s>) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let api = action.name();
        self.guard
            .run(ctx, api, action.access(), |a| {
                attempt(Exchange { http: &self.http, ctx, vendor: self.vendor, api, attempt: a })
            })
            .await
    }
}

impl Exchange<'_> {
    /// Sends `req` once within the caller's deadline and reads the answer
    /// with `parse` inside the attempt's span (a vendor error from `parse`
    /// gives the span its error code and the call's outcome).
    pub(crate) async fn send<T>(
        self,
        req: ::http::Request<Bytes>,
        parse: impl FnOnce(&Answer) -> Result<T>,
    ) -> Result<T> {
        let req = reqwest::Request::try_from(req).map_err(|e| {
            Error::new(tonic::Code::Internal, Reason::RequestBuildFailed, format!("cannot build the request: {e}"))
        })?;
        let call = http::Call { vendor: self.vendor, api: self.api, attempt: self.attempt };
        http::send_and_parse(self.http, self.ctx, call, req, parse).await
    }
}

/// The vendor refused the gateway's own credentials for the workspace
/// (`vendor` is its display name). The caller's credentials are not in
/// question, so INTERNAL (never UNAUTHENTICATED), reason
/// `VENDOR_AUTH_FAILED`, never retried; the attempt's span counts it in
/// `datastudio_vendor_credentials_refused_total`.
pub(crate) fn credentials_refused(vendor: &str, msg: &str) -> Error {
    Error::new(
        tonic::Code::Internal,
        Reason::VendorAuthFailed,
        format!(
            "{vendor} refused the gateway's credentials for this workspace ({msg}); operators must fix the \
             workspace's credentials in the gateway's configuration"
        ),
    )
}

/// A header value the vendor must not see in logs: marked sensitive, so
/// `http`'s Debug and any tracing of headers hide it.
pub(crate) fn sensitive(value: &str) -> Result<::http::HeaderValue> {
    let mut v = ::http::HeaderValue::from_str(value).map_err(|_| {
        Error::new(tonic::Code::Internal, Reason::CredentialsUnavailable, "a credential is not a valid header value")
    })?;
    v.set_sensitive(true);
    Ok(v)
}

#[cfg(test)]
mod tests {
    //! The retry rules, proven with scripted attempts: the closure answers
    //! as the vendor would, the shared client decides what happens next.

    use std::{
        sync::Mutex,
        time::{Duration, Instant},
    };

    use tonic::Code;

    use super::*;

    static TEST_VENDOR: Vendor = Vendor { name: "test", request_id_header: "x-request-id" };

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Api {
        Get,
        Deploy,
    }

    impl Action for Api {
        const ALL: &'static [Api] = &[Api::Get, Api::Deploy];

        fn name(self) -> &'static str {
            match self {
                Api::Get => "get",
                Api::Deploy => "deploy",
            }
        }
        fn access(self) -> Access {
            match self {
                Api::Get => Access::Read,
                Api::Deploy => Access::Write,
            }
        }
    }

    #[test]
    fn a_rate_limits_key_is_default_or_an_api_of_the_driver() {
        assert_eq!(RateKey::<Api>::parse("default"), Ok(RateKey::Default));
        assert_eq!(RateKey::<Api>::parse("deploy"), Ok(RateKey::Api(Api::Deploy)));
        assert_eq!(
            RateKey::<Api>::parse("Deploy").unwrap_err(),
            "is not an API of this vendor: use default or one of get, deploy"
        );
    }

    fn client() -> VendorClient {
        VendorClient::for_tests(&TEST_VENDOR, Rates { read: 1000.0, write: 1000.0 })
    }

    fn ctx(deadline: Option<Duration>) -> CallCtx {
        CallCtx { workspace: "w".into(), deadline: deadline.map(|d| Instant::now() + d), identity: None }
    }

    fn err(reason: Reason) -> Error {
        let e = Error::new(Code::Unavailable, reason, "scripted");
        if reason.is_throttle() { e.with_retry_after(Duration::from_millis(300)) } else { e }
    }

    /// Runs `api`, answering attempt n with `script[n]` (Ok after the
    /// script ends); returns the result and every attempt's number and
    /// limiter wait.
    async fn run(
        api: Api,
        deadline: Option<Duration>,
        script: &[Reason],
    ) -> (Result<u32>, Vec<(Attempt, tokio::time::Instant)>) {
        let c = client();
        let seen = Mutex::new(Vec::new());
        let ctx = ctx(deadline);
        let out = c
            .call(&ctx, api, |x| {
                let n = x.attempt.number;
                seen.lock().unwrap().push((x.attempt, tokio::time::Instant::now()));
                let answer = script.get(n as usize).map_or(Ok(n), |r| Err(err(*r)));
                async move { answer }
            })
            .await;
        (out, seen.into_inner().unwrap())
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_after_5xx_reset_or_timeout_is_retried() {
        for r in [Reason::VendorUnavailable, Reason::VendorConnectionFailed, Reason::VendorTimeout] {
            let (out, seen) = run(Api::Get, None, &[r, r]).await;
            assert_eq!(out.unwrap(), 2, "{r}: the third attempt answers");
            assert_eq!(seen.iter().map(|(a, _)| a.number).collect::<Vec<_>>(), [0, 1, 2]);
        }
        let (out, seen) = run(Api::Get, None, &[Reason::VendorUnavailable; 5]).await;
        assert_eq!(out.unwrap_err().reason, Reason::VendorUnavailable);
        assert_eq!(seen.len(), MAX_ATTEMPTS as usize, "never more than MAX_ATTEMPTS");
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_that_may_have_left_is_never_resent() {
        for r in [Reason::VendorTimeout, Reason::VendorConnectionFailed, Reason::VendorUnavailable] {
            let (out, seen) = run(Api::Deploy, None, &[r]).await;
            assert_eq!(out.unwrap_err().reason, r);
            assert_eq!(seen.len(), 1, "{r}: one attempt of a write");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_auth_failure_is_one_attempt() {
        for api in [Api::Get, Api::Deploy] {
            let (out, seen) = run(api, None, &[Reason::VendorAuthFailed]).await;
            assert_eq!(out.unwrap_err().reason, Reason::VendorAuthFailed);
            assert_eq!(seen.len(), 1, "{api:?}: five bad signatures lock the key; never retried");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttle_feeds_the_limiter() {
        let (out, seen) = run(Api::Get, None, &[Reason::VendorThrottled]).await;
        assert_eq!(out.unwrap(), 1);
        assert_eq!(seen[0].0.limiter_wait, Duration::ZERO);
        let gap = seen[1].1 - seen[0].1;
        assert!(gap >= Duration::from_millis(300), "the retry waited out the vendor's retry-after ({gap:?})");
        assert!(!seen[1].0.limiter_wait.is_zero(), "in the limiter's paused bucket");
    }

    #[tokio::test(start_paused = true)]
    async fn retries_stay_within_the_deadline() {
        // The deadline leaves no room for a back-off: the first error stands.
        let (out, seen) = run(Api::Get, Some(Duration::from_millis(1)), &[Reason::VendorUnavailable]).await;
        assert_eq!(out.unwrap_err().reason, Reason::VendorUnavailable);
        assert_eq!(seen.len(), 1);
    }
}
