//! Alibaba Cloud `ACS3-HMAC-SHA256` request signing (OpenAPI signature V3), client and server side.
//!
//! Reproduces the signer of the official Python SDK (alibabacloud-tea-openapi 0.4.6) byte for
//! byte; see `tests/alibaba_vectors.rs` and the vendor vectors it loads.
//!
//! * Canonical request: `METHOD\nPATH\nCANON_QUERY\nCANON_HEADERS\nSIGNED_HEADERS\nPAYLOAD_HASH`,
//!   where `CANON_HEADERS` ends in `\n`.
//! * String to sign: `ACS3-HMAC-SHA256\n` + hex SHA-256 of the canonical request.
//! * Signature: lowercase hex HMAC-SHA256 keyed with the raw AccessKey secret.
//!
//! The secret is only ever used as HMAC key material: nothing here formats or logs it.

use std::fmt;

use crate::providers::signing::{
    VerifyInput, form_urlencode, header, hmac_sha256_hex, hmac_sha256_verify, parse_authorization, parse_urlencoded,
    rfc3986_encode, sha256_hex,
};

/// Signature algorithm name, as it starts the `Authorization` value.
pub(crate) const ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// Name of the header that carries the payload hash (sent and signed).
pub(crate) const CONTENT_SHA256_HEADER: &str = "x-acs-content-sha256";

/// Encodes pairs as `application/x-www-form-urlencoded` the way the SDK writes form bodies.
///
/// Pairs are stably sorted by raw key; keys and values use Python `quote_plus` rules (space →
/// `+`, everything outside `A-Z a-z 0-9 - _ . ~` percent-encoded with uppercase hex). Values must
/// already be stringified the way the service expects (the Python SDK writes `True`/`False`).
/// The same encoding serves as the wire query string.
pub fn form_encode(pairs: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    sorted.iter().map(|(k, v)| format!("{}={}", form_urlencode(k), form_urlencode(v))).collect::<Vec<_>>().join("&")
}

/// Canonical query string: pairs stably sorted by raw key, keys left unencoded, values RFC 3986.
pub(crate) fn canonical_query_string(query: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = query.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    sorted.iter().map(|(k, v)| format!("{k}={}", rfc3986_encode(v))).collect::<Vec<_>>().join("&")
}

/// Canonical headers (each line `name:value\n`) and the `;`-joined signed-header list.
///
/// Every header given is signed: names are lowercased and sorted, values trimmed, and the trimmed
/// values of headers sharing a lowercased name are sorted and joined with `,`.
pub(crate) fn canonical_headers(headers: &[(String, String)]) -> (String, String) {
    let mut grouped: Vec<(String, Vec<&str>)> = Vec::new();
    for (name, value) in headers {
        let lname = name.to_ascii_lowercase();
        let value = value.trim();
        match grouped.iter_mut().find(|(n, _)| *n == lname) {
            Some((_, values)) => values.push(value),
            None => grouped.push((lname, vec![value])),
        }
    }
    grouped.sort_by(|a, b| a.0.cmp(&b.0));
    let mut canonical = String::new();
    let mut signed = String::new();
    for (i, (name, mut values)) in grouped.into_iter().enumerate() {
        values.sort_unstable();
        canonical.push_str(&name);
        canonical.push(':');
        canonical.push_str(&values.join(","));
        canonical.push('\n');
        if i > 0 {
            signed.push(';');
        }
        signed.push_str(&name);
    }
    (canonical, signed)
}

/// What the client signs: one request as it will be sent.
#[derive(Debug, Clone, Copy)]
pub struct SignInput<'a> {
    /// HTTP method, e.g. `POST` (used as given).
    pub method: &'a str,
    /// Request path as sent (`/` for RPC); empty means `/`.
    pub path: &'a str,
    /// Query parameters, unencoded and already stringified (any order).
    pub query: &'a [(String, String)],
    /// Every header to sign, incl. `host`, `accept`, `content-type`, `user-agent`, `x-acs-*` and
    /// `x-acs-content-sha256`; all of them are signed.
    pub headers: &'a [(String, String)],
    /// Exact body bytes (empty when there is none).
    pub body: &'a [u8],
}

/// The signature and every intermediate string of one signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// Canonical query string (keys raw, values RFC 3986).
    pub canonical_query_string: String,
    /// Canonical header block, each line ending in `\n`.
    pub canonical_headers: String,
    /// The canonical request that was hashed.
    pub canonical_request: String,
    /// `ACS3-HMAC-SHA256\n<hex sha256(canonical_request)>`.
    pub string_to_sign: String,
    /// Lowercase hex HMAC-SHA256 of the string to sign.
    pub signature: String,
    /// `;`-joined lowercase signed header names.
    pub signed_headers: String,
    /// Full `Authorization` header value.
    pub authorization: String,
}

fn build_canonical_request(
    method: &str,
    path: &str,
    canonical_query: &str,
    canonical_headers: &str,
    signed_headers: &str,
    payload_hash: &str,
) -> String {
    let path = if path.is_empty() { "/" } else { path };
    format!("{method}\n{path}\n{canonical_query}\n{canonical_headers}\n{signed_headers}\n{payload_hash}")
}

fn string_to_sign(canonical_request: &str) -> String {
    format!("{ALGORITHM}\n{}", sha256_hex(canonical_request.as_bytes()))
}

/// Signs a request with ACS3-HMAC-SHA256 and returns the `Authorization` value and intermediates.
///
/// The payload hash is computed from `input.body`; the caller must also send it as
/// `x-acs-content-sha256` and include that header in `input.headers`.
pub fn sign(access_key_id: &str, access_key_secret: &str, input: &SignInput) -> Signature {
    let canonical_query_string = canonical_query_string(input.query);
    let (canonical_headers, signed_headers) = canonical_headers(input.headers);
    let canonical_request = build_canonical_request(
        input.method,
        input.path,
        &canonical_query_string,
        &canonical_headers,
        &signed_headers,
        &sha256_hex(input.body),
    );
    let string_to_sign = string_to_sign(&canonical_request);
    let signature = hmac_sha256_hex(access_key_secret.as_bytes(), string_to_sign.as_bytes());
    let authorization =
        format!("{ALGORITHM} Credential={access_key_id},SignedHeaders={signed_headers},Signature={signature}");
    Signature {
        canonical_query_string,
        canonical_headers,
        canonical_request,
        string_to_sign,
        signature,
        signed_headers,
        authorization,
    }
}

/// Why a received request failed verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    /// No `Authorization` header.
    MissingAuthorization,
    /// `Authorization` is not a well-formed ACS3-HMAC-SHA256 value, or `x-acs-content-sha256` is
    /// missing.
    Malformed,
    /// The `Credential` access key id is not known (carries that id).
    UnknownAccessKey(String),
    /// `x-acs-content-sha256` does not match the SHA-256 of the body received.
    BodyHashMismatch,
    /// The signature does not match (wrong secret, altered request, or a signed header missing).
    SignatureMismatch,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingAuthorization => f.write_str("missing Authorization header"),
            Self::Malformed => f.write_str("malformed ACS3-HMAC-SHA256 authorization"),
            Self::UnknownAccessKey(id) => write!(f, "unknown access key id {id:?}"),
            Self::BodyHashMismatch => f.write_str("x-acs-content-sha256 does not match the body"),
            Self::SignatureMismatch => f.write_str("signature does not match"),
        }
    }
}

impl std::error::Error for VerifyError {}

/// Verifies an ACS3-HMAC-SHA256 request on the server side; returns the access key id on success.
///
/// Checks, in order: `Authorization` present and well formed; `secret_for(access_key_id)` knows
/// the key; `x-acs-content-sha256` equals the SHA-256 of `body`; the signature, rebuilt from the
/// headers named in `SignedHeaders` (in that order) and the decoded-then-recanonicalised query,
/// matches in constant time. Date freshness and nonce replay are not checked here.
pub fn verify(input: &VerifyInput, secret_for: impl FnOnce(&str) -> Option<String>) -> Result<String, VerifyError> {
    let auth_value = header(input.headers, "authorization").ok_or(VerifyError::MissingAuthorization)?;
    let auth = parse_authorization(auth_value, ALGORITHM, "Credential").ok_or(VerifyError::Malformed)?;
    let claimed_hash = header(input.headers, CONTENT_SHA256_HEADER).ok_or(VerifyError::Malformed)?;
    let secret =
        secret_for(auth.access_key).ok_or_else(|| VerifyError::UnknownAccessKey(auth.access_key.to_owned()))?;
    let body_hash = sha256_hex(input.body);
    if !claimed_hash.trim().eq_ignore_ascii_case(&body_hash) {
        return Err(VerifyError::BodyHashMismatch);
    }

    let mut canonical_headers = String::new();
    for name in auth.signed_headers.split(';') {
        let mut values: Vec<&str> =
            input.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim()).collect();
        if values.is_empty() {
            return Err(VerifyError::SignatureMismatch);
        }
        values.sort_unstable();
        canonical_headers.push_str(name);
        canonical_headers.push(':');
        canonical_headers.push_str(&values.join(","));
        canonical_headers.push('\n');
    }
    let canonical_request = build_canonical_request(
        input.method,
        input.path,
        &canonical_query_string(&parse_urlencoded(input.raw_query)),
        &canonical_headers,
        auth.signed_headers,
        &body_hash,
    );
    if !hmac_sha256_verify(secret.as_bytes(), string_to_sign(&canonical_request).as_bytes(), &auth.signature) {
        return Err(VerifyError::SignatureMismatch);
    }
    Ok(auth.access_key.to_owned())
}
