//! Fault injection, throttling (per-API rate and daily quota) and the request log.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};

/// A fault to inject into the next matching requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Answer normally, after a delay.
    Latency {
        /// Delay in milliseconds.
        ms: u64,
    },
    /// Answer with this HTTP status and the vendor's internal-error body.
    Status {
        /// HTTP status (e.g. 500, 503).
        status: u16,
    },
    /// Close the connection without answering, before the request is
    /// processed (nothing applied).
    Reset,
    /// Process the request (a write is applied), then close the connection
    /// without answering: the answer is lost.
    LoseAnswer,
    /// Answer 200 with a body that is not valid JSON.
    Malformed,
    /// Answer with a vendor error code (Alibaba: `Success:false` on HTTP 200
    /// when `status` is 200).
    VendorError {
        /// HTTP status.
        status: u16,
        /// Vendor error code.
        code: String,
        /// Vendor error message.
        message: String,
    },
    /// Answer as throttled (`Throttling.User` / `APIGW.0308`).
    Throttle {
        /// Advertised retry-after in milliseconds (Alibaba only; none when 0).
        retry_after_ms: u64,
    },
    /// Answer that the account's daily quota is used up, as the vendor
    /// does (`Throttling.Api.Risk` / `APIGW.0308` naming a one-day policy).
    DailyQuota {
        /// Advertised retry-after in milliseconds (Alibaba only; none when 0).
        retry_after_ms: u64,
    },
}

/// A fault rule: applies to requests of `action` (or any, when empty),
/// `times` times.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FaultRule {
    /// Vendor action / API name; empty = every request.
    #[serde(default)]
    pub action: String,
    /// The fault.
    pub fault: Fault,
    /// How many requests it hits.
    #[serde(default = "one")]
    pub times: u32,
}

fn one() -> u32 {
    1
}

/// One request the emulator received.
#[derive(Debug, Clone, Serialize)]
pub struct Recorded {
    /// Vendor action / API name.
    pub action: String,
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub target: String,
    /// `traceparent` header, if any.
    pub traceparent: Option<String>,
    /// HTTP status answered (0 for a reset).
    pub status: u16,
    /// Vendor error code answered, if any.
    pub code: Option<String>,
}

/// Throttling settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ThrottleConfig {
    /// Calls per second allowed per (access key, action); None = unlimited.
    pub qps: Option<f64>,
    /// Calls per day allowed per access key; None = unlimited.
    pub daily_quota: Option<u32>,
}

/// Why a request was throttled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttled {
    /// Over the per-second rate; retry after this long.
    Rate(Duration),
    /// Over the daily quota of this many calls.
    Daily(u32),
}

#[derive(Default)]
struct State {
    faults: VecDeque<FaultRule>,
    /// Requests with the time their answer was recorded.
    log: VecDeque<(Instant, Recorded)>,
    throttle: ThrottleConfig,
    /// (key, action) → time the next call is allowed (GCRA-like).
    rate: HashMap<(String, String), Instant>,
    daily: HashMap<String, u32>,
    /// Temporary credentials issued before this epoch count as expired.
    credentials_epoch: u64,
}

/// Requests the log keeps (the latest): an emulator serving a load test
/// for hours must not grow without bound.
pub const LOG_LIMIT: usize = 100_000;

/// Shared emulator state: faults, throttle, request log.
#[derive(Clone, Default)]
pub struct Control {
    state: Arc<Mutex<State>>,
}

impl Control {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a fault rule.
    pub fn inject(&self, rule: FaultRule) {
        self.lock().faults.push_back(rule);
    }

    /// Faults queued and not yet taken by a request (a request takes its
    /// fault when it arrives: 0 tells that a held request is being held).
    pub fn pending_faults(&self) -> usize {
        self.lock().faults.len()
    }

    /// Removes every queued fault.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// Sets throttling.
    pub fn set_throttle(&self, t: ThrottleConfig) {
        let mut s = self.lock();
        s.throttle = t;
        s.rate.clear();
        s.daily.clear();
    }

    /// Expires every temporary credential (keys, tokens) the emulator issued
    /// so far, as if their lifetime had run out.
    pub fn expire_issued_credentials(&self) {
        self.lock().credentials_epoch += 1;
    }

    /// The epoch new temporary credentials are issued in; those of an
    /// earlier epoch are expired.
    pub(crate) fn credentials_epoch(&self) -> u64 {
        self.lock().credentials_epoch
    }

    /// Whether the next fault for `action` is [`Fault::LoseAnswer`], taking
    /// it if so (the request is then processed and its answer dropped).
    pub(crate) fn take_lose_answer(&self, action: &str) -> bool {
        let lose = {
            let s = self.lock();
            s.faults.iter().find(|r| r.action.is_empty() || r.action == action).map(|r| &r.fault)
                == Some(&Fault::LoseAnswer)
        };
        lose && self.next_fault(action).is_some()
    }

    pub(crate) fn next_fault(&self, action: &str) -> Option<Fault> {
        let mut s = self.lock();
        let i = s.faults.iter().position(|r| r.action.is_empty() || r.action == action)?;
        let rule = &mut s.faults[i];
        let f = rule.fault.clone();
        rule.times = rule.times.saturating_sub(1);
        if rule.times == 0 {
            s.faults.remove(i);
        }
        Some(f)
    }

    /// Counts a call by `key` to `action` against the limits.
    pub(crate) fn admit(&self, key: &str, action: &str) -> Result<(), Throttled> {
        let mut s = self.lock();
        let cfg = s.throttle.clone();
        if let Some(q) = cfg.daily_quota {
            let used = s.daily.entry(key.to_owned()).or_default();
            if *used >= q {
                return Err(Throttled::Daily(q));
            }
        }
        if let Some(qps) = cfg.qps.filter(|q| *q > 0.0) {
            let interval = Duration::from_secs_f64(1.0 / qps);
            let now = Instant::now();
            let slot = s.rate.entry((key.to_owned(), action.to_owned())).or_insert(now);
            // Allow a burst of one second's worth, like the vendors' windows.
            let burst = interval.mul_f64(qps.max(1.0));
            if *slot > now + burst - interval {
                return Err(Throttled::Rate(*slot - (now + burst - interval)));
            }
            *slot = (*slot).max(now) + interval;
        }
        if cfg.daily_quota.is_some() {
            *s.daily.entry(key.to_owned()).or_default() += 1;
        }
        Ok(())
    }

    /// Records a request.
    pub(crate) fn record(&self, r: Recorded) {
        let mut s = self.lock();
        if s.log.len() == LOG_LIMIT {
            s.log.pop_front();
        }
        s.log.push_back((Instant::now(), r));
    }

    /// The logged requests, oldest first (the latest [`LOG_LIMIT`]).
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().log.iter().map(|(_, r)| r.clone()).collect()
    }

    /// The logged requests with the time each was answered, oldest first.
    pub fn requests_timed(&self) -> Vec<(Instant, Recorded)> {
        self.lock().log.iter().cloned().collect()
    }

    /// Requests for `action` so far.
    pub fn count(&self, action: &str) -> usize {
        self.lock().log.iter().filter(|(_, r)| r.action == action).count()
    }

    /// Requests answered with HTTP `status` so far.
    pub fn count_status(&self, status: u16) -> usize {
        self.lock().log.iter().filter(|(_, r)| r.status == status).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_log_keeps_the_latest() {
        let c = Control::default();
        let rec = |n: usize| Recorded {
            action: format!("A{n}"),
            method: "GET".into(),
            target: "/".into(),
            traceparent: None,
            status: 200,
            code: None,
        };
        for n in 0..LOG_LIMIT + 3 {
            c.record(rec(n));
        }
        let log = c.requests();
        assert_eq!(log.len(), LOG_LIMIT);
        assert_eq!(log[0].action, "A3");
        assert_eq!(log[LOG_LIMIT - 1].action, format!("A{}", LOG_LIMIT + 2));
    }

    #[test]
    fn faults_apply_to_their_action_and_count_down() {
        let c = Control::default();
        c.inject(FaultRule { action: "ListFiles".into(), fault: Fault::Reset, times: 2 });
        assert_eq!(c.next_fault("GetFile"), None);
        assert_eq!(c.next_fault("ListFiles"), Some(Fault::Reset));
        assert_eq!(c.next_fault("ListFiles"), Some(Fault::Reset));
        assert_eq!(c.next_fault("ListFiles"), None);
    }

    #[test]
    fn daily_quota_and_rate() {
        let c = Control::default();
        c.set_throttle(ThrottleConfig { qps: None, daily_quota: Some(2) });
        assert!(c.admit("k", "A").is_ok());
        assert!(c.admit("k", "B").is_ok());
        assert_eq!(c.admit("k", "A"), Err(Throttled::Daily(2)));
        assert!(c.admit("other", "A").is_ok());
        c.set_throttle(ThrottleConfig { qps: Some(5.0), daily_quota: None });
        let ok = (0..20).filter(|_| c.admit("k", "A").is_ok()).count();
        assert_eq!(ok, 5, "a burst of one second's worth");
        assert!(c.admit("k", "B").is_ok(), "buckets are per action");
    }
}
