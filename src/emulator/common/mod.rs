//! Machinery shared by the vendor emulators: fault injection, throttling
//! (per-API rate and daily quota), and a record of every request received
//! (with its `traceparent`) so tests can check the hop.
//!
//! | file | concern |
//! |---|---|
//! | `control.rs` | [`Control`]: faults, throttle and request log |
//! | `server.rs` | serving: the `/_emulator/...` routes, [`Handle`], an injected reset |
//! | `request.rs` | a request's parts for the vendors' signature checks |
//! | `seeded.rs` | seeded random numbers: the same generated data on every start |
//! | `oidc.rs` | [`OidcIssuer`]: a cluster's service-account token issuer (keyless credentials) |

mod control;
mod oidc;
mod request;
mod seeded;
mod server;

pub use control::{Control, Fault, FaultRule, LOG_LIMIT, Recorded, ThrottleConfig, Throttled};
pub(crate) use oidc::Refusal;
pub use oidc::{DEMO_ISSUER, OidcIssuer};
pub(crate) use request::signed_parts;
pub(crate) use seeded::Seeded;
pub use server::Handle;
pub(crate) use server::{control_routes, reset_response, serve};
