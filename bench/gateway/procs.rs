//! The processes under test (the emulators and the gateway, each a separate
//! release binary) and what `/proc` says about them: resident memory, CPU
//! time, start-up to health SERVING. Also the machine the figures come from.

use std::{
    net::{SocketAddr, TcpListener},
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};

/// What a process used: CPU time and context switches (see [`Proc::usage`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    /// User CPU time.
    pub user: Duration,
    /// System CPU time.
    pub system: Duration,
    /// Context switches, all threads (those that ended are not counted).
    pub switches: u64,
}

impl Usage {
    /// What was used between `before` and `self`.
    pub fn since(self, before: Usage) -> Usage {
        Usage {
            user: self.user.saturating_sub(before.user),
            system: self.system.saturating_sub(before.system),
            switches: self.switches.saturating_sub(before.switches),
        }
    }
}

/// A child process, killed when dropped.
pub struct Proc {
    child: Child,
    /// Its process id.
    pub pid: u32,
}

impl Proc {
    /// Starts `bin args…` with stdout and stderr appended to `log`.
    pub fn spawn(bin: &Path, args: &[&str], log: &Path) -> anyhow::Result<Proc> {
        let mut cmd = Command::new(bin);
        cmd.args(args);
        Proc::start(cmd, bin, log)
    }

    /// Starts `bin args…`, on the CPUs `cpus` only when given (taskset's
    /// list: "0", "1-3"), so its runtime sizes itself to them.
    pub fn spawn_on(cpus: Option<&str>, bin: &Path, args: &[&str], log: &Path) -> anyhow::Result<Proc> {
        let Some(cpus) = cpus else { return Proc::spawn(bin, args, log) };
        let mut cmd = Command::new("taskset");
        cmd.args(["-c", cpus]).arg(bin).args(args);
        Proc::start(cmd, bin, log)
    }

    fn start(mut cmd: Command, bin: &Path, log: &Path) -> anyhow::Result<Proc> {
        let out = std::fs::OpenOptions::new().create(true).append(true).open(log)?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot start {}: {e}", bin.display()))?;
        Ok(Proc { pid: child.id(), child })
    }

    /// Resident set size now, KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        rss_kib_of(self.pid)
    }

    /// Highest resident set size so far, KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        status_kib(self.pid, "VmHWM:")
    }

    /// User + system CPU time used so far.
    pub fn cpu(&self) -> Option<Duration> {
        cpu_of(self.pid)
    }

    /// CPU time used so far, user and system apart, and the context
    /// switches of all its threads (each a thread that went to sleep or
    /// was taken off its core: the kernel's side of a wake-up).
    pub fn usage(&self) -> Option<Usage> {
        let (user, system) = times_of(self.pid)?;
        let mut switches = 0;
        for task in std::fs::read_dir(format!("/proc/{}/task", self.pid)).ok()?.flatten() {
            let Ok(status) = std::fs::read_to_string(task.path().join("status")) else { continue };
            switches += ["voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:"]
                .into_iter()
                .filter_map(|field| status_field(&status, field)?.parse::<u64>().ok())
                .sum::<u64>();
        }
        Some(Usage { user, system, switches })
    }

    /// CPU time used since a reading of [`Proc::cpu`].
    pub fn cpu_since(&self, before: Option<Duration>) -> Duration {
        cpu_between(before, self.cpu())
    }

    /// SIGTERM, then SIGKILL after `grace`.
    pub fn stop(mut self, grace: Duration) {
        let _ = Command::new("kill").args(["-TERM", &self.pid.to_string()]).status();
        let until = Instant::now() + grace;
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// User and system CPU time `pid` used so far.
fn times_of(pid: u32) -> Option<(Duration, Duration)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at field 3 (state).
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let secs = |i: usize| {
        let ticks = f.get(i)?.parse::<u64>().ok()?;
        Some(Duration::from_secs_f64(ticks as f64 / clock_ticks()))
    };
    Some((secs(11)?, secs(12)?))
}

/// User + system CPU time `pid` used so far.
fn cpu_of(pid: u32) -> Option<Duration> {
    times_of(pid).map(|(user, system)| user + system)
}

/// User + system CPU time this process (the bench driver) used so far.
pub fn own_cpu() -> Option<Duration> {
    cpu_of(std::process::id())
}

/// CPU time used between two readings (none when either failed).
pub fn cpu_between(before: Option<Duration>, now: Option<Duration>) -> Duration {
    now.zip(before).map(|(now, then)| now.saturating_sub(then)).unwrap_or_default()
}

/// Moves every thread of `pid` onto the CPUs `cpus` (taskset's list).
pub fn pin(pid: u32, cpus: &str) -> anyhow::Result<()> {
    let status =
        Command::new("taskset").args(["-a", "-p", "-c", cpus, &pid.to_string()]).stdout(Stdio::null()).status()?;
    anyhow::ensure!(status.success(), "taskset -a -p -c {cpus} {pid}: {status}");
    Ok(())
}

/// The CPUs this process may run on (`Cpus_allowed_list`: "0-3,8").
pub fn allowed_cpus() -> anyhow::Result<Vec<usize>> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let list = status_field(&status, "Cpus_allowed_list:")
        .ok_or_else(|| anyhow::anyhow!("no Cpus_allowed_list in /proc/self/status"))?;
    parse_cpu_list(list)
}

fn parse_cpu_list(list: &str) -> anyhow::Result<Vec<usize>> {
    let mut cpus = Vec::new();
    for part in list.trim().split(',').filter(|p| !p.is_empty()) {
        let (from, to) = part.split_once('-').unwrap_or((part, part));
        cpus.extend(from.trim().parse::<usize>()?..=to.trim().parse::<usize>()?);
    }
    Ok(cpus)
}

/// A CPU list as taskset takes it.
pub fn cpu_list(cpus: &[usize]) -> String {
    cpus.iter().map(usize::to_string).collect::<Vec<_>>().join(",")
}

/// Checks the CPU list and status readers.
pub fn self_check() {
    assert_eq!(parse_cpu_list("0-3,8\n").unwrap(), [0, 1, 2, 3, 8]);
    assert_eq!(parse_cpu_list("5").unwrap(), [5]);
    assert!(parse_cpu_list("x").is_err());
    assert_eq!(cpu_list(&[1, 2, 7]), "1,2,7");
    let status = "Name:\tx\nVmRSS:\t  1234 kB\nvoluntary_ctxt_switches:\t7\nnonvoluntary_ctxt_switches:\t2\n";
    assert_eq!(status_field(status, "VmRSS:"), Some("1234 kB"));
    assert_eq!(status_field(status, "voluntary_ctxt_switches:"), Some("7"));
    assert_eq!(status_field(status, "Cpus_allowed_list:"), None);
}

/// The value of `field` ("VmRSS:") in a `/proc/…/status` text, trimmed.
fn status_field<'a>(status: &'a str, field: &str) -> Option<&'a str> {
    status.lines().find_map(|l| l.strip_prefix(field)).map(str::trim)
}

fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status_field(&s, field)?.split_whitespace().next()?.parse().ok()
}

/// Resident set size of `pid` now, KiB.
pub fn rss_kib_of(pid: u32) -> Option<u64> {
    status_kib(pid, "VmRSS:")
}

/// Clock ticks per second (`getconf CLK_TCK`, asked once).
fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// A loopback port nobody listens on now.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Waits until something accepts TCP connections on `addr`.
pub async fn wait_listening(addr: SocketAddr, timeout: Duration) -> anyhow::Result<()> {
    let until = Instant::now() + timeout;
    loop {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < until, "nothing listens on {addr} after {timeout:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Polls the gRPC health service on `addr` every millisecond until it
/// answers SERVING; returns the time since `since`.
pub async fn wait_serving(addr: SocketAddr, since: Instant, timeout: Duration) -> anyhow::Result<Duration> {
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?;
    loop {
        if let Ok(ch) = endpoint.connect().await {
            let mut h = HealthClient::new(ch);
            loop {
                match h.check(HealthCheckRequest { service: String::new() }).await {
                    Ok(r) if r.get_ref().status == ServingStatus::Serving as i32 => return Ok(since.elapsed()),
                    Ok(_) => {}
                    Err(_) => break,
                }
                anyhow::ensure!(since.elapsed() < timeout, "{addr} not SERVING after {timeout:?}");
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        anyhow::ensure!(since.elapsed() < timeout, "{addr} not SERVING after {timeout:?}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Cores, CPU model, kernel: the machine the figures come from.
pub fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_owned())
        .unwrap_or_default();
    let mem_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().next().and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse::<u64>().ok()));
    json!({
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "cpu_model": model,
        "memory_mib": mem_kib.map(|k| k / 1024),
        "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim(),
        "arch": std::env::consts::ARCH,
    })
}

/// First line of `cmd args…` (a tool's version), or empty.
pub fn version_of(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| {
            let text = if o.stdout.is_empty() { o.stderr } else { o.stdout };
            String::from_utf8_lossy(&text).lines().next().unwrap_or_default().trim().to_owned()
        })
        .unwrap_or_default()
}
