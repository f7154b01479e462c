//! Scripts and jobs: the v2 factory lists and the v1 DLF details.

use serde_json::{Value, json};

use super::{
    answer::{Answer, fail, ok, param},
    params::{Query, contains_ci, query_int},
    store::{Job, Script, World},
};

fn script_row(s: &Script) -> Value {
    json!({
        "id": s.id,
        "name": s.name,
        "type": s.stype,
        "directory": s.directory,
        "create_user": s.create_user,
        "owner": s.owner,
        "description": s.description,
        "connection_name": s.connection_name,
        "database": s.database,
        "queue_name": "",
        "configuration": {},
        "modify_time": s.modify_time,
        "version": s.contents.len(),
    })
}

fn job_row(j: &Job) -> Value {
    json!({
        "name": j.name,
        "job_type": j.job_type,
        "status": j.status,
        "owner": j.owner,
        "create_user": j.create_user,
        "last_update_user": j.last_update_user,
        "path": j.path,
        "priority": j.priority,
        "create_time": j.create_time,
        "last_update_time": j.last_update_time,
        "start_time": j.create_time,
        "end_time": 0,
        "last_instance_status": "success",
        "last_instance_end_time": j.last_update_time,
        "next_plan_time": "",
        "single_node_job_flag": false,
        "single_node_job_type": "",
    })
}

fn job_detail(j: &Job) -> Value {
    json!({
        "name": j.name,
        "id": j.id,
        "directory": j.path,
        "jobType": j.job_type,
        "lastUpdateUser": j.last_update_user,
        "processType": j.job_type,
        "nodes": [{
            "name": format!("{}-node", j.name),
            "type": if j.job_type == "BATCH" { "HiveSQL" } else { "FlinkSQL" },
            "location": {"x": 10, "y": 20},
            "preNodeName": [],
            "properties": [{"name": "scriptName", "value": format!("{}-script", j.name)}],
            "retryTimes": 1
        }],
        "schedule": {"type": "CRON", "cron": {"startTime": "2025-01-01T00:00:00+08", "expression": "0 0 2 * * ?"}},
        "params": [{"name": "bizdate", "value": "${yyyyMMdd}", "type": "variable"}],
        "basicConfig": {"owner": j.owner, "priority": j.priority, "executeUser": "", "instanceTimeout": 0, "customFields": {}},
        "version": j.version,
    })
}

pub(super) fn list_scripts(w: &World, q: &Query, rid: &str) -> Answer {
    let (limit, offset) = match q.paging(rid) {
        Ok(p) => p,
        Err(a) => return a,
    };
    let rows: Vec<&Script> =
        w.scripts.iter().filter(|s| q.get("script_name").is_none_or(|n| contains_ci(&s.name, n))).collect();
    let total = rows.len();
    let scripts: Vec<Value> = rows.into_iter().skip(offset).take(limit).map(script_row).collect();
    ok(json!({"total": total, "scripts": scripts}), rid)
}

pub(super) fn list_jobs(w: &World, q: &Query, rid: &str) -> Answer {
    let (limit, offset) = match q.paging(rid) {
        Ok(p) => p,
        Err(a) => return a,
    };
    let job_type = q.get("job_type");
    if job_type.is_some_and(|t| !matches!(t, "BATCH" | "REAL_TIME")) {
        return param("job_type must be BATCH or REAL_TIME.", rid);
    }
    let ids: Option<Vec<i64>> = match q.get("job_id") {
        None => None,
        Some(s) => match s.split(',').map(|x| x.trim().parse::<i64>()).collect::<Result<Vec<_>, _>>() {
            Ok(v) if v.len() <= 50 => Some(v),
            _ => return param("job_id must be a comma list of at most 50 numeric ids.", rid),
        },
    };
    let statuses: Option<Vec<&str>> = q.get("status").map(|s| s.split(',').map(str::trim).collect());
    let rows: Vec<&Job> = w
        .jobs
        .iter()
        .filter(|j| q.get("job_name").is_none_or(|n| contains_ci(&j.name, n)))
        .filter(|j| job_type.is_none_or(|t| j.job_type == t))
        .filter(|j| ids.as_ref().is_none_or(|ids| ids.contains(&j.id)))
        .filter(|j| statuses.as_ref().is_none_or(|s| s.contains(&j.status.as_str())))
        .collect();
    let total = rows.len();
    let jobs: Vec<Value> = rows.into_iter().skip(offset).take(limit).map(job_row).collect();
    ok(json!({"total": total, "jobs": jobs}), rid)
}

/// v1 show script. An unknown script answers `DLF.6201` "The script does
/// not exist." (the code the vendor's script API pages and the huaweicloud
/// Terraform provider use); so do **[inferred]** a version that does not
/// exist and `?status=PUBLISHED` on a script that was never released.
/// v1 list scripts: a page of scripts as v1 show answers them (the latest
/// submitted version's content), `scriptName` a substring; at most 1000
/// rows are reachable (offset + limit beyond that answer nothing more).
pub(super) fn list_scripts_v1(w: &World, q: &Query, rid: &str) -> Answer {
    let (limit, offset) = match q.paging(rid) {
        Ok(p) => p,
        Err(a) => return a,
    };
    let rows: Vec<&Script> =
        w.scripts.iter().filter(|s| q.get("scriptName").is_none_or(|n| contains_ci(&s.name, n))).collect();
    let total = rows.len();
    let scripts: Vec<Value> = rows
        .into_iter()
        .take(V1_LIST_MAX)
        .skip(offset)
        .take(limit)
        .map(|s| script_detail(s, s.contents.last()))
        .collect();
    ok(json!({"total": total, "scripts": scripts}), rid)
}

/// Most rows the v1 script list reaches.
const V1_LIST_MAX: usize = 1000;

/// A script as v1 show answers it, with `content`.
fn script_detail(s: &Script, content: Option<&String>) -> Value {
    json!({
        "id": s.id,
        "name": s.name,
        "type": s.stype,
        "content": content.map(String::as_str).unwrap_or_default(),
        "directory": s.directory,
        "connectionName": s.connection_name,
        "database": s.database,
        "queueName": "",
        "configuration": {},
        "description": s.description,
        "autoAcquireLock": true,
    })
}

pub(super) fn show_script(w: &World, name: &str, q: &Query, rid: &str) -> Answer {
    let Some(s) = w.scripts.iter().find(|s| s.name == name) else {
        return fail(400, "DLF.6201", "The script does not exist.", rid);
    };
    let version = match query_int(q.get("version"), "version", rid) {
        Ok(v) => v,
        Err(a) => return a,
    };
    let v = match (version, q.get("status")) {
        (Some(v), _) => v,
        (None, None | Some("SAVED")) => s.contents.len() as i64,
        (None, Some("PUBLISHED")) => i64::from(s.published),
        (None, Some(_)) => return param("status must be SAVED or PUBLISHED.", rid),
    };
    let Some(content) = usize::try_from(v).ok().and_then(|v| v.checked_sub(1)).and_then(|i| s.contents.get(i)) else {
        return fail(400, "DLF.6201", "The script does not exist.", rid);
    };
    ok(script_detail(s, Some(content)), rid)
}

pub(super) fn show_job(w: &World, name: &str, rid: &str) -> Answer {
    match w.jobs.iter().find(|j| j.name == name) {
        Some(j) => ok(job_detail(j), rid),
        None => fail(400, "DLF.0100", "The job does not exists.", rid),
    }
}
