//! Observability: one trace from the caller through the gateway to the
//! vendor, OTLP export, Prometheus metrics and JSON logs.
//!
//! - [`trace`]: the server span per RPC (a tower layer around tonic), with
//!   the caller's W3C trace context as parent, and RPC metrics.
//! - [`vendor`]: the client span per vendor HTTP attempt (used by
//!   the shared vendor client), `traceparent` injection, vendor call metrics.
//! - [`propagation`]: W3C trace context in and out.
//! - [`otlp`]: the tracer provider from the standard `OTEL_*` variables.
//! - [`metrics`]: the Prometheus registry and the functions other code calls.
//! - [`tally`]: the vendor calls made on behalf of each RPC.
//! - [`testing`]: spans and log lines captured in memory, for tests.
//!
//! [`init`] installs all of it once per process; [`Telemetry::shutdown`]
//! flushes queued spans before exit.

pub(crate) mod logs;
pub mod metrics;
pub mod otlp;
pub(crate) mod propagation;
pub(crate) mod tally;
#[cfg(feature = "test-util")]
pub mod testing;
pub(crate) mod trace;
pub(crate) mod vendor;

use std::time::Duration;

pub(crate) use logs::LogOutput;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{SdkTracerProvider, TracerProviderBuilder};

use crate::config::{LogFormat, TelemetryConfig};

/// Instrumentation scope name of the gateway's spans.
pub(crate) const SCOPE: &str = "datastudio-gateway";

/// The installed telemetry; [`shutdown`](Telemetry::shutdown) it before exit
/// so queued spans are exported.
#[must_use = "call shutdown() before exit to export queued spans"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

/// Installs logs, tracing and OTLP export from `cfg` and the `OTEL_*`
/// variables (call it inside the Tokio runtime). A second call in one
/// process keeps the first subscriber.
pub fn init(cfg: &TelemetryConfig) -> Telemetry {
    propagation::set_propagate_to_vendor(cfg.propagate_to_vendor);
    install(&otlp::Settings::from_env(), LogOutput::stdout(cfg.log_format), |b| b)
}

/// [`init`] with defaults and this log format (for `demo` and `emulator`).
pub fn init_with_format(format: LogFormat) -> Telemetry {
    init(&TelemetryConfig { log_format: format, ..TelemetryConfig::default() })
}

/// Installs the subscriber with explicit settings; `customize` may add
/// span processors (tests add an in-memory exporter) before the provider
/// is built.
pub(crate) fn install(
    settings: &otlp::Settings,
    logs: LogOutput,
    customize: impl FnOnce(TracerProviderBuilder) -> TracerProviderBuilder,
) -> Telemetry {
    let (builder, warnings) = settings.provider_builder();
    let provider = customize(builder).build();
    if !logs::install(logs, provider.tracer(SCOPE)) {
        return Telemetry { provider: None };
    }
    opentelemetry::global::set_tracer_provider(provider.clone());
    for w in &warnings {
        tracing::warn!(problem = %w, "telemetry setting ignored");
    }
    match &settings.endpoint {
        Some(e) if warnings.iter().all(|w| !w.starts_with("OTLP export is off")) => {
            tracing::info!(endpoint = %e, protocol = ?settings.protocol, sampler = ?settings.sampling, "exporting spans over OTLP")
        }
        _ => tracing::debug!("OTLP export is off (OTEL_EXPORTER_OTLP_ENDPOINT is not set)"),
    }
    Telemetry { provider: Some(provider) }
}

impl Telemetry {
    /// Exports the spans still queued, then stops the exporter; returns
    /// within about `timeout` even when the collector is down.
    pub async fn shutdown(self, timeout: Duration) {
        let Some(p) = self.provider else { return };
        let task = tokio::task::spawn_blocking(move || p.shutdown_with_timeout(timeout));
        match tokio::time::timeout(timeout + Duration::from_millis(500), task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "flushing spans failed"),
            Ok(Err(_)) | Err(_) => tracing::warn!(?timeout, "flushing spans took too long; some spans are lost"),
        }
    }
}
