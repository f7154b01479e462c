//! The ECS instance RAM role from the instance metadata service, in
//! security-hardening mode ("IMDSv2", vendor-apis.md §7.2): a session token
//! (`PUT /latest/api/token`), then the role's name (unless configured) and
//! its temporary keys (`GET /latest/meta-data/ram/security-credentials/…`),
//! each with the token in `X-aliyun-ecs-metadata-token`. Never the
//! token-less fallback.

use std::time::Duration;

use bytes::Bytes;
use serde::Deserialize;
use tonic::Code;

use super::client::{KeySet, VENDOR};
use crate::{
    config::Secret,
    domain::{Error, Reason, Result},
    providers::{
        client::{Access, Action, Answer, USER_AGENT, credentials_refused, sensitive},
        credentials::{Issued, lifetime},
    },
};

/// The metadata service calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Metadata {
    /// `PUT /latest/api/token`.
    Token,
    /// `GET /latest/meta-data/ram/security-credentials/`: the role's name.
    RoleName,
    /// `GET /latest/meta-data/ram/security-credentials/<role>`.
    RoleCredentials,
}

impl Action for Metadata {
    const ALL: &'static [Metadata] = &[Metadata::Token, Metadata::RoleName, Metadata::RoleCredentials];

    fn name(self) -> &'static str {
        match self {
            Metadata::Token => "metadata.token",
            Metadata::RoleName => "metadata.role-name",
            Metadata::RoleCredentials => "metadata.role-credentials",
        }
    }

    /// Nothing changes at the instance: safe to send again.
    fn access(self) -> Access {
        match self {
            Metadata::Token | Metadata::RoleName | Metadata::RoleCredentials => Access::Read,
        }
    }
}

/// Lifetime asked for the session token (the SDK asks the maximum).
const TOKEN_TTL: Duration = Duration::from_secs(21600);

/// The path of the role list (`role` None) or of one role's keys.
fn path(role: Option<&str>) -> String {
    let role = role.map(crate::providers::signing::rfc3986_encode).unwrap_or_default();
    format!("/latest/meta-data/ram/security-credentials/{role}")
}

/// `PUT /latest/api/token`.
pub(crate) fn token_request(base: &str) -> Result<::http::Request<Bytes>> {
    build(
        ::http::Request::builder()
            .method("PUT")
            .uri(format!("{base}/latest/api/token"))
            .header("X-aliyun-ecs-metadata-token-ttl-seconds", TOKEN_TTL.as_secs().to_string()),
    )
}

/// A `GET` of the role list (`role` None) or of one role's keys, with the
/// session token.
pub(crate) fn get(base: &str, role: Option<&str>, token: &Secret) -> Result<::http::Request<Bytes>> {
    let b = ::http::Request::builder().method("GET").uri(format!("{base}{}", path(role)));
    build(b.header("X-aliyun-ecs-metadata-token", sensitive(token.expose())?))
}

fn build(b: ::http::request::Builder) -> Result<::http::Request<Bytes>> {
    b.header("user-agent", USER_AGENT)
        .body(Bytes::new())
        .map_err(|e| Error::new(Code::Internal, Reason::RequestBuildFailed, format!("cannot build the request: {e}")))
}

/// A metadata answer's text, or the error: 401/403 refuse the instance's
/// role (hardened mode off, a stale token), 404 is a role the instance
/// does not have.
pub(crate) fn text(a: &Answer) -> Result<Secret> {
    let status = a.status.as_u16();
    let body = String::from_utf8_lossy(&a.body).trim().to_owned();
    match status {
        200..=299 if !body.is_empty() => Ok(Secret::new(body)),
        200..=299 => Err(Error::malformed(VENDOR.name, "", status, "the metadata service answered nothing")),
        401 | 403 | 404 => Err(credentials_refused(
            "The ECS metadata service",
            &format!("HTTP {status}: no instance RAM role, or security-hardening mode is not available"),
        )),
        _ => Err(Error::new(
            Code::Unavailable,
            Reason::VendorUnavailable,
            format!("the ECS metadata service answered HTTP {status}"),
        )),
    }
}

/// The role's keys.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RoleKeys {
    code: String,
    access_key_id: String,
    access_key_secret: String,
    security_token: String,
    expiration: String,
}

/// The keys of a role answer and how long they live (from now).
pub(crate) fn keys(a: &Answer) -> Result<Issued<KeySet>> {
    let body = text(a)?;
    let status = a.status.as_u16();
    let k: RoleKeys = serde_json::from_str(body.expose())
        .map_err(|e| Error::malformed(VENDOR.name, "", status, format_args!("role credentials: {e}")))?;
    if k.code != "Success" {
        return Err(credentials_refused(
            "The ECS metadata service",
            &format!("role credentials answered Code {}", k.code),
        ));
    }
    let expiration: jiff::Timestamp = k
        .expiration
        .parse()
        .map_err(|_| Error::malformed(VENDOR.name, "", status, "role credentials: Expiration is not a time"))?;
    Ok(Issued {
        valid_for: lifetime(jiff::Timestamp::now(), expiration),
        keys: KeySet {
            id: Secret::new(k.access_key_id),
            secret: Secret::new(k.access_key_secret),
            token: Some(Secret::new(k.security_token)),
        },
    })
}
