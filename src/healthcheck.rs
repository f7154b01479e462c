//! `healthcheck`: asks a running gateway's gRPC health service
//! (`grpc.health.v1.Health/Check`) whether it is serving, for container
//! health checks (the image's `HEALTHCHECK`) where no probe binary exists.

use std::{net::SocketAddr, time::Duration};

use tonic::transport::Endpoint;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};

/// What the check found.
#[derive(Debug, PartialEq, Eq)]
pub enum Health {
    /// The service answered SERVING.
    Serving,
    /// The service answered, but not SERVING (e.g. draining).
    NotServing(String),
    /// No answer within the timeout, or no connection.
    Unreachable(String),
}

/// Checks `service` ("" is the whole server) on the plaintext gRPC port at
/// `addr`, waiting at most `timeout` in all.
pub async fn check(addr: SocketAddr, service: &str, timeout: Duration) -> Health {
    let ask = async {
        let channel = Endpoint::from_shared(format!("http://{addr}"))
            .map_err(|e| e.to_string())?
            .connect_timeout(timeout)
            .connect()
            .await
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        HealthClient::new(channel)
            .check(HealthCheckRequest { service: service.to_owned() })
            .await
            .map(|r| r.into_inner().status())
            .map_err(|s| format!("{addr} answered {:?}: {}", s.code(), s.message()))
    };
    match tokio::time::timeout(timeout, ask).await {
        Err(_) => Health::Unreachable(format!("no answer from {addr} within {timeout:?}")),
        Ok(Err(e)) => Health::Unreachable(e),
        Ok(Ok(ServingStatus::Serving)) => Health::Serving,
        Ok(Ok(other)) => Health::NotServing(other.as_str_name().to_owned()),
    }
}
