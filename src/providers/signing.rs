//! Building blocks shared by the vendor request signers (`alibaba::sign`, `huawei::sign`):
//! SHA-256 and HMAC-SHA256 in lowercase hex, RFC 3986 percent-encoding and decoding, the vendors'
//! UTC timestamp formats, and the parts of server-side verification that do not depend on the
//! vendor (the received request, header lookup, the `Authorization` value).
//!
//! The canonical request and string to sign stay in each vendor's module: their quirks differ
//! (which query keys are encoded, how pairs sort, which headers are signed).

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use jiff::{Timestamp, civil::DateTime, tz::Offset};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::{Digest, Sha256};

/// Every byte RFC 3986 does not list as unreserved (`A-Z a-z 0-9 - . _ ~`); non-ASCII bytes are
/// always encoded.
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Percent-encodes UTF-8 per RFC 3986: keeps `A-Z a-z 0-9 - _ . ~`, uppercase hex for the rest.
///
/// Both vendors encode canonical query values this way, and Huawei also path segments and query
/// keys (so `/` becomes `%2F`, space `%20`, `*` `%2A`).
pub fn rfc3986_encode(s: &str) -> String {
    utf8_percent_encode(s, RFC3986).to_string()
}

/// Encodes one form component like Python `quote_plus`: as [`rfc3986_encode`], but space → `+`.
pub(crate) fn form_urlencode(s: &str) -> String {
    utf8_percent_encode(s, RFC3986).map(|chunk| if chunk == "%20" { "+" } else { chunk }).collect()
}

/// Percent-decodes like Python `unquote`: `%XX` becomes its byte, an invalid escape stays
/// literal, `+` stays `+`, and invalid UTF-8 becomes U+FFFD.
pub(crate) fn percent_decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// Parses an `x-www-form-urlencoded` body or raw query string into decoded pairs, in order.
///
/// Like Python `unquote_plus`: `+` decodes to a space, `%XX` to its byte (an invalid escape stays
/// literal, invalid UTF-8 becomes U+FFFD). Empty segments are skipped and a segment without `=`
/// yields an empty value.
pub fn parse_urlencoded(s: &str) -> Vec<(String, String)> {
    let decode = |part: &str| percent_decode(&part.replace('+', " "));
    s.split('&')
        .filter(|seg| !seg.is_empty())
        .map(|seg| {
            let (k, v) = seg.split_once('=').unwrap_or((seg, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Lowercase hex SHA-256 of `bytes` (a payload hash, or the hash of a canonical request).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    mac
}

/// Lowercase hex HMAC-SHA256 of `data` keyed with `key` (both vendors key with the raw secret).
pub(crate) fn hmac_sha256_hex(key: &[u8], data: &[u8]) -> String {
    hex::encode(hmac_sha256(key, data).finalize().into_bytes())
}

/// Whether `signature` is the HMAC-SHA256 of `data` keyed with `key`, compared in constant time.
pub(crate) fn hmac_sha256_verify(key: &[u8], data: &[u8], signature: &[u8]) -> bool {
    hmac_sha256(key, data).verify_slice(signature).is_ok()
}

/// `x-acs-date` layout: `YYYY-MM-DDTHH:MM:SSZ`.
const ACS_DATE: &str = "%Y-%m-%dT%H:%M:%SZ";

/// `X-Sdk-Date` layout: `YYYYMMDDTHHMMSSZ`.
const SDK_DATE: &str = "%Y%m%dT%H%M%SZ";

/// Formats `t` in UTC with a `strftime` layout, seconds truncated (rounded down before 1970).
/// A time outside jiff's range (years -9999..=9999) is formatted as its first or last instant.
fn format_utc(t: SystemTime, layout: &str) -> String {
    let ts = Timestamp::try_from(t).unwrap_or(if t < UNIX_EPOCH { Timestamp::MIN } else { Timestamp::MAX });
    ts.strftime(layout).to_string()
}

/// Formats a time as `x-acs-date` wants it (Alibaba): `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub fn format_acs_date(t: SystemTime) -> String {
    format_utc(t, ACS_DATE)
}

/// Formats a time as `X-Sdk-Date` wants it (Huawei): `YYYYMMDDTHHMMSSZ` (UTC).
pub fn format_sdk_date(t: SystemTime) -> String {
    format_utc(t, SDK_DATE)
}

/// Parses an `X-Sdk-Date` value (`YYYYMMDDTHHMMSSZ`, UTC); `None` unless it is exactly that, with
/// a real calendar date and time (no second 60).
pub fn parse_sdk_date(s: &str) -> Option<SystemTime> {
    let ts = Offset::UTC.to_timestamp(DateTime::strptime(SDK_DATE, s).ok()?).ok()?;
    // strptime accepts signs, blanks and short fields; only the canonical spelling is valid.
    (ts.strftime(SDK_DATE).to_string() == s).then(|| SystemTime::try_from(ts).ok()).flatten()
}

/// A request as the server received it, for the vendors' `verify`.
#[derive(Debug, Clone, Copy)]
pub struct VerifyInput<'a> {
    /// HTTP method as received.
    pub method: &'a str,
    /// Path of the request target as received, still percent-encoded (without `?query`).
    pub path: &'a str,
    /// Raw query string after `?` as received (may use `+` for space), or `""`.
    pub raw_query: &'a str,
    /// Every header received, `(name, value)` in any order and case.
    pub headers: &'a [(String, String)],
    /// Exact body bytes received.
    pub body: &'a [u8],
}

/// Value of the first header named `name` (ASCII case-insensitive).
pub(crate) fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// The fields of a received `Authorization` value.
pub(crate) struct Authorization<'a> {
    /// The access key id (`Credential=` for Alibaba, `Access=` for Huawei).
    pub(crate) access_key: &'a str,
    /// The `;`-joined signed header names, as sent.
    pub(crate) signed_headers: &'a str,
    /// The decoded signature bytes.
    pub(crate) signature: Vec<u8>,
}

/// Parses `<algorithm> <key_field>=<id>,SignedHeaders=<list>,Signature=<hex>`.
///
/// The algorithm must be followed by whitespace; fields may come in any order, with or without
/// spaces around `,` and `=`; unknown fields are ignored. `None` when a field is repeated or
/// missing, the id or header list is empty, or the signature is not hex.
pub(crate) fn parse_authorization<'a>(value: &'a str, algorithm: &str, key_field: &str) -> Option<Authorization<'a>> {
    let rest = value.trim().strip_prefix(algorithm)?;
    if !rest.starts_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    let (mut access_key, mut signed, mut signature) = (None, None, None);
    for field in rest.split(',') {
        let (k, v) = field.trim().split_once('=')?;
        let slot = match k.trim() {
            k if k == key_field => &mut access_key,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut signature,
            _ => continue,
        };
        if slot.replace(v.trim()).is_some() {
            return None;
        }
    }
    let access_key = access_key.filter(|s: &&str| !s.is_empty())?;
    let signed_headers = signed.filter(|s: &&str| !s.is_empty())?;
    let signature = hex::decode(signature?).ok()?;
    Some(Authorization { access_key, signed_headers, signature })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn rfc3986_keeps_only_unreserved() {
        assert_eq!(rfc3986_encode(""), "");
        assert_eq!(rfc3986_encode("AZaz09-._~"), "AZaz09-._~");
        assert_eq!(rfc3986_encode(":/?#[]@!$&'()*+,;="), "%3A%2F%3F%23%5B%5D%40%21%24%26%27%28%29%2A%2B%2C%3B%3D");
        assert_eq!(rfc3986_encode("a b%c\"d<>\\^`{|}"), "a%20b%25c%22d%3C%3E%5C%5E%60%7B%7C%7D");
        assert_eq!(rfc3986_encode("\t\n\u{7f}"), "%09%0A%7F");
        assert_eq!(rfc3986_encode("é节😀"), "%C3%A9%E8%8A%82%F0%9F%98%80");
    }

    #[test]
    fn form_urlencode_is_quote_plus() {
        assert_eq!(form_urlencode("a b+c*d~e/f"), "a+b%2Bc%2Ad~e%2Ff");
        assert_eq!(form_urlencode("  "), "++");
        assert_eq!(form_urlencode("节 x"), "%E8%8A%82+x");
        assert_eq!(form_urlencode("%20"), "%2520");
    }

    #[test]
    fn percent_decode_is_unquote() {
        assert_eq!(percent_decode("team%2Fa%20b+c"), "team/a b+c");
        assert_eq!(percent_decode("%e8%8a%82%E8%8A%82"), "节节");
        assert_eq!(percent_decode("%zz%4%%41%"), "%zz%4%A%");
        assert_eq!(percent_decode("%FFx"), "\u{fffd}x");
    }

    #[test]
    fn parse_urlencoded_is_unquote_plus_per_pair() {
        let pairs = |v: &[(&str, &str)]| v.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
        assert_eq!(
            parse_urlencoded("a=1+2%2B3&&flag&b=x=y&c%20d=&=e"),
            pairs(&[("a", "1 2+3"), ("flag", ""), ("b", "x=y"), ("c d", ""), ("", "e")])
        );
        assert_eq!(parse_urlencoded(""), pairs(&[]));
        let value = "a b+c*d~e/f&g=h节%";
        let encoded = format!("k={}", form_urlencode(value));
        assert_eq!(parse_urlencoded(&encoded), pairs(&[("k", value)]));
    }

    #[test]
    fn digests_are_lowercase_hex() {
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        // RFC 4231, test case 2.
        let mac = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert_eq!(hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"), mac);
        let raw = hex::decode(mac).expect("hex");
        assert!(hmac_sha256_verify(b"Jefe", b"what do ya want for nothing?", &raw));
        assert!(!hmac_sha256_verify(b"Jefe", b"what do ya want for nothing!", &raw));
        assert!(!hmac_sha256_verify(b"Jefe", b"what do ya want for nothing?", &raw[..31]));
    }

    #[test]
    fn dates_at_fixed_instants() {
        for (secs, acs, sdk) in [
            (0, "1970-01-01T00:00:00Z", "19700101T000000Z"),
            (951_782_400, "2000-02-29T00:00:00Z", "20000229T000000Z"),
            (1_709_251_199, "2024-02-29T23:59:59Z", "20240229T235959Z"),
            (1_709_251_200, "2024-03-01T00:00:00Z", "20240301T000000Z"),
            (946_684_799, "1999-12-31T23:59:59Z", "19991231T235959Z"),
            (1_704_067_200, "2024-01-01T00:00:00Z", "20240101T000000Z"),
            (4_107_542_399, "2100-02-28T23:59:59Z", "21000228T235959Z"),
            (4_107_542_400, "2100-03-01T00:00:00Z", "21000301T000000Z"),
        ] {
            assert_eq!(format_acs_date(at(secs)), acs);
            assert_eq!(format_sdk_date(at(secs)), sdk);
            assert_eq!(parse_sdk_date(sdk), Some(at(secs)), "{sdk}");
        }
        // Sub-second parts are dropped, rounding down, also before 1970.
        assert_eq!(format_sdk_date(at(1_704_067_199) + Duration::from_millis(999)), "20231231T235959Z");
        assert_eq!(format_sdk_date(UNIX_EPOCH - Duration::from_millis(1)), "19691231T235959Z");
        // Beyond jiff's range (about 11 500 CE): the last representable instant.
        assert_eq!(format_acs_date(at(300_000_000_000)), "9999-12-30T22:00:00Z");
    }

    #[test]
    fn parse_sdk_date_accepts_only_the_exact_layout() {
        for bad in [
            "",
            "20230229T000000Z",
            "21000229T000000Z",
            "20241301T000000Z",
            "20240001T000000Z",
            "20240100T000000Z",
            "20240601T240000Z",
            "20240601T086000Z",
            "20240601T080060Z",
            "2024061T080000Z",
            "+20240601T080000Z",
            " 20240601T080000Z",
            "20240601T080000Z ",
            "20240601T080000z",
            "20240601t080000Z",
            "20240601T080000",
            "2024-06-01T08:00:00Z",
        ] {
            assert_eq!(parse_sdk_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn header_lookup_is_case_insensitive_and_takes_the_first() {
        let headers = vec![("Host".to_owned(), "a".to_owned()), ("host".to_owned(), "b".to_owned())];
        assert_eq!(header(&headers, "HOST"), Some("a"));
        assert_eq!(header(&headers, "x-other"), None);
    }

    #[test]
    fn authorization_fields() {
        let auth =
            parse_authorization("  ALG  Signature=0aFF, Key=ak1,SignedHeaders = host;x-a ,Other=1", "ALG", "Key")
                .expect("parses");
        assert_eq!((auth.access_key, auth.signed_headers, auth.signature), ("ak1", "host;x-a", vec![0x0a, 0xff]));
        for bad in [
            "ALG Key=ak,SignedHeaders=host",
            "ALGKey=ak,SignedHeaders=host,Signature=00",
            "OTHER Key=ak,SignedHeaders=host,Signature=00",
            "ALG Key=,SignedHeaders=host,Signature=00",
            "ALG Key=ak,SignedHeaders=,Signature=00",
            "ALG Key=ak,SignedHeaders=host,Signature=0g",
            "ALG Key=ak,Key=ak,SignedHeaders=host,Signature=00",
            "ALG Key=ak,SignedHeaders=host,Signature=00,junk",
            "ALG Access=ak,SignedHeaders=host,Signature=00",
        ] {
            assert!(parse_authorization(bad, "ALG", "Key").is_none(), "{bad}");
        }
    }
}
