//! The DataWorks HTTP client: RPC-style requests signed with
//! ACS3-HMAC-SHA256 exactly as the official SDK builds them, and answers
//! mapped to the gateway's error by the vendor's error **code**.
//!
//! | vendor code                                   | gRPC                                   |
//! |-----------------------------------------------|----------------------------------------|
//! | `Throttling.Api.Risk` (daily quota)           | RESOURCE_EXHAUSTED + QuotaFailure + RetryInfo (`x-acs-retry-after`, else to midnight in Asia/Shanghai); the API is closed until then |
//! | `Throttling.*`                                | UNAVAILABLE + RetryInfo (`x-acs-retry-after`) |
//! | `InvalidAccessKeyId.*`, `SignatureDoesNotMatch`, `IncompleteSignature`, `InvalidSecurityToken.*`, `MissingSecurityToken`, `MissingAuthorization` | INTERNAL, VENDOR_AUTH_FAILED: the gateway's own credentials (never retried) |
//! | `Forbidden*`, `NoPermission*`                 | PERMISSION_DENIED                      |
//! | `*NotExist*`, `*NotFound*`                    | NOT_FOUND                              |
//! | `InvalidParameter*`, `MissingParameter*`, `Invalid*` | INVALID_ARGUMENT                |
//! | `InternalError.*`, `ServiceUnavailable*`, HTTP 5xx | UNAVAILABLE                       |
//! | anything else                                 | FAILED_PRECONDITION                    |
//!
//! HTTP 200 with `Success: false` is an error like any other. A success is
//! handed back unread, as a [`Reply`] the caller reads into its wire type.

use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, de::IgnoredAny};
use tonic::Code;

use super::{
    api::{Api, Placement},
    credentials::Credentials,
    sign,
    wire::{self, Envelope, EnvelopeKey},
};
use crate::{
    config::{LiveSecret, Secret},
    domain::{CallCtx, Error, Reason, Result, VendorDetail},
    providers::{
        client::{
            Access, Action, Answer, USER_AGENT, Vendor, VendorClient, credentials_refused, from_json, is_object,
            sensitive,
        },
        signing,
    },
};

/// Where DataWorks' day ends: daily quotas reset at midnight, Beijing time.
pub(crate) const DAILY_RESET_ZONE: &str = "Asia/Shanghai";

/// What the shared client knows of DataWorks.
pub(crate) static VENDOR: Vendor = Vendor { name: "alibaba", request_id_header: "x-acs-request-id" };
/// The API version every action is called with.
pub(crate) const V2024: &str = "2024-05-18";

/// Access keys of one workspace, as configured.
pub struct Keys {
    /// Access key id.
    pub id: LiveSecret,
    /// Access key secret.
    pub secret: LiveSecret,
    /// STS token.
    pub token: Option<LiveSecret>,
}

impl Keys {
    /// The keys as they are now (files re-read when they changed).
    pub(crate) fn read(&self) -> Result<KeySet> {
        let unreadable = |e: crate::config::SecretError| {
            Error::new(Code::Internal, Reason::CredentialsUnavailable, format!("credentials: {e}"))
        };
        Ok(KeySet {
            id: self.id.get().map_err(unreadable)?,
            secret: self.secret.get().map_err(unreadable)?,
            token: self.token.as_ref().map(|t| t.get()).transpose().map_err(unreadable)?,
        })
    }
}

/// The keys one request is signed with (Debug shows no value).
#[derive(Debug)]
pub(crate) struct KeySet {
    /// Access key id.
    pub id: Secret,
    /// Access key secret.
    pub secret: Secret,
    /// STS security token (temporary keys).
    pub token: Option<Secret>,
}

/// An endpoint: the base URL and the host as signed.
pub(crate) struct Endpoint {
    base: String,
    host: String,
}

impl Endpoint {
    /// `base` (e.g. `https://dataworks.cn-hangzhou.aliyuncs.com`).
    pub(crate) fn parse(base: &str) -> anyhow::Result<Self> {
        let base = base.trim_end_matches('/').to_owned();
        let host =
            base.split_once("://").map(|(_, h)| h).unwrap_or(&base).split('/').next().unwrap_or_default().to_owned();
        anyhow::ensure!(!host.is_empty(), "endpoint {base:?} has no host");
        Ok(Endpoint { base, host })
    }

    /// The URL of `/` with `query`.
    pub(crate) fn url(&self, query: &[(String, String)]) -> String {
        let qs = sign::canonical_query_string(query);
        if qs.is_empty() { format!("{}/", self.base) } else { format!("{}/?{qs}", self.base) }
    }
}

/// Builds signed DataWorks requests for one endpoint and configured key pair
/// (the path [`Client::call`] takes, for `bench/` and tests that drive the
/// vendor API directly).
pub struct Signer {
    endpoint: Endpoint,
    keys: Keys,
}

/// One workspace's DataWorks client: signed requests sent through the
/// shared vendor client.
pub(crate) struct Client {
    endpoint: Endpoint,
    credentials: Credentials,
    vc: VendorClient,
}

impl Signer {
    /// A signer for `base` (e.g. `https://dataworks.cn-hangzhou.aliyuncs.com`).
    pub fn new(base: &str, keys: Keys) -> anyhow::Result<Self> {
        Ok(Signer { endpoint: Endpoint::parse(base)?, keys })
    }

    /// The signed HTTP request for `action` (API 2024-05-18), exactly as
    /// [`Client::call`] sends it. `query` and `form` are already
    /// stringified (booleans as the Python SDK writes them:
    /// `True`/`False`); the credential headers are marked sensitive.
    pub fn request(
        &self,
        action: Api,
        query: Vec<(String, String)>,
        form: Vec<(String, String)>,
    ) -> Result<::http::Request<Bytes>> {
        signed(&self.endpoint, &self.keys.read()?, action, query, form)
    }
}

/// The signed HTTP request for `action` with `keys`.
fn signed(
    endpoint: &Endpoint,
    keys: &KeySet,
    action: Api,
    mut query: Vec<(String, String)>,
    form: Vec<(String, String)>,
) -> Result<::http::Request<Bytes>> {
    let (ak, sk, token) = (&keys.id, &keys.secret, &keys.token);
    let (method, body) = match action.placement() {
        Placement::Form => ("POST", sign::form_encode(&form)),
        Placement::Query => {
            query.extend(form);
            ("GET", String::new())
        }
        Placement::QueryPost => {
            query.extend(form);
            ("POST", String::new())
        }
    };
    query.sort();
    let mut headers: Vec<(String, String)> = vec![
        ("host".into(), endpoint.host.clone()),
        ("accept".into(), "application/json".into()),
        ("user-agent".into(), USER_AGENT.into()),
        ("x-acs-action".into(), action.name().into()),
        ("x-acs-version".into(), V2024.into()),
        ("x-acs-date".into(), signing::format_acs_date(std::time::SystemTime::now())),
        ("x-acs-signature-nonce".into(), uuid::Uuid::new_v4().simple().to_string()),
        ("x-acs-content-sha256".into(), signing::sha256_hex(body.as_bytes())),
    ];
    if !body.is_empty() {
        headers.push(("content-type".into(), "application/x-www-form-urlencoded".into()));
    }
    if let Some(t) = token {
        headers.push(("x-acs-accesskey-id".into(), ak.expose().into()));
        headers.push(("x-acs-security-token".into(), t.expose().into()));
    }
    let signature = sign::sign(
        ak.expose(),
        sk.expose(),
        &sign::SignInput { method, path: "/", query: &query, headers: &headers, body: body.as_bytes() },
    );
    let mut b = ::http::Request::builder().method(method).uri(endpoint.url(&query));
    for (k, v) in &headers {
        match k.as_str() {
            "host" => {}
            "x-acs-security-token" => b = b.header(k.as_str(), sensitive(v)?),
            _ => b = b.header(k.as_str(), v.as_str()),
        }
    }
    b = b.header("authorization", sensitive(&signature.authorization)?);
    b.body(Bytes::from(body))
        .map_err(|e| Error::new(Code::Internal, Reason::RequestBuildFailed, format!("cannot build the request: {e}")))
}

impl Client {
    /// A client for `endpoint` signing with `credentials` and sending
    /// through `vc`.
    pub(crate) fn new(endpoint: Endpoint, credentials: Credentials, vc: VendorClient) -> Self {
        Client { endpoint, credentials, vc }
    }

    /// Calls `action` through the shared vendor client; a vendor failure
    /// is an error, a success the answer to read. Keys the vendor issued
    /// for a while that DataWorks refuses (expired early, revoked) are
    /// exchanged again and the call is sent once more: a refusal applied
    /// nothing.
    pub(crate) async fn call(
        &self,
        ctx: &CallCtx,
        action: Api,
        query: &[(String, String)],
        form: &[(String, String)],
    ) -> Result<Reply> {
        match self.call_once(ctx, action, query, form).await {
            Err(e) if e.reason == Reason::VendorAuthFailed && self.credentials.issued() => {
                self.call_once(ctx, action, query, form).await
            }
            other => other,
        }
    }

    async fn call_once(
        &self,
        ctx: &CallCtx,
        action: Api,
        query: &[(String, String)],
        form: &[(String, String)],
    ) -> Result<Reply> {
        let keys = self.credentials.current(ctx).await?;
        let keys = &keys;
        let out = self
            .vc
            .call(ctx, action, |x| async move {
                let req = signed(&self.endpoint, keys, action, query.to_vec(), form.to_vec())?;
                x.send(req, |a| parse(a, action)).await
            })
            .await;
        if let Err(e) = &out
            && e.reason == Reason::VendorAuthFailed
        {
            self.credentials.forget(keys).await;
        }
        out
    }
}

/// A successful DataWorks answer, read into its wire type on demand.
#[derive(Debug)]
pub(crate) struct Reply {
    action: Api,
    /// The request id header, for errors when the body names none.
    header_rid: Option<::http::HeaderValue>,
    body: Bytes,
}

impl Reply {
    /// The body as `T` (borrowing from it); a body of another shape is
    /// VENDOR_RESPONSE_MALFORMED with the vendor's request id.
    pub(crate) fn read<'a, T: Deserialize<'a>>(&'a self) -> Result<T> {
        self.read_view(true)
    }

    /// [`Reply::read`], its records kept only when `full` (VIEW_FULL).
    /// A read's answer reaches here unchecked by [`parse`] when it cannot
    /// say `Success:false`: this is its one pass, and a body that fails it
    /// is looked at whole again, so a failure it spells is still reported
    /// as that failure.
    pub(crate) fn read_view<'a, T: Deserialize<'a>>(&'a self, full: bool) -> Result<T> {
        wire::read(&self.body, full).map_err(|e| match self.classified() {
            Err(failure) => failure,
            Ok(c) => self.malformed_as(&c.request_id, e),
        })
    }

    /// VENDOR_RESPONSE_MALFORMED for this answer.
    pub(crate) fn malformed(&self, what: impl std::fmt::Display) -> Error {
        let rid = match self.classified() {
            Ok(c) => c.request_id,
            Err(e) => e.vendor.as_ref().map(|v| v.request_id.clone()).unwrap_or_default(),
        };
        self.malformed_as(&rid, what)
    }

    /// VENDOR_RESPONSE_MALFORMED for this answer, whose request id is `rid`.
    fn malformed_as(&self, rid: &str, what: impl std::fmt::Display) -> Error {
        Error::malformed(VENDOR.name, rid, 200, format_args!("{}: {what}", self.action.name()))
    }

    /// The whole answer read as [`parse`] reads an answer it checks
    /// (error paths only).
    fn classified(&self) -> Result<Classified> {
        let header_rid = self.header_rid.as_ref().and_then(|v| v.to_str().ok()).unwrap_or_default();
        classify(::http::StatusCode::OK, header_rid, None, &self.body)
    }
}

/// A loosely read envelope value as text: a string, or a number's digits.
fn text(v: Option<&str>) -> String {
    match v {
        Some(s) if s.starts_with('"') => serde_json::from_str(s).unwrap_or_default(),
        Some(s) if s.starts_with(|c: char| c == '-' || c.is_ascii_digit()) => s.to_owned(),
        _ => String::new(),
    }
}

/// Whether `body` may hold a `"Success"` key whose value is `false`: some
/// `"Success"` is followed by `:` and `false`. Without one, a 2xx answer
/// cannot be a legacy operation's failure (DataWorks writes its keys
/// without escapes; a read's typed pass looks again when it fails).
fn may_say_failure(body: &[u8]) -> bool {
    const KEY: &[u8] = b"\"Success\"";
    let blank = |b: &u8| b.is_ascii_whitespace();
    memchr::memmem::find_iter(body, KEY).any(|at| {
        let rest = &body[at + KEY.len()..];
        let rest = &rest[rest.iter().position(|b| !blank(b)).unwrap_or(rest.len())..];
        let Some(rest) = rest.strip_prefix(b":") else { return false };
        rest.iter().find(|b| !blank(b)).is_some_and(|b| *b == b'f')
    })
}

/// Reads an answer's envelope: HTTP errors and `Success:false` become
/// errors; anything else is the [`Reply`] to read.
///
/// A read's 2xx answer that cannot say `Success:false` is not read here:
/// its typed read is its one pass over the body (see
/// [`Reply::read_view`]), instead of a pass here that skips the whole
/// payload token by token only to find the envelope (a fifth of a page's
/// instructions). A write's answer is always checked here, since some are
/// never read.
pub(crate) fn parse(a: &Answer, action: Api) -> Result<Reply> {
    let header_rid = a.headers.get(VENDOR.request_id_header);
    let reply = Reply { action, header_rid: header_rid.cloned(), body: a.body.clone() };
    if a.status.is_success() && action.access() == Access::Read && is_object(&a.body) && !may_say_failure(&a.body) {
        return Ok(reply);
    }
    let retry_after =
        a.header("x-acs-retry-after").and_then(|s| s.trim().parse::<u64>().ok()).map(Duration::from_millis);
    let header_rid = header_rid.and_then(|v| v.to_str().ok()).unwrap_or_default();
    classify(a.status, header_rid, retry_after, &a.body).map(|_| reply)
}

/// An answer [`classify`] found no failure in.
struct Classified {
    /// The body's request id, else the header's.
    request_id: String,
}

/// Reads an answer's envelope whole: its failure, if it spells one.
fn classify(
    status: ::http::StatusCode,
    header_rid: &str,
    retry_after: Option<Duration>,
    body: &[u8],
) -> Result<Classified> {
    let code = status.as_u16();
    let object = is_object(body);
    let env = if object {
        from_json::<Envelope>(body)
    } else {
        serde_json::from_slice::<IgnoredAny>(body).map(|_| Envelope::default())
    };
    let env = match env {
        Ok(env) => env,
        Err(e) => {
            if status.is_server_error() {
                return Err(map_code("", code, header_rid, "the DataWorks API failed", None));
            }
            return Err(Error::malformed(VENDOR.name, header_rid, code, format_args!("body is not JSON ({e})")));
        }
    };
    let field = |k: EnvelopeKey| text(env.get(k));
    // The first non-empty of two spellings.
    let either = |a, b| Some(field(a)).filter(|t| !t.is_empty()).unwrap_or_else(|| field(b));
    let rid = match either(EnvelopeKey::RequestId, EnvelopeKey::RequestIdCamel) {
        r if r.is_empty() => header_rid.to_owned(),
        r => r,
    };
    if !status.is_success() {
        let (c, msg) = (
            either(EnvelopeKey::Code, EnvelopeKey::CodeCamel),
            either(EnvelopeKey::Message, EnvelopeKey::MessageCamel),
        );
        return Err(map_code(&c, code, &rid, &msg, retry_after));
    }
    if env.get(EnvelopeKey::Success) == Some("false") {
        let http = field(EnvelopeKey::HttpStatusCode).parse().unwrap_or(200);
        let (c, msg) = (field(EnvelopeKey::ErrorCode), field(EnvelopeKey::ErrorMessage));
        return Err(map_code(&c, http, &rid, &msg, retry_after));
    }
    if !object {
        return Err(Error::malformed(VENDOR.name, &rid, code, "body is not a JSON object"));
    }
    Ok(Classified { request_id: rid })
}

/// Maps a DataWorks error code (see the module table).
pub(crate) fn map_code(code: &str, status: u16, rid: &str, msg: &str, retry_after: Option<Duration>) -> Error {
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
        // Closed until the advertised reset, else DataWorks' next midnight.
        e.retry_after = Some(retry_after.unwrap_or_else(|| {
            let zone = jiff::tz::TimeZone::get(DAILY_RESET_ZONE).unwrap_or(jiff::tz::TimeZone::UTC);
            crate::limit::closed::until_next_day(&zone, jiff::Timestamp::now())
        }));
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
        || code == "MissingSecurityToken"
        || code == "MissingAuthorization"
    {
        credentials_refused("DataWorks", msg)
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

    fn parse(a: &Answer) -> Result<Reply> {
        super::parse(a, Api::GetFile)
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
        assert_eq!((e.code, e.reason), (Code::ResourceExhausted, Reason::VendorDailyQuotaExhausted));
        assert!(e.quota.is_some());
        let to_midnight = e.retry_after.expect("closed until DataWorks' midnight");
        assert!(to_midnight > Duration::ZERO && to_midnight <= Duration::from_secs(86_400), "{to_midnight:?}");
        let e = parse(&answer(429, r#"{"Code":"Throttling.Api.Risk"}"#, Some("7200000"))).unwrap_err();
        assert_eq!(e.retry_after, Some(Duration::from_secs(7200)), "the advertised reset wins");
        let e = parse(&answer(404, r#"{"Code":"InvalidAccessKeyId.NotFound"}"#, None)).unwrap_err();
        assert_eq!((e.code, e.reason), (Code::Internal, Reason::VendorAuthFailed));
        let e = parse(&answer(500, r#"{"Code":"InternalError.System"}"#, None)).unwrap_err();
        assert_eq!(e.code, Code::Unavailable);
        let cut = parse(&answer(200, r#"{"RequestId":"R3","Data":{"#, None)).expect("read by its typed read");
        let e = cut.read::<IgnoredAny>().unwrap_err();
        assert_eq!((e.code, e.reason), (Code::Internal, Reason::VendorResponseMalformed));
        let e = parse(&answer(200, "[1]", None)).unwrap_err();
        assert_eq!(e.code, Code::Internal);
    }

    /// A DataWorks-shaped envelope with arbitrary values, or arbitrary bytes.
    fn body() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let field = prop_oneof![
            any::<String>().prop_map(serde_json::Value::String),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<bool>().prop_map(serde_json::Value::Bool),
            Just(serde_json::Value::Null),
        ];
        let envelope = proptest::collection::btree_map(
            prop_oneof![
                Just("Code".to_owned()),
                Just("Message".to_owned()),
                Just("Success".to_owned()),
                Just("RequestId".to_owned()),
                Just("Data".to_owned()),
                ".{0,8}",
            ],
            field,
            0..6,
        )
        .prop_map(|m| serde_json::to_vec(&m).unwrap_or_default());
        prop_oneof![envelope, proptest::collection::vec(any::<u8>(), 0..256)]
    }

    #[test]
    fn only_a_success_key_followed_by_false_may_say_failure() {
        for body in [
            r#"{"Success":false}"#,
            r#"{"Data":{"Success": true},"Success" :
               false}"#,
            r#"{"Data":{"Success":false}}"#,
        ] {
            assert!(may_say_failure(body.as_bytes()), "{body}");
        }
        for body in [
            r#"{"Success":true,"Data":{"Name":"Success","Flag":false}}"#,
            r#"{"Data":{"Note":"\"Success\": false","Success":"false"}}"#,
            r#"{"RequestId":"R","Data":{}}"#,
            r#"{"Success""#,
        ] {
            assert!(!may_say_failure(body.as_bytes()), "{body}");
        }
    }

    #[test]
    fn a_read_answer_is_checked_by_its_typed_read_and_a_failure_it_spells_is_still_that_failure() {
        // The quick check lets a key spelled with an escape through; the
        // failed typed read reads the envelope and finds the failure.
        let a = answer(200, r#"{"RequestId":"R9","Succ\u0065ss":false,"ErrorCode":"Invalid.File.NotExists"}"#, None);
        let reply = parse(&a).expect("not looked at before its typed read");
        let e = reply.read::<super::wire::GetFile>().unwrap_err();
        assert_eq!((e.code, e.reason), (Code::NotFound, Reason::VendorNotFound), "{e}");
        assert_eq!(e.vendor.as_ref().unwrap().request_id, "R9");
        // A write's answer is checked before anyone reads it.
        let e = super::parse(&answer(200, r#"{"RequestId":"R8","Success":true,"Data":"#, None), Api::DeployFile)
            .unwrap_err();
        assert_eq!((e.code, e.reason), (Code::Internal, Reason::VendorResponseMalformed), "{e}");
    }

    proptest::proptest! {
        /// Any status and body: an answer or an error, never a panic; an
        /// HTTP error status or a body that is not JSON is never an answer
        /// (for a read, once its typed read has run; a write's answer is
        /// refused by `parse` itself).
        #[test]
        fn prop_any_answer_reads_or_fails_cleanly(status in 100u16..600, body in body()) {
            let a = Answer { status: status.try_into().unwrap(), headers: ::http::HeaderMap::new(), body: body.clone().into() };
            let refused = status >= 400 || serde_json::from_slice::<serde_json::Value>(&body).is_err();
            let read = super::parse(&a, Api::ListFiles).and_then(|r| r.read::<IgnoredAny>().map(|_| ()));
            let written = super::parse(&a, Api::DeployFile);
            if refused {
                proptest::prop_assert!(read.is_err());
                proptest::prop_assert!(written.is_err());
            }
            for e in [read.err(), written.err()].into_iter().flatten() {
                proptest::prop_assert!(e.code != Code::Ok);
            }
        }
    }
}
