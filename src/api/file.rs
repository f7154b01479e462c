//! FileService: files and their versions.

use tonic::{Request, Response, Status};

use super::{Api, reject_unsupported, status, validate};
use crate::{
    domain::{
        FileQuery, PageReq,
        capability::{FileFilter, Filter},
    },
    economy::Read,
    pb::{self, file_service_server::FileService},
};

const LIST: &str = "ListFiles";
const LIST_VERSIONS: &str = "ListFileVersions";
/// Most file ids or types one ListFiles may name (DataWorks FileIdIn limit).
pub(super) const MAX_FILE_IDS: usize = 50;

#[tonic::async_trait]
impl FileService for Api {
    async fn list_files(&self, req: Request<pb::ListFilesRequest>) -> Result<Response<pb::ListFilesResponse>, Status> {
        let r = req.get_ref();
        let mut check = validate::Check::default();
        let parent = check.take(validate::workspace("parent", &r.parent));
        let size = check.page_size(r.page_size);
        let folder_path = check.text("folder_path", &r.folder_path);
        let keyword = check.text("keyword", &r.keyword);
        let exact_name = check.text("exact_name", &r.exact_name);
        let use_type = match check.enumeration::<pb::UseType>("use_type", r.use_type) {
            Some(pb::UseType::Unspecified) | None => None,
            other => other,
        };
        let file_types = check.distinct_texts("file_types", &r.file_types, MAX_FILE_IDS);
        let owner = check.user("owner", r.owner.as_ref());
        let node_id = check.text("node_id", &r.node_id);
        let file_ids = check.distinct_texts("file_ids", &r.file_ids, MAX_FILE_IDS);
        let last_editor = check.user("last_editor", r.last_editor.as_ref());
        let commit_status = match check.enumeration::<pb::CommitStatus>("commit_status", r.commit_status) {
            Some(pb::CommitStatus::Unspecified) | None => None,
            other => other,
        };
        let full = check.view(r.view);
        let filters = pb::ListFilesRequest { page_token: String::new(), page_size: 0, ..r.clone() };
        let cursor = check.take(self.open_token(LIST, &r.parent, &r.page_token, &filters)).flatten();
        check.finish().map_err(status)?;
        let (ws, ctx, grant) = self.reader(&req, &parent.expect("validated")).map_err(status)?;
        let f = Filter::File;
        reject_unsupported(
            ws,
            &[
                (f(FileFilter::FolderPath), folder_path.is_some()),
                (f(FileFilter::Keyword), keyword.is_some()),
                (f(FileFilter::ExactName), exact_name.is_some()),
                (f(FileFilter::UseType), use_type.is_some()),
                (f(FileFilter::FileTypes), !file_types.is_empty()),
                (f(FileFilter::Owner), owner.is_some()),
                (f(FileFilter::NodeId), node_id.is_some()),
                (f(FileFilter::IncludeContent), r.include_content),
                (f(FileFilter::IncludeFolderPath), r.include_folder_path),
                (f(FileFilter::FileIds), !file_ids.is_empty()),
                (f(FileFilter::LastEditor), last_editor.is_some()),
                (f(FileFilter::CommitStatus), commit_status.is_some()),
            ],
        )
        .map_err(status)?;
        let q = FileQuery {
            folder_path,
            keyword,
            exact_name,
            use_type,
            file_types,
            owner,
            node_id,
            include_content: r.include_content,
            include_folder_path: r.include_folder_path,
            file_ids,
            last_editor,
            commit_status,
            page: PageReq { cursor, size },
            full,
        };
        let adapter = ws.adapter.clone();
        let page = self
            .economy()
            .read(&ctx, grant, Read::ListFiles(q.clone()), |ctx| {
                let (adapter, q) = (adapter.clone(), q.clone());
                async move { adapter.list_files(&ctx, q).await }
            })
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListFilesResponse {
            files: page.items,
            next_page_token: self.seal(LIST, &r.parent, &filters, page.next),
            total_size: page.total.clamp(0, i64::from(i32::MAX)) as i32,
        }))
    }

    async fn get_file(&self, req: Request<pb::GetFileRequest>) -> Result<Response<pb::GetFileResponse>, Status> {
        let r = req.get_ref();
        let mut check = validate::Check::default();
        let name = check.take(validate::child("name", &r.name, "files"));
        let full = check.view(r.view);
        check.finish().map_err(status)?;
        let (w, id) = name.expect("validated");
        let (ws, ctx, grant) = self.reader(&req, &w).map_err(status)?;
        let adapter = ws.adapter.clone();
        let f = self
            .economy()
            .read(&ctx, grant, Read::GetFile { id: id.clone(), full }, |ctx| {
                let (adapter, id) = (adapter.clone(), id.clone());
                async move { adapter.get_file(&ctx, &id, full).await }
            })
            .await
            .map_err(status)?;
        Ok(Response::new(pb::GetFileResponse { file: Some(f) }))
    }

    async fn list_file_versions(
        &self,
        req: Request<pb::ListFileVersionsRequest>,
    ) -> Result<Response<pb::ListFileVersionsResponse>, Status> {
        let r = req.get_ref();
        let mut check = validate::Check::default();
        let parent = check.take(validate::child("parent", &r.parent, "files"));
        let size = check.page_size(r.page_size);
        let full = check.view(r.view);
        let filters = pb::ListFileVersionsRequest { page_token: String::new(), page_size: 0, ..r.clone() };
        let cursor = check.take(self.open_token(LIST_VERSIONS, &r.parent, &r.page_token, &filters)).flatten();
        check.finish().map_err(status)?;
        let (w, id) = parent.expect("validated");
        let (ws, ctx, grant) = self.reader(&req, &w).map_err(status)?;
        let adapter = ws.adapter.clone();
        let page = PageReq { cursor, size };
        let read = Read::ListFileVersions { file_id: id.clone(), page: page.clone(), full };
        let page = self
            .economy()
            .read(&ctx, grant, read, |ctx| {
                let (adapter, id, page) = (adapter.clone(), id.clone(), page.clone());
                async move { adapter.list_file_versions(&ctx, &id, page, full).await }
            })
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListFileVersionsResponse {
            file_versions: page.items,
            next_page_token: self.seal(LIST_VERSIONS, &r.parent, &filters, page.next),
            total_size: page.total.clamp(0, i64::from(i32::MAX)) as i32,
        }))
    }

    async fn get_file_version(
        &self,
        req: Request<pb::GetFileVersionRequest>,
    ) -> Result<Response<pb::GetFileVersionResponse>, Status> {
        let r = req.get_ref();
        let mut check = validate::Check::default();
        let name = check.take(validate::file_version("name", &r.name));
        let full = check.view(r.view);
        check.finish().map_err(status)?;
        let (w, id, v) = name.expect("validated");
        let (ws, ctx, grant) = self.reader(&req, &w).map_err(status)?;
        let adapter = ws.adapter.clone();
        let fv = self
            .economy()
            .read(&ctx, grant, Read::GetFileVersion { file_id: id.clone(), version: v, full }, |ctx| {
                let (adapter, id) = (adapter.clone(), id.clone());
                async move { adapter.get_file_version(&ctx, &id, v, full).await }
            })
            .await
            .map_err(status)?;
        Ok(Response::new(pb::GetFileVersionResponse { file_version: Some(fv) }))
    }
}
