//! The deploy ledger: AIP-155 request ids make deploys safe to retry.
//!
//! The first call with a `request_id` takes an in-flight marker in a
//! [`Store`] before the vendor is called, runs the deploy in its own task
//! (so a caller that hangs up cannot leave it half-recorded), and records
//! the outcome. A repeat with the same id and the same request returns that
//! outcome (or waits for the one in flight) without a vendor call; the same
//! id with a different request is INVALID_ARGUMENT. A deploy whose vendor
//! answer was lost (timeout or reset after sending) and that its driver
//! could not look up, or whose holder stopped while it was in flight, is
//! recorded as outcome-unknown with the time it was sent; a repeat looks it
//! up at the vendor (`Ledger::run_resolving`) and records what it finds,
//! deploys only when the vendor proves nothing was applied, and otherwise
//! answers outcome-unknown again. A deploy that surely never reached the
//! vendor releases its marker.
//!
//! Stores: [`FileStore`] (`{state_dir}/deploys.jsonl`, one process) and
//! [`RedisRecords`] (every replica; `limits.backend: redis`). Records are
//! kept for `limits.idempotency_ttl`. Concurrent repeats inside one process
//! wait on the first one without asking the store.
//!
//! `deploys.jsonl` is a checksummed [`Journal`]: a damaged one stops the
//! gateway at start, or with `state.on_damage: quarantine` is kept aside
//! (`deploys.jsonl.damaged-<unix-ms>`) and rewritten with the records that
//! could be read. Records may then be
//! missing, so until `idempotency_ttl` has passed since the quarantine
//! (kept in `{state_dir}/deploys.quarantine.json`), a request id the ledger
//! does not hold is refused unless it is proven new: a time-ordered UUID
//! (version 7, or 1 or 6) made after the quarantine.

mod engine;
mod redis;

pub use self::{engine::Engine, redis::RedisRecords};

use std::{
    collections::HashMap,
    path::Path,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use base64::{Engine as _, engine::general_purpose::STANDARD as B64};
use prost::Message;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tonic::Code;
use tracing::Instrument;

use crate::{
    config::OnDamage,
    domain::{Error, Fate, Looked, Reason, VendorDetail, time::now_ms},
    pb,
    state::{self, Journal, Snapshot, StateError},
};

/// What a finished deploy answered.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// The deployments (a `DeployFilesResponse`, base64 protobuf).
    Done {
        /// Encoded response.
        response: String,
    },
    /// The vendor refused it.
    Failed {
        /// gRPC code.
        code: i32,
        /// ErrorInfo reason.
        reason: Reason,
        /// Message.
        message: String,
        /// Vendor, vendor code, request id, HTTP status.
        vendor: Option<(String, String, String, u16)>,
        /// Extra metadata.
        metadata: Vec<(String, String)>,
        /// Deployments already started when it failed.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        started: Vec<String>,
    },
    /// Sent, but what happened is not known.
    Unknown {
        /// Why.
        message: String,
        /// When the deploy was sent (ms since the epoch), when known: a
        /// repeat of the request then looks its outcome up at the vendor.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<i64>,
    },
}

/// What a store holds for a request id when a deploy begins.
#[derive(Debug, Clone, PartialEq)]
pub enum Begin {
    /// The marker is ours now: deploy, then [`Store::finish`].
    Taken(Ticket),
    /// A finished deploy: its request fingerprint and outcome.
    Recorded {
        /// Fingerprint of the request that used the id.
        fp: String,
        /// What it answered.
        outcome: Outcome,
    },
    /// Another process holds the marker: [`Store::wait`] for its outcome.
    Elsewhere {
        /// Fingerprint of the request that used the id.
        fp: String,
    },
}

/// Proof of a taken marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    /// When it was taken, ms since the epoch.
    pub at: i64,
    /// Who took it (random per marker).
    pub owner: String,
}

/// Where request id → in-flight marker → outcome records live.
#[async_trait]
pub trait Store: Send + Sync {
    /// Takes the in-flight marker of `id` for the request `fp`, atomically,
    /// or tells what already holds the id. UNAVAILABLE when the store cannot
    /// be reached (the deploy is then refused, never risked).
    async fn begin(&self, id: &str, fp: &str) -> Result<Begin, Error>;

    /// Records the outcome of a taken marker, or releases the marker when
    /// `outcome` is None (nothing reached the vendor).
    async fn finish(&self, id: &str, fp: &str, ticket: &Ticket, outcome: Option<&Outcome>) -> Result<(), Error>;

    /// Turns the outcome-unknown record `unknown` of `id` back into an
    /// in-flight marker held by the caller, to resolve it; None when the
    /// record is no longer that (someone else got there first). The
    /// ticket keeps the time the deploy was first sent.
    async fn reopen(&self, id: &str, unknown: &Outcome) -> Result<Option<Ticket>, Error>;

    /// Waits until the marker held elsewhere ends: its outcome (Unknown if
    /// its holder vanished), or None when it was released.
    async fn wait(&self, id: &str) -> Result<Option<Outcome>, Error>;

    /// How often a taken marker must be renewed while its deploy runs.
    fn renew_every(&self) -> Option<Duration> {
        None
    }

    /// Renews a taken marker (its holder is alive).
    async fn renew(&self, _id: &str, _ticket: &Ticket) {}
}

/// A stable fingerprint of a deploy request (its meaning, not its bytes).
pub(crate) fn fingerprint(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    hex::encode(&h.finalize()[..16])
}

const RESTART_UNKNOWN: &str = "the gateway stopped while this deploy was in flight, so its outcome is unknown; \
    check the release package or deployment state before deploying again with a new request_id";

type Answer = Result<Vec<pb::Deployment>, Error>;

/// A deploy in flight in this process, which repeats wait on.
struct Flight {
    fp: String,
    rx: watch::Receiver<Option<Answer>>,
}

/// The ledger.
pub struct Ledger {
    store: Arc<dyn Store>,
    flights: Mutex<HashMap<String, Flight>>,
}

impl Ledger {
    /// A ledger over `store`.
    pub(crate) fn with_store(store: Arc<dyn Store>) -> Arc<Self> {
        Arc::new(Ledger { store, flights: Mutex::new(HashMap::new()) })
    }

    /// A ledger kept in memory only (tests, or no writable state dir).
    pub fn in_memory(ttl: Duration) -> Arc<Self> {
        Self::with_store(Arc::new(FileStore::in_memory(ttl)))
    }

    /// A ledger in `{dir}/deploys.jsonl` (loaded and compacted); see
    /// [`FileStore::open`].
    pub(crate) fn open(dir: &Path, ttl: Duration, on_damage: OnDamage) -> Result<Arc<Self>, StateError> {
        Ok(Self::with_store(Arc::new(FileStore::open(dir, ttl, on_damage)?)))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Flight>> {
        self.flights.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `deploy` once per `request_id`, with no lookup of lost outcomes.
    #[cfg(test)]
    pub(crate) async fn run<F>(
        self: &Arc<Self>,
        request_id: &str,
        fp: &str,
        deploy: F,
    ) -> Result<Vec<pb::Deployment>, Error>
    where
        F: std::future::Future<Output = Result<Vec<pb::Deployment>, Error>> + Send + 'static,
    {
        let cannot = |_| async { Err(unknown("no lookup")) };
        self.run_resolving(request_id, fp, deploy, cannot).await
    }

    /// Runs `deploy` once per `request_id`; see the module docs. A repeat
    /// of a deploy whose outcome is unknown looks it up with `resolve`
    /// (given when the deploy was first sent): applied, its deployments
    /// are recorded and answered; not applied, `deploy` runs now.
    pub(crate) async fn run_resolving<F, R, RF>(
        self: &Arc<Self>,
        request_id: &str,
        fp: &str,
        deploy: F,
        resolve: R,
    ) -> Result<Vec<pb::Deployment>, Error>
    where
        F: std::future::Future<Output = Result<Vec<pb::Deployment>, Error>> + Send + 'static,
        R: FnOnce(i64) -> RF + Send + 'static,
        RF: std::future::Future<Output = Result<Looked<Vec<pb::Deployment>>, Error>> + Send,
    {
        let mut rx = {
            let mut m = self.lock();
            match m.get(request_id) {
                Some(f) if f.fp != fp => return Err(reused()),
                Some(f) => f.rx.clone(),
                None => {
                    let (tx, rx) = watch::channel(None);
                    m.insert(request_id.to_owned(), Flight { fp: fp.to_owned(), rx: rx.clone() });
                    let (me, id, fp) = (self.clone(), request_id.to_owned(), fp.to_owned());
                    // The first caller's work runs on its own: a caller that
                    // hangs up cannot leave the record half-written. It stays
                    // in the caller's span, so its vendor calls keep the trace.
                    tokio::spawn(
                        async move {
                            let answer = me.lead(&id, &fp, deploy, resolve).await;
                            me.lock().remove(&id);
                            let _ = tx.send(Some(answer));
                        }
                        .in_current_span(),
                    );
                    rx
                }
            }
        };
        match rx.wait_for(Option::is_some).await {
            Ok(v) => v.clone().unwrap_or_else(|| Err(unknown(RESTART_UNKNOWN))),
            Err(_) => Err(unknown(RESTART_UNKNOWN)),
        }
    }

    /// The first caller in this process: ask the store, then replay, wait
    /// for another replica, or deploy.
    async fn lead<F, R, RF>(&self, id: &str, fp: &str, deploy: F, resolve: R) -> Answer
    where
        F: std::future::Future<Output = Answer> + Send + 'static,
        R: FnOnce(i64) -> RF + Send,
        RF: std::future::Future<Output = Result<Looked<Vec<pb::Deployment>>, Error>> + Send,
    {
        let mut deploy = Some(deploy);
        let mut resolve = Some(resolve);
        // A marker released by another replica (nothing sent) may be taken
        // by us: a few rounds at most.
        for _ in 0..3 {
            match self.store.begin(id, fp).await? {
                Begin::Recorded { fp: f, .. } | Begin::Elsewhere { fp: f } if f != fp => return Err(reused()),
                Begin::Recorded { outcome: o @ Outcome::Unknown { since: Some(_), .. }, .. } if resolve.is_some() => {
                    let Some(ticket) = self.store.reopen(id, &o).await? else { continue };
                    let (Some(resolve), Some(deploy)) = (resolve.take(), deploy.take()) else { break };
                    return self.resolve(id, fp, &ticket, &o, resolve, deploy).await;
                }
                Begin::Recorded { outcome, .. } => return replay(&outcome),
                Begin::Elsewhere { .. } => match self.store.wait(id).await? {
                    Some(outcome) => return replay(&outcome),
                    None => continue,
                },
                Begin::Taken(ticket) => match deploy.take() {
                    Some(d) => return self.deploy(id, fp, &ticket, d).await,
                    None => break,
                },
            }
        }
        Err(Error::new(
            Code::Aborted,
            Reason::DeployContended,
            "deploys with this request_id kept starting and stopping on other replicas without reaching the vendor; \
             retry the call",
        ))
    }

    /// Looks up the outcome of a deploy that was `unknown`, under its
    /// reopened marker: records what the vendor made, or deploys now when
    /// it made nothing, or records it unknown again.
    async fn resolve<F, R, RF>(
        &self,
        id: &str,
        fp: &str,
        ticket: &Ticket,
        unknown: &Outcome,
        resolve: R,
        deploy: F,
    ) -> Answer
    where
        F: std::future::Future<Output = Answer> + Send + 'static,
        R: FnOnce(i64) -> RF,
        RF: std::future::Future<Output = Result<Looked<Vec<pb::Deployment>>, Error>>,
    {
        let (outcome, answer) = match resolve(ticket.at).await {
            Ok(Looked::Applied(found)) => {
                tracing::info!(request_id = id, "a deploy whose outcome was unknown was looked up: it was applied");
                crate::telemetry::metrics::lost_write("applied");
                (outcome_of(&Ok(found.clone()), ticket.at), Ok(found))
            }
            Ok(Looked::NotApplied) => {
                tracing::info!(
                    request_id = id,
                    "a deploy whose outcome was unknown was looked up: not applied; deploying"
                );
                crate::telemetry::metrics::lost_write("not_applied");
                return self.deploy(id, fp, ticket, deploy).await;
            }
            Err(e) => {
                tracing::warn!(request_id = id, error = %e.message, "a deploy whose outcome is unknown could not be looked up");
                crate::telemetry::metrics::lost_write("unknown");
                (Some(unknown.clone()), replay(unknown))
            }
        };
        if let Err(e) = self.store.finish(id, fp, ticket, outcome.as_ref()).await {
            tracing::error!(request_id = id, error = %e.message, "cannot record a looked-up deploy outcome");
        }
        answer
    }

    /// Runs the deploy under a taken marker and records its outcome.
    async fn deploy<F>(&self, id: &str, fp: &str, ticket: &Ticket, deploy: F) -> Answer
    where
        F: std::future::Future<Output = Answer> + Send + 'static,
    {
        crate::telemetry::metrics::deploy_in_flight(1);
        let mut task = tokio::spawn(deploy.in_current_span());
        let joined = loop {
            match self.store.renew_every() {
                None => break (&mut task).await,
                Some(every) => tokio::select! {
                    r = &mut task => break r,
                    () = tokio::time::sleep(every) => self.store.renew(id, ticket).await,
                },
            }
        };
        crate::telemetry::metrics::deploy_in_flight(-1);
        let result = joined.unwrap_or_else(|e| {
            Err(Error::new(Code::Internal, Reason::DeployTaskFailed, format!("the deploy task failed: {e}")))
        });
        let outcome = outcome_of(&result, ticket.at);
        if let Err(e) = self.store.finish(id, fp, ticket, outcome.as_ref()).await {
            crate::telemetry::metrics::state_write_failed("deploys");
            tracing::error!(
                request_id = id,
                error = %e.message,
                "cannot record a deploy's outcome: repeats of this request_id will answer DEPLOY_OUTCOME_UNKNOWN"
            );
        }
        match &outcome {
            Some(o @ Outcome::Unknown { .. }) => replay(o),
            _ => result,
        }
    }
}

fn reused() -> Error {
    Error::invalid("request_id", "was already used for a different deploy request; use a new UUID")
}

fn unknown(message: &str) -> Error {
    Error::new(Code::Unknown, Reason::DeployOutcomeUnknown, message)
}

/// One line of `deploys.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Line {
    id: String,
    fp: String,
    at: i64,
    /// None = in flight; absent after `cleared`.
    outcome: Option<Outcome>,
    #[serde(default)]
    cleared: bool,
}

/// A record in the file store.
#[derive(Debug, Clone)]
struct Rec {
    fp: String,
    at: i64,
    /// None = in flight in this process.
    outcome: Option<Outcome>,
}

/// The quarantine of a damaged ledger (`{state_dir}/deploys.quarantine.json`).
#[derive(Debug, Serialize, Deserialize)]
struct Quarantine {
    /// When the damage was found, ms since the epoch.
    since: i64,
}

/// Deploys that may repeat a record lost with a damaged ledger: refused
/// until `until` unless their request id is proven new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Guard {
    /// When the ledger was quarantined, ms since the epoch.
    since: i64,
    /// When the lost records would have expired anyway.
    until: i64,
}

impl Guard {
    /// Whether a request id the ledger does not hold may deploy at `now`.
    fn admit(&self, id: &str, now: i64) -> Result<(), Error> {
        if now >= self.until || made_after(id, self.since) {
            return Ok(());
        }
        let at = |ms: i64| jiff::Timestamp::from_millisecond(ms).map(|t| t.to_string()).unwrap_or_default();
        Err(Error::new(
            Code::FailedPrecondition,
            Reason::DeployLedgerDamaged,
            format!(
                "this gateway found its deploy records damaged and set them aside at {}, so a deploy recorded before \
                 then may be missing and this request_id cannot be checked against it; until {} only a request_id \
                 that is on record or proven new is accepted: a time-ordered UUID (version 7, or 1 or 6) made after \
                 {}. Nothing was deployed. If this call retries an earlier deploy, check the release package or \
                 deployment state first; then send the deploy with a new UUIDv7 request_id",
                at(self.since),
                at(self.until),
                at(self.since)
            ),
        ))
    }
}

/// Whether `id` is a time-ordered UUID (version 1, 6 or 7) whose
/// timestamp is after `since` (ms since the epoch).
fn made_after(id: &str, since: i64) -> bool {
    uuid::Uuid::try_parse(id).ok().and_then(|u| u.get_timestamp()).is_some_and(|t| {
        let (secs, nanos) = t.to_unix();
        i128::from(secs) * 1000 + i128::from(nanos / 1_000_000) > i128::from(since)
    })
}

/// Records in `{state_dir}/deploys.jsonl` (an append-only checksummed
/// journal, compacted on open) and in memory: for one process.
pub(crate) struct FileStore {
    journal: Option<Journal>,
    ttl: Duration,
    records: Mutex<HashMap<String, Rec>>,
    guard: Option<Guard>,
}

impl FileStore {
    /// Records kept in memory only.
    pub(crate) fn in_memory(ttl: Duration) -> Self {
        FileStore { journal: None, ttl, records: Mutex::new(HashMap::new()), guard: None }
    }

    /// Loads (and compacts) `{dir}/deploys.jsonl`; markers left in flight by
    /// a stopped process read back as outcome-unknown. A damaged file is an
    /// error, or quarantined (see the module docs).
    pub(crate) fn open(dir: &Path, ttl: Duration, on_damage: OnDamage) -> Result<Self, StateError> {
        std::fs::create_dir_all(dir).map_err(StateError::io(dir))?;
        let now = now_ms();
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let journal = Journal::at(dir.join("deploys.jsonl"));
        let contents = journal.read::<Line>()?;
        let guard = Self::guard(dir, contents.damage, on_damage, now, ttl_ms)?;
        let mut live: HashMap<String, Line> = HashMap::new();
        for line in contents.records {
            if line.cleared {
                live.remove(&line.id);
            } else {
                live.insert(line.id.clone(), line);
            }
        }
        let cutoff = now - ttl_ms;
        let mut records = HashMap::new();
        let mut kept = Vec::new();
        for (id, mut line) in live {
            if line.at < cutoff {
                continue;
            }
            let outcome = line
                .outcome
                .take()
                .unwrap_or(Outcome::Unknown { message: RESTART_UNKNOWN.into(), since: Some(line.at) });
            line.outcome = Some(outcome.clone());
            records.insert(id, Rec { fp: line.fp.clone(), at: line.at, outcome: Some(outcome) });
            kept.push(line);
        }
        journal.rewrite(&kept).map_err(StateError::io(journal.path()))?;
        Ok(FileStore { journal: Some(journal), ttl, records: Mutex::new(records), guard })
    }

    /// The quarantine of the ledger in `dir`: started now if the journal
    /// (`damage`) or the quarantine file itself is damaged, kept from an
    /// earlier start, or ended once `ttl_ms` has passed since it began.
    fn guard(
        dir: &Path,
        damage: Option<state::Damage>,
        on_damage: OnDamage,
        now: i64,
        ttl_ms: i64,
    ) -> Result<Option<Guard>, StateError> {
        let path = dir.join("deploys.quarantine.json");
        let file = Snapshot::at(&path);
        let (mut since, own_damage) = match file.read::<Quarantine>() {
            Ok(q) => (q.map(|q| q.since), None),
            Err(StateError::Damaged(d)) => (None, Some(d)),
            Err(e) => return Err(e),
        };
        // Damaged files are kept aside before they are replaced, and the
        // quarantine is on disk before the journal is rewritten.
        let damaged: Vec<_> = [own_damage, damage].into_iter().flatten().collect();
        if !damaged.is_empty() {
            for d in damaged {
                state::quarantine(on_damage, d, "deploys", now)?;
            }
            file.write(&Quarantine { since: now }).map_err(StateError::io(&path))?;
            since = Some(now);
        }
        match since.map(|since| Guard { since, until: since.saturating_add(ttl_ms) }) {
            Some(g) if g.until <= now => {
                std::fs::remove_file(&path).map_err(StateError::io(&path))?;
                tracing::info!(file = %path.display(), "the deploy ledger's quarantine has ended");
                Ok(None)
            }
            Some(g) => {
                tracing::error!(
                    until = %jiff::Timestamp::from_millisecond(g.until).map(|t| t.to_string()).unwrap_or_default(),
                    "the deploy ledger was damaged and quarantined: deploys whose request_id is neither on record \
                     nor a UUIDv7 made after the quarantine are refused (DEPLOY_LEDGER_DAMAGED)"
                );
                Ok(Some(g))
            }
            None => Ok(None),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Rec>> {
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends `line` and syncs it to disk, on tokio's blocking threads;
    /// returns once it is durable (or its failure is logged).
    async fn append(&self, line: Line) {
        let Some(journal) = self.journal.clone() else { return };
        let written = tokio::task::spawn_blocking(move || journal.append(&line))
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        if let Err(e) = written {
            crate::telemetry::metrics::state_write_failed("deploys");
            tracing::error!(error = %e, "cannot write the deploy ledger; a retried deploy after a restart may not be recognised");
        }
    }
}

#[async_trait]
impl Store for FileStore {
    async fn begin(&self, id: &str, fp: &str) -> Result<Begin, Error> {
        let at = now_ms();
        {
            let mut m = self.lock();
            let cutoff = at - self.ttl.as_millis() as i64;
            m.retain(|_, r| r.outcome.is_none() || r.at >= cutoff);
            match m.get(id) {
                Some(Rec { fp: f, outcome: Some(o), .. }) => {
                    return Ok(Begin::Recorded { fp: f.clone(), outcome: o.clone() });
                }
                Some(Rec { fp: f, outcome: None, .. }) => return Ok(Begin::Elsewhere { fp: f.clone() }),
                None => {
                    if let Some(g) = &self.guard {
                        g.admit(id, at)?;
                    }
                    m.insert(id.to_owned(), Rec { fp: fp.to_owned(), at, outcome: None });
                }
            }
        }
        self.append(Line { id: id.into(), fp: fp.into(), at, outcome: None, cleared: false }).await;
        Ok(Begin::Taken(Ticket { at, owner: String::new() }))
    }

    async fn finish(&self, id: &str, fp: &str, ticket: &Ticket, outcome: Option<&Outcome>) -> Result<(), Error> {
        {
            let mut m = self.lock();
            match outcome {
                Some(o) => {
                    m.insert(id.to_owned(), Rec { fp: fp.to_owned(), at: ticket.at, outcome: Some(o.clone()) });
                }
                None => {
                    m.remove(id);
                }
            }
        }
        self.append(Line {
            id: id.into(),
            fp: fp.into(),
            at: ticket.at,
            outcome: outcome.cloned(),
            cleared: outcome.is_none(),
        })
        .await;
        Ok(())
    }

    async fn reopen(&self, id: &str, unknown: &Outcome) -> Result<Option<Ticket>, Error> {
        let (fp, at) = {
            let mut m = self.lock();
            match m.get_mut(id) {
                Some(r) if r.outcome.as_ref() == Some(unknown) => {
                    r.outcome = None;
                    (r.fp.clone(), r.at)
                }
                _ => return Ok(None),
            }
        };
        self.append(Line { id: id.into(), fp, at, outcome: None, cleared: false }).await;
        Ok(Some(Ticket { at, owner: String::new() }))
    }

    async fn wait(&self, id: &str) -> Result<Option<Outcome>, Error> {
        // Only reached when two ledgers share one store: poll memory.
        loop {
            match self.lock().get(id) {
                Some(Rec { outcome: Some(o), .. }) => return Ok(Some(o.clone())),
                Some(_) => {}
                None => return Ok(None),
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// What a finished deploy leaves in its record, by what its error proves:
/// only an answer proven "not applied" (refused before any request left,
/// or throttled, with nothing started) frees the request_id for another
/// try; a vendor refusal is replayed; anything that may have been applied
/// (5xx, lost or unreadable answer, a failed task) is outcome-unknown and
/// never re-sent.
fn outcome_of(result: &Answer, sent_at: i64) -> Option<Outcome> {
    let e = match result {
        Ok(d) => {
            return Some(Outcome::Done {
                response: B64.encode(pb::DeployFilesResponse { deployments: d.clone() }.encode_to_vec()),
            });
        }
        Err(e) => e,
    };
    let failed = || Outcome::Failed {
        code: e.code as i32,
        reason: e.reason,
        message: e.message.clone(),
        vendor: e.vendor.as_ref().map(|v| (v.vendor.to_string(), v.code.clone(), v.request_id.clone(), v.http_status)),
        metadata: e.metadata.clone(),
        started: e.started.clone(),
    };
    match e.reason.fate() {
        Fate::NotSent | Fate::Throttled if e.started.is_empty() => None,
        Fate::NotSent | Fate::Throttled | Fate::Refused => Some(failed()),
        Fate::VendorFailed | Fate::AnswerLost | Fate::Unreadable | Fate::Gateway => Some(Outcome::Unknown {
            message: format!(
                "the vendor may have applied this deploy, but its answer was lost or unreadable ({}); check the \
                 release package or deployment state before deploying again with a new request_id",
                e.message
            ),
            since: Some(sent_at),
        }),
    }
}

fn replay(o: &Outcome) -> Result<Vec<pb::Deployment>, Error> {
    match o {
        Outcome::Done { response } => B64
            .decode(response)
            .ok()
            .and_then(|b| pb::DeployFilesResponse::decode(b.as_slice()).ok())
            .map(|r| r.deployments)
            .ok_or_else(|| {
                Error::new(
                    Code::Internal,
                    Reason::DeployRecordUnreadable,
                    "the stored outcome of this deploy is unreadable",
                )
            }),
        Outcome::Failed { code, reason, message, vendor, metadata, started } => {
            let mut e = Error::new(Code::from_i32(*code), *reason, message.clone());
            e.vendor = vendor.as_ref().map(|(v, c, r, s)| VendorDetail {
                vendor: v.clone().into(),
                code: c.clone(),
                request_id: r.clone(),
                http_status: *s,
            });
            e.metadata = metadata.clone();
            e.started = started.clone();
            Err(e)
        }
        Outcome::Unknown { message, .. } => {
            Err(Error::new(Code::Unknown, Reason::DeployOutcomeUnknown, message.clone()))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn dep(n: &str) -> pb::Deployment {
        pb::Deployment { name: n.into(), ..Default::default() }
    }

    /// A deploy that counts its runs in `calls` and deploys nothing.
    fn counted(calls: &Arc<AtomicUsize>) -> impl std::future::Future<Output = Answer> + Send + 'static {
        let c = calls.clone();
        async move {
            c.fetch_add(1, Ordering::SeqCst);
            Ok(vec![])
        }
    }

    #[tokio::test]
    async fn concurrent_repeats_run_once_and_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let calls = Arc::new(AtomicUsize::new(0));
        let ledger = Ledger::open(dir.path(), Duration::from_secs(3600), OnDamage::Fail).unwrap();
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (l, c) = (ledger.clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                l.run("r1", "fp", async move {
                    c.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Ok(vec![dep("workspaces/w/deployments/1")])
                })
                .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap(), vec![dep("workspaces/w/deployments/1")]);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let reopened = Ledger::open(dir.path(), Duration::from_secs(3600), OnDamage::Fail).unwrap();
        let again = reopened.run("r1", "fp", counted(&calls)).await.unwrap();
        assert_eq!(again, vec![dep("workspaces/w/deployments/1")]);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let e = reopened.run("r1", "other", async { Ok(vec![]) }).await.unwrap_err();
        assert_eq!(e.code, Code::InvalidArgument);
    }

    #[tokio::test]
    async fn records_are_on_disk_when_begin_and_finish_return() {
        let dir = tempfile::tempdir().unwrap();
        let ttl = Duration::from_secs(3600);
        let store = FileStore::open(dir.path(), ttl, OnDamage::Fail).unwrap();
        let Begin::Taken(ticket) = store.begin("r1", "fp").await.unwrap() else { panic!("a new id is taken") };
        // A process started now reads the marker (as outcome-unknown: its holder is not this process).
        match FileStore::open(dir.path(), ttl, OnDamage::Fail).unwrap().begin("r1", "fp").await.unwrap() {
            Begin::Recorded { fp, outcome: Outcome::Unknown { .. } } => assert_eq!(fp, "fp"),
            other => panic!("marker not on disk: {other:?}"),
        }
        let done = Outcome::Done { response: String::new() };
        store.finish("r1", "fp", &ticket, Some(&done)).await.unwrap();
        match FileStore::open(dir.path(), ttl, OnDamage::Fail).unwrap().begin("r1", "fp").await.unwrap() {
            Begin::Recorded { outcome, .. } => assert_eq!(outcome, done),
            other => panic!("outcome not on disk: {other:?}"),
        }
    }

    #[tokio::test]
    async fn only_answers_proven_not_applied_free_the_request_id() {
        let ledger = Ledger::in_memory(Duration::from_secs(3600));
        let fail = |code, reason| Error::new(code, reason, "scripted");
        // Throttled by the vendor, nothing started: the same id deploys on a retry.
        let e = ledger.run("429", "fp", async move { Err(fail(Code::Unavailable, Reason::VendorThrottled)) }).await;
        assert_eq!(e.unwrap_err().reason, Reason::VendorThrottled);
        assert!(ledger.run("429", "fp", async { Ok(vec![dep("d1")]) }).await.is_ok());
        // A 5xx or an unreadable answer after sending may have been applied:
        // outcome-unknown, never re-sent, never INTERNAL/UNAVAILABLE to retry on.
        for (id, reason) in [("5xx", Reason::VendorUnavailable), ("garbled", Reason::VendorResponseMalformed)] {
            let e = ledger.run(id, "fp", async move { Err(fail(Code::Unavailable, reason)) }).await.unwrap_err();
            assert_eq!((e.code, e.reason), (Code::Unknown, Reason::DeployOutcomeUnknown), "{id}");
            let again = ledger.run(id, "fp", async { Ok(vec![dep("never")]) }).await.unwrap_err();
            assert_eq!(again.reason, Reason::DeployOutcomeUnknown, "{id}: not re-sent");
        }
        // Throttled after another item was already deployed: replayed, so a
        // retry cannot deploy the first item twice.
        let partial = async move {
            let mut e = fail(Code::Unavailable, Reason::VendorThrottled);
            e.started = vec!["workspaces/w/deployments/1".into()];
            Err(e)
        };
        let e = ledger.run("partial", "fp", partial).await.unwrap_err();
        let again = ledger.run("partial", "fp", async { Ok(vec![dep("twice")]) }).await.unwrap_err();
        assert_eq!((again.reason, again.message.clone()), (e.reason, e.message.clone()));
        let info = tonic_types::StatusExt::get_details_error_info(&tonic::Status::from(again)).unwrap();
        assert_eq!(info.metadata["started_deployments"], "workspaces/w/deployments/1");
    }

    #[tokio::test]
    async fn lost_answers_and_interrupted_deploys_are_unknown_never_resent() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(dir.path(), Duration::from_secs(3600), OnDamage::Fail).unwrap();
        let e = ledger
            .run("lost", "fp", async { Err(Error::new(Code::Unavailable, Reason::VendorTimeout, "timed out")) })
            .await
            .unwrap_err();
        assert_eq!(e.reason, Reason::DeployOutcomeUnknown);
        let e = ledger.run("lost", "fp", async { Ok(vec![]) }).await.unwrap_err();
        assert_eq!(e.reason, Reason::DeployOutcomeUnknown, "not re-sent");
        // Nothing was sent: the same id may be tried again.
        let _ = ledger
            .run("early", "fp", async { Err(Error::new(Code::ResourceExhausted, Reason::RateLimited, "wait")) })
            .await;
        assert!(ledger.run("early", "fp", async { Ok(vec![dep("d")]) }).await.is_ok());
        let reopened = Ledger::open(dir.path(), Duration::from_secs(3600), OnDamage::Fail).unwrap();
        // A vendor refusal is replayed as it was.
        let e = reopened
            .run("refused", "fp", async { Err(Error::new(Code::NotFound, Reason::VendorNotFound, "no such package")) })
            .await
            .unwrap_err();
        let again = reopened.run("refused", "fp", async { Ok(vec![]) }).await.unwrap_err();
        assert_eq!((again.code, again.message.clone()), (e.code, e.message.clone()));
    }

    const HOUR: Duration = Duration::from_secs(3600);

    fn line(id: &str, outcome: Option<Outcome>) -> Line {
        Line { id: id.into(), fp: "fp".into(), at: now_ms(), outcome, cleared: false }
    }

    fn done() -> Outcome {
        Outcome::Done { response: String::new() }
    }

    fn append(dir: &Path, bytes: &[u8]) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("deploys.jsonl")).unwrap();
        f.write_all(bytes).unwrap();
    }

    /// A ledger in `dir`: "a" done, the `bad` line, "b" in flight; its bytes.
    fn damaged_ledger(dir: &Path, bad: &[u8]) -> Vec<u8> {
        let j = Journal::at(dir.join("deploys.jsonl"));
        j.append(&line("a", Some(done()))).unwrap();
        append(dir, bad);
        j.append(&line("b", None)).unwrap();
        std::fs::read(j.path()).unwrap()
    }

    async fn recorded(store: &FileStore, id: &str) -> Outcome {
        match store.begin(id, "fp").await.unwrap() {
            Begin::Recorded { outcome, .. } => outcome,
            other => panic!("{id} is not on record: {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_marker_without_outcome_replays_as_unknown_after_a_restart_and_is_never_resent() {
        let dir = tempfile::tempdir().unwrap();
        // The gateway was killed mid-deploy: its marker is on disk, no outcome.
        Journal::at(dir.path().join("deploys.jsonl")).append(&line("crash", None)).unwrap();
        let store = FileStore::open(dir.path(), HOUR, OnDamage::Fail).unwrap();
        assert!(matches!(recorded(&store, "crash").await, Outcome::Unknown { .. }));
        let calls = Arc::new(AtomicUsize::new(0));
        for _ in 0..2 {
            let ledger = Ledger::open(dir.path(), HOUR, OnDamage::Fail).unwrap();
            let e = ledger.run("crash", "fp", counted(&calls)).await.unwrap_err();
            assert_eq!((e.code, e.reason), (Code::Unknown, Reason::DeployOutcomeUnknown));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 0, "never re-sent, across two restarts");
    }

    #[tokio::test]
    async fn a_damaged_ledger_stops_the_open_naming_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let before = damaged_ledger(dir.path(), b"{\"sum\":\"0000000000000000\",\"rec\":{}}\n");
        let e = FileStore::open(dir.path(), HOUR, OnDamage::Fail).err().expect("damage is an error").to_string();
        assert!(e.contains("deploys.jsonl is damaged at line 2: its checksum does not match"), "{e}");
        assert_eq!(std::fs::read(dir.path().join("deploys.jsonl")).unwrap(), before, "left as it was");
    }

    #[tokio::test]
    async fn a_stray_last_byte_is_a_torn_line_and_the_records_stay() {
        let dir = tempfile::tempdir().unwrap();
        Journal::at(dir.path().join("deploys.jsonl")).append(&line("a", Some(done()))).unwrap();
        append(dir.path(), &[0x9c]);
        let store = FileStore::open(dir.path(), HOUR, OnDamage::Fail).unwrap();
        assert_eq!(recorded(&store, "a").await, done(), "a repeat is answered from its record");
        let text = std::fs::read_to_string(dir.path().join("deploys.jsonl")).unwrap();
        assert!(text.ends_with('\n') && text.lines().count() == 1, "rewritten without the torn line: {text}");
    }

    #[tokio::test]
    async fn the_previous_format_is_read_and_rewritten_with_checksums() {
        let dir = tempfile::tempdir().unwrap();
        let old = [line("a", Some(done())), line("b", None)];
        let text: String = old.iter().map(|l| serde_json::to_string(l).unwrap() + "\n").collect();
        append(dir.path(), text.as_bytes());
        let store = FileStore::open(dir.path(), HOUR, OnDamage::Fail).unwrap();
        assert_eq!(recorded(&store, "a").await, done());
        assert!(matches!(recorded(&store, "b").await, Outcome::Unknown { .. }));
        let text = std::fs::read_to_string(dir.path().join("deploys.jsonl")).unwrap();
        assert!(text.lines().count() == 2 && text.lines().all(|l| l.starts_with("{\"sum\":")), "{text}");
    }

    #[test]
    fn a_quarantined_ledger_admits_only_ids_proven_new_until_the_ttl_has_passed() {
        let since: i64 = 1_800_000_000_000;
        let g = Guard { since, until: since + 3_600_000 };
        let v7 = |ms: i64| {
            let ts = uuid::Timestamp::from_unix(uuid::NoContext, (ms / 1000) as u64, (ms % 1000) as u32 * 1_000_000);
            uuid::Uuid::new_v7(ts).hyphenated().to_string()
        };
        let now = since + 60_000;
        assert!(g.admit(&v7(since + 1), now).is_ok(), "a UUIDv7 made after the quarantine");
        assert!(g.admit(&v7(now + 5_000), now).is_ok(), "a caller's clock a little ahead");
        for old in
            [v7(since), v7(since - 1), uuid::Uuid::new_v4().to_string(), "1b4e28ba-2fa1-11d2-883f-0016d3cca427".into()]
        {
            let e = g.admit(&old, now).unwrap_err();
            assert_eq!((e.code, e.reason), (Code::FailedPrecondition, Reason::DeployLedgerDamaged), "{old}");
            assert!(
                e.message.contains("new UUIDv7 request_id") && e.message.contains("2027-01-15T08:00:00Z"),
                "{}",
                e.message
            );
        }
        // A version 1 (or 6) UUID carries a time too.
        assert!(made_after("c232ab00-9414-11ec-b3c8-9f6bdeced846", 1_645_557_000_000), "v1 of 2022-02-22");
        assert!(!made_after("c232ab00-9414-11ec-b3c8-9f6bdeced846", 1_645_558_000_000));
        // After idempotency_ttl every lost record would have expired anyway.
        assert!(g.admit(&uuid::Uuid::new_v4().to_string(), g.until).is_ok());
    }

    #[tokio::test]
    async fn quarantine_keeps_readable_records_and_remembers_it_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let damaged = damaged_ledger(dir.path(), b"\xff not a record\n");
        let store = FileStore::open(dir.path(), HOUR, OnDamage::Quarantine).unwrap();
        assert_eq!(recorded(&store, "a").await, done());
        assert!(matches!(recorded(&store, "b").await, Outcome::Unknown { .. }));
        let aside = state::kept_aside(dir.path(), "deploys.jsonl");
        assert_eq!(aside.len(), 1, "{aside:?}");
        assert_eq!(std::fs::read(dir.path().join(&aside[0])).unwrap(), damaged, "kept as it was");
        let old = uuid::Uuid::new_v4().to_string();
        let e = store.begin(&old, "fp").await.unwrap_err();
        assert_eq!(e.code, Code::FailedPrecondition);
        // Made a second after the quarantine began (`now_v7` could fall in
        // the quarantine's own millisecond, which is not after it).
        let ms = now_ms() + 1_000;
        let ts = uuid::Timestamp::from_unix(uuid::NoContext, (ms / 1000) as u64, (ms % 1000) as u32 * 1_000_000);
        let fresh = uuid::Uuid::new_v7(ts).to_string();
        assert!(matches!(store.begin(&fresh, "fp").await.unwrap(), Begin::Taken(_)));
        // A restart (the file is clean now) still refuses, and knows the new record.
        let store = FileStore::open(dir.path(), HOUR, OnDamage::Fail).unwrap();
        assert_eq!(store.begin(&old, "fp").await.unwrap_err().reason, Reason::DeployLedgerDamaged);
        assert!(matches!(recorded(&store, &fresh).await, Outcome::Unknown { .. }));
        // Once idempotency_ttl has passed since the quarantine, it ends.
        let guard = dir.path().join("deploys.quarantine.json");
        Snapshot::at(&guard).write(&Quarantine { since: now_ms() - 2 * 3_600_000 }).unwrap();
        let store = FileStore::open(dir.path(), HOUR, OnDamage::Fail).unwrap();
        assert!(matches!(store.begin(&old, "fp").await.unwrap(), Begin::Taken(_)));
        assert!(!guard.exists());
    }
}
