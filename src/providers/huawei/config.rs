//! The settings of a DataArts Studio workspace (`vendor: huawei`), and their
//! checks.

use std::{path::PathBuf, sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};

use super::api::Api;
use crate::{
    config::{Problems, SecretRef, WorkspaceConfig, string_or_number},
    domain::Adapter,
    providers::{
        Driver,
        client::{RateKey, Shared},
    },
};

/// The DataArts Studio settings of a workspace (besides the vendor-neutral
/// ones).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// IAM project id (32 hex digits).
    #[serde(default, deserialize_with = "string_or_number")]
    pub project_id: Option<String>,
    /// DataArts workspace id (`workspace` header).
    #[serde(default)]
    pub workspace_id: Option<String>,
    /// Endpoint overrides.
    #[serde(default)]
    pub endpoints: Endpoints,
    /// Credentials: access keys or IAM password authentication.
    pub credentials: Credentials,
    /// Who approves the release packages DeployFiles creates
    /// (`approver_ids` of `pending-items/package`, which DataArts requires):
    /// workspace members by user name or user id, each holding the admin or
    /// deployer role. Resolved against the workspace members API at
    /// start-up; without approvers DeployFiles is not available.
    #[serde(default)]
    pub approvers: Vec<String>,
}

/// DataArts Studio endpoint overrides (full URLs).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoints {
    /// v2 factory APIs (`dayu.{region}.myhuaweicloud.com`).
    pub factory: Option<String>,
    /// v1 script/job APIs (`dayu-dlf.{region}.myhuaweicloud.com`).
    pub dlf: Option<String>,
    /// IAM (`iam.{region}.myhuaweicloud.com`).
    pub iam: Option<String>,
}

/// DataArts Studio credentials, as references: access keys, `iam`, or
/// `workload_identity`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// Access key id (AK).
    pub access_key_id: Option<SecretRef>,
    /// Secret access key (SK).
    #[serde(alias = "access_key_secret")]
    pub secret_access_key: Option<SecretRef>,
    /// IAM password authentication instead of access keys.
    pub iam: Option<IamPassword>,
    /// CCE workload identity: the pod's service-account token exchanged
    /// with IAM for a token (and optionally temporary access keys).
    pub workload_identity: Option<WorkloadIdentity>,
}

/// The variables huaweicloudsdkcore reads for workload identity: what
/// unset `workload_identity` settings default to.
pub(crate) const ENV_IDP_ID: &str = "HUAWEICLOUD_SDK_IDP_ID";
/// See [`ENV_IDP_ID`].
pub(crate) const ENV_ID_TOKEN_FILE: &str = "HUAWEICLOUD_SDK_ID_TOKEN_FILE";

/// CCE workload identity settings. The token IAM issues is scoped to the
/// workspace's `project_id`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadIdentity {
    /// The IAM identity provider's id, sent as `X-Idp-Id` (default
    /// `$HUAWEICLOUD_SDK_IDP_ID`).
    pub idp_id: Option<String>,
    /// The projected service-account token, re-read on every exchange
    /// (default `$HUAWEICLOUD_SDK_ID_TOKEN_FILE`).
    pub token_file: Option<PathBuf>,
    /// How DataArts calls authenticate: the IAM token (`token`, default),
    /// or temporary access keys made from it (`temporary_keys`).
    #[serde(default)]
    pub sign_with: SignWith,
    /// Lifetime of temporary access keys (default 6h; 15m to 24h).
    #[serde(default, with = "humantime_serde")]
    pub duration: Option<Duration>,
}

/// What DataArts calls of a workload-identity workspace carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignWith {
    /// The project-scoped IAM token, as `X-Auth-Token`.
    #[default]
    Token,
    /// Temporary AK/SK (OS-CREDENTIAL/securitytokens), signed with
    /// SDK-HMAC-SHA256 and sent with `X-Security-Token`.
    TemporaryKeys,
}

/// Workload identity settings with their defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WorkloadSettings {
    pub idp_id: String,
    pub token_file: PathBuf,
    pub sign_with: SignWith,
    pub duration: Duration,
}

impl WorkloadIdentity {
    /// The settings with the SDK variables filled in, or every problem as
    /// (key below `credentials.workload_identity`, message).
    pub(crate) fn resolve(&self) -> Result<WorkloadSettings, Vec<(&'static str, String)>> {
        let mut problems = Vec::new();
        let idp_id = self.idp_id.clone().or_else(|| std::env::var(ENV_IDP_ID).ok()).filter(|v| !v.trim().is_empty());
        if idp_id.is_none() {
            problems.push(("idp_id", format!("is not set, and neither is {ENV_IDP_ID}")));
        }
        let token_file = self
            .token_file
            .clone()
            .or_else(|| std::env::var_os(ENV_ID_TOKEN_FILE).filter(|v| !v.is_empty()).map(PathBuf::from));
        if token_file.is_none() {
            problems.push(("token_file", format!("is not set, and neither is {ENV_ID_TOKEN_FILE}")));
        }
        let duration = self.duration.unwrap_or(Duration::from_secs(6 * 3600));
        match (self.sign_with, self.duration) {
            (SignWith::Token, Some(_)) => {
                problems.push(("duration", "applies to sign_with: temporary_keys only".to_owned()));
            }
            (SignWith::TemporaryKeys, _)
                if duration < Duration::from_secs(900) || duration > Duration::from_secs(24 * 3600) =>
            {
                problems.push(("duration", "must be between 15m and 24h (securitytokens duration_seconds)".to_owned()));
            }
            _ => {}
        }
        match (idp_id, token_file, problems.is_empty()) {
            (Some(idp_id), Some(token_file), true) => {
                Ok(WorkloadSettings { idp_id, token_file, sign_with: self.sign_with, duration })
            }
            _ => Err(problems),
        }
    }
}

/// IAM password authentication (token from POST /v3/auth/tokens).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IamPassword {
    /// Account (domain) name.
    pub domain_name: String,
    /// IAM user name.
    pub user_name: String,
    /// Password.
    pub password: SecretRef,
}

impl Driver for Config {
    fn check(&self, at: &dyn Fn(&str) -> String, p: &mut Problems) {
        match &self.project_id {
            None => p.add(at("project_id"), "the IAM project id is required"),
            Some(id) if id.len() != 32 || !id.chars().all(|c| c.is_ascii_hexdigit()) => {
                p.add(at("project_id"), format!("{id:?} is not a 32-hex-digit IAM project id"))
            }
            _ => {}
        }
        if self.workspace_id.as_deref().is_none_or(str::is_empty) {
            p.add(at("workspace_id"), "the DataArts workspace id is required");
        }
        let mut seen = std::collections::HashSet::new();
        for (i, a) in self.approvers.iter().enumerate() {
            if a.trim().is_empty() {
                p.add(at(&format!("approvers[{i}]")), "must be a user name or user id, not empty");
            } else if a.trim() != a {
                p.add(at(&format!("approvers[{i}]")), format!("{a:?} has leading or trailing spaces"));
            } else if !seen.insert(a.as_str()) {
                p.add(at(&format!("approvers[{i}]")), format!("{a:?} is listed twice"));
            }
        }
        let e = &self.endpoints;
        for (k, v) in [("factory", &e.factory), ("dlf", &e.dlf), ("iam", &e.iam)] {
            if let Some(u) = v {
                p.url(&at(&format!("endpoints.{k}")), u);
            }
        }
        let c = &self.credentials;
        if let Some(wi) = &c.workload_identity {
            if c.access_key_id.is_some() || c.secret_access_key.is_some() || c.iam.is_some() {
                p.add(at("credentials"), "use one of access keys, iam or workload_identity");
            }
            match wi.resolve() {
                Err(problems) => {
                    for (key, message) in problems {
                        p.add(at(&format!("credentials.workload_identity.{key}")), message);
                    }
                }
                // The kubelet writes the token before the container starts.
                Ok(s) => p.token_file(&at("credentials.workload_identity.token_file"), &s.token_file),
            }
            return;
        }
        let Some(iam) = &c.iam else {
            p.required_secret(&at("credentials.access_key_id"), &c.access_key_id);
            p.required_secret(&at("credentials.secret_access_key"), &c.secret_access_key);
            return;
        };
        if c.access_key_id.is_some() || c.secret_access_key.is_some() {
            p.add(at("credentials"), "use either access keys or iam, not both");
        }
        if iam.domain_name.is_empty() {
            p.add(at("credentials.iam.domain_name"), "must not be empty");
        }
        if iam.user_name.is_empty() {
            p.add(at("credentials.iam.user_name"), "must not be empty");
        }
        p.secret(&at("credentials.iam.password"), &iam.password);
    }

    fn rate_key(&self, key: &str) -> Result<(), String> {
        RateKey::<Api>::parse(key).map(drop)
    }

    fn project(&self) -> &str {
        self.project_id.as_deref().unwrap_or_default()
    }

    fn adapter(&self, name: &str, ws: &WorkspaceConfig, shared: &Arc<Shared>) -> anyhow::Result<Arc<dyn Adapter>> {
        Ok(Arc::new(super::new(name, ws, self, shared)?))
    }
}
