//! The simulated VPSie cloud: clusters, node groups and workers with the asynchronous lifecycle of
//! the real API, worker limits, one group per size, billing and fault injection.
//!
//! Pure and deterministic: time is integer milliseconds passed in by the caller (virtual time in
//! the discrete-event simulator, real time × a speed factor in the HTTP mock), and every random
//! draw comes from one `ChaCha8Rng` seeded at construction. `advance(now)` applies every state
//! change due by `now` and returns them as [`CloudEvent`]s ordered by `(time, sequence)`.

mod billing;
mod config;
mod error;
mod event;
mod faults;
mod ids;
mod world;

#[cfg(test)]
mod tests;

pub use billing::{BillingGranularity, BillingSummary, GroupBilling};
pub use config::{
    CloudConfig, ClusterSpec, DatacenterSpec, Delay, Delays, GroupSpec, SizeSpec, WorkerSpec,
};
pub use error::CloudError;
pub use event::{CloudEvent, CloudEventKind, WorkerRef};
pub use faults::{ApiOp, FaultKind, FaultRule};
pub use world::{AddReceipt, Cloud, ClusterState, GroupState, WorkerState, WorkerStatus};
