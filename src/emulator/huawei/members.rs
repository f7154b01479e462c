//! Workspace members (DataArts Management `ListWorkspaceusers`,
//! vendor-apis.md 2.7): who may approve release packages.

use serde_json::{Value, json};

use super::{
    Options,
    answer::{Answer, fail, ok},
    params::Query,
    store::{Member, World},
};

fn member_json(i: usize, m: &Member, opts: &Options) -> Value {
    let (code, name) = m.role.code_and_name();
    json!({
        "id": format!("{:032x}", i + 1),
        "user_id": m.user.id,
        "user_name": m.user.name,
        "domain_id": "0d0a1000000000000000000000000d0a",
        "domain_name": "demo-domain",
        "display_user_name": m.user.name,
        "domain_owner": i == 0,
        "description": "",
        "workspace_id": opts.workspace_id,
        "type": 0,
        "roles": [{"role_id": format!("role-{code}"), "role_code": code, "role_name": name, "description": ""}],
        "create_time": 1_735_689_600_000_i64,
        "update_time": 1_735_689_600_000_i64,
        "create_user": "ws-admin",
        "update_user": "ws-admin",
    })
}

/// `GET /v2/{project_id}/{workspace_id}/users`: another workspace in the
/// path answers `DLF.20819` "The workspace does not exist."
pub(super) fn list_members(w: &World, opts: &Options, workspace: &str, q: &Query, rid: &str) -> Answer {
    if workspace != opts.workspace_id {
        return fail(400, "DLF.20819", "The workspace does not exist.", rid);
    }
    let (limit, offset) = match q.paging(rid) {
        Ok(p) => p,
        Err(a) => return a,
    };
    let count = w.members.len();
    let data: Vec<Value> =
        w.members.iter().enumerate().skip(offset).take(limit).map(|(i, m)| member_json(i, m, opts)).collect();
    ok(json!({"count": count, "total_page": count.div_ceil(limit), "data": data}), rid)
}

/// Why `approver_ids` cannot approve a package of `apply_user_id`, as the
/// vendor refuses it **[inferred]**: the API marks `approver_ids` mandatory
/// and the SDK requires admins or deployers (the console: not yourself), but
/// no error code is documented for it; `DLF.0802` is the vendor's
/// "parameter not configured / invalid" code.
pub(super) fn refuse_approvers(w: &World, approver_ids: &[String], apply_user_id: &str, rid: &str) -> Option<Answer> {
    if approver_ids.is_empty() {
        return Some(fail(400, "DLF.0802", "The parameter approver_ids is not configured.", rid));
    }
    for id in approver_ids {
        if id == apply_user_id {
            return Some(fail(400, "DLF.0802", "The applicant cannot approve its own package.", rid));
        }
        if !w.members.iter().any(|m| m.user.id == *id && m.role.approves()) {
            let msg = format!("The approver {id} is not a workspace admin or deployer.");
            return Some(fail(400, "DLF.0802", &msg, rid));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::huawei::{ADMIN, APPLICANTS, DEPLOYERS, VIEWER};

    #[test]
    fn only_admins_and_deployers_other_than_the_applicant_approve() {
        let w = World::seed(&Options::default());
        let code = |ids: &[&str], applicant: &str| {
            let ids: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
            refuse_approvers(&w, &ids, applicant, "r").map(|a| (a.0, a.1.clone()))
        };
        let refused = Some((400, Some("DLF.0802".to_owned())));
        assert_eq!(code(&[], APPLICANTS[0].0), refused, "approver_ids is mandatory");
        assert_eq!(code(&[APPLICANTS[1].0], APPLICANTS[0].0), refused, "a developer cannot approve");
        assert_eq!(code(&[VIEWER.0], APPLICANTS[0].0), refused, "a viewer cannot approve");
        assert_eq!(code(&["not-a-member"], APPLICANTS[0].0), refused);
        assert_eq!(code(&[DEPLOYERS[0].0], DEPLOYERS[0].0), refused, "not yourself");
        assert_eq!(code(&[DEPLOYERS[0].0, ADMIN.0], APPLICANTS[0].0), None);
    }
}
