//! STS `AssumeRoleWithOIDC` (2015-04-01, anonymous) as RRSA calls it, and
//! the temporary keys it issues: accepted on DataWorks calls with their
//! `x-acs-security-token` until they expire (their `Expiration`, or
//! `Control::expire_issued_credentials`).
//!
//! | condition | HTTP | code |
//! |---|---|---|
//! | a parameter missing | 400 | `MissingParameter` |
//! | `DurationSeconds` under 900 or over the role's maximum | 400 | `InvalidParameter.DurationSeconds` |
//! | another OIDC provider | 400 | `AuthenticationFail.NoPermission` ("No such OIDC Provider registered.") |
//! | token not signed by the issuer, or not a JWT | 400 | `AuthenticationFail.OIDCToken.Invalid` |
//! | token expired | 400 | `AuthenticationFail.OIDCToken.Expired` |
//! | token for another audience than `sts.aliyuncs.com` | 400 | `AuthenticationFail.OIDCToken.AudienceNotMatch` |
//! | token of another issuer | 400 | `AuthenticationFail.OIDCToken.IssuerNotMatch` |
//! | unknown role | 404 | `EntityNotExist.Role` |
//! | the role does not trust the token's subject | 400 | `AuthenticationFail.NoPermission` ("There is no permission") |
//!
//! Keys in use: no `x-acs-security-token` → 400 `MissingSecurityToken`;
//! another one → 400 `InvalidSecurityToken.MismatchWithAccessKey`; expired
//! → 400 `InvalidSecurityToken.Expired`.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use axum::http::HeaderMap;
use serde_json::json;

use super::answer::{Answer, fail, ok};
use crate::{
    emulator::common::{OidcIssuer, Refusal},
    providers::signing,
};

/// The audience RRSA tokens carry (the OIDC provider's client id).
pub const AUDIENCE: &str = "sts.aliyuncs.com";

/// What the emulated STS trusts.
#[derive(Debug, Clone)]
pub struct Rrsa {
    /// The cluster's token issuer.
    pub issuer: Arc<OidcIssuer>,
    /// The OIDC provider registered in RAM (ARN).
    pub provider_arn: String,
    /// Roles trusting the provider: (role ARN, the subject it admits,
    /// `system:serviceaccount:<namespace>:<name>`).
    pub roles: Vec<(String, String)>,
    /// The roles' MaxSessionDuration.
    pub max_session: Duration,
}

impl Default for Rrsa {
    fn default() -> Self {
        Rrsa {
            issuer: OidcIssuer::new(crate::emulator::common::DEMO_ISSUER, b"demo-cluster-signing-key"),
            provider_arn: "acs:ram::1000000000000001:oidc-provider/ack-rrsa-demo".into(),
            roles: vec![(
                "acs:ram::1000000000000001:role/datastudio-gateway".into(),
                "system:serviceaccount:datastudio:datastudio-gateway".into(),
            )],
            max_session: Duration::from_secs(12 * 3600),
        }
    }
}

/// Keys STS issued.
struct Issued {
    secret: String,
    token: String,
    expires: SystemTime,
    epoch: u64,
}

/// The temporary keys issued so far, by access key id.
#[derive(Default)]
pub(super) struct IssuedKeys(Mutex<HashMap<String, Issued>>);

impl IssuedKeys {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Issued>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The secret of issued key `ak`.
    pub(super) fn secret(&self, ak: &str) -> Option<String> {
        self.lock().get(ak).map(|i| i.secret.clone())
    }

    /// Whether a request signed with issued key `ak` carries its token and
    /// the key is still valid in credentials `epoch`; `None` for a key STS
    /// did not issue.
    pub(super) fn check(&self, ak: &str, headers: &HeaderMap, epoch: u64, rid: &str) -> Option<Result<(), Answer>> {
        let keys = self.lock();
        let issued = keys.get(ak)?;
        let sent = headers.get("x-acs-security-token").and_then(|v| v.to_str().ok());
        Some(match sent {
            None => Err(fail(400, "MissingSecurityToken", "SecurityToken is mandatory for this action.", rid)),
            Some(t) if t != issued.token => Err(fail(
                400,
                "InvalidSecurityToken.MismatchWithAccessKey",
                "Specified SecurityToken mismatch with the AccessKey.",
                rid,
            )),
            Some(_) if issued.expires <= SystemTime::now() || issued.epoch < epoch => {
                Err(fail(400, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired.", rid))
            }
            Some(_) => Ok(()),
        })
    }
}

/// Keys just issued.
pub(super) struct NewKeys {
    pub(super) access_key_id: String,
    pub(super) secret: String,
    pub(super) security_token: String,
    pub(super) expires: SystemTime,
}

impl IssuedKeys {
    /// Issues keys living `life` from now, in credentials `epoch`.
    pub(super) fn issue(&self, life: Duration, epoch: u64) -> NewKeys {
        let k = NewKeys {
            access_key_id: format!("STS.{}", hex()),
            secret: format!("STSsecret{}", hex()),
            security_token: format!("CAIS{}{}", hex(), hex()),
            expires: SystemTime::now() + life,
        };
        let issued = Issued { secret: k.secret.clone(), token: k.security_token.clone(), expires: k.expires, epoch };
        self.lock().insert(k.access_key_id.clone(), issued);
        k
    }
}

fn hex() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn acs_time(t: SystemTime) -> String {
    signing::format_acs_date(t)
}

/// AssumeRoleWithOIDC with the query's parameters.
pub(super) fn assume_role(
    rrsa: &Rrsa,
    keys: &IssuedKeys,
    epoch: u64,
    params: &BTreeMap<String, String>,
    rid: &str,
) -> Answer {
    let p = |k: &str| params.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let (Some(role), Some(provider), Some(token), Some(session)) =
        (p("RoleArn"), p("OIDCProviderArn"), p("OIDCToken"), p("RoleSessionName"))
    else {
        return fail(
            400,
            "MissingParameter",
            "RoleArn, OIDCProviderArn, OIDCToken and RoleSessionName are mandatory for this action.",
            rid,
        );
    };
    let duration = match p("DurationSeconds").map(str::parse::<u64>) {
        None => Duration::from_secs(3600),
        Some(Ok(n)) => Duration::from_secs(n),
        Some(Err(_)) => return fail(400, "InvalidParameter.DurationSeconds", "DurationSeconds is not a number.", rid),
    };
    if duration < Duration::from_secs(900) || duration > rrsa.max_session {
        return fail(
            400,
            "InvalidParameter.DurationSeconds",
            "The Min/Max value of DurationSeconds is 15min/the role's MaxSessionDuration.",
            rid,
        );
    }
    if provider != rrsa.provider_arn {
        return fail(400, "AuthenticationFail.NoPermission", "No such OIDC Provider registered.", rid);
    }
    let claims = match rrsa.issuer.verify(token, AUDIENCE) {
        Ok(c) => c,
        Err(r) => {
            let (code, msg) = match r {
                Refusal::Invalid => ("AuthenticationFail.OIDCToken.Invalid", "The OIDC token is invalid."),
                Refusal::Expired => ("AuthenticationFail.OIDCToken.Expired", "This JsonWebToken is expired."),
                Refusal::WrongAudience => ("AuthenticationFail.OIDCToken.AudienceNotMatch", "Invalid audience."),
                Refusal::WrongIssuer => (
                    "AuthenticationFail.OIDCToken.IssuerNotMatch",
                    "The issuer in the OIDC Token doesn't match the OIDC Provider registered.",
                ),
            };
            return fail(400, code, msg, rid);
        }
    };
    let Some((_, subject)) = rrsa.roles.iter().find(|(arn, _)| arn == role) else {
        return fail(404, "EntityNotExist.Role", &format!("The role not exists: {role}."), rid);
    };
    if *subject != claims.sub {
        return fail(400, "AuthenticationFail.NoPermission", "There is no permission", rid);
    }
    let now = SystemTime::now();
    let k = keys.issue(duration, epoch);
    let account = role.strip_prefix("acs:ram::").and_then(|r| r.split(':').next()).unwrap_or_default();
    let role_name = role.rsplit('/').next().unwrap_or_default();
    ok(json!({
        "RequestId": rid,
        "AssumedRoleUser": {
            "Arn": format!("acs:ram::{account}:assumed-role/{role_name}/{session}"),
            "AssumedRoleId": format!("300000000000000001:{session}"),
        },
        "Credentials": {
            "AccessKeyId": k.access_key_id,
            "AccessKeySecret": k.secret,
            "SecurityToken": k.security_token,
            "Expiration": acs_time(k.expires),
        },
        "OIDCTokenInfo": {
            "Issuer": claims.iss,
            "Subject": claims.sub,
            "ClientIds": claims.aud,
            "ExpirationTime": acs_time(SystemTime::UNIX_EPOCH + Duration::from_secs(claims.exp)),
            "IssuanceTime": acs_time(now),
            "VerificationInfo": "Success",
        },
        "SourceIdentity": "",
    }))
}
