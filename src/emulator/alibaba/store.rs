//! The records the DataWorks emulator holds: files and versions, packages,
//! pipeline runs, Data Studio objects and their snapshots.

use std::{
    collections::BTreeMap,
    sync::{Mutex, MutexGuard},
    time::Instant,
};

use super::Options;
use crate::emulator::common::Control;

#[derive(Debug, Clone)]
pub(super) struct Version {
    pub(super) n: i64,
    pub(super) content: String,
    pub(super) comment: String,
    pub(super) commit_user: String,
    pub(super) commit_time: i64,
    pub(super) change_type: &'static str,
    pub(super) status: &'static str,
}

#[derive(Debug, Clone)]
pub(super) struct File {
    pub(super) id: i64,
    pub(super) name: String,
    pub(super) file_type: i64,
    pub(super) folder: String,
    pub(super) use_type: &'static str,
    pub(super) owner: String,
    pub(super) creator: String,
    pub(super) last_editor: String,
    pub(super) create_time: i64,
    pub(super) edit_time: i64,
    pub(super) commit_status: i64,
    pub(super) node_id: i64,
    pub(super) business_id: i64,
    pub(super) prod_version: i64,
    pub(super) versions: Vec<Version>,
}

#[derive(Debug, Clone)]
pub(super) struct Package {
    pub(super) id: i64,
    pub(super) name: String,
    pub(super) status: i64,
    pub(super) creator: String,
    pub(super) executor: String,
    pub(super) create_time: i64,
    pub(super) execute_time: i64,
    pub(super) error: String,
    pub(super) to_env: i64,
    pub(super) items: Vec<(i64, i64)>,
    /// Deployments made through the API finish `deploy_step` after this.
    pub(super) started: Option<(Instant, bool)>,
}

#[derive(Debug, Clone)]
pub(super) struct Run {
    pub(super) id: String,
    pub(super) creator: String,
    pub(super) description: String,
    pub(super) create_time: i64,
    pub(super) modify_time: i64,
    /// The Data Studio object deployed.
    pub(super) object: String,
    /// Stage codes in order, and the index/time of the stage running now.
    pub(super) stages: Vec<(&'static str, &'static str, String)>,
    pub(super) running: Option<(usize, Instant)>,
    pub(super) failing: bool,
    pub(super) abolished: bool,
}

/// The kind of a Data Studio object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Node,
    Workflow,
    Resource,
    Function,
}

/// What a snapshot records (ListSnapshots `Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SnapshotKind {
    Saved,
    Deployed,
}

impl SnapshotKind {
    /// As the vendor spells it.
    pub(super) fn name(self) -> &'static str {
        match self {
            SnapshotKind::Saved => "Saved",
            SnapshotKind::Deployed => "Deployed",
        }
    }
}

/// A snapshot of a Data Studio object.
#[derive(Debug, Clone)]
pub(super) struct Snapshot {
    pub(super) id: String,
    pub(super) version: i64,
    pub(super) kind: SnapshotKind,
    pub(super) creator: String,
    pub(super) create_time: i64,
    pub(super) comment: String,
    pub(super) content: String,
    /// Served as a ContentUrl download link rather than Content.
    pub(super) by_url: bool,
}

/// A Data Studio object: node, workflow definition, resource or function.
#[derive(Debug, Clone)]
pub(super) struct Object {
    pub(super) id: String,
    pub(super) kind: Kind,
    pub(super) name: String,
    pub(super) owner: String,
    /// Node command, workflow type, resource type or function type.
    pub(super) r#type: &'static str,
    pub(super) path: String,
    pub(super) create_time: i64,
    pub(super) modify_time: i64,
    /// Snapshots in the order they were taken.
    pub(super) snapshots: Vec<Snapshot>,
}

pub(super) struct Data {
    pub(super) files: BTreeMap<i64, File>,
    pub(super) objects: BTreeMap<String, Object>,
    pub(super) packages: BTreeMap<i64, Package>,
    pub(super) runs: Vec<Run>,
    pub(super) next_package: i64,
    pub(super) next_run: u64,
}

pub(super) struct Emu {
    pub(super) opts: Options,
    pub(super) control: Control,
    pub(super) data: Mutex<Data>,
    /// Temporary keys STS and the metadata service issued.
    pub(super) issued: super::sts::IssuedKeys,
    /// Metadata session tokens.
    pub(super) sessions: super::metadata::Sessions,
}

impl Emu {
    pub(super) fn lock(&self) -> MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }
}
