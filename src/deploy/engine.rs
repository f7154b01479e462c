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
//! checksummed journal), so a restart resumes driving them. With
//! `limits.backend: redis` they are kept in Redis instead ([`shared`]),
//! where every replica sees them all and a per-deployment lease decides
//! which one drives each: only the lease holder calls `advance`, after
//! renewing the lease (a poll whose renewal fails is skipped, so a stage is
//! never triggered by two replicas); every replica sweeps the open set and
//! takes over the deployments whose lease has expired (their replica
//! died). While Redis is unreachable, polls pause. Each poll is a span that
//! follows from the deploy call's span (one trace per deploy).

mod shared;

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

use self::shared::{Lease, Shared};
use crate::{
    config::OnDamage,
    domain::{Adapter, CallCtx, Error, Reason, Router, is_terminal, time::now_ms},
    pb,
    redis_store::{RedisStore, Unreachable},
    state::{self, Journal, StateError},
    telemetry::metrics,
};

/// The first pause between polls of a deployment; it doubles while nothing
/// changes, up to [`MAX_POLL`].
const FIRST_POLL: Duration = Duration::from_millis(500);
/// The longest pause between polls of a deployment.
const MAX_POLL: Duration = Duration::from_secs(10);
/// How long an ended deployment stays readable from the engine (with what
/// the deploy call knew: request_id, files) before reads go to the vendor.
const KEEP_ENDED: Duration = Duration::from_secs(3600);
/// How long one poll may take (with the Redis backend, at most half a lease).
const POLL_DEADLINE: Duration = Duration::from_secs(30);
/// The longest pause between sweeps of the shared open set (renewals,
/// takeovers, what other replicas published).
const MAX_SWEEP: Duration = Duration::from_secs(1);

/// (workspace name, deployment id).
type Key = (String, String);

/// One line of `deployments.jsonl`: the record of a deployment the engine
/// drives (what the deploy call knew and the vendor does not report), or
/// (`open: false`) that it has ended.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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

    /// A span for polls of a deployment this process did not start (after
    /// a restart, or taken over from another replica), linked to the
    /// deploy call's trace.
    fn origin(&self) -> tracing::Span {
        let origin =
            tracing::info_span!("deployment.resumed", datastudio.workspace = %self.workspace, deployment = %self.id);
        if let Some(tp) = &self.traceparent {
            crate::telemetry::propagation::link_to(&origin, tp);
        }
        origin
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

/// Who drives a deployment the engine knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// This process polls it (with the Redis backend: while it holds the lease).
    Driving,
    /// Another replica holds its lease; this one shows what that one publishes.
    Following,
    /// A deploy call here started it and its record is being written.
    Recording,
    /// Its record is not in Redis: a deploy call here started it while
    /// Redis was unreachable, or Redis lost it (restarted without its
    /// data). Recorded again (then driven or followed) once Redis answers;
    /// until then nobody moves it on.
    Unrecorded,
}

/// A deployment the engine knows.
struct Open {
    /// Its record.
    record: Line,
    latest: watch::Sender<pb::Deployment>,
    /// The deploy call's span: polls follow from it.
    origin: tracing::Span,
    next: tokio::time::Instant,
    pause: Duration,
    /// When it reached a terminal state (no longer polled).
    ended: Option<tokio::time::Instant>,
    role: Role,
}

impl Open {
    fn new(record: Line, d: pb::Deployment, origin: tracing::Span, role: Role) -> Self {
        Open {
            record,
            latest: watch::Sender::new(d),
            origin,
            next: tokio::time::Instant::now() + FIRST_POLL,
            pause: FIRST_POLL,
            ended: None,
            role,
        }
    }

    /// The next poll: soon after progress, later and later while nothing moves.
    fn reschedule(&mut self, progressed: bool) {
        self.pause = if progressed { FIRST_POLL } else { (self.pause * 2).min(MAX_POLL) };
        self.next = tokio::time::Instant::now() + self.pause;
    }

    fn polled(&self) -> bool {
        self.role == Role::Driving && self.ended.is_none()
    }
}

/// What one publication of a state did.
struct Published {
    /// The deployment reached a terminal state.
    ended: bool,
    /// Its state differs from the one published before.
    changed: bool,
}

/// Where the engine keeps the records of open deployments, which decides
/// who drives them.
enum Records {
    /// In memory only: this process drives every deployment it started.
    Memory,
    /// `{state_dir}/deployments.jsonl`: this process (one per state_dir)
    /// drives every deployment it recorded, also after a restart.
    Journal(Journal),
    /// Redis, shared by every replica: the lease holder drives.
    Shared(Shared),
}

/// Drives open deployments to their end; see the module docs.
pub struct Engine {
    router: Router,
    open: Mutex<HashMap<Key, Open>>,
    records: Records,
    running: AtomicBool,
    /// Polls are paused because Redis is unreachable (logged once).
    paused: AtomicBool,
}

impl Engine {
    fn with_records(router: Router, records: Records) -> Arc<Self> {
        Arc::new(Engine {
            router,
            open: Mutex::default(),
            records,
            running: AtomicBool::new(false),
            paused: AtomicBool::new(false),
        })
    }

    /// An engine over `router` that keeps open deployments in memory only.
    pub(crate) fn in_memory(router: Router) -> Arc<Self> {
        Self::with_records(router, Records::Memory)
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
        let engine = Self::with_records(router, Records::Journal(journal));
        for l in &still {
            engine.insert(l.clone(), l.deployment(), l.origin(), Role::Driving);
        }
        if !still.is_empty() {
            tracing::info!(deployments = still.len(), "resuming deployments left open by the previous run");
        }
        Ok(engine)
    }

    /// An engine whose records live in Redis with every replica's
    /// (`limits.backend: redis`); `lease` is how long a replica's lease on
    /// a deployment lasts without renewal. Its reconciler runs from now on:
    /// it picks up the open deployments of every replica (and drives those
    /// nobody holds).
    pub(crate) fn shared(router: Router, store: Arc<RedisStore>, lease: Duration) -> Arc<Self> {
        let engine = Self::with_records(router, Records::Shared(Shared::new(store, lease)));
        if tokio::runtime::Handle::try_current().is_ok() {
            engine.start();
        }
        engine
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Open>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn insert(self: &Arc<Self>, record: Line, d: pb::Deployment, origin: tracing::Span, role: Role) {
        let key = (record.workspace.clone(), record.id.clone());
        self.lock().insert(key, Open::new(record, d, origin, role));
        self.start();
    }

    fn set_role(&self, key: &Key, role: Role) {
        if let Some(o) = self.lock().get_mut(key) {
            o.role = role;
        }
    }

    /// Takes over the deployments a deploy call by `requested_by` in
    /// `workspace` started: those not yet ended are recorded and driven
    /// from now on (with the Redis backend, by the replica that recorded
    /// them first). Returns them as the record knows them.
    pub(crate) async fn track(
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
            let key = (workspace.to_owned(), id.to_owned());
            let line = Line::of(workspace, id, &d, requested_by);
            {
                // Known from now on (checked and inserted at once), so a
                // concurrent repeat in this process does not record it again.
                let mut m = self.lock();
                if is_terminal(d.state()) || m.contains_key(&key) {
                    drop(m);
                    out.push(d);
                    continue;
                }
                m.insert(key.clone(), Open::new(line.clone(), d.clone(), tracing::Span::current(), Role::Recording));
            }
            self.start();
            // Recorded on its own task: a caller that hangs up cannot leave it half-recorded.
            let (me, started) = (self.clone(), d.clone());
            let recorded = tokio::spawn(
                async move {
                    let role = me.record(&line, &started).await;
                    if role != Role::Following {
                        tracing::info!(
                            target: "audit",
                            event = "deployment",
                            workspace = line.workspace.as_str(),
                            deployment = started.name.as_str(),
                            requested_by = line.requested_by.as_str(),
                            state = started.state().as_str_name(),
                            "deployment started"
                        );
                    }
                    me.set_role(&key, role);
                }
                .in_current_span(),
            );
            let _ = recorded.await;
            out.push(d);
        }
        out
    }

    /// Records a deployment a deploy call started; who drives it.
    async fn record(&self, line: &Line, d: &pb::Deployment) -> Role {
        match &self.records {
            Records::Memory => Role::Driving,
            Records::Journal(j) => {
                if let Err(e) = j.append(line) {
                    metrics::state_write_failed("deployments");
                    tracing::error!(error = %e, file = %j.path().display(), "cannot record an open deployment");
                }
                Role::Driving
            }
            Records::Shared(s) => match s.open(line, d).await {
                Ok(Lease::Held) => Role::Driving,
                Ok(Lease::Elsewhere) => Role::Following,
                Err(Unreachable) => {
                    tracing::error!(
                        workspace = line.workspace.as_str(),
                        deployment = line.id.as_str(),
                        "cannot record a deployment in the shared Redis: it is recorded (and driven) once Redis \
                         answers again"
                    );
                    Role::Unrecorded
                }
            },
        }
    }

    /// The latest state of a deployment the engine knows, to read or
    /// follow; None for one it does not know (then the vendor is read).
    ///
    /// With the Redis backend every replica knows every open deployment: a
    /// replica that does not hold its lease answers from the state the
    /// holder publishes in Redis (read once per sweep, at most a second
    /// old), not from the vendor, so readers and watchers on any replica
    /// share one Redis read per sweep and cause no vendor call at all.
    pub(crate) fn watch(&self, workspace: &str, id: &str) -> Option<watch::Receiver<pb::Deployment>> {
        self.lock().get(&(workspace.to_owned(), id.to_owned())).map(|o| o.latest.subscribe())
    }

    /// Whether this engine polls the deployment now (tests: which replica drives it).
    #[cfg(any(test, feature = "test-util"))]
    pub(crate) fn drives(&self, workspace: &str, id: &str) -> bool {
        self.lock().get(&(workspace.to_owned(), id.to_owned())).is_some_and(Open::polled)
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
        // On a replica that does not hold the lease this is seen here at
        // once; the holder closes it in Redis at its next poll.
        self.settle(&key, d.clone()).await;
        Ok(d)
    }

    /// Starts the reconciler once (it ends when the engine is dropped).
    fn start(self: &Arc<Self>) {
        if self.running.swap(true, Ordering::SeqCst) {
            return;
        }
        let weak = Arc::downgrade(self);
        tokio::spawn(reconcile(weak));
    }

    /// Whether the reconciler keeps running with nothing open (the Redis
    /// backend: other replicas' deployments may need taking over).
    fn always_on(&self) -> bool {
        match self.records {
            Records::Shared(_) => true,
            Records::Memory | Records::Journal(_) => false,
        }
    }

    /// How long one poll may take.
    fn poll_deadline(&self) -> Duration {
        match &self.records {
            // A poll ends within the lease renewed just before it.
            Records::Shared(s) => POLL_DEADLINE.min(s.lease() / 2),
            Records::Memory | Records::Journal(_) => POLL_DEADLINE,
        }
    }

    /// Redis did not answer: polls pause (said once per outage).
    fn redis_down(&self) {
        if !self.paused.swap(true, Ordering::SeqCst) {
            tracing::warn!(
                "the shared Redis is unreachable: deployment polls pause (no stage is started without a lease) \
                 until it answers again"
            );
        }
    }

    /// Redis answered: paused polls resume at once.
    fn redis_up(&self) {
        if self.paused.swap(false, Ordering::SeqCst) {
            tracing::info!("the shared Redis answers again: deployment polls resume");
            for o in self.lock().values_mut().filter(|o| o.polled()) {
                o.reschedule(true);
                o.next = tokio::time::Instant::now();
            }
        }
    }

    /// One look at the shared open set: renews this replica's leases,
    /// records what was started while Redis was away, shows what other
    /// replicas published, and takes over deployments nobody holds.
    async fn sweep(self: &Arc<Self>, s: &Shared) {
        let driving: Vec<Key> = self.lock().iter().filter(|(_, o)| o.polled()).map(|(k, _)| k.clone()).collect();
        for key in driving {
            match s.renew(&key).await {
                Ok(Lease::Held) => self.redis_up(),
                Ok(Lease::Elsewhere) => self.lost(&key),
                Err(Unreachable) => return self.redis_down(),
            }
        }
        let unrecorded: Vec<Key> =
            self.lock().iter().filter(|(_, o)| o.role == Role::Unrecorded).map(|(k, _)| k.clone()).collect();
        for key in unrecorded {
            if let Err(Unreachable) = self.rerecord(s, &key).await {
                return self.redis_down();
            }
        }
        let seen = match s.scan().await {
            Ok(seen) => seen,
            Err(Unreachable) => return self.redis_down(),
        };
        self.redis_up();
        let mut open = std::collections::HashSet::with_capacity(seen.len());
        for row in seen {
            let key = (row.line.workspace.clone(), row.line.id.clone());
            open.insert(key.clone());
            let known = self.lock().get(&key).map(|o| (o.role, o.ended.is_some()));
            let take = match known {
                None => {
                    let d = row.latest.unwrap_or_else(|| row.line.deployment());
                    let origin = row.line.origin();
                    self.insert(row.line, d, origin, Role::Following);
                    !row.leased
                }
                Some((Role::Following, _)) => {
                    if let Some(d) = row.latest {
                        self.follow(&key, d);
                    }
                    !row.leased
                }
                // Ended here (cancelled on this replica, or its close did
                // not reach Redis) but still open there: whoever takes it
                // closes it after one look.
                Some((Role::Driving, true)) => !row.leased,
                Some((Role::Driving, false) | (Role::Recording | Role::Unrecorded, _)) => false,
            };
            // Only a replica that has the workspace can drive it.
            if take && self.router.get(&key.0).is_ok() {
                match s.take(&key).await {
                    Ok(Lease::Held) => self.took(&key),
                    Ok(Lease::Elsewhere) => {}
                    Err(Unreachable) => return self.redis_down(),
                }
            }
        }
        // Deployments no longer open in Redis: ended (their final state is
        // there for an hour), or their record was lost with Redis' data.
        let gone: Vec<(Key, Role)> = self
            .lock()
            .iter()
            .filter(|(k, o)| o.ended.is_none() && !open.contains(*k))
            .filter(|(_, o)| matches!(o.role, Role::Following | Role::Driving))
            .map(|(k, o)| (k.clone(), o.role))
            .collect();
        for (key, role) in gone {
            let found = match s.state(&key).await {
                Ok(found) => found,
                Err(Unreachable) => return self.redis_down(),
            };
            let lost = match (found, role) {
                (Some(d), Role::Following) => {
                    self.follow(&key, d);
                    Ok(())
                }
                // Recorded meanwhile, or closed by this replica: nothing to do.
                (Some(_), Role::Driving | Role::Recording | Role::Unrecorded) => Ok(()),
                (None, _) => {
                    tracing::warn!(
                        workspace = key.0.as_str(),
                        deployment = key.1.as_str(),
                        "an open deployment's record is missing from Redis (did Redis lose its data?): recording \
                         it again"
                    );
                    self.rerecord(s, &key).await
                }
            };
            if let Err(Unreachable) = lost {
                return self.redis_down();
            }
        }
    }

    /// Records again in Redis a deployment whose record is not there;
    /// whoever records it first drives it.
    async fn rerecord(&self, s: &Shared, key: &Key) -> Result<(), Unreachable> {
        let Some((line, d)) = self.lock().get(key).map(|o| (o.record.clone(), o.latest.borrow().clone())) else {
            return Ok(());
        };
        match s.open(&line, &d).await {
            Ok(Lease::Held) => {
                self.took(key);
                Ok(())
            }
            Ok(Lease::Elsewhere) => {
                self.set_role(key, Role::Following);
                Ok(())
            }
            Err(Unreachable) => {
                self.set_role(key, Role::Unrecorded);
                Err(Unreachable)
            }
        }
    }

    /// Another replica holds a lease this one thought it held.
    fn lost(&self, key: &Key) {
        tracing::warn!(
            workspace = key.0.as_str(),
            deployment = key.1.as_str(),
            "another replica holds this deployment's lease now (this one's expired): following it"
        );
        self.set_role(key, Role::Following);
    }

    /// This replica took the lease of a deployment nobody held.
    fn took(&self, key: &Key) {
        if let Some(o) = self.lock().get_mut(key) {
            o.role = Role::Driving;
            o.ended = None;
            o.pause = FIRST_POLL;
            o.next = tokio::time::Instant::now();
        }
        tracing::info!(
            workspace = key.0.as_str(),
            deployment = key.1.as_str(),
            "took over a deployment whose lease had expired (its replica stopped or lost Redis)"
        );
    }

    /// Shows a state another replica published (no audit: it audited).
    fn follow(&self, key: &Key, d: pb::Deployment) {
        let mut m = self.lock();
        let Some(o) = m.get_mut(key).filter(|o| o.ended.is_none()) else { return };
        let ended = is_terminal(d.state());
        o.latest.send_if_modified(|last| {
            let changed = *last != d;
            *last = d;
            changed
        });
        if ended {
            o.ended = Some(tokio::time::Instant::now());
        }
    }

    /// What the engine last saw of a deployment.
    fn latest(&self, key: &Key) -> Option<pb::Deployment> {
        self.lock().get(key).map(|o| o.latest.borrow().clone())
    }

    /// Polls every deployment whose turn has come; true while any is open.
    async fn tick(&self) -> bool {
        let now = tokio::time::Instant::now();
        let due: Vec<(Key, tracing::Span)> = self
            .lock()
            .iter()
            .filter(|(_, o)| o.polled() && o.next <= now)
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

    /// One look at a deployment through its adapter, by the lease holder
    /// only: with the Redis backend the lease is renewed first, and a poll
    /// whose renewal fails does not happen.
    async fn poll(&self, workspace: &str, id: &str) {
        let key = (workspace.to_owned(), id.to_owned());
        if let Records::Shared(s) = &self.records {
            match s.renew(&key).await {
                Ok(Lease::Held) => self.redis_up(),
                Ok(Lease::Elsewhere) => return self.lost(&key),
                Err(Unreachable) => {
                    self.redis_down();
                    if let Some(o) = self.lock().get_mut(&key) {
                        o.reschedule(false);
                    }
                    return;
                }
            }
        }
        let Ok(ws) = self.router.get(workspace) else {
            match &self.records {
                Records::Memory | Records::Journal(_) => {
                    tracing::warn!(workspace, id, "a deployment's workspace is no longer configured; no longer driven");
                    self.close(&key).await;
                }
                // Other replicas may still have it (a rolling config change):
                // the lease lapses and one of them takes the deployment over.
                Records::Shared(_) => {
                    tracing::warn!(
                        workspace,
                        id,
                        "a deployment's workspace is not configured on this replica; left to others"
                    );
                    self.set_role(&key, Role::Following);
                }
            }
            return;
        };
        let ctx = CallCtx {
            workspace: workspace.to_owned(),
            deadline: Some(Instant::now() + self.poll_deadline()),
            identity: None,
        };
        match ws.adapter.advance(&ctx, id).await {
            Ok(d) => self.settle(&key, d).await,
            Err(e) => {
                if let Some(o) = self.lock().get_mut(&key) {
                    o.reschedule(false);
                }
                tracing::warn!(workspace, id, reason = %e.reason, error = %e.message, "cannot look at a deployment; will retry");
            }
        }
    }

    /// Publishes a state the vendor reported (to this process's readers,
    /// and with the Redis backend to the other replicas'), and closes the
    /// deployment when it has ended.
    async fn settle(&self, key: &Key, d: pb::Deployment) {
        let step = self.publish(key, d);
        if step.ended {
            self.close(key).await;
        } else if let Records::Shared(s) = &self.records
            && step.changed
            && let Some(d) = self.latest(key)
            && let Err(Unreachable) = s.publish(key, &d).await
        {
            // Readers on other replicas see it at the next change; renewals say whether the lease held.
            self.redis_down();
        }
    }

    /// Publishes what the vendor reported of a deployment (with what the
    /// deploy call knew), audits a change of state and schedules the next
    /// poll.
    fn publish(&self, key: &Key, mut d: pb::Deployment) -> Published {
        let mut m = self.lock();
        let ended = is_terminal(d.state());
        let Some(o) = m.get_mut(key) else { return Published { ended, changed: false } };
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
            if ended {
                metrics::deployment_ended(d.state());
            }
        }
        // Any progress (a stage moved on) keeps the polls close.
        o.reschedule(progressed);
        Published { ended, changed: progressed }
    }

    /// Marks a deployment ended here; its last state stays readable for a while.
    fn end(&self, key: &Key) {
        if let Some(o) = self.lock().get_mut(key) {
            o.ended = Some(tokio::time::Instant::now());
        }
    }

    /// Stops driving a deployment and records that it ended (with the
    /// Redis backend: its final state stays readable by every replica for
    /// a while, and the lease is released).
    async fn close(&self, key: &Key) {
        self.end(key);
        match &self.records {
            Records::Memory => {}
            Records::Journal(j) => {
                if let Err(e) = j.append(&Line::closed(key)) {
                    metrics::state_write_failed("deployments");
                    tracing::error!(error = %e, file = %j.path().display(), "cannot record that a deployment ended");
                }
            }
            Records::Shared(s) => {
                let Some(d) = self.latest(key) else { return };
                if let Err(Unreachable) = s.close(key, &d, KEEP_ENDED).await {
                    // Its lease expires; whoever takes it over closes it after one look.
                    self.redis_down();
                }
            }
        }
    }
}

/// The reconciler: polls due deployments, sleeping between turns, and with
/// the Redis backend sweeps the shared open set. Without it, ends when
/// nothing is open (the next deployment starts it again).
async fn reconcile(engine: Weak<Engine>) {
    let mut sweep_at = tokio::time::Instant::now();
    loop {
        let Some(e) = engine.upgrade() else { return };
        if let Records::Shared(s) = &e.records
            && tokio::time::Instant::now() >= sweep_at
        {
            e.sweep(s).await;
            sweep_at = tokio::time::Instant::now() + (s.lease() / 3).min(MAX_SWEEP);
        }
        if !e.tick().await && !e.always_on() {
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
