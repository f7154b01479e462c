//! A stand-in for a Kubernetes cluster's service-account token issuer: it
//! mints the projected tokens tests write into the token file, and checks
//! the tokens the emulated token exchanges are handed (signature with the
//! issuer's key, issuer, audience, expiry). Tokens are HS256 JWTs with a
//! `jti`, made and checked with ring's HMAC (the gateway's JWT library
//! only verifies asymmetric signatures); the ids of the tokens accepted are
//! kept in order, so a test can tell which token an exchange used (the
//! file rotated or not).

use std::{
    fmt,
    sync::{Arc, Mutex},
    time::{SystemTime, UNIX_EPOCH},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use ring::hmac;
use serde::{Deserialize, Serialize};

/// The protected header of every token the issuer mints.
const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// The issuer of the demo cluster.
pub const DEMO_ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// Why a token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Not a JWT, or its signature is not the issuer's.
    Invalid,
    /// Past its `exp`.
    Expired,
    /// Another `aud`.
    WrongAudience,
    /// Another `iss`.
    WrongIssuer,
}

/// The claims of a projected service-account token the emulators read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Claims {
    /// Issuer.
    pub iss: String,
    /// `system:serviceaccount:<namespace>:<name>`.
    pub sub: String,
    /// Audience.
    pub aud: String,
    /// Expiry, Unix seconds.
    pub exp: u64,
    /// Token id.
    pub jti: String,
}

/// A token issuer: its URL and signing key, and the tokens it accepted.
pub struct OidcIssuer {
    iss: String,
    key: Vec<u8>,
    accepted: Mutex<Vec<String>>,
}

impl fmt::Debug for OidcIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcIssuer").field("iss", &self.iss).finish_non_exhaustive()
    }
}

impl OidcIssuer {
    /// An issuer named `iss` signing with `key`.
    pub fn new(iss: &str, key: &[u8]) -> Arc<Self> {
        Arc::new(OidcIssuer { iss: iss.to_owned(), key: key.to_vec(), accepted: Mutex::new(Vec::new()) })
    }

    /// A token for `sub` with audience `aud`, valid until `exp`; returns
    /// the token and its id.
    pub fn mint(&self, sub: &str, aud: &str, exp: SystemTime) -> (String, String) {
        let jti = uuid::Uuid::new_v4().simple().to_string();
        let claims = Claims {
            iss: self.iss.clone(),
            sub: sub.to_owned(),
            aud: aud.to_owned(),
            exp: exp.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default(),
            jti: jti.clone(),
        };
        let input = format!("{}.{}", B64.encode(HEADER), B64.encode(serde_json::to_vec(&claims).unwrap_or_default()));
        let signature = B64.encode(hmac::sign(&self.hmac(), input.as_bytes()));
        (format!("{input}.{signature}"), jti)
    }

    fn hmac(&self) -> hmac::Key {
        hmac::Key::new(hmac::HMAC_SHA256, &self.key)
    }

    /// The claims of `token` if this issuer signed it for `aud` and it has
    /// not expired; an accepted token's id is remembered.
    pub(crate) fn verify(&self, token: &str, aud: &str) -> Result<Claims, Refusal> {
        let (input, signature) = token.rsplit_once('.').ok_or(Refusal::Invalid)?;
        let (header, payload) = input.split_once('.').ok_or(Refusal::Invalid)?;
        let header: serde_json::Value =
            B64.decode(header).ok().and_then(|h| serde_json::from_slice(&h).ok()).ok_or(Refusal::Invalid)?;
        if header["alg"] != "HS256" {
            return Err(Refusal::Invalid);
        }
        let signature = B64.decode(signature).map_err(|_| Refusal::Invalid)?;
        hmac::verify(&self.hmac(), input.as_bytes(), &signature).map_err(|_| Refusal::Invalid)?;
        let claims: Claims =
            B64.decode(payload).ok().and_then(|p| serde_json::from_slice(&p).ok()).ok_or(Refusal::Invalid)?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
        if claims.exp <= now {
            return Err(Refusal::Expired);
        }
        if claims.iss != self.iss {
            return Err(Refusal::WrongIssuer);
        }
        if claims.aud != aud {
            return Err(Refusal::WrongAudience);
        }
        self.accepted.lock().unwrap_or_else(|e| e.into_inner()).push(claims.jti.clone());
        Ok(claims)
    }

    /// The ids of the tokens accepted so far, oldest first.
    pub fn accepted(&self) -> Vec<String> {
        self.accepted.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn tokens_are_checked_for_key_issuer_audience_and_expiry() {
        let issuer = OidcIssuer::new(DEMO_ISSUER, b"k1");
        let later = SystemTime::now() + Duration::from_secs(600);
        let (t, jti) = issuer.mint("system:serviceaccount:ns:sa", "the-audience", later);
        assert_eq!(issuer.verify(&t, "the-audience").unwrap().sub, "system:serviceaccount:ns:sa");
        assert_eq!(issuer.accepted(), vec![jti]);
        assert_eq!(issuer.verify(&t, "other").unwrap_err(), Refusal::WrongAudience);
        let (old, _) = issuer.mint("s", "a", SystemTime::now() - Duration::from_secs(5));
        assert_eq!(issuer.verify(&old, "a").unwrap_err(), Refusal::Expired);
        let (foreign, _) = OidcIssuer::new(DEMO_ISSUER, b"k2").mint("s", "a", later);
        assert_eq!(issuer.verify(&foreign, "a").unwrap_err(), Refusal::Invalid);
        let (elsewhere, _) = OidcIssuer::new("https://other", b"k1").mint("s", "a", later);
        assert_eq!(issuer.verify(&elsewhere, "a").unwrap_err(), Refusal::WrongIssuer);
        assert_eq!(issuer.verify("not-a-jwt", "a").unwrap_err(), Refusal::Invalid);
        assert_eq!(issuer.accepted().len(), 1);
    }
}
