//! jsonwebtoken's signature checks on ring, the one crypto library of the
//! binary (rustls runs on it too). jsonwebtoken's own backends bring either
//! RustCrypto's `rsa` crate (RUSTSEC-2023-0071, no fixed release) with a
//! second set of hash crates, or a second C crypto library (aws-lc); its
//! `CryptoProvider` hook takes any backend instead. The gateway only
//! verifies tokens: this provider cannot sign, and HMAC (refused by the
//! JWT checks before any key is used) is not offered.

use jsonwebtoken::{
    Algorithm, DecodingKey, DecodingKeyKind, EncodingKey,
    crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils},
    errors::{ErrorKind, Result},
    jwk::ThumbprintHash,
    signature::{Error as SignatureError, Verifier},
};
use ring::{digest, signature as sig};

/// Verification on ring; installed once at start by
/// [`install_crypto_provider`](crate::install_crypto_provider).
pub(crate) static RING: CryptoProvider = CryptoProvider {
    signer_factory: no_signing,
    verifier_factory: verifier,
    key_utils: KeyUtils {
        rsa_pub_components_from_private_key: |_| Err(ErrorKind::InvalidRsaKey("unsupported".into()).into()),
        rsa_pub_components_from_public_key: |_| Err(ErrorKind::InvalidRsaKey("unsupported".into()).into()),
        ec_pub_components_from_private_key: |_, _| Err(ErrorKind::InvalidEcdsaKey.into()),
        ed_pub_components_from_private_key: |_, _| Err(ErrorKind::InvalidEddsaKey.into()),
        compute_digest,
    },
};

fn no_signing(_: &Algorithm, _: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    Err(ErrorKind::InvalidAlgorithm.into())
}

fn compute_digest(data: &[u8], hash: ThumbprintHash) -> Result<Vec<u8>> {
    let algorithm = match hash {
        ThumbprintHash::SHA256 => &digest::SHA256,
        ThumbprintHash::SHA384 => &digest::SHA384,
        ThumbprintHash::SHA512 => &digest::SHA512,
        _ => return Err(ErrorKind::InvalidAlgorithm.into()),
    };
    Ok(digest::digest(algorithm, data).as_ref().to_vec())
}

/// How a verifier checks signatures of one algorithm.
enum Check {
    Rsa(&'static sig::RsaParameters),
    /// ECDSA or EdDSA over a raw public key.
    Raw(&'static dyn sig::VerificationAlgorithm),
}

struct RingVerifier {
    algorithm: Algorithm,
    check: Check,
    key: DecodingKey,
}

fn verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    let check = match algorithm {
        Algorithm::RS256 => Check::Rsa(&sig::RSA_PKCS1_2048_8192_SHA256),
        Algorithm::RS384 => Check::Rsa(&sig::RSA_PKCS1_2048_8192_SHA384),
        Algorithm::RS512 => Check::Rsa(&sig::RSA_PKCS1_2048_8192_SHA512),
        Algorithm::PS256 => Check::Rsa(&sig::RSA_PSS_2048_8192_SHA256),
        Algorithm::PS384 => Check::Rsa(&sig::RSA_PSS_2048_8192_SHA384),
        Algorithm::PS512 => Check::Rsa(&sig::RSA_PSS_2048_8192_SHA512),
        Algorithm::ES256 => Check::Raw(&sig::ECDSA_P256_SHA256_FIXED),
        Algorithm::ES384 => Check::Raw(&sig::ECDSA_P384_SHA384_FIXED),
        Algorithm::EdDSA => Check::Raw(&sig::ED25519),
        // HMAC, and whatever a later jsonwebtoken adds (the enum is non-exhaustive).
        _ => return Err(ErrorKind::InvalidAlgorithm.into()),
    };
    if key.family() != algorithm.family() {
        return Err(ErrorKind::InvalidKeyFormat.into());
    }
    Ok(Box::new(RingVerifier { algorithm: *algorithm, check, key: key.clone() }))
}

impl Verifier<Vec<u8>> for RingVerifier {
    fn verify(&self, msg: &[u8], signature: &Vec<u8>) -> std::result::Result<(), SignatureError> {
        let checked = match (&self.check, self.key.kind()) {
            (Check::Rsa(params), DecodingKeyKind::RsaModulusExponent { n, e }) => {
                sig::RsaPublicKeyComponents { n, e }.verify(params, msg, signature)
            }
            (Check::Rsa(params), DecodingKeyKind::SecretOrDer(der)) => {
                sig::UnparsedPublicKey::new(*params, der).verify(msg, signature)
            }
            (Check::Raw(algorithm), DecodingKeyKind::SecretOrDer(raw)) => {
                sig::UnparsedPublicKey::new(*algorithm, raw).verify(msg, signature)
            }
            (Check::Raw(_), DecodingKeyKind::RsaModulusExponent { .. }) => {
                return Err(SignatureError::new());
            }
        };
        checked.map_err(|_| SignatureError::new())
    }
}

impl JwtVerifier for RingVerifier {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{Algorithm, DecodingKey, crypto::verify};

    use super::RING;

    /// RFC 7515 appendix A.2: an RS256 JWS and its public key.
    const RFC7515_A2: &str = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
    const RFC7515_A2_N: &str = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";

    fn parts(jws: &str) -> (&str, &str) {
        let (input, signature) = jws.rsplit_once('.').expect("three parts");
        (input, signature)
    }

    #[test]
    fn rs256_verifies_the_rfc_vector_and_nothing_else() {
        let _ = RING.install_default();
        let key = DecodingKey::from_rsa_components(RFC7515_A2_N, "AQAB").expect("key");
        let (input, signature) = parts(RFC7515_A2);
        assert!(verify(signature, input.as_bytes(), &key, Algorithm::RS256).expect("verify"));
        let tampered = input.replacen("eyJpc3Mi", "eyJpc3Nh", 1);
        assert!(!verify(signature, tampered.as_bytes(), &key, Algorithm::RS256).expect("verify"));
        // The same key under PSS, and a wrong family, are refused.
        assert!(!verify(signature, input.as_bytes(), &key, Algorithm::PS256).expect("verify"));
        assert!(verify(signature, input.as_bytes(), &key, Algorithm::ES256).is_err());
    }

    #[test]
    fn hmac_is_never_offered_and_nothing_is_signed() {
        let _ = RING.install_default();
        let key = DecodingKey::from_secret(b"secret").expect("key");
        assert!(verify("AAAA", b"x.y", &key, Algorithm::HS256).is_err());
        let signing = jsonwebtoken::EncodingKey::from_secret(b"secret").expect("key");
        assert!(jsonwebtoken::encode(&jsonwebtoken::Header::default(), &serde_json::json!({}), &signing).is_err());
    }
}
