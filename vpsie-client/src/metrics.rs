//! Per-call metrics: calls by operation and outcome, latency, errors by kind.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct CallLabels {
    pub operation: &'static str,
    pub outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct OperationLabels {
    pub operation: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct ErrorLabels {
    pub operation: &'static str,
    pub kind: &'static str,
}

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

#[derive(Debug, Clone)]
pub(crate) struct Metrics {
    calls: Family<CallLabels, Counter>,
    latency: Family<OperationLabels, Histogram, fn() -> Histogram>,
    errors: Family<ErrorLabels, Counter>,
    retries: Family<OperationLabels, Counter>,
}

impl Metrics {
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Metrics {
            calls: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            errors: Family::default(),
            retries: Family::default(),
        };
        registry.register(
            "vpsie_api_calls",
            "VPSie API calls by operation and outcome (ok or error)",
            metrics.calls.clone(),
        );
        registry.register(
            "vpsie_api_call_duration_seconds",
            "VPSie API call latency, retries included",
            metrics.latency.clone(),
        );
        registry.register(
            "vpsie_api_errors",
            "Failed VPSie API calls by error kind",
            metrics.errors.clone(),
        );
        registry.register(
            "vpsie_api_retries",
            "Retried VPSie API attempts",
            metrics.retries.clone(),
        );
        metrics
    }

    pub fn record(&self, operation: &'static str, seconds: f64, error: Option<&'static str>) {
        let outcome = if error.is_some() { "error" } else { "ok" };
        self.calls
            .get_or_create(&CallLabels { operation, outcome })
            .inc();
        self.latency
            .get_or_create(&OperationLabels { operation })
            .observe(seconds);
        if let Some(kind) = error {
            self.errors
                .get_or_create(&ErrorLabels { operation, kind })
                .inc();
        }
    }

    pub fn retry(&self, operation: &'static str) {
        self.retries
            .get_or_create(&OperationLabels { operation })
            .inc();
    }
}
