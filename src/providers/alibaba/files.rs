//! Legacy files and file versions (ListFiles, GetFile, ListFileVersions,
//! GetFileVersion), and the check run before deploying files. Pipeline
//! workspaces' files are Data Studio objects (`studio.rs`).

use std::collections::HashMap;

use super::{Project, api::Api, map, numeric, py_bool, scan, wire};
use crate::domain::capability::FileFilter;
use crate::{
    domain::{CallCtx, Error, FileQuery, FileTarget, Page, PageReq, Reason, Result, Unmet, UserKey, target_name},
    pb,
};

/// Most ids one ListFiles `FileIdIn` takes (vendor-apis.md 1.6).
pub(crate) const MAX_FILE_IDS: usize = 50;

/// DataWorks file type codes (ListFiles FileTypes) the gateway accepts.
pub(crate) const FILE_TYPE_CODES: [i64; 27] = [
    6, 10, 11, 23, 24, 97, 98, 99, 221, 225, 227, 228, 229, 230, 239, 257, 258, 259, 260, 900, 1002, 1089, 1091, 1093,
    1100, 1106, 1221,
];

/// ListFilesRequest fields and the ListFiles parameter each becomes (all
/// filtered by the vendor).
pub(crate) const FILTERS: [(FileFilter, &str); 12] = [
    (FileFilter::FolderPath, "FileFolderPath"),
    (FileFilter::Keyword, "Keyword"),
    (FileFilter::ExactName, "ExactFileName"),
    (FileFilter::UseType, "UseType"),
    (FileFilter::FileTypes, "FileTypes (DataWorks type codes, e.g. 10 = ODPS SQL)"),
    (FileFilter::Owner, "Owner (account UID, by id)"),
    (FileFilter::NodeId, "NodeId"),
    (FileFilter::IncludeContent, "NeedContent"),
    (FileFilter::IncludeFolderPath, "NeedAbsoluteFolderPath"),
    (FileFilter::FileIds, "FileIdIn (at most 50)"),
    (FileFilter::LastEditor, "LastEditUser (account UID, by id)"),
    (FileFilter::CommitStatus, "CommitStatus (API 2024-05-18)"),
];

/// A user filter DataWorks takes by account UID only.
pub(super) fn id_only(field: &str, u: &Option<UserKey>) -> Result<Option<String>> {
    match u {
        None => Ok(None),
        Some(UserKey::Id(x)) => Ok(Some(x.clone())),
        Some(UserKey::Name(_)) => Err(Error::invalid(
            format!("{field}.display_name"),
            "DataWorks identifies users by account UID only: use id",
        )),
    }
}

/// ListFiles parameters for a query.
fn list_params(q: &FileQuery) -> Result<Vec<(&'static str, String)>> {
    let mut base: Vec<(&str, String)> = Vec::new();
    if let Some(v) = &q.folder_path {
        base.push(("FileFolderPath", v.clone()));
    }
    if let Some(v) = &q.keyword {
        base.push(("Keyword", v.clone()));
    }
    if let Some(v) = &q.exact_name {
        base.push(("ExactFileName", v.clone()));
    }
    if let Some(u) = q.use_type {
        base.push(("UseType", map::use_type_code(u).to_owned()));
    }
    if !q.file_types.is_empty() {
        for (n, t) in q.file_types.iter().enumerate() {
            if !t.parse::<i64>().is_ok_and(|c| FILE_TYPE_CODES.contains(&c)) {
                return Err(Error::invalid(
                    format!("file_types[{n}]"),
                    format!("{t:?} is not a DataWorks file type code (e.g. 10 ODPS SQL, 6 Shell, 23 Data Integration)"),
                ));
            }
        }
        base.push(("FileTypes", q.file_types.join(",")));
    }
    if let Some(o) = id_only("owner", &q.owner)? {
        base.push(("Owner", o));
    }
    if let Some(n) = &q.node_id {
        base.push(("NodeId", numeric("node_id", n)?.to_string()));
    }
    base.push(("NeedContent", py_bool(q.include_content)));
    base.push(("NeedAbsoluteFolderPath", py_bool(q.include_folder_path)));
    if !q.file_ids.is_empty() {
        let mut ids = Vec::new();
        for (n, id) in q.file_ids.iter().enumerate() {
            ids.push(numeric(&format!("file_ids[{n}]"), id)?.to_string());
        }
        base.push(("FileIdIn", ids.join(",")));
    }
    if let Some(o) = id_only("last_editor", &q.last_editor)? {
        base.push(("LastEditUser", o));
    }
    if let Some(c) = q.commit_status {
        base.push(("CommitStatus", if c == pb::CommitStatus::Committed { "1" } else { "0" }.into()));
    }
    Ok(base)
}

impl Project {
    /// ListFiles.
    pub(super) async fn list_files(&self, ctx: &CallCtx, q: FileQuery) -> Result<Page<pb::File>> {
        let base = list_params(&q)?;
        self.window(ctx, Api::ListFiles, &base, &q.page, false, |r, scan| {
            scan.feed(r, r.read_view::<wire::ListFiles>(q.full)?, |f| {
                let (f, record) = f.split(q.full);
                Some(map::file(ctx, f, record))
            })
        })
        .await
    }

    /// GetFile (VIEW_FULL: the whole `Data`, with the node configuration).
    pub(super) async fn get_file(&self, ctx: &CallCtx, id: &str, full: bool) -> Result<pb::File> {
        let n = numeric("name", id)?;
        let reply = self.call(ctx, Api::GetFile, vec![("FileId", n.to_string())]).await?;
        let (data, record) = reply.read_view::<wire::GetFile>(full)?.data.split(full);
        Ok(map::file(ctx, data.file, record))
    }

    /// ListFileVersions, newest first.
    pub(super) async fn list_file_versions(
        &self,
        ctx: &CallCtx,
        file_id: &str,
        page: PageReq,
        full: bool,
    ) -> Result<Page<pb::FileVersion>> {
        let base = [("FileId", numeric("parent", file_id)?.to_string())];
        self.window(ctx, Api::ListFileVersions, &base, &page, false, |r, scan| {
            scan.feed(r, r.read_view::<wire::ListFileVersions>(full)?, |v| {
                Some(map::file_version(ctx, file_id, v, full))
            })
        })
        .await
    }

    /// GetFileVersion.
    pub(super) async fn get_file_version(
        &self,
        ctx: &CallCtx,
        file_id: &str,
        version: i64,
        full: bool,
    ) -> Result<pb::FileVersion> {
        let n = numeric("name", file_id)?;
        let params = vec![("FileId", n.to_string()), ("FileVersion", version.to_string())];
        let reply = self.call(ctx, Api::GetFileVersion, params).await?;
        Ok(map::file_version(ctx, file_id, reply.read_view::<wire::GetFileVersion>(full)?.data, full))
    }

    /// The ids of files to deploy, all checked before anything is deployed:
    /// ListFiles by `FileIdIn` ([`MAX_FILE_IDS`] ids a call) reads every
    /// file's `CurrentVersion`; a file missing from the rows does not exist,
    /// one without a committed version cannot be deployed, and DataWorks
    /// deploys the latest committed version, so a pinned version must be
    /// that one. Every file that fails is named in one error.
    pub(super) async fn deployable(&self, ctx: &CallCtx, files: &[FileTarget]) -> Result<Vec<i64>> {
        let mut ids = Vec::with_capacity(files.len());
        for (n, f) in files.iter().enumerate() {
            ids.push(numeric(&format!("files[{n}]"), &f.id)?);
        }
        let mut wanted: Vec<i64> = ids.clone();
        wanted.sort_unstable();
        wanted.dedup();
        let mut current: HashMap<i64, Option<i64>> = HashMap::with_capacity(wanted.len());
        for chunk in wanted.chunks(MAX_FILE_IDS) {
            let params = vec![
                ("FileIdIn", chunk.iter().map(i64::to_string).collect::<Vec<_>>().join(",")),
                ("NeedContent", py_bool(false)),
                ("PageNumber", "1".to_owned()),
                ("PageSize", MAX_FILE_IDS.to_string()),
            ];
            let reply = self.call(ctx, Api::ListFiles, params).await?;
            let (rows, _) = scan::rows(&reply, reply.read_view::<wire::ListFiles>(false)?, 0)?;
            current.extend(rows.iter().map(|f| (f.file_id, f.current_version.filter(|v| *v > 0))));
        }
        let unmet: Vec<Unmet> = files
            .iter()
            .zip(&ids)
            .enumerate()
            .filter_map(|(n, (f, id))| {
                let (kind, why) = match (current.get(id), f.version) {
                    (None, _) => (Reason::FileNotFound, format!("file {id} does not exist")),
                    (Some(None), _) => {
                        (Reason::FileNotCommitted, format!("file {id} has no committed version; commit it first"))
                    }
                    (Some(Some(cur)), Some(want)) if want != *cur => (
                        Reason::VersionNotDeployable,
                        format!(
                            "version {want} of file {id} is not the latest committed version ({cur}); DataWorks deploys the latest"
                        ),
                    ),
                    (Some(Some(_)), _) => return None,
                };
                Some(Unmet { kind, subject: target_name(ctx, f), description: format!("files[{n}]: {why}") })
            })
            .collect();
        if unmet.is_empty() { Ok(ids) } else { Err(Error::deploy_preconditions(unmet)) }
    }
}
