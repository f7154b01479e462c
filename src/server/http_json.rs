//! HTTP/JSON on the gRPC port: the `google.api.http` bindings of
//! `datastudio.v1` (AIP-127), transcoded into gRPC calls that go down the
//! same stack as every other call (trace → admission → auth → the
//! services), so limits, deadlines, tracing and audit are shared and
//! nothing is done twice.
//!
//! A request is taken here when its path starts with `/v1/` and its
//! content type is not gRPC; anything else goes on unchanged (gRPC, and
//! gRPC-Web, which the next layer turns into gRPC).
//!
//! - **Request**: path variables, query parameters (`page_size=10`,
//!   `create_time.start_time=…`, repeated fields by repeating the key) and
//!   the JSON body (`body: "*"`) make one proto3 JSON object, read into the
//!   method's request message; headers become gRPC metadata
//!   (`Authorization`, `traceparent`, …). The deadline is `grpc-timeout`
//!   as is, or `X-Server-Timeout` in seconds (`2.5`).
//! - **Answer**: the response message as canonical proto3 JSON
//!   (lowerCamelCase names, enums by name, 64-bit integers as strings).
//! - **Errors**: a JSON `google.rpc.Status` (`code`, `message`, `details`
//!   with `@type`), the HTTP status mapped from the gRPC code as in
//!   `google/rpc/code.proto`; RetryInfo also becomes `Retry-After`.
//! - **Server streaming** (`WatchDeployment`): server-sent events when the
//!   `Accept` header names `text/event-stream` (`data: {…}` per message,
//!   `event: error` with a Status if the stream fails), otherwise JSON
//!   lines (`application/x-ndjson`, one message per line, a failure as a
//!   last line `{"error": {…}}`). An error before the first message is an
//!   ordinary JSON error answer.

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Version, header};
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, Kind, MessageDescriptor, Value};
use serde_json::{Map, Value as Json};
use tonic::{Code, Status, body::Body};
use tonic_types::StatusExt;
use tower::{Layer, Service};

use crate::domain::{Error, Reason};

/// Headers that describe the HTTP/JSON exchange itself and are not passed
/// on as gRPC metadata.
const HOP_HEADERS: [header::HeaderName; 8] = [
    header::CONTENT_TYPE,
    header::CONTENT_LENGTH,
    header::ACCEPT,
    header::ACCEPT_ENCODING,
    header::TRANSFER_ENCODING,
    header::CONNECTION,
    header::HOST,
    header::TE,
];

/// The deadline header for HTTP/JSON callers, in seconds.
const SERVER_TIMEOUT: &str = "x-server-timeout";

/// Path variables of a matched request: (field path, value).
type Vars = Vec<(String, String)>;

/// The HTTP/JSON routes read from the descriptor set.
#[derive(Debug)]
pub(crate) struct Routes {
    /// Custom-verb routes first, so `…/deployments/d:watch` is not read as
    /// a deployment named `d:watch`.
    routes: Vec<Route>,
    /// Decodes error details (google.rpc.Status and its detail types).
    status: MessageDescriptor,
    /// Largest request body, bytes (`server.max_message_bytes`).
    max_body: usize,
}

#[derive(Debug)]
struct Route {
    method: Method,
    template: Template,
    body: BodyRule,
    /// `/datastudio.v1.ReleaseService/ListReleasePackages`.
    grpc_path: String,
    input: MessageDescriptor,
    output: MessageDescriptor,
    streaming: bool,
}

#[derive(Debug)]
enum BodyRule {
    /// No body: every field not in the path comes from the query.
    None,
    /// `body: "*"`: the body is the request message.
    Whole,
}

/// A path template (`/v1/{name=workspaces/*/deployments/*}:watch`).
#[derive(Debug)]
struct Template {
    segments: Vec<Segment>,
    /// Variables: field path, first segment, number of segments.
    variables: Vec<(String, usize, usize)>,
    verb: Option<String>,
}

#[derive(Debug)]
enum Segment {
    Literal(String),
    /// `*`: any one segment.
    Any,
}

impl Routes {
    /// Reads every `google.api.http` binding of the services in
    /// `descriptor_sets` (encoded `FileDescriptorSet`s, options kept).
    pub(crate) fn new(descriptor_sets: &[&[u8]], max_body: usize) -> anyhow::Result<Self> {
        let mut pool = DescriptorPool::new();
        for set in descriptor_sets {
            pool.decode_file_descriptor_set(*set)?;
        }
        let http = pool
            .get_extension_by_name("google.api.http")
            .ok_or_else(|| anyhow::anyhow!("the descriptor set lacks google/api/annotations.proto"))?;
        let status = pool
            .get_message_by_name("google.rpc.Status")
            .ok_or_else(|| anyhow::anyhow!("the descriptor set lacks google/rpc/status.proto"))?;
        let mut routes = Vec::new();
        for service in pool.services() {
            for method in service.methods() {
                let options = method.options();
                if !options.has_extension(&http) {
                    continue;
                }
                let grpc_path = format!("/{}/{}", service.full_name(), method.name());
                let rule = options.get_extension(&http);
                read_rule(&rule, &grpc_path, &method, &mut routes)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", method.full_name()))?;
            }
        }
        routes.sort_by_key(|r| r.template.verb.is_none());
        Ok(Routes { routes, status, max_body })
    }

    /// Whether `req` is an HTTP/JSON call (not gRPC or gRPC-Web).
    fn takes<B>(req: &Request<B>) -> bool {
        let grpc = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/grpc"));
        !grpc && req.uri().path().starts_with("/v1/")
    }

    /// The route and its path variables for `method` and `path`; a path
    /// that matches with another method is METHOD_NOT_ALLOWED.
    fn find(&self, method: &Method, path: &str) -> Result<(&Route, Vars), Refusal> {
        let mut other_method = false;
        for route in &self.routes {
            if let Some(vars) = route.template.matches(path) {
                if route.method == *method {
                    return Ok((route, vars));
                }
                other_method = true;
            }
        }
        if other_method {
            return Err(Refusal::http(
                StatusCode::METHOD_NOT_ALLOWED,
                Error::new(Code::Unimplemented, Reason::RouteNotFound, format!("{path} does not take {method}")),
            ));
        }
        Err(Refusal::grpc(Error::new(
            Code::NotFound,
            Reason::RouteNotFound,
            format!("no HTTP/JSON route for {method} {path}"),
        )))
    }
}

fn read_rule(
    rule: &Value,
    grpc_path: &str,
    method: &prost_reflect::MethodDescriptor,
    routes: &mut Vec<Route>,
) -> anyhow::Result<()> {
    let Value::Message(rule) = rule else { anyhow::bail!("google.api.http is not a message") };
    let text = |name: &str| match rule.get_field_by_name(name).as_deref() {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    let verbs = [
        ("get", Method::GET),
        ("put", Method::PUT),
        ("post", Method::POST),
        ("delete", Method::DELETE),
        ("patch", Method::PATCH),
    ];
    let Some((path, verb)) = verbs.into_iter().find_map(|(f, m)| text(f).map(|p| (p, m))) else {
        anyhow::bail!("only get, put, post, delete and patch bindings are served");
    };
    let body = match text("body").as_deref() {
        None => BodyRule::None,
        Some("*") => BodyRule::Whole,
        Some(f) => anyhow::bail!("body: {f:?} is not served (only \"*\")"),
    };
    if text("response_body").is_some() {
        anyhow::bail!("response_body is not served");
    }
    routes.push(Route {
        method: verb,
        template: Template::parse(&path)?,
        body,
        grpc_path: grpc_path.to_owned(),
        input: method.input(),
        output: method.output(),
        streaming: method.is_server_streaming(),
    });
    if let Some(Value::List(more)) = rule.get_field_by_name("additional_bindings").as_deref() {
        for extra in more {
            read_rule(extra, grpc_path, method, routes)?;
        }
    }
    Ok(())
}

impl Template {
    fn parse(template: &str) -> anyhow::Result<Self> {
        let Some(rest) = template.strip_prefix('/') else { anyhow::bail!("{template:?} does not start with /") };
        // The verb follows the last ':' after the last '/' or '}'.
        let tail = rest.rfind(['/', '}']).map_or(0, |i| i + 1);
        let (path, verb) = match rest[tail..].find(':') {
            Some(i) => (&rest[..tail + i], Some(rest[tail + i + 1..].to_owned())),
            None => (rest, None),
        };
        let mut segments = Vec::new();
        let mut variables = Vec::new();
        let mut chars = path;
        while !chars.is_empty() {
            if let Some(var) = chars.strip_prefix('{') {
                let end = var.find('}').ok_or_else(|| anyhow::anyhow!("unclosed {{ in {template:?}"))?;
                let (field, pattern) = var[..end].split_once('=').unwrap_or((&var[..end], "*"));
                let start = segments.len();
                for p in pattern.split('/') {
                    segments.push(Segment::read(p, template)?);
                }
                variables.push((field.to_owned(), start, segments.len() - start));
                chars = var[end + 1..].strip_prefix('/').unwrap_or(&var[end + 1..]);
            } else {
                let end = chars.find('/').unwrap_or(chars.len());
                segments.push(Segment::read(&chars[..end], template)?);
                chars = chars.get(end + 1..).unwrap_or("");
            }
        }
        Ok(Template { segments, variables, verb })
    }

    /// The path variables (decoded) when `path` matches.
    fn matches(&self, path: &str) -> Option<Vars> {
        let path = path.strip_prefix('/')?;
        let path = match &self.verb {
            Some(verb) => path.strip_suffix(verb.as_str())?.strip_suffix(':')?,
            None => path,
        };
        let parts: Vec<String> = path.split('/').map(decode).collect::<Option<_>>()?;
        if parts.len() != self.segments.len() {
            return None;
        }
        let fits = self.segments.iter().zip(&parts).all(|(s, p)| match s {
            Segment::Literal(l) => l == p,
            Segment::Any => !p.is_empty(),
        });
        fits.then(|| {
            self.variables
                .iter()
                .map(|(field, start, len)| (field.clone(), parts[*start..start + len].join("/")))
                .collect()
        })
    }
}

impl Segment {
    fn read(s: &str, template: &str) -> anyhow::Result<Self> {
        match s {
            "*" => Ok(Segment::Any),
            "" | "**" => anyhow::bail!("{template:?}: empty and ** segments are not served"),
            l => Ok(Segment::Literal(l.to_owned())),
        }
    }
}

/// Percent-decodes one path segment (None when not UTF-8).
fn decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s).decode_utf8().ok().map(|c| c.into_owned())
}

/// An answer before or instead of the gRPC call.
struct Refusal {
    status: Status,
    /// Overrides the HTTP status of the code (405).
    http: Option<StatusCode>,
}

impl Refusal {
    fn grpc(error: Error) -> Self {
        Refusal { status: error.into(), http: None }
    }

    fn http(http: StatusCode, error: Error) -> Self {
        Refusal { status: error.into(), http: Some(http) }
    }

    /// INVALID_ARGUMENT naming the field (BadRequest).
    fn field(field: &str, description: impl Into<String>) -> Self {
        Refusal::grpc(Error::invalid(field, description))
    }
}

/// The layer that serves HTTP/JSON in front of `S`.
#[derive(Clone)]
pub(crate) struct HttpJsonLayer {
    routes: Arc<Routes>,
}

impl HttpJsonLayer {
    pub(crate) fn new(routes: Routes) -> Self {
        HttpJsonLayer { routes: Arc::new(routes) }
    }
}

impl<S> Layer<S> for HttpJsonLayer {
    type Service = HttpJson<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpJson { inner, routes: self.routes.clone() }
    }
}

/// See [`HttpJsonLayer`].
#[derive(Clone)]
pub(crate) struct HttpJson<S> {
    inner: S,
    routes: Arc<Routes>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S> Service<Request<Body>> for HttpJson<S>
where
    S: Service<Request<Body>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        if !Routes::takes(&req) {
            return Box::pin(self.inner.call(req));
        }
        // The ready service goes to this call; a clone waits for the next.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let routes = self.routes.clone();
        Box::pin(async move {
            let sse = wants_sse(req.headers());
            match transcode(&routes, req).await {
                Ok((route, grpc)) => Ok(answer(&routes, route, inner, grpc, sse).await),
                Err(refusal) => Ok(error_response(&routes, &refusal.status, refusal.http)),
            }
        })
    }
}

fn wants_sse(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).any(|v| v.contains("text/event-stream"))
}

/// Reads an HTTP/JSON request into the gRPC request of its route.
async fn transcode(routes: &Routes, req: Request<Body>) -> Result<(&Route, Request<Body>), Refusal> {
    let (parts, body) = req.into_parts();
    let (route, vars) = routes.find(&parts.method, parts.uri.path())?;
    let body = Limited::new(body, routes.max_body).collect().await.map_err(|e| {
        if e.is::<http_body_util::LengthLimitError>() {
            Refusal::field("body", format!("larger than {} bytes (server.max_message_bytes)", routes.max_body))
        } else {
            Refusal::field("body", "could not be read to its end")
        }
    })?;
    let body = body.to_bytes();
    let mut object = match &route.body {
        BodyRule::None => Map::new(),
        BodyRule::Whole if body.is_empty() => Map::new(),
        BodyRule::Whole => match serde_json::from_slice(&body) {
            Ok(Json::Object(o)) => o,
            Ok(_) => return Err(Refusal::field("body", "the request body must be a JSON object")),
            Err(e) => return Err(Refusal::field("body", format!("the request body is not JSON: {e}"))),
        },
    };
    if let Some(query) = parts.uri.query() {
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            set_query(&mut object, &route.input, &key, &value)?;
        }
    }
    for (field, value) in vars {
        set_path(&mut object, &field, Json::String(value));
    }
    let object = Json::Object(object);
    let message = DynamicMessage::deserialize(route.input.clone(), &object).map_err(|e| {
        let field = invalid_field(&route.input, &object);
        Refusal::field(&field, format!("not valid for {} in proto3 JSON: {e}", route.input.full_name()))
    })?;

    let mut headers = HeaderMap::with_capacity(parts.headers.len() + 2);
    for (name, value) in &parts.headers {
        if !HOP_HEADERS.contains(name) && name.as_str() != SERVER_TIMEOUT {
            headers.append(name.clone(), value.clone());
        }
    }
    if let Some(timeout) = parts.headers.get(SERVER_TIMEOUT) {
        let seconds = timeout.to_str().ok().and_then(|s| s.trim().parse::<f64>().ok());
        let Some(d) = seconds.and_then(|s| Duration::try_from_secs_f64(s).ok()).filter(|d| !d.is_zero()) else {
            return Err(Refusal::field("X-Server-Timeout", "must be a positive number of seconds, e.g. 2.5"));
        };
        // grpc-timeout takes at most 8 digits.
        let millis = d.as_millis().clamp(1, 99_999_999);
        headers.insert("grpc-timeout", HeaderValue::from_str(&format!("{millis}m")).expect("digits"));
    }
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    headers.insert(header::TE, HeaderValue::from_static("trailers"));

    let encoded = message.encode_to_vec();
    let mut frame = BytesMut::with_capacity(encoded.len() + 5);
    frame.put_u8(0);
    frame.put_u32(u32::try_from(encoded.len()).unwrap_or(u32::MAX));
    frame.put_slice(&encoded);
    let mut grpc = Request::new(Body::new(Full::new(frame.freeze())));
    *grpc.method_mut() = Method::POST;
    *grpc.uri_mut() = route.grpc_path.parse().expect("a gRPC path is a URI");
    *grpc.version_mut() = Version::HTTP_2;
    *grpc.headers_mut() = headers;
    // Connection facts (peer address, client certificate) for admission and auth.
    *grpc.extensions_mut() = parts.extensions;
    Ok((route, grpc))
}

/// Sets a query parameter `key` (a field path, proto or JSON names) in
/// `object`; unknown fields are refused naming the parameter.
fn set_query(object: &mut Map<String, Json>, input: &MessageDescriptor, key: &str, value: &str) -> Result<(), Refusal> {
    let mut message = input.clone();
    let mut object = object;
    let names: Vec<&str> = key.split('.').collect();
    for (i, name) in names.iter().enumerate() {
        let field = message
            .get_field_by_name(name)
            .or_else(|| message.get_field_by_json_name(name))
            .ok_or_else(|| Refusal::field(key, format!("{key:?} is not a field of {}", input.full_name())))?;
        let last = i + 1 == names.len();
        match (last, field.kind()) {
            (false, Kind::Message(m)) if !field.is_list() && !field.is_map() => {
                let entry = object.entry(field.name().to_owned()).or_insert_with(|| Json::Object(Map::new()));
                let Json::Object(o) = entry else {
                    return Err(Refusal::field(key, format!("{key:?} is given twice")));
                };
                object = o;
                message = m;
            }
            (false, _) => return Err(Refusal::field(key, format!("{key:?}: {name} has no fields"))),
            (true, kind) => {
                let v = match kind {
                    Kind::Bool => match value {
                        "true" => Json::Bool(true),
                        "false" => Json::Bool(false),
                        _ => return Err(Refusal::field(key, format!("{key:?} must be true or false"))),
                    },
                    _ => Json::String(value.to_owned()),
                };
                if field.is_list() {
                    let entry = object.entry(field.name().to_owned()).or_insert_with(|| Json::Array(Vec::new()));
                    match entry {
                        Json::Array(a) => a.push(v),
                        _ => return Err(Refusal::field(key, format!("{key:?} is given twice"))),
                    }
                } else if object.insert(field.name().to_owned(), v).is_some() {
                    return Err(Refusal::field(key, format!("{key:?} is given twice")));
                }
            }
        }
    }
    Ok(())
}

/// The (proto) name of the first top-level field of `object` that does not
/// read as `input` on its own; `body` when each does.
fn invalid_field(input: &MessageDescriptor, object: &Json) -> String {
    let Json::Object(fields) = object else { return "body".to_owned() };
    fields
        .iter()
        .find(|(name, value)| {
            let alone = Json::Object(Map::from_iter([((*name).clone(), (*value).clone())]));
            DynamicMessage::deserialize(input.clone(), &alone).is_err()
        })
        .map(|(name, _)| {
            let field = input.get_field_by_name(name).or_else(|| input.get_field_by_json_name(name));
            field.map_or_else(|| name.clone(), |f| f.name().to_owned())
        })
        .unwrap_or_else(|| "body".to_owned())
}

/// Sets a path variable (a field path) in `object`, over what the body said.
fn set_path(object: &mut Map<String, Json>, field: &str, value: Json) {
    let mut object = object;
    let mut names = field.split('.').peekable();
    while let Some(name) = names.next() {
        if names.peek().is_none() {
            object.insert(name.to_owned(), value);
            return;
        }
        let entry = object.entry(name.to_owned()).or_insert_with(|| Json::Object(Map::new()));
        if !entry.is_object() {
            *entry = Json::Object(Map::new());
        }
        let Json::Object(o) = entry else { return };
        object = o;
    }
}

/// Calls the gRPC stack and turns its answer into HTTP/JSON.
async fn answer<S>(routes: &Routes, route: &Route, mut inner: S, req: Request<Body>, sse: bool) -> Response<Body>
where
    S: Service<Request<Body>, Response = Response<Body>>,
{
    let Ok(res) = inner.call(req).await else {
        return error_response(routes, &Status::new(Code::Internal, "the call failed"), None);
    };
    // Trailers-only: the call failed before any message.
    if let Some(status) = Status::from_header_map(res.headers()) {
        return error_response(routes, &status, None);
    }
    let body = res.into_body();
    if route.streaming {
        return stream_response(routes, route, body, sse);
    }
    let collected = match body.collect().await {
        Ok(c) => c,
        Err(e) => return error_response(routes, &Status::new(Code::Internal, format!("the call failed: {e}")), None),
    };
    let status = collected.trailers().and_then(Status::from_header_map);
    if let Some(status) = status.filter(|s| s.code() != Code::Ok) {
        return error_response(routes, &status, None);
    }
    let mut frames = Frames::default();
    frames.buf.extend_from_slice(&collected.to_bytes());
    match frames.next_message().map(|m| to_json(&route.output, &m)) {
        Some(Ok(json)) => json_response(StatusCode::OK, json),
        Some(Err(e)) => error_response(routes, &e, None),
        None => error_response(routes, &Status::new(Code::Internal, "the call answered no message"), None),
    }
}

/// gRPC length-prefixed messages read from a body's data frames.
#[derive(Default)]
struct Frames {
    buf: BytesMut,
}

impl Frames {
    fn next_message(&mut self) -> Option<Bytes> {
        if self.buf.len() < 5 {
            return None;
        }
        let len = usize::try_from(u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]])).ok()?;
        if self.buf.len() < 5 + len {
            return None;
        }
        self.buf.advance(5);
        Some(self.buf.split_to(len).freeze())
    }
}

fn to_json(output: &MessageDescriptor, bytes: &[u8]) -> Result<Vec<u8>, Status> {
    let message = DynamicMessage::decode(output.clone(), bytes)
        .map_err(|e| Status::new(Code::Internal, format!("the answer could not be decoded: {e}")))?;
    serde_json::to_vec(&message).map_err(|e| Status::new(Code::Internal, format!("the answer has no JSON form: {e}")))
}

fn stream_response(routes: &Routes, route: &Route, mut body: Body, sse: bool) -> Response<Body> {
    let output = route.output.clone();
    let status_desc = routes.status.clone();
    let lines = async_stream::stream! {
        let mut frames = Frames::default();
        let mut ended = None;
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(frame) => match frame.into_data() {
                    Ok(data) => {
                        frames.buf.extend_from_slice(&data);
                        while let Some(m) = frames.next_message() {
                            match to_json(&output, &m) {
                                Ok(json) => yield Ok::<_, Infallible>(http_body::Frame::data(event(&json, sse, false))),
                                Err(status) => { ended = Some(status); break; }
                            }
                        }
                    }
                    Err(frame) => {
                        if let Some(trailers) = frame.trailers_ref() {
                            ended = Status::from_header_map(trailers).filter(|s| s.code() != Code::Ok);
                        }
                    }
                },
                Err(e) => ended = Some(Status::new(Code::Internal, format!("the stream failed: {e}"))),
            }
            if ended.is_some() {
                break;
            }
        }
        if let Some(status) = ended {
            yield Ok(http_body::Frame::data(event(&status_json(&status_desc, &status), sse, true)));
        }
    };
    let content_type = if sse { "text/event-stream" } else { "application/x-ndjson" };
    let mut res = Response::new(Body::new(StreamBody::new(lines)));
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}

/// One message (or the final error) of a stream.
fn event(json: &[u8], sse: bool, error: bool) -> Bytes {
    let mut out = Vec::with_capacity(json.len() + 24);
    match (sse, error) {
        (true, false) => out.extend_from_slice(b"data: "),
        (true, true) => out.extend_from_slice(b"event: error\ndata: "),
        (false, false) => {}
        (false, true) => out.extend_from_slice(b"{\"error\":"),
    }
    out.extend_from_slice(json);
    match (sse, error) {
        (true, _) => out.extend_from_slice(b"\n\n"),
        (false, false) => out.push(b'\n'),
        (false, true) => out.extend_from_slice(b"}\n"),
    }
    Bytes::from(out)
}

/// `status` as JSON `google.rpc.Status`, details included.
fn status_json(desc: &MessageDescriptor, status: &Status) -> Vec<u8> {
    let message =
        if status.details().is_empty() { None } else { DynamicMessage::decode(desc.clone(), status.details()).ok() };
    let message = message.unwrap_or_else(|| {
        let mut m = DynamicMessage::new(desc.clone());
        m.set_field_by_name("code", Value::I32(status.code() as i32));
        m.set_field_by_name("message", Value::String(status.message().to_owned()));
        m
    });
    serde_json::to_vec(&message).unwrap_or_else(|_| {
        serde_json::to_vec(&serde_json::json!({"code": status.code() as i32, "message": status.message()}))
            .expect("plain JSON")
    })
}

fn error_response(routes: &Routes, status: &Status, http: Option<StatusCode>) -> Response<Body> {
    let mut res =
        json_response(http.unwrap_or_else(|| http_status(status.code())), status_json(&routes.status, status));
    if let Some(delay) = status.get_details_retry_info().and_then(|r| r.retry_delay) {
        let seconds = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    res
}

fn json_response(status: StatusCode, json: Vec<u8>) -> Response<Body> {
    let mut res = Response::new(Body::new(Full::new(Bytes::from(json))));
    *res.status_mut() = status;
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

/// The HTTP status of a gRPC code (google/rpc/code.proto).
fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::Cancelled => StatusCode::from_u16(499).expect("499 is a status code"),
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => StatusCode::BAD_REQUEST,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_paths_and_verbs() {
        let t = Template::parse("/v1/{name=workspaces/*/deployments/*}:watch").unwrap();
        assert_eq!(
            t.matches("/v1/workspaces/w1/deployments/d%3A1:watch"),
            Some(vec![("name".to_owned(), "workspaces/w1/deployments/d:1".to_owned())])
        );
        assert_eq!(t.matches("/v1/workspaces/w1/deployments/d1"), None);
        let t = Template::parse("/v1/{name=workspaces/*/files/*}").unwrap();
        assert_eq!(
            t.matches("/v1/workspaces/w/files/script:a"),
            Some(vec![("name".to_owned(), "workspaces/w/files/script:a".to_owned())])
        );
        let t = Template::parse("/v1/workspaces").unwrap();
        assert_eq!(t.matches("/v1/workspaces"), Some(vec![]));
        assert_eq!(t.matches("/v1/workspaces/x"), None);
    }

    #[test]
    fn every_code_has_the_standard_http_status() {
        assert_eq!(http_status(Code::InvalidArgument), StatusCode::BAD_REQUEST);
        assert_eq!(http_status(Code::Unauthenticated), StatusCode::UNAUTHORIZED);
        assert_eq!(http_status(Code::ResourceExhausted), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(http_status(Code::Unavailable), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(http_status(Code::Cancelled).as_u16(), 499);
    }
}
