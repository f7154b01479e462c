//! Where the gateway is and how to reach it: address, bearer token, TLS and
//! mTLS files, server name, deadline (flags or `DATASTUDIO_*` variables).

use std::{future::Future, path::PathBuf, time::Duration};

use clap::Args;
use http::{Uri, uri::Scheme};
use tonic::{
    Request, Status,
    metadata::{AsciiMetadataValue, MetadataValue},
    transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity},
};

use super::exit::Failure;
use crate::config::Secret;

/// Longest wait for a unary call when no --deadline is given.
const UNARY_DEADLINE: Duration = Duration::from_secs(30);

/// Connection flags.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Connection")]
pub struct Connect {
    /// The gateway's gRPC address: host:port, http://host:port or https://host:port
    /// (host:port becomes https:// when a TLS flag is given).
    #[arg(long, global = true, env = "DATASTUDIO_ADDR", default_value = "127.0.0.1:50051")]
    pub addr: String,
    /// Bearer token sent as `authorization: Bearer <token>`.
    #[arg(long, global = true, env = "DATASTUDIO_TOKEN", hide_env_values = true, conflicts_with = "token_file",
          value_parser = secret)]
    pub token: Option<Secret>,
    /// File holding the bearer token (read at each run, so a rotated token is picked up).
    #[arg(long, global = true, env = "DATASTUDIO_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// PEM CA bundle that signed the gateway's certificate (default: the system's roots).
    #[arg(long, global = true, env = "DATASTUDIO_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate for mTLS (with --key-file).
    #[arg(long, global = true, env = "DATASTUDIO_CERT_FILE", requires = "key_file")]
    pub cert_file: Option<PathBuf>,
    /// PEM private key of the client certificate.
    #[arg(long, global = true, env = "DATASTUDIO_KEY_FILE", requires = "cert_file")]
    pub key_file: Option<PathBuf>,
    /// The name the gateway's certificate must carry, when it differs from the address's host.
    #[arg(long, global = true, env = "DATASTUDIO_SERVER_NAME")]
    pub server_name: Option<String>,
    /// Deadline of each call (humantime: 10s, 2m). Unary calls default to 30s;
    /// watches have none unless given.
    #[arg(long, global = true, env = "DATASTUDIO_DEADLINE", value_parser = humantime::parse_duration)]
    pub deadline: Option<Duration>,
}

/// An open (lazily connected) channel with what every request carries.
pub(crate) struct Conn {
    /// The channel to the gateway.
    pub channel: Channel,
    authorization: Option<AsciiMetadataValue>,
    deadline: Option<Duration>,
}

/// A token flag's value, redacted in Debug and Display.
fn secret(s: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::new(s))
}

fn read(path: &PathBuf, what: &str) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| Failure::Usage(format!("cannot read the {what} {}: {e}", path.display())))
}

impl Connect {
    /// TLS settings: when the address says https:// or any TLS flag is given.
    fn tls(&self, https: bool) -> Result<Option<ClientTlsConfig>, Failure> {
        let wanted = self.ca_file.is_some() || self.cert_file.is_some() || self.server_name.is_some();
        if !wanted && !https {
            return Ok(None);
        }
        let mut tls = ClientTlsConfig::new();
        tls = match &self.ca_file {
            Some(ca) => tls.ca_certificate(Certificate::from_pem(read(ca, "CA file")?)),
            None => tls.with_native_roots(),
        };
        if let (Some(cert), Some(key)) = (&self.cert_file, &self.key_file) {
            tls = tls.identity(Identity::from_pem(read(cert, "client certificate")?, read(key, "client key")?));
        }
        if let Some(name) = &self.server_name {
            tls = tls.domain_name(name);
        }
        Ok(Some(tls))
    }

    fn token(&self) -> Result<Option<String>, Failure> {
        match (&self.token, &self.token_file) {
            (Some(t), _) => Ok(Some(t.expose().trim().to_owned())),
            (None, Some(file)) => {
                let bytes = read(file, "token file")?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| Failure::Usage(format!("the token file {} is not UTF-8", file.display())))?;
                Ok(Some(text.trim().to_owned()))
            }
            (None, None) => Ok(None),
        }
    }

    /// The channel (connected at the first call: a gateway that cannot be
    /// reached answers that call UNAVAILABLE).
    pub(crate) fn open(&self) -> Result<Conn, Failure> {
        let given: Uri = self.addr.parse().map_err(|e| Failure::Usage(format!("--addr {}: {e}", self.addr)))?;
        let scheme = given.scheme().cloned();
        let tls = self.tls(scheme.as_ref() == Some(&Scheme::HTTPS))?;
        let uri = match (scheme, &tls) {
            (None, Some(_)) => format!("https://{}", self.addr),
            (None, None) => format!("http://{}", self.addr),
            (Some(s), _) if s == Scheme::HTTPS => self.addr.clone(),
            (Some(s), None) if s == Scheme::HTTP => self.addr.clone(),
            (Some(s), Some(_)) if s == Scheme::HTTP => {
                return Err(Failure::Usage(format!("TLS flags need an https:// address, not {}", self.addr)));
            }
            (Some(s), _) => {
                return Err(Failure::Usage(format!("--addr {}: {s}:// is neither http nor https", self.addr)));
            }
        };
        let mut endpoint = Endpoint::from_shared(uri)
            .map_err(|e| Failure::Usage(format!("--addr {}: {e}", self.addr)))?
            .connect_timeout(Duration::from_secs(10));
        if let Some(tls) = tls {
            endpoint = endpoint.tls_config(tls).map_err(|e| Failure::Usage(format!("TLS settings: {e}")))?;
        }
        let authorization = match self.token()? {
            None => None,
            Some(t) => Some(
                MetadataValue::try_from(format!("Bearer {t}"))
                    // Never echo the token: it is a secret.
                    .map_err(|_| Failure::Usage("the bearer token has characters a header cannot carry".into()))?,
            ),
        };
        Ok(Conn { channel: endpoint.connect_lazy(), authorization, deadline: self.deadline })
    }
}

impl Conn {
    fn request<T>(&self, msg: T, deadline: Option<Duration>) -> Request<T> {
        let mut req = Request::new(msg);
        if let Some(a) = &self.authorization {
            req.metadata_mut().insert("authorization", a.clone());
        }
        if let Some(d) = deadline {
            req.set_timeout(d);
        }
        req
    }

    /// One unary call under the deadline (enforced here as well as sent).
    pub(crate) async fn unary<T, R, F>(&self, msg: T, call: impl FnOnce(Request<T>) -> F) -> Result<R, Status>
    where
        F: Future<Output = Result<tonic::Response<R>, Status>>,
    {
        let deadline = self.deadline.unwrap_or(UNARY_DEADLINE);
        match tokio::time::timeout(deadline, call(self.request(msg, Some(deadline)))).await {
            Ok(answer) => answer.map(tonic::Response::into_inner),
            Err(_) => Err(Status::deadline_exceeded(format!(
                "no answer within {} (--deadline)",
                humantime::format_duration(deadline)
            ))),
        }
    }

    /// A streaming request: the deadline only when one was given.
    pub(crate) fn streaming<T>(&self, msg: T) -> Request<T> {
        self.request(msg, self.deadline)
    }
}
