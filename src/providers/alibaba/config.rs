//! The settings of a DataWorks workspace (`vendor: alibaba`), and their checks.

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

/// The DataWorks settings of a workspace (besides the vendor-neutral ones).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Numeric ProjectId.
    #[serde(default, deserialize_with = "string_or_number")]
    pub project_id: Option<String>,
    /// ProjectIdentifier (workspace English name), instead of project_id.
    #[serde(default)]
    pub project_identifier: Option<String>,
    /// `legacy` (default) or `pipeline` (new Data Studio).
    #[serde(default)]
    pub flavour: Flavour,
    /// Edition, for default rate limits.
    #[serde(default)]
    pub edition: Edition,
    /// Use the VPC endpoint `dataworks-vpc.{region}.aliyuncs.com`.
    #[serde(default)]
    pub vpc: bool,
    /// Endpoint override.
    #[serde(default)]
    pub endpoints: Endpoints,
    /// Credentials, as references.
    pub credentials: Credentials,
    /// How pipeline runs are driven (the pipeline flavour).
    #[serde(default)]
    pub pipeline: PipelineSettings,
}

/// How the deployment engine drives pipeline runs.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineSettings {
    /// The code of the last stage the gateway starts (e.g. `DEV` or
    /// `PROD_CHECK`): a run whose stages up to it have succeeded is
    /// reported SUCCEEDED and its later stages are left to people. Unset:
    /// every stage.
    #[serde(default)]
    pub run_until: Option<String>,
}

/// Which DataWorks deployment model a workspace uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavour {
    /// Legacy Data Studio: deployment packages, SubmitFile/DeployFile.
    #[default]
    Legacy,
    /// New Data Studio: pipeline runs.
    Pipeline,
}

/// DataWorks edition, which sets the default rate limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Edition {
    /// Basic: about 5 QPS per API and 100 calls a day.
    #[default]
    Basic,
    /// Standard.
    Standard,
    /// Professional.
    Professional,
    /// Enterprise: about 50 QPS reads, 20 QPS writes.
    Enterprise,
}

/// DataWorks endpoint override.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoints {
    /// The DataWorks API (full URL).
    pub api: Option<String>,
}

/// DataWorks credentials, as references.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// Access key id (AK).
    pub access_key_id: Option<SecretRef>,
    /// Access key secret (SK).
    pub access_key_secret: Option<SecretRef>,
    /// STS security token, with temporary access keys.
    pub security_token: Option<SecretRef>,
}

impl Driver for Config {
    fn check(&self, at: &dyn Fn(&str) -> String, p: &mut Problems) {
        match (&self.project_id, &self.project_identifier) {
            (None, None) => p.add(at("project_id"), "set project_id (numeric) or project_identifier"),
            (Some(id), _) if id.parse::<u64>().is_err() => {
                p.add(at("project_id"), format!("{id:?} is not a numeric DataWorks ProjectId"))
            }
            _ => {}
        }
        if self.flavour == Flavour::Pipeline && self.project_id.is_none() {
            p.add(at("project_id"), "the pipeline flavour needs the numeric project_id");
        }
        if let Some(stage) = &self.pipeline.run_until {
            if self.flavour != Flavour::Pipeline {
                p.add(at("pipeline.run_until"), "only the pipeline flavour has stages");
            } else if stage.is_empty()
                || !stage.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            {
                p.add(at("pipeline.run_until"), format!("{stage:?} is not a stage code (e.g. DEV_CHECK, PROD)"));
            }
        }
        if let Some(u) = &self.endpoints.api {
            p.url(&at("endpoints.api"), u);
        }
        let c = &self.credentials;
        p.required_secret(&at("credentials.access_key_id"), &c.access_key_id);
        p.required_secret(&at("credentials.access_key_secret"), &c.access_key_secret);
        if let Some(r) = &c.security_token {
            p.secret(&at("credentials.security_token"), r);
        }
    }

    fn rate_key(&self, key: &str) -> Result<(), String> {
        RateKey::<Api>::parse(key).map(drop)
    }

    fn project(&self) -> &str {
        self.project_id.as_deref().or(self.project_identifier.as_deref()).unwrap_or_default()
    }

    fn adapter(&self, _: &str, ws: &WorkspaceConfig, shared: &Arc<Shared>) -> anyhow::Result<Arc<dyn Adapter>> {
        super::build(ws, self, shared)
    }
}
