//! Security settings: TLS on the gRPC port (`server.tls`), caller
//! authentication and per-workspace authorization policies (`auth`).

use std::{collections::HashSet, path::Path, path::PathBuf, time::Duration};

use serde::{Deserialize, Serialize};

use super::{Config, Problem};

/// TLS on the gRPC port; files are re-read when they change.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
    /// PEM CA bundle: when set, every client must present a certificate
    /// signed by one of these CAs (mTLS), and its SAN is the caller's identity.
    #[serde(default)]
    pub client_ca_file: Option<PathBuf>,
}

/// Caller authentication and authorization. Without this section every
/// caller may do everything (the gateway warns at start).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// JWT bearer tokens, verified offline against a JWKS file.
    #[serde(default)]
    pub jwt: Option<JwtConfig>,
    /// Who may do what on which workspace; anything not granted is denied.
    #[serde(default)]
    pub policies: Vec<PolicyConfig>,
}

/// JWT bearer token verification.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    /// JWKS document (RSA, EC P-256/P-384 or Ed25519 keys); re-read when it changes.
    pub jwks_file: PathBuf,
    /// Required `iss`.
    pub issuer: String,
    /// Accepted `aud` values (one must match).
    pub audiences: Vec<String>,
    /// Claim that names the caller.
    #[serde(default = "default_claim")]
    pub identity_claim: String,
    /// Clock skew allowed on `exp` and `nbf`.
    #[serde(default = "default_leeway", with = "humantime_serde")]
    pub leeway: Duration,
}

fn default_claim() -> String {
    "sub".into()
}

fn default_leeway() -> Duration {
    Duration::from_secs(30)
}

/// One grant: these subjects may do these things on these workspaces.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// A name for operators (shown by `check-config`, never to callers).
    pub name: String,
    /// Caller identities, exact or with `*` wildcards
    /// (`spiffe://corp/ns/etl/*`); `*` alone is any authenticated caller.
    #[serde(default)]
    pub subjects: Vec<String>,
    /// Workspace names, or `*` for all.
    pub workspaces: Vec<String>,
    /// `read` and/or `deploy`.
    pub permissions: Vec<Permission>,
    /// Also grant to callers with no credentials at all (read only).
    #[serde(default)]
    pub allow_anonymous: bool,
}

/// What a call needs on a workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Permission {
    /// List and get packages, files, versions, deployments, the workspace.
    Read,
    /// Deploy release packages and files.
    Deploy,
}

impl Permission {
    /// The name callers see in PERMISSION_DENIED.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Permission::Read => "datastudio.read",
            Permission::Deploy => "datastudio.deploy",
        }
    }
}

/// Whether `pattern` is a glob this gateway supports: non-empty, no
/// whitespace, `*` as the only wildcard and never `**`.
pub fn glob_problem(pattern: &str) -> Option<&'static str> {
    if pattern.is_empty() {
        Some("must not be empty")
    } else if pattern.chars().any(char::is_whitespace) {
        Some("must not contain whitespace")
    } else if pattern.contains(['?', '[', ']', '{', '}', '\\']) {
        Some("only `*` is supported as a wildcard")
    } else if pattern.contains("**") {
        Some("`**` is not supported; `*` already matches across `/`")
    } else {
        None
    }
}

/// Matches `text` against `pattern`, where `*` matches any run of characters.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Problems in `server.tls` and `auth`.
pub(super) fn check(cfg: &Config, out: &mut Vec<Problem>) {
    let mut add = |path: String, message: String| out.push(Problem { path, message });
    if let Some(tls) = &cfg.server.tls
        && let Err(e) = crate::auth::tls::load_server_config(tls)
    {
        add("server.tls".into(), e.to_string());
    }
    let Some(auth) = &cfg.auth else { return };
    let mtls = cfg.server.tls.as_ref().is_some_and(|t| t.client_ca_file.is_some());
    if auth.jwt.is_none() && !mtls {
        add("auth".into(), "no way to identify callers: set auth.jwt or server.tls.client_ca_file (mTLS)".into());
    }
    if let Some(jwt) = &auth.jwt {
        if jwt.issuer.trim().is_empty() {
            add("auth.jwt.issuer".into(), "must not be empty".into());
        }
        if jwt.audiences.is_empty() || jwt.audiences.iter().any(|a| a.trim().is_empty()) {
            add("auth.jwt.audiences".into(), "name at least one audience, none empty".into());
        }
        if jwt.identity_claim.trim().is_empty() {
            add("auth.jwt.identity_claim".into(), "must not be empty".into());
        }
        if jwt.leeway > Duration::from_secs(300) {
            add("auth.jwt.leeway".into(), "must be at most 5m".into());
        }
        if let Err(e) = crate::auth::jwt::load_jwks(&jwt.jwks_file) {
            add("auth.jwt.jwks_file".into(), e);
        }
    }
    let mut names = HashSet::new();
    for (i, p) in auth.policies.iter().enumerate() {
        let at = |k: &str| format!("auth.policies[{i}].{k}");
        if p.name.trim().is_empty() {
            add(at("name"), "must not be empty".into());
        } else if !names.insert(p.name.as_str()) {
            add(at("name"), format!("{:?} is used by another policy", p.name));
        }
        if p.subjects.is_empty() && !p.allow_anonymous {
            add(at("subjects"), "name at least one subject (or set allow_anonymous)".into());
        }
        for (j, s) in p.subjects.iter().enumerate() {
            if let Some(m) = glob_problem(s) {
                add(at(&format!("subjects[{j}]")), format!("{s:?}: {m}"));
            }
        }
        if p.workspaces.is_empty() {
            add(at("workspaces"), "name at least one workspace, or \"*\"".into());
        }
        for (j, w) in p.workspaces.iter().enumerate() {
            if w != "*" && !cfg.workspaces.contains_key(w) {
                add(at(&format!("workspaces[{j}]")), format!("{w:?} is not a configured workspace"));
            }
        }
        if p.permissions.is_empty() {
            add(at("permissions"), "name at least one of read, deploy".into());
        }
        if p.allow_anonymous && p.permissions.contains(&Permission::Deploy) {
            add(at("allow_anonymous"), "deploy is never granted to anonymous callers".into());
        }
    }
}

/// A file's identity for change detection: modification time and length.
pub(crate) fn stamp(path: &Path) -> Option<(std::time::SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_shell_stars() {
        assert!(glob_match("spiffe://corp/ns/etl/*", "spiffe://corp/ns/etl/sa/loader"));
        assert!(!glob_match("spiffe://corp/ns/etl/*", "spiffe://corp/ns/web/sa/x"));
        assert!(glob_match("*", "anything"));
        assert!(glob_match("a*b*c", "aXXbYc"));
        assert!(!glob_match("a*b*c", "aXXbY"));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exactly"));
        assert_eq!(glob_problem("a**"), Some("`**` is not supported; `*` already matches across `/`"));
        assert!(glob_problem("a?").is_some());
        assert!(glob_problem("").is_some());
        assert!(glob_problem("spiffe://x/*").is_none());
    }
}
