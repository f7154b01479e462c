//! Release packages, deploys and deployments on DataArts Factory.

use serde_json::Value;
use tonic::Code;

use super::{
    HuaweiAdapter,
    api::Api,
    client::{Req, Service, listed, parse_json, row, seg},
    cursor::{self, MAX_SCAN_CALLS, Pos, VENDOR_MAX_LIMIT},
    map::{self, FileRef},
    wire::{self, Row},
};
use crate::{
    domain::{
        CallCtx, Error, FileTarget, PackageOrder, PackageQuery, Page, Reason, Result, Unmet, UserKey, Violation,
        target_name, time,
    },
    pb,
    providers::lookup::{Looked, all_or_none, write_once},
};

/// Longest package name DataArts accepts.
const MAX_PACKAGE_NAME: usize = 128;
/// Most pending-item pages read to find one file's pending item.
const MAX_PENDING_PAGES: u32 = 10;

/// A user filter split into what the vendor can apply (names) and what the
/// gateway must (ids; then names too, since the filter is a union).
struct Users {
    names: Vec<String>,
    ids: Vec<String>,
}

impl Users {
    fn of(keys: &[UserKey]) -> Users {
        let mut u = Users { names: Vec::new(), ids: Vec::new() };
        for k in keys {
            match k {
                UserKey::Name(n) => u.names.push(n.clone()),
                UserKey::Id(i) => u.ids.push(i.clone()),
            }
        }
        u
    }
    /// Whether the gateway filters (some values are ids).
    fn local(&self) -> bool {
        !self.ids.is_empty()
    }
    /// The vendor's name filter, when it can apply the whole filter.
    fn vendor(&self) -> Option<Vec<String>> {
        (!self.local() && !self.names.is_empty()).then(|| self.names.clone())
    }
    fn matches(&self, id: &str, name: &str) -> bool {
        !self.local() || self.ids.iter().any(|i| i == id) || self.names.iter().any(|n| n == name)
    }
}

fn numeric(id: &str) -> bool {
    !id.is_empty() && id.len() <= 19 && id.bytes().all(|b| b.is_ascii_digit())
}

/// Async task ids become part of deployment names: keep them plain.
fn task_id_ok(t: &str) -> bool {
    !t.is_empty() && t.len() <= 128 && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `{package_id}-{asy_task_id}` → the two; a bare `{package_id}` names the
/// deployment of a package whose deploy answer was lost and found applied
/// by a lookup (the task id is then not known).
fn parse_deployment(id: &str) -> Option<(&str, Option<&str>)> {
    match id.split_once('-') {
        Some((p, t)) => (numeric(p) && task_id_ok(t)).then_some((p, Some(t))),
        None => numeric(id).then_some((id, None)),
    }
}

/// How far the vendor's clock may be behind the gateway's, in ms.
const CLOCK_SKEW_MS: i64 = 120_000;

impl HuaweiAdapter {
    fn factory(&self, rest: &str) -> String {
        format!("/v2/{}/factory/{rest}", self.client.project())
    }

    async fn package_page(
        &self,
        ctx: &CallCtx,
        mut body: wire::ListPackagesBody,
        offset: u32,
        limit: u32,
        full: bool,
    ) -> Result<(wire::Rows<wire::Package>, i64)> {
        body.offset = offset;
        body.limit = limit;
        let req = Req::post(Service::Factory, self.factory("release-packages"), &body)?;
        let answer = self.client.call(ctx, Api::ReleasePackagesList, req).await?;
        listed(&answer, wire::RowsKey::Data, offset, full)
    }

    pub(super) async fn list_packages(&self, ctx: &CallCtx, q: PackageQuery) -> Result<Page<pb::ReleasePackage>> {
        let statuses: Vec<i64> = q.states.iter().filter_map(|s| map::status_code(*s)).collect();
        if !q.states.is_empty() && statuses.is_empty() {
            // Only states DataArts never reports: nothing can match.
            return Ok(Page { items: Vec::new(), next: None, total: 0 });
        }
        let (creators, executors) = (Users::of(&q.creators), Users::of(&q.executors));
        let local = creators.local() || executors.local();
        let (order_column, sorted_direction) = match q.order {
            PackageOrder::CreateTimeDesc => (None, None),
            PackageOrder::CreateTimeAsc => (Some("apply_timestamp"), Some("asc")),
            PackageOrder::ExecuteTimeDesc => (Some("deploy_timestamp"), Some("desc")),
            PackageOrder::ExecuteTimeAsc => (Some("deploy_timestamp"), Some("asc")),
        };
        let body = wire::ListPackagesBody {
            key_word: q.keyword.clone(),
            apply_user_name_filter: creators.vendor(),
            deploy_user_name_filter: executors.vendor(),
            apply_begin_time: q.create_time.start,
            apply_end_time: q.create_time.end,
            deploy_begin_time: q.execute_time.start,
            deploy_end_time: q.execute_time.end,
            deploy_status_filter: (!statuses.is_empty()).then_some(statuses),
            sorted_direction,
            order_column,
            limit: 0,
            offset: 0,
        };
        let start = match &q.page.cursor {
            Some(c) => cursor::decode_pos(c)?,
            None => Pos::start(if local { VENDOR_MAX_LIMIT } else { q.page.size }),
        };
        let keep = |Row(p, _): &Row<wire::Package>| {
            creators.matches(&p.apply_user_id, &p.apply_user_name)
                && executors.matches(&p.deploy_user_id, &p.deploy_user_name)
        };
        let fetch = |o, l| self.package_page(ctx, body.clone(), o, l, q.full);
        let s = cursor::scan(start, q.page.size as usize, MAX_SCAN_CALLS, fetch, keep).await?;
        Ok(Page {
            items: s.items.into_iter().map(|Row(p, raw)| map::package(ctx, p, raw.as_deref(), q.full)).collect(),
            next: s.next.map(|p| cursor::encode(&p)),
            total: s.total.unwrap_or_default(),
        })
    }

    async fn package_detail(&self, ctx: &CallCtx, id: &str) -> Result<(wire::PackageDetail, wire::Package, wire::Raw)> {
        let req = Req::get(Service::Factory, self.factory(&format!("release-packages/{}", seg(id))));
        let answer = self.client.call(ctx, Api::ReleasePackagesGet, req).await?;
        let raw: wire::Raw = parse_json(&answer)?;
        let detail: wire::PackageDetail = row(&answer, &raw)?;
        let package = detail.release_package.clone().ok_or_else(|| {
            let body: Option<Value> = serde_json::from_str(raw.get()).ok();
            Error::malformed(
                super::client::VENDOR.name,
                &super::client::request_id(&answer, body.as_ref()),
                answer.status.as_u16(),
                "package detail without release_package",
            )
        })?;
        Ok((detail, package, raw))
    }

    pub(super) async fn get_package(&self, ctx: &CallCtx, id: &str, full: bool) -> Result<pb::ReleasePackage> {
        if !numeric(id) {
            return Err(Error::invalid("name", "DataArts release package ids are numeric"));
        }
        let (detail, package, raw) = self.package_detail(ctx, id).await?;
        let mut p = map::package(ctx, package, Some(&raw), full);
        p.items = detail.task_details.iter().map(|t| map::item(ctx, t)).collect();
        if p.state() == pb::ReleasePackageState::Failed {
            p.error_message = map::failure_message(&detail.task_details);
        }
        Ok(p)
    }

    pub(super) async fn deploy_packages(
        &self,
        ctx: &CallCtx,
        ids: &[String],
        startup: pb::StartupMode,
    ) -> Result<Vec<pb::Deployment>> {
        let bad: Vec<Violation> = ids
            .iter()
            .enumerate()
            .filter(|(_, id)| !numeric(id))
            .map(|(i, _)| Violation {
                field: format!("release_packages[{i}]"),
                description: "DataArts release package ids are numeric".into(),
            })
            .collect();
        if !bad.is_empty() {
            return Err(Error::invalid_all(bad));
        }
        let since = time::now_ms();
        let send = || self.send_deploy(ctx, ids, startup);
        write_once("release-packages/deploy", send, || self.find_package_deploy(ctx, ids, startup, since)).await
    }

    /// POST release-packages/deploy.
    async fn send_deploy(
        &self,
        ctx: &CallCtx,
        ids: &[String],
        startup: pb::StartupMode,
    ) -> Result<Vec<pb::Deployment>> {
        let body = wire::DeployBody { package_ids: ids.to_vec(), startup_mode: map::startup_mode(startup) };
        let req = Req::post(Service::Factory, self.factory("release-packages/deploy"), &body)?;
        let answer = self.client.call(ctx, Api::ReleasePackagesDeploy, req).await?;
        let reply: wire::DeployReply = parse_json(&answer)?;
        let rid = super::client::request_id(&answer, None);
        let bad_reply = |what: String| Error::malformed(super::client::VENDOR.name, &rid, answer.status.as_u16(), what);
        let now = time::ts(Some(time::now_ms()));
        ids.iter()
            .map(|id| {
                let want: u64 = id.parse().unwrap_or_default();
                let d = reply
                    .deploy_package_details
                    .iter()
                    .find(|d| d.package_id.trim().parse::<u64>().ok() == Some(want))
                    .ok_or_else(|| bad_reply(format!("the deploy reply does not mention package {id}")))?;
                if !task_id_ok(&d.asy_task_id) {
                    return Err(bad_reply(format!("the deploy reply has no usable asy_task_id for package {id}")));
                }
                Ok(pb::Deployment {
                    name: ctx.name("deployments", format!("{id}-{}", d.asy_task_id)),
                    vendor: pb::Vendor::HuaweiDataarts as i32,
                    state: pb::DeploymentState::Running as i32,
                    release_package: ctx.name("releasePackages", id),
                    create_time: now,
                    update_time: now,
                    startup_mode: startup as i32,
                    vendor_task_id: d.asy_task_id.clone(),
                    vendor_subtask_count: d.asy_subtask_num.unwrap_or_default().clamp(0, i64::from(i32::MAX)) as i32,
                    ..Default::default()
                })
            })
            .collect()
    }

    /// Whether a release-packages/deploy of `ids` sent at `since` was
    /// applied: the vendor moves a deployed package to releasing (5), then
    /// succeeded (2) or failed (3, with its release time), and only
    /// pending (1) or failed packages can be deployed (vendor reference
    /// 2.5). Every package moved: applied (the deployments are named by
    /// package alone: the answer's task ids are lost); none: not applied;
    /// some: unknown.
    pub(super) async fn find_package_deploy(
        &self,
        ctx: &CallCtx,
        ids: &[String],
        startup: pb::StartupMode,
        since: i64,
    ) -> Result<Looked<Vec<pb::Deployment>>> {
        let from = since - CLOCK_SKEW_MS;
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            let (_, package, _) = self.package_detail(ctx, id).await?;
            let moved = match package.deploy_status {
                Some(5 | 2) => true,
                Some(3) => package.deploy_timestamp.is_some_and(|t| t >= from),
                _ => false,
            };
            if moved {
                found.push(pb::Deployment {
                    name: ctx.name("deployments", id),
                    vendor: pb::Vendor::HuaweiDataarts as i32,
                    state: map::deployment_state(package.deploy_status) as i32,
                    release_package: ctx.name("releasePackages", id),
                    create_time: time::ts(package.deploy_timestamp),
                    startup_mode: startup as i32,
                    ..Default::default()
                });
            }
        }
        all_or_none(found, ids.len())
    }

    /// The package a pending-items/package named `name` sent at `since`
    /// made, if any: release packages listed by that name (key_word) and
    /// applied since then (apply_begin_time, less the clock skew); exactly
    /// one of that exact name is it, several leave the outcome unknown.
    async fn find_package(&self, ctx: &CallCtx, name: &str, since: i64) -> Result<Looked<String>> {
        let body = wire::ListPackagesBody {
            key_word: Some(name.to_owned()),
            apply_begin_time: Some(since - CLOCK_SKEW_MS),
            ..Default::default()
        };
        let (rows, _) = self.package_page(ctx, body, 0, VENDOR_MAX_LIMIT, false).await?;
        let same: Vec<&wire::Package> = rows.iter().map(|Row(p, _)| p).filter(|p| p.package_name == name).collect();
        match same.as_slice() {
            [] => Ok(Looked::NotApplied),
            [one] => Ok(Looked::Applied(one.package_id.trim().to_owned())),
            many => Err(Error::new(
                Code::Unknown,
                Reason::DeployOutcomeUnknown,
                format!("{} packages named {name:?} were made since the deploy was sent", many.len()),
            )),
        }
    }

    /// The unpackaged pending item of `f`, if any.
    async fn find_pending(&self, ctx: &CallCtx, f: &FileRef) -> Result<Option<wire::PendingItem>> {
        for page in 0..MAX_PENDING_PAGES {
            let offset = page * VENDOR_MAX_LIMIT;
            let req = Req::get(Service::Factory, self.factory("pending-items"))
                .query("item_name", f.name())
                .query("task_type", f.task_type())
                .query("limit", VENDOR_MAX_LIMIT)
                .query("offset", offset);
            let answer = self.client.call(ctx, Api::PendingItemsList, req).await?;
            let list: wire::Listing = parse_json(&answer)?;
            let n = list.data.len();
            for raw in &list.data {
                let item: wire::PendingItem = row(&answer, raw)?;
                if item.item_name == f.name()
                    && item.task_type.is_none_or(|t| t == f.task_type())
                    && item.package_flag.unwrap_or(0) == 0
                {
                    return Ok(Some(item));
                }
            }
            let end = i64::from(offset) + i64::from(VENDOR_MAX_LIMIT);
            if n < VENDOR_MAX_LIMIT as usize || list.total.is_some_and(|t| end >= t) {
                break;
            }
        }
        Ok(None)
    }

    /// The pending item of every file, all found and checked before
    /// anything is packaged (one pending-items search per file): every file
    /// without one, or whose pinned version is not the pending one, is named
    /// in one error.
    async fn pending_items(
        &self,
        ctx: &CallCtx,
        files: &[FileTarget],
        refs: &[FileRef],
    ) -> Result<Vec<wire::PendingItem>> {
        let mut items = Vec::with_capacity(refs.len());
        let mut unmet = Vec::new();
        for (i, (f, t)) in refs.iter().zip(files).enumerate() {
            let unmet_as = |kind, why: String| Unmet {
                kind,
                subject: target_name(ctx, t),
                description: format!("files[{i}]: {why}"),
            };
            match self.find_pending(ctx, f).await? {
                None => unmet.push(unmet_as(
                    Reason::FileNotPending,
                    format!("{} has no submitted version waiting for release; submit it first", f.id()),
                )),
                Some(item) if t.version.is_some_and(|v| item.pending_version != Some(v)) => unmet.push(unmet_as(
                    Reason::VersionNotPending,
                    format!(
                        "version {} of {} is not the one waiting for release (that is version {})",
                        t.version.unwrap_or_default(),
                        f.id(),
                        item.pending_version.unwrap_or_default()
                    ),
                )),
                Some(item) => items.push(item),
            }
        }
        if unmet.is_empty() { Ok(items) } else { Err(Error::deploy_preconditions(unmet)) }
    }

    pub(super) async fn deploy_pending_files(
        &self,
        ctx: &CallCtx,
        files: &[FileTarget],
        comment: &str,
        startup: pb::StartupMode,
    ) -> Result<Vec<pb::Deployment>> {
        let mut refs = Vec::with_capacity(files.len());
        let mut bad = Vec::new();
        for (i, t) in files.iter().enumerate() {
            match FileRef::parse(&t.id) {
                Some(f @ (FileRef::Script(_) | FileRef::Job(_))) => refs.push(f),
                _ => bad.push(Violation {
                    field: format!("files[{i}]"),
                    description: "DataArts file ids are script:{name} or job:{name}".into(),
                }),
            }
        }
        if !bad.is_empty() {
            return Err(Error::invalid_all(bad));
        }
        let approvers = self.approver_ids(ctx).await?;
        let items = self.pending_items(ctx, files, &refs).await?;
        let package_name: String = if comment.is_empty() {
            format!("datastudio-gateway-{}", time::now_ms())
        } else {
            comment.chars().take(MAX_PACKAGE_NAME).collect()
        };
        let apply_user_id = items.first().map(|i| i.submit_user_id.clone()).unwrap_or_default();
        // The packager cannot approve its own package.
        let approver_ids: Vec<String> = approvers.iter().filter(|a| **a != apply_user_id).cloned().collect();
        if approver_ids.is_empty() {
            return Err(Error::unsupported(format!(
                "the only configured approver is the packager of these files (user {apply_user_id}, who submitted \
                 them), who cannot approve its own package: add another admin or deployer to `approvers`"
            )));
        }
        let body = wire::PackageItemsBody {
            apply_user_id,
            package_name,
            pending_item_list: items.iter().map(|i| i.pending_item_id.clone()).collect(),
            approver_ids,
        };
        let since = time::now_ms();
        let send = || async {
            let req = Req::post(Service::Factory, self.factory("pending-items/package"), &body)?;
            let answer = self.client.call(ctx, Api::PendingItemsPackage, req).await?;
            let created: wire::PackageCreated = parse_json(&answer)?;
            let id = created.release_package_id.trim().to_owned();
            if !numeric(&id) {
                let rid = super::client::request_id(&answer, None);
                return Err(Error::malformed(
                    super::client::VENDOR.name,
                    &rid,
                    answer.status.as_u16(),
                    "no release_package_id",
                ));
            }
            Ok(id)
        };
        let look = || self.find_package(ctx, &body.package_name, since);
        let id = write_once("pending-items/package", send, look).await?;
        let mut deployments = self
            .deploy_packages(ctx, std::slice::from_ref(&id), startup)
            .await
            .map_err(|e| e.with_meta("release_package", ctx.name("releasePackages", &id)))?;
        for d in &mut deployments {
            d.files = refs.iter().map(|f| ctx.name("files", f.id())).collect();
        }
        Ok(deployments)
    }

    pub(super) async fn deployment(&self, ctx: &CallCtx, id: &str, full: bool) -> Result<pb::Deployment> {
        let Some((package_id, task_id)) = parse_deployment(id) else {
            return Err(Error::invalid(
                "name",
                "DataArts deployment ids are {package_id}-{asy_task_id} or {package_id}",
            ));
        };
        let (detail, package, raw) = self.package_detail(ctx, package_id).await?;
        let state = map::deployment_state(package.deploy_status);
        let mut error_message = String::new();
        if state == pb::DeploymentState::Failed
            && let Some(task_id) = task_id
        {
            let req = Req::get(Service::Dlf, format!("/v1/{}/system-tasks/{}", self.client.project(), seg(task_id)));
            match self.client.call(ctx, Api::SystemTasksShow, req).await {
                Ok(answer) => {
                    let task: wire::SystemTask = parse_json(&answer)?;
                    error_message = task.message;
                }
                Err(e) if e.code == Code::NotFound => {}
                Err(e) => return Err(e),
            }
            let items = map::failure_message(&detail.task_details);
            if !items.is_empty() {
                error_message = if error_message.is_empty() { items } else { format!("{error_message} ({items})") };
            }
        }
        Ok(pb::Deployment {
            name: ctx.name("deployments", id),
            vendor: pb::Vendor::HuaweiDataarts as i32,
            state: state as i32,
            release_package: ctx.name("releasePackages", package_id),
            files: detail
                .task_details
                .iter()
                .map(|t| ctx.name("files", FileRef::of_item(t.task_type, &t.item_name).id()))
                .collect(),
            create_time: time::ts(package.deploy_timestamp),
            error_message,
            vendor_task_id: task_id.unwrap_or_default().to_owned(),
            vendor_record: map::raw_record(full, Some(&raw)),
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_ids() {
        assert_eq!(
            parse_deployment("23-ff8080818c81c8ab018c8b43f85d0008"),
            Some(("23", Some("ff8080818c81c8ab018c8b43f85d0008")))
        );
        assert_eq!(parse_deployment("23"), Some(("23", None)), "found by a lost-answer lookup");
        assert_eq!(parse_deployment("x-1"), None);
        assert_eq!(parse_deployment("23-"), None);
        assert_eq!(parse_deployment("23-a/b"), None);
        assert!(numeric("42") && !numeric("4a") && !numeric(""));
    }

    #[test]
    fn user_filters_split_between_vendor_and_gateway() {
        let names = Users::of(&[UserKey::Name("alice".into())]);
        assert_eq!(names.vendor(), Some(vec!["alice".to_owned()]));
        assert!(names.matches("x", "bob"), "the vendor applied it");
        let mixed = Users::of(&[UserKey::Name("alice".into()), UserKey::Id("u2".into())]);
        assert_eq!(mixed.vendor(), None);
        assert!(mixed.matches("u2", "bob") && mixed.matches("u9", "alice") && !mixed.matches("u9", "bob"));
    }
}
