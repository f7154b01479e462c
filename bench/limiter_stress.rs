//! The limiter under stress: five runs against DataWorks emulators limited
//! to 5 calls/s, side by side (each has its own emulator, gateways and
//! redis-server, started here on loopback ports; redis-server is installed
//! from Debian's package if missing), all offered 3× the vendor's rate
//! (15 calls/s of GetFile, open loop) by callers with 10 s deadlines:
//!
//! 1. **10× misconfiguration, local backend**: `rate_limits: { default: 50 }`
//!    on one gateway; vendor answers and 429s per 10 s window.
//! 2. **10× misconfiguration, Redis backend**: the same through three
//!    replicas sharing one redis-server.
//! 3. **Three Redis replicas at 3×**, configured right (DataWorks Basic,
//!    5/s): vendor 429s, share of the vendor's rate used, callers answered
//!    after their deadline, vendor answers after the deadline of the
//!    caller they served.
//! 4. / 5. **A Redis outage** in the middle of that run, under `fail_local`
//!    and under `fail_closed`: vendor 429s and rate used before, during and
//!    after it, callers refused with UNAVAILABLE.
//!
//!   cargo bench --bench limiter_stress                  # about 75 s
//!   cargo bench --bench limiter_stress -- --misconfig-seconds 40 --load-seconds 20 --outage-seconds 5
//!
//! Prints a table per run; writes every figure to
//! bench/results/limiter-stress-<unix time>.json.

#[path = "common/gateway.rs"]
mod one_gateway;
#[path = "../tests/common/redis.rs"]
#[allow(dead_code)]
mod redis_server;

use std::{
    path::Path,
    time::{Duration, Instant},
};

use datastudio_gateway::{
    emulator::{
        alibaba,
        common::{Recorded, ThrottleConfig},
    },
    pb,
    server::Running,
};
use one_gateway::gateway;
use redis_server::RedisServer;
use serde_json::{Value, json};
use tonic::{Code, Request, transport::Channel};

const VENDOR_QPS: f64 = 5.0;
const OFFERED_QPS: f64 = 15.0;
const DEADLINE: Duration = Duration::from_secs(10);
const REPLICAS: usize = 3;
const WINDOW: Duration = Duration::from_secs(10);

/// Run lengths, from the command line.
#[derive(Clone, Copy)]
struct Lengths {
    /// Each misconfiguration run.
    misconfig: Duration,
    /// The replicas run, and each outage run's calm before and after.
    load: Duration,
    /// The Redis outage.
    outage: Duration,
}

fn lengths() -> anyhow::Result<Lengths> {
    let mut l =
        Lengths { misconfig: Duration::from_secs(60), load: Duration::from_secs(30), outage: Duration::from_secs(10) };
    let args: Vec<String> = std::env::args().collect();
    for pair in args.windows(2) {
        let secs = || pair[1].parse::<u64>().map(Duration::from_secs);
        match pair[0].as_str() {
            "--misconfig-seconds" => l.misconfig = secs()?,
            "--load-seconds" => l.load = secs()?,
            "--outage-seconds" => l.outage = secs()?,
            _ => {}
        }
    }
    Ok(l)
}

/// How one caller fared.
struct Outcome {
    sent: Instant,
    took: Duration,
    code: Option<Code>,
}

impl Outcome {
    fn late(&self) -> bool {
        self.took > DEADLINE || matches!(self.code, Some(Code::DeadlineExceeded | Code::Cancelled))
    }
}

/// `replicas` gateways on one Redis with `policy`.
async fn replicas(
    dir: &Path,
    emu_url: &str,
    redis: &RedisServer,
    policy: &str,
    ws: &str,
) -> anyhow::Result<Vec<(Running, Channel)>> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("redis_url"), redis.url())?;
    let limits = format!(
        "limits:\n  backend: redis\n  replicas: {REPLICAS}\n  redis:\n    url: {{ file: {}/redis_url }}\n    \
         failure_policy: {policy}",
        dir.display()
    );
    let mut v = Vec::new();
    for i in 0..REPLICAS {
        v.push(gateway(&dir.join(format!("r{i}")), emu_url, &limits, ws).await?);
    }
    Ok(v)
}

/// 15 calls/s of GetFile for `length`, spread over `channels` in turn.
async fn offer(channels: Vec<Channel>, length: Duration) -> anyhow::Result<Vec<Outcome>> {
    let start = Instant::now();
    let total = (OFFERED_QPS * length.as_secs_f64()) as u64;
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        tokio::time::sleep_until((start + Duration::from_secs_f64(i as f64 / OFFERED_QPS)).into()).await;
        let mut files = pb::file_service_client::FileServiceClient::new(channels[i as usize % channels.len()].clone());
        tasks.push(tokio::spawn(async move {
            let mut r = Request::new(pb::GetFileRequest {
                name: format!("workspaces/dw/files/{}", 100_001 + i % 300),
                view: 0,
            });
            r.set_timeout(DEADLINE);
            let sent = Instant::now();
            let res = files.get_file(r).await;
            Outcome { sent, took: sent.elapsed(), code: res.err().map(|e| e.code()) }
        }));
    }
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await?);
    }
    Ok(out)
}

/// GetFile answers in the emulator's log.
fn answers(log: &[(Instant, Recorded)]) -> impl Iterator<Item = (Instant, u16)> + '_ {
    log.iter().filter(|(_, r)| r.action == "GetFile").map(|(at, r)| (*at, r.status))
}

/// Vendor answers (200, 429) from `from` for `length`.
fn counted(log: &[(Instant, Recorded)], from: Instant, length: Duration) -> (usize, usize) {
    let inside: Vec<u16> = answers(log).filter(|(at, _)| *at >= from && *at < from + length).map(|(_, s)| s).collect();
    (inside.iter().filter(|s| **s == 200).count(), inside.iter().filter(|s| **s == 429).count())
}

/// Share of the vendor's rate used from `from` for `length`.
fn used(log: &[(Instant, Recorded)], from: Instant, length: Duration) -> f64 {
    counted(log, from, length).0 as f64 / (VENDOR_QPS * length.as_secs_f64())
}

/// Vendor answers of 200 that came after the deadline of the caller they
/// served, counted by matching answers to served callers latest first
/// (the log does not say which caller a call was for; a 200 that fits no
/// waiting caller is counted).
fn answered_late(log: &[(Instant, Recorded)], outcomes: &[Outcome]) -> usize {
    let mut ok: Vec<Instant> = answers(log).filter(|(_, s)| *s == 200).map(|(at, _)| at).collect();
    let mut deadlines: Vec<Instant> = outcomes.iter().filter(|o| o.code.is_none()).map(|o| o.sent + DEADLINE).collect();
    ok.sort_unstable_by(|a, b| b.cmp(a));
    deadlines.sort_unstable_by(|a, b| b.cmp(a));
    let unmatched = ok.len().saturating_sub(deadlines.len());
    unmatched + ok.iter().zip(&deadlines).filter(|(at, until)| at > until).count()
}

fn pct(x: f64) -> String {
    format!("{:.1} %", x * 100.0)
}

fn callers(outcomes: &[Outcome]) -> Value {
    let n = outcomes.len();
    let count = |c: Code| outcomes.iter().filter(|o| o.code == Some(c)).count();
    let late = outcomes.iter().filter(|o| o.late()).count();
    json!({
        "offered": n, "served": outcomes.iter().filter(|o| o.code.is_none()).count(),
        "refused_resource_exhausted": count(Code::ResourceExhausted), "refused_unavailable": count(Code::Unavailable),
        "past_deadline": late, "past_deadline_share": late as f64 / n.max(1) as f64,
    })
}

/// 10× the vendor's rate configured: answers and 429s per 10 s window.
async fn misconfigured(dir: &Path, shared: bool, l: Lengths) -> anyhow::Result<Value> {
    let emu = alibaba::start(alibaba::Options::default()).await?;
    emu.control.set_throttle(ThrottleConfig { qps: Some(VENDOR_QPS), daily_quota: None });
    let ws = "    rate_limits: { default: 50 }";
    let redis = shared.then(RedisServer::start);
    let gws = match &redis {
        Some(r) => replicas(dir, &emu.url(), r, "fail_closed", ws).await?,
        None => vec![gateway(dir, &emu.url(), "limits: { backend: local }", ws).await?],
    };
    let start = Instant::now();
    let outcomes = offer(gws.iter().map(|(_, c)| c.clone()).collect(), l.misconfig).await?;
    let log = emu.control.requests_timed();
    let windows: Vec<Value> = (0..l.misconfig.as_secs().div_ceil(WINDOW.as_secs()))
        .map(|w| {
            let (ok, throttled) = counted(&log, start + WINDOW * w as u32, WINDOW);
            json!({ "from_s": w * WINDOW.as_secs(), "vendor_200": ok, "vendor_429": throttled })
        })
        .collect();
    for (g, _) in gws {
        g.shutdown().await;
    }
    Ok(json!({
        "run": if shared { "misconfigured_10x_redis_3_replicas" } else { "misconfigured_10x_local" },
        "seconds": l.misconfig.as_secs(), "windows": windows, "callers": callers(&outcomes),
    }))
}

/// Three Redis replicas at 3× the vendor's rate, configured right.
async fn shared_load(dir: &Path, l: Lengths) -> anyhow::Result<Value> {
    let emu = alibaba::start(alibaba::Options::default()).await?;
    emu.control.set_throttle(ThrottleConfig { qps: Some(VENDOR_QPS), daily_quota: None });
    let redis = RedisServer::start();
    let gws = replicas(dir, &emu.url(), &redis, "fail_closed", "    edition: basic").await?;
    let start = Instant::now();
    let outcomes = offer(gws.iter().map(|(_, c)| c.clone()).collect(), l.load).await?;
    let log = emu.control.requests_timed();
    for (g, _) in gws {
        g.shutdown().await;
    }
    Ok(json!({
        "run": "redis_3_replicas_3x", "seconds": l.load.as_secs(),
        "vendor_429": answers(&log).filter(|(_, s)| *s == 429).count(),
        "used": used(&log, start, l.load),
        "vendor_answers_after_the_callers_deadline": answered_late(&log, &outcomes),
        "callers": callers(&outcomes),
    }))
}

/// The same with Redis stopped after `l.load` for `l.outage`, then back.
async fn outage(dir: &Path, policy: &str, l: Lengths) -> anyhow::Result<Value> {
    let emu = alibaba::start(alibaba::Options::default()).await?;
    emu.control.set_throttle(ThrottleConfig { qps: Some(VENDOR_QPS), daily_quota: None });
    let mut redis = RedisServer::start();
    let gws = replicas(dir, &emu.url(), &redis, policy, "    edition: basic").await?;
    let start = Instant::now();
    let load = tokio::spawn(offer(gws.iter().map(|(_, c)| c.clone()).collect(), l.load * 2 + l.outage));
    tokio::time::sleep_until((start + l.load).into()).await;
    let down = Instant::now();
    tokio::task::block_in_place(|| redis.stop());
    tokio::time::sleep_until((down + l.outage).into()).await;
    let up = Instant::now();
    tokio::task::block_in_place(|| redis.resume());
    let outcomes = load.await??;
    let log = emu.control.requests_timed();
    for (g, _) in gws {
        g.shutdown().await;
    }
    let phase = |from: Instant, length: Duration| {
        let (ok, throttled) = counted(&log, from, length);
        let refused =
            outcomes.iter().filter(|o| o.sent >= from && o.sent < from + length && o.code == Some(Code::Unavailable));
        json!({
            "seconds": length.as_secs_f64(), "vendor_200": ok, "vendor_429": throttled,
            "used": ok as f64 / (VENDOR_QPS * length.as_secs_f64()), "refused_unavailable": refused.count(),
        })
    };
    // Everything after the outage, up to the end of the calls it left waiting.
    let tail = log.last().map_or(Duration::ZERO, |(at, _)| at.saturating_duration_since(up)).max(l.load);
    Ok(json!({
        "run": format!("redis_outage_{policy}"), "outage_seconds": l.outage.as_secs(),
        "before": phase(start, down - start), "during": phase(down, up - down), "after": phase(up, tail),
        "after_first_5_s": phase(up, Duration::from_secs(5)),
        "vendor_answers_after_the_callers_deadline": answered_late(&log, &outcomes),
        "callers": callers(&outcomes),
    }))
}

fn print(run: &Value) {
    let c = &run["callers"];
    println!("\n### {}", run["run"].as_str().unwrap_or_default());
    println!("| figure | value |\n|---|---|");
    if let Some(windows) = run["windows"].as_array() {
        for w in windows {
            println!(
                "| {}–{} s: vendor answers / 429s | {} / {} |",
                w["from_s"],
                w["from_s"].as_u64().unwrap_or(0) + WINDOW.as_secs(),
                w["vendor_200"],
                w["vendor_429"]
            );
        }
    }
    if let Some(n) = run["vendor_429"].as_u64() {
        println!("| vendor 429s | {n} |");
        println!("| vendor rate used | {} |", pct(run["used"].as_f64().unwrap_or(0.0)));
    }
    let phases = [
        ("before", "before the outage"),
        ("during", "during the outage"),
        ("after", "after the outage"),
        ("after_first_5_s", "first 5 s after the outage"),
    ];
    for (phase, label) in phases {
        let p = &run[phase];
        if p.is_object() {
            println!(
                "| {label} ({:.0} s): vendor 429s / rate used / refused UNAVAILABLE | {} / {} / {} |",
                p["seconds"].as_f64().unwrap_or(0.0),
                p["vendor_429"],
                pct(p["used"].as_f64().unwrap_or(0.0)),
                p["refused_unavailable"]
            );
        }
    }
    if let Some(n) = run["vendor_answers_after_the_callers_deadline"].as_u64() {
        println!("| vendor answers after the deadline of the caller served | {n} |");
    }
    println!(
        "| callers: offered / served / refused RESOURCE_EXHAUSTED / UNAVAILABLE | {} / {} / {} / {} |",
        c["offered"], c["served"], c["refused_resource_exhausted"], c["refused_unavailable"]
    );
    println!(
        "| callers answered after their {} s deadline | {} ({}) |",
        DEADLINE.as_secs(),
        c["past_deadline"],
        pct(c["past_deadline_share"].as_f64().unwrap_or(0.0))
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `cargo test --all-targets` runs bench binaries without `--bench`: build-check only.
    if !std::env::args().any(|a| a == "--bench") {
        println!("benchmark built; run it with `cargo bench --bench {}`", env!("CARGO_CRATE_NAME"));
        return Ok(());
    }
    datastudio_gateway::install_crypto_provider();
    let l = lengths()?;
    redis_server::ensure_installed();
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    println!(
        "limiter_stress bench: {OFFERED_QPS} calls/s offered to DataWorks emulators limited to {VENDOR_QPS}/s, \
         {} s deadlines; misconfiguration runs {} s, load {} s, outages {} s (five runs side by side)",
        DEADLINE.as_secs(),
        l.misconfig.as_secs(),
        l.load.as_secs(),
        l.outage.as_secs()
    );
    // Each run in its own task (the outage runs block briefly to stop and start redis-server).
    let (p, q, r, s, t) =
        (d.join("local"), d.join("redis"), d.join("load"), d.join("fail_local"), d.join("fail_closed"));
    let tasks = [
        tokio::spawn(async move { misconfigured(&p, false, l).await }),
        tokio::spawn(async move { misconfigured(&q, true, l).await }),
        tokio::spawn(async move { shared_load(&r, l).await }),
        tokio::spawn(async move { outage(&s, "fail_local", l).await }),
        tokio::spawn(async move { outage(&t, "fail_closed", l).await }),
    ];
    let mut runs = Vec::new();
    for task in tasks {
        runs.push(task.await??);
    }
    for run in &runs {
        print(run);
    }
    let json = json!({
        "bench": "limiter_stress", "vendor_qps": VENDOR_QPS, "offered_qps": OFFERED_QPS,
        "deadline_s": DEADLINE.as_secs(), "runs": runs,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
    });
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/results");
    std::fs::create_dir_all(&out)?;
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    std::fs::write(out.join(format!("limiter-stress-{stamp}.json")), serde_json::to_vec_pretty(&json)?)?;
    Ok(())
}
