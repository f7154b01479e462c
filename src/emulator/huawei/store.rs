//! The records the DataArts Studio emulator holds: packages, scripts, jobs, pending items, tokens.

use std::{collections::HashMap, time::Instant};

use super::auth::Token;
use crate::emulator::common::Seeded;

#[derive(Clone)]
pub(super) struct User {
    pub(super) id: String,
    pub(super) name: String,
}

impl User {
    pub(super) fn of((id, name): (&str, &str)) -> User {
        User { id: id.into(), name: name.into() }
    }
}

/// A preset workspace role (DataArts user guide: admin, developer,
/// deployer, operator, viewer).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    Admin,
    Developer,
    Deployer,
    Viewer,
}

impl Role {
    /// (`role_code`, `role_name`) as the members API shows them
    /// **[inferred]**: the vendor does not document the preset roles' strings.
    pub(super) fn code_and_name(self) -> (&'static str, &'static str) {
        match self {
            Role::Admin => ("admin", "Admin"),
            Role::Developer => ("developer", "Developer"),
            Role::Deployer => ("deployer", "Deployer"),
            Role::Viewer => ("viewer", "Viewer"),
        }
    }

    /// Whether the role may approve release packages.
    pub(super) fn approves(self) -> bool {
        match self {
            Role::Admin | Role::Deployer => true,
            Role::Developer | Role::Viewer => false,
        }
    }
}

/// A workspace member.
pub(super) struct Member {
    pub(super) user: User,
    pub(super) role: Role,
}

#[derive(Clone)]
pub(super) struct Item {
    pub(super) pending_item_id: String,
    pub(super) name: String,
    pub(super) task_type: i64,
    pub(super) task_id: String,
    pub(super) update_type: i64,
    pub(super) pending_version: i64,
    pub(super) deployed_version: i64,
    pub(super) status: i64,
    pub(super) start_job_status: Option<i64>,
    pub(super) submit: User,
    pub(super) submit_ts: i64,
}

pub(super) struct Run {
    pub(super) task_id: String,
    pub(super) started: Instant,
    pub(super) started_ms: i64,
    pub(super) startup_mode: i64,
    pub(super) fails: bool,
    pub(super) finished_ms: Option<i64>,
}

pub(super) struct Package {
    pub(super) id: u64,
    pub(super) name: String,
    pub(super) status: i64,
    pub(super) apply: User,
    pub(super) apply_ts: i64,
    pub(super) deploy: Option<User>,
    pub(super) deploy_ts: i64,
    pub(super) delete_flag: i64,
    pub(super) approvers: Vec<User>,
    pub(super) items: Vec<Item>,
    pub(super) run: Option<Run>,
}

pub(super) struct Script {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) stype: String,
    pub(super) directory: String,
    pub(super) create_user: String,
    pub(super) owner: String,
    pub(super) description: String,
    pub(super) connection_name: String,
    pub(super) database: String,
    pub(super) modify_time: i64,
    pub(super) contents: Vec<String>,
    pub(super) published: u32,
}

pub(super) struct Job {
    pub(super) id: i64,
    pub(super) name: String,
    pub(super) job_type: String,
    pub(super) status: String,
    pub(super) owner: String,
    pub(super) create_user: String,
    pub(super) last_update_user: String,
    pub(super) path: String,
    pub(super) priority: i64,
    pub(super) create_time: i64,
    pub(super) last_update_time: i64,
    pub(super) version: u32,
    pub(super) published: u32,
}

#[derive(Clone)]
pub(super) struct Pending {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) task_id: String,
    pub(super) task_type: i64,
    pub(super) update_type: i64,
    pub(super) pending_version: i64,
    pub(super) deployed_version: i64,
    pub(super) package_flag: i64,
    pub(super) submit: User,
    pub(super) submit_ts: i64,
}

pub(super) struct World {
    pub(super) packages: Vec<Package>,
    pub(super) scripts: Vec<Script>,
    pub(super) jobs: Vec<Job>,
    pub(super) pending: Vec<Pending>,
    pub(super) members: Vec<Member>,
    /// asy_task_id → package id.
    pub(super) tasks: HashMap<String, u64>,
    pub(super) tokens: HashMap<String, Token>,
    /// Temporary access keys issued (securitytokens), by AK.
    pub(super) temporary_keys: HashMap<String, super::federation::TemporaryKey>,
    pub(super) rng: Seeded,
}

impl World {
    pub(super) fn hex(&mut self) -> String {
        format!("{:016x}{:016x}", self.rng.next_u64(), self.rng.next_u64())
    }

    pub(super) fn package(&self, id: &str) -> Option<&Package> {
        let id: u64 = id.trim().parse().ok()?;
        self.packages.iter().find(|p| p.id == id)
    }
}
