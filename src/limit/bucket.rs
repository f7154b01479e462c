//! One rate bucket (an account's calls to one vendor API): governor's GCRA
//! for the rate, a queue of waiters in front of it (FIFO per caller,
//! round-robin across callers, so one caller flooding a workspace cannot
//! push another's wait past its share), a pause after vendor throttling
//! and a rate that backs off and recovers.

use std::{collections::VecDeque, sync::Arc, time::Duration};

use governor::{Quota, RateLimiter, clock::Clock, state::InMemoryState, state::NotKeyed};
use tokio::sync::{Mutex, oneshot};

use super::clock::TokioClock;

/// Lowest rate a bucket backs off to, calls per second.
pub(crate) const MIN_RATE: f64 = 0.2;
/// Time without a throttle after which the rate climbs one step.
pub(crate) const RECOVER_EVERY: Duration = Duration::from_secs(5);
/// Pause after a throttle that advertised no retry-after (doubles per strike).
const FIRST_PAUSE: Duration = Duration::from_secs(1);
const MAX_PAUSE: Duration = Duration::from_secs(60);

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
    /// Wait on this channel (the dispatcher sends when it is your turn).
    Queued(oneshot::Receiver<Duration>, Duration),
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
            }),
        })
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
            return Admission::Now;
        }
        let wait = estimate(&st, now, caller);
        if wait > allowed {
            return Admission::TooLong(wait);
        }
        let (tx, rx) = oneshot::channel();
        st.queue.push(caller, tx);
        if !st.dispatching {
            st.dispatching = true;
            tokio::spawn(dispatch(self.clone()));
        }
        Admission::Queued(rx, wait)
    }

    /// The vendor throttled a call: pause for `retry_after` (or an
    /// exponential pause) and halve the rate.
    pub(crate) async fn throttled(&self, retry_after: Option<Duration>) {
        let mut st = self.state.lock().await;
        let now = self.clock.now();
        st.strikes = st.strikes.saturating_add(1);
        let pause =
            retry_after.unwrap_or_else(|| FIRST_PAUSE.saturating_mul(1 << (st.strikes - 1).min(6)).min(MAX_PAUSE));
        st.paused_until = st.paused_until.max(now + pause);
        st.current = (st.current / 2.0).max(MIN_RATE);
        st.gcra = gcra(st.current, self.clock);
        st.last_change = now;
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

/// Additive recovery: one tenth of the configured rate per quiet period.
fn recover(st: &mut State, now: Duration, clock: TokioClock) {
    if st.current >= st.configured || now.saturating_sub(st.last_change) < RECOVER_EVERY {
        return;
    }
    let steps = (now.saturating_sub(st.last_change).as_secs_f64() / RECOVER_EVERY.as_secs_f64()).floor();
    st.current = (st.current + steps * st.configured / 10.0).min(st.configured);
    st.strikes = 0;
    st.gcra = gcra(st.current, clock);
    st.last_change = now;
}

/// Expected wait (an upper bound) of `caller` joining its queue now: any
/// pause, then one emission interval per waiter served before it and one
/// for itself.
fn estimate(st: &State, now: Duration, caller: Option<&str>) -> Duration {
    let pause = st.paused_until.saturating_sub(now);
    let per = Duration::from_secs_f64(1.0 / st.current.max(MIN_RATE));
    pause + per.mul_f64((st.queue.ahead_of(caller) + 1) as f64)
}

/// Waiters, FIFO per caller, callers served round-robin.
#[derive(Default)]
struct Waiters {
    lanes: VecDeque<(Option<String>, VecDeque<oneshot::Sender<Duration>>)>,
}

impl Waiters {
    fn push(&mut self, caller: Option<&str>, w: oneshot::Sender<Duration>) {
        match self.lanes.iter_mut().find(|(c, _)| c.as_deref() == caller) {
            Some((_, lane)) => lane.push_back(w),
            None => self.lanes.push_back((caller.map(str::to_owned), VecDeque::from([w]))),
        }
    }

    /// The next caller's first waiter; that caller moves to the back.
    fn pop(&mut self) -> Option<oneshot::Sender<Duration>> {
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
            lane.retain(|w| !w.is_closed());
        }
        self.lanes.retain(|(_, lane)| !lane.is_empty());
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
                            let _ = w.send(now);
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
