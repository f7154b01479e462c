//! The cache of answers that cannot change: bounded by bytes (moka's
//! weigher, least recently used out first), each entry no older than
//! `limits.cache.max_age`. An entry is the answer's protobuf encoding, so
//! what a hit gives back is byte for byte what the vendor call gave.

use std::time::Duration;

use bytes::Bytes;
use moka::{future::Cache as Moka, notification::RemovalCause, policy::EvictionPolicy};
use tokio::time::Instant;

use super::Key;
use crate::{config::CacheConfig, telemetry::metrics};

/// A kept answer.
#[derive(Clone)]
pub(crate) struct Kept {
    /// Its protobuf encoding.
    pub bytes: Bytes,
    /// The vendor calls it took.
    pub calls: u32,
    /// When it was kept (the tokio clock, so tests can move it).
    at: Instant,
}

/// The cache (absent when `limits.cache.max_bytes` is 0).
pub(crate) struct Cache {
    entries: Moka<Key, Kept>,
    max_age: Duration,
}

impl Cache {
    /// A cache per `cfg`, or none when it is turned off.
    pub(crate) fn new(cfg: &CacheConfig) -> Option<Self> {
        if cfg.max_bytes == 0 {
            return None;
        }
        let entries = Moka::builder()
            .max_capacity(cfg.max_bytes)
            .weigher(|k: &Key, v: &Kept| u32::try_from(k.weight() + v.bytes.len()).unwrap_or(u32::MAX))
            .eviction_policy(EvictionPolicy::lru())
            .support_invalidation_closures()
            .eviction_listener(|_, _, cause| {
                if cause == RemovalCause::Size {
                    metrics::cache_eviction();
                }
            })
            .build();
        Some(Cache { entries, max_age: cfg.max_age })
    }

    /// The kept answer of `key`, if it is young enough.
    pub(crate) async fn get(&self, key: &Key) -> Option<Kept> {
        let kept = self.entries.get(key).await?;
        if kept.at.elapsed() < self.max_age {
            return Some(kept);
        }
        self.entries.invalidate(key).await;
        None
    }

    /// Keeps `bytes`, the answer of `key` that took `calls` vendor calls.
    pub(crate) async fn put(&self, key: Key, bytes: Bytes, calls: u32) {
        self.entries.insert(key, Kept { bytes, calls, at: Instant::now() }).await;
        // Apply the byte bound now rather than at some later access.
        self.entries.run_pending_tasks().await;
        metrics::cache_bytes(self.entries.weighted_size());
    }

    /// Drops every entry whose key passes `which`.
    pub(crate) async fn forget(&self, which: impl Fn(&Key) -> bool + Send + Sync + 'static) {
        // Only fails without support_invalidation_closures, which `new` turns on.
        let _ = self.entries.invalidate_entries_if(move |k, _| which(k));
        self.entries.run_pending_tasks().await;
        metrics::cache_bytes(self.entries.weighted_size());
    }

    /// Bytes held (keys included).
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> u64 {
        self.entries.weighted_size()
    }
}
