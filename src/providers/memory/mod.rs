//! An in-memory vendor, built only with the `test-util` feature: the
//! smallest complete driver, registered through the same table as the real
//! ones and run through the same conformance suite. It is the proof that a
//! third vendor needs its folder and one registration line.
//!
//! Its "vendor" is a [`Store`] in this process: 30 packages, 9 files with
//! three versions each, and deployments that succeed a moment after they
//! start. Every call goes through the shared vendor client (budget,
//! limiter, retry policy) and is written to the store's call log.

mod config;

use std::{
    collections::HashMap,
    sync::{Arc, LazyLock, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use tonic::Code;

pub use self::config::Config;
use crate::{
    config::{Problems, WorkspaceConfig},
    domain::{
        Adapter, CallCtx, Capabilities, Error, FileQuery, FileTarget, PackageQuery, Page, PageReq, Reason, Result,
        VendorDetail,
        capability::{FileFilter, Filter, Operation, PackageFilter},
        time,
    },
    pb,
    providers::{
        Driver,
        client::{Access, Action, RateKey, Rates, Shared, Vendor, VendorClient},
    },
};

/// What the shared client knows of the in-memory vendor.
static VENDOR: Vendor = Vendor { name: "memory", request_id_header: "x-request-id" };

/// The in-memory vendor's APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// List packages.
    ListPackages,
    /// One package.
    GetPackage,
    /// List files.
    ListFiles,
    /// One file.
    GetFile,
    /// A file's versions.
    ListVersions,
    /// One version of a file.
    GetVersion,
    /// Deploy files.
    Deploy,
    /// One deployment.
    GetDeployment,
}

impl Action for Api {
    const ALL: &'static [Api] = &[
        Api::ListPackages,
        Api::GetPackage,
        Api::ListFiles,
        Api::GetFile,
        Api::ListVersions,
        Api::GetVersion,
        Api::Deploy,
        Api::GetDeployment,
    ];

    fn name(self) -> &'static str {
        match self {
            Api::ListPackages => "ListPackages",
            Api::GetPackage => "GetPackage",
            Api::ListFiles => "ListFiles",
            Api::GetFile => "GetFile",
            Api::ListVersions => "ListVersions",
            Api::GetVersion => "GetVersion",
            Api::Deploy => "Deploy",
            Api::GetDeployment => "GetDeployment",
        }
    }

    fn access(self) -> Access {
        match self {
            Api::Deploy => Access::Write,
            Api::ListPackages
            | Api::GetPackage
            | Api::ListFiles
            | Api::GetFile
            | Api::ListVersions
            | Api::GetVersion
            | Api::GetDeployment => Access::Read,
        }
    }
}

/// Packages in a new store.
pub(crate) const PACKAGES: usize = 30;
/// Files in a new store.
pub(crate) const FILES: usize = 9;
/// Versions of every file.
pub(crate) const VERSIONS: i64 = 3;
const T0: i64 = 1_767_225_600_000;

/// A deployment in the store.
#[derive(Debug, Clone)]
struct Deployed {
    files: Vec<String>,
    started: tokio::time::Instant,
}

/// The in-memory vendor's data and call log.
#[derive(Debug, Default)]
pub struct Store {
    calls: Mutex<Vec<&'static str>>,
    deployments: Mutex<Vec<Deployed>>,
}

static STORES: LazyLock<Mutex<HashMap<String, Arc<Store>>>> = LazyLock::new(Mutex::default);

impl Store {
    /// The store named `name` (created on first use), shared by every
    /// workspace configured with it.
    pub fn named(name: &str) -> Arc<Store> {
        STORES.lock().unwrap_or_else(|e| e.into_inner()).entry(name.to_owned()).or_default().clone()
    }

    /// How many calls of `api` reached the store.
    pub fn count(&self, api: Api) -> usize {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).iter().filter(|c| **c == api.name()).count()
    }

    /// How many calls reached the store.
    pub fn calls(&self) -> usize {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn log(&self, api: Api) {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).push(api.name());
    }
}

/// The in-memory driver of one workspace.
pub(crate) struct MemoryAdapter {
    store: Arc<Store>,
    vc: VendorClient,
    deploy_after: Duration,
}

/// Builds the driver for a workspace configured with `vendor: memory`.
fn build(ws: &WorkspaceConfig, cfg: &Config, shared: &Arc<Shared>) -> anyhow::Result<MemoryAdapter> {
    let vc = VendorClient::new::<Api>(shared, &VENDOR, ws, &cfg.store, Rates { read: 1000.0, write: 1000.0 })?;
    Ok(MemoryAdapter { store: Store::named(&cfg.store), vc, deploy_after: cfg.deploy_after })
}

impl Driver for Config {
    fn check(&self, at: &dyn Fn(&str) -> String, p: &mut Problems) {
        if self.store.is_empty() {
            p.add(at("store"), "names the in-process store; must not be empty");
        }
    }

    fn rate_key(&self, key: &str) -> std::result::Result<(), String> {
        RateKey::<Api>::parse(key).map(drop)
    }

    fn project(&self) -> &str {
        &self.store
    }

    fn adapter(&self, _: &str, ws: &WorkspaceConfig, shared: &Arc<Shared>) -> anyhow::Result<Arc<dyn Adapter>> {
        Ok(Arc::new(build(ws, self, shared)?))
    }
}

fn not_found(what: String) -> Error {
    Error::not_found(Reason::VendorNotFound, what).with_vendor(VendorDetail {
        vendor: VENDOR.name.into(),
        code: "NotFound".into(),
        request_id: uuid::Uuid::new_v4().to_string(),
        http_status: 404,
    })
}

/// The number an id stands for (ids are 0..len).
fn index(field: &str, id: &str, what: &str, len: usize) -> Result<usize> {
    let n = id.parse::<usize>().map_err(|_| Error::invalid(field, format!("{id:?} is not a number")))?;
    if n < len { Ok(n) } else { Err(not_found(format!("{what} {n}"))) }
}

fn record(pairs: &[(&str, String)]) -> prost_types::Struct {
    let map: serde_json::Map<String, serde_json::Value> =
        pairs.iter().map(|(k, v)| ((*k).to_owned(), serde_json::Value::String(v.clone()))).collect();
    time::json_to_struct(&serde_json::Value::Object(map))
}

/// A page of `len` items from the cursor (an offset).
fn window(page: &PageReq, len: usize) -> Result<(std::ops::Range<usize>, Option<String>)> {
    let start = match &page.cursor {
        None => 0,
        Some(c) => c.parse::<usize>().map_err(|_| Error::invalid("page_token", "is malformed"))?,
    };
    let end = (start + page.size as usize).min(len);
    Ok((start.min(end)..end, (end < len).then(|| end.to_string())))
}

impl MemoryAdapter {
    /// One call through the shared client, answered by the store.
    async fn call<T>(&self, ctx: &CallCtx, api: Api, answer: impl Fn() -> Result<T>) -> Result<T> {
        self.vc
            .call(ctx, api, |_| {
                self.store.log(api);
                let out = answer();
                async move { out }
            })
            .await
    }

    fn package(ctx: &CallCtx, n: usize, full: bool) -> pb::ReleasePackage {
        pb::ReleasePackage {
            name: ctx.name("releasePackages", n),
            display_name: format!("package {n}"),
            state: pb::ReleasePackageState::Succeeded as i32,
            create_time: time::ts(Some(T0 - n as i64 * 60_000)),
            vendor_record: full.then(|| record(&[("id", n.to_string())])),
            ..Default::default()
        }
    }

    fn file(ctx: &CallCtx, n: usize, full: bool) -> pb::File {
        pb::File {
            name: ctx.name("files", n),
            display_name: format!("file {n}.sql"),
            content: format!("select {n}, {VERSIONS};"),
            current_version: VERSIONS,
            commit_status: pb::CommitStatus::Committed as i32,
            vendor_record: full.then(|| record(&[("id", n.to_string())])),
            ..Default::default()
        }
    }

    fn version(ctx: &CallCtx, n: usize, v: i64, full: bool) -> pb::FileVersion {
        pb::FileVersion {
            name: format!("{}/versions/{v}", ctx.name("files", n)),
            version: v,
            content: format!("select {n}, {v};"),
            state: pb::FileVersionState::Committed as i32,
            vendor_record: full.then(|| record(&[("version", v.to_string())])),
            ..Default::default()
        }
    }

    fn deployment(&self, ctx: &CallCtx, n: usize, d: &Deployed) -> pb::Deployment {
        let done = d.started.elapsed() >= self.deploy_after;
        pb::Deployment {
            name: ctx.name("deployments", n),
            state: if done { pb::DeploymentState::Succeeded } else { pb::DeploymentState::Running } as i32,
            files: d.files.clone(),
            ..Default::default()
        }
    }
}

#[async_trait]
impl Adapter for MemoryAdapter {
    fn vendor(&self) -> pb::Vendor {
        pb::Vendor::Unspecified
    }

    fn flavour(&self) -> &'static str {
        "memory"
    }

    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    async fn list_release_packages(&self, ctx: &CallCtx, q: PackageQuery) -> Result<Page<pb::ReleasePackage>> {
        let (range, next) = window(&q.page, PACKAGES)?;
        let items = self
            .call(ctx, Api::ListPackages, || Ok(range.clone().map(|n| Self::package(ctx, n, q.full)).collect()))
            .await?;
        Ok(Page { items, next, total: PACKAGES as i64 })
    }

    async fn get_release_package(&self, ctx: &CallCtx, id: &str, full: bool) -> Result<pb::ReleasePackage> {
        self.call(ctx, Api::GetPackage, || Ok(Self::package(ctx, index("name", id, "package", PACKAGES)?, full))).await
    }

    async fn deploy_release_packages(
        &self,
        _: &CallCtx,
        _: &[String],
        _: pb::StartupMode,
    ) -> Result<Vec<pb::Deployment>> {
        Err(Error::unsupported("the in-memory vendor deploys files only"))
    }

    async fn deploy_files(
        &self,
        ctx: &CallCtx,
        files: &[FileTarget],
        _: &str,
        _: pb::StartupMode,
    ) -> Result<Vec<pb::Deployment>> {
        for (i, f) in files.iter().enumerate() {
            index(&format!("files[{i}]"), &f.id, "file", FILES)?;
            if f.version.is_some_and(|v| v != VERSIONS) {
                return Err(Error::new(
                    Code::FailedPrecondition,
                    Reason::VersionNotDeployable,
                    format!("files[{i}]: only the latest version ({VERSIONS}) deploys"),
                ));
            }
        }
        let names: Vec<String> = files.iter().map(|f| ctx.name("files", &f.id)).collect();
        let d = self
            .call(ctx, Api::Deploy, || {
                let mut all = self.deployments();
                all.push(Deployed { files: names.clone(), started: tokio::time::Instant::now() });
                Ok(self.deployment(ctx, all.len() - 1, &all[all.len() - 1]))
            })
            .await?;
        Ok(vec![d])
    }

    async fn get_deployment(&self, ctx: &CallCtx, id: &str, _: bool) -> Result<pb::Deployment> {
        let n: usize = id.parse().map_err(|_| Error::invalid("name", format!("{id:?} is not a deployment number")))?;
        self.call(ctx, Api::GetDeployment, || {
            let all = self.deployments();
            all.get(n).map(|d| self.deployment(ctx, n, d)).ok_or_else(|| not_found(format!("deployment {n}")))
        })
        .await
    }

    async fn list_files(&self, ctx: &CallCtx, q: FileQuery) -> Result<Page<pb::File>> {
        let (range, next) = window(&q.page, FILES)?;
        let items =
            self.call(ctx, Api::ListFiles, || Ok(range.clone().map(|n| Self::file(ctx, n, q.full)).collect())).await?;
        Ok(Page { items, next, total: FILES as i64 })
    }

    async fn get_file(&self, ctx: &CallCtx, id: &str, full: bool) -> Result<pb::File> {
        self.call(ctx, Api::GetFile, || Ok(Self::file(ctx, index("name", id, "file", FILES)?, full))).await
    }

    async fn list_file_versions(
        &self,
        ctx: &CallCtx,
        file_id: &str,
        page: PageReq,
        full: bool,
    ) -> Result<Page<pb::FileVersion>> {
        let n = index("parent", file_id, "file", FILES)?;
        let (range, next) = window(&page, VERSIONS as usize)?;
        let items = self
            .call(ctx, Api::ListVersions, || {
                Ok(range.clone().map(|i| Self::version(ctx, n, VERSIONS - i as i64, full)).collect())
            })
            .await?;
        Ok(Page { items, next, total: VERSIONS })
    }

    async fn get_file_version(&self, ctx: &CallCtx, file_id: &str, v: i64, full: bool) -> Result<pb::FileVersion> {
        let n = index("name", file_id, "file", FILES)?;
        self.call(ctx, Api::GetVersion, || {
            if (1..=VERSIONS).contains(&v) {
                Ok(Self::version(ctx, n, v, full))
            } else {
                Err(not_found(format!("version {v}")))
            }
        })
        .await
    }
}

impl MemoryAdapter {
    fn deployments(&self) -> std::sync::MutexGuard<'_, Vec<Deployed>> {
        self.store.deployments.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Every RPC but DeployReleasePackages supported; every list filter
/// refused by name.
fn capabilities() -> Capabilities {
    let mut caps = Capabilities::default();
    let filters = PackageFilter::ALL.map(Filter::Package).into_iter().chain(FileFilter::ALL.map(Filter::File));
    for f in filters {
        caps.filter(f, pb::FilterHandling::Rejected, "the in-memory vendor has no filters");
    }
    for op in Operation::ALL {
        caps.operation(op, true, "");
    }
    caps.operation(Operation::DeployReleasePackages, false, "the in-memory vendor deploys files only");
    caps.operation(Operation::CancelDeployment, false, "in-memory deployments end at once");
    caps
}
