//! The legacy Data Studio adapter: release packages are deployment
//! packages (ListDeploymentPackages, GetDeploymentPackage); DeployFiles
//! checks every file first (ListFiles by FileIdIn), then is DeployFile per
//! file, each making one package, whose id is the deployment's; DeployReleasePackages has no vendor API.

use async_trait::async_trait;

use super::{Project, api::Api, capabilities, map, numeric, one_by_one, one_id, scan, user_matches, wire};
use crate::domain::{Capabilities, capability::PackageFilter};
use crate::{
    domain::{
        Adapter, CallCtx, DeployCall, Error, FileQuery, FileTarget, MsRange, PackageQuery, Page, PageReq, Reason,
        Result, time,
    },
    pb,
    providers::lookup::{Looked, all_or_none, write_once},
};

/// Why DeployReleasePackages is refused.
const NO_PACKAGE_DEPLOY: &str =
    "legacy DataWorks has no API that runs an existing deployment package; call DeployFiles with the package's files";

/// The adapter of a legacy Data Studio workspace.
pub(crate) struct Legacy {
    dw: Project,
}

impl Legacy {
    /// The adapter over `dw`.
    pub(crate) fn new(dw: Project) -> Self {
        Legacy { dw }
    }

    /// ListDeploymentPackages: one vendor filter of each kind; the rest
    /// (several states or users, time lower bounds) in the gateway.
    async fn list(&self, ctx: &CallCtx, q: &PackageQuery) -> Result<Page<pb::ReleasePackage>> {
        let creator = one_id("creators", &q.creators)?;
        let executor = one_id("executors", &q.executors)?;
        let native_state = match q.states.as_slice() {
            [one] => map::package_status_code(*one),
            _ => None,
        };
        let mut base: Vec<(&str, String)> = Vec::new();
        if let Some(k) = &q.keyword {
            base.push(("Keyword", k.clone()));
        }
        if let Some(c) = creator {
            base.push(("Creator", c.to_owned()));
        }
        if let Some(c) = executor {
            base.push(("Executor", c.to_owned()));
        }
        if let Some(e) = q.create_time.end {
            base.push(("EndCreateTime", e.to_string()));
        }
        if let Some(e) = q.execute_time.end {
            base.push(("EndExecuteTime", e.to_string()));
        }
        if let Some(st) = native_state {
            base.push(("Status", st.to_string()));
        }
        let created = MsRange { start: q.create_time.start, end: None };
        let executed = MsRange { start: q.execute_time.start, end: None };
        let filtered = (native_state.is_none() && !q.states.is_empty())
            || created.is_set()
            || executed.is_set()
            || (creator.is_none() && !q.creators.is_empty())
            || (executor.is_none() && !q.executors.is_empty());
        let keep = |r: &wire::PackageRow<'_>| {
            (q.states.is_empty() || q.states.contains(&map::package_state(r.status, None, false)))
                && created.contains(r.create_time)
                && executed.contains(r.execute_time.filter(|t| *t > 0))
                && user_matches(&q.creators, r.creator.as_deref())
                && user_matches(&q.executors, r.executor.as_deref())
        };
        self.dw
            .window(ctx, Api::ListDeploymentPackages, &base, &q.page, filtered, |r, scan| {
                scan.feed(r, r.read_view::<wire::ListDeploymentPackages>(q.full)?, |p| {
                    keep(&p).then(|| map::package_row(ctx, &p, q.full))
                })
            })
            .await
    }

    /// DeployFile for one file: the package it made is the deployment.
    /// DeployFile of one file; a lost answer is looked up (`find_deployed`).
    async fn deploy_file(&self, ctx: &CallCtx, id: i64, comment: &str) -> Result<pb::Deployment> {
        let since = time::now_ms();
        let send = || async {
            let mut p = vec![("FileId", id.to_string())];
            if !comment.is_empty() {
                p.push(("Comment", comment.to_owned()));
            }
            let reply = self.dw.call(ctx, Api::DeployFile, p).await?;
            Ok(reply.read::<wire::DeployFile>()?.data)
        };
        let pkg = write_once("DeployFile", send, || self.find_deployed(ctx, id, since)).await?;
        Ok(started(ctx, pkg, id))
    }

    /// The package a DeployFile of `file` sent at `since` made, if any.
    /// ListDeploymentPackages lists newest first and has no lower time
    /// bound (vendor reference 1.3), so the first page is read and each
    /// package created since then (less [`CLOCK_SKEW_MS`]) is opened: a
    /// DeployFile package targets production (ToEnvironment 2) and holds
    /// the file (DeployedItems, 1.4). A page made only of such packages
    /// may hide more: then the outcome stays unknown.
    async fn find_deployed(&self, ctx: &CallCtx, file: i64, since: i64) -> Result<Looked<i64>> {
        let from = since - CLOCK_SKEW_MS;
        let page = vec![("PageNumber", "1".to_owned()), ("PageSize", LOOKUP_PAGE.to_string())];
        let reply = self.dw.call(ctx, Api::ListDeploymentPackages, page).await?;
        let (rows, _) = scan::rows(&reply, reply.read_view::<wire::ListDeploymentPackages>(false)?, 0)?;
        let recent: Vec<i64> = rows.iter().filter(|r| r.create_time.is_some_and(|t| t >= from)).map(|r| r.id).collect();
        for pkg in &recent {
            let reply = self.dw.call(ctx, Api::GetDeploymentPackage, vec![("DeploymentId", pkg.to_string())]).await?;
            let data = reply.read::<wire::GetDeploymentPackage>()?.data;
            let holds = data.deployed_items.as_deref().unwrap_or_default().iter().any(|i| i.file_id == file);
            if data.deployment.to_environment == Some(2) && holds {
                return Ok(Looked::Applied(*pkg));
            }
        }
        if recent.len() >= LOOKUP_PAGE {
            return Err(Error::new(
                tonic::Code::Unknown,
                Reason::DeployOutcomeUnknown,
                format!("more than {LOOKUP_PAGE} packages were created since the deploy was sent"),
            ));
        }
        Ok(Looked::NotApplied)
    }
}

/// The deployment a DeployFile of `file` started: package `pkg`.
fn started(ctx: &CallCtx, pkg: i64, file: i64) -> pb::Deployment {
    let now = time::ts(Some(time::now_ms()));
    pb::Deployment {
        name: ctx.name("deployments", pkg),
        vendor: pb::Vendor::AlibabaDataworks as i32,
        state: pb::DeploymentState::Pending as i32,
        release_package: ctx.name("releasePackages", pkg),
        files: vec![ctx.name("files", file)],
        create_time: now,
        update_time: now,
        ..Default::default()
    }
}

/// How far the vendor's clock may be behind the gateway's, in ms.
const CLOCK_SKEW_MS: i64 = 120_000;

/// Packages read by a lost-answer lookup.
const LOOKUP_PAGE: usize = 20;

#[async_trait]
impl Adapter for Legacy {
    fn vendor(&self) -> pb::Vendor {
        pb::Vendor::AlibabaDataworks
    }

    fn flavour(&self) -> &'static str {
        "dataworks-legacy"
    }

    fn capabilities(&self) -> Capabilities {
        use pb::FilterHandling::Vendor as V;
        capabilities(
            [
                (PackageFilter::Keyword, V, "Keyword"),
                (PackageFilter::States, V, "Status (one value; several: gateway)"),
                (PackageFilter::Creators, V, "Creator (one account UID by id; several: gateway)"),
                (PackageFilter::Executors, V, "Executor (one account UID by id; several: gateway)"),
                (PackageFilter::CreateTime, V, "EndCreateTime; start_time: gateway"),
                (PackageFilter::ExecuteTime, V, "EndExecuteTime; start_time: gateway"),
            ],
            [
                (true, "ListDeploymentPackages"),
                (true, "GetDeploymentPackage"),
                (false, NO_PACKAGE_DEPLOY),
                (
                    true,
                    "ListFiles by FileIdIn (one call per 50 files) checks every file first; then DeployFile per file: one deployment per file",
                ),
                (false, "DataWorks has no call that stops a DeployFile deployment"),
            ],
        )
    }

    async fn list_release_packages(&self, ctx: &CallCtx, q: PackageQuery) -> Result<Page<pb::ReleasePackage>> {
        self.list(ctx, &q).await
    }

    async fn get_release_package(&self, ctx: &CallCtx, id: &str, full: bool) -> Result<pb::ReleasePackage> {
        let n = numeric("name", id)?;
        let reply = self.dw.call(ctx, Api::GetDeploymentPackage, vec![("DeploymentId", n.to_string())]).await?;
        Ok(map::package_detail(ctx, id, &reply.read_view::<wire::GetDeploymentPackage>(full)?.data, full))
    }

    async fn deploy_release_packages(
        &self,
        _: &CallCtx,
        _: &[String],
        _: pb::StartupMode,
    ) -> Result<Vec<pb::Deployment>> {
        Err(Error::unsupported(NO_PACKAGE_DEPLOY))
    }

    async fn deploy_files(
        &self,
        ctx: &CallCtx,
        files: &[FileTarget],
        comment: &str,
        _: pb::StartupMode,
    ) -> Result<Vec<pb::Deployment>> {
        let ids = self.dw.deployable(ctx, files).await?;
        one_by_one(ids, |id| self.deploy_file(ctx, id, comment)).await
    }

    /// Each file's package, looked up as after a lost DeployFile answer;
    /// package deploys are never sent here.
    async fn find_deploy(
        &self,
        ctx: &CallCtx,
        call: DeployCall<'_>,
        since: i64,
    ) -> Result<Looked<Vec<pb::Deployment>>> {
        let DeployCall::Files { files, .. } = call else { return Ok(Looked::NotApplied) };
        let mut found = Vec::new();
        for (i, f) in files.iter().enumerate() {
            let id = numeric(&format!("files[{i}]"), &f.id)?;
            if let Looked::Applied(pkg) = self.find_deployed(ctx, id, since).await? {
                found.push(started(ctx, pkg, id));
            }
        }
        all_or_none(found, files.len())
    }

    async fn get_deployment(&self, ctx: &CallCtx, id: &str, full: bool) -> Result<pb::Deployment> {
        let n = numeric("name", id)?;
        let reply = self.dw.call(ctx, Api::GetDeploymentPackage, vec![("DeploymentId", n.to_string())]).await?;
        Ok(map::package_deployment(ctx, n, &reply.read_view::<wire::GetDeploymentPackage>(full)?.data, full))
    }

    async fn list_files(&self, ctx: &CallCtx, q: FileQuery) -> Result<Page<pb::File>> {
        self.dw.list_files(ctx, q).await
    }

    async fn get_file(&self, ctx: &CallCtx, id: &str, full: bool) -> Result<pb::File> {
        self.dw.get_file(ctx, id, full).await
    }

    async fn list_file_versions(
        &self,
        ctx: &CallCtx,
        file_id: &str,
        page: PageReq,
        full: bool,
    ) -> Result<Page<pb::FileVersion>> {
        self.dw.list_file_versions(ctx, file_id, page, full).await
    }

    async fn get_file_version(
        &self,
        ctx: &CallCtx,
        file_id: &str,
        version: i64,
        full: bool,
    ) -> Result<pb::FileVersion> {
        self.dw.get_file_version(ctx, file_id, version, full).await
    }
}
