//! DataWorks emulator: RPC-style POST/GET `/` routed on the
//! (`x-acs-action`, `x-acs-version`) pair, ACS3-HMAC-SHA256 verified,
//! form/query parameters as the official SDK sends them, seeded data, and
//! deployments that progress over time.
//!
//! Seed facts tests rely on: file ids start at 100001; every file whose id
//! ends in 7 fails to deploy (its packages end in Status 2); package ids
//! start at 3000001; account UIDs are `2003000000000001`..`…06`.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::common::{Control, Fault, Recorded, Seeded, Throttled};
use crate::providers::{alibaba::sign, signing};

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
        }
    }
}

pub use super::common::Handle;

/// Account UIDs used by the seeded data.
pub const USERS: [&str; 6] = [
    "2003000000000001",
    "2003000000000002",
    "2003000000000003",
    "2003000000000004",
    "2003000000000005",
    "2003000000000006",
];
/// Folders used by the seeded data.
pub const FOLDERS: [&str; 4] = [
    "Business_process/sales/MaxCompute/ods_layer",
    "Business_process/sales/MaxCompute/dws_layer",
    "Business_process/finance/MaxCompute/ods_layer",
    "Business_process/finance/Shell",
];
/// File type codes used by the seeded data.
pub const FILE_TYPES: [i64; 6] = [10, 6, 23, 24, 221, 1221];
const USE_TYPES: [&str; 3] = ["NORMAL", "NORMAL", "MANUAL"];

#[derive(Debug, Clone)]
struct Version {
    n: i64,
    content: String,
    comment: String,
    commit_user: String,
    commit_time: i64,
    change_type: &'static str,
    status: &'static str,
}

#[derive(Debug, Clone)]
struct File {
    id: i64,
    name: String,
    file_type: i64,
    folder: String,
    use_type: &'static str,
    owner: String,
    creator: String,
    last_editor: String,
    create_time: i64,
    edit_time: i64,
    commit_status: i64,
    node_id: i64,
    business_id: i64,
    prod_version: i64,
    versions: Vec<Version>,
}

#[derive(Debug, Clone)]
struct Package {
    id: i64,
    name: String,
    status: i64,
    creator: String,
    executor: String,
    create_time: i64,
    execute_time: i64,
    error: String,
    to_env: i64,
    items: Vec<(i64, i64)>,
    /// Deployments made through the API finish `deploy_step` after this.
    started: Option<(Instant, bool)>,
}

#[derive(Debug, Clone)]
struct Run {
    id: String,
    creator: String,
    description: String,
    create_time: i64,
    modify_time: i64,
    object: i64,
    /// Stage codes in order, and the index/time of the stage running now.
    stages: Vec<(&'static str, &'static str, String)>,
    running: Option<(usize, Instant)>,
    failing: bool,
    abolished: bool,
}

struct Data {
    files: BTreeMap<i64, File>,
    packages: BTreeMap<i64, Package>,
    runs: Vec<Run>,
    next_package: i64,
    next_run: u64,
}

struct Emu {
    opts: Options,
    control: Control,
    data: Mutex<Data>,
}

const BASE_TIME: i64 = 1_761_955_200_000; // 2025-11-01T00:00:00Z

fn seed(opts: &Options) -> Data {
    let mut rng = Seeded::new(opts.seed);
    let mut files = BTreeMap::new();
    for i in 0..300i64 {
        let id = 100_001 + i;
        let nv = 1 + rng.below(5) as i64;
        let file_type = *rng.pick(&FILE_TYPES);
        let folder = (*rng.pick(&FOLDERS)).to_owned();
        let owner = (*rng.pick(&USERS)).to_owned();
        let create_time = BASE_TIME - (300 - i) * 86_400_000 / 2;
        let name = format!(
            "{}_{}_{id}",
            if file_type == 6 { "sh" } else { "ods" },
            ["user", "order", "item", "shop"][i as usize % 4]
        );
        let versions: Vec<Version> = (1..=nv)
            .map(|n| Version {
                n,
                content: format!("-- {name} v{n}\nSELECT {n} AS version FROM dual;\n"),
                comment: format!("commit {n} of {name}"),
                commit_user: (*rng.pick(&USERS)).to_owned(),
                commit_time: create_time + n * 3_600_000,
                change_type: if n == 1 { "CREATE" } else { "UPDATE" },
                status: if n == nv { "COMMITTED" } else { "DEPLOYED" },
            })
            .collect();
        files.insert(
            id,
            File {
                id,
                name,
                file_type,
                folder,
                use_type: USE_TYPES[rng.below(USE_TYPES.len() as u64) as usize],
                owner: owner.clone(),
                creator: owner,
                last_editor: (*rng.pick(&USERS)).to_owned(),
                create_time,
                edit_time: create_time + nv * 3_600_000,
                commit_status: (rng.below(4) != 0) as i64,
                node_id: 700_000_000 + id,
                business_id: 300_000 + (i % 7),
                prod_version: nv - 1,
                versions,
            },
        );
    }
    let mut packages = BTreeMap::new();
    for i in 0..240i64 {
        let id = 3_000_001 + i;
        let status = *rng.pick(&[0, 1, 1, 1, 2, 6]);
        let create_time = BASE_TIME - (240 - i) * 3_600_000 * 9;
        let fid = 100_001 + rng.below(300) as i64;
        packages.insert(
            id,
            Package {
                id,
                name: format!("release_{:04}_{}", i, ["daily", "hotfix", "auto_created"][i as usize % 3]),
                status,
                creator: (*rng.pick(&USERS)).to_owned(),
                executor: (*rng.pick(&USERS)).to_owned(),
                create_time,
                execute_time: if status == 0 { 0 } else { create_time + 600_000 },
                error: if status == 2 { "deploy check failed: table not found".into() } else { String::new() },
                to_env: 2,
                items: vec![(fid, 1)],
                started: None,
            },
        );
    }
    let runs = (0..60u64)
        .map(|i| Run {
            id: run_id(i),
            creator: (*rng.pick(&USERS)).to_owned(),
            description: format!("pipeline run {i}"),
            create_time: BASE_TIME - (60 - i as i64) * 86_400_000,
            modify_time: BASE_TIME - (60 - i as i64) * 86_400_000 + 900_000,
            object: 100_001 + rng.below(300) as i64,
            stages: stage_template(if i % 5 == 0 { "Fail" } else { "Success" }),
            running: None,
            failing: false,
            abolished: false,
        })
        .collect();
    Data { files, packages, runs, next_package: 3_000_241, next_run: 60 }
}

fn run_id(i: u64) -> String {
    format!("a7ef0634-20ec-4a7c-a214-{:012x}", 0x5402_0f91_0000 + i)
}

fn stage_template(last: &str) -> Vec<(&'static str, &'static str, String)> {
    vec![
        ("BUILD_PACKAGE", "Build", "Success".into()),
        ("DEV_CHECK", "Check", "Success".into()),
        ("PROD_CHECK", "Check", "Success".into()),
        ("PROD", "Deploy", last.into()),
    ]
}

/// Starts the emulator.
pub async fn start(opts: Options) -> anyhow::Result<Handle> {
    let listener = tokio::net::TcpListener::bind(opts.listen).await?;
    let control = Control::default();
    let emu = Arc::new(Emu { data: Mutex::new(seed(&opts)), opts, control: control.clone() });
    let app = axum::Router::new()
        .route("/", axum::routing::any(handle))
        .with_state(emu)
        .merge(super::common::control_routes(control.clone()));
    super::common::serve(listener, app, control, "alibaba")
}

struct Req {
    action: String,
    version: String,
    params: BTreeMap<String, String>,
    key: String,
}

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string().to_uppercase()
}

fn error(status: u16, code: &str, message: &str, rid: &str, headers: &[(&str, String)]) -> Response {
    let mut r = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        axum::Json(json!({"RequestId": rid, "HostId": "dataworks.aliyuncs.com", "Code": code, "Message": message,
            "Recommend": "https://api.aliyun.com/troubleshoot"})),
    )
        .into_response();
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (http::HeaderName::from_bytes(k.as_bytes()), http::HeaderValue::from_str(v)) {
            r.headers_mut().insert(k, v);
        }
    }
    r
}

async fn handle(State(emu): State<Arc<Emu>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let rid = request_id();
    let action = headers.get("x-acs-action").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let traceparent = headers.get("traceparent").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let target = uri.path_and_query().map(|p| p.to_string()).unwrap_or_default();
    let (status, code, resp) = match respond(&emu, &method, &uri, &headers, &body, &rid, &action).await {
        Ok(resp) => resp,
        Err(()) => {
            emu.control.record(Recorded {
                action,
                method: method.to_string(),
                target,
                traceparent,
                status: 0,
                code: None,
            });
            // A reset: end the connection without an HTTP answer.
            return reset();
        }
    };
    emu.control.record(Recorded { action, method: method.to_string(), target, traceparent, status, code });
    let mut resp = resp;
    if let Ok(v) = http::HeaderValue::from_str(&rid) {
        resp.headers_mut().insert("x-acs-request-id", v);
    }
    resp
}

fn reset() -> Response {
    super::common::reset_response()
}

type Answer = (u16, Option<String>, Response);

fn ok(v: Value) -> Answer {
    (200, None, axum::Json(v).into_response())
}

fn fail(status: u16, code: &str, message: &str, rid: &str) -> Answer {
    (status, Some(code.into()), error(status, code, message, rid, &[]))
}

/// `Success:false` on HTTP 200, as legacy DataWorks operations answer.
fn soft_fail(code: &str, message: &str, http: u16, rid: &str) -> Answer {
    (
        200,
        Some(code.into()),
        axum::Json(json!({"RequestId": rid, "Success": false, "ErrorCode": code, "ErrorMessage": message, "HttpStatusCode": http}))
            .into_response(),
    )
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
    // 1. Authenticate.
    let hdrs: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let input = signing::VerifyInput {
        method: method.as_str(),
        path: uri.path(),
        raw_query: uri.query().unwrap_or_default(),
        headers: &hdrs,
        body,
    };
    let key =
        match sign::verify(&input, |ak| emu.opts.credentials.iter().find(|(a, _)| a == ak).map(|(_, s)| s.clone())) {
            Ok(k) => k,
            Err(sign::VerifyError::UnknownAccessKey(_)) => {
                return Ok(fail(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.", rid));
            }
            Err(sign::VerifyError::MissingAuthorization) => {
                return Ok(fail(400, "MissingAuthorization", "Authorization is mandatory for this action.", rid));
            }
            Err(e) => {
                return Ok(fail(
                    400,
                    "SignatureDoesNotMatch",
                    &format!("The request signature does not conform to Aliyun standards ({e:?})."),
                    rid,
                ));
            }
        };
    // 2. Faults and throttling.
    if let Some(f) = emu.control.next_fault(action) {
        match f {
            Fault::Latency { ms } => tokio::time::sleep(Duration::from_millis(ms)).await,
            Fault::Status { status } => {
                return Ok(fail(
                    status,
                    "InternalError.System",
                    "An internal system error occurred. Try again later.",
                    rid,
                ));
            }
            Fault::Reset => return Err(()),
            Fault::Malformed => {
                return Ok((
                    200,
                    None,
                    ([("content-type", "application/json")], "{\"RequestId\":\"".to_owned() + rid + "\",\"Data\":{")
                        .into_response(),
                ));
            }
            Fault::VendorError { status: 200, code, message } => return Ok(soft_fail(&code, &message, 400, rid)),
            Fault::VendorError { status, code, message } => return Ok(fail(status, &code, &message, rid)),
            Fault::Throttle { retry_after_ms } => return Ok(throttled(rid, retry_after_ms)),
        }
    }
    match emu.control.admit(&key, action) {
        Ok(()) => {}
        Err(Throttled::Rate(d)) => return Ok(throttled(rid, d.as_millis().max(1) as u64)),
        Err(Throttled::Daily) => {
            return Ok(fail(
                429,
                "Throttling.Api.Risk",
                "The number of calls today has exceeded your daily quota.",
                rid,
            ));
        }
    }
    // 3. Parameters: query plus form body.
    let mut params: BTreeMap<String, String> =
        signing::parse_urlencoded(uri.query().unwrap_or_default()).into_iter().collect();
    if !body.is_empty() {
        params.extend(signing::parse_urlencoded(&String::from_utf8_lossy(body)));
    }
    let version = headers.get("x-acs-version").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let req = Req { action: action.to_owned(), version, params, key };
    Ok(emu.dispatch(&req, method, rid))
}

fn throttled(rid: &str, retry_after_ms: u64) -> Answer {
    let mut h = vec![];
    if retry_after_ms > 0 {
        h.push(("x-acs-retry-after", retry_after_ms.to_string()));
    }
    (
        429,
        Some("Throttling.User".into()),
        error(429, "Throttling.User", "Your request is too frequent. Try again later.", rid, &h),
    )
}

fn boolean(p: &BTreeMap<String, String>, k: &str) -> bool {
    p.get(k).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

fn int(p: &BTreeMap<String, String>, k: &str) -> Result<Option<i64>, String> {
    match p.get(k) {
        None => Ok(None),
        Some(v) if v.is_empty() => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| format!("The parameter {k} is invalid.")),
    }
}

fn text<'a>(p: &'a BTreeMap<String, String>, k: &str) -> Option<&'a str> {
    p.get(k).map(String::as_str).filter(|v| !v.is_empty())
}

fn paging(p: &BTreeMap<String, String>) -> Result<(i64, i64), String> {
    let n = int(p, "PageNumber")?.unwrap_or(1);
    let s = int(p, "PageSize")?.unwrap_or(10);
    if n < 1 || !(1..=100).contains(&s) {
        return Err("The parameter PageSize or PageNumber is invalid.".into());
    }
    Ok((n, s))
}

fn page<T: Clone>(items: &[T], n: i64, s: i64) -> Vec<T> {
    items.iter().skip(((n - 1) * s) as usize).take(s as usize).cloned().collect()
}

impl Emu {
    fn dispatch(&self, r: &Req, method: &Method, rid: &str) -> Answer {
        let get_only = ["GetPipelineRun", "ListPipelineRuns", "ListPipelineRunItems"];
        let expected = if get_only.contains(&r.action.as_str()) { Method::GET } else { Method::POST };
        if *method != expected {
            return fail(400, "UnsupportedHTTPMethod", &format!("{} must be called with {expected}", r.action), rid);
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
            _ => return fail(404, "InvalidAction.NotFound", &format!("Specified api {} is not found.", r.action), rid),
        };
        match res {
            Ok(v) => ok(v),
            Err(m) => fail(400, "InvalidParameter", &m, rid),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn package_json(&self, p: &Package) -> Value {
        let (status, exec) = self.package_state(p);
        json!({"Id": p.id, "Name": p.name, "Status": status, "Creator": p.creator, "Executor": p.executor,
            "CreateTime": p.create_time, "ExecuteTime": exec, "ErrorMessage": self.package_error(p)})
    }

    fn package_state(&self, p: &Package) -> (i64, i64) {
        match p.started {
            Some((t, fails)) if t.elapsed() >= self.opts.deploy_step => (if fails { 2 } else { 1 }, p.execute_time),
            Some(_) => (0, p.execute_time),
            None => (p.status, p.execute_time),
        }
    }

    fn package_error(&self, p: &Package) -> String {
        match self.package_state(p).0 {
            2 if p.started.is_some() => "deploy failed: node dependency check did not pass".into(),
            _ => p.error.clone(),
        }
    }

    fn list_packages(&self, r: &Req, rid: &str) -> Result<Value, String> {
        let p = &r.params;
        let (n, s) = paging(p)?;
        let status = int(p, "Status")?;
        let end_create = int(p, "EndCreateTime")?;
        let end_exec = int(p, "EndExecuteTime")?;
        let d = self.lock();
        let mut rows: Vec<&Package> = d
            .packages
            .values()
            .filter(|pk| {
                let (st, exec) = self.package_state(pk);
                text(p, "Keyword").is_none_or(|k| pk.name.contains(k))
                    && text(p, "Creator").is_none_or(|c| pk.creator == c)
                    && text(p, "Executor").is_none_or(|c| pk.executor == c)
                    && status.is_none_or(|x| x == st)
                    && end_create.is_none_or(|t| pk.create_time <= t)
                    && end_exec.is_none_or(|t| exec != 0 && exec <= t)
            })
            .collect();
        rows.sort_by(|a, b| b.create_time.cmp(&a.create_time).then(b.id.cmp(&a.id)));
        let total = rows.len();
        let list: Vec<Value> = page(&rows, n, s).into_iter().map(|pk| self.package_json(pk)).collect();
        Ok(
            json!({"RequestId": rid, "Data": {"PageNumber": n, "PageSize": s, "TotalCount": total, "Deployments": list}}),
        )
    }

    fn get_package(&self, r: &Req, rid: &str) -> Result<Value, String> {
        let Some(id) = int(&r.params, "DeploymentId")? else {
            return Err("DeploymentId is mandatory for this action.".into());
        };
        let d = self.lock();
        let Some(pk) = d.packages.get(&id) else {
            return Ok(json!({"RequestId": rid, "Success": false, "ErrorCode": "Invalid.Deployment.NotExists",
                "ErrorMessage": format!("The deployment {id} does not exist."), "HttpStatusCode": 404}));
        };
        let (status, exec) = self.package_state(pk);
        let item_status = match (status, pk.started) {
            (0, Some(_)) => 5,
            (1, _) => 1,
            (2, _) => 4,
            (6, _) => 6,
            _ => 0,
        };
        let items: Vec<Value> =
            pk.items.iter().map(|(f, v)| json!({"FileId": f, "FileVersion": v, "Status": item_status})).collect();
        let mut dep = json!({"Name": pk.name, "Status": status, "CreatorId": pk.creator, "HandlerId": pk.executor,
            "CreateTime": pk.create_time, "ExecuteTime": exec, "ErrorMessage": self.package_error(pk),
            "FromEnvironment": pk.to_env - 1, "ToEnvironment": pk.to_env});
        if status == 0 && pk.started.is_some() {
            dep["CheckingStatus"] = json!(8);
        }
        Ok(json!({"RequestId": rid, "Success": true, "HttpStatusCode": 200,
            "Data": {"Deployment": dep, "DeployedItems": items}}))
    }

    fn file_json(f: &File, content: bool, folder: bool) -> Value {
        let mut v = json!({"FileId": f.id, "FileName": f.name, "FileType": f.file_type,
            "FileFolderId": format!("{:08x}", f.folder.len() * 7919), "FileDescription": format!("{} file", f.name),
            "Owner": f.owner, "CreateUser": f.creator, "CreateTime": f.create_time, "LastEditUser": f.last_editor,
            "LastEditTime": f.edit_time, "CurrentVersion": f.versions.len(), "CommitStatus": f.commit_status,
            "NodeId": f.node_id, "BusinessId": f.business_id, "BizId": f.business_id, "ParentId": -1,
            "ConnectionName": "odps_source", "UseType": f.use_type, "IsMaxCompute": false, "AutoParsing": true});
        if content {
            v["Content"] = json!(f.versions.last().map(|x| x.content.clone()).unwrap_or_default());
        }
        if folder {
            v["AbsoluteFolderPath"] = json!(f.folder);
        }
        v
    }

    fn list_files(&self, r: &Req, rid: &str) -> Result<Value, String> {
        let p = &r.params;
        let (n, s) = paging(p)?;
        let node = int(p, "NodeId")?;
        let commit = int(p, "CommitStatus")?;
        if commit.is_some() && r.version == "2020-05-18" {
            return Err("CommitStatus is not supported in 2020-05-18.".into());
        }
        let types: Option<Vec<i64>> = text(p, "FileTypes")
            .map(|t| {
                t.split(',')
                    .map(|x| x.trim().parse().map_err(|_| "The parameter FileTypes is invalid.".to_owned()))
                    .collect()
            })
            .transpose()?;
        let ids: Option<Vec<i64>> = text(p, "FileIdIn")
            .map(|t| {
                t.split(',')
                    .map(|x| x.trim().parse().map_err(|_| "The parameter FileIdIn is invalid.".to_owned()))
                    .collect()
            })
            .transpose()?;
        if ids.as_ref().is_some_and(|i| i.len() > 50) {
            return Err("FileIdIn accepts at most 50 ids.".into());
        }
        let d = self.lock();
        let rows: Vec<&File> = d
            .files
            .values()
            .filter(|f| {
                text(p, "FileFolderPath").is_none_or(|x| f.folder.starts_with(x))
                    && text(p, "Keyword").is_none_or(|k| f.name.contains(k))
                    && text(p, "ExactFileName").is_none_or(|k| f.name == k)
                    && text(p, "UseType").is_none_or(|u| f.use_type == u)
                    && types.as_ref().is_none_or(|t| t.contains(&f.file_type))
                    && text(p, "Owner").is_none_or(|o| f.owner == o)
                    && node.is_none_or(|x| f.node_id == x)
                    && ids.as_ref().is_none_or(|i| i.contains(&f.id))
                    && text(p, "LastEditUser").is_none_or(|o| f.last_editor == o)
                    && commit.is_none_or(|c| f.commit_status == c)
            })
            .collect();
        let total = rows.len();
        let (content, folder) = (boolean(p, "NeedContent"), boolean(p, "NeedAbsoluteFolderPath"));
        let list: Vec<Value> = page(&rows, n, s).into_iter().map(|f| Self::file_json(f, content, folder)).collect();
        Ok(json!({"RequestId": rid, "Success": true, "HttpStatusCode": 200,
            "Data": {"PageNumber": n, "PageSize": s, "TotalCount": total, "Files": list}}))
    }

    fn missing_file(id: i64, rid: &str) -> Value {
        json!({"RequestId": rid, "Success": false, "ErrorCode": "Invalid.File.NotExists",
            "ErrorMessage": format!("The file {id} does not exist."), "HttpStatusCode": 404})
    }

    fn get_file(&self, r: &Req, rid: &str) -> Result<Value, String> {
        let id = int(&r.params, "FileId")?;
        let node = int(&r.params, "NodeId")?;
        let d = self.lock();
        let f = match (id, node) {
            (Some(id), _) => d.files.get(&id),
            (None, Some(n)) => d.files.values().find(|f| f.node_id == n),
            (None, None) => return Err("FileId or NodeId is mandatory for this action.".into()),
        };
        let Some(f) = f else { return Ok(Self::missing_file(id.or(node).unwrap_or_default(), rid)) };
        let mut file = Self::file_json(f, true, false);
        file["DeletedStatus"] = json!("NORMAL");
        Ok(json!({"RequestId": rid, "Success": true, "HttpStatusCode": 200, "Data": {"File": file,
            "NodeConfiguration": {"CycleType": "DAY", "CronExpress": "00 05 00 * * ?", "RerunMode": "ALL_ALLOWED",
                "SchedulerType": "NORMAL", "DependentType": "NONE", "AutoRerunTimes": 3, "ResourceGroupId": 1},
            "ResourceDownloadLink": {"downloadLink": ""}}}))
    }

    fn version_json(f: &File, v: &Version) -> Value {
        json!({"FileVersion": v.n, "FileName": f.name, "FileContent": v.content, "Comment": v.comment,
            "CommitUser": v.commit_user, "CommitTime": v.commit_time, "ChangeType": v.change_type,
            "Status": v.status, "IsCurrentProd": v.n == f.prod_version, "NodeId": f.node_id,
            "NodeContent": "{\"cycleType\":0,\"cronExpress\":\"00 05 00 * * ?\"}",
            "FilePropertyContent": format!("{{\"fileName\":\"{}\",\"fileType\":{}}}", f.name, f.file_type),
            "UseType": f.use_type})
    }

    fn list_versions(&self, r: &Req, rid: &str) -> Result<Value, String> {
        let (n, s) = paging(&r.params)?;
        let Some(id) = int(&r.params, "FileId")? else { return Err("FileId is mandatory for this action.".into()) };
        let d = self.lock();
        let Some(f) = d.files.get(&id) else { return Ok(Self::missing_file(id, rid)) };
        let mut all: Vec<&Version> = f.versions.iter().collect();
        all.reverse();
        let list: Vec<Value> = page(&all, n, s).into_iter().map(|v| Self::version_json(f, v)).collect();
        Ok(json!({"RequestId": rid, "Success": true, "HttpStatusCode": 200,
            "Data": {"PageNumber": n, "PageSize": s, "TotalCount": all.len(), "FileVersions": list}}))
    }

    fn get_version(&self, r: &Req, rid: &str) -> Result<Value, String> {
        let Some(id) = int(&r.params, "FileId")? else { return Err("FileId is mandatory for this action.".into()) };
        let Some(n) = int(&r.params, "FileVersion")? else {
            return Err("FileVersion is mandatory for this action.".into());
        };
        let d = self.lock();
        let Some(f) = d.files.get(&id) else { return Ok(Self::missing_file(id, rid)) };
        match f.versions.iter().find(|v| v.n == n) {
            Some(v) => {
                Ok(json!({"RequestId": rid, "Success": true, "HttpStatusCode": 200, "Data": Self::version_json(f, v)}))
            }
            None => Ok(json!({"RequestId": rid, "Success": false, "ErrorCode": "Invalid.FileVersion.NotExists",
                "ErrorMessage": format!("The version {n} of file {id} does not exist."), "HttpStatusCode": 404})),
        }
    }

    fn deploy_file(&self, r: &Req, rid: &str) -> Result<Value, String> {
        let id = int(&r.params, "FileId")?;
        let node = int(&r.params, "NodeId")?;
        let mut d = self.lock();
        let f = match (id, node) {
            (Some(id), _) => d.files.get(&id),
            (None, Some(n)) => d.files.values().find(|f| f.node_id == n),
            (None, None) => return Err("FileId or NodeId is mandatory for this action.".into()),
        };
        let Some(f) = f.cloned() else { return Ok(Self::missing_file(id.or(node).unwrap_or_default(), rid)) };
        let pid = d.next_package;
        d.next_package += 1;
        let to_env = if r.action == "SubmitFile" { 1 } else { 2 };
        let now = crate::domain::time::now_ms();
        d.packages.insert(
            pid,
            Package {
                id: pid,
                name: format!("{}_{}", if to_env == 2 { "deploy" } else { "submit" }, f.name),
                status: 0,
                creator: r.key.clone(),
                executor: r.key.clone(),
                create_time: now,
                execute_time: now,
                error: String::new(),
                to_env,
                items: vec![(f.id, f.versions.len() as i64)],
                started: Some((Instant::now(), f.id % 10 == 7)),
            },
        );
        Ok(json!({"RequestId": rid, "Success": true, "HttpStatusCode": 200, "Data": pid}))
    }

    fn run_status(&self, run: &Run) -> (String, Vec<Value>) {
        let mut statuses: Vec<String> = Vec::new();
        let running = run.running;
        for (i, (_, _, final_status)) in run.stages.iter().enumerate() {
            let s = match running {
                None if run.create_time < BASE_TIME => final_status.clone(),
                None => "Init".into(),
                Some((cur, _)) if i < cur => "Success".into(),
                Some((cur, t)) if i == cur => {
                    if t.elapsed() >= self.opts.deploy_step {
                        if run.failing && i + 1 == run.stages.len() { "Fail".into() } else { "Success".into() }
                    } else {
                        "Running".into()
                    }
                }
                Some(_) => "Init".into(),
            };
            statuses.push(s);
        }
        let overall = if run.abolished {
            "Termination".to_owned()
        } else if statuses.iter().any(|s| s == "Fail") {
            "Fail".into()
        } else if statuses.iter().all(|s| s == "Success") {
            "Success".into()
        } else if statuses.iter().all(|s| s == "Init") {
            "Init".into()
        } else {
            "Running".into()
        };
        let stages = run
            .stages
            .iter()
            .zip(&statuses)
            .enumerate()
            .map(|(i, ((code, ty, _), st))| {
                json!({"Code": code, "Step": i + 1, "Name": code.replace('_', " ").to_lowercase(), "Type": ty,
                    "Status": st, "Message": if st == "Fail" { "deployment check failed" } else { "" }, "Detail": {}})
            })
            .collect();
        (overall, stages)
    }

    fn run_json(&self, run: &Run) -> Value {
        let (status, stages) = self.run_status(run);
        json!({"Id": run.id, "ProjectId": self.opts.project_id, "Creator": run.creator, "Description": run.description,
            "Message": if status == "Fail" { "the PROD stage failed" } else { "" }, "CreateTime": run.create_time,
            "ModifyTime": run.modify_time, "Status": status, "Stages": stages})
    }

    fn list_runs(&self, r: &Req, rid: &str) -> Result<Value, String> {
        let p = &r.params;
        let (n, s) = paging(p)?;
        let d = self.lock();
        let mut rows: Vec<Value> = d
            .runs
            .iter()
            .filter(|run| {
                text(p, "Creator").is_none_or(|c| run.creator == c)
                    && text(p, "ObjectId").is_none_or(|o| run.object.to_string() == o)
            })
            .map(|run| self.run_json(run))
            .filter(|v| text(p, "Status").is_none_or(|st| v["Status"] == st))
            .collect();
        rows.sort_by(|a, b| b["CreateTime"].as_i64().cmp(&a["CreateTime"].as_i64()));
        let total = rows.len();
        Ok(json!({"RequestId": rid, "PagingInfo": {"PageNumber": n, "PageSize": s, "TotalCount": total,
            "PipelineRuns": page(&rows, n, s)}}))
    }

    fn find_run<'a>(d: &'a Data, r: &Req) -> Result<&'a Run, String> {
        let id = text(&r.params, "Id")
            .or_else(|| text(&r.params, "PipelineRunId"))
            .ok_or("Id is mandatory for this action.")?;
        d.runs.iter().find(|x| x.id == id).ok_or_else(|| format!("The pipeline run {id} does not exist."))
    }

    fn get_run(&self, r: &Req, rid: &str) -> Result<Value, String> {
        let d = self.lock();
        let run = Self::find_run(&d, r)?;
        Ok(json!({"RequestId": rid, "Pipeline": self.run_json(run)}))
    }

    fn list_run_items(&self, r: &Req, rid: &str) -> Result<Value, String> {
        let (n, s) = paging(&r.params)?;
        let d = self.lock();
        let run = Self::find_run(&d, r)?;
        let f = d.files.get(&run.object);
        let (status, _) = self.run_status(run);
        let item = json!({"Id": run.object.to_string(), "Name": f.map(|f| f.name.clone()).unwrap_or_default(),
            "Type": "Node", "Version": f.map(|f| f.versions.len()).unwrap_or(1), "Status": status, "Message": "",
            "Spec": "{\"version\":\"1.1.0\",\"kind\":\"Node\"}", "CreateTime": run.create_time, "ModifyTime": run.modify_time});
        Ok(json!({"RequestId": rid, "PagingInfo": {"PageNumber": n, "PageSize": s, "TotalCount": 1,
            "PipelineRunItems": page(&[item], n, s)}}))
    }

    fn create_run(&self, r: &Req, rid: &str) -> Result<Value, String> {
        let p = &r.params;
        if text(p, "Type") != Some("Online") && text(p, "Type") != Some("Offline") {
            return Err("Type must be Online or Offline.".into());
        }
        let ids: Vec<String> = serde_json::from_str(text(p, "ObjectIds").ok_or("ObjectIds is mandatory.")?)
            .map_err(|_| "The parameter ObjectIds is invalid.".to_owned())?;
        let object: i64 = ids.first().and_then(|i| i.parse().ok()).ok_or("The parameter ObjectIds is invalid.")?;
        let mut d = self.lock();
        if !d.files.contains_key(&object) {
            return Err(format!("The object {object} does not exist."));
        }
        let i = d.next_run;
        d.next_run += 1;
        let now = crate::domain::time::now_ms();
        let run = Run {
            id: run_id(i),
            creator: r.key.clone(),
            description: text(p, "Description").unwrap_or_default().to_owned(),
            create_time: now,
            modify_time: now,
            object,
            stages: stage_template("Success"),
            running: None,
            failing: object % 10 == 7,
            abolished: false,
        };
        let id = run.id.clone();
        d.runs.push(run);
        Ok(json!({"RequestId": rid, "Id": id}))
    }

    fn exec_stage(&self, r: &Req, rid: &str) -> Result<Value, String> {
        let code = text(&r.params, "Code").ok_or("Code is mandatory.")?.to_owned();
        let mut d = self.lock();
        let idx = {
            let run = Self::find_run(&d, r)?;
            let (status, stages) = self.run_status(run);
            let i = run.stages.iter().position(|(c, _, _)| *c == code).ok_or(format!("Unknown stage {code}."))?;
            let ready = stages.iter().take(i).all(|s| s["Status"] == "Success") && stages[i]["Status"] == "Init";
            if status == "Termination" || !ready {
                return Err(format!("Stage {code} cannot run now: stages run one by one, in order."));
            }
            i
        };
        let id = text(&r.params, "Id").unwrap_or_default().to_owned();
        if let Some(run) = d.runs.iter_mut().find(|x| x.id == id) {
            run.running = Some((idx, Instant::now()));
            run.modify_time = crate::domain::time::now_ms();
        }
        Ok(json!({"RequestId": rid, "Success": true}))
    }

    fn abolish_run(&self, r: &Req, rid: &str) -> Result<Value, String> {
        let id = text(&r.params, "Id").ok_or("Id is mandatory.")?.to_owned();
        let mut d = self.lock();
        let run = d.runs.iter_mut().find(|x| x.id == id).ok_or(format!("The pipeline run {id} does not exist."))?;
        run.abolished = true;
        Ok(json!({"RequestId": rid, "Success": true}))
    }
}
