//! Quota economy: every vendor call the gateway does not make is quota a
//! team gets back.
//!
//! Every read RPC goes through [`Economy::read`] with a typed [`Key`]: the
//! workspace, the caller's [`Grant`] (the policies that let it read there)
//! and the validated request ([`Read`]: the operation and its normalised
//! arguments, page cursor and view included). Two reads share an answer
//! only when all three are equal, so nothing crosses workspaces or grants.
//!
//! - **Coalescing** ([`flights`]): identical reads in flight at the same
//!   time share one vendor call; each caller waits within its own deadline
//!   and gets its own copy of the answer or the error.
//! - **The cache** ([`cache`]): answers that cannot change — file versions
//!   (their content, name, committer and time never change; their `state`
//!   and `is_current_prod` may, hence `limits.cache.max_age`), release
//!   packages and deployments in a final state — are kept, bounded by
//!   bytes. Lists and files, which change, never are.
//!
//! Writes never come here. `datastudio_vendor_calls_saved_total` counts the
//! vendor calls an answer did not need: the calls its flight or its cached
//! original took.

mod cache;
mod flights;

use std::future::Future;

use bytes::Bytes;
use prost::Message;

use self::{cache::Cache, flights::Flights};
use crate::{
    auth::Grant,
    config::CacheConfig,
    domain::{CallCtx, FileQuery, Page, PackageQuery, PageReq, Result, is_terminal},
    pb,
    telemetry::{
        metrics::{self, Saved},
        tally,
    },
};

/// A read operation and its validated request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Read {
    /// ListReleasePackages.
    ListReleasePackages(PackageQuery),
    /// GetReleasePackage.
    GetReleasePackage {
        /// Package id.
        id: String,
        /// VIEW_FULL.
        full: bool,
    },
    /// GetDeployment (and the looks of WatchDeployment).
    GetDeployment {
        /// Deployment id.
        id: String,
        /// VIEW_FULL.
        full: bool,
    },
    /// ListFiles.
    ListFiles(FileQuery),
    /// GetFile.
    GetFile {
        /// File id.
        id: String,
        /// VIEW_FULL.
        full: bool,
    },
    /// ListFileVersions.
    ListFileVersions {
        /// File id.
        file_id: String,
        /// The page.
        page: PageReq,
        /// VIEW_FULL.
        full: bool,
    },
    /// GetFileVersion.
    GetFileVersion {
        /// File id.
        file_id: String,
        /// Version number.
        version: i64,
        /// VIEW_FULL.
        full: bool,
    },
}

impl Read {
    /// The RPC's name (metric label).
    pub(crate) fn operation(&self) -> &'static str {
        match self {
            Read::ListReleasePackages(_) => "ListReleasePackages",
            Read::GetReleasePackage { .. } => "GetReleasePackage",
            Read::GetDeployment { .. } => "GetDeployment",
            Read::ListFiles(_) => "ListFiles",
            Read::GetFile { .. } => "GetFile",
            Read::ListFileVersions { .. } => "ListFileVersions",
            Read::GetFileVersion { .. } => "GetFileVersion",
        }
    }

    /// Bytes of the request's text, about (the cache's weigher).
    fn text_len(&self) -> usize {
        let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        match self {
            Read::ListReleasePackages(q) => opt(&q.keyword) + opt(&q.page.cursor),
            Read::ListFiles(q) => {
                opt(&q.folder_path)
                    + opt(&q.keyword)
                    + opt(&q.exact_name)
                    + q.file_types.iter().chain(&q.file_ids).map(String::len).sum::<usize>()
                    + opt(&q.page.cursor)
            }
            Read::ListFileVersions { file_id, page, .. } => file_id.len() + opt(&page.cursor),
            Read::GetReleasePackage { id, .. } | Read::GetDeployment { id, .. } | Read::GetFile { id, .. } => id.len(),
            Read::GetFileVersion { file_id, .. } => file_id.len(),
        }
    }
}

/// What identifies one read: answers are shared only between equal keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    /// The workspace.
    pub workspace: String,
    /// The policies that let the caller read it.
    pub grant: Grant,
    /// The request.
    pub read: Read,
}

impl Key {
    /// Bytes the key takes in the cache, about.
    fn weight(&self) -> usize {
        std::mem::size_of::<Key>() + self.workspace.len() + self.grant.size() * 4 + self.read.text_len()
    }
}

/// An answer of a read operation: which flights it shares, and whether it
/// may be kept.
pub(crate) trait Answer: Clone + Send + Sync + Sized + 'static {
    /// The flights of this kind of answer.
    fn flights(e: &Economy) -> &Flights<Key, Self>;
    /// Its encoding, when it cannot change (the cache keeps it); None otherwise.
    fn lasting(&self) -> Option<Bytes>;
    /// The answer a kept encoding holds.
    fn from_kept(bytes: &[u8]) -> Option<Self>;
}

/// Coalescing and the cache, for every workspace.
#[derive(Default)]
pub(crate) struct Economy {
    packages: Flights<Key, Page<pb::ReleasePackage>>,
    package: Flights<Key, pb::ReleasePackage>,
    deployment: Flights<Key, pb::Deployment>,
    files: Flights<Key, Page<pb::File>>,
    file: Flights<Key, pb::File>,
    versions: Flights<Key, Page<pb::FileVersion>>,
    version: Flights<Key, pb::FileVersion>,
    cache: Option<Cache>,
}

impl Economy {
    /// Coalescing, and a cache per `cfg` (none when its `max_bytes` is 0).
    pub(crate) fn new(cfg: &CacheConfig) -> Self {
        Economy { cache: Cache::new(cfg), ..Economy::default() }
    }

    /// The answer to `read` on `ctx`'s workspace for a caller with
    /// `grant`: from the cache, from an identical read in flight, or from
    /// `fetch` (which may run more than once when a flight ran out of
    /// another caller's time; see [`flights`]).
    pub(crate) async fn read<V, F, Fut>(&self, ctx: &CallCtx, grant: Grant, read: Read, fetch: F) -> Result<V>
    where
        V: Answer,
        F: Fn(CallCtx) -> Fut,
        Fut: Future<Output = Result<V>> + Send + 'static,
    {
        let operation = read.operation();
        let key = Key { workspace: ctx.workspace.clone(), grant, read };
        if let Some(cache) = &self.cache
            && let Some(kept) = cache.get(&key).await
            && let Some(answer) = V::from_kept(&kept.bytes)
        {
            metrics::cache_lookup(operation, true);
            metrics::calls_saved(Saved::Cached, operation, kept.calls);
            return Ok(answer);
        }
        let joined = V::flights(self).run(ctx, key.clone(), fetch).await;
        if joined.led {
            // The flight worked for this RPC.
            tally::add(joined.calls);
        } else {
            metrics::calls_saved(Saved::Coalesced, operation, joined.calls);
        }
        let answer = joined.result?;
        if let Some(cache) = &self.cache
            && let Some(bytes) = answer.lasting()
        {
            metrics::cache_lookup(operation, false);
            if joined.led {
                cache.put(key, bytes, joined.calls).await;
            }
        }
        Ok(answer)
    }

    /// The cache (tests).
    #[cfg(test)]
    fn cache(&self) -> Option<&Cache> {
        self.cache.as_ref()
    }
}

/// Answers that always change (lists and files): shared, never kept.
macro_rules! changing {
    ($($t:ty => $field:ident),* $(,)?) => {$(
        impl Answer for $t {
            fn flights(e: &Economy) -> &Flights<Key, Self> {
                &e.$field
            }
            fn lasting(&self) -> Option<Bytes> {
                None
            }
            fn from_kept(_: &[u8]) -> Option<Self> {
                None
            }
        }
    )*};
}

changing!(
    Page<pb::ReleasePackage> => packages,
    Page<pb::FileVersion> => versions,
    Page<pb::File> => files,
    pb::File => file,
);

/// Whether a release package's state is final: it is never deployed,
/// approved or rejected again.
fn package_final(s: pb::ReleasePackageState) -> bool {
    match s {
        pb::ReleasePackageState::Succeeded
        | pb::ReleasePackageState::Failed
        | pb::ReleasePackageState::Rejected
        | pb::ReleasePackageState::Cancelled => true,
        pb::ReleasePackageState::Unspecified
        | pb::ReleasePackageState::Ready
        | pb::ReleasePackageState::PendingApproval
        | pb::ReleasePackageState::Deploying => false,
    }
}

impl Answer for pb::ReleasePackage {
    fn flights(e: &Economy) -> &Flights<Key, Self> {
        &e.package
    }
    fn lasting(&self) -> Option<Bytes> {
        package_final(self.state()).then(|| self.encode_to_vec().into())
    }
    fn from_kept(bytes: &[u8]) -> Option<Self> {
        Self::decode(bytes).ok()
    }
}

impl Answer for pb::Deployment {
    fn flights(e: &Economy) -> &Flights<Key, Self> {
        &e.deployment
    }
    fn lasting(&self) -> Option<Bytes> {
        is_terminal(self.state()).then(|| self.encode_to_vec().into())
    }
    fn from_kept(bytes: &[u8]) -> Option<Self> {
        Self::decode(bytes).ok()
    }
}

impl Answer for pb::FileVersion {
    fn flights(e: &Economy) -> &Flights<Key, Self> {
        &e.version
    }
    fn lasting(&self) -> Option<Bytes> {
        // A version being committed has not settled yet.
        (self.state() != pb::FileVersionState::Committing).then(|| self.encode_to_vec().into())
    }
    fn from_kept(bytes: &[u8]) -> Option<Self> {
        Self::decode(bytes).ok()
    }
}
