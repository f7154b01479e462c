//! WorkspaceService: the configured workspaces and their capabilities.

use tonic::{Request, Response, Status};

use super::{Api, status, validate};
use crate::{
    auth::Permission,
    pb::{self, workspace_service_server::WorkspaceService},
};

const LIST: &str = "ListWorkspaces";

#[tonic::async_trait]
impl WorkspaceService for Api {
    async fn list_workspaces(
        &self,
        req: Request<pb::ListWorkspacesRequest>,
    ) -> Result<Response<pb::ListWorkspacesResponse>, Status> {
        let r = req.get_ref();
        let mut check = validate::Check::default();
        let size = check.page_size(r.page_size) as usize;
        let filters = pb::ListWorkspacesRequest::default();
        let cursor = check.take(self.open_token(LIST, "", &r.page_token, &filters)).flatten();
        check.finish().map_err(status)?;
        let offset: usize = match cursor.as_deref().map(str::parse) {
            None => 0,
            Some(Ok(n)) => n,
            Some(Err(_)) => return Err(status(crate::domain::Error::invalid("page_token", "is malformed"))),
        };
        // Callers see the workspaces they may read.
        let caller = self.auth().authenticate(&req).map_err(status)?;
        let all: Vec<_> =
            self.router().all().filter(|w| self.auth().allows(&caller, &w.name, Permission::Read)).collect();
        let page: Vec<pb::Workspace> = all.iter().skip(offset).take(size).map(|w| w.to_proto()).collect();
        let next = (offset + size < all.len()).then(|| (offset + size).to_string());
        Ok(Response::new(pb::ListWorkspacesResponse {
            workspaces: page,
            next_page_token: self.seal(LIST, "", &filters, next),
            total_size: all.len() as i32,
        }))
    }

    async fn get_workspace(
        &self,
        req: Request<pb::GetWorkspaceRequest>,
    ) -> Result<Response<pb::GetWorkspaceResponse>, Status> {
        let w = validate::workspace("name", &req.get_ref().name).map_err(status)?;
        self.authorize(&req, &w, Permission::Read).map_err(status)?;
        let ws = self.router().get(&w).map_err(status)?;
        Ok(Response::new(pb::GetWorkspaceResponse { workspace: Some(ws.to_proto()) }))
    }
}
