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

use crate::{
    domain::{CallCtx, Router, is_terminal},
    pb,
    state::{Journal, StateError},
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

/// One line of `deployments.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Line {
    workspace: String,
    id: String,
    open: bool,
    /// The deploy call's request_id (absent in lines of older releases).
    #[serde(default)]
    request_id: String,
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
    /// resuming those a previous run left open.
    pub(crate) fn open(router: Router, dir: &Path) -> Result<Arc<Self>, StateError> {
        let journal = Journal::at(dir.join("deployments.jsonl"));
        std::fs::create_dir_all(dir).map_err(StateError::io(journal.path()))?;
        let mut open: HashMap<Key, (bool, String)> = HashMap::new();
        for line in journal.read::<Line>()?.records {
            open.insert((line.workspace, line.id), (line.open, line.request_id));
        }
        let still: Vec<Line> = open
            .into_iter()
            .filter(|(_, (o, _))| *o)
            .map(|((workspace, id), (_, request_id))| Line { workspace, id, open: true, request_id })
            .collect();
        journal.rewrite(still.iter()).map_err(StateError::io(journal.path()))?;
        let engine = Arc::new(Engine { router, open: Mutex::default(), journal: Some(journal), running: false.into() });
        for l in &still {
            let name = format!("workspaces/{}/deployments/{}", l.workspace, l.id);
            let d = pb::Deployment { name, request_id: l.request_id.clone(), ..Default::default() };
            engine.insert(&l.workspace, &l.id, d);
        }
        if !still.is_empty() {
            tracing::info!(deployments = still.len(), "resuming deployments left open by the previous run");
        }
        Ok(engine)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Open>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn insert(self: &Arc<Self>, workspace: &str, id: &str, d: pb::Deployment) {
        let open = Open {
            latest: watch::Sender::new(d),
            origin: tracing::Span::current(),
            next: tokio::time::Instant::now() + FIRST_POLL,
            pause: FIRST_POLL,
            ended: None,
        };
        self.lock().insert((workspace.to_owned(), id.to_owned()), open);
        self.start();
    }

    /// Takes over the deployments a deploy call in `workspace` started:
    /// those not yet ended are driven from now on.
    pub(crate) fn track(self: &Arc<Self>, workspace: &str, deployments: &[pb::Deployment]) {
        for d in deployments {
            let Some((_, id)) = d.name.rsplit_once("/deployments/") else { continue };
            if is_terminal(d.state()) || self.lock().contains_key(&(workspace.to_owned(), id.to_owned())) {
                continue;
            }
            self.record(&Line {
                workspace: workspace.to_owned(),
                id: id.to_owned(),
                open: true,
                request_id: d.request_id.clone(),
            });
            self.insert(workspace, id, d.clone());
        }
    }

    /// The latest state of a deployment the engine drives, to read or
    /// follow; None for one it does not know (then the vendor is read).
    pub(crate) fn watch(&self, workspace: &str, id: &str) -> Option<watch::Receiver<pb::Deployment>> {
        self.lock().get(&(workspace.to_owned(), id.to_owned())).map(|o| o.latest.subscribe())
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
        let looked = ws.adapter.advance(&ctx, id).await;
        let mut m = self.lock();
        let Some(o) = m.get_mut(&key) else { return };
        match looked {
            Ok(mut d) => {
                let ended = is_terminal(d.state());
                let mut progressed = false;
                let moved = o.latest.send_if_modified(|last| {
                    // What the deploy call knew and the vendor does not report.
                    if d.request_id.is_empty() {
                        d.request_id.clone_from(&last.request_id);
                    }
                    if d.files.is_empty() {
                        d.files.clone_from(&last.files);
                    }
                    if d.startup_mode == 0 {
                        d.startup_mode = last.startup_mode;
                    }
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
                        workspace,
                        deployment = %d.name,
                        state = d.state().as_str_name(),
                        "deployment state changed"
                    );
                }
                // Any progress (a stage moved on) keeps the polls close.
                o.reschedule(progressed);
                if ended {
                    drop(m);
                    self.close(&key);
                }
            }
            Err(e) => {
                o.reschedule(false);
                tracing::warn!(workspace, id, reason = %e.reason, error = %e.message, "cannot look at a deployment; will retry");
            }
        }
    }

    /// Stops driving a deployment; its last state stays readable for a while.
    fn close(&self, key: &Key) {
        if let Some(o) = self.lock().get_mut(key) {
            o.ended = Some(tokio::time::Instant::now());
        }
        self.record(&Line { workspace: key.0.clone(), id: key.1.clone(), open: false, request_id: String::new() });
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
