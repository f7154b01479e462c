//! Vendor adapters. Each vendor lives in its own folder; [`build`] is the
//! one match that picks an adapter for a configured workspace.

pub mod alibaba;
pub mod http;
pub mod huawei;

use std::sync::Arc;

use async_trait::async_trait;

use crate::{
    config::{Config, VendorKind, WorkspaceConfig},
    domain::{Adapter, CallCtx, Error, FileQuery, FileTarget, PackageQuery, Page, PageReq, Result, Router, Workspace},
    pb,
};

/// Builds the router for every configured workspace.
pub fn build(cfg: &Config) -> anyhow::Result<Router> {
    let mut list = Vec::new();
    for (name, ws) in &cfg.workspaces {
        let adapter: Arc<dyn Adapter> = match ws.vendor {
            VendorKind::Huawei => Arc::new(huawei::new(name, ws)?),
            VendorKind::Alibaba => Arc::new(NotYet(ws.vendor)),
        };
        list.push(Workspace::new(name, &ws.region, &vendor_project(ws), ws.deploy_enabled, adapter));
    }
    Ok(Router::new(list))
}

fn vendor_project(ws: &WorkspaceConfig) -> String {
    ws.project_id.clone().or_else(|| ws.project_identifier.clone()).unwrap_or_default()
}

/// A vendor whose adapter has not landed yet: every call is UNIMPLEMENTED.
struct NotYet(VendorKind);

impl NotYet {
    fn err<T>(&self) -> Result<T> {
        Err(Error::new(
            tonic::Code::Unimplemented,
            "VENDOR_NOT_IMPLEMENTED",
            format!("the {} adapter is not implemented yet", self.0.as_str()),
        ))
    }
}

#[async_trait]
impl Adapter for NotYet {
    fn vendor(&self) -> pb::Vendor {
        match self.0 {
            VendorKind::Alibaba => pb::Vendor::AlibabaDataworks,
            VendorKind::Huawei => pb::Vendor::HuaweiDataarts,
        }
    }
    fn flavour(&self) -> &'static str {
        "unimplemented"
    }
    fn capabilities(&self) -> pb::Capabilities {
        pb::Capabilities::default()
    }
    async fn list_release_packages(&self, _: &CallCtx, _: PackageQuery) -> Result<Page<pb::ReleasePackage>> {
        self.err()
    }
    async fn get_release_package(&self, _: &CallCtx, _: &str, _: bool) -> Result<pb::ReleasePackage> {
        self.err()
    }
    async fn deploy_release_packages(
        &self,
        _: &CallCtx,
        _: &[String],
        _: pb::StartupMode,
    ) -> Result<Vec<pb::Deployment>> {
        self.err()
    }
    async fn deploy_files(
        &self,
        _: &CallCtx,
        _: &[FileTarget],
        _: &str,
        _: pb::StartupMode,
    ) -> Result<Vec<pb::Deployment>> {
        self.err()
    }
    async fn get_deployment(&self, _: &CallCtx, _: &str, _: bool) -> Result<pb::Deployment> {
        self.err()
    }
    async fn list_files(&self, _: &CallCtx, _: FileQuery) -> Result<Page<pb::File>> {
        self.err()
    }
    async fn get_file(&self, _: &CallCtx, _: &str, _: bool) -> Result<pb::File> {
        self.err()
    }
    async fn list_file_versions(&self, _: &CallCtx, _: &str, _: PageReq, _: bool) -> Result<Page<pb::FileVersion>> {
        self.err()
    }
    async fn get_file_version(&self, _: &CallCtx, _: &str, _: i64, _: bool) -> Result<pb::FileVersion> {
        self.err()
    }
}
