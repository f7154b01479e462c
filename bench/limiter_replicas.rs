//! Shared-limiter benchmark: three gateway replicas on one redis-server
//! (started here on a loopback port; installed from Debian's package if
//! missing) offered 3× a DataWorks emulator's rate limit, then the cost of
//! the Redis round trip on an unthrottled call.
//!
//!   cargo bench --bench limiter_replicas             # 60 s of load
//!   BENCH_SECONDS=20 cargo bench --bench limiter_replicas
//!
//! Prints: vendor 429s, caller errors, calls refused at once with RetryInfo
//! (their deadline could not cover the queue), achieved ÷ allowed vendor
//! QPS, and the latency a call gains from the Redis backend (end to end
//! against the local backend, and the limiter's own acquire). Writes the
//! figures to bench/results/limiter-replicas-<unix time>.json.

#[path = "common/gateway.rs"]
mod one_gateway;
#[path = "../tests/common/redis.rs"]
#[allow(dead_code)]
mod redis_server;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use datastudio_gateway::{
    config::{FailurePolicy, RedisConfig, SecretRef},
    emulator::{alibaba, common::ThrottleConfig},
    limit::{Backend, Settings, redis::RedisBackend},
    pb,
    redis_store::RedisStore,
};
use one_gateway::gateway;
use redis_server::RedisServer;
use tonic::{Code, Request, transport::Channel};

const REPLICAS: usize = 3;
const VENDOR_QPS: f64 = 5.0;
const OFFERED_QPS: f64 = 15.0;
const DEADLINE: Duration = Duration::from_secs(10);
const LATENCY_CALLS: usize = 400;

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn get_file(id: u64) -> Request<pb::GetFileRequest> {
    let mut r =
        Request::new(pb::GetFileRequest { name: format!("workspaces/dw/files/{}", 100_001 + id % 300), view: 0 });
    r.set_timeout(DEADLINE);
    r
}

/// Sequential unthrottled calls: p50 / mean latency.
async fn latency(channel: &Channel) -> anyhow::Result<(Duration, Duration)> {
    let mut files = pb::file_service_client::FileServiceClient::new(channel.clone());
    for i in 0..50 {
        files.get_file(get_file(i)).await?;
    }
    let mut took = Vec::with_capacity(LATENCY_CALLS);
    for i in 0..LATENCY_CALLS as u64 {
        let t = Instant::now();
        files.get_file(get_file(i)).await?;
        took.push(t.elapsed());
    }
    let mean = took.iter().sum::<Duration>() / took.len() as u32;
    took.sort();
    Ok((pct(&took, 0.5), mean))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `cargo test --all-targets` runs bench binaries without `--bench`: build-check only.
    if !std::env::args().any(|a| a == "--bench") {
        println!("benchmark built; run it with `cargo bench --bench {}`", env!("CARGO_CRATE_NAME"));
        return Ok(());
    }
    datastudio_gateway::install_crypto_provider();
    let seconds: u64 = std::env::var("BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let redis = RedisServer::start();
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    std::fs::write(d.join("redis_url"), redis.url())?;
    let shared = format!(
        "limits:\n  backend: redis\n  replicas: {REPLICAS}\n  redis:\n    url: {{ file: {}/redis_url }}\n    \
         failure_policy: fail_closed",
        d.display()
    );

    // --- 1. three replicas, one quota --------------------------------------------------------
    let emu = alibaba::start(alibaba::Options::default()).await?;
    emu.control.set_throttle(ThrottleConfig { qps: Some(VENDOR_QPS), daily_quota: None });
    let mut replicas = Vec::new();
    for i in 0..REPLICAS {
        replicas.push(gateway(&d.join(format!("r{i}")), &emu.url(), &shared, "    edition: basic").await?);
    }
    println!(
        "limiter_replicas bench: {REPLICAS} replicas on one Redis offered {OFFERED_QPS} calls/s of GetFile in total \
         for {seconds} s; vendor limited to {VENDOR_QPS}/s"
    );
    let start = Instant::now();
    let total = (OFFERED_QPS * seconds as f64) as u64;
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let at = start + Duration::from_secs_f64(i as f64 / OFFERED_QPS);
        tokio::time::sleep_until(at.into()).await;
        let ch = replicas[i as usize % REPLICAS].1.clone();
        tasks.push(tokio::spawn(async move {
            let mut files = pb::file_service_client::FileServiceClient::new(ch);
            let t = Instant::now();
            let res = files.get_file(get_file(i)).await;
            (t.elapsed(), res.map(drop))
        }));
    }
    let (mut served, mut refused, mut errors) = (Vec::new(), 0u64, 0u64);
    for t in tasks {
        let (took, res) = t.await?;
        match res {
            Ok(()) => served.push(took),
            Err(e) if e.code() == Code::ResourceExhausted => refused += 1,
            Err(e) => {
                errors += 1;
                eprintln!("caller error: {e:?}");
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    served.sort();
    let vendor_ok = emu.control.requests().iter().filter(|r| r.status == 200).count();
    let vendor_429 = emu.control.count_status(429);
    let utilisation = vendor_ok as f64 / (VENDOR_QPS * elapsed);
    for (r, _) in replicas {
        r.shutdown().await;
    }

    // --- 2. what the Redis round trip adds to a call -----------------------------------------
    let free = alibaba::start(alibaba::Options::default()).await?;
    let fast = "    rate_limits: { default: 100000 }";
    let (local_gw, local_ch) = gateway(d, &free.url(), "limits: { backend: local }", fast).await?;
    let (local_p50, local_mean) = latency(&local_ch).await?;
    local_gw.shutdown().await;
    let (redis_gw, redis_ch) = gateway(&d.join("lat"), &free.url(), &shared, fast).await?;
    let (redis_p50, redis_mean) = latency(&redis_ch).await?;
    redis_gw.shutdown().await;
    // The limiter's own acquire (one EVALSHA), without the rest of the call.
    let store = RedisStore::open(&RedisConfig {
        url: SecretRef::File(d.join("redis_url")),
        failure_policy: FailurePolicy::FailClosed,
        key_prefix: "bench:".into(),
        timeout: Duration::from_millis(500),
        deployment_lease: Duration::from_secs(30),
    })?;
    let backend = Arc::new(RedisBackend::new(store, Settings::default(), d.join("s"), jiff::tz::TimeZone::UTC, 1));
    let mut acq = Vec::with_capacity(2000);
    for i in 0..2000 {
        let t = Instant::now();
        backend
            .acquire("bench", "GetFile", 1e6, Duration::from_secs(1), None)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if i >= 100 {
            acq.push(t.elapsed());
        }
    }
    acq.sort();

    let added_p50 = micros(redis_p50) - micros(local_p50);
    let added_mean = micros(redis_mean) - micros(local_mean);
    println!();
    println!("| figure | value |");
    println!("|---|---|");
    println!("| replicas sharing one Redis | {REPLICAS} |");
    println!("| calls offered (all replicas) | {total} |");
    println!("| served | {} |", served.len());
    println!("| refused at once with RetryInfo (deadline {} s) | {refused} |", DEADLINE.as_secs());
    println!("| vendor 429s | {vendor_429} |");
    println!("| caller errors (other than RetryInfo refusals) | {errors} |");
    println!("| achieved / allowed vendor QPS | {:.1} % |", utilisation * 100.0);
    println!(
        "| wait p50 / p99 (served) | {} ms / {} ms |",
        pct(&served, 0.5).as_millis(),
        pct(&served, 0.99).as_millis()
    );
    println!(
        "| unthrottled GetFile p50, local → redis backend | {:.0} µs → {:.0} µs (+{added_p50:.0} µs; mean +{added_mean:.0} µs) |",
        micros(local_p50),
        micros(redis_p50)
    );
    println!(
        "| Redis acquire alone p50 / p99 | {:.0} µs / {:.0} µs |",
        micros(pct(&acq, 0.5)),
        micros(pct(&acq, 0.99))
    );
    let json = serde_json::json!({
        "bench": "limiter_replicas", "seconds": seconds, "replicas": REPLICAS, "offered_qps": OFFERED_QPS,
        "vendor_qps": VENDOR_QPS, "offered": total, "served": served.len(), "refused_with_retry_info": refused,
        "vendor_429": vendor_429, "caller_errors": errors, "utilisation": utilisation,
        "wait_p50_ms": pct(&served, 0.5).as_millis() as u64, "wait_p99_ms": pct(&served, 0.99).as_millis() as u64,
        "local_p50_us": micros(local_p50), "redis_p50_us": micros(redis_p50), "added_p50_us": added_p50,
        "added_mean_us": added_mean, "acquire_p50_us": micros(pct(&acq, 0.5)),
        "acquire_p99_us": micros(pct(&acq, 0.99)),
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
    });
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/results");
    std::fs::create_dir_all(&out)?;
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    std::fs::write(out.join(format!("limiter-replicas-{stamp}.json")), serde_json::to_vec_pretty(&json)?)?;
    drop(redis);
    Ok(())
}
