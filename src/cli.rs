//! The command line: `serve`, `demo`, `emulator`, `check-config`, `healthcheck`, the
//! client commands (`workspaces`, `releases`, `files`, `deploy`, `deployments`; see
//! [`crate::client_cli`]) and `completions`.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Parser, Subcommand};

/// datastudio-gateway: one gRPC API over DataWorks and DataArts Studio.
#[derive(Debug, Parser)]
#[command(name = "datastudio-gateway", version, about)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the production server.
    Serve {
        /// Config file (YAML).
        #[arg(long, short)]
        config: PathBuf,
        #[command(flatten)]
        listen: Listen,
    },
    /// Run the gateway against built-in vendor emulators with seeded data.
    Demo {
        #[command(flatten)]
        listen: Listen,
    },
    /// Run the vendor emulators alone (for other services' integration tests).
    Emulator {
        /// DataWorks emulator address.
        #[arg(long, default_value = "127.0.0.1:18080")]
        alibaba_listen: SocketAddr,
        /// DataArts Studio emulator address.
        #[arg(long, default_value = "127.0.0.1:18081")]
        huawei_listen: SocketAddr,
    },
    /// Validate a config file and list every problem.
    CheckConfig {
        /// Config file (YAML).
        file: PathBuf,
    },
    /// Ask a running gateway's gRPC health service whether it is serving:
    /// exit 0 when SERVING, 1 otherwise (for container health checks).
    Healthcheck {
        /// The gateway's plaintext gRPC address.
        #[arg(long, default_value = "127.0.0.1:50051")]
        addr: SocketAddr,
        /// Health service name; "" is the whole server.
        #[arg(long, default_value = "")]
        service: String,
        /// Longest wait for the answer (humantime: 3s, 500ms).
        #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
        timeout: Duration,
    },
    #[command(flatten)]
    Client(Box<crate::client_cli::ClientCommand>),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// Listen address overrides (port 0 picks a free port).
#[derive(Debug, Clone, clap::Args)]
pub struct Listen {
    /// gRPC address, overriding server.grpc_listen.
    #[arg(long)]
    pub grpc_listen: Option<SocketAddr>,
    /// Admin HTTP address, overriding server.admin_listen.
    #[arg(long)]
    pub admin_listen: Option<SocketAddr>,
}
