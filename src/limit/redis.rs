//! The shared limiter: rate buckets and daily budgets in Redis, so every
//! replica spends from one count (`limits.backend: redis`).
//!
//! - **Rate**: GCRA by reservation. One Lua script reads Redis' clock and
//!   the bucket (a hash keyed like the local one: vendor account, vendor
//!   API), gives the caller the next free slot and moves the bucket's
//!   theoretical arrival time one interval on — atomically, so replicas
//!   never hand out the same slot. The caller sleeps until its slot; if its
//!   deadline cannot cover the wait it gets RESOURCE_EXHAUSTED + RetryInfo
//!   at once, without reserving. Slots go in arrival order (FIFO).
//! - **Vendor throttling** pauses the bucket, halves its rate and bumps its
//!   generation, in Redis, so every replica obeys. A caller that waited
//!   checks the generation when it wakes (one more round trip) and takes a
//!   new slot after the pause if a throttle came in meanwhile. A throttle
//!   reported while the bucket is already paused (the other replicas' calls
//!   of the same burst) lengthens the pause but does not halve again.
//! - **Cancellation** (approximation): a caller that gives up while waiting
//!   hands its slot back only when it is the last one reserved (the bucket's
//!   arrival time is still the one it set); otherwise its slot stays a gap
//!   of one interval. Gaps never last: the schedule only moves forward.
//! - **Daily budgets**: one counter per account and vendor day, checked and
//!   incremented by a script, expiring at the vendor's midnight.
//! - **Redis unreachable**: `fail_closed` refuses with UNAVAILABLE;
//!   `fail_local` limits in-process at this replica's share
//!   (`1 / limits.replicas`) of rates and budgets, logged and counted
//!   (`datastudio_gateway_limiter_fallback_total`). A caller that already
//!   holds a slot when Redis goes away keeps it.

use std::{
    path::PathBuf,
    sync::{Arc, LazyLock},
    time::Duration,
};

use async_trait::async_trait;
use redis::Script;
use tonic::Code;

use super::{
    Settings,
    backend::{Backend, Local},
    bucket::{MIN_RATE, RECOVER_EVERY},
    too_long,
};
use crate::{
    config::FailurePolicy,
    domain::{Error, Reason},
    redis_store::{RedisStore, Unreachable, count_fallback},
};

/// Pause after a throttle that advertised no retry-after (doubles per strike).
const FIRST_PAUSE: Duration = Duration::from_secs(1);
const MAX_PAUSE: Duration = Duration::from_secs(60);
/// Reservations one call may take (a throttle elsewhere moves it back).
const MAX_ROUNDS: usize = 4;

struct Scripts {
    acquire: Script,
    release: Script,
    throttle: Script,
    spend: Script,
}

static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
    acquire: Script::new(ACQUIRE),
    release: Script::new(RELEASE),
    throttle: Script::new(THROTTLE),
    spend: Script::new(SPEND),
});

/// Opening of the scripts that need a clock: Redis' clock in microseconds
/// (one clock for every replica), and numbers written with %.0f / %.17g (Lua
/// would write a 16-digit number as 1.7e+15 and lose precision).
macro_rules! clock {
    () => {
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function int(x) return string.format('%.0f', x) end
local function num(x) return string.format('%.17g', x) end
"
    };
}

/// KEYS[1] bucket; ARGV rate, allowed µs, generation seen (-1: none), idle
/// ms, min rate, recovery step µs. Returns {ok, wait µs, generation,
/// arrival time after this slot, interval µs}.
const ACQUIRE: &str = concat!(
    clock!(),
    r"
local rate, allowed, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local idle, min_rate, recover = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local h = redis.call('HMGET', KEYS[1], 'tat', 'cur', 'cfg', 'pause', 'gen', 'changed', 'strikes')
local tat, cur, cfg = tonumber(h[1]) or 0, tonumber(h[2]) or rate, tonumber(h[3]) or rate
local pause, gen, changed, strikes = tonumber(h[4]) or 0, tonumber(h[5]) or 0, tonumber(h[6]) or now, tonumber(h[7]) or 0
if want >= 0 and want == gen then
  return {1, 0, gen, 0, 0}
end
if cfg ~= rate then
  cfg = rate
  if cur > cfg then cur = cfg end
end
if cur < cfg and now - changed >= recover then
  local steps = math.floor((now - changed) / recover)
  cur = math.min(cfg, cur + steps * cfg / 10)
  changed = now
  strikes = 0
end
local interval = math.floor(1000000 / math.max(cur, min_rate))
local start = math.max(tat, pause, now)
local wait = start - now
if wait > allowed then
  return {0, wait, gen, 0, 0}
end
tat = start + interval
redis.call('HSET', KEYS[1], 'tat', int(tat), 'cur', num(cur), 'cfg', num(cfg), 'pause', int(pause), 'gen', gen,
  'changed', int(changed), 'strikes', strikes)
redis.call('PEXPIRE', KEYS[1], math.floor((math.max(tat, pause) - now) / 1000) + idle)
return {1, wait, gen, tat, interval}
",
);

/// KEYS[1] bucket; ARGV arrival time the caller set, its interval. Hands the
/// slot back if nobody reserved after it.
const RELEASE: &str = r"
local tat = tonumber(redis.call('HGET', KEYS[1], 'tat') or '-1')
if tat == tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'tat', string.format('%.0f', tat - tonumber(ARGV[2])))
  return 1
end
return 0
";

/// KEYS[1] bucket; ARGV rate, retry-after µs (-1: none), min rate, first
/// pause µs, longest pause µs, idle ms.
const THROTTLE: &str = concat!(
    clock!(),
    r"
local rate, retry, min_rate = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local first, longest, idle = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local h = redis.call('HMGET', KEYS[1], 'tat', 'cur', 'cfg', 'pause', 'gen', 'strikes')
local tat, cur, cfg = tonumber(h[1]) or 0, tonumber(h[2]) or rate, tonumber(h[3]) or rate
local pause, gen, strikes = tonumber(h[4]) or 0, tonumber(h[5]) or 0, tonumber(h[6]) or 0
local already = now < pause
if not already then
  strikes = strikes + 1
  cur = math.max(cur / 2, min_rate)
end
local p = retry
if p < 0 then p = math.min(first * 2 ^ math.min(strikes - 1, 6), longest) end
if now + p > pause then pause = now + p end
gen = gen + 1
redis.call('HSET', KEYS[1], 'cur', num(cur), 'cfg', num(cfg), 'pause', int(pause), 'gen', gen, 'changed', int(now),
  'strikes', strikes)
redis.call('PEXPIRE', KEYS[1], math.floor((math.max(tat, pause) - now) / 1000) + idle)
return gen
"
);

/// KEYS[1] the day's counter; ARGV limit, expiry (ms since the epoch).
/// Returns calls left after this one, or -1 when the budget is used up.
const SPEND: &str = r"
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local limit = tonumber(ARGV[1])
if used >= limit then return -1 end
used = redis.call('INCR', KEYS[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return limit - used
";

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// Rate buckets and daily budgets in Redis; see the module docs.
pub struct RedisBackend {
    store: Arc<RedisStore>,
    zone: jiff::tz::TimeZone,
    idle_ms: i64,
    /// This replica's share, used while Redis is unreachable (fail_local).
    fallback: Option<Local>,
}

impl RedisBackend {
    /// Buckets in `store`; `replicas`, `state_dir` and `zone` size and hold
    /// the in-process fallback of `fail_local`.
    pub fn new(
        store: Arc<RedisStore>,
        settings: Settings,
        state_dir: PathBuf,
        zone: jiff::tz::TimeZone,
        replicas: u32,
    ) -> Self {
        let idle_ms = i64::try_from(settings.idle_evict.as_millis()).unwrap_or(i64::MAX / 2);
        let fallback = match store.policy() {
            FailurePolicy::FailLocal => Some(Local::new(settings, state_dir, zone.clone(), replicas, true)),
            FailurePolicy::FailClosed => None,
        };
        RedisBackend { store, zone, idle_ms, fallback }
    }

    fn bucket_key(&self, account: &str, api: &str) -> String {
        format!("{}rate:{account}:{api}", self.store.prefix())
    }

    /// The in-process fallback, counted; None with fail_closed.
    fn fallback(&self) -> Option<&Local> {
        let f = self.fallback.as_ref()?;
        count_fallback();
        Some(f)
    }
}

/// RESOURCE_EXHAUSTED's cousin for an outage: UNAVAILABLE, retry shortly.
fn unavailable() -> Error {
    Error::new(
        Code::Unavailable,
        Reason::RateLimiterUnavailable,
        "the shared rate limiter (Redis) is unreachable and limits.redis.failure_policy is fail_closed, so no vendor \
         call was made; retry shortly",
    )
    .with_retry_after(Duration::from_secs(1))
}

/// A slot reserved by a caller that is still waiting for it; handed back
/// (when it is the last one) if the caller goes away.
struct Reservation {
    store: Arc<RedisStore>,
    key: String,
    tat: i64,
    interval: i64,
    armed: bool,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if !self.armed || tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let (store, key, tat, interval) = (self.store.clone(), std::mem::take(&mut self.key), self.tat, self.interval);
        tokio::spawn(async move {
            let _ = store.eval::<i64>(SCRIPTS.release.key(&key).arg(tat).arg(interval)).await;
        });
    }
}

#[async_trait]
impl Backend for RedisBackend {
    /// Fair share between callers is not kept across replicas: the shared
    /// bucket serves callers in the order their reservations arrive (the
    /// local fallback, when Redis is down, is fair again).
    async fn acquire(
        &self,
        account: &str,
        api: &str,
        rate: f64,
        allowed: Duration,
        caller: Option<&str>,
    ) -> Result<Duration, Error> {
        let key = self.bucket_key(account, api);
        let started = tokio::time::Instant::now();
        let mut seen: i64 = -1;
        let mut held: Option<Reservation> = None;
        for _ in 0..MAX_ROUNDS {
            let left = allowed.saturating_sub(started.elapsed());
            let asked = self
                .store
                .eval::<(i64, i64, i64, i64, i64)>(
                    SCRIPTS
                        .acquire
                        .key(&key)
                        .arg(rate)
                        .arg(micros(left))
                        .arg(seen)
                        .arg(self.idle_ms)
                        .arg(MIN_RATE)
                        .arg(micros(RECOVER_EVERY)),
                )
                .await;
            let (ok, wait, generation, tat, interval) = match asked {
                Ok(r) => r,
                Err(Unreachable) => {
                    if let Some(mut r) = held.take() {
                        // Our slot has come: go rather than queue again.
                        r.armed = false;
                        return Ok(started.elapsed());
                    }
                    return match self.fallback() {
                        Some(local) => local.acquire(account, api, rate, left, caller).await,
                        None => Err(unavailable()),
                    };
                }
            };
            if let Some(mut r) = held.take() {
                // Either confirmed (go) or moved after a pause (a new slot):
                // the old one is past, nothing to hand back.
                r.armed = false;
            }
            if ok == 0 {
                return Err(too_long(api, Duration::from_micros(wait.max(0).unsigned_abs())));
            }
            if wait <= 0 {
                return Ok(started.elapsed());
            }
            held = Some(Reservation { store: self.store.clone(), key: key.clone(), tat, interval, armed: true });
            seen = generation;
            tokio::time::sleep(Duration::from_micros(wait.unsigned_abs())).await;
        }
        if let Some(mut r) = held.take() {
            r.armed = false;
        }
        // Throttled again and again while waiting: let the caller come back.
        Err(too_long(api, FIRST_PAUSE))
    }

    async fn throttled(&self, account: &str, api: &str, rate: f64, retry_after: Option<Duration>) {
        let key = self.bucket_key(account, api);
        let done = self
            .store
            .eval::<i64>(
                SCRIPTS
                    .throttle
                    .key(&key)
                    .arg(rate)
                    .arg(retry_after.map_or(-1, micros))
                    .arg(MIN_RATE)
                    .arg(micros(FIRST_PAUSE))
                    .arg(micros(MAX_PAUSE))
                    .arg(self.idle_ms),
            )
            .await;
        if done.is_err()
            && let Some(local) = self.fallback()
        {
            local.throttled(account, api, rate, retry_after).await;
        }
    }

    async fn spend(&self, account: &str, limit: u32) -> Result<u32, Error> {
        let now = jiff::Timestamp::now().to_zoned_datetime(self.zone.clone());
        let day = now.date();
        let midnight = day
            .tomorrow()
            .ok()
            .and_then(|d| d.to_zoned_datetime(self.zone.clone()).ok())
            .map_or(now.timestamp().as_millisecond() + 86_400_000, |z| z.timestamp().as_millisecond());
        let key = format!("{}budget:{account}:{day}", self.store.prefix());
        match self.store.eval::<i64>(SCRIPTS.spend.key(&key).arg(limit).arg(midnight)).await {
            Ok(left) if left >= 0 => Ok(u32::try_from(left).unwrap_or(0)),
            Ok(_) => Err(super::budget::exhausted(limit, &self.zone, account)),
            Err(Unreachable) => match self.fallback() {
                Some(local) => local.spend(account, limit).await,
                None => Err(unavailable()),
            },
        }
    }
}
