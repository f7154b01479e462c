//! ReleaseService: release packages and deployments.

use std::{pin::Pin, time::Duration};

use futures::Stream;
use tonic::{Request, Response, Status};

use super::{Api, reject_unsupported, require_operation, status, validate};
use crate::{
    auth::{Caller, Grant, Permission, audit::DeployAudit},
    deploy::fingerprint,
    domain::{
        CallCtx, DeployCall, Error, FileTarget, PackageOrder, PackageQuery, PageReq, Workspace,
        capability::{Filter, Operation, PackageFilter},
        is_terminal,
    },
    economy::Read,
    pb::{self, release_service_server::ReleaseService},
    server::admit::{CallerSlots, Slot},
};

const LIST: &str = "ListReleasePackages";
/// Most packages or files one deploy may name (the vendors' own limit).
pub(super) const MAX_DEPLOY_ITEMS: usize = 100;

fn order(check: &mut validate::Check, v: &str) -> PackageOrder {
    match v.split_whitespace().collect::<Vec<_>>().as_slice() {
        [] | ["create_time", "desc"] => PackageOrder::CreateTimeDesc,
        ["create_time"] | ["create_time", "asc"] => PackageOrder::CreateTimeAsc,
        ["execute_time", "desc"] => PackageOrder::ExecuteTimeDesc,
        ["execute_time"] | ["execute_time", "asc"] => PackageOrder::ExecuteTimeAsc,
        _ => {
            check.bad("order_by", "must be \"create_time [asc|desc]\" or \"execute_time [asc|desc]\"");
            PackageOrder::CreateTimeDesc
        }
    }
}

/// A deploy, once started, runs to its answer even if the caller's
/// deadline passes (the caller then retries with the same request_id and
/// gets the recorded outcome): cutting it short would leave the vendor's
/// answer unknown.
fn detached(mut ctx: crate::domain::CallCtx) -> crate::domain::CallCtx {
    ctx.deadline = None;
    ctx
}

/// Watch polling back-off: starts at 1 s, doubles up to 10 s.
fn watch_backoff(step: u32) -> Duration {
    Duration::from_millis((1000u64 << step.min(4)).min(10_000))
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<pb::WatchDeploymentResponse, Status>> + Send>>;

#[tonic::async_trait]
impl ReleaseService for Api {
    async fn list_release_packages(
        &self,
        req: Request<pb::ListReleasePackagesRequest>,
    ) -> Result<Response<pb::ListReleasePackagesResponse>, Status> {
        let r = req.get_ref();
        let mut check = validate::Check::default();
        let parent = check.take(validate::workspace("parent", &r.parent));
        let size = check.page_size(r.page_size);
        let keyword = check.text("keyword", &r.keyword);
        let mut states = Vec::new();
        for (i, s) in r.states.iter().enumerate() {
            match check.enumeration::<pb::ReleasePackageState>(&format!("states[{i}]"), *s) {
                Some(pb::ReleasePackageState::Unspecified) => {
                    check.bad(format!("states[{i}]"), "must not be UNSPECIFIED")
                }
                Some(s) if !states.contains(&s) => states.push(s),
                _ => {}
            }
        }
        let users = |check: &mut validate::Check, field: &str, list: &[pb::UserRef]| {
            if list.len() > 20 {
                check.bad(field, "at most 20 users");
            }
            list.iter()
                .enumerate()
                .filter_map(|(i, u)| check.user(&format!("{field}[{i}]"), Some(u)))
                .collect::<Vec<_>>()
        };
        let creators = users(&mut check, "creators", &r.creators);
        let executors = users(&mut check, "executors", &r.executors);
        let create_time = check.range("create_time", r.create_time.as_ref());
        let execute_time = check.range("execute_time", r.execute_time.as_ref());
        let order = order(&mut check, &r.order_by);
        let full = check.view(r.view);
        let filters = pb::ListReleasePackagesRequest { page_token: String::new(), page_size: 0, ..r.clone() };
        let cursor = check.take(self.open_token(LIST, &r.parent, &r.page_token, &filters)).flatten();
        check.finish().map_err(status)?;
        let parent = parent.expect("validated");
        let (ws, ctx, grant) = self.reader(&req, &parent).map_err(status)?;
        let f = Filter::Package;
        reject_unsupported(
            ws,
            &[
                (f(PackageFilter::Keyword), keyword.is_some()),
                (f(PackageFilter::States), !states.is_empty()),
                (f(PackageFilter::Creators), !creators.is_empty()),
                (f(PackageFilter::Executors), !executors.is_empty()),
                (f(PackageFilter::CreateTime), create_time.is_set()),
                (f(PackageFilter::ExecuteTime), execute_time.is_set()),
                (f(PackageFilter::OrderBy), order != PackageOrder::CreateTimeDesc),
            ],
        )
        .map_err(status)?;
        let q = PackageQuery {
            keyword,
            states,
            creators,
            executors,
            create_time,
            execute_time,
            order,
            page: PageReq { cursor, size },
            full,
        };
        let adapter = ws.adapter.clone();
        let page = self
            .economy()
            .read(&ctx, grant, Read::ListReleasePackages(q.clone()), |ctx| {
                let (adapter, q) = (adapter.clone(), q.clone());
                async move { adapter.list_release_packages(&ctx, q).await }
            })
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListReleasePackagesResponse {
            release_packages: page.items,
            next_page_token: self.seal(LIST, &r.parent, &filters, page.next),
            total_size: page.total.clamp(0, i64::from(i32::MAX)) as i32,
        }))
    }

    async fn get_release_package(
        &self,
        req: Request<pb::GetReleasePackageRequest>,
    ) -> Result<Response<pb::GetReleasePackageResponse>, Status> {
        let r = req.get_ref();
        let mut check = validate::Check::default();
        let name = check.take(validate::child("name", &r.name, "releasePackages"));
        let full = check.view(r.view);
        check.finish().map_err(status)?;
        let (w, id) = name.expect("validated");
        let (ws, ctx, grant) = self.reader(&req, &w).map_err(status)?;
        let adapter = ws.adapter.clone();
        let p = self
            .economy()
            .read(&ctx, grant, Read::GetReleasePackage { id: id.clone(), full }, |ctx| {
                let (adapter, id) = (adapter.clone(), id.clone());
                async move { adapter.get_release_package(&ctx, &id, full).await }
            })
            .await
            .map_err(status)?;
        Ok(Response::new(pb::GetReleasePackageResponse { release_package: Some(p) }))
    }

    async fn deploy_release_packages(
        &self,
        req: Request<pb::DeployReleasePackagesRequest>,
    ) -> Result<Response<pb::DeployReleasePackagesResponse>, Status> {
        let mut audit = DeployAudit::new("DeployReleasePackages");
        let r = req.get_ref();
        audit_request(&mut audit, &r.parent, &r.release_packages, &r.request_id);
        let out = self.deploy_packages(&req, &mut audit).await;
        let deployments = audited(audit, out)?;
        Ok(Response::new(pb::DeployReleasePackagesResponse { deployments }))
    }

    async fn deploy_files(
        &self,
        req: Request<pb::DeployFilesRequest>,
    ) -> Result<Response<pb::DeployFilesResponse>, Status> {
        let mut audit = DeployAudit::new("DeployFiles");
        let r = req.get_ref();
        audit_request(&mut audit, &r.parent, &r.files, &r.request_id);
        let out = self.deploy_files_audited(&req, &mut audit).await;
        let deployments = audited(audit, out)?;
        Ok(Response::new(pb::DeployFilesResponse { deployments }))
    }

    async fn get_deployment(
        &self,
        req: Request<pb::GetDeploymentRequest>,
    ) -> Result<Response<pb::GetDeploymentResponse>, Status> {
        let r = req.get_ref();
        let mut check = validate::Check::default();
        let name = check.take(validate::child("name", &r.name, "deployments"));
        let full = check.view(r.view);
        check.finish().map_err(status)?;
        let (w, id) = name.expect("validated");
        let (ws, ctx, grant) = self.reader(&req, &w).map_err(status)?;
        // What the engine last saw of a deployment it drives; otherwise
        // (and for the raw vendor record) one look at the vendor.
        let known = self.engine().watch(&w, &id).map(|rx| rx.borrow().clone());
        let d = match known {
            Some(d) if !full && d.state() != pb::DeploymentState::Unspecified => d,
            _ => self.look(ws, &ctx, &grant, &id, full).await.map_err(status)?,
        };
        Ok(Response::new(pb::GetDeploymentResponse { deployment: Some(d) }))
    }

    type WatchDeploymentStream = WatchStream;

    async fn watch_deployment(
        &self,
        req: Request<pb::WatchDeploymentRequest>,
    ) -> Result<Response<Self::WatchDeploymentStream>, Status> {
        let r = req.get_ref();
        let mut check = validate::Check::default();
        let name = check.take(validate::child("name", &r.name, "deployments"));
        let full = check.view(r.view);
        check.finish().map_err(status)?;
        let (w, id) = name.expect("validated");
        let (ws, ctx, grant) = self.reader(&req, &w).map_err(status)?;
        // The caller's watch slot, held as long as the stream is open.
        let slot = req.extensions().get::<CallerSlots>().map(CallerSlots::watch).transpose().map_err(status)?;
        if let Some(rx) = self.engine().watch(&w, &id).filter(|_| !full) {
            return Ok(Response::new(follow(rx, ctx.deadline, slot)));
        }
        // The first look happens before the stream starts, so a bad id fails the call itself.
        let first = self.look(ws, &ctx, &grant, &id, full).await.map_err(status)?;
        let (api, ws) = (self.clone(), ws.clone());
        let stream = async_stream::try_stream! {
            let _slot = slot;
            let mut last = first;
            yield pb::WatchDeploymentResponse { deployment: Some(last.clone()) };
            let mut step = 0;
            while !is_terminal(last.state()) {
                let pause = watch_backoff(step);
                if ctx.deadline.is_some_and(|d| tokio::time::Instant::now().into_std() + pause >= d) {
                    Err(Status::deadline_exceeded("the deployment had not ended before the call's deadline"))?;
                }
                tokio::time::sleep(pause).await;
                let now = api.look(&ws, &ctx, &grant, &id, full).await.map_err(Status::from)?;
                if now.state != last.state || now.error_message != last.error_message {
                    step = 0;
                    yield pb::WatchDeploymentResponse { deployment: Some(now.clone()) };
                } else {
                    step += 1;
                }
                last = now;
            }
        };
        Ok(Response::new(Box::pin(stream)))
    }
    async fn cancel_deployment(
        &self,
        req: Request<pb::CancelDeploymentRequest>,
    ) -> Result<Response<pb::CancelDeploymentResponse>, Status> {
        let mut audit = DeployAudit::cancel();
        let r = req.get_ref();
        audit_request(
            &mut audit,
            r.name.split("/deployments/").next().unwrap_or_default(),
            std::slice::from_ref(&r.name),
            "",
        );
        let out = self.cancel_audited(&req, &mut audit).await.map(|d| vec![d]);
        let deployment = audited(audit, out)?.pop();
        Ok(Response::new(pb::CancelDeploymentResponse { deployment }))
    }
}

impl Api {
    /// One look at a deployment at the vendor, shared with identical looks
    /// in flight; one that has ended may come from the cache.
    async fn look(
        &self,
        ws: &Workspace,
        ctx: &CallCtx,
        grant: &Grant,
        id: &str,
        full: bool,
    ) -> Result<pb::Deployment, Error> {
        let adapter = ws.adapter.clone();
        self.economy()
            .read(ctx, grant.clone(), Read::GetDeployment { id: id.to_owned(), full }, |ctx| {
                let (adapter, id) = (adapter.clone(), id.to_owned());
                async move { adapter.get_deployment(&ctx, &id, full).await }
            })
            .await
    }
}

/// Follows a deployment the engine drives: every state it publishes, until
/// a terminal one (watchers share the engine's polls; none of their own).
fn follow(
    mut rx: tokio::sync::watch::Receiver<pb::Deployment>,
    deadline: Option<std::time::Instant>,
    slot: Option<Slot>,
) -> WatchStream {
    Box::pin(async_stream::try_stream! {
        let _slot = slot;
        loop {
            let d = rx.borrow_and_update().clone();
            let ended = is_terminal(d.state());
            if d.state() != pb::DeploymentState::Unspecified {
                yield pb::WatchDeploymentResponse { deployment: Some(d) };
            }
            if ended {
                break;
            }
            let changed = rx.changed();
            let changed = match deadline {
                Some(d) => tokio::time::timeout_at(tokio::time::Instant::from_std(d), changed).await.map_err(|_| {
                    Status::deadline_exceeded("the deployment had not ended before the call's deadline")
                })?,
                None => changed.await,
            };
            if changed.is_err() {
                // The engine let go of it: the last state it published was final.
                break;
            }
        }
    })
}

/// The deploy handlers, each wrapped by its audit record. Each
/// authenticates its caller first (so even a refused request is audited
/// with who sent it), then validates, then checks the permission; no vendor
/// call happens before validation has passed.
impl Api {
    async fn deploy_packages(
        &self,
        req: &Request<pb::DeployReleasePackagesRequest>,
        audit: &mut DeployAudit,
    ) -> Result<Vec<pb::Deployment>, Error> {
        let caller = self.deploy_caller(req, audit)?;
        let r = req.get_ref();
        let mut check = validate::Check::default();
        let parent = check.take(validate::workspace("parent", &r.parent));
        let ids = check.deploy_items(
            "release_packages",
            "release package",
            parent.as_deref(),
            &r.release_packages,
            MAX_DEPLOY_ITEMS,
            |field, n| validate::child(field, n, "releasePackages").map(|(w, id)| (w, id.clone(), id)),
        );
        let startup = check.enumeration::<pb::StartupMode>("startup_mode", r.startup_mode);
        let request_id = check.request_id(&r.request_id);
        check.finish()?;
        let (ws, ctx) = self.deploy_ctx(req, &parent.expect("validated"), &caller)?;
        require_operation(ws, Operation::DeployReleasePackages)?;
        let startup = startup.expect("validated");
        let fp = fingerprint(&["DeployReleasePackages", &r.parent, &ids.join("\n"), startup.as_str_name()]);
        let (adapter, ctx) = (ws.adapter.clone(), detached(ctx));
        let (finder, fctx, fids) = (adapter.clone(), ctx.clone(), ids.clone());
        let resolve = move |since| async move {
            finder.find_deploy(&fctx, DeployCall::Packages { ids: &fids, startup }, since).await
        };
        let deploy = async move { adapter.deploy_release_packages(&ctx, &ids, startup).await };
        let out = self.ledger().run_resolving(&request_id, &fp, deploy, resolve).await;
        // A deploy moves the state of the versions it takes; which files a
        // package holds is the vendor's to say, so every kept version goes.
        self.economy().forget_versions(&ws.name, None).await;
        let mut deployments = out?;
        for d in &mut deployments {
            d.request_id.clone_from(&request_id);
        }
        Ok(self.engine().track(&ws.name, caller.identity.as_deref().unwrap_or_default(), deployments).await)
    }

    async fn deploy_files_audited(
        &self,
        req: &Request<pb::DeployFilesRequest>,
        audit: &mut DeployAudit,
    ) -> Result<Vec<pb::Deployment>, Error> {
        let caller = self.deploy_caller(req, audit)?;
        let r = req.get_ref();
        let mut check = validate::Check::default();
        let parent = check.take(validate::workspace("parent", &r.parent));
        let targets = check.deploy_items("files", "file", parent.as_deref(), &r.files, MAX_DEPLOY_ITEMS, |field, n| {
            if n.contains("/versions/") {
                validate::file_version(field, n).map(|(w, id, v)| (w, id.clone(), FileTarget { id, version: Some(v) }))
            } else {
                validate::child(field, n, "files").map(|(w, id)| (w, id.clone(), FileTarget { id, version: None }))
            }
        });
        if r.comment.len() > 1024 {
            check.bad("comment", "must be at most 1024 bytes");
        } else if r.comment.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            check.bad("comment", "must not contain control characters (other than newlines and tabs)");
        }
        let startup = check.enumeration::<pb::StartupMode>("startup_mode", r.startup_mode);
        let request_id = check.request_id(&r.request_id);
        check.finish()?;
        let (ws, ctx) = self.deploy_ctx(req, &parent.expect("validated"), &caller)?;
        require_operation(ws, Operation::DeployFiles)?;
        let startup = startup.expect("validated");
        let names: Vec<String> = targets.iter().map(|t| format!("{}@{}", t.id, t.version.unwrap_or(0))).collect();
        let comment = r.comment.trim().to_owned();
        let fp = fingerprint(&["DeployFiles", &r.parent, &names.join("\n"), &comment, startup.as_str_name()]);
        let (adapter, ctx) = (ws.adapter.clone(), detached(ctx));
        let (finder, fctx, ftargets, fcomment) = (adapter.clone(), ctx.clone(), targets.clone(), comment.clone());
        let resolve = move |since| async move {
            let call = DeployCall::Files { files: &ftargets, comment: &fcomment };
            finder.find_deploy(&fctx, call, since).await
        };
        let files: Vec<String> = targets.iter().map(|t| t.id.clone()).collect();
        let deploy = async move { adapter.deploy_files(&ctx, &targets, &comment, startup).await };
        let out = self.ledger().run_resolving(&request_id, &fp, deploy, resolve).await;
        // The deployed files' versions change state and `is_current_prod`.
        self.economy().forget_versions(&ws.name, Some(&files)).await;
        let mut deployments = out?;
        for d in &mut deployments {
            d.request_id.clone_from(&request_id);
        }
        Ok(self.engine().track(&ws.name, caller.identity.as_deref().unwrap_or_default(), deployments).await)
    }

    async fn cancel_audited(
        &self,
        req: &Request<pb::CancelDeploymentRequest>,
        audit: &mut DeployAudit,
    ) -> Result<pb::Deployment, Error> {
        let caller = self.deploy_caller(req, audit)?;
        let r = req.get_ref();
        let mut check = validate::Check::default();
        let name = check.take(validate::child("name", &r.name, "deployments"));
        check.finish()?;
        let (w, id) = name.expect("validated");
        let (ws, ctx) = self.deploy_ctx(req, &w, &caller)?;
        require_operation(ws, Operation::CancelDeployment)?;
        self.engine().cancel(&ctx, ws.adapter.as_ref(), &id).await
    }

    /// Authenticates the caller before its request is looked at, recording
    /// who it is in `audit`; an anonymous caller is refused (UNAUTHENTICATED)
    /// when auth is enforced, since no policy grants it deploys.
    fn deploy_caller<T>(&self, req: &Request<T>, audit: &mut DeployAudit) -> Result<Caller, Error> {
        let caller = self.auth().authenticate(req)?;
        audit.identity.clone_from(&caller.identity);
        audit.via = caller.via;
        self.auth().require_credentials(&caller)?;
        Ok(caller)
    }

    /// Checks the authenticated caller's deploy permission, and gives the
    /// workspace and a call context.
    fn deploy_ctx<T>(
        &self,
        req: &Request<T>,
        workspace: &str,
        caller: &Caller,
    ) -> Result<(&crate::domain::Workspace, crate::domain::CallCtx), Error> {
        self.auth().check(caller, workspace, Permission::Deploy)?;
        self.ctx_as(req, workspace, caller)
    }
}

/// Longest item list and request_id kept in an audit line.
const AUDIT_ITEMS: usize = MAX_DEPLOY_ITEMS;
const AUDIT_ID_CHARS: usize = 64;

/// What the caller asked for, before any validation (bounded in size).
fn audit_request(audit: &mut DeployAudit, parent: &str, items: &[String], request_id: &str) {
    audit.workspace = parent.strip_prefix("workspaces/").unwrap_or(parent).chars().take(AUDIT_ID_CHARS).collect();
    audit.items = items.iter().take(AUDIT_ITEMS).map(|i| i.chars().take(256).collect()).collect();
    audit.request_id = request_id.chars().take(AUDIT_ID_CHARS).collect();
}

/// Logs the audit line of a finished deploy attempt and hands its answer on.
fn audited(audit: DeployAudit, out: Result<Vec<pb::Deployment>, Error>) -> Result<Vec<pb::Deployment>, Status> {
    match &out {
        Ok(d) => audit.finish(Ok(&d.iter().map(|d| d.name.clone()).collect::<Vec<_>>())),
        Err(e) => audit.finish(Err(e)),
    }
    out.map_err(status)
}
