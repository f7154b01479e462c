//! TLS on the gRPC port: a rustls `ServerConfig` rebuilt from disk when the
//! certificate, key or client CA files change (new connections use the new
//! one; a half-written rotation keeps the previous one), optional client
//! certificates (mTLS) verified against the CA bundle, and the caller
//! identity read from the client certificate's SAN.

use std::{
    net::SocketAddr,
    path::Path,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use rustls::{
    ServerConfig,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    server::WebPkiClientVerifier,
};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, server::TlsStream};
use tokio_stream::wrappers::ReceiverStream;

use crate::config::TlsConfig;

/// Longest a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

type Stamps = [Option<(SystemTime, u64)>; 3];

/// A TLS server config that follows its files.
pub(crate) struct Reloading {
    cfg: TlsConfig,
    current: Mutex<(Stamps, Arc<ServerConfig>)>,
}

fn readable(path: &Path, what: &str) -> anyhow::Result<()> {
    std::fs::File::open(path).map(drop).map_err(|e| anyhow::anyhow!("{what} {} cannot be read: {e}", path.display()))
}

fn certs(path: &Path, what: &str) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    readable(path, what)?;
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow::anyhow!("{what} {}: {e}", path.display()))?;
    if certs.is_empty() {
        anyhow::bail!("{what} {} holds no PEM certificate", path.display());
    }
    Ok(certs)
}

/// Builds the rustls config from the files (what `check-config` runs too).
pub(crate) fn load_server_config(cfg: &TlsConfig) -> anyhow::Result<ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = certs(&cfg.cert_file, "server.tls.cert_file")?;
    // The key's error never carries key material.
    readable(&cfg.key_file, "server.tls.key_file")?;
    let key = PrivateKeyDer::from_pem_file(&cfg.key_file)
        .map_err(|e| anyhow::anyhow!("server.tls.key_file {}: {e}", cfg.key_file.display()))?;
    let builder = ServerConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions()?;
    let builder = match &cfg.client_ca_file {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in certs(ca, "server.tls.client_ca_file")? {
                roots.add(c).map_err(|e| anyhow::anyhow!("server.tls.client_ca_file {}: {e}", ca.display()))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| anyhow::anyhow!("server.tls.client_ca_file {}: {e}", ca.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut sc = builder
        .with_single_cert(chain, key)
        .map_err(|e| anyhow::anyhow!("server.tls.cert_file and key_file do not form a usable pair: {e}"))?;
    // HTTP/2 for gRPC; HTTP/1.1 too for HTTP/JSON and gRPC-Web callers that offer only it.
    sc.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(sc)
}

impl Reloading {
    /// Loads `cfg` now; fails when the files are unusable.
    pub(crate) fn new(cfg: &TlsConfig) -> anyhow::Result<Arc<Self>> {
        let stamps = Self::stamps(cfg);
        let sc = Arc::new(load_server_config(cfg)?);
        Ok(Arc::new(Reloading { cfg: cfg.clone(), current: Mutex::new((stamps, sc)) }))
    }

    fn stamps(cfg: &TlsConfig) -> Stamps {
        use crate::config::stamp;
        [stamp(&cfg.cert_file), stamp(&cfg.key_file), cfg.client_ca_file.as_deref().and_then(stamp)]
    }

    /// The config for a new connection, rebuilt first if a file changed.
    pub(crate) fn current(&self) -> Arc<ServerConfig> {
        let mut g = self.current.lock().unwrap_or_else(|e| e.into_inner());
        let now = Self::stamps(&self.cfg);
        if now != g.0 {
            match load_server_config(&self.cfg) {
                Ok(sc) => {
                    tracing::info!("TLS certificate / client CA files changed: reloaded");
                    *g = (now, Arc::new(sc));
                }
                // Retried at the next connection: a rotation may be half written.
                Err(e) => {
                    tracing::warn!(error = %e, "TLS files changed but cannot be used yet; keeping the previous ones")
                }
            }
        }
        g.1.clone()
    }
}

/// Accepts TCP connections and hands tonic the ones whose TLS handshake
/// succeeded; handshakes run concurrently, failures are logged and dropped.
pub(crate) fn incoming(
    listener: TcpListener,
    tls: Arc<Reloading>,
) -> ReceiverStream<std::io::Result<TlsStream<TcpStream>>> {
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            let tcp = tokio::select! {
                () = tx.closed() => return,
                tcp = crate::server::conn::accept(&listener, "gRPC") => tcp,
            };
            let peer = match tcp.peer_addr() {
                Ok(p) => p,
                Err(_) => continue,
            };
            let acceptor = TlsAcceptor::from(tls.current());
            let tx = tx.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(s)) => {
                        let _ = tx.send(Ok(s)).await;
                    }
                    Ok(Err(e)) => handshake_failed(peer, &e.to_string()),
                    Err(_) => handshake_failed(peer, "timed out"),
                }
            });
        }
    });
    ReceiverStream::new(rx)
}

fn handshake_failed(peer: SocketAddr, why: &str) {
    tracing::info!(target: "audit", event = "tls_handshake_failed", peer = %peer, reason = why, "TLS handshake refused");
}

/// The caller identity of a client certificate: its first SPIFFE URI SAN,
/// else its first DNS SAN.
pub(crate) fn identity(leaf: &CertificateDer<'_>) -> Option<String> {
    let cert = webpki::EndEntityCert::try_from(leaf).ok()?;
    if let Some(uri) = cert.valid_uri_names().find(|u| u.starts_with("spiffe://")) {
        return Some(uri.to_owned());
    }
    cert.valid_dns_names().next().map(str::to_owned)
}
