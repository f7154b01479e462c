//! Where a DataWorks workspace's keys come from: configured access keys;
//! RRSA — the pod's service-account token (re-read on every exchange: the
//! kubelet rotates it) exchanged with STS AssumeRoleWithOIDC for temporary
//! keys; or the ECS instance's RAM role from the metadata service. Issued
//! keys are refreshed 15 minutes before `Expiration` (as the credentials
//! library does), with backoff while the old keys are still valid.

use std::{sync::Arc, time::Duration};

use tonic::Code;

use super::{
    client::{Endpoint, KeySet, Keys, VENDOR},
    config::RrsaSettings,
    metadata::{self, Metadata},
    sts::{self, Sts},
};
use crate::{
    config::SecretRef,
    domain::{CallCtx, Error, Reason, Result},
    providers::{
        client::VendorClient,
        credentials::{Issued, Policy, Refreshing},
    },
};

/// When RRSA keys are refreshed and how failed exchanges back off.
const POLICY: Policy = Policy {
    ahead: Duration::from_secs(15 * 60),
    first_backoff: Duration::from_secs(5),
    max_backoff: Duration::from_secs(120),
};

/// A workspace's credentials.
pub(crate) enum Credentials {
    /// Configured access keys (files re-read when they change).
    Configured(Box<Keys>),
    /// Temporary keys from STS for the pod's service-account token.
    Rrsa(Box<Rrsa>),
    /// The ECS instance RAM role's keys from the metadata service.
    InstanceRole(Box<InstanceRole>),
}

/// The instance role of one workspace.
pub(crate) struct InstanceRole {
    workspace: String,
    /// The metadata service's base URL.
    base: String,
    /// The role's name, if configured (else the one listed).
    role: Option<String>,
    vc: VendorClient,
    held: Refreshing<KeySet>,
}

/// The RRSA exchange of one workspace.
pub(crate) struct Rrsa {
    workspace: String,
    settings: RrsaSettings,
    sts: Endpoint,
    vc: VendorClient,
    held: Refreshing<KeySet>,
}

impl Credentials {
    /// The keys to sign with now.
    pub(crate) async fn current(&self, ctx: &CallCtx) -> Result<Arc<KeySet>> {
        match self {
            Credentials::Configured(keys) => keys.read().map(Arc::new),
            Credentials::Rrsa(r) => r.held.get(|| r.exchange(ctx)).await,
            Credentials::InstanceRole(r) => r.held.get(|| r.exchange(ctx)).await,
        }
    }

    /// Whether the keys are issued for a while (so a refusal is worth one
    /// exchange and one more try).
    pub(crate) fn issued(&self) -> bool {
        match self {
            Credentials::Configured(_) => false,
            Credentials::Rrsa(_) | Credentials::InstanceRole(_) => true,
        }
    }

    /// DataWorks refused `keys`: issued keys are dropped, to be exchanged
    /// again on the next call.
    pub(crate) async fn forget(&self, keys: &Arc<KeySet>) {
        match self {
            Credentials::Configured(_) => {}
            Credentials::Rrsa(r) => r.held.forget(keys).await,
            Credentials::InstanceRole(r) => r.held.forget(keys).await,
        }
    }
}

impl Rrsa {
    /// The exchange for `workspace` with `settings`, calling STS at `sts`
    /// through `vc`.
    pub(crate) fn new(
        workspace: &str,
        settings: RrsaSettings,
        sts: Endpoint,
        vc: VendorClient,
        clock: Arc<dyn crate::providers::credentials::Clock>,
    ) -> Self {
        Rrsa {
            workspace: workspace.to_owned(),
            held: Refreshing::new(clock, VENDOR.name, workspace, POLICY),
            settings,
            sts,
            vc,
        }
    }

    /// Reads the token file and asks STS for keys.
    async fn exchange(&self, ctx: &CallCtx) -> Result<Issued<KeySet>> {
        let ws = &self.workspace;
        let token = SecretRef::File(self.settings.token_file.clone()).read().map_err(|e| {
            Error::new(
                Code::Internal,
                Reason::CredentialsUnavailable,
                format!("workspace {ws}: credentials.rrsa.token_file: {e}"),
            )
        })?;
        let token = &token;
        let settings = &self.settings;
        let issued = self
            .vc
            .call(ctx, Sts::AssumeRoleWithOidc, |x| async move {
                x.send(sts::request(&self.sts, settings, token)?, sts::parse).await
            })
            .await;
        issued.map_err(|mut e| {
            e.message = format!(
                "workspace {ws}: STS AssumeRoleWithOIDC for credentials.rrsa (role {}, token file {}) failed: {}",
                settings.role_arn,
                settings.token_file.display(),
                e.message
            );
            e
        })
    }
}

impl InstanceRole {
    /// The instance role of `workspace` (`role` if configured), read from
    /// the metadata service at `base` through `vc`.
    pub(crate) fn new(
        workspace: &str,
        base: &str,
        role: Option<String>,
        vc: VendorClient,
        clock: Arc<dyn crate::providers::credentials::Clock>,
    ) -> Self {
        InstanceRole {
            workspace: workspace.to_owned(),
            base: base.trim_end_matches('/').to_owned(),
            role,
            vc,
            held: Refreshing::new(clock, VENDOR.name, workspace, POLICY),
        }
    }

    /// A session token, the role's name (unless configured), its keys.
    async fn exchange(&self, ctx: &CallCtx) -> Result<Issued<KeySet>> {
        let base = &self.base;
        let token = self
            .vc
            .call(ctx, Metadata::Token, |x| async move { x.send(metadata::token_request(base)?, metadata::text).await })
            .await;
        let issued = async {
            let token = &token?;
            let listed;
            let role = match &self.role {
                Some(r) => r.as_str(),
                None => {
                    listed = self
                        .vc
                        .call(ctx, Metadata::RoleName, |x| async move {
                            x.send(metadata::get(base, None, token)?, metadata::text).await
                        })
                        .await?;
                    listed.expose()
                }
            };
            self.vc
                .call(ctx, Metadata::RoleCredentials, |x| async move {
                    x.send(metadata::get(base, Some(role), token)?, metadata::keys).await
                })
                .await
        };
        issued.await.map_err(|mut e| {
            e.message = format!(
                "workspace {}: reading credentials.instance_role from the ECS metadata service {base} failed: {}",
                self.workspace, e.message
            );
            e
        })
    }
}
