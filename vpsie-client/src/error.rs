//! Typed client errors. Messages come from the API or the transport, never from credentials.

use std::time::Duration;

use vpsie_api::envelope::EnvelopeError;

/// A business rule the API enforces; repeating the call will not help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TerminalKind {
    /// "exceeds the allowed limit": the cluster's worker limit.
    WorkerLimit,
    /// "has same selected Size": one group per size per cluster.
    DuplicateGroupSize,
    /// Quota or plan limits ("quota exceeded", "plan does not allow", ...).
    Quota,
    /// The size is out of stock in the datacenter.
    OutOfStock,
}

impl TerminalKind {
    /// Recognises the API's business-rule messages (case-insensitive substrings).
    pub fn from_message(message: &str) -> Option<Self> {
        let m = message.to_ascii_lowercase();
        if m.contains("exceeds the allowed limit") {
            Some(TerminalKind::WorkerLimit)
        } else if m.contains("has same selected size") {
            Some(TerminalKind::DuplicateGroupSize)
        } else if m.contains("out of stock") {
            Some(TerminalKind::OutOfStock)
        } else if [
            "quota exceeded",
            "plan does not allow",
            "maximum number of",
            "limit reached",
            "subscription does not allow",
        ]
        .iter()
        .any(|s| m.contains(s))
        {
            Some(TerminalKind::Quota)
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("{operation}: not authorised (HTTP {status}): {message}")]
    Auth {
        operation: &'static str,
        status: u16,
        message: String,
    },
    #[error("{operation}: not found: {message}")]
    NotFound {
        operation: &'static str,
        message: String,
    },
    #[error("{operation}: rate limited by the API: {message}")]
    RateLimited {
        operation: &'static str,
        message: String,
    },
    #[error("{operation}: server error (HTTP {status}): {message}")]
    Server {
        operation: &'static str,
        status: u16,
        message: String,
    },
    #[error("{operation}: refused ({kind:?}): {message}")]
    Terminal {
        operation: &'static str,
        kind: TerminalKind,
        message: String,
    },
    #[error("{operation}: rejected (HTTP {status}): {message}")]
    Rejected {
        operation: &'static str,
        status: u16,
        message: String,
    },
    #[error("{operation}: timed out after {timeout:?}")]
    Timeout {
        operation: &'static str,
        timeout: Duration,
    },
    #[error("{operation}: connection failed: {message}")]
    Connect {
        operation: &'static str,
        message: String,
    },
    #[error("{operation}: undecodable response (HTTP {status}): {reason}; body starts: {body:?}")]
    Decode {
        operation: &'static str,
        status: u16,
        reason: String,
        body: String,
    },
    #[error("{operation}: response larger than {limit} bytes")]
    ResponseTooLarge {
        operation: &'static str,
        limit: usize,
    },
    #[error("{operation}: circuit breaker open, API calls paused for {retry_in:?}")]
    CircuitOpen {
        operation: &'static str,
        retry_in: Duration,
    },
    #[error("{operation}: invalid argument: {message}")]
    InvalidArgument {
        operation: &'static str,
        message: String,
    },
    #[error("client configuration: {message}")]
    Config { message: String },
    #[error("credentials: {message}")]
    Credentials { message: String },
}

impl ClientError {
    /// A stable label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            ClientError::Auth { .. } => "auth",
            ClientError::NotFound { .. } => "not_found",
            ClientError::RateLimited { .. } => "rate_limited",
            ClientError::Server { .. } => "server",
            ClientError::Terminal { .. } => "terminal",
            ClientError::Rejected { .. } => "rejected",
            ClientError::Timeout { .. } => "timeout",
            ClientError::Connect { .. } => "connect",
            ClientError::Decode { .. } => "decode",
            ClientError::ResponseTooLarge { .. } => "too_large",
            ClientError::CircuitOpen { .. } => "circuit_open",
            ClientError::InvalidArgument { .. } => "invalid_argument",
            ClientError::Config { .. } => "config",
            ClientError::Credentials { .. } => "credentials",
        }
    }

    /// Whether repeating the same call later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ClientError::RateLimited { .. }
                | ClientError::Server { .. }
                | ClientError::Timeout { .. }
                | ClientError::Connect { .. }
                | ClientError::CircuitOpen { .. }
        )
    }

    /// Whether the failure says the API is unhealthy (counts toward the circuit breaker).
    pub(crate) fn is_health_failure(&self) -> bool {
        matches!(
            self,
            ClientError::Server { .. } | ClientError::Timeout { .. } | ClientError::Connect { .. }
        )
    }

    /// Classifies a non-success envelope.
    pub(crate) fn from_envelope(operation: &'static str, error: EnvelopeError) -> Self {
        match error {
            EnvelopeError::Decode {
                status,
                reason,
                body,
            } => ClientError::Decode {
                operation,
                status,
                reason,
                body,
            },
            EnvelopeError::Api {
                status,
                code,
                message,
            } => {
                if let Some(kind) = TerminalKind::from_message(&message) {
                    return ClientError::Terminal {
                        operation,
                        kind,
                        message,
                    };
                }
                // HTTP 200 with `error: true` carries its real status in `code`.
                let effective = if status == 200 {
                    code.and_then(|c| u16::try_from(c).ok()).unwrap_or(500)
                } else {
                    status
                };
                match effective {
                    401 | 403 => ClientError::Auth {
                        operation,
                        status: effective,
                        message,
                    },
                    404 => ClientError::NotFound { operation, message },
                    429 => ClientError::RateLimited { operation, message },
                    409 | 500..=599 => ClientError::Server {
                        operation,
                        status: effective,
                        message,
                    },
                    // A 200-with-error whose code is not an HTTP error code: assume trouble.
                    s if status == 200 && !(400..=499).contains(&s) => ClientError::Server {
                        operation,
                        status: 500,
                        message,
                    },
                    _ => ClientError::Rejected {
                        operation,
                        status: effective,
                        message,
                    },
                }
            }
        }
    }
}
