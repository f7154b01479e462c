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
    domain::{CallCtx, FileQuery, PackageQuery, Page, PageReq, Result, is_terminal},
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

    /// Drops the kept versions of `files` of `workspace` (every file when
    /// None), whatever the grant: a deploy through the gateway moves their
    /// state and `is_current_prod`.
    pub(crate) async fn forget_versions(&self, workspace: &str, files: Option<&[String]>) {
        if let Some(cache) = &self.cache {
            let (workspace, files) = (workspace.to_owned(), files.map(<[String]>::to_vec));
            cache
                .forget(move |k: &Key| {
                    k.workspace == workspace
                        && match &k.read {
                            Read::GetFileVersion { file_id, .. } => files.as_ref().is_none_or(|f| f.contains(file_id)),
                            Read::ListReleasePackages(_)
                            | Read::GetReleasePackage { .. }
                            | Read::GetDeployment { .. }
                            | Read::ListFiles(_)
                            | Read::GetFile { .. }
                            | Read::ListFileVersions { .. } => false,
                        }
                })
                .await;
        }
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
        // Content, name, committer and time never change; a version being
        // committed or deployed is about to change state, so it is not kept.
        let settling = match self.state() {
            pb::FileVersionState::Committing | pb::FileVersionState::Deploying => true,
            pb::FileVersionState::Unspecified
            | pb::FileVersionState::Committed
            | pb::FileVersionState::Packaged
            | pb::FileVersionState::Deployed
            | pb::FileVersionState::Cancelled => false,
        };
        (!settling).then(|| self.encode_to_vec().into())
    }
    fn from_kept(bytes: &[u8]) -> Option<Self> {
        Self::decode(bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    //! Coalescing and the cache against a scripted fetch on tokio's paused
    //! clock: every fetch takes `SLOW` of it, so callers started together
    //! are in flight together.

    use std::{
        sync::{
            Arc,
            atomic::{AtomicUsize, Ordering},
        },
        time::Duration,
    };

    use tonic::Code;

    use super::*;
    use crate::domain::{Error, Reason};

    const SLOW: Duration = Duration::from_millis(200);

    fn ctx(workspace: &str, deadline: Option<Duration>) -> CallCtx {
        CallCtx {
            workspace: workspace.into(),
            deadline: deadline.map(|d| tokio::time::Instant::now().into_std() + d),
            identity: None,
        }
    }

    fn version_read(v: i64) -> Read {
        Read::GetFileVersion { file_id: "f".into(), version: v, full: false }
    }

    fn version(v: i64, content: &str) -> pb::FileVersion {
        pb::FileVersion {
            name: format!("workspaces/w/files/f/versions/{v}"),
            version: v,
            content: content.into(),
            state: pb::FileVersionState::Committed as i32,
            ..Default::default()
        }
    }

    /// A caller in a task of its own reading version 1 of workspace `w`
    /// (within `deadline` from now), by a fetch that counts its runs and
    /// answers `x`.
    fn spawn_read(
        e: &Arc<Economy>,
        runs: &Arc<AtomicUsize>,
        deadline: Option<Duration>,
    ) -> tokio::task::JoinHandle<Result<pb::FileVersion>> {
        let (e, f) = (e.clone(), fetch(runs, Ok(version(1, "x"))));
        tokio::spawn(async move { e.read(&ctx("w", deadline), Grant::default(), version_read(1), f).await })
    }

    /// A fetch that counts its runs and answers `answer` after `SLOW`.
    fn fetch<V: Clone + Send + 'static>(
        runs: &Arc<AtomicUsize>,
        answer: Result<V>,
    ) -> impl Fn(CallCtx) -> std::pin::Pin<Box<dyn Future<Output = Result<V>> + Send>> + use<V> {
        let runs = runs.clone();
        move |ctx: CallCtx| {
            let (runs, answer) = (runs.clone(), answer.clone());
            Box::pin(async move {
                runs.fetch_add(1, Ordering::SeqCst);
                let until = tokio::time::Instant::now() + SLOW;
                match ctx.deadline.map(tokio::time::Instant::from_std) {
                    Some(d) if d < until => {
                        tokio::time::sleep_until(d).await;
                        Err(Error::new(Code::DeadlineExceeded, Reason::DeadlineExceeded, "the call's deadline passed"))
                    }
                    _ => {
                        tokio::time::sleep_until(until).await;
                        answer
                    }
                }
            })
        }
    }

    fn off() -> Economy {
        Economy::new(&CacheConfig { max_bytes: 0, ..CacheConfig::default() })
    }

    #[tokio::test(start_paused = true)]
    async fn identical_reads_in_flight_share_one_fetch() {
        let e = Arc::new(off());
        let runs = Arc::new(AtomicUsize::new(0));
        let mut calls = Vec::new();
        for _ in 0..20 {
            let (e, f) = (e.clone(), fetch(&runs, Ok(version(3, "select 1"))));
            calls.push(tokio::spawn(async move {
                e.read(&ctx("w", Some(Duration::from_secs(5))), Grant::default(), version_read(3), f).await
            }));
        }
        for c in calls {
            assert_eq!(c.await.unwrap().unwrap(), version(3, "select 1"));
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1, "20 identical reads, one vendor call");
        assert_eq!(e.version.in_flight(), 0, "a landed flight leaves the table");
        // Later, the same read is a new flight (lists and files are never kept).
        e.read(&ctx("w", None), Grant::default(), version_read(3), fetch(&runs, Ok(version(3, "select 1"))))
            .await
            .unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn workspaces_grants_and_requests_never_share() {
        let e = Arc::new(off());
        let runs = Arc::new(AtomicUsize::new(0));
        let keys = [
            ("w", Grant::of(&[0]), 1),
            ("v", Grant::of(&[0]), 1),
            ("w", Grant::of(&[1]), 1),
            ("w", Grant::of(&[0]), 2),
        ];
        let mut calls = Vec::new();
        for (ws, grant, v) in keys {
            let (e, f) = (e.clone(), fetch(&runs, Ok(version(v, ws))));
            calls.push(tokio::spawn(async move { e.read(&ctx(ws, None), grant, version_read(v), f).await }));
        }
        for c in calls {
            c.await.unwrap().unwrap();
        }
        assert_eq!(runs.load(Ordering::SeqCst), 4, "one vendor call per workspace, grant and request");
    }

    #[tokio::test(start_paused = true)]
    async fn a_short_deadline_leaves_alone_and_the_flight_goes_on() {
        let e = Arc::new(off());
        let runs = Arc::new(AtomicUsize::new(0));
        let long = spawn_read(&e, &runs, Some(Duration::from_secs(5)));
        tokio::task::yield_now().await;
        let short = e
            .read(&ctx("w", Some(SLOW / 4)), Grant::default(), version_read(1), fetch(&runs, Ok(version(1, "x"))))
            .await
            .unwrap_err();
        assert_eq!((short.code, short.reason), (Code::DeadlineExceeded, Reason::DeadlineExceeded));
        assert_eq!(long.await.unwrap().unwrap(), version(1, "x"), "the first caller still gets its answer");
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_caller_going_away_leaves_the_flight_to_the_others() {
        let e = Arc::new(off());
        let runs = Arc::new(AtomicUsize::new(0));
        let first = spawn_read(&e, &runs, None);
        tokio::task::yield_now().await;
        let others: Vec<_> = (0..3).map(|_| spawn_read(&e, &runs, None)).collect();
        tokio::time::sleep(SLOW / 2).await;
        // The first caller's task drives the fetch until it goes (its client
        // hung up); the others carry it on.
        first.abort();
        assert!(first.await.unwrap_err().is_cancelled());
        for o in others {
            assert_eq!(o.await.unwrap().unwrap(), version(1, "x"));
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1, "the fetch went on, it did not start again");
    }

    #[tokio::test(start_paused = true)]
    async fn a_fetch_that_panics_fails_its_flight_not_its_callers() {
        let e = Arc::new(off());
        let mut calls = Vec::new();
        for _ in 0..3 {
            let e = e.clone();
            calls.push(tokio::spawn(async move {
                let panics = |_: CallCtx| async {
                    tokio::time::sleep(SLOW).await;
                    panic!("a bug in a driver")
                };
                e.read::<pb::FileVersion, _, _>(&ctx("w", None), Grant::default(), version_read(1), panics).await
            }));
        }
        for c in calls {
            let err = c.await.expect("the caller's task did not panic").unwrap_err();
            assert_eq!((err.code, err.reason), (Code::Unavailable, Reason::VendorUnavailable), "{err}");
        }
        assert_eq!(e.version.in_flight(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_flight_cut_short_by_its_first_callers_deadline_starts_again_for_the_others() {
        let e = Arc::new(off());
        let runs = Arc::new(AtomicUsize::new(0));
        let short = spawn_read(&e, &runs, Some(SLOW / 2));
        tokio::task::yield_now().await;
        let longs: Vec<_> = (0..5).map(|_| spawn_read(&e, &runs, Some(Duration::from_secs(5)))).collect();
        assert_eq!(short.await.unwrap().unwrap_err().code, Code::DeadlineExceeded);
        for l in longs {
            assert_eq!(l.await.unwrap().unwrap(), version(1, "x"), "a short deadline never cuts a longer one short");
        }
        assert_eq!(runs.load(Ordering::SeqCst), 2, "one flight cut short, one shared by the five others");
    }

    #[tokio::test(start_paused = true)]
    async fn an_error_reaches_every_waiter() {
        let e = Arc::new(off());
        let runs = Arc::new(AtomicUsize::new(0));
        let refused = Error::new(Code::NotFound, Reason::VendorNotFound, "no such version");
        let mut calls = Vec::new();
        for _ in 0..5 {
            let (e, f) = (e.clone(), fetch::<pb::FileVersion>(&runs, Err(refused.clone())));
            calls
                .push(tokio::spawn(async move { e.read(&ctx("w", None), Grant::default(), version_read(9), f).await }));
        }
        for c in calls {
            let err = c.await.unwrap().unwrap_err();
            assert_eq!(
                (err.code, err.reason, err.message.as_str()),
                (Code::NotFound, Reason::VendorNotFound, "no such version")
            );
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn when_every_caller_has_left_the_flight_is_abandoned() {
        let e = off();
        let runs = Arc::new(AtomicUsize::new(0));
        let out = e
            .read(&ctx("w", Some(SLOW / 2)), Grant::default(), version_read(1), fetch(&runs, Ok(version(1, "x"))))
            .await;
        assert_eq!(out.unwrap_err().code, Code::DeadlineExceeded);
        assert_eq!(e.version.in_flight(), 0, "nobody waits: the flight is gone");
    }

    fn cached(max_bytes: u64) -> Economy {
        Economy::new(&CacheConfig { max_bytes, max_age: Duration::from_secs(60) })
    }

    #[tokio::test(start_paused = true)]
    async fn a_version_is_fetched_once_and_the_kept_answer_is_byte_identical() {
        let e = cached(1 << 20);
        let runs = Arc::new(AtomicUsize::new(0));
        let first = e.read(&ctx("w", None), Grant::default(), version_read(2), fetch(&runs, Ok(version(2, "c")))).await;
        let first = first.unwrap();
        for _ in 0..100 {
            let c = ctx("w", None);
            let again = e.read(&c, Grant::default(), version_read(2), fetch(&runs, Ok(version(2, "other"))));
            assert_eq!(again.await.unwrap().encode_to_vec(), first.encode_to_vec());
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1, "100 reads of one version, one vendor call");
        // Another grant or workspace does not see it.
        e.read(&ctx("w", None), Grant::of(&[3]), version_read(2), fetch(&runs, Ok(version(2, "c")))).await.unwrap();
        e.read(&ctx("v", None), Grant::default(), version_read(2), fetch(&runs, Ok(version(2, "c")))).await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        // Past max_age the answer is fetched again.
        tokio::time::advance(Duration::from_secs(61)).await;
        e.read(&ctx("w", None), Grant::default(), version_read(2), fetch(&runs, Ok(version(2, "c")))).await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn only_deployments_and_packages_that_have_ended_are_kept() {
        let e = cached(1 << 20);
        let runs = Arc::new(AtomicUsize::new(0));
        let read = || Read::GetDeployment { id: "d".into(), full: false };
        let dep = |s: pb::DeploymentState| pb::Deployment { name: "d".into(), state: s as i32, ..Default::default() };
        for _ in 0..3 {
            let c = ctx("w", None);
            let d = e.read(&c, Grant::default(), read(), fetch(&runs, Ok(dep(pb::DeploymentState::Running))));
            assert_eq!(d.await.unwrap().state(), pb::DeploymentState::Running);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 3, "a running deployment is looked at every time");
        for _ in 0..3 {
            let c = ctx("w", None);
            let d = e.read(&c, Grant::default(), read(), fetch(&runs, Ok(dep(pb::DeploymentState::Succeeded))));
            assert_eq!(d.await.unwrap().state(), pb::DeploymentState::Succeeded);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 4, "one that has ended, once");

        let read = || Read::GetReleasePackage { id: "p".into(), full: false };
        let pkg =
            |s: pb::ReleasePackageState| pb::ReleasePackage { name: "p".into(), state: s as i32, ..Default::default() };
        for s in [pb::ReleasePackageState::Ready, pb::ReleasePackageState::Deploying, pb::ReleasePackageState::Failed] {
            e.read(&ctx("w", None), Grant::default(), read(), fetch(&runs, Ok(pkg(s)))).await.unwrap();
        }
        let c = ctx("w", None);
        let kept = e.read(&c, Grant::default(), read(), fetch(&runs, Ok(pkg(pb::ReleasePackageState::Ready))));
        assert_eq!(kept.await.unwrap().state(), pb::ReleasePackageState::Failed);
        assert_eq!(runs.load(Ordering::SeqCst), 7);
    }

    #[tokio::test(start_paused = true)]
    async fn a_deploy_forgets_the_kept_versions_of_its_files() {
        let e = cached(1 << 20);
        let runs = Arc::new(AtomicUsize::new(0));
        let read = |f: &str| Read::GetFileVersion { file_id: f.into(), version: 1, full: false };
        for f in ["a", "b"] {
            for ws in ["w", "v"] {
                e.read(&ctx(ws, None), Grant::default(), read(f), fetch(&runs, Ok(version(1, f)))).await.unwrap();
            }
        }
        assert_eq!(runs.load(Ordering::SeqCst), 4);
        e.forget_versions("w", Some(&["a".to_owned()])).await;
        for f in ["a", "b"] {
            for ws in ["w", "v"] {
                e.read(&ctx(ws, None), Grant::default(), read(f), fetch(&runs, Ok(version(1, f)))).await.unwrap();
            }
        }
        assert_eq!(runs.load(Ordering::SeqCst), 5, "only file a of workspace w is read again");
        e.forget_versions("v", None).await;
        for f in ["a", "b"] {
            e.read(&ctx("v", None), Grant::default(), read(f), fetch(&runs, Ok(version(1, f)))).await.unwrap();
        }
        assert_eq!(runs.load(Ordering::SeqCst), 7, "every version of workspace v is read again");
    }

    #[tokio::test(start_paused = true)]
    async fn a_version_about_to_change_state_is_not_kept() {
        let e = cached(1 << 20);
        let runs = Arc::new(AtomicUsize::new(0));
        let deploying = pb::FileVersion { state: pb::FileVersionState::Deploying as i32, ..version(4, "x") };
        for _ in 0..2 {
            e.read(&ctx("w", None), Grant::default(), version_read(4), fetch(&runs, Ok(deploying.clone())))
                .await
                .unwrap();
        }
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn the_cache_stays_within_its_bytes() {
        let content = "x".repeat(10_000);
        let e = cached(50_000);
        let runs = Arc::new(AtomicUsize::new(0));
        for v in 1..=10 {
            e.read(&ctx("w", None), Grant::default(), version_read(v), fetch(&runs, Ok(version(v, &content))))
                .await
                .unwrap();
        }
        let cache = e.cache().unwrap();
        assert!(cache.bytes() <= 50_000, "{} bytes kept", cache.bytes());
        // The newest are kept, the oldest went first.
        e.read(&ctx("w", None), Grant::default(), version_read(10), fetch(&runs, Ok(version(10, &content))))
            .await
            .unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 10, "version 10 is kept");
        e.read(&ctx("w", None), Grant::default(), version_read(1), fetch(&runs, Ok(version(1, &content))))
            .await
            .unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 11, "version 1 was evicted");
    }
}
