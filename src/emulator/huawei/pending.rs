//! Pending items: list them, and package them into a new release package.

use serde_json::{Value, json};

use super::{
    APPLICANTS, DEPLOYERS, Options,
    answer::{Answer, fail, ok, param},
    auth::Caller,
    params::{Query, contains_ci, query_int, str_of, strs},
    store::{Item, Package, Pending, User, World},
};
use crate::domain::time::now_ms;

fn pending_json(p: &Pending, opts: &Options) -> Value {
    json!({
        "pending_item_id": p.id,
        "item_name": p.name,
        "task_id": p.task_id,
        "task_type": p.task_type,
        "update_type": p.update_type,
        "pending_version": p.pending_version,
        "deployed_version": p.deployed_version,
        "package_flag": p.package_flag,
        "project_id": format!("{}-workspace-{}", opts.project_id, opts.workspace_id),
        "submit_user_id": p.submit.id,
        "submit_user_name": p.submit.name,
        "submit_timestamp": p.submit_ts,
    })
}

pub(super) fn list_pending(w: &World, opts: &Options, q: &Query, rid: &str) -> Answer {
    let parsed = (|| {
        Ok::<_, Answer>((
            q.paging(rid)?,
            query_int(q.get("update_type"), "update_type", rid)?,
            query_int(q.get("task_type"), "task_type", rid)?,
            query_int(q.get("start_time"), "start_time", rid)?,
            query_int(q.get("end_time"), "end_time", rid)?,
        ))
    })();
    let ((limit, offset), update_type, task_type, start, end) = match parsed {
        Ok(p) => p,
        Err(a) => return a,
    };
    let rows: Vec<&Pending> = w
        .pending
        .iter()
        .filter(|p| q.get("submit_user_name").is_none_or(|n| p.submit.name == n))
        .filter(|p| q.get("item_name").is_none_or(|n| contains_ci(&p.name, n)))
        .filter(|p| update_type.is_none_or(|t| p.update_type == t))
        .filter(|p| task_type.is_none_or(|t| p.task_type == t))
        .filter(|p| start.is_none_or(|s| p.submit_ts >= s) && end.is_none_or(|e| p.submit_ts <= e))
        .collect();
    let total = rows.len();
    let data: Vec<Value> = rows.into_iter().skip(offset).take(limit).map(|p| pending_json(p, opts)).collect();
    ok(json!({"total": total, "data": data}), rid)
}

pub(super) fn package_pending(w: &mut World, b: &Value, caller: Option<&Caller>, rid: &str) -> Answer {
    let Some(apply_user_id) = str_of(b, "apply_user_id") else { return param("apply_user_id is required.", rid) };
    let Some(name) = str_of(b, "package_name") else { return param("package_name is required.", rid) };
    if name.chars().count() > 128 {
        return param("package_name must be at most 128 characters.", rid);
    }
    let list = strs(b, "pending_item_list");
    if list.is_empty() || list.len() > 100 {
        return param("pending_item_list must hold 1 to 100 items.", rid);
    }
    let approver_ids = strs(b, "approver_ids");
    if let Some(refused) = super::members::refuse_approvers(w, &approver_ids, apply_user_id, rid) {
        return refused;
    }
    let mut items = Vec::with_capacity(list.len());
    for id in &list {
        let Some(p) = w.pending.iter().find(|p| &p.id == id) else {
            return fail(400, "DLF.0810", &format!("The pending item {id} does not exist."), rid);
        };
        if p.package_flag != 0 {
            return fail(400, "DLF.3100", &format!("The pending item {id} is already in a package."), rid);
        }
        items.push(p.clone());
    }
    let apply = APPLICANTS
        .iter()
        .chain(DEPLOYERS.iter())
        .find(|(id, _)| *id == apply_user_id)
        .map(|u| User::of(*u))
        .or_else(|| items.iter().find(|i| i.submit.id == apply_user_id).map(|i| i.submit.clone()))
        .unwrap_or_else(|| caller.map_or_else(|| User::of(APPLICANTS[0]), Caller::user));
    let approvers: Vec<User> = approver_ids
        .iter()
        .filter_map(|id| w.members.iter().find(|m| m.user.id == *id).map(|m| m.user.clone()))
        .collect();
    for p in &mut w.pending {
        if list.contains(&p.id) {
            p.package_flag = 1;
        }
    }
    let id = w.packages.iter().map(|p| p.id).max().unwrap_or_default() + 1;
    let now = now_ms();
    let package = Package {
        id,
        name: name.to_owned(),
        status: 1,
        apply,
        apply_ts: now,
        deploy: None,
        deploy_ts: 0,
        delete_flag: 0,
        approvers,
        items: items
            .into_iter()
            .map(|p| Item {
                pending_item_id: p.id,
                name: p.name,
                task_type: p.task_type,
                task_id: p.task_id,
                update_type: p.update_type,
                pending_version: p.pending_version,
                deployed_version: p.deployed_version,
                status: 1,
                start_job_status: None,
                submit: p.submit,
                submit_ts: p.submit_ts,
            })
            .collect(),
        run: None,
    };
    w.packages.push(package);
    ok(json!({"package_name": name, "release_package_id": id.to_string()}), rid)
}
