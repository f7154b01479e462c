//! CCE workload identity (vendor-apis.md §7.3): the pod's service-account
//! token (re-read on every exchange: the kubelet rotates it) exchanged with
//! IAM `POST /v3.0/OS-AUTH/id-token/tokens` (`X-Idp-Id`, scoped to the
//! workspace's project) for an IAM token, used as `X-Auth-Token` — or, with
//! `sign_with: temporary_keys`, exchanged once more with
//! `POST /v3.0/OS-CREDENTIAL/securitytokens` for temporary AK/SK, signed
//! like access keys and sent with `X-Security-Token`. Refreshed 40 minutes
//! before expiry (as huaweicloudsdkcore does, at most halfway through),
//! with backoff while the credentials held are still valid.

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use serde::Deserialize;
use serde_json::json;
use tonic::Code;

use super::{
    api::Api,
    client::{Client, Presented, Req, Service, VENDOR, parse_json, request_id},
    config::{SignWith, WorkloadSettings},
};
use crate::{
    config::{Secret, SecretRef},
    domain::{CallCtx, Error, Reason, Result},
    providers::credentials::{Clock, Issued, Policy, Refreshing, lifetime},
};

/// When credentials are refreshed and how failed exchanges back off.
const POLICY: Policy = Policy {
    ahead: Duration::from_secs(40 * 60),
    first_backoff: Duration::from_secs(5),
    max_backoff: Duration::from_secs(120),
};

/// What DataArts calls present.
pub(crate) enum Held {
    /// The project-scoped IAM token.
    Token(Secret),
    /// Temporary access keys.
    Keys {
        /// Access key id.
        ak: Secret,
        /// Secret access key.
        sk: Secret,
        /// `X-Security-Token`.
        security_token: Secret,
    },
}

impl Held {
    /// As a request presents them.
    pub(crate) fn presented(&self) -> Presented<'_> {
        match self {
            Held::Token(t) => Presented::Token(t),
            Held::Keys { ak, sk, security_token } => Presented::Keys { ak, sk, security_token: Some(security_token) },
        }
    }
}

/// The workload-identity exchange of one workspace.
pub struct Federated {
    workspace: String,
    settings: WorkloadSettings,
    held: Refreshing<Held>,
}

type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// `token.expires_at` / `issued_at` of an IAM token answer.
#[derive(Deserialize)]
struct TokenAnswer {
    token: TokenTimes,
}

#[derive(Deserialize)]
struct TokenTimes {
    expires_at: String,
    issued_at: Option<String>,
}

/// `credential` of a securitytokens answer.
#[derive(Deserialize)]
struct KeysAnswer {
    credential: TemporaryKeys,
}

#[derive(Deserialize)]
struct TemporaryKeys {
    access: String,
    secret: String,
    securitytoken: String,
    expires_at: String,
}

/// A time of an IAM answer, or VENDOR_RESPONSE_MALFORMED naming `what`.
fn time(answer: &crate::providers::client::Answer, what: &str, v: &str) -> Result<jiff::Timestamp> {
    v.parse().map_err(|_| {
        Error::malformed(
            VENDOR.name,
            &request_id(answer, None),
            answer.status.as_u16(),
            format_args!("{what} is not a time"),
        )
    })
}

impl Federated {
    /// The exchange of `workspace` with `settings`.
    pub(crate) fn new(workspace: &str, settings: WorkloadSettings, clock: Arc<dyn Clock>) -> Self {
        Federated {
            workspace: workspace.to_owned(),
            settings,
            held: Refreshing::new(clock, VENDOR.name, workspace, POLICY),
        }
    }

    /// The credentials to present now, exchanged through `client` when due.
    pub(crate) async fn current(&self, ctx: &CallCtx, client: &Client) -> Result<Arc<Held>> {
        self.held.get(|| self.exchange(ctx, client)).await
    }

    /// DataArts refused `held`: exchanged again on the next call.
    pub(crate) async fn forget(&self, held: &Arc<Held>) {
        self.held.forget(held).await;
    }

    /// Reads the token file and exchanges it (boxed: the IAM calls go
    /// through [`Client::send`], which this future is part of).
    fn exchange<'a>(&'a self, ctx: &'a CallCtx, client: &'a Client) -> BoxFut<'a, Result<Issued<Held>>> {
        Box::pin(async move {
            let ws = &self.workspace;
            self.exchange_once(ctx, client).await.map_err(|mut e| {
                e.message = format!(
                    "workspace {ws}: exchanging credentials.workload_identity (identity provider {}, token file {}) \
                     failed: {}",
                    self.settings.idp_id,
                    self.settings.token_file.display(),
                    e.message
                );
                e
            })
        })
    }

    async fn exchange_once(&self, ctx: &CallCtx, client: &Client) -> Result<Issued<Held>> {
        let s = &self.settings;
        let id_token = SecretRef::File(s.token_file.clone()).read().map_err(|e| {
            Error::new(
                Code::Internal,
                Reason::CredentialsUnavailable,
                format!("credentials.workload_identity.token_file: {e}"),
            )
        })?;
        let body = json!({"auth": {
            "id_token": {"id": id_token.expose()},
            "scope": {"project": {"id": client.project_id()}},
        }});
        let req = Req::post(Service::Iam, "/v3.0/OS-AUTH/id-token/tokens".into(), &body)?.header("X-Idp-Id", &s.idp_id);
        let answer = client.send(ctx, Api::IamIdTokens, &req, Presented::Nothing).await?;
        let rid = request_id(&answer, None);
        let token = answer.header("x-subject-token").filter(|t| !t.is_empty()).map(Secret::new).ok_or_else(|| {
            Error::malformed(VENDOR.name, &rid, answer.status.as_u16(), "IAM answered without X-Subject-Token")
        })?;
        let times = parse_json::<TokenAnswer>(&answer)?.token;
        let expires_at = time(&answer, "token.expires_at", &times.expires_at)?;
        // IAM's own clock measures the lifetime; without issued_at, ours does.
        let issued_at = match &times.issued_at {
            Some(t) => time(&answer, "token.issued_at", t)?,
            None => jiff::Timestamp::now(),
        };
        let token_life = lifetime(issued_at, expires_at);
        match s.sign_with {
            SignWith::Token => Ok(Issued { keys: Held::Token(token), valid_for: token_life }),
            SignWith::TemporaryKeys => {
                let body = json!({"auth": {"identity": {
                    "methods": ["token"],
                    "token": {"id": token.expose(), "duration_seconds": s.duration.as_secs()},
                }}});
                let req = Req::post(Service::Iam, "/v3.0/OS-CREDENTIAL/securitytokens".into(), &body)?;
                let answer = client.send(ctx, Api::IamSecurityTokens, &req, Presented::Token(&token)).await?;
                let k = parse_json::<KeysAnswer>(&answer)?.credential;
                let expires_at = time(&answer, "credential.expires_at", &k.expires_at)?;
                Ok(Issued {
                    valid_for: lifetime(jiff::Timestamp::now(), expires_at).min(token_life),
                    keys: Held::Keys {
                        ak: Secret::new(k.access),
                        sk: Secret::new(k.secret),
                        security_token: Secret::new(k.securitytoken),
                    },
                })
            }
        }
    }
}
