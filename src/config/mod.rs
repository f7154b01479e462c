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
    /// Calls in progress per connection (waiting for a rate-limit turn
    /// included); more are refused at once with RESOURCE_EXHAUSTED. The
    /// connection advertises four times as many HTTP/2 streams, so extra
    /// calls reach the gateway instead of queueing in the client.
    pub max_concurrent_streams: u32,
    /// Calls in flight at once, all callers together; more are refused
    /// with RESOURCE_EXHAUSTED and RetryInfo.
    pub max_in_flight: usize,
    /// Calls in flight at once per caller (bearer token, client
    /// certificate, else IP address).
    pub max_in_flight_per_caller: usize,
    /// Open `WatchDeployment` streams per caller.
    pub max_watches_per_caller: usize,
    /// Largest metadata of one call, bytes; more is refused for that call.
    pub max_metadata_bytes: usize,
    /// Largest header list HTTP/2 takes, bytes; a caller sending more
    /// loses its stream (or, far beyond, its connection).
    pub max_header_list_bytes: u32,
    /// HTTP/2 receive window per stream, bytes.
    pub stream_window_bytes: u32,
    /// HTTP/2 receive window per connection, bytes.
    pub connection_window_bytes: u32,
    /// Interval of HTTP/2 keepalive pings.
    #[serde(with = "humantime_serde")]
    pub keepalive_interval: Duration,
    /// A peer that does not answer a keepalive ping within this long is
    /// disconnected.
    #[serde(with = "humantime_serde")]
    pub keepalive_timeout: Duration,
    /// Time a new connection has to greet: the HTTP/2 preface on the gRPC
    /// port, a request's headers on the admin port (also between keep-alive
    /// requests); else it is closed.
    #[serde(with = "humantime_serde")]
    pub handshake_timeout: Duration,
    /// Connections the admin port serves at once; more are closed at once.
    pub max_admin_connections: usize,
    /// Age after which a gRPC connection is asked to go (HTTP/2 GOAWAY): an
    /// idle one closes then, a busy one once its calls have finished.
    #[serde(with = "humantime_serde")]
    pub max_connection_age: Duration,
    /// Serve gRPC reflection (v1 and v1alpha).
    pub reflection: bool,
    /// Browser origins (`https://console.example.com`) allowed to call the
    /// gRPC port cross-origin, through gRPC-Web or HTTP/JSON (CORS); none
    /// by default.
    pub cors_allowed_origins: Vec<String>,
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
            max_concurrent_streams: 100,
            max_in_flight: 1024,
            max_in_flight_per_caller: 128,
            max_watches_per_caller: 32,
            max_metadata_bytes: 16 * 1024,
            max_header_list_bytes: 256 * 1024,
            stream_window_bytes: 256 * 1024,
            connection_window_bytes: 1024 * 1024,
            keepalive_interval: Duration::from_secs(30),
            keepalive_timeout: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(10),
            max_admin_connections: 32,
            max_connection_age: Duration::from_secs(30 * 60),
            reflection: true,
            cors_allowed_origins: Vec::new(),
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
    /// Safety margin kept before the caller's deadline (1 % of the time
    /// left is kept too: clients round `grpc-timeout` up).
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
        // A file that cannot be read is figment's to report, with its path.
        if let Ok(text) = std::fs::read_to_string(path) {
            no_duplicate_keys(&text)?;
        }
        Self::from_figment(Figment::new().merge(Yaml::file_exact(path)))
    }

    /// Parses YAML text (with `DSGW_` overrides).
    pub fn from_yaml(text: &str) -> Result<Config, LoadError> {
        no_duplicate_keys(text)?;
        Self::from_figment(Figment::new().merge(Yaml::string(text)))
    }

    fn from_figment(f: Figment) -> Result<Config, LoadError> {
        f.merge(env_overrides()).extract::<Config>().map_err(|e| {
            let vars: Vec<_> = std::env::vars_os()
                .filter_map(|(k, _)| k.into_string().ok())
                .filter_map(|k| override_path(&k).map(|p| (k, p)))
                .collect();
            LoadError::new(e, &vars)
        })
    }
}

impl From<figment::Error> for LoadError {
    /// One line per error: its path (when it has one) and what is wrong.
    fn from(e: figment::Error) -> Self {
        LoadError::new(e, &[])
    }
}

impl LoadError {
    /// One line per error: its path, what is wrong, and the `DSGW_`
    /// variables (of `vars`: name and config path) that set it or below it.
    fn new(e: figment::Error, vars: &[(String, Vec<String>)]) -> Self {
        let line = |e: figment::Error| {
            let path = e.path.join(".");
            let mut line = if path.is_empty() { e.kind.to_string() } else { format!("{path}: {}", e.kind) };
            let from: Vec<&str> = vars
                .iter()
                .filter(|(_, p)| !e.path.is_empty() && (p.starts_with(&e.path) || e.path.starts_with(p)))
                .map(|(name, _)| name.as_str())
                .collect();
            if !from.is_empty() {
                line.push_str(&format!(" (from environment variable {})", from.join(", ")));
            }
            line
        };
        LoadError(e.into_iter().map(line).collect::<Vec<_>>().join("\n"))
    }
}

/// Refuses a YAML text that repeats a key in one mapping (figment would
/// take the last one silently). The parser is the one figment uses, so the
/// only other errors it finds are syntax errors, which figment would report
/// the same way.
fn no_duplicate_keys(text: &str) -> Result<(), LoadError> {
    serde_yaml::from_str::<serde_yaml::Value>(text).map(drop).map_err(|e| LoadError(e.to_string()))
}

/// The prefix of override variables.
const ENV_PREFIX: &str = "DSGW_";

/// The top-level keys a `DSGW_` variable may set; other `DSGW_` variables
/// (`DSGW_BIN`, `DSGW_EXAMPLE_PAGE_TOKEN_KEY`) are not read as config.
const SECTIONS: [&str; 6] = ["server", "limits", "telemetry", "workspaces", "auth", "state"];

/// The config path a `DSGW_` variable sets, if it is an override: `__`
/// separates keys, keys are lowercased, and in a workspace name `_` stands
/// for `-` (workspace names have no `_`): `DSGW_WORKSPACES__DW_PROD__REGION`
/// sets `workspaces.dw-prod.region`.
fn override_path(var: &str) -> Option<Vec<String>> {
    let key =
        var.get(..ENV_PREFIX.len()).filter(|p| p.eq_ignore_ascii_case(ENV_PREFIX)).map(|_| &var[ENV_PREFIX.len()..])?;
    let mut path: Vec<String> = key.split("__").map(str::to_ascii_lowercase).collect();
    if !SECTIONS.contains(&path[0].as_str()) || path.iter().any(String::is_empty) {
        return None;
    }
    if path[0] == "workspaces"
        && let Some(name) = path.get_mut(1)
    {
        *name = name.replace('_', "-");
    }
    Some(path)
}

fn env_overrides() -> Env {
    Env::prefixed(ENV_PREFIX).filter_map(|key| override_path(&format!("{ENV_PREFIX}{key}")).map(|p| p.join(".").into()))
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
    fn overrides_name_known_sections_and_any_workspace() {
        let path = |v: &str| override_path(v).map(|p| p.join("."));
        assert_eq!(path("DSGW_SERVER__SHUTDOWN_GRACE").as_deref(), Some("server.shutdown_grace"));
        assert_eq!(path("DSGW_WORKSPACES__DW_PROD__REGION").as_deref(), Some("workspaces.dw-prod.region"));
        assert_eq!(
            path("DSGW_WORKSPACES__DW_PROD__TIMEOUTS__READ").as_deref(),
            Some("workspaces.dw-prod.timeouts.read"),
            "only the workspace name is unescaped"
        );
        assert_eq!(path("DSGW_LIMITS__MAX_WAIT").as_deref(), Some("limits.max_wait"));
        for not_config in ["DSGW_BIN", "DSGW_EXAMPLE_PAGE_TOKEN_KEY", "DSGW_", "DSGW_SERVER____X", "OTHER_SERVER__X"] {
            assert_eq!(path(not_config), None, "{not_config}");
        }
    }

    #[test]
    fn a_load_error_names_the_variable_that_set_it() {
        let e = figment::Error::from("invalid value".to_owned()).with_path("server.shutdown_grace");
        let vars = [
            ("DSGW_SERVER__SHUTDOWN_GRACE".to_owned(), override_path("DSGW_SERVER__SHUTDOWN_GRACE").unwrap()),
            ("DSGW_LIMITS__MAX_WAIT".to_owned(), override_path("DSGW_LIMITS__MAX_WAIT").unwrap()),
        ];
        let e = LoadError::new(e, &vars).0;
        assert!(e.ends_with("(from environment variable DSGW_SERVER__SHUTDOWN_GRACE)"), "{e}");
        assert!(!e.contains("MAX_WAIT"), "{e}");
    }

    #[test]
    fn duplicate_keys_do_not_load() {
        let e = Config::from_yaml("server:\n  reflection: true\n  reflection: false\n").unwrap_err().0;
        assert!(e.contains("duplicate"), "{e}");
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

    proptest::proptest! {
        /// Any text as a config or an environment variable name: loaded or
        /// refused with a message, never a panic.
        #[test]
        fn prop_any_config_text_loads_or_is_refused(text in "([a-z_]{1,12}: ?(\\{ ?|\\[|[a-z0-9 .:-]{0,12})\n {0,4}){0,8}", var in "[A-Z_]{0,30}") {
            if let Err(e) = Config::from_yaml(&text) {
                proptest::prop_assert!(!e.0.is_empty());
            }
            let _ = override_path(&var);
        }
    }
}
