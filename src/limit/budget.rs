//! Daily call budgets per vendor account (DataWorks Basic: 100 calls a day),
//! counted by the gateway, kept in a small state file so the count survives
//! a restart, and reset at the vendor's day boundary in a configured zone.
//!
//! The count in memory is authoritative. A spend never waits for the disk:
//! one thread of the process writes the state files behind the callers,
//! only the newest count of each file, and a budget that goes away (the
//! gateway stopping) waits until its last count is written.
//!
//! The files are checksummed [`Snapshot`]s, all read at start
//! ([`check_dir`]): a damaged one stops the gateway, or with
//! `state.on_damage: quarantine` is set aside and its day counted as used
//! up. A count is never reset to 0 because its file cannot be read.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard, PoisonError},
};

use serde::{Deserialize, Serialize};
use tonic::Code;

use crate::{
    config::OnDamage,
    domain::{Error, Reason},
    state::{self, Snapshot, StateError},
};

/// One account's count of a day, as kept in its file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
struct Count {
    day: String,
    used: u32,
}

impl Count {
    /// The whole budget of `day` counted as used: what a count that cannot
    /// be read stands for (never 0).
    fn used_up(day: String) -> Self {
        Count { day, used: u32::MAX }
    }
}

/// The date at `now` in `zone`: the day a count belongs to.
fn day(zone: &jiff::tz::TimeZone, now: jiff::Timestamp) -> String {
    now.to_zoned_datetime(zone.clone()).date().to_string()
}

/// Reads every daily budget file in `dir` (`budget-*.json`) at start, so
/// damage is found now and not at an account's first call: an error, or
/// (`quarantine`) the file set aside and its count replaced by today's
/// budget used up (today in `zone`).
pub(crate) fn check_dir(dir: &Path, zone: &jiff::tz::TimeZone, on_damage: OnDamage) -> Result<(), StateError> {
    let entries = match std::fs::read_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        r => r.map_err(StateError::io(dir))?,
    };
    for entry in entries {
        let path = entry.map_err(StateError::io(dir))?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if !(name.starts_with("budget-") && name.ends_with(".json")) {
            continue;
        }
        match Snapshot::at(&path).read::<Count>() {
            Err(StateError::Damaged(d)) => {
                let now = jiff::Timestamp::now();
                state::quarantine(on_damage, d, "budget", now.as_millisecond())?;
                Snapshot::at(&path).write(&Count::used_up(day(zone, now))).map_err(StateError::io(&path))?;
            }
            read => {
                read?;
            }
        }
    }
    Ok(())
}

/// RESOURCE_EXHAUSTED with QuotaFailure: `subject`'s `limit` calls of the
/// day (midnight in `zone`) are used up.
pub(crate) fn exhausted(limit: u32, zone: &jiff::tz::TimeZone, subject: &str) -> Error {
    let mut e = Error::new(
        Code::ResourceExhausted,
        Reason::DailyBudgetExhausted,
        format!(
            "the daily vendor call budget ({limit}) of this workspace's account is used up until midnight {}",
            zone.iana_name().unwrap_or("UTC")
        ),
    );
    e.quota = Some((subject.to_owned(), format!("{limit} vendor calls per day")));
    e
}

/// Counts on their way to their state files: the newest count of each
/// file, written behind the callers by one thread, several files a batch.
struct Files {
    queue: Mutex<Queue>,
    /// Signalled when a count is queued and when a batch is written.
    changed: Condvar,
}

#[derive(Default)]
struct Queue {
    /// The newest count of each file, not yet taken by the writer.
    pending: HashMap<PathBuf, Count>,
    /// The batch being written now.
    writing: HashMap<PathBuf, Count>,
}

impl Files {
    /// The process's state files.
    fn global() -> Arc<Files> {
        static GLOBAL: LazyLock<Arc<Files>> = LazyLock::new(|| Files::start(save));
        GLOBAL.clone()
    }

    /// Files written by `save` on a thread of their own.
    fn start(mut save: impl FnMut(&Path, &Count) + Send + 'static) -> Arc<Files> {
        let files = Arc::new(Files { queue: Mutex::default(), changed: Condvar::new() });
        let writer = files.clone();
        std::thread::Builder::new()
            .name("budget-writer".into())
            .spawn(move || writer.write_behind(&mut save))
            .expect("cannot start the daily budget writer thread");
        files
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wait<'a>(&self, q: MutexGuard<'a, Queue>) -> MutexGuard<'a, Queue> {
        self.changed.wait(q).unwrap_or_else(PoisonError::into_inner)
    }

    /// The newest count of `path`: queued, being written, or on disk
    /// (none: 0), or why its file cannot be read.
    fn load(&self, path: &Path) -> Result<Count, StateError> {
        let queued = {
            let q = self.lock();
            q.pending.get(path).or_else(|| q.writing.get(path)).cloned()
        };
        // Nothing queued: the file holds the newest count.
        match queued {
            Some(c) => Ok(c),
            None => Ok(Snapshot::at(path).read()?.unwrap_or_default()),
        }
    }

    /// Queues `count` for `path`, replacing one not yet written.
    fn store(&self, path: &Path, count: Count) {
        self.lock().pending.insert(path.to_owned(), count);
        self.changed.notify_all();
    }

    /// Waits until the newest count of `path` is written.
    fn flush(&self, path: &Path) {
        let mut q = self.lock();
        while q.pending.contains_key(path) || q.writing.contains_key(path) {
            q = self.wait(q);
        }
    }

    /// The writer: takes whatever is queued, writes it, and again.
    fn write_behind(&self, save: &mut impl FnMut(&Path, &Count)) {
        let mut q = self.lock();
        loop {
            while q.pending.is_empty() {
                q = self.wait(q);
            }
            q.writing = std::mem::take(&mut q.pending);
            let batch = q.writing.clone();
            drop(q);
            for (path, count) in &batch {
                save(path, count);
            }
            q = self.lock();
            q.writing.clear();
            self.changed.notify_all();
        }
    }
}

/// Writes `c` to `path` (through a temporary file, renamed).
fn save(path: &Path, c: &Count) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if Snapshot::at(path).write(c).is_err() {
        crate::telemetry::metrics::state_write_failed("budget");
        tracing::warn!(path = %path.display(), "cannot save the daily budget count; it will restart from 0 after a restart");
    }
}

/// One account's daily budget.
pub(crate) struct DailyBudget {
    path: PathBuf,
    limit: u32,
    zone: jiff::tz::TimeZone,
    subject: String,
    count: Mutex<Count>,
    files: Arc<Files>,
}

impl DailyBudget {
    /// A budget of `limit` calls a day, stored at `path`; `subject` names
    /// the account in QuotaFailure (never a secret).
    pub(crate) fn new(path: PathBuf, limit: u32, zone: jiff::tz::TimeZone, subject: String) -> Self {
        Self::in_files(Files::global(), path, limit, zone, subject)
    }

    fn in_files(files: Arc<Files>, path: PathBuf, limit: u32, zone: jiff::tz::TimeZone, subject: String) -> Self {
        // Read at start by check_dir; damaged since: refuse today's calls.
        let count = files.load(&path).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the daily budget count cannot be read: today's budget is counted as used up");
            Count::used_up(day(&zone, jiff::Timestamp::now()))
        });
        DailyBudget { path, limit, zone, subject, count: Mutex::new(count), files }
    }

    fn day(&self, now: jiff::Timestamp) -> String {
        day(&self.zone, now)
    }

    /// Spends one call at `now`; refuses with RESOURCE_EXHAUSTED and
    /// QuotaFailure when the day's budget is used up. Returns what is left.
    /// The new count is written behind (see the module docs).
    pub(crate) fn spend_at(&self, now: jiff::Timestamp) -> Result<u32, Error> {
        let day = self.day(now);
        let mut c = self.count.lock().unwrap_or_else(|e| e.into_inner());
        if c.day != day {
            *c = Count { day, used: 0 };
        }
        if c.used >= self.limit {
            return Err(exhausted(self.limit, &self.zone, &self.subject));
        }
        c.used += 1;
        // Queued under the count's lock, so counts are queued in order.
        self.files.store(&self.path, c.clone());
        Ok(self.limit - c.used)
    }

    /// Spends one call now.
    pub(crate) fn spend(&self) -> Result<u32, Error> {
        self.spend_at(jiff::Timestamp::now())
    }

    /// Calls left today at `now`.
    #[cfg(test)]
    pub(crate) fn remaining_at(&self, now: jiff::Timestamp) -> u32 {
        let c = self.count.lock().unwrap_or_else(|e| e.into_inner());
        if c.day == self.day(now) { self.limit.saturating_sub(c.used) } else { self.limit }
    }
}

impl Drop for DailyBudget {
    /// The last count reaches the disk before the budget is gone.
    fn drop(&mut self) {
        self.files.flush(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_spends_persists_and_resets_at_the_zones_midnight() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.json");
        let tz = jiff::tz::TimeZone::get("Asia/Shanghai").unwrap();
        // 15:59:59 UTC is 23:59:59 in Shanghai.
        let before: jiff::Timestamp = "2026-11-23T15:59:59Z".parse().unwrap();
        let after: jiff::Timestamp = "2026-11-23T16:00:00Z".parse().unwrap();
        let b = DailyBudget::new(path.clone(), 3, tz.clone(), "acct".into());
        assert_eq!(b.spend_at(before).unwrap(), 2);
        assert_eq!(b.spend_at(before).unwrap(), 1);
        // A restart keeps the count.
        let b = DailyBudget::new(path.clone(), 3, tz, "acct".into());
        assert_eq!(b.spend_at(before).unwrap(), 0);
        let e = b.spend_at(before).unwrap_err();
        assert_eq!(e.code, Code::ResourceExhausted);
        assert_eq!(e.quota.as_ref().unwrap().0, "acct");
        assert_eq!(b.remaining_at(after), 3);
        assert_eq!(b.spend_at(after).unwrap(), 2);
    }

    #[test]
    fn spends_do_not_wait_for_the_disk_and_only_the_newest_count_is_written() {
        let (started, saves) = std::sync::mpsc::channel();
        let (go, gate) = std::sync::mpsc::channel::<()>();
        // A disk that takes its time: every write waits for `go`.
        let files = Files::start(move |_: &Path, c: &Count| {
            started.send((std::thread::current().id(), c.used)).unwrap();
            let _ = gate.recv();
        });
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.json");
        let now: jiff::Timestamp = "2026-11-23T12:00:00Z".parse().unwrap();
        let b = DailyBudget::in_files(files.clone(), path.clone(), 10, jiff::tz::TimeZone::UTC, "acct".into());
        assert_eq!(b.spend_at(now).unwrap(), 9);
        let (writer, used) = saves.recv().unwrap();
        assert_ne!(writer, std::thread::current().id(), "written by another thread");
        assert_eq!(used, 1);
        // The first write is stuck, yet spends go on and are counted.
        for left in [8, 7, 6] {
            assert_eq!(b.spend_at(now).unwrap(), left);
        }
        let again = DailyBudget::in_files(files, path, 10, jiff::tz::TimeZone::UTC, "acct".into());
        assert_eq!(again.remaining_at(now), 6, "a reopen sees the count not yet written");
        drop(go);
        drop(again);
        drop(b);
        // Counts 2 and 3 were replaced before the writer came back for them.
        assert_eq!(saves.try_iter().map(|(_, used)| used).collect::<Vec<_>>(), vec![4]);
    }

    #[test]
    fn the_last_count_is_on_disk_once_the_budget_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state").join("b.json");
        let now: jiff::Timestamp = "2026-11-23T12:00:00Z".parse().unwrap();
        let b = DailyBudget::new(path.clone(), 5, jiff::tz::TimeZone::UTC, "acct".into());
        for _ in 0..3 {
            b.spend_at(now).unwrap();
        }
        drop(b);
        let on_disk: Count = Snapshot::at(&path).read().unwrap().unwrap();
        assert_eq!(on_disk, Count { day: "2026-11-23".into(), used: 3 });
        let b = DailyBudget::new(path, 5, jiff::tz::TimeZone::UTC, "acct".into());
        assert_eq!(b.remaining_at(now), 2);
    }

    #[test]
    fn damaged_counts_stop_the_start_or_count_the_day_as_used_up_never_zero() {
        let dir = tempfile::tempdir().unwrap();
        let (good, bad) = (dir.path().join("budget-a.json"), dir.path().join("budget-b.json"));
        let now = jiff::Timestamp::now();
        let today = day(&jiff::tz::TimeZone::UTC, now);
        // The previous format (no checksum) is read.
        std::fs::write(&good, format!(r#"{{"day":"{today}","used":3}}"#)).unwrap();
        std::fs::write(&bad, "{\"day\":").unwrap();
        std::fs::write(dir.path().join("deploys.jsonl"), "not a budget\n").unwrap();
        let e = check_dir(dir.path(), &jiff::tz::TimeZone::UTC, OnDamage::Fail).unwrap_err().to_string();
        assert!(e.contains("budget-b.json is damaged at line 1: it is not a record"), "{e}");
        // Damaged after the start: today's calls are refused, not counted from 0.
        let b = DailyBudget::new(bad.clone(), 5, jiff::tz::TimeZone::UTC, "acct".into());
        assert_eq!(b.remaining_at(now), 0);
        assert_eq!(b.spend_at(now).unwrap_err().code, Code::ResourceExhausted);
        drop(b);
        check_dir(dir.path(), &jiff::tz::TimeZone::UTC, OnDamage::Quarantine).unwrap();
        assert_eq!(state::kept_aside(dir.path(), "budget-b.json").len(), 1);
        let b = DailyBudget::new(bad, 5, jiff::tz::TimeZone::UTC, "acct".into());
        assert_eq!(b.spend_at(now).unwrap_err().code, Code::ResourceExhausted, "used up for the day");
        let tomorrow = now + jiff::SignedDuration::from_hours(24);
        assert_eq!(b.spend_at(tomorrow).unwrap(), 4, "a new day starts afresh");
        let a = DailyBudget::new(good, 5, jiff::tz::TimeZone::UTC, "acct".into());
        assert_eq!(a.remaining_at(now), 2, "the readable count is kept");
        check_dir(dir.path(), &jiff::tz::TimeZone::UTC, OnDamage::Fail).expect("clean now");
    }
}
