//! A stand-in for a Kubernetes cluster's service-account token issuer: it
//! mints the projected tokens tests write into the token file, and checks
//! the tokens the emulated token exchanges are handed (signature with the
//! issuer's key, issuer, audience, expiry). Tokens are HS256 JWTs with a
//! `jti`; the ids of the tokens accepted are kept in order, so a test can
//! tell which token an exchange used (the file rotated or not).

use std::{
    fmt,
    sync::{Arc, Mutex},
    time::{SystemTime, UNIX_EPOCH},
};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};

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
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(&self.key))
            .unwrap_or_default();
        (token, jti)
    }

    /// The claims of `token` if this issuer signed it for `aud` and it has
    /// not expired; an accepted token's id is remembered.
    pub(crate) fn verify(&self, token: &str, aud: &str) -> Result<Claims, Refusal> {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[&self.iss]);
        v.set_audience(&[aud]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        v.leeway = 0;
        let claims = jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(&self.key), &v)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => Refusal::Expired,
                ErrorKind::InvalidAudience => Refusal::WrongAudience,
                ErrorKind::InvalidIssuer => Refusal::WrongIssuer,
                _ => Refusal::Invalid,
            })?
            .claims;
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
