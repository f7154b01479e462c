//! Spans and log lines captured in memory, for tests (of this crate and of
//! services embedding it): [`capture`] installs the process's telemetry
//! once, with an in-memory span exporter and a JSON log buffer.
//!
//! ```no_run
//! # async fn t() {
//! let cap = datastudio_gateway::telemetry::testing::capture();
//! // ... make calls ...
//! let spans = cap.spans();
//! # }
//! ```

use std::{
    io,
    sync::{Arc, Mutex, MutexGuard, OnceLock},
};

use opentelemetry_sdk::{
    error::OTelSdkResult,
    trace::{SpanData, SpanExporter},
};
use tracing_subscriber::fmt::writer::BoxMakeWriter;

use super::{LogOutput, Telemetry, otlp};
use crate::config::LogFormat;

/// Keeps every exported span.
#[derive(Debug, Clone, Default)]
pub(crate) struct MemoryExporter(Arc<Mutex<Vec<SpanData>>>);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl SpanExporter for MemoryExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        lock(&self.0).extend(batch);
        Ok(())
    }
}

impl MemoryExporter {
    /// Spans exported so far.
    pub(crate) fn spans(&self) -> Vec<SpanData> {
        lock(&self.0).clone()
    }
}

/// A log destination that keeps every line.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        lock(&self.0).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The process's captured telemetry.
pub struct Capture {
    spans: MemoryExporter,
    logs: LogBuffer,
    /// Whether this capture's subscriber is the process's (false when
    /// something else installed one first).
    pub installed: bool,
    _telemetry: Telemetry,
    _runtime: Option<tokio::runtime::Runtime>,
}

static CAPTURE: OnceLock<Capture> = OnceLock::new();

/// Installs capturing telemetry for this process (once; later calls return
/// the same capture) with these OTLP settings for the first call (a test can
/// point the exporter at a collector, or at one that is down). Spans go to
/// memory synchronously, and to OTLP through the usual batch processor.
pub fn capture_with(settings: otlp::Settings) -> &'static Capture {
    CAPTURE.get_or_init(|| {
        let spans = MemoryExporter::default();
        let logs = LogBuffer::default();
        // The gRPC exporter's channel needs a runtime that outlives any one test.
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().ok();
        let _guard = runtime.as_ref().map(|r| r.enter());
        let sink = logs.clone();
        let out = LogOutput {
            format: LogFormat::Json,
            filter: Some(format!("{}=debug,warn", env!("CARGO_CRATE_NAME"))),
            writer: BoxMakeWriter::new(move || sink.clone()),
        };
        let mem = spans.clone();
        let telemetry = super::install(&settings, out, |b| b.with_simple_exporter(mem));
        let installed = telemetry.provider.is_some();
        drop(_guard);
        Capture { spans, logs, installed, _telemetry: telemetry, _runtime: runtime }
    })
}

impl Capture {
    /// Every span ended so far.
    pub(crate) fn spans(&self) -> Vec<SpanData> {
        self.spans.spans()
    }

    /// Spans of one trace (trace id in hex).
    pub fn trace(&self, trace_id: &str) -> Vec<SpanData> {
        self.spans().into_iter().filter(|s| s.span_context.trace_id().to_string() == trace_id).collect()
    }

    /// Every log line so far.
    pub fn logs(&self) -> String {
        String::from_utf8_lossy(&lock(&self.logs.0)).into_owned()
    }
}
