//! The workspace router: workspace name → its vendor adapter and public facts.

use std::{collections::BTreeMap, sync::Arc};

use super::{
    Adapter, Error, Reason, Result,
    capability::{Capabilities, Filter, Operation, Support},
};
use crate::pb;

/// A configured workspace as the API sees it.
#[derive(Clone)]
pub struct Workspace {
    /// Name (`workspaces/{name}`).
    pub name: String,
    /// Region.
    pub region: String,
    /// Vendor project or workspace id shown to callers.
    pub vendor_project: String,
    /// Whether deploys are allowed.
    pub deploy_enabled: bool,
    /// The adapter serving it.
    pub adapter: Arc<dyn Adapter>,
    /// What it supports, computed once.
    pub capabilities: Capabilities,
}

impl Workspace {
    /// A workspace served by `adapter`.
    pub fn new(
        name: &str,
        region: &str,
        vendor_project: &str,
        deploy_enabled: bool,
        adapter: Arc<dyn Adapter>,
    ) -> Self {
        let mut caps = adapter.capabilities();
        if !deploy_enabled {
            caps.disable_deploys("deploys are disabled for this workspace in the gateway's configuration");
        }
        Workspace {
            name: name.into(),
            region: region.into(),
            vendor_project: vendor_project.into(),
            deploy_enabled,
            adapter,
            capabilities: caps,
        }
    }

    /// How this workspace handles a list filter.
    pub(crate) fn filter(&self, f: Filter) -> Option<&Support<pb::FilterHandling>> {
        self.capabilities.get_filter(f)
    }

    /// Whether an operation is supported, with the note.
    pub(crate) fn operation(&self, op: Operation) -> Option<&Support<bool>> {
        self.capabilities.get_operation(op)
    }

    /// The public description, never credentials.
    pub(crate) fn to_proto(&self) -> pb::Workspace {
        pb::Workspace {
            name: format!("workspaces/{}", self.name),
            vendor: self.adapter.vendor() as i32,
            region: self.region.clone(),
            vendor_project: self.vendor_project.clone(),
            flavour: self.adapter.flavour().into(),
            capabilities: Some(self.capabilities.to_proto()),
        }
    }
}

/// Workspace name → workspace.
#[derive(Clone, Default)]
pub struct Router {
    workspaces: BTreeMap<String, Workspace>,
}

impl Router {
    /// Builds a router.
    pub fn new(list: impl IntoIterator<Item = Workspace>) -> Self {
        Router { workspaces: list.into_iter().map(|w| (w.name.clone(), w)).collect() }
    }

    /// The workspace, or NOT_FOUND.
    pub(crate) fn get(&self, name: &str) -> Result<&Workspace> {
        self.workspaces
            .get(name)
            .ok_or_else(|| Error::not_found(Reason::WorkspaceNotFound, format_args!("workspaces/{name}")))
    }

    /// All workspaces, ordered by name.
    pub(crate) fn all(&self) -> impl Iterator<Item = &Workspace> {
        self.workspaces.values()
    }

    /// Runs every adapter's start-up check ([`Adapter::prepare`]) within
    /// `timeout` each; the error names every workspace that failed and why.
    pub(crate) async fn prepare(&self, timeout: std::time::Duration) -> anyhow::Result<()> {
        let mut failed = Vec::new();
        for w in self.all() {
            let ctx = super::CallCtx {
                workspace: w.name.clone(),
                deadline: Some(std::time::Instant::now() + timeout),
                identity: None,
            };
            if let Err(e) = w.adapter.prepare(&ctx).await {
                failed.push(format!("workspace {}: {}", w.name, e.message));
            }
        }
        if failed.is_empty() { Ok(()) } else { anyhow::bail!("{}", failed.join("; ")) }
    }
}
