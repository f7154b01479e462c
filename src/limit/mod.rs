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
    bucket::{Admission, Bucket, Turn},
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

/// Share of the time left kept free on top of the margin: gRPC clients
/// round `grpc-timeout` up and the deadline reaches the gateway late (a
/// 10 s deadline can arrive as 10.099 s), so the caller has about 1 % less
/// time than the header says.
const ROUNDING: u32 = 100;

impl Settings {
    /// How long a caller with `deadline` may wait for a turn: the time left,
    /// less the margin and 1 % of it (see [`ROUNDING`]), at most `max_wait`.
    pub(crate) fn allowance(&self, deadline: Option<Instant>) -> Duration {
        match deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                left.saturating_sub(self.margin + left / ROUNDING).min(self.max_wait)
            }
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
                Ok(Ok(Turn::Go)) => Ok(start.elapsed()),
                // The rate dropped: refused now rather than at the deadline.
                Ok(Ok(Turn::Refused(wait))) => Err(too_long(api, wait)),
                // Dropped by the dispatcher (cannot happen while it runs) or
                // the estimate was beaten by a vendor pause: give the caller
                // the time back with the wait we now expect.
                _ => Err(too_long(api, wait.max(allowed))),
            },
        }
    }

    /// The vendor throttled `account`'s call to `api` granted at `sent`:
    /// pause and adapt (see [`bucket`]).
    pub(crate) async fn throttled(
        &self,
        account: &str,
        api: &str,
        rate: f64,
        retry_after: Option<Duration>,
        sent: tokio::time::Instant,
    ) {
        let b = self.bucket(account, api, rate);
        b.throttled(retry_after, b.at(sent)).await;
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
    use std::sync::Mutex;

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
    async fn a_first_throttle_pauses_and_halves_once_and_busy_calls_climb_back() {
        let l = limiter();
        l.acquire("a", "X", 8.0, None, None).await.unwrap();
        let sent = tokio::time::Instant::now();
        tokio::time::advance(Duration::from_millis(10)).await;
        l.throttled("a", "X", 8.0, Some(Duration::from_millis(1500)), sent).await;
        assert_eq!(l.rate("a", "X").await, Some(4.0));
        // Another 429 of the same burst (sent before the decrease) pauses, never halves again.
        l.throttled("a", "X", 8.0, Some(Duration::from_millis(1500)), sent).await;
        assert_eq!(l.rate("a", "X").await, Some(4.0));
        let t0 = tokio::time::Instant::now();
        l.acquire("a", "X", 8.0, None, None).await.unwrap();
        assert!(t0.elapsed() >= Duration::from_millis(1500), "paused for the advertised time");
        // Nothing learnt yet: busy calls climb back to the configured rate.
        while t0.elapsed() < Duration::from_secs(40) {
            l.acquire("a", "X", 8.0, None, None).await.unwrap();
        }
        assert_eq!(l.rate("a", "X").await, Some(8.0));
    }

    /// A stand-in vendor API: `rate` calls per second with a burst of one
    /// second's worth (like the emulators' throttle); a refusal says how
    /// long to wait (DataWorks' `x-acs-retry-after`) or not (DataArts).
    struct Vendor {
        interval: Duration,
        burst: Duration,
        next: std::sync::Mutex<tokio::time::Instant>,
        advertises: bool,
    }

    impl Vendor {
        fn new(rate: f64, advertises: bool) -> Arc<Self> {
            let interval = Duration::from_secs_f64(1.0 / rate);
            let next = std::sync::Mutex::new(tokio::time::Instant::now());
            Arc::new(Vendor { interval, burst: Duration::from_secs(1), next, advertises })
        }

        /// One call now: Err (with the advertised wait) when throttled.
        fn call(&self) -> Result<(), Option<Duration>> {
            let now = tokio::time::Instant::now();
            let mut next = self.next.lock().unwrap();
            let latest = now + self.burst - self.interval;
            if *next > latest {
                return Err(self.advertises.then(|| *next - latest));
            }
            *next = (*next).max(now) + self.interval;
            Ok(())
        }
    }

    /// 20 callers calling `vendor` through a bucket configured at
    /// `configured` as fast as it lets them for `secs`, 20 ms per answer:
    /// calls accepted and throttled per 10 s window.
    async fn saturate(configured: f64, vendor: Arc<Vendor>, secs: u64) -> Vec<(u32, u32)> {
        let l = limiter();
        let windows = Arc::new(Mutex::new(vec![(0u32, 0u32); secs.div_ceil(10) as usize]));
        let t0 = tokio::time::Instant::now();
        let end = Duration::from_secs(secs);
        let mut callers = Vec::new();
        for _ in 0..20 {
            let (l, vendor, windows) = (l.clone(), vendor.clone(), windows.clone());
            callers.push(tokio::spawn(async move {
                while t0.elapsed() < end {
                    if let Err(e) = l.acquire("acct", "ListFiles", configured, None, None).await {
                        tokio::time::sleep(e.retry_after.unwrap_or(Duration::from_secs(1))).await;
                        continue;
                    }
                    let sent = tokio::time::Instant::now();
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    let answer = vendor.call();
                    let at = t0.elapsed();
                    if at >= end {
                        break;
                    }
                    let w = (at.as_secs() / 10) as usize;
                    match answer {
                        Ok(()) => windows.lock().unwrap()[w].0 += 1,
                        Err(retry_after) => {
                            windows.lock().unwrap()[w].1 += 1;
                            l.throttled("acct", "ListFiles", configured, retry_after, sent).await;
                        }
                    }
                }
            }));
        }
        for c in callers {
            c.await.unwrap();
        }
        Arc::try_unwrap(windows).unwrap().into_inner().unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn ten_times_too_high_a_rate_converges_under_the_vendors_within_30_s() {
        // 10× the vendor's rate configured; with and without retry-after.
        for vendor in [5.0, 2.0, 20.0] {
            for advertises in [true, false] {
                let windows = saturate(vendor * 10.0, Vendor::new(vendor, advertises), 120).await;
                let least = (vendor * 10.0 * 0.9).floor() as u32;
                for (i, (accepted, throttled)) in windows.iter().enumerate().skip(3) {
                    let from = i * 10;
                    let case = format!("vendor {vendor}/s, retry-after {advertises}, {from}-{} s", from + 10);
                    assert_eq!(*throttled, 0, "{case}: 429s: {windows:?}");
                    assert!(*accepted >= least, "{case}: used {accepted}: {windows:?}");
                }
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn twice_too_high_a_rate_converges_too() {
        let windows = saturate(10.0, Vendor::new(5.0, true), 90).await;
        for (accepted, throttled) in windows.iter().skip(3) {
            assert_eq!(*throttled, 0, "{windows:?}");
            assert!(*accepted >= 45, "{windows:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_rate_drop_refuses_at_once_the_waiters_it_makes_late() {
        let l = limiter();
        l.acquire("a", "X", 10.0, None, None).await.unwrap();
        let sent = tokio::time::Instant::now();
        // Ten callers with 2 s deadlines queue behind it: at 10/s all make it.
        let mut waiting = Vec::new();
        for _ in 0..10 {
            let l = l.clone();
            let deadline = Some(Instant::now() + Duration::from_secs(2));
            waiting.push(tokio::spawn(async move {
                let t = tokio::time::Instant::now();
                let got = l.acquire("a", "X", 10.0, deadline, None).await;
                (got, t.elapsed())
            }));
            tokio::task::yield_now().await;
        }
        // The vendor throttles: 1 s pause, half the rate. Turns now come at
        // 1 s, 1.2 s, ... 1.8 s: five make it, five cannot.
        l.throttled("a", "X", 10.0, Some(Duration::from_secs(1)), sent).await;
        let (mut served, mut refused) = (0, 0);
        for w in waiting {
            let (got, after) = w.await.unwrap();
            match got {
                Ok(_) => {
                    served += 1;
                    assert!(after <= Duration::from_millis(1800), "served in time: {after:?}");
                }
                Err(e) => {
                    refused += 1;
                    assert_eq!(after, Duration::ZERO, "refused when the rate dropped, not at the deadline");
                    assert_eq!(e.code, Code::ResourceExhausted);
                    assert!(e.retry_after.unwrap() >= Duration::from_secs(2), "the wait now expected");
                }
            }
        }
        assert_eq!((served, refused), (5, 5));
    }

    #[test]
    fn the_deadline_margin_covers_grpc_timeout_rounding() {
        // A 10 s deadline that arrives as 10.099 s: the turn must come
        // before the caller's real 10 s, less the margin.
        let s = Settings::default();
        let allowed = s.allowance(Some(Instant::now() + Duration::from_millis(10_099)));
        assert!(allowed <= Duration::from_millis(10_000) - s.margin, "{allowed:?}");
        assert!(allowed >= Duration::from_millis(9_900), "{allowed:?}");
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
