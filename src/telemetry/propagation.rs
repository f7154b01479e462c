//! W3C trace context across the two hops: extracted from a caller's gRPC
//! metadata (`traceparent`, `tracestate`, `baggage`), injected into vendor
//! HTTP requests (`traceparent`, `tracestate` only: baggage is the
//! caller's business and never leaves for a vendor).

use std::sync::{
    LazyLock,
    atomic::{AtomicBool, Ordering},
};

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::{
    Context,
    propagation::{Extractor, Injector, TextMapCompositePropagator, TextMapPropagator},
};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

static PROPAGATE_TO_VENDOR: AtomicBool = AtomicBool::new(true);

static INBOUND: LazyLock<TextMapCompositePropagator> = LazyLock::new(|| {
    TextMapCompositePropagator::new(vec![Box::new(TraceContextPropagator::new()), Box::new(BaggagePropagator::new())])
});

/// Sets whether vendor requests carry `traceparent`
/// (`telemetry.propagate_to_vendor`; on by default). Process-wide.
pub(crate) fn set_propagate_to_vendor(on: bool) {
    PROPAGATE_TO_VENDOR.store(on, Ordering::Relaxed);
}

/// Whether vendor requests carry `traceparent`.
pub(crate) fn propagate_to_vendor() -> bool {
    PROPAGATE_TO_VENDOR.load(Ordering::Relaxed)
}

/// Reads headers for a propagator.
struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

/// Writes headers for a propagator.
struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(k), Ok(v)) = (HeaderName::from_bytes(key.as_bytes()), HeaderValue::from_str(&value)) {
            self.0.insert(k, v);
        }
    }
}

/// The caller's context from request headers (gRPC metadata): trace
/// context and baggage. Invalid or absent headers give an empty context.
pub(crate) fn extract(headers: &HeaderMap) -> Context {
    INBOUND.extract(&HeaderExtractor(headers))
}

/// Writes `traceparent` (and `tracestate`) of `cx` into `headers`; nothing
/// when `cx` has no valid span.
pub(crate) fn inject_trace_context(cx: &Context, headers: &mut HeaderMap) {
    TraceContextPropagator::new().inject_context(cx, &mut HeaderInjector(headers));
}

/// The W3C `traceparent` of the current span, to keep with a record that
/// outlives the call (None when tracing records no valid span).
pub(crate) fn current_traceparent() -> Option<String> {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let mut h = HeaderMap::new();
    inject_trace_context(&tracing::Span::current().context(), &mut h);
    h.get("traceparent").and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// Links `span` to the span a kept `traceparent` names (a no-op for an
/// invalid one).
pub(crate) fn link_to(span: &tracing::Span, traceparent: &str) {
    use opentelemetry::trace::TraceContextExt;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let mut h = HeaderMap::new();
    let Ok(v) = HeaderValue::from_str(traceparent) else { return };
    h.insert("traceparent", v);
    let cx = TraceContextPropagator::new().extract(&HeaderExtractor(&h));
    let sc = cx.span().span_context().clone();
    if sc.is_valid() {
        span.add_link(sc);
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::{baggage::BaggageExt, trace::TraceContextExt};

    use super::*;

    #[test]
    fn round_trip_without_baggage() {
        let mut h = HeaderMap::new();
        h.insert("traceparent", HeaderValue::from_static("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
        h.insert("tracestate", HeaderValue::from_static("vendor=x"));
        h.insert("baggage", HeaderValue::from_static("tenant=t1"));
        let cx = extract(&h);
        assert_eq!(cx.span().span_context().trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(cx.baggage().get("tenant").map(|v| v.to_string()), Some("t1".into()));
        let mut out = HeaderMap::new();
        inject_trace_context(&cx, &mut out);
        assert_eq!(out["traceparent"], "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        assert_eq!(out["tracestate"], "vendor=x");
        assert!(out.get("baggage").is_none(), "baggage stays inside");
    }

    #[test]
    fn garbage_is_ignored() {
        let mut h = HeaderMap::new();
        h.insert("traceparent", HeaderValue::from_static("zz-not-a-trace"));
        let cx = extract(&h);
        assert!(!cx.span().span_context().is_valid());
        let mut out = HeaderMap::new();
        inject_trace_context(&cx, &mut out);
        assert!(out.is_empty());
    }
}
