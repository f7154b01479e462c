//! Approvers of the release packages DeployFiles creates: DataArts requires
//! `approver_ids` on `pending-items/package`, user ids of workspace members
//! holding the admin or deployer role, other than the packager
//! (vendor-apis.md 2.7). The workspace setting `approvers` names them by
//! user name or user id; they are resolved once, at start-up, through the
//! workspace members API (`GET /v2/{project_id}/{workspace_id}/users`).

use tokio::sync::OnceCell;

use super::{
    HuaweiAdapter,
    api::Api,
    client::{Req, Service, parse_json},
    cursor::VENDOR_MAX_LIMIT,
    wire,
};
use crate::domain::{CallCtx, Error, Result};

/// Most member pages read (100 members each).
const MAX_MEMBER_PAGES: u32 = 20;

/// A workspace role, as far as approving release packages goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Workspace admin.
    Admin,
    /// Deployer (approves release packages in enterprise mode).
    Deployer,
    /// Developer, operator, viewer or a custom role.
    Other,
}

/// How the preset roles are spelt. The vendor does not document the exact
/// `role_code` / `role_name` strings **[inferred]**: both are compared,
/// ignoring ASCII case, with the English and Chinese preset names.
const ROLE_WORDS: &[(&str, Role)] = &[
    ("admin", Role::Admin),
    ("administrator", Role::Admin),
    ("管理员", Role::Admin),
    ("deployer", Role::Deployer),
    ("部署者", Role::Deployer),
];

impl Role {
    fn of(r: &wire::MemberRole) -> Role {
        let is = |w: &str| r.role_code.eq_ignore_ascii_case(w) || r.role_name.eq_ignore_ascii_case(w);
        ROLE_WORDS.iter().find(|(w, _)| is(w)).map_or(Role::Other, |(_, role)| *role)
    }

    fn approves(self) -> bool {
        match self {
            Role::Admin | Role::Deployer => true,
            Role::Other => false,
        }
    }
}

/// The configured approvers and, once resolved, their user ids.
pub(super) struct Approvers {
    /// As configured: user names or user ids.
    wanted: Vec<String>,
    /// Their user ids, in the configured order.
    ids: OnceCell<Vec<String>>,
}

impl Approvers {
    /// The approvers of the `approvers` setting (checked for shape by
    /// `check-config`).
    pub(super) fn new(wanted: &[String]) -> Approvers {
        Approvers { wanted: wanted.to_vec(), ids: OnceCell::new() }
    }

    /// Whether any are configured (DeployFiles needs them).
    pub(super) fn configured(&self) -> bool {
        !self.wanted.is_empty()
    }
}

/// Why DeployFiles is unavailable without approvers, and which setting
/// enables it.
pub(super) const NOT_CONFIGURED: &str = "DataArts requires approvers on every release package DeployFiles \
     creates: set `approvers` on this workspace in the gateway's configuration (user names or user ids of \
     workspace members holding the admin or deployer role)";

/// `wanted` resolved against the workspace's `members`: the user id of each
/// entry, or one line per entry that is not a member, is not a user, holds
/// no admin or deployer role, or names a user an earlier entry named.
fn resolve(
    wanted: &[String],
    members: &[wire::Member],
    workspace: &str,
) -> std::result::Result<Vec<String>, Vec<String>> {
    // (entry index, user id) of every entry resolved so far.
    let mut ids: Vec<(usize, String)> = Vec::with_capacity(wanted.len());
    let mut bad = Vec::new();
    for (i, w) in wanted.iter().enumerate() {
        let at = format!("approvers[{i}] {w:?}");
        let users = members.iter().filter(|m| m.kind.unwrap_or(0) == 0);
        let Some(m) = users.clone().find(|m| m.user_id == *w).or_else(|| users.clone().find(|m| m.user_name == *w))
        else {
            bad.push(format!("{at} is not a user of DataArts workspace {workspace}"));
            continue;
        };
        let roles: Vec<Role> = m.roles.iter().map(Role::of).collect();
        if !roles.iter().any(|r| r.approves()) {
            let names: Vec<&str> = m.roles.iter().map(|r| r.role_name.as_str()).collect();
            bad.push(format!(
                "{at} (user {}) holds {} in workspace {workspace}; approvers must hold the admin or deployer role",
                m.user_name,
                if names.is_empty() { "no role".to_owned() } else { format!("only {}", names.join(", ")) }
            ));
            continue;
        }
        match ids.iter().find(|(_, id)| *id == m.user_id).map(|(j, _)| *j) {
            Some(j) => bad.push(format!("{at} names the same user as approvers[{j}] ({})", m.user_name)),
            None => ids.push((i, m.user_id.clone())),
        }
    }
    if bad.is_empty() { Ok(ids.into_iter().map(|(_, id)| id).collect()) } else { Err(bad) }
}

impl HuaweiAdapter {
    /// Every member of the workspace (ListWorkspaceusers, 100 a page).
    async fn members(&self, ctx: &CallCtx) -> Result<Vec<wire::Member>> {
        let path = format!("/v2/{}/{}/users", self.client.project(), self.client.workspace());
        let mut all = Vec::new();
        for page in 0..MAX_MEMBER_PAGES {
            let offset = page * VENDOR_MAX_LIMIT;
            let req = Req::get(Service::Factory, path.clone()).query("limit", VENDOR_MAX_LIMIT).query("offset", offset);
            let answer = self.client.call(ctx, Api::WorkspaceUsersList, req).await?;
            let list: wire::Members = parse_json(&answer)?;
            let n = list.data.len();
            all.extend(list.data);
            let end = i64::from(offset + VENDOR_MAX_LIMIT);
            if n < VENDOR_MAX_LIMIT as usize || list.count.is_some_and(|c| end >= c) {
                break;
            }
        }
        Ok(all)
    }

    /// The approvers' user ids, resolved once (at start-up, through
    /// [`crate::domain::Adapter::prepare`]); without approvers configured,
    /// FAILED_PRECONDITION naming the setting, and no vendor call.
    pub(super) async fn approver_ids(&self, ctx: &CallCtx) -> Result<&[String]> {
        if !self.approvers.configured() {
            return Err(Error::unsupported(NOT_CONFIGURED));
        }
        let ids = self
            .approvers
            .ids
            .get_or_try_init(|| async {
                let members = self.members(ctx).await.map_err(|mut e| {
                    e.message = format!(
                        "cannot read the members of DataArts workspace {} to resolve `approvers`: {}",
                        self.client.workspace_id(),
                        e.message
                    );
                    e
                })?;
                resolve(&self.approvers.wanted, &members, self.client.workspace_id()).map_err(|bad| {
                    Error::unsupported(format!("`approvers` cannot approve DataArts packages: {}", bad.join("; ")))
                })
            })
            .await?;
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, name: &str, kind: i64, roles: &[(&str, &str)]) -> wire::Member {
        wire::Member {
            user_id: id.into(),
            user_name: name.into(),
            kind: Some(kind),
            roles: roles
                .iter()
                .map(|(c, n)| wire::MemberRole { role_code: (*c).into(), role_name: (*n).into() })
                .collect(),
        }
    }

    #[test]
    fn approvers_resolve_by_name_or_id_and_every_bad_entry_is_named() {
        let members = [
            member("u-admin", "root", 0, &[("ADMIN", "Admin")]),
            member("u-dep", "ops", 0, &[("developer", "Developer"), ("x", "部署者")]),
            member("u-dev", "alice", 0, &[("developer", "Developer")]),
            member("g-1", "deployers", 1, &[("deployer", "Deployer")]),
        ];
        let want = |w: &[&str]| w.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(resolve(&want(&["ops", "u-admin"]), &members, "ws"), Ok(vec!["u-dep".into(), "u-admin".into()]));
        let bad = resolve(&want(&["alice", "nobody", "deployers", "root", "u-admin"]), &members, "ws").unwrap_err();
        assert_eq!(bad.len(), 4, "{bad:?}");
        assert!(bad[0].starts_with("approvers[0] \"alice\"") && bad[0].contains("only Developer"), "{}", bad[0]);
        assert!(bad[1].starts_with("approvers[1] \"nobody\" is not a user"), "{}", bad[1]);
        assert!(bad[2].starts_with("approvers[2] \"deployers\" is not a user"), "groups cannot approve: {}", bad[2]);
        assert!(bad[3].starts_with("approvers[4]") && bad[3].contains("approvers[3]"), "{}", bad[3]);
    }
}
