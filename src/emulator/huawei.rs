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
//! | unknown package, pending item, script, system task | 400 | `DLF.0810` |
//! | unknown job | 400 | `DLF.0100` |
//! | other project id / `X-Project-Id` / `workspace` than served | 400 | `DLF.6888` |
//! | missing or invalid parameter (and `workspace` absent on pending-items) | 400 | `DLF.0802` |
//! | package not in a releasable state, item already packaged (emulator's own code) | 400 | `DLF.3100` |
//! | injected `status` fault | that status | `APIGW.0202` |
//! | wrong IAM password | 401 | `IAM.0004` |
//!
//! Offsets are row offsets (vendor-apis.md 2.10). Action names recorded in
//! the request log: `iam.tokens`, `release-packages.list`,
//! `release-packages.get`, `release-packages.deploy`, `pending-items.list`,
//! `pending-items.package`, `scripts.list`, `jobs.list`, `scripts.show`,
//! `jobs.show`, `system-tasks.show` (and `unknown`).
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
//!   has a non-ASCII name with a dot. Every fifth script and job (index
//!   divisible by 5, so also [`PENDING_JOB`]) has an unpackaged pending item.

use std::{
    collections::HashMap,
    fmt,
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant, SystemTime},
};

use axum::{
    body::{Body, Bytes},
    extract::State,
    http::{HeaderMap, HeaderValue, Method, StatusCode, Uri},
    response::Response,
};
use serde_json::{Map, Value, json};

use super::common::{Control, Fault, Recorded, Seeded, Throttled, control_routes};
use crate::{
    domain::time::now_ms,
    providers::{huawei::sign, signing},
};

/// Seeded package that fails to deploy (state 1 → 5 → 3).
pub const FAILING_PACKAGE_ID: u64 = 13;
/// Seeded package pending approval that deploys successfully (1 → 5 → 2).
pub const DEPLOYABLE_PACKAGE_ID: u64 = 12;
/// Seeded release packages.
pub const PACKAGE_COUNT: u64 = 320;
/// Seeded scripts.
pub const SCRIPT_COUNT: usize = 150;
/// Seeded jobs.
pub const JOB_COUNT: usize = 100;
/// A script with 5 versions: 3 in production, 5 pending release.
pub const VERSIONED_SCRIPT: &str = "etl-000";
/// Versions of [`VERSIONED_SCRIPT`].
pub const VERSIONED_SCRIPT_VERSIONS: u32 = 5;
/// Production version of [`VERSIONED_SCRIPT`].
pub const VERSIONED_SCRIPT_PUBLISHED: u32 = 3;
/// A job with an unpackaged pending item.
pub const PENDING_JOB: &str = "job-etl-000";
/// A script whose name needs percent-encoding in paths.
pub const CJK_SCRIPT: &str = "日报.sales-007";
/// Applicants (user id, user name) of seeded packages; also script/job owners.
pub const APPLICANTS: [(&str, &str); 5] = [
    ("0a11ce0000000000000000000000a11c", "alice"),
    ("0b0b000000000000000000000000b0b0", "bob"),
    ("0ca201000000000000000000000ca201", "carol"),
    ("0da7e0000000000000000000000da7e0", "dave"),
    ("0e21a000000000000000000000e21a00", "erin"),
];
/// Deployers (user id, user name) of seeded packages; also approvers.
pub const DEPLOYERS: [(&str, &str); 3] = [
    ("0f5100000000000000000000000f5101", "ops-li"),
    ("0f5200000000000000000000000f5202", "ops-wang"),
    ("0f5300000000000000000000000f5303", "ops-zhao"),
];
/// Folders of seeded scripts and jobs.
pub const FOLDERS: [&str; 7] =
    ["/etl/daily", "/etl/hourly", "/report", "/report/finance", "/ml/features", "/sync", "/adhoc"];
/// Topics: name prefixes of scripts, jobs and packages.
pub const TOPICS: [&str; 6] = ["etl", "report", "sync", "ml", "finance", "ads"];
/// Script types of seeded scripts.
pub const SCRIPT_TYPES: [&str; 8] =
    ["HiveSQL", "SparkSQL", "DLISQL", "DWSSQL", "Shell", "PYTHON", "FlinkSQL", "RDSSQL"];

const BASE_MS: i64 = 1_735_689_600_000; // 2025-01-01T00:00:00Z
const HOUR_MS: i64 = 3_600_000;
const TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

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
        }
    }
}

pub use super::common::Handle;

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

// ---------------------------------------------------------------- data

#[derive(Clone)]
struct User {
    id: String,
    name: String,
}

impl User {
    fn of((id, name): (&str, &str)) -> User {
        User { id: id.into(), name: name.into() }
    }
}

#[derive(Clone)]
struct Item {
    pending_item_id: String,
    name: String,
    task_type: i64,
    task_id: String,
    update_type: i64,
    pending_version: i64,
    deployed_version: i64,
    status: i64,
    start_job_status: Option<i64>,
    submit: User,
    submit_ts: i64,
}

struct Run {
    task_id: String,
    started: Instant,
    started_ms: i64,
    startup_mode: i64,
    fails: bool,
    finished_ms: Option<i64>,
}

struct Package {
    id: u64,
    name: String,
    status: i64,
    apply: User,
    apply_ts: i64,
    deploy: Option<User>,
    deploy_ts: i64,
    delete_flag: i64,
    approvers: Vec<User>,
    items: Vec<Item>,
    run: Option<Run>,
}

struct Script {
    id: String,
    name: String,
    stype: String,
    directory: String,
    create_user: String,
    owner: String,
    description: String,
    connection_name: String,
    database: String,
    modify_time: i64,
    contents: Vec<String>,
    published: u32,
}

struct Job {
    id: i64,
    name: String,
    job_type: String,
    status: String,
    owner: String,
    create_user: String,
    last_update_user: String,
    path: String,
    priority: i64,
    create_time: i64,
    last_update_time: i64,
    version: u32,
    published: u32,
}

#[derive(Clone)]
struct Pending {
    id: String,
    name: String,
    task_id: String,
    task_type: i64,
    update_type: i64,
    pending_version: i64,
    deployed_version: i64,
    package_flag: i64,
    submit: User,
    submit_ts: i64,
}

struct Token {
    user: String,
    expires: SystemTime,
}

struct World {
    packages: Vec<Package>,
    scripts: Vec<Script>,
    jobs: Vec<Job>,
    pending: Vec<Pending>,
    /// asy_task_id → package id.
    tasks: HashMap<String, u64>,
    tokens: HashMap<String, Token>,
    rng: Seeded,
}

fn script_content(name: &str, stype: &str, topic: &str, v: u32) -> String {
    format!(
        "-- {name} version {v} ({stype})\nSELECT {v} AS version, '{topic}' AS topic, count(*) FROM {topic}_src_{v};\n"
    )
}

impl World {
    fn seed(opts: &Options) -> World {
        let mut rng = Seeded::new(opts.seed);
        let hex = |rng: &mut Seeded| format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64());

        let mut scripts = Vec::with_capacity(SCRIPT_COUNT);
        for i in 0..SCRIPT_COUNT {
            let topic = TOPICS[i % TOPICS.len()];
            let name = if i == 7 { CJK_SCRIPT.to_owned() } else { format!("{topic}-{i:03}") };
            let stype = (*rng.pick(&SCRIPT_TYPES)).to_owned();
            let versions = if i == 0 { VERSIONED_SCRIPT_VERSIONS } else { 1 + rng.below(6) as u32 };
            let mut published =
                if i == 0 { VERSIONED_SCRIPT_PUBLISHED } else { rng.below(u64::from(versions) + 1) as u32 };
            if i % 5 == 0 && published >= versions {
                published = versions - 1;
            }
            let contents = (1..=versions).map(|v| script_content(&name, &stype, topic, v)).collect();
            scripts.push(Script {
                id: hex(&mut rng),
                stype,
                directory: FOLDERS[i % FOLDERS.len()].into(),
                create_user: rng.pick(&APPLICANTS).1.into(),
                owner: rng.pick(&APPLICANTS).1.into(),
                description: format!("{topic} script number {i}"),
                connection_name: format!("conn-{topic}"),
                database: format!("db_{topic}"),
                modify_time: BASE_MS + i as i64 * 3 * HOUR_MS + rng.below(3 * HOUR_MS as u64) as i64,
                contents,
                published,
                name,
            });
        }

        let mut jobs = Vec::with_capacity(JOB_COUNT);
        for j in 0..JOB_COUNT {
            let topic = TOPICS[j % TOPICS.len()];
            let real_time = j % 5 == 4;
            let status = if real_time {
                *rng.pick(&["NORMAL", "STOPPED", "EXCEPTION"])
            } else {
                *rng.pick(&["SCHEDULING", "STOPPED", "PAUSED"])
            };
            let version = 1 + rng.below(4) as u32;
            let mut published = rng.below(u64::from(version) + 1) as u32;
            if j % 5 == 0 && published >= version {
                published = version - 1;
            }
            let create_time = BASE_MS + j as i64 * 5 * HOUR_MS;
            jobs.push(Job {
                id: 1000 + j as i64,
                name: format!("job-{topic}-{j:03}"),
                job_type: if real_time { "REAL_TIME" } else { "BATCH" }.into(),
                status: status.into(),
                owner: rng.pick(&APPLICANTS).1.into(),
                create_user: rng.pick(&APPLICANTS).1.into(),
                last_update_user: rng.pick(&APPLICANTS).1.into(),
                path: FOLDERS[(j + 3) % FOLDERS.len()].into(),
                priority: rng.below(3) as i64,
                create_time,
                last_update_time: create_time + rng.below(30 * 24 * HOUR_MS as u64) as i64,
                version,
                published,
            });
        }

        let mut pending = Vec::new();
        for (i, s) in scripts.iter().enumerate().filter(|(i, _)| i % 5 == 0) {
            let submit = User::of(APPLICANTS[i % APPLICANTS.len()]);
            pending.push(Pending {
                id: hex(&mut rng),
                name: s.name.clone(),
                task_id: s.id.clone(),
                task_type: 2,
                update_type: if s.published == 0 { 1 } else { 2 },
                pending_version: s.contents.len() as i64,
                deployed_version: i64::from(s.published),
                package_flag: 0,
                submit,
                submit_ts: s.modify_time + HOUR_MS,
            });
        }
        for (j, job) in jobs.iter().enumerate().filter(|(j, _)| j % 5 == 0) {
            let submit = User::of(APPLICANTS[(j + 2) % APPLICANTS.len()]);
            pending.push(Pending {
                id: hex(&mut rng),
                name: job.name.clone(),
                task_id: job.id.to_string(),
                task_type: 1,
                update_type: if job.published == 0 { 1 } else { 2 },
                pending_version: i64::from(job.version),
                deployed_version: i64::from(job.published),
                package_flag: 0,
                submit,
                submit_ts: job.last_update_time + HOUR_MS,
            });
        }

        let mut packages = Vec::with_capacity(PACKAGE_COUNT as usize);
        for id in 1..=PACKAGE_COUNT {
            let status = match id {
                FAILING_PACKAGE_ID | DEPLOYABLE_PACKAGE_ID => 1,
                _ => *rng.pick(&[2, 2, 2, 2, 3, 1, 1, 5]),
            };
            let apply_ts = BASE_MS + id as i64 * 6 * HOUR_MS + rng.below(5 * HOUR_MS as u64) as i64;
            let deployed = status != 1;
            let deploy = deployed.then(|| User::of(*rng.pick(&DEPLOYERS)));
            let deploy_ts = if deployed { apply_ts + 600_000 + rng.below(48 * HOUR_MS as u64) as i64 } else { 0 };
            let apply = User::of(*rng.pick(&APPLICANTS));
            let mut approvers = vec![User::of(DEPLOYERS[id as usize % DEPLOYERS.len()])];
            if id % 3 == 0 {
                approvers.push(User::of(DEPLOYERS[(id as usize + 1) % DEPLOYERS.len()]));
            }
            let n_items = 1 + rng.below(4) as usize;
            let mut items = Vec::with_capacity(n_items);
            for k in 0..n_items {
                let (name, task_type, task_id, version) = if id == FAILING_PACKAGE_ID && k == 0 {
                    let j = &jobs[1];
                    (j.name.clone(), 1, j.id.to_string(), i64::from(j.version))
                } else if rng.below(2) == 0 {
                    let s = &scripts[rng.below(SCRIPT_COUNT as u64) as usize];
                    (s.name.clone(), 2, s.id.clone(), s.contents.len() as i64)
                } else {
                    let j = &jobs[rng.below(JOB_COUNT as u64) as usize];
                    (j.name.clone(), 1, j.id.to_string(), i64::from(j.version))
                };
                let pending_version = 1 + rng.below(version as u64) as i64;
                let item_status = if status == 3 && k > 0 { 2 } else { status };
                let start_job_status = match (task_type, item_status) {
                    (1, 2) => Some(2),
                    (1, 3) => Some(3),
                    _ => None,
                };
                items.push(Item {
                    pending_item_id: hex(&mut rng),
                    name,
                    task_type,
                    task_id,
                    update_type: if pending_version == 1 { 1 } else { 2 },
                    pending_version,
                    deployed_version: pending_version - 1,
                    status: item_status,
                    start_job_status,
                    submit: apply.clone(),
                    submit_ts: apply_ts - 1_800_000,
                });
            }
            let topic = *rng.pick(&TOPICS);
            packages.push(Package {
                id,
                name: format!("pkg-{topic}-{id:04}"),
                status,
                apply,
                apply_ts,
                deploy,
                deploy_ts,
                delete_flag: i64::from(id % 37 == 0),
                approvers,
                items,
                run: None,
            });
        }

        World { packages, scripts, jobs, pending, tasks: HashMap::new(), tokens: HashMap::new(), rng }
    }

    fn hex(&mut self) -> String {
        format!("{:016x}{:016x}", self.rng.next_u64(), self.rng.next_u64())
    }

    fn package(&self, id: &str) -> Option<&Package> {
        let id: u64 = id.trim().parse().ok()?;
        self.packages.iter().find(|p| p.id == id)
    }

    /// Ends every release whose `deploy_step` has passed.
    fn settle(&mut self, now: Instant, step: Duration) {
        let now_ms = now_ms();
        let mut released: Vec<(String, i64, i64)> = Vec::new();
        let mut done_items: Vec<String> = Vec::new();
        for p in &mut self.packages {
            let Some(run) = p.run.as_mut() else { continue };
            if run.finished_ms.is_some() || now.duration_since(run.started) < step {
                continue;
            }
            run.finished_ms = Some(now_ms.max(run.started_ms));
            p.status = if run.fails { 3 } else { 2 };
            for (k, item) in p.items.iter_mut().enumerate() {
                let failed = run.fails && k == 0;
                item.status = if failed { 3 } else { 2 };
                item.start_job_status =
                    (item.task_type == 1 && run.startup_mode == 1).then_some(if failed { 3 } else { 2 });
                if !failed {
                    released.push((item.name.clone(), item.task_type, item.pending_version));
                }
            }
            if !run.fails {
                done_items.extend(p.items.iter().map(|i| i.pending_item_id.clone()));
            }
        }
        for (name, task_type, version) in released {
            let v = u32::try_from(version).unwrap_or_default();
            if task_type == 2 {
                if let Some(s) = self.scripts.iter_mut().find(|s| s.name == name) {
                    s.published = v.min(s.contents.len() as u32);
                }
            } else if let Some(j) = self.jobs.iter_mut().find(|j| j.name == name) {
                j.published = v.min(j.version);
            }
        }
        self.pending.retain(|p| !done_items.contains(&p.id));
    }
}

// ---------------------------------------------------------------- JSON views

fn user_pair(m: &mut Map<String, Value>, prefix: &str, u: Option<&User>) {
    if let Some(u) = u {
        m.insert(format!("{prefix}_user_id"), json!(u.id));
        m.insert(format!("{prefix}_user_name"), json!(u.name));
    }
}

fn package_json(p: &Package, opts: &Options) -> Value {
    let mut m = Map::new();
    m.insert("package_id".into(), json!(p.id.to_string()));
    m.insert("package_name".into(), json!(p.name));
    m.insert("deploy_status".into(), json!(p.status));
    user_pair(&mut m, "apply", Some(&p.apply));
    m.insert("apply_timestamp".into(), json!(p.apply_ts));
    user_pair(&mut m, "deploy", p.deploy.as_ref());
    if p.deploy_ts > 0 {
        m.insert("deploy_timestamp".into(), json!(p.deploy_ts));
    }
    m.insert("delete_flag".into(), json!(p.delete_flag));
    m.insert("project_id".into(), json!(format!("{}-workspace-{}", opts.project_id, opts.workspace_id)));
    m.insert("workspace_id".into(), json!(opts.workspace_id));
    m.insert(
        "package_approvers".into(),
        Value::Array(p.approvers.iter().map(|a| json!({"user_id": a.id, "user_name": a.name})).collect()),
    );
    Value::Object(m)
}

fn item_json(i: &Item) -> Value {
    let mut m = Map::new();
    m.insert("pending_item_id".into(), json!(i.pending_item_id));
    m.insert("item_name".into(), json!(i.name));
    m.insert("task_type".into(), json!(i.task_type));
    if i.task_type == 1 {
        m.insert("task_id".into(), json!(i.task_id));
    } else {
        m.insert("script_id".into(), json!(i.task_id));
    }
    m.insert("update_type".into(), json!(i.update_type));
    m.insert("pending_version".into(), json!(i.pending_version));
    m.insert("deployed_version".into(), json!(i.deployed_version));
    m.insert("deploy_status".into(), json!(i.status));
    if let Some(s) = i.start_job_status {
        m.insert("start_job_status".into(), json!(s));
    }
    m.insert("submit_user_id".into(), json!(i.submit.id));
    m.insert("submit_user_name".into(), json!(i.submit.name));
    m.insert("submit_timestamp".into(), json!(i.submit_ts));
    Value::Object(m)
}

fn pending_json(p: &Pending, opts: &Options) -> Value {
    json!({
        "pending_item_id": p.id,
        "item_name": p.name,
        "task_id": p.task_id,
        "task_type": p.task_type,
        "update_type": p.update_type,
        "pending_version": p.pending_version,
        "deployed_version": p.deployed_version,
        "package_flag": p.package_flag,
        "project_id": format!("{}-workspace-{}", opts.project_id, opts.workspace_id),
        "submit_user_id": p.submit.id,
        "submit_user_name": p.submit.name,
        "submit_timestamp": p.submit_ts,
    })
}

fn script_row(s: &Script) -> Value {
    json!({
        "id": s.id,
        "name": s.name,
        "type": s.stype,
        "directory": s.directory,
        "create_user": s.create_user,
        "owner": s.owner,
        "description": s.description,
        "connection_name": s.connection_name,
        "database": s.database,
        "queue_name": "",
        "configuration": {},
        "modify_time": s.modify_time,
        "version": s.contents.len(),
    })
}

fn job_row(j: &Job) -> Value {
    json!({
        "name": j.name,
        "job_type": j.job_type,
        "status": j.status,
        "owner": j.owner,
        "create_user": j.create_user,
        "last_update_user": j.last_update_user,
        "path": j.path,
        "priority": j.priority,
        "create_time": j.create_time,
        "last_update_time": j.last_update_time,
        "start_time": j.create_time,
        "end_time": 0,
        "last_instance_status": "success",
        "last_instance_end_time": j.last_update_time,
        "next_plan_time": "",
        "single_node_job_flag": false,
        "single_node_job_type": "",
    })
}

fn job_detail(j: &Job) -> Value {
    json!({
        "name": j.name,
        "id": j.id,
        "directory": j.path,
        "jobType": j.job_type,
        "lastUpdateUser": j.last_update_user,
        "processType": j.job_type,
        "nodes": [{
            "name": format!("{}-node", j.name),
            "type": if j.job_type == "BATCH" { "HiveSQL" } else { "FlinkSQL" },
            "location": {"x": 10, "y": 20},
            "preNodeName": [],
            "properties": [{"name": "scriptName", "value": format!("{}-script", j.name)}],
            "retryTimes": 1
        }],
        "schedule": {"type": "CRON", "cron": {"startTime": "2025-01-01T00:00:00+08", "expression": "0 0 2 * * ?"}},
        "params": [{"name": "bizdate", "value": "${yyyyMMdd}", "type": "variable"}],
        "basicConfig": {"owner": j.owner, "priority": j.priority, "executeUser": "", "instanceTimeout": 0, "customFields": {}},
        "version": j.version,
    })
}

// ---------------------------------------------------------------- HTTP

/// (HTTP status, vendor code, response), boxed to keep results small.
type Answer = Box<(u16, Option<String>, Response)>;

fn respond_json(status: u16, body: &Value, rid: &str) -> Response {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert("content-type", HeaderValue::from_static("application/json;charset=UTF-8"));
    if let Ok(v) = HeaderValue::from_str(rid) {
        r.headers_mut().insert("X-Request-Id", v);
    }
    r
}

fn ok(body: Value, rid: &str) -> Answer {
    Box::new((200, None, respond_json(200, &body, rid)))
}

fn fail(status: u16, code: &str, msg: &str, rid: &str) -> Answer {
    let body = json!({"error_code": code, "error_msg": msg, "request_id": rid});
    Box::new((status, Some(code.to_owned()), respond_json(status, &body, rid)))
}

fn param(msg: &str, rid: &str) -> Answer {
    fail(400, "DLF.0802", msg, rid)
}

/// A response whose body breaks right after the headers: the client sees
/// the connection fail mid-answer, like a reset.
enum Route {
    Tokens,
    ListPackages(String),
    GetPackage(String, String),
    Deploy(String),
    ListPending(String),
    PackagePending(String),
    ListScripts(String),
    ListJobs(String),
    ShowScript(String, String),
    ShowJob(String, String),
    SystemTask(String, String),
    Unknown,
}

impl Route {
    fn parse(method: &Method, path: &str) -> Route {
        let segs: Vec<String> = path
            .trim_start_matches('/')
            .split('/')
            .map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned())
            .collect();
        let s: Vec<&str> = segs.iter().map(String::as_str).collect();
        let get = method == Method::GET;
        let post = method == Method::POST;
        match s.as_slice() {
            ["v3", "auth", "tokens"] if post => Route::Tokens,
            ["v2", pid, "factory", "release-packages"] if post => Route::ListPackages(pid.to_string()),
            ["v2", pid, "factory", "release-packages", "deploy"] if post => Route::Deploy(pid.to_string()),
            ["v2", pid, "factory", "release-packages", id] if get => Route::GetPackage(pid.to_string(), id.to_string()),
            ["v2", pid, "factory", "pending-items"] if get => Route::ListPending(pid.to_string()),
            ["v2", pid, "factory", "pending-items", "package"] if post => Route::PackagePending(pid.to_string()),
            ["v2", pid, "factory", "scripts"] if get => Route::ListScripts(pid.to_string()),
            ["v2", pid, "factory", "jobs"] if get => Route::ListJobs(pid.to_string()),
            ["v1", pid, "scripts", name] if get => Route::ShowScript(pid.to_string(), name.to_string()),
            ["v1", pid, "jobs", name] if get => Route::ShowJob(pid.to_string(), name.to_string()),
            ["v1", pid, "system-tasks", id] if get => Route::SystemTask(pid.to_string(), id.to_string()),
            _ => Route::Unknown,
        }
    }

    fn action(&self) -> &'static str {
        match self {
            Route::Tokens => "iam.tokens",
            Route::ListPackages(_) => "release-packages.list",
            Route::GetPackage(..) => "release-packages.get",
            Route::Deploy(_) => "release-packages.deploy",
            Route::ListPending(_) => "pending-items.list",
            Route::PackagePending(_) => "pending-items.package",
            Route::ListScripts(_) => "scripts.list",
            Route::ListJobs(_) => "jobs.list",
            Route::ShowScript(..) => "scripts.show",
            Route::ShowJob(..) => "jobs.show",
            Route::SystemTask(..) => "system-tasks.show",
            Route::Unknown => "unknown",
        }
    }

    fn project(&self) -> Option<&str> {
        match self {
            Route::ListPackages(p)
            | Route::GetPackage(p, _)
            | Route::Deploy(p)
            | Route::ListPending(p)
            | Route::PackagePending(p)
            | Route::ListScripts(p)
            | Route::ListJobs(p)
            | Route::ShowScript(p, _)
            | Route::ShowJob(p, _)
            | Route::SystemTask(p, _) => Some(p),
            Route::Tokens | Route::Unknown => None,
        }
    }
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
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
    match respond(&emu, &route, &method, &uri, &headers, &body, &rid).await {
        Some(answer) => {
            let (status, code, resp) = *answer;
            emu.control.record(record(status, code));
            resp
        }
        None => {
            emu.control.record(record(0, None));
            super::common::reset_response()
        }
    }
}

/// Who is calling: an access key or an IAM user; `Err` is the APIGW.0301 message.
fn authenticate(emu: &Emu, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<Caller, String> {
    if let Some(token) = header(headers, "x-auth-token") {
        let w = emu.world();
        return match w.tokens.get(token) {
            Some(t) if t.expires > SystemTime::now() => Ok(Caller::User(t.user.clone())),
            Some(_) => Err("Incorrect IAM authentication information: the token has expired".into()),
            None => Err("Incorrect IAM authentication information: the token is invalid".into()),
        };
    }
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
    let secret_for = |ak: &str| emu.opts.credentials.iter().find(|(a, _)| a == ak).map(|(_, sk)| sk.clone());
    match sign::verify(&input, SystemTime::now(), secret_for) {
        Ok(ak) => Ok(Caller::Key(ak)),
        Err(sign::VerifyError::UnknownAccessKey(_)) => {
            Err("Incorrect IAM authentication information: the access key does not exist".into())
        }
        Err(sign::VerifyError::StaleDate) => {
            Err("Incorrect IAM authentication information: the request has expired (X-Sdk-Date)".into())
        }
        Err(sign::VerifyError::MissingAuthorization) => {
            Err("Incorrect IAM authentication information: Authorization or X-Auth-Token is missing".into())
        }
        Err(e) => Err(format!("Incorrect IAM authentication information: verify aksk signature fail ({e})")),
    }
}

enum Caller {
    Key(String),
    User(String),
}

impl Caller {
    fn key(&self) -> String {
        match self {
            Caller::Key(ak) => format!("ak:{ak}"),
            Caller::User(u) => format!("user:{u}"),
        }
    }
    fn user(&self) -> User {
        match self {
            Caller::Key(_) => User { id: "0d5a0000000000000000000000d5a0a1".into(), name: "dsgw-deployer".into() },
            Caller::User(u) => {
                User { id: format!("{:0>32}", signing::sha256_hex(u.as_bytes())[..12].to_owned()), name: u.clone() }
            }
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
        Route::Tokens => None,
        _ => match authenticate(emu, method, uri, headers, body) {
            Ok(c) => Some(c),
            Err(msg) => return Some(fail(401, "APIGW.0301", &msg, rid)),
        },
    };
    let key = caller.as_ref().map_or_else(|| "iam".to_owned(), Caller::key);
    // 2. Faults, then throttling.
    if let Some(f) = emu.control.next_fault(action) {
        match f {
            Fault::Latency { ms } => tokio::time::sleep(Duration::from_millis(ms)).await,
            Fault::Status { status } => return Some(fail(status, "APIGW.0202", "Backend unavailable", rid)),
            Fault::Reset => return None,
            Fault::Malformed => {
                let mut r = Response::new(Body::from("<html><body>502 Bad Gateway</body"));
                if let Ok(v) = HeaderValue::from_str(rid) {
                    r.headers_mut().insert("X-Request-Id", v);
                }
                return Some(Box::new((200, None, r)));
            }
            Fault::VendorError { status, code, message } => return Some(fail(status, &code, &message, rid)),
            Fault::Throttle { .. } => {
                return Some(fail(
                    429,
                    "APIGW.0308",
                    "The throttling threshold has been reached: policy user over ratelimit",
                    rid,
                ));
            }
        }
    }
    if let Err(t) = emu.control.admit(&key, action) {
        let msg = match t {
            Throttled::Rate(_) => "The throttling threshold has been reached: policy user over ratelimit",
            Throttled::Daily => "The throttling threshold has been reached: policy user over daily limit",
        };
        return Some(fail(429, "APIGW.0308", msg, rid));
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

    let mut w = emu.world();
    w.settle(Instant::now(), emu.opts.deploy_step);
    let opts = &emu.opts;
    let answer = match route {
        Route::Tokens => match json_body() {
            Ok(b) => issue_token(&mut w, opts, &b, rid),
            Err(a) => a,
        },
        Route::ListPackages(_) => match json_body() {
            Ok(b) => list_packages(&w, opts, &b, rid),
            Err(a) => a,
        },
        Route::GetPackage(_, id) => match w.package(id) {
            Some(p) => ok(
                json!({
                    "release_package": package_json(p, opts),
                    "task_details": p.items.iter().map(item_json).collect::<Vec<_>>(),
                }),
                rid,
            ),
            None => fail(400, "DLF.0810", "Task does not exist.", rid),
        },
        Route::Deploy(_) => match json_body() {
            Ok(b) => deploy(&mut w, &b, caller.as_ref(), rid),
            Err(a) => a,
        },
        Route::ListPending(_) => list_pending(&w, opts, &q, rid),
        Route::PackagePending(_) => match json_body() {
            Ok(b) => package_pending(&mut w, &b, caller.as_ref(), rid),
            Err(a) => a,
        },
        Route::ListScripts(_) => list_scripts(&w, &q, rid),
        Route::ListJobs(_) => list_jobs(&w, &q, rid),
        Route::ShowScript(_, name) => show_script(&w, name, &q, rid),
        Route::ShowJob(_, name) => match w.jobs.iter().find(|j| &j.name == name) {
            Some(j) => ok(job_detail(j), rid),
            None => fail(400, "DLF.0100", "The job does not exists.", rid),
        },
        Route::SystemTask(_, id) => system_task(&w, id, rid),
        Route::Unknown => fail(404, "APIGW.0101", "The API does not exist", rid),
    };
    Some(answer)
}

// ---------------------------------------------------------------- handlers

/// Decoded query pairs.
struct Query(Vec<(String, String)>);

impl Query {
    /// A non-empty value.
    fn get(&self, k: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }
}

fn paging(limit: Option<i64>, offset: Option<i64>, rid: &str) -> Result<(usize, usize), Answer> {
    let limit = limit.unwrap_or(10);
    let offset = offset.unwrap_or(0);
    if !(1..=100).contains(&limit) {
        return Err(param("limit must be between 1 and 100.", rid));
    }
    if offset < 0 {
        return Err(param("offset must be at least 0.", rid));
    }
    Ok((limit as usize, offset as usize))
}

fn query_int(v: Option<&str>, name: &str, rid: &str) -> Result<Option<i64>, Answer> {
    match v {
        None => Ok(None),
        Some(s) => s.trim().parse().map(Some).map_err(|_| param(&format!("{name} must be an integer."), rid)),
    }
}

fn contains_ci(hay: &str, needle: &str) -> bool {
    hay.to_lowercase().contains(&needle.to_lowercase())
}

fn strs(v: &Value, k: &str) -> Vec<String> {
    v.get(k)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

fn int_of(v: &Value, k: &str) -> Option<i64> {
    match v.get(k)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn str_of<'v>(v: &'v Value, k: &str) -> Option<&'v str> {
    v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn list_packages(w: &World, opts: &Options, b: &Value, rid: &str) -> Answer {
    let (limit, offset) = match paging(int_of(b, "limit"), int_of(b, "offset"), rid) {
        Ok(p) => p,
        Err(a) => return a,
    };
    let order_column = str_of(b, "order_column").unwrap_or("apply_timestamp");
    if !matches!(order_column, "apply_timestamp" | "deploy_timestamp") {
        return param("order_column must be apply_timestamp or deploy_timestamp.", rid);
    }
    let asc = match str_of(b, "sorted_direction").unwrap_or("desc") {
        "asc" => true,
        "desc" => false,
        _ => return param("sorted_direction must be asc or desc.", rid),
    };
    let statuses: Vec<i64> = b
        .get("deploy_status_filter")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    let key_word = str_of(b, "key_word");
    let apply_name = str_of(b, "apply_user_name");
    let apply_set = strs(b, "apply_user_name_filter");
    let deploy_name = str_of(b, "deploy_user_name");
    let deploy_set = strs(b, "deploy_user_name_filter");
    let within = |t: i64, from: &str, to: &str| {
        let (s, e) = (int_of(b, from), int_of(b, to));
        if s.is_none() && e.is_none() {
            return true;
        }
        t > 0 && s.is_none_or(|s| t >= s) && e.is_none_or(|e| t <= e)
    };
    let users = |u: Option<&User>, one: Option<&str>, set: &[String]| {
        let name = u.map(|u| u.name.as_str());
        one.is_none_or(|n| name == Some(n)) && (set.is_empty() || name.is_some_and(|n| set.iter().any(|s| s == n)))
    };
    let mut rows: Vec<&Package> = w
        .packages
        .iter()
        .filter(|p| key_word.is_none_or(|k| contains_ci(&p.name, k)))
        .filter(|p| statuses.is_empty() || statuses.contains(&p.status))
        .filter(|p| users(Some(&p.apply), apply_name, &apply_set))
        .filter(|p| users(p.deploy.as_ref(), deploy_name, &deploy_set))
        .filter(|p| within(p.apply_ts, "apply_begin_time", "apply_end_time"))
        .filter(|p| within(p.deploy_ts, "deploy_begin_time", "deploy_end_time"))
        .collect();
    rows.sort_by_key(|p| (if order_column == "deploy_timestamp" { p.deploy_ts } else { p.apply_ts }, p.id));
    if !asc {
        rows.reverse();
    }
    let total = rows.len();
    let data: Vec<Value> = rows.into_iter().skip(offset).take(limit).map(|p| package_json(p, opts)).collect();
    ok(json!({"total": total, "data": data}), rid)
}

fn deploy(w: &mut World, b: &Value, caller: Option<&Caller>, rid: &str) -> Answer {
    let Some(ids) = b.get("package_ids").and_then(Value::as_array) else {
        return param("package_ids is required.", rid);
    };
    if ids.is_empty() || ids.len() > 100 {
        return param("package_ids must hold 1 to 100 ids.", rid);
    }
    let mode = match b.get("startup_mode") {
        None | Some(Value::Null) => 1,
        Some(v) => match v.as_i64() {
            Some(m @ (0 | 1)) => m,
            _ => return param("startup_mode must be 0 or 1.", rid),
        },
    };
    let mut idx = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(id) = id.as_str() else { return param("package_ids must be strings.", rid) };
        let Some(i) = id.trim().parse::<u64>().ok().and_then(|n| w.packages.iter().position(|p| p.id == n)) else {
            return fail(400, "DLF.0810", "Task does not exist.", rid);
        };
        let p = &w.packages[i];
        if p.delete_flag == 1 {
            return fail(400, "DLF.0810", "Task does not exist.", rid);
        }
        if !matches!(p.status, 1 | 3) {
            return fail(
                400,
                "DLF.3100",
                &format!("The package {} is not in a state that can be released.", p.id),
                rid,
            );
        }
        idx.push(i);
    }
    let user = caller.map_or_else(|| User::of(DEPLOYERS[0]), Caller::user);
    let (now, now_ms) = (Instant::now(), now_ms());
    let mut details = Vec::with_capacity(idx.len());
    for i in idx {
        let task_id = w.hex();
        let p = &mut w.packages[i];
        p.status = 5;
        p.deploy = Some(user.clone());
        p.deploy_ts = now_ms;
        for item in &mut p.items {
            item.status = 5;
            item.start_job_status = None;
        }
        p.run = Some(Run {
            task_id: task_id.clone(),
            started: now,
            started_ms: now_ms,
            startup_mode: mode,
            fails: p.id == FAILING_PACKAGE_ID,
            finished_ms: None,
        });
        let (id, n) = (p.id, p.items.len());
        w.tasks.insert(task_id.clone(), id);
        details.push(json!({"package_id": id, "asy_task_id": task_id, "asy_subtask_num": n}));
    }
    ok(json!({"deploy_package_details": details}), rid)
}

fn list_pending(w: &World, opts: &Options, q: &Query, rid: &str) -> Answer {
    let parsed = (|| {
        Ok::<_, Answer>((
            paging(query_int(q.get("limit"), "limit", rid)?, query_int(q.get("offset"), "offset", rid)?, rid)?,
            query_int(q.get("update_type"), "update_type", rid)?,
            query_int(q.get("task_type"), "task_type", rid)?,
            query_int(q.get("start_time"), "start_time", rid)?,
            query_int(q.get("end_time"), "end_time", rid)?,
        ))
    })();
    let ((limit, offset), update_type, task_type, start, end) = match parsed {
        Ok(p) => p,
        Err(a) => return a,
    };
    let rows: Vec<&Pending> = w
        .pending
        .iter()
        .filter(|p| q.get("submit_user_name").is_none_or(|n| p.submit.name == n))
        .filter(|p| q.get("item_name").is_none_or(|n| contains_ci(&p.name, n)))
        .filter(|p| update_type.is_none_or(|t| p.update_type == t))
        .filter(|p| task_type.is_none_or(|t| p.task_type == t))
        .filter(|p| start.is_none_or(|s| p.submit_ts >= s) && end.is_none_or(|e| p.submit_ts <= e))
        .collect();
    let total = rows.len();
    let data: Vec<Value> = rows.into_iter().skip(offset).take(limit).map(|p| pending_json(p, opts)).collect();
    ok(json!({"total": total, "data": data}), rid)
}

fn package_pending(w: &mut World, b: &Value, caller: Option<&Caller>, rid: &str) -> Answer {
    let Some(apply_user_id) = str_of(b, "apply_user_id") else { return param("apply_user_id is required.", rid) };
    let Some(name) = str_of(b, "package_name") else { return param("package_name is required.", rid) };
    if name.chars().count() > 128 {
        return param("package_name must be at most 128 characters.", rid);
    }
    let list = strs(b, "pending_item_list");
    if list.is_empty() || list.len() > 100 {
        return param("pending_item_list must hold 1 to 100 items.", rid);
    }
    let mut items = Vec::with_capacity(list.len());
    for id in &list {
        let Some(p) = w.pending.iter().find(|p| &p.id == id) else {
            return fail(400, "DLF.0810", &format!("The pending item {id} does not exist."), rid);
        };
        if p.package_flag != 0 {
            return fail(400, "DLF.3100", &format!("The pending item {id} is already in a package."), rid);
        }
        items.push(p.clone());
    }
    let apply = APPLICANTS
        .iter()
        .chain(DEPLOYERS.iter())
        .find(|(id, _)| *id == apply_user_id)
        .map(|u| User::of(*u))
        .or_else(|| items.iter().find(|i| i.submit.id == apply_user_id).map(|i| i.submit.clone()))
        .unwrap_or_else(|| caller.map_or_else(|| User::of(APPLICANTS[0]), Caller::user));
    let approvers: Vec<User> = strs(b, "approver_ids")
        .iter()
        .map(|id| {
            DEPLOYERS
                .iter()
                .find(|(d, _)| d == id)
                .map_or_else(|| User { id: id.clone(), name: id.clone() }, |u| User::of(*u))
        })
        .collect();
    for p in &mut w.pending {
        if list.contains(&p.id) {
            p.package_flag = 1;
        }
    }
    let id = w.packages.iter().map(|p| p.id).max().unwrap_or_default() + 1;
    let now = now_ms();
    let package = Package {
        id,
        name: name.to_owned(),
        status: 1,
        apply,
        apply_ts: now,
        deploy: None,
        deploy_ts: 0,
        delete_flag: 0,
        approvers,
        items: items
            .into_iter()
            .map(|p| Item {
                pending_item_id: p.id,
                name: p.name,
                task_type: p.task_type,
                task_id: p.task_id,
                update_type: p.update_type,
                pending_version: p.pending_version,
                deployed_version: p.deployed_version,
                status: 1,
                start_job_status: None,
                submit: p.submit,
                submit_ts: p.submit_ts,
            })
            .collect(),
        run: None,
    };
    w.packages.push(package);
    ok(json!({"package_name": name, "release_package_id": id.to_string()}), rid)
}

fn list_scripts(w: &World, q: &Query, rid: &str) -> Answer {
    let (limit, offset) = match query_int(q.get("limit"), "limit", rid)
        .and_then(|l| Ok((l, query_int(q.get("offset"), "offset", rid)?)))
        .and_then(|(l, o)| paging(l, o, rid))
    {
        Ok(p) => p,
        Err(a) => return a,
    };
    let rows: Vec<&Script> =
        w.scripts.iter().filter(|s| q.get("script_name").is_none_or(|n| contains_ci(&s.name, n))).collect();
    let total = rows.len();
    let scripts: Vec<Value> = rows.into_iter().skip(offset).take(limit).map(script_row).collect();
    ok(json!({"total": total, "scripts": scripts}), rid)
}

fn list_jobs(w: &World, q: &Query, rid: &str) -> Answer {
    let (limit, offset) = match query_int(q.get("limit"), "limit", rid)
        .and_then(|l| Ok((l, query_int(q.get("offset"), "offset", rid)?)))
        .and_then(|(l, o)| paging(l, o, rid))
    {
        Ok(p) => p,
        Err(a) => return a,
    };
    let job_type = q.get("job_type");
    if job_type.is_some_and(|t| !matches!(t, "BATCH" | "REAL_TIME")) {
        return param("job_type must be BATCH or REAL_TIME.", rid);
    }
    let ids: Option<Vec<i64>> = match q.get("job_id") {
        None => None,
        Some(s) => match s.split(',').map(|x| x.trim().parse::<i64>()).collect::<Result<Vec<_>, _>>() {
            Ok(v) if v.len() <= 50 => Some(v),
            _ => return param("job_id must be a comma list of at most 50 numeric ids.", rid),
        },
    };
    let statuses: Option<Vec<&str>> = q.get("status").map(|s| s.split(',').map(str::trim).collect());
    let rows: Vec<&Job> = w
        .jobs
        .iter()
        .filter(|j| q.get("job_name").is_none_or(|n| contains_ci(&j.name, n)))
        .filter(|j| job_type.is_none_or(|t| j.job_type == t))
        .filter(|j| ids.as_ref().is_none_or(|ids| ids.contains(&j.id)))
        .filter(|j| statuses.as_ref().is_none_or(|s| s.contains(&j.status.as_str())))
        .collect();
    let total = rows.len();
    let jobs: Vec<Value> = rows.into_iter().skip(offset).take(limit).map(job_row).collect();
    ok(json!({"total": total, "jobs": jobs}), rid)
}

fn show_script(w: &World, name: &str, q: &Query, rid: &str) -> Answer {
    let Some(s) = w.scripts.iter().find(|s| s.name == name) else {
        return fail(400, "DLF.0810", "The script does not exist.", rid);
    };
    let version = match query_int(q.get("version"), "version", rid) {
        Ok(v) => v,
        Err(a) => return a,
    };
    let v = match (version, q.get("status")) {
        (Some(v), _) => v,
        (None, None | Some("SAVED")) => s.contents.len() as i64,
        (None, Some("PUBLISHED")) => i64::from(s.published),
        (None, Some(_)) => return param("status must be SAVED or PUBLISHED.", rid),
    };
    let Some(content) = usize::try_from(v).ok().and_then(|v| v.checked_sub(1)).and_then(|i| s.contents.get(i)) else {
        return fail(400, "DLF.0810", "The script version does not exist.", rid);
    };
    ok(
        json!({
            "id": s.id,
            "name": s.name,
            "type": s.stype,
            "content": content,
            "directory": s.directory,
            "connectionName": s.connection_name,
            "database": s.database,
            "queueName": "",
            "configuration": {},
            "description": s.description,
            "autoAcquireLock": true,
        }),
        rid,
    )
}

fn system_task(w: &World, id: &str, rid: &str) -> Answer {
    let Some(p) = w.tasks.get(id).and_then(|pid| w.packages.iter().find(|p| p.id == *pid)) else {
        return fail(400, "DLF.0810", "Task does not exist.", rid);
    };
    let Some(run) = p.run.as_ref().filter(|r| r.task_id == id) else {
        // A later deploy of the same package replaced this task: report it as ended.
        return ok(
            json!({"id": id, "name": format!("release package {}", p.id), "status": "SUCCESSFUL", "message": ""}),
            rid,
        );
    };
    let (status, message) = match (run.finished_ms, run.fails) {
        (None, _) => ("RUNNING", String::new()),
        (Some(_), false) => ("SUCCESSFUL", String::new()),
        (Some(_), true) => (
            "FAILED",
            format!(
                "Releasing {} failed: the job could not be started (emulated failure).",
                p.items.first().map_or("", |i| i.name.as_str())
            ),
        ),
    };
    let end = run.finished_ms.unwrap_or_default();
    let sub: Vec<Value> = p
        .items
        .iter()
        .enumerate()
        .map(|(k, item)| {
            let st = match item.status {
                5 => "RUNNING",
                3 => "FAILED",
                _ => "SUCCESSFUL",
            };
            json!({"id": format!("{id}-{k}"), "name": item.name, "status": st, "startTime": run.started_ms, "endTime": end, "lastUpdate": end.max(run.started_ms)})
        })
        .collect();
    ok(
        json!({
            "id": id,
            "name": format!("release package {}", p.id),
            "status": status,
            "message": message,
            "startTime": run.started_ms,
            "endTime": end,
            "lastUpdate": end.max(run.started_ms),
            "subTasks": sub,
        }),
        rid,
    )
}

fn issue_token(w: &mut World, opts: &Options, b: &Value, rid: &str) -> Answer {
    let user = b.pointer("/auth/identity/password/user");
    let name = user.and_then(|u| str_of(u, "name"));
    let password = user.and_then(|u| str_of(u, "password"));
    let domain = user.and_then(|u| u.pointer("/domain/name")).and_then(Value::as_str);
    let (Some(name), Some(password), Some(domain)) = (name, password, domain) else {
        return fail(
            400,
            "IAM.0007",
            "The request body is invalid: password user, password and domain are required.",
            rid,
        );
    };
    if !opts.iam_users.iter().any(|(d, u, p)| d == domain && u == name && p == password) {
        return fail(401, "IAM.0004", "The username or password is wrong.", rid);
    }
    let token = format!("MIIEvQYJKoZIhvcNAQcCoIIErjCC{}{}", w.hex(), w.hex());
    let issued = SystemTime::now();
    let expires = issued + TOKEN_LIFETIME;
    w.tokens.insert(token.clone(), Token { user: name.to_owned(), expires });
    let fmt = |t: SystemTime| {
        jiff::Timestamp::try_from(t).map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()).unwrap_or_default()
    };
    let project = b.pointer("/auth/scope/project/id").and_then(Value::as_str).unwrap_or(&opts.project_id);
    let body = json!({"token": {
        "expires_at": fmt(expires),
        "issued_at": fmt(issued),
        "methods": ["password"],
        "user": {"name": name, "domain": {"name": domain}},
        "project": {"id": project},
    }});
    let mut r = respond_json(201, &body, rid);
    if let Ok(v) = HeaderValue::from_str(&token) {
        r.headers_mut().insert("X-Subject-Token", v);
    }
    Box::new((201, None, r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_facts_hold_for_any_seed() {
        for seed in [1, 7, 42] {
            let w = World::seed(&Options { seed, ..Options::default() });
            assert_eq!(w.packages.len() as u64, PACKAGE_COUNT);
            assert_eq!(w.package(&FAILING_PACKAGE_ID.to_string()).map(|p| p.status), Some(1));
            assert_eq!(w.package(&DEPLOYABLE_PACKAGE_ID.to_string()).map(|p| p.status), Some(1));
            let s = w.scripts.iter().find(|s| s.name == VERSIONED_SCRIPT).expect("versioned script");
            assert_eq!((s.contents.len() as u32, s.published), (VERSIONED_SCRIPT_VERSIONS, VERSIONED_SCRIPT_PUBLISHED));
            assert!(w.scripts.iter().any(|s| s.name == CJK_SCRIPT));
            for name in [VERSIONED_SCRIPT, PENDING_JOB] {
                let p = w.pending.iter().find(|p| p.name == name).expect("pending item");
                assert!(p.pending_version > p.deployed_version);
            }
            for status in [1, 2, 3, 5] {
                assert!(w.packages.iter().any(|p| p.status == status), "state {status} seeded");
            }
        }
    }
}
