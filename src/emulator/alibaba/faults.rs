//! Injected faults and throttling, as DataWorks answers them.

use std::time::Duration;

use axum::response::IntoResponse;

use super::answer::{Answer, daily_quota, fail, soft_fail, throttled};
use crate::emulator::common::{Control, Fault, Throttled};

/// What an injected fault or the throttle makes of a call by `key` to
/// `action`: `Ok(None)` to go on, `Ok(Some(_))` to answer this instead,
/// `Err(())` to reset the connection.
pub(super) async fn intercept(control: &Control, key: &str, action: &str, rid: &str) -> Result<Option<Answer>, ()> {
    if let Some(f) = control.next_fault(action) {
        match f {
            Fault::Latency { ms } => tokio::time::sleep(Duration::from_millis(ms)).await,
            Fault::Status { status } => {
                return Ok(Some(fail(
                    status,
                    "InternalError.System",
                    "An internal system error occurred. Try again later.",
                    rid,
                )));
            }
            Fault::Reset => return Err(()),
            // Taken before the request is processed (`Control::take_lose_answer`).
            Fault::LoseAnswer => {}
            Fault::Malformed => {
                return Ok(Some(Box::new((
                    200,
                    None,
                    ([("content-type", "application/json")], "{\"RequestId\":\"".to_owned() + rid + "\",\"Data\":{")
                        .into_response(),
                ))));
            }
            Fault::VendorError { status: 200, code, message } => return Ok(Some(soft_fail(&code, &message, 400, rid))),
            Fault::VendorError { status, code, message } => return Ok(Some(fail(status, &code, &message, rid))),
            Fault::Throttle { retry_after_ms } => return Ok(Some(throttled(rid, retry_after_ms))),
            Fault::DailyQuota { retry_after_ms } => return Ok(Some(daily_quota(rid, retry_after_ms))),
        }
    }
    match control.admit(key, action) {
        Ok(()) => Ok(None),
        Err(Throttled::Rate(d)) => Ok(Some(throttled(rid, d.as_millis().max(1) as u64))),
        // DataWorks advertises the wait until its midnight.
        Err(Throttled::Daily(_)) => {
            let zone = jiff::tz::TimeZone::get(crate::providers::alibaba::client::DAILY_RESET_ZONE)
                .unwrap_or(jiff::tz::TimeZone::UTC);
            let left = crate::limit::closed::until_next_day(&zone, jiff::Timestamp::now());
            Ok(Some(daily_quota(rid, u64::try_from(left.as_millis()).unwrap_or(u64::MAX))))
        }
    }
}
