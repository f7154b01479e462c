//! DataArts wire records → neutral `datastudio.v1` messages (tables in the
//! module docs of [`super`]).

use serde_json::{Value, value::RawValue};

use super::wire;
use crate::{
    domain::{CallCtx, time},
    pb,
};

/// A neutral file id on DataArts: `script:{name}`, `job:{name}` (names are
/// unique per workspace and are what the v1 APIs take) or `resource:{name}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum FileRef {
    /// A script.
    Script(String),
    /// A job.
    Job(String),
    /// A resource (appears in packages only).
    Resource(String),
}

impl FileRef {
    /// Parses a neutral file id.
    pub(super) fn parse(id: &str) -> Option<FileRef> {
        let (kind, name) = id.split_once(':')?;
        // The name becomes a URL path segment: a dot segment would change
        // the path (and the signature the vendor checks).
        if name.is_empty() || matches!(name, "." | "..") {
            return None;
        }
        match kind {
            "script" => Some(FileRef::Script(name.to_owned())),
            "job" => Some(FileRef::Job(name.to_owned())),
            "resource" => Some(FileRef::Resource(name.to_owned())),
            _ => None,
        }
    }

    /// The item of a package (`task_type`, `item_name`).
    pub(super) fn of_item(task_type: Option<i64>, name: &str) -> FileRef {
        match task_type {
            Some(1) => FileRef::Job(name.to_owned()),
            Some(3) => FileRef::Resource(name.to_owned()),
            _ => FileRef::Script(name.to_owned()),
        }
    }

    /// The vendor name.
    pub(super) fn name(&self) -> &str {
        match self {
            FileRef::Script(n) | FileRef::Job(n) | FileRef::Resource(n) => n,
        }
    }

    /// `task_type` of pending items (1 job, 2 script, 3 resource).
    pub(super) fn task_type(&self) -> i64 {
        match self {
            FileRef::Job(_) => 1,
            FileRef::Script(_) => 2,
            FileRef::Resource(_) => 3,
        }
    }

    /// The neutral id.
    pub(super) fn id(&self) -> String {
        match self {
            FileRef::Script(n) => format!("script:{n}"),
            FileRef::Job(n) => format!("job:{n}"),
            FileRef::Resource(n) => format!("resource:{n}"),
        }
    }
}

/// `deploy_status` → package (and item) state.
pub(super) fn package_state(code: Option<i64>) -> pb::ReleasePackageState {
    match code {
        Some(1) => pb::ReleasePackageState::PendingApproval,
        Some(2) => pb::ReleasePackageState::Succeeded,
        Some(3) => pb::ReleasePackageState::Failed,
        Some(5) => pb::ReleasePackageState::Deploying,
        _ => pb::ReleasePackageState::Unspecified,
    }
}

/// Package state → `deploy_status`, where DataArts has one.
pub(super) fn status_code(s: pb::ReleasePackageState) -> Option<i64> {
    match s {
        pb::ReleasePackageState::PendingApproval => Some(1),
        pb::ReleasePackageState::Succeeded => Some(2),
        pb::ReleasePackageState::Failed => Some(3),
        pb::ReleasePackageState::Deploying => Some(5),
        _ => None,
    }
}

/// `deploy_status` → deployment state.
pub(super) fn deployment_state(code: Option<i64>) -> pb::DeploymentState {
    match code {
        Some(1) => pb::DeploymentState::Pending,
        Some(5) => pb::DeploymentState::Running,
        Some(2) => pb::DeploymentState::Succeeded,
        Some(3) => pb::DeploymentState::Failed,
        _ => pb::DeploymentState::Unspecified,
    }
}

/// `update_type` → change type.
pub(super) fn change_type(code: Option<i64>) -> pb::ChangeType {
    match code {
        Some(1) => pb::ChangeType::Added,
        Some(2) => pb::ChangeType::Modified,
        Some(3) => pb::ChangeType::Deleted,
        _ => pb::ChangeType::Unspecified,
    }
}

/// `start_job_status` → job start state.
pub(super) fn job_start(code: Option<i64>) -> pb::JobStartState {
    match code {
        Some(2) => pb::JobStartState::Succeeded,
        Some(3) => pb::JobStartState::Failed,
        _ => pb::JobStartState::Unspecified,
    }
}

/// `startup_mode` for a neutral startup mode. The vendor's default (the key
/// omitted) is 1, jobs start right after release; the gateway always sends
/// the key and starts jobs only when asked (vendor-apis.md §5.11), so
/// UNSPECIFIED sends 0 like DEPLOY_ONLY.
pub(super) fn startup_mode(m: pb::StartupMode) -> i64 {
    match m {
        pb::StartupMode::Unspecified | pb::StartupMode::DeployOnly => 0,
        pb::StartupMode::DeployAndStart => 1,
    }
}

/// Text a message takes: moved when owned, copied when borrowed.
pub(super) trait Text: AsRef<str> + Into<String> {}

impl<T: AsRef<str> + Into<String>> Text for T {}

/// A user from an (id, name) pair; None when both are empty.
pub(super) fn user(id: impl Text, name: impl Text) -> Option<pb::User> {
    (!id.as_ref().is_empty() || !name.as_ref().is_empty())
        .then(|| pb::User { id: id.into(), display_name: name.into() })
}

/// A user known by name only.
pub(super) fn named(name: impl Text) -> Option<pb::User> {
    user("", name)
}

fn record(full: bool, raw: &Value) -> Option<prost_types::Struct> {
    full.then(|| time::json_to_struct(raw))
}

/// A raw row as the VIEW_FULL record; rows are read only when asked for.
pub(super) fn raw_record(full: bool, raw: Option<&RawValue>) -> Option<prost_types::Struct> {
    let raw = raw.filter(|_| full)?;
    serde_json::from_str::<Value>(raw.get()).ok().map(|v| time::json_to_struct(&v))
}

/// A package (list row or detail), without items; its text moves into
/// the message rather than being copied.
pub(super) fn package(ctx: &CallCtx, p: wire::Package, raw: Option<&RawValue>, full: bool) -> pb::ReleasePackage {
    pb::ReleasePackage {
        name: ctx.name("releasePackages", &p.package_id),
        vendor: pb::Vendor::HuaweiDataarts as i32,
        display_name: p.package_name,
        state: package_state(p.deploy_status) as i32,
        creator: user(p.apply_user_id, p.apply_user_name),
        executor: user(p.deploy_user_id, p.deploy_user_name),
        create_time: time::ts(p.apply_timestamp),
        execute_time: time::ts(p.deploy_timestamp),
        approvers: p.package_approvers.into_iter().filter_map(|a| user(a.user_id, a.user_name)).collect(),
        target_environment: pb::Environment::Production as i32,
        deleted: p.delete_flag == Some(1),
        vendor_record: raw_record(full, raw),
        ..Default::default()
    }
}

/// A package item.
pub(super) fn item(ctx: &CallCtx, t: &wire::TaskDetail) -> pb::ReleasePackageItem {
    let file = FileRef::of_item(t.task_type, &t.item_name);
    pb::ReleasePackageItem {
        file: ctx.name("files", file.id()),
        file_display_name: t.item_name.clone(),
        version: t.pending_version.unwrap_or_default(),
        deployed_version: t.deployed_version.unwrap_or_default(),
        state: package_state(t.deploy_status) as i32,
        change_type: change_type(t.update_type) as i32,
        submitter: user(&t.submit_user_id, &t.submit_user_name),
        submit_time: time::ts(t.submit_timestamp),
        job_start_state: job_start(t.start_job_status) as i32,
        kind: match file {
            FileRef::Script(_) => pb::FileKind::Script,
            FileRef::Job(_) => pb::FileKind::Job,
            FileRef::Resource(_) => pb::FileKind::Resource,
        } as i32,
    }
}

/// DataArts has no failure message on packages: name the failed items.
pub(super) fn failure_message(items: &[wire::TaskDetail]) -> String {
    let failed: Vec<String> = items
        .iter()
        .filter_map(|t| {
            let id = FileRef::of_item(t.task_type, &t.item_name).id();
            match (t.deploy_status, t.start_job_status) {
                (Some(3), _) => Some(format!("{id} failed to release")),
                (_, Some(3)) => Some(format!("{id} failed to start")),
                _ => None,
            }
        })
        .collect();
    failed.join("; ")
}

/// A v2 script row (its text moves into the message).
pub(super) fn script_file(ctx: &CallCtx, s: wire::ScriptRow, raw: Option<&RawValue>, full: bool) -> pb::File {
    pb::File {
        name: ctx.name("files", FileRef::Script(s.name.clone()).id()),
        vendor: pb::Vendor::HuaweiDataarts as i32,
        display_name: s.name,
        kind: pb::FileKind::Script as i32,
        file_type: s.kind,
        folder_path: s.directory,
        owner: named(s.owner),
        creator: named(s.create_user),
        update_time: time::ts(s.modify_time),
        description: s.description,
        current_version: s.version.unwrap_or_default(),
        connection_name: s.connection_name,
        vendor_record: raw_record(full, raw),
        ..Default::default()
    }
}

/// A v2 job row (its text moves into the message).
pub(super) fn job_file(ctx: &CallCtx, j: wire::JobRow, raw: Option<&RawValue>, full: bool) -> pb::File {
    pb::File {
        name: ctx.name("files", FileRef::Job(j.name.clone()).id()),
        vendor: pb::Vendor::HuaweiDataarts as i32,
        display_name: j.name,
        kind: pb::FileKind::Job as i32,
        file_type: j.job_type,
        folder_path: j.path,
        owner: named(j.owner),
        creator: named(j.create_user),
        last_editor: named(j.last_update_user),
        create_time: time::ts(j.create_time),
        update_time: time::ts(j.last_update_time),
        vendor_record: raw_record(full, raw),
        ..Default::default()
    }
}

/// A script version read with `?version=N`.
pub(super) fn script_version(
    ctx: &CallCtx,
    name: &str,
    version: i64,
    d: &wire::ScriptDetail,
    is_prod: bool,
    raw: &Value,
    full: bool,
) -> pb::FileVersion {
    pb::FileVersion {
        name: format!("{}/versions/{version}", ctx.name("files", FileRef::Script(name.to_owned()).id())),
        vendor: pb::Vendor::HuaweiDataarts as i32,
        version,
        display_name: if d.name.is_empty() { name.to_owned() } else { d.name.clone() },
        content: d.content.clone(),
        state: if is_prod { pb::FileVersionState::Deployed } else { pb::FileVersionState::Committed } as i32,
        is_current_prod: is_prod,
        vendor_record: record(full, raw),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_states() {
        assert_eq!(FileRef::parse("script:a:b"), Some(FileRef::Script("a:b".into())));
        assert_eq!(FileRef::parse("job:x").map(|f| f.task_type()), Some(1));
        assert_eq!(FileRef::parse("123"), None);
        assert_eq!(FileRef::parse("script:"), None);
        assert_eq!(FileRef::parse("script:.."), None, "a dot segment would change the vendor URL path");
        assert_eq!(FileRef::parse("job:."), None);
        for code in [1, 2, 3, 5] {
            assert_eq!(status_code(package_state(Some(code))), Some(code));
        }
        assert_eq!(package_state(Some(4)), pb::ReleasePackageState::Unspecified);
        assert_eq!(deployment_state(Some(5)), pb::DeploymentState::Running);
        assert_eq!(startup_mode(pb::StartupMode::Unspecified), 0, "jobs start only when asked");
        assert_eq!(startup_mode(pb::StartupMode::DeployOnly), 0);
        assert_eq!(startup_mode(pb::StartupMode::DeployAndStart), 1);
    }
}
