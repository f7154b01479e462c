//! Semantic checks of a parsed [`Config`]: every problem, each with its path.

use std::fmt;

use super::{Config, LimiterBackend, SecretRef, WorkspaceConfig};

/// One thing wrong with a config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted path to the offending value.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// The problems found so far; each driver adds those of its own settings.
pub(crate) struct Problems(Vec<Problem>);

impl Problems {
    /// Adds one problem.
    pub(crate) fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem { path: path.into(), message: message.into() });
    }

    /// Adds a problem when the secret reference at `path` cannot be read now.
    pub(crate) fn secret(&mut self, path: &str, r: &SecretRef) {
        if let Err(e) = r.read() {
            self.add(path, e.to_string());
        }
    }

    /// As [`Problems::secret`], and a problem when the reference is missing.
    pub(crate) fn required_secret(&mut self, path: &str, r: &Option<SecretRef>) {
        match r {
            Some(r) => self.secret(path, r),
            None => self.add(path, "is required"),
        }
    }

    /// Adds a problem when the token file at `path` (a projected
    /// service-account token) cannot be read now or is empty.
    pub(crate) fn token_file(&mut self, path: &str, file: &std::path::Path) {
        self.secret(path, &SecretRef::File(file.to_owned()));
    }

    /// Adds a problem when the endpoint override at `path` is not a usable URL.
    pub(crate) fn url(&mut self, path: &str, u: &str) {
        if let Err(e) = check_url(u) {
            self.add(path, e);
        }
    }
}

/// Checks everything, including that every secret reference resolves now.
pub fn check(cfg: &Config) -> Vec<Problem> {
    let mut p = Problems(Vec::new());
    if cfg.workspaces.is_empty() {
        p.add("workspaces", "no workspace is configured");
    }
    if cfg.server.max_message_bytes < 1024 {
        p.add("server.max_message_bytes", "must be at least 1024");
    }
    if cfg.server.max_concurrent_streams == 0 {
        p.add("server.max_concurrent_streams", "must be at least 1");
    }
    server_limits(&mut p, &cfg.server);
    if cfg.server.grpc_listen == cfg.server.admin_listen && cfg.server.grpc_listen.port() != 0 {
        p.add("server.admin_listen", "must differ from server.grpc_listen");
    }
    if let Some(r) = &cfg.server.page_token_key {
        p.secret("server.page_token_key", r);
    }
    if cfg.limits.replicas == 0 {
        p.add("limits.replicas", "must be at least 1");
    }
    limits_redis(&mut p, cfg);
    limits_cache(&mut p, &cfg.limits.cache);
    if jiff::tz::TimeZone::get(&cfg.limits.daily_budget_zone).is_err() {
        p.add("limits.daily_budget_zone", format!("unknown time zone {:?}", cfg.limits.daily_budget_zone));
    }
    for (name, ws) in &cfg.workspaces {
        workspace(&mut p, name, ws);
    }
    super::security::check(cfg, &mut p.0);
    super::state::check(cfg, &mut p.0);
    p.0
}

/// The largest HTTP/2 flow-control window (RFC 9113 §6.9.1).
const MAX_WINDOW: u32 = (1 << 31) - 1;

fn server_limits(p: &mut Problems, s: &super::ServerConfig) {
    if s.max_in_flight == 0 {
        p.add("server.max_in_flight", "must be at least 1");
    }
    if s.max_in_flight_per_caller == 0 || s.max_in_flight_per_caller > s.max_in_flight {
        p.add("server.max_in_flight_per_caller", "must be at least 1 and at most server.max_in_flight");
    }
    if s.max_watches_per_caller == 0 {
        p.add("server.max_watches_per_caller", "must be at least 1");
    }
    if !(16 * 1024..=16 * 1024 * 1024).contains(&s.max_header_list_bytes) {
        p.add("server.max_header_list_bytes", "must be between 16384 and 16777216");
    }
    if s.max_metadata_bytes < 1024 || s.max_metadata_bytes > s.max_header_list_bytes as usize {
        p.add(
            "server.max_metadata_bytes",
            "must be at least 1024 and at most server.max_header_list_bytes (larger metadata must reach the gateway \
             to be refused for its call alone)",
        );
    }
    if !(65_535..=MAX_WINDOW).contains(&s.stream_window_bytes) {
        p.add("server.stream_window_bytes", format!("must be between 65535 and {MAX_WINDOW}"));
    }
    if s.connection_window_bytes < s.stream_window_bytes || s.connection_window_bytes > MAX_WINDOW {
        p.add(
            "server.connection_window_bytes",
            format!("must be at least server.stream_window_bytes and at most {MAX_WINDOW}"),
        );
    }
    if s.keepalive_interval < std::time::Duration::from_secs(1) {
        p.add("server.keepalive_interval", "must be at least 1s");
    }
    if s.keepalive_timeout.is_zero() {
        p.add("server.keepalive_timeout", "must be more than 0");
    }
    if s.handshake_timeout.is_zero() || s.handshake_timeout > std::time::Duration::from_secs(300) {
        p.add("server.handshake_timeout", "must be more than 0 and at most 5m");
    }
    if s.max_connection_age < std::time::Duration::from_secs(1) {
        p.add("server.max_connection_age", "must be at least 1s");
    }
    if s.max_admin_connections == 0 {
        p.add("server.max_admin_connections", "must be at least 1");
    }
    for (i, origin) in s.cors_allowed_origins.iter().enumerate() {
        if !is_origin(origin) {
            p.add(
                format!("server.cors_allowed_origins[{i}]"),
                format!("{origin:?} is not an origin: scheme://host[:port] with http or https, no path, no wildcard"),
            );
        }
    }
}

/// Whether `s` is a serialized web origin (RFC 6454): `http` or `https`,
/// a host, an optional port, and nothing else.
fn is_origin(s: &str) -> bool {
    let Ok(uri) = s.parse::<http::Uri>() else { return false };
    let scheme_ok = uri.scheme() == Some(&http::uri::Scheme::HTTP) || uri.scheme() == Some(&http::uri::Scheme::HTTPS);
    let host_ok = uri.host().is_some_and(|h| !h.is_empty() && !h.contains('*'));
    let no_userinfo = uri.authority().is_some_and(|a| !a.as_str().contains('@'));
    scheme_ok && host_ok && no_userinfo && !s.ends_with('/') && uri.path_and_query().is_none_or(|p| p.as_str() == "/")
}

fn limits_redis(p: &mut Problems, cfg: &Config) {
    let l = &cfg.limits;
    let Some(r) = &l.redis else {
        if l.backend == LimiterBackend::Redis {
            p.add("limits.redis", "limits.backend is redis: set limits.redis.url ({ env: VAR } or { file: PATH })");
        }
        return;
    };
    match r.url.read() {
        // Never echo the URL: it carries the password.
        Ok(url) => {
            if let Err(e) = check_redis_url(url.expose()) {
                p.add("limits.redis.url", e);
            }
        }
        Err(e) => p.add("limits.redis.url", e.to_string()),
    }
    if r.key_prefix.is_empty() || r.key_prefix.len() > 64 || r.key_prefix.chars().any(|c| c.is_whitespace()) {
        p.add("limits.redis.key_prefix", "must be 1-64 characters without spaces, like dsgw:");
    }
    if r.timeout.is_zero() || r.timeout > std::time::Duration::from_secs(10) {
        p.add("limits.redis.timeout", "must be more than 0 and at most 10s");
    }
    // A poll runs within half a lease renewed just before it, and the
    // renewal itself may take a whole timeout.
    if r.deployment_lease < (r.timeout * 4).max(std::time::Duration::from_secs(1))
        || r.deployment_lease > std::time::Duration::from_secs(300)
    {
        p.add(
            "limits.redis.deployment_lease",
            "must be at least 1s and 4 times limits.redis.timeout (a poll must end well within the lease renewed \
             before it), and at most 5m (a dead replica's deployments wait that long for another one)",
        );
    }
}

/// Most bytes `limits.cache.max_bytes` may name (4 GiB).
const MAX_CACHE_BYTES: u64 = 4 << 30;

fn limits_cache(p: &mut Problems, c: &super::CacheConfig) {
    if c.max_bytes > MAX_CACHE_BYTES {
        p.add("limits.cache.max_bytes", "must be at most 4294967296 (4 GiB); 0 turns the cache off");
    }
    let age = std::time::Duration::from_secs(1)..=std::time::Duration::from_secs(24 * 3600);
    if c.max_bytes > 0 && !age.contains(&c.max_age) {
        p.add("limits.cache.max_age", "must be at least 1s and at most 24h");
    }
}

/// Whether a Redis URL is usable; the message never contains the URL.
fn check_redis_url(u: &str) -> Result<(), String> {
    let rest = u
        .strip_prefix("rediss://")
        .or_else(|| u.strip_prefix("redis://"))
        .ok_or("must start with redis:// or rediss:// (TLS); unix sockets and other schemes are not supported")?;
    let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let host = host.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() {
        return Err("has no host".into());
    }
    if ::redis::Client::open(u).is_err() {
        return Err("is not a valid Redis URL (host, port, database number, percent-encoded password)".into());
    }
    Ok(())
}

fn workspace(p: &mut Problems, name: &str, ws: &WorkspaceConfig) {
    let at = |k: &str| format!("workspaces.{name}.{k}");
    if !valid_workspace_name(name) {
        p.add(
            format!("workspaces.{name}"),
            "workspace names are 1-63 characters of a-z, 0-9 and '-', starting with a letter",
        );
    }
    if ws.region.is_empty() || !ws.region.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
        p.add(at("region"), format!("{:?} is not a region id like cn-hangzhou", ws.region));
    }
    let driver = ws.provider.driver();
    driver.check(&at, p);
    if ws.timeouts.connect.is_zero() {
        p.add(at("timeouts.connect"), "must be more than 0");
    }
    if ws.timeouts.read.is_zero() {
        p.add(at("timeouts.read"), "must be more than 0");
    }
    for (api, rate) in &ws.rate_limits {
        let path = at(&format!("rate_limits.{api}"));
        if let Err(e) = driver.rate_key(api) {
            p.add(&path, e);
        }
        if !(rate.is_finite() && *rate > 0.0) {
            p.add(path, "must be a positive number of calls per second");
        }
    }
    if ws.daily_budget == Some(0) {
        p.add(at("daily_budget"), "must be at least 1 (leave it unset for no budget)");
    }
}

fn check_url(u: &str) -> Result<(), String> {
    let rest = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"))
        .ok_or_else(|| format!("{u:?} must start with https:// or http://"))?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Err(format!("{u:?} has no host"));
    }
    if rest.contains('?') || rest.contains('#') {
        return Err(format!("{u:?} must not carry a query or fragment"));
    }
    Ok(())
}

/// Workspace names are DNS-label-like so they fit in resource names.
pub fn valid_workspace_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 63
        && n.starts_with(|c: char| c.is_ascii_lowercase())
        && n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}
