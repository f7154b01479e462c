//! Prometheus metrics of the gateway, served as OpenMetrics text on the
//! admin port's `/metrics`.
//!
//! One process-wide registry. The server layer records RPCs and
//! the shared vendor client records vendor calls and throttled answers; the
//! small functions below are what the rest of the gateway (rate limiter,
//! retries, daily budgets, deploys) calls. Every label value comes from the
//! code (service and method names, vendor API names, outcome words) or from
//! configuration, never from caller input, so series stay bounded.

use std::{sync::LazyLock, time::Duration};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

/// Content type of [`encode`]'s output.
pub(crate) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Labels of gRPC server series (the go-grpc-prometheus names).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RpcLabels {
    grpc_service: String,
    grpc_method: String,
    grpc_code: &'static str,
}

/// Labels of vendor call series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    vendor: &'static str,
    api: String,
    outcome: &'static str,
}

/// Labels of per-vendor-API series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ApiLabels {
    vendor: String,
    api: String,
}

/// Labels of per-workspace vendor series (workspace names come from the config).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WorkspaceLabels {
    vendor: &'static str,
    workspace: String,
}

/// Labels of credential refresh series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefreshLabels {
    vendor: &'static str,
    workspace: String,
    outcome: &'static str,
}

/// Labels of daily budget series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BudgetLabels {
    vendor: String,
    account: String,
}

/// Labels of lost-answer lookup series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LookupLabels {
    outcome: &'static str,
}

/// Labels of per-RPC series without a code.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    grpc_service: String,
    grpc_method: String,
}

/// Labels of vendor calls saved.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SavedLabels {
    reason: &'static str,
    operation: &'static str,
}

/// Labels of cache series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: &'static str,
}

/// Labels of ended deployment series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndedLabels {
    state: &'static str,
}

/// Labels of state file series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    file: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Latency buckets: 5 ms .. ~82 s, doubling.
fn latency() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 15))
}

/// Limiter wait buckets: 1 ms .. ~33 s, doubling (most waits are zero).
fn wait() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// Vendor calls per RPC: 0, 1, 2, 3, 5, 10, 20, 50, 100.
fn calls() -> Histogram {
    Histogram::new([0.0, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0])
}

/// Every metric of the gateway.
struct Metrics {
    registry: Registry,
    rpc_handled: Family<RpcLabels, Counter>,
    rpc_seconds: Histograms<RpcLabels>,
    vendor_calls: Family<CallLabels, Counter>,
    vendor_seconds: Histograms<CallLabels>,
    vendor_throttled: Family<ApiLabels, Counter>,
    credentials_refused: Family<WorkspaceLabels, Counter>,
    credential_refreshes: Family<RefreshLabels, Counter>,
    retries: Family<ApiLabels, Counter>,
    limiter_wait: Histograms<ApiLabels>,
    limiter_queue: Family<ApiLabels, Gauge>,
    daily_budget: Family<BudgetLabels, Gauge>,
    daily_budget_limit: Family<BudgetLabels, Gauge>,
    deploys_in_flight: Gauge,
    deployments_ended: Family<EndedLabels, Counter>,
    redis_up: Gauge,
    redis_outages: Counter,
    limiter_fallbacks: Counter,
    state_quarantined: Family<StateLabels, Counter>,
    state_write_errors: Family<StateLabels, Counter>,
    lost_writes: Family<LookupLabels, Counter>,
    rpc_vendor_calls: Histograms<MethodLabels>,
    calls_saved: Family<SavedLabels, Counter>,
    cache_hits: Family<OperationLabels, Counter>,
    cache_misses: Family<OperationLabels, Counter>,
    cache_evictions: Counter,
    cache_bytes: Gauge,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::default();
    let m = Metrics {
        rpc_handled: Family::default(),
        rpc_seconds: Family::new_with_constructor(latency),
        vendor_calls: Family::default(),
        vendor_seconds: Family::new_with_constructor(latency),
        vendor_throttled: Family::default(),
        credentials_refused: Family::default(),
        credential_refreshes: Family::default(),
        retries: Family::default(),
        limiter_wait: Family::new_with_constructor(wait),
        limiter_queue: Family::default(),
        daily_budget: Family::default(),
        daily_budget_limit: Family::default(),
        deploys_in_flight: Gauge::default(),
        deployments_ended: Family::default(),
        redis_up: Gauge::default(),
        redis_outages: Counter::default(),
        limiter_fallbacks: Counter::default(),
        state_quarantined: Family::default(),
        state_write_errors: Family::default(),
        lost_writes: Family::default(),
        rpc_vendor_calls: Family::new_with_constructor(calls),
        calls_saved: Family::default(),
        cache_hits: Family::default(),
        cache_misses: Family::default(),
        cache_evictions: Counter::default(),
        cache_bytes: Gauge::default(),
        registry: Registry::default(),
    };
    registry.register("grpc_server_handled", "RPCs completed, by service, method and gRPC code", m.rpc_handled.clone());
    registry.register(
        "grpc_server_handling_seconds",
        "RPC latency until the last response byte, by service, method and gRPC code",
        m.rpc_seconds.clone(),
    );
    registry.register(
        "datastudio_vendor_calls",
        "Vendor HTTP attempts, by vendor, vendor API and outcome",
        m.vendor_calls.clone(),
    );
    registry.register(
        "datastudio_vendor_call_duration_seconds",
        "Vendor HTTP attempt latency, by vendor, vendor API and outcome",
        m.vendor_seconds.clone(),
    );
    registry.register(
        "datastudio_vendor_throttled",
        "Vendor answers that said the gateway was throttled (HTTP 429, Throttling.*, APIGW.0308)",
        m.vendor_throttled.clone(),
    );
    registry.register(
        "datastudio_vendor_credentials_refused",
        "Vendor answers that refused the gateway's own credentials, by vendor and workspace (operators must fix them)",
        m.credentials_refused.clone(),
    );
    registry.register("datastudio_vendor_retries", "Vendor calls retried, by vendor and API", m.retries.clone());
    registry.register(
        "datastudio_limiter_wait_seconds",
        "Time calls waited for a vendor rate-limit slot",
        m.limiter_wait.clone(),
    );
    registry.register(
        "datastudio_limiter_queue_depth",
        "Calls waiting for a vendor rate-limit slot now",
        m.limiter_queue.clone(),
    );
    registry.register(
        "datastudio_daily_budget_remaining",
        "Vendor calls left in today's budget, by vendor and account",
        m.daily_budget.clone(),
    );
    registry.register(
        "datastudio_daily_budget_limit",
        "Vendor calls allowed a day, by vendor and account (the denominator of datastudio_daily_budget_remaining)",
        m.daily_budget_limit.clone(),
    );
    registry.register(
        "datastudio_deployments_ended",
        "Deployments this replica drove to a final state, by state (succeeded, failed, cancelled)",
        m.deployments_ended.clone(),
    );
    registry.register(
        "datastudio_deploys_in_flight",
        "Deployments started and not yet final",
        m.deploys_in_flight.clone(),
    );
    registry.register(
        "datastudio_gateway_redis_up",
        "Whether the shared Redis answered the last command (1) or not (0); 1 without a shared Redis",
        m.redis_up.clone(),
    );
    registry.register(
        "datastudio_gateway_redis_outages",
        "Times the shared Redis became unreachable",
        m.redis_outages.clone(),
    );
    registry.register(
        "datastudio_gateway_limiter_fallback",
        "Rate-limit decisions taken in-process (fail_local) because Redis was unreachable",
        m.limiter_fallbacks.clone(),
    );
    registry.register(
        "datastudio_gateway_state_quarantined",
        "Damaged state files set aside at start (state.on_damage: quarantine), by kind of file",
        m.state_quarantined.clone(),
    );
    registry.register(
        "datastudio_gateway_state_write_errors",
        "State records that could not be written (deploy ledger, open deployments, daily budget counts), by file",
        m.state_write_errors.clone(),
    );
    registry.register(
        "datastudio_deploy_lost_writes",
        "Vendor deploy writes whose answer was lost, looked up at the vendor, by outcome \
         (applied, not_applied then sent once more, unknown)",
        m.lost_writes.clone(),
    );
    registry.register(
        "datastudio_credential_refreshes",
        "Exchanges for temporary vendor credentials (keyless workspaces), by vendor, workspace and outcome \
         (ok, failed: may pass, refused: the vendor refused the exchange)",
        m.credential_refreshes.clone(),
    );
    registry.register(
        "datastudio_rpc_vendor_calls",
        "Vendor HTTP attempts made for one RPC, by service and method (a shared or cached answer counts 0)",
        m.rpc_vendor_calls.clone(),
    );
    registry.register(
        "datastudio_vendor_calls_saved",
        "Vendor calls an answer did not need, by reason (coalesced: shared with an identical read in flight; \
         cached: kept answer of something that cannot change) and operation",
        m.calls_saved.clone(),
    );
    registry.register("datastudio_cache_hits", "Reads answered from the cache, by operation", m.cache_hits.clone());
    registry.register(
        "datastudio_cache_misses",
        "Reads of a cacheable operation the cache could not answer, by operation",
        m.cache_misses.clone(),
    );
    registry.register(
        "datastudio_cache_evictions",
        "Cached answers evicted to stay within limits.cache.max_bytes",
        m.cache_evictions.clone(),
    );
    registry.register("datastudio_cache_bytes", "Bytes the cache holds now", m.cache_bytes.clone());
    m.redis_up.set(1);
    Metrics { registry, ..m }
});

/// Whether the shared Redis answers.
pub(crate) fn redis_up(up: bool) {
    METRICS.redis_up.set(i64::from(up));
}

/// The shared Redis became unreachable.
pub(crate) fn redis_outage() {
    METRICS.redis_outages.inc();
}

/// A rate-limit decision was taken in-process because Redis was unreachable.
pub(crate) fn limiter_fallback() {
    METRICS.limiter_fallbacks.inc();
}

/// A damaged state file of `kind` (`deploys`, `budget`) was set aside.
pub(crate) fn state_quarantined(kind: &'static str) {
    METRICS.state_quarantined.get_or_create(&StateLabels { file: kind }).inc();
}

/// A record of the state file `kind` (`deploys`, `deployments`, `budget`)
/// could not be written.
pub(crate) fn state_write_failed(kind: &'static str) {
    METRICS.state_write_errors.get_or_create(&StateLabels { file: kind }).inc();
}

/// A deployment this replica drove ended in `state` (a final state).
pub(crate) fn deployment_ended(state: crate::pb::DeploymentState) {
    use crate::pb::DeploymentState as S;
    let state = match state {
        S::Succeeded => "succeeded",
        S::Failed => "failed",
        S::Cancelled => "cancelled",
        S::Unspecified | S::Pending | S::Running => return,
    };
    METRICS.deployments_ended.get_or_create(&EndedLabels { state }).inc();
}

/// A vendor write whose answer was lost was looked up: `applied`,
/// `not_applied` (then sent once more) or `unknown`.
pub(crate) fn lost_write(outcome: &'static str) {
    METRICS.lost_writes.get_or_create(&LookupLabels { outcome }).inc();
}

/// The metrics as OpenMetrics text (what `/metrics` serves).
pub(crate) fn encode() -> String {
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, &METRICS.registry).is_err() {
        out.clear();
    }
    out
}

/// Records a finished RPC (called by the server layer).
pub(crate) fn rpc(service: &str, method: &str, code: tonic::Code, elapsed: Duration) {
    let l = RpcLabels { grpc_service: service.to_owned(), grpc_method: method.to_owned(), grpc_code: code_name(code) };
    METRICS.rpc_handled.get_or_create(&l).inc();
    METRICS.rpc_seconds.get_or_create(&l).observe(elapsed.as_secs_f64());
}

/// Records one vendor HTTP attempt (called by the shared vendor client).
/// `outcome` is one of the words of [`outcome`](crate::telemetry::vendor::outcome).
pub(crate) fn vendor_call(vendor: &'static str, api: &str, outcome: &'static str, elapsed: Duration) {
    let l = CallLabels { vendor, api: api.to_owned(), outcome };
    METRICS.vendor_calls.get_or_create(&l).inc();
    METRICS.vendor_seconds.get_or_create(&l).observe(elapsed.as_secs_f64());
}

fn api(vendor: &str, api: &str) -> ApiLabels {
    ApiLabels { vendor: vendor.to_owned(), api: api.to_owned() }
}

/// Records the vendor calls one finished RPC made (called by the server layer).
pub(crate) fn rpc_vendor_calls(service: &str, method: &str, n: u32) {
    let l = MethodLabels { grpc_service: service.to_owned(), grpc_method: method.to_owned() };
    METRICS.rpc_vendor_calls.get_or_create(&l).observe(f64::from(n));
}

/// Why an answer needed no vendor call of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Saved {
    /// It shared an identical read in flight.
    Coalesced,
    /// The cache kept it.
    Cached,
}

/// Counts `n` vendor calls an answer to `operation` did not need.
pub(crate) fn calls_saved(reason: Saved, operation: &'static str, n: u32) {
    let reason = match reason {
        Saved::Coalesced => "coalesced",
        Saved::Cached => "cached",
    };
    METRICS.calls_saved.get_or_create(&SavedLabels { reason, operation }).inc_by(u64::from(n));
}

/// Counts a cache hit (`true`) or miss of `operation`.
pub(crate) fn cache_lookup(operation: &'static str, hit: bool) {
    let family = if hit { &METRICS.cache_hits } else { &METRICS.cache_misses };
    family.get_or_create(&OperationLabels { operation }).inc();
}

/// Counts a cache eviction (for space).
pub(crate) fn cache_eviction() {
    METRICS.cache_evictions.inc();
}

/// Sets the bytes the cache holds.
pub(crate) fn cache_bytes(n: u64) {
    METRICS.cache_bytes.set(i64::try_from(n).unwrap_or(i64::MAX));
}

/// Counts a throttled vendor answer. the shared vendor client already calls this
/// for every answer it sees throttled; call it only for throttling it
/// cannot see.
pub(crate) fn vendor_throttled(vendor: &str, api_name: &str) {
    METRICS.vendor_throttled.get_or_create(&api(vendor, api_name)).inc();
}

/// Counts a vendor answer that refused the gateway's credentials for
/// `workspace` (the shared vendor client calls this for every such answer).
pub(crate) fn vendor_credentials_refused(vendor: &'static str, workspace: &str) {
    METRICS.credentials_refused.get_or_create(&WorkspaceLabels { vendor, workspace: workspace.to_owned() }).inc();
}

/// Counts an exchange for temporary credentials of `workspace` by
/// `outcome` (`ok`, `failed`, `refused`).
pub(crate) fn credential_refresh(vendor: &'static str, workspace: &str, outcome: &'static str) {
    let l = RefreshLabels { vendor, workspace: workspace.to_owned(), outcome };
    METRICS.credential_refreshes.get_or_create(&l).inc();
}

/// Counts a retry of a vendor call (the retry layer calls this once per
/// attempt after the first).
pub(crate) fn retry(vendor: &str, api_name: &str) {
    METRICS.retries.get_or_create(&api(vendor, api_name)).inc();
}

/// Records how long a call waited for a rate-limit slot (zero included).
pub(crate) fn limiter_wait(vendor: &str, api_name: &str, secs: f64) {
    if secs.is_finite() && secs >= 0.0 {
        METRICS.limiter_wait.get_or_create(&api(vendor, api_name)).observe(secs);
    }
}

/// Moves the count of calls waiting for a rate-limit slot by `delta`
/// (+1 when a call starts waiting, -1 when it stops, whatever the result).
pub(crate) fn limiter_queue(vendor: &str, api_name: &str, delta: i64) {
    METRICS.limiter_queue.get_or_create(&api(vendor, api_name)).inc_by(delta);
}

/// Sets the vendor calls left in today's budget of `account`. Pass a name
/// from the config (the workspace or an account alias), never a credential
/// such as an access key id.
pub fn daily_budget_remaining(vendor: &str, account: &str, left: i64) {
    let l = BudgetLabels { vendor: vendor.to_owned(), account: account.to_owned() };
    METRICS.daily_budget.get_or_create(&l).set(left);
}

/// Sets the daily budget of `account` (once, when its workspace is built);
/// the same names as [`daily_budget_remaining`].
pub fn daily_budget_limit(vendor: &str, account: &str, limit: i64) {
    let l = BudgetLabels { vendor: vendor.to_owned(), account: account.to_owned() };
    METRICS.daily_budget_limit.get_or_create(&l).set(limit);
}

/// Moves the count of deployments in flight by `delta`.
pub(crate) fn deploy_in_flight(delta: i64) {
    METRICS.deploys_in_flight.inc_by(delta);
}

/// gRPC code names as gRPC's own libraries print them (`OK`, `NotFound`),
/// which is what dashboards built on `grpc_server_handled_total` expect.
pub(crate) fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "Canceled",
        Unknown => "Unknown",
        InvalidArgument => "InvalidArgument",
        DeadlineExceeded => "DeadlineExceeded",
        NotFound => "NotFound",
        AlreadyExists => "AlreadyExists",
        PermissionDenied => "PermissionDenied",
        ResourceExhausted => "ResourceExhausted",
        FailedPrecondition => "FailedPrecondition",
        Aborted => "Aborted",
        OutOfRange => "OutOfRange",
        Unimplemented => "Unimplemented",
        Internal => "Internal",
        Unavailable => "Unavailable",
        DataLoss => "DataLoss",
        Unauthenticated => "Unauthenticated",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_appear_in_the_exposition() {
        rpc("datastudio.v1.FileService", "GetFile", tonic::Code::NotFound, Duration::from_millis(12));
        vendor_call("alibaba", "GetFile", "ok", Duration::from_millis(3));
        vendor_throttled("alibaba", "GetFile");
        retry("alibaba", "GetFile");
        limiter_wait("alibaba", "GetFile", 0.25);
        limiter_wait("alibaba", "GetFile", f64::NAN);
        limiter_queue("alibaba", "GetFile", 1);
        daily_budget_remaining("alibaba", "dw", 42);
        daily_budget_limit("alibaba", "dw", 100);
        state_write_failed("deploys");
        deployment_ended(crate::pb::DeploymentState::Failed);
        deployment_ended(crate::pb::DeploymentState::Running);
        deploy_in_flight(1);
        deploy_in_flight(-1);
        let text = encode();
        for needle in [
            r#"grpc_server_handled_total{grpc_service="datastudio.v1.FileService",grpc_method="GetFile",grpc_code="NotFound"} "#,
            r#"datastudio_vendor_calls_total{vendor="alibaba",api="GetFile",outcome="ok"} "#,
            r#"datastudio_limiter_wait_seconds_count{vendor="alibaba",api="GetFile"} "#,
            r#"datastudio_daily_budget_remaining{vendor="alibaba",account="dw"} 42"#,
            r#"datastudio_daily_budget_limit{vendor="alibaba",account="dw"} 100"#,
            r#"datastudio_gateway_state_write_errors_total{file="deploys"} "#,
            r#"datastudio_deployments_ended_total{state="failed"} "#,
            "\ndatastudio_deploys_in_flight ",
            "# EOF",
        ] {
            assert!(text.contains(needle), "{needle} missing from\n{text}");
        }
        assert!(!text.contains(r#"state="running""#), "only final states are counted");
    }
}
