//! STS `AssumeRoleWithOIDC` (API 2015-04-01), how RRSA turns the pod's
//! service-account token into temporary keys (vendor-apis.md §7.1).
//!
//! The call is **anonymous**: no AccessKeyId, no signature. It is sent as
//! the STS SDK sends it: `POST /` with every parameter in the query,
//! `x-acs-action` / `x-acs-version` headers and an empty body. The token is
//! only ever in the query, which no span or log records (`url.full` drops
//! it).
//!
//! | STS code | gateway |
//! |---|---|
//! | `AuthenticationFail.*` (token expired, wrong audience or issuer, no such provider, role does not trust the subject), `EntityNotExist.Role`, `NoPermission*` | INTERNAL, VENDOR_AUTH_FAILED: the workspace's RRSA settings or the pod's token must be fixed |
//! | anything else | as DataWorks codes (`Throttling.*`, 5xx, `InvalidParameter.*`) |

use std::time::SystemTime;

use bytes::Bytes;
use serde::Deserialize;
use tonic::Code;

use super::{
    client::{self, Endpoint, KeySet, VENDOR},
    config::RrsaSettings,
};
use crate::{
    config::Secret,
    domain::{Error, Reason, Result, VendorDetail},
    providers::{
        client::{Access, Action, Answer, USER_AGENT, credentials_refused},
        credentials::{Issued, lifetime},
        signing,
    },
};

/// The STS API version.
pub(crate) const VERSION: &str = "2015-04-01";

/// The STS APIs the driver calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sts {
    /// `AssumeRoleWithOIDC`: temporary keys for a RAM role from an OIDC token.
    AssumeRoleWithOidc,
}

impl Action for Sts {
    const ALL: &'static [Sts] = &[Sts::AssumeRoleWithOidc];

    fn name(self) -> &'static str {
        match self {
            Sts::AssumeRoleWithOidc => "AssumeRoleWithOIDC",
        }
    }

    /// Issuing keys changes nothing: safe to send again.
    fn access(self) -> Access {
        match self {
            Sts::AssumeRoleWithOidc => Access::Read,
        }
    }
}

/// The anonymous AssumeRoleWithOIDC request for `token`.
pub(crate) fn request(endpoint: &Endpoint, s: &RrsaSettings, token: &Secret) -> Result<::http::Request<Bytes>> {
    let now = SystemTime::now();
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let query: Vec<(String, String)> = vec![
        ("Action".into(), Sts::AssumeRoleWithOidc.name().into()),
        ("Format".into(), "json".into()),
        ("Version".into(), VERSION.into()),
        ("Timestamp".into(), signing::format_acs_date(now)),
        ("SignatureNonce".into(), nonce.clone()),
        ("DurationSeconds".into(), s.duration.as_secs().to_string()),
        ("RoleArn".into(), s.role_arn.clone()),
        ("OIDCProviderArn".into(), s.oidc_provider_arn.clone()),
        ("OIDCToken".into(), token.expose().to_owned()),
        ("RoleSessionName".into(), s.session_name.clone()),
    ];
    ::http::Request::builder()
        .method("POST")
        .uri(endpoint.url(&query))
        .header("accept", "application/json")
        .header("user-agent", USER_AGENT)
        .header("x-acs-action", Sts::AssumeRoleWithOidc.name())
        .header("x-acs-version", VERSION)
        .header("x-acs-date", signing::format_acs_date(now))
        .header("x-acs-signature-nonce", nonce)
        .body(Bytes::new())
        .map_err(|e| Error::new(Code::Internal, Reason::RequestBuildFailed, format!("cannot build the request: {e}")))
}

/// `Credentials` of an AssumeRoleWithOIDC answer.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Answered {
    credentials: Issuing,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Issuing {
    access_key_id: String,
    access_key_secret: String,
    security_token: String,
    expiration: String,
}

/// STS error body.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Refusal {
    code: String,
    message: String,
    request_id: String,
}

/// Reads an answer: the temporary keys and how long they live (counted on
/// STS's own clock, its `Date` header, when it sends one), or the error.
pub(crate) fn parse(a: &Answer) -> Result<Issued<KeySet>> {
    let status = a.status.as_u16();
    let rid = a.header(VENDOR.request_id_header).unwrap_or_default().to_owned();
    if !a.status.is_success() {
        let r: Refusal = serde_json::from_slice(&a.body).unwrap_or_default();
        let rid = if r.request_id.is_empty() { rid } else { r.request_id };
        return Err(refusal(&r.code, status, &rid, &r.message));
    }
    let Answered { credentials: c } = serde_json::from_slice(&a.body)
        .map_err(|e| Error::malformed(VENDOR.name, &rid, status, format_args!("AssumeRoleWithOIDC: {e}")))?;
    let expiration: jiff::Timestamp = c.expiration.parse().map_err(|_| {
        Error::malformed(VENDOR.name, &rid, status, "AssumeRoleWithOIDC: Credentials.Expiration is not a time")
    })?;
    let issued = a
        .header("date")
        .and_then(|d| jiff::fmt::rfc2822::parse(d).ok())
        .map(|z| z.timestamp())
        .unwrap_or_else(jiff::Timestamp::now);
    let valid_for = lifetime(issued, expiration);
    Ok(Issued {
        keys: KeySet {
            id: Secret::new(c.access_key_id),
            secret: Secret::new(c.access_key_secret),
            token: Some(Secret::new(c.security_token)),
        },
        valid_for,
    })
}

/// Maps an STS error code (see the module table).
fn refusal(code: &str, status: u16, rid: &str, msg: &str) -> Error {
    let refused = ["AuthenticationFail", "EntityNotExist", "NoPermission"].iter().any(|p| code.starts_with(p));
    if !refused {
        return client::map_code(code, status, rid, msg, None);
    }
    let msg = if msg.is_empty() { "no message" } else { msg };
    credentials_refused("Alibaba Cloud STS", &format!("{code}: {msg}")).with_vendor(VendorDetail {
        vendor: VENDOR.name.into(),
        code: code.to_owned(),
        request_id: rid.to_owned(),
        http_status: status,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn answer(status: u16, body: &str, date: Option<&str>) -> Answer {
        let mut headers = ::http::HeaderMap::new();
        if let Some(d) = date {
            headers.insert("date", d.parse().unwrap());
        }
        Answer { status: status.try_into().unwrap(), headers, body: Bytes::from(body.to_owned()) }
    }

    #[test]
    fn keys_live_from_the_answer_date_to_expiration() {
        let body = r#"{"RequestId":"R","Credentials":{"AccessKeyId":"STS.a","AccessKeySecret":"s",
            "SecurityToken":"t","Expiration":"2026-12-07T12:00:00Z"}}"#;
        let issued = parse(&answer(200, body, Some("Mon, 07 Dec 2026 11:00:00 GMT"))).unwrap();
        assert_eq!(issued.valid_for, Duration::from_secs(3600));
        assert_eq!((issued.keys.id.expose(), issued.keys.token.as_ref().unwrap().expose()), ("STS.a", "t"));
        let e = parse(&answer(200, r#"{"Credentials":{"AccessKeyId":"a"}}"#, None)).unwrap_err();
        assert_eq!(e.reason, Reason::VendorResponseMalformed);
    }

    #[test]
    fn refusals_name_the_sts_code_and_are_credential_failures() {
        let body = r#"{"RequestId":"R2","Code":"AuthenticationFail.OIDCToken.Expired","Message":"This JsonWebToken is expired."}"#;
        let e = parse(&answer(400, body, None)).unwrap_err();
        assert_eq!((e.code, e.reason), (Code::Internal, Reason::VendorAuthFailed));
        assert!(e.message.contains("AuthenticationFail.OIDCToken.Expired"), "{}", e.message);
        assert_eq!(e.vendor.as_ref().unwrap().request_id, "R2");
        let e = parse(&answer(404, r#"{"Code":"EntityNotExist.Role","Message":"The role not exists"}"#, None));
        assert_eq!(e.unwrap_err().reason, Reason::VendorAuthFailed);
        let e = parse(&answer(400, r#"{"Code":"Throttling.User","Message":"slow"}"#, None)).unwrap_err();
        assert_eq!(e.reason, Reason::VendorThrottled);
        let e = parse(&answer(503, "<html>", None)).unwrap_err();
        assert_eq!(e.reason, Reason::VendorUnavailable);
    }
}
