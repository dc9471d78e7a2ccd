//! An HTTP client for the VPSie API that an autoscaler can trust under faults: both auth
//! schemes, the envelope checked on every response, typed errors, retries with backoff and
//! jitter, a circuit breaker, timeouts, a response size limit, a client-side rate limit, and
//! per-call metrics. Secrets never appear in logs, errors or `Debug` output.

mod breaker;
mod client;
mod config;
mod credentials;
mod discover;
mod error;
mod metrics;
mod ratelimit;
mod retry;
mod secret;

pub use client::{AddWorkerOutcome, DeleteOutcome, VpsieClient};
pub use config::{ClientConfig, StaticTokenHeader};
pub use credentials::{CredentialSource, Credentials, CredentialsError};
pub use discover::{discover_new_workers, offer_to_size};
pub use error::{ClientError, TerminalKind};
pub use secret::Secret;
pub use vpsie_api::{decode_envelope, envelope::EnvelopeError};
