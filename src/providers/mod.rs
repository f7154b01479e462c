//! Vendor drivers. Each vendor lives in its own folder, with its settings
//! (`config.rs`) and their checks; every driver talks to its vendor through
//! the one shared [`client`]. [`ProviderConfig`] is the registration table:
//! the `vendor:` of a workspace picks the driver that reads the rest of its
//! settings, checks them and builds its adapter.

pub mod alibaba;
pub mod client;
pub mod credentials;
pub mod huawei;
pub(crate) mod lookup;
#[cfg(feature = "test-util")]
pub mod memory;
pub(crate) mod paging;
pub mod signing;

use std::sync::Arc;

use figment::value::{Dict, Value};
use serde::{Deserialize, Serialize};

use crate::{
    config::{Config, LoadError, Problems, WorkspaceConfig},
    domain::{Adapter, Router, Workspace},
};

/// The vendor behind a workspace: the `vendor:` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum VendorKind {
    /// Alibaba Cloud DataWorks.
    Alibaba,
    /// Huawei Cloud DataArts Studio.
    Huawei,
    /// The in-memory vendor of the conformance suite (tests only).
    #[cfg(feature = "test-util")]
    Memory,
}

/// A workspace's vendor and the settings only its driver reads.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "vendor", rename_all = "lowercase")]
pub enum ProviderConfig {
    /// Alibaba Cloud DataWorks.
    Alibaba(alibaba::Config),
    /// Huawei Cloud DataArts Studio.
    Huawei(huawei::Config),
    /// The in-memory vendor (tests only).
    #[cfg(feature = "test-util")]
    Memory(memory::Config),
}

impl ProviderConfig {
    /// Reads the settings of `vendor`'s driver from the workspace keys the
    /// vendor-neutral settings left; a key the driver does not know is an
    /// error at its path below the workspace.
    pub(crate) fn read(vendor: VendorKind, fields: Dict) -> Result<Self, LoadError> {
        let fields = Value::from(fields);
        Ok(match vendor {
            VendorKind::Alibaba => ProviderConfig::Alibaba(fields.deserialize()?),
            VendorKind::Huawei => ProviderConfig::Huawei(fields.deserialize()?),
            #[cfg(feature = "test-util")]
            VendorKind::Memory => ProviderConfig::Memory(fields.deserialize()?),
        })
    }

    /// The driver of these settings.
    pub(crate) fn driver(&self) -> &dyn Driver {
        match self {
            ProviderConfig::Alibaba(c) => c,
            ProviderConfig::Huawei(c) => c,
            #[cfg(feature = "test-util")]
            ProviderConfig::Memory(c) => c,
        }
    }
}

/// What the vendor-neutral code asks of a driver's settings.
pub(crate) trait Driver {
    /// Adds the problems of the driver's own settings; `at` turns a key of
    /// the workspace (`credentials.access_key_id`) into its full path.
    fn check(&self, at: &dyn Fn(&str) -> String, p: &mut Problems);
    /// Whether a `rate_limits` key is `default` or names one of the
    /// driver's APIs; the error lists the names it may take.
    fn rate_key(&self, key: &str) -> Result<(), String>;
    /// The vendor project the workspace is bound to.
    fn project(&self) -> &str;
    /// The adapter of workspace `name`.
    fn adapter(
        &self,
        name: &str,
        ws: &WorkspaceConfig,
        shared: &Arc<client::Shared>,
    ) -> anyhow::Result<Arc<dyn Adapter>>;
}

/// Builds the router for every configured workspace over `shared` limits.
pub(crate) fn build_with(cfg: &Config, shared: &Arc<client::Shared>) -> anyhow::Result<Router> {
    let mut list = Vec::new();
    for (name, ws) in &cfg.workspaces {
        let driver = ws.provider.driver();
        let adapter = driver.adapter(name, ws, shared)?;
        list.push(Workspace::new(name, &ws.region, driver.project(), ws.deploy_enabled, adapter));
    }
    Ok(Router::new(list))
}
