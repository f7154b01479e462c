//! The client command line: `workspaces`, `releases`, `files`, `deploy` and
//! `deployments` call a running gateway over gRPC with the generated tonic
//! clients, for people (tables, a live deploy display) and pipelines
//! (`-o json|yaml`, one exit code per gRPC status class).
//!
//! Connection settings come from flags or `DATASTUDIO_*` environment
//! variables: the gateway's own config loader refuses unknown `DSGW_*`
//! variables, so the client never uses that prefix.

mod commands;
mod connection;
mod exit;
mod output;
mod watch;

use std::process::ExitCode;

use clap::{Args, Subcommand};

pub use connection::Connect;
pub use output::Format;

/// Client subcommands (flattened into the binary's command line).
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// List or get the workspaces the gateway serves.
    Workspaces {
        #[command(subcommand)]
        cmd: WorkspacesCmd,
        #[command(flatten)]
        opts: Opts,
    },
    /// List or get release packages.
    Releases {
        #[command(subcommand)]
        cmd: ReleasesCmd,
        #[command(flatten)]
        opts: Opts,
    },
    /// List or get files and their versions.
    Files {
        #[command(subcommand)]
        cmd: FilesCmd,
        #[command(flatten)]
        opts: Opts,
    },
    /// Deploy release packages or files (optionally following them to the end).
    Deploy {
        #[command(subcommand)]
        cmd: DeployCmd,
        #[command(flatten)]
        opts: Opts,
    },
    /// Get, watch or cancel a deployment.
    Deployments {
        #[command(subcommand)]
        cmd: DeploymentsCmd,
        #[command(flatten)]
        opts: Opts,
    },
}

/// Options every client subcommand takes.
#[derive(Debug, Clone, Args)]
pub struct Opts {
    /// The workspace, for ids that are not full resource names (`workspaces/...`).
    #[arg(long, short = 'w', global = true, env = "DATASTUDIO_WORKSPACE")]
    pub workspace: Option<String>,
    /// Output: a table for people, or the proto3 JSON mapping as JSON or YAML.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = Format::Table)]
    pub output: Format,
    // Last: its flags are listed under their own heading.
    #[command(flatten)]
    pub connect: Connect,
}

/// One page of a listing.
#[derive(Debug, Clone, Args)]
pub struct Page {
    /// Items per page, 1..100 (0: the server's default, 20).
    #[arg(long, default_value_t = 0)]
    pub page_size: i32,
    /// A next-page token printed by a previous call.
    #[arg(long, default_value = "")]
    pub page_token: String,
}

/// `workspaces ...`
#[derive(Debug, Subcommand)]
pub enum WorkspacesCmd {
    /// List the configured workspaces.
    List {
        #[command(flatten)]
        page: Page,
    },
    /// Get one workspace with its capabilities.
    Get {
        /// Workspace id or `workspaces/{id}`.
        workspace: String,
    },
}

/// `releases ...`
#[derive(Debug, Subcommand)]
pub enum ReleasesCmd {
    /// List a workspace's release packages, newest first.
    List {
        #[command(flatten)]
        page: Page,
        /// Name contains.
        #[arg(long, default_value = "")]
        keyword: String,
        /// Only these states (repeatable).
        #[arg(long = "state", value_enum)]
        states: Vec<output::PackageState>,
    },
    /// Get one release package with its items.
    Get {
        /// Package id (with --workspace) or `workspaces/{w}/releasePackages/{id}`.
        package: String,
    },
}

/// `files ...`
#[derive(Debug, Subcommand)]
pub enum FilesCmd {
    /// List a workspace's files.
    List {
        #[command(flatten)]
        page: Page,
        /// Name contains.
        #[arg(long, default_value = "")]
        keyword: String,
        /// Folder path.
        #[arg(long, default_value = "")]
        folder: String,
    },
    /// Get one file with its content.
    Get {
        /// File id (with --workspace) or `workspaces/{w}/files/{id}`.
        file: String,
    },
    /// List a file's committed versions, newest first.
    Versions {
        /// File id (with --workspace) or `workspaces/{w}/files/{id}`.
        file: String,
        #[command(flatten)]
        page: Page,
    },
}

/// Options of both deploy commands.
#[derive(Debug, Clone, Args)]
pub struct DeployOpts {
    /// The deploy's idempotency key (a UUID). Default: a fresh one, printed so that a
    /// retry of the same deploy can pass it again and never deploy twice.
    #[arg(long)]
    pub request_id: Option<String>,
    /// Start the deployed jobs right away (default: deploy only).
    #[arg(long)]
    pub start: bool,
    /// Follow the deployments to their end, showing each state change.
    #[arg(long)]
    pub watch: bool,
}

/// `deploy ...`
#[derive(Debug, Subcommand)]
pub enum DeployCmd {
    /// Deploy existing release packages.
    Packages {
        /// Package ids (with --workspace) or `workspaces/{w}/releasePackages/{id}`.
        #[arg(required = true)]
        packages: Vec<String>,
        #[command(flatten)]
        deploy: DeployOpts,
    },
    /// Deploy files: the latest committed version, or `{file}/versions/{version}`.
    Files {
        /// File ids (with --workspace) or `workspaces/{w}/files/{id}[/versions/{version}]`.
        #[arg(required = true)]
        files: Vec<String>,
        /// Deployment comment.
        #[arg(long, default_value = "")]
        comment: String,
        #[command(flatten)]
        deploy: DeployOpts,
    },
}

/// `deployments ...`
#[derive(Debug, Subcommand)]
pub enum DeploymentsCmd {
    /// Get a deployment's current state.
    Get {
        /// Deployment id (with --workspace) or `workspaces/{w}/deployments/{id}`.
        deployment: String,
    },
    /// Follow a deployment to its end.
    Watch {
        /// Deployment id (with --workspace) or `workspaces/{w}/deployments/{id}`.
        deployment: String,
    },
    /// Cancel a deployment that has not ended.
    Cancel {
        /// Deployment id (with --workspace) or `workspaces/{w}/deployments/{id}`.
        deployment: String,
    },
}

/// Runs a client subcommand; errors are printed to stderr and become the exit code.
pub async fn run(cmd: ClientCommand) -> ExitCode {
    let exit = match commands::run(cmd).await {
        Ok(exit) => exit,
        Err(failure) => failure.report(),
    };
    exit.into()
}

/// Writes the completion script for `shell` to stdout.
pub fn completions(shell: clap_complete::Shell, cmd: &mut clap::Command) {
    let name = cmd.get_name().to_owned();
    clap_complete::generate(shell, cmd, name, &mut std::io::stdout());
}
