//! The deploy ledger: AIP-155 request ids make deploys safe to retry.
//!
//! The first call with a `request_id` records an in-flight marker (on disk
//! before the vendor is called), runs the deploy in its own task (so a
//! caller that hangs up cannot leave it half-recorded), and records the
//! outcome. A repeat with the same id and the same request returns that
//! outcome (or waits for the one in flight) without a vendor call; the same
//! id with a different request is INVALID_ARGUMENT. A deploy whose vendor
//! answer was lost (timeout or reset after sending), or that was in flight
//! when the gateway stopped, is recorded as outcome-unknown and never sent
//! again. Records live in `{state_dir}/deploys.jsonl` for
//! `limits.idempotency_ttl`.

use std::{
    collections::HashMap,
    io::Write,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use base64::{Engine, engine::general_purpose::STANDARD as B64};
use futures::FutureExt;
use prost::Message;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tonic::Code;

use crate::{
    domain::{Error, VendorDetail, time::now_ms},
    pb,
    vendor::guard::surely_not_sent,
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
        reason: String,
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

enum Entry {
    InFlight { fp: String, rx: watch::Receiver<Option<Result<Vec<pb::Deployment>, Error>>> },
    Finished { fp: String, at: i64, outcome: Outcome },
}

/// The ledger.
pub struct Ledger {
    path: Option<PathBuf>,
    ttl: Duration,
    entries: Mutex<HashMap<String, Entry>>,
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

impl Ledger {
    /// A ledger kept in memory only (tests, or no writable state dir).
    pub fn in_memory(ttl: Duration) -> Arc<Self> {
        Arc::new(Ledger { path: None, ttl, entries: Mutex::new(HashMap::new()) })
    }

    /// Loads (and compacts) `{dir}/deploys.jsonl`.
    pub fn open(dir: &std::path::Path, ttl: Duration) -> std::io::Result<Arc<Self>> {
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
        let mut entries = HashMap::new();
        let mut out = String::new();
        for (id, mut line) in live {
            if line.at < cutoff {
                continue;
            }
            let outcome = line.outcome.take().unwrap_or(Outcome::Unknown { message: RESTART_UNKNOWN.into() });
            line.outcome = Some(outcome.clone());
            out.push_str(&serde_json::to_string(&line).unwrap_or_default());
            out.push('\n');
            entries.insert(id, Entry::Finished { fp: line.fp, at: line.at, outcome });
        }
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, out)?;
        std::fs::rename(&tmp, &path)?;
        Ok(Arc::new(Ledger { path: Some(path), ttl, entries: Mutex::new(entries) }))
    }

    fn append(&self, line: &Line) {
        let Some(path) = &self.path else { return };
        let written = std::fs::OpenOptions::new().create(true).append(true).open(path).and_then(|mut f| {
            let mut s = serde_json::to_string(line).unwrap_or_default();
            s.push('\n');
            f.write_all(s.as_bytes())?;
            f.sync_data()
        });
        if let Err(e) = written {
            tracing::error!(error = %e, "cannot write the deploy ledger; a retried deploy after a restart may not be recognised");
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `deploy` once per `request_id`; see the module docs.
    pub async fn run<F>(&self, request_id: &str, fp: &str, deploy: F) -> Result<Vec<pb::Deployment>, Error>
    where
        F: std::future::Future<Output = Result<Vec<pb::Deployment>, Error>> + Send + 'static,
    {
        let reused = || Error::invalid("request_id", "was already used for a different deploy request; use a new UUID");
        enum Next {
            Replay(Result<Vec<pb::Deployment>, Error>),
            Wait(watch::Receiver<Option<Result<Vec<pb::Deployment>, Error>>>),
            Run(watch::Sender<Option<Result<Vec<pb::Deployment>, Error>>>),
        }
        let next = {
            let mut m = self.lock();
            self.prune(&mut m);
            match m.get(request_id) {
                Some(Entry::Finished { fp: f, .. } | Entry::InFlight { fp: f, .. }) if f != fp => {
                    Next::Replay(Err(reused()))
                }
                Some(Entry::Finished { outcome, .. }) => Next::Replay(replay(outcome)),
                Some(Entry::InFlight { rx, .. }) => Next::Wait(rx.clone()),
                None => {
                    let (tx, rx) = watch::channel(None);
                    m.insert(request_id.to_owned(), Entry::InFlight { fp: fp.to_owned(), rx });
                    Next::Run(tx)
                }
            }
        };
        let tx = match next {
            Next::Replay(r) => return r,
            Next::Wait(mut rx) => {
                return match rx.wait_for(Option::is_some).await {
                    Ok(v) => v
                        .clone()
                        .unwrap_or_else(|| Err(Error::new(Code::Unknown, "DEPLOY_OUTCOME_UNKNOWN", RESTART_UNKNOWN))),
                    Err(_) => Err(Error::new(Code::Unknown, "DEPLOY_OUTCOME_UNKNOWN", RESTART_UNKNOWN)),
                };
            }
            Next::Run(tx) => tx,
        };
        let at = now_ms();
        self.append(&Line { id: request_id.into(), fp: fp.into(), at, outcome: None, cleared: false });
        crate::telemetry::metrics::deploy_in_flight(1);
        let joined = tokio::spawn(deploy).map(|r| r.map_err(|e| e.to_string())).await;
        crate::telemetry::metrics::deploy_in_flight(-1);
        let result = match joined {
            Ok(r) => r,
            Err(panic) => {
                Err(Error::new(Code::Internal, "DEPLOY_TASK_FAILED", format!("the deploy task failed: {panic}")))
            }
        };
        let outcome = match &result {
            Ok(d) => Some(Outcome::Done {
                response: B64.encode(pb::DeployFilesResponse { deployments: d.clone() }.encode_to_vec()),
            }),
            Err(e) if surely_not_sent(e) => None,
            Err(e) if lost_answer(e) => Some(Outcome::Unknown {
                message: format!(
                    "the vendor's answer to this deploy was lost ({}); it may or may not have been deployed: check the \
                     release package or deployment state before deploying again with a new request_id",
                    e.message
                ),
            }),
            Err(e) => Some(Outcome::Failed {
                code: e.code as i32,
                reason: e.reason.to_string(),
                message: e.message.clone(),
                vendor: e
                    .vendor
                    .as_ref()
                    .map(|v| (v.vendor.to_owned(), v.code.clone(), v.request_id.clone(), v.http_status)),
                metadata: e.metadata.clone(),
            }),
        };
        let answer = match &outcome {
            Some(o @ Outcome::Unknown { .. }) => replay(o),
            _ => result,
        };
        {
            let mut m = self.lock();
            match &outcome {
                Some(o) => {
                    m.insert(request_id.to_owned(), Entry::Finished { fp: fp.to_owned(), at, outcome: o.clone() });
                }
                None => {
                    m.remove(request_id);
                }
            }
        }
        self.append(&Line {
            id: request_id.into(),
            fp: fp.into(),
            at,
            outcome: outcome.clone(),
            cleared: outcome.is_none(),
        });
        let _ = tx.send(Some(answer.clone()));
        answer
    }

    fn prune(&self, m: &mut HashMap<String, Entry>) {
        let cutoff = now_ms() - self.ttl.as_millis() as i64;
        m.retain(|_, e| !matches!(e, Entry::Finished { at, .. } if *at < cutoff));
    }
}

/// A write whose answer never arrived: timeouts and broken connections.
fn lost_answer(e: &Error) -> bool {
    e.code == Code::Unavailable && matches!(e.reason.as_ref(), "VENDOR_TIMEOUT" | "VENDOR_CONNECTION_FAILED")
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
                    "DEPLOY_RECORD_UNREADABLE",
                    "the stored outcome of this deploy is unreadable",
                )
            }),
        Outcome::Failed { code, reason, message, vendor, metadata } => {
            let mut e = Error::new(Code::from_i32(*code), reason.clone(), message.clone());
            e.vendor = vendor.as_ref().map(|(v, c, r, s)| VendorDetail {
                vendor: if v == "huawei" { "huawei" } else { "alibaba" },
                code: c.clone(),
                request_id: r.clone(),
                http_status: *s,
            });
            e.metadata = metadata.clone();
            Err(e)
        }
        Outcome::Unknown { message } => Err(Error::new(Code::Unknown, "DEPLOY_OUTCOME_UNKNOWN", message.clone())),
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
    async fn lost_answers_and_interrupted_deploys_are_unknown_never_resent() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(dir.path(), Duration::from_secs(3600)).unwrap();
        let e = ledger
            .run("lost", "fp", async { Err(Error::new(Code::Unavailable, "VENDOR_TIMEOUT", "timed out")) })
            .await
            .unwrap_err();
        assert_eq!(e.reason, "DEPLOY_OUTCOME_UNKNOWN");
        let e = ledger.run("lost", "fp", async { Ok(vec![]) }).await.unwrap_err();
        assert_eq!(e.reason, "DEPLOY_OUTCOME_UNKNOWN", "not re-sent");
        // Nothing was sent: the same id may be tried again.
        let _ =
            ledger.run("early", "fp", async { Err(Error::new(Code::ResourceExhausted, "RATE_LIMITED", "wait")) }).await;
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
            .run("refused", "fp", async { Err(Error::new(Code::NotFound, "VENDOR_NOT_FOUND", "no such package")) })
            .await
            .unwrap_err();
        let again = reopened.run("refused", "fp", async { Ok(vec![]) }).await.unwrap_err();
        assert_eq!((again.code, again.message.clone()), (e.code, e.message.clone()));
    }
}
