//! Injected faults and throttling, as DataArts Studio's API gateway answers them.

use std::time::Duration;

use axum::{body::Body, http::HeaderValue, response::Response};

use super::answer::{Answer, fail};
use crate::emulator::common::{Control, Fault, Throttled};

/// What an injected fault or the throttle makes of a call by `key` to
/// `action`: `Ok(None)` to go on, `Ok(Some(_))` to answer this instead,
/// `Err(())` to reset the connection.
pub(super) async fn intercept(control: &Control, key: &str, action: &str, rid: &str) -> Result<Option<Answer>, ()> {
    if let Some(f) = control.next_fault(action) {
        match f {
            Fault::Latency { ms } => tokio::time::sleep(Duration::from_millis(ms)).await,
            Fault::Status { status } => return Ok(Some(fail(status, "APIGW.0202", "Backend unavailable", rid))),
            Fault::Reset => return Err(()),
            // Taken before the request is processed (`Control::take_lose_answer`).
            Fault::LoseAnswer => {}
            Fault::Malformed => {
                let mut r = Response::new(Body::from("<html><body>502 Bad Gateway</body"));
                if let Ok(v) = HeaderValue::from_str(rid) {
                    r.headers_mut().insert("X-Request-Id", v);
                }
                return Ok(Some(Box::new((200, None, r))));
            }
            Fault::VendorError { status, code, message } => return Ok(Some(fail(status, &code, &message, rid))),
            Fault::Throttle { .. } => return Ok(Some(fail(429, "APIGW.0308", &over(None, "1 second"), rid))),
            Fault::DailyQuota { .. } => return Ok(Some(fail(429, "APIGW.0308", &over(None, "1 day"), rid))),
        }
    }
    if let Err(t) = control.admit(key, action) {
        let msg = match t {
            Throttled::Rate(_) => over(None, "1 second"),
            Throttled::Daily(limit) => over(Some(limit), "1 day"),
        };
        return Ok(Some(fail(429, "APIGW.0308", &msg, rid)));
    }
    Ok(None)
}

/// The API gateway's throttling message, naming the policy's window.
fn over(limit: Option<u32>, window: &str) -> String {
    let limit = limit.map(|l| format!(",limit:{l}")).unwrap_or_default();
    format!("The throttling threshold has been reached: policy user over ratelimit{limit},time:{window}")
}
