//! DataArts Studio (DataArts Factory) emulator: the v2 factory and v1 DLF
//! REST APIs and IAM's `POST /v3/auth/tokens`, on the real wire format
//! (vendor-apis.md 2.1–2.9), with SDK-HMAC-SHA256 verification (or
//! `X-Auth-Token` from its own IAM endpoint), seeded data, asynchronous
//! deploys that settle after `deploy_step`, and the shared fault / throttle /
//! request-log machinery of [`super::common`].
//!
//! Every answer carries `X-Request-Id`; errors are
//! `{"error_code", "error_msg", "request_id"}`:
//!
//! | condition | HTTP | code |
//! |---|---|---|
//! | bad signature, unknown AK, stale `X-Sdk-Date`, unknown/expired token | 401 | `APIGW.0301` |
//! | throttled (`Control::admit`, or an injected `throttle` fault) | 429 | `APIGW.0308` |
//! | unknown path | 404 | `APIGW.0101` |
//! | unknown package, pending item, system task | 400 | `DLF.0810` |
//! | unknown script or script version, `?status=PUBLISHED` of a script never released | 400 | `DLF.6201` |
//! | unknown job | 400 | `DLF.0100` |
//! | other project id / `X-Project-Id` / `workspace` than served | 400 | `DLF.6888` |
//! | missing or invalid parameter (and `workspace` absent on pending-items) | 400 | `DLF.0802` |
//! | `approver_ids` missing, the applicant, or not a workspace admin or deployer | 400 | `DLF.0802` |
//! | another workspace in the members path | 400 | `DLF.20819` |
//! | package not in a releasable state, item already packaged (emulator's own code) | 400 | `DLF.3100` |
//! | injected `status` fault | that status | `APIGW.0202` |
//! | wrong IAM password | 401 | `IAM.0004` |
//! | refused ID token (workload identity; see `federation.rs`) | 401 / 403 | `IDP.*` |
//! | temporary keys without their `X-Security-Token`, or expired | 401 | `APIGW.0301` |
//!
//! Offsets are row offsets (vendor-apis.md 2.10). Action names recorded in
//! the request log: `iam.tokens`, `iam.id-tokens`, `iam.securitytokens`, `release-packages.list`,
//! `release-packages.get`, `release-packages.deploy`, `pending-items.list`,
//! `pending-items.package`, `scripts.list`, `jobs.list`, `scripts.show`,
//! `jobs.show`, `system-tasks.show`, `workspace-users.list` (and `unknown`).
//!
//! Seed facts (stable for every seed):
//! - release packages have ids `1..=`[`PACKAGE_COUNT`], newest last; states
//!   1, 2, 3 and 5; applicants [`APPLICANTS`], deployers [`DEPLOYERS`];
//!   every 37th package is marked deleted (`delete_flag` 1).
//! - [`FAILING_PACKAGE_ID`] is pending approval (1) and its deploy ends in 3
//!   (FAILED) with a FAILED system task; [`DEPLOYABLE_PACKAGE_ID`] is pending
//!   approval and deploys to 2. Any other package in state 1 or 3 deploys to 2.
//! - [`SCRIPT_COUNT`] scripts `{topic}-{nnn}` and [`JOB_COUNT`] jobs
//!   `job-{topic}-{nnn}` across folders; [`VERSIONED_SCRIPT`] has 5 versions,
//!   version 3 in production and version 5 pending release; [`CJK_SCRIPT`]
//!   has a non-ASCII name with a dot; [`UNRELEASED_SCRIPT`] has versions but
//!   none was ever released. Every fifth script and job (index
//!   divisible by 5, so also [`PENDING_JOB`]) has an unpackaged pending item.
//! - workspace members: [`ADMIN`] (admin), [`DEPLOYERS`] (deployer: they may
//!   approve packages), [`APPLICANTS`] (developer), [`VIEWER`] (viewer).
//!
//! | file | concern |
//! |---|---|
//! | `mod.rs` | [`Options`], [`start`], a request's way through |
//! | `route.rs` | the paths served and their action names |
//! | `auth.rs` | signatures, IAM tokens (issued and checked) |
//! | `federation.rs` | workload identity: ID tokens for IAM tokens, temporary access keys |
//! | `faults.rs` | injected faults and throttling |
//! | `answer.rs` | answers and errors on the wire |
//! | `params.rs` | headers, query, JSON body fields, paging |
//! | `store.rs` | the records held |
//! | `seed.rs` | the seeded data and its facts |
//! | `release.rs` | release packages, deploys, system tasks |
//! | `pending.rs` | pending items and packaging them |
//! | `members.rs` | workspace members and who may approve a package |
//! | `files.rs` | scripts and jobs |

mod answer;
mod auth;
mod faults;
mod federation;
mod files;
mod members;
mod params;
mod pending;
mod release;
mod route;
mod seed;
mod store;

use std::{
    fmt,
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, Method, Uri},
    response::Response,
};
use serde_json::Value;

pub use super::common::Handle;
pub use federation::WorkloadIdentity;
pub use seed::{
    ADMIN, APPLICANTS, CJK_SCRIPT, DEPLOYABLE_PACKAGE_ID, DEPLOYERS, FAILING_PACKAGE_ID, JOB_COUNT, PACKAGE_COUNT,
    PENDING_JOB, SCRIPT_COUNT, UNRELEASED_SCRIPT, VERSIONED_SCRIPT, VERSIONED_SCRIPT_PUBLISHED,
    VERSIONED_SCRIPT_VERSIONS, VIEWER,
};

use super::common::{Control, Recorded, control_routes};
use crate::providers::signing;
use answer::{Answer, fail, param};
use auth::Caller;
use params::{Query, header};
use route::Route;
use store::World;

/// How to start the emulator.
#[derive(Clone)]
pub struct Options {
    /// Listen address (port 0 picks one).
    pub listen: SocketAddr,
    /// IAM project id served (32 hex).
    pub project_id: String,
    /// DataArts workspace id served (`workspace` header).
    pub workspace_id: String,
    /// Accepted (access key, secret key) pairs.
    pub credentials: Vec<(String, String)>,
    /// IAM users (domain, user, password) that may get tokens.
    pub iam_users: Vec<(String, String, String)>,
    /// How long a deploy stays in state 5 (releasing).
    pub deploy_step: Duration,
    /// Seed of the generated data.
    pub seed: u64,
    /// What IAM trusts for CCE workload identity.
    pub workload_identity: WorkloadIdentity,
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("listen", &self.listen)
            .field("project_id", &self.project_id)
            .field("workspace_id", &self.workspace_id)
            .field("access_keys", &self.credentials.iter().map(|(ak, _)| ak.as_str()).collect::<Vec<_>>())
            .field("iam_users", &self.iam_users.iter().map(|(d, u, _)| format!("{d}/{u}")).collect::<Vec<_>>())
            .field("deploy_step", &self.deploy_step)
            .field("seed", &self.seed)
            .field("workload_identity", &self.workload_identity)
            .finish()
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            listen: ([127, 0, 0, 1], 0).into(),
            project_id: "b384b9e9ab9b4ee8994c8633aabc9505".into(),
            workspace_id: "ws-1234".into(),
            credentials: vec![("hw-demo-ak".into(), "hw-demo-sk".into())],
            iam_users: vec![("demo-domain".into(), "demo-user".into(), "demo-password".into())],
            deploy_step: Duration::from_secs(3),
            seed: 7,
            workload_identity: WorkloadIdentity::default(),
        }
    }
}

/// Starts the emulator on `opts.listen`.
pub async fn start(opts: Options) -> anyhow::Result<Handle> {
    let listener = tokio::net::TcpListener::bind(opts.listen).await?;
    let control = Control::default();
    let world = World::seed(&opts);
    let emu = Arc::new(Emu { opts, control: control.clone(), world: Mutex::new(world) });
    let app = control_routes::<Arc<Emu>>(control.clone()).fallback(handle).with_state(emu);
    super::common::serve(listener, app, control, "huawei")
}

struct Emu {
    opts: Options,
    control: Control,
    world: Mutex<World>,
}

impl Emu {
    fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }
}

async fn handle(State(emu): State<Arc<Emu>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let rid = uuid::Uuid::new_v4().simple().to_string();
    let route = Route::parse(&method, uri.path());
    let action = route.action();
    let traceparent = header(&headers, "traceparent").map(str::to_owned);
    let target = uri.path_and_query().map(|p| p.to_string()).unwrap_or_default();
    let record = |status: u16, code: Option<String>| Recorded {
        action: action.to_owned(),
        method: method.to_string(),
        target: target.clone(),
        traceparent: traceparent.clone(),
        status,
        code,
    };
    let lose = emu.control.take_lose_answer(action);
    match respond(&emu, &route, &method, &uri, &headers, &body, &rid).await {
        Some(answer) if !lose => {
            let (status, code, resp) = *answer;
            emu.control.record(record(status, code));
            resp
        }
        _ => {
            emu.control.record(record(0, None));
            super::common::reset_response()
        }
    }
}

async fn respond(
    emu: &Emu,
    route: &Route,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
    rid: &str,
) -> Option<Answer> {
    let action = route.action();
    if let Route::Unknown = route {
        return Some(fail(
            404,
            "APIGW.0101",
            "The API does not exist or has not been published in the environment",
            rid,
        ));
    }
    // 1. Authenticate (IAM issues tokens to password holders instead).
    let caller = match route {
        Route::Tokens | Route::IdTokens => None,
        _ => match auth::authenticate(emu, method, uri, headers, body) {
            Ok(c) => Some(c),
            Err(msg) => return Some(fail(401, "APIGW.0301", &msg, rid)),
        },
    };
    let key = caller.as_ref().map_or_else(|| "iam".to_owned(), Caller::key);
    // 2. Faults, then throttling (`None`: reset the connection).
    if let Some(answer) = faults::intercept(&emu.control, &key, action, rid).await.ok()? {
        return Some(answer);
    }
    // 3. Project and workspace.
    if let Some(pid) = route.project() {
        if pid != emu.opts.project_id || header(headers, "x-project-id").is_some_and(|p| p != emu.opts.project_id) {
            return Some(fail(400, "DLF.6888", "The account permission is invalid for this project.", rid));
        }
        if header(headers, "workspace").is_some_and(|w| w != emu.opts.workspace_id) {
            return Some(fail(400, "DLF.6888", "The account permission is invalid for this workspace.", rid));
        }
    }
    let q = Query(signing::parse_urlencoded(uri.query().unwrap_or_default()));
    let json_body = || -> Result<Value, Answer> {
        serde_json::from_slice::<Value>(body)
            .ok()
            .filter(Value::is_object)
            .ok_or_else(|| param("The request body is not a JSON object.", rid))
    };
    let needs_workspace = matches!(route, Route::ListPending(_) | Route::PackagePending(_));
    if needs_workspace && header(headers, "workspace").is_none() {
        return Some(param("The parameter workspace is not configured.", rid));
    }

    let epoch = emu.control.credentials_epoch();
    let mut w = emu.world();
    w.settle(Instant::now(), emu.opts.deploy_step);
    let opts = &emu.opts;
    let answer = match route {
        Route::Tokens => match json_body() {
            Ok(b) => auth::issue_token(&mut w, opts, epoch, &b, rid),
            Err(a) => a,
        },
        Route::IdTokens => match json_body() {
            Ok(b) => federation::id_token(&mut w, &opts.workload_identity, epoch, headers, &b, rid),
            Err(a) => a,
        },
        Route::SecurityTokens => match (json_body(), caller.as_ref()) {
            (Ok(b), Some(Caller::User(u))) => federation::security_tokens(&mut w, u, epoch, &b, rid),
            (Ok(_), _) => fail(401, "APIGW.0301", "Incorrect IAM authentication information: a token is required", rid),
            (Err(a), _) => a,
        },
        Route::ListPackages(_) => match json_body() {
            Ok(b) => release::list_packages(&w, opts, &b, rid),
            Err(a) => a,
        },
        Route::GetPackage(_, id) => release::get_package(&w, opts, id, rid),
        Route::Deploy(_) => match json_body() {
            Ok(b) => release::deploy(&mut w, &b, caller.as_ref(), rid),
            Err(a) => a,
        },
        Route::ListPending(_) => pending::list_pending(&w, opts, &q, rid),
        Route::PackagePending(_) => match json_body() {
            Ok(b) => pending::package_pending(&mut w, &b, caller.as_ref(), rid),
            Err(a) => a,
        },
        Route::ListScripts(_) => files::list_scripts(&w, &q, rid),
        Route::ListJobs(_) => files::list_jobs(&w, &q, rid),
        Route::ShowScript(_, name) => files::show_script(&w, name, &q, rid),
        Route::ListScriptsV1(_) => files::list_scripts_v1(&w, &q, rid),
        Route::ShowJob(_, name) => files::show_job(&w, name, rid),
        Route::SystemTask(_, id) => release::system_task(&w, id, rid),
        Route::WorkspaceUsers(_, ws) => members::list_members(&w, opts, ws, &q, rid),
        Route::Unknown => fail(404, "APIGW.0101", "The API does not exist", rid),
    };
    Some(answer)
}
