//! The Redis connection shared by the rate limiter and the deploy records
//! (`limits.backend: redis`): one auto-reconnecting connection per process,
//! a time limit on every command, and a health flag so that while Redis is
//! down calls do not each wait for a timeout — a background probe pings it
//! and turns the flag back on when it answers. The URL (it carries the
//! password) is never logged: logs name the host and port only.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use redis::{FromRedisValue, ScriptInvocation, aio::ConnectionManager, aio::ConnectionManagerConfig};

use crate::config::{FailurePolicy, RedisConfig, Secret};

/// How often an unreachable Redis is pinged.
const PROBE_EVERY: Duration = Duration::from_millis(250);

/// Counts one call limited in-process instead of by Redis.
pub(crate) fn count_fallback() {
    crate::telemetry::metrics::limiter_fallback();
}

/// Redis could not be asked (down, slow or refusing); never carries the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unreachable;

/// The process's Redis connection.
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    timeout: Duration,
    policy: FailurePolicy,
    /// `host:port`, for logs.
    target: String,
    /// The URL and its password, cut out of any error text before it is logged.
    secrets: Vec<Secret>,
    up: AtomicBool,
    probing: AtomicBool,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore").field("target", &self.target).field("prefix", &self.prefix).finish()
    }
}

impl RedisStore {
    /// Connects lazily (the gateway starts even while Redis is down) to the
    /// configured URL. Errors never contain the URL.
    pub fn open(cfg: &RedisConfig) -> anyhow::Result<Arc<Self>> {
        let url = cfg.url.read().map_err(|e| anyhow::anyhow!("limits.redis.url: {e}"))?;
        let client = redis::Client::open(url.expose())
            .map_err(|_| anyhow::anyhow!("limits.redis.url is not a valid Redis URL (check-config tells why)"))?;
        let info = client.get_connection_info();
        let mut secrets = vec![url.clone()];
        if let Some(p) = info.redis_settings().password().filter(|p| !p.is_empty()) {
            secrets.push(Secret::new(p));
        }
        let target = match info.addr() {
            redis::ConnectionAddr::Tcp(h, p) => format!("{h}:{p}"),
            redis::ConnectionAddr::TcpTls { host, port, .. } => format!("{host}:{port} (TLS)"),
            _ => "redis".to_owned(),
        };
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(cfg.timeout.max(Duration::from_millis(200))))
            .set_response_timeout(Some(cfg.timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(20))
            .set_max_delay(Duration::from_millis(200));
        let conn = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| anyhow::anyhow!("cannot set up the Redis connection to {target}: {:?}", e.kind()))?;
        let store = Arc::new(RedisStore {
            conn,
            prefix: cfg.key_prefix.clone(),
            timeout: cfg.timeout,
            policy: cfg.failure_policy,
            target,
            secrets,
            up: AtomicBool::new(true),
            probing: AtomicBool::new(false),
        });
        // Connect now, in the background, and say how it went.
        if tokio::runtime::Handle::try_current().is_ok() {
            let s = store.clone();
            tokio::spawn(async move {
                match s.ping().await {
                    Ok(()) => tracing::info!(redis = %s.target, "connected to the shared Redis"),
                    Err(cause) => s.mark_down(&cause),
                }
            });
        }
        Ok(store)
    }

    /// The key prefix (`dsgw:`).
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// What rate limiting does while Redis is unreachable.
    pub(crate) fn policy(&self) -> FailurePolicy {
        self.policy
    }

    /// Whether the last command or probe succeeded.
    pub(crate) fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// Runs a script; fails at once while Redis is known to be down.
    pub(crate) async fn eval<T: FromRedisValue>(
        self: &Arc<Self>,
        inv: &ScriptInvocation<'_>,
    ) -> Result<T, Unreachable> {
        if !self.is_up() {
            self.start_probe();
            return Err(Unreachable);
        }
        let mut conn = self.conn.clone();
        match tokio::time::timeout(self.timeout, inv.invoke_async::<T>(&mut conn)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                self.mark_down(&self.cause(&e));
                Err(Unreachable)
            }
            Err(_) => {
                self.mark_down(&format!("no answer within {:?}", self.timeout));
                Err(Unreachable)
            }
        }
    }

    /// An error's text, without the URL or password.
    fn cause(&self, e: &redis::RedisError) -> String {
        let mut text = e.to_string();
        for s in &self.secrets {
            text = text.replace(s.expose(), "<redacted>");
        }
        text
    }

    async fn ping(&self) -> Result<(), String> {
        let mut conn = self.conn.clone();
        let ping = redis::cmd("PING");
        match tokio::time::timeout(self.timeout, ping.query_async::<String>(&mut conn)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(self.cause(&e)),
            Err(_) => Err(format!("no answer within {:?}", self.timeout)),
        }
    }

    fn mark_down(self: &Arc<Self>, cause: &str) {
        if self.up.swap(false, Ordering::SeqCst) {
            crate::telemetry::metrics::redis_up(false);
            crate::telemetry::metrics::redis_outage();
            tracing::error!(
                redis = %self.target,
                cause,
                failure_policy = ?self.policy,
                "the shared Redis is unreachable: rate limits follow limits.redis.failure_policy and deploys are \
                 refused until it answers again"
            );
        }
        self.start_probe();
    }

    fn start_probe(self: &Arc<Self>) {
        if self.probing.swap(true, Ordering::SeqCst) || tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(PROBE_EVERY).await;
                let Some(s) = weak.upgrade() else { return };
                if s.ping().await.is_ok() {
                    s.up.store(true, Ordering::SeqCst);
                    crate::telemetry::metrics::redis_up(true);
                    s.probing.store(false, Ordering::SeqCst);
                    tracing::info!(redis = %s.target, "the shared Redis answers again");
                    return;
                }
            }
        });
    }
}
