//! Credentials a vendor issues for a while (temporary keys, tokens): held
//! per workspace, refreshed ahead of their expiry, one refresh at a time
//! however many callers wait, and a failed refresh tried again with backoff
//! while the keys held are still valid. Time is read from an injectable
//! [`Clock`], so expiry is tested without sleeping.
//!
//! A lifetime is counted on the local clock from the moment the exchange
//! was asked for, so a skewed gateway clock neither keeps expired keys nor
//! refreshes fresh ones on every call. Every refresh is counted in
//! `datastudio_credential_refreshes_total{vendor,workspace,outcome}`.

use std::{
    future::Future,
    sync::Arc,
    time::{Duration, SystemTime},
};

use crate::{
    domain::{Error, Reason, Result},
    telemetry::metrics,
};

/// The wall clock credential lifetimes are read on.
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that moves only when told (tests).
#[cfg(any(test, feature = "test-util"))]
#[derive(Debug)]
pub struct ManualClock(std::sync::Mutex<SystemTime>);

#[cfg(any(test, feature = "test-util"))]
impl ManualClock {
    /// Starts at `t`.
    pub fn new(t: SystemTime) -> Arc<Self> {
        Arc::new(ManualClock(std::sync::Mutex::new(t)))
    }
    /// Moves the clock forward.
    pub fn advance(&self, d: Duration) {
        let mut t = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *t += d;
    }
}

#[cfg(any(test, feature = "test-util"))]
impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Credentials as issued, with how long the vendor lets them live.
#[derive(Debug)]
pub(crate) struct Issued<K> {
    /// The credentials.
    pub keys: K,
    /// Their lifetime, counted from when the exchange was asked for.
    pub valid_for: Duration,
}

/// The time from `from` to `to`, zero when `to` is not later: how long
/// credentials a vendor issued at `from` and let expire at `to` live.
pub(crate) fn lifetime(from: jiff::Timestamp, to: jiff::Timestamp) -> Duration {
    Duration::try_from(to.duration_since(from)).unwrap_or(Duration::ZERO)
}

/// How a refresh ended, the `outcome` label of the refresh counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefreshOutcome {
    /// New credentials were issued.
    Ok,
    /// The exchange failed for a reason that may pass (unreachable, 5xx,
    /// throttled, an unreadable token file).
    Failed,
    /// The vendor refused the exchange (a wrong or expired token, a role
    /// that does not trust it): operators must act.
    Refused,
}

impl RefreshOutcome {
    /// The label value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RefreshOutcome::Ok => "ok",
            RefreshOutcome::Failed => "failed",
            RefreshOutcome::Refused => "refused",
        }
    }

    fn of(e: &Error) -> Self {
        match e.reason {
            Reason::VendorAuthFailed => RefreshOutcome::Refused,
            _ => RefreshOutcome::Failed,
        }
    }
}

/// When to refresh and how to back off: refresh `ahead` of expiry (at most
/// halfway through a short lifetime); after a failure wait `first_backoff`,
/// doubling up to `max_backoff`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    /// How long before expiry credentials are refreshed.
    pub ahead: Duration,
    /// Wait after the first failed refresh.
    pub first_backoff: Duration,
    /// Longest wait between failed refreshes.
    pub max_backoff: Duration,
}

/// Credentials in use and when, on the local clock, to refresh and drop them.
struct Held<K> {
    keys: Arc<K>,
    refresh_at: SystemTime,
    expires_at: SystemTime,
}

/// What the refresher holds.
struct Slot<K> {
    held: Option<Held<K>>,
    /// Failed refreshes in a row, and the last one's error.
    failures: u32,
    last_error: Option<Error>,
    /// No refresh is tried before this (after a failure).
    retry_at: Option<SystemTime>,
}

/// One workspace's issued credentials (see the module docs).
pub(crate) struct Refreshing<K> {
    clock: Arc<dyn Clock>,
    vendor: &'static str,
    workspace: String,
    policy: Policy,
    slot: tokio::sync::Mutex<Slot<K>>,
}

impl<K> Refreshing<K> {
    /// Nothing held yet; `vendor` and `workspace` label metrics and logs.
    pub(crate) fn new(clock: Arc<dyn Clock>, vendor: &'static str, workspace: &str, policy: Policy) -> Self {
        Refreshing {
            clock,
            vendor,
            workspace: workspace.to_owned(),
            policy,
            slot: tokio::sync::Mutex::new(Slot { held: None, failures: 0, last_error: None, retry_at: None }),
        }
    }

    /// The credentials to use now: those held while they are fresh, else
    /// new ones from `issue`. Callers queue on one lock, so only the first
    /// of them refreshes. A failed refresh keeps the held credentials in use
    /// until they expire and is tried again after a backoff; without valid
    /// credentials a call during the backoff gets the last error at once.
    pub(crate) async fn get<F, Fut>(&self, issue: F) -> Result<Arc<K>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Issued<K>>>,
    {
        let mut slot = self.slot.lock().await;
        let asked = self.clock.now();
        let valid = slot.held.as_ref().filter(|h| asked < h.expires_at).map(|h| (h.keys.clone(), asked < h.refresh_at));
        let backing_off = slot.retry_at.is_some_and(|t| asked < t);
        match (valid, backing_off) {
            (Some((keys, true)), _) | (Some((keys, false)), true) => return Ok(keys),
            (None, true) => {
                if let Some(e) = &slot.last_error {
                    return Err(e.clone());
                }
            }
            (Some((_, false)), false) | (None, false) => {}
        }
        match issue().await {
            Ok(issued) => {
                let margin = self.policy.ahead.min(issued.valid_for / 2);
                let held = Held {
                    keys: Arc::new(issued.keys),
                    refresh_at: asked + (issued.valid_for - margin),
                    expires_at: asked + issued.valid_for,
                };
                let keys = held.keys.clone();
                *slot = Slot { held: Some(held), failures: 0, last_error: None, retry_at: None };
                metrics::credential_refresh(self.vendor, &self.workspace, RefreshOutcome::Ok.as_str());
                tracing::info!(
                    vendor = self.vendor,
                    workspace = %self.workspace,
                    valid_for_s = issued.valid_for.as_secs(),
                    "vendor credentials refreshed"
                );
                Ok(keys)
            }
            Err(e) => {
                // The deadline of the caller that happened to refresh says
                // nothing about the vendor: the next caller tries at once.
                if !matches!(e.reason, Reason::DeadlineExceeded | Reason::RateLimited) {
                    slot.failures = slot.failures.saturating_add(1);
                    let wait = self.policy.first_backoff.saturating_mul(1 << (slot.failures - 1).min(16));
                    slot.retry_at = Some(asked + wait.min(self.policy.max_backoff));
                    slot.last_error = Some(e.clone());
                }
                metrics::credential_refresh(self.vendor, &self.workspace, RefreshOutcome::of(&e).as_str());
                let still_valid = slot.held.as_ref().filter(|h| asked < h.expires_at).map(|h| h.keys.clone());
                match still_valid {
                    Some(keys) => {
                        tracing::warn!(
                            vendor = self.vendor,
                            workspace = %self.workspace,
                            failures = slot.failures,
                            error = %e.message,
                            "refreshing vendor credentials failed; the current ones stay in use until they expire"
                        );
                        Ok(keys)
                    }
                    None => {
                        tracing::error!(
                            vendor = self.vendor,
                            workspace = %self.workspace,
                            failures = slot.failures,
                            error = %e.message,
                            "vendor credentials cannot be issued"
                        );
                        Err(e)
                    }
                }
            }
        }
    }

    /// Drops `keys` if they are still the ones held (the vendor refused them,
    /// e.g. as expired): the next [`Refreshing::get`] exchanges at once.
    pub(crate) async fn forget(&self, keys: &Arc<K>) {
        let mut slot = self.slot.lock().await;
        if slot.held.as_ref().is_some_and(|h| Arc::ptr_eq(&h.keys, keys)) {
            slot.held = None;
            slot.retry_at = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use tonic::Code;

    use super::*;

    const POLICY: Policy = Policy {
        ahead: Duration::from_secs(900),
        first_backoff: Duration::from_secs(10),
        max_backoff: Duration::from_secs(60),
    };

    fn start() -> Arc<ManualClock> {
        ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000))
    }

    /// An issuer that counts its calls and fails while `failing` is set.
    struct Vendor {
        calls: AtomicU32,
        failing: std::sync::atomic::AtomicBool,
        reason: Reason,
    }

    impl Vendor {
        fn new(reason: Reason) -> Self {
            Vendor { calls: AtomicU32::new(0), failing: false.into(), reason }
        }
        async fn issue(&self) -> Result<Issued<u32>> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            if self.failing.load(Ordering::SeqCst) {
                return Err(Error::new(Code::Unavailable, self.reason, format!("exchange {n} failed")));
            }
            Ok(Issued { keys: n, valid_for: Duration::from_secs(3600) })
        }
        fn calls(&self) -> u32 {
            self.calls.load(Ordering::SeqCst)
        }
    }

    #[tokio::test]
    async fn one_refresh_for_many_waiters_and_again_ahead_of_expiry() {
        let clock = start();
        let r = Arc::new(Refreshing::new(clock.clone(), "v", "ws", POLICY));
        let v = Arc::new(Vendor::new(Reason::VendorUnavailable));
        let all: Vec<_> = (0..8)
            .map(|_| {
                let (r, v) = (r.clone(), v.clone());
                tokio::spawn(async move { *r.get(|| v.issue()).await.unwrap() })
            })
            .collect();
        for h in all {
            assert_eq!(h.await.unwrap(), 1);
        }
        assert_eq!(v.calls(), 1);
        clock.advance(Duration::from_secs(2699));
        assert_eq!(*r.get(|| v.issue()).await.unwrap(), 1, "fresh until 15 min before expiry");
        clock.advance(Duration::from_secs(1));
        assert_eq!(*r.get(|| v.issue()).await.unwrap(), 2);
        assert_eq!(v.calls(), 2);
    }

    #[tokio::test]
    async fn a_failed_refresh_keeps_valid_keys_and_backs_off() {
        let clock = start();
        let r = Refreshing::new(clock.clone(), "v", "ws", POLICY);
        let v = Vendor::new(Reason::VendorUnavailable);
        assert_eq!(*r.get(|| v.issue()).await.unwrap(), 1);
        clock.advance(Duration::from_secs(2700));
        v.failing.store(true, Ordering::SeqCst);
        assert_eq!(*r.get(|| v.issue()).await.unwrap(), 1, "old keys while they are valid");
        assert_eq!(v.calls(), 2);
        clock.advance(Duration::from_secs(9));
        assert_eq!(*r.get(|| v.issue()).await.unwrap(), 1);
        assert_eq!(v.calls(), 2, "no exchange during the backoff");
        clock.advance(Duration::from_secs(1));
        assert_eq!(*r.get(|| v.issue()).await.unwrap(), 1);
        assert_eq!(v.calls(), 3, "tried again after 10 s");
        clock.advance(Duration::from_secs(19));
        r.get(|| v.issue()).await.unwrap();
        assert_eq!(v.calls(), 3, "the backoff doubled");
        clock.advance(Duration::from_secs(1));
        r.get(|| v.issue()).await.unwrap();
        assert_eq!(v.calls(), 4);

        // Past expiry the keys are gone: the error, and no exchange while backing off.
        clock.advance(Duration::from_secs(900));
        let e = r.get(|| v.issue()).await.unwrap_err();
        assert_eq!(e.reason, Reason::VendorUnavailable);
        let calls = v.calls();
        let again = r.get(|| v.issue()).await.unwrap_err();
        assert_eq!((v.calls(), again.message.as_str()), (calls, e.message.as_str()));

        v.failing.store(false, Ordering::SeqCst);
        clock.advance(Duration::from_secs(60));
        assert_eq!(*r.get(|| v.issue()).await.unwrap(), calls + 1, "recovers after the backoff");
    }

    #[tokio::test]
    async fn forgotten_keys_are_exchanged_at_once() {
        let clock = start();
        let r = Refreshing::new(clock, "v", "ws", POLICY);
        let v = Vendor::new(Reason::VendorAuthFailed);
        let first = r.get(|| v.issue()).await.unwrap();
        let second = r.get(|| v.issue()).await.unwrap();
        r.forget(&Arc::new(7)).await;
        assert_eq!(*r.get(|| v.issue()).await.unwrap(), 1, "other keys are not forgotten");
        r.forget(&first).await;
        assert_eq!(*r.get(|| v.issue()).await.unwrap(), 2);
        r.forget(&second).await;
        assert_eq!(v.calls(), 2, "stale handles forget nothing");
    }

    #[tokio::test]
    async fn a_caller_out_of_time_sets_no_backoff() {
        let r = Refreshing::new(start(), "v", "ws", POLICY);
        let late = Vendor::new(Reason::DeadlineExceeded);
        late.failing.store(true, Ordering::SeqCst);
        assert_eq!(r.get(|| late.issue()).await.unwrap_err().reason, Reason::DeadlineExceeded);
        let v = Vendor::new(Reason::VendorUnavailable);
        assert_eq!(*r.get(|| v.issue()).await.unwrap(), 1, "the next caller exchanges at once");
    }

    #[test]
    fn refusals_and_failures_are_told_apart() {
        let refused = Error::new(Code::Internal, Reason::VendorAuthFailed, "no");
        let failed = Error::new(Code::Unavailable, Reason::VendorUnreachable, "down");
        assert_eq!(RefreshOutcome::of(&refused).as_str(), "refused");
        assert_eq!(RefreshOutcome::of(&failed).as_str(), "failed");
        assert_eq!(RefreshOutcome::Ok.as_str(), "ok");
    }
}
