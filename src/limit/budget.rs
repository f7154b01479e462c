//! Daily call budgets per vendor account (DataWorks Basic: 100 calls a day),
//! counted by the gateway, kept in a small state file so the count survives
//! a restart, and reset at the vendor's day boundary in a configured zone.

use std::{path::PathBuf, sync::Mutex};

use serde::{Deserialize, Serialize};
use tonic::Code;

use crate::domain::{Error, Reason};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
struct Count {
    day: String,
    used: u32,
}

/// RESOURCE_EXHAUSTED with QuotaFailure: `subject`'s `limit` calls of the
/// day (midnight in `zone`) are used up.
pub fn exhausted(limit: u32, zone: &jiff::tz::TimeZone, subject: &str) -> Error {
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

/// One account's daily budget.
pub struct DailyBudget {
    path: PathBuf,
    limit: u32,
    zone: jiff::tz::TimeZone,
    subject: String,
    count: Mutex<Count>,
}

impl DailyBudget {
    /// A budget of `limit` calls a day, stored at `path`; `subject` names
    /// the account in QuotaFailure (never a secret).
    pub fn new(path: PathBuf, limit: u32, zone: jiff::tz::TimeZone, subject: String) -> Self {
        let count = std::fs::read(&path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
        DailyBudget { path, limit, zone, subject, count: Mutex::new(count) }
    }

    fn day(&self, now: jiff::Timestamp) -> String {
        now.to_zoned(self.zone.clone()).date().to_string()
    }

    /// Spends one call at `now`; refuses with RESOURCE_EXHAUSTED and
    /// QuotaFailure when the day's budget is used up. Returns what is left.
    pub fn spend_at(&self, now: jiff::Timestamp) -> Result<u32, Error> {
        let day = self.day(now);
        let mut c = self.count.lock().unwrap_or_else(|e| e.into_inner());
        if c.day != day {
            *c = Count { day, used: 0 };
        }
        if c.used >= self.limit {
            return Err(exhausted(self.limit, &self.zone, &self.subject));
        }
        c.used += 1;
        self.persist(&c);
        Ok(self.limit - c.used)
    }

    /// Spends one call now.
    pub fn spend(&self) -> Result<u32, Error> {
        self.spend_at(jiff::Timestamp::now())
    }

    /// Calls left today at `now`.
    pub fn remaining_at(&self, now: jiff::Timestamp) -> u32 {
        let c = self.count.lock().unwrap_or_else(|e| e.into_inner());
        if c.day == self.day(now) { self.limit.saturating_sub(c.used) } else { self.limit }
    }

    fn persist(&self, c: &Count) {
        let Ok(bytes) = serde_json::to_vec(c) else { return };
        let tmp = self.path.with_extension("tmp");
        if let Some(dir) = self.path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, &self.path)).is_err() {
            tracing::warn!(path = %self.path.display(), "cannot save the daily budget count; it will restart from 0 after a restart");
        }
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
}
