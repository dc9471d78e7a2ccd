//! Wire types of the VPSie API subset an autoscaler needs: the JSON bodies, the response
//! envelope, the paths, and RFC 3339 timestamps. Shared by the HTTP client and the mock server so
//! the two cannot drift apart. No IO.

pub mod envelope;
pub mod paths;
pub mod time;
pub mod types;

pub use envelope::{
    DecodedEnvelope, EnvelopeError, MAX_ERROR_BODY_CHARS, decode_body, decode_envelope,
};
pub use types::*;
