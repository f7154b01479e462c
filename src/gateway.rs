//! Assembly: config → adapters → API → server. Reading this file tells how
//! a configured gateway comes to life.

use std::sync::Arc;

use crate::{
    api::{Api, PageTokens},
    auth::Auth,
    cli::Listen,
    config::{Config, LimiterBackend},
    deploy::{Engine, Ledger, RedisRecords},
    economy::Economy,
    limit::budget,
    providers::{self, client::Shared},
    redis_store::RedisStore,
    server::{self, Running, Settings},
};

/// The API for a checked config. With `limits.backend: redis`, rate
/// buckets, daily budgets, deploy records and open deployments live in
/// Redis (one connection for all of them); otherwise in this process and its state files, which
/// are read first: a damaged one is an error (`state.on_damage: fail`).
pub(crate) fn build_api(cfg: &Config) -> anyhow::Result<Api> {
    let zone = jiff::tz::TimeZone::get(&cfg.limits.daily_budget_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    budget::check_dir(&cfg.server.state_dir, &zone, cfg.state.on_damage)?;
    let redis = match (cfg.limits.backend, &cfg.limits.redis) {
        (LimiterBackend::Local, _) => None,
        (LimiterBackend::Redis, Some(r)) => Some((RedisStore::open(r)?, r.deployment_lease)),
        (LimiterBackend::Redis, None) => anyhow::bail!("limits.backend is redis but limits.redis.url is not set"),
    };
    let router = providers::build_with(cfg, &Shared::with_store(cfg, redis.as_ref().map(|(store, _)| store.clone())))?;
    let tokens = match &cfg.server.page_token_key {
        Some(r) => PageTokens::new(r.read()?.expose().as_bytes()),
        None => {
            tracing::warn!(
                "server.page_token_key is not set: page tokens are signed with a random key and stop \
                 working after a restart or on another replica"
            );
            PageTokens::random()
        }
    };
    // With Redis, deploy records and open deployments are shared by every
    // replica (a lease decides which one drives each deployment).
    let (ledger, engine) = match redis {
        Some((store, lease)) => (
            Ledger::with_store(Arc::new(RedisRecords::new(store.clone(), cfg.limits.idempotency_ttl))),
            Engine::shared(router.clone(), store, lease),
        ),
        None => (
            Ledger::open(&cfg.server.state_dir, cfg.limits.idempotency_ttl, cfg.state.on_damage)?,
            Engine::open(router.clone(), &cfg.server.state_dir, cfg.state.on_damage)?,
        ),
    };
    let economy = Economy::new(&cfg.limits.cache);
    Ok(Api::with_auth(router, tokens, ledger, engine, Auth::from_config(cfg)?, economy))
}

/// How long each workspace's start-up check may take.
const PREPARE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Starts serving `cfg`, with listen overrides: the API is built, every
/// workspace's start-up check runs against its vendor (e.g. DataArts
/// approvers resolved through the members API; a failure stops the start),
/// then the server listens.
pub async fn start(cfg: &Config, listen: &Listen) -> anyhow::Result<Running> {
    let mut settings = Settings::from(&cfg.server);
    if let Some(a) = listen.grpc_listen {
        settings.grpc_listen = a;
    }
    if let Some(a) = listen.admin_listen {
        settings.admin_listen = a;
    }
    let api = build_api(cfg)?;
    api.router().prepare(PREPARE_TIMEOUT).await?;
    server::start(&settings, api).await
}

/// Serves until SIGTERM/SIGINT, then drains.
pub async fn serve_until_signal(cfg: &Config, listen: &Listen, mode: &str) -> anyhow::Result<()> {
    let running = start(cfg, listen).await?;
    tracing::info!(
        mode,
        grpc = %running.grpc_addr,
        admin = %running.admin_addr,
        workspaces = cfg.workspaces.len(),
        "datastudio-gateway ready: grpc={} admin={}",
        running.grpc_addr,
        running.admin_addr
    );
    server::shutdown_signal().await;
    tracing::info!("shutdown signal received; draining");
    running.shutdown().await;
    Ok(())
}
