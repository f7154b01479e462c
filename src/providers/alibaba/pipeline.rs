//! The pipeline (new Data Studio) adapter: release packages are pipeline
//! runs (ListPipelineRuns, GetPipelineRun + ListPipelineRunItems);
//! files are Data Studio objects (`studio.rs`); DeployFiles creates an
//! Online run per object and starts it, all under one deployment;
//! DeployReleasePackages starts a run. A run's stages are started one by
//! one (ExecPipelineRunStage), the next each time the deployment is looked
//! at and the previous one has finished.

use super::{
    Project,
    api::Api,
    capabilities,
    client::Reply,
    keyword_matches,
    map::{self, pipeline_state as state},
    one_by_one, one_id, scan,
    studio::{self, Runs},
    user_matches, wire,
};
use crate::domain::{Capabilities, capability::PackageFilter};
use crate::{
    domain::{
        Adapter, CallCtx, DeployCall, Error, FileQuery, FileTarget, PackageQuery, Page, PageReq, Reason, Result, Unmet,
        is_terminal, time,
    },
    pb,
    providers::lookup::{Looked, all_or_none, write_once},
};
use async_trait::async_trait;

/// The adapter of a new Data Studio workspace.
pub(crate) struct Pipeline {
    dw: Project,
    /// `pipeline.run_until`: the code of the last stage started.
    run_until: Option<String>,
}

/// The run of a GetPipelineRun answer.
fn run(reply: &Reply) -> Result<wire::Rec<'_, wire::Run<'_>>> {
    Ok(reply.read::<wire::GetPipelineRun>()?.pipeline)
}

/// The stage to start now, if any: the run is going, a stage was started,
/// none is running, and one is waiting (stages run strictly in order) at or
/// before the `until` stage.
fn next_stage<'r>(run: &'r wire::Run<'_>, until: Option<usize>) -> Option<&'r str> {
    use pb::ReleasePackageState::{Deploying, Ready};
    let stages = run.stages.as_deref().unwrap_or_default();
    let started = stages.iter().any(|st| state(&st.status) != Ready);
    let busy = stages.iter().any(|st| state(&st.status) == Deploying);
    if state(&run.status) != Deploying || !started || busy {
        return None;
    }
    let last = until.unwrap_or(usize::MAX);
    stages.iter().take(last.saturating_add(1)).find(|st| state(&st.status) == Ready).map(|st| &*st.code)
}

/// Where a run stops under `pipeline.run_until`.
enum Until {
    /// Every stage.
    End,
    /// The stage at this index is the last the gateway starts.
    Stage(usize),
    /// The run has no stage of that code (it is not moved on).
    Missing(String),
}

impl Pipeline {
    /// The adapter over `dw`, starting stages up to `run_until` (all when None).
    pub(crate) fn new(dw: Project, run_until: Option<String>) -> Self {
        Pipeline { dw, run_until }
    }

    fn until(&self, run: &wire::Run<'_>) -> Until {
        let Some(code) = &self.run_until else { return Until::End };
        let stages = run.stages.as_deref().unwrap_or_default();
        match stages.iter().position(|st| *st.code == **code) {
            Some(i) => Until::Stage(i),
            None => Until::Missing(format!(
                "pipeline.run_until names stage {code}, which this run does not have (its stages: {}); it is not \
                 moved on",
                stages.iter().map(|st| &*st.code).collect::<Vec<_>>().join(", ")
            )),
        }
    }

    /// The deployment a run is: a run whose stages up to `run_until` have
    /// succeeded has SUCCEEDED (the later stages are left to people); one
    /// without that stage has FAILED, saying why.
    fn deployment(&self, ctx: &CallCtx, run: &wire::Rec<'_, wire::Run<'_>>, full: bool) -> pb::Deployment {
        let mut d = map::run_deployment(ctx, run, full);
        if is_terminal(d.state()) {
            return d;
        }
        let stages = run.stages.as_deref().unwrap_or_default();
        match self.until(run) {
            Until::End => {}
            Until::Stage(i) => {
                if stages.iter().take(i + 1).all(|st| state(&st.status) == pb::ReleasePackageState::Succeeded) {
                    d.state = pb::DeploymentState::Succeeded as i32;
                }
            }
            Until::Missing(why) => {
                d.state = pb::DeploymentState::Failed as i32;
                d.error_message = why;
            }
        }
        d
    }

    /// ListPipelineRuns: Creator and Status by the vendor (one value each);
    /// the rest in the gateway.
    async fn list(&self, ctx: &CallCtx, q: &PackageQuery) -> Result<Page<pb::ReleasePackage>> {
        let creator = one_id("creators", &q.creators)?;
        let native_state = match q.states.as_slice() {
            [one] => map::pipeline_status_text(*one),
            _ => None,
        };
        let mut base: Vec<(&str, String)> = Vec::new();
        if let Some(c) = creator {
            base.push(("Creator", c.to_owned()));
        }
        if let Some(st) = native_state {
            base.push(("Status", st.to_owned()));
        }
        let filtered = (native_state.is_none() && !q.states.is_empty())
            || (creator.is_none() && !q.creators.is_empty())
            || q.keyword.is_some()
            || q.create_time.is_set()
            || q.execute_time.is_set();
        let keep = |r: &wire::Run<'_>| {
            (q.states.is_empty() || q.states.contains(&state(&r.status)))
                && user_matches(&q.creators, r.creator.as_deref())
                && keyword_matches(q.keyword.as_deref(), r.description.as_deref())
                && q.create_time.contains(r.create_time)
                && q.execute_time.contains(r.modify_time)
        };
        self.dw
            .window(ctx, Api::ListPipelineRuns, &base, &q.page, filtered, |r, scan| {
                scan.feed(r, r.read_view::<wire::ListPipelineRuns>(q.full)?, |run| {
                    keep(&run).then(|| map::pipeline_run(ctx, &run, &[], q.full))
                })
            })
            .await
    }

    /// GetPipelineRun.
    async fn get_run(&self, ctx: &CallCtx, id: &str) -> Result<Reply> {
        self.dw.call(ctx, Api::GetPipelineRun, vec![("Id", id.to_owned())]).await
    }

    /// Starts stage `code` of run `id` and reads the run again.
    async fn exec(&self, ctx: &CallCtx, id: &str, code: String) -> Result<Reply> {
        let stage = code.clone();
        self.dw.call_split(ctx, Api::ExecPipelineRunStage, vec![("Id", id.to_owned()), ("Code", code)]).await?;
        tracing::info!(
            target: "audit",
            event = "deployment",
            workspace = ctx.workspace.as_str(),
            deployment = ctx.name("deployments", id).as_str(),
            stage = stage.as_str(),
            "pipeline stage started"
        );
        self.get_run(ctx, id).await
    }

    /// The code of a run's first stage, or why the run cannot be started
    /// (it has already been).
    async fn first_stage(&self, ctx: &CallCtx, field: &str, id: &str) -> Result<Result<String, Unmet>> {
        let reply = self.get_run(ctx, id).await?;
        let run = run(&reply)?;
        let Some(first) = run.stages.as_deref().unwrap_or_default().first() else {
            return Err(Error::unsupported(format!("{field}: pipeline run {id} has no stages")));
        };
        if state(&first.status) != pb::ReleasePackageState::Ready
            || state(&run.status) != pb::ReleasePackageState::Ready
        {
            return Ok(Err(Unmet {
                kind: Reason::PackageAlreadyDeployed,
                subject: ctx.name("releasePackages", id),
                description: format!(
                    "{field}: pipeline run {id} has already been started; create a new one with DeployFiles"
                ),
            }));
        }
        if let Until::Missing(why) = self.until(&run) {
            return Ok(Err(Unmet {
                kind: Reason::DeployPreconditionFailed,
                subject: ctx.name("releasePackages", id),
                description: format!("{field}: {why}"),
            }));
        }
        Ok(Ok(first.code.to_string()))
    }

    /// Starts stage `first` of run `id` (the engine then moves it on). A
    /// lost answer is looked up: a run whose first stage has left Init was
    /// started.
    async fn start_run(&self, ctx: &CallCtx, id: &str, first: String) -> Result<pb::Deployment> {
        let send = || self.exec(ctx, id, first.clone());
        let look = || async {
            let reply = self.get_run(ctx, id).await?;
            let r = run(&reply)?;
            let started = r
                .stages
                .as_deref()
                .unwrap_or_default()
                .first()
                .is_some_and(|st| *st.code == *first && state(&st.status) != pb::ReleasePackageState::Ready);
            drop(r);
            Ok(if started { Looked::Applied(reply) } else { Looked::NotApplied })
        };
        let reply = write_once("ExecPipelineRunStage", send, look).await?;
        Ok(self.deployment(ctx, &run(&reply)?, false))
    }

    /// CreatePipelineRun (Online) for one file, then starts it. A lost
    /// answer of the create is looked up (`find_run`).
    async fn deploy_file(&self, ctx: &CallCtx, id: i64, comment: &str) -> Result<pb::Deployment> {
        let since = time::now_ms();
        let send = || async {
            let objects = serde_json::to_string(&[id.to_string()]).unwrap_or_default();
            let mut p = vec![("Type", "Online".to_owned()), ("ObjectIds", objects)];
            if !comment.is_empty() {
                p.push(("Description", comment.to_owned()));
            }
            let reply = self.dw.call(ctx, Api::CreatePipelineRun, p).await?;
            let run = reply.read::<wire::CreatePipelineRun>()?.id;
            if run.is_empty() {
                return Err(reply.malformed("empty Id"));
            }
            Ok(run.into_owned())
        };
        let object = id.to_string();
        let run = write_once("CreatePipelineRun", send, || self.find_run(ctx, &object, comment, since)).await?;
        let first = self.first_stage(ctx, "files", &run).await?.map_err(|u| Error::deploy_preconditions(vec![u]))?;
        let mut d = self.start_run(ctx, &run, first).await?;
        d.files = vec![ctx.name("files", id)];
        Ok(d)
    }

    /// The run a CreatePipelineRun of `object` sent at `since` made, if
    /// any: ListPipelineRuns by ObjectId lists newest first (vendor
    /// reference 1.10); a run created since then (less the clock skew),
    /// with the deploy's Description, is it. A page made
    /// only of recent runs may hide more: then the outcome stays unknown.
    async fn find_run(&self, ctx: &CallCtx, object: &str, comment: &str, since: i64) -> Result<Looked<String>> {
        const PAGE: usize = 20;
        let from = since - CLOCK_SKEW_MS;
        let params = vec![("ObjectId", object.to_owned()), ("PageNumber", "1".into()), ("PageSize", PAGE.to_string())];
        let reply = self.dw.call(ctx, Api::ListPipelineRuns, params).await?;
        let (rows, _) = scan::rows(&reply, reply.read::<wire::ListPipelineRuns>()?, 0)?;
        let recent: Vec<_> = rows.iter().filter(|r| r.create_time.is_some_and(|t| t >= from)).collect();
        let ours = recent.iter().find(|r| r.description.as_deref().unwrap_or_default() == comment);
        match ours {
            Some(r) => Ok(Looked::Applied(r.id.to_string())),
            None if recent.len() >= PAGE => Err(Error::new(
                tonic::Code::Unknown,
                Reason::DeployOutcomeUnknown,
                format!("more than {PAGE} runs of object {object} were created since the deploy was sent"),
            )),
            None => Ok(Looked::NotApplied),
        }
    }
}

/// How far the vendor's clock may be behind the gateway's, in ms.
const CLOCK_SKEW_MS: i64 = 120_000;

#[async_trait]
impl Adapter for Pipeline {
    fn vendor(&self) -> pb::Vendor {
        pb::Vendor::AlibabaDataworks
    }

    fn flavour(&self) -> &'static str {
        "dataworks-pipeline"
    }

    fn capabilities(&self) -> Capabilities {
        use pb::FilterHandling::{Gateway as G, Rejected as R, Vendor as V};
        studio::capabilities(capabilities(
            [
                (PackageFilter::Keyword, G, "matched against the run Description, ignoring case"),
                (
                    PackageFilter::States,
                    V,
                    "Status (one value; several, or CANCELLED = Cancel or Termination: gateway)",
                ),
                (PackageFilter::Creators, V, "Creator (one account UID by id; several: gateway)"),
                (PackageFilter::Executors, R, "pipeline runs record no executor"),
                (PackageFilter::CreateTime, G, "CreateTime"),
                (PackageFilter::ExecuteTime, G, "ModifyTime"),
            ],
            [
                (true, "ListPipelineRuns"),
                (true, "GetPipelineRun + ListPipelineRunItems"),
                (
                    true,
                    "GetPipelineRun checks every run first; then ExecPipelineRunStage through each run's stages in order",
                ),
                (
                    true,
                    "the object getters check every object first; then CreatePipelineRun(Online) and its first stage per object, one deployment",
                ),
                (true, "AbolishPipelineRun, then GetPipelineRun"),
            ],
        ))
    }

    async fn list_release_packages(&self, ctx: &CallCtx, q: PackageQuery) -> Result<Page<pb::ReleasePackage>> {
        self.list(ctx, &q).await
    }

    async fn get_release_package(&self, ctx: &CallCtx, id: &str, full: bool) -> Result<pb::ReleasePackage> {
        run_id("name", id)?;
        let reply = self.get_run(ctx, id).await?;
        let run = run(&reply)?;
        let params = vec![("PipelineRunId", id.to_owned()), ("PageNumber", "1".into()), ("PageSize", "100".into())];
        let items = self.dw.call(ctx, Api::ListPipelineRunItems, params).await?;
        let (rows, _) = scan::rows(&items, items.read::<wire::ListPipelineRunItems>()?, 0)?;
        Ok(map::pipeline_run(ctx, &run, &rows, full))
    }

    async fn deploy_release_packages(
        &self,
        ctx: &CallCtx,
        ids: &[String],
        _: pb::StartupMode,
    ) -> Result<Vec<pb::Deployment>> {
        for (n, id) in ids.iter().enumerate() {
            run_id(&format!("release_packages[{n}]"), id)?;
        }
        // Every run is checked before the first is started.
        let (mut firsts, mut unmet) = (Vec::with_capacity(ids.len()), Vec::new());
        for (n, id) in ids.iter().enumerate() {
            match self.first_stage(ctx, &format!("release_packages[{n}]"), id).await? {
                Ok(code) => firsts.push(code),
                Err(u) => unmet.push(u),
            }
        }
        if !unmet.is_empty() {
            return Err(Error::deploy_preconditions(unmet));
        }
        one_by_one(ids.iter().zip(firsts), |(id, first)| self.start_run(ctx, id, first)).await
    }

    async fn deploy_files(
        &self,
        ctx: &CallCtx,
        files: &[FileTarget],
        comment: &str,
        _: pb::StartupMode,
    ) -> Result<Vec<pb::Deployment>> {
        self.dw.deploy_objects(ctx, files, |id| self.deploy_file(ctx, id, comment)).await
    }

    async fn get_deployment(&self, ctx: &CallCtx, id: &str, full: bool) -> Result<pb::Deployment> {
        if let Some(runs) = Runs::several("name", id)? {
            return runs.look(ctx, full, |run| async move { self.get_deployment(ctx, &run, full).await }).await;
        }
        run_id("name", id)?;
        let reply = self.get_run(ctx, id).await?;
        Ok(self.deployment(ctx, &run(&reply)?, full))
    }

    /// Starts the next stage once the previous one has succeeded (stages
    /// run strictly in order; the engine calls this, readers never do).
    async fn advance(&self, ctx: &CallCtx, id: &str) -> Result<pb::Deployment> {
        if let Some(runs) = Runs::several("name", id)? {
            return runs.look(ctx, false, |run| async move { self.advance(ctx, &run).await }).await;
        }
        run_id("name", id)?;
        let reply = self.get_run(ctx, id).await?;
        let r = run(&reply)?;
        let next = match self.until(&r) {
            Until::End => next_stage(&r, None),
            Until::Stage(i) => next_stage(&r, Some(i)),
            Until::Missing(_) => None,
        }
        .map(str::to_owned);
        let reply = match next {
            Some(code) => self.exec(ctx, id, code).await?,
            None => reply,
        };
        Ok(self.deployment(ctx, &run(&reply)?, false))
    }

    /// Each file's run (found as after a lost CreatePipelineRun answer, and
    /// started if it was not yet), or whether each package's run was started.
    async fn find_deploy(
        &self,
        ctx: &CallCtx,
        call: DeployCall<'_>,
        since: i64,
    ) -> Result<Looked<Vec<pb::Deployment>>> {
        let mut found = Vec::new();
        let items = match call {
            DeployCall::Files { files, comment, .. } => {
                for (i, f) in files.iter().enumerate() {
                    let Looked::Applied(id) = self.find_run(ctx, &f.id, comment, since).await? else { continue };
                    let mut d = match self.first_stage(ctx, &format!("files[{i}]"), &id).await? {
                        Ok(first) => self.start_run(ctx, &id, first).await?,
                        Err(_) => self.get_deployment(ctx, &id, false).await?,
                    };
                    d.files = vec![ctx.name("files", &f.id)];
                    found.push(d);
                }
                files.len()
            }
            DeployCall::Packages { ids, .. } => {
                for id in ids {
                    let reply = self.get_run(ctx, id).await?;
                    let r = run(&reply)?;
                    let first = r.stages.as_deref().unwrap_or_default().first().map(|st| state(&st.status));
                    if first.is_some_and(|s| s != pb::ReleasePackageState::Ready) {
                        found.push(self.deployment(ctx, &r, false));
                    }
                }
                ids.len()
            }
        };
        all_or_none(found, items)
    }

    /// AbolishPipelineRun (form body `Id`, vendor reference 1.10), once the
    /// run is known not to have ended.
    async fn cancel(&self, ctx: &CallCtx, id: &str) -> Result<pb::Deployment> {
        if let Some(runs) = Runs::several("name", id)? {
            let get = |run: String| async move { self.get_deployment(ctx, &run, false).await };
            return runs.cancel(ctx, |run| async move { self.cancel(ctx, &run).await }, get).await;
        }
        run_id("name", id)?;
        let reply = self.get_run(ctx, id).await?;
        let d = self.deployment(ctx, &run(&reply)?, false);
        if is_terminal(d.state()) {
            return Err(Error::new(
                tonic::Code::FailedPrecondition,
                Reason::DeploymentEnded,
                format!("{} has already ended ({}); there is nothing to cancel", d.name, d.state().as_str_name()),
            ));
        }
        self.dw.call(ctx, Api::AbolishPipelineRun, vec![("Id", id.to_owned())]).await?;
        let reply = self.get_run(ctx, id).await?;
        Ok(self.deployment(ctx, &run(&reply)?, false))
    }

    async fn list_files(&self, ctx: &CallCtx, q: FileQuery) -> Result<Page<pb::File>> {
        self.dw.studio_files(ctx, q).await
    }

    async fn get_file(&self, ctx: &CallCtx, id: &str, full: bool) -> Result<pb::File> {
        self.dw.studio_file(ctx, id, full).await
    }

    async fn list_file_versions(
        &self,
        ctx: &CallCtx,
        file_id: &str,
        page: PageReq,
        full: bool,
    ) -> Result<Page<pb::FileVersion>> {
        self.dw.studio_versions(ctx, file_id, page, full).await
    }

    async fn get_file_version(
        &self,
        ctx: &CallCtx,
        file_id: &str,
        version: i64,
        full: bool,
    ) -> Result<pb::FileVersion> {
        self.dw.studio_version(ctx, file_id, version, full).await
    }
}

/// Pipeline run ids are the vendor's strings (UUID-like: letters, digits,
/// `-`, `_`); anything else is refused before a vendor call.
pub(super) fn run_id(field: &str, id: &str) -> Result<()> {
    let ok =
        !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(field, format!("{} is not a DataWorks pipeline run id", crate::domain::shown(id))))
    }
}
