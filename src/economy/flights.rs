//! Coalescing: identical reads in flight at the same time share one vendor
//! call (a *flight*).
//!
//! The first caller of a key starts the flight: its fetch runs in a task of
//! its own, so no caller's going away cancels it for the others. Every
//! caller of the key, the first included, then waits for the flight's
//! outcome within its own deadline; a caller whose deadline passes gets
//! DEADLINE_EXCEEDED and the flight goes on for the rest. When the last
//! caller has left, the flight's task is aborted (nobody wants the answer).
//! A finished flight leaves the table: the next caller starts a new one
//! (what may be kept longer is the cache's business).
//!
//! A flight runs under its first caller's context, deadline included, so a
//! vendor call never outlives every caller's deadline and the limiter still
//! refuses at once what that deadline cannot cover. A caller that joined
//! with a later deadline than the flight's and saw it end for want of time
//! (DEADLINE_EXCEEDED, or the limiter's refusal) starts or joins a new
//! flight under its own deadline: a short deadline never cuts a longer one
//! short.

use std::{
    collections::HashMap,
    future::Future,
    hash::Hash,
    sync::{Arc, Mutex, Weak},
    time::Instant,
};

use tokio::sync::watch;
use tracing::Instrument;

use crate::{
    domain::{CallCtx, Error, Reason, Result},
    telemetry::tally::{self, Tally},
};

/// What a flight ended with: the answer, and the vendor calls it took.
pub(crate) struct Landing<V> {
    /// The fetch's answer.
    pub result: Result<V>,
    /// Vendor calls the fetch made.
    pub calls: u32,
}

/// How a caller got its answer.
pub(crate) struct Joined<V> {
    /// The answer, error included: the flight's own for its last caller,
    /// a clone for any other.
    pub result: Result<V>,
    /// Vendor calls the flight made.
    pub calls: u32,
    /// Whether this caller started the flight (false: it shared another's).
    pub led: bool,
}

type Outcome<V> = Option<Arc<Landing<V>>>;

/// One fetch in progress; every waiting caller holds it.
struct Flight<K: Eq + Hash, V> {
    rx: watch::Receiver<Outcome<V>>,
    task: tokio::task::AbortHandle,
    /// The deadline the fetch runs under.
    deadline: Option<Instant>,
    /// Which flight of its key this is.
    id: u64,
    key: K,
    table: Weak<Mutex<Table<K, V>>>,
}

/// The flight of a key in the table, if any caller still holds it.
struct Entry<K: Eq + Hash, V> {
    id: u64,
    flight: Weak<Flight<K, V>>,
}

struct Table<K: Eq + Hash, V> {
    next: u64,
    by_key: HashMap<K, Entry<K, V>>,
}

impl<K: Eq + Hash, V> Table<K, V> {
    /// Takes flight `id` of `key` off the table, if it is still there.
    fn remove(&mut self, key: &K, id: u64) {
        if self.by_key.get(key).is_some_and(|e| e.id == id) {
            self.by_key.remove(key);
        }
    }
}

type Shared<K, V> = Arc<Mutex<Table<K, V>>>;

fn lock<K: Eq + Hash, V>(t: &Mutex<Table<K, V>>) -> std::sync::MutexGuard<'_, Table<K, V>> {
    t.lock().unwrap_or_else(|e| e.into_inner())
}

impl<K: Eq + Hash, V> Drop for Flight<K, V> {
    fn drop(&mut self) {
        // The last caller left: nobody wants the answer any more.
        self.task.abort();
        if let Some(table) = self.table.upgrade() {
            lock(&table).remove(&self.key, self.id);
        }
    }
}

/// The flights of one kind of answer, by key.
pub(crate) struct Flights<K: Eq + Hash, V> {
    table: Shared<K, V>,
}

impl<K: Eq + Hash, V> Default for Flights<K, V> {
    fn default() -> Self {
        Flights { table: Arc::new(Mutex::new(Table { next: 0, by_key: HashMap::new() })) }
    }
}

/// Most flights one caller waits for: each after the first needs a later
/// deadline than the one before, so this only bounds the pathological.
const MAX_ROUNDS: usize = 4;

impl<K, V> Flights<K, V>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// The answer for `key`: from a flight in progress, or from a new one
    /// running `fetch` under `ctx`; waits no longer than `ctx`'s deadline.
    pub(crate) async fn run<F, Fut>(&self, ctx: &CallCtx, key: K, fetch: F) -> Joined<V>
    where
        F: Fn(CallCtx) -> Fut,
        Fut: Future<Output = Result<V>> + Send + 'static,
    {
        let mut round = 0;
        loop {
            round += 1;
            let (flight, led) = self.join(ctx, &key, &fetch);
            let landing = match wait(&flight, ctx.deadline).await {
                Ok(l) => l,
                Err(e) => return Joined { result: Err(e), calls: 0, led },
            };
            let short = landing.result.as_ref().err().is_some_and(ran_out_of_time);
            let later = match (ctx.deadline, flight.deadline) {
                (None, Some(_)) => true,
                (Some(mine), Some(its)) => mine > its,
                (_, None) => false,
            };
            if !led && short && later && round < MAX_ROUNDS {
                // The flight ran out of its first caller's time, not ours.
                drop(flight);
                continue;
            }
            // The last caller of the flight takes its answer as it is; one
            // that shares the flight with others gets a clone.
            drop(flight);
            let calls = landing.calls;
            let result = match Arc::try_unwrap(landing) {
                Ok(l) => l.result,
                Err(shared) => shared.result.clone(),
            };
            return Joined { result, calls, led };
        }
    }

    /// The flight of `key` in progress, or a new one (then `true`).
    fn join<F, Fut>(&self, ctx: &CallCtx, key: &K, fetch: &F) -> (Arc<Flight<K, V>>, bool)
    where
        F: Fn(CallCtx) -> Fut,
        Fut: Future<Output = Result<V>> + Send + 'static,
    {
        let mut t = lock(&self.table);
        // A flight that has landed already stays joinable until its task
        // takes it off the table: its answer is as fresh as a shared one.
        if let Some(f) = t.by_key.get(key).and_then(|e| e.flight.upgrade())
            && !ran_out_for(&f, ctx.deadline)
        {
            return (f, false);
        }
        t.next += 1;
        let id = t.next;
        let (tx, rx) = watch::channel(None);
        let calls = Tally::default();
        // The shared call belongs to the first caller's trace: its client
        // spans are children of that caller's server span.
        let work = tally::scope(calls.clone(), fetch(ctx.clone())).instrument(tracing::Span::current());
        let table = Arc::downgrade(&self.table);
        let k = key.clone();
        // The table stays locked until the flight is in it, so the task
        // cannot take it off before it is on.
        let task = tokio::spawn(async move {
            let result = work.await;
            let _ = tx.send(Some(Arc::new(Landing { result, calls: calls.get() })));
            // Landed: later callers start afresh.
            if let Some(table) = table.upgrade() {
                lock(&table).remove(&k, id);
            }
        })
        .abort_handle();
        let flight = Arc::new(Flight {
            rx,
            task,
            deadline: ctx.deadline,
            id,
            key: key.clone(),
            table: Arc::downgrade(&self.table),
        });
        t.by_key.insert(key.clone(), Entry { id, flight: Arc::downgrade(&flight) });
        (flight, true)
    }

    /// Flights in progress (tests).
    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> usize {
        lock(&self.table).by_key.values().filter(|e| e.flight.strong_count() > 0).count()
    }
}

/// Whether a landed flight ended for want of time that `deadline` has more
/// of (then a new flight must start rather than hand out that error).
fn ran_out_for<K: Eq + Hash, V>(f: &Flight<K, V>, deadline: Option<Instant>) -> bool {
    let landed = f.rx.borrow();
    let short = landed.as_ref().is_some_and(|l| l.result.as_ref().err().is_some_and(ran_out_of_time));
    short
        && match (deadline, f.deadline) {
            (None, Some(_)) => true,
            (Some(mine), Some(its)) => mine > its,
            (_, None) => false,
        }
}

/// Whether an error says the call's time ran out (its deadline passed, or
/// the limiter could not give it a turn within it).
fn ran_out_of_time(e: &Error) -> bool {
    match e.reason {
        Reason::DeadlineExceeded => true,
        Reason::RateLimited => e.retry_after.is_some(),
        _ => false,
    }
}

/// Waits for `flight` to land, until `deadline`.
async fn wait<K: Eq + Hash, V>(flight: &Flight<K, V>, deadline: Option<Instant>) -> Result<Arc<Landing<V>>> {
    let mut rx = flight.rx.clone();
    let landed = async {
        match rx.wait_for(Option::is_some).await {
            Ok(v) => v.as_ref().map(Arc::clone).ok_or_else(lost),
            Err(_) => Err(lost()),
        }
    };
    match deadline {
        None => landed.await,
        Some(d) => tokio::time::timeout_at(tokio::time::Instant::from_std(d), landed).await.unwrap_or_else(|_| {
            Err(Error::new(tonic::Code::DeadlineExceeded, Reason::DeadlineExceeded, "the call's deadline passed"))
        }),
    }
}

/// The fetch's task ended without an answer (it panicked): a read, so
/// the caller may try again.
fn lost() -> Error {
    Error::new(tonic::Code::Unavailable, Reason::VendorUnavailable, "the shared vendor call ended without an answer")
}
