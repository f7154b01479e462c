//! IAM token cache: one token per workspace, renewed [`RENEW_BEFORE`] ahead of
//! its expiry, one renewal at a time however many callers wait, with an
//! injectable [`Clock`] so expiry logic is tested without sleeping.
//!
//! A token's lifetime is taken from IAM's own `issued_at`/`expires_at` and
//! counted on the local clock from the moment the request was sent, so a
//! skewed gateway clock neither keeps an expired token nor renews a fresh
//! one on every call.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime},
};

use crate::{config::Secret, domain::Result};

/// How long before its expiry a token is renewed (IAM tokens live 24 h).
pub(crate) const RENEW_BEFORE: Duration = Duration::from_secs(3600);

pub use crate::providers::credentials::Clock;
#[cfg(any(test, feature = "test-util"))]
pub use crate::providers::credentials::ManualClock;
pub(crate) use crate::providers::credentials::SystemClock;

/// A token IAM issued.
#[derive(Clone)]
pub(crate) struct Issued {
    /// `X-Subject-Token`.
    pub token: Secret,
    /// `token.expires_at` − `token.issued_at`.
    pub valid_for: Duration,
}

/// A cached token and when, on the local clock, to stop using it.
struct Cached {
    token: Secret,
    renew_at: SystemTime,
}

/// The cached token of one workspace.
pub struct TokenCache {
    clock: Arc<dyn Clock>,
    slot: tokio::sync::Mutex<Option<Cached>>,
    renewals: AtomicU64,
}

impl TokenCache {
    /// An empty cache reading `clock`.
    pub(crate) fn new(clock: Arc<dyn Clock>) -> Self {
        TokenCache { clock, slot: tokio::sync::Mutex::new(None), renewals: AtomicU64::new(0) }
    }

    /// The cached token, or a new one from `issue` when there is none or it
    /// expires within [`RENEW_BEFORE`]. Callers queue on one lock, so only
    /// the first of them renews; the rest get its token. A failed renewal
    /// is not cached: the next caller tries again.
    pub(crate) async fn get<F, Fut>(&self, issue: F) -> Result<Secret>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Issued>>,
    {
        let mut slot = self.slot.lock().await;
        let asked = self.clock.now();
        if let Some(t) = slot.as_ref().filter(|t| asked < t.renew_at) {
            return Ok(t.token.clone());
        }
        let t = issue().await?;
        self.renewals.fetch_add(1, Ordering::Relaxed);
        // Renew an hour early, or halfway through a token shorter than two hours.
        let margin = RENEW_BEFORE.min(t.valid_for / 2);
        let renew_at = asked + (t.valid_for - margin);
        *slot = Some(Cached { token: t.token.clone(), renew_at });
        Ok(t.token)
    }

    /// Drops `token` if it is still the cached one (the vendor refused it).
    pub(crate) async fn forget(&self, token: &Secret) {
        let mut slot = self.slot.lock().await;
        if slot.as_ref().is_some_and(|t| &t.token == token) {
            *slot = None;
        }
    }

    /// Tokens issued so far.
    pub(crate) fn renewals(&self) -> u64 {
        self.renewals.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_renewal_for_many_waiters_and_again_before_expiry() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let clock = ManualClock::new(start);
        let cache = Arc::new(TokenCache::new(clock.clone()));
        let issued = Arc::new(AtomicU64::new(0));
        let get = |cache: Arc<TokenCache>, issued: Arc<AtomicU64>| async move {
            cache
                .get(|| async move {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    let n = issued.fetch_add(1, Ordering::SeqCst) + 1;
                    Ok(Issued { token: Secret::new(format!("t{n}")), valid_for: Duration::from_secs(24 * 3600) })
                })
                .await
        };
        let all: Vec<_> = (0..10).map(|_| tokio::spawn(get(cache.clone(), issued.clone()))).collect();
        for h in all {
            assert_eq!(h.await.unwrap().unwrap().expose(), "t1");
        }
        assert_eq!(issued.load(Ordering::SeqCst), 1);

        clock.advance(Duration::from_secs(22 * 3600));
        assert_eq!(get(cache.clone(), issued.clone()).await.unwrap().expose(), "t1", "still fresh at 22 h");
        clock.advance(Duration::from_secs(3600 + 1));
        let all: Vec<_> = (0..10).map(|_| tokio::spawn(get(cache.clone(), issued.clone()))).collect();
        for h in all {
            assert_eq!(h.await.unwrap().unwrap().expose(), "t2");
        }
        assert_eq!((issued.load(Ordering::SeqCst), cache.renewals()), (2, 2));

        cache.forget(&Secret::new("t1")).await;
        assert_eq!(get(cache.clone(), issued.clone()).await.unwrap().expose(), "t2", "forgetting a stale token");
        cache.forget(&Secret::new("t2")).await;
        assert_eq!(get(cache.clone(), issued.clone()).await.unwrap().expose(), "t3");
    }

    #[tokio::test]
    async fn short_tokens_are_renewed_halfway() {
        let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000));
        let cache = TokenCache::new(clock.clone());
        let issue = || async { Ok(Issued { token: Secret::new("short"), valid_for: Duration::from_secs(1800) }) };
        cache.get(issue).await.unwrap();
        clock.advance(Duration::from_secs(899));
        cache.get(issue).await.unwrap();
        assert_eq!(cache.renewals(), 1);
        clock.advance(Duration::from_secs(1));
        cache.get(issue).await.unwrap();
        assert_eq!(cache.renewals(), 2);
    }
}
