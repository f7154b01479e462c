//! The ECS instance metadata service in security-hardening mode (IMDSv2):
//! `PUT /latest/api/token` (`X-aliyun-ecs-metadata-token-ttl-seconds`
//! 1..21600) issues a session token; `GET
//! /latest/meta-data/ram/security-credentials/` lists the instance's RAM
//! role and `…/<role>` answers its temporary keys, both only with a valid
//! token (`X-aliyun-ecs-metadata-token`): without one 403, with an unknown
//! or expired one 401, an unknown role 404. The keys are issued like STS's
//! and accepted by DataWorks the same way.
//!
//! Recorded actions: `metadata.token`, `metadata.role-name`,
//! `metadata.role-credentials`.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use axum::{
    extract::{Path, State},
    http::{HeaderMap, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use serde_json::json;

use super::{Emu, faults};
use crate::{emulator::common::Recorded, providers::signing};

/// How long the role's keys live.
const ROLE_KEYS_LIFE: Duration = Duration::from_secs(6 * 3600);

/// Session tokens issued, with their expiry.
#[derive(Default)]
pub(super) struct Sessions(Mutex<HashMap<String, SystemTime>>);

fn plain(status: u16, body: String) -> Response {
    (StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), body).into_response()
}

/// Records the request and answers, unless an injected fault answers first.
async fn answered(
    emu: &Emu,
    action: &str,
    method: &Method,
    uri: &Uri,
    answer: impl FnOnce() -> (u16, String),
) -> Response {
    let rid = super::answer::request_id();
    let record = |status: u16| Recorded {
        action: action.to_owned(),
        method: method.to_string(),
        target: uri.path().to_owned(),
        traceparent: None,
        status,
        code: None,
    };
    match faults::intercept(&emu.control, "instance", action, &rid).await {
        Err(()) => {
            emu.control.record(record(0));
            crate::emulator::common::reset_response()
        }
        Ok(Some(a)) => {
            let (status, _, resp) = *a;
            emu.control.record(record(status));
            resp
        }
        Ok(None) => {
            let (status, body) = answer();
            emu.control.record(record(status));
            plain(status, body)
        }
    }
}

/// `PUT /latest/api/token`.
pub(super) async fn token(State(emu): State<Arc<Emu>>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    answered(&emu, "metadata.token", &method, &uri, || {
        let ttl = headers
            .get("x-aliyun-ecs-metadata-token-ttl-seconds")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|t| (1..=21600).contains(t));
        let Some(ttl) = ttl else {
            return (400, "X-aliyun-ecs-metadata-token-ttl-seconds must be 1..21600".into());
        };
        let token = format!("AQAE{}", uuid::Uuid::new_v4().simple());
        emu.sessions
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(token.clone(), SystemTime::now() + Duration::from_secs(ttl));
        (200, token)
    })
    .await
}

/// Whether the request carries a valid session token: `Err` is the answer.
fn session(emu: &Emu, headers: &HeaderMap) -> Result<(), (u16, String)> {
    let Some(t) = headers.get("x-aliyun-ecs-metadata-token").and_then(|v| v.to_str().ok()) else {
        return Err((403, "Forbidden: security hardening mode requires a metadata token".into()));
    };
    match emu.sessions.0.lock().unwrap_or_else(|e| e.into_inner()).get(t) {
        Some(expires) if *expires > SystemTime::now() => Ok(()),
        _ => Err((401, "Unauthorized: the metadata token is invalid or expired".into())),
    }
}

/// `GET …/security-credentials/`: the instance's role.
pub(super) async fn roles(State(emu): State<Arc<Emu>>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    answered(&emu, "metadata.role-name", &method, &uri, || {
        if let Err(e) = session(&emu, &headers) {
            return e;
        }
        match &emu.opts.instance_role {
            Some(role) => (200, role.clone()),
            None => (404, "Not Found".into()),
        }
    })
    .await
}

/// `GET …/security-credentials/<role>`: its temporary keys.
pub(super) async fn role(
    State(emu): State<Arc<Emu>>,
    Path(name): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    answered(&emu, "metadata.role-credentials", &method, &uri, || {
        if let Err(e) = session(&emu, &headers) {
            return e;
        }
        if emu.opts.instance_role.as_deref() != Some(name.as_str()) {
            return (404, "Not Found".into());
        }
        let epoch = emu.control.credentials_epoch();
        let k = emu.issued.issue(ROLE_KEYS_LIFE, epoch);
        let body = json!({
            "Code": "Success",
            "AccessKeyId": k.access_key_id,
            "AccessKeySecret": k.secret,
            "SecurityToken": k.security_token,
            "Expiration": signing::format_acs_date(k.expires),
            "LastUpdated": signing::format_acs_date(SystemTime::now()),
        });
        (200, body.to_string())
    })
    .await
}
