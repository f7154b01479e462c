//! DataWorks emulator: RPC-style POST/GET `/` routed on the
//! (`x-acs-action`, `x-acs-version`) pair, ACS3-HMAC-SHA256 verified,
//! form/query parameters as the official SDK sends them, seeded data, and
//! deployments that progress over time.
//!
//! Seed facts tests rely on: file ids start at 100001; every file whose id
//! ends in 7 fails to deploy (its packages end in Status 2); 100001..=100300
//! each have a committed version, and [`UNCOMMITTED_FILE`] (100301) has
//! none (DeployFile and CreatePipelineRun refuse it); package ids start at
//! 3000001, and every fourth (3000002, 3000006, …) is a development
//! package (`ToEnvironment` 1); pipeline runs `…0000` to `…003b`, every
//! seventh from the fourth abolished (Status `Termination`); account UIDs are
//! `2003000000000001`..`…06`. Data Studio objects (nodes, workflow
//! definitions, resources, functions) and their snapshots are listed in
//! [`objects`]; pipeline runs deploy those objects only (a legacy FileId is
//! refused, as the vendor does).
//!
//! | file | concern |
//! |---|---|
//! | `mod.rs` | [`Options`], [`start`], a request's way through, the action table |
//! | `auth.rs` | ACS3-HMAC-SHA256 verification |
//! | `sts.rs` | STS AssumeRoleWithOIDC (RRSA) and the temporary keys it issues |
//! | `metadata.rs` | the ECS instance metadata service: the instance RAM role's keys (IMDSv2) |
//! | `faults.rs` | injected faults and throttling |
//! | `answer.rs` | answers and errors on the wire |
//! | `params.rs` | query/form parameters and paging |
//! | `store.rs` | the records held: files, packages, runs |
//! | `seed.rs` | the seeded data |
//! | `legacy.rs` | deployment packages, `DeployFile`/`SubmitFile` |
//! | `files.rs` | files and file versions |
//! | `pipeline.rs` | pipeline runs and their stages |
//! | `studio.rs` | Data Studio objects and their snapshots |

mod answer;
mod auth;
mod faults;
mod files;
mod legacy;
mod metadata;
mod params;
mod pipeline;
mod seed;
mod store;
mod sts;
mod studio;

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, Method, Uri},
    response::Response,
};

pub use super::common::Handle;
pub use seed::{UNCOMMITTED_FILE, objects};
pub use sts::{AUDIENCE as RRSA_AUDIENCE, Rrsa};

use super::common::{Control, Recorded};
use answer::{Answer, fail, ok, request_id};
use params::{Req, int, text};
use store::{Emu, Kind};

/// How to start the emulator.
#[derive(Debug, Clone)]
pub struct Options {
    /// Listen address (port 0 picks one).
    pub listen: SocketAddr,
    /// Accepted (access key id, secret) pairs.
    pub credentials: Vec<(String, String)>,
    /// The DataWorks ProjectId served.
    pub project_id: i64,
    /// The ProjectIdentifier served.
    pub project_identifier: String,
    /// How long a deployment takes.
    pub deploy_step: Duration,
    /// Seed of the generated data.
    pub seed: u64,
    /// What STS AssumeRoleWithOIDC trusts (RRSA).
    pub rrsa: Rrsa,
    /// The RAM role of the emulated ECS instance (metadata service); None:
    /// the instance has none.
    pub instance_role: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            listen: ([127, 0, 0, 1], 0).into(),
            credentials: vec![("demo-ak".into(), "demo-sk".into())],
            project_id: 10003,
            project_identifier: "dw_demo".into(),
            deploy_step: Duration::from_secs(3),
            seed: 7,
            rrsa: Rrsa::default(),
            instance_role: Some("datastudio-gateway-node".into()),
        }
    }
}

/// Starts the emulator.
pub async fn start(opts: Options) -> anyhow::Result<Handle> {
    let listener = tokio::net::TcpListener::bind(opts.listen).await?;
    let control = Control::default();
    let emu = Arc::new(Emu {
        data: Mutex::new(seed::seed(&opts)),
        opts,
        control: control.clone(),
        issued: sts::IssuedKeys::default(),
        sessions: metadata::Sessions::default(),
    });
    let credentials = "/latest/meta-data/ram/security-credentials/";
    let app = axum::Router::new()
        .route("/", axum::routing::any(handle))
        .route("/latest/api/token", axum::routing::put(metadata::token))
        .route(credentials, axum::routing::get(metadata::roles))
        .route(&format!("{credentials}{{role}}"), axum::routing::get(metadata::role))
        .with_state(emu)
        .merge(super::common::control_routes(control.clone()));
    super::common::serve(listener, app, control, "alibaba")
}

/// The STS action RRSA calls (anonymous).
const STS_ACTION: &str = "AssumeRoleWithOIDC";

async fn handle(State(emu): State<Arc<Emu>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let rid = request_id();
    let action = headers.get("x-acs-action").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let traceparent = headers.get("traceparent").and_then(|v| v.to_str().ok()).map(str::to_owned);
    // The STS query carries the pod's token: logged without it.
    let target = match action.as_str() {
        STS_ACTION => uri.path().to_owned(),
        _ => uri.path_and_query().map(|p| p.to_string()).unwrap_or_default(),
    };
    let lose = emu.control.take_lose_answer(&action);
    let (status, code, resp) = match respond(&emu, &method, &uri, &headers, &body, &rid, &action).await {
        Ok(answer) if !lose => *answer,
        _ => {
            emu.control.record(Recorded {
                action,
                method: method.to_string(),
                target,
                traceparent,
                status: 0,
                code: None,
            });
            // A reset: end the connection without an HTTP answer.
            return super::common::reset_response();
        }
    };
    emu.control.record(Recorded { action, method: method.to_string(), target, traceparent, status, code });
    let mut resp = resp;
    if let Ok(v) = http::HeaderValue::from_str(&rid) {
        resp.headers_mut().insert("x-acs-request-id", v);
    }
    resp
}

async fn respond(
    emu: &Emu,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
    rid: &str,
    action: &str,
) -> Result<Answer, ()> {
    // STS is called anonymously.
    if action == STS_ACTION {
        if let Some(answer) = faults::intercept(&emu.control, "anonymous", action, rid).await? {
            return Ok(answer);
        }
        let params = Req::read(action, String::new(), uri, headers, body).params;
        let epoch = emu.control.credentials_epoch();
        return Ok(sts::assume_role(&emu.opts.rrsa, &emu.issued, epoch, &params, rid));
    }
    // 1. Authenticate: configured keys, or keys STS issued (with their token).
    let secret_for = |ak: &str| {
        let configured = emu.opts.credentials.iter().find(|(a, _)| a == ak).map(|(_, s)| s.clone());
        configured.or_else(|| emu.issued.secret(ak))
    };
    let key = match auth::authenticate(secret_for, method, uri, headers, body, rid) {
        Ok(k) => k,
        Err(refused) => return Ok(refused),
    };
    if let Some(Err(refused)) = emu.issued.check(&key, headers, emu.control.credentials_epoch(), rid) {
        return Ok(refused);
    }
    // 2. Faults and throttling.
    if let Some(answer) = faults::intercept(&emu.control, &key, action, rid).await? {
        return Ok(answer);
    }
    // 3. Parameters: query plus form body.
    let req = Req::read(action, key, uri, headers, body);
    Ok(emu.dispatch(&req, method, rid))
}

impl Emu {
    fn dispatch(&self, r: &Req, method: &Method, rid: &str) -> Answer {
        let get_only = [
            "GetPipelineRun",
            "ListPipelineRuns",
            "ListPipelineRunItems",
            "ListNodes",
            "GetNode",
            "ListWorkflowDefinitions",
            "GetWorkflowDefinition",
            "ListResources",
            "GetResource",
            "ListFunctions",
            "GetFunction",
        ];
        let expected = if get_only.contains(&r.action.as_str()) { Method::GET } else { Method::POST };
        if *method != expected {
            return fail(400, "UnsupportedHTTPMethod", &format!("{} must be called with {expected}", r.action), rid);
        }
        // Snapshots name the workspace in Namespace, not ProjectId.
        match (r.action.as_str(), r.version.as_str()) {
            ("ListSnapshots", "2024-05-18") => return self.list_snapshots(r, rid),
            ("GetSnapshot", "2024-05-18") => return self.get_snapshot(r, rid),
            _ => {}
        }
        // Workspace selector.
        let pid = int(&r.params, "ProjectId");
        let ident = text(&r.params, "ProjectIdentifier");
        match (pid, ident) {
            (Err(m), _) => return fail(400, "InvalidParameter", &m, rid),
            (Ok(Some(p)), _) if p != self.opts.project_id => {
                return fail(
                    403,
                    "Forbidden.Access",
                    "Access is forbidden. You are not a member of this workspace.",
                    rid,
                );
            }
            (Ok(None), Some(i)) if i != self.opts.project_identifier => {
                return fail(
                    403,
                    "Forbidden.Access",
                    "Access is forbidden. You are not a member of this workspace.",
                    rid,
                );
            }
            (Ok(None), None) => {
                return fail(400, "MissingParameter", "ProjectId or ProjectIdentifier is mandatory.", rid);
            }
            _ => {}
        }
        let res = match (r.action.as_str(), r.version.as_str()) {
            ("ListDeploymentPackages", "2024-05-18") | ("ListDeployments", "2020-05-18") => self.list_packages(r, rid),
            ("GetDeploymentPackage", "2024-05-18") | ("GetDeployment", "2020-05-18") => self.get_package(r, rid),
            ("ListFiles", "2024-05-18" | "2020-05-18") => self.list_files(r, rid),
            ("GetFile", "2024-05-18" | "2020-05-18") => self.get_file(r, rid),
            ("ListFileVersions", "2024-05-18" | "2020-05-18") => self.list_versions(r, rid),
            ("GetFileVersion", "2024-05-18" | "2020-05-18") => self.get_version(r, rid),
            ("DeployFile" | "SubmitFile", "2024-05-18" | "2020-05-18") => self.deploy_file(r, rid),
            ("ListPipelineRuns" | "ListDeployments", "2024-05-18") => self.list_runs(r, rid),
            ("GetPipelineRun" | "GetDeployment", "2024-05-18") => self.get_run(r, rid),
            ("ListPipelineRunItems", "2024-05-18") => self.list_run_items(r, rid),
            ("CreatePipelineRun" | "CreateDeployment", "2024-05-18") => self.create_run(r, rid),
            ("ExecPipelineRunStage" | "ExecDeploymentStage", "2024-05-18") => self.exec_stage(r, rid),
            ("AbolishPipelineRun" | "AbolishDeployment", "2024-05-18") => self.abolish_run(r, rid),
            ("ListNodes", "2024-05-18") => self.list_objects(r, rid, Kind::Node),
            ("ListWorkflowDefinitions", "2024-05-18") => self.list_objects(r, rid, Kind::Workflow),
            ("ListResources", "2024-05-18") => self.list_objects(r, rid, Kind::Resource),
            ("ListFunctions", "2024-05-18") => self.list_objects(r, rid, Kind::Function),
            ("GetNode", "2024-05-18") => return self.get_object(r, rid, Kind::Node),
            ("GetWorkflowDefinition", "2024-05-18") => return self.get_object(r, rid, Kind::Workflow),
            ("GetResource", "2024-05-18") => return self.get_object(r, rid, Kind::Resource),
            ("GetFunction", "2024-05-18") => return self.get_object(r, rid, Kind::Function),
            _ => return fail(404, "InvalidAction.NotFound", &format!("Specified api {} is not found.", r.action), rid),
        };
        match res {
            Ok(v) => ok(v),
            Err(m) => fail(400, "InvalidParameter", &m, rid),
        }
    }
}
