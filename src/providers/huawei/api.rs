//! The DataArts Studio (and IAM) APIs the driver calls, each declaring
//! whether it reads or writes.

use crate::providers::client::{Access, Action};

/// A DataArts Studio or IAM API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    /// POST v2 `release-packages` (a list, despite the verb).
    ReleasePackagesList,
    /// GET v2 `release-packages/{id}`.
    ReleasePackagesGet,
    /// POST v2 `release-packages/deploy`.
    ReleasePackagesDeploy,
    /// GET v2 `pending-items`.
    PendingItemsList,
    /// POST v2 `pending-items/package`.
    PendingItemsPackage,
    /// GET v1 `system-tasks/{id}`.
    SystemTasksShow,
    /// GET v2 `scripts`.
    ScriptsList,
    /// GET v1 `scripts/{name}`.
    ScriptsShow,
    /// GET v1 `scripts` (a page of scripts with their content).
    ScriptsListV1,
    /// GET v2 `jobs`.
    JobsList,
    /// GET v1 `jobs/{name}`.
    JobsShow,
    /// GET v2 `{workspace_id}/users` (DataArts Management: workspace members).
    WorkspaceUsersList,
    /// POST IAM `/v3/auth/tokens` (issues a token; changes nothing).
    IamTokens,
    /// POST IAM `/v3.0/OS-AUTH/id-token/tokens` (a token for an OIDC ID token).
    IamIdTokens,
    /// POST IAM `/v3.0/OS-CREDENTIAL/securitytokens` (temporary access keys).
    IamSecurityTokens,
}

impl Action for Api {
    const ALL: &'static [Api] = &[
        Api::ReleasePackagesList,
        Api::ReleasePackagesGet,
        Api::ReleasePackagesDeploy,
        Api::PendingItemsList,
        Api::PendingItemsPackage,
        Api::SystemTasksShow,
        Api::ScriptsList,
        Api::ScriptsShow,
        Api::ScriptsListV1,
        Api::JobsList,
        Api::JobsShow,
        Api::WorkspaceUsersList,
        Api::IamTokens,
        Api::IamIdTokens,
        Api::IamSecurityTokens,
    ];

    fn name(self) -> &'static str {
        match self {
            Api::ReleasePackagesList => "release-packages.list",
            Api::ReleasePackagesGet => "release-packages.get",
            Api::ReleasePackagesDeploy => "release-packages.deploy",
            Api::PendingItemsList => "pending-items.list",
            Api::PendingItemsPackage => "pending-items.package",
            Api::SystemTasksShow => "system-tasks.show",
            Api::ScriptsList => "scripts.list",
            Api::ScriptsShow => "scripts.show",
            Api::ScriptsListV1 => "scripts.list-v1",
            Api::JobsList => "jobs.list",
            Api::JobsShow => "jobs.show",
            Api::WorkspaceUsersList => "workspace-users.list",
            Api::IamTokens => "iam.tokens",
            Api::IamIdTokens => "iam.id-tokens",
            Api::IamSecurityTokens => "iam.securitytokens",
        }
    }

    fn access(self) -> Access {
        match self {
            Api::ReleasePackagesDeploy | Api::PendingItemsPackage => Access::Write,
            Api::ReleasePackagesList
            | Api::ReleasePackagesGet
            | Api::PendingItemsList
            | Api::SystemTasksShow
            | Api::ScriptsList
            | Api::ScriptsShow
            | Api::ScriptsListV1
            | Api::JobsList
            | Api::JobsShow
            | Api::WorkspaceUsersList
            | Api::IamTokens
            | Api::IamIdTokens
            | Api::IamSecurityTokens => Access::Read,
        }
    }
}
