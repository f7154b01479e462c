//! datastudio-gateway: one vendor-neutral gRPC API over Alibaba Cloud
//! DataWorks and Huawei Cloud DataArts Studio.
#![forbid(unsafe_code)]
#![warn(unreachable_pub)]

/// Generated protobuf and gRPC code for `datastudio.v1`.
pub mod pb {
    #![allow(missing_docs, clippy::all, clippy::pedantic)]
    tonic::include_proto!("datastudio.v1");

    /// The file descriptor set of `datastudio.v1`, for gRPC reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/datastudio_descriptor.bin"));
}

pub mod admin;
pub mod api;
pub mod auth;
pub mod cli;
pub mod client_cli;
pub mod config;
pub mod demo;
pub mod deploy;
pub mod domain;
pub(crate) mod economy;
pub mod emulator;
pub mod gateway;
pub mod healthcheck;
pub mod limit;
pub mod providers;
pub mod redis_store;
pub mod server;
pub mod state;
pub mod telemetry;

/// Installs ring as the crypto of the process (idempotent): rustls' provider
/// (the HTTP client and TLS server) and jsonwebtoken's (JWT signatures).
/// Call this before building either.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let _ = auth::jwt_crypto::RING.install_default();
}
