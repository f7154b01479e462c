//! The settings of a DataArts Studio workspace (`vendor: huawei`), and their
//! checks.

use std::sync::Arc;

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

/// DataArts Studio credentials, as references: access keys, or `iam`.
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
