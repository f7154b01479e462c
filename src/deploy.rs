//! The deploy ledger: AIP-155 request ids make deploys safe to retry.
//!
//! The first call with a `request_id` takes an in-flight marker in a
//! [`Store`] before the vendor is called, runs the deploy in its own task
//! (so a caller that hangs up cannot leave it half-recorded), and records
//! the outcome. A repeat with the same id and the same request returns that
//! outcome (or waits for the one in flight) without a vendor call; the same
//! id with a different request is INVALID_ARGUMENT. A deploy whose vendor
//! answer was lost (timeout or reset after sending), or whose holder stopped
//! while it was in flight, is recorded as outcome-unknown and never sent
//! again. A deploy that surely never reached the vendor releases its marker.
//!
//! Stores: [`FileStore`] (`{state_dir}/deploys.jsonl`, one process) and
//! [`RedisRecords`] (every replica; `limits.backend: redis`). Records are
//! kept for `limits.idempotency_ttl`. Concurrent repeats inside one process
//! wait on the first one without asking the store.

mod redis;

pub use self::redis::RedisRecords;

use std::{
    collections::HashMap,
    io::Write,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use base64::{Engine, engine::general_purpose::STANDARD as B64};
use prost::Message;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tonic::Code;

use crate::{
    domain::{Error, Reason, VendorDetail, time::now_ms},
    pb,
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
    },
    /// Sent, but what happened is not known.
    Unknown {
        /// Why.
        message: String,
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
pub fn fingerprint(parts: &[&str]) -> String {
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
    pub fn with_store(store: Arc<dyn Store>) -> Arc<Self> {
        Arc::new(Ledger { store, flights: Mutex::new(HashMap::new()) })
    }

    /// A ledger kept in memory only (tests, or no writable state dir).
    pub fn in_memory(ttl: Duration) -> Arc<Self> {
        Self::with_store(Arc::new(FileStore::in_memory(ttl)))
    }

    /// A ledger in `{dir}/deploys.jsonl` (loaded and compacted).
    pub fn open(dir: &std::path::Path, ttl: Duration) -> std::io::Result<Arc<Self>> {
        Ok(Self::with_store(Arc::new(FileStore::open(dir, ttl)?)))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Flight>> {
        self.flights.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `deploy` once per `request_id`; see the module docs.
    pub async fn run<F>(self: &Arc<Self>, request_id: &str, fp: &str, deploy: F) -> Result<Vec<pb::Deployment>, Error>
    where
        F: std::future::Future<Output = Result<Vec<pb::Deployment>, Error>> + Send + 'static,
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
                    // hangs up cannot leave the record half-written.
                    tokio::spawn(async move {
                        let answer = me.lead(&id, &fp, deploy).await;
                        me.lock().remove(&id);
                        let _ = tx.send(Some(answer));
                    });
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
    async fn lead<F>(&self, id: &str, fp: &str, deploy: F) -> Answer
    where
        F: std::future::Future<Output = Answer> + Send + 'static,
    {
        let mut deploy = Some(deploy);
        // A marker released by another replica (nothing sent) may be taken
        // by us: a few rounds at most.
        for _ in 0..3 {
            match self.store.begin(id, fp).await? {
                Begin::Recorded { fp: f, .. } | Begin::Elsewhere { fp: f } if f != fp => return Err(reused()),
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

    /// Runs the deploy under a taken marker and records its outcome.
    async fn deploy<F>(&self, id: &str, fp: &str, ticket: &Ticket, deploy: F) -> Answer
    where
        F: std::future::Future<Output = Answer> + Send + 'static,
    {
        crate::telemetry::metrics::deploy_in_flight(1);
        let mut task = tokio::spawn(deploy);
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
        let outcome = match &result {
            Ok(d) => Some(Outcome::Done {
                response: B64.encode(pb::DeployFilesResponse { deployments: d.clone() }.encode_to_vec()),
            }),
            Err(e) if e.reason.surely_not_sent() => None,
            Err(e) if lost_answer(e) => Some(Outcome::Unknown {
                message: format!(
                    "the vendor's answer to this deploy was lost ({}); it may or may not have been deployed: check the \
                     release package or deployment state before deploying again with a new request_id",
                    e.message
                ),
            }),
            Err(e) => Some(Outcome::Failed {
                code: e.code as i32,
                reason: e.reason,
                message: e.message.clone(),
                vendor: e
                    .vendor
                    .as_ref()
                    .map(|v| (v.vendor.to_string(), v.code.clone(), v.request_id.clone(), v.http_status)),
                metadata: e.metadata.clone(),
            }),
        };
        if let Err(e) = self.store.finish(id, fp, ticket, outcome.as_ref()).await {
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

/// Records in `{state_dir}/deploys.jsonl` (an append-only log, compacted
/// on open) and in memory: for one process.
pub struct FileStore {
    path: Option<PathBuf>,
    ttl: Duration,
    records: Mutex<HashMap<String, Rec>>,
}

impl FileStore {
    /// Records kept in memory only.
    pub fn in_memory(ttl: Duration) -> Self {
        FileStore { path: None, ttl, records: Mutex::new(HashMap::new()) }
    }

    /// Loads (and compacts) `{dir}/deploys.jsonl`; markers left in flight by
    /// a stopped process read back as outcome-unknown.
    pub fn open(dir: &std::path::Path, ttl: Duration) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("deploys.jsonl");
        let mut live: HashMap<String, Line> = HashMap::new();
        if let Ok(text) = std::fs::read_to_string(&path) {
            for l in text.lines() {
                let Ok(line) = serde_json::from_str::<Line>(l) else { continue };
                if line.cleared {
                    live.remove(&line.id);
                } else {
                    live.insert(line.id.clone(), line);
                }
            }
        }
        let cutoff = now_ms() - ttl.as_millis() as i64;
        let mut records = HashMap::new();
        let mut out = String::new();
        for (id, mut line) in live {
            if line.at < cutoff {
                continue;
            }
            let outcome = line.outcome.take().unwrap_or(Outcome::Unknown { message: RESTART_UNKNOWN.into() });
            line.outcome = Some(outcome.clone());
            out.push_str(&serde_json::to_string(&line).unwrap_or_default());
            out.push('\n');
            records.insert(id, Rec { fp: line.fp, at: line.at, outcome: Some(outcome) });
        }
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, out)?;
        std::fs::rename(&tmp, &path)?;
        Ok(FileStore { path: Some(path), ttl, records: Mutex::new(records) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Rec>> {
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends `line` and syncs it to disk, on tokio's blocking threads;
    /// returns once it is durable (or its failure is logged).
    async fn append(&self, line: &Line) {
        let Some(path) = self.path.clone() else { return };
        let mut s = serde_json::to_string(line).unwrap_or_default();
        s.push('\n');
        let written = tokio::task::spawn_blocking(move || {
            let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
            f.write_all(s.as_bytes())?;
            f.sync_data()
        })
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        if let Err(e) = written {
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
                    m.insert(id.to_owned(), Rec { fp: fp.to_owned(), at, outcome: None });
                }
            }
        }
        self.append(&Line { id: id.into(), fp: fp.into(), at, outcome: None, cleared: false }).await;
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
        self.append(&Line {
            id: id.into(),
            fp: fp.into(),
            at: ticket.at,
            outcome: outcome.cloned(),
            cleared: outcome.is_none(),
        })
        .await;
        Ok(())
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

/// A write whose answer never arrived: timeouts and broken connections.
fn lost_answer(e: &Error) -> bool {
    e.reason.lost_answer()
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
        Outcome::Failed { code, reason, message, vendor, metadata } => {
            let mut e = Error::new(Code::from_i32(*code), *reason, message.clone());
            e.vendor = vendor.as_ref().map(|(v, c, r, s)| VendorDetail {
                vendor: v.clone().into(),
                code: c.clone(),
                request_id: r.clone(),
                http_status: *s,
            });
            e.metadata = metadata.clone();
            Err(e)
        }
        Outcome::Unknown { message } => Err(Error::new(Code::Unknown, Reason::DeployOutcomeUnknown, message.clone())),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn dep(n: &str) -> pb::Deployment {
        pb::Deployment { name: n.into(), ..Default::default() }
    }

    #[tokio::test]
    async fn concurrent_repeats_run_once_and_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let calls = Arc::new(AtomicUsize::new(0));
        let ledger = Ledger::open(dir.path(), Duration::from_secs(3600)).unwrap();
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
        let reopened = Ledger::open(dir.path(), Duration::from_secs(3600)).unwrap();
        let c = calls.clone();
        let again = reopened
            .run("r1", "fp", async move {
                c.fetch_add(1, Ordering::SeqCst);
                Ok(vec![])
            })
            .await
            .unwrap();
        assert_eq!(again, vec![dep("workspaces/w/deployments/1")]);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let e = reopened.run("r1", "other", async { Ok(vec![]) }).await.unwrap_err();
        assert_eq!(e.code, Code::InvalidArgument);
    }

    #[tokio::test]
    async fn records_are_on_disk_when_begin_and_finish_return() {
        let dir = tempfile::tempdir().unwrap();
        let ttl = Duration::from_secs(3600);
        let store = FileStore::open(dir.path(), ttl).unwrap();
        let Begin::Taken(ticket) = store.begin("r1", "fp").await.unwrap() else { panic!("a new id is taken") };
        // A process started now reads the marker (as outcome-unknown: its holder is not this process).
        match FileStore::open(dir.path(), ttl).unwrap().begin("r1", "fp").await.unwrap() {
            Begin::Recorded { fp, outcome: Outcome::Unknown { .. } } => assert_eq!(fp, "fp"),
            other => panic!("marker not on disk: {other:?}"),
        }
        let done = Outcome::Done { response: String::new() };
        store.finish("r1", "fp", &ticket, Some(&done)).await.unwrap();
        match FileStore::open(dir.path(), ttl).unwrap().begin("r1", "fp").await.unwrap() {
            Begin::Recorded { outcome, .. } => assert_eq!(outcome, done),
            other => panic!("outcome not on disk: {other:?}"),
        }
    }

    #[tokio::test]
    async fn lost_answers_and_interrupted_deploys_are_unknown_never_resent() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(dir.path(), Duration::from_secs(3600)).unwrap();
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
        // An in-flight marker left by a crash reads back as unknown.
        let line = Line { id: "crash".into(), fp: "fp".into(), at: now_ms(), outcome: None, cleared: false };
        let mut f = std::fs::OpenOptions::new().append(true).open(dir.path().join("deploys.jsonl")).unwrap();
        writeln!(f, "{}", serde_json::to_string(&line).unwrap()).unwrap();
        let reopened = Ledger::open(dir.path(), Duration::from_secs(3600)).unwrap();
        let e = reopened.run("crash", "fp", async { Ok(vec![]) }).await.unwrap_err();
        assert_eq!(e.code, Code::Unknown);
        // A vendor refusal is replayed as it was.
        let e = reopened
            .run("refused", "fp", async { Err(Error::new(Code::NotFound, Reason::VendorNotFound, "no such package")) })
            .await
            .unwrap_err();
        let again = reopened.run("refused", "fp", async { Ok(vec![]) }).await.unwrap_err();
        assert_eq!((again.code, again.message.clone()), (e.code, e.message.clone()));
    }
}
