//! The deploy audit trail: one structured event (target `audit`) per deploy
//! attempt, allowed or not. It is a log line and, under the request's span,
//! a span event. It carries who, where, what and the outcome — never
//! credentials or token contents.

use tonic::Code;

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
}

impl DeployAudit {
    /// An attempt of `method`.
    pub(crate) fn new(method: &'static str) -> Self {
        DeployAudit { method, via: "none", ..Default::default() }
    }

    /// Logs the outcome: the vendor deployments, or the refusal's code.
    pub(crate) fn finish(self, result: Result<&[String], Code>) {
        let (outcome, code, deployments) = match result {
            Ok(d) => ("deployed", Code::Ok, d.join(",")),
            Err(Code::Unauthenticated) => ("unauthenticated", Code::Unauthenticated, String::new()),
            Err(Code::PermissionDenied) => ("denied", Code::PermissionDenied, String::new()),
            Err(c) => ("failed", c, String::new()),
        };
        tracing::info!(
            target: "audit",
            event = "deploy",
            method = self.method,
            identity = self.identity.as_deref().unwrap_or("-"),
            via = self.via,
            workspace = %self.workspace,
            items = %self.items.join(","),
            request_id = %self.request_id,
            outcome,
            code = ?code,
            deployments = %deployments,
            "deploy attempt"
        );
    }
}
