//! Page cursors over DataArts `offset`/`limit` listings (read with the
//! shared [`paging`](crate::providers::paging) scanner).
//!
//! The vendor only ever sees offsets that are multiples of the limit
//! (vendor-apis.md 2.10): a cursor is (vendor offset, rows of that vendor
//! page already returned, vendor limit), so a neutral page may start in the
//! middle of a vendor page without sending an odd offset.

use serde::{Serialize, de::DeserializeOwned};

use crate::domain::{Error, Result};
pub(crate) use crate::providers::paging::{MAX_SCAN_CALLS, Pos, scan};

/// The vendor's largest page.
pub(super) const VENDOR_MAX_LIMIT: u32 = 100;

/// Encodes a cursor.
pub(super) fn encode<T: Serialize>(c: &T) -> String {
    serde_json::to_string(c).unwrap_or_default()
}

/// Decodes a cursor this adapter issued.
pub(super) fn decode<T: DeserializeOwned>(s: &str, valid: impl Fn(&T) -> bool) -> Result<T> {
    serde_json::from_str::<T>(s).ok().filter(|c| valid(c)).ok_or_else(|| {
        Error::invalid("page_token", "does not hold a DataArts cursor; start again without a page_token")
    })
}

/// Decodes a plain position cursor.
pub(super) fn decode_pos(s: &str) -> Result<Pos> {
    decode(s, |p: &Pos| p.valid(VENDOR_MAX_LIMIT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_hold_offsets_that_are_multiples_of_the_limit() {
        assert!(decode_pos(&encode(&Pos { o: 15, s: 0, l: 10 })).is_err());
        assert!(decode_pos(&encode(&Pos { o: 0, s: 0, l: 101 })).is_err());
        assert_eq!(decode_pos(&encode(&Pos { o: 20, s: 3, l: 10 })).unwrap(), Pos { o: 20, s: 3, l: 10 });
    }
}
