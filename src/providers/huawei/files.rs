//! Scripts and jobs as neutral files: one listing over the two v2 lists
//! (scripts first, then jobs, behind one cursor with per-kind offsets),
//! v1 detail reads, and script versions read one by one.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{
    HuaweiAdapter,
    api::Api,
    client::{Req, Service, listed, parse_json, seg, typed},
    cursor::{self, MAX_SCAN_CALLS, Pos, VENDOR_MAX_LIMIT},
    map::{self, FileRef},
    wire::{self, Row},
};
use crate::{
    domain::{CallCtx, Error, FileQuery, Page, PageReq, Reason, Result, UserKey, Violation},
    pb,
};

/// Job types DataArts knows; every other file type is a script type.
const JOB_TYPES: [&str; 2] = ["BATCH", "REAL_TIME"];
/// Most v2 list pages read to find one file's row by name.
const MAX_LOOKUP_PAGES: u32 = 10;
/// Most rows the v1 script list reaches ("at most 1000 returned per query", 2.8).
const V1_LIST_MAX: i64 = 1000;

/// Where a file listing stands: the kind being read, its position, and the
/// totals seen so far (so each page reports scripts + jobs).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct FilesCursor {
    /// 0 scripts, 1 jobs.
    k: u8,
    /// Position in that kind's listing.
    p: Pos,
    /// Scripts total.
    st: Option<i64>,
    /// Jobs total.
    jt: Option<i64>,
}

/// Where a script's version listing stands: the next (highest) version to
/// show and the latest version when the listing started.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct VersionsCursor {
    /// Next version to show.
    v: i64,
    /// Latest version (the listing's total).
    n: i64,
}

/// A ListFiles request turned into vendor parameters and a gateway filter.
struct Plan<'q> {
    q: &'q FileQuery,
    scripts: bool,
    jobs: bool,
    name: Option<String>,
    job_type: Option<&'static str>,
    script_types: Vec<String>,
    job_types: Vec<&'static str>,
    ids: Vec<FileRef>,
    /// Whether the gateway drops rows (so vendor pages should be large).
    local: bool,
}

fn contains_ci(hay: &str, needle: &str) -> bool {
    hay.to_lowercase().contains(&needle.to_lowercase())
}

/// `dir` is `folder` or below it.
fn in_folder(dir: &str, folder: &str) -> bool {
    let f = folder.trim_end_matches('/');
    if f.is_empty() {
        return true;
    }
    let d = dir.trim_end_matches('/');
    d == f || d.strip_prefix(f).is_some_and(|rest| rest.starts_with('/'))
}

fn by_name<'a>(field: &str, u: Option<&'a UserKey>) -> Result<Option<&'a str>> {
    match u {
        None => Ok(None),
        Some(UserKey::Name(n)) => Ok(Some(n)),
        Some(UserKey::Id(_)) => {
            Err(Error::invalid(format!("{field}.id"), "DataArts reports users by name only: filter by display_name"))
        }
    }
}

impl<'q> Plan<'q> {
    fn new(q: &'q FileQuery) -> Result<Plan<'q>> {
        let mut bad = Vec::new();
        for (set, field) in [
            (q.use_type.is_some(), "use_type"),
            (q.node_id.is_some(), "node_id"),
            (q.commit_status.is_some(), "commit_status"),
        ] {
            if set {
                bad.push(Violation { field: field.into(), description: "not available on DataArts".into() });
            }
        }
        let mut ids = Vec::new();
        for (i, id) in q.file_ids.iter().enumerate() {
            match FileRef::parse(id) {
                Some(f) => ids.push(f),
                None => bad.push(Violation {
                    field: format!("file_ids[{i}]"),
                    description: "DataArts file ids are script:{name} or job:{name}".into(),
                }),
            }
        }
        if !bad.is_empty() {
            return Err(Error::invalid_all(bad));
        }
        by_name("owner", q.owner.as_ref())?;
        let last_editor = by_name("last_editor", q.last_editor.as_ref())?;
        let mut script_types = Vec::new();
        let mut job_types = Vec::new();
        for t in &q.file_types {
            match JOB_TYPES.iter().find(|j| j.eq_ignore_ascii_case(t)) {
                Some(j) => job_types.push(*j),
                None => script_types.push(t.clone()),
            }
        }
        let types = !q.file_types.is_empty();
        let scripts = (!types || !script_types.is_empty())
            && (ids.is_empty() || ids.iter().any(|f| matches!(f, FileRef::Script(_))))
            && last_editor.is_none();
        let jobs =
            (!types || !job_types.is_empty()) && (ids.is_empty() || ids.iter().any(|f| matches!(f, FileRef::Job(_))));
        let local = q.folder_path.is_some()
            || q.exact_name.is_some()
            || types
            || q.owner.is_some()
            || !ids.is_empty()
            || q.last_editor.is_some();
        Ok(Plan {
            q,
            scripts,
            jobs,
            name: q.exact_name.clone().or_else(|| q.keyword.clone()),
            job_type: if job_types.len() == 1 { Some(job_types[0]) } else { None },
            script_types,
            job_types,
            ids,
            local,
        })
    }

    fn common(&self, name: &str, folder: &str, owner: &str) -> bool {
        let q = self.q;
        q.keyword.as_deref().is_none_or(|k| contains_ci(name, k))
            && q.exact_name.as_deref().is_none_or(|e| e == name)
            && q.folder_path.as_deref().is_none_or(|f| in_folder(folder, f))
            && by_name("owner", q.owner.as_ref()).ok().flatten().is_none_or(|o| o == owner)
    }

    fn keep_script(&self, s: &wire::ScriptRow) -> bool {
        self.common(&s.name, &s.directory, &s.owner)
            && (self.q.file_types.is_empty() || self.script_types.iter().any(|t| t.eq_ignore_ascii_case(&s.kind)))
            && (self.ids.is_empty() || self.ids.iter().any(|f| matches!(f, FileRef::Script(n) if *n == s.name)))
    }

    fn keep_job(&self, j: &wire::JobRow) -> bool {
        self.common(&j.name, &j.path, &j.owner)
            && (self.q.file_types.is_empty() || self.job_types.iter().any(|t| t.eq_ignore_ascii_case(&j.job_type)))
            && (self.ids.is_empty() || self.ids.iter().any(|f| matches!(f, FileRef::Job(n) if *n == j.name)))
            && by_name("last_editor", self.q.last_editor.as_ref())
                .ok()
                .flatten()
                .is_none_or(|e| e == j.last_update_user)
    }
}

/// Rows of a list page (with their raw JSON when asked for) and the total.
type RowPage<T> = (wire::Rows<T>, i64);

impl HuaweiAdapter {
    async fn script_page(
        &self,
        ctx: &CallCtx,
        name: Option<&str>,
        o: u32,
        l: u32,
        full: bool,
    ) -> Result<RowPage<wire::ScriptRow>> {
        let req = Req::get(Service::Factory, format!("/v2/{}/factory/scripts", self.client.project()))
            .query("limit", l)
            .query("offset", o)
            .query_opt("script_name", name);
        let answer = self.client.call(ctx, Api::ScriptsList, req).await?;
        listed(&answer, wire::RowsKey::Scripts, o, full)
    }

    async fn job_page(
        &self,
        ctx: &CallCtx,
        name: Option<&str>,
        job_type: Option<&str>,
        o: u32,
        l: u32,
        full: bool,
    ) -> Result<RowPage<wire::JobRow>> {
        let req = Req::get(Service::Factory, format!("/v2/{}/factory/jobs", self.client.project()))
            .query("limit", l)
            .query("offset", o)
            .query_opt("job_name", name)
            .query_opt("job_type", job_type);
        let answer = self.client.call(ctx, Api::JobsList, req).await?;
        listed(&answer, wire::RowsKey::Jobs, o, full)
    }

    /// v1 show script (`?version=N`, or the production version).
    async fn show_script(
        &self,
        ctx: &CallCtx,
        name: &str,
        version: Option<i64>,
        published: bool,
    ) -> Result<(wire::ScriptDetail, Value)> {
        let req = Req::get(Service::Dlf, format!("/v1/{}/scripts/{}", self.client.project(), seg(name)))
            .query_opt("version", version)
            .query_opt("status", published.then_some("PUBLISHED"));
        let answer = self.client.call(ctx, Api::ScriptsShow, req).await?;
        let raw: Value = parse_json(&answer)?;
        Ok((typed(&answer, &raw)?, raw))
    }

    /// v1 show job: the definition and its JSON text.
    async fn show_job(&self, ctx: &CallCtx, name: &str) -> Result<(wire::JobDetail, Value, String)> {
        let req = Req::get(Service::Dlf, format!("/v1/{}/jobs/{}", self.client.project(), seg(name)));
        let answer = self.client.call(ctx, Api::JobsShow, req).await?;
        let raw: Value = parse_json(&answer)?;
        let text = String::from_utf8_lossy(&answer.body).into_owned();
        Ok((typed(&answer, &raw)?, raw, text))
    }

    /// The latest content of the scripts `names`, from v1 list pages, when
    /// that takes fewer calls than one v1 show per script: the v1 list
    /// answers each script as v1 show does, content included (2.8: "elements
    /// as Show plus content"; limit up to 100, at most 1000 rows reachable),
    /// in an order the vendor does not document, so pages are read until
    /// every name is found. `name` is the v2 listing's `script_name`
    /// filter, sent as the v1 list's `scriptName`, and `total` the v2
    /// listing's script count under it; with
    /// more than 1000 scripts, or no fewer pages than names, nothing is read.
    /// A script not found is left out (the caller shows it by itself).
    async fn script_contents(
        &self,
        ctx: &CallCtx,
        names: &[String],
        name: Option<&str>,
        total: Option<i64>,
    ) -> Result<HashMap<String, String>> {
        let mut out = HashMap::with_capacity(names.len());
        let Some(total) = total.filter(|t| (1..=V1_LIST_MAX).contains(t)) else { return Ok(out) };
        let pages = u32::try_from(total).unwrap_or(u32::MAX).div_ceil(VENDOR_MAX_LIMIT);
        if names.len() <= pages as usize {
            return Ok(out);
        }
        for page in 0..pages {
            let offset = page * VENDOR_MAX_LIMIT;
            let req = Req::get(Service::Dlf, format!("/v1/{}/scripts", self.client.project()))
                .query("limit", VENDOR_MAX_LIMIT)
                .query("offset", offset)
                .query_opt("scriptName", name);
            let answer = self.client.call(ctx, Api::ScriptsListV1, req).await?;
            let (rows, _) = listed::<wire::ScriptDetail>(&answer, wire::RowsKey::Scripts, offset, false)?;
            let n = rows.len();
            for Row(d, _) in rows {
                if names.contains(&d.name) {
                    out.insert(d.name, d.content);
                }
            }
            if out.len() == names.len() || n < VENDOR_MAX_LIMIT as usize {
                break;
            }
        }
        Ok(out)
    }

    /// The v2 row of the script named exactly `name` (with its raw JSON when `full`).
    async fn script_row(&self, ctx: &CallCtx, name: &str, full: bool) -> Result<Option<Row<wire::ScriptRow>>> {
        for page in 0..MAX_LOOKUP_PAGES {
            let o = page * VENDOR_MAX_LIMIT;
            let (rows, total) = self.script_page(ctx, Some(name), o, VENDOR_MAX_LIMIT, full).await?;
            let n = rows.len();
            if let Some(r) = rows.into_iter().find(|Row(r, _)| r.name == name) {
                return Ok(Some(r));
            }
            if n < VENDOR_MAX_LIMIT as usize || i64::from(o + VENDOR_MAX_LIMIT) >= total {
                break;
            }
        }
        Ok(None)
    }

    /// The v2 row of the job named exactly `name` (with its raw JSON when `full`).
    async fn job_row(&self, ctx: &CallCtx, name: &str, full: bool) -> Result<Option<Row<wire::JobRow>>> {
        for page in 0..MAX_LOOKUP_PAGES {
            let o = page * VENDOR_MAX_LIMIT;
            let (rows, total) = self.job_page(ctx, Some(name), None, o, VENDOR_MAX_LIMIT, full).await?;
            let n = rows.len();
            if let Some(r) = rows.into_iter().find(|Row(r, _)| r.name == name) {
                return Ok(Some(r));
            }
            if n < VENDOR_MAX_LIMIT as usize || i64::from(o + VENDOR_MAX_LIMIT) >= total {
                break;
            }
        }
        Ok(None)
    }

    pub(super) async fn files(&self, ctx: &CallCtx, q: FileQuery) -> Result<Page<pb::File>> {
        let plan = Plan::new(&q)?;
        if !plan.scripts && !plan.jobs {
            return Ok(Page { items: Vec::new(), next: None, total: 0 });
        }
        let size = q.page.size as usize;
        let l = if plan.local { VENDOR_MAX_LIMIT } else { q.page.size };
        let valid = |c: &FilesCursor| c.k <= 1 && c.p.valid(VENDOR_MAX_LIMIT);
        let cur = match &q.page.cursor {
            Some(c) => cursor::decode(c, valid)?,
            None => FilesCursor { k: u8::from(!plan.scripts), p: Pos::start(l), st: None, jt: None },
        };
        let (mut st, mut jt) = (cur.st, cur.jt);
        if !plan.scripts {
            st = Some(0);
        }
        if !plan.jobs {
            jt = Some(0);
        }
        let name = plan.name.as_deref();
        let mut items = Vec::with_capacity(size);
        let mut calls = 0;
        let mut next: Option<(u8, Pos)> = None;
        let (mut kind, mut pos) = (cur.k, cur.p);
        // Unfiltered, the page's rows are known in advance: read them in
        // one vendor call where a limit allows (see `cursor::one_call`).
        let aligned = |pos: Pos, want: usize| {
            if plan.local { pos } else { cursor::one_call(pos.row(), u32::try_from(want).unwrap_or(u32::MAX)) }
        };
        if kind == 0 {
            pos = aligned(pos, size);
            let fetch = |o, l| self.script_page(ctx, name, o, l, q.full);
            let s = cursor::scan(pos, size, MAX_SCAN_CALLS, fetch, |Row(r, _)| plan.keep_script(r)).await?;
            calls += s.calls;
            st = s.total.or(st);
            items.extend(s.items.into_iter().map(|Row(r, raw)| map::script_file(ctx, r, raw.as_deref(), q.full)));
            match s.next {
                Some(p) => next = Some((0, p)),
                None if plan.jobs => {
                    (kind, pos) = (1, Pos::start(l));
                    next = Some((1, pos));
                }
                None => {}
            }
        }
        if kind == 1 && items.len() < size && calls < MAX_SCAN_CALLS {
            pos = aligned(pos, size - items.len());
            let fetch = |o, l| self.job_page(ctx, name, plan.job_type, o, l, q.full);
            let s = cursor::scan(pos, size - items.len(), MAX_SCAN_CALLS - calls, fetch, |Row(r, _)| plan.keep_job(r))
                .await?;
            jt = s.total.or(jt);
            items.extend(s.items.into_iter().map(|Row(r, raw)| map::job_file(ctx, r, raw.as_deref(), q.full)));
            next = s.next.map(|p| (1, p));
        }
        if jt.is_none() {
            // The page ended among the scripts: one small call for the jobs total.
            jt = Some(self.job_page(ctx, name, plan.job_type, 0, 1, false).await?.1);
        }
        if next.is_some_and(|(k, p)| k == 1 && p == Pos::start(p.l)) && jt == Some(0) {
            next = None;
        }
        if q.include_content {
            let id = |f: &pb::File| FileRef::parse(f.name.rsplit_once("/files/").map(|(_, id)| id).unwrap_or_default());
            let scripts: Vec<String> = items
                .iter()
                .filter_map(|f| match id(f) {
                    Some(FileRef::Script(n)) => Some(n),
                    Some(FileRef::Job(_) | FileRef::Resource(_)) | None => None,
                })
                .collect();
            let mut listed = self.script_contents(ctx, &scripts, name, st).await?;
            for f in &mut items {
                f.content = match id(f) {
                    Some(FileRef::Script(n)) => match listed.remove(&n) {
                        Some(content) => content,
                        None => self.show_script(ctx, &n, None, false).await?.0.content,
                    },
                    Some(FileRef::Job(n)) => self.show_job(ctx, &n).await?.2,
                    _ => String::new(),
                };
            }
        }
        Ok(Page {
            items,
            next: next.map(|(k, p)| cursor::encode(&FilesCursor { k, p, st, jt })),
            total: st.unwrap_or_default() + jt.unwrap_or_default(),
        })
    }

    pub(super) async fn file(&self, ctx: &CallCtx, id: &str, full: bool) -> Result<pb::File> {
        match FileRef::parse(id) {
            Some(FileRef::Script(name)) => {
                let (detail, raw_detail) = self.show_script(ctx, &name, None, false).await?;
                let row = self.script_row(ctx, &name, full).await?;
                let (row, raw_row) = row.map_or((None, None), |Row(r, raw)| (Some(r), raw));
                let mut f = match row {
                    Some(r) => map::script_file(ctx, r, None, false),
                    None => pb::File {
                        name: ctx.name("files", FileRef::Script(name.clone()).id()),
                        vendor: pb::Vendor::HuaweiDataarts as i32,
                        display_name: name.clone(),
                        kind: pb::FileKind::Script as i32,
                        file_type: detail.kind.clone(),
                        folder_path: detail.directory.clone(),
                        description: detail.description.clone(),
                        connection_name: detail.connection_name.clone(),
                        ..Default::default()
                    },
                };
                f.content = detail.content;
                if full {
                    let raw_row = raw_row.and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok());
                    f.vendor_record =
                        Some(crate::domain::time::json_to_struct(&json!({"detail": raw_detail, "row": raw_row})));
                }
                Ok(f)
            }
            Some(FileRef::Job(name)) => {
                let (detail, raw_detail, text) = self.show_job(ctx, &name).await?;
                let row = self.job_row(ctx, &name, full).await?;
                let (row, raw_row) = row.map_or((None, None), |Row(r, raw)| (Some(r), raw));
                let mut f = match row {
                    Some(r) => map::job_file(ctx, r, None, false),
                    None => pb::File {
                        name: ctx.name("files", FileRef::Job(name.clone()).id()),
                        vendor: pb::Vendor::HuaweiDataarts as i32,
                        display_name: name.clone(),
                        kind: pb::FileKind::Job as i32,
                        file_type: detail.job_type.clone(),
                        folder_path: detail.directory.clone(),
                        owner: detail.basic_config.as_ref().and_then(|b| map::named(&b.owner)),
                        last_editor: map::named(&detail.last_update_user),
                        ..Default::default()
                    },
                };
                f.content = text;
                if full {
                    let raw_row = raw_row.and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok());
                    f.vendor_record =
                        Some(crate::domain::time::json_to_struct(&json!({"detail": raw_detail, "row": raw_row})));
                }
                Ok(f)
            }
            Some(FileRef::Resource(_)) => {
                Err(Error::unsupported("DataArts resources appear in release packages but are not served as files"))
            }
            None => Err(Error::invalid("name", "DataArts file ids are script:{name} or job:{name}")),
        }
    }

    /// The script's production content, None when it has never been
    /// released: the vendor answers `?status=PUBLISHED` on such a script with
    /// a "does not exist" code (`DLF.6201`, mapped to NOT_FOUND by the code
    /// table), which here means "no production version", not an error.
    async fn published(&self, ctx: &CallCtx, name: &str) -> Result<Option<String>> {
        match self.show_script(ctx, name, None, true).await {
            Ok((d, _)) => Ok(Some(d.content)),
            Err(e) if e.code == tonic::Code::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn script_name(field: &str, id: &str) -> Result<String> {
        match FileRef::parse(id) {
            Some(FileRef::Script(n)) => Ok(n),
            Some(FileRef::Job(_)) => Err(Error::unsupported(
                "DataArts Studio keeps no version history for jobs (it has no job version API); versions are \
                 available for scripts only",
            )),
            Some(FileRef::Resource(_)) => Err(Error::unsupported("DataArts resources have no versions")),
            None => Err(Error::invalid(field, "DataArts file ids are script:{name} or job:{name}")),
        }
    }

    pub(super) async fn versions(
        &self,
        ctx: &CallCtx,
        file_id: &str,
        page: PageReq,
        full: bool,
    ) -> Result<Page<pb::FileVersion>> {
        let name = Self::script_name("parent", file_id)?;
        // A script's versions are numbered 1..=its latest submitted
        // `version` (the v2 row's), and v1 show `?version=N` reads any of
        // them (2.8). The first page reads the row for that number; later
        // pages carry it in the cursor instead of reading the row again
        // (one vendor call fewer a page). Versions submitted meanwhile show
        // on a new listing, as with any cursor.
        let (start, current) = match &page.cursor {
            Some(c) => {
                let c: VersionsCursor = cursor::decode(c, |c: &VersionsCursor| (1..=c.n).contains(&c.v))?;
                (c.v, c.n)
            }
            None => {
                let Some(Row(row, _)) = self.script_row(ctx, &name, false).await? else {
                    return Err(Error::not_found(Reason::FileNotFound, ctx.name("files", file_id)));
                };
                let current = row.version.unwrap_or_default();
                if current < 1 {
                    return Ok(Page { items: Vec::new(), next: None, total: 0 });
                }
                (current, current)
            }
        };
        let lowest = (start - i64::from(page.size) + 1).max(1);
        let prod = self.published(ctx, &name).await?;
        let mut items = Vec::with_capacity((start - lowest + 1) as usize);
        for v in (lowest..=start).rev() {
            let (d, raw) = self.show_script(ctx, &name, Some(v), false).await?;
            let is_prod = prod.as_deref() == Some(d.content.as_str());
            items.push(map::script_version(ctx, &name, v, &d, is_prod, &raw, full));
        }
        let next = (lowest > 1).then(|| cursor::encode(&VersionsCursor { v: lowest - 1, n: current }));
        Ok(Page { items, next, total: current })
    }

    pub(super) async fn version(
        &self,
        ctx: &CallCtx,
        file_id: &str,
        version: i64,
        full: bool,
    ) -> Result<pb::FileVersion> {
        let name = Self::script_name("name", file_id)?;
        let (d, raw) = self.show_script(ctx, &name, Some(version), false).await?;
        let prod = self.published(ctx, &name).await?;
        let is_prod = prod.as_deref() == Some(d.content.as_str());
        Ok(map::script_version(ctx, &name, version, &d, is_prod, &raw, full))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_match_by_path_segment() {
        assert!(in_folder("/etl/daily", "/etl"));
        assert!(in_folder("/etl", "/etl/"));
        assert!(!in_folder("/etl2", "/etl"));
        assert!(in_folder("/anything", "/"));
    }

    #[test]
    fn plans_skip_kinds_that_cannot_match() {
        let q = FileQuery { file_types: vec!["batch".into()], ..Default::default() };
        let p = Plan::new(&q).unwrap();
        assert!(!p.scripts && p.jobs && p.job_type == Some("BATCH"));
        let q = FileQuery { file_ids: vec!["script:a".into()], ..Default::default() };
        let p = Plan::new(&q).unwrap();
        assert!(p.scripts && !p.jobs && p.local);
        let q = FileQuery { owner: Some(UserKey::Id("u1".into())), ..Default::default() };
        assert_eq!(Plan::new(&q).err().map(|e| e.violations[0].field.clone()).as_deref(), Some("owner.id"));
        let q = FileQuery { file_ids: vec!["17".into()], ..Default::default() };
        assert_eq!(Plan::new(&q).err().map(|e| e.violations[0].field.clone()).as_deref(), Some("file_ids[0]"));
    }
}
