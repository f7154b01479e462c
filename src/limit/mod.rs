//! Quota protection: one rate bucket per (vendor account, vendor API),
//! callers waiting their turn as long as their deadline allows, learning
//! from vendor throttling, daily budgets, and idle buckets evicted.
//!
//! [`Limiter`] keeps the buckets of one gateway process: with N replicas,
//! each one divides the vendor limit by `limits.replicas` (the Helm chart
//! sets it). [`Limits`] is what vendor calls use: it asks a [`Backend`] —
//! this process's buckets ([`backend::Local`]) or Redis shared by every
//! replica ([`redis::RedisBackend`], which keeps one count for the fleet).

pub(crate) mod backend;
pub(crate) mod bucket;
pub(crate) mod budget;
pub(crate) mod clock;
pub(crate) mod closed;
pub mod redis;

pub use backend::{Backend, Limits};

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tonic::Code;

use self::{
    bucket::{Admission, Bucket},
    clock::TokioClock,
};
use crate::domain::{Error, Reason};

/// Limiter-wide settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Longest wait, whatever the deadline.
    pub max_wait: Duration,
    /// Kept free before the caller's deadline.
    pub margin: Duration,
    /// Idle time after which a bucket is forgotten.
    pub idle_evict: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_wait: Duration::from_secs(30),
            margin: Duration::from_millis(50),
            idle_evict: Duration::from_secs(600),
        }
    }
}

impl Settings {
    /// How long a caller with `deadline` may wait for a turn.
    pub(crate) fn allowance(&self, deadline: Option<Instant>) -> Duration {
        match deadline {
            Some(d) => d.saturating_duration_since(Instant::now()).saturating_sub(self.margin).min(self.max_wait),
            None => self.max_wait,
        }
    }
}

/// The process's rate buckets.
pub(crate) struct Limiter {
    clock: TokioClock,
    settings: Settings,
    buckets: Mutex<HashMap<(String, String), Arc<Bucket>>>,
}

impl Limiter {
    /// A limiter; spawns the idle-bucket sweeper when a runtime is present.
    pub(crate) fn new(settings: Settings) -> Arc<Self> {
        let l = Arc::new(Limiter { clock: TokioClock::new(), settings, buckets: Mutex::new(HashMap::new()) });
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let weak = Arc::downgrade(&l);
            rt.spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(60));
                loop {
                    tick.tick().await;
                    let Some(l) = weak.upgrade() else { return };
                    l.evict_idle().await;
                }
            });
        }
        l
    }

    fn bucket(&self, account: &str, api: &str, rate: f64) -> Arc<Bucket> {
        let mut m = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        m.entry((account.to_owned(), api.to_owned())).or_insert_with(|| Bucket::new(rate, self.clock)).clone()
    }

    /// Waits for a turn to call `api` with `account`'s credentials at
    /// `rate` calls per second, taking turns fairly with other callers
    /// (`caller`: the authenticated identity). Returns the time waited, or
    /// RESOURCE_EXHAUSTED with RetryInfo (the true wait) at once when the
    /// caller's deadline cannot cover the wait.
    #[cfg(test)]
    pub(crate) async fn acquire(
        &self,
        account: &str,
        api: &str,
        rate: f64,
        deadline: Option<Instant>,
        caller: Option<&str>,
    ) -> Result<Duration, Error> {
        self.acquire_within(account, api, rate, self.settings.allowance(deadline), caller).await
    }

    /// [`Limiter::acquire`] for a caller that may wait at most `allowed`.
    pub(crate) async fn acquire_within(
        &self,
        account: &str,
        api: &str,
        rate: f64,
        allowed: Duration,
        caller: Option<&str>,
    ) -> Result<Duration, Error> {
        let b = self.bucket(account, api, rate);
        let start = tokio::time::Instant::now();
        match b.admit(allowed, caller).await {
            Admission::Now => Ok(Duration::ZERO),
            Admission::TooLong(wait) => Err(too_long(api, wait)),
            Admission::Queued(rx, wait) => match tokio::time::timeout(allowed, rx).await {
                Ok(Ok(_)) => Ok(start.elapsed()),
                // Dropped by the dispatcher (cannot happen while it runs) or
                // the estimate was beaten by a vendor pause: give the caller
                // the time back with the wait we now expect.
                _ => Err(too_long(api, wait.max(allowed))),
            },
        }
    }

    /// The vendor throttled `account` on `api`: pause and back off.
    pub(crate) async fn throttled(&self, account: &str, api: &str, rate: f64, retry_after: Option<Duration>) {
        self.bucket(account, api, rate).throttled(retry_after).await;
    }

    #[cfg(test)]
    /// Current rate of a bucket (None if it does not exist).
    pub(crate) async fn rate(&self, account: &str, api: &str) -> Option<f64> {
        let b =
            self.buckets.lock().unwrap_or_else(|e| e.into_inner()).get(&(account.to_owned(), api.to_owned())).cloned();
        match b {
            Some(b) => Some(b.rate().await),
            None => None,
        }
    }

    /// Forgets buckets idle for longer than `idle_evict`.
    pub(crate) async fn evict_idle(&self) -> usize {
        let all: Vec<_> = self
            .buckets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, b)| (k.clone(), b.clone()))
            .collect();
        let mut gone = Vec::new();
        for (k, b) in all {
            if b.idle_for(self.settings.idle_evict).await {
                gone.push(k);
            }
        }
        let mut m = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        for k in &gone {
            m.remove(k);
        }
        gone.len()
    }

    /// Buckets held.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.buckets.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// RESOURCE_EXHAUSTED with RetryInfo: the caller's deadline cannot cover `wait`.
pub(crate) fn too_long(api: &str, wait: Duration) -> Error {
    Error::new(
        Code::ResourceExhausted,
        Reason::RateLimited,
        format!(
            "the vendor rate limit for {api} cannot serve this call within its deadline; retry in {} ms",
            wait.as_millis()
        ),
    )
    .with_retry_after(wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> Arc<Limiter> {
        Limiter::new(Settings::default())
    }

    #[tokio::test(start_paused = true)]
    async fn waiters_are_served_in_order_at_the_rate() {
        let l = limiter();
        let t0 = tokio::time::Instant::now();
        let mut tasks = Vec::new();
        for i in 0..10u32 {
            let l = l.clone();
            tasks.push(tokio::spawn(async move {
                l.acquire("acct", "ListFiles", 5.0, None, None).await.unwrap();
                (i, t0.elapsed())
            }));
            tokio::task::yield_now().await;
        }
        let mut done = Vec::new();
        for t in tasks {
            done.push(t.await.unwrap());
        }
        for (i, at) in &done {
            // 5/s, burst 1: the i-th call goes at i × 200 ms.
            assert_eq!(at.as_millis(), u128::from(*i) * 200, "call {i}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_short_deadline_gets_retry_info_at_once() {
        let l = limiter();
        for _ in 0..5 {
            let l = l.clone();
            tokio::spawn(async move { l.acquire("a", "X", 1.0, None, None).await });
        }
        tokio::task::yield_now().await;
        let t0 = tokio::time::Instant::now();
        let e = l.acquire("a", "X", 1.0, Some(Instant::now() + Duration::from_secs(2)), None).await.unwrap_err();
        assert_eq!(t0.elapsed(), Duration::ZERO, "failed without waiting");
        assert_eq!(e.code, Code::ResourceExhausted);
        assert!(e.retry_after.unwrap() >= Duration::from_secs(4), "{:?}", e.retry_after);
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_waiter_spends_no_token() {
        let l = limiter();
        l.acquire("a", "X", 1.0, None, None).await.unwrap();
        let l2 = l.clone();
        let gone = tokio::spawn(async move { l2.acquire("a", "X", 1.0, None, None).await });
        tokio::task::yield_now().await;
        gone.abort();
        let t0 = tokio::time::Instant::now();
        l.acquire("a", "X", 1.0, None, None).await.unwrap();
        assert_eq!(t0.elapsed(), Duration::from_secs(1), "took the cancelled caller's turn, not the one after it");
    }

    #[tokio::test(start_paused = true)]
    async fn vendor_throttling_pauses_halves_and_recovers() {
        let l = limiter();
        l.acquire("a", "X", 8.0, None, None).await.unwrap();
        l.throttled("a", "X", 8.0, Some(Duration::from_millis(1500))).await;
        assert_eq!(l.rate("a", "X").await, Some(4.0));
        let t0 = tokio::time::Instant::now();
        l.acquire("a", "X", 8.0, None, None).await.unwrap();
        assert!(t0.elapsed() >= Duration::from_millis(1500), "paused for the advertised time");
        tokio::time::sleep(bucket::RECOVER_EVERY * 3).await;
        l.acquire("a", "X", 8.0, None, None).await.unwrap();
        let r = l.rate("a", "X").await.unwrap();
        assert!(r > 4.0 && r <= 8.0, "recovering: {r}");
        tokio::time::sleep(bucket::RECOVER_EVERY * 20).await;
        l.acquire("a", "X", 8.0, None, None).await.unwrap();
        assert_eq!(l.rate("a", "X").await, Some(8.0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_flooding_caller_does_not_push_others_past_their_share() {
        let l = limiter();
        let t0 = tokio::time::Instant::now();
        let mut flood = Vec::new();
        for _ in 0..20 {
            let l = l.clone();
            flood.push(tokio::spawn(async move { l.acquire("a", "X", 5.0, None, Some("flooder")).await }));
            tokio::task::yield_now().await;
        }
        // Another caller arriving behind 20 queued calls with a 1 s deadline
        // is admitted (FIFO would refuse it: a 4 s wait) and served within
        // two turns of 200 ms.
        let deadline = Some(Instant::now() + Duration::from_secs(1));
        let waited = l.acquire("a", "X", 5.0, deadline, Some("quiet")).await.expect("admitted within its share");
        assert!(waited <= Duration::from_millis(400), "waited {waited:?}");
        // A second quiet call also takes the next free turn, not the back of the flood.
        let t1 = tokio::time::Instant::now();
        l.acquire("a", "X", 5.0, None, Some("quiet")).await.unwrap();
        assert!(t1.elapsed() <= Duration::from_millis(400), "{:?}", t1.elapsed());
        for f in flood {
            f.await.unwrap().unwrap();
        }
        // The flooder still gets every turn nobody else wants: 22 calls at 5/s.
        assert_eq!(t0.elapsed(), Duration::from_millis(21 * 200));
    }

    #[tokio::test(start_paused = true)]
    async fn idle_buckets_are_evicted_and_keys_are_separate() {
        let l = Limiter::new(Settings { idle_evict: Duration::from_secs(10), ..Settings::default() });
        l.acquire("a", "X", 1.0, None, None).await.unwrap();
        // Another API or account does not wait behind "a/X".
        let t0 = tokio::time::Instant::now();
        l.acquire("a", "Y", 1.0, None, None).await.unwrap();
        l.acquire("b", "X", 1.0, None, None).await.unwrap();
        assert_eq!(t0.elapsed(), Duration::ZERO);
        assert_eq!(l.len(), 3);
        tokio::time::sleep(Duration::from_secs(11)).await;
        assert_eq!(l.evict_idle().await, 3);
        assert_eq!(l.len(), 0);
    }
}
