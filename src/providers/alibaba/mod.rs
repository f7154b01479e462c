//! Alibaba Cloud DataWorks: signer, client, mapping, and the adapter.
//!
//! Two flavours (a workspace setting): **legacy** Data Studio, where release
//! packages are deployment packages (ListDeploymentPackages,
//! GetDeploymentPackage) and files are deployed with DeployFile, one package
//! per file — no vendor API runs an existing package, so
//! DeployReleasePackages is FAILED_PRECONDITION; and **pipeline** (new Data
//! Studio), where packages are pipeline runs, DeployFiles creates an Online
//! run per file and DeployReleasePackages runs a run's stages in order.
//! Deployment ids are the vendor's package id (legacy) or run id
//! (pipeline), so following a deployment needs no gateway state.

pub mod api;
pub mod client;
pub mod config;
pub mod map;
pub mod sign;

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use serde_json::Value;
use tonic::Code;

pub use self::config::Config;
use self::{
    api::Api,
    client::{Client, Keys, Signer},
    config::{Edition, Flavour},
    map::{i, s},
};
use crate::{
    config::{LiveSecret, WorkspaceConfig},
    domain::{
        Adapter, CallCtx, Error, FileQuery, FileTarget, MsRange, PackageQuery, Page, PageReq, Reason, Result, UserKey,
        time,
    },
    pb,
    providers::client::{Rates, Shared, VendorClient},
};

/// DataWorks file type codes (ListFiles FileTypes) the gateway accepts.
pub const FILE_TYPE_CODES: [i64; 27] = [
    6, 10, 11, 23, 24, 97, 98, 99, 221, 225, 227, 228, 229, 230, 239, 257, 258, 259, 260, 900, 1002, 1089, 1091, 1093,
    1100, 1106, 1221,
];

/// Vendor pages scanned per call when the gateway filters (then a partial
/// page and a token are returned rather than running into the deadline).
const MAX_SCAN_PAGES: u32 = 10;
/// Page size used when the gateway scans.
const SCAN_PAGE: i64 = 100;

/// The DataWorks adapter of one workspace.
pub struct AlibabaAdapter {
    client: Client,
    project: (String, String),
    flavour: Flavour,
}

fn live(r: &Option<crate::config::SecretRef>, what: &str) -> anyhow::Result<LiveSecret> {
    let r = r.clone().ok_or_else(|| anyhow::anyhow!("credentials.{what} is required"))?;
    Ok(LiveSecret::new(r, Duration::from_secs(1)))
}

impl AlibabaAdapter {
    /// Builds the adapter for a checked workspace config.
    pub fn new(ws: &WorkspaceConfig, cfg: &Config, shared: &Arc<Shared>) -> anyhow::Result<Self> {
        let base = match &cfg.endpoints.api {
            Some(e) => e.clone(),
            None if cfg.vpc => format!("https://dataworks-vpc.{}.aliyuncs.com", ws.region),
            None => format!("https://dataworks.{}.aliyuncs.com", ws.region),
        };
        let keys = Keys {
            id: live(&cfg.credentials.access_key_id, "access_key_id")?,
            secret: live(&cfg.credentials.access_key_secret, "access_key_secret")?,
            token: cfg.credentials.security_token.clone().map(|r| LiveSecret::new(r, Duration::from_secs(1))),
        };
        let project = match (&cfg.project_id, &cfg.project_identifier) {
            (Some(id), _) => ("ProjectId".to_owned(), id.clone()),
            (None, Some(ident)) => ("ProjectIdentifier".to_owned(), ident.clone()),
            (None, None) => anyhow::bail!("project_id or project_identifier is required"),
        };
        // The vendor counts calls per access key.
        let account = keys.id.get().map(|k| k.expose().to_owned()).unwrap_or_default();
        let rates = default_rates(cfg.edition);
        let vc = VendorClient::new::<Api>(shared, &client::VENDOR, ws, &account, rates)?;
        Ok(AlibabaAdapter { client: Client::new(Signer::new(&base, keys)?, vc), project, flavour: cfg.flavour })
    }

    async fn call(&self, ctx: &CallCtx, action: Api, params: Vec<(&str, String)>) -> Result<Value> {
        let mut form: Vec<(String, String)> = params.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        form.push(self.project.clone());
        self.client.call(ctx, action, &[], &form).await
    }

    /// `action` with the project in the query and `form` in the body.
    async fn call_split(&self, ctx: &CallCtx, action: Api, form: Vec<(&str, String)>) -> Result<Value> {
        let f: Vec<(String, String)> = form.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        self.client.call(ctx, action, std::slice::from_ref(&self.project), &f).await
    }
}

/// Published limits: Basic about 5 QPS per API; Enterprise about 50 QPS
/// reads / 20 writes (Standard and Professional are set between, our
/// assumption).
fn default_rates(edition: Edition) -> Rates {
    let (read, write) = match edition {
        Edition::Basic => (5.0, 5.0),
        Edition::Standard => (10.0, 10.0),
        Edition::Professional => (20.0, 10.0),
        Edition::Enterprise => (50.0, 20.0),
    };
    Rates { read, write }
}

fn py_bool(b: bool) -> String {
    if b { "True".into() } else { "False".into() }
}

fn numeric(field: &str, id: &str) -> Result<i64> {
    id.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| Error::invalid(field, format!("{id:?} is not a DataWorks id (a positive number)")))
}

fn malformed(v: &Value, what: &str) -> Error {
    Error::malformed(client::VENDOR.name, &s(v, "RequestId"), 200, what)
}

fn offset(cursor: &Option<String>) -> Result<i64> {
    match cursor {
        None => Ok(0),
        Some(c) => {
            c.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| Error::invalid("page_token", "is malformed"))
        }
    }
}

fn one_id<'a>(field: &str, users: &'a [UserKey]) -> Result<Option<&'a str>> {
    for (n, u) in users.iter().enumerate() {
        if let UserKey::Name(_) = u {
            return Err(Error::invalid(
                format!("{field}[{n}].display_name"),
                "DataWorks identifies users by account UID only: use id",
            ));
        }
    }
    Ok(match users {
        [UserKey::Id(id)] => Some(id),
        _ => None,
    })
}

fn user_matches(users: &[UserKey], id: &str) -> bool {
    users.is_empty() || users.iter().any(|u| matches!(u, UserKey::Id(x) if x == id))
}

/// One paged vendor listing: action, placement, fixed parameters, and where
/// its rows are (envelope, list).
#[derive(Clone, Copy)]
struct Listing<'a> {
    action: Api,
    base: &'a [(&'a str, String)],
    rows: (&'a str, &'a str),
}

/// A list answer's rows and total, at `path` (e.g. Data.Deployments).
/// Takes the rows out of an answer (moved, not copied) with its TotalCount.
fn rows(mut v: Value, env: &str, list: &str) -> Result<(Vec<Value>, i64)> {
    let total = v.get(env).and_then(|d| i(d, "TotalCount")).unwrap_or(0);
    let rows = match v.get_mut(env).map(|d| d.get_mut(list).map(Value::take)) {
        None => return Err(malformed(&v, &format!("no {env}"))),
        Some(Some(Value::Array(a))) => a,
        Some(None | Some(Value::Null)) => Vec::new(),
        Some(Some(_)) => return Err(malformed(&v, &format!("{env}.{list} is not a list"))),
    };
    Ok((rows, total))
}

impl AlibabaAdapter {
    /// Pages through a PageNumber/PageSize listing from row `start`: returns
    /// rows that pass `keep`, up to `size`, scanning at most
    /// `MAX_SCAN_PAGES` vendor pages when filtering locally.
    async fn window(
        &self,
        ctx: &CallCtx,
        l: &Listing<'_>,
        start: i64,
        size: i64,
        local: Option<&(dyn Fn(&Value) -> bool + Sync)>,
    ) -> Result<(Vec<Value>, Option<i64>, i64)> {
        let Listing { action, base, rows: (env, list) } = *l;
        let page_size = if local.is_some() || start % size != 0 { SCAN_PAGE.max(size) } else { size };
        let mut pos = start;
        let mut out = Vec::new();
        let mut total = 0;
        for _ in 0..MAX_SCAN_PAGES {
            let mut params = base.to_vec();
            params.push(("PageNumber", (pos / page_size + 1).to_string()));
            params.push(("PageSize", page_size.to_string()));
            let v = self.call(ctx, action, params).await?;
            let (page, t) = rows(v, env, list)?;
            total = t;
            let skip = (pos % page_size) as usize;
            let fetched = page.len();
            for row in page.into_iter().skip(skip) {
                pos += 1;
                if local.is_none_or(|f| f(&row)) {
                    out.push(row);
                    if out.len() as i64 == size {
                        return Ok((out, (pos < total).then_some(pos), total));
                    }
                }
            }
            if fetched < page_size as usize || pos >= total {
                return Ok((out, None, total));
            }
        }
        Ok((out, (pos < total).then_some(pos), total))
    }

    async fn list_legacy_packages(&self, ctx: &CallCtx, q: &PackageQuery) -> Result<Page<pb::ReleasePackage>> {
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
        let states = q.states.clone();
        let (cs, es) = (q.create_time.start, q.execute_time.start);
        let (creators, executors) = (q.creators.clone(), q.executors.clone());
        let needs_local = (native_state.is_none() && !states.is_empty())
            || cs.is_some()
            || es.is_some()
            || (creator.is_none() && !creators.is_empty())
            || (executor.is_none() && !executors.is_empty());
        let keep = move |r: &Value| {
            (states.is_empty() || states.contains(&map::package_state(i(r, "Status"), None, false)))
                && MsRange { start: cs, end: None }.contains(i(r, "CreateTime"))
                && MsRange { start: es, end: None }.contains(i(r, "ExecuteTime").filter(|t| *t > 0))
                && user_matches(&creators, &s(r, "Creator"))
                && user_matches(&executors, &s(r, "Executor"))
        };
        let local: Option<&(dyn Fn(&Value) -> bool + Sync)> = if needs_local { Some(&keep) } else { None };
        let start = offset(&q.page.cursor)?;
        let (list, next, total) = self
            .window(
                ctx,
                &Listing { action: Api::ListDeploymentPackages, base: &base, rows: ("Data", "Deployments") },
                start,
                q.page.size.into(),
                local,
            )
            .await?;
        Ok(Page {
            items: list.iter().map(|r| map::package_row(ctx, r, q.full)).collect(),
            next: next.map(|n| n.to_string()),
            total,
        })
    }

    async fn list_runs(&self, ctx: &CallCtx, q: &PackageQuery) -> Result<Page<pb::ReleasePackage>> {
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
        let states = q.states.clone();
        let creators = q.creators.clone();
        let (kw, ct, et) = (q.keyword.clone(), q.create_time, q.execute_time);
        let needs_local = (native_state.is_none() && !states.is_empty())
            || (creator.is_none() && !creators.is_empty())
            || kw.is_some()
            || ct.is_set()
            || et.is_set();
        let keep = move |r: &Value| {
            (states.is_empty() || states.contains(&map::pipeline_state(&s(r, "Status"))))
                && user_matches(&creators, &s(r, "Creator"))
                && kw.as_ref().is_none_or(|k| s(r, "Description").contains(k.as_str()))
                && ct.contains(i(r, "CreateTime"))
                && et.contains(i(r, "ModifyTime"))
        };
        let local: Option<&(dyn Fn(&Value) -> bool + Sync)> = if needs_local { Some(&keep) } else { None };
        let start = offset(&q.page.cursor)?;
        let (list, next, total) = self
            .window(
                ctx,
                &Listing { action: Api::ListPipelineRuns, base: &base, rows: ("PagingInfo", "PipelineRuns") },
                start,
                q.page.size.into(),
                local,
            )
            .await?;
        Ok(Page {
            items: list.iter().map(|r| map::pipeline_run(ctx, r, &[], q.full)).collect(),
            next: next.map(|n| n.to_string()),
            total,
        })
    }

    async fn get_run(&self, ctx: &CallCtx, id: &str) -> Result<Value> {
        let v = self.call(ctx, Api::GetPipelineRun, vec![("Id", id.to_owned())]).await?;
        v.get("Pipeline").filter(|p| p.is_object()).cloned().ok_or_else(|| malformed(&v, "no Pipeline"))
    }

    /// Looks at a pipeline deployment and, when a stage has finished and the
    /// next is waiting, starts the next one (stages run strictly in order).
    async fn advance_run(&self, ctx: &CallCtx, id: &str) -> Result<Value> {
        let run = self.get_run(ctx, id).await?;
        let stages = run["Stages"].as_array().cloned().unwrap_or_default();
        let state = map::pipeline_state(&s(&run, "Status"));
        let started = stages.iter().any(|st| map::pipeline_state(&s(st, "Status")) != pb::ReleasePackageState::Ready);
        let busy = stages.iter().any(|st| map::pipeline_state(&s(st, "Status")) == pb::ReleasePackageState::Deploying);
        if state == pb::ReleasePackageState::Deploying
            && started
            && !busy
            && let Some(next) =
                stages.iter().find(|st| map::pipeline_state(&s(st, "Status")) == pb::ReleasePackageState::Ready)
        {
            self.call_split(ctx, Api::ExecPipelineRunStage, vec![("Id", id.to_owned()), ("Code", s(next, "Code"))])
                .await?;
            return self.get_run(ctx, id).await;
        }
        Ok(run)
    }

    fn run_deployment(&self, ctx: &CallCtx, run: &Value, full: bool) -> pb::Deployment {
        let id = s(run, "Id");
        pb::Deployment {
            name: ctx.name("deployments", &id),
            vendor: pb::Vendor::AlibabaDataworks as i32,
            state: map::deployment_state(map::pipeline_state(&s(run, "Status"))) as i32,
            release_package: ctx.name("releasePackages", &id),
            create_time: time::ts(i(run, "CreateTime")),
            update_time: time::ts(i(run, "ModifyTime")),
            error_message: s(run, "Message"),
            vendor_record: full.then(|| time::json_to_struct(run)),
            ..Default::default()
        }
    }

    /// Starts a run's first stage (it then advances on each look).
    async fn start_run(&self, ctx: &CallCtx, field: &str, id: &str) -> Result<pb::Deployment> {
        let run = self.get_run(ctx, id).await?;
        let stages = run["Stages"].as_array().cloned().unwrap_or_default();
        let Some(first) = stages.first() else {
            return Err(Error::unsupported(format!("{field}: pipeline run {id} has no stages")));
        };
        if map::pipeline_state(&s(first, "Status")) != pb::ReleasePackageState::Ready
            || map::pipeline_state(&s(&run, "Status")) != pb::ReleasePackageState::Ready
        {
            return Err(Error::new(
                Code::FailedPrecondition,
                Reason::PackageAlreadyDeployed,
                format!("{field}: pipeline run {id} has already been started; create a new one with DeployFiles"),
            ));
        }
        self.call_split(ctx, Api::ExecPipelineRunStage, vec![("Id", id.to_owned()), ("Code", s(first, "Code"))])
            .await?;
        let run = self.get_run(ctx, id).await?;
        Ok(self.run_deployment(ctx, &run, false))
    }

    async fn legacy_deployment(&self, ctx: &CallCtx, id: i64, full: bool) -> Result<pb::Deployment> {
        let v = self.call(ctx, Api::GetDeploymentPackage, vec![("DeploymentId", id.to_string())]).await?;
        let data = v.get("Data").ok_or_else(|| malformed(&v, "no Data"))?;
        let pkg = map::package_detail(ctx, &id.to_string(), data, false);
        Ok(pb::Deployment {
            name: ctx.name("deployments", id),
            vendor: pb::Vendor::AlibabaDataworks as i32,
            state: map::deployment_state(pkg.state()) as i32,
            release_package: pkg.name.clone(),
            files: pkg.items.iter().map(|it| it.file.clone()).collect(),
            create_time: pkg.create_time,
            update_time: pkg.execute_time,
            error_message: pkg.error_message,
            vendor_record: full.then(|| time::json_to_struct(data)),
            ..Default::default()
        })
    }
}

fn filter(field: &str, handling: pb::FilterHandling, note: &str) -> pb::FilterSupport {
    pb::FilterSupport { field: field.into(), handling: handling as i32, note: note.into() }
}

fn op(method: &str, supported: bool, note: &str) -> pb::OperationSupport {
    pb::OperationSupport { method: format!("datastudio.v1.{method}"), supported, note: note.into() }
}

#[async_trait]
impl Adapter for AlibabaAdapter {
    fn vendor(&self) -> pb::Vendor {
        pb::Vendor::AlibabaDataworks
    }

    fn flavour(&self) -> &'static str {
        match self.flavour {
            Flavour::Legacy => "dataworks-legacy",
            Flavour::Pipeline => "dataworks-pipeline",
        }
    }

    fn capabilities(&self) -> pb::Capabilities {
        use pb::FilterHandling::{Gateway as G, Rejected as R, Vendor as V};
        let legacy = self.flavour == Flavour::Legacy;
        let mut filters = if legacy {
            vec![
                filter("ListReleasePackagesRequest.keyword", V, "Keyword"),
                filter("ListReleasePackagesRequest.states", V, "Status (one value; several: gateway)"),
                filter("ListReleasePackagesRequest.creators", V, "Creator (one account UID by id; several: gateway)"),
                filter("ListReleasePackagesRequest.executors", V, "Executor (one account UID by id; several: gateway)"),
                filter("ListReleasePackagesRequest.create_time", V, "EndCreateTime; start_time: gateway"),
                filter("ListReleasePackagesRequest.execute_time", V, "EndExecuteTime; start_time: gateway"),
            ]
        } else {
            vec![
                filter("ListReleasePackagesRequest.keyword", G, "matched against the run Description"),
                filter("ListReleasePackagesRequest.states", V, "Status (one value; several: gateway)"),
                filter("ListReleasePackagesRequest.creators", V, "Creator (one account UID by id; several: gateway)"),
                filter("ListReleasePackagesRequest.executors", R, "pipeline runs record no executor"),
                filter("ListReleasePackagesRequest.create_time", G, "CreateTime"),
                filter("ListReleasePackagesRequest.execute_time", G, "ModifyTime"),
            ]
        };
        filters.push(filter("ListReleasePackagesRequest.order_by", R, "DataWorks lists newest first only"));
        for (f, note) in [
            ("folder_path", "FileFolderPath"),
            ("keyword", "Keyword"),
            ("exact_name", "ExactFileName"),
            ("use_type", "UseType"),
            ("file_types", "FileTypes (DataWorks type codes, e.g. 10 = ODPS SQL)"),
            ("owner", "Owner (account UID, by id)"),
            ("node_id", "NodeId"),
            ("include_content", "NeedContent"),
            ("include_folder_path", "NeedAbsoluteFolderPath"),
            ("file_ids", "FileIdIn (at most 50)"),
            ("last_editor", "LastEditUser (account UID, by id)"),
            ("commit_status", "CommitStatus (API 2024-05-18)"),
        ] {
            filters.push(filter(&format!("ListFilesRequest.{f}"), V, note));
        }
        let operations = vec![
            op(
                "ReleaseService/ListReleasePackages",
                true,
                if legacy { "ListDeploymentPackages" } else { "ListPipelineRuns" },
            ),
            op(
                "ReleaseService/GetReleasePackage",
                true,
                if legacy { "GetDeploymentPackage" } else { "GetPipelineRun + ListPipelineRunItems" },
            ),
            if legacy {
                op(
                    "ReleaseService/DeployReleasePackages",
                    false,
                    "legacy DataWorks has no API that runs an existing deployment package; call DeployFiles with the package's files",
                )
            } else {
                op(
                    "ReleaseService/DeployReleasePackages",
                    true,
                    "ExecPipelineRunStage through the run's stages in order",
                )
            },
            op(
                "ReleaseService/DeployFiles",
                true,
                if legacy {
                    "DeployFile per file: one deployment per file"
                } else {
                    "CreatePipelineRun(Online) per file"
                },
            ),
            op("ReleaseService/GetDeployment", true, "one vendor call per look"),
            op("ReleaseService/WatchDeployment", true, "polls the vendor with back-off"),
            op("FileService/ListFiles", true, "ListFiles"),
            op("FileService/GetFile", true, "GetFile"),
            op("FileService/ListFileVersions", true, "ListFileVersions"),
            op("FileService/GetFileVersion", true, "GetFileVersion"),
        ];
        pb::Capabilities { operations, filters }
    }

    async fn list_release_packages(&self, ctx: &CallCtx, q: PackageQuery) -> Result<Page<pb::ReleasePackage>> {
        match self.flavour {
            Flavour::Legacy => self.list_legacy_packages(ctx, &q).await,
            Flavour::Pipeline => self.list_runs(ctx, &q).await,
        }
    }

    async fn get_release_package(&self, ctx: &CallCtx, id: &str, full: bool) -> Result<pb::ReleasePackage> {
        match self.flavour {
            Flavour::Legacy => {
                let n = numeric("name", id)?;
                let v = self.call(ctx, Api::GetDeploymentPackage, vec![("DeploymentId", n.to_string())]).await?;
                let data = v.get("Data").filter(|d| d.is_object()).ok_or_else(|| malformed(&v, "no Data"))?;
                Ok(map::package_detail(ctx, id, data, full))
            }
            Flavour::Pipeline => {
                let run = self.get_run(ctx, id).await?;
                let items = self
                    .call(
                        ctx,
                        Api::ListPipelineRunItems,
                        vec![("PipelineRunId", id.to_owned()), ("PageNumber", "1".into()), ("PageSize", "100".into())],
                    )
                    .await?;
                let (rows, _) = rows(items, "PagingInfo", "PipelineRunItems")?;
                Ok(map::pipeline_run(ctx, &run, &rows, full))
            }
        }
    }

    async fn deploy_release_packages(
        &self,
        ctx: &CallCtx,
        ids: &[String],
        _: pb::StartupMode,
    ) -> Result<Vec<pb::Deployment>> {
        if self.flavour == Flavour::Legacy {
            return Err(Error::unsupported(
                "legacy DataWorks has no API that runs an existing deployment package; call DeployFiles with the package's files",
            ));
        }
        let mut out = Vec::with_capacity(ids.len());
        for (n, id) in ids.iter().enumerate() {
            match self.start_run(ctx, &format!("release_packages[{n}]"), id).await {
                Ok(d) => out.push(d),
                Err(e) if out.is_empty() => return Err(e),
                Err(e) => return Err(partial(e, &out)),
            }
        }
        Ok(out)
    }

    async fn deploy_files(
        &self,
        ctx: &CallCtx,
        files: &[FileTarget],
        comment: &str,
        _: pb::StartupMode,
    ) -> Result<Vec<pb::Deployment>> {
        let mut ids = Vec::with_capacity(files.len());
        for (n, f) in files.iter().enumerate() {
            ids.push(numeric(&format!("files[{n}]"), &f.id)?);
        }
        // Check every file first, so a bad one fails before anything is deployed.
        for (n, (f, id)) in files.iter().zip(&ids).enumerate() {
            let v = self.call(ctx, Api::GetFile, vec![("FileId", id.to_string())]).await?;
            let cur = i(&v["Data"]["File"], "CurrentVersion").unwrap_or_default();
            if let Some(want) = f.version
                && want != cur
            {
                return Err(Error::new(
                    Code::FailedPrecondition,
                    Reason::VersionNotDeployable,
                    format!(
                        "files[{n}]: version {want} is not the latest committed version ({cur}); DataWorks deploys the latest"
                    ),
                ));
            }
        }
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let r = match self.flavour {
                Flavour::Legacy => {
                    let mut p = vec![("FileId", id.to_string())];
                    if !comment.is_empty() {
                        p.push(("Comment", comment.to_owned()));
                    }
                    match self.call(ctx, Api::DeployFile, p).await {
                        Ok(v) => match i(&v, "Data") {
                            Some(pkg) => Ok(pb::Deployment {
                                name: ctx.name("deployments", pkg),
                                vendor: pb::Vendor::AlibabaDataworks as i32,
                                state: pb::DeploymentState::Pending as i32,
                                release_package: ctx.name("releasePackages", pkg),
                                files: vec![ctx.name("files", id)],
                                create_time: time::ts(Some(time::now_ms())),
                                update_time: time::ts(Some(time::now_ms())),
                                ..Default::default()
                            }),
                            None => Err(malformed(&v, "DeployFile returned no package id")),
                        },
                        Err(e) => Err(e),
                    }
                }
                Flavour::Pipeline => {
                    let objects = serde_json::to_string(&[id.to_string()]).unwrap_or_default();
                    let mut p = vec![("Type", "Online".to_owned()), ("ObjectIds", objects)];
                    if !comment.is_empty() {
                        p.push(("Description", comment.to_owned()));
                    }
                    match self.call(ctx, Api::CreatePipelineRun, p).await {
                        Ok(v) if !s(&v, "Id").is_empty() => self.start_run(ctx, "files", &s(&v, "Id")).await,
                        Ok(v) => Err(malformed(&v, "CreatePipelineRun returned no Id")),
                        Err(e) => Err(e),
                    }
                }
            };
            match r {
                Ok(mut d) => {
                    d.files = vec![ctx.name("files", id)];
                    out.push(d);
                }
                Err(e) if out.is_empty() => return Err(e),
                Err(e) => return Err(partial(e, &out)),
            }
        }
        Ok(out)
    }

    async fn get_deployment(&self, ctx: &CallCtx, id: &str, full: bool) -> Result<pb::Deployment> {
        match self.flavour {
            Flavour::Legacy => self.legacy_deployment(ctx, numeric("name", id)?, full).await,
            Flavour::Pipeline => {
                let run = self.advance_run(ctx, id).await?;
                Ok(self.run_deployment(ctx, &run, full))
            }
        }
    }

    async fn list_files(&self, ctx: &CallCtx, q: FileQuery) -> Result<Page<pb::File>> {
        let mut base: Vec<(&str, String)> = Vec::new();
        let id_only = |field: &str, u: &Option<UserKey>| -> Result<Option<String>> {
            match u {
                None => Ok(None),
                Some(UserKey::Id(x)) => Ok(Some(x.clone())),
                Some(UserKey::Name(_)) => Err(Error::invalid(
                    format!("{field}.display_name"),
                    "DataWorks identifies users by account UID only: use id",
                )),
            }
        };
        if let Some(v) = &q.folder_path {
            base.push(("FileFolderPath", v.clone()));
        }
        if let Some(v) = &q.keyword {
            base.push(("Keyword", v.clone()));
        }
        if let Some(v) = &q.exact_name {
            base.push(("ExactFileName", v.clone()));
        }
        if let Some(u) = q.use_type {
            base.push(("UseType", map::use_type_code(u).to_owned()));
        }
        if !q.file_types.is_empty() {
            for (n, t) in q.file_types.iter().enumerate() {
                if !t.parse::<i64>().is_ok_and(|c| FILE_TYPE_CODES.contains(&c)) {
                    return Err(Error::invalid(
                        format!("file_types[{n}]"),
                        format!(
                            "{t:?} is not a DataWorks file type code (e.g. 10 ODPS SQL, 6 Shell, 23 Data Integration)"
                        ),
                    ));
                }
            }
            base.push(("FileTypes", q.file_types.join(",")));
        }
        if let Some(o) = id_only("owner", &q.owner)? {
            base.push(("Owner", o));
        }
        if let Some(n) = &q.node_id {
            base.push(("NodeId", numeric("node_id", n)?.to_string()));
        }
        base.push(("NeedContent", py_bool(q.include_content)));
        base.push(("NeedAbsoluteFolderPath", py_bool(q.include_folder_path)));
        if !q.file_ids.is_empty() {
            let mut ids = Vec::new();
            for (n, id) in q.file_ids.iter().enumerate() {
                ids.push(numeric(&format!("file_ids[{n}]"), id)?.to_string());
            }
            base.push(("FileIdIn", ids.join(",")));
        }
        if let Some(o) = id_only("last_editor", &q.last_editor)? {
            base.push(("LastEditUser", o));
        }
        if let Some(c) = q.commit_status {
            base.push(("CommitStatus", if c == pb::CommitStatus::Committed { "1" } else { "0" }.into()));
        }
        let start = offset(&q.page.cursor)?;
        let (list, next, total) = self
            .window(
                ctx,
                &Listing { action: Api::ListFiles, base: &base, rows: ("Data", "Files") },
                start,
                q.page.size.into(),
                None,
            )
            .await?;
        Ok(Page {
            items: list.iter().map(|r| map::file(ctx, r, q.full)).collect(),
            next: next.map(|n| n.to_string()),
            total,
        })
    }

    async fn get_file(&self, ctx: &CallCtx, id: &str, full: bool) -> Result<pb::File> {
        let n = numeric("name", id)?;
        let v = self.call(ctx, Api::GetFile, vec![("FileId", n.to_string())]).await?;
        let f = v
            .get("Data")
            .and_then(|d| d.get("File"))
            .filter(|f| f.is_object())
            .ok_or_else(|| malformed(&v, "no Data.File"))?;
        let mut file = map::file(ctx, f, false);
        if full {
            file.vendor_record = Some(time::json_to_struct(&v["Data"]));
        }
        Ok(file)
    }

    async fn list_file_versions(
        &self,
        ctx: &CallCtx,
        file_id: &str,
        page: PageReq,
        full: bool,
    ) -> Result<Page<pb::FileVersion>> {
        let n = numeric("parent", file_id)?;
        let start = offset(&page.cursor)?;
        let base = vec![("FileId", n.to_string())];
        let (list, next, total) = self
            .window(
                ctx,
                &Listing { action: Api::ListFileVersions, base: &base, rows: ("Data", "FileVersions") },
                start,
                page.size.into(),
                None,
            )
            .await?;
        Ok(Page {
            items: list.iter().map(|r| map::file_version(ctx, file_id, r, full)).collect(),
            next: next.map(|n| n.to_string()),
            total,
        })
    }

    async fn get_file_version(
        &self,
        ctx: &CallCtx,
        file_id: &str,
        version: i64,
        full: bool,
    ) -> Result<pb::FileVersion> {
        let n = numeric("name", file_id)?;
        let v = self
            .call(ctx, Api::GetFileVersion, vec![("FileId", n.to_string()), ("FileVersion", version.to_string())])
            .await?;
        let d = v.get("Data").filter(|d| d.is_object()).ok_or_else(|| malformed(&v, "no Data"))?;
        Ok(map::file_version(ctx, file_id, d, full))
    }
}

/// A failure after some deployments already started: the error says which,
/// so nothing already done is lost.
fn partial(mut e: Error, done: &[pb::Deployment]) -> Error {
    let names: Vec<&str> = done.iter().map(|d| d.name.as_str()).collect();
    e.message = format!("{} (deployments already started: {})", e.message, names.join(", "));
    e.metadata.push(("started_deployments".into(), names.join(",")));
    e
}
