//! One rate bucket (an account's calls to one vendor API): governor's GCRA
//! for the rate, a queue of waiters in front of it (FIFO per caller,
//! round-robin across callers, so one caller flooding a workspace cannot
//! push another's wait past its share), a pause after vendor throttling
//! and a rate that adapts to what the vendor accepts.
//!
//! **Adaptation.** The configured rate is an upper bound; the vendor's real
//! limit is learned from its throttling. A throttle episode is a 429 for a
//! call sent after the last decrease (the rest of the same burst only
//! lengthens the pause). At each episode the bucket measures the rate the
//! vendor accepted: calls granted minus calls throttled since the previous
//! episode (at most [`WINDOW`] back), over that time. Both ends of that
//! span are moments the vendor refused, so what it accepted in between is
//! what it allows; of each pause only [`REFILL`] counts (a vendor stores
//! about a second's worth of calls, its burst). The learned limit is that
//! measure, never above the rate that was throttled; with too few calls to
//! measure ([`MIN_SAMPLES`]) it is [`DECREASE`] of the throttled rate once
//! anything is known, and with nothing known yet (the first episodes of a
//! bucket configured far too high) the rate halves. After an episode the
//! rate drops to [`DECREASE`] of the learned limit — multiplicative decrease
//! relative to what the vendor accepts.
//!
//! Every quiet [`RECOVER_EVERY`] the rate climbs by [`STEP`] of the learned
//! limit, up to [`HOLD`] of it, and stays there (additive increase by a step
//! derived from the accepted rate, not the configured one): a bucket
//! configured 10× too high settles just under the vendor's limit within
//! seconds instead of probing past it forever. Without a learned limit —
//! none yet, or forgotten after [`FORGET_AFTER`] without a throttle (the
//! vendor may allow more now) — it climbs by [`PROBE_STEP`] of the rate its
//! calls were granted at, up to the configured rate.
//!
//! **An honest queue.** Whenever the rate drops or the bucket pauses,
//! waiters whose turn would now come after their deadline are refused at
//! once (RESOURCE_EXHAUSTED + RetryInfo with the wait now expected) instead
//! of waiting out their deadline.

use std::{collections::VecDeque, sync::Arc, time::Duration};

use governor::{Quota, RateLimiter, clock::Clock, state::InMemoryState, state::NotKeyed};
use tokio::sync::{Mutex, oneshot};

use super::clock::TokioClock;

/// Lowest rate a bucket backs off to, calls per second.
pub(crate) const MIN_RATE: f64 = 0.2;
/// Time without a throttle after which the rate climbs one step.
pub(crate) const RECOVER_EVERY: Duration = Duration::from_secs(5);
/// Pause after a throttle that advertised no retry-after (doubles per strike).
pub(crate) const FIRST_PAUSE: Duration = Duration::from_secs(1);
pub(crate) const MAX_PAUSE: Duration = Duration::from_secs(60);
/// After a throttle, the rate drops to this share of the learned limit.
pub(crate) const DECREASE: f64 = 0.9;
/// The rate climbs back to at most this share of the learned limit.
pub(crate) const HOLD: f64 = 0.95;
/// Climb per quiet period under a learned limit: this share of it.
pub(crate) const STEP: f64 = 0.1;
/// Climb per quiet period without a learned limit: this share of the rate
/// calls were granted at (a bucket nobody uses does not climb).
pub(crate) const PROBE_STEP: f64 = 0.25;
/// A learned limit is forgotten after this long without a throttle.
pub(crate) const FORGET_AFTER: Duration = Duration::from_secs(300);
/// Calls the vendor must have accepted between two throttles to measure its rate.
pub(crate) const MIN_SAMPLES: u32 = 10;

type Gcra = RateLimiter<NotKeyed, InMemoryState, TokioClock, governor::middleware::NoOpMiddleware<Duration>>;

fn gcra(rate: f64, clock: TokioClock) -> Gcra {
    let period = Duration::from_secs_f64(1.0 / rate.max(MIN_RATE));
    let quota = Quota::with_period(period).unwrap_or_else(|| Quota::per_second(nonzero(1)));
    RateLimiter::direct_with_clock(quota.allow_burst(nonzero(1)), clock)
}

fn nonzero(n: u32) -> std::num::NonZeroU32 {
    std::num::NonZeroU32::new(n.max(1)).unwrap_or(std::num::NonZeroU32::MIN)
}

struct State {
    gcra: Gcra,
    configured: f64,
    current: f64,
    paused_until: Duration,
    strikes: u32,
    last_change: Duration,
    queue: Waiters,
    dispatching: bool,
    last_used: Duration,
    /// The vendor's limit as last measured (None: not known).
    learned: Option<f64>,
    /// When the rate last dropped after a throttle.
    last_episode: Option<Duration>,
    /// Start of the current measure: the last throttle episode.
    measure_from: Duration,
    /// Grant times since `measure_from`, at most [`WINDOW`] back.
    grants: VecDeque<Duration>,
    /// Send times of the calls the vendor throttled, likewise.
    refusals: VecDeque<Duration>,
    /// Pauses since `measure_from` (start, end).
    pauses: VecDeque<(Duration, Duration)>,
    /// Calls granted since the rate last changed.
    granted_at_rate: u32,
}

/// The measure of the vendor's rate reaches this far back at most.
pub(crate) const WINDOW: Duration = Duration::from_secs(5);

/// What a vendor is taken to store up while the bucket pauses: about one
/// second's worth of calls (its burst), so at most this much of each pause
/// counts in the measure of its rate.
pub(crate) const REFILL: Duration = Duration::from_secs(1);

impl State {
    fn set_rate(&mut self, rate: f64, now: Duration, clock: TokioClock) {
        self.current = rate.clamp(MIN_RATE, self.configured.max(MIN_RATE));
        self.gcra = gcra(self.current, clock);
        self.last_change = now;
        self.granted_at_rate = 0;
    }

    /// A turn was given at `now`.
    fn grant(&mut self, now: Duration) {
        self.grants.push_back(now);
        self.granted_at_rate = self.granted_at_rate.saturating_add(1);
        self.forget_before(now);
    }

    /// Forgets grants and refusals older than the measure.
    fn forget_before(&mut self, now: Duration) {
        let from = self.measure_from.max(now.saturating_sub(WINDOW));
        while self.grants.front().is_some_and(|t| *t < from) {
            self.grants.pop_front();
        }
        while self.refusals.front().is_some_and(|t| *t < from) {
            self.refusals.pop_front();
        }
    }

    /// Calls per second granted since the rate last changed.
    fn granted_rate(&self, now: Duration) -> f64 {
        let span = now.saturating_sub(self.last_change).as_secs_f64();
        if span > 0.0 { f64::from(self.granted_at_rate) / span } else { 0.0 }
    }

    /// The rate the vendor accepted (None: too few calls to tell): calls
    /// granted minus calls throttled since the last episode, at most
    /// [`WINDOW`] back. From the episode, both ends are moments the vendor
    /// refused, so what it accepted in between is what it allows (less what
    /// it could not store during long pauses, left out); a window that
    /// starts later may include what it had stored then (an upper bound).
    fn accepted_rate(&mut self, now: Duration) -> Option<f64> {
        self.forget_before(now);
        let accepted = u32::try_from(self.grants.len().saturating_sub(self.refusals.len())).unwrap_or(u32::MAX);
        let from = self.measure_from.max(now.saturating_sub(WINDOW));
        // Pause time beyond what the vendor could store meanwhile does not count.
        let idle: Duration = self
            .pauses
            .iter()
            .map(|(start, end)| (*end).min(now).saturating_sub((*start).max(from)).saturating_sub(REFILL))
            .sum();
        let span = now.saturating_sub(from).saturating_sub(idle).as_secs_f64();
        // ± one call at the ends: count half of one.
        (accepted >= MIN_SAMPLES && span > 0.0).then(|| (f64::from(accepted) + 0.5) / span)
    }
}

/// A caller's answer from the queue.
#[derive(Debug)]
pub(crate) enum Turn {
    /// Go now.
    Go,
    /// The rate dropped and the turn would come after the caller's deadline:
    /// refused, the turn now expected in this long.
    Refused(Duration),
}

/// A queued caller.
struct Waiter {
    tx: oneshot::Sender<Turn>,
    /// Latest time (on the bucket's clock) its turn may come.
    until: Duration,
}

/// A rate bucket.
pub(crate) struct Bucket {
    clock: TokioClock,
    state: Mutex<State>,
}

/// What a caller gets when it may not go now.
pub(crate) enum Admission {
    /// Go now.
    Now,
    /// Wait on this channel (the dispatcher sends when it is your turn, or
    /// refuses you when the rate drops), about this long.
    Queued(oneshot::Receiver<Turn>, Duration),
    /// The wait would be longer than allowed: this long.
    TooLong(Duration),
}

impl Bucket {
    /// A bucket at `rate` calls per second.
    pub(crate) fn new(rate: f64, clock: TokioClock) -> Arc<Self> {
        let now = clock.now();
        Arc::new(Bucket {
            clock,
            state: Mutex::new(State {
                gcra: gcra(rate, clock),
                configured: rate,
                current: rate,
                paused_until: Duration::ZERO,
                strikes: 0,
                last_change: now,
                queue: Waiters::default(),
                dispatching: false,
                last_used: now,
                learned: None,
                last_episode: None,
                measure_from: now,
                grants: VecDeque::new(),
                refusals: VecDeque::new(),
                pauses: VecDeque::new(),
                granted_at_rate: 0,
            }),
        })
    }

    /// The bucket's clock reading at `t`.
    pub(crate) fn at(&self, t: tokio::time::Instant) -> Duration {
        self.clock.at(t)
    }

    /// Asks to call now, or to wait at most `allowed`, as `caller` (None:
    /// anonymous callers, who share one turn).
    pub(crate) async fn admit(self: &Arc<Self>, allowed: Duration, caller: Option<&str>) -> Admission {
        let mut st = self.state.lock().await;
        let now = self.clock.now();
        st.last_used = now;
        recover(&mut st, now, self.clock);
        st.queue.prune();
        if st.queue.is_empty() && now >= st.paused_until && st.gcra.check().is_ok() {
            st.grant(now);
            return Admission::Now;
        }
        let wait = estimate(&st, now, caller);
        if wait > allowed {
            return Admission::TooLong(wait);
        }
        let (tx, rx) = oneshot::channel();
        st.queue.push(caller, Waiter { tx, until: now + allowed });
        if !st.dispatching {
            st.dispatching = true;
            tokio::spawn(dispatch(self.clone()));
        }
        Admission::Queued(rx, wait)
    }

    /// The vendor throttled a call granted at `sent` (clock time): count
    /// it; if it was sent after the last decrease, it starts a new episode
    /// and the rate drops (see the module docs); pause for `retry_after`
    /// (or an exponential pause); refuse waiters who can no longer make it.
    pub(crate) async fn throttled(&self, retry_after: Option<Duration>, sent: Duration) {
        let mut st = self.state.lock().await;
        let now = self.clock.now();
        if sent >= st.measure_from.max(now.saturating_sub(WINDOW)) {
            st.refusals.push_back(sent);
        }
        if st.last_episode.is_none_or(|e| sent > e) {
            st.strikes = st.strikes.saturating_add(1);
            decrease(&mut st, now, self.clock);
        }
        let pause = retry_after
            .unwrap_or_else(|| FIRST_PAUSE.saturating_mul(1 << (st.strikes.max(1) - 1).min(6)).min(MAX_PAUSE));
        let until = st.paused_until.max(now + pause);
        match st.pauses.back_mut() {
            // The same pause, lengthened.
            Some((_, end)) if *end >= now => *end = until,
            _ => st.pauses.push_back((now, until)),
        }
        st.paused_until = until;
        let (start, per) = (st.paused_until.max(now), interval(st.current));
        st.queue.refuse_late(start, per, now);
    }

    /// Current rate, calls per second.
    #[cfg(test)]
    pub(crate) async fn rate(&self) -> f64 {
        self.state.lock().await.current
    }

    /// Whether the bucket has been idle for `idle` with nobody waiting.
    pub(crate) async fn idle_for(&self, idle: Duration) -> bool {
        let st = self.state.lock().await;
        st.queue.is_empty() && self.clock.now().saturating_sub(st.last_used) >= idle
    }
}

/// A new throttle episode at `now`: learn the vendor's limit where the
/// calls since the last measure allow it, and drop the rate.
fn decrease(st: &mut State, now: Duration, clock: TokioClock) {
    let throttled_at = st.current;
    let accepted = st.accepted_rate(now);
    let learned = match (st.last_episode, accepted) {
        // The first throttle says only that the rate is too high.
        (None, _) => None,
        // What the vendor accepted, at most the rate it throttled.
        (Some(_), Some(accepted)) => Some(throttled_at.min(accepted)),
        // Too few calls to measure: after a quiet climb, or near a limit
        // learnt before, the vendor's limit lies just under the rate it
        // throttled.
        (Some(e), None) if st.learned.is_some() || now.saturating_sub(e) >= RECOVER_EVERY => {
            Some(throttled_at * DECREASE)
        }
        (Some(_), None) => None,
    };
    st.last_episode = Some(now);
    st.measure_from = now;
    st.grants.clear();
    st.refusals.clear();
    st.pauses.clear();
    match learned {
        Some(limit) => {
            st.learned = Some(limit);
            st.set_rate(limit * DECREASE, now, clock);
        }
        None => st.set_rate(throttled_at / 2.0, now, clock),
    }
}

/// Additive increase after each quiet [`RECOVER_EVERY`] (see the module docs).
fn recover(st: &mut State, now: Duration, clock: TokioClock) {
    let quiet = now.saturating_sub(st.last_change);
    if quiet < RECOVER_EVERY {
        return;
    }
    let steps = (quiet.as_secs_f64() / RECOVER_EVERY.as_secs_f64()).floor();
    if st.last_episode.is_some_and(|e| now.saturating_sub(e) >= FORGET_AFTER) {
        st.learned = None;
    }
    let (limit, step) = match st.learned {
        Some(l) => ((l * HOLD).min(st.configured), l * STEP),
        None => (st.configured, st.granted_rate(now) * PROBE_STEP),
    };
    st.strikes = 0;
    if st.current < limit && step > 0.0 {
        let rate = (st.current + steps * step).min(limit);
        st.set_rate(rate, now, clock);
    } else {
        st.last_change = now;
    }
}

/// Time between two calls at `rate`.
fn interval(rate: f64) -> Duration {
    Duration::from_secs_f64(1.0 / rate.max(MIN_RATE))
}

/// Expected wait (an upper bound) of `caller` joining its queue now: any
/// pause, then one emission interval per waiter served before it and one
/// for itself.
fn estimate(st: &State, now: Duration, caller: Option<&str>) -> Duration {
    let pause = st.paused_until.saturating_sub(now);
    pause + interval(st.current).mul_f64((st.queue.ahead_of(caller) + 1) as f64)
}

/// Waiters, FIFO per caller, callers served round-robin.
#[derive(Default)]
struct Waiters {
    lanes: VecDeque<(Option<String>, VecDeque<Waiter>)>,
}

impl Waiters {
    fn push(&mut self, caller: Option<&str>, w: Waiter) {
        match self.lanes.iter_mut().find(|(c, _)| c.as_deref() == caller) {
            Some((_, lane)) => lane.push_back(w),
            None => self.lanes.push_back((caller.map(str::to_owned), VecDeque::from([w]))),
        }
    }

    /// The next caller's first waiter; that caller moves to the back.
    fn pop(&mut self) -> Option<Waiter> {
        let (caller, mut lane) = self.lanes.pop_front()?;
        let w = lane.pop_front();
        if !lane.is_empty() {
            self.lanes.push_back((caller, lane));
        }
        w
    }

    /// Forgets waiters that gave up (no token is spent for them).
    fn prune(&mut self) {
        for (_, lane) in &mut self.lanes {
            lane.retain(|w| !w.tx.is_closed());
        }
        self.lanes.retain(|(_, lane)| !lane.is_empty());
    }

    /// Refuses, in service order (round-robin), the waiters whose turn —
    /// the first at `start`, then one each `per` — would come after their
    /// deadline; those behind them move up.
    fn refuse_late(&mut self, start: Duration, per: Duration, now: Duration) {
        self.prune();
        let mut lanes: Vec<(Option<String>, Vec<Option<Waiter>>)> =
            self.lanes.drain(..).map(|(c, lane)| (c, lane.into_iter().map(Some).collect())).collect();
        let rounds = lanes.iter().map(|(_, lane)| lane.len()).max().unwrap_or(0);
        let mut served = 0u32;
        for round in 0..rounds {
            for (_, lane) in &mut lanes {
                let Some(slot) = lane.get_mut(round) else { continue };
                let turn = start + per.saturating_mul(served);
                match slot.take_if(|w| turn > w.until) {
                    Some(late) => {
                        let _ = late.tx.send(Turn::Refused(turn.saturating_sub(now)));
                    }
                    None => served += 1,
                }
            }
        }
        self.lanes = lanes
            .into_iter()
            .map(|(c, lane)| (c, lane.into_iter().flatten().collect::<VecDeque<_>>()))
            .filter(|(_, lane)| !lane.is_empty())
            .collect();
    }

    fn is_empty(&self) -> bool {
        self.lanes.is_empty()
    }

    /// Waiters served before a new waiter of `caller`: its own queue, and
    /// from every other caller at most one per turn it waits.
    fn ahead_of(&self, caller: Option<&str>) -> usize {
        let own = self.lanes.iter().find(|(c, _)| c.as_deref() == caller).map_or(0, |(_, l)| l.len());
        let others: usize =
            self.lanes.iter().filter(|(c, _)| c.as_deref() != caller).map(|(_, l)| l.len().min(own + 1)).sum();
        own + others
    }
}

/// Hands out turns (round-robin across callers, in arrival order per
/// caller); skips waiters that gave up (no token
/// is spent for them); ends when the queue is empty.
async fn dispatch(b: Arc<Bucket>) {
    loop {
        let sleep = {
            let mut st = b.state.lock().await;
            st.queue.prune();
            if st.queue.is_empty() {
                st.dispatching = false;
                return;
            }
            let now = b.clock.now();
            if now < st.paused_until {
                st.paused_until - now
            } else {
                match st.gcra.check() {
                    Ok(()) => {
                        if let Some(w) = st.queue.pop() {
                            st.grant(now);
                            let _ = w.tx.send(Turn::Go);
                        }
                        continue;
                    }
                    Err(not_until) => not_until.wait_time_from(now),
                }
            }
        };
        tokio::time::sleep(sleep).await;
    }
}
