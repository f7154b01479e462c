//! Exit codes, one per class of gRPC status, and readable errors with the
//! `google.rpc` details the gateway attaches.

use std::process::ExitCode;

use tonic::{Code, Status};
use tonic_types::StatusExt;

/// The client's exit codes (the README's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// 0: done; a watched deployment SUCCEEDED.
    Ok,
    /// 1: any other failure (INTERNAL, UNKNOWN, UNIMPLEMENTED, DATA_LOSS, CANCELLED).
    Failure,
    /// 2: bad flags or arguments, unreadable token or certificate files.
    Usage,
    /// 3: INVALID_ARGUMENT, OUT_OF_RANGE: fix the request.
    InvalidArgument,
    /// 4: NOT_FOUND.
    NotFound,
    /// 5: ALREADY_EXISTS, ABORTED: a conflict.
    Conflict,
    /// 6: UNAUTHENTICATED, PERMISSION_DENIED.
    Denied,
    /// 7: FAILED_PRECONDITION: not possible in the current state.
    FailedPrecondition,
    /// 8: UNAVAILABLE, RESOURCE_EXHAUSTED: retry later (same request id for deploys).
    Retryable,
    /// 9: DEADLINE_EXCEEDED, or a watch that ended before the deployment did.
    DeadlineExceeded,
    /// 10: a watched deployment ended FAILED.
    DeploymentFailed,
    /// 11: a watched deployment ended CANCELLED.
    DeploymentCancelled,
}

impl Exit {
    /// The exit code for a gRPC status code.
    pub(crate) fn of(code: Code) -> Exit {
        match code {
            Code::Ok => Exit::Ok,
            Code::InvalidArgument | Code::OutOfRange => Exit::InvalidArgument,
            Code::NotFound => Exit::NotFound,
            Code::AlreadyExists | Code::Aborted => Exit::Conflict,
            Code::Unauthenticated | Code::PermissionDenied => Exit::Denied,
            Code::FailedPrecondition => Exit::FailedPrecondition,
            Code::Unavailable | Code::ResourceExhausted => Exit::Retryable,
            Code::DeadlineExceeded => Exit::DeadlineExceeded,
            Code::Cancelled | Code::Unknown | Code::Unimplemented | Code::Internal | Code::DataLoss => Exit::Failure,
        }
    }

    /// The process exit code.
    pub(crate) fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
            Exit::InvalidArgument => 3,
            Exit::NotFound => 4,
            Exit::Conflict => 5,
            Exit::Denied => 6,
            Exit::FailedPrecondition => 7,
            Exit::Retryable => 8,
            Exit::DeadlineExceeded => 9,
            Exit::DeploymentFailed => 10,
            Exit::DeploymentCancelled => 11,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

/// Why a command failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A usage problem found before calling (exit 2).
    Usage(String),
    /// The gateway (or the connection) answered with an error status.
    Status(Status),
}

impl From<Status> for Failure {
    fn from(s: Status) -> Failure {
        Failure::Status(s)
    }
}

impl Failure {
    /// Prints the failure to stderr; its exit code.
    pub(crate) fn report(self) -> Exit {
        match self {
            Failure::Usage(msg) => {
                eprintln!("error: {msg}");
                Exit::Usage
            }
            Failure::Status(s) => {
                eprint!("{}", describe(&s));
                Exit::of(code(&s))
            }
        }
    }
}

/// The status's code, except that a call the transport failed is
/// UNAVAILABLE, as gRPC reports a connection that could not be made, was
/// refused or broke. tonic answers CANCELLED, UNKNOWN or INTERNAL then, which
/// of them depending on timing: a TLS handshake the server refused shows as a
/// closed connection, a broken pipe or the TLS alert, plaintext to a TLS port
/// as a broken pipe or an HTTP/2 protocol error. This client never cancels its
/// calls, so a CANCELLED from the transport is never the caller's doing.
fn code(s: &Status) -> Code {
    let from_transport =
        std::iter::successors(std::error::Error::source(s), |e| e.source()).any(|e| e.is::<tonic::transport::Error>());
    match s.code() {
        Code::Cancelled | Code::Unknown | Code::Internal if from_transport => Code::Unavailable,
        other => other,
    }
}

/// The status name as gRPC spells it.
pub(crate) fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The status, its message and every `google.rpc` detail, one per line.
fn describe(s: &Status) -> String {
    let mut out = format!("error: {}: {}\n", code_name(code(s)), s.message());
    // A transport failure (refused connection, TLS handshake) says why in its sources.
    let mut cause = std::error::Error::source(s);
    while let Some(c) = cause {
        out += &format!("  cause: {c}\n");
        cause = c.source();
    }
    let d = s.get_error_details();
    if let Some(info) = d.error_info() {
        let mut meta: Vec<_> = info.metadata.iter().map(|(k, v)| format!("{k}={v}")).collect();
        meta.sort();
        out += &format!("  reason: {} (domain {})", info.reason, info.domain);
        if !meta.is_empty() {
            out += &format!(" {}", meta.join(" "));
        }
        out.push('\n');
    }
    if let Some(bad) = d.bad_request() {
        for v in &bad.field_violations {
            out += &format!("  field {}: {}\n", v.field, v.description);
        }
    }
    if let Some(pre) = d.precondition_failure() {
        for v in &pre.violations {
            out += &format!("  precondition {} {}: {}\n", v.r#type, v.subject, v.description);
        }
    }
    if let Some(q) = d.quota_failure() {
        for v in &q.violations {
            out += &format!("  quota {}: {}\n", v.subject, v.description);
        }
    }
    if let Some(retry) = d.retry_info()
        && let Some(delay) = retry.retry_delay
    {
        let ms = std::time::Duration::from_millis(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
        out += &format!("  retry after: {}\n", humantime::format_duration(ms));
    }
    if let Some(r) = d.resource_info() {
        out += &format!("  resource: {} {} {}\n", r.resource_type, r.resource_name, r.description);
    }
    if let Some(r) = d.request_info() {
        out += &format!("  request: {}\n", r.request_id);
    }
    if let Some(help) = d.help() {
        for l in &help.links {
            out += &format!("  see: {} {}\n", l.description, l.url);
        }
    }
    if let Some(m) = d.localized_message() {
        out += &format!("  {}: {}\n", m.locale, m.message);
    }
    out
}
