//! Prometheus metrics of the runtime (prometheus-client), served at `/metrics`.

use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

/// Labels naming a node group and what is counted.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GroupLabels {
    pub group: String,
    /// `min`, `max`, `current`, `ready`, `desired`.
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PhaseLabels {
    pub phase: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TransitionLabels {
    pub from: String,
    pub to: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    pub operation: String,
    /// `ok` or an error kind code.
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GroupOnly {
    pub group: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RatioLabels {
    /// `nodes` or `cost`.
    pub kind: String,
}

/// Every metric the runtime exports, registered in one registry.
#[derive(Debug)]
pub struct Metrics {
    pub registry: Mutex<Registry>,
    pub node_group_nodes: Family<GroupLabels, Gauge>,
    pub vpsie_node_phases: Family<PhaseLabels, Gauge>,
    pub vpsie_node_transitions: Family<TransitionLabels, Counter>,
    pub reconcile_duration: Histogram,
    pub reconcile_errors: Family<ErrorLabels, Counter>,
    pub vpsie_api_calls: Family<CallLabels, Counter>,
    pub actions: Family<CallLabels, Counter>,
    pub scale_up_nodes: Family<GroupOnly, Counter>,
    pub scale_down_nodes: Family<GroupOnly, Counter>,
    pub unschedulable_pods: Gauge,
    pub decision_duration: Histogram,
    pub plan_bound_ratio: Family<RatioLabels, Gauge<f64, AtomicU64>>,
    pub is_leader: Gauge,
    pub snapshot_warnings: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("vpsie_autoscaler");
        let m = Metrics {
            registry: Mutex::new(Registry::default()),
            node_group_nodes: Family::default(),
            vpsie_node_phases: Family::default(),
            vpsie_node_transitions: Family::default(),
            reconcile_duration: Histogram::new(exponential_buckets(0.005, 2.0, 14)),
            reconcile_errors: Family::default(),
            vpsie_api_calls: Family::default(),
            actions: Family::default(),
            scale_up_nodes: Family::default(),
            scale_down_nodes: Family::default(),
            unschedulable_pods: Gauge::default(),
            decision_duration: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            plan_bound_ratio: Family::default(),
            is_leader: Gauge::default(),
            snapshot_warnings: Gauge::default(),
        };
        registry.register(
            "node_group_nodes",
            "Nodes of a node group by kind (min, max, desired, current, ready)",
            m.node_group_nodes.clone(),
        );
        registry.register(
            "vpsienode_phase",
            "VPSieNodes per lifecycle phase",
            m.vpsie_node_phases.clone(),
        );
        registry.register(
            "vpsienode_transitions",
            "VPSieNode phase transitions",
            m.vpsie_node_transitions.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Duration of one reconcile pass (snapshot, step, actions)",
            m.reconcile_duration.clone(),
        );
        registry.register(
            "reconcile_errors",
            "Errors during reconcile passes by kind",
            m.reconcile_errors.clone(),
        );
        registry.register(
            "vpsie_api_calls",
            "VPSie API calls by operation and outcome",
            m.vpsie_api_calls.clone(),
        );
        registry.register(
            "actions",
            "Engine actions carried out, by kind and outcome",
            m.actions.clone(),
        );
        registry.register(
            "scale_up_nodes",
            "Workers requested by scale-up, per group",
            m.scale_up_nodes.clone(),
        );
        registry.register(
            "scale_down_nodes",
            "Nodes whose removal started, per group",
            m.scale_down_nodes.clone(),
        );
        registry.register(
            "unschedulable_pods",
            "Pending pods that no node group can take",
            m.unschedulable_pods.clone(),
        );
        registry.register(
            "decision_duration_seconds",
            "Time the engine's step took (decision latency)",
            m.decision_duration.clone(),
        );
        registry.register(
            "plan_bound_ratio",
            "Scale-up plan size over its computed lower bound (1.0 is optimal)",
            m.plan_bound_ratio.clone(),
        );
        registry.register(
            "is_leader",
            "1 when this replica holds the leader Lease",
            m.is_leader.clone(),
        );
        registry.register(
            "snapshot_warnings",
            "Objects skipped by the last snapshot because they could not be read",
            m.snapshot_warnings.clone(),
        );
        *m.registry.lock().unwrap_or_else(|p| p.into_inner()) = registry;
        m
    }

    /// Counts one VPSie call.
    pub fn vpsie_call(&self, operation: &str, outcome: &str) {
        self.vpsie_api_calls
            .get_or_create(&CallLabels {
                operation: operation.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// Counts one carried-out action.
    pub fn action(&self, kind: &str, outcome: &str) {
        self.actions
            .get_or_create(&CallLabels {
                operation: kind.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// Counts one reconcile error.
    pub fn error(&self, kind: &str) {
        self.reconcile_errors
            .get_or_create(&ErrorLabels {
                kind: kind.to_string(),
            })
            .inc();
    }

    /// The registry in the Prometheus text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        // Encoding into a String cannot fail on I/O; a formatting error leaves partial output.
        let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_registered_metrics_with_prefix() {
        let m = Metrics::new();
        m.vpsie_call("add_worker", "ok");
        m.unschedulable_pods.set(3);
        let text = m.encode();
        assert!(
            text.contains(
                "vpsie_autoscaler_vpsie_api_calls_total{operation=\"add_worker\",outcome=\"ok\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("vpsie_autoscaler_unschedulable_pods 3"),
            "{text}"
        );
    }
}
