//! The global `tracing` subscriber: log lines (JSON, or text on a
//! terminal) with the trace and span ids of the current span, and the
//! OpenTelemetry layer that turns the gateway's spans into OTel spans.
//!
//! The level filter (`RUST_LOG`, default [`DEFAULT_FILTER`]) applies to log lines
//! only: spans reach OpenTelemetry whatever the log level, so quiet logs
//! never break a trace.
//!
//! JSON line: `{"timestamp","level","target","fields":{"message",...},
//! "span":{"name",...},"trace_id","span_id"}`.

use std::{fmt, io::IsTerminal};

use opentelemetry::trace::TraceContextExt;
use serde_json::{Map, Value};
use tracing::{Event, Level, Subscriber, field::Field};
use tracing_subscriber::{
    EnvFilter, Layer,
    filter::Targets,
    fmt::{
        FmtContext, FormatEvent, FormatFields, FormattedFields,
        format::{JsonFields, Writer},
        writer::BoxMakeWriter,
    },
    prelude::*,
    registry::LookupSpan,
};

use crate::config::LogFormat;

/// Log filter without `RUST_LOG`: info, but only warnings from the
/// OpenTelemetry SDK and exporter (e.g. a collector that cannot be reached).
pub(super) const DEFAULT_FILTER: &str = "info,opentelemetry=warn";

/// Where and how log lines go.
pub(crate) struct LogOutput {
    /// Line format.
    pub format: LogFormat,
    /// Filter directives; None = `RUST_LOG`, else [`DEFAULT_FILTER`].
    pub filter: Option<String>,
    /// Destination (stdout by default).
    pub writer: BoxMakeWriter,
}

impl LogOutput {
    /// Lines on stdout in `format`, filtered by `RUST_LOG`.
    pub(crate) fn stdout(format: LogFormat) -> Self {
        LogOutput { format, filter: None, writer: BoxMakeWriter::new(std::io::stdout) }
    }

    fn env_filter(&self) -> EnvFilter {
        match &self.filter {
            Some(f) => EnvFilter::new(f),
            None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER)),
        }
    }
}

/// Installs the global subscriber; false when one is installed already.
pub(crate) fn install(out: LogOutput, tracer: opentelemetry_sdk::trace::Tracer) -> bool {
    let otel = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_location(false)
        .with_threads(false)
        .with_tracked_inactivity(false)
        .with_target(false)
        .with_filter(Targets::new().with_target(env!("CARGO_CRATE_NAME"), Level::INFO));
    tracing_subscriber::registry().with(otel).with(lines(out)).try_init().is_ok()
}

/// The log line layer of `out`: JSON or text lines, filtered.
pub(crate) fn lines<S>(out: LogOutput) -> Box<dyn Layer<S> + Send + Sync>
where
    S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    let json = match out.format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => !std::io::stdout().is_terminal(),
    };
    let filter = out.env_filter();
    if json {
        tracing_subscriber::fmt::layer()
            .event_format(JsonLines)
            .fmt_fields(JsonFields::new())
            .with_writer(out.writer)
            .with_filter(filter)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .event_format(TextWithIds(tracing_subscriber::fmt::format()))
            .with_ansi(std::io::stdout().is_terminal())
            .with_writer(out.writer)
            .with_filter(filter)
            .boxed()
    }
}

/// Hex trace and span ids of the event's span (explicit parent or current),
/// when it has an OTel context.
fn ids<S, N>(ctx: &FmtContext<'_, S, N>) -> Option<(String, String)>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    let id = ctx.parent_span()?.id();
    let cx = tracing::dispatcher::get_default(|d| tracing_opentelemetry::get_otel_context(&id, d))?;
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid().then(|| (sc.trace_id().to_string(), sc.span_id().to_string()))
}

/// One JSON object per line.
struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut w: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let meta = event.metadata();
        let mut line = Map::new();
        line.insert("timestamp".into(), Value::String(jiff::Timestamp::now().to_string()));
        line.insert("level".into(), Value::String(meta.level().to_string()));
        line.insert("target".into(), Value::String(meta.target().to_owned()));
        let mut fields = Map::new();
        event.record(&mut JsonVisitor(&mut fields));
        line.insert("fields".into(), Value::Object(fields));
        if let Some(span) = ctx.parent_span() {
            let mut s = Map::new();
            s.insert("name".into(), Value::String(span.name().to_owned()));
            let ext = span.extensions();
            if let Some(f) = ext.get::<FormattedFields<N>>()
                && let Ok(Value::Object(m)) = serde_json::from_str::<Value>(f)
            {
                s.extend(m);
            }
            line.insert("span".into(), Value::Object(s));
        }
        if let Some((trace_id, span_id)) = ids(ctx) {
            line.insert("trace_id".into(), Value::String(trace_id));
            line.insert("span_id".into(), Value::String(span_id));
        }
        writeln!(w, "{}", Value::Object(line))
    }
}

/// Collects event fields as JSON values.
struct JsonVisitor<'a>(&'a mut Map<String, Value>);

impl tracing::field::Visit for JsonVisitor<'_> {
    fn record_f64(&mut self, f: &Field, v: f64) {
        self.0.insert(f.name().into(), serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number));
    }
    fn record_i64(&mut self, f: &Field, v: i64) {
        self.0.insert(f.name().into(), v.into());
    }
    fn record_u64(&mut self, f: &Field, v: u64) {
        self.0.insert(f.name().into(), v.into());
    }
    fn record_bool(&mut self, f: &Field, v: bool) {
        self.0.insert(f.name().into(), v.into());
    }
    fn record_str(&mut self, f: &Field, v: &str) {
        self.0.insert(f.name().into(), v.into());
    }
    fn record_error(&mut self, f: &Field, v: &(dyn std::error::Error + 'static)) {
        self.0.insert(f.name().into(), v.to_string().into());
    }
    fn record_debug(&mut self, f: &Field, v: &dyn fmt::Debug) {
        self.0.insert(f.name().into(), format!("{v:?}").into());
    }
}

/// The standard text line, prefixed with the trace and span ids.
struct TextWithIds<F>(F);

impl<S, N, F> FormatEvent<S, N> for TextWithIds<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut w: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        if let Some((t, s)) = ids(ctx) {
            write!(w, "trace_id={t} span_id={s} ")?;
        }
        self.0.format_event(ctx, w, event)
    }
}
