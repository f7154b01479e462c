//! DataWorks records → neutral resources.
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

use serde_json::Value;

use crate::{
    domain::{CallCtx, time},
    pb,
};

/// A string field (numbers are rendered).
pub fn s(v: &Value, k: &str) -> String {
    match v.get(k) {
        Some(Value::String(x)) => x.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

/// An integer field (numeric strings accepted).
pub fn i(v: &Value, k: &str) -> Option<i64> {
    match v.get(k)? {
        Value::Number(n) => n.as_i64(),
        Value::String(x) => x.trim().parse().ok(),
        _ => None,
    }
}

/// A boolean field (`true`/`"true"`).
pub fn b(v: &Value, k: &str) -> bool {
    match v.get(k) {
        Some(Value::Bool(x)) => *x,
        Some(Value::String(x)) => x.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// A JSON-text field that the vendor sometimes sends as an object.
fn json_text(v: &Value, k: &str) -> String {
    match v.get(k) {
        Some(Value::String(x)) => x.clone(),
        Some(o @ (Value::Object(_) | Value::Array(_))) => o.to_string(),
        _ => String::new(),
    }
}

fn user(id: String) -> Option<pb::User> {
    (!id.is_empty()).then(|| pb::User { id, display_name: String::new() })
}

fn record(v: &Value, full: bool) -> Option<prost_types::Struct> {
    full.then(|| time::json_to_struct(v))
}

/// Package Status code → state.
pub fn package_state(status: Option<i64>, checking: Option<i64>, cloning: bool) -> pb::ReleasePackageState {
    use pb::ReleasePackageState as S;
    match status {
        Some(0) if checking == Some(8) || cloning => S::Deploying,
        Some(0) => S::Ready,
        Some(1) => S::Succeeded,
        Some(2) => S::Failed,
        Some(6) => S::Rejected,
        _ => S::Unspecified,
    }
}

/// Neutral state → the one package Status code DataWorks filters by.
pub fn package_status_code(s: pb::ReleasePackageState) -> Option<i64> {
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
pub fn pipeline_state(status: &str) -> pb::ReleasePackageState {
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

/// Neutral state → pipeline Status filter value.
pub fn pipeline_status_text(s: pb::ReleasePackageState) -> Option<&'static str> {
    use pb::ReleasePackageState as S;
    match s {
        S::Ready => Some("Init"),
        S::Deploying => Some("Running"),
        S::Succeeded => Some("Success"),
        S::Failed => Some("Fail"),
        S::Cancelled => Some("Cancel"),
        _ => None,
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
pub fn package_row(ctx: &CallCtx, v: &Value, full: bool) -> pb::ReleasePackage {
    pb::ReleasePackage {
        name: ctx.name("releasePackages", s(v, "Id")),
        vendor: pb::Vendor::AlibabaDataworks as i32,
        display_name: s(v, "Name"),
        state: package_state(i(v, "Status"), None, false) as i32,
        creator: user(s(v, "Creator")),
        executor: user(s(v, "Executor")),
        create_time: time::ts(i(v, "CreateTime")),
        execute_time: time::ts(i(v, "ExecuteTime")),
        error_message: s(v, "ErrorMessage"),
        target_environment: pb::Environment::Production as i32,
        vendor_record: record(v, full),
        ..Default::default()
    }
}

/// A GetDeploymentPackage answer (`Data`).
pub fn package_detail(ctx: &CallCtx, id: &str, data: &Value, full: bool) -> pb::ReleasePackage {
    let d = &data["Deployment"];
    let items: Vec<&Value> = data["DeployedItems"].as_array().map(|a| a.iter().collect()).unwrap_or_default();
    let cloning = items.iter().any(|it| i(it, "Status") == Some(5));
    let checking = i(d, "CheckingStatus");
    pb::ReleasePackage {
        name: ctx.name("releasePackages", id),
        vendor: pb::Vendor::AlibabaDataworks as i32,
        display_name: s(d, "Name"),
        state: package_state(i(d, "Status"), checking, cloning) as i32,
        creator: user(s(d, "CreatorId")),
        executor: user(s(d, "HandlerId")),
        create_time: time::ts(i(d, "CreateTime")),
        execute_time: time::ts(i(d, "ExecuteTime")),
        error_message: s(d, "ErrorMessage"),
        items: items
            .iter()
            .map(|it| pb::ReleasePackageItem {
                file: ctx.name("files", s(it, "FileId")),
                version: i(it, "FileVersion").unwrap_or_default(),
                state: item_state(i(it, "Status")) as i32,
                kind: pb::FileKind::Script as i32,
                ..Default::default()
            })
            .collect(),
        target_environment: environment(i(d, "ToEnvironment")),
        source_environment: environment(i(d, "FromEnvironment")),
        check_state: (match checking {
            Some(7) => pb::CheckState::Failed,
            Some(8) => pb::CheckState::Running,
            _ => pb::CheckState::Unspecified,
        }) as i32,
        vendor_record: record(data, full),
        ..Default::default()
    }
}

/// A pipeline run as a release package (items from ListPipelineRunItems).
pub fn pipeline_run(ctx: &CallCtx, v: &Value, items: &[Value], full: bool) -> pb::ReleasePackage {
    let stages: Vec<pb::PipelineStage> = v["Stages"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|st| pb::PipelineStage {
                    code: s(st, "Code"),
                    step: i(st, "Step").unwrap_or_default() as i32,
                    display_name: s(st, "Name"),
                    r#type: s(st, "Type"),
                    state: pipeline_state(&s(st, "Status")) as i32,
                    message: s(st, "Message"),
                })
                .collect()
        })
        .unwrap_or_default();
    pb::ReleasePackage {
        name: ctx.name("releasePackages", s(v, "Id")),
        vendor: pb::Vendor::AlibabaDataworks as i32,
        display_name: s(v, "Description"),
        state: pipeline_state(&s(v, "Status")) as i32,
        creator: user(s(v, "Creator")),
        create_time: time::ts(i(v, "CreateTime")),
        execute_time: time::ts(i(v, "ModifyTime")),
        error_message: s(v, "Message"),
        items: items
            .iter()
            .map(|it| pb::ReleasePackageItem {
                file: ctx.name("files", s(it, "Id")),
                file_display_name: s(it, "Name"),
                version: i(it, "Version").unwrap_or_default(),
                state: pipeline_state(&s(it, "Status")) as i32,
                kind: if s(it, "Type") == "WorkflowDefinition" { pb::FileKind::Job } else { pb::FileKind::Script }
                    as i32,
                ..Default::default()
            })
            .collect(),
        target_environment: pb::Environment::Production as i32,
        stages,
        vendor_record: record(v, full),
        ..Default::default()
    }
}

fn use_type(v: &str) -> pb::UseType {
    match v {
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
pub fn use_type_code(u: pb::UseType) -> &'static str {
    match u {
        pb::UseType::Normal | pb::UseType::Unspecified => "NORMAL",
        pb::UseType::Manual => "MANUAL",
        pb::UseType::ManualBiz => "MANUAL_BIZ",
        pb::UseType::Skip => "SKIP",
        pb::UseType::AdhocQuery => "ADHOCQUERY",
        pb::UseType::Component => "COMPONENT",
    }
}

/// A ListFiles row or GetFile `File`.
pub fn file(ctx: &CallCtx, v: &Value, full: bool) -> pb::File {
    let id = s(v, "FileId");
    let node = i(v, "NodeId").filter(|n| *n > 0).map(|n| n.to_string()).unwrap_or_default();
    let wf = i(v, "BusinessId").filter(|n| *n > 0).map(|n| n.to_string()).unwrap_or_default();
    pb::File {
        name: ctx.name("files", &id),
        vendor: pb::Vendor::AlibabaDataworks as i32,
        display_name: s(v, "FileName"),
        kind: pb::FileKind::Script as i32,
        file_type: s(v, "FileType"),
        folder_path: s(v, "AbsoluteFolderPath"),
        folder_id: s(v, "FileFolderId"),
        use_type: use_type(&s(v, "UseType")) as i32,
        owner: user(s(v, "Owner")),
        creator: user(s(v, "CreateUser")),
        last_editor: user(s(v, "LastEditUser")),
        create_time: time::ts(i(v, "CreateTime")),
        update_time: time::ts(i(v, "LastEditTime")),
        description: s(v, "FileDescription"),
        content: s(v, "Content"),
        current_version: i(v, "CurrentVersion").unwrap_or_default(),
        commit_status: (match i(v, "CommitStatus") {
            Some(0) => pb::CommitStatus::Uncommitted,
            Some(1) => pb::CommitStatus::Committed,
            _ => pb::CommitStatus::Unspecified,
        }) as i32,
        node_id: node,
        workflow_id: wf,
        connection_name: s(v, "ConnectionName"),
        deleted_status: s(v, "DeletedStatus"),
        vendor_record: record(v, full),
    }
}

/// A file version record.
pub fn file_version(ctx: &CallCtx, file_id: &str, v: &Value, full: bool) -> pb::FileVersion {
    let n = i(v, "FileVersion").unwrap_or_default();
    pb::FileVersion {
        name: format!("{}/versions/{n}", ctx.name("files", file_id)),
        vendor: pb::Vendor::AlibabaDataworks as i32,
        version: n,
        display_name: s(v, "FileName"),
        content: s(v, "FileContent"),
        comment: s(v, "Comment"),
        state: (match s(v, "Status").as_str() {
            "COMMITTING" => pb::FileVersionState::Committing,
            "COMMITTED" | "CHECK_OK" => pb::FileVersionState::Committed,
            "PACKAGED" => pb::FileVersionState::Packaged,
            "DEPLOYING" => pb::FileVersionState::Deploying,
            "DEPLOYED" => pb::FileVersionState::Deployed,
            "CANCELLED" => pb::FileVersionState::Cancelled,
            _ => pb::FileVersionState::Unspecified,
        }) as i32,
        is_current_prod: b(v, "IsCurrentProd"),
        committer: user(s(v, "CommitUser").trim().to_owned()),
        commit_time: time::ts(i(v, "CommitTime")),
        change_type: (match s(v, "ChangeType").as_str() {
            "CREATE" => pb::ChangeType::Added,
            "UPDATE" => pb::ChangeType::Modified,
            "DELETE" => pb::ChangeType::Deleted,
            _ => pb::ChangeType::Unspecified,
        }) as i32,
        node_id: i(v, "NodeId").filter(|n| *n > 0).map(|n| n.to_string()).unwrap_or_default(),
        node_content: json_text(v, "NodeContent"),
        property_content: json_text(v, "FilePropertyContent"),
        use_type: use_type(&s(v, "UseType")) as i32,
        vendor_record: record(v, full),
    }
}

/// Package state → deployment state.
pub fn deployment_state(s: pb::ReleasePackageState) -> pb::DeploymentState {
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
