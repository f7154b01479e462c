//! A real `redis-server` for the shared-limiter tests: installed from
//! Debian's package when missing (scripts/install-redis-server.sh), started
//! on an ephemeral loopback port without persistence, stopped on drop.

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::Once,
    time::{Duration, Instant},
};

static INSTALL: Once = Once::new();

fn on_path() -> bool {
    Command::new("redis-server").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

/// Installs redis-server if it is not on PATH (once per test binary).
pub fn ensure_installed() {
    INSTALL.call_once(|| {
        if on_path() {
            return;
        }
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/install-redis-server.sh");
        let status = Command::new("bash").arg(script).status().expect("run scripts/install-redis-server.sh");
        assert!(status.success(), "redis-server is missing and could not be installed");
    });
    assert!(on_path(), "redis-server is not on PATH");
}

/// A running redis-server.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    /// TLS-only server (`--tls-port`), with a password.
    tls: Option<Tls>,
}

/// A TLS server's certificate files and password.
pub struct Tls {
    /// The CA that signed the server's certificate (for SSL_CERT_FILE).
    pub ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    password: String,
}

/// A CA and a server certificate for localhost, made with the openssl
/// command (None when it is not installed).
pub fn tls_files(dir: &std::path::Path, password: &str) -> Option<Tls> {
    let run = |args: &[&str]| {
        Command::new("openssl").args(args).current_dir(dir).stdout(Stdio::null()).stderr(Stdio::null()).status()
    };
    let ok = |r: std::io::Result<std::process::ExitStatus>| r.map(|s| s.success()).unwrap_or(false);
    if !ok(run(&["version"])) {
        return None;
    }
    std::fs::write(dir.join("ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n").ok()?;
    let steps: [&[&str]; 3] = [
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=test-ca",
        ],
        &["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=localhost"],
        &[
            "x509",
            "-req",
            "-in",
            "srv.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "srv.crt",
            "-days",
            "2",
            "-extfile",
            "ext",
        ],
    ];
    for step in steps {
        assert!(ok(run(step)), "openssl {step:?} failed");
    }
    Some(Tls { ca: dir.join("ca.crt"), cert: dir.join("srv.crt"), key: dir.join("srv.key"), password: password.into() })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port()
}

fn pong(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
    if s.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 7];
    s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

impl RedisServer {
    /// Starts a server on a free loopback port.
    pub fn start() -> Self {
        ensure_installed();
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = RedisServer { child: None, port: free_port(), dir, tls: None };
        s.resume();
        s
    }

    /// Starts a TLS-only server that requires `tls.password`.
    pub fn start_tls(tls: Tls) -> Self {
        ensure_installed();
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = RedisServer { child: None, port: free_port(), dir, tls: Some(tls) };
        s.resume();
        s
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stops the server (its data is gone: no persistence).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let t0 = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() && t0.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts it again on the same port.
    pub fn resume(&mut self) {
        let port = self.port.to_string();
        let mut cmd = Command::new("redis-server");
        match &self.tls {
            None => cmd.args(["--port", &port]),
            Some(t) => cmd
                .args(["--port", "0", "--tls-port", &port, "--tls-auth-clients", "no"])
                .args(["--requirepass", &t.password])
                .arg("--tls-cert-file")
                .arg(&t.cert)
                .arg("--tls-key-file")
                .arg(&t.key)
                .arg("--tls-ca-cert-file")
                .arg(&t.ca),
        };
        let child = cmd
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--dir", &self.dir.path().display().to_string(), "--protected-mode", "yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        let t0 = Instant::now();
        let ready =
            |port| if self.tls.is_some() { TcpStream::connect(("127.0.0.1", port)).is_ok() } else { pong(port) };
        while !ready(self.port) {
            assert!(t0.elapsed() < Duration::from_secs(10), "redis-server did not answer on port {}", self.port);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Keys matching `pattern` (through the RESP protocol, no client needed).
    pub fn keys(&self, pattern: &str) -> usize {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(2))).expect("timeout");
        let cmd = format!("*2\r\n$4\r\nKEYS\r\n${}\r\n{pattern}\r\n", pattern.len());
        s.write_all(cmd.as_bytes()).expect("write");
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).expect("read");
        let head = String::from_utf8_lossy(&buf[..n]);
        head.strip_prefix('*').and_then(|r| r.split("\r\n").next()).and_then(|n| n.parse().ok()).unwrap_or(0)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
