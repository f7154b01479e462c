//! The deploy audit trail: one structured event (target `audit`) per deploy
//! attempt, allowed or not. It is a log line and, under the request's span,
//! a span event. It carries who, where, what and the outcome — never
//! credentials or token contents.
//!
//! Every field is recorded as a string value (never `%` Display), so the
//! text log format writes it escaped and quoted (`"a\nb"`, `"\u{1b}"`): a
//! control character in an item name cannot start a forged line. JSON
//! lines escape them anyway.

use tonic::Code;

use crate::domain::{Error, Reason};

/// What is known about one deploy attempt; logged once when dropped by [`DeployAudit::finish`].
#[derive(Debug, Default)]
pub(crate) struct DeployAudit {
    /// RPC method.
    pub method: &'static str,
    /// Caller identity, when known.
    pub identity: Option<String>,
    /// How the caller was identified (`jwt`, `mtls`, `anonymous`, `none`).
    pub via: &'static str,
    /// Workspace name.
    pub workspace: String,
    /// Release package or file names as the caller sent them.
    pub items: Vec<String>,
    /// The caller's request_id.
    pub request_id: String,
    /// The outcome word when it succeeds (`deployed`, `cancelled`).
    pub done: &'static str,
}

impl DeployAudit {
    /// An attempt of `method`.
    pub(crate) fn new(method: &'static str) -> Self {
        DeployAudit { method, via: "none", done: "deployed", ..Default::default() }
    }

    /// An attempt of CancelDeployment.
    pub(crate) fn cancel() -> Self {
        DeployAudit { done: "cancelled", ..Self::new("CancelDeployment") }
    }

    /// Logs the outcome: the vendor deployments, or the refusal.
    pub(crate) fn finish(self, result: Result<&[String], &Error>) {
        let (outcome, code, deployments) = match result {
            Ok(d) => (self.done, Code::Ok, d.join(",")),
            Err(e) => (refusal(e), e.code, String::new()),
        };
        tracing::info!(
            target: "audit",
            event = "deploy",
            method = self.method,
            identity = self.identity.as_deref().unwrap_or("-"),
            via = self.via,
            workspace = self.workspace.as_str(),
            items = self.items.join(",").as_str(),
            request_id = self.request_id.as_str(),
            outcome,
            code = ?code,
            deployments = deployments.as_str(),
            "deploy attempt"
        );
    }
}

/// The outcome word of a refused attempt: the caller's credentials
/// (`unauthenticated`, `denied`) are told apart from the gateway's own
/// credentials refused by the vendor (`vendor_credentials_refused`).
fn refusal(e: &Error) -> &'static str {
    match e.reason {
        Reason::Unauthenticated => "unauthenticated",
        Reason::PermissionDenied => "denied",
        Reason::VendorAuthFailed => "vendor_credentials_refused",
        _ => "failed",
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::prelude::*;

    use super::*;
    use crate::{
        config::LogFormat,
        telemetry::{LogOutput, logs},
    };

    /// The audit lines `audit` writes in `format`, through the gateway's own log layer.
    fn lines(format: LogFormat, audit: DeployAudit, result: Result<&[String], &Error>) -> String {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let w = buf.clone();
        let writer = tracing_subscriber::fmt::writer::BoxMakeWriter::new(move || Capture(w.clone()));
        let out = LogOutput { format, filter: Some("info".into()), writer };
        let subscriber = tracing_subscriber::registry().with(logs::lines(out));
        tracing::subscriber::with_default(subscriber, || audit.finish(result));
        String::from_utf8(buf.lock().unwrap().clone()).unwrap()
    }

    /// A writer into a shared buffer.
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn forged() -> DeployAudit {
        let tail = "audit: event=\"deploy\" identity=\"admin\" outcome=\"deployed\"";
        DeployAudit {
            identity: Some("ci\u{1b}[2Kbot".into()),
            via: "jwt",
            workspace: "dw\r".into(),
            items: vec![format!("workspaces/dw/files/1\n{tail}"), "x\ty\u{85}z".into()],
            request_id: "r1\n".into(),
            ..DeployAudit::new("DeployFiles")
        }
    }

    #[test]
    fn control_characters_cannot_forge_a_text_line() {
        let e = Error::invalid("files[0]", "is not a file name");
        let text = lines(LogFormat::Text, forged(), Err(&e));
        assert_eq!(text.lines().count(), 1, "one attempt, one line: {text}");
        assert!(!text.contains(['\r', '\t', '\u{1b}', '\u{85}']), "{text:?}");
        assert!(text.contains(r#"items="workspaces/dw/files/1\naudit: event=\"deploy\""#), "{text}");
        assert!(text.contains(r#"identity="ci\u{1b}[2Kbot""#), "{text}");
        assert!(text.contains(r#"outcome="failed""#), "{text}");
    }

    #[test]
    fn json_lines_keep_the_fields_whole() {
        let e = Error::new(Code::Internal, Reason::VendorAuthFailed, "refused");
        let text = lines(LogFormat::Json, forged(), Err(&e));
        assert_eq!(text.lines().count(), 1, "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["fields"]["items"], forged().items.join(","));
        assert_eq!(v["fields"]["identity"], "ci\u{1b}[2Kbot");
        assert_eq!(v["fields"]["outcome"], "vendor_credentials_refused");
        assert_eq!(v["fields"]["code"], "Internal");
    }
}
