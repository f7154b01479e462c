//! The DataArts Studio paths the emulator serves, and the action name each is recorded under.

use axum::http::Method;

/// A request's API, with the project id (and name or id) from its path.
pub(super) enum Route {
    Tokens,
    /// IAM: a token for an OIDC ID token (workload identity).
    IdTokens,
    /// IAM: temporary access keys for a token.
    SecurityTokens,
    ListPackages(String),
    GetPackage(String, String),
    Deploy(String),
    ListPending(String),
    PackagePending(String),
    ListScripts(String),
    ListJobs(String),
    ShowScript(String, String),
    /// v1 list scripts (with content).
    ListScriptsV1(String),
    ShowJob(String, String),
    SystemTask(String, String),
    /// Workspace members: project id, workspace id (in the path).
    WorkspaceUsers(String, String),
    Unknown,
}

impl Route {
    pub(super) fn parse(method: &Method, path: &str) -> Route {
        let segs: Vec<String> = path
            .trim_start_matches('/')
            .split('/')
            .map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned())
            .collect();
        let s: Vec<&str> = segs.iter().map(String::as_str).collect();
        let get = method == Method::GET;
        let post = method == Method::POST;
        match s.as_slice() {
            ["v3", "auth", "tokens"] if post => Route::Tokens,
            ["v3.0", "OS-AUTH", "id-token", "tokens"] if post => Route::IdTokens,
            ["v3.0", "OS-CREDENTIAL", "securitytokens"] if post => Route::SecurityTokens,
            ["v2", pid, "factory", "release-packages"] if post => Route::ListPackages(pid.to_string()),
            ["v2", pid, "factory", "release-packages", "deploy"] if post => Route::Deploy(pid.to_string()),
            ["v2", pid, "factory", "release-packages", id] if get => Route::GetPackage(pid.to_string(), id.to_string()),
            ["v2", pid, "factory", "pending-items"] if get => Route::ListPending(pid.to_string()),
            ["v2", pid, "factory", "pending-items", "package"] if post => Route::PackagePending(pid.to_string()),
            ["v2", pid, "factory", "scripts"] if get => Route::ListScripts(pid.to_string()),
            ["v2", pid, "factory", "jobs"] if get => Route::ListJobs(pid.to_string()),
            ["v1", pid, "scripts"] if get => Route::ListScriptsV1(pid.to_string()),
            ["v1", pid, "scripts", name] if get => Route::ShowScript(pid.to_string(), name.to_string()),
            ["v1", pid, "jobs", name] if get => Route::ShowJob(pid.to_string(), name.to_string()),
            ["v1", pid, "system-tasks", id] if get => Route::SystemTask(pid.to_string(), id.to_string()),
            ["v2", pid, ws, "users"] if get => Route::WorkspaceUsers(pid.to_string(), ws.to_string()),
            _ => Route::Unknown,
        }
    }

    pub(super) fn action(&self) -> &'static str {
        match self {
            Route::Tokens => "iam.tokens",
            Route::IdTokens => "iam.id-tokens",
            Route::SecurityTokens => "iam.securitytokens",
            Route::ListPackages(_) => "release-packages.list",
            Route::GetPackage(..) => "release-packages.get",
            Route::Deploy(_) => "release-packages.deploy",
            Route::ListPending(_) => "pending-items.list",
            Route::PackagePending(_) => "pending-items.package",
            Route::ListScripts(_) => "scripts.list",
            Route::ListJobs(_) => "jobs.list",
            Route::ShowScript(..) => "scripts.show",
            Route::ListScriptsV1(_) => "scripts.list-v1",
            Route::ShowJob(..) => "jobs.show",
            Route::SystemTask(..) => "system-tasks.show",
            Route::WorkspaceUsers(..) => "workspace-users.list",
            Route::Unknown => "unknown",
        }
    }

    pub(super) fn project(&self) -> Option<&str> {
        match self {
            Route::ListPackages(p)
            | Route::GetPackage(p, _)
            | Route::Deploy(p)
            | Route::ListPending(p)
            | Route::PackagePending(p)
            | Route::ListScripts(p)
            | Route::ListJobs(p)
            | Route::ShowScript(p, _)
            | Route::ListScriptsV1(p)
            | Route::ShowJob(p, _)
            | Route::SystemTask(p, _)
            | Route::WorkspaceUsers(p, _) => Some(p),
            Route::Tokens | Route::IdTokens | Route::SecurityTokens | Route::Unknown => None,
        }
    }
}
