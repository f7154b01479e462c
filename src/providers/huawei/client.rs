//! The DataArts HTTP client: one [`Client::call`] path for every vendor
//! request (AK/SK signing or IAM token, headers, send, error mapping), and
//! answers mapped to the gateway's error by the vendor's error **code**:
//!
//! | vendor answer | gRPC | reason |
//! |---|---|---|
//! | `APIGW.0308` / `APIG.0308` naming a one-day policy (`time:1 day`) | RESOURCE_EXHAUSTED + QuotaFailure + RetryInfo (to midnight in Asia/Shanghai); the API is closed until then | VENDOR_DAILY_QUOTA_EXHAUSTED |
//! | `APIGW.0308` / `APIG.0308`, or HTTP 429 | UNAVAILABLE + RetryInfo (1 s) | VENDOR_THROTTLED |
//! | `APIGW.0301` / `.1002` (`APIG.` too), IAM 401, HTTP 401 | INTERNAL: the gateway's own credentials (never retried) | VENDOR_AUTH_FAILED |
//! | a not-found code of `codes.rs` (`DLF.0100`, `.0137`, `.0810`, `.6201`, `.6205`, `.6241`, `.6322`, `.20819`), HTTP 404 without a code | NOT_FOUND | VENDOR_NOT_FOUND |
//! | `DLF.6888`, HTTP 403 | PERMISSION_DENIED | VENDOR_PERMISSION_DENIED |
//! | `DLF.0802` (parameter missing or invalid) | INVALID_ARGUMENT | VENDOR_INVALID_ARGUMENT |
//! | `APIGW.0101` (no such API at the endpoint) | FAILED_PRECONDITION | VENDOR_ENDPOINT_MISMATCH |
//! | HTTP 5xx, whatever the code | UNAVAILABLE | VENDOR_UNAVAILABLE |
//! | any other 4xx (`DLF.*` state errors) | FAILED_PRECONDITION | VENDOR_REFUSED |
//! | a body that is not the JSON expected | INTERNAL | VENDOR_RESPONSE_MALFORMED |
//!
//! The codes and their published meanings live in one table, `codes.rs`.
//! Error bodies are read flat (`{error_code, error_msg}`) or in the array
//! form (`{"errors":[{error_code, error_msg}]}`); an answer carrying a
//! non-empty `error_code` is an error whatever its HTTP status, a 200
//! included (never an empty page). Every error carries
//! `ErrorInfo` metadata with the vendor code (or `HTTP<status>`) and the
//! `X-Request-Id` (or body `request_id`).

use std::{future::Future, pin::Pin, sync::Arc, time::SystemTime};

use bytes::Bytes;
use reqwest::Url;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Value, json};
use tonic::Code;

use super::{
    api::Api,
    auth::{Clock, Issued, TokenCache},
    codes::{self, Kind, Window},
    federated::Federated,
    sign,
    wire::{Listing, Row, Rows, RowsKey},
};
use crate::{
    config::{LiveSecret, Secret, SecretError},
    domain::{CallCtx, Error, Reason, Result, VendorDetail},
    providers::{
        client::{Answer, USER_AGENT, Vendor, VendorClient, credentials_refused, from_json, is_object, sensitive},
        signing,
    },
};

/// What the shared client knows of DataArts Studio.
pub(crate) static VENDOR: Vendor = Vendor { name: "huawei", request_id_header: "x-request-id" };

/// Which API family (and so which endpoint) a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// v2 factory APIs (`dayu.{region}`).
    Factory,
    /// v1 DLF APIs (`dayu-dlf.{region}`).
    Dlf,
    /// IAM (`iam.{region}`).
    Iam,
}

/// One vendor request before authentication (its Debug never shows the body,
/// which carries the IAM password on token requests).
#[derive(Clone)]
pub struct Req {
    service: Service,
    method: reqwest::Method,
    /// Path after the endpoint, segments already percent-encoded.
    path: String,
    /// Unencoded query pairs.
    query: Vec<(String, String)>,
    /// JSON body bytes.
    body: Option<Bytes>,
    /// Headers of this API besides the common ones (never credentials).
    headers: Vec<(&'static str, String)>,
}

impl std::fmt::Debug for Req {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Req")
            .field("service", &self.service)
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("body_bytes", &self.body.as_ref().map(Bytes::len))
            .field("headers", &self.headers)
            .finish()
    }
}

impl Req {
    /// A GET of `path` (segments already encoded, e.g. with [`seg`]).
    /// Public, with [`Req::query`] and [`Req::post`], for the benchmark's direct calls.
    pub fn get(service: Service, path: String) -> Req {
        Req { service, method: reqwest::Method::GET, path, query: Vec::new(), body: None, headers: Vec::new() }
    }

    /// A POST of `body` as JSON.
    pub fn post(service: Service, path: String, body: &impl Serialize) -> Result<Req> {
        let body = serde_json::to_vec(body).map_err(|e| {
            Error::new(Code::Internal, Reason::RequestBuildFailed, format!("cannot encode the body: {e}"))
        })?;
        Ok(Req {
            service,
            method: reqwest::Method::POST,
            path,
            query: Vec::new(),
            body: Some(body.into()),
            headers: Vec::new(),
        })
    }

    /// Adds a header of this API (never a credential: those are marked
    /// sensitive by [`Signer`]).
    pub(crate) fn header(mut self, k: &'static str, v: impl Into<String>) -> Req {
        self.headers.push((k, v.into()));
        self
    }

    /// Adds a query pair.
    pub fn query(mut self, k: &str, v: impl ToString) -> Req {
        self.query.push((k.to_owned(), v.to_string()));
        self
    }

    /// Adds a query pair when `v` is set.
    pub(crate) fn query_opt(self, k: &str, v: Option<impl ToString>) -> Req {
        match v {
            Some(v) => self.query(k, v),
            None => self,
        }
    }
}

/// A path segment, percent-encoded as the SDK encodes path parameters.
pub(crate) fn seg(s: &str) -> String {
    signing::rfc3986_encode(s)
}

/// An endpoint: scheme + authority for the URL, host as signed, path prefix.
struct Endpoint {
    origin: String,
    host: String,
    prefix: String,
}

impl Endpoint {
    fn parse(url: &str) -> anyhow::Result<Endpoint> {
        let u = Url::parse(url).map_err(|e| anyhow::anyhow!("endpoint {url:?} is not a URL: {e}"))?;
        let host = u.host_str().ok_or_else(|| anyhow::anyhow!("endpoint {url:?} has no host"))?;
        let host = match u.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        };
        Ok(Endpoint {
            origin: format!("{}://{host}", u.scheme()),
            prefix: u.path().trim_end_matches('/').to_owned(),
            host,
        })
    }
}

/// How requests authenticate.
pub enum Auth {
    /// SDK-HMAC-SHA256 with an access key pair (files re-read on rotation).
    AkSk {
        /// Access key id.
        ak: LiveSecret,
        /// Secret access key.
        sk: LiveSecret,
    },
    /// `X-Auth-Token` from IAM password authentication.
    Token {
        /// Account (domain) name.
        domain: String,
        /// IAM user name.
        user: String,
        /// Password.
        password: LiveSecret,
        /// The cached token.
        cache: TokenCache,
    },
    /// CCE workload identity: an IAM token (or temporary keys) for the
    /// pod's service-account token.
    Federated(Box<Federated>),
}

/// What one request presents to the vendor.
#[derive(Clone, Copy)]
pub(crate) enum Presented<'a> {
    /// Nothing (IAM token requests carry their proof in the body).
    Nothing,
    /// An SDK-HMAC-SHA256 signature with these keys, and the security
    /// token of temporary keys.
    Keys {
        /// Access key id.
        ak: &'a Secret,
        /// Secret access key.
        sk: &'a Secret,
        /// `X-Security-Token` (temporary keys).
        security_token: Option<&'a Secret>,
    },
    /// An IAM token in `X-Auth-Token`.
    Token(&'a Secret),
}

/// Endpoint URLs of one workspace.
pub struct Endpoints {
    /// v2 factory.
    pub factory: String,
    /// v1 DLF.
    pub dlf: String,
    /// IAM.
    pub iam: String,
}

/// Builds signed DataArts requests for one workspace's endpoints, ids and
/// credentials.
pub struct Signer {
    factory: Endpoint,
    dlf: Endpoint,
    iam: Endpoint,
    project_id: String,
    workspace_id: String,
    auth: Auth,
}

/// One workspace's DataArts client: signed requests sent through the
/// shared vendor client.
pub(crate) struct Client {
    signer: Signer,
    vc: VendorClient,
}

type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

impl Signer {
    /// A signer for the given endpoints, project, workspace and credentials.
    pub fn new(endpoints: &Endpoints, project_id: &str, workspace_id: &str, auth: Auth) -> anyhow::Result<Signer> {
        Ok(Signer {
            factory: Endpoint::parse(&endpoints.factory)?,
            dlf: Endpoint::parse(&endpoints.dlf)?,
            iam: Endpoint::parse(&endpoints.iam)?,
            project_id: project_id.to_owned(),
            workspace_id: workspace_id.to_owned(),
            auth,
        })
    }
    fn endpoint(&self, s: Service) -> &Endpoint {
        match s {
            Service::Factory => &self.factory,
            Service::Dlf => &self.dlf,
            Service::Iam => &self.iam,
        }
    }

    /// The signed HTTP request for `req`, exactly as [`Client::call`] sends
    /// one attempt (`token`: the IAM token with password auth; also used by
    /// `bench/` to drive the vendor API directly).
    /// Credential headers (`Authorization`, `X-Auth-Token`) are marked
    /// sensitive.
    pub fn request(&self, req: &Req, token: Option<&Secret>) -> Result<::http::Request<Bytes>> {
        let no_token = || Error::new(Code::Internal, Reason::CredentialsUnavailable, "no IAM token");
        match (&self.auth, req.service) {
            (_, Service::Iam) => self.build(req, Presented::Nothing),
            (Auth::AkSk { ak, sk }, _) => {
                let (ak, sk) = (ak.get().map_err(credentials)?, sk.get().map_err(credentials)?);
                self.build(req, Presented::Keys { ak: &ak, sk: &sk, security_token: None })
            }
            (Auth::Token { .. } | Auth::Federated(_), _) => {
                self.build(req, Presented::Token(token.ok_or_else(no_token)?))
            }
        }
    }

    /// The HTTP request for `req` presenting `with`.
    pub(crate) fn build(&self, req: &Req, with: Presented<'_>) -> Result<::http::Request<Bytes>> {
        let ep = self.endpoint(req.service);
        let path = format!("{}{}", ep.prefix, req.path);
        let qs = sign::canonical_query(&req.query);
        let url = if qs.is_empty() { format!("{}{path}", ep.origin) } else { format!("{}{path}?{qs}", ep.origin) };
        let body = req.body.as_deref().unwrap_or_default();
        let content_type = if req.body.is_some() { "application/json;charset=UTF-8" } else { "application/json" };
        let mut headers: Vec<(String, String)> =
            vec![("Content-Type".into(), content_type.into()), ("User-Agent".into(), USER_AGENT.into())];
        if req.service != Service::Iam {
            headers.push(("X-Project-Id".into(), self.project_id.clone()));
            headers.push(("workspace".into(), self.workspace_id.clone()));
        }
        headers.extend(req.headers.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        match with {
            Presented::Nothing => {}
            Presented::Keys { ak, sk, security_token } => {
                if let Some(t) = security_token {
                    headers.push(("X-Security-Token".into(), t.expose().to_owned()));
                }
                let input = sign::SignInput {
                    method: req.method.as_str(),
                    host: &ep.host,
                    path: &path,
                    query: &req.query,
                    headers: &headers,
                    body,
                };
                let signed = sign::sign(ak.expose(), sk.expose(), &input, &signing::format_sdk_date(SystemTime::now()));
                // Host is set by the HTTP client from the URL, identical to what was signed.
                headers = signed.headers_to_send.into_iter().filter(|(k, _)| !k.eq_ignore_ascii_case("host")).collect();
            }
            Presented::Token(t) => headers.push(("X-Auth-Token".into(), t.expose().to_owned())),
        }
        let mut b = ::http::Request::builder().method(req.method.clone()).uri(url);
        for (k, v) in &headers {
            let secret =
                ["authorization", "x-auth-token", "x-security-token"].iter().any(|s| k.eq_ignore_ascii_case(s));
            b = if secret { b.header(k.as_str(), sensitive(v)?) } else { b.header(k.as_str(), v.as_str()) };
        }
        b.body(req.body.clone().unwrap_or_default()).map_err(|e| {
            Error::new(Code::Internal, Reason::RequestBuildFailed, format!("cannot build the request: {e}"))
        })
    }
}

impl Client {
    /// A client signing with `signer` and sending through `vc`.
    pub(crate) fn new(signer: Signer, vc: VendorClient) -> Client {
        Client { signer, vc }
    }

    /// The project id as a path segment.
    pub(crate) fn project(&self) -> String {
        seg(&self.signer.project_id)
    }

    /// The IAM project id.
    pub(crate) fn project_id(&self) -> &str {
        &self.signer.project_id
    }

    /// The DataArts workspace id as a path segment.
    pub(crate) fn workspace(&self) -> String {
        seg(&self.signer.workspace_id)
    }

    /// The DataArts workspace id.
    pub(crate) fn workspace_id(&self) -> &str {
        &self.signer.workspace_id
    }

    /// Tokens issued so far (0 with access keys).
    pub(crate) fn token_renewals(&self) -> u64 {
        match &self.signer.auth {
            Auth::Token { cache, .. } => cache.renewals(),
            Auth::AkSk { .. } | Auth::Federated(_) => 0,
        }
    }

    /// The one path every vendor HTTP call takes: authenticate, send within
    /// the caller's deadline through the shared vendor client, map a vendor
    /// error by its code.
    /// Workload-identity credentials DataArts refuses (expired early,
    /// revoked) are exchanged again and the call is sent once more: a
    /// refusal applied nothing.
    pub(crate) async fn call(&self, ctx: &CallCtx, api: Api, req: Req) -> Result<Answer> {
        match (&self.signer.auth, req.service) {
            (Auth::Federated(f), Service::Factory | Service::Dlf) => match self.call_federated(ctx, api, &req, f).await
            {
                Err(e) if e.reason == Reason::VendorAuthFailed => self.call_federated(ctx, api, &req, f).await,
                other => other,
            },
            _ => self.call_configured(ctx, api, req).await,
        }
    }

    /// One call with workload-identity credentials; refused ones are dropped.
    async fn call_federated(&self, ctx: &CallCtx, api: Api, req: &Req, f: &Federated) -> Result<Answer> {
        let held = f.current(ctx, self).await?;
        let out = self.send(ctx, api, req, held.presented()).await;
        if let Err(e) = &out
            && e.reason == Reason::VendorAuthFailed
        {
            f.forget(&held).await;
        }
        out
    }

    /// Sends `req` presenting `with` through the shared vendor client.
    pub(crate) async fn send(&self, ctx: &CallCtx, api: Api, req: &Req, with: Presented<'_>) -> Result<Answer> {
        self.vc
            .call(ctx, api, |x| async move {
                let request = self.signer.build(req, with)?;
                x.send(request, |a| {
                    check(a, req.service)?;
                    Ok(a.clone())
                })
                .await
            })
            .await
    }

    /// One call with configured credentials (access keys, IAM password).
    async fn call_configured(&self, ctx: &CallCtx, api: Api, req: Req) -> Result<Answer> {
        let req = &req;
        self.vc
            .call(ctx, api, |x| async move {
                let token = match (&self.signer.auth, req.service) {
                    (Auth::Token { .. }, Service::Factory | Service::Dlf) => Some(self.token(ctx).await?),
                    _ => None,
                };
                let request = self.signer.request(req, token.as_ref())?;
                // check() runs inside the attempt's span: its vendor error
                // code and outcome land on the span and in the metrics.
                let checked = x
                    .send(request, |a| {
                        check(a, req.service)?;
                        Ok(a.clone())
                    })
                    .await;
                if let (Err(e), Some(t), Auth::Token { cache, .. }) = (&checked, &token, &self.signer.auth)
                    && e.reason == Reason::VendorAuthFailed
                {
                    cache.forget(t).await;
                }
                checked
            })
            .await
    }

    /// The cached IAM token, renewed through [`Client::call`] when due.
    async fn token(&self, ctx: &CallCtx) -> Result<Secret> {
        let Auth::Token { cache, .. } = &self.signer.auth else {
            return Err(Error::new(Code::Internal, Reason::CredentialsUnavailable, "no IAM credentials configured"));
        };
        cache.get(|| self.issue_token(ctx)).await
    }

    /// POST /v3/auth/tokens (password, project scope) → `X-Subject-Token`.
    fn issue_token<'a>(&'a self, ctx: &'a CallCtx) -> BoxFut<'a, Result<Issued>> {
        Box::pin(async move {
            let Auth::Token { domain, user, password, .. } = &self.signer.auth else {
                return Err(Error::new(
                    Code::Internal,
                    Reason::CredentialsUnavailable,
                    "no IAM credentials configured",
                ));
            };
            let password = password.get().map_err(credentials)?;
            let body = json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": {
                    "name": user, "password": password.expose(), "domain": {"name": domain}
                }}},
                "scope": {"project": {"id": self.signer.project_id}}
            }});
            let answer =
                self.call(ctx, Api::IamTokens, Req::post(Service::Iam, "/v3/auth/tokens".into(), &body)?).await?;
            let (token, rid) =
                (answer.header("x-subject-token").unwrap_or_default().to_owned(), request_id(&answer, None));
            if token.is_empty() {
                return Err(Error::malformed(
                    VENDOR.name,
                    &rid,
                    answer.status.as_u16(),
                    "IAM answered without X-Subject-Token",
                ));
            }
            let v: Value = parse_json(&answer)?;
            let at = |k: &str| v.pointer(k).and_then(Value::as_str).and_then(|s| s.parse::<jiff::Timestamp>().ok());
            let expires_at = at("/token/expires_at").ok_or_else(|| {
                Error::malformed(VENDOR.name, &rid, answer.status.as_u16(), "token.expires_at is not a time")
            })?;
            // IAM's own clock measures the lifetime; without issued_at, ours does.
            let issued_at = at("/token/issued_at").unwrap_or_else(jiff::Timestamp::now);
            // Negative (expired on arrival) is no lifetime at all.
            let valid_for = crate::providers::credentials::lifetime(issued_at, expires_at);
            Ok(Issued { token: Secret::new(token), valid_for })
        })
    }
}

fn credentials(e: SecretError) -> Error {
    Error::new(Code::Internal, Reason::CredentialsUnavailable, format!("credentials: {e}"))
}

/// Builds a client's credentials from config references.
pub(crate) fn token_auth(domain: &str, user: &str, password: LiveSecret, clock: Arc<dyn Clock>) -> Auth {
    Auth::Token { domain: domain.into(), user: user.into(), password, cache: TokenCache::new(clock) }
}

fn text(v: &Value, k: &str) -> String {
    match v.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// `X-Request-Id`, else the body's `request_id`.
pub(crate) fn request_id(a: &Answer, body: Option<&Value>) -> String {
    match a.header(VENDOR.request_id_header).filter(|s| !s.is_empty()) {
        Some(r) => r.to_owned(),
        None => body.map(|b| text(b, "request_id")).unwrap_or_default(),
    }
}

/// The vendor's (code, message): `error_code/error_msg`, `errorCode/errorMsg`,
/// `code/message`, at the top, nested one level inside an object value, or
/// in the first element of an `errors` array
/// (`{"errors":[{"error_code":…,"error_msg":…}]}`, as the huaweicloud
/// Terraform provider reads them).
fn vendor_error(v: &Value) -> (String, String) {
    let direct = |v: &Value| code_in(v, &[("error_code", "error_msg"), ("errorCode", "errorMsg"), ("code", "message")]);
    direct(v)
        .or_else(|| in_errors(v, direct))
        .or_else(|| v.as_object().and_then(|m| m.values().filter(|x| x.is_object()).find_map(direct)))
        .unwrap_or_default()
}

/// The first non-empty (code, message) of `v` among the `spellings`.
fn code_in(v: &Value, spellings: &[(&str, &str)]) -> Option<(String, String)> {
    spellings.iter().map(|(c, m)| (text(v, c), text(v, m))).find(|(c, _)| !c.is_empty())
}

/// `direct` of the first element of `v`'s `errors` array that has one.
fn in_errors(v: &Value, direct: impl Fn(&Value) -> Option<(String, String)>) -> Option<(String, String)> {
    v.get("errors").and_then(Value::as_array).and_then(|a| a.iter().find_map(direct))
}

/// The (code, message) a 2xx answer carries when DataArts reports a failure
/// with a success status: a non-empty `error_code` (`errorCode`) at the top
/// of the body or in its `errors` array. Other fields named `code` are
/// records' own data, not errors. Bodies without the word are not parsed.
fn error_in_success(a: &Answer) -> Option<(Value, String, String)> {
    // memmem (SIMD): a byte-by-byte window scan of a page of 100 rows cost
    // more than reading the page.
    const MARKS: [&[u8]; 2] = [b"error_code", b"errorCode"];
    if !MARKS.iter().any(|m| memchr::memmem::find(&a.body, m).is_some()) {
        return None;
    }
    let v: Value = serde_json::from_slice(&a.body).ok()?;
    let direct = |v: &Value| code_in(v, &[("error_code", "error_msg"), ("errorCode", "errorMsg")]);
    let (code, msg) = direct(&v).or_else(|| in_errors(&v, direct))?;
    Some((v, code, msg))
}

/// Ok for a 2xx without an error code; otherwise the mapped error (an
/// `error_code` makes an answer an error whatever its HTTP status).
fn check(a: &Answer, service: Service) -> Result<()> {
    if a.status.is_success() {
        return match error_in_success(a) {
            None => Ok(()),
            Some((body, code, msg)) => {
                Err(map_code(&code, a.status.as_u16(), &request_id(a, Some(&body)), &msg, service))
            }
        };
    }
    let status = a.status.as_u16();
    let body: Option<Value> = serde_json::from_slice(&a.body).ok();
    let rid = request_id(a, body.as_ref());
    let (code, msg) = body.as_ref().map(vendor_error).unwrap_or_default();
    if body.is_none() && !matches!(status, 401 | 403 | 404 | 429) && status < 500 {
        return Err(Error::malformed(
            VENDOR.name,
            &rid,
            status,
            format_args!("HTTP {status} with a body that is not JSON"),
        ));
    }
    Err(map_code(&code, status, &rid, &msg, service))
}

/// How the gateway answers a vendor error: a [`Kind`] from the code table,
/// or what the HTTP status says when the code does not decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// A code or status the gateway knows.
    Known(Kind),
    /// HTTP 5xx (whatever the code, unless it is a throttle or credentials code).
    Unavailable,
    /// Any other 4xx: the vendor refused the call (`DLF.*` state errors).
    Refused,
}

/// The outcome of `code` (looked up once) and `status`, in the module
/// table's order: throttling and credential refusals first, then 5xx,
/// then the code, then the status.
fn outcome(known: Option<Kind>, code_empty: bool, status: u16, service: Service) -> Outcome {
    match known {
        Some(k @ Kind::Throttled) => Outcome::Known(k),
        _ if status == 429 => Outcome::Known(Kind::Throttled),
        Some(k @ Kind::AuthFailed) => Outcome::Known(k),
        _ if status == 401 || (service == Service::Iam && status == 403) => Outcome::Known(Kind::AuthFailed),
        _ if status >= 500 => Outcome::Unavailable,
        Some(k) => Outcome::Known(k),
        None if code_empty && status == 404 => Outcome::Known(Kind::NotFound),
        None if status == 403 => Outcome::Known(Kind::PermissionDenied),
        None => Outcome::Refused,
    }
}

/// Maps a vendor error (see the module table).
pub(crate) fn map_code(code: &str, status: u16, rid: &str, msg: &str, service: Service) -> Error {
    let detail = VendorDetail {
        vendor: VENDOR.name.into(),
        code: if code.is_empty() { format!("HTTP{status}") } else { code.to_owned() },
        request_id: rid.to_owned(),
        http_status: status,
    };
    let known = codes::lookup(code);
    let msg = match (msg.is_empty(), known) {
        (false, _) => msg,
        (true, Some((_, meaning))) => meaning,
        (true, None) => "no message",
    };
    let mut e = match outcome(known.map(|(k, _)| k), code.is_empty(), status, service) {
        Outcome::Known(Kind::Throttled) if Window::of_message(msg) == Some(Window::Day) => daily_quota_used_up(msg),
        Outcome::Known(Kind::Throttled) => {
            Error::new(Code::Unavailable, Reason::VendorThrottled, format!("DataArts Studio throttled the call: {msg}"))
                .with_retry_after(std::time::Duration::from_secs(1))
        }
        Outcome::Known(Kind::AuthFailed) => credentials_refused("DataArts Studio", msg),
        Outcome::Unavailable => {
            Error::new(Code::Unavailable, Reason::VendorUnavailable, format!("DataArts Studio failed: {msg}"))
        }
        Outcome::Known(Kind::NotFound) => {
            Error::new(Code::NotFound, Reason::VendorNotFound, format!("DataArts Studio: {msg}"))
        }
        Outcome::Known(Kind::PermissionDenied) => Error::new(
            Code::PermissionDenied,
            Reason::VendorPermissionDenied,
            format!("DataArts Studio denied access: {msg}"),
        ),
        Outcome::Known(Kind::InvalidArgument) => Error::new(
            Code::InvalidArgument,
            Reason::VendorInvalidArgument,
            format!("DataArts Studio refused a parameter: {msg}"),
        ),
        Outcome::Known(Kind::EndpointMismatch) => Error::new(
            Code::FailedPrecondition,
            Reason::VendorEndpointMismatch,
            format!("the configured endpoint does not serve this DataArts API: {msg}"),
        ),
        Outcome::Refused => Error::new(
            Code::FailedPrecondition,
            Reason::VendorRefused,
            format!("DataArts Studio refused the call: {msg}"),
        ),
    };
    e.vendor = Some(detail);
    e
}

/// RESOURCE_EXHAUSTED + QuotaFailure: a one-day throttling policy refused
/// the call; RetryInfo (and the API's closure) until DataArts' next midnight.
fn daily_quota_used_up(msg: &str) -> Error {
    let mut e = Error::new(
        Code::ResourceExhausted,
        Reason::VendorDailyQuotaExhausted,
        format!("DataArts Studio's daily quota for this API is used up: {msg}"),
    );
    e.quota = Some((format!("vendor:{}", VENDOR.name), "the DataArts Studio daily API call quota is used up".into()));
    let zone = jiff::tz::TimeZone::get(codes::DAILY_RESET_ZONE).unwrap_or(jiff::tz::TimeZone::UTC);
    e.with_retry_after(crate::limit::closed::until_next_day(&zone, jiff::Timestamp::now()))
}

/// The answer's body as JSON, or INTERNAL with the request id.
pub(crate) fn parse_json<T: DeserializeOwned>(a: &Answer) -> Result<T> {
    // Straight from the bytes: going through a `Value` first copied every
    // row of a list twice (bench/: a third of a list call's CPU).
    let object = is_object(&a.body);
    if object && let Ok(t) = from_json::<T>(&a.body) {
        return Ok(t);
    }
    // Not that shape: say why, with the request id when the body has one.
    let rid = request_id(a, None);
    let v: Value = serde_json::from_slice(&a.body)
        .map_err(|e| Error::malformed(VENDOR.name, &rid, a.status.as_u16(), format_args!("body is not JSON ({e})")))?;
    if !v.is_object() {
        return Err(Error::malformed(
            VENDOR.name,
            &request_id(a, Some(&v)),
            a.status.as_u16(),
            "body is not a JSON object",
        ));
    }
    typed(a, &v)
}

/// The `key` rows of a list answer read into `T`, each with its raw JSON
/// when `full` (VIEW_FULL: the record); and the answer's `total`, else the
/// rows up to the end of this page (which started at row `offset`).
/// Without records the answer is read in one pass, instead of finding each
/// row's extent, copying it and then reading it.
pub(super) fn listed<T: DeserializeOwned>(a: &Answer, key: RowsKey, offset: u32, full: bool) -> Result<(Rows<T>, i64)> {
    let (rows, total): (Rows<T>, _) = if full {
        let list: Listing = parse_json(a)?;
        let total = list.total;
        (list.take(key).into_iter().map(|raw| Ok(Row(row(a, &raw)?, Some(raw)))).collect::<Result<_>>()?, total)
    } else {
        let list: Listing<Row<T>> = parse_json(a)?;
        let total = list.total;
        (list.take(key), total)
    };
    let total = total.unwrap_or(i64::from(offset) + rows.len() as i64);
    Ok((rows, total))
}

/// A raw record of the answer (a list row) read into `T`, or INTERNAL
/// with the request id.
pub(crate) fn row<T: DeserializeOwned>(a: &Answer, raw: &serde_json::value::RawValue) -> Result<T> {
    serde_json::from_str(raw.get()).map_err(|e| {
        let v: Option<Value> = serde_json::from_str(raw.get()).ok();
        Error::malformed(
            VENDOR.name,
            &request_id(a, v.as_ref()),
            a.status.as_u16(),
            format_args!("unexpected shape ({e})"),
        )
    })
}

/// A JSON value read into `T`, or INTERNAL with the request id.
pub(crate) fn typed<T: DeserializeOwned>(a: &Answer, v: &Value) -> Result<T> {
    T::deserialize(v).map_err(|e| {
        Error::malformed(
            VENDOR.name,
            &request_id(a, Some(v)),
            a.status.as_u16(),
            format_args!("unexpected shape ({e})"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str, rid: Option<&str>) -> Answer {
        let mut headers = ::http::HeaderMap::new();
        if let Some(r) = rid {
            headers.insert("x-request-id", r.parse().unwrap());
        }
        Answer { status: status.try_into().unwrap(), headers, body: bytes::Bytes::from(body.to_owned()) }
    }

    fn err(status: u16, body: &str) -> Error {
        check(&answer(status, body, Some("R1")), Service::Factory).unwrap_err()
    }

    #[test]
    fn codes_map_by_code_not_status() {
        let cases = [
            (429, r#"{"error_code":"APIGW.0308","error_msg":"slow"}"#, Code::Unavailable, Reason::VendorThrottled),
            (400, r#"{"error_code":"APIG.0308","error_msg":"slow"}"#, Code::Unavailable, Reason::VendorThrottled),
            (429, "", Code::Unavailable, Reason::VendorThrottled),
            (401, r#"{"error_code":"APIGW.0301","error_msg":"sig"}"#, Code::Internal, Reason::VendorAuthFailed),
            (401, r#"{"error_code":"APIG.1002","error_msg":"tok"}"#, Code::Internal, Reason::VendorAuthFailed),
            (400, r#"{"error_code":"DLF.0810","error_msg":"gone"}"#, Code::NotFound, Reason::VendorNotFound),
            (
                400,
                r#"{"error_code":"DLF.6888","error_msg":"no"}"#,
                Code::PermissionDenied,
                Reason::VendorPermissionDenied,
            ),
            (400, r#"{"error_code":"DLF.0802","error_msg":"p"}"#, Code::InvalidArgument, Reason::VendorInvalidArgument),
            (400, r#"{"error_code":"DLF.3100","error_msg":"state"}"#, Code::FailedPrecondition, Reason::VendorRefused),
            (500, r#"{"error_code":"DLF.0001","error_msg":"x"}"#, Code::Unavailable, Reason::VendorUnavailable),
            (503, "<html>", Code::Unavailable, Reason::VendorUnavailable),
            (400, "<html>", Code::Internal, Reason::VendorResponseMalformed),
            (400, r#"{"error":{"code":"DLF.0810","message":"nested"}}"#, Code::NotFound, Reason::VendorNotFound),
            (
                400,
                r#"{"errorCode":"DLF.6888","errorMsg":"camel"}"#,
                Code::PermissionDenied,
                Reason::VendorPermissionDenied,
            ),
            (400, r#"{"error_code":"DLF.6201","error_msg":"script"}"#, Code::NotFound, Reason::VendorNotFound),
            (400, r#"{"error_code":"DLF.6205","error_msg":"instance"}"#, Code::NotFound, Reason::VendorNotFound),
            (400, r#"{"error_code":"DLF.6241","error_msg":"resource"}"#, Code::NotFound, Reason::VendorNotFound),
            (400, r#"{"error_code":"DLF.6322","error_msg":"connection"}"#, Code::NotFound, Reason::VendorNotFound),
            (400, r#"{"error_code":"DLF.20819","error_msg":"workspace"}"#, Code::NotFound, Reason::VendorNotFound),
            (400, r#"{"error_code":"DLF.0137","error_msg":"instance"}"#, Code::NotFound, Reason::VendorNotFound),
            (
                400,
                r#"{"errors":[{"error_code":"DLF.6201","error_msg":"The script does not exist."}]}"#,
                Code::NotFound,
                Reason::VendorNotFound,
            ),
            (
                400,
                r#"{"errors":[{"error_code":"DLF.0802","error_msg":"p"}],"request_id":"x"}"#,
                Code::InvalidArgument,
                Reason::VendorInvalidArgument,
            ),
            (429, r#"{"errors":[{"error_code":"APIGW.0308"}]}"#, Code::Unavailable, Reason::VendorThrottled),
            (
                429,
                r#"{"error_code":"APIGW.0308","error_msg":"policy user over ratelimit,limit:5,time:1 minute"}"#,
                Code::Unavailable,
                Reason::VendorThrottled,
            ),
            (
                429,
                r#"{"error_code":"APIGW.0308","error_msg":"The throttling threshold has been reached: policy user over ratelimit,limit:100,time:1 day"}"#,
                Code::ResourceExhausted,
                Reason::VendorDailyQuotaExhausted,
            ),
            (
                400,
                r#"{"errors":[{"error_code":"APIG.0308","error_msg":"over ratelimit,limit:100,time:1 day"}]}"#,
                Code::ResourceExhausted,
                Reason::VendorDailyQuotaExhausted,
            ),
        ];
        for (status, body, code, reason) in cases {
            let e = err(status, body);
            assert_eq!((e.code, e.reason), (code, reason), "{status} {body}");
            assert_eq!(e.vendor.as_ref().unwrap().request_id, "R1");
        }
        let e = err(400, r#"{"error_code":"DLF.0810","error_msg":"gone"}"#);
        assert_eq!(e.vendor.as_ref().unwrap().code, "DLF.0810");
        let e = err(400, r#"{"errors":[{"error_code":"DLF.20819","error_msg":"ws"}]}"#);
        assert_eq!(e.vendor.as_ref().unwrap().code, "DLF.20819", "the array form's code travels in ErrorInfo");
        let e = err(400, r#"{"error_code":"DLF.6201"}"#);
        assert!(e.message.contains("The script does not exist."), "the published meaning stands in: {}", e.message);
        assert!(err(429, "").retry_after.is_some());
        let daily = err(429, r#"{"error_code":"APIGW.0308","error_msg":"over ratelimit,limit:100,time:1 day"}"#);
        assert!(daily.quota.is_some(), "QuotaFailure");
        let reset = daily.retry_after.expect("closed until DataArts' midnight");
        assert!(reset > std::time::Duration::ZERO && reset <= std::time::Duration::from_secs(86_400), "{reset:?}");
        let body_rid = check(&answer(400, r#"{"error_code":"DLF.0810","request_id":"B2"}"#, None), Service::Dlf);
        assert_eq!(body_rid.unwrap_err().vendor.as_ref().unwrap().request_id, "B2");
    }

    #[test]
    fn a_2xx_carrying_an_error_code_is_an_error() {
        let cases = [
            (200, r#"{"error_code":"DLF.0810","error_msg":"gone"}"#, Code::NotFound, Reason::VendorNotFound),
            (
                200,
                r#"{"errors":[{"error_code":"DLF.6201","error_msg":"The script does not exist."}]}"#,
                Code::NotFound,
                Reason::VendorNotFound,
            ),
            (200, r#"{"errorCode":"DLF.3100","errorMsg":"state"}"#, Code::FailedPrecondition, Reason::VendorRefused),
            (202, r#"{"error_code":"APIGW.0308","error_msg":"slow"}"#, Code::Unavailable, Reason::VendorThrottled),
            (200, r#"{"error_code":"DLF.9999","total":0,"data":[]}"#, Code::FailedPrecondition, Reason::VendorRefused),
        ];
        for (status, body, code, reason) in cases {
            let e = check(&answer(status, body, Some("R1")), Service::Factory).unwrap_err();
            assert_eq!((e.code, e.reason), (code, reason), "{status} {body}");
            assert_eq!(e.vendor.as_ref().unwrap().http_status, status);
        }
        let e = check(&answer(200, r#"{"errors":[{"error_code":"DLF.0810"}],"request_id":"B7"}"#, None), Service::Dlf)
            .unwrap_err();
        assert_eq!(e.vendor.as_ref().unwrap().request_id, "B7", "the body's request id");
        for body in [
            r#"{"total":1,"data":[{"name":"s","code":"DLF.0810","content":"error_code"}]}"#,
            r#"{"error_code":"","error_msg":"","data":[]}"#,
            r#"{"error_code":null,"errors":[]}"#,
            r#"{"errors":[{"code":"x"}]}"#,
            "",
        ] {
            check(&answer(200, body, Some("R1")), Service::Factory).unwrap_or_else(|e| panic!("{body}: {e}"));
        }
    }

    #[test]
    fn unreadable_success_bodies_are_internal_with_the_request_id() {
        let e = parse_json::<Value>(&answer(200, "<html>", Some("R9"))).unwrap_err();
        assert_eq!((e.code, e.vendor.as_ref().unwrap().request_id.as_str()), (Code::Internal, "R9"));
        assert_eq!(parse_json::<Value>(&answer(200, "[1]", None)).unwrap_err().code, Code::Internal);
        let e = parse_json::<super::super::wire::Listing>(&answer(200, r#"{"data": 3}"#, Some("R8"))).unwrap_err();
        assert_eq!(e.code, Code::Internal);
    }

    #[test]
    fn requests_carry_the_sdk_headers_and_signature() {
        crate::install_crypto_provider();
        let eps = Endpoints {
            factory: "http://127.0.0.1:9/f".into(),
            dlf: "http://127.0.0.1:9".into(),
            iam: "http://127.0.0.1:9".into(),
        };
        let auth = Auth::AkSk { ak: LiveSecret::fixed(Secret::new("AK1")), sk: LiveSecret::fixed(Secret::new("SK1")) };
        let c = Signer::new(&eps, "p1", "ws-1", auth).unwrap();
        let post =
            Req::post(Service::Factory, "/v2/p1/factory/release-packages".into(), &json!({"limit": 10})).unwrap();
        let r = c.request(&post, None).unwrap();
        let h = |k: &str| r.headers().get(k).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert_eq!(r.uri(), "http://127.0.0.1:9/f/v2/p1/factory/release-packages");
        assert_eq!(h("content-type"), "application/json;charset=UTF-8");
        assert_eq!((h("x-project-id").as_str(), h("workspace").as_str()), ("p1", "ws-1"));
        assert_eq!(h("x-sdk-date").len(), 16);
        assert!(h("authorization").starts_with(
            "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=content-type;host;user-agent;workspace;x-project-id;x-sdk-date, Signature="
        ));
        let get = Req::get(Service::Dlf, format!("/v1/p1/scripts/{}", seg("my script")))
            .query("version", 2)
            .query("a", "x y");
        let r = c.request(&get, None).unwrap();
        assert_eq!(r.uri(), "http://127.0.0.1:9/v1/p1/scripts/my%20script?a=x%20y&version=2");
        assert_eq!(r.headers().get("content-type").unwrap(), "application/json");
        let secret_body = Req::post(Service::Iam, "/v3/auth/tokens".into(), &json!({"password": "hunter2"})).unwrap();
        assert!(!format!("{secret_body:?}").contains("hunter2"));
        let token = Secret::new("TOKEN");
        let c = Signer::new(
            &eps,
            "p1",
            "ws-1",
            token_auth("d", "u", LiveSecret::fixed(Secret::new("pw")), Arc::new(super::super::auth::SystemClock)),
        )
        .unwrap();
        let r = c.request(&get, Some(&token)).unwrap();
        assert_eq!(r.headers().get("x-auth-token").unwrap(), "TOKEN");
        assert!(r.headers().get("x-auth-token").unwrap().is_sensitive());
        assert!(!format!("{r:?}").contains("TOKEN"));
        assert!(r.headers().get("authorization").is_none());
    }

    #[test]
    fn endpoints_keep_ports_and_prefixes() {
        let e = Endpoint::parse("http://127.0.0.1:8080/base/").unwrap();
        assert_eq!(
            (e.origin.as_str(), e.host.as_str(), e.prefix.as_str()),
            ("http://127.0.0.1:8080", "127.0.0.1:8080", "/base")
        );
        let e = Endpoint::parse("https://dayu.cn-north-4.myhuaweicloud.com").unwrap();
        assert_eq!((e.host.as_str(), e.prefix.as_str()), ("dayu.cn-north-4.myhuaweicloud.com", ""));
    }

    /// A DataArts-shaped error body (flat or `errors` array) with arbitrary
    /// values, or arbitrary bytes.
    fn body() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let flat = (any::<String>(), any::<String>())
            .prop_map(|(c, m)| serde_json::json!({"error_code": c, "error_msg": m}).to_string().into_bytes());
        let array = (any::<String>(), any::<String>()).prop_map(|(c, m)| {
            serde_json::json!({"errors": [{"error_code": c, "error_msg": m}]}).to_string().into_bytes()
        });
        prop_oneof![flat, array, proptest::collection::vec(any::<u8>(), 0..256)]
    }

    proptest::proptest! {
        /// Any status and body: accepted or an error, never a panic; an HTTP
        /// error status, or a body naming an error code, is never accepted.
        #[test]
        fn prop_any_answer_is_checked_cleanly(status in 100u16..600, body in body()) {
            let a = Answer { status: status.try_into().unwrap(), headers: ::http::HeaderMap::new(), body: body.clone().into() };
            let checked = check(&a, Service::Factory);
            let names_a_code = serde_json::from_slice::<Value>(&body).ok().is_some_and(|v| {
                let code = |v: &Value| v.get("error_code").and_then(Value::as_str).is_some_and(|c| !c.is_empty());
                code(&v) || v.get("errors").and_then(Value::as_array).is_some_and(|a| a.iter().any(code))
            });
            if status >= 400 || names_a_code {
                proptest::prop_assert!(checked.is_err(), "status {status}: {:?}", String::from_utf8_lossy(&body));
            }
        }
    }
}
