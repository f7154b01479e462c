//! Paged DataWorks listings: a window of PageNumber/PageSize vendor pages
//! from any row offset (the page cursor), filtered in the gateway when the
//! vendor cannot filter, scanning a bounded number of vendor pages.

use super::{Project, api::Api, client::Reply, wire::Listed};
use crate::{
    domain::{CallCtx, Error, Page, PageReq, Result},
    providers::paging::{MAX_SCAN_CALLS, Pos, Window},
};

/// Page size used when the gateway scans.
const SCAN_PAGE: u32 = 100;

/// The row offset a page cursor stands for.
fn offset(cursor: &Option<String>) -> Result<u64> {
    match cursor {
        None => Ok(0),
        Some(c) => c.parse::<u64>().map_err(|_| Error::invalid("page_token", "is malformed")),
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

/// A neutral page being filled from DataWorks pages: the shared
/// [`Window`] and the rows kept so far.
pub(crate) struct Scan<T> {
    window: Window,
    items: Vec<T>,
}

impl<T> Scan<T> {
    /// Takes one vendor page: skips the rows before the cursor, then keeps
    /// what `keep` maps (None drops a row) until the page is full.
    pub(crate) fn feed<L: Listed>(
        &mut self,
        reply: &Reply,
        page: L,
        mut keep: impl FnMut(L::Row) -> Option<T>,
    ) -> Result<()> {
        let (pos, _) = self.window.request().unwrap_or_default();
        let (rows, total) = rows(reply, page, i64::from(pos))?;
        let items = &mut self.items;
        self.window.feed(rows, total, |row| match keep(row) {
            Some(t) => {
                items.push(t);
                true
            }
            None => false,
        });
        Ok(())
    }
}

impl Project {
    /// Pages through the listing `action` (with `base` parameters) from the
    /// cursor's row: `read` parses each vendor page and feeds it to the
    /// [`Scan`]. `filtered` says `read` drops rows (the gateway filters):
    /// then large vendor pages are read, at most `MAX_SCAN_CALLS` of them.
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
        let page_size =
            if filtered || start % u64::from(page.size) != 0 { SCAN_PAGE.max(page.size) } else { page.size };
        let mut scan = Scan {
            window: Window::new(Pos::at_row(start, page_size), page.size as usize, MAX_SCAN_CALLS),
            // Sized once (a caller's page size, at most 100).
            items: Vec::with_capacity(page.size as usize),
        };
        while let Some((o, l)) = scan.window.request() {
            let mut params = base.to_vec();
            params.push(("PageNumber", (o / l + 1).to_string()));
            params.push(("PageSize", l.to_string()));
            let reply = self.call(ctx, action, params).await?;
            read(&reply, &mut scan)?;
        }
        let next = scan.window.next().map(|p| p.row().to_string());
        Ok(Page { items: scan.items, next, total: scan.window.total().unwrap_or_default() })
    }
}
