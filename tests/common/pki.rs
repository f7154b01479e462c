//! Keys, JWTs and certificates that tests make for themselves (the gateway
//! only verifies them).

use std::time::{SystemTime, UNIX_EPOCH};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use rcgen::{CertificateParams, IsCa, Issuer, KeyPair, SanType, date_time_ymd};

pub struct Signer {
    pub kid: String,
    pub pkcs8: Vec<u8>,
    pub jwk: serde_json::Value,
}

pub fn signer(kid: &str) -> Signer {
    let kp = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let raw = kp.public_key_raw();
    let jwk = serde_json::json!({
        "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
        "x": B64.encode(&raw[1..33]), "y": B64.encode(&raw[33..65]),
    });
    Signer { kid: kid.into(), pkcs8: kp.serialize_der(), jwk }
}

pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// A compact JWS: `header.claims.signature`, signed by `sign` (the
/// gateway only verifies tokens, so tests make their own).
pub fn jws(header: serde_json::Value, claims: serde_json::Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let input = format!("{}.{}", B64.encode(header.to_string()), B64.encode(claims.to_string()));
    let signature = sign(input.as_bytes());
    format!("{input}.{}", B64.encode(signature))
}

pub fn token(s: &Signer, sub: &str, aud: &str, exp: u64) -> String {
    let header = serde_json::json!({"alg": "ES256", "typ": "JWT", "kid": s.kid});
    let claims = serde_json::json!({"iss": "https://issuer.test", "aud": aud, "sub": sub, "exp": exp, "iat": now()});
    let rng = ring::rand::SystemRandom::new();
    let key =
        ring::signature::EcdsaKeyPair::from_pkcs8(&ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING, &s.pkcs8, &rng)
            .expect("P-256 key");
    jws(header, claims, |m| key.sign(&rng, m).expect("sign").as_ref().to_vec())
}

pub struct Ca {
    pub issuer: Issuer<'static, KeyPair>,
    pub pem: String,
}

pub fn ca(name: &str) -> Ca {
    let kp = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.distinguished_name.push(rcgen::DnType::CommonName, name);
    let cert = p.self_signed(&kp).unwrap();
    Ca { pem: cert.pem(), issuer: Issuer::new(p, kp) }
}

/// (cert PEM, key PEM) for a leaf with `san` (a DNS name or a URI), signed by `ca`.
pub fn leaf(ca: &Ca, san: &str, expired: bool) -> (String, String) {
    let kp = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.subject_alt_names = vec![if san.contains("://") {
        SanType::URI(san.try_into().unwrap())
    } else {
        SanType::DnsName(san.try_into().unwrap())
    }];
    if expired {
        p.not_before = date_time_ymd(2020, 1, 1);
        p.not_after = date_time_ymd(2021, 1, 1);
    }
    let cert = p.signed_by(&kp, &ca.issuer).unwrap();
    (cert.pem(), kp.serialize_pem())
}
