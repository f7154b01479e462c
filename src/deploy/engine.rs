//! The deployment engine: every deployment a deploy call started is driven
//! to a terminal state by the gateway itself, whether or not anyone
//! watches. One reconciler task polls each open deployment through its
//! adapter's [`advance`](crate::domain::Adapter::advance) (the only place a
//! follow-up vendor write may happen, e.g. the next pipeline stage), backs
//! off while nothing changes, and publishes the latest state to every
//! reader: `GetDeployment` and `WatchDeployment` read what the engine knows
//! and never write, and any number of watchers share one vendor poll per
//! interval.
//!
//! Open deployments are kept in `{state_dir}/deployments.jsonl` (a
//! checksummed journal), so a restart resumes driving them. Each poll is a
//! span that follows from the deploy call's span (one trace per deploy).

use std::{
    collections::HashMap,
    path::Path,
    sync::{
        Arc, Mutex, Weak,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tracing::Instrument;

use tonic::Code;

use crate::{
    config::OnDamage,
    domain::{Adapter, CallCtx, Error, Reason, Router, is_terminal, time::now_ms},
    pb,
    state::{self, Journal, StateError},
};

/// The first pause between polls of a deployment; it doubles while nothing
/// changes, up to [`MAX_POLL`].
const FIRST_POLL: Duration = Duration::from_millis(500);
/// The longest pause between polls of a deployment.
const MAX_POLL: Duration = Duration::from_secs(10);
/// How long an ended deployment stays readable from the engine (with what
/// the deploy call knew: request_id, files) before reads go to the vendor.
const KEEP_ENDED: Duration = Duration::from_secs(3600);
/// How long one poll may take.
const POLL_DEADLINE: Duration = Duration::from_secs(30);

/// (workspace name, deployment id).
type Key = (String, String);

/// One line of `deployments.jsonl`: the record of a deployment the engine
/// drives (what the deploy call knew and the vendor does not report), or
/// (`open: false`) that it has ended.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Line {
    workspace: String,
    id: String,
    open: bool,
    /// The deploy call's request_id (absent in lines of older releases).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    request_id: String,
    /// Who asked for it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    requested_by: String,
    /// The release package it deploys.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    release_package: String,
    /// The files it deploys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    files: Vec<String>,
    /// `StartupMode` number.
    #[serde(default, skip_serializing_if = "is_zero")]
    startup_mode: i32,
    /// When the deploy call started it, ms since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created_ms: Option<i64>,
    /// The deploy call's W3C `traceparent`: later polls link to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    traceparent: Option<String>,
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}

impl Line {
    /// The record of `d`, started in `workspace` by `requested_by`, in the
    /// current (deploy call's) trace.
    fn of(workspace: &str, id: &str, d: &pb::Deployment, requested_by: &str) -> Self {
        Line {
            workspace: workspace.to_owned(),
            id: id.to_owned(),
            open: true,
            request_id: d.request_id.clone(),
            requested_by: requested_by.to_owned(),
            release_package: d.release_package.clone(),
            files: d.files.clone(),
            startup_mode: d.startup_mode,
            created_ms: d.create_time.as_ref().map(|t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000),
            traceparent: crate::telemetry::propagation::current_traceparent(),
        }
    }

    /// That `key` has ended.
    fn closed(key: &Key) -> Self {
        Line { workspace: key.0.clone(), id: key.1.clone(), ..Line::default() }
    }

    /// What the record knows of the deployment, before the vendor is read.
    fn deployment(&self) -> pb::Deployment {
        pb::Deployment {
            name: format!("workspaces/{}/deployments/{}", self.workspace, self.id),
            request_id: self.request_id.clone(),
            requested_by: self.requested_by.clone(),
            release_package: self.release_package.clone(),
            files: self.files.clone(),
            startup_mode: self.startup_mode,
            create_time: crate::domain::time::ts(self.created_ms),
            ..Default::default()
        }
    }
}

/// Keeps in `now` (the vendor's answer) what the deploy call knew and the
/// vendor does not report, from `last`.
fn keep_known(now: &mut pb::Deployment, last: &pb::Deployment) {
    if now.request_id.is_empty() {
        now.request_id.clone_from(&last.request_id);
    }
    if now.requested_by.is_empty() {
        now.requested_by.clone_from(&last.requested_by);
    }
    if now.release_package.is_empty() {
        now.release_package.clone_from(&last.release_package);
    }
    if now.files.is_empty() {
        now.files.clone_from(&last.files);
    }
    if now.startup_mode == 0 {
        now.startup_mode = last.startup_mode;
    }
    if now.create_time.is_none() {
        now.create_time = last.create_time;
    }
}

/// A deployment being driven.
struct Open {
    latest: watch::Sender<pb::Deployment>,
    /// The deploy call's span: polls follow from it.
    origin: tracing::Span,
    next: tokio::time::Instant,
    pause: Duration,
    /// When it reached a terminal state (no longer polled).
    ended: Option<tokio::time::Instant>,
}

impl Open {
    /// The next poll: soon after progress, later and later while nothing moves.
    fn reschedule(&mut self, progressed: bool) {
        self.pause = if progressed { FIRST_POLL } else { (self.pause * 2).min(MAX_POLL) };
        self.next = tokio::time::Instant::now() + self.pause;
    }
}

/// Drives open deployments to their end; see the module docs.
pub struct Engine {
    router: Router,
    open: Mutex<HashMap<Key, Open>>,
    journal: Option<Journal>,
    running: AtomicBool,
}

impl Engine {
    /// An engine over `router` that keeps open deployments in memory only.
    pub(crate) fn in_memory(router: Router) -> Arc<Self> {
        Arc::new(Engine { router, open: Mutex::default(), journal: None, running: AtomicBool::new(false) })
    }

    /// An engine that keeps open deployments in `{dir}/deployments.jsonl`,
    /// resuming those a previous run left open. A damaged file is an error,
    /// or with `on_damage: quarantine` kept aside (the deployments whose
    /// records were lost are then no longer driven, which is logged).
    pub(crate) fn open(router: Router, dir: &Path, on_damage: OnDamage) -> Result<Arc<Self>, StateError> {
        let journal = Journal::at(dir.join("deployments.jsonl"));
        std::fs::create_dir_all(dir).map_err(StateError::io(journal.path()))?;
        let contents = journal.read::<Line>()?;
        if let Some(damage) = contents.damage {
            state::quarantine(on_damage, damage, "deployments", now_ms())?;
        }
        let mut open: HashMap<Key, Line> = HashMap::new();
        for line in contents.records {
            open.insert((line.workspace.clone(), line.id.clone()), line);
        }
        let still: Vec<Line> = open.into_values().filter(|l| l.open).collect();
        journal.rewrite(still.iter()).map_err(StateError::io(journal.path()))?;
        let engine = Arc::new(Engine { router, open: Mutex::default(), journal: Some(journal), running: false.into() });
        for l in &still {
            let origin =
                tracing::info_span!("deployment.resumed", datastudio.workspace = %l.workspace, deployment = %l.id);
            if let Some(tp) = &l.traceparent {
                crate::telemetry::propagation::link_to(&origin, tp);
            }
            engine.insert(&l.workspace, &l.id, l.deployment(), origin);
        }
        if !still.is_empty() {
            tracing::info!(deployments = still.len(), "resuming deployments left open by the previous run");
        }
        Ok(engine)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Open>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn insert(self: &Arc<Self>, workspace: &str, id: &str, d: pb::Deployment, origin: tracing::Span) {
        let open = Open {
            latest: watch::Sender::new(d),
            origin,
            next: tokio::time::Instant::now() + FIRST_POLL,
            pause: FIRST_POLL,
            ended: None,
        };
        self.lock().insert((workspace.to_owned(), id.to_owned()), open);
        self.start();
    }

    /// Takes over the deployments a deploy call by `requested_by` in
    /// `workspace` started: those not yet ended are recorded and driven
    /// from now on. Returns them as the record knows them.
    pub(crate) fn track(
        self: &Arc<Self>,
        workspace: &str,
        requested_by: &str,
        deployments: Vec<pb::Deployment>,
    ) -> Vec<pb::Deployment> {
        let mut out = Vec::with_capacity(deployments.len());
        for mut d in deployments {
            d.requested_by = requested_by.to_owned();
            let Some((_, id)) = d.name.rsplit_once("/deployments/") else {
                out.push(d);
                continue;
            };
            if is_terminal(d.state()) || self.lock().contains_key(&(workspace.to_owned(), id.to_owned())) {
                out.push(d);
                continue;
            }
            self.record(&Line::of(workspace, id, &d, requested_by));
            tracing::info!(
                target: "audit",
                event = "deployment",
                workspace,
                deployment = d.name.as_str(),
                requested_by,
                state = d.state().as_str_name(),
                "deployment started"
            );
            self.insert(workspace, id, d.clone(), tracing::Span::current());
            out.push(d);
        }
        out
    }

    /// The latest state of a deployment the engine drives, to read or
    /// follow; None for one it does not know (then the vendor is read).
    pub(crate) fn watch(&self, workspace: &str, id: &str) -> Option<watch::Receiver<pb::Deployment>> {
        self.lock().get(&(workspace.to_owned(), id.to_owned())).map(|o| o.latest.subscribe())
    }

    /// Cancels a deployment through its adapter (one that has ended is
    /// FAILED_PRECONDITION) and publishes what the vendor then reports.
    pub(crate) async fn cancel(&self, ctx: &CallCtx, adapter: &dyn Adapter, id: &str) -> Result<pb::Deployment, Error> {
        let key = (ctx.workspace.clone(), id.to_owned());
        let known = self.lock().get(&key).map(|o| o.latest.borrow().clone());
        if let Some(d) = known.as_ref().filter(|d| is_terminal(d.state())) {
            return Err(Error::new(
                Code::FailedPrecondition,
                Reason::DeploymentEnded,
                format!("{} has already ended ({}); there is nothing to cancel", d.name, d.state().as_str_name()),
            ));
        }
        let mut d = adapter.cancel(ctx, id).await?;
        if let Some(last) = &known {
            keep_known(&mut d, last);
        }
        if self.publish(&key, d.clone()) {
            self.close(&key);
        }
        Ok(d)
    }

    fn record(&self, line: &Line) {
        if let Some(j) = &self.journal
            && let Err(e) = j.append(line)
        {
            tracing::error!(error = %e, file = %j.path().display(), "cannot record an open deployment");
        }
    }

    /// Starts the reconciler once (it ends when the engine is dropped).
    fn start(self: &Arc<Self>) {
        if self.running.swap(true, Ordering::SeqCst) {
            return;
        }
        let weak = Arc::downgrade(self);
        tokio::spawn(reconcile(weak));
    }

    /// Polls every deployment whose turn has come; true while any is open.
    async fn tick(&self) -> bool {
        let now = tokio::time::Instant::now();
        let due: Vec<(Key, tracing::Span)> = self
            .lock()
            .iter()
            .filter(|(_, o)| o.ended.is_none() && o.next <= now)
            .map(|(k, o)| (k.clone(), o.origin.clone()))
            .collect();
        for ((workspace, id), origin) in due {
            let span = tracing::info_span!("deployment.poll", datastudio.workspace = %workspace, deployment = %id);
            span.follows_from(&origin);
            self.poll(&workspace, &id).instrument(span).await;
        }
        let mut m = self.lock();
        m.retain(|_, o| o.ended.is_none_or(|t| now.duration_since(t) < KEEP_ENDED));
        m.values().any(|o| o.ended.is_none())
    }

    /// One look at a deployment through its adapter.
    async fn poll(&self, workspace: &str, id: &str) {
        let key = (workspace.to_owned(), id.to_owned());
        let Ok(ws) = self.router.get(workspace) else {
            tracing::warn!(workspace, id, "a deployment's workspace is no longer configured; no longer driven");
            self.close(&key);
            return;
        };
        let ctx =
            CallCtx { workspace: workspace.to_owned(), deadline: Some(Instant::now() + POLL_DEADLINE), identity: None };
        match ws.adapter.advance(&ctx, id).await {
            Ok(d) => {
                if self.publish(&key, d) {
                    self.close(&key);
                }
            }
            Err(e) => {
                if let Some(o) = self.lock().get_mut(&key) {
                    o.reschedule(false);
                }
                tracing::warn!(workspace, id, reason = %e.reason, error = %e.message, "cannot look at a deployment; will retry");
            }
        }
    }

    /// Publishes what the vendor reported of a deployment (with what the
    /// deploy call knew), audits a change of state and schedules the next
    /// poll; true when it has ended.
    fn publish(&self, key: &Key, mut d: pb::Deployment) -> bool {
        let mut m = self.lock();
        let Some(o) = m.get_mut(key) else { return is_terminal(d.state()) };
        let ended = is_terminal(d.state());
        let mut progressed = false;
        let moved = o.latest.send_if_modified(|last| {
            keep_known(&mut d, last);
            progressed = *last != d;
            let moved = last.state != d.state || last.error_message != d.error_message;
            *last = std::mem::take(&mut d);
            moved
        });
        if moved {
            let d = o.latest.borrow();
            tracing::info!(
                target: "audit",
                event = "deployment",
                workspace = key.0.as_str(),
                deployment = d.name.as_str(),
                state = d.state().as_str_name(),
                error = d.error_message.as_str(),
                "deployment state changed"
            );
        }
        // Any progress (a stage moved on) keeps the polls close.
        o.reschedule(progressed);
        ended
    }

    /// Stops driving a deployment; its last state stays readable for a while.
    fn close(&self, key: &Key) {
        if let Some(o) = self.lock().get_mut(key) {
            o.ended = Some(tokio::time::Instant::now());
        }
        self.record(&Line::closed(key));
    }
}

/// The reconciler: polls due deployments, sleeping between turns.
/// Ends when nothing is open (the next deployment starts it again).
async fn reconcile(engine: Weak<Engine>) {
    loop {
        let Some(e) = engine.upgrade() else { return };
        if !e.tick().await {
            e.running.store(false, Ordering::SeqCst);
            // A deployment tracked meanwhile saw the reconciler running:
            // take over again rather than leave it undriven.
            if e.lock().values().all(|o| o.ended.is_some()) || e.running.swap(true, Ordering::SeqCst) {
                return;
            }
        }
        drop(e);
        tokio::time::sleep(FIRST_POLL / 5).await;
    }
}
