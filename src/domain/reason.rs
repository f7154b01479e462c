//! The one list of `ErrorInfo.reason` values the gateway sends, and what
//! each one means for retrying a read, re-sending a deploy and telemetry.
//! Nothing anywhere compares a reason as a string: code matches on
//! [`Reason`] (exhaustively, through [`Reason::fate`]).

use serde::{Deserialize, Serialize};

/// `ErrorInfo.reason` of a gateway error (UPPER_SNAKE_CASE on the wire and
/// in the deploy ledger).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Reason {
    // --- the caller's request ---
    /// A field is malformed or out of range (with `BadRequest`).
    InvalidArgument,
    /// No such workspace in the configuration.
    WorkspaceNotFound,
    /// No such file (found out by the gateway, not the vendor).
    FileNotFound,
    /// The workspace's vendor cannot do this.
    OperationNotSupportedByVendor,
    /// No HTTP/JSON binding for the request's method and path.
    RouteNotFound,
    /// The release package has already been deployed.
    PackageAlreadyDeployed,
    /// The requested version is not the one the vendor would deploy.
    VersionNotDeployable,
    /// The requested version is not the one waiting for release.
    VersionNotPending,
    /// The file has nothing waiting for release.
    FileNotPending,
    /// The file has no committed version (it was never committed).
    FileNotCommitted,
    /// The deployment has already ended (it cannot be cancelled).
    DeploymentEnded,
    /// Items of a deploy cannot be deployed (with `PreconditionFailure`,
    /// one violation per item); nothing was deployed.
    DeployPreconditionFailed,
    /// The caller is not authenticated.
    Unauthenticated,
    /// The caller lacks a permission on the workspace.
    PermissionDenied,
    // --- the gateway's own protection ---
    /// No rate-limit slot within the caller's deadline.
    RateLimited,
    /// The shared rate limiter cannot be reached (fail closed).
    RateLimiterUnavailable,
    /// The account's daily call budget is used up.
    DailyBudgetExhausted,
    /// The caller's deadline passed before a request was sent.
    DeadlineExceeded,
    /// The gateway has as many calls in flight as it takes
    /// (`server.max_in_flight`); retry after the RetryInfo delay.
    GatewayOverloaded,
    /// This caller has as many calls or watches open as one caller may
    /// (`server.max_in_flight_per_caller`, `server.max_watches_per_caller`).
    CallerLimitReached,
    // --- deploy records ---
    /// Replicas kept taking and dropping the same request id.
    DeployContended,
    /// The deploy task itself failed.
    DeployTaskFailed,
    /// The deploy was sent and its outcome is not known.
    DeployOutcomeUnknown,
    /// A stored deploy outcome cannot be read.
    DeployRecordUnreadable,
    /// The shared deploy record store cannot be reached.
    IdempotencyStoreUnavailable,
    /// The deploy ledger was damaged and quarantined: this request id may
    /// repeat a lost record.
    DeployLedgerDamaged,
    // --- building a vendor request ---
    /// The gateway's vendor credentials cannot be read.
    CredentialsUnavailable,
    /// The vendor request could not be built.
    RequestBuildFailed,
    // --- the vendor's answer ---
    /// The vendor throttled the call.
    VendorThrottled,
    /// The vendor's daily quota is used up.
    VendorDailyQuotaExhausted,
    /// The vendor rejected the gateway's credentials.
    VendorAuthFailed,
    /// The vendor denied access.
    VendorPermissionDenied,
    /// The vendor says the object does not exist.
    VendorNotFound,
    /// The vendor refused a parameter.
    VendorInvalidArgument,
    /// The configured endpoint does not serve this API.
    VendorEndpointMismatch,
    /// The vendor refused the call (a state it is in).
    VendorRefused,
    /// The vendor failed (5xx).
    VendorUnavailable,
    /// The vendor's answer cannot be read.
    VendorResponseMalformed,
    // --- the connection ---
    /// No answer in time after the request was sent.
    VendorTimeout,
    /// The vendor could not be reached (nothing was sent).
    VendorUnreachable,
    /// The connection broke after the request may have been sent.
    VendorConnectionFailed,
}

/// What a reason says about the request that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Refused before any vendor request left the gateway.
    NotSent,
    /// The vendor throttled it: nothing applied; the limiter slows down.
    Throttled,
    /// The vendor answered with a refusal: nothing applied.
    Refused,
    /// The vendor failed (5xx): a read may be retried; a write may have applied.
    VendorFailed,
    /// Sent, and no answer came back: a write may have applied.
    AnswerLost,
    /// An answer came and cannot be read: a write may have applied.
    Unreadable,
    /// Not about one vendor request (deploy records, wrapped errors).
    Gateway,
}

impl Reason {
    /// The wire spelling (`ErrorInfo.reason`).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::InvalidArgument => "INVALID_ARGUMENT",
            Reason::WorkspaceNotFound => "WORKSPACE_NOT_FOUND",
            Reason::FileNotFound => "FILE_NOT_FOUND",
            Reason::OperationNotSupportedByVendor => "OPERATION_NOT_SUPPORTED_BY_VENDOR",
            Reason::RouteNotFound => "ROUTE_NOT_FOUND",
            Reason::PackageAlreadyDeployed => "PACKAGE_ALREADY_DEPLOYED",
            Reason::VersionNotDeployable => "VERSION_NOT_DEPLOYABLE",
            Reason::VersionNotPending => "VERSION_NOT_PENDING",
            Reason::FileNotPending => "FILE_NOT_PENDING",
            Reason::FileNotCommitted => "FILE_NOT_COMMITTED",
            Reason::DeploymentEnded => "DEPLOYMENT_ENDED",
            Reason::DeployPreconditionFailed => "DEPLOY_PRECONDITION_FAILED",
            Reason::Unauthenticated => "UNAUTHENTICATED",
            Reason::PermissionDenied => "PERMISSION_DENIED",
            Reason::RateLimited => "RATE_LIMITED",
            Reason::RateLimiterUnavailable => "RATE_LIMITER_UNAVAILABLE",
            Reason::DailyBudgetExhausted => "DAILY_BUDGET_EXHAUSTED",
            Reason::DeadlineExceeded => "DEADLINE_EXCEEDED",
            Reason::GatewayOverloaded => "GATEWAY_OVERLOADED",
            Reason::CallerLimitReached => "CALLER_LIMIT_REACHED",
            Reason::DeployContended => "DEPLOY_CONTENDED",
            Reason::DeployTaskFailed => "DEPLOY_TASK_FAILED",
            Reason::DeployOutcomeUnknown => "DEPLOY_OUTCOME_UNKNOWN",
            Reason::DeployRecordUnreadable => "DEPLOY_RECORD_UNREADABLE",
            Reason::IdempotencyStoreUnavailable => "IDEMPOTENCY_STORE_UNAVAILABLE",
            Reason::DeployLedgerDamaged => "DEPLOY_LEDGER_DAMAGED",
            Reason::CredentialsUnavailable => "CREDENTIALS_UNAVAILABLE",
            Reason::RequestBuildFailed => "REQUEST_BUILD_FAILED",
            Reason::VendorThrottled => "VENDOR_THROTTLED",
            Reason::VendorDailyQuotaExhausted => "VENDOR_DAILY_QUOTA_EXHAUSTED",
            Reason::VendorAuthFailed => "VENDOR_AUTH_FAILED",
            Reason::VendorPermissionDenied => "VENDOR_PERMISSION_DENIED",
            Reason::VendorNotFound => "VENDOR_NOT_FOUND",
            Reason::VendorInvalidArgument => "VENDOR_INVALID_ARGUMENT",
            Reason::VendorEndpointMismatch => "VENDOR_ENDPOINT_MISMATCH",
            Reason::VendorRefused => "VENDOR_REFUSED",
            Reason::VendorUnavailable => "VENDOR_UNAVAILABLE",
            Reason::VendorResponseMalformed => "VENDOR_RESPONSE_MALFORMED",
            Reason::VendorTimeout => "VENDOR_TIMEOUT",
            Reason::VendorUnreachable => "VENDOR_UNREACHABLE",
            Reason::VendorConnectionFailed => "VENDOR_CONNECTION_FAILED",
        }
    }

    /// What happened to the request that failed with this reason.
    pub fn fate(self) -> Fate {
        match self {
            Reason::InvalidArgument
            | Reason::WorkspaceNotFound
            | Reason::FileNotFound
            | Reason::OperationNotSupportedByVendor
            | Reason::RouteNotFound
            | Reason::PackageAlreadyDeployed
            | Reason::VersionNotDeployable
            | Reason::VersionNotPending
            | Reason::FileNotPending
            | Reason::FileNotCommitted
            | Reason::DeploymentEnded
            | Reason::DeployPreconditionFailed
            | Reason::Unauthenticated
            | Reason::PermissionDenied
            | Reason::RateLimited
            | Reason::RateLimiterUnavailable
            | Reason::DailyBudgetExhausted
            | Reason::DeadlineExceeded
            | Reason::GatewayOverloaded
            | Reason::CallerLimitReached
            | Reason::CredentialsUnavailable
            | Reason::RequestBuildFailed
            | Reason::VendorUnreachable => Fate::NotSent,
            Reason::VendorThrottled => Fate::Throttled,
            Reason::VendorDailyQuotaExhausted
            | Reason::VendorAuthFailed
            | Reason::VendorPermissionDenied
            | Reason::VendorNotFound
            | Reason::VendorInvalidArgument
            | Reason::VendorEndpointMismatch
            | Reason::VendorRefused => Fate::Refused,
            Reason::VendorUnavailable => Fate::VendorFailed,
            Reason::VendorTimeout | Reason::VendorConnectionFailed => Fate::AnswerLost,
            Reason::VendorResponseMalformed => Fate::Unreadable,
            Reason::DeployContended
            | Reason::DeployTaskFailed
            | Reason::DeployOutcomeUnknown
            | Reason::DeployRecordUnreadable
            | Reason::IdempotencyStoreUnavailable
            | Reason::DeployLedgerDamaged => Fate::Gateway,
        }
    }

    /// Whether a write that failed so may still have been applied by the
    /// vendor (sent, and no readable answer): it is looked up, never
    /// re-sent blindly.
    pub fn may_have_applied(self) -> bool {
        matches!(self.fate(), Fate::VendorFailed | Fate::AnswerLost | Fate::Unreadable)
    }

    /// Whether a read that failed so may be tried again: throttling, vendor
    /// 5xx, timeouts and broken connections; never authentication failures.
    pub fn retryable(self) -> bool {
        matches!(self.fate(), Fate::Throttled | Fate::VendorFailed | Fate::AnswerLost)
            || self == Reason::VendorUnreachable
    }

    /// Whether the vendor throttled the call (the limiter slows down).
    pub fn is_throttle(self) -> bool {
        self.fate() == Fate::Throttled
    }

    /// Whether the vendor said the account's daily quota for the API is
    /// used up: the API takes no more calls until the error's retry-after
    /// (the vendor's reset).
    pub fn closes_the_api(self) -> bool {
        matches!(self, Reason::VendorDailyQuotaExhausted)
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_spelling_is_the_serde_spelling() {
        for r in [Reason::VendorThrottled, Reason::DeployOutcomeUnknown, Reason::OperationNotSupportedByVendor] {
            assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{}\"", r.as_str()));
            assert_eq!(serde_json::from_str::<Reason>(&format!("\"{r}\"")).unwrap(), r);
        }
    }

    #[test]
    fn what_may_be_retried_or_resent() {
        assert!(Reason::VendorTimeout.retryable() && Reason::VendorTimeout.fate() == Fate::AnswerLost);
        assert!(Reason::VendorUnreachable.retryable() && Reason::VendorUnreachable.fate() == Fate::NotSent);
        assert!(!Reason::VendorAuthFailed.retryable());
        assert!(!Reason::VendorResponseMalformed.retryable());
        assert!(Reason::VendorThrottled.is_throttle() && Reason::VendorThrottled.retryable());
        assert_eq!(Reason::VendorConnectionFailed.fate(), Fate::AnswerLost);
        assert!(Reason::RateLimited.fate() == Fate::NotSent && !Reason::RateLimited.retryable());
    }
}
