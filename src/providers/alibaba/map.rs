//! DataWorks wire records ([`super::wire`]) → neutral resources.
//!
//! Package `Status`: 0 → READY (DEPLOYING while `CheckingStatus` is 8 or an
//! item is CLONING), 1 → SUCCEEDED, 2 → FAILED, 6 → REJECTED; other values →
//! UNSPECIFIED (raw value kept in `vendor_record`). `CheckingStatus` 7 →
//! CHECK_STATE_FAILED, 8 → CHECK_STATE_RUNNING.
//! Item `Status`: 0 → READY, 1 and 3 (cloned) → SUCCEEDED, 2 and 4 → FAILED,
//! 5 (cloning) → DEPLOYING, 6 → REJECTED.
//! Pipeline `Status`: Init → READY, Running → DEPLOYING, Success → SUCCEEDED,
//! Fail → FAILED, Termination / Cancel → CANCELLED (any case).
//! File version `Status`: COMMITTING, COMMITTED / CHECK_OK, PACKAGED,
//! DEPLOYING, DEPLOYED, CANCELLED; `ChangeType` CREATE / UPDATE / DELETE.
//! Times are epoch milliseconds.

use std::borrow::Cow;

use super::wire::{self, Rec};
use crate::{
    domain::{CallCtx, time},
    pb,
};

/// Optional vendor text as an owned string ("" when absent).
fn text(v: &Option<Cow<'_, str>>) -> String {
    v.as_deref().unwrap_or_default().to_owned()
}

/// Text taken out of the answer: moved when reading it had to unescape
/// it (a script's lines), copied when it is borrowed from the body.
fn owned(v: Option<Cow<'_, str>>) -> String {
    v.map(Cow::into_owned).unwrap_or_default()
}

/// A user by account UID; None when absent or blank.
fn user(id: &Option<Cow<'_, str>>) -> Option<pb::User> {
    let id = id.as_deref().unwrap_or_default().trim();
    (!id.is_empty()).then(|| pb::User { id: id.to_owned(), display_name: String::new() })
}

/// A positive vendor id as text; "" otherwise.
fn positive(id: Option<i64>) -> String {
    id.filter(|n| *n > 0).map(|n| n.to_string()).unwrap_or_default()
}

/// Package Status code → state.
pub(crate) fn package_state(status: i64, checking: Option<i64>, cloning: bool) -> pb::ReleasePackageState {
    use pb::ReleasePackageState as S;
    match status {
        0 if checking == Some(8) || cloning => S::Deploying,
        0 => S::Ready,
        1 => S::Succeeded,
        2 => S::Failed,
        6 => S::Rejected,
        _ => S::Unspecified,
    }
}

/// Neutral state → the one package Status code DataWorks filters by.
pub(crate) fn package_status_code(s: pb::ReleasePackageState) -> Option<i64> {
    use pb::ReleasePackageState as S;
    match s {
        S::Ready => Some(0),
        S::Succeeded => Some(1),
        S::Failed => Some(2),
        S::Rejected => Some(6),
        _ => None,
    }
}

fn item_state(status: Option<i64>) -> pb::ReleasePackageState {
    use pb::ReleasePackageState as S;
    match status {
        Some(0) => S::Ready,
        Some(1 | 3) => S::Succeeded,
        Some(2 | 4) => S::Failed,
        Some(5) => S::Deploying,
        Some(6) => S::Rejected,
        _ => S::Unspecified,
    }
}

/// Pipeline status text → state.
pub(crate) fn pipeline_state(status: &str) -> pb::ReleasePackageState {
    use pb::ReleasePackageState as S;
    match status.to_ascii_lowercase().as_str() {
        "init" => S::Ready,
        "running" => S::Deploying,
        "success" => S::Succeeded,
        "fail" => S::Failed,
        "termination" | "cancel" => S::Cancelled,
        _ => S::Unspecified,
    }
}

/// Neutral state → the one pipeline Status filter value that means exactly
/// it; None when the vendor cannot filter it with one value.
/// ListPipelineRuns takes a single `Status` (vendor-apis.md 1.10) and
/// CANCELLED is two of them (Cancel, Termination), so that state is filtered
/// by the gateway.
pub(crate) fn pipeline_status_text(s: pb::ReleasePackageState) -> Option<&'static str> {
    use pb::ReleasePackageState as S;
    match s {
        S::Ready => Some("Init"),
        S::Deploying => Some("Running"),
        S::Succeeded => Some("Success"),
        S::Failed => Some("Fail"),
        S::Cancelled | S::Unspecified | S::PendingApproval | S::Rejected => None,
    }
}

fn environment(code: Option<i64>) -> i32 {
    (match code {
        Some(0) => pb::Environment::Local,
        Some(1) => pb::Environment::Development,
        Some(2) => pb::Environment::Production,
        _ => pb::Environment::Unspecified,
    }) as i32
}

/// A ListDeploymentPackages row.
pub(crate) fn package_row(ctx: &CallCtx, r: &Rec<'_, wire::PackageRow<'_>>, full: bool) -> pb::ReleasePackage {
    pb::ReleasePackage {
        name: ctx.name("releasePackages", r.id),
        vendor: pb::Vendor::AlibabaDataworks as i32,
        display_name: text(&r.name),
        state: package_state(r.status, None, false) as i32,
        creator: user(&r.creator),
        executor: user(&r.executor),
        create_time: time::ts(r.create_time),
        execute_time: time::ts(r.execute_time),
        error_message: text(&r.error_message),
        // ListDeploymentPackages rows carry no environment (development
        // packages from SubmitFile are listed too): unknown, not PRODUCTION.
        // GetReleasePackage reads ToEnvironment.
        target_environment: pb::Environment::Unspecified as i32,
        vendor_record: r.record(full),
        ..Default::default()
    }
}

/// A GetDeploymentPackage answer (`Data`) for package `id`.
pub(crate) fn package_detail(
    ctx: &CallCtx,
    id: &str,
    data: &Rec<'_, wire::PackageData<'_>>,
    full: bool,
) -> pb::ReleasePackage {
    let d = &data.deployment;
    let items = data.deployed_items.as_deref().unwrap_or_default();
    let cloning = items.iter().any(|it| it.status == Some(5));
    pb::ReleasePackage {
        name: ctx.name("releasePackages", id),
        vendor: pb::Vendor::AlibabaDataworks as i32,
        display_name: text(&d.name),
        state: package_state(d.status, d.checking_status, cloning) as i32,
        creator: user(&d.creator_id),
        executor: user(&d.handler_id),
        create_time: time::ts(d.create_time),
        execute_time: time::ts(d.execute_time),
        error_message: text(&d.error_message),
        items: items
            .iter()
            .map(|it| pb::ReleasePackageItem {
                file: ctx.name("files", it.file_id),
                version: it.file_version.unwrap_or_default(),
                state: item_state(it.status) as i32,
                kind: pb::FileKind::Script as i32,
                ..Default::default()
            })
            .collect(),
        target_environment: environment(d.to_environment),
        source_environment: environment(d.from_environment),
        check_state: (match d.checking_status {
            Some(7) => pb::CheckState::Failed,
            Some(8) => pb::CheckState::Running,
            _ => pb::CheckState::Unspecified,
        }) as i32,
        vendor_record: data.record(full),
        ..Default::default()
    }
}

/// A legacy deployment: the package DeployFile created, as GetDeploymentPackage reports it.
pub(crate) fn package_deployment(
    ctx: &CallCtx,
    id: i64,
    data: &Rec<'_, wire::PackageData<'_>>,
    full: bool,
) -> pb::Deployment {
    let pkg = package_detail(ctx, &id.to_string(), data, false);
    pb::Deployment {
        name: ctx.name("deployments", id),
        vendor: pb::Vendor::AlibabaDataworks as i32,
        state: deployment_state(pkg.state()) as i32,
        release_package: pkg.name,
        files: pkg.items.into_iter().map(|it| it.file).collect(),
        create_time: pkg.create_time,
        update_time: pkg.execute_time,
        error_message: pkg.error_message,
        vendor_record: data.record(full),
        ..Default::default()
    }
}

/// A pipeline run as a release package (items from ListPipelineRunItems).
pub(crate) fn pipeline_run(
    ctx: &CallCtx,
    run: &Rec<'_, wire::Run<'_>>,
    items: &[wire::RunItem<'_>],
    full: bool,
) -> pb::ReleasePackage {
    let stages = run
        .stages
        .iter()
        .flatten()
        .map(|st| pb::PipelineStage {
            code: st.code.to_string(),
            step: st.step.unwrap_or_default() as i32,
            display_name: text(&st.name),
            r#type: text(&st.r#type),
            state: pipeline_state(&st.status) as i32,
            message: text(&st.message),
        })
        .collect();
    pb::ReleasePackage {
        name: ctx.name("releasePackages", &run.id),
        vendor: pb::Vendor::AlibabaDataworks as i32,
        display_name: text(&run.description),
        state: pipeline_state(&run.status) as i32,
        creator: user(&run.creator),
        create_time: time::ts(run.create_time),
        execute_time: time::ts(run.modify_time),
        error_message: text(&run.message),
        items: items
            .iter()
            .map(|it| pb::ReleasePackageItem {
                file: ctx.name("files", &it.id),
                file_display_name: text(&it.name),
                version: it.version.unwrap_or_default(),
                state: pipeline_state(it.status.as_deref().unwrap_or_default()) as i32,
                kind: it.r#type.map_or(pb::FileKind::Unspecified, |k| k.file_kind()) as i32,
                ..Default::default()
            })
            .collect(),
        target_environment: pb::Environment::Production as i32,
        stages,
        vendor_record: run.record(full),
        ..Default::default()
    }
}

/// A pipeline run as a deployment.
pub(crate) fn run_deployment(ctx: &CallCtx, run: &Rec<'_, wire::Run<'_>>, full: bool) -> pb::Deployment {
    pb::Deployment {
        name: ctx.name("deployments", &run.id),
        vendor: pb::Vendor::AlibabaDataworks as i32,
        state: deployment_state(pipeline_state(&run.status)) as i32,
        release_package: ctx.name("releasePackages", &run.id),
        create_time: time::ts(run.create_time),
        update_time: time::ts(run.modify_time),
        error_message: text(&run.message),
        vendor_record: run.record(full),
        ..Default::default()
    }
}

fn use_type(v: Option<&str>) -> pb::UseType {
    match v.unwrap_or_default() {
        "NORMAL" | "0" => pb::UseType::Normal,
        "MANUAL" | "1" => pb::UseType::Manual,
        "MANUAL_BIZ" | "2" => pb::UseType::ManualBiz,
        "SKIP" | "3" => pb::UseType::Skip,
        "ADHOCQUERY" | "10" => pb::UseType::AdhocQuery,
        "COMPONENT" | "30" => pb::UseType::Component,
        _ => pb::UseType::Unspecified,
    }
}

/// Neutral use type → DataWorks UseType.
pub(crate) fn use_type_code(u: pb::UseType) -> &'static str {
    match u {
        pb::UseType::Normal | pb::UseType::Unspecified => "NORMAL",
        pb::UseType::Manual => "MANUAL",
        pb::UseType::ManualBiz => "MANUAL_BIZ",
        pb::UseType::Skip => "SKIP",
        pb::UseType::AdhocQuery => "ADHOCQUERY",
        pb::UseType::Component => "COMPONENT",
    }
}

/// A ListFiles row or GetFile `File` (`record`: the VIEW_FULL record).
pub(crate) fn file(ctx: &CallCtx, f: wire::File<'_>, record: Option<prost_types::Struct>) -> pb::File {
    pb::File {
        name: ctx.name("files", f.file_id),
        vendor: pb::Vendor::AlibabaDataworks as i32,
        display_name: owned(f.file_name),
        kind: pb::FileKind::Script as i32,
        file_type: owned(f.file_type),
        folder_path: owned(f.absolute_folder_path),
        folder_id: owned(f.file_folder_id),
        use_type: use_type(f.use_type.as_deref()) as i32,
        owner: user(&f.owner),
        creator: user(&f.create_user),
        last_editor: user(&f.last_edit_user),
        create_time: time::ts(f.create_time),
        update_time: time::ts(f.last_edit_time),
        description: owned(f.file_description),
        content: owned(f.content),
        current_version: f.current_version.unwrap_or_default(),
        commit_status: (match f.commit_status {
            Some(0) => pb::CommitStatus::Uncommitted,
            Some(1) => pb::CommitStatus::Committed,
            _ => pb::CommitStatus::Unspecified,
        }) as i32,
        node_id: positive(f.node_id),
        workflow_id: positive(f.business_id),
        connection_name: owned(f.connection_name),
        deleted_status: owned(f.deleted_status),
        vendor_record: record,
    }
}

/// A file version record.
pub(crate) fn file_version(
    ctx: &CallCtx,
    file_id: &str,
    v: Rec<'_, wire::FileVersion<'_>>,
    full: bool,
) -> pb::FileVersion {
    let (v, vendor_record) = v.split(full);
    let n = v.file_version;
    pb::FileVersion {
        name: format!("{}/versions/{n}", ctx.name("files", file_id)),
        vendor: pb::Vendor::AlibabaDataworks as i32,
        version: n,
        display_name: owned(v.file_name),
        content: owned(v.file_content),
        comment: owned(v.comment),
        state: (match v.status.as_deref().unwrap_or_default() {
            "COMMITTING" => pb::FileVersionState::Committing,
            "COMMITTED" | "CHECK_OK" => pb::FileVersionState::Committed,
            "PACKAGED" => pb::FileVersionState::Packaged,
            "DEPLOYING" => pb::FileVersionState::Deploying,
            "DEPLOYED" => pb::FileVersionState::Deployed,
            "CANCELLED" => pb::FileVersionState::Cancelled,
            _ => pb::FileVersionState::Unspecified,
        }) as i32,
        is_current_prod: v.is_current_prod.unwrap_or_default(),
        committer: user(&v.commit_user),
        commit_time: time::ts(v.commit_time),
        change_type: (match v.change_type.as_deref().unwrap_or_default() {
            "CREATE" => pb::ChangeType::Added,
            "UPDATE" => pb::ChangeType::Modified,
            "DELETE" => pb::ChangeType::Deleted,
            _ => pb::ChangeType::Unspecified,
        }) as i32,
        node_id: positive(v.node_id),
        node_content: owned(v.node_content),
        property_content: owned(v.file_property_content),
        use_type: use_type(v.use_type.as_deref()) as i32,
        vendor_record,
    }
}

/// Package state → deployment state.
pub(crate) fn deployment_state(s: pb::ReleasePackageState) -> pb::DeploymentState {
    use pb::{DeploymentState as D, ReleasePackageState as S};
    match s {
        S::Ready | S::PendingApproval => D::Pending,
        S::Deploying => D::Running,
        S::Succeeded => D::Succeeded,
        S::Failed => D::Failed,
        S::Rejected | S::Cancelled => D::Cancelled,
        S::Unspecified => D::Unspecified,
    }
}
