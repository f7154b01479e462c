//! Vendor-neutral core: validated queries, the adapter trait every vendor
//! implements, the workspace router and the error type.
//!
//! Results reuse the generated `datastudio.v1` messages (`ReleasePackage`,
//! `File`, ...): they already are the vendor-neutral resource types, and a
//! second copy would only add mapping code. Queries are domain types because
//! they are what validation produces: parsed ids, checked ranges, no paging
//! tokens.

pub(crate) mod capability;
mod error;
mod reason;
pub(crate) mod router;
pub(crate) mod time;

pub use capability::Capabilities;
pub(crate) use error::{Error, Fate, Reason, Result, Unmet, VendorDetail, Violation, shown};
pub use router::{Router, Workspace};

use std::time::Instant;

use async_trait::async_trait;

use crate::pb;

/// Per-call context handed to adapters.
#[derive(Debug, Clone)]
pub struct CallCtx {
    /// Workspace name (for resource names).
    pub workspace: String,
    /// The caller's deadline, from `grpc-timeout`.
    pub deadline: Option<Instant>,
    /// The authenticated caller (fair share of rate buckets); None = anonymous.
    pub identity: Option<String>,
}

impl CallCtx {
    /// `workspaces/{w}/{collection}/{id}`.
    pub(crate) fn name(&self, collection: &str, id: impl std::fmt::Display) -> String {
        use std::fmt::Write as _;
        // Sized once: a page of 100 rows names 100 resources.
        let mut s = String::with_capacity("workspaces///".len() + self.workspace.len() + collection.len() + 24);
        s.push_str("workspaces/");
        s.push_str(&self.workspace);
        s.push('/');
        s.push_str(collection);
        s.push('/');
        let _ = write!(s, "{id}");
        s
    }
}

/// A user as a filter value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UserKey {
    /// Vendor account / user id.
    Id(String),
    /// User name.
    Name(String),
}

/// A closed interval of epoch milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct MsRange {
    /// Inclusive lower bound.
    pub start: Option<i64>,
    /// Inclusive upper bound.
    pub end: Option<i64>,
}

impl MsRange {
    /// Whether `t` (absent = unknown) lies inside; an unknown time matches
    /// only an unbounded range.
    pub(crate) fn contains(&self, t: Option<i64>) -> bool {
        match t {
            Some(t) => self.start.is_none_or(|s| t >= s) && self.end.is_none_or(|e| t <= e),
            None => self.start.is_none() && self.end.is_none(),
        }
    }
    /// Whether either bound is set.
    pub(crate) fn is_set(&self) -> bool {
        self.start.is_some() || self.end.is_some()
    }
}

/// Sort order of release packages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum PackageOrder {
    /// Newest first (every vendor's default).
    #[default]
    CreateTimeDesc,
    /// Oldest first.
    CreateTimeAsc,
    /// Most recently executed first.
    ExecuteTimeDesc,
    /// Least recently executed first.
    ExecuteTimeAsc,
}

/// A page request: the adapter's own cursor (from a verified page token)
/// and the page size.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PageReq {
    /// Adapter cursor; None for the first page.
    pub cursor: Option<String>,
    /// 1..=100.
    pub size: u32,
}

/// One page of results.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Cursor of the next page, if any.
    pub next: Option<String>,
    /// Total matching items (see the proto for when it is an upper bound).
    pub total: i64,
}

/// ListReleasePackages, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PackageQuery {
    /// Name contains.
    pub keyword: Option<String>,
    /// Any of these states.
    pub states: Vec<pb::ReleasePackageState>,
    /// Any of these creators.
    pub creators: Vec<UserKey>,
    /// Any of these executors.
    pub executors: Vec<UserKey>,
    /// Creation window.
    pub create_time: MsRange,
    /// Execution window.
    pub execute_time: MsRange,
    /// Sort order.
    pub order: PackageOrder,
    /// Paging.
    pub page: PageReq,
    /// VIEW_FULL.
    pub full: bool,
}

/// ListFiles, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FileQuery {
    /// Folder path.
    pub folder_path: Option<String>,
    /// Name contains.
    pub keyword: Option<String>,
    /// Exact name.
    pub exact_name: Option<String>,
    /// Functional module.
    pub use_type: Option<pb::UseType>,
    /// Any of these vendor file types.
    pub file_types: Vec<String>,
    /// Owner.
    pub owner: Option<UserKey>,
    /// Scheduler node id.
    pub node_id: Option<String>,
    /// Include content.
    pub include_content: bool,
    /// Include folder path.
    pub include_folder_path: bool,
    /// Only these ids.
    pub file_ids: Vec<String>,
    /// Last editor.
    pub last_editor: Option<UserKey>,
    /// Commit status.
    pub commit_status: Option<pb::CommitStatus>,
    /// Paging.
    pub page: PageReq,
    /// VIEW_FULL.
    pub full: bool,
}

/// A file to deploy, optionally pinned to a version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileTarget {
    /// File id within the workspace.
    pub id: String,
    /// The version that must be the one deployed.
    pub version: Option<i64>,
}

/// The resource name of a deploy target as the caller sends it:
/// `workspaces/{w}/files/{id}`, with `/versions/{v}` when pinned.
pub(crate) fn target_name(ctx: &CallCtx, f: &FileTarget) -> String {
    let file = ctx.name("files", &f.id);
    match f.version {
        Some(v) => format!("{file}/versions/{v}"),
        None => file,
    }
}

/// What a lookup found of a deploy write whose answer was lost.
pub enum Looked<T> {
    /// The vendor applied it: what it made.
    Applied(T),
    /// The vendor holds nothing it would have made.
    NotApplied,
}

/// A deploy call's request, for a lookup of its outcome.
#[derive(Debug, Clone, Copy)]
pub enum DeployCall<'a> {
    /// DeployReleasePackages.
    Packages {
        /// Release package ids.
        ids: &'a [String],
        /// Startup mode.
        startup: pb::StartupMode,
    },
    /// DeployFiles.
    Files {
        /// The files.
        files: &'a [FileTarget],
        /// The comment.
        comment: &'a str,
    },
}

/// What every vendor adapter implements. Inputs are validated; adapters
/// still reject vendor-specific input (e.g. non-numeric ids) before any call.
#[async_trait]
pub trait Adapter: Send + Sync {
    /// Which vendor.
    fn vendor(&self) -> pb::Vendor;
    /// `dataworks-legacy`, `dataworks-pipeline` or `dataarts`.
    fn flavour(&self) -> &'static str;
    /// What this workspace supports.
    fn capabilities(&self) -> Capabilities;
    /// Reads and checks at start-up what the workspace's settings name at
    /// the vendor (e.g. DataArts approvers), before the gateway serves; an
    /// error stops the start. Nothing to check by default.
    async fn prepare(&self, _ctx: &CallCtx) -> Result<()> {
        Ok(())
    }

    /// ListReleasePackages.
    async fn list_release_packages(&self, ctx: &CallCtx, q: PackageQuery) -> Result<Page<pb::ReleasePackage>>;
    /// GetReleasePackage.
    async fn get_release_package(&self, ctx: &CallCtx, id: &str, full: bool) -> Result<pb::ReleasePackage>;
    /// DeployReleasePackages (ids distinct, 1..=100).
    async fn deploy_release_packages(
        &self,
        ctx: &CallCtx,
        ids: &[String],
        startup: pb::StartupMode,
    ) -> Result<Vec<pb::Deployment>>;
    /// DeployFiles (targets distinct, 1..=100).
    async fn deploy_files(
        &self,
        ctx: &CallCtx,
        files: &[FileTarget],
        comment: &str,
        startup: pb::StartupMode,
    ) -> Result<Vec<pb::Deployment>>;
    /// GetDeployment: one look at the vendor, which never changes anything.
    async fn get_deployment(&self, ctx: &CallCtx, id: &str, full: bool) -> Result<pb::Deployment>;
    /// One step of the deployment engine: looks at the deployment and, where
    /// the vendor needs the gateway to move it on (e.g. the next pipeline
    /// stage), does so. Only the engine calls it; by default a plain look.
    async fn advance(&self, ctx: &CallCtx, id: &str) -> Result<pb::Deployment> {
        self.get_deployment(ctx, id, false).await
    }
    /// Looks up at the vendor what a deploy call sent at `since` (ms) made,
    /// when the gateway stopped before its answer was recorded: the
    /// deployments (any the call would still have had to start are
    /// started), or that nothing was applied. By default the vendor cannot
    /// tell (the outcome stays unknown).
    async fn find_deploy(
        &self,
        ctx: &CallCtx,
        call: DeployCall<'_>,
        since: i64,
    ) -> Result<Looked<Vec<pb::Deployment>>> {
        let _ = (ctx, call, since);
        Err(Error::new(
            tonic::Code::Unknown,
            Reason::DeployOutcomeUnknown,
            format!("the outcome of a {} deploy cannot be looked up", self.flavour()),
        ))
    }

    /// CancelDeployment: stops a deployment that has not ended, where the
    /// vendor can; by default FAILED_PRECONDITION (the vendor cannot).
    async fn cancel(&self, ctx: &CallCtx, id: &str) -> Result<pb::Deployment> {
        let _ = id;
        Err(Error::new(
            tonic::Code::FailedPrecondition,
            Reason::OperationNotSupportedByVendor,
            format!("{} deployments cannot be stopped once started: the vendor has no call for it", self.flavour()),
        )
        .with_meta("workspace", ctx.workspace.clone()))
    }
    /// ListFiles.
    async fn list_files(&self, ctx: &CallCtx, q: FileQuery) -> Result<Page<pb::File>>;
    /// GetFile.
    async fn get_file(&self, ctx: &CallCtx, id: &str, full: bool) -> Result<pb::File>;
    /// ListFileVersions.
    async fn list_file_versions(
        &self,
        ctx: &CallCtx,
        file_id: &str,
        page: PageReq,
        full: bool,
    ) -> Result<Page<pb::FileVersion>>;
    /// GetFileVersion.
    async fn get_file_version(&self, ctx: &CallCtx, file_id: &str, version: i64, full: bool)
    -> Result<pb::FileVersion>;
}

/// Whether a deployment state is final.
pub(crate) fn is_terminal(s: pb::DeploymentState) -> bool {
    matches!(s, pb::DeploymentState::Succeeded | pb::DeploymentState::Failed | pb::DeploymentState::Cancelled)
}
