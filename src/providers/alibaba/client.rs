//! The DataWorks HTTP client: RPC-style requests signed with
//! ACS3-HMAC-SHA256 exactly as the official SDK builds them, and answers
//! mapped to the gateway's error by the vendor's error **code**.
//!
//! | vendor code                                   | gRPC                                   |
//! |-----------------------------------------------|----------------------------------------|
//! | `Throttling.Api.Risk`                         | RESOURCE_EXHAUSTED + QuotaFailure      |
//! | `Throttling.*`                                | UNAVAILABLE + RetryInfo (`x-acs-retry-after`) |
//! | `InvalidAccessKeyId.*`, `SignatureDoesNotMatch`, `IncompleteSignature`, `InvalidSecurityToken.*`, `MissingAuthorization` | UNAUTHENTICATED (never retried) |
//! | `Forbidden*`, `NoPermission*`                 | PERMISSION_DENIED                      |
//! | `*NotExist*`, `*NotFound*`                    | NOT_FOUND                              |
//! | `InvalidParameter*`, `MissingParameter*`, `Invalid*` | INVALID_ARGUMENT                |
//! | `InternalError.*`, `ServiceUnavailable*`, HTTP 5xx | UNAVAILABLE                       |
//! | anything else                                 | FAILED_PRECONDITION                    |
//!
//! HTTP 200 with `Success: false` is an error like any other.

use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;
use tonic::Code;

use super::{
    api::{Api, Placement},
    sign,
};
use crate::{
    config::LiveSecret,
    domain::{CallCtx, Error, Reason, Result, VendorDetail},
    providers::{
        client::{Action, Answer, USER_AGENT, Vendor, VendorClient, sensitive},
        signing,
    },
};

/// What the shared client knows of DataWorks.
pub static VENDOR: Vendor = Vendor { name: "alibaba", request_id_header: "x-acs-request-id" };
/// The API version every action is called with.
pub const V2024: &str = "2024-05-18";

/// Credentials of one workspace.
pub struct Keys {
    /// Access key id.
    pub id: LiveSecret,
    /// Access key secret.
    pub secret: LiveSecret,
    /// STS token.
    pub token: Option<LiveSecret>,
}

/// Builds signed DataWorks requests for one endpoint and key pair.
pub struct Signer {
    base: String,
    host: String,
    keys: Keys,
}

/// One workspace's DataWorks client: signed requests sent through the
/// shared vendor client.
pub struct Client {
    signer: Signer,
    vc: VendorClient,
}

impl Signer {
    /// A signer for `base` (e.g. `https://dataworks.cn-hangzhou.aliyuncs.com`).
    pub fn new(base: &str, keys: Keys) -> anyhow::Result<Self> {
        let base = base.trim_end_matches('/').to_owned();
        let host =
            base.split_once("://").map(|(_, h)| h).unwrap_or(&base).split('/').next().unwrap_or_default().to_owned();
        anyhow::ensure!(!host.is_empty(), "endpoint {base:?} has no host");
        Ok(Signer { base, host, keys })
    }

    /// The signed HTTP request for `action` (API 2024-05-18), exactly as
    /// [`Client::call`] sends it (also used by `bench/` to drive the vendor
    /// API directly). `query` and `form` are already stringified (booleans
    /// as the Python SDK writes them: `True`/`False`); the credential
    /// headers are marked sensitive.
    pub fn request(
        &self,
        action: Api,
        mut query: Vec<(String, String)>,
        form: Vec<(String, String)>,
    ) -> Result<::http::Request<Bytes>> {
        let auth_err = |e: crate::config::SecretError| {
            Error::new(Code::Internal, Reason::CredentialsUnavailable, format!("credentials: {e}"))
        };
        let ak = self.keys.id.get().map_err(auth_err)?;
        let sk = self.keys.secret.get().map_err(auth_err)?;
        let token = self.keys.token.as_ref().map(|t| t.get()).transpose().map_err(auth_err)?;
        let (method, body) = match action.placement() {
            Placement::Form => ("POST", sign::form_encode(&form)),
            Placement::Query => {
                query.extend(form);
                ("GET", String::new())
            }
        };
        query.sort();
        let mut headers: Vec<(String, String)> = vec![
            ("host".into(), self.host.clone()),
            ("accept".into(), "application/json".into()),
            ("user-agent".into(), USER_AGENT.into()),
            ("x-acs-action".into(), action.name().into()),
            ("x-acs-version".into(), V2024.into()),
            ("x-acs-date".into(), signing::format_acs_date(std::time::SystemTime::now())),
            ("x-acs-signature-nonce".into(), uuid::Uuid::new_v4().simple().to_string()),
            ("x-acs-content-sha256".into(), signing::sha256_hex(body.as_bytes())),
        ];
        if method == "POST" {
            headers.push(("content-type".into(), "application/x-www-form-urlencoded".into()));
        }
        if let Some(t) = &token {
            headers.push(("x-acs-accesskey-id".into(), ak.expose().into()));
            headers.push(("x-acs-security-token".into(), t.expose().into()));
        }
        let signature = sign::sign(
            ak.expose(),
            sk.expose(),
            &sign::SignInput { method, path: "/", query: &query, headers: &headers, body: body.as_bytes() },
        );
        let qs = sign::canonical_query_string(&query);
        let url = if qs.is_empty() { format!("{}/", self.base) } else { format!("{}/?{qs}", self.base) };
        let mut b = ::http::Request::builder().method(method).uri(url);
        for (k, v) in &headers {
            match k.as_str() {
                "host" => {}
                "x-acs-security-token" => b = b.header(k.as_str(), sensitive(v)?),
                _ => b = b.header(k.as_str(), v.as_str()),
            }
        }
        b = b.header("authorization", sensitive(&signature.authorization)?);
        b.body(Bytes::from(body)).map_err(|e| {
            Error::new(Code::Internal, Reason::RequestBuildFailed, format!("cannot build the request: {e}"))
        })
    }
}

impl Client {
    /// A client signing with `signer` and sending through `vc`.
    pub fn new(signer: Signer, vc: VendorClient) -> Self {
        Client { signer, vc }
    }

    /// Calls `action` through the shared vendor client.
    pub async fn call(
        &self,
        ctx: &CallCtx,
        action: Api,
        query: &[(String, String)],
        form: &[(String, String)],
    ) -> Result<Value> {
        self.vc
            .call(ctx, action, |x| async move {
                let req = self.signer.request(action, query.to_vec(), form.to_vec())?;
                x.send(req, parse).await
            })
            .await
    }
}

fn text(v: &Value, k: &str) -> String {
    match v.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// Reads an answer: JSON body, `Success:false` and HTTP errors become errors.
pub fn parse(a: &Answer) -> Result<Value> {
    let status = a.status.as_u16();
    let v: Value = match serde_json::from_slice(&a.body) {
        Ok(v) => v,
        Err(e) => {
            let rid = a.header(VENDOR.request_id_header).unwrap_or_default();
            if a.status.is_server_error() {
                return Err(map_code("", status, rid, "the DataWorks API failed", None));
            }
            return Err(Error::malformed(VENDOR.name, rid, status, format_args!("body is not JSON ({e})")));
        }
    };
    let rid = {
        let r = text(&v, "RequestId");
        if r.is_empty() { text(&v, "requestId") } else { r }
    };
    let retry_after =
        a.header("x-acs-retry-after").and_then(|s| s.trim().parse::<u64>().ok()).map(Duration::from_millis);
    if !a.status.is_success() {
        let code = [text(&v, "Code"), text(&v, "code")].into_iter().find(|c| !c.is_empty()).unwrap_or_default();
        let msg = [text(&v, "Message"), text(&v, "message")].into_iter().find(|c| !c.is_empty()).unwrap_or_default();
        return Err(map_code(&code, status, &rid, &msg, retry_after));
    }
    if v.get("Success") == Some(&Value::Bool(false)) {
        let code = text(&v, "ErrorCode");
        let http = v.get("HttpStatusCode").and_then(Value::as_u64).unwrap_or(200) as u16;
        return Err(map_code(&code, http, &rid, &text(&v, "ErrorMessage"), retry_after));
    }
    if !v.is_object() {
        return Err(Error::malformed(VENDOR.name, &rid, status, "body is not a JSON object"));
    }
    Ok(v)
}

/// Maps a DataWorks error code (see the module table).
pub fn map_code(code: &str, status: u16, rid: &str, msg: &str, retry_after: Option<Duration>) -> Error {
    let detail = VendorDetail {
        vendor: VENDOR.name.into(),
        code: if code.is_empty() { format!("HTTP{status}") } else { code.to_owned() },
        request_id: rid.to_owned(),
        http_status: status,
    };
    let msg = if msg.is_empty() { "no message" } else { msg };
    let has = |p: &str| code.contains(p);
    let mut e = if code == "Throttling.Api.Risk" {
        let mut e = Error::new(
            Code::ResourceExhausted,
            Reason::VendorDailyQuotaExhausted,
            format!("DataWorks daily quota used up: {msg}"),
        );
        e.quota = Some((format!("vendor:{}", VENDOR.name), "the DataWorks daily API call quota is used up".into()));
        e
    } else if code.starts_with("Throttling") || status == 429 {
        let mut e =
            Error::new(Code::Unavailable, Reason::VendorThrottled, format!("DataWorks throttled the call: {msg}"));
        e.retry_after = Some(retry_after.unwrap_or(Duration::from_secs(1)));
        e
    } else if code.starts_with("InvalidAccessKeyId")
        || code.starts_with("SignatureDoesNotMatch")
        || code.starts_with("IncompleteSignature")
        || code.starts_with("InvalidSecurityToken")
        || code == "MissingAuthorization"
    {
        Error::new(
            Code::Unauthenticated,
            Reason::VendorAuthFailed,
            format!("DataWorks rejected the gateway's credentials: {msg}"),
        )
    } else if code.starts_with("Forbidden") || code.starts_with("NoPermission") {
        Error::new(Code::PermissionDenied, Reason::VendorPermissionDenied, format!("DataWorks denied access: {msg}"))
    } else if has("NotExist") || has("NotFound") {
        Error::new(Code::NotFound, Reason::VendorNotFound, msg)
    } else if code.starts_with("InternalError") || code.starts_with("ServiceUnavailable") || status >= 500 {
        Error::new(Code::Unavailable, Reason::VendorUnavailable, format!("DataWorks failed: {msg}"))
    } else if code.starts_with("InvalidParameter")
        || code.starts_with("MissingParameter")
        || code.starts_with("Invalid")
    {
        Error::new(
            Code::InvalidArgument,
            Reason::VendorInvalidArgument,
            format!("DataWorks refused a parameter: {msg}"),
        )
    } else {
        Error::new(Code::FailedPrecondition, Reason::VendorRefused, format!("DataWorks refused the call: {msg}"))
    };
    e.vendor = Some(detail);
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str, retry: Option<&str>) -> Answer {
        let mut headers = ::http::HeaderMap::new();
        if let Some(r) = retry {
            headers.insert("x-acs-retry-after", r.parse().unwrap());
        }
        Answer { status: status.try_into().unwrap(), headers, body: bytes::Bytes::from(body.to_owned()) }
    }

    #[test]
    fn codes_map_by_code_not_status() {
        let e = parse(&answer(
            200,
            r#"{"RequestId":"R1","Success":false,"ErrorCode":"Forbidden.Access","ErrorMessage":"no"}"#,
            None,
        ))
        .unwrap_err();
        assert_eq!(e.code, Code::PermissionDenied);
        assert_eq!(e.vendor.as_ref().unwrap().request_id, "R1");
        let e = parse(&answer(429, r#"{"RequestId":"R2","Code":"Throttling.User","Message":"slow"}"#, Some("1500")))
            .unwrap_err();
        assert_eq!((e.code, e.retry_after), (Code::Unavailable, Some(Duration::from_millis(1500))));
        let e = parse(&answer(429, r#"{"Code":"Throttling.Api.Risk"}"#, None)).unwrap_err();
        assert_eq!(e.code, Code::ResourceExhausted);
        assert!(e.quota.is_some());
        let e = parse(&answer(404, r#"{"Code":"InvalidAccessKeyId.NotFound"}"#, None)).unwrap_err();
        assert_eq!(e.code, Code::Unauthenticated);
        let e = parse(&answer(500, r#"{"Code":"InternalError.System"}"#, None)).unwrap_err();
        assert_eq!(e.code, Code::Unavailable);
        let e = parse(&answer(200, r#"{"RequestId":"R3","Data":{"#, None)).unwrap_err();
        assert_eq!(e.code, Code::Internal);
        let e = parse(&answer(200, "[1]", None)).unwrap_err();
        assert_eq!(e.code, Code::Internal);
    }
}
