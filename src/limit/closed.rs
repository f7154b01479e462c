//! Vendor APIs closed for the day: when a vendor answers that an account's
//! daily quota for an API is used up, that (account, API) takes no call
//! until the vendor's reset. Callers get RESOURCE_EXHAUSTED + QuotaFailure
//! (and RetryInfo until the reset) at once, without a vendor call and
//! without spending the daily budget.
//!
//! The closures live in memory and in one small state file under
//! `server.state_dir` (`closed-apis.json`), rewritten on every closure (a
//! rare event) and read at start, so a restart keeps them. A file that
//! cannot be read is logged and ignored: the next call of each closed API
//! then reaches the vendor once, is refused again and closes it again.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::Mutex,
    time::Duration,
};

use serde::{Deserialize, Serialize};
use tonic::Code;

use crate::{
    domain::{Error, Reason},
    state::Snapshot,
};

/// Name of the state file under `server.state_dir`.
pub(crate) const FILE: &str = "closed-apis.json";

/// One closure as kept in the state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Closure {
    account: String,
    api: String,
    /// The vendor's reset, milliseconds since the Unix epoch.
    until_ms: i64,
}

/// The closed (account, API) pairs of this process.
pub(crate) struct Closed {
    path: PathBuf,
    map: Mutex<HashMap<(String, String), jiff::Timestamp>>,
}

impl Closed {
    /// The closures kept in `state_dir`, those still in force read now.
    pub(crate) fn load(state_dir: &Path) -> Self {
        let path = state_dir.join(FILE);
        let read = Snapshot::at(&path).read::<Vec<Closure>>().unwrap_or_else(|e| {
            tracing::error!(error = %e, "the closed vendor APIs cannot be read; each will be learnt again from the vendor");
            None
        });
        let now = jiff::Timestamp::now();
        let map = read
            .unwrap_or_default()
            .into_iter()
            .filter_map(|c| {
                let until = jiff::Timestamp::from_millisecond(c.until_ms).ok()?;
                (until > now).then_some(((c.account, c.api), until))
            })
            .collect();
        Closed { path, map: Mutex::new(map) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), jiff::Timestamp>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How long `account`'s `api` stays closed after `now` (None: open).
    pub(crate) fn left_at(&self, account: &str, api: &str, now: jiff::Timestamp) -> Option<Duration> {
        let until = *self.lock().get(&(account.to_owned(), api.to_owned()))?;
        let left = Duration::try_from(until.duration_since(now)).ok()?;
        (!left.is_zero()).then_some(left)
    }

    /// Ok when `account` may call `api` now; otherwise the refusal.
    pub(crate) fn check(&self, account: &str, api: &str) -> Result<(), Error> {
        match self.left_at(account, api, jiff::Timestamp::now()) {
            None => Ok(()),
            Some(left) => Err(refusal(account, api, left)),
        }
    }

    /// Closes `account`'s `api` until `until` (a later closure wins) and
    /// saves every closure still in force at `now`.
    pub(crate) fn close_at(&self, account: &str, api: &str, until: jiff::Timestamp, now: jiff::Timestamp) {
        let records: Vec<Closure> = {
            let mut m = self.lock();
            m.retain(|_, u| *u > now);
            let e = m.entry((account.to_owned(), api.to_owned())).or_insert(until);
            *e = (*e).max(until);
            m.iter()
                .map(|((account, api), u)| Closure {
                    account: account.clone(),
                    api: api.clone(),
                    until_ms: u.as_millisecond(),
                })
                .collect()
        };
        if let Some(dir) = self.path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if let Err(e) = Snapshot::at(&self.path).write(&records) {
            tracing::warn!(error = %e, "cannot save the closed vendor APIs; a restart will learn them again from the vendor");
        }
    }

    /// Closes `account`'s `api` for `left` from now.
    pub(crate) fn close(&self, account: &str, api: &str, left: Duration) {
        let now = jiff::Timestamp::now();
        let until = jiff::SignedDuration::try_from(left).ok().and_then(|d| now.checked_add(d).ok());
        self.close_at(account, api, until.unwrap_or(jiff::Timestamp::MAX), now);
    }
}

/// RESOURCE_EXHAUSTED with QuotaFailure and RetryInfo: the vendor said
/// `account`'s daily quota for `api` is used up; no call is made for `left`.
pub(crate) fn refusal(account: &str, api: &str, left: Duration) -> Error {
    let mut e = Error::new(
        Code::ResourceExhausted,
        Reason::VendorDailyQuotaExhausted,
        format!(
            "the vendor's daily quota for {api} of this workspace's account is used up; no call is made until it \
             resets in {} s",
            left.as_secs()
        ),
    )
    .with_retry_after(left);
    e.quota = Some((account.to_owned(), format!("{api}: the vendor's daily call quota")));
    e
}

/// Time from `now` to the next midnight in `zone` (the start of the next
/// day there; at least one second).
pub(crate) fn until_next_day(zone: &jiff::tz::TimeZone, now: jiff::Timestamp) -> Duration {
    let next = now
        .to_zoned_datetime(zone.clone())
        .date()
        .tomorrow()
        .ok()
        .and_then(|d| d.to_zoned_datetime(zone.clone()).ok())
        .map(|z| z.timestamp())
        .unwrap_or(now + jiff::SignedDuration::from_hours(24));
    Duration::try_from(next.duration_since(now)).unwrap_or(Duration::ZERO).max(Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_closure_holds_until_its_reset_and_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let now = jiff::Timestamp::now();
        let c = Closed::load(dir.path());
        assert_eq!(c.left_at("acct", "ListFiles", now), None);
        c.close_at("acct", "ListFiles", now + jiff::SignedDuration::from_hours(3), now);
        let left = c.left_at("acct", "ListFiles", now).unwrap();
        assert_eq!(left, Duration::from_secs(3 * 3600));
        assert_eq!(c.left_at("acct", "GetFile", now), None, "other APIs stay open");
        assert_eq!(c.left_at("other", "ListFiles", now), None, "other accounts stay open");
        let after = now + jiff::SignedDuration::from_hours(3);
        assert_eq!(c.left_at("acct", "ListFiles", after), None, "open again at the reset");
        // An earlier reset does not shorten a closure.
        c.close_at("acct", "ListFiles", now + jiff::SignedDuration::from_hours(1), now);
        assert_eq!(c.left_at("acct", "ListFiles", now), Some(left));
        // A restart reads the closure back.
        let again = Closed::load(dir.path());
        assert!(again.left_at("acct", "ListFiles", now).is_some());
        let e = again.check("acct", "ListFiles").unwrap_err();
        assert_eq!((e.code, e.reason), (Code::ResourceExhausted, Reason::VendorDailyQuotaExhausted));
        assert_eq!(e.quota.as_ref().unwrap().0, "acct");
        assert!(e.retry_after.unwrap() > Duration::from_secs(3 * 3600 - 60));
        again.check("acct", "GetFile").unwrap();
    }

    #[test]
    fn a_damaged_file_opens_everything_rather_than_stopping() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), "{not json").unwrap();
        let c = Closed::load(dir.path());
        c.check("acct", "ListFiles").unwrap();
        c.close("acct", "ListFiles", Duration::from_secs(60));
        assert!(Closed::load(dir.path()).check("acct", "ListFiles").is_err(), "rewritten whole");
    }

    #[test]
    fn the_next_day_starts_at_midnight_in_the_zone() {
        let tz = jiff::tz::TimeZone::get("Asia/Shanghai").unwrap();
        // 15:00 UTC is 23:00 in Shanghai: one hour to its midnight.
        assert_eq!(until_next_day(&tz, at("2026-11-23T15:00:00Z")), Duration::from_secs(3600));
        // 16:00 UTC is midnight there: a whole day to the next.
        assert_eq!(until_next_day(&tz, at("2026-11-23T16:00:00Z")), Duration::from_secs(86_400));
        assert_eq!(until_next_day(&jiff::tz::TimeZone::UTC, at("2026-11-23T23:59:59.5Z")), Duration::from_secs(1));
    }
}
