//! Huawei Cloud DataArts Studio (DataArts Factory) adapter.
//!
//! | file | concern |
//! |---|---|
//! | `sign.rs` | SDK-HMAC-SHA256 signing and verification |
//! | `auth.rs` | IAM token cache, renewed early, one renewal at a time; injectable clock |
//! | `federated.rs` | CCE workload identity: the pod's token exchanged with IAM for a token or temporary keys |
//! | `client.rs` | the one call path (auth, send, error mapping by vendor code) |
//! | `codes.rs` | the vendor error codes the driver tells apart, with their published meanings |
//! | `wire.rs` | request and response bodies as the vendor spells them |
//! | `map.rs` | wire records → neutral messages, state and id tables |
//! | `cursor.rs` | page cursors and the gateway-side filtering scan |
//! | `release.rs` | release packages, deploys, deployments |
//! | `files.rs` | scripts and jobs as files, script versions |
//! | `approvers.rs` | the `approvers` setting resolved to user ids (workspace members API) |
//!
//! ## Operations (vendor calls per RPC)
//!
//! | neutral RPC | DataArts | calls |
//! |---|---|---|
//! | ListReleasePackages | POST v2 `release-packages` | 1 (up to 10 when the gateway filters by user id) |
//! | GetReleasePackage | GET v2 `release-packages/{id}` | 1 |
//! | DeployReleasePackages | POST v2 `release-packages/deploy` | 1 |
//! | DeployFiles | GET v2 `pending-items` per file (all found and checked before any write), POST `pending-items/package` (with `approver_ids`), POST `release-packages/deploy` | files + 2 (a refusal: files); without `approvers`: FAILED_PRECONDITION, 0 |
//! | (start-up, with `approvers`) | GET v2 `{workspace_id}/users` (members and roles) | 1 per 100 members |
//! | GetDeployment | GET v2 `release-packages/{id}` (+ GET v1 `system-tasks/{task}` when failed) | 1–2 |
//! | ListFiles | GET v2 `scripts` then GET v2 `jobs`, merged behind one cursor | 1–2 (+1 per file with include_content) |
//! | GetFile | GET v1 `scripts/{name}` or `jobs/{name}` + the v2 list row | 2 |
//! | ListFileVersions | scripts: v2 row, v1 `?status=PUBLISHED`, v1 `?version=N` per version | 2 + page size |
//! | GetFileVersion | scripts: v1 `?version=N` and `?status=PUBLISHED` | 2 |
//!
//! Jobs have no version API: ListFileVersions / GetFileVersion on a job are
//! FAILED_PRECONDITION. Deployments are stateless: the id
//! `{package_id}-{asy_task_id}` is all GetDeployment needs.
//!
//! ## Ids
//!
//! Packages: `workspaces/{w}/releasePackages/{package_id}` (numeric).
//! Files: `workspaces/{w}/files/script:{name}` and `.../files/job:{name}`
//! (package items may also name `resource:{name}`). Deployments:
//! `workspaces/{w}/deployments/{package_id}-{asy_task_id}`.
//!
//! ## States and times
//!
//! | `deploy_status` | ReleasePackageState | DeploymentState |
//! |---|---|---|
//! | 1 pending approval | PENDING_APPROVAL | PENDING |
//! | 5 releasing | DEPLOYING | RUNNING |
//! | 2 succeeded | SUCCEEDED | SUCCEEDED |
//! | 3 failed | FAILED | FAILED |
//! | other | UNSPECIFIED (raw value in vendor_record) | UNSPECIFIED |
//!
//! READY, REJECTED and CANCELLED have no DataArts equivalent: a states
//! filter of only those matches nothing (no vendor call). `update_type`
//! 1/2/3 → ADDED/MODIFIED/DELETED; `start_job_status` 2/3 → job start
//! SUCCEEDED/FAILED; `task_type` 1/2/3 → JOB/SCRIPT/RESOURCE. StartupMode
//! DEPLOY_AND_START → `startup_mode` 1; DEPLOY_ONLY and UNSPECIFIED → 0:
//! jobs start only when asked (the vendor's own default, 1, would start
//! them; vendor-apis.md §5.11). Every DataArts time is epoch milliseconds:
//! `apply_timestamp` → create_time, `deploy_timestamp` → execute_time,
//! `submit_timestamp` → submit_time, script `modify_time` and job
//! `last_update_time` → update_time, job `create_time` → create_time.
//! Script versions: state DEPLOYED for the production version (its content
//! equals `?status=PUBLISHED`), COMMITTED otherwise.
//!
//! VIEW_FULL puts the vendor's raw JSON in `vendor_record`: the list row;
//! for GetFile `{"detail": v1 show, "row": v2 list row}`; for packages the
//! package record (with `task_details` on GetReleasePackage).

pub(crate) mod api;
mod approvers;
pub mod auth;
pub mod client;
mod codes;
pub(crate) mod config;
mod cursor;
mod federated;
mod files;
mod map;
mod release;
pub mod sign;
mod wire;

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;

pub use self::config::Config;
use self::{
    api::Api,
    auth::{Clock, SystemClock},
    client::{Auth, Client, Endpoints, Signer},
};
use crate::{
    config::{LiveSecret, WorkspaceConfig},
    domain::{
        Adapter, CallCtx, Capabilities, DeployCall, Error, FileQuery, FileTarget, Looked, PackageQuery, Page, PageReq,
        Reason, Result,
        capability::{FileFilter, Filter, Operation, PackageFilter},
    },
    pb,
    providers::client::{Rates, Shared, VendorClient},
};

/// API Gateway's default: about 10 requests/s per user, reads and writes.
const DEFAULT_RATES: Rates = Rates { read: 10.0, write: 10.0 };

/// How often rotated credential files are checked.
const SECRET_RECHECK: Duration = Duration::from_secs(1);

/// The DataArts Studio adapter of one workspace.
pub struct HuaweiAdapter {
    name: String,
    client: Client,
    approvers: approvers::Approvers,
}

impl std::fmt::Debug for HuaweiAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HuaweiAdapter").field("workspace", &self.name).finish_non_exhaustive()
    }
}

/// The adapter for workspace `name`.
pub(crate) fn new(
    name: &str,
    ws: &WorkspaceConfig,
    cfg: &Config,
    shared: &Arc<Shared>,
) -> anyhow::Result<HuaweiAdapter> {
    HuaweiAdapter::with_clock(name, ws, cfg, shared, Arc::new(SystemClock))
}

impl HuaweiAdapter {
    /// The adapter with the clock its IAM token cache reads (tests).
    pub fn with_clock(
        name: &str,
        ws: &WorkspaceConfig,
        cfg: &Config,
        shared: &Arc<Shared>,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<HuaweiAdapter> {
        let project_id = cfg.project_id.as_deref().filter(|p| !p.is_empty());
        let project_id = project_id.ok_or_else(|| anyhow::anyhow!("workspace {name}: project_id is required"))?;
        let workspace_id = cfg.workspace_id.as_deref().filter(|w| !w.is_empty());
        let workspace_id = workspace_id.ok_or_else(|| anyhow::anyhow!("workspace {name}: workspace_id is required"))?;
        let region = &ws.region;
        let e = &cfg.endpoints;
        let endpoints = Endpoints {
            factory: e.factory.clone().unwrap_or_else(|| format!("https://dayu.{region}.myhuaweicloud.com")),
            dlf: e.dlf.clone().unwrap_or_else(|| format!("https://dayu-dlf.{region}.myhuaweicloud.com")),
            iam: e.iam.clone().unwrap_or_else(|| format!("https://iam.{region}.myhuaweicloud.com")),
        };
        let c = &cfg.credentials;
        // The vendor counts calls per user: the access key id, the IAM user,
        // or the workspace's federated identity.
        let (auth, account) = match (&c.workload_identity, &c.iam, &c.access_key_id, &c.secret_access_key) {
            (Some(wi), ..) => {
                let settings = wi.resolve().map_err(|problems| {
                    let all: Vec<String> =
                        problems.into_iter().map(|(k, m)| format!("credentials.workload_identity.{k} {m}")).collect();
                    anyhow::anyhow!("workspace {name}: {}", all.join("; "))
                })?;
                let account = format!("workload-identity:{}/{name}", settings.idp_id);
                (Auth::Federated(Box::new(federated::Federated::new(name, settings, clock))), account)
            }
            (None, Some(iam), ..) => (
                client::token_auth(
                    &iam.domain_name,
                    &iam.user_name,
                    LiveSecret::new(iam.password.clone(), SECRET_RECHECK),
                    clock,
                ),
                format!("iam:{}/{}", iam.domain_name, iam.user_name),
            ),
            (None, None, Some(ak), Some(sk)) => (
                Auth::AkSk {
                    ak: LiveSecret::new(ak.clone(), SECRET_RECHECK),
                    sk: LiveSecret::new(sk.clone(), SECRET_RECHECK),
                },
                ak.read().map(|k| k.expose().to_owned()).unwrap_or_else(|_| name.to_owned()),
            ),
            _ => anyhow::bail!("workspace {name}: set access_key_id and secret_access_key, iam, or workload_identity"),
        };
        let vc = VendorClient::new::<Api>(shared, &client::VENDOR, ws, &account, DEFAULT_RATES)?;
        let client = Client::new(Signer::new(&endpoints, project_id, workspace_id, auth)?, vc);
        Ok(HuaweiAdapter { name: name.to_owned(), client, approvers: approvers::Approvers::new(&cfg.approvers) })
    }

    /// IAM tokens issued so far (0 with access keys).
    pub fn token_renewals(&self) -> u64 {
        self.client.token_renewals()
    }
}

/// What a DataArts workspace supports; DeployFiles only with approvers.
fn capabilities(approvers: bool) -> Capabilities {
    use pb::FilterHandling::{Gateway, Rejected, Vendor};
    let operations = [
        (Operation::ListReleasePackages, "POST release-packages: 1 vendor call per page"),
        (Operation::GetReleasePackage, "GET release-packages/{id}"),
        (Operation::DeployReleasePackages, "POST release-packages/deploy (asynchronous; follow with GetDeployment)"),
        (
            Operation::DeployFiles,
            "finds and checks every file's pending item before any write (all missing ones named together), packages them (pending-items/package, approver_ids from `approvers`) and deploys that package: files + 2 vendor calls",
        ),
        (Operation::GetDeployment, "polls the package (+ the system task when it failed)"),
        (Operation::WatchDeployment, "polls the package with back-off"),
        (Operation::ListFiles, "scripts then jobs behind one cursor; include_content costs 1 vendor call per file"),
        (Operation::GetFile, "v1 show + v2 list row: 2 vendor calls"),
        (
            Operation::ListFileVersions,
            "scripts only (DataArts has no version list): 2 + 1 vendor call per version on the page; jobs answer FAILED_PRECONDITION",
        ),
        (
            Operation::GetFileVersion,
            "scripts only (v1 show ?version=N): 2 vendor calls; jobs answer FAILED_PRECONDITION",
        ),
    ];
    let filters = [
        (Filter::Package(PackageFilter::Keyword), Vendor, "key_word"),
        (
            Filter::Package(PackageFilter::States),
            Vendor,
            "deploy_status_filter; READY, REJECTED and CANCELLED never occur on DataArts",
        ),
        (
            Filter::Package(PackageFilter::Creators),
            Vendor,
            "by display_name: apply_user_name_filter; by id: the gateway filters apply_user_id",
        ),
        (
            Filter::Package(PackageFilter::Executors),
            Vendor,
            "by display_name: deploy_user_name_filter; by id: the gateway filters deploy_user_id",
        ),
        (Filter::Package(PackageFilter::CreateTime), Vendor, "apply_begin_time / apply_end_time"),
        (Filter::Package(PackageFilter::ExecuteTime), Vendor, "deploy_begin_time / deploy_end_time"),
        (
            Filter::Package(PackageFilter::OrderBy),
            Vendor,
            "order_column (apply_timestamp, deploy_timestamp) and sorted_direction",
        ),
        (Filter::File(FileFilter::FolderPath), Gateway, "folder prefix on script directory / job path"),
        (
            Filter::File(FileFilter::Keyword),
            Vendor,
            "script_name / job_name, re-checked by the gateway (case-insensitive contains)",
        ),
        (
            Filter::File(FileFilter::ExactName),
            Gateway,
            "sent as script_name / job_name, compared exactly by the gateway",
        ),
        (Filter::File(FileFilter::UseType), Rejected, "DataArts has no functional modules"),
        (
            Filter::File(FileFilter::FileTypes),
            Gateway,
            "script types (HiveSQL, Shell, ...) and job types BATCH / REAL_TIME",
        ),
        (Filter::File(FileFilter::Owner), Gateway, "by display_name only (DataArts reports owner names, not ids)"),
        (Filter::File(FileFilter::NodeId), Rejected, "DataArts files have no scheduler node id"),
        (Filter::File(FileFilter::IncludeContent), Gateway, "one v1 show call per file on the page"),
        (Filter::File(FileFilter::IncludeFolderPath), Vendor, "always included"),
        (Filter::File(FileFilter::FileIds), Gateway, "script:{name} / job:{name} ids"),
        (Filter::File(FileFilter::LastEditor), Gateway, "jobs only, by display_name (scripts report no last editor)"),
        (Filter::File(FileFilter::CommitStatus), Rejected, "DataArts lists report no commit status"),
    ];
    let mut caps = Capabilities::default();
    for (o, note) in operations {
        caps.operation(o, true, note);
    }
    caps.operation(
        Operation::CancelDeployment,
        false,
        "a started release-packages/deploy runs to its end (release-packages/unpack only withdraws packages not yet deployed)",
    );
    if !approvers {
        caps.operation(Operation::DeployFiles, false, approvers::NOT_CONFIGURED);
    }
    for (f, handling, note) in filters {
        caps.filter(f, handling, note);
    }
    caps
}

#[async_trait]
impl Adapter for HuaweiAdapter {
    fn vendor(&self) -> pb::Vendor {
        pb::Vendor::HuaweiDataarts
    }
    fn flavour(&self) -> &'static str {
        "dataarts"
    }
    fn capabilities(&self) -> Capabilities {
        capabilities(self.approvers.configured())
    }
    async fn prepare(&self, ctx: &CallCtx) -> Result<()> {
        if self.approvers.configured() {
            self.approver_ids(ctx).await?;
        }
        Ok(())
    }
    async fn list_release_packages(&self, ctx: &CallCtx, q: PackageQuery) -> Result<Page<pb::ReleasePackage>> {
        self.list_packages(ctx, q).await
    }
    async fn get_release_package(&self, ctx: &CallCtx, id: &str, full: bool) -> Result<pb::ReleasePackage> {
        self.get_package(ctx, id, full).await
    }
    async fn deploy_release_packages(
        &self,
        ctx: &CallCtx,
        ids: &[String],
        startup: pb::StartupMode,
    ) -> Result<Vec<pb::Deployment>> {
        self.deploy_packages(ctx, ids, startup).await
    }
    async fn deploy_files(
        &self,
        ctx: &CallCtx,
        files: &[FileTarget],
        comment: &str,
        startup: pb::StartupMode,
    ) -> Result<Vec<pb::Deployment>> {
        self.deploy_pending_files(ctx, files, comment, startup).await
    }
    /// Package deploys only: a DeployFiles package's name may hold the
    /// time it was made, which a restart forgets.
    async fn find_deploy(
        &self,
        ctx: &CallCtx,
        call: DeployCall<'_>,
        since: i64,
    ) -> Result<Looked<Vec<pb::Deployment>>> {
        match call {
            DeployCall::Packages { ids, startup } => self.find_package_deploy(ctx, ids, startup, since).await,
            DeployCall::Files { .. } => Err(Error::new(
                tonic::Code::Unknown,
                Reason::DeployOutcomeUnknown,
                "the outcome of a DataArts DeployFiles cannot be looked up after a restart",
            )),
        }
    }

    async fn get_deployment(&self, ctx: &CallCtx, id: &str, full: bool) -> Result<pb::Deployment> {
        self.deployment(ctx, id, full).await
    }
    async fn list_files(&self, ctx: &CallCtx, q: FileQuery) -> Result<Page<pb::File>> {
        self.files(ctx, q).await
    }
    async fn get_file(&self, ctx: &CallCtx, id: &str, full: bool) -> Result<pb::File> {
        self.file(ctx, id, full).await
    }
    async fn list_file_versions(
        &self,
        ctx: &CallCtx,
        file_id: &str,
        page: PageReq,
        full: bool,
    ) -> Result<Page<pb::FileVersion>> {
        self.versions(ctx, file_id, page, full).await
    }
    async fn get_file_version(
        &self,
        ctx: &CallCtx,
        file_id: &str,
        version: i64,
        full: bool,
    ) -> Result<pb::FileVersion> {
        self.version(ctx, file_id, version, full).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_list_filter_and_operation_is_declared() {
        let caps = capabilities(true);
        let filters = PackageFilter::ALL.map(Filter::Package).into_iter().chain(FileFilter::ALL.map(Filter::File));
        for f in filters {
            assert!(caps.get_filter(f).is_some(), "{f:?}");
        }
        for op in Operation::ALL {
            assert!(caps.get_operation(op).is_some(), "{op:?}");
        }
        assert!(caps.get_operation(Operation::DeployFiles).is_some_and(|s| s.how));
        let without = capabilities(false);
        let deploy_files = without.get_operation(Operation::DeployFiles).unwrap();
        assert!(!deploy_files.how && deploy_files.note.contains("`approvers`"), "{}", deploy_files.note);
    }
}
