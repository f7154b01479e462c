//! Page cursors over DataArts `offset`/`limit` listings, and the scan that
//! fills a neutral page from vendor pages, filtering in the gateway where
//! the vendor cannot.
//!
//! The vendor only ever sees offsets that are multiples of the limit
//! (vendor-apis.md 2.10): a cursor is (vendor offset, rows of that vendor
//! page already returned, vendor limit), so a neutral page may start in the
//! middle of a vendor page without sending an odd offset.

use std::future::Future;

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::domain::{Error, Result};

/// Most vendor pages one neutral page may scan when the gateway filters;
/// past it the page is returned short, with a cursor to continue.
pub const MAX_SCAN_CALLS: u32 = 10;
/// The vendor's largest page.
pub const VENDOR_MAX_LIMIT: u32 = 100;

/// A position in one vendor listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pos {
    /// Vendor offset (a multiple of `l`).
    pub o: u32,
    /// Rows of that vendor page already consumed.
    pub s: u32,
    /// Vendor limit.
    pub l: u32,
}

impl Pos {
    /// The start of a listing read `l` rows at a time.
    pub fn start(l: u32) -> Pos {
        Pos { o: 0, s: 0, l: l.clamp(1, VENDOR_MAX_LIMIT) }
    }

    /// Whether this adapter could have issued it.
    pub fn valid(&self) -> bool {
        (1..=VENDOR_MAX_LIMIT).contains(&self.l) && self.o.is_multiple_of(self.l) && self.s < self.l
    }
}

/// Encodes a cursor.
pub fn encode<T: Serialize>(c: &T) -> String {
    serde_json::to_string(c).unwrap_or_default()
}

/// Decodes a cursor this adapter issued.
pub fn decode<T: DeserializeOwned>(s: &str, valid: impl Fn(&T) -> bool) -> Result<T> {
    serde_json::from_str::<T>(s).ok().filter(|c| valid(c)).ok_or_else(|| {
        Error::invalid("page_token", "does not hold a DataArts cursor; start again without a page_token")
    })
}

/// Decodes a plain position cursor.
pub fn decode_pos(s: &str) -> Result<Pos> {
    decode(s, Pos::valid)
}

/// What a scan found.
#[derive(Debug)]
pub struct Scanned<T> {
    /// Rows kept, at most the number wanted.
    pub items: Vec<T>,
    /// Where to continue; None when the listing is exhausted.
    pub next: Option<Pos>,
    /// The vendor's total (before gateway filtering), when a page was read.
    pub total: Option<i64>,
    /// Vendor calls made.
    pub calls: u32,
}

/// Reads vendor pages from `start` with `fetch(offset, limit) → (rows,
/// total)`, keeping rows that pass `keep`, until `want` rows are kept, the
/// listing ends, or `max_calls` vendor pages were read.
pub async fn scan<T, F, Fut>(
    start: Pos,
    want: usize,
    max_calls: u32,
    mut fetch: F,
    keep: impl Fn(&T) -> bool,
) -> Result<Scanned<T>>
where
    F: FnMut(u32, u32) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, i64)>>,
{
    let mut out = Scanned { items: Vec::new(), next: Some(start), total: None, calls: 0 };
    let mut pos = start;
    while out.items.len() < want {
        if out.calls >= max_calls {
            out.next = Some(pos);
            return Ok(out);
        }
        let (rows, total) = fetch(pos.o, pos.l).await?;
        out.calls += 1;
        out.total = Some(total);
        let n = rows.len();
        let page_end = i64::from(pos.o) + i64::from(pos.l);
        let more_pages = n >= pos.l as usize && page_end < total;
        let following = more_pages.then(|| Pos { o: pos.o + pos.l, s: 0, l: pos.l });
        for (i, row) in rows.into_iter().enumerate().skip(pos.s as usize) {
            if keep(&row) {
                out.items.push(row);
                if out.items.len() == want {
                    out.next = if i + 1 < n { Some(Pos { s: (i + 1) as u32, ..pos }) } else { following };
                    return Ok(out);
                }
            }
        }
        match following {
            Some(p) => pos = p,
            None => {
                out.next = None;
                return Ok(out);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn run(data: &[u32], start: Pos, want: usize, keep: fn(&u32) -> bool) -> (Vec<u32>, Option<Pos>, u32) {
        let total = data.len() as i64;
        let s = scan(
            start,
            want,
            MAX_SCAN_CALLS,
            |o, l| {
                let rows: Vec<u32> = data.iter().skip(o as usize).take(l as usize).copied().collect();
                async move { Ok((rows, total)) }
            },
            keep,
        )
        .await
        .unwrap();
        (s.items, s.next, s.calls)
    }

    #[tokio::test]
    async fn pages_without_gaps_or_duplicates_for_sizes_1_2_3() {
        let data: Vec<u32> = (0..23).collect();
        for l in [1, 2, 3, 7] {
            for want in [1, 2, 3, 5] {
                let (mut seen, mut pos) = (Vec::new(), Some(Pos::start(l)));
                while let Some(p) = pos {
                    let (items, next, _) = run(&data, p, want, |x| x % 3 != 0).await;
                    assert!(items.len() <= want);
                    seen.extend(items);
                    pos = next;
                }
                let expect: Vec<u32> = data.iter().copied().filter(|x| x % 3 != 0).collect();
                assert_eq!(seen, expect, "vendor limit {l}, page {want}");
            }
        }
    }

    #[tokio::test]
    async fn offsets_are_multiples_of_the_limit_and_scans_are_capped() {
        let data: Vec<u32> = (0..5000).collect();
        let (items, next, calls) = run(&data, Pos::start(10), 5, |x| *x > 4000).await;
        assert!(items.is_empty());
        assert_eq!((next, calls), (Some(Pos { o: 100, s: 0, l: 10 }), MAX_SCAN_CALLS));
        assert!(decode_pos(&encode(&Pos { o: 15, s: 0, l: 10 })).is_err());
        assert_eq!(decode_pos(&encode(&Pos { o: 20, s: 3, l: 10 })).unwrap(), Pos { o: 20, s: 3, l: 10 });
    }
}
