//! Where rate buckets and daily budgets live: the [`Backend`] trait, its
//! in-process implementation [`Local`] (governor buckets, budgets in state
//! files) and [`Limits`], the front that vendor calls use (it turns the
//! caller's deadline into an allowed wait). The Redis implementation is in
//! [`super::redis`].

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use async_trait::async_trait;

use super::{
    Limiter, Settings,
    budget::DailyBudget,
    closed::{Closed, until_next_day},
};
use crate::domain::Error;

/// A place that keeps rate buckets (keyed by vendor account and vendor API)
/// and daily budgets (keyed by vendor account). Rates and budgets passed in
/// are the vendor's whole limit for the account; a backend that only sees
/// one replica's calls takes its share of them.
#[async_trait]
pub trait Backend: Send + Sync {
    /// Waits for a turn to call `api` with `account`'s credentials at `rate`
    /// calls per second, at most `allowed`. Returns the time waited, or
    /// RESOURCE_EXHAUSTED with RetryInfo (the true wait) at once when
    /// `allowed` cannot cover the wait. `caller` (the authenticated
    /// identity) takes turns fairly with other callers where the backend
    /// supports it (the local one does).
    async fn acquire(
        &self,
        account: &str,
        api: &str,
        rate: f64,
        allowed: Duration,
        caller: Option<&str>,
    ) -> Result<Duration, Error>;

    /// The vendor throttled `account`'s call to `api` granted at `sent`:
    /// pause (for `retry_after`, or exponentially) and lower the rate, which
    /// then recovers (the local backend learns the vendor's limit; calls
    /// sent before the last decrease do not lower it again).
    async fn throttled(
        &self,
        account: &str,
        api: &str,
        rate: f64,
        retry_after: Option<Duration>,
        sent: tokio::time::Instant,
    );

    /// Spends one call of `account`'s daily budget of `limit` calls;
    /// RESOURCE_EXHAUSTED with QuotaFailure when used up. Returns what is left.
    async fn spend(&self, account: &str, limit: u32) -> Result<u32, Error>;

    /// The vendor closed `account`'s `api` for `left` (its daily quota is
    /// used up). A backend shared by replicas refuses their calls to it
    /// from [`Backend::acquire`] with RESOURCE_EXHAUSTED, reason
    /// `VENDOR_DAILY_QUOTA_EXHAUSTED` and RetryInfo until the reset; the
    /// process's own closures are kept by [`Limits`].
    async fn close(&self, account: &str, api: &str, left: Duration);
}

/// What vendor calls use: the caller's deadline made into a wait, a
/// backend, and the vendor APIs closed for the day.
#[derive(Clone)]
pub struct Limits {
    settings: Settings,
    backend: Arc<dyn Backend>,
    closed: Arc<Closed>,
    /// Where a day ends when a vendor gives no reset time.
    zone: jiff::tz::TimeZone,
}

impl Limits {
    /// Limits kept by `backend`; closed APIs kept in `closed`, until the
    /// vendor's reset or else the next midnight in `zone`.
    pub(crate) fn new(
        settings: Settings,
        backend: Arc<dyn Backend>,
        closed: Arc<Closed>,
        zone: jiff::tz::TimeZone,
    ) -> Self {
        Limits { settings, backend, closed, zone }
    }

    /// Ok when the vendor has not closed `account`'s `api` for the day;
    /// otherwise RESOURCE_EXHAUSTED + QuotaFailure (no I/O: checked before
    /// the daily budget is spent).
    pub(crate) fn check_open(&self, account: &str, api: &str) -> Result<(), Error> {
        self.closed.check(account, api)
    }

    /// The vendor said `account`'s daily quota for `api` is used up until
    /// `reset` from now (None: the next midnight in the configured zone):
    /// refuse its calls until then, here (kept across restarts) and in the
    /// backend (every replica, when shared).
    pub(crate) async fn close(&self, account: &str, api: &str, reset: Option<Duration>) {
        let left = reset.unwrap_or_else(|| until_next_day(&self.zone, jiff::Timestamp::now()));
        self.closed.close(account, api, left);
        self.backend.close(account, api, left).await;
    }

    /// How long a caller with `deadline` may wait.
    pub(crate) fn allowance(&self, deadline: Option<Instant>) -> Duration {
        self.settings.allowance(deadline)
    }

    /// Waits for a turn within the caller's deadline; see [`Backend::acquire`].
    pub(crate) async fn acquire(
        &self,
        account: &str,
        api: &str,
        rate: f64,
        deadline: Option<Instant>,
        caller: Option<&str>,
    ) -> Result<Duration, Error> {
        let got = self.backend.acquire(account, api, rate, self.allowance(deadline), caller).await;
        if let Err(e) = &got
            && e.reason.closes_the_api()
            && let Some(left) = e.retry_after
        {
            // Closed by another replica: remember it here too.
            self.closed.close(account, api, left);
        }
        got
    }

    /// See [`Backend::throttled`].
    pub(crate) async fn throttled(
        &self,
        account: &str,
        api: &str,
        rate: f64,
        retry_after: Option<Duration>,
        sent: tokio::time::Instant,
    ) {
        self.backend.throttled(account, api, rate, retry_after, sent).await;
    }

    /// See [`Backend::spend`].
    pub(crate) async fn spend(&self, account: &str, limit: u32) -> Result<u32, Error> {
        self.backend.spend(account, limit).await
    }
}

/// In-process limits: governor buckets and daily budgets in state files,
/// each at this replica's share of the vendor limit.
pub(crate) struct Local {
    limiter: Arc<Limiter>,
    budgets: Mutex<HashMap<String, Arc<DailyBudget>>>,
    state_dir: PathBuf,
    zone: jiff::tz::TimeZone,
    rate_share: f64,
    budget_share: u32,
}

impl Local {
    /// Buckets at `1 / replicas` of each rate; budgets stored under
    /// `state_dir` and reset at midnight in `zone`. `share_budgets` divides
    /// daily budgets by `replicas` too.
    pub(crate) fn new(
        settings: Settings,
        state_dir: PathBuf,
        zone: jiff::tz::TimeZone,
        replicas: u32,
        share_budgets: bool,
    ) -> Self {
        let replicas = replicas.max(1);
        Local {
            limiter: Limiter::new(settings),
            budgets: Mutex::new(HashMap::new()),
            state_dir,
            zone,
            rate_share: 1.0 / f64::from(replicas),
            budget_share: if share_budgets { replicas } else { 1 },
        }
    }

    fn budget(&self, account: &str, limit: u32) -> Arc<DailyBudget> {
        let mut m = self.budgets.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(account.to_owned())
            .or_insert_with(|| {
                let file = self.state_dir.join(format!("budget-{}.json", account.replace(':', "-")));
                let share = (limit / self.budget_share).max(1);
                Arc::new(DailyBudget::new(file, share, self.zone.clone(), account.to_owned()))
            })
            .clone()
    }
}

#[async_trait]
impl Backend for Local {
    async fn acquire(
        &self,
        account: &str,
        api: &str,
        rate: f64,
        allowed: Duration,
        caller: Option<&str>,
    ) -> Result<Duration, Error> {
        self.limiter.acquire_within(account, api, rate * self.rate_share, allowed, caller).await
    }

    async fn throttled(
        &self,
        account: &str,
        api: &str,
        rate: f64,
        retry_after: Option<Duration>,
        sent: tokio::time::Instant,
    ) {
        self.limiter.throttled(account, api, rate * self.rate_share, retry_after, sent).await;
    }

    async fn spend(&self, account: &str, limit: u32) -> Result<u32, Error> {
        self.budget(account, limit).spend()
    }

    /// Nothing to share: [`Limits`] keeps the process's closures.
    async fn close(&self, _account: &str, _api: &str, _left: Duration) {}
}
