//! Admission: what every call passes before a service sees it, and what
//! its answer passes on the way out. It wraps the API and reflection
//! services (inside the trace layer, so refused calls are traced and
//! counted like any other); health checks are not admitted, so probes
//! answer while the gateway is full.
//!
//! - **Metadata size**: metadata over `server.max_metadata_bytes` is
//!   refused for that call alone (UNAUTHENTICATED when the bearer token is
//!   the largest entry, else INVALID_ARGUMENT naming the entry). HTTP/2
//!   itself takes header lists up to `server.max_header_list_bytes`, so a
//!   large token does not close the connection.
//! - **In-flight calls**: at most `server.max_in_flight` calls at once, and
//!   `server.max_in_flight_per_caller` per caller; a call holds its slot
//!   until its answer's last frame is sent (or the stream is dropped), so a
//!   caller that opens streams and never reads holds slots, and memory, up
//!   to its share only. Over a limit: RESOURCE_EXHAUSTED at once, with
//!   RetryInfo.
//! - **Watches**: `WatchDeployment` streams also take a watch slot of their
//!   caller (`server.max_watches_per_caller`), through [`CallerSlots`].
//! - **Codes**: a message over `server.max_message_bytes` is
//!   RESOURCE_EXHAUSTED (tonic says OUT_OF_RANGE; the gateway itself never
//!   answers OUT_OF_RANGE), and a refusal that is ready only after the
//!   caller's `grpc-timeout` has passed is DEADLINE_EXCEEDED.
//!
//! A caller is its bearer token (hashed), else its client certificate
//! (hashed), else its IP address. Without `auth`, callers are only as
//! distinct as the tokens they send; the global limit holds either way.

use std::{
    collections::HashMap,
    future::Future,
    net::IpAddr,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll, ready},
    time::{Duration, Instant},
};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, header::AUTHORIZATION};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use sha2::{Digest, Sha256};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::{
    Code, Status,
    transport::server::{TcpConnectInfo, TlsConnectInfo},
};
use tower::Service;

use crate::domain::{Error, Reason, shown};

/// How long a caller refused for a full limit is asked to wait, at least
/// (RetryInfo adds jitter: `domain::error::spread`).
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// How much earlier than tonic's own `grpc-timeout` timer the layer's timer
/// fires, so the caller reads DEADLINE_EXCEEDED rather than tonic's
/// CANCELLED (timers fire on whole milliseconds).
const TIMER_LEAD: Duration = Duration::from_millis(1);

/// The limits admission enforces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Calls in flight at once, all callers together.
    pub(crate) max_in_flight: usize,
    /// Calls in flight at once per caller.
    pub(crate) max_in_flight_per_caller: usize,
    /// Open `WatchDeployment` streams per caller.
    pub(crate) max_watches_per_caller: usize,
    /// Largest metadata of one call, bytes (HPACK accounting: name + value + 32 per entry).
    pub(crate) max_metadata_bytes: usize,
}

/// The admission state shared by every connection.
#[derive(Clone)]
pub(crate) struct Admission(Arc<Shared>);

struct Shared {
    limits: Limits,
    global: Arc<Semaphore>,
    callers: Mutex<HashMap<CallerKey, Open>>,
}

/// What one caller has open.
#[derive(Debug, Default)]
struct Open {
    calls: usize,
    watches: usize,
}

/// Who a call comes from, as far as admission can tell before authentication.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum CallerKey {
    /// The first 16 bytes of the bearer token's SHA-256.
    Token([u8; 16]),
    /// The first 16 bytes of the client certificate's SHA-256.
    Certificate([u8; 16]),
    /// The peer's IP address.
    Peer(IpAddr),
    /// No token, certificate or address (in-process transports).
    Unknown,
}

/// The kind of slot a caller takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlotKind {
    Call,
    Watch,
}

fn digest(bytes: &[u8]) -> [u8; 16] {
    let d = Sha256::digest(bytes);
    let mut out = [0; 16];
    out.copy_from_slice(&d[..16]);
    out
}

impl CallerKey {
    fn of<B>(req: &http::Request<B>) -> Self {
        if let Some(v) = req.headers().get(AUTHORIZATION) {
            return CallerKey::Token(digest(v.as_bytes()));
        }
        let tls = req.extensions().get::<TlsConnectInfo<TcpConnectInfo>>();
        if let Some(cert) = tls.and_then(|i| i.peer_certs()).and_then(|c| c.first().map(|c| digest(c.as_ref()))) {
            return CallerKey::Certificate(cert);
        }
        let peer = req
            .extensions()
            .get::<TcpConnectInfo>()
            .and_then(|i| i.remote_addr())
            .or_else(|| tls.and_then(|i| i.get_ref().remote_addr()));
        peer.map_or(CallerKey::Unknown, |a| CallerKey::Peer(a.ip()))
    }
}

impl Admission {
    /// Admission with these limits.
    pub(crate) fn new(limits: Limits) -> Self {
        Admission(Arc::new(Shared {
            limits,
            global: Arc::new(Semaphore::new(limits.max_in_flight)),
            callers: Mutex::new(HashMap::new()),
        }))
    }

    /// `service`, its calls admitted.
    pub(crate) fn wrap<S>(&self, service: S) -> Admit<S> {
        Admit { inner: service, admission: self.clone() }
    }

    fn callers(&self) -> std::sync::MutexGuard<'_, HashMap<CallerKey, Open>> {
        self.0.callers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a slot of `kind` for `key`, or says which limit is full.
    fn take(&self, key: &CallerKey, kind: SlotKind) -> Result<Slot, Error> {
        let limits = self.0.limits;
        let global = match kind {
            SlotKind::Call => Some(self.0.global.clone().try_acquire_owned().map_err(|_| {
                Error::new(
                    Code::ResourceExhausted,
                    Reason::GatewayOverloaded,
                    format!(
                        "the gateway has {} calls in flight, as many as it takes (server.max_in_flight); retry later",
                        limits.max_in_flight
                    ),
                )
                .with_retry_after(RETRY_AFTER)
            })?),
            SlotKind::Watch => None,
        };
        let mut callers = self.callers();
        let open = callers.entry(key.clone()).or_default();
        let (count, max, what, setting) = match kind {
            SlotKind::Call => {
                (&mut open.calls, limits.max_in_flight_per_caller, "calls in flight", "server.max_in_flight_per_caller")
            }
            SlotKind::Watch => {
                (&mut open.watches, limits.max_watches_per_caller, "open watches", "server.max_watches_per_caller")
            }
        };
        if *count >= max {
            let e = Error::new(
                Code::ResourceExhausted,
                Reason::CallerLimitReached,
                format!("this caller has {max} {what}, as many as one caller may have ({setting}); retry later"),
            )
            .with_retry_after(RETRY_AFTER);
            if open.calls == 0 && open.watches == 0 {
                callers.remove(key);
            }
            return Err(e);
        }
        *count += 1;
        Ok(Slot { admission: self.clone(), key: key.clone(), kind, _global: global })
    }

    /// Refuses metadata over the limit.
    fn metadata(&self, h: &HeaderMap) -> Result<(), Error> {
        let limit = self.0.limits.max_metadata_bytes;
        let entry = |(k, v): (&http::HeaderName, &HeaderValue)| k.as_str().len() + v.len() + 32;
        let size: usize = h.iter().map(entry).sum();
        if size <= limit {
            return Ok(());
        }
        let Some((name, value)) = h.iter().max_by_key(|e| entry(*e)) else { return Ok(()) };
        let what = format!("the call's metadata is {size} bytes, more than the {limit} the gateway reads");
        if name == AUTHORIZATION {
            return Err(Error::new(
                Code::Unauthenticated,
                Reason::Unauthenticated,
                format!("{what}: the authorization entry alone is {} bytes; send a shorter bearer token", value.len()),
            ));
        }
        Err(Error::invalid(
            format!("metadata {}", shown(name.as_str())),
            format!("{what}; this entry is {} bytes (server.max_metadata_bytes)", value.len()),
        ))
    }

    /// Calls and watches open now, for tests.
    #[cfg(test)]
    fn open(&self) -> usize {
        self.callers().values().map(|o| o.calls + o.watches).sum()
    }
}

/// A slot held by a call or a watch; given back when dropped.
pub(crate) struct Slot {
    admission: Admission,
    key: CallerKey,
    kind: SlotKind,
    _global: Option<OwnedSemaphorePermit>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut callers = self.admission.callers();
        if let Some(open) = callers.get_mut(&self.key) {
            match self.kind {
                SlotKind::Call => open.calls = open.calls.saturating_sub(1),
                SlotKind::Watch => open.watches = open.watches.saturating_sub(1),
            }
            if open.calls == 0 && open.watches == 0 {
                callers.remove(&self.key);
            }
        }
    }
}

/// The caller of a call, in its request's extensions: handlers take
/// further slots (watches) through it.
#[derive(Clone)]
pub(crate) struct CallerSlots {
    admission: Admission,
    key: CallerKey,
}

impl CallerSlots {
    /// A watch slot of this call's caller, held as long as the stream is open.
    pub(crate) fn watch(&self) -> Result<Slot, Error> {
        self.admission.take(&self.key, SlotKind::Watch)
    }
}

/// Admits calls to `S` (see the module documentation).
#[derive(Clone)]
pub(crate) struct Admit<S> {
    inner: S,
    admission: Admission,
}

/// Served under the name of the service it admits calls to.
impl<S: tonic::server::NamedService> tonic::server::NamedService for Admit<S> {
    const NAME: &'static str = S::NAME;
}

type Answer = http::Response<tonic::body::Body>;

fn refusal(e: Error) -> Answer {
    Status::from(e).into_http()
}

impl<S, B> Service<http::Request<B>> for Admit<S>
where
    S: Service<http::Request<B>, Response = Answer>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Answer;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Answer, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        let deadline = crate::telemetry::trace::grpc_timeout(req.headers()).and_then(|d| Instant::now().checked_add(d));
        let admitted = self.admission.metadata(req.headers()).and_then(|()| {
            let key = CallerKey::of(&req);
            let slot = self.admission.take(&key, SlotKind::Call)?;
            Ok((key, slot))
        });
        let (key, slot) = match admitted {
            Ok(v) => v,
            Err(e) => return Box::pin(std::future::ready(Ok(refusal(e)))),
        };
        req.extensions_mut().insert(CallerSlots { admission: self.admission.clone(), key });
        let answer = self.inner.call(req);
        Box::pin(async move {
            let answer = match deadline {
                Some(d) => {
                    let at = tokio::time::Instant::from_std(d.checked_sub(TIMER_LEAD).unwrap_or(d));
                    match tokio::time::timeout_at(at, answer).await {
                        Ok(a) => a?,
                        Err(_) => return Ok(refusal(deadline_passed())),
                    }
                }
                None => answer.await?,
            };
            Ok(finish(answer, deadline, slot))
        })
    }
}

fn deadline_passed() -> Error {
    Error::new(Code::DeadlineExceeded, Reason::DeadlineExceeded, "the call's deadline (grpc-timeout) passed")
}

/// `grpc-status` of a header or trailer map.
fn status_of(h: &HeaderMap) -> Option<Code> {
    h.get("grpc-status").map(|v| Code::from_bytes(v.as_bytes()))
}

/// OUT_OF_RANGE (tonic's message size limit) becomes RESOURCE_EXHAUSTED.
fn fix_code(h: &mut HeaderMap) {
    if status_of(h) == Some(Code::OutOfRange) {
        h.insert("grpc-status", HeaderValue::from(Code::ResourceExhausted as i32));
    }
}

fn finish(answer: Answer, deadline: Option<Instant>, slot: Slot) -> Answer {
    let (mut parts, body) = answer.into_parts();
    let code = status_of(&parts.headers);
    if code.is_some_and(|c| c != Code::Ok) && deadline.is_some_and(|d| Instant::now() >= d) {
        return refusal(deadline_passed());
    }
    fix_code(&mut parts.headers);
    http::Response::from_parts(parts, tonic::body::Body::new(Held { inner: body, slot: Some(slot) }))
}

pin_project! {
    /// An answer's body that holds its call's slot until the last frame.
    struct Held<B> {
        #[pin]
        inner: B,
        slot: Option<Slot>,
    }
}

impl<B: Body<Data = Bytes>> Body for Held<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.project();
        let mut frame = ready!(this.inner.poll_frame(cx));
        match &mut frame {
            Some(Ok(f)) => {
                if let Some(t) = f.trailers_mut() {
                    fix_code(t);
                    *this.slot = None;
                }
            }
            Some(Err(_)) | None => *this.slot = None,
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission(calls: usize, per_caller: usize, watches: usize) -> Admission {
        Admission::new(Limits {
            max_in_flight: calls,
            max_in_flight_per_caller: per_caller,
            max_watches_per_caller: watches,
            max_metadata_bytes: 1024,
        })
    }

    #[test]
    fn each_caller_has_its_share_and_all_together_the_global_limit() {
        let a = admission(3, 2, 1);
        let (x, y) = (CallerKey::Peer([10, 0, 0, 1].into()), CallerKey::Token(digest(b"Bearer t")));
        let x1 = a.take(&x, SlotKind::Call).unwrap();
        let _x2 = a.take(&x, SlotKind::Call).unwrap();
        let e = a.take(&x, SlotKind::Call).err().unwrap();
        assert_eq!((e.code, e.reason), (Code::ResourceExhausted, Reason::CallerLimitReached));
        assert!(e.retry_after.is_some(), "RetryInfo");
        let _y1 = a.take(&y, SlotKind::Call).unwrap();
        let e = a.take(&y, SlotKind::Call).err().unwrap();
        assert_eq!((e.code, e.reason), (Code::ResourceExhausted, Reason::GatewayOverloaded));
        drop(x1);
        a.take(&y, SlotKind::Call).expect("a slot was given back");
        let w = a.take(&x, SlotKind::Watch).unwrap();
        assert_eq!(a.take(&x, SlotKind::Watch).err().unwrap().reason, Reason::CallerLimitReached);
        drop(w);
        a.take(&x, SlotKind::Watch).expect("the watch slot was given back");
    }

    #[test]
    fn callers_with_nothing_open_are_forgotten() {
        let a = admission(10, 1, 1);
        let k = CallerKey::Unknown;
        let s = a.take(&k, SlotKind::Call).unwrap();
        assert!(a.take(&k, SlotKind::Call).is_err());
        assert_eq!(a.open(), 1);
        drop(s);
        assert_eq!(a.open(), 0);
        assert!(a.0.callers.lock().unwrap().is_empty());
    }

    #[test]
    fn oversized_metadata_names_the_entry_or_refuses_the_token() {
        let a = admission(10, 10, 10);
        let mut h = HeaderMap::new();
        h.insert("x-small", HeaderValue::from_static("v"));
        assert!(a.metadata(&h).is_ok());
        h.insert("x-big", HeaderValue::from_str(&"b".repeat(2000)).unwrap());
        let e = a.metadata(&h).unwrap_err();
        assert_eq!(e.code, Code::InvalidArgument);
        assert_eq!(e.violations[0].field, "metadata \"x-big\"");
        h.insert(AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {}", "t".repeat(100_000))).unwrap());
        let e = a.metadata(&h).unwrap_err();
        assert_eq!(e.code, Code::Unauthenticated);
        assert!(e.message.contains("100007 bytes"), "{}", e.message);
    }

    #[test]
    fn out_of_range_becomes_resource_exhausted() {
        let mut h = HeaderMap::new();
        h.insert("grpc-status", HeaderValue::from(Code::OutOfRange as i32));
        fix_code(&mut h);
        assert_eq!(status_of(&h), Some(Code::ResourceExhausted));
        h.insert("grpc-status", HeaderValue::from(Code::NotFound as i32));
        fix_code(&mut h);
        assert_eq!(status_of(&h), Some(Code::NotFound));
    }
}
