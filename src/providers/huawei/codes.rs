//! The DataArts Studio error codes the driver tells apart: one table, each
//! code with the vendor's published meaning, looked up once per error
//! ([`lookup`]); everything else is decided on typed [`Kind`]s.
//!
//! Sources: the DataArts Factory API "error codes" page (数据开发API错误码),
//! the API pages' failure examples, Huawei's API Gateway pages for
//! `APIGW.*`/`APIG.*`, and the huaweicloud Terraform provider's not-found
//! lists (`DLF.20819`). A code not in the table is decided by the HTTP
//! status (see `client.rs`).

/// What a vendor error means to the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The named object does not exist (NOT_FOUND).
    NotFound,
    /// The account may not do this (PERMISSION_DENIED).
    PermissionDenied,
    /// A parameter is missing or invalid (INVALID_ARGUMENT).
    InvalidArgument,
    /// Throttled by Huawei's API gateway (UNAVAILABLE + RetryInfo).
    Throttled,
    /// The gateway's own credentials were refused (INTERNAL, never retried).
    AuthFailed,
    /// The endpoint does not serve this API (FAILED_PRECONDITION).
    EndpointMismatch,
}

/// Where DataArts Studio's day ends: daily API gateway quotas reset at
/// midnight, Beijing time.
pub(crate) const DAILY_RESET_ZONE: &str = "Asia/Shanghai";

/// The window of the API gateway throttling policy that refused a call, as
/// its `APIGW.0308` message names it (`… over ratelimit,limit:100,time:1
/// day`). A one-day window is the daily quota: used up until the reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Window {
    /// Per second (or a message naming no window).
    Second,
    /// Per minute.
    Minute,
    /// Per hour.
    Hour,
    /// Per day: the daily quota.
    Day,
}

impl Window {
    /// The window named by `time:N <unit>` in a throttling message; None
    /// when it names none.
    pub(crate) fn of_message(msg: &str) -> Option<Window> {
        let at = msg.rfind("time:")?;
        let rest = msg[at + "time:".len()..].trim_start();
        let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit()).trim_start();
        let unit: String = rest.chars().take_while(char::is_ascii_alphabetic).collect::<String>().to_ascii_lowercase();
        match unit.strip_suffix('s').unwrap_or(&unit) {
            "second" => Some(Window::Second),
            "minute" => Some(Window::Minute),
            "hour" => Some(Window::Hour),
            "day" => Some(Window::Day),
            _ => None,
        }
    }
}

/// One published vendor code.
struct Code {
    /// As the vendor spells it (`DLF.6201`).
    code: &'static str,
    /// What the gateway makes of it.
    kind: Kind,
    /// The vendor's published meaning (its English error_msg where one is
    /// published, else a translation of the error-code page); the message
    /// callers see when the vendor sends none.
    meaning: &'static str,
}

/// Every code the driver maps; any other is decided by the HTTP status.
const TABLE: &[Code] = &[
    Code { code: "DLF.0100", kind: Kind::NotFound, meaning: "The job does not exist." },
    Code { code: "DLF.0137", kind: Kind::NotFound, meaning: "The job instance does not exist." },
    Code { code: "DLF.0810", kind: Kind::NotFound, meaning: "The queried system task does not exist." },
    Code { code: "DLF.6201", kind: Kind::NotFound, meaning: "The script does not exist." },
    Code { code: "DLF.6205", kind: Kind::NotFound, meaning: "The script execution instance does not exist." },
    Code { code: "DLF.6241", kind: Kind::NotFound, meaning: "The queried resource does not exist." },
    Code { code: "DLF.6322", kind: Kind::NotFound, meaning: "The data connection does not exist." },
    Code { code: "DLF.20819", kind: Kind::NotFound, meaning: "The workspace does not exist." },
    Code { code: "DLF.6888", kind: Kind::PermissionDenied, meaning: "The account permission is invalid." },
    Code { code: "DLF.0802", kind: Kind::InvalidArgument, meaning: "The specified parameter is not configured." },
    Code { code: "APIGW.0308", kind: Kind::Throttled, meaning: "The throttling threshold has been reached." },
    Code { code: "APIG.0308", kind: Kind::Throttled, meaning: "The throttling threshold has been reached." },
    Code { code: "APIGW.0301", kind: Kind::AuthFailed, meaning: "Incorrect IAM authentication information." },
    Code { code: "APIG.0301", kind: Kind::AuthFailed, meaning: "Incorrect IAM authentication information." },
    Code { code: "APIGW.1002", kind: Kind::AuthFailed, meaning: "Incorrect app authentication information." },
    Code { code: "APIG.1002", kind: Kind::AuthFailed, meaning: "Incorrect app authentication information." },
    Code {
        code: "APIGW.0101",
        kind: Kind::EndpointMismatch,
        meaning: "The API does not exist or has not been published in the environment.",
    },
];

/// What `code` means to the gateway and the vendor's meaning, when the
/// table knows it.
pub(crate) fn lookup(code: &str) -> Option<(Kind, &'static str)> {
    TABLE.iter().find(|c| c.code == code).map(|c| (c.kind, c.meaning))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_code_is_listed_once_with_its_meaning() {
        let mut seen = HashSet::new();
        for c in TABLE {
            assert!(seen.insert(c.code), "{} listed twice", c.code);
            assert!(c.meaning.ends_with('.') && c.meaning.len() > 10, "{}: {}", c.code, c.meaning);
        }
        for code in ["DLF.6201", "DLF.6205", "DLF.6241", "DLF.6322", "DLF.20819", "DLF.0810", "DLF.0100", "DLF.0137"] {
            assert_eq!(lookup(code).map(|(k, _)| k), Some(Kind::NotFound), "{code}");
        }
        assert!(lookup("DLF.3100").is_none());
    }

    #[test]
    fn the_throttling_window_is_read_from_the_message() {
        let cases = [
            (
                "The throttling threshold has been reached: policy user over ratelimit,limit:100,time:1 day",
                Some(Window::Day),
            ),
            (
                "The throttling threshold has been reached: policy user over ratelimit, limit:5, time:1 Days",
                Some(Window::Day),
            ),
            (
                "The throttling threshold has been reached: policy ip over ratelimit,limit:5,time:1 minute",
                Some(Window::Minute),
            ),
            ("policy user over ratelimit,limit:60,time:1 hour", Some(Window::Hour)),
            ("policy user over ratelimit,time:1 second", Some(Window::Second)),
            ("The throttling threshold has been reached: policy user over ratelimit", None),
            ("time:", None),
            ("time:1 fortnight", None),
        ];
        for (msg, want) in cases {
            assert_eq!(Window::of_message(msg), want, "{msg}");
        }
    }
}
