//! The gateway's configuration: one YAML file plus `DSGW_` environment
//! overrides (`DSGW_SERVER__SHUTDOWN_GRACE=30s`). Secrets are references,
//! never values. [`check`] lists every problem with its path.

mod check;
mod secret;
mod security;
mod state;

pub use check::{Problem, check, valid_workspace_name};
pub use secret::{LiveSecret, Secret, SecretError, SecretRef};
pub(crate) use security::stamp;
pub use security::{AuthConfig, JwtConfig, Permission, PolicyConfig, TlsConfig, glob_match, glob_problem};
pub use state::{OnDamage, StateConfig};

use std::{collections::BTreeMap, net::SocketAddr, path::Path, path::PathBuf, time::Duration};

use figment::{
    Figment,
    providers::{Env, Format, Yaml},
};
use serde::{Deserialize, Serialize};

/// The whole configuration file.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Listening addresses and server limits.
    #[serde(default)]
    pub server: ServerConfig,
    /// Rate limits, retries and deploy idempotency.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Trace and log settings beyond the standard `OTEL_*` variables.
    #[serde(default)]
    pub telemetry: TelemetryConfig,
    /// Workspaces by name: what callers pass as `workspaces/{name}`.
    #[serde(default)]
    pub workspaces: BTreeMap<String, WorkspaceConfig>,
    /// Caller authentication and per-workspace policies; absent = open.
    #[serde(default)]
    pub auth: Option<AuthConfig>,
    /// What a damaged state file leads to.
    #[serde(default)]
    pub state: StateConfig,
}

/// Listening addresses and server limits.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// gRPC address.
    pub grpc_listen: SocketAddr,
    /// Admin HTTP address (`/healthz`, `/readyz`, `/metrics`).
    pub admin_listen: SocketAddr,
    /// How long in-flight calls may run after SIGTERM.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// Largest request or response message, bytes.
    pub max_message_bytes: usize,
    /// Concurrent HTTP/2 streams per connection.
    pub max_concurrent_streams: u32,
    /// Serve gRPC reflection (v1 and v1alpha).
    pub reflection: bool,
    /// Key that signs page tokens; random per process when unset (tokens then
    /// do not survive a restart or cross replicas).
    pub page_token_key: Option<SecretRef>,
    /// Directory for state files (deploy records, daily budgets).
    pub state_dir: PathBuf,
    /// TLS (and mTLS) on the gRPC port; absent = plaintext.
    pub tls: Option<TlsConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            grpc_listen: ([0, 0, 0, 0], 50051).into(),
            admin_listen: ([0, 0, 0, 0], 9090).into(),
            shutdown_grace: Duration::from_secs(20),
            max_message_bytes: 4 * 1024 * 1024,
            max_concurrent_streams: 256,
            reflection: true,
            page_token_key: None,
            state_dir: PathBuf::from("/var/lib/datastudio-gateway"),
            tls: None,
        }
    }
}

/// Rate limits, retries and deploy idempotency.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// `local` (in-process) or `redis` (shared by replicas).
    pub backend: LimiterBackend,
    /// Replicas sharing each vendor account: per-pod limits are divided by it
    /// with the local backend, and when `redis` falls back to local limits.
    pub replicas: u32,
    /// The shared store (required with `backend: redis`).
    pub redis: Option<RedisConfig>,
    /// Longest a call waits for a vendor rate-limit slot, whatever its deadline.
    #[serde(with = "humantime_serde")]
    pub max_wait: Duration,
    /// Safety margin kept before the caller's deadline.
    #[serde(with = "humantime_serde")]
    pub deadline_margin: Duration,
    /// How long deploy records (request_id → outcome) are kept.
    #[serde(with = "humantime_serde")]
    pub idempotency_ttl: Duration,
    /// IANA zone of the vendors' day boundary for daily budgets.
    pub daily_budget_zone: String,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            backend: LimiterBackend::Local,
            replicas: 1,
            redis: None,
            max_wait: Duration::from_secs(30),
            deadline_margin: Duration::from_millis(50),
            idempotency_ttl: Duration::from_secs(7 * 24 * 3600),
            daily_budget_zone: "Asia/Shanghai".into(),
        }
    }
}

/// Where rate-limit and idempotency state lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LimiterBackend {
    /// In-process.
    Local,
    /// Redis, shared by all replicas.
    Redis,
}

/// The Redis that holds rate buckets, daily budgets and deploy records for
/// every replica (`limits.backend: redis`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// `redis://[:password@]host:port[/db]` or `rediss://` for TLS, as a
    /// secret reference (the URL carries the password).
    pub url: SecretRef,
    /// What rate limiting does while Redis is unreachable.
    #[serde(default)]
    pub failure_policy: FailurePolicy,
    /// Prefix of every key the gateway writes.
    #[serde(default = "default_key_prefix")]
    pub key_prefix: String,
    /// Longest wait for one Redis command before Redis counts as unreachable.
    #[serde(default = "default_redis_timeout", with = "humantime_serde")]
    pub timeout: Duration,
}

fn default_key_prefix() -> String {
    "dsgw:".into()
}

fn default_redis_timeout() -> Duration {
    Duration::from_millis(500)
}

/// Rate limiting while the shared store is unreachable. Deploys are refused
/// either way (their idempotency records live there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailurePolicy {
    /// Refuse vendor calls with UNAVAILABLE.
    #[default]
    FailClosed,
    /// Limit in-process at the per-replica share (`1 / limits.replicas`).
    FailLocal,
}

/// Trace settings beyond the standard `OTEL_*` variables.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// Inject W3C `traceparent` into vendor HTTP requests.
    pub propagate_to_vendor: bool,
    /// Log format: `auto` (text on a terminal, JSON otherwise), `json`, `text`.
    pub log_format: LogFormat,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig { propagate_to_vendor: true, log_format: LogFormat::Auto }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Text on a terminal, JSON otherwise.
    Auto,
    /// One JSON object per line.
    Json,
    /// Human-readable text.
    Text,
}

/// The vendor behind a workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VendorKind {
    /// Alibaba Cloud DataWorks.
    Alibaba,
    /// Huawei Cloud DataArts Studio.
    Huawei,
}

impl VendorKind {
    /// Config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            VendorKind::Alibaba => "alibaba",
            VendorKind::Huawei => "huawei",
        }
    }
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

/// One workspace: vendor, location, project and credentials.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceConfig {
    /// `alibaba` or `huawei`.
    pub vendor: VendorKind,
    /// Vendor region, e.g. `cn-hangzhou`, `cn-north-4`.
    pub region: String,
    /// Alibaba: numeric ProjectId. Huawei: IAM project id (32 hex).
    #[serde(default, deserialize_with = "string_or_number")]
    pub project_id: Option<String>,
    /// Alibaba: ProjectIdentifier (workspace English name), instead of project_id.
    #[serde(default)]
    pub project_identifier: Option<String>,
    /// Huawei: DataArts workspace id (`workspace` header).
    #[serde(default)]
    pub workspace_id: Option<String>,
    /// Alibaba: `legacy` (default) or `pipeline` (new Data Studio).
    #[serde(default)]
    pub flavour: Option<Flavour>,
    /// Alibaba: edition, for default rate limits.
    #[serde(default)]
    pub edition: Option<Edition>,
    /// Alibaba: use the VPC endpoint `dataworks-vpc.{region}.aliyuncs.com`.
    #[serde(default)]
    pub vpc: bool,
    /// Endpoint overrides (full URLs). Alibaba: `api`. Huawei: `factory`
    /// (v2 APIs), `dlf` (v1 APIs), `iam`.
    #[serde(default)]
    pub endpoints: Endpoints,
    /// Credentials, as references.
    pub credentials: Credentials,
    /// Vendor HTTP timeouts.
    #[serde(default)]
    pub timeouts: Timeouts,
    /// Whether deploys are allowed from this gateway.
    #[serde(default = "yes")]
    pub deploy_enabled: bool,
    /// Per-API rate overrides, calls per second, keyed by vendor API name
    /// (`ListFiles`, `release-packages.list`), or `default`.
    #[serde(default)]
    pub rate_limits: BTreeMap<String, f64>,
    /// Daily call budget for the vendor account (Alibaba Basic: 100); unset = none.
    #[serde(default)]
    pub daily_budget: Option<u32>,
}

fn yes() -> bool {
    true
}

fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum V {
        S(String),
        N(u64),
    }
    Ok(Option::<V>::deserialize(d)?.map(|v| match v {
        V::S(s) => s,
        V::N(n) => n.to_string(),
    }))
}

/// Endpoint overrides.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoints {
    /// Alibaba DataWorks API.
    pub api: Option<String>,
    /// Huawei v2 factory APIs (`dayu.{region}.myhuaweicloud.com`).
    pub factory: Option<String>,
    /// Huawei v1 script/job APIs (`dayu-dlf.{region}.myhuaweicloud.com`).
    pub dlf: Option<String>,
    /// Huawei IAM (`iam.{region}.myhuaweicloud.com`).
    pub iam: Option<String>,
}

/// Credentials, as references.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// Access key id (AK).
    pub access_key_id: Option<SecretRef>,
    /// Access key secret (SK).
    #[serde(alias = "secret_access_key")]
    pub access_key_secret: Option<SecretRef>,
    /// STS / temporary security token.
    pub security_token: Option<SecretRef>,
    /// Huawei IAM password authentication instead of AK/SK.
    pub iam: Option<IamPassword>,
}

/// Huawei IAM password authentication (token from POST /v3/auth/tokens).
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

/// Vendor HTTP timeouts (defaults like the official SDKs).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timeouts {
    /// TCP + TLS connect.
    #[serde(with = "humantime_serde")]
    pub connect: Duration,
    /// Whole request.
    #[serde(with = "humantime_serde")]
    pub read: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts { connect: Duration::from_secs(5), read: Duration::from_secs(10) }
    }
}

/// A config that could not be loaded at all.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LoadError(pub String);

impl Config {
    /// Loads `path` with `DSGW_` overrides from the process environment.
    pub fn load(path: &Path) -> Result<Config, LoadError> {
        Self::from_figment(Figment::new().merge(Yaml::file_exact(path)).merge(env_overrides()))
    }

    /// Parses YAML text (with `DSGW_` overrides).
    pub fn from_yaml(text: &str) -> Result<Config, LoadError> {
        Self::from_figment(Figment::new().merge(Yaml::string(text)).merge(env_overrides()))
    }

    fn from_figment(f: Figment) -> Result<Config, LoadError> {
        f.extract::<Config>().map_err(|e| {
            let lines: Vec<String> = e
                .into_iter()
                .map(|e| {
                    let path = e.path.join(".");
                    let kind = e.kind.to_string();
                    if path.is_empty() { kind } else { format!("{path}: {kind}") }
                })
                .collect();
            LoadError(lines.join("\n"))
        })
    }
}

fn env_overrides() -> Env {
    Env::prefixed("DSGW_").split("__")
}
