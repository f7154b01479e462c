//! Deploy writes whose answer was lost are looked up, never re-sent
//! blindly. When a vendor write fails in a way that leaves it possibly
//! applied (a 5xx, a timeout or reset after sending, an unreadable answer),
//! the driver looks at the vendor for what the write would have made (each
//! driver knows where: recent packages or runs of the same object). Found:
//! the write was applied, and the deploy goes on with what was found. Proven
//! absent: the write was not applied, and it is sent once more. The lookup
//! itself failing leaves the outcome unknown (the original error stands,
//! which the deploy ledger records as such).

use std::{future::Future, time::Duration};

pub(crate) use crate::domain::Looked;
use crate::{
    domain::{Error, Reason, Result},
    pb,
};

/// How long after a lost answer the vendor is looked at: the vendors' lists
/// may lag a write by a moment.
const SETTLE: Duration = Duration::from_secs(1);

/// Sends `write`; if its answer was lost, resolves it with `look` (see the
/// module docs).
pub(crate) async fn write_once<T, W, WF, L, LF>(what: &str, mut write: W, look: L) -> Result<T>
where
    W: FnMut() -> WF,
    WF: Future<Output = Result<T>>,
    L: FnOnce() -> LF,
    LF: Future<Output = Result<Looked<T>>>,
{
    let lost = match write().await {
        Err(e) if e.reason.may_have_applied() => e,
        done => return done,
    };
    tokio::time::sleep(SETTLE).await;
    match look().await {
        Ok(Looked::Applied(t)) => {
            tracing::info!(write = what, error = %lost.message, "a lost write answer was looked up: the vendor applied it");
            crate::telemetry::metrics::lost_write("applied");
            Ok(t)
        }
        Ok(Looked::NotApplied) => {
            tracing::info!(
                write = what,
                error = %lost.message,
                "a lost write answer was looked up: the vendor did not apply it; sending it once more"
            );
            crate::telemetry::metrics::lost_write("not_applied");
            write().await
        }
        Err(e) => {
            tracing::warn!(
                write = what,
                error = %lost.message,
                lookup_error = %e.message,
                "a lost write answer could not be looked up: its outcome stays unknown"
            );
            crate::telemetry::metrics::lost_write("unknown");
            Err(lost)
        }
    }
}

/// What a deploy call of `items` items made, from the deployments found
/// for each: none is "not applied", all is "applied", some leaves the
/// outcome unknown (sending the rest is not attempted).
pub(crate) fn all_or_none(found: Vec<pb::Deployment>, items: usize) -> Result<Looked<Vec<pb::Deployment>>> {
    match found.len() {
        0 => Ok(Looked::NotApplied),
        n if n == items => Ok(Looked::Applied(found)),
        n => Err(Error::new(
            tonic::Code::Unknown,
            Reason::DeployOutcomeUnknown,
            format!("the vendor applied {n} of the {items} items of this deploy"),
        )),
    }
}
