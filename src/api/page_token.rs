//! Opaque, integrity-checked page tokens (AIP-158).
//!
//! A token binds the adapter's cursor to the method, the parent and a hash
//! of the request's filters, and is sealed with HMAC-SHA256. A token that is
//! malformed, altered, or reused with other filters is INVALID_ARGUMENT.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::Error;

const MAC_LEN: usize = 16;

/// Seals and opens page tokens with one key.
#[derive(Clone)]
pub struct PageTokens {
    key: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct Payload {
    m: String,
    p: String,
    f: String,
    c: String,
}

impl PageTokens {
    /// Uses `key` (any length) for the MAC.
    pub(crate) fn new(key: &[u8]) -> Self {
        PageTokens { key: key.to_vec() }
    }

    /// A random key: tokens then live as long as the process.
    pub fn random() -> Self {
        Self::new(&rand::random::<[u8; 32]>())
    }

    fn mac(&self, data: &[u8]) -> Vec<u8> {
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key).expect("any key length");
        m.update(data);
        m.finalize().into_bytes()[..MAC_LEN].to_vec()
    }

    /// Seals `cursor` for a request of `method` on `parent` with `filters`.
    pub(crate) fn seal(&self, method: &str, parent: &str, filters: &[u8], cursor: &str) -> String {
        let p = Payload { m: method.into(), p: parent.into(), f: filter_hash(filters), c: cursor.into() };
        let mut bytes = serde_json::to_vec(&p).expect("plain struct");
        let mac = self.mac(&bytes);
        bytes.extend_from_slice(&mac);
        B64.encode(bytes)
    }

    /// Opens a token; None for an empty token (first page).
    pub(crate) fn open(
        &self,
        token: &str,
        method: &str,
        parent: &str,
        filters: &[u8],
    ) -> Result<Option<String>, Error> {
        if token.is_empty() {
            return Ok(None);
        }
        let bad = |why: &str| Error::invalid("page_token", why);
        if token.len() > 4096 {
            return Err(bad("is too long to be a page token from this gateway"));
        }
        let raw = B64.decode(token).map_err(|_| bad("is malformed"))?;
        if raw.len() <= MAC_LEN {
            return Err(bad("is malformed"));
        }
        let (body, mac) = raw.split_at(raw.len() - MAC_LEN);
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key).expect("any key length");
        m.update(body);
        m.verify_truncated_left(mac)
            .map_err(|_| bad("failed its integrity check (altered, or from another gateway)"))?;
        let p: Payload = serde_json::from_slice(body).map_err(|_| bad("is malformed"))?;
        if p.m != method || p.p != parent {
            return Err(bad("belongs to another method or parent"));
        }
        if p.f != filter_hash(filters) {
            return Err(bad("was issued for different filters; start again without a page_token"));
        }
        Ok(Some(p.c))
    }
}

fn filter_hash(filters: &[u8]) -> String {
    hex::encode(&Sha256::digest(filters)[..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejections() {
        let t = PageTokens::new(b"k");
        let tok = t.seal("ListFiles", "workspaces/a", b"f1", "offset=20");
        assert_eq!(t.open(&tok, "ListFiles", "workspaces/a", b"f1").unwrap().as_deref(), Some("offset=20"));
        assert!(t.open(&tok, "ListFiles", "workspaces/a", b"f2").is_err());
        assert!(t.open(&tok, "ListFiles", "workspaces/b", b"f1").is_err());
        assert!(PageTokens::new(b"other").open(&tok, "ListFiles", "workspaces/a", b"f1").is_err());
        let mut raw = B64.decode(&tok).unwrap();
        raw[3] ^= 1;
        assert!(t.open(&B64.encode(raw), "ListFiles", "workspaces/a", b"f1").is_err());
        assert!(t.open("!!", "ListFiles", "workspaces/a", b"f1").is_err());
        assert_eq!(t.open("", "ListFiles", "workspaces/a", b"f1").unwrap(), None);
    }

    proptest::proptest! {
        /// A sealed token opens to its cursor for the same request only; any
        /// other text is refused as INVALID_ARGUMENT, never a panic.
        #[test]
        fn prop_tokens_round_trip_and_anything_else_is_refused(
            method in ".{0,20}", parent in ".{0,40}", filters in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
            cursor in ".{0,80}", junk in ".{1,200}", flip in 0usize..1000,
        ) {
            let t = PageTokens::new(b"k");
            let token = t.seal(&method, &parent, &filters, &cursor);
            proptest::prop_assert_eq!(t.open(&token, &method, &parent, &filters).unwrap(), Some(cursor.clone()));
            let mut other_filters = filters.clone();
            other_filters.push(1);
            proptest::prop_assert!(t.open(&token, &method, &parent, &other_filters).is_err());
            proptest::prop_assert!(PageTokens::new(b"other").open(&token, &method, &parent, &filters).is_err());
            let mut altered = token.clone().into_bytes();
            let i = flip % altered.len();
            altered[i] = if altered[i] == b'A' { b'B' } else { b'A' };
            if let Ok(altered) = String::from_utf8(altered) && altered != token {
                proptest::prop_assert!(t.open(&altered, &method, &parent, &filters).is_err());
            }
            if let Err(e) = t.open(&junk, &method, &parent, &filters) {
                proptest::prop_assert_eq!(e.code, tonic::Code::InvalidArgument);
            }
        }
    }
}
