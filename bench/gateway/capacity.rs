//! Capacity: what one gateway core serves when it is kept busy.
//!
//! The cost runs measure CPU per call at a light fixed rate, where every
//! call also pays for waking the idle runtime. Here a second gateway is
//! started alone on one CPU (its runtime then runs one worker, as under a
//! one-core limit), the emulators and this driver are moved to the other
//! CPUs, and a closed loop keeps a number of calls in flight for a fixed
//! time. Every call is a different read ([`Case::nth_list_request`]), so
//! coalescing shares nothing: each call is one vendor call. The floor
//! server is measured the same way on the same core.
//!
//! Calls per gateway core-second = calls answered / the gateway's CPU
//! seconds over the run. When the gateway's core was not busy all the
//! time, the other side (emulators and client) was the limit; the table
//! shows how busy both were.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use tonic::transport::Channel;

use datastudio_gateway::pb;

use crate::{
    Case, Setup,
    load::{self, Stats},
    procs::{self, Proc},
};

/// The reads of the capacity runs: the two pages the goals name.
const CASES: [Case; 2] = [Case::AliList, Case::HwList];
/// Closed-loop time before each measured run.
const WARM_UP: Duration = Duration::from_secs(1);

/// One read against the gateway and against the floor, each alone on one CPU.
pub struct Row {
    case: Case,
    concurrency: usize,
    gateway: Run,
    floor: Run,
}

/// One measured closed-loop run.
struct Run {
    stats: Stats,
    elapsed: Duration,
    /// CPU time of the server under test (alone on its CPU).
    cpu: Duration,
    /// CPU time of the emulators (on the other CPUs).
    emulators: Duration,
    /// CPU time of this driver, the client (on the other CPUs).
    client: Duration,
}

impl Run {
    fn per_core_second(&self) -> f64 {
        self.stats.ok as f64 / self.cpu.as_secs_f64().max(1e-9)
    }

    /// Share of a CPU `cpu` is over the run (the server's: how busy its core was).
    fn share(&self, cpu: Duration) -> f64 {
        cpu.as_secs_f64() / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn json(&self) -> Value {
        json!({
            "stats": self.stats, "seconds": self.elapsed.as_secs_f64(),
            "calls_per_core_second": self.per_core_second(), "core_busy": self.share(self.cpu),
            "emulators_cpus_busy": self.share(self.emulators), "client_cpus_busy": self.share(self.client),
        })
    }
}

/// Runs every capacity read; needs two CPUs or more of those this driver
/// may use. The gateway and the floor run on the first of them, this
/// driver and the emulators on the rest until the runs end.
pub async fn run(setup: &Setup, bin: &Path, seconds: u64, concurrency: usize) -> anyhow::Result<Vec<Row>> {
    let allowed = procs::allowed_cpus()?;
    let [first, rest @ ..] = &allowed[..] else { anyhow::bail!("no CPU allowed") };
    anyhow::ensure!(!rest.is_empty(), "the capacity runs need two CPUs: one for the gateway, one for the rest");
    let _back = Pinned::on(vec![std::process::id(), setup.emulators.pid], &procs::cpu_list(rest), allowed.clone())?;
    let config = setup.write_config(&setup.dir.path().join("capacity"))?;
    let server_cpu = first.to_string();
    let (gw, addr, _) = setup.gateway(bin, &config, Some(&server_cpu)).await?;
    let length = Duration::from_secs(seconds);
    let channel = Channel::from_shared(format!("http://{addr}"))?.connect().await?;
    let (floor, floor_ch) = crate::start_floor(setup, channel.clone(), Some(&server_cpu)).await?;
    let mut rows = Vec::new();
    for case in CASES {
        eprintln!("capacity: {}, {concurrency} in flight", case.name());
        // Every bounded read must answer the rows the plain read answers.
        let rows_each = case.grpc(channel.clone()).await.map_err(anyhow::Error::msg)?;
        let gateway = closed(setup, &gw, channel.clone(), case, rows_each, length, concurrency).await;
        let floor = closed(setup, &floor, floor_ch.clone(), case, rows_each, length, concurrency).await;
        rows.push(Row { case, concurrency, gateway, floor });
    }
    floor.stop(Duration::from_secs(5));
    gw.stop(Duration::from_secs(10));
    Ok(rows)
}

/// Processes moved onto some CPUs, moved back onto `back` when dropped
/// (on every way out of the runs).
struct Pinned {
    pids: Vec<u32>,
    back: Vec<usize>,
}

impl Pinned {
    fn on(pids: Vec<u32>, cpus: &str, back: Vec<usize>) -> anyhow::Result<Pinned> {
        let pinned = Pinned { pids, back };
        for &pid in &pinned.pids {
            procs::pin(pid, cpus)?;
        }
        Ok(pinned)
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        let back = procs::cpu_list(&self.back);
        for &pid in &self.pids {
            if let Err(e) = procs::pin(pid, &back) {
                eprintln!("capacity: could not move {pid} back onto CPUs {back}: {e}");
            }
        }
    }
}

/// A warm-up, then a measured closed loop of distinct reads of `case`
/// against `server`, each expected to answer `rows_each` rows.
async fn closed(
    setup: &Setup,
    server: &Proc,
    ch: Channel,
    case: Case,
    rows_each: usize,
    length: Duration,
    concurrency: usize,
) -> Run {
    let call = move |n: usize| {
        let ch = ch.clone();
        async move {
            match count_packages(ch, case.nth_list_request(n)).await? {
                r if r == rows_each => Ok(()),
                r => Err(format!("{r} rows, not {rows_each}")),
            }
        }
    };
    let (_, next) = load::closed_loop(concurrency, WARM_UP, 0, call.clone()).await;
    let (cpu0, emulators0, client0) = (server.cpu(), setup.emulators.cpu(), procs::own_cpu());
    let started = Instant::now();
    let (stats, _) = load::closed_loop(concurrency, length, next, call).await;
    let elapsed = started.elapsed();
    let client = procs::cpu_between(client0, procs::own_cpu());
    let (cpu, emulators) = (server.cpu_since(cpu0), setup.emulators.cpu_since(emulators0));
    Run { stats, elapsed, cpu, emulators, client }
}

/// What the client reads of a page: its packages as bytes, counted and
/// not decoded, which leaves the client's CPU to the emulators.
#[derive(Clone, PartialEq, prost::Message)]
struct Counted {
    #[prost(bytes = "bytes", repeated, tag = "1")]
    release_packages: Vec<bytes::Bytes>,
}

/// One ListReleasePackages call; the number of packages it returned.
async fn count_packages(ch: Channel, r: pb::ListReleasePackagesRequest) -> Result<usize, String> {
    let mut grpc = tonic::client::Grpc::new(ch);
    grpc.ready().await.map_err(|e| e.to_string())?;
    let path = http::uri::PathAndQuery::from_static("/datastudio.v1.ReleaseService/ListReleasePackages");
    let codec = tonic_prost::ProstCodec::<pb::ListReleasePackagesRequest, Counted>::default();
    grpc.unary(tonic::Request::new(r), path, codec)
        .await
        .map(|a| a.into_inner().release_packages.len())
        .map_err(|s| format!("{:?}: {}", s.code(), s.message()))
}

/// The rows as JSON.
pub fn json(rows: &[Row]) -> Value {
    rows.iter()
        .map(|r| {
            json!({
                "case": r.case.name(), "concurrency": r.concurrency,
                "gateway": r.gateway.json(), "floor": r.floor.json(),
                "gateway_cost_over_floor": r.floor.per_core_second() / r.gateway.per_core_second().max(1e-9),
            })
        })
        .collect()
}

/// Prints the rows as a table.
pub fn print(rows: &[Row]) {
    let Some(first) = rows.first() else { return };
    println!(
        "\ncapacity (closed loop, {} in flight, every call a different read; gateway and floor each alone on one CPU, \
         emulators and client on the rest, their use in % of a CPU; calls/cs = calls per core-second of that CPU's server)",
        first.concurrency
    );
    println!(
        "{:<34} {:>8} {:>9} {:>6} {:>6} {:>6}  {:>15}  {:>8} {:>9} {:>6}  {:>8}",
        "case",
        "calls/s",
        "calls/cs",
        "busy",
        "emul.",
        "client",
        "gateway p50/p99",
        "floor/s",
        "floor/cs",
        "busy",
        "×floor"
    );
    for r in rows {
        let (g, f) = (&r.gateway, &r.floor);
        let errors = g.stats.errors + f.stats.errors;
        println!(
            "{:<34} {:>8.0} {:>9.0} {:>5.0}% {:>5.0}% {:>5.0}%  {:>15}  {:>8.0} {:>9.0} {:>5.0}%  {:>8.1}{}",
            r.case.name(),
            g.stats.rps,
            g.per_core_second(),
            g.share(g.cpu) * 100.0,
            g.share(g.emulators) * 100.0,
            g.share(g.client) * 100.0,
            format!("{:.2}/{:.2}", g.stats.p50_ms, g.stats.p99_ms),
            f.stats.rps,
            f.per_core_second(),
            f.share(f.cpu) * 100.0,
            f.per_core_second() / g.per_core_second().max(1e-9),
            if errors > 0 {
                format!("  ({errors} errors: {:?})", g.stats.first_error.as_ref().or(f.stats.first_error.as_ref()))
            } else {
                String::new()
            }
        );
    }
}
