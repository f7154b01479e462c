//! The workspace router: workspace name → its vendor adapter and public facts.

use std::{collections::BTreeMap, sync::Arc};

use super::{Adapter, Error, Reason, Result};
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
    pub capabilities: pb::Capabilities,
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
            for op in &mut caps.operations {
                if op.method.contains("/Deploy") {
                    op.supported = false;
                    op.note = "deploys are disabled for this workspace in the gateway's configuration".into();
                }
            }
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

    /// How this workspace handles `field` of `request` (e.g. "ListFilesRequest", "owner").
    pub fn filter(&self, request: &str, field: &str) -> Option<&pb::FilterSupport> {
        let full = format!("{request}.{field}");
        self.capabilities.filters.iter().find(|f| f.field == full)
    }

    /// Whether `method` (e.g. "ReleaseService/DeployFiles") is supported, with the note.
    pub fn operation(&self, method: &str) -> Option<&pb::OperationSupport> {
        self.capabilities.operations.iter().find(|o| o.method.ends_with(method))
    }

    /// The public description, never credentials.
    pub fn to_proto(&self) -> pb::Workspace {
        pb::Workspace {
            name: format!("workspaces/{}", self.name),
            vendor: self.adapter.vendor() as i32,
            region: self.region.clone(),
            vendor_project: self.vendor_project.clone(),
            flavour: self.adapter.flavour().into(),
            capabilities: Some(self.capabilities.clone()),
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
    pub fn get(&self, name: &str) -> Result<&Workspace> {
        self.workspaces
            .get(name)
            .ok_or_else(|| Error::not_found(Reason::WorkspaceNotFound, format_args!("workspaces/{name}")))
    }

    /// All workspaces, ordered by name.
    pub fn all(&self) -> impl Iterator<Item = &Workspace> {
        self.workspaces.values()
    }
}
