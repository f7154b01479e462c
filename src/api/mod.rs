//! The gRPC services: validate input, map it to domain queries, call the
//! workspace's adapter, map the answer back. No vendor call happens before
//! validation has passed.

mod file;
pub(crate) mod page_token;
mod release;
pub(crate) mod validate;
mod workspace;

pub use page_token::PageTokens;

use std::sync::Arc;

use prost::Message;
use tonic::{Request, Status};

use crate::{
    auth::{Auth, Caller, Grant, Permission},
    config::CacheConfig,
    deploy::{Engine, Ledger},
    domain::{
        CallCtx, Error, Router, Workspace,
        capability::{Filter, Operation},
    },
    economy::Economy,
    pb,
};

/// State shared by the three services.
#[derive(Clone)]
pub struct Api {
    inner: Arc<Inner>,
}

struct Inner {
    router: Router,
    tokens: PageTokens,
    ledger: Arc<Ledger>,
    engine: Arc<Engine>,
    auth: Auth,
    economy: Economy,
}

impl Api {
    /// Services over `router`, sealing page tokens with `tokens`, recording
    /// deploys in `ledger`.
    pub fn new(router: Router, tokens: PageTokens, ledger: Arc<Ledger>) -> Self {
        let engine = Engine::in_memory(router.clone());
        Self::with_auth(router, tokens, ledger, engine, Auth::open(), Economy::new(&CacheConfig::default()))
    }

    /// Like [`Api::new`], with callers authenticated and authorized by `auth`.
    /// `engine` drives the deployments the deploy calls start; reads go
    /// through `economy` (coalescing and the cache).
    pub(crate) fn with_auth(
        router: Router,
        tokens: PageTokens,
        ledger: Arc<Ledger>,
        engine: Arc<Engine>,
        auth: Auth,
        economy: Economy,
    ) -> Self {
        Api { inner: Arc::new(Inner { router, tokens, ledger, engine, auth, economy }) }
    }

    /// Coalescing and the cache of reads.
    pub(crate) fn economy(&self) -> &Economy {
        &self.inner.economy
    }

    /// The deployment engine.
    pub(crate) fn engine(&self) -> &Arc<Engine> {
        &self.inner.engine
    }

    /// Authentication and policies.
    pub(crate) fn auth(&self) -> &Auth {
        &self.inner.auth
    }

    /// The deploy ledger.
    pub(crate) fn ledger(&self) -> &Arc<Ledger> {
        &self.inner.ledger
    }

    /// The router.
    pub(crate) fn router(&self) -> &Router {
        &self.inner.router
    }

    /// ReleaseService.
    pub(crate) fn release_service(&self) -> pb::release_service_server::ReleaseServiceServer<Api> {
        pb::release_service_server::ReleaseServiceServer::new(self.clone())
    }

    /// FileService.
    pub(crate) fn file_service(&self) -> pb::file_service_server::FileServiceServer<Api> {
        pb::file_service_server::FileServiceServer::new(self.clone())
    }

    /// WorkspaceService.
    pub(crate) fn workspace_service(&self) -> pb::workspace_service_server::WorkspaceServiceServer<Api> {
        pb::workspace_service_server::WorkspaceServiceServer::new(self.clone())
    }

    /// Who is calling, if they hold `perm` on `workspace` (every handler
    /// calls this, reads through [`Api::reader`], once the workspace is parsed and
    /// before the workspace is looked up: an unknown workspace and a
    /// forbidden one look alike to an unauthorized caller).
    fn authorize<T>(&self, req: &Request<T>, workspace: &str, perm: Permission) -> Result<Caller, Error> {
        self.inner.auth.authorize(req, workspace, perm)
    }

    /// Authorizes a read of `workspace`, then gives the workspace, a call
    /// context and the caller's grant (coalesced and cached answers are
    /// shared only under one grant).
    fn reader<T>(&self, req: &Request<T>, workspace: &str) -> Result<(&Workspace, CallCtx, Grant), Error> {
        let caller = self.authorize(req, workspace, Permission::Read)?;
        let grant = self.inner.auth.grant(&caller, workspace, Permission::Read);
        let (ws, ctx) = self.ctx_as(req, workspace, &caller)?;
        Ok((ws, ctx, grant))
    }

    /// The workspace and a call context for an already authorized caller.
    fn ctx_as<T>(&self, req: &Request<T>, workspace: &str, caller: &Caller) -> Result<(&Workspace, CallCtx), Error> {
        let ws = self.inner.router.get(workspace)?;
        Ok((
            ws,
            CallCtx {
                workspace: workspace.to_owned(),
                deadline: validate::deadline(req.metadata()),
                identity: caller.identity.clone(),
            },
        ))
    }

    /// Opens a page token against the request's filters (the request with
    /// page_token and page_size cleared).
    fn open_token<M: Message + Clone>(
        &self,
        method: &str,
        parent: &str,
        token: &str,
        filters: &M,
    ) -> Result<Option<String>, Error> {
        self.inner.tokens.open(token, method, parent, &filters.encode_to_vec())
    }

    /// Seals a next-page cursor.
    fn seal<M: Message>(&self, method: &str, parent: &str, filters: &M, cursor: Option<String>) -> String {
        cursor.map(|c| self.inner.tokens.seal(method, parent, &filters.encode_to_vec(), &c)).unwrap_or_default()
    }
}

/// Rejects filters the workspace's vendor cannot honour, naming each one.
fn reject_unsupported(ws: &Workspace, set: &[(Filter, bool)]) -> Result<(), Error> {
    let mut check = validate::Check::default();
    for (filter, is_set) in set {
        if !is_set {
            continue;
        }
        if let Some(f) = ws.filter(*filter)
            && f.how == pb::FilterHandling::Rejected
        {
            check.bad(filter.field(), format!("not available on this workspace's vendor: {}", f.note));
        }
    }
    check.finish()
}

/// Fails with FAILED_PRECONDITION when the workspace cannot run `op`.
fn require_operation(ws: &Workspace, op: Operation) -> Result<(), Error> {
    match ws.operation(op) {
        Some(s) if !s.how => {
            Err(Error::unsupported(format!("{} is not available on workspace {}: {}", op.method(), ws.name, s.note)))
        }
        _ => Ok(()),
    }
}

fn status(e: Error) -> Status {
    e.into()
}
