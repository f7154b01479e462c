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

/// Where to read `want` rows from listing row `row` in one vendor call when
/// one can. DataArts takes any `limit` from 1 to 100 on each request, and
/// only offsets that are multiples of it (2.10), so the rows
/// `[row, row + want)` come in one call exactly when they lie inside one
/// block `[k·l, (k+1)·l)`: the smallest such limit from `want` up. Reading
/// with the page size alone, every page of the jobs that follow a page
/// straddling the scripts/jobs boundary starts mid-page and costs two
/// vendor calls (310 files by 11: 43 calls for 29 pages). When no limit up
/// to 100 fits (a page of 100 that does not start on a multiple of 100),
/// two calls it is.
pub(super) fn one_call(row: u64, want: u32) -> Pos {
    let want = want.clamp(1, VENDOR_MAX_LIMIT);
    let last = row + u64::from(want) - 1;
    (want..=VENDOR_MAX_LIMIT)
        .find(|l| row / u64::from(*l) == last / u64::from(*l))
        .map_or_else(|| Pos::at_row(row, want), |l| Pos::at_row(row, l))
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

    #[test]
    fn a_page_starting_anywhere_is_one_aligned_vendor_page_when_a_limit_fits() {
        for want in [1u32, 2, 7, 11, 20, 50] {
            for row in 0..1000u64 {
                let p = one_call(row, want);
                assert!(p.valid(VENDOR_MAX_LIMIT), "{p:?}");
                assert_eq!(p.row(), row);
                assert!(p.s + want <= p.l, "rows {row}..+{want} in one vendor page: {p:?}");
            }
        }
        assert_eq!(one_call(5, 11), Pos { o: 0, s: 5, l: 16 });
        assert_eq!(one_call(22, 11), Pos { o: 22, s: 0, l: 11 });
        // A page of 100 off a multiple of 100 cannot be one call.
        assert_eq!(one_call(150, 100), Pos { o: 100, s: 50, l: 100 });
    }
}
