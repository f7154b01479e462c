//! The server span and RPC metrics: a tower layer around tonic's routes.
//!
//! The span is created when the request arrives, with the caller's W3C
//! trace context (`traceparent`, `tracestate`, `baggage` metadata) as its
//! parent, so the caller's trace id is the gateway's. It is named
//! `{rpc.service}/{rpc.method}` (`datastudio.v1.ReleaseService/ListReleasePackages`),
//! carries RPC semconv attributes and ends when the response's last frame
//! is sent: `rpc.grpc.status_code` comes from the `grpc-status` header of a
//! trailers-only answer (tonic's unary errors) or from the trailers. A call
//! dropped before it finished is CANCELLED, or DEADLINE_EXCEEDED once its
//! `grpc-timeout` has passed. Handlers, streams and vendor calls run inside
//! the span.
//!
//! Service and method names outside the served protos become `_OTHER`, so a
//! caller cannot create metric series or span names at will.

use std::{
    collections::HashSet,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
    time::{Duration, Instant},
};

use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use prost::Message;
use tonic::Code;
use tower::{Layer, Service};
use tracing::{Span, field::Empty};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::{
    metrics, propagation,
    tally::{self, Tally},
};

/// Stands for a service or method the server does not serve.
pub(crate) const OTHER: &str = "_OTHER";

/// The gRPC methods the server serves, as `package.Service/Method`.
#[derive(Debug, Default, Clone)]
pub(crate) struct Methods {
    methods: HashSet<String>,
    services: HashSet<String>,
}

impl Methods {
    /// Every method of every service in these encoded `FileDescriptorSet`s
    /// (undecodable sets are skipped).
    pub(crate) fn from_descriptor_sets(sets: &[&[u8]]) -> Self {
        let mut m = Methods::default();
        for set in sets {
            let Ok(set) = prost_types::FileDescriptorSet::decode(*set) else { continue };
            for file in set.file {
                let package = file.package.unwrap_or_default();
                for svc in file.service {
                    let name = svc.name.unwrap_or_default();
                    let service = if package.is_empty() { name } else { format!("{package}.{name}") };
                    for method in svc.method {
                        m.methods.insert(format!("{service}/{}", method.name.unwrap_or_default()));
                    }
                    m.services.insert(service);
                }
            }
        }
        m
    }

    /// `(rpc.service, rpc.method)` of a request path `/pkg.Service/Method`.
    pub(crate) fn classify(&self, path: &str) -> (String, String) {
        let full = path.strip_prefix('/').unwrap_or(path);
        match full.split_once('/') {
            Some((service, method)) if self.methods.contains(full) => (service.to_owned(), method.to_owned()),
            Some((service, _)) if self.services.contains(service) => (service.to_owned(), OTHER.to_owned()),
            _ => (OTHER.to_owned(), OTHER.to_owned()),
        }
    }
}

/// Creates the server span and records RPC metrics for every call.
#[derive(Debug, Clone)]
pub(crate) struct TraceLayer {
    methods: Arc<Methods>,
}

/// The layer, naming calls after `methods`.
pub(crate) fn layer(methods: Methods) -> TraceLayer {
    TraceLayer { methods: Arc::new(methods) }
}

impl<S> Layer<S> for TraceLayer {
    type Service = Trace<S>;
    fn layer(&self, inner: S) -> Trace<S> {
        Trace { inner, methods: self.methods.clone() }
    }
}

/// The service of [`TraceLayer`].
#[derive(Debug, Clone)]
pub(crate) struct Trace<S> {
    inner: S,
    methods: Arc<Methods>,
}

/// Whether a gRPC code marks a server span as failed (RPC semconv).
fn is_server_error(code: Code) -> bool {
    matches!(
        code,
        Code::Unknown
            | Code::DeadlineExceeded
            | Code::Unimplemented
            | Code::Internal
            | Code::Unavailable
            | Code::DataLoss
    )
}

/// `grpc-status` of a header or trailer map.
fn grpc_status(h: &HeaderMap) -> Option<Code> {
    let v = h.get("grpc-status")?.to_str().ok()?.trim().parse::<i32>().ok()?;
    Some(Code::from_i32(v))
}

/// `grpc-timeout` (`100m`, `5S`; at most 8 digits).
pub(crate) fn grpc_timeout(h: &HeaderMap) -> Option<Duration> {
    let v = h.get("grpc-timeout")?.to_str().ok()?;
    if v.len() < 2 || v.len() > 9 {
        return None;
    }
    let (n, unit) = v.split_at(v.len() - 1);
    let n: u64 = n.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// A call in progress; records its end exactly once.
struct Call {
    span: Span,
    /// The vendor calls made for it.
    tally: Tally,
    start: Instant,
    service: String,
    method: String,
    deadline: Option<Instant>,
}

impl Call {
    fn finish(self, code: Code) {
        self.span.record("rpc.grpc.status_code", code as i64);
        if is_server_error(code) {
            self.span.record("otel.status_code", "error");
        }
        metrics::rpc(&self.service, &self.method, code, self.start.elapsed());
        metrics::rpc_vendor_calls(&self.service, &self.method, self.tally.get());
    }
}

/// Holds a call until it ends; a call dropped unfinished was cancelled (or
/// ran out of time).
#[derive(Default)]
struct Pending(Option<Call>);

impl Pending {
    fn finish(&mut self, code: Code) {
        if let Some(c) = self.0.take() {
            c.finish(code);
        }
    }
    fn enter(&self) -> Option<tracing::span::Entered<'_>> {
        self.0.as_ref().map(|c| c.span.enter())
    }
    /// Runs `f` (one poll) with the call's tally current.
    fn counted<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.0 {
            Some(c) => tally::sync_scope(&c.tally, f),
            None => f(),
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            let code =
                if c.deadline.is_some_and(|d| Instant::now() >= d) { Code::DeadlineExceeded } else { Code::Cancelled };
            c.finish(code);
        }
    }
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Trace<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    ResBody: Body,
{
    type Response = http::Response<TracedBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<ReqBody>) -> Self::Future {
        let start = Instant::now();
        let (service, method) = self.methods.classify(req.uri().path());
        let peer = req.extensions().get::<tonic::transport::server::TcpConnectInfo>().and_then(|i| i.remote_addr());
        let span = tracing::info_span!(
            "grpc.server",
            otel.name = %format_args!("{service}/{method}"),
            otel.kind = "server",
            otel.status_code = Empty,
            rpc.system = "grpc",
            rpc.service = service.as_str(),
            rpc.method = method.as_str(),
            rpc.grpc.status_code = Empty,
            client.address = peer.map(|p| tracing::field::display(p.ip())),
            client.port = peer.map(|p| i64::from(p.port())),
        );
        // Before the span starts: the caller's trace becomes ours.
        let _ = span.set_parent(propagation::extract(req.headers()));
        let deadline = grpc_timeout(req.headers()).map(|d| start + d);
        let inner = {
            let _g = span.enter();
            self.inner.call(req)
        };
        let tally = Tally::default();
        ResponseFuture { inner, pending: Pending(Some(Call { span, tally, start, service, method, deadline })) }
    }
}

pin_project! {
    /// The response future of [`Trace`].
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        pending: Pending,
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
    B: Body,
{
    type Output = Result<http::Response<TracedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let out = {
            let _g = this.pending.enter();
            let inner = this.inner;
            ready!(this.pending.counted(|| inner.poll(cx)))
        };
        let mut pending = std::mem::take(this.pending);
        Poll::Ready(match out {
            Ok(resp) => {
                // Trailers-only answer: the status is final already.
                if let Some(code) = grpc_status(resp.headers()) {
                    pending.finish(code);
                }
                Ok(resp.map(|inner| TracedBody { inner, pending }))
            }
            Err(e) => {
                pending.finish(Code::Unknown);
                Err(e)
            }
        })
    }
}

pin_project! {
    /// A response body that ends the call's span with its last frame.
    pub struct TracedBody<B> {
        #[pin]
        inner: B,
        pending: Pending,
    }
}

impl<B: Body> Body for TracedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = {
            let _g = this.pending.enter();
            let inner = this.inner;
            ready!(this.pending.counted(|| inner.poll_frame(cx)))
        };
        match &frame {
            Some(Ok(f)) => {
                if let Some(t) = f.trailers_ref() {
                    this.pending.finish(grpc_status(t).unwrap_or(Code::Unknown));
                }
            }
            Some(Err(_)) | None => this.pending.finish(Code::Unknown),
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_bounded() {
        let m = Methods::from_descriptor_sets(&[crate::pb::FILE_DESCRIPTOR_SET, b"not a descriptor"]);
        let s = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        assert_eq!(
            m.classify("/datastudio.v1.ReleaseService/ListReleasePackages"),
            s("datastudio.v1.ReleaseService", "ListReleasePackages")
        );
        assert_eq!(m.classify("/datastudio.v1.ReleaseService/Nope"), s("datastudio.v1.ReleaseService", OTHER));
        assert_eq!(m.classify("/evil.Service/Whatever"), s(OTHER, OTHER));
        assert_eq!(m.classify(""), s(OTHER, OTHER));
    }

    #[test]
    fn timeouts_and_statuses() {
        let mut h = HeaderMap::new();
        for (v, d) in [("100m", Some(Duration::from_millis(100))), ("5S", Some(Duration::from_secs(5))), ("5x", None)] {
            h.insert("grpc-timeout", v.parse().unwrap());
            assert_eq!(grpc_timeout(&h), d, "{v}");
        }
        h.insert("grpc-timeout", "123456789m".parse().unwrap());
        assert_eq!(grpc_timeout(&h), None);
        h.insert("grpc-status", "5".parse().unwrap());
        assert_eq!(grpc_status(&h), Some(Code::NotFound));
        h.insert("grpc-status", "x".parse().unwrap());
        assert_eq!(grpc_status(&h), None);
    }

    proptest::proptest! {
        /// `grpc-timeout`: every well-formed value is read exactly, anything
        /// else is no deadline; never a panic.
        #[test]
        fn prop_grpc_timeout(n in 0u64..100_000_000, unit in 0usize..6, junk in "[ -~]{0,12}") {
            let (u, d) = [
                ("H", Duration::from_secs(n * 3600)),
                ("M", Duration::from_secs(n * 60)),
                ("S", Duration::from_secs(n)),
                ("m", Duration::from_millis(n)),
                ("u", Duration::from_micros(n)),
                ("n", Duration::from_nanos(n)),
            ][unit];
            let mut h = HeaderMap::new();
            h.insert("grpc-timeout", format!("{n}{u}").parse().unwrap());
            proptest::prop_assert_eq!(grpc_timeout(&h), Some(d));
            if let Ok(v) = junk.parse() {
                h.insert("grpc-timeout", v);
                let _ = grpc_timeout(&h);
            }
        }
    }
}
