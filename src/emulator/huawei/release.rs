//! Release packages: list, get, deploy, the system task of a deploy, settling after `deploy_step`.

use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::{
    DEPLOYERS, FAILING_PACKAGE_ID, Options,
    answer::{Answer, fail, ok, param},
    auth::Caller,
    params::{contains_ci, int_of, paging, str_of, strs},
    store::{Item, Package, Run, User, World},
};
use crate::domain::time::now_ms;

impl World {
    /// Ends every release whose `deploy_step` has passed.
    pub(super) fn settle(&mut self, now: Instant, step: Duration) {
        let now_ms = now_ms();
        let mut released: Vec<(String, i64, i64)> = Vec::new();
        let mut done_items: Vec<String> = Vec::new();
        for p in &mut self.packages {
            let Some(run) = p.run.as_mut() else { continue };
            if run.finished_ms.is_some() || now.duration_since(run.started) < step {
                continue;
            }
            run.finished_ms = Some(now_ms.max(run.started_ms));
            p.status = if run.fails { 3 } else { 2 };
            for (k, item) in p.items.iter_mut().enumerate() {
                let failed = run.fails && k == 0;
                item.status = if failed { 3 } else { 2 };
                item.start_job_status =
                    (item.task_type == 1 && run.startup_mode == 1).then_some(if failed { 3 } else { 2 });
                if !failed {
                    released.push((item.name.clone(), item.task_type, item.pending_version));
                }
            }
            if !run.fails {
                done_items.extend(p.items.iter().map(|i| i.pending_item_id.clone()));
            }
        }
        for (name, task_type, version) in released {
            let v = u32::try_from(version).unwrap_or_default();
            if task_type == 2 {
                if let Some(s) = self.scripts.iter_mut().find(|s| s.name == name) {
                    s.published = v.min(s.contents.len() as u32);
                }
            } else if let Some(j) = self.jobs.iter_mut().find(|j| j.name == name) {
                j.published = v.min(j.version);
            }
        }
        self.pending.retain(|p| !done_items.contains(&p.id));
    }
}

fn user_pair(m: &mut Map<String, Value>, prefix: &str, u: Option<&User>) {
    if let Some(u) = u {
        m.insert(format!("{prefix}_user_id"), json!(u.id));
        m.insert(format!("{prefix}_user_name"), json!(u.name));
    }
}

fn package_json(p: &Package, opts: &Options) -> Value {
    let mut m = Map::new();
    m.insert("package_id".into(), json!(p.id.to_string()));
    m.insert("package_name".into(), json!(p.name));
    m.insert("deploy_status".into(), json!(p.status));
    user_pair(&mut m, "apply", Some(&p.apply));
    m.insert("apply_timestamp".into(), json!(p.apply_ts));
    user_pair(&mut m, "deploy", p.deploy.as_ref());
    if p.deploy_ts > 0 {
        m.insert("deploy_timestamp".into(), json!(p.deploy_ts));
    }
    m.insert("delete_flag".into(), json!(p.delete_flag));
    m.insert("project_id".into(), json!(format!("{}-workspace-{}", opts.project_id, opts.workspace_id)));
    m.insert("workspace_id".into(), json!(opts.workspace_id));
    m.insert(
        "package_approvers".into(),
        Value::Array(p.approvers.iter().map(|a| json!({"user_id": a.id, "user_name": a.name})).collect()),
    );
    Value::Object(m)
}

fn item_json(i: &Item) -> Value {
    let mut m = Map::new();
    m.insert("pending_item_id".into(), json!(i.pending_item_id));
    m.insert("item_name".into(), json!(i.name));
    m.insert("task_type".into(), json!(i.task_type));
    if i.task_type == 1 {
        m.insert("task_id".into(), json!(i.task_id));
    } else {
        m.insert("script_id".into(), json!(i.task_id));
    }
    m.insert("update_type".into(), json!(i.update_type));
    m.insert("pending_version".into(), json!(i.pending_version));
    m.insert("deployed_version".into(), json!(i.deployed_version));
    m.insert("deploy_status".into(), json!(i.status));
    if let Some(s) = i.start_job_status {
        m.insert("start_job_status".into(), json!(s));
    }
    m.insert("submit_user_id".into(), json!(i.submit.id));
    m.insert("submit_user_name".into(), json!(i.submit.name));
    m.insert("submit_timestamp".into(), json!(i.submit_ts));
    Value::Object(m)
}

pub(super) fn list_packages(w: &World, opts: &Options, b: &Value, rid: &str) -> Answer {
    let (limit, offset) = match paging(int_of(b, "limit"), int_of(b, "offset"), rid) {
        Ok(p) => p,
        Err(a) => return a,
    };
    let order_column = str_of(b, "order_column").unwrap_or("apply_timestamp");
    if !matches!(order_column, "apply_timestamp" | "deploy_timestamp") {
        return param("order_column must be apply_timestamp or deploy_timestamp.", rid);
    }
    let asc = match str_of(b, "sorted_direction").unwrap_or("desc") {
        "asc" => true,
        "desc" => false,
        _ => return param("sorted_direction must be asc or desc.", rid),
    };
    let statuses: Vec<i64> = b
        .get("deploy_status_filter")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    let key_word = str_of(b, "key_word");
    let apply_name = str_of(b, "apply_user_name");
    let apply_set = strs(b, "apply_user_name_filter");
    let deploy_name = str_of(b, "deploy_user_name");
    let deploy_set = strs(b, "deploy_user_name_filter");
    let within = |t: i64, from: &str, to: &str| {
        let (s, e) = (int_of(b, from), int_of(b, to));
        if s.is_none() && e.is_none() {
            return true;
        }
        t > 0 && s.is_none_or(|s| t >= s) && e.is_none_or(|e| t <= e)
    };
    let users = |u: Option<&User>, one: Option<&str>, set: &[String]| {
        let name = u.map(|u| u.name.as_str());
        one.is_none_or(|n| name == Some(n)) && (set.is_empty() || name.is_some_and(|n| set.iter().any(|s| s == n)))
    };
    let mut rows: Vec<&Package> = w
        .packages
        .iter()
        .filter(|p| key_word.is_none_or(|k| contains_ci(&p.name, k)))
        .filter(|p| statuses.is_empty() || statuses.contains(&p.status))
        .filter(|p| users(Some(&p.apply), apply_name, &apply_set))
        .filter(|p| users(p.deploy.as_ref(), deploy_name, &deploy_set))
        .filter(|p| within(p.apply_ts, "apply_begin_time", "apply_end_time"))
        .filter(|p| within(p.deploy_ts, "deploy_begin_time", "deploy_end_time"))
        .collect();
    rows.sort_by_key(|p| (if order_column == "deploy_timestamp" { p.deploy_ts } else { p.apply_ts }, p.id));
    if !asc {
        rows.reverse();
    }
    let total = rows.len();
    let data: Vec<Value> = rows.into_iter().skip(offset).take(limit).map(|p| package_json(p, opts)).collect();
    ok(json!({"total": total, "data": data}), rid)
}

pub(super) fn get_package(w: &World, opts: &Options, id: &str, rid: &str) -> Answer {
    match w.package(id) {
        Some(p) => ok(
            json!({
                "release_package": package_json(p, opts),
                "task_details": p.items.iter().map(item_json).collect::<Vec<_>>(),
            }),
            rid,
        ),
        None => fail(400, "DLF.0810", "Task does not exist.", rid),
    }
}

pub(super) fn deploy(w: &mut World, b: &Value, caller: Option<&Caller>, rid: &str) -> Answer {
    let Some(ids) = b.get("package_ids").and_then(Value::as_array) else {
        return param("package_ids is required.", rid);
    };
    if ids.is_empty() || ids.len() > 100 {
        return param("package_ids must hold 1 to 100 ids.", rid);
    }
    let mode = match b.get("startup_mode") {
        None | Some(Value::Null) => 1,
        Some(v) => match v.as_i64() {
            Some(m @ (0 | 1)) => m,
            _ => return param("startup_mode must be 0 or 1.", rid),
        },
    };
    let mut idx = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(id) = id.as_str() else { return param("package_ids must be strings.", rid) };
        let Some(i) = id.trim().parse::<u64>().ok().and_then(|n| w.packages.iter().position(|p| p.id == n)) else {
            return fail(400, "DLF.0810", "Task does not exist.", rid);
        };
        let p = &w.packages[i];
        if p.delete_flag == 1 {
            return fail(400, "DLF.0810", "Task does not exist.", rid);
        }
        if !matches!(p.status, 1 | 3) {
            return fail(
                400,
                "DLF.3100",
                &format!("The package {} is not in a state that can be released.", p.id),
                rid,
            );
        }
        idx.push(i);
    }
    let user = caller.map_or_else(|| User::of(DEPLOYERS[0]), Caller::user);
    let (now, now_ms) = (Instant::now(), now_ms());
    let mut details = Vec::with_capacity(idx.len());
    for i in idx {
        let task_id = w.hex();
        let p = &mut w.packages[i];
        p.status = 5;
        p.deploy = Some(user.clone());
        p.deploy_ts = now_ms;
        for item in &mut p.items {
            item.status = 5;
            item.start_job_status = None;
        }
        p.run = Some(Run {
            task_id: task_id.clone(),
            started: now,
            started_ms: now_ms,
            startup_mode: mode,
            fails: p.id == FAILING_PACKAGE_ID,
            finished_ms: None,
        });
        let (id, n) = (p.id, p.items.len());
        w.tasks.insert(task_id.clone(), id);
        details.push(json!({"package_id": id, "asy_task_id": task_id, "asy_subtask_num": n}));
    }
    ok(json!({"deploy_package_details": details}), rid)
}

pub(super) fn system_task(w: &World, id: &str, rid: &str) -> Answer {
    let Some(p) = w.tasks.get(id).and_then(|pid| w.packages.iter().find(|p| p.id == *pid)) else {
        return fail(400, "DLF.0810", "Task does not exist.", rid);
    };
    let Some(run) = p.run.as_ref().filter(|r| r.task_id == id) else {
        // A later deploy of the same package replaced this task: report it as ended.
        return ok(
            json!({"id": id, "name": format!("release package {}", p.id), "status": "SUCCESSFUL", "message": ""}),
            rid,
        );
    };
    let (status, message) = match (run.finished_ms, run.fails) {
        (None, _) => ("RUNNING", String::new()),
        (Some(_), false) => ("SUCCESSFUL", String::new()),
        (Some(_), true) => (
            "FAILED",
            format!(
                "Releasing {} failed: the job could not be started (emulated failure).",
                p.items.first().map_or("", |i| i.name.as_str())
            ),
        ),
    };
    let end = run.finished_ms.unwrap_or_default();
    let sub: Vec<Value> = p
        .items
        .iter()
        .enumerate()
        .map(|(k, item)| {
            let st = match item.status {
                5 => "RUNNING",
                3 => "FAILED",
                _ => "SUCCESSFUL",
            };
            json!({"id": format!("{id}-{k}"), "name": item.name, "status": st, "startTime": run.started_ms, "endTime": end, "lastUpdate": end.max(run.started_ms)})
        })
        .collect();
    ok(
        json!({
            "id": id,
            "name": format!("release package {}", p.id),
            "status": status,
            "message": message,
            "startTime": run.started_ms,
            "endTime": end,
            "lastUpdate": end.max(run.started_ms),
            "subTasks": sub,
        }),
        rid,
    )
}
