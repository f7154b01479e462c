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
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// Signature algorithm name, as it starts the `Authorization` value.
pub const ALGORITHM: &str = "SDK-HMAC-SHA256";

/// Hex SHA-256 of the empty input: the payload hash of a request without a body.
pub const EMPTY_PAYLOAD_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Literal payload hash (and `X-Sdk-Content-Sha256` value) for unsigned non-JSON bodies.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Header carrying the signing time, `YYYYMMDDTHHMMSSZ` (UTC).
pub const SDK_DATE_HEADER: &str = "X-Sdk-Date";

/// Header the signer adds (value [`UNSIGNED_PAYLOAD`]) for non-JSON content types.
pub const CONTENT_SHA256_HEADER: &str = "X-Sdk-Content-Sha256";

/// Largest accepted distance between `X-Sdk-Date` and the verifier's clock.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(15 * 60);

type HmacSha256 = Hmac<Sha256>;

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Percent-encodes UTF-8 per RFC 3986: keeps `A-Z a-z 0-9 - _ . ~`, uppercase hex for the rest.
///
/// This is also how the SDK encodes a path parameter (so `/` becomes `%2F`).
pub fn rfc3986_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX_UPPER[usize::from(b >> 4)]));
            out.push(char::from(HEX_UPPER[usize::from(b & 0x0f)]));
        }
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

/// Percent-decodes like Python `unquote` (or `unquote_plus` when `plus_is_space`).
fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' if plus_is_space => out.push(b' '),
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

/// Parses a raw query string into decoded pairs, in order (`+` as space, `%XX` decoded).
///
/// Empty segments are skipped and a segment without `=` yields an empty value.
pub fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|seg| !seg.is_empty())
        .map(|seg| match seg.split_once('=') {
            Some((k, v)) => (percent_decode(k, true), percent_decode(v, true)),
            None => (percent_decode(seg, true), String::new()),
        })
        .collect()
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Canonical URI: decode the whole wire path, split on `/`, RFC 3986-encode each segment, and end
/// with `/` (so an encoded `%2F` inside a segment is signed as a real `/`). Empty gives `/`.
pub fn canonical_uri(path: &str) -> String {
    let decoded = percent_decode(path, false);
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
    let mut out = String::new();
    for (i, (k, v)) in sorted.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(&rfc3986_encode(k));
        out.push('=');
        out.push_str(&rfc3986_encode(v));
    }
    out
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

fn first<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
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

fn mac_for(secret_key: &str, string_to_sign: &str) -> HmacSha256 {
    let mut mac =
        <HmacSha256 as KeyInit>::new_from_slice(secret_key.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(string_to_sign.as_bytes());
    mac
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
    let date = match first(&headers, SDK_DATE_HEADER) {
        Some(v) => v.trim().to_owned(),
        None => {
            headers.push((SDK_DATE_HEADER.to_owned(), x_sdk_date.to_owned()));
            x_sdk_date.to_owned()
        }
    };
    if first(&headers, "host").is_none() {
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
        match first(&headers, CONTENT_SHA256_HEADER).filter(|v| !v.is_empty()) {
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
    let signature = hex::encode(mac_for(secret_key, &string_to_sign).finalize().into_bytes());
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

fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => {
            let d = e.duration();
            -i64::try_from(d.as_secs() + u64::from(d.subsec_nanos() > 0)).unwrap_or(i64::MAX)
        }
    }
}

/// Formats a time as `X-Sdk-Date` wants it: `YYYYMMDDTHHMMSSZ` (UTC).
pub fn format_sdk_date(t: SystemTime) -> String {
    let secs = unix_secs(t);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Parses an `X-Sdk-Date` value (`YYYYMMDDTHHMMSSZ`, UTC); `None` if it is not exactly that.
pub fn parse_sdk_date(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    let (y, mo, d) = (num(0, 4)?, num(4, 6)?, num(6, 8)?);
    let (h, mi, se) = (num(9, 11)?, num(11, 13)?, num(13, 15)?);
    if h > 23 || mi > 59 || se > 59 || !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(i64::from(y), mo, d);
    if civil_from_days(days) != (i64::from(y), mo, d) {
        return None;
    }
    let secs = days * 86_400 + i64::from(h * 3600 + mi * 60 + se);
    match u64::try_from(secs) {
        Ok(s) => UNIX_EPOCH.checked_add(Duration::from_secs(s)),
        Err(_) => UNIX_EPOCH.checked_sub(Duration::from_secs(secs.unsigned_abs())),
    }
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

// Inverse of `civil_from_days`.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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

/// A request as the server received it, for [`verify`].
#[derive(Debug, Clone, Copy)]
pub struct VerifyInput<'a> {
    /// HTTP method as received.
    pub method: &'a str,
    /// Path of the request target as received, still percent-encoded (without `?query`).
    pub path: &'a str,
    /// Raw query string after `?` as received, or `""`.
    pub raw_query: &'a str,
    /// Every header received, `(name, value)` in any order and case.
    pub headers: &'a [(String, String)],
    /// Exact body bytes received.
    pub body: &'a [u8],
}

struct Authorization<'a> {
    access_key: &'a str,
    signed_headers: &'a str,
    signature: Vec<u8>,
}

fn parse_authorization(value: &str) -> Option<Authorization<'_>> {
    let rest = value.trim().strip_prefix(ALGORITHM)?;
    if !rest.starts_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    let (mut access, mut signed, mut signature) = (None, None, None);
    for field in rest.split(',') {
        let (k, v) = field.trim().split_once('=')?;
        let slot = match k.trim() {
            "Access" => &mut access,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut signature,
            _ => continue,
        };
        if slot.replace(v.trim()).is_some() {
            return None;
        }
    }
    let access_key = access.filter(|s: &&str| !s.is_empty())?;
    let signed_headers = signed.filter(|s: &&str| !s.is_empty())?;
    let signature = hex::decode(signature?).ok()?;
    Some(Authorization { access_key, signed_headers, signature })
}

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
    let auth_value = first(input.headers, "authorization").ok_or(VerifyError::MissingAuthorization)?;
    let auth = parse_authorization(auth_value).ok_or(VerifyError::Malformed)?;
    let date = first(input.headers, SDK_DATE_HEADER).map(str::trim).ok_or(VerifyError::Malformed)?;
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
        match first(input.headers, CONTENT_SHA256_HEADER).map(str::trim).filter(|v| !v.is_empty()) {
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
        &canonical_query(&parse_query(input.raw_query)),
        &canonical_headers,
        auth.signed_headers,
        &payload_hash,
    );
    mac_for(&secret, &string_to_sign(date, &canonical_request))
        .verify_slice(&auth.signature)
        .map_err(|_| VerifyError::SignatureMismatch)?;
    Ok(auth.access_key.to_owned())
}
