//! Test helpers for connector authors (feature `testing`).
//!
//! * [`assert_conformance`] / [`check_conformance`]: the conformance kit, which drains
//!   every listing of a connector and checks ids, references, traits and pagination.
//! * [`check_provisioning_idempotent`]: grant twice, revoke twice.
//! * [`assert_no_secret`]: a secret must not appear in logs, errors or files.
//! * [`MemoryConnector`]: a small stateful in-memory connector that passes the kit.
//! * [`SyntheticConnector`]: a stateless tenant of any size, for benchmarks.
//! * [`LogCapture`]: what `tracing` logs on the current thread, for assertions.
//! * [`SimServer`]: the loopback HTTP server behind every connector's simulated tenant,
//!   counting requests per route; [`request_base`] for absolute links that survive a
//!   proxy; [`oauth`]: a client-credentials token endpoint in a few lines.
//! * [`scim`]: a simulated SCIM 2.0 tenant that SCIM applications' simulators build on.
//! * [`FaultProxy`]: a proxy that fails requests the way real servers and networks do
//!   (5xx, resets, HTML and cut bodies, 401, 429s, lying totals, repeated pages).

#[cfg(feature = "cli")]
pub mod config_checks;
pub mod conformance;
pub mod faults;
pub mod idempotency;
pub mod log_capture;
pub mod memory;
pub mod oauth;
pub mod scim;
pub mod sim_server;
pub mod synthetic;
pub mod targeted;

#[cfg(feature = "cli")]
pub use config_checks::assert_plain_http_needs_opt_in;
pub use conformance::{
    ConformanceFailure, ConformanceOptions, ConformanceReport, Violation, assert_conformance,
    assert_no_secret, check_conformance, check_provisioning_idempotent,
};
pub use faults::{Fault, FaultPlan, FaultProxy, Injected};
pub use log_capture::LogCapture;
pub use memory::{MemoryConnector, TenantState};
pub use sim_server::{SimHandler, SimServer, request_base};
pub use synthetic::SyntheticConnector;
#[cfg(feature = "sync")]
pub use targeted::{check_targeted_refresh, holders_in};
pub use targeted::{fast_retry, types_with_getter};
