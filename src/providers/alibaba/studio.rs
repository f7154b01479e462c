//! Data Studio objects as neutral files (pipeline flavour, vendor-apis.md
//! 1.12): nodes, workflow definitions (cycle and manual), resources and
//! functions are the workspace's files, named by their object id, so a
//! pipeline run's items (`files/{object id}`) resolve with GetFile. Their
//! versions are the object's `Saved` snapshots. DeployFiles creates one
//! pipeline run per object (the vendor takes one object a run) under one
//! deployment.
//!
//! | neutral | vendor calls |
//! |---|---|
//! | ListFiles | ListNodes, ListWorkflowDefinitions (Type CycleWorkflow, then ManualWorkflow), ListResources, ListFunctions, one after the other behind one cursor; the first page also reads each listing's TotalCount (PageSize 1); `include_content`: one getter per file on the page |
//! | GetFile | GetNode, GetWorkflowDefinition, GetResource, GetFunction in turn until one knows the id (an id says nothing of its kind), + ListSnapshots (`Saved`) for the current version |
//! | ListFileVersions | ListSnapshots (`Saved`, every page, sorted newest first) + ListSnapshots (`Deployed`) for the version in production + GetSnapshot per version on the page (content) |
//! | GetFileVersion | ListSnapshots (`Saved`) to find the version's snapshot, GetSnapshot, ListSnapshots (`Deployed`) |
//! | DeployFiles | the getters check every object first; then CreatePipelineRun (Online, one object) per object and its first stage |
//!
//! CancelDeployment of a deployment of several runs abolishes each run that
//! has not ended.
//!
//! A deployment of several runs is named by their run ids joined with `.`
//! (run ids never hold one), as many as fit one id; callers treat it as
//! opaque. Its state: PENDING while every run waits, RUNNING while any
//! has not ended, then FAILED if any run failed, else CANCELLED if any was
//! cancelled, else SUCCEEDED.

use std::{borrow::Cow, collections::HashSet, future::Future};

use serde::{Deserialize, Serialize};
use tonic::Code;

use super::{
    Project,
    api::Api,
    client::Reply,
    files::id_only,
    numeric,
    pipeline::run_id,
    scan,
    wire::{
        Rec,
        studio::{self as ws, FlowSpec, ObjectKind},
    },
};
use crate::{
    domain::{
        CallCtx, Capabilities, Error, FileQuery, FileTarget, Page, PageReq, Reason, Result, Unmet,
        capability::{FileFilter, Filter, Operation},
        is_terminal, target_name, time,
    },
    pb,
    providers::paging::MAX_SCAN_CALLS,
};

/// The gateway's longest resource id (a deployment id must fit it).
const MAX_ID: usize = 256;
/// Joins the run ids of a deployment of several runs.
const SEP: char = '.';
/// ListSnapshots page size.
const SNAPSHOT_PAGE: u32 = 100;

impl ObjectKind {
    /// In the order GetFile tries them.
    const ALL: [ObjectKind; 4] = [ObjectKind::Node, ObjectKind::Workflow, ObjectKind::Resource, ObjectKind::Function];

    /// The getter.
    fn getter(self) -> Api {
        match self {
            ObjectKind::Node => Api::GetNode,
            ObjectKind::Workflow => Api::GetWorkflowDefinition,
            ObjectKind::Resource => Api::GetResource,
            ObjectKind::Function => Api::GetFunction,
        }
    }

    /// The neutral kind (of files and of pipeline run items). FileKind has
    /// no value for functions yet: they are reported as resources
    /// (DataWorks manages them together).
    pub(super) fn file_kind(self) -> pb::FileKind {
        match self {
            ObjectKind::Node => pb::FileKind::Script,
            ObjectKind::Workflow => pb::FileKind::Job,
            ObjectKind::Resource => pb::FileKind::Resource,
            ObjectKind::Function => pb::FileKind::Function,
        }
    }

    /// The getter's record in its answer.
    fn read(self, reply: &Reply) -> Result<Rec<'_, ws::Object<'_>>> {
        Ok(match self {
            ObjectKind::Node => reply.read::<ws::GetNode>()?.node,
            ObjectKind::Workflow => reply.read::<ws::GetWorkflowDefinition>()?.workflow_definition,
            ObjectKind::Resource => reply.read::<ws::GetResource>()?.resource,
            ObjectKind::Function => reply.read::<ws::GetFunction>()?.function,
        })
    }

    /// The object's entity in its FlowSpec.
    fn entity(self, spec: &FlowSpec) -> Option<&ws::SpecEntity> {
        let b = &spec.spec;
        match self {
            ObjectKind::Node => b.nodes.first(),
            ObjectKind::Workflow => b.workflows.first(),
            ObjectKind::Resource => b.file_resources.first(),
            ObjectKind::Function => b.functions.first(),
        }
    }
}

/// The snapshots a ListSnapshots call lists (`Type`).
#[derive(Debug, Clone, Copy)]
enum SnapshotType {
    /// Saved versions: the object's version history.
    Saved,
    /// Deployed versions.
    Deployed,
}

/// Which workflow definitions a ListWorkflowDefinitions call lists (absent = cycle).
#[derive(Debug, Clone, Copy)]
enum WorkflowType {
    /// Scheduled.
    Cycle,
    /// Run by hand.
    Manual,
}

/// One of the vendor listings a file listing reads, in order.
#[derive(Debug, Clone, Copy)]
enum Listing {
    /// ListNodes.
    Nodes,
    /// ListWorkflowDefinitions of one type.
    Workflows(WorkflowType),
    /// ListResources.
    Resources,
    /// ListFunctions.
    Functions,
}

/// Every listing, in cursor order.
const LISTINGS: [Listing; 5] = [
    Listing::Nodes,
    Listing::Workflows(WorkflowType::Cycle),
    Listing::Workflows(WorkflowType::Manual),
    Listing::Resources,
    Listing::Functions,
];

impl Listing {
    fn api(self) -> Api {
        match self {
            Listing::Nodes => Api::ListNodes,
            Listing::Workflows(_) => Api::ListWorkflowDefinitions,
            Listing::Resources => Api::ListResources,
            Listing::Functions => Api::ListFunctions,
        }
    }

    fn kind(self) -> ObjectKind {
        match self {
            Listing::Nodes => ObjectKind::Node,
            Listing::Workflows(_) => ObjectKind::Workflow,
            Listing::Resources => ObjectKind::Resource,
            Listing::Functions => ObjectKind::Function,
        }
    }

    /// Vendor parameters: the name and owner filters where the vendor
    /// takes them (ListNodes has no Owner), and the workflow type.
    fn params(self, plan: &Plan<'_>) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        if let Some(n) = plan.name {
            p.push(("Name", n.to_owned()));
        }
        match self {
            Listing::Nodes => {}
            Listing::Workflows(t) => {
                let t = match t {
                    WorkflowType::Cycle => "CycleWorkflow",
                    WorkflowType::Manual => "ManualWorkflow",
                };
                p.push(("Type", t.to_owned()));
            }
            Listing::Resources | Listing::Functions => {}
        }
        if let (Some(o), Listing::Workflows(_) | Listing::Resources | Listing::Functions) = (&plan.owner, self) {
            p.push(("Owner", o.clone()));
        }
        p
    }

    /// A page of rows (with their records when `full`): each row the
    /// `keep` maps goes into the scan.
    fn feed<T>(
        self,
        reply: &Reply,
        full: bool,
        scan: &mut scan::Scan<T>,
        keep: impl FnMut(Rec<'_, ws::Object<'_>>) -> Option<T>,
    ) -> Result<()> {
        match self {
            Listing::Nodes => scan.feed(reply, reply.read_view::<ws::ListNodes>(full)?, keep),
            Listing::Workflows(_) => scan.feed(reply, reply.read_view::<ws::ListWorkflowDefinitions>(full)?, keep),
            Listing::Resources => scan.feed(reply, reply.read_view::<ws::ListResources>(full)?, keep),
            Listing::Functions => scan.feed(reply, reply.read_view::<ws::ListFunctions>(full)?, keep),
        }
    }

    /// A page's TotalCount.
    fn total(self, reply: &Reply) -> Result<i64> {
        Ok(match self {
            Listing::Nodes => scan::rows(reply, reply.read_view::<ws::ListNodes>(false)?, 0)?.1,
            Listing::Workflows(_) => scan::rows(reply, reply.read_view::<ws::ListWorkflowDefinitions>(false)?, 0)?.1,
            Listing::Resources => scan::rows(reply, reply.read_view::<ws::ListResources>(false)?, 0)?.1,
            Listing::Functions => scan::rows(reply, reply.read_view::<ws::ListFunctions>(false)?, 0)?.1,
        })
    }
}

/// ListFilesRequest fields on a pipeline workspace: handling and note.
const FILTERS: [(FileFilter, pb::FilterHandling, &str); 12] = {
    use pb::FilterHandling::{Gateway as G, Rejected as R, Vendor as V};
    [
        (FileFilter::FolderPath, G, "the object's Script.Path, this folder or below"),
        (FileFilter::Keyword, V, "Name (fuzzy) on every object list"),
        (FileFilter::ExactName, G, "Name sent to the vendor, then compared exactly"),
        (FileFilter::UseType, R, "Data Studio objects have no UseType"),
        (
            FileFilter::FileTypes,
            G,
            "node Script.Runtime.Command (e.g. ODPS_SQL), workflow type (CycleWorkflow, ManualWorkflow), resource or function Type",
        ),
        (
            FileFilter::Owner,
            G,
            "account UID, by id: Owner on workflow, resource and function lists; nodes by the gateway",
        ),
        (FileFilter::NodeId, R, "Data Studio objects are not looked up by scheduling id"),
        (FileFilter::IncludeContent, G, "one getter call per file on the page; content from the FlowSpec"),
        (FileFilter::IncludeFolderPath, V, "always included (Script.Path)"),
        (FileFilter::FileIds, G, "object ids, matched over the listings"),
        (FileFilter::LastEditor, R, "Data Studio objects record no last editor"),
        (FileFilter::CommitStatus, R, "Data Studio objects have no commit status (versions are snapshots)"),
    ]
};

/// A pipeline workspace's capabilities: `caps` with the file filters and
/// operations of Data Studio objects.
pub(super) fn capabilities(mut caps: Capabilities) -> Capabilities {
    for (f, how, note) in FILTERS {
        caps.filter(Filter::File(f), how, note);
    }
    caps.operation(
        Operation::ListFiles,
        true,
        "ListNodes, ListWorkflowDefinitions (both types), ListResources, ListFunctions, merged",
    )
    .operation(
        Operation::GetFile,
        true,
        "GetNode / GetWorkflowDefinition / GetResource / GetFunction (1-4 calls) + ListSnapshots",
    )
    .operation(
        Operation::ListFileVersions,
        true,
        "ListSnapshots (Saved, then Deployed) + GetSnapshot per version on the page",
    )
    .operation(Operation::GetFileVersion, true, "ListSnapshots + GetSnapshot");
    caps
}

/// A Data Studio object id from a request field (an int64, kept as text).
fn object_id(field: &str, id: &str) -> Result<String> {
    numeric(field, id).map(|n| n.to_string())
}

/// Whether a getter's failure means "no object of this kind has this id".
/// The reference names no code for it: NOT_FOUND and a refused parameter
/// both count (inferred).
fn absent(e: &Error) -> bool {
    e.vendor.is_some() && matches!(e.code, Code::NotFound | Code::InvalidArgument)
}

/// The FlowSpec of a getter's or snapshot's `Spec` (empty when absent).
fn flow(reply: &Reply, spec: &Option<Cow<'_, str>>) -> Result<FlowSpec> {
    match spec.as_deref().map(str::trim) {
        None | Some("") => Ok(FlowSpec::default()),
        Some(t) => serde_json::from_str(t).map_err(|e| reply.malformed(format_args!("Spec: {e}"))),
    }
}

/// Optional text, owned ("" when absent).
fn text(v: &Option<Cow<'_, str>>) -> String {
    v.as_deref().unwrap_or_default().to_owned()
}

/// A user by account UID; None when absent or blank.
fn user(id: &Option<Cow<'_, str>>) -> Option<pb::User> {
    let id = id.as_deref().unwrap_or_default().trim();
    (!id.is_empty()).then(|| pb::User { id: id.to_owned(), display_name: String::new() })
}

/// What a file shows beyond the object's base fields.
struct Detail {
    folder: String,
    file_type: String,
    content: String,
}

impl Detail {
    /// From a list row: `Script.Path`, and the node command or the row's `Type`.
    fn of_row(kind: ObjectKind, o: &ws::Object<'_>) -> Detail {
        let script = o.script.as_ref();
        let command = script.and_then(|s| s.runtime.as_ref()).map(|r| text(&r.command));
        Detail {
            folder: script.map(|s| text(&s.path)).unwrap_or_default(),
            file_type: match kind {
                ObjectKind::Node => command.unwrap_or_default(),
                ObjectKind::Workflow | ObjectKind::Resource | ObjectKind::Function => text(&o.r#type),
            },
            content: String::new(),
        }
    }

    /// From a FlowSpec: the entity's script path and content (the whole
    /// Spec when the script has none, e.g. a workflow), and its type: the
    /// node command, the workflow kind, or the resource or function type.
    fn of_spec(kind: ObjectKind, spec: &FlowSpec, raw: &Option<Cow<'_, str>>) -> Detail {
        let entity = kind.entity(spec);
        let script = entity.and_then(|e| e.script.as_ref());
        let content = script.and_then(|s| s.content.clone()).filter(|c| !c.is_empty());
        Detail {
            folder: script.and_then(|s| s.path.clone()).unwrap_or_default(),
            file_type: match kind {
                ObjectKind::Node => script.and_then(|s| s.runtime.as_ref()).and_then(|r| r.command.clone()),
                ObjectKind::Workflow => spec.kind.clone(),
                ObjectKind::Resource | ObjectKind::Function => entity.and_then(|e| e.r#type.clone()),
            }
            .unwrap_or_default(),
            content: content.unwrap_or_else(|| text(raw)),
        }
    }
}

/// The script content of a snapshot's FlowSpec: the first entity's that
/// has one (a snapshot does not say its object's kind), else the whole Spec.
fn spec_content(spec: &FlowSpec, raw: &Option<Cow<'_, str>>) -> String {
    let b = &spec.spec;
    [&b.nodes, &b.workflows, &b.file_resources, &b.functions]
        .into_iter()
        .flatten()
        .find_map(|e| e.script.as_ref().and_then(|s| s.content.clone()).filter(|c| !c.is_empty()))
        .unwrap_or_else(|| text(raw))
}

/// An object as a neutral file.
fn file(ctx: &CallCtx, kind: ObjectKind, o: &Rec<'_, ws::Object<'_>>, d: Detail, full: bool) -> pb::File {
    pb::File {
        name: ctx.name("files", &o.id),
        vendor: pb::Vendor::AlibabaDataworks as i32,
        display_name: text(&o.name),
        kind: kind.file_kind() as i32,
        file_type: d.file_type,
        folder_path: d.folder,
        owner: user(&o.owner),
        create_time: time::ts(o.create_time),
        update_time: time::ts(o.modify_time),
        description: text(&o.description),
        content: d.content,
        node_id: o.task_id.or(o.workflow_id).filter(|n| *n > 0).map(|n| n.to_string()).unwrap_or_default(),
        vendor_record: o.record(full),
        ..Default::default()
    }
}

/// A ListFiles request on Data Studio objects: vendor parameters and the
/// gateway's filter.
struct Plan<'q> {
    q: &'q FileQuery,
    /// `Name` sent to the vendor.
    name: Option<&'q str>,
    /// Owner account UID.
    owner: Option<String>,
    /// Only these object ids.
    ids: HashSet<String>,
    /// Whether the gateway drops rows.
    local: bool,
}

impl<'q> Plan<'q> {
    fn new(q: &'q FileQuery) -> Result<Self> {
        let owner = id_only("owner", &q.owner)?;
        let mut ids = HashSet::with_capacity(q.file_ids.len());
        for (n, id) in q.file_ids.iter().enumerate() {
            ids.insert(object_id(&format!("file_ids[{n}]"), id)?);
        }
        let local = q.folder_path.is_some()
            || q.exact_name.is_some()
            || !q.file_types.is_empty()
            || owner.is_some()
            || !ids.is_empty();
        Ok(Plan { q, name: q.keyword.as_deref().or(q.exact_name.as_deref()), owner, ids, local })
    }

    /// Whether a listed object passes the gateway's filters.
    fn keep(&self, o: &ws::Object<'_>, d: &Detail) -> bool {
        let q = self.q;
        q.folder_path.as_deref().is_none_or(|f| in_folder(&d.folder, f))
            && q.exact_name.as_deref().is_none_or(|n| o.name.as_deref() == Some(n))
            && (q.file_types.is_empty() || q.file_types.contains(&d.file_type))
            && self.owner.as_deref().is_none_or(|u| o.owner.as_deref() == Some(u))
            && (self.ids.is_empty() || self.ids.contains(o.id.as_ref()))
    }
}

/// `dir` is `folder` or below it.
fn in_folder(dir: &str, folder: &str) -> bool {
    let f = folder.trim_end_matches('/');
    dir.strip_prefix(f).is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || f.is_empty())
}

/// Where a file listing stands: the listing being read, the row in it, and
/// the totals seen so far.
#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    /// Index in [`LISTINGS`].
    k: usize,
    /// Row in that listing.
    r: u64,
    /// TotalCount of each listing, once read.
    t: [Option<i64>; 5],
}

impl Cursor {
    fn decode(c: &Option<String>) -> Result<Cursor> {
        match c {
            None => Ok(Cursor { k: 0, r: 0, t: [None; 5] }),
            Some(c) => serde_json::from_str::<Cursor>(c)
                .ok()
                .filter(|c| c.k < LISTINGS.len())
                .ok_or_else(|| Error::invalid("page_token", "is malformed")),
        }
    }
}

/// A snapshot row, kept across vendor pages.
struct SnapshotRow {
    id: String,
    version: i64,
    creator: Option<pb::User>,
    create_time: Option<i64>,
    comment: String,
    record: Option<prost_types::Struct>,
}

impl Project {
    /// One getter call.
    async fn get_object(&self, ctx: &CallCtx, kind: ObjectKind, id: &str) -> Result<Reply> {
        self.call(ctx, kind.getter(), vec![("Id", id.to_owned())]).await
    }

    /// The object with id `id` and its kind: each getter in turn until one
    /// knows it; None when none does.
    async fn locate(&self, ctx: &CallCtx, id: &str) -> Result<Option<(ObjectKind, Reply)>> {
        for kind in ObjectKind::ALL {
            match self.get_object(ctx, kind, id).await {
                Ok(reply) => return Ok(Some((kind, reply))),
                Err(e) if absent(&e) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    /// ListSnapshots of `id` of type `ty`: every page (at most
    /// [`MAX_SCAN_CALLS`]), newest version first.
    async fn snapshots(&self, ctx: &CallCtx, id: &str, ty: SnapshotType, full: bool) -> Result<Vec<SnapshotRow>> {
        let ty = match ty {
            SnapshotType::Saved => "Saved",
            SnapshotType::Deployed => "Deployed",
        };
        let mut out = Vec::new();
        for page in 1..=MAX_SCAN_CALLS {
            // The workspace goes in Namespace (the pipeline flavour's ProjectId), not ProjectId.
            let query: Vec<(String, String)> = vec![
                ("Namespace".into(), self.selector.1.clone()),
                ("ObjectId".into(), id.to_owned()),
                ("Type".into(), ty.to_owned()),
                ("PageNumber".into(), page.to_string()),
                ("PageSize".into(), SNAPSHOT_PAGE.to_string()),
            ];
            let reply = self.client.call(ctx, Api::ListSnapshots, &query, &[]).await?;
            let pos = i64::from((page - 1) * SNAPSHOT_PAGE);
            let (rows, total) = scan::rows(&reply, reply.read_view::<ws::ListSnapshots>(full)?, pos)?;
            let n = rows.len();
            out.extend(rows.iter().map(|s| SnapshotRow {
                id: s.id.to_string(),
                version: s.version,
                creator: user(&s.creator),
                create_time: s.create_time,
                comment: text(&s.comment),
                record: s.record(full),
            }));
            if n < SNAPSHOT_PAGE as usize || pos + n as i64 >= total {
                break;
            }
        }
        out.sort_by_key(|s| std::cmp::Reverse(s.version));
        Ok(out)
    }

    /// The newest version with a snapshot of type `ty`.
    async fn newest(&self, ctx: &CallCtx, id: &str, ty: SnapshotType) -> Result<Option<i64>> {
        Ok(self.snapshots(ctx, id, ty, false).await?.first().map(|s| s.version))
    }

    /// ListFiles over the object listings, one after the other.
    pub(super) async fn studio_files(&self, ctx: &CallCtx, q: FileQuery) -> Result<Page<pb::File>> {
        let plan = Plan::new(&q)?;
        let mut cur = Cursor::decode(&q.page.cursor)?;
        let size = q.page.size as usize;
        let mut items: Vec<(ObjectKind, pb::File)> = Vec::with_capacity(size);
        while cur.k < LISTINGS.len() && items.len() < size {
            let listing = LISTINGS[cur.k];
            let kind = listing.kind();
            let params = listing.params(&plan);
            let want = PageReq { cursor: Some(cur.r.to_string()), size: (size - items.len()) as u32 };
            let page = self
                .window(ctx, listing.api(), &params, &want, plan.local, |r, scan| {
                    listing.feed(r, q.full, scan, |o| {
                        let d = Detail::of_row(kind, &o);
                        plan.keep(&o, &d).then(|| (kind, file(ctx, kind, &o, d, q.full)))
                    })
                })
                .await?;
            cur.t[cur.k] = Some(page.total);
            items.extend(page.items);
            match page.next {
                // The page is full, or the scan budget spent, inside this listing.
                Some(row) => {
                    cur.r = row.parse().map_err(|_| Error::invalid("page_token", "is malformed"))?;
                    break;
                }
                None => (cur.k, cur.r) = (cur.k + 1, 0),
            }
        }
        let more = cur.k < LISTINGS.len();
        // Totals of listings not reached yet: one small call each (first page only).
        for (k, listing) in LISTINGS.iter().enumerate() {
            if cur.t[k].is_none() {
                let mut params = listing.params(&plan);
                params.push(("PageNumber", "1".into()));
                params.push(("PageSize", "1".into()));
                let reply = self.call(ctx, listing.api(), params).await?;
                cur.t[k] = Some(listing.total(&reply)?);
            }
        }
        let total = cur.t.iter().flatten().sum();
        let mut files = Vec::with_capacity(items.len());
        for (kind, mut f) in items {
            if q.include_content {
                let id = f.name.rsplit_once('/').map(|(_, id)| id.to_owned()).unwrap_or_default();
                let reply = self.get_object(ctx, kind, &id).await?;
                let o = kind.read(&reply)?;
                f.content = Detail::of_spec(kind, &flow(&reply, &o.spec)?, &o.spec).content;
            }
            files.push(f);
        }
        let next = more.then(|| serde_json::to_string(&cur).unwrap_or_default());
        Ok(Page { items: files, next, total })
    }

    /// GetFile: the object's getter, and its newest saved snapshot for the
    /// current version.
    pub(super) async fn studio_file(&self, ctx: &CallCtx, id: &str, full: bool) -> Result<pb::File> {
        let id = object_id("name", id)?;
        let Some((kind, reply)) = self.locate(ctx, &id).await? else {
            return Err(Error::not_found(Reason::FileNotFound, ctx.name("files", &id)));
        };
        let o = kind.read(&reply)?;
        let d = Detail::of_spec(kind, &flow(&reply, &o.spec)?, &o.spec);
        let mut f = file(ctx, kind, &o, d, full);
        f.current_version = self.newest(ctx, &id, SnapshotType::Saved).await?.unwrap_or_default();
        Ok(f)
    }

    /// ListFileVersions: the saved snapshots, newest first.
    pub(super) async fn studio_versions(
        &self,
        ctx: &CallCtx,
        file_id: &str,
        page: PageReq,
        full: bool,
    ) -> Result<Page<pb::FileVersion>> {
        let id = object_id("parent", file_id)?;
        let start = match &page.cursor {
            None => 0,
            Some(c) => c.parse::<usize>().map_err(|_| Error::invalid("page_token", "is malformed"))?,
        };
        let rows = self.snapshots(ctx, &id, SnapshotType::Saved, full).await?;
        if rows.is_empty() && self.locate(ctx, &id).await?.is_none() {
            return Err(Error::not_found(Reason::FileNotFound, ctx.name("files", &id)));
        }
        let prod = match rows.is_empty() {
            true => None,
            false => self.newest(ctx, &id, SnapshotType::Deployed).await?,
        };
        let end = (start + page.size as usize).min(rows.len());
        let mut items = Vec::with_capacity(end.saturating_sub(start));
        for s in rows.get(start..end).unwrap_or_default() {
            let mut v = version(ctx, &id, s, prod);
            // Content handed out as a download link stays empty here; GetFileVersion says why.
            v.content = self.snapshot_content(ctx, &s.id).await?.1.unwrap_or_default();
            items.push(v);
        }
        Ok(Page { items, next: (end < rows.len()).then(|| end.to_string()), total: rows.len() as i64 })
    }

    /// GetFileVersion: the saved snapshot of that version, read with
    /// GetSnapshot. A snapshot whose content comes as a download link
    /// (ContentUrl) is FAILED_PRECONDITION: the gateway fetches no
    /// vendor-supplied URL.
    pub(super) async fn studio_version(
        &self,
        ctx: &CallCtx,
        file_id: &str,
        n: i64,
        full: bool,
    ) -> Result<pb::FileVersion> {
        let id = object_id("name", file_id)?;
        let rows = self.snapshots(ctx, &id, SnapshotType::Saved, false).await?;
        let Some(row) = rows.iter().find(|s| s.version == n) else {
            return Err(Error::not_found(Reason::FileNotFound, format!("{}/versions/{n}", ctx.name("files", &id))));
        };
        let (reply, content) = self.snapshot_content(ctx, &row.id).await?;
        let Some(content) = content else {
            return Err(Error::unsupported(format!(
                "version {n} of file {id}: DataWorks hands this snapshot's content out as a download link (ContentUrl), which the gateway does not follow; read it in DataWorks"
            )));
        };
        let prod = self.newest(ctx, &id, SnapshotType::Deployed).await?;
        let mut v = version(ctx, &id, row, prod);
        v.content = content;
        v.vendor_record = reply.read::<ws::GetSnapshot>()?.snapshot.record(full);
        Ok(v)
    }

    /// GetSnapshot `snapshot`: the answer and the content (`Content.Content`,
    /// else the FlowSpec's script); None when it comes as a download link
    /// (`ContentUrl`).
    async fn snapshot_content(&self, ctx: &CallCtx, snapshot: &str) -> Result<(Reply, Option<String>)> {
        let query = vec![("Id".to_owned(), snapshot.to_owned())];
        let reply = self.client.call(ctx, Api::GetSnapshot, &query, &[]).await?;
        let content = {
            let snap = reply.read::<ws::GetSnapshot>()?.snapshot;
            match &snap.content {
                Some(c) if c.content.as_deref().is_some_and(|t| !t.is_empty()) => Some(text(&c.content)),
                Some(c) => Some(spec_content(&flow(&reply, &c.spec)?, &c.spec)),
                None if snap.content_url.as_deref().is_some_and(|u| !u.is_empty()) => None,
                None => Some(String::new()),
            }
        };
        Ok((reply, content))
    }

    /// DeployFiles' check: every object exists and a pinned version is its
    /// newest saved one (a run deploys the object as it is); every object
    /// that fails is named in one error. The ids, in order.
    async fn deployable_objects(&self, ctx: &CallCtx, files: &[FileTarget]) -> Result<Vec<i64>> {
        let mut ids = Vec::with_capacity(files.len());
        for (n, f) in files.iter().enumerate() {
            ids.push(numeric(&format!("files[{n}]"), &f.id)?);
        }
        let mut unmet = Vec::new();
        for (n, (f, id)) in files.iter().zip(&ids).enumerate() {
            let id = id.to_string();
            let (kind, why) = match (self.locate(ctx, &id).await?, f.version) {
                (None, _) => (Reason::FileNotFound, format!("object {id} does not exist")),
                (Some(_), Some(want)) => match self.newest(ctx, &id, SnapshotType::Saved).await? {
                    Some(cur) if cur == want => continue,
                    Some(cur) => (
                        Reason::VersionNotDeployable,
                        format!(
                            "version {want} of object {id} is not its newest saved version ({cur}); a pipeline run deploys the newest"
                        ),
                    ),
                    None => (Reason::VersionNotDeployable, format!("object {id} has no saved version {want}")),
                },
                (Some(_), None) => continue,
            };
            unmet.push(Unmet { kind, subject: target_name(ctx, f), description: format!("files[{n}]: {why}") });
        }
        if unmet.is_empty() { Ok(ids) } else { Err(Error::deploy_preconditions(unmet)) }
    }

    /// DeployFiles: every object checked, then `start` (CreatePipelineRun
    /// and its first stage) per object; the runs become deployments of as
    /// many runs as one id holds. A failure after some runs started names
    /// them.
    pub(super) async fn deploy_objects<F, Fut>(
        &self,
        ctx: &CallCtx,
        files: &[FileTarget],
        mut start: F,
    ) -> Result<Vec<pb::Deployment>>
    where
        F: FnMut(i64) -> Fut,
        Fut: Future<Output = Result<pb::Deployment>>,
    {
        let ids = self.deployable_objects(ctx, files).await?;
        let mut runs = Vec::with_capacity(ids.len());
        for id in ids {
            match start(id).await {
                Ok(d) => runs.push(d),
                Err(mut e) => {
                    if !runs.is_empty() {
                        e.started = group(ctx, runs).into_iter().map(|d| d.name).collect();
                        e.message = format!("{} (deployments already started: {})", e.message, e.started.join(", "));
                    }
                    return Err(e);
                }
            }
        }
        Ok(group(ctx, runs))
    }
}

/// A snapshot as a file version (content only from GetSnapshot).
fn version(ctx: &CallCtx, id: &str, s: &SnapshotRow, prod: Option<i64>) -> pb::FileVersion {
    pb::FileVersion {
        name: format!("{}/versions/{}", ctx.name("files", id), s.version),
        vendor: pb::Vendor::AlibabaDataworks as i32,
        version: s.version,
        comment: s.comment.clone(),
        state: (if prod == Some(s.version) { pb::FileVersionState::Deployed } else { pb::FileVersionState::Committed })
            as i32,
        is_current_prod: prod == Some(s.version),
        committer: s.creator.clone(),
        commit_time: time::ts(s.create_time),
        vendor_record: s.record.clone(),
        ..Default::default()
    }
}

/// The run id of a one-run deployment.
fn run_of(d: &pb::Deployment) -> &str {
    d.name.rsplit_once('/').map(|(_, id)| id).unwrap_or_default()
}

/// One-run deployments, as deployments of as many runs as one id holds.
fn group(ctx: &CallCtx, runs: Vec<pb::Deployment>) -> Vec<pb::Deployment> {
    let mut out = Vec::new();
    let mut batch: Vec<pb::Deployment> = Vec::new();
    let mut len = 0;
    for d in runs {
        let add = run_of(&d).len();
        if !batch.is_empty() && len + SEP.len_utf8() + add > MAX_ID {
            out.push(combine(ctx, std::mem::take(&mut batch), false));
        }
        len = if batch.is_empty() { add } else { len + SEP.len_utf8() + add };
        batch.push(d);
    }
    if !batch.is_empty() {
        out.push(combine(ctx, batch, false));
    }
    out
}

/// One deployment from its runs' (in order); a single run stays as it is.
fn combine(ctx: &CallCtx, mut parts: Vec<pb::Deployment>, full: bool) -> pb::Deployment {
    if parts.len() == 1 {
        return parts.remove(0);
    }
    let id: Vec<&str> = parts.iter().map(run_of).collect();
    let states: Vec<pb::DeploymentState> = parts.iter().map(|d| d.state()).collect();
    let has = |s: pb::DeploymentState| states.contains(&s);
    let state = if states.iter().all(|s| is_terminal(*s)) {
        if has(pb::DeploymentState::Failed) {
            pb::DeploymentState::Failed
        } else if has(pb::DeploymentState::Cancelled) {
            pb::DeploymentState::Cancelled
        } else {
            pb::DeploymentState::Succeeded
        }
    } else if states.iter().all(|s| *s == pb::DeploymentState::Pending) {
        pb::DeploymentState::Pending
    } else {
        pb::DeploymentState::Running
    };
    let errors: Vec<String> = parts
        .iter()
        .filter(|d| !d.error_message.is_empty())
        .map(|d| format!("pipeline run {}: {}", run_of(d), d.error_message))
        .collect();
    let record = full.then(|| {
        let runs = parts
            .iter()
            .filter_map(|d| d.vendor_record.clone())
            .map(|r| prost_types::Value { kind: Some(prost_types::value::Kind::StructValue(r)) })
            .collect();
        let list = prost_types::Value {
            kind: Some(prost_types::value::Kind::ListValue(prost_types::ListValue { values: runs })),
        };
        prost_types::Struct { fields: [("PipelineRuns".to_owned(), list)].into_iter().collect() }
    });
    pb::Deployment {
        name: ctx.name("deployments", id.join(&SEP.to_string())),
        vendor: pb::Vendor::AlibabaDataworks as i32,
        state: state as i32,
        files: parts.iter().flat_map(|d| d.files.iter().cloned()).collect(),
        create_time: parts.iter().filter_map(|d| d.create_time).min_by_key(|t| (t.seconds, t.nanos)),
        update_time: parts.iter().filter_map(|d| d.update_time).max_by_key(|t| (t.seconds, t.nanos)),
        error_message: errors.join("; "),
        vendor_record: record,
        ..Default::default()
    }
}

/// The runs of a deployment id naming several (see the module docs).
pub(super) struct Runs(Vec<String>);

impl Runs {
    /// Some for an id naming several runs, None for one run's id (the run
    /// id itself); a malformed id is INVALID_ARGUMENT on `field`.
    pub(super) fn several(field: &str, id: &str) -> Result<Option<Runs>> {
        if !id.contains(SEP) {
            return Ok(None);
        }
        let runs: Vec<String> = id.split(SEP).map(str::to_owned).collect();
        let distinct: HashSet<&String> = runs.iter().collect();
        if distinct.len() != runs.len() || runs.iter().any(|r| run_id(field, r).is_err()) {
            return Err(Error::invalid(field, format!("{id:?} is not a DataWorks deployment id")));
        }
        Ok(Some(Runs(runs)))
    }

    /// The deployment as `look` (a one-run GetDeployment or advance) sees
    /// each run.
    pub(super) async fn look<F, Fut>(&self, ctx: &CallCtx, full: bool, mut look: F) -> Result<pb::Deployment>
    where
        F: FnMut(String) -> Fut,
        Fut: Future<Output = Result<pb::Deployment>>,
    {
        let mut parts = Vec::with_capacity(self.0.len());
        for run in &self.0 {
            parts.push(look(run.clone()).await?);
        }
        Ok(combine(ctx, parts, full))
    }

    /// CancelDeployment: `cancel` (one-run CancelDeployment) on every run,
    /// `get` reading those that had already ended; DEPLOYMENT_ENDED when
    /// every run had.
    pub(super) async fn cancel<C, CF, G, GF>(&self, ctx: &CallCtx, mut cancel: C, mut get: G) -> Result<pb::Deployment>
    where
        C: FnMut(String) -> CF,
        CF: Future<Output = Result<pb::Deployment>>,
        G: FnMut(String) -> GF,
        GF: Future<Output = Result<pb::Deployment>>,
    {
        let (mut parts, mut stopped) = (Vec::with_capacity(self.0.len()), 0);
        for run in &self.0 {
            match cancel(run.clone()).await {
                Ok(d) => {
                    stopped += 1;
                    parts.push(d);
                }
                Err(e) if e.reason == Reason::DeploymentEnded => parts.push(get(run.clone()).await?),
                Err(e) => return Err(e),
            }
        }
        let d = combine(ctx, parts, false);
        if stopped == 0 {
            return Err(Error::new(
                Code::FailedPrecondition,
                Reason::DeploymentEnded,
                format!("{} has already ended ({}); there is nothing to cancel", d.name, d.state().as_str_name()),
            ));
        }
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> CallCtx {
        CallCtx { workspace: "w".into(), deadline: None, identity: None }
    }

    fn run(n: u32, state: pb::DeploymentState) -> pb::Deployment {
        pb::Deployment {
            name: format!("workspaces/w/deployments/a7ef0634-20ec-4a7c-a214-{n:012x}"),
            state: state as i32,
            files: vec![format!("workspaces/w/files/{n}")],
            ..Default::default()
        }
    }

    #[test]
    fn runs_are_grouped_into_ids_that_fit_and_read_back() {
        use pb::DeploymentState::Pending;
        let groups = group(&ctx(), (0..10).map(|n| run(n, Pending)).collect());
        let ids: Vec<&str> = groups.iter().map(|d| d.name.rsplit_once('/').unwrap().1).collect();
        assert_eq!(ids.iter().map(|id| id.split(SEP).count()).collect::<Vec<_>>(), vec![6, 4]);
        assert!(ids.iter().all(|id| id.len() <= MAX_ID));
        assert_eq!(groups[0].files.len(), 6, "the runs' files");
        for id in ids {
            let runs = Runs::several("name", id).unwrap().expect("several runs");
            assert_eq!(runs.0.join("."), id);
        }
        let one = group(&ctx(), vec![run(1, Pending)]);
        assert_eq!(one[0].name, run(1, Pending).name, "one run keeps its own id");
        assert!(Runs::several("name", "a7ef0634").unwrap().is_none());
        for bad in ["a.a", "a..b", "a.b/c", ".a", "a.b c"] {
            assert_eq!(Runs::several("name", bad).err().map(|e| e.code), Some(Code::InvalidArgument), "{bad}");
        }
    }

    #[test]
    fn a_deployment_of_runs_ends_when_every_run_has_ended() {
        use pb::DeploymentState::*;
        let state = |states: &[pb::DeploymentState]| {
            let parts = states.iter().enumerate().map(|(n, s)| run(n as u32, *s)).collect();
            combine(&ctx(), parts, false).state()
        };
        assert_eq!(state(&[Pending, Pending]), Pending);
        assert_eq!(state(&[Succeeded, Pending]), Running);
        assert_eq!(state(&[Failed, Running]), Running, "not ended while a run goes on");
        assert_eq!(state(&[Failed, Succeeded]), Failed);
        assert_eq!(state(&[Cancelled, Succeeded]), Cancelled);
        assert_eq!(state(&[Succeeded, Succeeded]), Succeeded);
    }

    #[test]
    fn folders_match_themselves_and_below() {
        assert!(in_folder("a/b", "a/b") && in_folder("a/b/c", "a/b/") && in_folder("a/b", ""));
        assert!(!in_folder("a/bc", "a/b") && !in_folder("a", "a/b"));
    }
}
