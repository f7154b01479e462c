//! DataArts Studio answers on the wire: JSON with `X-Request-Id`, and its error bodies.

use axum::{
    body::Body,
    http::{HeaderValue, StatusCode},
    response::Response,
};
use serde_json::{Value, json};

/// (HTTP status, vendor code, response), boxed to keep results small.
pub(super) type Answer = Box<(u16, Option<String>, Response)>;

pub(super) fn respond_json(status: u16, body: &Value, rid: &str) -> Response {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert("content-type", HeaderValue::from_static("application/json;charset=UTF-8"));
    if let Ok(v) = HeaderValue::from_str(rid) {
        r.headers_mut().insert("X-Request-Id", v);
    }
    r
}

pub(super) fn ok(body: Value, rid: &str) -> Answer {
    Box::new((200, None, respond_json(200, &body, rid)))
}

pub(super) fn fail(status: u16, code: &str, msg: &str, rid: &str) -> Answer {
    let body = json!({"error_code": code, "error_msg": msg, "request_id": rid});
    Box::new((status, Some(code.to_owned()), respond_json(status, &body, rid)))
}

pub(super) fn param(msg: &str, rid: &str) -> Answer {
    fail(400, "DLF.0802", msg, rid)
}
