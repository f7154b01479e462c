//! Instructions per call: the gateway run under callgrind (valgrind), each
//! read made a fixed number of times one after the other, and the user-space
//! instructions the gateway executed for them counted. On shared cores CPU
//! time per call moves by ±15 % from run to run; instruction counts move by
//! well under 1 %, so a change to the hot path shows as what it saves. They
//! leave out kernel time (sockets, wake-ups) and cache misses: the CPU time
//! of the `cost` runs stays the figure the goals are stated in.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use tonic::transport::Channel;

use crate::{COST_CASES, Case, Setup, procs};

/// Calls made before counting (connections, pools and caches warm).
const WARM_UP: usize = 20;

/// One read's count.
pub struct Count {
    /// The read.
    pub case: Case,
    /// Instructions the gateway executed per call.
    pub per_call: f64,
}

/// Starts the gateway under callgrind and counts `calls` calls of each
/// read; each read's dump is kept in `keep` as `callgrind-<read>.out`
/// (`callgrind_annotate` says where the instructions went).
pub async fn count(setup: &Setup, bin: &Path, calls: usize, keep: &Path) -> anyhow::Result<Vec<Count>> {
    let (g, a) = (procs::free_port()?, procs::free_port()?);
    let grpc: SocketAddr = ([127, 0, 0, 1], g).into();
    let out = setup.dir.path().join("callgrind.out");
    let (config, listen, admin) = (setup.config(), grpc.to_string(), format!("127.0.0.1:{a}"));
    let args = [
        "--tool=callgrind",
        // Not counted until the warm-up is over (and start-up is faster).
        "--instr-atstart=no",
        &format!("--callgrind-out-file={}", out.display()),
        bin.to_str().unwrap_or_default(),
        "serve",
        "--config",
        config.to_str().unwrap_or_default(),
        "--grpc-listen",
        &listen,
        "--admin-listen",
        &admin,
    ];
    let gw = procs::Proc::spawn(Path::new("valgrind"), &args, &setup.dir.path().join("gateway-callgrind.log"))?;
    procs::wait_serving(grpc, Instant::now(), Duration::from_secs(120)).await?;
    let channel = Channel::from_shared(format!("http://{grpc}"))?.connect().await?;
    let mut counts = Vec::new();
    for case in COST_CASES {
        eprintln!("instructions: {} × {calls}", case.name());
        for _ in 0..WARM_UP {
            case.grpc(channel.clone()).await.map_err(|e| anyhow::anyhow!("{}: {e}", case.name()))?;
        }
        control(gw.pid, "--instr=on")?;
        control(gw.pid, "--zero")?;
        for _ in 0..calls {
            case.grpc(channel.clone()).await.map_err(|e| anyhow::anyhow!("{}: {e}", case.name()))?;
        }
        control(gw.pid, "--dump")?;
        control(gw.pid, "--instr=off")?;
        let kept = keep.join(format!("callgrind-{}.out", case.slug()));
        let total = newest_total(&out, &kept)?;
        counts.push(Count { case, per_call: total as f64 / calls as f64 });
    }
    gw.stop(Duration::from_secs(10));
    Ok(counts)
}

/// Runs `callgrind_control ARG PID`.
fn control(pid: u32, arg: &str) -> anyhow::Result<()> {
    let status = Command::new("callgrind_control").args([arg, &pid.to_string()]).output()?;
    anyhow::ensure!(status.status.success(), "callgrind_control {arg}: {}", String::from_utf8_lossy(&status.stderr));
    Ok(())
}

/// The instruction total of the newest dump beside `out` (`out.<pid>.<n>`
/// for dumps on request), which is moved to `keep`.
fn newest_total(out: &Path, keep: &Path) -> anyhow::Result<u64> {
    let dir = out.parent().unwrap_or(Path::new("."));
    let stem = out.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let newest: Option<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_str().is_some_and(|n| n.starts_with(stem)))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .max();
    let (_, path) = newest.ok_or_else(|| anyhow::anyhow!("callgrind wrote no dump in {}", dir.display()))?;
    let text = std::fs::read_to_string(&path)?;
    let total = text
        .lines()
        .find_map(|l| l.strip_prefix("summary:").or_else(|| l.strip_prefix("totals:")))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no instruction total in {}", path.display()))?;
    std::fs::create_dir_all(keep.parent().unwrap_or(Path::new(".")))?;
    std::fs::copy(&path, keep)?;
    std::fs::remove_file(&path)?;
    Ok(total)
}
