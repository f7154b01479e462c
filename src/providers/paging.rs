//! The one paging scanner of the drivers: fills a neutral page from a
//! vendor listing read in pages of `l` rows at offsets that are multiples
//! of `l` (DataWorks' PageNumber/PageSize, DataArts' offset/limit), starting
//! anywhere inside a vendor page, keeping only the rows the gateway's
//! filter passes, and reading a bounded number of vendor pages per call.

use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::domain::Result;

/// Most vendor pages one neutral page may read when the gateway filters;
/// past it the page is returned short, with a cursor to continue.
pub(crate) const MAX_SCAN_CALLS: u32 = 10;

/// A position in a vendor listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Pos {
    /// Vendor offset (a multiple of `l`).
    pub(crate) o: u32,
    /// Rows of that vendor page already consumed.
    pub(crate) s: u32,
    /// Vendor page size.
    pub(crate) l: u32,
}

impl Pos {
    /// The start of a listing read `l` rows at a time.
    pub(crate) fn start(l: u32) -> Pos {
        Pos { o: 0, s: 0, l: l.max(1) }
    }

    /// The position of listing row `row` when reading `l` rows at a time.
    pub(crate) fn at_row(row: u64, l: u32) -> Pos {
        let l = l.max(1);
        let s = (row % u64::from(l)) as u32;
        Pos { o: u32::try_from(row - u64::from(s)).unwrap_or(u32::MAX - (u32::MAX % l)), s, l }
    }

    /// The listing row this position stands at.
    pub(crate) fn row(&self) -> u64 {
        u64::from(self.o) + u64::from(self.s)
    }

    /// Whether a driver reading at most `max_l` rows a page could have issued it.
    pub(crate) fn valid(&self, max_l: u32) -> bool {
        (1..=max_l).contains(&self.l) && self.o.is_multiple_of(self.l) && self.s < self.l
    }
}

/// A neutral page being filled from vendor pages: ask it which vendor page
/// to read ([`Window::request`]), feed it what came back
/// ([`Window::feed`]), until it asks for nothing more.
#[derive(Debug)]
pub(crate) struct Window {
    pos: Pos,
    want: usize,
    kept: usize,
    calls: u32,
    max_calls: u32,
    next: Option<Pos>,
    total: Option<i64>,
    ended: bool,
}

impl Window {
    /// `want` rows from `start`, reading at most `max_calls` vendor pages.
    pub(crate) fn new(start: Pos, want: usize, max_calls: u32) -> Window {
        Window { pos: start, want, kept: 0, calls: 0, max_calls, next: Some(start), total: None, ended: want == 0 }
    }

    /// The vendor page to read next, `(offset, limit)`; None when the page
    /// is full, the listing ended or the call budget is spent.
    pub(crate) fn request(&self) -> Option<(u32, u32)> {
        (!self.ended && self.kept < self.want && self.calls < self.max_calls).then_some((self.pos.o, self.pos.l))
    }

    /// Takes the vendor page just read (`rows` in order, the listing's
    /// `total`): skips the rows before the position, then offers each row
    /// to `keep` (true = the row went into the page) until the page is full.
    pub(crate) fn feed<R>(&mut self, rows: Vec<R>, total: i64, mut keep: impl FnMut(R) -> bool) {
        self.calls += 1;
        self.total = Some(total);
        let n = rows.len();
        let pos = self.pos;
        let page_end = i64::from(pos.o) + i64::from(pos.l);
        let following = (n >= pos.l as usize && page_end < total).then(|| Pos { o: pos.o + pos.l, s: 0, l: pos.l });
        for (i, row) in rows.into_iter().enumerate().skip(pos.s as usize) {
            if keep(row) {
                self.kept += 1;
                if self.kept == self.want {
                    self.next = if i + 1 < n { Some(Pos { s: (i + 1) as u32, ..pos }) } else { following };
                    self.ended = true;
                    return;
                }
            }
        }
        match following {
            Some(p) => {
                self.pos = p;
                self.next = Some(p);
            }
            None => {
                self.next = None;
                self.ended = true;
            }
        }
    }

    /// Where the next neutral page starts; None when the listing is exhausted.
    pub(crate) fn next(&self) -> Option<Pos> {
        self.next
    }

    /// The vendor's total (before gateway filtering), once a page was read.
    pub(crate) fn total(&self) -> Option<i64> {
        self.total
    }

    /// Vendor pages read.
    pub(crate) fn calls(&self) -> u32 {
        self.calls
    }
}

/// What a scan found.
#[derive(Debug)]
pub(crate) struct Scanned<T> {
    /// Rows kept, at most the number wanted.
    pub(crate) items: Vec<T>,
    /// Where to continue; None when the listing is exhausted.
    pub(crate) next: Option<Pos>,
    /// The vendor's total (before gateway filtering), when a page was read.
    pub(crate) total: Option<i64>,
    /// Vendor calls made.
    pub(crate) calls: u32,
}

/// Reads vendor pages from `start` with `fetch(offset, limit) → (rows,
/// total)`, keeping rows that pass `keep`, until `want` rows are kept, the
/// listing ends, or `max_calls` vendor pages were read.
pub(crate) async fn scan<T, F, Fut>(
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
    let mut w = Window::new(start, want, max_calls);
    // Sized once (`want` is a caller's page size, at most 100): grown row by
    // row, a page of 100 was copied seven times.
    let mut items = Vec::with_capacity(want);
    while let Some((o, l)) = w.request() {
        let (rows, total) = fetch(o, l).await?;
        w.feed(rows, total, |r| {
            let kept = keep(&r);
            if kept {
                items.push(r);
            }
            kept
        });
    }
    Ok(Scanned { items, next: w.next(), total: w.total(), calls: w.calls() })
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
    async fn scans_are_capped_and_resume_where_they_stopped() {
        let data: Vec<u32> = (0..5000).collect();
        let (items, next, calls) = run(&data, Pos::start(10), 5, |x| *x > 4000).await;
        assert!(items.is_empty());
        assert_eq!((next, calls), (Some(Pos { o: 100, s: 0, l: 10 }), MAX_SCAN_CALLS));
    }

    #[tokio::test]
    async fn a_page_may_start_at_any_row() {
        let data: Vec<u32> = (0..50).collect();
        let start = Pos::at_row(17, 10);
        assert_eq!((start, start.row()), (Pos { o: 10, s: 7, l: 10 }, 17));
        let (items, next, calls) = run(&data, start, 5, |_| true).await;
        assert_eq!((items, next.map(|p| p.row()), calls), ((17..22).collect(), Some(22), 2));
        assert!(Pos { o: 20, s: 3, l: 10 }.valid(100) && !Pos { o: 15, s: 0, l: 10 }.valid(100));
    }
}
