//! The DataWorks emulator's seeded files, deployment packages, pipeline
//! runs, and Data Studio objects with their snapshots.

use std::collections::BTreeMap;

use super::{
    Options,
    pipeline::{run_id, stage_template},
    store::{Data, File, Kind, Object, Package, Run, Snapshot, SnapshotKind, Version},
};
use crate::emulator::common::Seeded;

/// Account UIDs used by the seeded data.
const USERS: [&str; 6] = [
    "2003000000000001",
    "2003000000000002",
    "2003000000000003",
    "2003000000000004",
    "2003000000000005",
    "2003000000000006",
];
/// Folders used by the seeded data.
const FOLDERS: [&str; 4] = [
    "Business_process/sales/MaxCompute/ods_layer",
    "Business_process/sales/MaxCompute/dws_layer",
    "Business_process/finance/MaxCompute/ods_layer",
    "Business_process/finance/Shell",
];
/// File type codes used by the seeded data.
const FILE_TYPES: [i64; 6] = [10, 6, 23, 24, 221, 1221];
const USE_TYPES: [&str; 3] = ["NORMAL", "NORMAL", "MANUAL"];

/// The seeded file that was never committed (no version, CommitStatus 0).
pub const UNCOMMITTED_FILE: i64 = 100_301;

pub(super) const BASE_TIME: i64 = 1_761_955_200_000; // 2025-11-01T00:00:00Z

/// Seeded Data Studio objects tests rely on. Nodes are `…0001`..`…0009`,
/// cycle workflows `…0001`..`…0003`, manual workflows `…0004`, `…0005`,
/// resources and functions `…0001`..`…0003`. Each has three or four saved
/// snapshots (versions 1..) and a deployed snapshot of the one before the
/// newest; an object whose id ends in 7 fails to deploy.
pub mod objects {
    /// A node with three saved versions.
    pub const NODE: &str = "8604388726201130001";
    /// Another node (four saved versions).
    pub const OTHER_NODE: &str = "8604388726201130002";
    /// A node whose pipeline runs fail.
    pub const FAILING_NODE: &str = "8604388726201130007";
    /// A cycle workflow definition.
    pub const CYCLE_WORKFLOW: &str = "4634978808809540001";
    /// A manual workflow definition.
    pub const MANUAL_WORKFLOW: &str = "4634978808809540004";
    /// A resource.
    pub const RESOURCE: &str = "6314788648976300001";
    /// A resource whose snapshots come as a download link (ContentUrl).
    pub const URL_RESOURCE: &str = "6314788648976300003";
    /// A function.
    pub const FUNCTION: &str = "7314788648976300001";
}

/// The seeded Data Studio objects.
fn studio_objects() -> Vec<Object> {
    let mut out = Vec::new();
    let mut next_snapshot = 526_749_307_982_111_000i64;
    let mut add = |kind: Kind, id: String, name: String, r#type: &'static str, path: &str, i: i64| {
        let saved = 3 + (i + 1) % 2;
        let create_time = BASE_TIME - (40 - i) * 86_400_000;
        let owner = USERS[(i as usize) % USERS.len()].to_owned();
        let mut snapshots = Vec::new();
        for v in 1..=saved {
            let content = match kind {
                Kind::Node => format!("-- {name} v{v}\nSELECT {v} AS version FROM dual;\n"),
                Kind::Workflow => String::new(),
                Kind::Resource => format!("# {name} v{v}\nprint({v})\n"),
                Kind::Function => format!("-- {name} v{v}: returns its input\n"),
            };
            for kind in [SnapshotKind::Saved, SnapshotKind::Deployed] {
                let deployed = kind == SnapshotKind::Deployed;
                if deployed && v != saved - 1 {
                    continue;
                }
                next_snapshot += 1;
                snapshots.push(Snapshot {
                    id: next_snapshot.to_string(),
                    version: v,
                    kind,
                    creator: owner.clone(),
                    create_time: create_time + v * 3_600_000 + i64::from(deployed) * 600_000,
                    comment: format!("{} version {v} of {name}", kind.name()),
                    content: content.clone(),
                    by_url: id == objects::URL_RESOURCE,
                });
            }
        }
        out.push(Object {
            id,
            kind,
            name,
            owner,
            r#type,
            path: path.to_owned(),
            create_time,
            modify_time: create_time + saved * 3_600_000,
            snapshots,
        });
    };
    const COMMANDS: [&str; 3] = ["ODPS_SQL", "DIDE_SHELL", "PYTHON"];
    for i in 1..=9i64 {
        let path = FOLDERS[(i as usize) % 2];
        let name = format!("{}_node_{i}", ["ods", "dws", "sh"][(i as usize) % 3]);
        add(Kind::Node, format!("860438872620113{i:04}"), name, COMMANDS[(i as usize) % 3], path, i);
    }
    for i in 1..=5i64 {
        let (ty, name) = if i <= 3 { ("CycleWorkflow", "daily_flow") } else { ("ManualWorkflow", "manual_flow") };
        add(Kind::Workflow, format!("463497880880954{i:04}"), format!("{name}_{i}"), ty, FOLDERS[2], 10 + i);
    }
    for (i, ty) in (1..=3i64).zip(["Python", "Jar", "File"]) {
        add(Kind::Resource, format!("631478864897630{i:04}"), format!("res_{i}"), ty, "resources", 20 + i);
    }
    for (i, ty) in (1..=3i64).zip(["Math", "String", "Other"]) {
        add(Kind::Function, format!("731478864897630{i:04}"), format!("udf_{i}"), ty, "functions", 30 + i);
    }
    out
}

pub(super) fn seed(opts: &Options) -> Data {
    let mut rng = Seeded::new(opts.seed);
    let mut files = BTreeMap::new();
    for i in 0..300i64 {
        let id = 100_001 + i;
        let nv = 1 + rng.below(5) as i64;
        let file_type = *rng.pick(&FILE_TYPES);
        let folder = (*rng.pick(&FOLDERS)).to_owned();
        let owner = (*rng.pick(&USERS)).to_owned();
        let create_time = BASE_TIME - (300 - i) * 86_400_000 / 2;
        let name = format!(
            "{}_{}_{id}",
            if file_type == 6 { "sh" } else { "ods" },
            ["user", "order", "item", "shop"][i as usize % 4]
        );
        let versions: Vec<Version> = (1..=nv)
            .map(|n| Version {
                n,
                content: format!("-- {name} v{n}\nSELECT {n} AS version FROM dual;\n"),
                comment: format!("commit {n} of {name}"),
                commit_user: (*rng.pick(&USERS)).to_owned(),
                commit_time: create_time + n * 3_600_000,
                change_type: if n == 1 { "CREATE" } else { "UPDATE" },
                status: if n == nv { "COMMITTED" } else { "DEPLOYED" },
            })
            .collect();
        files.insert(
            id,
            File {
                id,
                name,
                file_type,
                folder,
                use_type: USE_TYPES[rng.below(USE_TYPES.len() as u64) as usize],
                owner: owner.clone(),
                creator: owner,
                last_editor: (*rng.pick(&USERS)).to_owned(),
                create_time,
                edit_time: create_time + nv * 3_600_000,
                commit_status: (rng.below(4) != 0) as i64,
                node_id: 700_000_000 + id,
                business_id: 300_000 + (i % 7),
                prod_version: nv - 1,
                versions,
            },
        );
    }
    files.insert(
        UNCOMMITTED_FILE,
        File {
            id: UNCOMMITTED_FILE,
            name: format!("ods_draft_{UNCOMMITTED_FILE}"),
            file_type: 10,
            folder: FOLDERS[0].to_owned(),
            use_type: "NORMAL",
            owner: USERS[0].to_owned(),
            creator: USERS[0].to_owned(),
            last_editor: USERS[0].to_owned(),
            create_time: BASE_TIME,
            edit_time: BASE_TIME,
            commit_status: 0,
            node_id: 700_000_000 + UNCOMMITTED_FILE,
            business_id: 300_000,
            prod_version: 0,
            versions: Vec::new(),
        },
    );
    let mut packages = BTreeMap::new();
    for i in 0..240i64 {
        let id = 3_000_001 + i;
        let status = *rng.pick(&[0, 1, 1, 1, 2, 6]);
        let create_time = BASE_TIME - (240 - i) * 3_600_000 * 9;
        let fid = 100_001 + rng.below(300) as i64;
        packages.insert(
            id,
            Package {
                id,
                name: format!("release_{:04}_{}", i, ["daily", "hotfix", "auto_created"][i as usize % 3]),
                status,
                creator: (*rng.pick(&USERS)).to_owned(),
                executor: (*rng.pick(&USERS)).to_owned(),
                create_time,
                execute_time: if status == 0 { 0 } else { create_time + 600_000 },
                error: if status == 2 { "deploy check failed: table not found".into() } else { String::new() },
                // Every fourth a development package (SubmitFile).
                to_env: if i % 4 == 1 { 1 } else { 2 },
                items: vec![(fid, 1)],
                started: None,
            },
        );
    }
    let objects: BTreeMap<String, Object> = studio_objects().into_iter().map(|o| (o.id.clone(), o)).collect();
    let object_ids: Vec<String> = objects.keys().cloned().collect();
    let runs = (0..60u64)
        .map(|i| Run {
            id: run_id(i),
            creator: (*rng.pick(&USERS)).to_owned(),
            description: format!("pipeline run {i}"),
            // Run 58 was created and never started (READY): created
            // at BASE_TIME, which the emulator reads as not yet run.
            create_time: if i == 58 { BASE_TIME } else { BASE_TIME - (60 - i as i64) * 86_400_000 },
            modify_time: BASE_TIME - (60 - i as i64) * 86_400_000 + 900_000,
            object: object_ids[rng.below(300) as usize % object_ids.len()].clone(),
            stages: stage_template(if i % 5 == 0 { "Fail" } else { "Success" }),
            running: None,
            failing: false,
            // Every seventh abolished: Status Termination (CANCELLED).
            abolished: i % 7 == 3,
        })
        .collect();
    Data { files, objects, packages, runs, next_package: 3_000_241, next_run: 60 }
}
