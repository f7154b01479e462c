//! Printing answers: tables for people, the proto3 JSON mapping (as JSON or
//! YAML) for programs, through the descriptor set the binary embeds.

use std::{
    io::{ErrorKind, Write},
    sync::OnceLock,
};

use comfy_table::{Table, presets};
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage};

use crate::pb;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Columns for people.
    Table,
    /// The proto3 JSON mapping (one JSON document; one line per update when watching).
    Json,
    /// The same mapping as YAML.
    Yaml,
}

/// A release package state, as a filter flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PackageState {
    /// Created, waiting to be deployed.
    Ready,
    /// Waiting for an approver.
    PendingApproval,
    /// Being deployed.
    Deploying,
    /// Deployed.
    Succeeded,
    /// Deployment failed.
    Failed,
    /// Rejected by a reviewer.
    Rejected,
    /// Cancelled or terminated.
    Cancelled,
}

impl From<PackageState> for pb::ReleasePackageState {
    fn from(s: PackageState) -> Self {
        match s {
            PackageState::Ready => pb::ReleasePackageState::Ready,
            PackageState::PendingApproval => pb::ReleasePackageState::PendingApproval,
            PackageState::Deploying => pb::ReleasePackageState::Deploying,
            PackageState::Succeeded => pb::ReleasePackageState::Succeeded,
            PackageState::Failed => pb::ReleasePackageState::Failed,
            PackageState::Rejected => pb::ReleasePackageState::Rejected,
            PackageState::Cancelled => pb::ReleasePackageState::Cancelled,
        }
    }
}

/// A generated message and its full protobuf name (the key into the descriptor set).
pub(crate) trait Proto: Message + Sized {
    /// `datastudio.v1.<Message>`.
    const NAME: &'static str;
}

macro_rules! proto {
    ($($t:ident),* $(,)?) => {$(
        impl Proto for pb::$t {
            const NAME: &'static str = concat!("datastudio.v1.", stringify!($t));
        }
    )*};
}

proto!(
    ListWorkspacesResponse,
    GetWorkspaceResponse,
    ListReleasePackagesResponse,
    GetReleasePackageResponse,
    ListFilesResponse,
    GetFileResponse,
    ListFileVersionsResponse,
    DeployReleasePackagesResponse,
    DeployFilesResponse,
    GetDeploymentResponse,
    CancelDeploymentResponse,
    WatchDeploymentResponse,
);

fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).expect("the embedded descriptor set is built from proto/")
    })
}

/// The message as a dynamic message (for serde's proto3 JSON mapping).
fn dynamic<M: Proto>(msg: &M) -> DynamicMessage {
    let desc = pool().get_message_by_name(M::NAME).expect("every Proto type is in the descriptor set");
    DynamicMessage::decode(desc, msg.encode_to_vec().as_slice()).expect("a message re-decodes as itself")
}

/// The proto3 JSON mapping of `msg`, on one line.
pub(crate) fn json_line<M: Proto>(msg: &M) -> String {
    serde_json::to_string(&dynamic(msg)).expect("a dynamic message serialises")
}

/// Writes `text` to stdout. A reader that went away (`| head`) is not an
/// error worth a panic, as `print!` would make it; other write errors are told.
pub(crate) fn emit(text: &str) {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::BrokenPipe => {}
        Err(e) => eprintln!("error: cannot write the output: {e}"),
    }
}

/// Prints `msg` as `format`; `table` renders it for people.
pub(crate) fn print<M: Proto>(format: Format, msg: &M, table: impl FnOnce(&M) -> String) {
    match format {
        Format::Table => emit(&table(msg)),
        Format::Json => {
            emit(&(serde_json::to_string_pretty(&dynamic(msg)).expect("a dynamic message serialises") + "\n"))
        }
        Format::Yaml => emit(&serde_yaml::to_string(&dynamic(msg)).expect("a dynamic message serialises")),
    }
}

/// A table with a header row and space-separated columns.
pub(crate) fn table<const N: usize>(header: [&str; N], rows: impl IntoIterator<Item = [String; N]>) -> String {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING).set_header(header);
    for r in rows {
        t.add_row(r);
    }
    flush_left(&mut t);
    format!("{}\n", t.trim_fmt())
}

/// No padding before a column, two spaces after it (as `kubectl get` prints).
fn flush_left(t: &mut Table) {
    for c in t.column_iter_mut() {
        c.set_padding((0, 2));
    }
}

/// Field / value lines for one resource.
pub(crate) fn fields(rows: &[(&str, String)]) -> String {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING);
    for (k, v) in rows.iter().filter(|(_, v)| !v.is_empty()) {
        t.add_row([format!("{k}:"), v.clone()]);
    }
    flush_left(&mut t);
    format!("{}\n", t.trim_fmt())
}

/// A next-page hint for a listing (stderr, so the table stays clean for pipes).
pub(crate) fn next_page(token: &str, total: i32) {
    if !token.is_empty() {
        eprintln!("({total} in all; next page: --page-token {token})");
    }
}

/// An enum value's name without its type prefix: `DEPLOYMENT_STATE_RUNNING` -> `RUNNING`.
pub(crate) fn short(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix).unwrap_or(name).to_owned()
}

/// A timestamp as RFC 3339 (UTC), empty when unset.
pub(crate) fn time(t: Option<&prost_types::Timestamp>) -> String {
    t.map(|t| jiff::Timestamp::new(t.seconds, t.nanos).map(|ts| ts.round(jiff::Unit::Second).unwrap_or(ts).to_string()))
        .and_then(Result::ok)
        .unwrap_or_default()
}

/// A user as `name (id)`, or whichever the vendor reported.
pub(crate) fn user(u: Option<&pb::User>) -> String {
    match u {
        None => String::new(),
        Some(u) if u.display_name.is_empty() => u.id.clone(),
        Some(u) if u.id.is_empty() => u.display_name.clone(),
        Some(u) => format!("{} ({})", u.display_name, u.id),
    }
}

/// The last segment of a resource name.
pub(crate) fn id(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}
