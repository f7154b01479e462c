//! Deploy records in Redis, shared by every replica, so a deploy retried
//! against any replica is answered from its record and never sent twice.
//!
//! Each request id has a record (a hash: request fingerprint, time, owner,
//! and — once known — the outcome) kept for `limits.idempotency_ttl`, and
//! while its deploy runs a short **lease** key that the owner renews. The
//! record and lease are taken together by one script (the in-flight
//! marker; `SET NX PX` semantics, atomically). Another replica that finds
//! the marker polls the record until an outcome appears; if the lease
//! expires first (its holder stopped or lost Redis mid-deploy) the record
//! becomes outcome-unknown for good — never re-sent. A deploy that surely
//! never reached the vendor deletes its record, and the id may be used
//! again. Without Redis no deploy starts: UNAVAILABLE.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use redis::Script;
use std::sync::LazyLock;
use tonic::Code;

use super::{Begin, Outcome, Store, Ticket};
use crate::{
    domain::{Error, Reason, time::now_ms},
    redis_store::RedisStore,
};

/// How long a marker lives without renewal; its holder renews it three
/// times as often.
const LEASE: Duration = Duration::from_secs(10);
/// How often a waiting replica reads the record.
const POLL_EVERY: Duration = Duration::from_millis(100);

const VANISHED: &str = "the gateway replica that was running this deploy stopped (or lost Redis) before recording \
    its outcome, so it is unknown; check the release package or deployment state before deploying again with a new \
    request_id";

struct Scripts {
    take: Script,
    finish: Script,
    renew: Script,
    poll: Script,
    reopen: Script,
}

static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
    take: Script::new(TAKE),
    finish: Script::new(FINISH),
    renew: Script::new(RENEW),
    poll: Script::new(POLL),
    reopen: Script::new(REOPEN),
});

/// KEYS record, lease; ARGV fp, at, owner, ttl ms, lease ms. Returns
/// {1} when taken, else {0, fp, outcome or '', lease alive}.
const TAKE: &str = r"
local h = redis.call('HMGET', KEYS[1], 'fp', 'outcome')
if h[1] then
  return {0, h[1], h[2] or '', redis.call('EXISTS', KEYS[2])}
end
redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'at', ARGV[2], 'owner', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[5])
return {1, '', '', 1}
";

/// KEYS record, lease; ARGV owner, outcome ('' = release the marker).
const FINISH: &str = r"
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then
  if ARGV[2] == '' then
    redis.call('DEL', KEYS[1])
  else
    redis.call('HSET', KEYS[1], 'outcome', ARGV[2])
  end
end
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
end
return 1
";

/// KEYS record, lease; ARGV owner, lease ms.
const RENEW: &str = r"
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
";

/// KEYS record, lease; ARGV the outcome to record if the holder vanished.
/// Returns {0, ''} gone, {1, outcome} finished, {2, ''} still in flight.
const POLL: &str = r"
local h = redis.call('HMGET', KEYS[1], 'fp', 'outcome')
if not h[1] then return {0, ''} end
if h[2] then return {1, h[2]} end
if redis.call('EXISTS', KEYS[2]) == 1 then return {2, ''} end
redis.call('HSET', KEYS[1], 'outcome', ARGV[1])
return {1, ARGV[1]}
";

/// KEYS record, lease; ARGV the unknown outcome, owner, lease ms. Returns
/// the record's `at` when it held that outcome and is now a marker of
/// `owner`, else -1.
const REOPEN: &str = r"
if redis.call('HGET', KEYS[1], 'outcome') ~= ARGV[1] then return -1 end
redis.call('HDEL', KEYS[1], 'outcome')
redis.call('HSET', KEYS[1], 'owner', ARGV[2])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return tonumber(redis.call('HGET', KEYS[1], 'at')) or 0
";

/// Deploy records in Redis; see the module docs.
pub struct RedisRecords {
    store: Arc<RedisStore>,
    ttl: Duration,
    lease: Duration,
}

impl RedisRecords {
    /// Records in `store`, kept for `ttl`.
    pub(crate) fn new(store: Arc<RedisStore>, ttl: Duration) -> Self {
        Self::with_lease(store, ttl, LEASE)
    }

    /// Records whose in-flight markers lapse after `lease` without renewal (tests).
    pub fn with_lease(store: Arc<RedisStore>, ttl: Duration, lease: Duration) -> Self {
        RedisRecords { store, ttl, lease: lease.max(Duration::from_millis(30)) }
    }

    fn keys(&self, id: &str) -> (String, String) {
        // One hash tag: both keys land on one slot of a Redis Cluster proxy.
        let rec = format!("{}deploy:{{{id}}}", self.store.prefix());
        let lease = format!("{rec}:lease");
        (rec, lease)
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn unavailable() -> Error {
    Error::new(
        Code::Unavailable,
        Reason::IdempotencyStoreUnavailable,
        "the deploy record store (Redis) is unreachable, so this deploy can neither be checked nor started without \
         risking a second deploy; nothing was sent: retry with the same request_id shortly",
    )
    .with_retry_after(Duration::from_secs(1))
}

fn decode(text: &str) -> Outcome {
    serde_json::from_str(text).unwrap_or_else(|_| Outcome::Unknown {
        message: "the stored outcome of this deploy is unreadable; check the release package or deployment state"
            .into(),
        since: None,
    })
}

#[async_trait]
impl Store for RedisRecords {
    async fn begin(&self, id: &str, fp: &str) -> Result<Begin, Error> {
        let (rec, lease) = self.keys(id);
        let at = now_ms();
        let owner = uuid::Uuid::new_v4().to_string();
        let (taken, held_fp, outcome, _alive) = self
            .store
            .eval::<(i64, String, String, i64)>(
                SCRIPTS
                    .take
                    .key(&rec)
                    .key(&lease)
                    .arg(fp)
                    .arg(at)
                    .arg(&owner)
                    .arg(millis(self.ttl))
                    .arg(millis(self.lease)),
            )
            .await
            .map_err(|_| unavailable())?;
        Ok(match (taken, outcome.is_empty()) {
            (1, _) => Begin::Taken(Ticket { at, owner }),
            (_, true) => Begin::Elsewhere { fp: held_fp },
            (_, false) => Begin::Recorded { fp: held_fp, outcome: decode(&outcome) },
        })
    }

    async fn finish(&self, id: &str, _fp: &str, ticket: &Ticket, outcome: Option<&Outcome>) -> Result<(), Error> {
        let (rec, lease) = self.keys(id);
        let text = match outcome {
            Some(o) => serde_json::to_string(o).unwrap_or_default(),
            None => String::new(),
        };
        self.store
            .eval::<i64>(SCRIPTS.finish.key(&rec).key(&lease).arg(&ticket.owner).arg(text))
            .await
            .map(drop)
            .map_err(|_| unavailable())
    }

    async fn reopen(&self, id: &str, unknown: &Outcome) -> Result<Option<Ticket>, Error> {
        let (rec, lease) = self.keys(id);
        let text = serde_json::to_string(unknown).unwrap_or_default();
        let owner = uuid::Uuid::new_v4().to_string();
        let at = self
            .store
            .eval::<i64>(SCRIPTS.reopen.key(&rec).key(&lease).arg(text).arg(&owner).arg(millis(self.lease)))
            .await
            .map_err(|_| unavailable())?;
        Ok((at >= 0).then_some(Ticket { at, owner }))
    }

    async fn wait(&self, id: &str) -> Result<Option<Outcome>, Error> {
        let (rec, lease) = self.keys(id);
        let vanished =
            serde_json::to_string(&Outcome::Unknown { message: VANISHED.into(), since: None }).unwrap_or_default();
        loop {
            let (state, text) = self
                .store
                .eval::<(i64, String)>(SCRIPTS.poll.key(&rec).key(&lease).arg(&vanished))
                .await
                .map_err(|_| unavailable())?;
            match state {
                0 => return Ok(None),
                1 => return Ok(Some(decode(&text))),
                _ => tokio::time::sleep(POLL_EVERY).await,
            }
        }
    }

    fn renew_every(&self) -> Option<Duration> {
        Some(self.lease / 3)
    }

    async fn renew(&self, id: &str, ticket: &Ticket) {
        let (rec, lease) = self.keys(id);
        let _ = self
            .store
            .eval::<i64>(SCRIPTS.renew.key(&rec).key(&lease).arg(&ticket.owner).arg(millis(self.lease)))
            .await;
    }
}
