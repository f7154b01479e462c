//! The engine's records in Redis (`limits.backend: redis`), shared by every
//! replica, and the per-deployment lease that decides which replica drives
//! each deployment.
//!
//! Keys (all with the hash tag `{deployments}`, so one script may touch
//! several on a Redis Cluster proxy), under the gateway's `key_prefix`:
//!
//! - `{prefix}{deployments}:open` — a hash of the open deployments:
//!   `workspace/id` → the record ([`Line`] as JSON);
//! - `{prefix}{deployments}:state:workspace/id` — the latest state the
//!   driving replica saw (base64 protobuf `Deployment`), kept for an hour
//!   after the deployment ended;
//! - `{prefix}{deployments}:lease:workspace/id` — the lease: the driving
//!   replica's random name, `SET NX PX`; renewed only by its holder
//!   (compare and renew), deleted when the deployment ends. When it expires
//!   (its holder died or lost Redis) any replica may take it.

use std::{sync::Arc, sync::LazyLock, time::Duration};

use base64::{Engine as _, engine::general_purpose::STANDARD as B64};
use prost::Message;
use redis::Script;

use super::{Key, Line};
use crate::{
    pb,
    redis_store::{RedisStore, Unreachable},
};

/// Whether this replica holds a deployment's lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lease {
    /// It does (taken or renewed just now).
    Held,
    /// Another replica does, or the deployment is no longer open.
    Elsewhere,
}

/// One open deployment as Redis holds it.
pub(super) struct Seen {
    /// Its record.
    pub(super) line: Line,
    /// The latest state its driver published.
    pub(super) latest: Option<pb::Deployment>,
    /// Whether some replica holds its lease.
    pub(super) leased: bool,
}

struct Scripts {
    open: Script,
    take: Script,
    renew: Script,
    publish: Script,
    close: Script,
    scan: Script,
    state: Script,
}

static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
    open: Script::new(OPEN),
    take: Script::new(TAKE),
    renew: Script::new(RENEW),
    publish: Script::new(PUBLISH),
    close: Script::new(CLOSE),
    scan: Script::new(SCAN),
    state: Script::new(STATE),
});

/// KEYS open, state, lease; ARGV field, record, state, owner, lease ms.
/// Records a deployment and takes its lease (1), unless it is already
/// known — open, or ended within the hour — or its lease is held (0).
const OPEN: &str = r"
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[3])
if redis.call('SET', KEYS[3], ARGV[4], 'NX', 'PX', ARGV[5]) then return 1 end
return 0
";

/// KEYS open, lease; ARGV field, owner, lease ms. Takes the lease of an
/// open deployment nobody holds (1), else 0.
const TAKE: &str = r"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then return 1 end
return 0
";

/// KEYS lease; ARGV owner, lease ms. Renews the lease if it is still ours (1), else 0.
const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
";

/// KEYS lease, state; ARGV owner, state. The holder publishes a state (1), else 0.
const PUBLISH: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
return 1
";

/// KEYS open, state, lease; ARGV field, owner, final state, keep ms. The
/// holder closes a deployment: out of the open set, its final state kept
/// for a while, the lease released (1), else 0.
const CLOSE: &str = r"
if redis.call('GET', KEYS[3]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
redis.call('DEL', KEYS[3])
return 1
";

/// KEYS open; ARGV state key prefix, lease key prefix. Every open
/// deployment: record, published state or '', lease holder or ''.
/// (The state and lease keys carry the open hash's hash tag: same slot.)
const SCAN: &str = r"
local h = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #h, 2 do
  out[#out + 1] = h[i + 1]
  out[#out + 1] = redis.call('GET', ARGV[1] .. h[i]) or ''
  out[#out + 1] = redis.call('GET', ARGV[2] .. h[i]) or ''
end
return out
";

/// KEYS state. A published state, or ''.
const STATE: &str = r"
return redis.call('GET', KEYS[1]) or ''
";

/// The engine's records in Redis; see the module docs.
pub(super) struct Shared {
    store: Arc<RedisStore>,
    /// This replica's name in leases: random, one per engine.
    owner: String,
    lease: Duration,
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn field(key: &Key) -> String {
    format!("{}/{}", key.0, key.1)
}

fn encode(d: &pb::Deployment) -> String {
    B64.encode(d.encode_to_vec())
}

/// A published state; None for '' (none published: an empty protobuf
/// would decode as a default `Deployment`).
fn decode(text: &str) -> Option<pb::Deployment> {
    if text.is_empty() {
        return None;
    }
    B64.decode(text).ok().and_then(|b| pb::Deployment::decode(b.as_slice()).ok())
}

impl Shared {
    pub(super) fn new(store: Arc<RedisStore>, lease: Duration) -> Self {
        Shared { store, owner: uuid::Uuid::new_v4().to_string(), lease }
    }

    /// How long a lease lasts without renewal.
    pub(super) fn lease(&self) -> Duration {
        self.lease
    }

    fn open_key(&self) -> String {
        format!("{}{{deployments}}:open", self.store.prefix())
    }

    fn state_prefix(&self) -> String {
        format!("{}{{deployments}}:state:", self.store.prefix())
    }

    fn lease_prefix(&self) -> String {
        format!("{}{{deployments}}:lease:", self.store.prefix())
    }

    fn state_key(&self, key: &Key) -> String {
        self.state_prefix() + &field(key)
    }

    fn lease_key(&self, key: &Key) -> String {
        self.lease_prefix() + &field(key)
    }

    fn held(n: i64) -> Lease {
        if n == 1 { Lease::Held } else { Lease::Elsewhere }
    }

    /// Records a deployment a deploy call started, with its lease, unless
    /// another replica recorded it first (then that one drives it).
    pub(super) async fn open(&self, line: &Line, d: &pb::Deployment) -> Result<Lease, Unreachable> {
        let key = (line.workspace.clone(), line.id.clone());
        let record = serde_json::to_string(line).unwrap_or_default();
        let n = self
            .store
            .eval::<i64>(
                SCRIPTS
                    .open
                    .key(self.open_key())
                    .key(self.state_key(&key))
                    .key(self.lease_key(&key))
                    .arg(field(&key))
                    .arg(record)
                    .arg(encode(d))
                    .arg(&self.owner)
                    .arg(millis(self.lease)),
            )
            .await?;
        Ok(Self::held(n))
    }

    /// Takes the lease of an open deployment whose holder let it expire.
    pub(super) async fn take(&self, key: &Key) -> Result<Lease, Unreachable> {
        let n = self
            .store
            .eval::<i64>(
                SCRIPTS
                    .take
                    .key(self.open_key())
                    .key(self.lease_key(key))
                    .arg(field(key))
                    .arg(&self.owner)
                    .arg(millis(self.lease)),
            )
            .await?;
        Ok(Self::held(n))
    }

    /// Renews a lease this replica holds.
    pub(super) async fn renew(&self, key: &Key) -> Result<Lease, Unreachable> {
        let n = self
            .store
            .eval::<i64>(SCRIPTS.renew.key(self.lease_key(key)).arg(&self.owner).arg(millis(self.lease)))
            .await?;
        Ok(Self::held(n))
    }

    /// Publishes the latest state of a deployment this replica drives.
    pub(super) async fn publish(&self, key: &Key, d: &pb::Deployment) -> Result<Lease, Unreachable> {
        let n = self
            .store
            .eval::<i64>(
                SCRIPTS.publish.key(self.lease_key(key)).key(self.state_key(key)).arg(&self.owner).arg(encode(d)),
            )
            .await?;
        Ok(Self::held(n))
    }

    /// Closes a deployment this replica drives: its final state stays
    /// readable for `keep`, its lease is released.
    pub(super) async fn close(&self, key: &Key, d: &pb::Deployment, keep: Duration) -> Result<Lease, Unreachable> {
        let n = self
            .store
            .eval::<i64>(
                SCRIPTS
                    .close
                    .key(self.open_key())
                    .key(self.state_key(key))
                    .key(self.lease_key(key))
                    .arg(field(key))
                    .arg(&self.owner)
                    .arg(encode(d))
                    .arg(millis(keep)),
            )
            .await?;
        Ok(Self::held(n))
    }

    /// Every open deployment (an unreadable record is logged and skipped).
    pub(super) async fn scan(&self) -> Result<Vec<Seen>, Unreachable> {
        let flat = self
            .store
            .eval::<Vec<String>>(SCRIPTS.scan.key(self.open_key()).arg(self.state_prefix()).arg(self.lease_prefix()))
            .await?;
        let mut out = Vec::with_capacity(flat.len() / 3);
        for row in flat.chunks_exact(3) {
            match serde_json::from_str::<Line>(&row[0]) {
                Ok(line) => out.push(Seen { line, latest: decode(&row[1]), leased: !row[2].is_empty() }),
                Err(e) => {
                    tracing::error!(error = %e, key = %self.open_key(), "an open deployment's record in Redis is unreadable; skipped")
                }
            }
        }
        Ok(out)
    }

    /// The state published last for a deployment (also one that has ended
    /// within the hour).
    pub(super) async fn state(&self, key: &Key) -> Result<Option<pb::Deployment>, Unreachable> {
        let text = self.store.eval::<String>(&SCRIPTS.state.key(self.state_key(key))).await?;
        Ok(decode(&text))
    }
}
