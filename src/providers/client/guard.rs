//! Every vendor call goes through a [`Guard`]: the daily budget, a turn
//! from the rate limiter (waiting within the caller's deadline), then the
//! attempt; reads are retried on transient failures (throttling, 5xx,
//! timeouts, resets) with full-jitter exponential backoff, within the
//! deadline and a process-wide retry budget (tower's `TpsBudget`), so an
//! outage does not become a retry storm. Writes and authentication
//! failures are never retried: five bad Huawei signatures in a row lock
//! the access key.

use std::{collections::BTreeMap, future::Future, sync::Arc, time::Duration};

use sha2::{Digest, Sha256};
use tower::retry::budget::{Budget, TpsBudget};

use super::{Access, Action, RateKey, Rates, Vendor};
use crate::{
    config::{Config, WorkspaceConfig},
    domain::{CallCtx, Result},
    limit::{Backend, Limits, Settings, backend::Local, closed::Closed, redis::RedisBackend},
    redis_store::RedisStore,
    telemetry::metrics,
};

/// Attempts of one read, the first included.
pub const MAX_ATTEMPTS: u32 = 3;
const BACKOFF_BASE: Duration = Duration::from_millis(100);
const BACKOFF_CAP: Duration = Duration::from_secs(2);

/// What an attempt knows about itself (for telemetry).
#[derive(Debug, Clone, Copy, Default)]
pub struct Attempt {
    /// 0 for the first attempt.
    pub number: u32,
    /// Time this attempt waited for the rate limiter.
    pub limiter_wait: Duration,
}

/// State shared by every workspace of the process.
pub struct Shared {
    limits: Limits,
    retry_budget: Arc<TpsBudget>,
}

impl Shared {
    /// From the config's `limits` and `server.state_dir`, with in-process
    /// limits (no shared store).
    pub fn new(cfg: &Config) -> Arc<Self> {
        Self::with_store(cfg, None)
    }

    /// From the config; rate buckets and budgets live in `redis` when given
    /// (`limits.backend: redis`), in this process otherwise.
    pub(crate) fn with_store(cfg: &Config, redis: Option<Arc<RedisStore>>) -> Arc<Self> {
        let l = &cfg.limits;
        let settings = Settings { max_wait: l.max_wait, margin: l.deadline_margin, ..Settings::default() };
        let zone = jiff::tz::TimeZone::get(&l.daily_budget_zone).unwrap_or(jiff::tz::TimeZone::UTC);
        let state_dir = cfg.server.state_dir.clone();
        let backend: Arc<dyn Backend> = match redis {
            Some(store) => Arc::new(RedisBackend::new(store, settings.clone(), state_dir, zone.clone(), l.replicas)),
            None => Arc::new(Local::new(settings.clone(), state_dir, zone.clone(), l.replicas, false)),
        };
        let closed = Arc::new(Closed::load(&cfg.server.state_dir));
        Arc::new(Shared {
            limits: Limits::new(settings, backend, closed, zone),
            // Retries may add at most 20% to the calls, plus 5 per second.
            retry_budget: Arc::new(TpsBudget::new(Duration::from_secs(10), 5, 0.2)),
        })
    }

    /// The guard of one workspace; `account` identifies the vendor account
    /// (hashed, never stored or shown as is); `rate_limits` keys name APIs
    /// of type `A`.
    pub(super) fn guard<A: Action>(
        self: &Arc<Self>,
        vendor: &Vendor,
        ws: &WorkspaceConfig,
        account: &str,
        rates: Rates,
    ) -> anyhow::Result<Guard> {
        let account = format!("{}:{}", vendor.name, &hex::encode(Sha256::digest(account.as_bytes()))[..16]);
        let (mut default, mut per_api) = (None, BTreeMap::new());
        for (key, rate) in &ws.rate_limits {
            match RateKey::<A>::parse(key).map_err(|e| anyhow::anyhow!("rate_limits.{key} {e}"))? {
                RateKey::Default => default = Some(*rate),
                RateKey::Api(api) => {
                    per_api.insert(api.name(), *rate);
                }
            }
        }
        if let Some(limit) = ws.daily_budget {
            metrics::daily_budget_limit(vendor.name, &account, i64::from(limit));
        }
        Ok(Guard {
            shared: self.clone(),
            vendor: vendor.name,
            budget: ws.daily_budget,
            account,
            read: default.unwrap_or(rates.read),
            write: default.unwrap_or(rates.write),
            per_api,
        })
    }

    /// A guard with the given rates and no overrides (unit tests).
    #[cfg(test)]
    pub(super) fn guard_for_tests(self: &Arc<Self>, vendor: &Vendor, rates: Rates) -> Guard {
        Guard {
            shared: self.clone(),
            vendor: vendor.name,
            account: format!("{}:test", vendor.name),
            budget: None,
            read: rates.read,
            write: rates.write,
            per_api: BTreeMap::new(),
        }
    }
}

/// One workspace's protection around vendor calls.
#[derive(Clone)]
pub(super) struct Guard {
    shared: Arc<Shared>,
    vendor: &'static str,
    account: String,
    /// Daily call budget of the account.
    budget: Option<u32>,
    /// Vendor rates for the whole fleet; a backend that sees one replica's
    /// calls takes its share.
    read: f64,
    write: f64,
    per_api: BTreeMap<&'static str, f64>,
}

impl Guard {
    /// Calls per second the vendor allows for `api` (for all replicas together).
    fn rate(&self, api: &str, access: Access) -> f64 {
        self.per_api.get(api).copied().unwrap_or(match access {
            Access::Read => self.read,
            Access::Write => self.write,
        })
    }

    /// Runs `attempt` under the budget, the limiter and the retry policy.
    pub(super) async fn run<T, F, Fut>(&self, ctx: &CallCtx, api: &str, access: Access, mut attempt: F) -> Result<T>
    where
        F: FnMut(Attempt) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let rate = self.rate(api, access);
        let limiter = &self.shared.limits;
        let mut number = 0;
        loop {
            // Closed for the day by the vendor: no call, no budget spent.
            limiter.check_open(&self.account, api)?;
            if let Some(limit) = self.budget {
                let left = limiter.spend(&self.account, limit).await?;
                metrics::daily_budget_remaining(self.vendor, &self.account, i64::from(left));
            }
            let queued = Queued::enter(self.vendor, api);
            let acquired = limiter.acquire(&self.account, api, rate, ctx.deadline, ctx.identity.as_deref()).await;
            drop(queued);
            let limiter_wait = acquired?;
            metrics::limiter_wait(self.vendor, api, limiter_wait.as_secs_f64());
            if !limiter_wait.is_zero() {
                tracing::debug!(
                    vendor = self.vendor,
                    api,
                    wait_ms = limiter_wait.as_millis() as u64,
                    "waited for a rate-limit slot"
                );
            }
            let sent = tokio::time::Instant::now();
            let result = attempt(Attempt { number, limiter_wait }).await;
            let err = match result {
                Ok(v) => {
                    self.shared.retry_budget.deposit();
                    return Ok(v);
                }
                Err(e) => e,
            };
            if err.reason.closes_the_api() {
                limiter.close(&self.account, api, err.retry_after).await;
                tracing::warn!(vendor = self.vendor, api, reset_s = ?err.retry_after.map(|d| d.as_secs()), "the vendor's daily quota is used up; closing this API until its reset");
            }
            if err.reason.is_throttle() {
                limiter.throttled(&self.account, api, rate, err.retry_after, sent).await;
                tracing::warn!(vendor = self.vendor, api, retry_after_ms = ?err.retry_after.map(|d| d.as_millis()), "vendor throttled a call; pausing this API's bucket");
            }
            number += 1;
            if access == Access::Write || !err.reason.retryable() || number >= MAX_ATTEMPTS {
                return Err(err);
            }
            let backoff = full_jitter(number);
            let left = limiter.allowance(ctx.deadline);
            if backoff >= left || !self.shared.retry_budget.withdraw() {
                return Err(err);
            }
            tracing::info!(vendor = self.vendor, api, attempt = number, reason = %err.reason, "retrying a read");
            metrics::retry(self.vendor, api);
            tokio::time::sleep(backoff).await;
        }
    }
}

/// Counts a caller in the limiter-queue gauge until dropped (also when the
/// caller's future is cancelled while it waits).
struct Queued<'a> {
    vendor: &'static str,
    api: &'a str,
}

impl<'a> Queued<'a> {
    fn enter(vendor: &'static str, api: &'a str) -> Self {
        metrics::limiter_queue(vendor, api, 1);
        Queued { vendor, api }
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        metrics::limiter_queue(self.vendor, self.api, -1);
    }
}

/// Full jitter: uniform in [0, min(cap, base × 2^n)].
fn full_jitter(n: u32) -> Duration {
    let ceiling = BACKOFF_BASE.saturating_mul(1 << n.min(10)).min(BACKOFF_CAP);
    ceiling.mul_f64(rand::random::<f64>())
}
