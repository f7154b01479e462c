//! The vendor calls made on behalf of one RPC: the server layer gives each
//! RPC a [`Tally`] (a task-local), every vendor HTTP attempt made inside
//! it counts there, and the RPC's count goes to
//! `datastudio_rpc_vendor_calls` when it ends. A shared vendor call runs in
//! a task of its own under a tally of its own, whose count its first caller
//! adds to its RPC's ([`add`]).

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
};

tokio::task_local! {
    static TALLY: Tally;
}

/// A count of vendor calls, shared by the tasks that work for one RPC.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally(Arc<AtomicU32>);

impl Tally {
    /// Calls counted so far.
    pub(crate) fn get(&self) -> u32 {
        self.0.load(Ordering::Relaxed)
    }

    fn add(&self, n: u32) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
}

/// Runs `f` with `tally` as the current one.
pub(crate) fn scope<F: Future>(tally: Tally, f: F) -> tokio::task::futures::TaskLocalFuture<Tally, F> {
    TALLY.scope(tally, f)
}

/// Runs `f` (one poll of a body) with `tally` as the current one.
pub(crate) fn sync_scope<R>(tally: &Tally, f: impl FnOnce() -> R) -> R {
    TALLY.sync_scope(tally.clone(), f)
}

/// Adds `n` calls to the current tally, if there is one.
pub(crate) fn add(n: u32) {
    let _ = TALLY.try_with(|t| t.add(n));
}
