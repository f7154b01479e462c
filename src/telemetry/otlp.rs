//! The tracer provider: sampler, resource and the OTLP exporter, configured
//! only by the standard `OTEL_*` variables.
//!
//! | variable | effect |
//! |---|---|
//! | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_EXPORTER_OTLP_ENDPOINT` | where spans go; export is **off** when neither is set |
//! | `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, `OTEL_EXPORTER_OTLP_PROTOCOL` | `grpc` (default) or `http/protobuf` |
//! | `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`, `OTEL_EXPORTER_OTLP_TIMEOUT` | export timeout, ms (default 10 s) |
//! | `OTEL_EXPORTER_OTLP_HEADERS`, `..._COMPRESSION` | read by the exporter itself |
//! | `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES` | the resource (`service.name` defaults to `datastudio-gateway`) |
//! | `OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG` | sampler; default `parentbased_always_on` |
//! | `OTEL_BSP_MAX_QUEUE_SIZE`, `OTEL_BSP_SCHEDULE_DELAY`, ... | the batch processor (queue 2048 by default) |
//! | `OTEL_SDK_DISABLED=true`, `OTEL_TRACES_EXPORTER=none` | export off |
//!
//! Spans are exported by a batch processor on its own thread with a bounded
//! queue: a collector that is slow or down costs a call nothing (spans past
//! the queue are dropped), and each export gives up after the timeout.

use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::{
    Resource,
    resource::TelemetryResourceDetector,
    trace::{BatchSpanProcessor, Sampler, SdkTracerProvider, TracerProviderBuilder},
};

/// The default `service.name`.
pub(crate) const SERVICE_NAME: &str = "datastudio-gateway";

/// OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OTLP/gRPC (port 4317).
    Grpc,
    /// OTLP/HTTP with protobuf bodies (port 4318).
    HttpProtobuf,
}

/// Which spans are sampled (`OTEL_TRACES_SAMPLER`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sampling {
    /// `always_on`.
    AlwaysOn,
    /// `always_off`.
    AlwaysOff,
    /// `traceidratio`.
    Ratio(f64),
    /// `parentbased_always_on` (the default): follow the caller's decision,
    /// sample new traces.
    ParentAlwaysOn,
    /// `parentbased_always_off`.
    ParentAlwaysOff,
    /// `parentbased_traceidratio`.
    ParentRatio(f64),
}

impl Sampling {
    fn sampler(self) -> Sampler {
        let parent = |s: Sampler| Sampler::ParentBased(Box::new(s));
        match self {
            Sampling::AlwaysOn => Sampler::AlwaysOn,
            Sampling::AlwaysOff => Sampler::AlwaysOff,
            Sampling::Ratio(r) => Sampler::TraceIdRatioBased(r),
            Sampling::ParentAlwaysOn => parent(Sampler::AlwaysOn),
            Sampling::ParentAlwaysOff => parent(Sampler::AlwaysOff),
            Sampling::ParentRatio(r) => parent(Sampler::TraceIdRatioBased(r)),
        }
    }
}

/// Everything the `OTEL_*` variables say, read once.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Collector URL for traces (already with `/v1/traces` for HTTP); None = no export.
    pub endpoint: Option<String>,
    /// Transport.
    pub protocol: Protocol,
    /// Export timeout; None = the exporter's own (env or 10 s).
    pub timeout: Option<Duration>,
    /// `service.name`.
    pub service_name: String,
    /// Other resource attributes.
    pub resource: Vec<(String, String)>,
    /// Sampler.
    pub sampling: Sampling,
    /// Problems found while reading the variables (logged once logging is up).
    pub warnings: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            endpoint: None,
            protocol: Protocol::Grpc,
            timeout: None,
            service_name: SERVICE_NAME.into(),
            resource: Vec::new(),
            sampling: Sampling::ParentAlwaysOn,
            warnings: Vec::new(),
        }
    }
}

impl Settings {
    /// Reads the process environment.
    pub(crate) fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads variables through `get` (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let get = |k: &str| get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let mut s = Settings::default();

        let protocol = get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL").or_else(|| get("OTEL_EXPORTER_OTLP_PROTOCOL"));
        s.protocol = match protocol.as_deref() {
            None | Some("grpc") => Protocol::Grpc,
            Some("http/protobuf") => Protocol::HttpProtobuf,
            Some(other) => {
                s.warnings.push(format!("OTEL_EXPORTER_OTLP_PROTOCOL={other:?} is not supported; using grpc"));
                Protocol::Grpc
            }
        };
        let disabled = get("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"))
            || get("OTEL_TRACES_EXPORTER").is_some_and(|v| v.eq_ignore_ascii_case("none"));
        s.endpoint = match (get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), get("OTEL_EXPORTER_OTLP_ENDPOINT")) {
            _ if disabled => None,
            (Some(traces), _) => Some(traces),
            (None, Some(base)) if s.protocol == Protocol::HttpProtobuf => {
                Some(format!("{}/v1/traces", base.trim_end_matches('/')))
            }
            (None, base) => base,
        };
        let timeout = get("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT").or_else(|| get("OTEL_EXPORTER_OTLP_TIMEOUT"));
        s.timeout = match timeout.map(|t| t.parse::<u64>()) {
            None => None,
            Some(Ok(ms)) => Some(Duration::from_millis(ms)),
            Some(Err(_)) => {
                s.warnings.push("OTEL_EXPORTER_OTLP_TIMEOUT is not a number of milliseconds; using 10 s".into());
                None
            }
        };

        if let Some(attrs) = get("OTEL_RESOURCE_ATTRIBUTES") {
            for pair in attrs.split(',').filter(|p| !p.trim().is_empty()) {
                match pair.split_once('=') {
                    Some((k, v)) if !k.trim().is_empty() => {
                        let v = percent_encoding::percent_decode_str(v.trim()).decode_utf8_lossy().into_owned();
                        s.resource.push((k.trim().to_owned(), v));
                    }
                    _ => s.warnings.push(format!("OTEL_RESOURCE_ATTRIBUTES: ignoring {pair:?} (not key=value)")),
                }
            }
        }
        if let Some(i) = s.resource.iter().position(|(k, _)| k == "service.name") {
            s.service_name = s.resource.remove(i).1;
        }
        if let Some(name) = get("OTEL_SERVICE_NAME") {
            s.service_name = name;
        }

        let ratio = |s: &mut Settings| match get("OTEL_TRACES_SAMPLER_ARG").map(|a| a.parse::<f64>()) {
            Some(Ok(r)) if (0.0..=1.0).contains(&r) => r,
            _ => {
                s.warnings.push("OTEL_TRACES_SAMPLER_ARG must be a ratio in 0..=1; using 1.0".into());
                1.0
            }
        };
        s.sampling = match get("OTEL_TRACES_SAMPLER").as_deref() {
            None | Some("parentbased_always_on") => Sampling::ParentAlwaysOn,
            Some("always_on") => Sampling::AlwaysOn,
            Some("always_off") => Sampling::AlwaysOff,
            Some("parentbased_always_off") => Sampling::ParentAlwaysOff,
            Some("traceidratio") => Sampling::Ratio(ratio(&mut s)),
            Some("parentbased_traceidratio") => Sampling::ParentRatio(ratio(&mut s)),
            Some(other) => {
                s.warnings.push(format!("OTEL_TRACES_SAMPLER={other:?} is not supported; using parentbased_always_on"));
                Sampling::ParentAlwaysOn
            }
        };
        s
    }

    /// The resource every span carries.
    pub(crate) fn resource(&self) -> Resource {
        Resource::builder_empty()
            .with_detector(Box::new(TelemetryResourceDetector))
            .with_attributes(self.resource.iter().map(|(k, v)| KeyValue::new(k.clone(), v.clone())))
            .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
            .with_service_name(self.service_name.clone())
            .build()
    }

    /// A provider builder with the sampler, the resource and, when an
    /// endpoint is set, the batch OTLP exporter. Callers may add processors
    /// (tests add an in-memory one) before `build()`.
    ///
    /// With gRPC, call this inside a Tokio runtime: the exporter's channel
    /// runs its connection on it.
    pub fn provider_builder(&self) -> (TracerProviderBuilder, Vec<String>) {
        let mut warnings = self.warnings.clone();
        let mut b = SdkTracerProvider::builder().with_sampler(self.sampling.sampler()).with_resource(self.resource());
        if let Some(endpoint) = &self.endpoint {
            match self.exporter(endpoint) {
                Ok(exporter) => b = b.with_span_processor(BatchSpanProcessor::builder(exporter).build()),
                Err(e) => warnings.push(format!("OTLP export is off: cannot build the exporter for {endpoint}: {e}")),
            }
        }
        (b, warnings)
    }

    fn exporter(&self, endpoint: &str) -> Result<opentelemetry_otlp::SpanExporter, String> {
        let built = match self.protocol {
            Protocol::Grpc => {
                if tokio::runtime::Handle::try_current().is_err() {
                    return Err("the gRPC exporter needs a Tokio runtime".into());
                }
                let mut b = opentelemetry_otlp::SpanExporter::builder().with_tonic().with_endpoint(endpoint);
                if let Some(t) = self.timeout {
                    b = b.with_timeout(t);
                }
                b.build()
            }
            Protocol::HttpProtobuf => {
                crate::install_crypto_provider();
                let mut b = opentelemetry_otlp::SpanExporter::builder()
                    .with_http()
                    .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                    .with_endpoint(endpoint);
                if let Some(t) = self.timeout {
                    b = b.with_timeout(t);
                }
                b.build()
            }
        };
        built.map_err(|e| e.to_string())
    }

    /// Whether spans leave the process.
    pub fn exports(&self) -> bool {
        self.endpoint.is_some()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn read(vars: &[(&str, &str)]) -> Settings {
        let m: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Settings::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn off_without_an_endpoint() {
        let s = read(&[]);
        assert_eq!(s.endpoint, None);
        assert_eq!(s.sampling, Sampling::ParentAlwaysOn);
        assert_eq!(s.service_name, SERVICE_NAME);
        assert!(!read(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"), ("OTEL_SDK_DISABLED", "true")]).exports());
        assert!(!read(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"), ("OTEL_TRACES_EXPORTER", "none")]).exports());
    }

    #[test]
    fn endpoints_follow_the_spec() {
        let s = read(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317")]);
        assert_eq!((s.endpoint.as_deref(), s.protocol), (Some("http://c:4317"), Protocol::Grpc));
        let s = read(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ]);
        assert_eq!((s.endpoint.as_deref(), s.protocol), (Some("http://c:4318/v1/traces"), Protocol::HttpProtobuf));
        let s = read(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:9/x"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ]);
        assert_eq!(s.endpoint.as_deref(), Some("http://t:9/x"));
        let s = read(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"), ("OTEL_EXPORTER_OTLP_TIMEOUT", "250")]);
        assert_eq!((s.protocol, s.timeout), (Protocol::Grpc, Some(Duration::from_millis(250))));
        assert_eq!(s.warnings.len(), 1);
    }

    #[test]
    fn resource_and_sampler() {
        let s = read(&[
            ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod,service.name=from-attrs,team=data%20eng,junk"),
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
        ]);
        assert_eq!(s.service_name, "from-attrs");
        assert_eq!(
            s.resource,
            vec![("deployment.environment".into(), "prod".into()), ("team".into(), "data eng".into())]
        );
        assert_eq!(s.sampling, Sampling::ParentRatio(0.25));
        assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
        let s = read(&[("OTEL_SERVICE_NAME", "gw"), ("OTEL_TRACES_SAMPLER", "traceidratio")]);
        assert_eq!((s.service_name.as_str(), s.sampling), ("gw", Sampling::Ratio(1.0)));
        let s = read(&[("OTEL_TRACES_SAMPLER", "xray")]);
        assert_eq!(s.sampling, Sampling::ParentAlwaysOn);
        let r = read(&[("OTEL_SERVICE_NAME", "gw")]).resource();
        assert_eq!(r.get(&"service.name".into()).map(|v| v.to_string()), Some("gw".into()));
    }
}
