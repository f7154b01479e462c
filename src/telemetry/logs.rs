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
use tracing::{Event, Level, Subscriber, field::Field, span::Record};
use tracing_subscriber::{
    EnvFilter, Layer,
    field::RecordFields,
    filter::Targets,
    fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields, format::Writer, writer::BoxMakeWriter},
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
            .fmt_fields(JsonMembers)
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
            // JSON members (see [`JsonMembers`]): a repeated key keeps its last value.
            if let Some(f) = ext.get::<FormattedFields<N>>()
                && let Ok(Value::Object(m)) = serde_json::from_str::<Value>(&format!("{{{}}}", f.fields))
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

/// A span's fields as JSON object members without the braces
/// (`"a":1,"b":"x"`), written once when the span opens and appended to on
/// each `record`: the fields of the many spans no written line ever shows
/// cost one pass of plain writes into one string. (`JsonFields` parses and
/// re-serialises the whole set on every `record`.)
struct JsonMembers;

impl<'w> FormatFields<'w> for JsonMembers {
    fn format_fields<R: RecordFields>(&self, mut w: Writer<'w>, fields: R) -> fmt::Result {
        let mut v = MembersVisitor { w: &mut w, first: true, result: Ok(()) };
        fields.record(&mut v);
        v.result
    }

    fn add_fields(&self, current: &'w mut FormattedFields<Self>, fields: &Record<'_>) -> fmt::Result {
        let first = current.fields.is_empty();
        let mut w = current.as_writer();
        let mut v = MembersVisitor { w: &mut w, first, result: Ok(()) };
        fields.record(&mut v);
        v.result
    }
}

/// Writes fields as JSON members.
struct MembersVisitor<'a, 'w> {
    w: &'a mut Writer<'w>,
    first: bool,
    result: fmt::Result,
}

impl MembersVisitor<'_, '_> {
    /// `,"name":` then the value `write` puts down.
    fn member(&mut self, f: &Field, write: impl FnOnce(&mut Writer<'_>) -> fmt::Result) {
        if self.result.is_err() {
            return;
        }
        let sep = if std::mem::replace(&mut self.first, false) { "" } else { "," };
        self.result = self
            .w
            .write_str(sep)
            .and_then(|()| json_string(self.w, format_args!("{}", f.name())))
            .and_then(|()| self.w.write_char(':'))
            .and_then(|()| write(self.w));
    }
}

impl tracing::field::Visit for MembersVisitor<'_, '_> {
    fn record_f64(&mut self, f: &Field, v: f64) {
        self.member(f, |w| if v.is_finite() { write!(w, "{v}") } else { w.write_str("null") });
    }
    fn record_i64(&mut self, f: &Field, v: i64) {
        self.member(f, |w| write!(w, "{v}"));
    }
    fn record_u64(&mut self, f: &Field, v: u64) {
        self.member(f, |w| write!(w, "{v}"));
    }
    fn record_bool(&mut self, f: &Field, v: bool) {
        self.member(f, |w| write!(w, "{v}"));
    }
    fn record_str(&mut self, f: &Field, v: &str) {
        self.member(f, |w| json_string(w, format_args!("{v}")));
    }
    fn record_error(&mut self, f: &Field, v: &(dyn std::error::Error + 'static)) {
        self.member(f, |w| json_string(w, format_args!("{v}")));
    }
    fn record_debug(&mut self, f: &Field, v: &dyn fmt::Debug) {
        self.member(f, |w| json_string(w, format_args!("{v:?}")));
    }
}

/// Writes `text` as a JSON string, escaping as it goes (no copy).
fn json_string(w: &mut dyn fmt::Write, text: fmt::Arguments<'_>) -> fmt::Result {
    /// Escapes what passes through it.
    struct Escape<'a>(&'a mut dyn fmt::Write);
    impl fmt::Write for Escape<'_> {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            let mut plain = 0;
            for (i, b) in s.bytes().enumerate() {
                let esc = match b {
                    b'"' => "\\\"",
                    b'\\' => "\\\\",
                    b'\n' => "\\n",
                    b'\r' => "\\r",
                    b'\t' => "\\t",
                    0..0x20 => "",
                    _ => continue,
                };
                self.0.write_str(&s[plain..i])?;
                if esc.is_empty() {
                    write!(self.0, "\\u{b:04x}")?;
                } else {
                    self.0.write_str(esc)?;
                }
                plain = i + 1;
            }
            self.0.write_str(&s[plain..])
        }
    }
    w.write_char('"')?;
    fmt::write(&mut Escape(w), text)?;
    w.write_char('"')
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

#[cfg(test)]
mod tests {
    use std::{
        io,
        sync::{Arc, Mutex},
    };

    use super::*;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn span_fields_are_json_whatever_their_text_and_later_records_win() {
        let buf = Buf::default();
        let sink = buf.clone();
        let out = LogOutput {
            format: LogFormat::Json,
            filter: Some("debug".into()),
            writer: BoxMakeWriter::new(move || sink.clone()),
        };
        let subscriber = tracing_subscriber::registry().with(lines(out));
        tracing::subscriber::with_default(subscriber, || {
            let odd = "quote \" backslash \\ newline \n tab \t bell \u{7} 日本";
            let span = tracing::info_span!(
                "vendor.http",
                url.full = %format_args!("https://h/{odd}"),
                api = odd,
                n = 3i64,
                ok = true,
                ratio = f64::NAN,
                status = tracing::field::Empty,
                code = 1u64,
            );
            span.record("status", 200i64);
            span.record("code", "second");
            let _g = span.enter();
            tracing::debug!(detail = ?odd, "vendor call");
        });
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let line: Value = serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"));
        let odd = "quote \" backslash \\ newline \n tab \t bell \u{7} 日本";
        assert_eq!(line["fields"]["message"], "vendor call");
        assert_eq!(line["fields"]["detail"], format!("{odd:?}"));
        let span = &line["span"];
        assert_eq!(span["name"], "vendor.http");
        assert_eq!(span["url.full"], format!("https://h/{odd}"));
        assert_eq!(span["api"], odd);
        assert_eq!((span["n"].as_i64(), span["ok"].as_bool(), &span["ratio"]), (Some(3), Some(true), &Value::Null));
        assert_eq!(span["status"], 200, "a field recorded later is there");
        assert_eq!(span["code"], "second", "a field recorded twice keeps its last value");
    }
}
