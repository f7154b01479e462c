//! The settings of a DataWorks workspace (`vendor: alibaba`), and their checks.

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

/// DataWorks endpoint overrides.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoints {
    /// The DataWorks API (full URL).
    pub api: Option<String>,
    /// STS, where `rrsa` exchanges the pod's token (full URL; default
    /// `https://sts.{region}.aliyuncs.com`, `sts-vpc` with `vpc: true`).
    pub sts: Option<String>,
    /// The ECS metadata service `instance_role` reads (default
    /// `http://100.100.100.200`).
    pub metadata: Option<String>,
}

/// DataWorks credentials: access keys as references, or `rrsa`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// Access key id (AK).
    pub access_key_id: Option<SecretRef>,
    /// Access key secret (SK).
    pub access_key_secret: Option<SecretRef>,
    /// STS security token, with temporary access keys.
    pub security_token: Option<SecretRef>,
    /// RAM Roles for Service Accounts (ACK): the pod's service-account
    /// token exchanged with STS AssumeRoleWithOIDC for temporary keys.
    pub rrsa: Option<Rrsa>,
    /// The ECS instance's RAM role, from the instance metadata service
    /// (IMDSv2: a session token first).
    pub instance_role: Option<InstanceRole>,
}

/// The ECS instance RAM role.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceRole {
    /// The role's name; unset: the one role the metadata service lists.
    pub role_name: Option<String>,
}

impl InstanceRole {
    /// Why `role_name` cannot be a RAM role name, if it cannot.
    fn problem(&self) -> Option<String> {
        let name = self.role_name.as_deref()?;
        let ok =
            (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        (!ok).then(|| format!("{name:?} is not a RAM role name (1-64 characters of A-Z a-z 0-9 - _ .)"))
    }
}

/// The variables ACK's pod-identity webhook sets: what `rrsa` settings
/// left unset default to.
pub(crate) const ENV_ROLE_ARN: &str = "ALIBABA_CLOUD_ROLE_ARN";
/// See [`ENV_ROLE_ARN`].
pub(crate) const ENV_OIDC_PROVIDER_ARN: &str = "ALIBABA_CLOUD_OIDC_PROVIDER_ARN";
/// See [`ENV_ROLE_ARN`].
pub(crate) const ENV_OIDC_TOKEN_FILE: &str = "ALIBABA_CLOUD_OIDC_TOKEN_FILE";

/// RRSA settings; unset ARNs and token file come from the variables ACK
/// injects into the pod.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rrsa {
    /// `acs:ram::<account>:role/<name>` (default `$ALIBABA_CLOUD_ROLE_ARN`).
    pub role_arn: Option<String>,
    /// `acs:ram::<account>:oidc-provider/<name>` (default
    /// `$ALIBABA_CLOUD_OIDC_PROVIDER_ARN`).
    pub oidc_provider_arn: Option<String>,
    /// The projected service-account token, re-read on every exchange
    /// (default `$ALIBABA_CLOUD_OIDC_TOKEN_FILE`).
    pub token_file: Option<PathBuf>,
    /// `RoleSessionName` (default `datastudio-gateway`).
    pub session_name: Option<String>,
    /// `DurationSeconds` of the keys asked for (default 1h; 15m to 12h).
    #[serde(default, with = "humantime_serde")]
    pub duration: Option<Duration>,
}

/// RRSA settings with their defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RrsaSettings {
    pub role_arn: String,
    pub oidc_provider_arn: String,
    pub token_file: PathBuf,
    pub session_name: String,
    pub duration: Duration,
}

/// Shortest and longest `DurationSeconds` STS takes (the longest also
/// depends on the role's MaxSessionDuration).
const DURATION_RANGE: (Duration, Duration) = (Duration::from_secs(900), Duration::from_secs(43200));

impl Rrsa {
    /// The settings with the ACK variables filled in, or every problem as
    /// (key below `credentials.rrsa`, message).
    pub(crate) fn resolve(&self) -> Result<RrsaSettings, Vec<(&'static str, String)>> {
        let mut problems = Vec::new();
        let mut pick = |key: &'static str, set: Option<String>, var: &str, kind: &str| {
            let v = set.or_else(|| std::env::var(var).ok().filter(|v| !v.trim().is_empty()));
            match v {
                None => {
                    problems
                        .push((key, format!("is not set, and neither is {var} (set by ACK's pod-identity webhook)")));
                    String::new()
                }
                Some(v) if !arn_of(&v, kind) => {
                    problems.push((key, format!("{v:?} is not an ARN like acs:ram::<account id>:{kind}/<name>")));
                    v
                }
                Some(v) => v,
            }
        };
        let role_arn = pick("role_arn", self.role_arn.clone(), ENV_ROLE_ARN, "role");
        let oidc_provider_arn =
            pick("oidc_provider_arn", self.oidc_provider_arn.clone(), ENV_OIDC_PROVIDER_ARN, "oidc-provider");
        let token_file = self
            .token_file
            .clone()
            .or_else(|| std::env::var_os(ENV_OIDC_TOKEN_FILE).filter(|v| !v.is_empty()).map(PathBuf::from));
        if token_file.is_none() {
            problems.push((
                "token_file",
                format!("is not set, and neither is {ENV_OIDC_TOKEN_FILE} (set by ACK's pod-identity webhook)"),
            ));
        }
        let session_name = self.session_name.clone().unwrap_or_else(|| "datastudio-gateway".into());
        let session_ok = (2..=64).contains(&session_name.len())
            && session_name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.@=,".contains(&b));
        if !session_ok {
            problems
                .push(("session_name", format!("{session_name:?} must be 2-64 characters of A-Z a-z 0-9 - _ . @ = ,")));
        }
        let duration = self.duration.unwrap_or(Duration::from_secs(3600));
        if duration < DURATION_RANGE.0 || duration > DURATION_RANGE.1 {
            problems.push(("duration", "must be between 15m and 12h (STS DurationSeconds)".to_owned()));
        }
        match (problems.is_empty(), token_file) {
            (true, Some(token_file)) => {
                Ok(RrsaSettings { role_arn, oidc_provider_arn, token_file, session_name, duration })
            }
            _ => Err(problems),
        }
    }
}

/// Whether `v` is `acs:ram::<digits>:<kind>/<name>`.
fn arn_of(v: &str, kind: &str) -> bool {
    let Some(rest) = v.strip_prefix("acs:ram::") else { return false };
    let Some((account, resource)) = rest.split_once(':') else { return false };
    let Some(name) = resource.strip_prefix(kind).and_then(|r| r.strip_prefix('/')) else { return false };
    !account.is_empty() && account.bytes().all(|b| b.is_ascii_digit()) && !name.is_empty()
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
        if let Some(u) = &self.endpoints.sts {
            p.url(&at("endpoints.sts"), u);
        }
        if let Some(u) = &self.endpoints.metadata {
            p.url(&at("endpoints.metadata"), u);
        }
        let c = &self.credentials;
        let keys = c.access_key_id.is_some() || c.access_key_secret.is_some() || c.security_token.is_some();
        if let Some(role) = &c.instance_role {
            if keys || c.rrsa.is_some() {
                p.add(at("credentials"), "use one of access keys, rrsa or instance_role");
            }
            if let Some(problem) = role.problem() {
                p.add(at("credentials.instance_role.role_name"), problem);
            }
            return;
        }
        let Some(rrsa) = &c.rrsa else {
            p.required_secret(&at("credentials.access_key_id"), &c.access_key_id);
            p.required_secret(&at("credentials.access_key_secret"), &c.access_key_secret);
            if let Some(r) = &c.security_token {
                p.secret(&at("credentials.security_token"), r);
            }
            return;
        };
        if keys {
            p.add(at("credentials"), "use either access keys or rrsa, not both");
        }
        match rrsa.resolve() {
            Err(problems) => {
                for (key, message) in problems {
                    p.add(at(&format!("credentials.rrsa.{key}")), message);
                }
            }
            // The kubelet writes the token before the container starts.
            Ok(s) => p.token_file(&at("credentials.rrsa.token_file"), &s.token_file),
        }
    }

    fn rate_key(&self, key: &str) -> Result<(), String> {
        RateKey::<Api>::parse(key).map(drop)
    }

    fn project(&self) -> &str {
        self.project_id.as_deref().or(self.project_identifier.as_deref()).unwrap_or_default()
    }

    fn adapter(&self, name: &str, ws: &WorkspaceConfig, shared: &Arc<Shared>) -> anyhow::Result<Arc<dyn Adapter>> {
        super::build(name, ws, self, shared)
    }
}
