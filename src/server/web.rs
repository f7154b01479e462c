//! Browsers on the gRPC port: gRPC-Web (tonic-web turns it into gRPC) and
//! CORS for `server.cors_allowed_origins`, which covers gRPC-Web and
//! HTTP/JSON alike. With no origins listed, no cross-origin call is
//! allowed (same-origin pages and non-browser callers are unaffected).

use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How long a browser may cache a preflight answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(3600);

/// Request headers a browser may send cross-origin.
const ALLOW_HEADERS: [&str; 10] = [
    "content-type",
    "authorization",
    "x-grpc-web",
    "x-user-agent",
    "grpc-timeout",
    "x-server-timeout",
    "traceparent",
    "tracestate",
    "connect-protocol-version",
    "connect-timeout-ms",
];

/// Answer headers a cross-origin page may read (gRPC-Web status, errors).
const EXPOSE_HEADERS: [&str; 5] =
    ["grpc-status", "grpc-message", "grpc-status-details-bin", "retry-after", "content-type"];

/// CORS for the listed origins (validated by check-config).
pub(crate) fn cors(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allow_headers(ALLOW_HEADERS.map(HeaderName::from_static))
        .expose_headers(EXPOSE_HEADERS.map(HeaderName::from_static))
        .max_age(PREFLIGHT_MAX_AGE)
}
