//! Huawei Cloud `SDK-HMAC-SHA256` request signing (AK/SK), client and server side.
//!
//! Reproduces `huaweicloudsdkcore` 3.1.219 `signer.Signer` byte for byte; see
//! `tests/huawei_vectors.rs` and the vendor vectors it loads.
//!
//! * Canonical request: `METHOD\nCANON_URI\nCANON_QUERY\nCANON_HEADERS\nSIGNED_HEADERS\nPAYLOAD`,
//!   where `CANON_HEADERS` ends in `\n`.
//! * String to sign: `SDK-HMAC-SHA256\n<X-Sdk-Date>\n<hex sha256(canonical request)>`.
//! * Signature: lowercase hex HMAC-SHA256 keyed with the raw SK.
//! * `Authorization: SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<list>, Signature=<hex>`.
//!
//! The secret key is only ever used as HMAC key material: nothing here formats or logs it.

use std::fmt;
use std::time::{Duration, SystemTime};

use crate::providers::signing::{
    VerifyInput, header, hmac_sha256_hex, hmac_sha256_verify, parse_authorization, parse_sdk_date, parse_urlencoded,
    percent_decode, rfc3986_encode, sha256_hex,
};

/// Signature algorithm name, as it starts the `Authorization` value.
pub(crate) const ALGORITHM: &str = "SDK-HMAC-SHA256";

/// Hex SHA-256 of the empty input: the payload hash of a request without a body.
pub(crate) const EMPTY_PAYLOAD_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Literal payload hash (and `X-Sdk-Content-Sha256` value) for unsigned non-JSON bodies.
pub(crate) const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Header carrying the signing time, `YYYYMMDDTHHMMSSZ` (UTC).
pub(crate) const SDK_DATE_HEADER: &str = "X-Sdk-Date";

/// Header the signer adds (value [`UNSIGNED_PAYLOAD`]) for non-JSON content types.
pub(crate) const CONTENT_SHA256_HEADER: &str = "X-Sdk-Content-Sha256";

/// Largest accepted distance between `X-Sdk-Date` and the verifier's clock.
pub(crate) const MAX_CLOCK_SKEW: Duration = Duration::from_secs(15 * 60);

/// Canonical URI: decode the whole wire path, split on `/`, RFC 3986-encode each segment, and end
/// with `/` (so an encoded `%2F` inside a segment is signed as a real `/`). Empty gives `/`.
pub fn canonical_uri(path: &str) -> String {
    let decoded = percent_decode(path);
    let mut out = decoded.split('/').map(rfc3986_encode).collect::<Vec<_>>().join("/");
    if !out.ends_with('/') {
        out.push('/');
    }
    out
}

/// Canonical query string, which is also the wire query: pairs sorted by raw key then raw value
/// (code-point order), then keys and values RFC 3986-encoded; repeated keys are kept.
///
/// Values must already be stringified (booleans `true`/`false`, integers decimal, one pair per
/// list element).
pub fn canonical_query(pairs: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
    sorted.sort();
    sorted.iter().map(|(k, v)| format!("{}={}", rfc3986_encode(k), rfc3986_encode(v))).collect::<Vec<_>>().join("&")
}

/// What the client signs: one request before the signer adds its headers.
#[derive(Debug, Clone, Copy)]
pub struct SignInput<'a> {
    /// HTTP method, e.g. `GET` (uppercased for signing).
    pub method: &'a str,
    /// Endpoint host (with `:port` if any); becomes the `Host` header unless `headers` has one.
    pub host: &'a str,
    /// Path as it goes on the wire, path parameters already percent-encoded.
    pub path: &'a str,
    /// Query pairs, unencoded and stringified; send [`canonical_query`] of them as the wire query.
    pub query: &'a [(String, String)],
    /// Request headers without `Host`/`X-Sdk-Date` (names containing `_` are sent, not signed).
    pub headers: &'a [(String, String)],
    /// Exact body bytes (empty when there is none).
    pub body: &'a [u8],
}

/// The signature, every intermediate string and the headers to send, for one signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// Canonical URI (always ends in `/`).
    pub canonical_uri: String,
    /// Canonical query string, identical to the query to send on the wire.
    pub canonical_query_string: String,
    /// Canonical header block, each line ending in `\n`.
    pub canonical_headers: String,
    /// Last line of the canonical request: hex SHA-256 of the body or `UNSIGNED-PAYLOAD`.
    pub payload_hash: String,
    /// The canonical request that was hashed.
    pub canonical_request: String,
    /// `SDK-HMAC-SHA256\n<X-Sdk-Date>\n<hex sha256(canonical_request)>`.
    pub string_to_sign: String,
    /// Lowercase hex HMAC-SHA256 of the string to sign.
    pub signature: String,
    /// `;`-joined lowercase signed header names.
    pub signed_headers: String,
    /// Full `Authorization` header value.
    pub authorization: String,
    /// Every header to send, in SDK order: the input headers with trimmed values, then any added
    /// `X-Sdk-Content-Sha256`, `X-Sdk-Date`, `Host`, and finally `Authorization`.
    pub headers_to_send: Vec<(String, String)>,
}

fn last<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers.iter().rev().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

fn build_canonical_request(
    method: &str,
    canonical_uri: &str,
    canonical_query: &str,
    canonical_headers: &str,
    signed_headers: &str,
    payload_hash: &str,
) -> String {
    format!(
        "{}\n{canonical_uri}\n{canonical_query}\n{canonical_headers}\n{signed_headers}\n{payload_hash}",
        method.to_ascii_uppercase()
    )
}

fn string_to_sign(x_sdk_date: &str, canonical_request: &str) -> String {
    format!("{ALGORITHM}\n{x_sdk_date}\n{}", sha256_hex(canonical_request.as_bytes()))
}

/// Signs a request with SDK-HMAC-SHA256 as the SDK does, using `x_sdk_date` unless the headers
/// already carry `X-Sdk-Date` (that value wins).
///
/// Like the SDK: when `Content-Type` is present and starts with neither `application/json` nor
/// `application/bson`, `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD` is added and signed (even for an
/// empty body) and, for a non-empty body, used as the payload hash. `Host` is added unless present.
/// Signed headers are all names without `_`, lowercased, sorted and de-duplicated (last value wins).
pub fn sign(access_key: &str, secret_key: &str, input: &SignInput, x_sdk_date: &str) -> Signature {
    let mut headers: Vec<(String, String)> = input.headers.to_vec();

    let unsigned_payload = last(&headers, "content-type")
        .is_some_and(|ct| !ct.starts_with("application/json") && !ct.starts_with("application/bson"));
    if unsigned_payload {
        match headers.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(CONTENT_SHA256_HEADER)) {
            Some(h) => h.1 = UNSIGNED_PAYLOAD.to_owned(),
            None => headers.push((CONTENT_SHA256_HEADER.to_owned(), UNSIGNED_PAYLOAD.to_owned())),
        }
    }
    let date = match header(&headers, SDK_DATE_HEADER) {
        Some(v) => v.trim().to_owned(),
        None => {
            headers.push((SDK_DATE_HEADER.to_owned(), x_sdk_date.to_owned()));
            x_sdk_date.to_owned()
        }
    };
    if header(&headers, "host").is_none() {
        headers.push(("Host".to_owned(), input.host.to_owned()));
    }
    for h in &mut headers {
        let trimmed = h.1.trim();
        if trimmed.len() != h.1.len() {
            h.1 = trimmed.to_owned();
        }
    }

    let mut signed: Vec<String> =
        headers.iter().filter(|(n, _)| !n.contains('_')).map(|(n, _)| n.to_ascii_lowercase()).collect();
    signed.sort_unstable();
    signed.dedup();
    let mut canonical_headers = String::new();
    for name in &signed {
        canonical_headers.push_str(name);
        canonical_headers.push(':');
        canonical_headers.push_str(last(&headers, name).unwrap_or_default());
        canonical_headers.push('\n');
    }
    let signed_headers = signed.join(";");

    let payload_hash = if input.body.is_empty() {
        EMPTY_PAYLOAD_SHA256.to_owned()
    } else {
        match header(&headers, CONTENT_SHA256_HEADER).filter(|v| !v.is_empty()) {
            Some(v) => v.to_owned(),
            None => sha256_hex(input.body),
        }
    };
    let canonical_uri = canonical_uri(input.path);
    let canonical_query_string = canonical_query(input.query);
    let canonical_request = build_canonical_request(
        input.method,
        &canonical_uri,
        &canonical_query_string,
        &canonical_headers,
        &signed_headers,
        &payload_hash,
    );
    let string_to_sign = string_to_sign(&date, &canonical_request);
    let signature = hmac_sha256_hex(secret_key.as_bytes(), string_to_sign.as_bytes());
    let authorization =
        format!("{ALGORITHM} Access={access_key}, SignedHeaders={signed_headers}, Signature={signature}");
    headers.push(("Authorization".to_owned(), authorization.clone()));
    Signature {
        canonical_uri,
        canonical_query_string,
        canonical_headers,
        payload_hash,
        canonical_request,
        string_to_sign,
        signature,
        signed_headers,
        authorization,
        headers_to_send: headers,
    }
}

/// Why a received request failed verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    /// No `Authorization` header.
    MissingAuthorization,
    /// `Authorization` is not a well-formed SDK-HMAC-SHA256 value, or `X-Sdk-Date` is missing or
    /// not `YYYYMMDDTHHMMSSZ`.
    Malformed,
    /// The `Access` key is not known (carries that key).
    UnknownAccessKey(String),
    /// `X-Sdk-Date` is more than [`MAX_CLOCK_SKEW`] away from the verifier's clock.
    StaleDate,
    /// `X-Sdk-Content-Sha256` carries a hash that does not match the body received.
    BodyHashMismatch,
    /// The signature does not match (wrong secret, altered request, or a signed header missing).
    SignatureMismatch,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingAuthorization => f.write_str("missing Authorization header"),
            Self::Malformed => f.write_str("malformed SDK-HMAC-SHA256 authorization or X-Sdk-Date"),
            Self::UnknownAccessKey(ak) => write!(f, "unknown access key {ak:?}"),
            Self::StaleDate => f.write_str("X-Sdk-Date is outside the allowed clock skew"),
            Self::BodyHashMismatch => f.write_str("X-Sdk-Content-Sha256 does not match the body"),
            Self::SignatureMismatch => f.write_str("signature does not match"),
        }
    }
}

impl std::error::Error for VerifyError {}

/// Verifies an SDK-HMAC-SHA256 request on the server side; returns the access key on success.
///
/// Checks, in order: `Authorization` present and well formed; `X-Sdk-Date` well formed and within
/// [`MAX_CLOCK_SKEW`] of `now`; `secret_for(access_key)` knows the key; a hex
/// `X-Sdk-Content-Sha256` matches the body; the signature, rebuilt from the headers named in
/// `SignedHeaders` (last value of each, trimmed), the canonical URI of `path` and the
/// decoded-then-recanonicalised query, matches in constant time.
pub fn verify(
    input: &VerifyInput,
    now: SystemTime,
    secret_for: impl FnOnce(&str) -> Option<String>,
) -> Result<String, VerifyError> {
    let auth_value = header(input.headers, "authorization").ok_or(VerifyError::MissingAuthorization)?;
    let auth = parse_authorization(auth_value, ALGORITHM, "Access").ok_or(VerifyError::Malformed)?;
    let date = header(input.headers, SDK_DATE_HEADER).map(str::trim).ok_or(VerifyError::Malformed)?;
    let signed_at = parse_sdk_date(date).ok_or(VerifyError::Malformed)?;
    let skew = match now.duration_since(signed_at) {
        Ok(d) => d,
        Err(e) => e.duration(),
    };
    if skew > MAX_CLOCK_SKEW {
        return Err(VerifyError::StaleDate);
    }
    let secret =
        secret_for(auth.access_key).ok_or_else(|| VerifyError::UnknownAccessKey(auth.access_key.to_owned()))?;

    let payload_hash = if input.body.is_empty() {
        EMPTY_PAYLOAD_SHA256.to_owned()
    } else {
        match header(input.headers, CONTENT_SHA256_HEADER).map(str::trim).filter(|v| !v.is_empty()) {
            Some(UNSIGNED_PAYLOAD) => UNSIGNED_PAYLOAD.to_owned(),
            Some(claimed) => {
                if !claimed.eq_ignore_ascii_case(&sha256_hex(input.body)) {
                    return Err(VerifyError::BodyHashMismatch);
                }
                claimed.to_owned()
            }
            None => sha256_hex(input.body),
        }
    };

    let mut canonical_headers = String::new();
    for name in auth.signed_headers.split(';') {
        let value = last(input.headers, name).ok_or(VerifyError::SignatureMismatch)?;
        canonical_headers.push_str(name);
        canonical_headers.push(':');
        canonical_headers.push_str(value.trim());
        canonical_headers.push('\n');
    }
    let canonical_request = build_canonical_request(
        input.method,
        &canonical_uri(input.path),
        &canonical_query(&parse_urlencoded(input.raw_query)),
        &canonical_headers,
        auth.signed_headers,
        &payload_hash,
    );
    if !hmac_sha256_verify(secret.as_bytes(), string_to_sign(date, &canonical_request).as_bytes(), &auth.signature) {
        return Err(VerifyError::SignatureMismatch);
    }
    Ok(auth.access_key.to_owned())
}
