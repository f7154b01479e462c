//! DataWorks answers on the wire: JSON bodies, HTTP errors, legacy `Success:false` and throttling.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

/// (HTTP status, vendor code, response), boxed to keep results small.
pub(super) type Answer = Box<(u16, Option<String>, Response)>;

pub(super) fn request_id() -> String {
    uuid::Uuid::new_v4().to_string().to_uppercase()
}

fn error(status: u16, code: &str, message: &str, rid: &str, headers: &[(&str, String)]) -> Response {
    let mut r = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        axum::Json(json!({"RequestId": rid, "HostId": "dataworks.aliyuncs.com", "Code": code, "Message": message,
            "Recommend": "https://api.aliyun.com/troubleshoot"})),
    )
        .into_response();
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (http::HeaderName::from_bytes(k.as_bytes()), http::HeaderValue::from_str(v)) {
            r.headers_mut().insert(k, v);
        }
    }
    r
}

pub(super) fn ok(v: Value) -> Answer {
    Box::new((200, None, axum::Json(v).into_response()))
}

pub(super) fn fail(status: u16, code: &str, message: &str, rid: &str) -> Answer {
    Box::new((status, Some(code.into()), error(status, code, message, rid, &[])))
}

/// `Success:false` on HTTP 200, as legacy DataWorks operations answer.
pub(super) fn soft_fail(code: &str, message: &str, http: u16, rid: &str) -> Answer {
    Box::new((
        200,
        Some(code.into()),
        axum::Json(json!({"RequestId": rid, "Success": false, "ErrorCode": code, "ErrorMessage": message, "HttpStatusCode": http}))
            .into_response(),
    ))
}

pub(super) fn throttled(rid: &str, retry_after_ms: u64) -> Answer {
    let mut h = vec![];
    if retry_after_ms > 0 {
        h.push(("x-acs-retry-after", retry_after_ms.to_string()));
    }
    Box::new((
        429,
        Some("Throttling.User".into()),
        error(429, "Throttling.User", "Your request is too frequent. Try again later.", rid, &h),
    ))
}

/// The account's daily quota used up: `Throttling.Api.Risk`, with
/// `x-acs-retry-after` when `retry_after_ms` is not 0.
pub(super) fn daily_quota(rid: &str, retry_after_ms: u64) -> Answer {
    let mut h = vec![];
    if retry_after_ms > 0 {
        h.push(("x-acs-retry-after", retry_after_ms.to_string()));
    }
    let (code, msg) = ("Throttling.Api.Risk", "The number of calls today has exceeded your daily quota.");
    Box::new((429, Some(code.into()), error(429, code, msg, rid, &h)))
}
