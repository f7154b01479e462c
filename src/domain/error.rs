//! The one error type of the gateway and its mapping to `tonic::Status`
//! with AIP-193 details (`ErrorInfo`, `BadRequest`, `PreconditionFailure`,
//! `RetryInfo`, `QuotaFailure`).

use std::{borrow::Cow, collections::HashMap, fmt, time::Duration};

pub(crate) use super::reason::{Fate, Reason};

use tonic::{Code, Status, metadata::MetadataMap};
use tonic_types::{ErrorDetails, StatusExt};

/// `ErrorInfo.domain` of every error the gateway returns.
pub(crate) const ERROR_DOMAIN: &str = "datastudio-gateway";

/// What the vendor said, attached to errors that came from a vendor answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorDetail {
    /// The driver's short name (`ErrorInfo.metadata.vendor`).
    pub vendor: Cow<'static, str>,
    /// The vendor's error code (`Throttling.User`, `DLF.0810`) or HTTP status.
    pub code: String,
    /// The vendor's request id (`RequestId`, `X-Request-Id`), when sent.
    pub request_id: String,
    /// HTTP status of the vendor answer (0 when none arrived).
    pub http_status: u16,
}

/// A field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Request field path, e.g. `page_size` or `release_packages[3]`.
    pub field: String,
    /// What is wrong with it.
    pub description: String,
}

/// An item of a request the vendor's state does not allow (one
/// `PreconditionFailure` violation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmet {
    /// What is wrong (`PreconditionFailure.Violation.type`): `FILE_NOT_FOUND`,
    /// `FILE_NOT_COMMITTED`, `VERSION_NOT_DEPLOYABLE`, ...
    pub kind: Reason,
    /// The item's resource name as the caller sent it.
    pub subject: String,
    /// What is wrong with it, naming the request field (`files[1]: ...`).
    pub description: String,
}

/// Any failure of a gateway call (boxed: results stay one word wide).
#[derive(Debug, Clone)]
pub struct Error(Box<ErrorData>);

/// What an [`Error`] carries.
#[derive(Debug, Clone)]
pub struct ErrorData {
    /// gRPC code.
    pub code: Code,
    /// Message for humans (never secrets).
    pub message: String,
    /// `ErrorInfo.reason`.
    pub reason: Reason,
    /// The vendor's own answer, when this came from one.
    pub vendor: Option<VendorDetail>,
    /// Field violations (INVALID_ARGUMENT).
    pub violations: Vec<Violation>,
    /// Items whose state forbids the call (FAILED_PRECONDITION).
    pub unmet: Vec<Unmet>,
    /// How long to wait before retrying.
    pub retry_after: Option<Duration>,
    /// Quota that ran out: (subject, description).
    pub quota: Option<(String, String)>,
    /// Extra `ErrorInfo` metadata.
    pub metadata: Vec<(String, String)>,
    /// Deployments the failing call had already started (a partial deploy):
    /// `ErrorInfo.metadata.started_deployments`, and never "not applied".
    pub started: Vec<String>,
}

impl std::ops::Deref for Error {
    type Target = ErrorData;
    fn deref(&self) -> &ErrorData {
        &self.0
    }
}

impl std::ops::DerefMut for Error {
    fn deref_mut(&mut self) -> &mut ErrorData {
        &mut self.0
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

/// Result with the gateway's error.
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A bare error.
    pub fn new(code: Code, reason: Reason, message: impl Into<String>) -> Self {
        Error(Box::new(ErrorData {
            code,
            message: message.into(),
            reason,
            vendor: None,
            violations: Vec::new(),
            unmet: Vec::new(),
            retry_after: None,
            quota: None,
            metadata: Vec::new(),
            started: Vec::new(),
        }))
    }

    /// INVALID_ARGUMENT for one field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::invalid_all(vec![Violation { field: field.into(), description: description.into() }])
    }

    /// INVALID_ARGUMENT for several fields. The message names them all
    /// within [`MAX_MESSAGE`] bytes (the `BadRequest` detail has every one).
    pub fn invalid_all(mut violations: Vec<Violation>) -> Self {
        // The details travel in a response header, which clients bound
        // (often at 16 KiB): list what fits in MAX_DETAILS bytes.
        let mut size = 0;
        if let Some(cut) = violations.iter().position(|v| {
            size += v.field.len() + v.description.len();
            size > MAX_DETAILS
        }) {
            let more = violations.len() - cut;
            let field = violations[cut].field.clone();
            violations.truncate(cut);
            violations.push(Violation { field, description: format!("and {more} more bad field(s), not listed") });
        }
        let mut message = String::new();
        for (i, v) in violations.iter().enumerate() {
            let next = format!("{}{}: {}", if i == 0 { "" } else { "; " }, v.field, v.description);
            if message.len() + next.len() > MAX_MESSAGE {
                message.push_str(&format!("; and {} more (see BadRequest)", violations.len() - i));
                break;
            }
            message.push_str(&next);
        }
        let mut e = Self::new(Code::InvalidArgument, Reason::InvalidArgument, message);
        e.violations = violations;
        e
    }

    /// FAILED_PRECONDITION `DEPLOY_PRECONDITION_FAILED` naming every item
    /// that cannot be deployed (nothing was deployed).
    pub fn deploy_preconditions(unmet: Vec<Unmet>) -> Self {
        let message = unmet.iter().map(|u| u.description.as_str()).collect::<Vec<_>>().join("; ");
        let mut e = Self::new(Code::FailedPrecondition, Reason::DeployPreconditionFailed, message);
        e.unmet = unmet;
        e
    }

    /// NOT_FOUND for a resource name.
    pub fn not_found(reason: Reason, what: impl fmt::Display) -> Self {
        Self::new(Code::NotFound, reason, format!("{what} not found"))
    }

    /// FAILED_PRECONDITION: the workspace's vendor cannot do this.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(Code::FailedPrecondition, Reason::OperationNotSupportedByVendor, message)
    }

    /// INTERNAL: a vendor answer the gateway cannot read.
    pub fn malformed(vendor: &'static str, request_id: &str, http_status: u16, what: impl fmt::Display) -> Self {
        Self::new(Code::Internal, Reason::VendorResponseMalformed, format!("unreadable {vendor} response: {what}"))
            .with_vendor(VendorDetail {
                vendor: vendor.into(),
                code: "MalformedResponse".into(),
                request_id: request_id.into(),
                http_status,
            })
    }

    /// Attaches the vendor's answer.
    pub fn with_vendor(mut self, v: VendorDetail) -> Self {
        self.vendor = Some(v);
        self
    }

    /// Attaches a retry delay.
    pub fn with_retry_after(mut self, d: Duration) -> Self {
        self.retry_after = Some(d);
        self
    }

    /// Attaches extra `ErrorInfo` metadata.
    pub fn with_meta(mut self, k: &str, v: impl Into<String>) -> Self {
        self.metadata.push((k.into(), v.into()));
        self
    }
}

impl From<Error> for Status {
    fn from(e: Error) -> Status {
        let e = *e.0;
        let mut meta: HashMap<String, String> = e.metadata.into_iter().collect();
        if let Some(v) = &e.vendor {
            meta.insert("vendor".into(), v.vendor.to_string());
            meta.insert("vendor_code".into(), v.code.clone());
            meta.insert("vendor_request_id".into(), v.request_id.clone());
            if v.http_status != 0 {
                meta.insert("vendor_http_status".into(), v.http_status.to_string());
            }
        }
        if !e.started.is_empty() {
            meta.insert("started_deployments".into(), e.started.join(","));
        }
        let mut d = ErrorDetails::with_error_info(e.reason.as_str(), ERROR_DOMAIN, meta);
        for v in &e.violations {
            d.add_bad_request_violation(v.field.clone(), v.description.clone());
        }
        for u in &e.unmet {
            d.add_precondition_failure_violation(u.kind.as_str(), u.subject.clone(), u.description.clone());
        }
        let mut trailers = MetadataMap::new();
        if let Some(wait) = e.retry_after {
            ask_to_wait(wait, rand::random::<f64>(), &mut d, &mut trailers);
        }
        if let Some((subject, description)) = &e.quota {
            d.add_quota_failure_violation(subject.clone(), description.clone());
        }
        Status::with_error_details_and_metadata(e.code, e.message, d, trailers)
    }
}

/// The trailer gRPC's own retry policy reads a server's wait from (gRFC A6),
/// in whole milliseconds.
pub(crate) const RETRY_PUSHBACK: &str = "grpc-retry-pushback-ms";

/// The most jitter [`spread`] adds to a wait.
pub(crate) const MAX_JITTER: Duration = Duration::from_secs(10);

/// The delay a refusal asks for, so that callers refused together do not
/// come back together: the wait plus a random share of it, bounded,
///
/// `delay = wait + share × min(wait / 2, 10 s)`, `share` uniform in [0, 1),
///
/// in whole milliseconds (rounded up, never below the wait, which is the
/// earliest a retry can succeed).
pub(crate) fn spread(wait: Duration, share: f64) -> Duration {
    let room = (wait / 2).min(MAX_JITTER);
    let delay = wait.saturating_add(room.mul_f64(share.clamp(0.0, 1.0)));
    let ms = delay.as_nanos().div_ceil(1_000_000);
    Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
}

/// The one place a wait becomes what the caller reads: the [`spread`]
/// delay as `RetryInfo` and, with the same value, the
/// `grpc-retry-pushback-ms` trailer.
fn ask_to_wait(wait: Duration, share: f64, details: &mut ErrorDetails, trailers: &mut MetadataMap) {
    let delay = spread(wait, share);
    details.set_retry_info(Some(delay));
    let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
    trailers.insert(RETRY_PUSHBACK, ms.into());
}

/// The longest error message built from a caller's input, in bytes.
pub(crate) const MAX_MESSAGE: usize = 2048;

/// The most `BadRequest` text (fields and descriptions) an error carries.
const MAX_DETAILS: usize = 6144;

/// How many characters of a caller's value an error message echoes.
const SHOWN_CHARS: usize = 64;

/// A caller's value as an error message quotes it: escaped, and cut to
/// its first characters with its length said when it is long.
pub(crate) fn shown(v: &str) -> String {
    if v.chars().count() <= SHOWN_CHARS {
        return format!("{v:?}");
    }
    let head: String = v.chars().take(SHOWN_CHARS).collect();
    format!("{head:?}… ({} bytes)", v.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_is_the_wait_plus_at_most_half_of_it_and_at_most_ten_seconds() {
        let cases = [
            (Duration::ZERO, Duration::ZERO),
            (Duration::from_millis(1), Duration::from_millis(2)),
            (Duration::from_secs(1), Duration::from_millis(1500)),
            (Duration::from_millis(1500), Duration::from_millis(2250)),
            (Duration::from_secs(7200), Duration::from_secs(7210)),
        ];
        for (wait, most) in cases {
            for share in [0.0, 0.25, 0.5, 0.999_999, 1.0, -1.0, 2.0] {
                let d = spread(wait, share);
                assert!(d >= wait && d <= most, "{wait:?} × {share}: {d:?}");
                assert_eq!(d.subsec_nanos() % 1_000_000, 0, "whole milliseconds: {d:?}");
            }
        }
        assert_eq!(spread(Duration::from_secs(1), 0.0), Duration::from_secs(1));
        assert_eq!(spread(Duration::from_secs(1), 0.5), Duration::from_millis(1250));
        assert_eq!(spread(Duration::from_micros(1500), 0.0), Duration::from_millis(2), "rounded up");
        assert_eq!(spread(Duration::MAX, 1.0), Duration::from_millis(u64::MAX), "saturates");
    }

    #[test]
    fn a_burst_of_refusals_asks_for_different_delays_with_the_same_trailer() {
        let delays: Vec<_> = (0..35)
            .map(|_| {
                let status = Status::from(
                    Error::new(Code::ResourceExhausted, Reason::GatewayOverloaded, "full")
                        .with_retry_after(Duration::from_secs(1)),
                );
                let delay = status.get_details_retry_info().and_then(|r| r.retry_delay).expect("RetryInfo");
                let pushback = status.metadata().get(RETRY_PUSHBACK).expect("pushback trailer");
                assert_eq!(pushback.to_str().unwrap(), delay.as_millis().to_string());
                assert!(delay >= Duration::from_secs(1) && delay <= Duration::from_millis(1500), "{delay:?}");
                delay
            })
            .collect();
        let distinct: std::collections::BTreeSet<_> = delays.iter().collect();
        assert!(distinct.len() > 1, "35 refusals, one delay: {delays:?}");
    }

    #[test]
    fn errors_without_a_wait_carry_no_pushback() {
        let status = Status::from(Error::new(Code::Unavailable, Reason::GatewayOverloaded, "x"));
        assert!(status.metadata().get(RETRY_PUSHBACK).is_none());
        assert!(status.get_details_retry_info().is_none());
    }
}
