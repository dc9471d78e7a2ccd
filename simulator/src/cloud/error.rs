//! Errors of the simulated cloud, worded like the real API's messages.

use thiserror::Error;

/// A refused API call. `Display` is the message the API would send; `http_status()` the status.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CloudError {
    #[error("Cluster {cluster} not found")]
    UnknownCluster { cluster: String },
    #[error("Node group {group} not found")]
    UnknownGroup { group: String },
    #[error("Node {identifier} not found")]
    UnknownWorker { identifier: String },
    #[error("Invalid KubeSizeID {size_id}")]
    UnknownSize { size_id: u32 },
    #[error("Worker nodes count exceeds the allowed limit ({limit})")]
    WorkerLimit { limit: u32 },
    #[error("Group {group} has same selected Size, please select another size")]
    DuplicateGroupSize { group: String },
    #[error("Group name {name} is already used in this cluster")]
    DuplicateGroupName { name: String },
    #[error("Group {group} is not empty")]
    GroupNotEmpty { group: String },
    #[error("Size {size} is out of stock in this datacenter, please try again later")]
    StockOut { size: String },
    /// Injected: an HTTP 5xx.
    #[error("Internal Server Error")]
    ServerError { status: u16 },
    /// Injected: HTTP 429.
    #[error("Rate limit exceeded")]
    RateLimited,
    /// Injected: HTTP 200 whose envelope says `error: true`.
    #[error("{message}")]
    ErrorOn200 { message: String },
}

impl CloudError {
    /// The HTTP status the API answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            CloudError::UnknownCluster { .. }
            | CloudError::UnknownGroup { .. }
            | CloudError::UnknownWorker { .. } => 404,
            CloudError::UnknownSize { .. }
            | CloudError::WorkerLimit { .. }
            | CloudError::DuplicateGroupSize { .. }
            | CloudError::DuplicateGroupName { .. }
            | CloudError::GroupNotEmpty { .. }
            | CloudError::StockOut { .. } => 400,
            CloudError::ServerError { status } => *status,
            CloudError::RateLimited => 429,
            CloudError::ErrorOn200 { .. } => 200,
        }
    }

    /// The `code` field of the error envelope.
    pub fn envelope_code(&self) -> u16 {
        match self {
            CloudError::ErrorOn200 { .. } => 500,
            other => other.http_status(),
        }
    }

    /// Whether the same call may succeed if simply repeated later (transport-level trouble).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            CloudError::ServerError { .. }
                | CloudError::RateLimited
                | CloudError::ErrorOn200 { .. }
        )
    }

    /// A stable snake_case name for reports and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            CloudError::UnknownCluster { .. } => "unknown_cluster",
            CloudError::UnknownGroup { .. } => "unknown_group",
            CloudError::UnknownWorker { .. } => "unknown_worker",
            CloudError::UnknownSize { .. } => "unknown_size",
            CloudError::WorkerLimit { .. } => "worker_limit",
            CloudError::DuplicateGroupSize { .. } => "duplicate_group_size",
            CloudError::DuplicateGroupName { .. } => "duplicate_group_name",
            CloudError::GroupNotEmpty { .. } => "group_not_empty",
            CloudError::StockOut { .. } => "stock_out",
            CloudError::ServerError { .. } => "server_error",
            CloudError::RateLimited => "rate_limited",
            CloudError::ErrorOn200 { .. } => "error_on_200",
        }
    }
}
