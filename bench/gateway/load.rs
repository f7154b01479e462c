//! Load generation: an open-loop client that starts calls at a fixed rate
//! whatever the answers do (so a slow server cannot slow the offered load),
//! a closed-loop one that keeps a number of calls in flight (to find what a
//! server can do), and the `ghz` runner for the gRPC side.

use std::{
    future::Future,
    path::Path,
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use serde::Serialize;
use serde_json::Value;

/// Latency figures of one run, milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    /// Calls answered successfully.
    pub ok: usize,
    /// Calls that failed.
    pub errors: usize,
    /// The first failure, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
    /// Successful calls per second over the run.
    pub rps: f64,
    /// Mean latency.
    pub mean_ms: f64,
    /// Median latency.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
}

impl Stats {
    /// Figures from per-call latencies of successful calls.
    pub fn from_latencies(
        mut lat: Vec<Duration>,
        errors: usize,
        first_error: Option<String>,
        elapsed: Duration,
    ) -> Stats {
        lat.sort_unstable();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let pct = |p: f64| if lat.is_empty() { 0.0 } else { ms(lat[((lat.len() - 1) as f64 * p).round() as usize]) };
        let mean = if lat.is_empty() { 0.0 } else { lat.iter().map(|d| ms(*d)).sum::<f64>() / lat.len() as f64 };
        Stats {
            ok: lat.len(),
            errors,
            first_error,
            rps: lat.len() as f64 / elapsed.as_secs_f64().max(1e-9),
            mean_ms: mean,
            p50_ms: pct(0.50),
            p90_ms: pct(0.90),
            p99_ms: pct(0.99),
        }
    }
}

/// What runs measured, kept call by call so runs can be put together.
#[derive(Debug, Default)]
pub struct Samples {
    lat: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
    elapsed: Duration,
}

impl Samples {
    /// Records one call that took `took`: its latency when it answered,
    /// its failure otherwise.
    fn record(&mut self, took: Duration, r: Result<(), String>) {
        match r {
            Ok(()) => self.lat.push(took),
            Err(e) => self.fail(e),
        }
    }

    /// Records a failed call.
    fn fail(&mut self, e: String) {
        self.errors += 1;
        self.first_error.get_or_insert(e);
    }

    /// Adds another run's calls and time to these.
    pub fn absorb(&mut self, other: Samples) {
        self.lat.extend(other.lat);
        self.errors += other.errors;
        self.first_error = self.first_error.take().or(other.first_error);
        self.elapsed += other.elapsed;
    }

    /// The figures of all the calls.
    pub fn stats(self) -> Stats {
        Stats::from_latencies(self.lat, self.errors, self.first_error, self.elapsed)
    }
}

/// Starts `total` calls of `call` at `rate` per second, each in its own
/// task, and times each from its start to its answer.
pub async fn open_loop<F, Fut>(rate: f64, total: usize, call: F) -> Stats
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    open_loop_samples(rate, total, call).await.stats()
}

/// [`open_loop`], the calls kept one by one.
pub async fn open_loop_samples<F, Fut>(rate: f64, total: usize, call: F) -> Samples
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        tokio::time::sleep_until((start + Duration::from_secs_f64(i as f64 / rate)).into()).await;
        let fut = call(i);
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let r = fut.await;
            (t.elapsed(), r)
        }));
    }
    let mut s = Samples { lat: Vec::with_capacity(total), ..Samples::default() };
    for t in tasks {
        match t.await {
            Ok((took, r)) => s.record(took, r),
            Err(e) => s.fail(e.to_string()),
        }
    }
    s.elapsed = start.elapsed();
    s
}

/// Keeps `concurrency` calls of `call` in flight for `length`: each caller
/// starts its next call as its last one answers. Calls are numbered from
/// `first` up, one number per call over all callers; returns the figures
/// and the first number not used. Calls still in flight at the end are
/// waited for and counted.
pub async fn closed_loop<F, Fut>(concurrency: usize, length: Duration, first: usize, call: F) -> (Stats, usize)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let start = Instant::now();
    let (call, next) = (Arc::new(call), Arc::new(AtomicUsize::new(first)));
    let callers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (call, next) = (call.clone(), next.clone());
            tokio::spawn(async move {
                let mut s = Samples::default();
                while start.elapsed() < length {
                    let t = Instant::now();
                    let r = call(next.fetch_add(1, Ordering::Relaxed)).await;
                    s.record(t.elapsed(), r);
                }
                s
            })
        })
        .collect();
    let mut all = Samples::default();
    for c in callers {
        match c.await {
            Ok(s) => all.absorb(s),
            Err(e) => all.fail(e.to_string()),
        }
    }
    all.elapsed = start.elapsed();
    (all.stats(), next.load(Ordering::Relaxed))
}

/// How to load the gateway with `ghz`.
pub struct GhzRun<'a> {
    /// Full method name, `package.Service.Method`.
    pub call: &'a str,
    /// The request as JSON.
    pub data: &'a str,
    /// Fixed rate, or as fast as `concurrency` workers go.
    pub rps: Option<u32>,
    /// Concurrent workers.
    pub concurrency: u32,
    /// Calls to make (ghz waits for every one; a `-z` duration would cut
    /// calls in flight at the end and count them as errors).
    pub total: u64,
}

/// Runs `ghz` (server reflection, one HTTP/2 connection) against `addr`.
pub fn ghz(bin: &Path, addr: &str, run: &GhzRun) -> anyhow::Result<Stats> {
    let mut cmd = Command::new(bin);
    cmd.args(["--insecure", "--format", "json", "--connections", "1", "--call", run.call, "-d", run.data]).args([
        "-c",
        &run.concurrency.to_string(),
        "-n",
        &run.total.to_string(),
    ]);
    if let Some(r) = run.rps {
        cmd.args(["--rps", &r.to_string()]);
    }
    let out = cmd.arg(addr).output().map_err(|e| anyhow::anyhow!("cannot run {}: {e}", bin.display()))?;
    let report: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| anyhow::anyhow!("ghz printed no JSON report ({e}): {}", String::from_utf8_lossy(&out.stderr)))?;
    Ok(ghz_stats(&report))
}

/// Reads ghz's JSON report (latencies in nanoseconds).
fn ghz_stats(r: &Value) -> Stats {
    let ns = |v: &Value| v.as_f64().unwrap_or(0.0) / 1e6;
    let pct = |p: u64| {
        r["latencyDistribution"]
            .as_array()
            .and_then(|a| a.iter().find(|e| e["percentage"].as_u64() == Some(p)))
            .map(|e| ns(&e["latency"]))
            .unwrap_or(0.0)
    };
    let codes = r["statusCodeDistribution"].as_object();
    let ok = codes.and_then(|c| c.get("OK")).and_then(Value::as_u64).unwrap_or(0) as usize;
    let all: u64 = codes.map(|c| c.values().filter_map(Value::as_u64).sum()).unwrap_or(0);
    let first_error = r["errorDistribution"].as_object().and_then(|e| e.keys().next().cloned());
    let seconds = r["total"].as_f64().unwrap_or(0.0) / 1e9;
    Stats {
        ok,
        errors: all as usize - ok,
        first_error,
        rps: if seconds > 0.0 { ok as f64 / seconds } else { 0.0 },
        mean_ms: ns(&r["average"]),
        p50_ms: pct(50),
        p90_ms: pct(90),
        p99_ms: pct(99),
    }
}

/// Checks the figures' arithmetic on known inputs; run when the bench
/// binary is started without `--bench` (as `cargo test --all-targets` does).
pub async fn self_check() {
    let r = serde_json::json!({
        "total": 2_000_000_000u64, "average": 1_500_000,
        "latencyDistribution": [{"percentage": 50, "latency": 1_000_000}, {"percentage": 90, "latency": 2_000_000},
                                 {"percentage": 99, "latency": 4_000_000}],
        "statusCodeDistribution": {"OK": 998, "Unavailable": 2},
        "errorDistribution": {"rpc error: code = Unavailable": 2}
    });
    let s = ghz_stats(&r);
    assert_eq!((s.ok, s.errors), (998, 2));
    assert_eq!((s.p50_ms, s.p90_ms, s.p99_ms, s.mean_ms), (1.0, 2.0, 4.0, 1.5));
    assert_eq!(s.rps, 499.0);
    assert_eq!(s.first_error.as_deref(), Some("rpc error: code = Unavailable"));

    let lat = (1..=100).map(Duration::from_millis).collect();
    let s = Stats::from_latencies(lat, 0, None, Duration::from_secs(1));
    assert_eq!((s.p50_ms, s.p90_ms, s.p99_ms), (51.0, 90.0, 99.0));
    assert_eq!(s.rps, 100.0);

    // Runs put together are figured as one.
    let ms = |v: &[u64]| v.iter().map(|m| Duration::from_millis(*m)).collect::<Vec<_>>();
    let mut a = Samples { lat: ms(&[1, 3]), errors: 0, first_error: None, elapsed: Duration::from_secs(1) };
    a.absorb(Samples { lat: ms(&[2, 4]), errors: 1, first_error: Some("x".into()), elapsed: Duration::from_secs(1) });
    let s = a.stats();
    assert_eq!((s.ok, s.errors, s.rps, s.p50_ms, s.p99_ms), (4, 1, 2.0, 3.0, 4.0));
    assert_eq!(s.first_error.as_deref(), Some("x"));

    // The closed loop numbers its calls from `first` with no gaps or repeats, and counts failures.
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let (s, next) = closed_loop(4, Duration::from_millis(30), 10, move |n| {
        log.lock().expect("not poisoned").push(n);
        async move {
            tokio::time::sleep(Duration::from_millis(1)).await;
            if n % 3 == 0 { Err(format!("call {n}")) } else { Ok(()) }
        }
    })
    .await;
    let mut seen = seen.lock().expect("not poisoned").clone();
    seen.sort_unstable();
    assert!(!seen.is_empty());
    assert_eq!(seen, (10..next).collect::<Vec<_>>());
    assert_eq!(s.ok + s.errors, seen.len());
    assert_eq!(s.errors, seen.iter().filter(|n| *n % 3 == 0).count());
    assert!(s.first_error.is_some_and(|e| e.starts_with("call ")));
}
