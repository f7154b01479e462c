//! The DataWorks emulator's seeded files, deployment packages and pipeline runs.

use std::collections::BTreeMap;

use super::{
    Options,
    pipeline::{run_id, stage_template},
    store::{Data, File, Package, Run, Version},
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
    let runs = (0..60u64)
        .map(|i| Run {
            id: run_id(i),
            creator: (*rng.pick(&USERS)).to_owned(),
            description: format!("pipeline run {i}"),
            // Run 58 was created and never started (READY): created
            // at BASE_TIME, which the emulator reads as not yet run.
            create_time: if i == 58 { BASE_TIME } else { BASE_TIME - (60 - i as i64) * 86_400_000 },
            modify_time: BASE_TIME - (60 - i as i64) * 86_400_000 + 900_000,
            object: 100_001 + rng.below(300) as i64,
            stages: stage_template(if i % 5 == 0 { "Fail" } else { "Success" }),
            running: None,
            failing: false,
            // Every seventh abolished: Status Termination (CANCELLED).
            abolished: i % 7 == 3,
        })
        .collect();
    Data { files, packages, runs, next_package: 3_000_241, next_run: 60 }
}
