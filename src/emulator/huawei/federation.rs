//! IAM for CCE workload identity: `POST /v3.0/OS-AUTH/id-token/tokens`
//! (an OIDC ID token for an IAM token, `X-Idp-Id`) and
//! `POST /v3.0/OS-CREDENTIAL/securitytokens` (an IAM token for temporary
//! AK/SK), and the temporary keys in use: accepted with their
//! `X-Security-Token` until they expire (their `expires_at`, or
//! `Control::expire_issued_credentials`).
//!
//! The reference gives no IAM codes for refused ID tokens; these are the
//! emulator's own (the gateway reads IAM's 401 / 403, not the code):
//!
//! | condition | HTTP | code |
//! |---|---|---|
//! | no `X-Idp-Id`, or no `auth.id_token.id` | 400 | `IAM.0007` |
//! | an unknown identity provider | 401 | `IDP.NotFound` |
//! | a token not signed by the issuer, expired, of another issuer or audience | 401 | `IDP.InvalidIdToken` |
//! | a subject no conversion rule maps | 403 | `IDP.NoMapping` |
//! | `duration_seconds` outside 900..86400 | 400 | `IAM.0007` |

use std::{
    sync::Arc,
    time::{Duration, SystemTime},
};

use axum::http::{HeaderMap, HeaderValue};
use serde_json::{Value, json};

use super::{
    answer::{Answer, fail, respond_json},
    auth::Token,
    params::header,
    store::World,
};
use crate::emulator::common::{OidcIssuer, Refusal};

/// What emulated IAM trusts for workload identity.
#[derive(Debug, Clone)]
pub struct WorkloadIdentity {
    /// The cluster's token issuer.
    pub issuer: Arc<OidcIssuer>,
    /// The identity provider's id (`X-Idp-Id`).
    pub idp_id: String,
    /// The client id tokens must be for (their `aud`).
    pub audience: String,
    /// Conversion rules: token subject → IAM (virtual) user name.
    pub subjects: Vec<(String, String)>,
}

impl Default for WorkloadIdentity {
    fn default() -> Self {
        WorkloadIdentity {
            issuer: OidcIssuer::new(crate::emulator::common::DEMO_ISSUER, b"demo-cluster-signing-key"),
            idp_id: "workload_identity".into(),
            audience: "datastudio-gateway".into(),
            subjects: vec![("system:serviceaccount:datastudio:datastudio-gateway".into(), "dsgw-deployer".into())],
        }
    }
}

/// Temporary access keys issued.
pub(super) struct TemporaryKey {
    secret: String,
    security_token: String,
    user: String,
    expires: SystemTime,
    epoch: u64,
}

fn iso(t: SystemTime) -> String {
    jiff::Timestamp::try_from(t).map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()).unwrap_or_default()
}

/// POST id-token/tokens: the IAM token for an ID token, scoped as asked.
pub(super) fn id_token(
    w: &mut World,
    wi: &WorkloadIdentity,
    epoch: u64,
    headers: &HeaderMap,
    b: &Value,
    rid: &str,
) -> Answer {
    let idp = header(headers, "x-idp-id");
    let id_token = b.pointer("/auth/id_token/id").and_then(Value::as_str);
    let (Some(idp), Some(id_token)) = (idp, id_token) else {
        return fail(400, "IAM.0007", "The request is invalid: X-Idp-Id and auth.id_token.id are required.", rid);
    };
    if idp != wi.idp_id {
        return fail(401, "IDP.NotFound", &format!("The identity provider {idp} does not exist."), rid);
    }
    let claims = match wi.issuer.verify(id_token, &wi.audience) {
        Ok(c) => c,
        Err(r) => {
            let why = match r {
                Refusal::Invalid => "its signature does not verify with the provider's signing key",
                Refusal::Expired => "it has expired",
                Refusal::WrongAudience => "it is not for the provider's client id",
                Refusal::WrongIssuer => "it is not from the provider's issuer",
            };
            return fail(401, "IDP.InvalidIdToken", &format!("The ID token is invalid: {why}."), rid);
        }
    };
    let Some((_, user)) = wi.subjects.iter().find(|(sub, _)| *sub == claims.sub) else {
        return fail(403, "IDP.NoMapping", "No conversion rule of the identity provider maps the token.", rid);
    };
    let token = format!("MIIFed{}{}", w.hex(), w.hex());
    let issued = SystemTime::now();
    let expires = issued + Duration::from_secs(24 * 3600);
    w.tokens.insert(token.clone(), Token::new(user, expires, epoch));
    let project = b.pointer("/auth/scope/project/id").cloned().unwrap_or(Value::Null);
    let body = json!({"token": {
        "expires_at": iso(expires),
        "issued_at": iso(issued),
        "methods": ["mapped"],
        "user": {"name": user, "OS-FEDERATION": {"identity_provider": {"id": idp}, "protocol": {"id": "oidc"}}},
        "project": {"id": project},
    }});
    let mut r = respond_json(201, &body, rid);
    if let Ok(v) = HeaderValue::from_str(&token) {
        r.headers_mut().insert("X-Subject-Token", v);
    }
    Box::new((201, None, r))
}

/// POST securitytokens: temporary keys for the token's user.
pub(super) fn security_tokens(w: &mut World, user: &str, epoch: u64, b: &Value, rid: &str) -> Answer {
    let secs = b.pointer("/auth/identity/token/duration_seconds").and_then(Value::as_u64).unwrap_or(900);
    if !(900..=86400).contains(&secs) {
        return fail(400, "IAM.0007", "duration_seconds must be between 900 and 86400.", rid);
    }
    let expires = SystemTime::now() + Duration::from_secs(secs);
    let (ak, secret, security_token) = (
        format!("TMPAK{}", w.hex()[..15].to_uppercase()),
        format!("TMPsecret{}", w.hex()),
        format!("gQpjbi{}{}", w.hex(), w.hex()),
    );
    w.temporary_keys.insert(
        ak.clone(),
        TemporaryKey {
            secret: secret.clone(),
            security_token: security_token.clone(),
            user: user.to_owned(),
            expires,
            epoch,
        },
    );
    let body = json!({"credential": {
        "access": ak, "secret": secret, "securitytoken": security_token, "expires_at": iso(expires),
    }});
    Box::new((201, None, respond_json(201, &body, rid)))
}

impl TemporaryKey {
    /// The secret, for signature checks.
    pub(super) fn secret(&self) -> &str {
        &self.secret
    }

    /// The user whose keys these are, if the request carries their
    /// security token and they are valid in credentials `epoch`; else the
    /// APIGW.0301 message.
    pub(super) fn admit(&self, headers: &HeaderMap, epoch: u64) -> Result<String, String> {
        match header(headers, "x-security-token") {
            None => Err("Incorrect IAM authentication information: X-Security-Token is missing".into()),
            Some(t) if t != self.security_token => {
                Err("Incorrect IAM authentication information: the security token does not match the AK".into())
            }
            Some(_) if self.expires <= SystemTime::now() || self.epoch < epoch => {
                Err("Incorrect IAM authentication information: calc ak sk signature fail:signature expired".into())
            }
            Some(_) => Ok(self.user.clone()),
        }
    }
}
