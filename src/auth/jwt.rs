//! JWT bearer tokens verified offline against a JWKS file that is re-read
//! when it changes. Only asymmetric algorithms are accepted: `alg: none`
//! cannot be parsed and HS* (and symmetric JWKs) are refused.

use std::{
    path::Path,
    sync::{Arc, Mutex},
    time::SystemTime,
};

use jsonwebtoken::{
    Algorithm, DecodingKey, Validation,
    errors::ErrorKind,
    jwk::{AlgorithmParameters, JwkSet},
};

use crate::config::JwtConfig;

/// Algorithms a token may be signed with.
const ACCEPTED: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// One usable verification key.
struct Key {
    kid: Option<String>,
    alg: Option<Algorithm>,
    key: DecodingKey,
}

/// Loads the asymmetric keys of a JWKS file; an error names the file, never its content.
pub(crate) fn load_jwks(path: &Path) -> Result<usize, String> {
    load(path).map(|k| k.len())
}

fn load(path: &Path) -> Result<Vec<Key>, String> {
    let text = std::fs::read(path).map_err(|e| format!("{} cannot be read: {e}", path.display()))?;
    let set: JwkSet =
        serde_json::from_slice(&text).map_err(|_| format!("{} is not a JWKS document", path.display()))?;
    let keys: Vec<Key> = set
        .keys
        .iter()
        .filter(|j| !matches!(j.algorithm, AlgorithmParameters::OctetKey(_)))
        .filter_map(|j| {
            let alg = j.common.key_algorithm.and_then(|a| a.to_string().parse::<Algorithm>().ok());
            if alg.is_some_and(|a| !ACCEPTED.contains(&a)) {
                return None;
            }
            DecodingKey::from_jwk(j).ok().map(|key| Key { kid: j.common.key_id.clone(), alg, key })
        })
        .collect();
    if keys.is_empty() {
        return Err(format!("{} holds no usable RSA, EC or Ed25519 public key", path.display()));
    }
    Ok(keys)
}

/// The JWKS file's stamp when it was read, and its keys.
type Loaded = (Option<(SystemTime, u64)>, Arc<Vec<Key>>);

/// Verifies bearer tokens.
pub(crate) struct Verifier {
    cfg: JwtConfig,
    keys: Mutex<Loaded>,
}

/// Why a token was refused: safe to tell the caller (no token content).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bearer token rejected: {0}")]
pub(crate) struct Rejected(pub &'static str);

impl Verifier {
    /// A verifier for `cfg`; fails when the JWKS file has no usable key.
    pub(crate) fn new(cfg: &JwtConfig) -> Result<Self, String> {
        let stamp = crate::config::stamp(&cfg.jwks_file);
        let keys = load(&cfg.jwks_file)?;
        Ok(Verifier { cfg: cfg.clone(), keys: Mutex::new((stamp, Arc::new(keys))) })
    }

    /// The key set, re-read when the file changed (a broken new file keeps the old keys).
    fn keys(&self) -> Arc<Vec<Key>> {
        let mut g = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        let now = crate::config::stamp(&self.cfg.jwks_file);
        if now.is_some() && now != g.0 {
            match load(&self.cfg.jwks_file) {
                Ok(k) => {
                    tracing::info!(file = %self.cfg.jwks_file.display(), keys = k.len(), "JWKS reloaded");
                    *g = (now, Arc::new(k));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "JWKS changed but cannot be used; keeping the previous keys");
                    g.0 = now;
                }
            }
        }
        g.1.clone()
    }

    /// The caller identity a valid token names.
    pub(crate) fn verify(&self, token: &str) -> Result<String, Rejected> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| Rejected("malformed token or unsupported alg"))?;
        if !ACCEPTED.contains(&header.alg) {
            return Err(Rejected("algorithm not accepted"));
        }
        let mut v = Validation::new(header.alg);
        v.set_issuer(&[&self.cfg.issuer]);
        v.set_audience(&self.cfg.audiences);
        v.set_required_spec_claims(&["exp", "iss", "aud"]);
        v.validate_nbf = true;
        v.leeway = self.cfg.leeway.as_secs();
        let keys = self.keys();
        let candidates = keys.iter().filter(|k| {
            k.key.family() == header.alg.family()
                && k.alg.is_none_or(|a| a == header.alg)
                && match (&header.kid, &k.kid) {
                    (Some(want), Some(have)) => want == have,
                    (Some(_), None) => false,
                    (None, _) => true,
                }
        });
        let mut last = Rejected("no key in the JWKS matches the token");
        for k in candidates {
            match jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(token, &k.key, &v) {
                Ok(data) => {
                    return match data.claims.get(&self.cfg.identity_claim).and_then(|c| c.as_str()) {
                        Some(id) if !id.is_empty() => Ok(id.to_owned()),
                        _ => Err(Rejected("the identity claim is missing")),
                    };
                }
                Err(e) => {
                    last = Rejected(match e.kind() {
                        ErrorKind::InvalidSignature => "signature does not verify",
                        ErrorKind::ExpiredSignature => "expired",
                        ErrorKind::ImmatureSignature => "not valid yet",
                        ErrorKind::InvalidAudience => "wrong audience",
                        ErrorKind::InvalidIssuer => "wrong issuer",
                        ErrorKind::MissingRequiredClaim(_) => "a required claim is missing",
                        ErrorKind::InvalidAlgorithm => "algorithm does not match the key",
                        _ => "malformed token",
                    });
                    if !matches!(e.kind(), ErrorKind::InvalidSignature | ErrorKind::InvalidAlgorithm) {
                        // The signature verified: the claims decide, trying other keys changes nothing.
                        return Err(last);
                    }
                }
            }
        }
        Err(last)
    }
}
