//! Limiter benchmark: offers 3× a DataWorks emulator's rate limit through
//! the gateway and prints what the vendor and the callers saw.
//!
//!   cargo bench --bench limiter            # 60 s
//!   BENCH_SECONDS=10 cargo bench --bench limiter
//!
//! Prints: vendor 429s, vendor throttle errors reaching callers, calls the
//! gateway refused at once with RetryInfo (their deadline could not cover
//! the queue), achieved ÷ allowed vendor QPS, p50/p99 wait of served calls.
//! Writes the figures to bench/results/limiter-<unix time>.json.

#[path = "common/gateway.rs"]
mod one_gateway;

use std::time::{Duration, Instant};

use datastudio_gateway::{
    emulator::{alibaba, common::ThrottleConfig},
    pb,
};
use one_gateway::gateway;
use tonic::{Code, Request};

const VENDOR_QPS: f64 = 5.0;
const OFFERED_QPS: f64 = 15.0;
const DEADLINE: Duration = Duration::from_secs(10);

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
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
    let emu = alibaba::start(alibaba::Options::default()).await?;
    emu.control.set_throttle(ThrottleConfig { qps: Some(VENDOR_QPS), daily_quota: None });
    let dir = tempfile::tempdir()?;
    let (running, channel) = gateway(dir.path(), &emu.url(), "", "    edition: basic").await?;

    println!(
        "limiter bench: offering {OFFERED_QPS} calls/s of GetFile for {seconds} s to a vendor limited to {VENDOR_QPS}/s"
    );
    let start = Instant::now();
    let total = (OFFERED_QPS * seconds as f64) as u64;
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let at = start + Duration::from_secs_f64(i as f64 / OFFERED_QPS);
        tokio::time::sleep_until(at.into()).await;
        let mut files = pb::file_service_client::FileServiceClient::new(channel.clone());
        tasks.push(tokio::spawn(async move {
            let mut r = Request::new(pb::GetFileRequest {
                name: format!("workspaces/dw/files/{}", 100_001 + i % 300),
                view: 0,
            });
            r.set_timeout(DEADLINE);
            let t = Instant::now();
            let res = files.get_file(r).await;
            (t.elapsed(), res.map(drop))
        }));
    }
    let (mut served, mut refused, mut vendor_throttle, mut other) = (Vec::new(), 0u64, 0u64, 0u64);
    for t in tasks {
        let (took, res) = t.await?;
        match res {
            Ok(()) => served.push(took),
            Err(e) if e.code() == Code::ResourceExhausted => refused += 1,
            Err(e) if e.code() == Code::Unavailable && e.message().contains("throttled") => vendor_throttle += 1,
            Err(_) => other += 1,
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    served.sort();
    let vendor_ok = emu.control.requests().iter().filter(|r| r.status == 200).count();
    let vendor_429 = emu.control.count_status(429);
    let utilisation = vendor_ok as f64 / (VENDOR_QPS * elapsed);
    println!();
    println!("| figure | value |");
    println!("|---|---|");
    println!("| calls offered | {total} |");
    println!("| served | {} |", served.len());
    println!("| refused at once with RetryInfo (deadline {} s) | {refused} |", DEADLINE.as_secs());
    println!("| vendor 429s | {vendor_429} |");
    println!("| vendor throttle errors reaching callers | {vendor_throttle} |");
    println!("| other errors | {other} |");
    println!("| achieved / allowed vendor QPS | {:.1} % |", utilisation * 100.0);
    println!(
        "| wait p50 / p99 (served) | {} ms / {} ms |",
        pct(&served, 0.5).as_millis(),
        pct(&served, 0.99).as_millis()
    );
    let json = serde_json::json!({
        "bench": "limiter", "seconds": seconds, "offered_qps": OFFERED_QPS, "vendor_qps": VENDOR_QPS,
        "offered": total, "served": served.len(), "refused_with_retry_info": refused, "vendor_429": vendor_429,
        "caller_vendor_throttle_errors": vendor_throttle, "other_errors": other, "utilisation": utilisation,
        "wait_p50_ms": pct(&served, 0.5).as_millis() as u64, "wait_p99_ms": pct(&served, 0.99).as_millis() as u64,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
    });
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/results");
    std::fs::create_dir_all(&out)?;
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    std::fs::write(out.join(format!("limiter-{stamp}.json")), serde_json::to_vec_pretty(&json)?)?;
    running.shutdown().await;
    Ok(())
}
