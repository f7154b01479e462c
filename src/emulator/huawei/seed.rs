//! The DataArts Studio emulator's seeded data and the facts tests rely on.

use std::collections::HashMap;

use super::{
    Options,
    store::{Item, Job, Member, Package, Pending, Role, Script, User, World},
};
use crate::emulator::common::Seeded;

/// Seeded package that fails to deploy (state 1 → 5 → 3).
pub const FAILING_PACKAGE_ID: u64 = 13;
/// Seeded package pending approval that deploys successfully (1 → 5 → 2).
pub const DEPLOYABLE_PACKAGE_ID: u64 = 12;
/// Seeded release packages.
pub const PACKAGE_COUNT: u64 = 320;
/// Seeded scripts.
pub const SCRIPT_COUNT: usize = 150;
/// Seeded jobs.
pub const JOB_COUNT: usize = 100;
/// A script with 5 versions: 3 in production, 5 pending release.
pub const VERSIONED_SCRIPT: &str = "etl-000";
/// Versions of [`VERSIONED_SCRIPT`].
pub const VERSIONED_SCRIPT_VERSIONS: u32 = 5;
/// Production version of [`VERSIONED_SCRIPT`].
pub const VERSIONED_SCRIPT_PUBLISHED: u32 = 3;
/// A script with several versions, none of them ever released.
pub const UNRELEASED_SCRIPT: &str = "report-001";
/// A job with an unpackaged pending item.
pub const PENDING_JOB: &str = "job-etl-000";
/// A script whose name needs percent-encoding in paths.
pub const CJK_SCRIPT: &str = "日报.sales-007";
/// Applicants (user id, user name) of seeded packages; also script/job owners.
pub const APPLICANTS: [(&str, &str); 5] = [
    ("0a11ce0000000000000000000000a11c", "alice"),
    ("0b0b000000000000000000000000b0b0", "bob"),
    ("0ca201000000000000000000000ca201", "carol"),
    ("0da7e0000000000000000000000da7e0", "dave"),
    ("0e21a000000000000000000000e21a00", "erin"),
];
/// Deployers (user id, user name) of seeded packages; also approvers.
pub const DEPLOYERS: [(&str, &str); 3] = [
    ("0f5100000000000000000000000f5101", "ops-li"),
    ("0f5200000000000000000000000f5202", "ops-wang"),
    ("0f5300000000000000000000000f5303", "ops-zhao"),
];
/// The workspace admin (user id, user name); a member holding the admin role.
pub const ADMIN: (&str, &str) = ("0ad0000000000000000000000000ad01", "ws-admin");
/// A member holding only the viewer role (user id, user name).
pub const VIEWER: (&str, &str) = ("0f1e0000000000000000000000000f1e", "vic");
/// Folders of seeded scripts and jobs.
const FOLDERS: [&str; 7] =
    ["/etl/daily", "/etl/hourly", "/report", "/report/finance", "/ml/features", "/sync", "/adhoc"];
/// Topics: name prefixes of scripts, jobs and packages.
const TOPICS: [&str; 6] = ["etl", "report", "sync", "ml", "finance", "ads"];
/// Script types of seeded scripts.
const SCRIPT_TYPES: [&str; 8] = ["HiveSQL", "SparkSQL", "DLISQL", "DWSSQL", "Shell", "PYTHON", "FlinkSQL", "RDSSQL"];

const BASE_MS: i64 = 1_735_689_600_000; // 2025-01-01T00:00:00Z
const HOUR_MS: i64 = 3_600_000;

fn script_content(name: &str, stype: &str, topic: &str, v: u32) -> String {
    format!(
        "-- {name} version {v} ({stype})\nSELECT {v} AS version, '{topic}' AS topic, count(*) FROM {topic}_src_{v};\n"
    )
}

impl World {
    pub(super) fn seed(opts: &Options) -> World {
        let mut rng = Seeded::new(opts.seed);
        let hex = |rng: &mut Seeded| format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64());

        let mut scripts = Vec::with_capacity(SCRIPT_COUNT);
        for i in 0..SCRIPT_COUNT {
            let topic = TOPICS[i % TOPICS.len()];
            let name = if i == 7 { CJK_SCRIPT.to_owned() } else { format!("{topic}-{i:03}") };
            let stype = (*rng.pick(&SCRIPT_TYPES)).to_owned();
            let versions = if i == 0 { VERSIONED_SCRIPT_VERSIONS } else { 1 + rng.below(6) as u32 };
            let mut published =
                if i == 0 { VERSIONED_SCRIPT_PUBLISHED } else { rng.below(u64::from(versions) + 1) as u32 };
            if i % 5 == 0 && published >= versions {
                published = versions - 1;
            }
            let versions = if i == 1 {
                // UNRELEASED_SCRIPT (the rng draws above stay as they were).
                published = 0;
                versions.max(2)
            } else {
                versions
            };
            let contents = (1..=versions).map(|v| script_content(&name, &stype, topic, v)).collect();
            scripts.push(Script {
                id: hex(&mut rng),
                stype,
                directory: FOLDERS[i % FOLDERS.len()].into(),
                create_user: rng.pick(&APPLICANTS).1.into(),
                owner: rng.pick(&APPLICANTS).1.into(),
                description: format!("{topic} script number {i}"),
                connection_name: format!("conn-{topic}"),
                database: format!("db_{topic}"),
                modify_time: BASE_MS + i as i64 * 3 * HOUR_MS + rng.below(3 * HOUR_MS as u64) as i64,
                contents,
                published,
                name,
            });
        }

        let mut jobs = Vec::with_capacity(JOB_COUNT);
        for j in 0..JOB_COUNT {
            let topic = TOPICS[j % TOPICS.len()];
            let real_time = j % 5 == 4;
            let status = if real_time {
                *rng.pick(&["NORMAL", "STOPPED", "EXCEPTION"])
            } else {
                *rng.pick(&["SCHEDULING", "STOPPED", "PAUSED"])
            };
            let version = 1 + rng.below(4) as u32;
            let mut published = rng.below(u64::from(version) + 1) as u32;
            if j % 5 == 0 && published >= version {
                published = version - 1;
            }
            let create_time = BASE_MS + j as i64 * 5 * HOUR_MS;
            jobs.push(Job {
                id: 1000 + j as i64,
                name: format!("job-{topic}-{j:03}"),
                job_type: if real_time { "REAL_TIME" } else { "BATCH" }.into(),
                status: status.into(),
                owner: rng.pick(&APPLICANTS).1.into(),
                create_user: rng.pick(&APPLICANTS).1.into(),
                last_update_user: rng.pick(&APPLICANTS).1.into(),
                path: FOLDERS[(j + 3) % FOLDERS.len()].into(),
                priority: rng.below(3) as i64,
                create_time,
                last_update_time: create_time + rng.below(30 * 24 * HOUR_MS as u64) as i64,
                version,
                published,
            });
        }

        let mut pending = Vec::new();
        for (i, s) in scripts.iter().enumerate().filter(|(i, _)| i % 5 == 0) {
            let submit = User::of(APPLICANTS[i % APPLICANTS.len()]);
            pending.push(Pending {
                id: hex(&mut rng),
                name: s.name.clone(),
                task_id: s.id.clone(),
                task_type: 2,
                update_type: if s.published == 0 { 1 } else { 2 },
                pending_version: s.contents.len() as i64,
                deployed_version: i64::from(s.published),
                package_flag: 0,
                submit,
                submit_ts: s.modify_time + HOUR_MS,
            });
        }
        for (j, job) in jobs.iter().enumerate().filter(|(j, _)| j % 5 == 0) {
            let submit = User::of(APPLICANTS[(j + 2) % APPLICANTS.len()]);
            pending.push(Pending {
                id: hex(&mut rng),
                name: job.name.clone(),
                task_id: job.id.to_string(),
                task_type: 1,
                update_type: if job.published == 0 { 1 } else { 2 },
                pending_version: i64::from(job.version),
                deployed_version: i64::from(job.published),
                package_flag: 0,
                submit,
                submit_ts: job.last_update_time + HOUR_MS,
            });
        }

        let mut packages = Vec::with_capacity(PACKAGE_COUNT as usize);
        for id in 1..=PACKAGE_COUNT {
            let status = match id {
                FAILING_PACKAGE_ID | DEPLOYABLE_PACKAGE_ID => 1,
                _ => *rng.pick(&[2, 2, 2, 2, 3, 1, 1, 5]),
            };
            let apply_ts = BASE_MS + id as i64 * 6 * HOUR_MS + rng.below(5 * HOUR_MS as u64) as i64;
            let deployed = status != 1;
            let deploy = deployed.then(|| User::of(*rng.pick(&DEPLOYERS)));
            let deploy_ts = if deployed { apply_ts + 600_000 + rng.below(48 * HOUR_MS as u64) as i64 } else { 0 };
            let apply = User::of(*rng.pick(&APPLICANTS));
            let mut approvers = vec![User::of(DEPLOYERS[id as usize % DEPLOYERS.len()])];
            if id % 3 == 0 {
                approvers.push(User::of(DEPLOYERS[(id as usize + 1) % DEPLOYERS.len()]));
            }
            let n_items = 1 + rng.below(4) as usize;
            let mut items = Vec::with_capacity(n_items);
            for k in 0..n_items {
                let (name, task_type, task_id, version) = if id == FAILING_PACKAGE_ID && k == 0 {
                    let j = &jobs[1];
                    (j.name.clone(), 1, j.id.to_string(), i64::from(j.version))
                } else if rng.below(2) == 0 {
                    let s = &scripts[rng.below(SCRIPT_COUNT as u64) as usize];
                    (s.name.clone(), 2, s.id.clone(), s.contents.len() as i64)
                } else {
                    let j = &jobs[rng.below(JOB_COUNT as u64) as usize];
                    (j.name.clone(), 1, j.id.to_string(), i64::from(j.version))
                };
                let pending_version = 1 + rng.below(version as u64) as i64;
                let item_status = if status == 3 && k > 0 { 2 } else { status };
                let start_job_status = match (task_type, item_status) {
                    (1, 2) => Some(2),
                    (1, 3) => Some(3),
                    _ => None,
                };
                items.push(Item {
                    pending_item_id: hex(&mut rng),
                    name,
                    task_type,
                    task_id,
                    update_type: if pending_version == 1 { 1 } else { 2 },
                    pending_version,
                    deployed_version: pending_version - 1,
                    status: item_status,
                    start_job_status,
                    submit: apply.clone(),
                    submit_ts: apply_ts - 1_800_000,
                });
            }
            let topic = *rng.pick(&TOPICS);
            packages.push(Package {
                id,
                name: format!("pkg-{topic}-{id:04}"),
                status,
                apply,
                apply_ts,
                deploy,
                deploy_ts,
                delete_flag: i64::from(id % 37 == 0),
                approvers,
                items,
                run: None,
            });
        }

        // Workspace members: the admin, the deployers (approvers), the
        // applicants as developers, and a viewer.
        let members = std::iter::once((ADMIN, Role::Admin))
            .chain(DEPLOYERS.iter().map(|u| (*u, Role::Deployer)))
            .chain(APPLICANTS.iter().map(|u| (*u, Role::Developer)))
            .chain(std::iter::once((VIEWER, Role::Viewer)))
            .map(|(u, role)| Member { user: User::of(u), role })
            .collect();

        World {
            packages,
            scripts,
            jobs,
            pending,
            members,
            tasks: HashMap::new(),
            tokens: HashMap::new(),
            temporary_keys: HashMap::new(),
            rng,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_facts_hold_for_any_seed() {
        for seed in [1, 7, 42] {
            let w = World::seed(&Options { seed, ..Options::default() });
            assert_eq!(w.packages.len() as u64, PACKAGE_COUNT);
            assert_eq!(w.package(&FAILING_PACKAGE_ID.to_string()).map(|p| p.status), Some(1));
            assert_eq!(w.package(&DEPLOYABLE_PACKAGE_ID.to_string()).map(|p| p.status), Some(1));
            let s = w.scripts.iter().find(|s| s.name == VERSIONED_SCRIPT).expect("versioned script");
            assert_eq!((s.contents.len() as u32, s.published), (VERSIONED_SCRIPT_VERSIONS, VERSIONED_SCRIPT_PUBLISHED));
            assert!(w.scripts.iter().any(|s| s.name == CJK_SCRIPT));
            let u = w.scripts.iter().find(|s| s.name == UNRELEASED_SCRIPT).expect("unreleased script");
            assert!(u.contents.len() >= 2 && u.published == 0);
            for name in [VERSIONED_SCRIPT, PENDING_JOB] {
                let p = w.pending.iter().find(|p| p.name == name).expect("pending item");
                assert!(p.pending_version > p.deployed_version);
            }
            for status in [1, 2, 3, 5] {
                assert!(w.packages.iter().any(|p| p.status == status), "state {status} seeded");
            }
        }
    }
}
