//! The shared limiter: rate buckets and daily budgets in Redis, so every
//! replica spends from one count (`limits.backend: redis`).
//!
//! - **Rate**: GCRA by reservation. One Lua script reads Redis' clock and
//!   the bucket (a hash keyed like the local one: vendor account, vendor
//!   API), gives the caller the next free slot and moves the bucket's
//!   theoretical arrival time one interval on — atomically, so replicas
//!   never hand out the same slot. The caller sleeps until its slot; if its
//!   deadline cannot cover the wait it gets RESOURCE_EXHAUSTED + RetryInfo
//!   at once, without reserving. Slots go in arrival order (FIFO). A waiter
//!   checks its reservation every [`CHECK_EVERY`] and at its slot (one round
//!   trip each) before it goes.
//! - **Vendor throttling** pauses the bucket, voids every reservation after
//!   now (the bucket's generation moves on and its schedule restarts at the
//!   pause's end, so it has no gaps) and bumps its generation, in Redis, so
//!   every replica obeys; waiters learn it at their next check and take a
//!   new slot within what is left of their deadline, or are refused with
//!   RetryInfo. A slot is only ever taken inside the caller's allowed wait,
//!   so no turn is given after a caller's deadline.
//! - **Adaptation** is the local bucket's ([`super::bucket`]), with its
//!   constants, kept in the shared hash: the bucket records the times of the
//!   slots it grants (the latest [`KEEP_GRANTS`]); a throttle episode (a 429
//!   for a call sent after the last decrease, while not paused) measures the
//!   rate the vendor accepted since the previous one and learns it as the
//!   vendor's limit, and the rate drops to 90 % of that (it halves while
//!   nothing is known); every quiet 5 s it climbs by a tenth of the learned
//!   limit up to 95 % of it. One difference: with too few calls to measure,
//!   the learned limit is 95 % of the throttled rate, not 90 %. Reservations
//!   are spaced exactly and the vendor's stored burst is spent at the first
//!   throttle, so a second throttle soon after says the limit lies just
//!   under the rate (90 % left the bucket at 88 % of the vendor's rate).
//!   Throttles of the same burst only lengthen the pause.
//! - **Cancellation** (approximation): a caller that gives up while waiting
//!   hands its slot back only when it is the last one reserved (the bucket's
//!   arrival time is still the one it set); otherwise its slot stays a gap
//!   of one interval. Gaps never last: the schedule only moves forward.
//! - **Redis lost the bucket** (restarted without its data): every bucket
//!   carries its birth time and a reservation names the bucket that gave
//!   it, so a waiter coming back to a new bucket takes a slot in the new
//!   schedule instead of going at its old time on top of it: the full rate
//!   at once after an outage, and no overlap.
//! - **Daily budgets**: one counter per account and vendor day, checked and
//!   incremented by a script, expiring at the vendor's midnight.
//! - **APIs closed for the day** (the vendor said its daily quota is used
//!   up): the bucket holds the vendor's reset (`closed`, Redis' clock) and
//!   lives at least that long; the acquire script refuses while it is in
//!   the future, so every replica stops calling at once.
//! - **Redis unreachable**: `fail_closed` refuses with UNAVAILABLE;
//!   `fail_local` limits in-process at this replica's share
//!   (`1 / limits.replicas`) of rates and budgets, logged and counted
//!   (`datastudio_gateway_limiter_fallback_total`). A caller that already
//!   holds a slot when Redis goes away keeps it with `fail_closed` (and
//!   goes at its time unless Redis is back by then); with
//!   `fail_local` it takes its turn from this replica's share like every
//!   other call of the outage, so held slots and the share together never
//!   exceed it. A caller still queued for a local turn when Redis comes
//!   back takes a slot in the shared schedule instead, so the local queues
//!   do not add to the shared rate after an outage.

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
    bucket::{
        DECREASE, FIRST_PAUSE, FORGET_AFTER, HOLD, MAX_PAUSE, MIN_RATE, MIN_SAMPLES, PROBE_STEP, RECOVER_EVERY, REFILL,
        STEP, WINDOW,
    },
    closed, too_long,
};
use crate::{
    config::FailurePolicy,
    domain::{Error, Reason},
    redis_store::{RedisStore, Unreachable, count_fallback},
};

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

/// Reservations one call may take (a throttle elsewhere moves it back).
const MAX_ROUNDS: usize = 4;
/// A waiter checks its reservation this often while it waits: a throttle
/// voids every reservation, and waiters learn it within this time.
const CHECK_EVERY: Duration = Duration::from_millis(500);
/// Grant times a bucket keeps for measuring the vendor's rate.
const KEEP_GRANTS: u32 = 1024;

struct Scripts {
    acquire: Script,
    release: Script,
    throttle: Script,
    close: Script,
    spend: Script,
}

static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
    acquire: Script::new(&[clock!(), &constants(), ACQUIRE].concat()),
    release: Script::new(RELEASE),
    throttle: Script::new(&[clock!(), &constants(), THROTTLE].concat()),
    close: Script::new(CLOSE),
    spend: Script::new(SPEND),
});

/// The local bucket's adaptation constants (see [`super::bucket`]), times
/// in microseconds: the shared bucket learns the same way.
fn constants() -> String {
    format!(
        "local MIN_RATE, DECREASE, HOLD, STEP, PROBE_STEP = {MIN_RATE:?}, {DECREASE:?}, {HOLD:?}, {STEP:?}, \
         {PROBE_STEP:?}\nlocal RECOVER, FORGET, WINDOW, REFILL = {}, {}, {}, {}\nlocal FIRST, LONGEST = {}, {}\n\
         local MIN_SAMPLES, KEEP = {MIN_SAMPLES}, {KEEP_GRANTS}\n",
        micros(RECOVER_EVERY),
        micros(FORGET_AFTER),
        micros(WINDOW),
        micros(REFILL),
        micros(FIRST_PAUSE),
        micros(MAX_PAUSE),
    )
}

/// KEYS[1] bucket, KEYS[2] its grant times (newest first); ARGV rate,
/// allowed µs, generation and bucket birth the caller's reservation came
/// from (-1: none), idle ms. Returns {ok, wait µs, generation, arrival
/// time after this slot, interval µs, birth}: ok 1 is a new slot in wait
/// µs; 3 confirms the caller's reservation (no throttle since, and the
/// bucket is the one that gave it, not one recreated after Redis lost its
/// data); 0 refuses (the wait is longer than allowed); 2 while the API is
/// closed for the day (the wait is the time to the vendor's reset).
///
/// A changed configured rate: a bucket running at the old one (not adapted
/// to the vendor) takes the new one at once; an adapted one keeps its rate,
/// capped by the new one.
///
/// Additive increase, as in the local bucket: every quiet RECOVER the rate
/// climbs by STEP of the learned limit up to HOLD of it, or without one by
/// PROBE_STEP of the rate calls were granted at, up to the configured rate.
const ACQUIRE: &str = r"
local rate, allowed, want, want_born, idle = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]),
  tonumber(ARGV[4]), tonumber(ARGV[5])
local h = redis.call('HMGET', KEYS[1], 'tat', 'cur', 'cfg', 'pause', 'gen', 'changed', 'strikes', 'closed', 'born',
  'learned', 'dec', 'ng')
local tat, cur, cfg = tonumber(h[1]) or 0, tonumber(h[2]) or rate, tonumber(h[3]) or rate
local pause, gen, changed, strikes = tonumber(h[4]) or 0, tonumber(h[5]) or 0, tonumber(h[6]) or now, tonumber(h[7]) or 0
local closed, born, learned = tonumber(h[8]) or 0, tonumber(h[9]) or now, tonumber(h[10]) or 0
local dec, ng = tonumber(h[11]) or 0, tonumber(h[12]) or 0
if now < closed then
  return {2, closed - now, gen, 0, 0, born}
end
if want >= 0 and want == gen and want_born == born then
  return {3, 0, gen, 0, 0, born}
end
if cfg ~= rate then
  if cur >= cfg then cur = rate end
  cfg = rate
  if cur > cfg then cur = cfg end
end
local quiet = now - changed
if quiet >= RECOVER then
  local steps = math.floor(quiet / RECOVER)
  if learned > 0 and now - dec >= FORGET then learned = 0 end
  local limit, step = cfg, ng / (quiet / 1000000) * PROBE_STEP
  if learned > 0 then limit, step = math.min(learned * HOLD, cfg), learned * STEP end
  if cur < limit and step > 0 then cur = math.min(cur + steps * step, limit) end
  changed, strikes, ng = now, 0, 0
end
local interval = math.floor(1000000 / math.max(cur, MIN_RATE))
local start = math.max(tat, pause, now)
local wait = start - now
if wait > allowed then
  return {0, wait, gen, 0, 0, born}
end
tat = start + interval
ng = ng + 1
redis.call('HSET', KEYS[1], 'tat', int(tat), 'cur', num(cur), 'cfg', num(cfg), 'pause', int(pause), 'gen', gen,
  'changed', int(changed), 'strikes', strikes, 'born', int(born), 'learned', num(learned), 'ng', ng)
redis.call('LPUSH', KEYS[2], int(start))
redis.call('LTRIM', KEYS[2], 0, KEEP - 1)
local ttl = math.floor((math.max(tat, pause) - now) / 1000) + idle
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return {1, wait, gen, tat, interval, born}
";

/// KEYS[1] bucket, KEYS[2] its grant times; ARGV arrival time the caller
/// set, its interval. Hands the slot back if nobody reserved after it.
const RELEASE: &str = r"
local tat = tonumber(redis.call('HGET', KEYS[1], 'tat') or '-1')
if tat == tonumber(ARGV[1]) then
  local start = string.format('%.0f', tat - tonumber(ARGV[2]))
  redis.call('HSET', KEYS[1], 'tat', start)
  redis.call('LREM', KEYS[2], 1, start)
  return 1
end
return 0
";

/// KEYS[1] bucket, KEYS[2] its grant times; ARGV rate, retry-after µs (-1:
/// none), idle ms, age of the throttled call µs (time since it was sent).
///
/// Every throttle pauses the bucket and voids the reservations after now
/// (the generation moves on; their holders take new slots after the pause,
/// so the schedule has no gaps). A throttle for a call sent after the last
/// decrease, while not paused, is a new episode: multiplicative decrease
/// relative to what the vendor accepted, as in the local bucket — the rate
/// it accepted since the previous episode (calls granted minus calls
/// throttled, at most WINDOW back, pauses counted up to REFILL) becomes the
/// learned limit (at most the throttled rate; HOLD of it when too few
/// calls were made to measure), and the rate drops to DECREASE of that; the
/// first episode of a bucket halves it.
const THROTTLE: &str = r"
local rate, retry, idle = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local sent = now - tonumber(ARGV[4])
local h = redis.call('HMGET', KEYS[1], 'tat', 'cur', 'cfg', 'pause', 'gen', 'strikes', 'closed', 'dec', 'learned',
  'mfrom', 'refused', 'ps', 'pe', 'spent', 'changed', 'ng')
local tat, cur, cfg = tonumber(h[1]) or 0, tonumber(h[2]) or rate, tonumber(h[3]) or rate
local pause, gen, strikes = tonumber(h[4]) or 0, tonumber(h[5]) or 0, tonumber(h[6]) or 0
local closed, dec, learned = tonumber(h[7]) or 0, tonumber(h[8]) or 0, tonumber(h[9]) or 0
local mfrom, refused = tonumber(h[10]) or 0, tonumber(h[11]) or 0
local ps, pe, spent = tonumber(h[12]) or 0, tonumber(h[13]) or 0, tonumber(h[14]) or 0
local changed, ng = tonumber(h[15]) or now, tonumber(h[16]) or 0
-- Reservations after now are void: not calls made.
while true do
  local head = tonumber(redis.call('LINDEX', KEYS[2], 0) or '')
  if head == nil or head <= now then break end
  redis.call('LPOP', KEYS[2])
end
local from = math.max(mfrom, now - WINDOW)
if sent >= from then refused = refused + 1 end
if not (now < pause or sent < dec) then
  strikes = strikes + 1
  local granted = 0
  for _, g in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
    if tonumber(g) >= from then granted = granted + 1 end
  end
  local paused = 0
  if mfrom >= now - WINDOW then paused = spent end
  if ps > 0 then paused = paused + math.max(0, math.min(pe, now) - math.max(ps, from) - REFILL) end
  local span, accepted = now - from - paused, granted - refused
  local limit = nil
  if dec > 0 and accepted >= MIN_SAMPLES and span > 0 then
    limit = math.min(cur, (accepted + 0.5) / (span / 1000000))
  elseif dec > 0 and (learned > 0 or now - dec >= RECOVER) then
    limit = cur * HOLD
  end
  if limit then
    learned = limit
    cur = limit * DECREASE
  else
    cur = cur / 2
  end
  cur = math.max(math.min(cur, cfg), MIN_RATE)
  dec, mfrom, refused, spent, ps, pe, changed, ng = now, now, 0, 0, 0, 0, now, 0
  redis.call('DEL', KEYS[2])
end
local p = retry
if p < 0 then p = math.min(FIRST * 2 ^ math.min(math.max(strikes, 1) - 1, 6), LONGEST) end
local upto = math.max(pause, now + p)
if ps > 0 and pe >= now then
  pe = upto
else
  if ps > 0 then spent = spent + math.max(0, pe - math.max(ps, mfrom) - REFILL) end
  ps, pe = now, upto
end
pause = upto
tat = pause
gen = gen + 1
redis.call('HSET', KEYS[1], 'tat', int(tat), 'cur', num(cur), 'cfg', num(cfg), 'pause', int(pause), 'gen', gen,
  'changed', int(changed), 'strikes', strikes, 'dec', int(dec), 'learned', num(learned), 'mfrom', int(mfrom),
  'refused', refused, 'ps', int(ps), 'pe', int(pe), 'spent', int(spent), 'ng', ng)
local ttl = math.floor((math.max(tat, pause, closed) - now) / 1000) + idle
redis.call('PEXPIRE', KEYS[1], ttl)
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ttl) end
return gen
";

/// KEYS[1] bucket; ARGV time to the vendor's reset µs, idle ms. Closes the
/// API until then (a later reset wins); the bucket lives at least as long.
const CLOSE: &str = concat!(
    clock!(),
    r"
local left, idle = tonumber(ARGV[1]), tonumber(ARGV[2])
local closed = math.max(tonumber(redis.call('HGET', KEYS[1], 'closed') or '0') or 0, now + left)
redis.call('HSET', KEYS[1], 'closed', int(closed))
local want = math.floor((closed - now) / 1000) + idle
if redis.call('PTTL', KEYS[1]) < want then redis.call('PEXPIRE', KEYS[1], want) end
return 1
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

    /// The bucket's hash; its grant times are a list next to it
    /// ([`grants_key`]). One hash tag: both keys land on one slot of a Redis
    /// Cluster proxy.
    fn bucket_key(&self, account: &str, api: &str) -> String {
        format!("{}rate:{{{account}:{api}}}", self.store.prefix())
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
            let grants = grants_key(&key);
            let _ = store.eval::<i64>(SCRIPTS.release.key(&key).key(&grants).arg(tat).arg(interval)).await;
        });
    }
}

/// The list of a bucket's grant times.
fn grants_key(bucket: &str) -> String {
    format!("{bucket}:grants")
}

/// What the acquire script answered.
enum Answer {
    /// A new slot in this long.
    Slot { wait: Duration, generation: i64, born: i64, tat: i64, interval: i64 },
    /// The caller's reservation still holds.
    Confirmed,
    /// The wait (this long) is longer than allowed.
    TooLong(Duration),
    /// The API is closed for the day for this long.
    Closed(Duration),
}

fn answer((ok, wait, generation, tat, interval, born): (i64, i64, i64, i64, i64, i64)) -> Answer {
    let d = Duration::from_micros(wait.max(0).unsigned_abs());
    match ok {
        0 => Answer::TooLong(d),
        2 => Answer::Closed(d),
        3 => Answer::Confirmed,
        _ => Answer::Slot { wait: d, generation, born, tat, interval },
    }
}

#[async_trait]
impl Backend for RedisBackend {
    /// Fair share between callers is not kept across replicas: the shared
    /// bucket serves callers in the order their reservations arrive (the
    /// local fallback, when Redis is down, is fair again). A waiter checks
    /// its reservation every [`CHECK_EVERY`] and once more at its slot: a
    /// throttle (or a bucket Redis lost) voids it, and the waiter takes a
    /// new slot within what is left of its deadline or is refused.
    async fn acquire(
        &self,
        account: &str,
        api: &str,
        rate: f64,
        allowed: Duration,
        caller: Option<&str>,
    ) -> Result<Duration, Error> {
        let key = self.bucket_key(account, api);
        let grants = grants_key(&key);
        let started = tokio::time::Instant::now();
        // The reservation held: its generation, the bucket's birth, its slot.
        let mut held: Option<(i64, i64, tokio::time::Instant, Reservation)> = None;
        let mut rounds = 0;
        loop {
            if let Some((_, _, slot, _)) = &held {
                let now = tokio::time::Instant::now();
                if now < *slot {
                    tokio::time::sleep((*slot - now).min(CHECK_EVERY)).await;
                }
            }
            let left = allowed.saturating_sub(started.elapsed());
            let (seen, seen_born) = held.as_ref().map_or((-1, -1), |(g, b, _, _)| (*g, *b));
            let asked = self
                .store
                .eval::<(i64, i64, i64, i64, i64, i64)>(
                    SCRIPTS
                        .acquire
                        .key(&key)
                        .key(&grants)
                        .arg(rate)
                        .arg(micros(left))
                        .arg(seen)
                        .arg(seen_born)
                        .arg(self.idle_ms),
                )
                .await;
            let got = match asked {
                Ok(r) => answer(r),
                Err(Unreachable) => {
                    // fail_closed keeps a slot reserved before the outage,
                    // checking again until its time: if Redis comes back
                    // without the bucket, the slot is not in the new schedule.
                    if self.fallback.is_none()
                        && held.as_ref().is_some_and(|(_, _, slot, _)| tokio::time::Instant::now() < *slot)
                    {
                        continue;
                    }
                    // A slot reserved before the outage is spent now.
                    let had_slot = held.take().map(|(_, _, _, mut r)| r.armed = false).is_some();
                    match (self.fallback(), had_slot) {
                        // Counted against this replica's share like any
                        // other call of the outage: the shares alone add up
                        // to the vendor's limit.
                        (Some(local), _) => {
                            let waited = local.acquire(account, api, rate, left, caller).await?;
                            // Redis came back while this caller waited in the
                            // local queue: its turn comes from the shared
                            // schedule, or local turns would add to new slots.
                            if self.store.is_up() && !waited.is_zero() {
                                continue;
                            }
                            return Ok(started.elapsed().max(waited));
                        }
                        // fail_closed: the shared limiter gave this turn; it
                        // is taken at its time.
                        (None, true) => return Ok(started.elapsed()),
                        (None, false) => return Err(unavailable()),
                    }
                }
            };
            match got {
                Answer::Confirmed => {
                    if held.as_ref().is_some_and(|(_, _, slot, _)| tokio::time::Instant::now() >= *slot) {
                        if let Some((_, _, _, mut r)) = held.take() {
                            r.armed = false;
                        }
                        return Ok(started.elapsed());
                    }
                    continue;
                }
                // Voided: the slot is past or moved, nothing to hand back.
                _ => {
                    if let Some((_, _, _, mut r)) = held.take() {
                        r.armed = false;
                    }
                }
            }
            let (wait, generation, born, tat, interval) = match got {
                Answer::TooLong(wait) => return Err(too_long(api, wait)),
                Answer::Closed(left) => return Err(closed::refusal(account, api, left)),
                Answer::Confirmed => continue,
                Answer::Slot { wait, generation, born, tat, interval } => (wait, generation, born, tat, interval),
            };
            if wait.is_zero() {
                return Ok(started.elapsed());
            }
            rounds += 1;
            if rounds > MAX_ROUNDS {
                // Throttled again and again while waiting: hand the slot back
                // (when it is the last) and let the caller come back.
                drop(Reservation { store: self.store.clone(), key: key.clone(), tat, interval, armed: true });
                return Err(too_long(api, FIRST_PAUSE));
            }
            let slot = tokio::time::Instant::now() + wait;
            let r = Reservation { store: self.store.clone(), key: key.clone(), tat, interval, armed: true };
            held = Some((generation, born, slot, r));
        }
    }

    /// Every throttle pauses the shared bucket and voids reservations after
    /// now; one reported while the bucket is paused, or for a call sent
    /// before its last decrease (the rest of the same burst, late answers
    /// after an outage), lengthens the pause without lowering the rate again.
    async fn throttled(
        &self,
        account: &str,
        api: &str,
        rate: f64,
        retry_after: Option<Duration>,
        sent: tokio::time::Instant,
    ) {
        let key = self.bucket_key(account, api);
        let done = self
            .store
            .eval::<i64>(
                SCRIPTS
                    .throttle
                    .key(&key)
                    .key(grants_key(&key))
                    .arg(rate)
                    .arg(retry_after.map_or(-1, micros))
                    .arg(self.idle_ms)
                    .arg(micros(sent.elapsed())),
            )
            .await;
        if done.is_err()
            && let Some(local) = self.fallback()
        {
            local.throttled(account, api, rate, retry_after, sent).await;
        }
    }

    async fn close(&self, account: &str, api: &str, left: Duration) {
        let key = self.bucket_key(account, api);
        // Unreachable: this replica keeps its own closure (Limits) and the
        // others learn it from the vendor when they call.
        let _ = self.store.eval::<i64>(SCRIPTS.close.key(&key).arg(micros(left)).arg(self.idle_ms)).await;
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
