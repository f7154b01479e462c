//! The gateway's configuration: one YAML file plus `DSGW_` environment
//! overrides (`DSGW_SERVER__SHUTDOWN_GRACE=30s`). Secrets are references,
//! never values. [`check`] lists every problem with its path.

mod check;
mod secret;
mod security;
mod state;

pub(crate) use check::Problems;
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

use crate::providers::{ProviderConfig, VendorKind};

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
    /// The cache of answers that cannot change.
    pub cache: CacheConfig,
}

/// The cache of answers that cannot change (file versions, release
/// packages and deployments that have ended), per workspace and caller grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// Most bytes of answers kept (the least recently used go first); 0 turns the cache off.
    pub max_bytes: u64,
    /// Longest an answer is kept: bounds how old the parts of a kept answer
    /// that can still move (a version's state and `is_current_prod`) may be.
    #[serde(with = "humantime_serde")]
    pub max_age: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig { max_bytes: 32 * 1024 * 1024, max_age: Duration::from_secs(600) }
    }
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
            cache: CacheConfig::default(),
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
    /// How long a replica's lease on an open deployment lasts without
    /// renewal: after a replica dies, another one takes its deployments
    /// over within about this long.
    #[serde(default = "default_deployment_lease", with = "humantime_serde")]
    pub deployment_lease: Duration,
}

fn default_key_prefix() -> String {
    "dsgw:".into()
}

fn default_redis_timeout() -> Duration {
    Duration::from_millis(500)
}

fn default_deployment_lease() -> Duration {
    Duration::from_secs(30)
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

/// One workspace: the settings every vendor shares, and the vendor's driver
/// with the settings only that driver reads.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(try_from = "Written")]
pub struct WorkspaceConfig {
    /// Vendor region, e.g. `cn-hangzhou`, `cn-north-4`.
    pub region: String,
    /// Vendor HTTP timeouts.
    pub timeouts: Timeouts,
    /// Whether deploys are allowed from this gateway.
    pub deploy_enabled: bool,
    /// Per-API rate overrides, calls per second, keyed by the driver's API
    /// name (`ListFiles`, `release-packages.list`), or `default`.
    pub rate_limits: BTreeMap<String, f64>,
    /// Daily call budget for the vendor account; unset = none.
    pub daily_budget: Option<u32>,
    /// `vendor:` and the settings of its driver.
    #[serde(flatten)]
    pub provider: ProviderConfig,
}

/// A workspace as written. The shared settings and the `vendor:` tag are
/// read in place, so their errors carry their full paths; the other keys go,
/// as figment values, to the driver the tag names, whose settings refuse the
/// keys they do not know (such an error names the workspace, then the key's
/// path inside it). A flattened internally tagged enum refuses unknown keys
/// too, but serde buffers the keys it hands the enum, so an unknown vendor
/// and every error in a driver's settings would name the workspace alone.
#[derive(Deserialize)]
struct Written {
    vendor: VendorKind,
    region: String,
    #[serde(default)]
    timeouts: Timeouts,
    #[serde(default = "yes")]
    deploy_enabled: bool,
    #[serde(default)]
    rate_limits: BTreeMap<String, f64>,
    #[serde(default)]
    daily_budget: Option<u32>,
    #[serde(flatten)]
    driver: figment::value::Dict,
}

impl TryFrom<Written> for WorkspaceConfig {
    type Error = LoadError;

    fn try_from(w: Written) -> Result<Self, LoadError> {
        Ok(WorkspaceConfig {
            provider: ProviderConfig::read(w.vendor, w.driver)?,
            region: w.region,
            timeouts: w.timeouts,
            deploy_enabled: w.deploy_enabled,
            rate_limits: w.rate_limits,
            daily_budget: w.daily_budget,
        })
    }
}

fn yes() -> bool {
    true
}

/// A string, or a number written without quotes (`project_id: 10003`).
pub(crate) fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
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
        Ok(f.extract::<Config>()?)
    }
}

impl From<figment::Error> for LoadError {
    /// One line per error: its path (when it has one) and what is wrong.
    fn from(e: figment::Error) -> Self {
        let line = |e: figment::Error| {
            let path = e.path.join(".");
            if path.is_empty() { e.kind.to_string() } else { format!("{path}: {}", e.kind) }
        };
        LoadError(e.into_iter().map(line).collect::<Vec<_>>().join("\n"))
    }
}

fn env_overrides() -> Env {
    Env::prefixed("DSGW_").split("__")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace(vendor: &str, extra: &str) -> Result<WorkspaceConfig, LoadError> {
        let yaml = format!(
            "workspaces:\n  w:\n    vendor: {vendor}\n    region: r\n    credentials: {{ access_key_id: {{ env: AK }} }}\n{extra}"
        );
        Config::from_yaml(&yaml).map(|mut c| c.workspaces.remove("w").unwrap())
    }

    #[test]
    fn each_vendor_reads_its_own_settings() {
        let ws =
            workspace("alibaba", "    project_id: 10003\n    flavour: pipeline\n    deploy_enabled: false\n").unwrap();
        let ProviderConfig::Alibaba(c) = &ws.provider else { panic!("{ws:?}") };
        assert_eq!(c.project_id.as_deref(), Some("10003"));
        assert_eq!(c.flavour, crate::providers::alibaba::config::Flavour::Pipeline);
        assert!(!ws.deploy_enabled);
        let ws = workspace("huawei", "    workspace_id: ws-1\n    endpoints: { iam: http://x }\n").unwrap();
        let ProviderConfig::Huawei(c) = &ws.provider else { panic!("{ws:?}") };
        assert_eq!((c.workspace_id.as_deref(), c.endpoints.iam.as_deref()), (Some("ws-1"), Some("http://x")));
        assert!(ws.deploy_enabled);
    }

    #[test]
    fn a_key_the_driver_does_not_know_is_a_load_error_at_its_path() {
        for (vendor, extra, error) in [
            ("alibaba", "    workspace_id: ws\n", "workspaces.w: workspace_id: unknown field: found `workspace_id`"),
            ("alibaba", "    endpoints: { factory: http://x }\n", "workspaces.w: endpoints.factory: unknown field"),
            ("huawei", "    vpc: true\n", "workspaces.w: vpc: unknown field: found `vpc`"),
            ("huawei", "    flavour: legacy\n", "workspaces.w: flavour: unknown field"),
            ("huawei", "    endpoints: { api: http://x }\n", "workspaces.w: endpoints.api: unknown field"),
            ("alibaba", "    projct_id: 1\n", "workspaces.w: projct_id: unknown field"),
        ] {
            let e = workspace(vendor, extra).unwrap_err().0;
            assert!(e.starts_with(error), "{vendor} {extra:?}: {e}");
        }
        let yaml = "workspaces:\n  w:\n    vendor: huawei\n    region: r\n    credentials:\n      security_token: { env: T }\n";
        let e = Config::from_yaml(yaml).unwrap_err().0;
        assert!(e.starts_with("workspaces.w: credentials.security_token: unknown field"), "{e}");
    }

    #[test]
    fn the_vendor_and_the_shared_settings_keep_their_paths() {
        let e = workspace("oracle", "").unwrap_err().0;
        assert!(e.starts_with("workspaces.w.vendor: unknown variant: found `oracle`"), "{e}");
        let e = workspace("huawei", "    timeouts: { read: soon }\n").unwrap_err().0;
        assert!(e.starts_with("workspaces.w.timeouts.read: invalid value"), "{e}");
        let e = workspace("alibaba", "    flavour: pipe\n").unwrap_err().0;
        assert!(e.starts_with("workspaces.w: flavour: unknown variant: found `pipe`"), "{e}");
    }

    /// Why [`Written`] exists: serde's own way, a flattened internally
    /// tagged enum, rejects unknown keys through figment too, but reports
    /// them (and an unknown vendor) at the workspace, not at their path.
    #[test]
    fn a_flattened_tagged_enum_rejects_unknown_keys_without_their_path() {
        #[derive(Debug, Deserialize)]
        struct Ws {
            region: String,
            #[serde(flatten)]
            vendor: Vendor,
        }
        #[derive(Debug, Deserialize)]
        #[serde(tag = "vendor", rename_all = "lowercase")]
        enum Vendor {
            One(One),
        }
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct One {
            a: Option<u32>,
        }
        let extract =
            |yaml: &str| Figment::new().merge(Yaml::string(yaml)).extract_inner::<Ws>("w").map_err(LoadError::from);
        let ws = extract("w: { vendor: one, region: r, a: 1 }").unwrap();
        let Vendor::One(one) = ws.vendor;
        assert_eq!((ws.region.as_str(), one.a), ("r", Some(1)));
        let e = extract("w: { vendor: one, region: r, b: 1 }").unwrap_err().0;
        assert_eq!(e, "w: unknown field: found `b`, expected ``a``");
        let e = extract("w: { vendor: two, region: r }").unwrap_err().0;
        assert!(e.starts_with("w: unknown variant: found `two`"), "not at w.vendor: {e}");
    }
}
