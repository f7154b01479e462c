//! Paged DataWorks listings: a window of PageNumber/PageSize vendor pages
//! from any row offset (the page cursor), filtered in the gateway when the
//! vendor cannot filter, scanning a bounded number of vendor pages.

use super::{Project, api::Api, client::Reply, wire::Listed};
use crate::domain::{CallCtx, Error, Page, PageReq, Result};

/// Vendor pages scanned per call when the gateway filters (then a partial
/// page and a token are returned rather than running into the deadline).
const MAX_SCAN_PAGES: u32 = 10;
/// Page size used when the gateway scans.
const SCAN_PAGE: i64 = 100;

/// The row offset a page cursor stands for.
fn offset(cursor: &Option<String>) -> Result<i64> {
    match cursor {
        None => Ok(0),
        Some(c) => {
            c.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| Error::invalid("page_token", "is malformed"))
        }
    }
}

/// A list page's rows and TotalCount, for a page starting at vendor row
/// `pos`. The vendor may leave an empty list out; a page that should have
/// rows must have them.
pub(crate) fn rows<L: Listed>(reply: &Reply, page: L, pos: i64) -> Result<(Vec<L::Row>, i64)> {
    match page.split() {
        (Some(rows), total) => Ok((rows, total)),
        (None, total) if pos < total => Err(reply.malformed(format_args!("no {} (TotalCount {total})", L::ROWS))),
        (None, total) => Ok((Vec::new(), total)),
    }
}

/// Where a window stands: rows kept so far, the vendor row reached, and
/// what the last vendor page said.
pub(crate) struct Scan<T> {
    items: Vec<T>,
    size: usize,
    pos: i64,
    skip: usize,
    fetched: usize,
    total: i64,
}

impl<T> Scan<T> {
    /// Takes one vendor page: skips the rows before the cursor, then keeps
    /// what `keep` maps (None drops a row) until the window is full.
    pub(crate) fn feed<L: Listed>(
        &mut self,
        reply: &Reply,
        page: L,
        mut keep: impl FnMut(L::Row) -> Option<T>,
    ) -> Result<()> {
        let (rows, total) = rows(reply, page, self.pos)?;
        self.total = total;
        self.fetched = rows.len();
        for row in rows.into_iter().skip(self.skip) {
            if self.items.len() == self.size {
                break;
            }
            self.pos += 1;
            if let Some(t) = keep(row) {
                self.items.push(t);
            }
        }
        Ok(())
    }
}

impl Project {
    /// Pages through the listing `action` (with `base` parameters) from the
    /// cursor's row: `read` parses each vendor page and feeds it to the
    /// [`Scan`]. `filtered` says `read` drops rows (the gateway filters):
    /// then large vendor pages are read, at most `MAX_SCAN_PAGES` of them.
    pub(super) async fn window<T>(
        &self,
        ctx: &CallCtx,
        action: Api,
        base: &[(&str, String)],
        page: &PageReq,
        filtered: bool,
        mut read: impl FnMut(&Reply, &mut Scan<T>) -> Result<()>,
    ) -> Result<Page<T>> {
        let start = offset(&page.cursor)?;
        let size = i64::from(page.size);
        let page_size = if filtered || start % size != 0 { SCAN_PAGE.max(size) } else { size };
        let mut scan = Scan { items: Vec::new(), size: page.size as usize, pos: start, skip: 0, fetched: 0, total: 0 };
        let mut more = true;
        for _ in 0..MAX_SCAN_PAGES {
            let mut params = base.to_vec();
            params.push(("PageNumber", (scan.pos / page_size + 1).to_string()));
            params.push(("PageSize", page_size.to_string()));
            let reply = self.call(ctx, action, params).await?;
            scan.skip = (scan.pos % page_size) as usize;
            read(&reply, &mut scan)?;
            if scan.items.len() == scan.size {
                break;
            }
            if scan.fetched < page_size as usize || scan.pos >= scan.total {
                more = false;
                break;
            }
        }
        let next = (more && scan.pos < scan.total).then(|| scan.pos.to_string());
        Ok(Page { items: scan.items, next, total: scan.total })
    }
}
