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
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// Signature algorithm name, as it starts the `Authorization` value.
pub const ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// Hex SHA-256 of the empty input: the payload hash of a request without a body.
pub const EMPTY_PAYLOAD_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Name of the header that carries the payload hash (sent and signed).
pub const CONTENT_SHA256_HEADER: &str = "x-acs-content-sha256";

type HmacSha256 = Hmac<Sha256>;

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

fn push_pct(out: &mut String, b: u8) {
    out.push('%');
    out.push(char::from(HEX_UPPER[usize::from(b >> 4)]));
    out.push(char::from(HEX_UPPER[usize::from(b & 0x0f)]));
}

/// Percent-encodes UTF-8 per RFC 3986: keeps `A-Z a-z 0-9 - _ . ~`, uppercase hex for the rest.
pub fn rfc3986_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if is_unreserved(b) {
            out.push(char::from(b));
        } else {
            push_pct(&mut out, b);
        }
    }
    out
}

fn form_component(out: &mut String, s: &str) {
    for &b in s.as_bytes() {
        if is_unreserved(b) {
            out.push(char::from(b));
        } else if b == b' ' {
            out.push('+');
        } else {
            push_pct(out, b);
        }
    }
}

/// Encodes pairs as `application/x-www-form-urlencoded` the way the SDK writes form bodies.
///
/// Pairs are stably sorted by raw key; keys and values use Python `quote_plus` rules (space →
/// `+`, everything outside `A-Z a-z 0-9 - _ . ~` percent-encoded with uppercase hex). Values must
/// already be stringified the way the service expects (the Python SDK writes `True`/`False`).
/// The same encoding serves as the wire query string.
pub fn form_encode(pairs: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::new();
    for (i, (k, v)) in sorted.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        form_component(&mut out, k);
        out.push('=');
        form_component(&mut out, v);
    }
    out
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex_val(bytes[i + 1]), hex_val(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h << 4) | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses an `x-www-form-urlencoded` body or raw query string into decoded pairs, in order.
///
/// `+` decodes to a space, `%XX` to its byte (invalid escapes stay literal, invalid UTF-8 becomes
/// U+FFFD); empty segments are skipped and a segment without `=` yields an empty value.
pub fn parse_form(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|seg| !seg.is_empty())
        .map(|seg| match seg.split_once('=') {
            Some((k, v)) => (form_decode(k), form_decode(v)),
            None => (form_decode(seg), String::new()),
        })
        .collect()
}

/// Lowercase hex SHA-256 of `bytes` (the `x-acs-content-sha256` value for a body).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Canonical query string: pairs stably sorted by raw key, keys left unencoded, values RFC 3986.
pub fn canonical_query_string(query: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = query.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::new();
    for (i, (k, v)) in sorted.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(&rfc3986_encode(v));
    }
    out
}

/// Canonical headers (each line `name:value\n`) and the `;`-joined signed-header list.
///
/// Every header given is signed: names are lowercased and sorted, values trimmed, and the trimmed
/// values of headers sharing a lowercased name are sorted and joined with `,`.
pub fn canonical_headers(headers: &[(String, String)]) -> (String, String) {
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

fn mac_for(secret: &str, string_to_sign: &str) -> HmacSha256 {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(string_to_sign.as_bytes());
    mac
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
    let signature = hex::encode(mac_for(access_key_secret, &string_to_sign).finalize().into_bytes());
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

/// Formats a time as `x-acs-date` wants it: `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub fn format_acs_date(t: SystemTime) -> String {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => {
            let d = e.duration();
            -i64::try_from(d.as_secs() + u64::from(d.subsec_nanos() > 0)).unwrap_or(i64::MAX)
        }
    };
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

// Howard Hinnant's civil_from_days: days since 1970-01-01 → (year, month, day), proleptic Gregorian.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m as u32, d as u32)
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

/// A request as the server received it, for [`verify`].
#[derive(Debug, Clone, Copy)]
pub struct VerifyInput<'a> {
    /// HTTP method as received.
    pub method: &'a str,
    /// Path of the request target as received (without `?query`).
    pub path: &'a str,
    /// Raw query string after `?` as received (may use `+` for space), or `""`.
    pub raw_query: &'a str,
    /// Every header received, `(name, value)` in any order and case.
    pub headers: &'a [(String, String)],
    /// Exact body bytes received.
    pub body: &'a [u8],
}

struct Authorization<'a> {
    access_key_id: &'a str,
    signed_headers: &'a str,
    signature: Vec<u8>,
}

fn parse_authorization(value: &str) -> Option<Authorization<'_>> {
    let rest = value.trim().strip_prefix(ALGORITHM)?;
    if !rest.starts_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for field in rest.split(',') {
        let (k, v) = field.trim().split_once('=')?;
        let slot = match k.trim() {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut signature,
            _ => continue,
        };
        if slot.replace(v.trim()).is_some() {
            return None;
        }
    }
    let access_key_id = credential.filter(|s: &&str| !s.is_empty())?;
    let signed_headers = signed.filter(|s: &&str| !s.is_empty())?;
    let signature = hex::decode(signature?).ok()?;
    Some(Authorization { access_key_id, signed_headers, signature })
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// Verifies an ACS3-HMAC-SHA256 request on the server side; returns the access key id on success.
///
/// Checks, in order: `Authorization` present and well formed; `secret_for(access_key_id)` knows
/// the key; `x-acs-content-sha256` equals the SHA-256 of `body`; the signature, rebuilt from the
/// headers named in `SignedHeaders` (in that order) and the decoded-then-recanonicalised query,
/// matches in constant time. Date freshness and nonce replay are not checked here.
pub fn verify(input: &VerifyInput, secret_for: impl FnOnce(&str) -> Option<String>) -> Result<String, VerifyError> {
    let auth_value = header(input.headers, "authorization").ok_or(VerifyError::MissingAuthorization)?;
    let auth = parse_authorization(auth_value).ok_or(VerifyError::Malformed)?;
    let claimed_hash = header(input.headers, CONTENT_SHA256_HEADER).ok_or(VerifyError::Malformed)?;
    let secret =
        secret_for(auth.access_key_id).ok_or_else(|| VerifyError::UnknownAccessKey(auth.access_key_id.to_owned()))?;
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
        &canonical_query_string(&parse_form(input.raw_query)),
        &canonical_headers,
        auth.signed_headers,
        &body_hash,
    );
    mac_for(&secret, &string_to_sign(&canonical_request))
        .verify_slice(&auth.signature)
        .map_err(|_| VerifyError::SignatureMismatch)?;
    Ok(auth.access_key_id.to_owned())
}
