//! Vendor drivers. Each vendor lives in its own folder; every driver talks
//! to its vendor through the one shared [`client`]; [`build_with`] is the
//! registration table that picks a driver for a configured workspace.

pub mod alibaba;
pub mod client;
pub mod huawei;
#[cfg(feature = "test-util")]
pub mod memory;
pub(crate) mod paging;
pub mod signing;

use std::sync::Arc;

use crate::{
    config::{Config, VendorKind, WorkspaceConfig},
    domain::{Adapter, Router, Workspace},
};

/// Builds the router for every configured workspace, with in-process limits.
pub fn build(cfg: &Config) -> anyhow::Result<Router> {
    build_with(cfg, &client::Shared::new(cfg))
}

/// Builds the router for every configured workspace over `shared` limits.
pub fn build_with(cfg: &Config, shared: &Arc<client::Shared>) -> anyhow::Result<Router> {
    let mut list = Vec::new();
    for (name, ws) in &cfg.workspaces {
        let adapter: Arc<dyn Adapter> = match ws.vendor {
            VendorKind::Alibaba => alibaba::build(ws, shared)?,
            VendorKind::Huawei => Arc::new(huawei::new(name, ws, shared)?),
        };
        list.push(Workspace::new(name, &ws.region, &vendor_project(ws), ws.deploy_enabled, adapter));
    }
    Ok(Router::new(list))
}

fn vendor_project(ws: &WorkspaceConfig) -> String {
    ws.project_id.clone().or_else(|| ws.project_identifier.clone()).unwrap_or_default()
}
