//! The VPSie HTTP mock server: the simulated cloud behind the real API's routes, envelope,
//! authentication and error model, with fault knobs from a config file and an admin endpoint.
//!
//! Every route is served under `/apps/v2`, `/api/v2` and `/v2`. The cloud runs on virtual time
//! = real time since start × `speed` + whatever the admin endpoint advanced; `speed: 0` freezes
//! it so tests drive time explicitly (`POST /__admin/advance`).

mod admin;
mod clock;
mod config;
mod render;
mod routes;
mod server;
mod state;

pub use config::{AuthConfig, ClientCredential, MockConfig, MockConfigError};
pub use server::{MockError, MockServer, start, start_ephemeral};
pub use state::{FaultUpdate, MockControl, RecordedRequest};

#[cfg(test)]
mod tests;
