//! Alibaba Cloud DataWorks: signer, client, wire types, mapping, and the
//! two adapters.
//!
//! Two flavours (a workspace setting), each its own [`Adapter`]: **legacy**
//! Data Studio, where release packages are deployment packages
//! (ListDeploymentPackages, GetDeploymentPackage) and files are deployed
//! with DeployFile, one package per file — no vendor API runs an existing
//! package, so DeployReleasePackages is FAILED_PRECONDITION; and
//! **pipeline** (new Data Studio), where packages are pipeline runs, files
//! are Data Studio objects (nodes, workflow definitions, resources,
//! functions) with snapshots as versions, DeployFiles creates an Online run
//! per object and DeployReleasePackages runs a run's stages in order.
//! Legacy files are the legacy file API (ListFiles, GetFile,
//! ListFileVersions, GetFileVersion). Deployment ids are the vendor's
//! package id (legacy) or run id(s) (pipeline), so following a deployment
//! needs no gateway state.
//!
//! | file | concern |
//! |---|---|
//! | `sign.rs` | ACS3-HMAC-SHA256 signing and verification |
//! | `api.rs` | the actions called, read or write, parameter placement |
//! | `client.rs` | the one call path: signed request, error mapping by vendor code, the answer to read |
//! | `credentials.rs` | configured access keys, or RRSA: temporary keys for the pod's token, refreshed ahead of expiry |
//! | `sts.rs` | STS AssumeRoleWithOIDC (anonymous) and its refusals |
//! | `metadata.rs` | the ECS instance RAM role from the metadata service (IMDSv2) |
//! | `wire.rs` | answers as the vendor spells them, read straight from the body |
//! | `map.rs` | wire records → neutral messages, state tables |
//! | `scan.rs` | PageNumber/PageSize windows, filtering in the gateway |
//! | `files.rs` | legacy files and file versions, and the pre-deploy file check |
//! | `legacy.rs` | the legacy adapter: deployment packages, DeployFile |
//! | `pipeline.rs` | the pipeline adapter: pipeline runs and their stages |
//! | `studio.rs` | pipeline files: Data Studio objects and snapshots, DeployFiles as one run per object |

pub mod api;
pub mod client;
pub(crate) mod config;
mod credentials;
mod files;
mod legacy;
mod map;
mod metadata;
mod pipeline;
mod scan;
pub mod sign;
mod sts;
mod studio;
mod wire;

use std::{future::Future, sync::Arc, time::Duration};

pub use self::config::Config;
use self::{
    api::Api,
    client::{Client, Endpoint, Keys, Reply},
    config::{Edition, Flavour},
    credentials::{Credentials, InstanceRole, Rrsa},
};
use crate::{
    config::{LiveSecret, WorkspaceConfig},
    domain::{
        Adapter, CallCtx, Capabilities, Error, Result, UserKey,
        capability::{Filter, Operation, PackageFilter},
    },
    pb,
    providers::{
        client::{Rates, Shared, VendorClient},
        credentials::{Clock, SystemClock},
    },
};

/// Builds the adapter of workspace `name` from its checked config: the
/// configured flavour picks the adapter, once.
pub(crate) fn build(
    name: &str,
    ws: &WorkspaceConfig,
    cfg: &Config,
    shared: &Arc<Shared>,
) -> anyhow::Result<Arc<dyn Adapter>> {
    build_with_clock(name, ws, cfg, shared, Arc::new(SystemClock))
}

/// As [`build`], with the clock that times issued keys (tests move it).
pub fn build_with_clock(
    name: &str,
    ws: &WorkspaceConfig,
    cfg: &Config,
    shared: &Arc<Shared>,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Arc<dyn Adapter>> {
    let project = Project::new(name, ws, cfg, shared, clock)?;
    Ok(match cfg.flavour {
        Flavour::Legacy => Arc::new(legacy::Legacy::new(project)),
        Flavour::Pipeline => Arc::new(pipeline::Pipeline::new(project, cfg.pipeline.run_until.clone())),
    })
}

/// One DataWorks workspace as both adapters reach it: the client and the
/// workspace selector sent with every call.
pub(crate) struct Project {
    client: Client,
    selector: (String, String),
}

fn live(r: &Option<crate::config::SecretRef>, what: &str) -> anyhow::Result<LiveSecret> {
    let r = r.clone().ok_or_else(|| anyhow::anyhow!("credentials.{what} is required"))?;
    Ok(LiveSecret::new(r, Duration::from_secs(1)))
}

impl Project {
    /// Reads the workspace config: endpoint, credentials, selector, rates.
    fn new(
        name: &str,
        ws: &WorkspaceConfig,
        cfg: &Config,
        shared: &Arc<Shared>,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let regional = |service: &str| {
            let vpc = if cfg.vpc { "-vpc" } else { "" };
            format!("https://{service}{vpc}.{}.aliyuncs.com", ws.region)
        };
        let base = cfg.endpoints.api.clone().unwrap_or_else(|| regional("dataworks"));
        // The vendor counts calls per account: the access key, or the role.
        // Credential exchanges have their own limits: no DataWorks rate keys,
        // no daily budget.
        let aside = WorkspaceConfig { rate_limits: Default::default(), daily_budget: None, ..ws.clone() };
        let (credentials, account) = match (&cfg.credentials.instance_role, &cfg.credentials.rrsa) {
            (Some(role), _) => {
                let base = cfg.endpoints.metadata.clone().unwrap_or_else(|| METADATA.into());
                let vc =
                    VendorClient::new::<metadata::Metadata>(shared, &client::VENDOR, &aside, &base, EXCHANGE_RATES)?;
                let account = format!("instance-role:{}", role.role_name.as_deref().unwrap_or("listed"));
                let source = InstanceRole::new(name, &base, role.role_name.clone(), vc, clock);
                (Credentials::InstanceRole(Box::new(source)), account)
            }
            (None, None) => {
                let keys = Keys {
                    id: live(&cfg.credentials.access_key_id, "access_key_id")?,
                    secret: live(&cfg.credentials.access_key_secret, "access_key_secret")?,
                    token: cfg.credentials.security_token.clone().map(|r| LiveSecret::new(r, Duration::from_secs(1))),
                };
                let account = keys.id.get().map(|k| k.expose().to_owned()).unwrap_or_default();
                (Credentials::Configured(Box::new(keys)), account)
            }
            (None, Some(rrsa)) => {
                let settings = rrsa.resolve().map_err(|problems| {
                    let all: Vec<String> =
                        problems.into_iter().map(|(k, m)| format!("credentials.rrsa.{k} {m}")).collect();
                    anyhow::anyhow!("workspace {name}: {}", all.join("; "))
                })?;
                let sts = Endpoint::parse(&cfg.endpoints.sts.clone().unwrap_or_else(|| regional("sts")))?;
                let sts_vc =
                    VendorClient::new::<sts::Sts>(shared, &client::VENDOR, &aside, &settings.role_arn, EXCHANGE_RATES)?;
                let account = format!("role:{}", settings.role_arn);
                (Credentials::Rrsa(Box::new(Rrsa::new(name, settings, sts, sts_vc, clock))), account)
            }
        };
        let selector = match (&cfg.project_id, &cfg.project_identifier) {
            (Some(id), _) => ("ProjectId".to_owned(), id.clone()),
            (None, Some(ident)) => ("ProjectIdentifier".to_owned(), ident.clone()),
            (None, None) => anyhow::bail!("project_id or project_identifier is required"),
        };
        let rates = default_rates(cfg.edition);
        let vc = VendorClient::new::<Api>(shared, &client::VENDOR, ws, &account, rates)?;
        Ok(Project { client: Client::new(Endpoint::parse(&base)?, credentials, vc), selector })
    }

    /// `action` with `params` and the workspace selector, placed as the
    /// action takes them.
    async fn call(&self, ctx: &CallCtx, action: Api, params: Vec<(&str, String)>) -> Result<Reply> {
        let mut form: Vec<(String, String)> = params.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        form.push(self.selector.clone());
        self.client.call(ctx, action, &[], &form).await
    }

    /// `action` with the workspace selector in the query and `form` in the body.
    async fn call_split(&self, ctx: &CallCtx, action: Api, form: Vec<(&str, String)>) -> Result<Reply> {
        let f: Vec<(String, String)> = form.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        self.client.call(ctx, action, std::slice::from_ref(&self.selector), &f).await
    }
}

/// STS and the metadata service: their limits are not published;
/// exchanges are rare (one an hour per workspace and a retry now and then).
const EXCHANGE_RATES: Rates = Rates { read: 10.0, write: 10.0 };

/// The ECS instance metadata service.
const METADATA: &str = "http://100.100.100.200";

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

/// A boolean parameter as the Python SDK writes it.
fn py_bool(b: bool) -> String {
    if b { "True".into() } else { "False".into() }
}

/// A DataWorks numeric id from a request field.
fn numeric(field: &str, id: &str) -> Result<i64> {
    id.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
        Error::invalid(field, format!("{} is not a DataWorks id (a positive number)", crate::domain::shown(id)))
    })
}

/// The one account UID a user filter names, if it names exactly one;
/// display names are refused (DataWorks knows users by UID only).
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

/// Whether `text` contains `keyword` ignoring case (no keyword passes
/// all). Applied by the gateway where DataWorks has no keyword filter (the
/// pipeline run Description), case-insensitive like the legacy `Keyword`
/// filter and DataArts' `key_word`.
fn keyword_matches(keyword: Option<&str>, text: Option<&str>) -> bool {
    keyword.is_none_or(|k| text.unwrap_or_default().to_lowercase().contains(&k.to_lowercase()))
}

/// Whether account UID `id` passes a user filter (empty passes all).
fn user_matches(users: &[UserKey], id: Option<&str>) -> bool {
    users.is_empty() || users.iter().any(|u| matches!(u, UserKey::Id(x) if Some(x.as_str()) == id))
}

/// Starts deployments one by one with `start`; a failure after some have
/// started names them, so nothing already done is lost.
async fn one_by_one<T, F>(
    items: impl IntoIterator<Item = T>,
    mut start: impl FnMut(T) -> F,
) -> Result<Vec<pb::Deployment>>
where
    F: Future<Output = Result<pb::Deployment>>,
{
    let mut out = Vec::new();
    for item in items {
        match start(item).await {
            Ok(d) => out.push(d),
            Err(e) if out.is_empty() => return Err(e),
            Err(mut e) => {
                e.started = out.into_iter().map(|d| d.name).collect();
                e.message = format!("{} (deployments already started: {})", e.message, e.started.join(", "));
                return Err(e);
            }
        }
    }
    Ok(out)
}

/// A flavour's ListReleasePackagesRequest filter: field, handling, note.
type ReleaseFilter = (PackageFilter, pb::FilterHandling, &'static str);

/// What a DataWorks workspace supports: the flavour's release filters and
/// its ListReleasePackages, GetReleasePackage, DeployReleasePackages,
/// DeployFiles and CancelDeployment (supported, note), then what both
/// flavours share.
fn capabilities(release_filters: [ReleaseFilter; 6], release_ops: [(bool, &str); 5]) -> Capabilities {
    let mut caps = Capabilities::default();
    for (f, handling, note) in release_filters {
        caps.filter(Filter::Package(f), handling, note);
    }
    caps.filter(
        Filter::Package(PackageFilter::OrderBy),
        pb::FilterHandling::Rejected,
        "DataWorks lists newest first only",
    );
    for (f, note) in files::FILTERS {
        caps.filter(Filter::File(f), pb::FilterHandling::Vendor, note);
    }
    let release = [
        Operation::ListReleasePackages,
        Operation::GetReleasePackage,
        Operation::DeployReleasePackages,
        Operation::DeployFiles,
        Operation::CancelDeployment,
    ];
    for (op, (supported, note)) in release.into_iter().zip(release_ops) {
        caps.operation(op, supported, note);
    }
    caps.operation(Operation::GetDeployment, true, "one vendor call per look")
        .operation(Operation::WatchDeployment, true, "polls the vendor with back-off")
        .operation(Operation::ListFiles, true, "ListFiles")
        .operation(Operation::GetFile, true, "GetFile")
        .operation(Operation::ListFileVersions, true, "ListFileVersions")
        .operation(Operation::GetFileVersion, true, "GetFileVersion");
    caps
}
