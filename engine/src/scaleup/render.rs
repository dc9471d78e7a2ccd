//! `ScaleUpPlan::render_text`: a compact, line-oriented, deterministic rendering.
//!
//! ```text
//! plan: +3 nodes $0.0822/h, 7 pods on new nodes, 1 fit existing, 1 unschedulable
//! bound: 3 nodes (x1.000), $0.0822/h (x1.000); work 42 steps
//! increase web K8S-4C-8G zone=hel1: +2 nodes $0.0548/h
//!   node 1: default/a-1 default/a-2
//! increase auto-k8s-2c-4g (new group) K8S-2C-4G: +1 nodes $0.0137/h
//!   node 1: default/b-1
//! fit default/c-1
//! unschedulable default/d-1 [exceeds_largest_size] requests 40 cpu, more than the largest size (16)
//! ```
//! Nodes list at most eight pods each, then how many more.

use std::fmt::Write as _;

use super::plan::ScaleUpPlan;

/// Pods listed per node line before the rest is summarised.
const PODS_PER_LINE: usize = 8;

impl ScaleUpPlan {
    /// The plan as compact text (for `vpsie-sim plan` and snapshot tests).
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let on_new: usize = self
            .increases
            .iter()
            .flat_map(|i| i.nodes.iter())
            .map(Vec::len)
            .sum();
        let _ = writeln!(
            out,
            "plan: +{} nodes ${:.4}/h, {} pods on new nodes, {} fit existing, {} unschedulable",
            self.node_count(),
            self.hourly_cost(),
            on_new,
            self.fit_existing.len(),
            self.unschedulable.len()
        );
        let ratio = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("x{r:.3}"));
        let _ = writeln!(
            out,
            "bound: {} nodes ({}), ${:.4}/h ({}); work {} steps",
            self.bound.nodes,
            ratio(self.bound.node_ratio),
            self.bound.cost_per_hour,
            ratio(self.bound.cost_ratio),
            self.work_used
        );
        for inc in &self.increases {
            let new = if inc.new_group { " (new group)" } else { "" };
            let zone = inc
                .zone
                .as_ref()
                .map_or(String::new(), |z| format!(" zone={z}"));
            let _ = writeln!(
                out,
                "increase {}{new} {}{zone}: +{} nodes ${:.4}/h",
                inc.group, inc.size, inc.count, inc.hourly_cost
            );
            for (i, pods) in inc.nodes.iter().enumerate() {
                let shown: Vec<&str> = pods
                    .iter()
                    .take(PODS_PER_LINE)
                    .map(String::as_str)
                    .collect();
                let more = pods.len().saturating_sub(PODS_PER_LINE);
                let tail = if more > 0 {
                    format!(" (+{more} more)")
                } else {
                    String::new()
                };
                let _ = writeln!(out, "  node {}: {}{tail}", i + 1, shown.join(" "));
            }
        }
        for pod in &self.fit_existing {
            let _ = writeln!(out, "fit {pod}");
        }
        for v in &self.unschedulable {
            let _ = writeln!(
                out,
                "unschedulable {} [{}] {}",
                v.pod,
                v.reason.code(),
                v.reason
            );
        }
        out
    }
}
