//! What a run measured: counters, pod waits, samples over time, scale events, and the report
//! built from them at the end.

use std::collections::BTreeMap;

use serde::Serialize;
use vpsie_engine::autoscaler::Decision;
use vpsie_engine::model::Resources;

use crate::cloud::BillingSummary;
use crate::des::SimTime;

/// Plans whose cost exceeds the lower bound by more than this ratio are counted.
pub const BOUND_RATIO_LIMIT: f64 = 1.05;

/// Kinds of marked events on the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ScaleEventKind {
    AddWorker,
    AddFailed,
    GroupCreated,
    Drain,
    DrainFailed,
    DeleteWorker,
    DeleteFailed,
    NodeDied,
}

impl ScaleEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ScaleEventKind::AddWorker => "add-worker",
            ScaleEventKind::AddFailed => "add-failed",
            ScaleEventKind::GroupCreated => "group-created",
            ScaleEventKind::Drain => "drain",
            ScaleEventKind::DrainFailed => "drain-failed",
            ScaleEventKind::DeleteWorker => "delete-worker",
            ScaleEventKind::DeleteFailed => "delete-failed",
            ScaleEventKind::NodeDied => "node-died",
        }
    }
}

/// One marked event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaleEvent {
    pub at_ms: SimTime,
    pub kind: ScaleEventKind,
    pub subject: String,
}

/// One timeline sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sample {
    pub at: SimTime,
    pub nodes_by_group: BTreeMap<String, u32>,
    pub ready_nodes: u32,
    pub in_flight: u32,
    pub pending_pods: u32,
    pub running_pods: u32,
    pub cpu_utilization: f64,
    pub memory_utilization: f64,
    pub cost_usd: f64,
}

impl Sample {
    pub fn total_nodes(&self) -> u32 {
        self.nodes_by_group.values().sum()
    }
}

/// Counters accumulated during a run.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    pub waits: Vec<SimTime>,
    pub unbound_waits: Vec<SimTime>,
    pub pending_pod_ms: i128,
    pub pods_created: u64,
    pub pods_completed: u64,
    pub pods_lost: u64,
    pub scale_ups: u64,
    pub failed_adds: u64,
    pub scale_downs: u64,
    pub evictions: u64,
    pub evictions_refused: u64,
    pub nodes_replaced: u64,
    pub nodes_died: u64,
    pub decisions_planned: u64,
    pub decisions_over_bound: u64,
    pub max_cost_ratio: f64,
    pub samples: Vec<Sample>,
    pub events: Vec<ScaleEvent>,
}

impl Metrics {
    pub fn push_event(&mut self, at: SimTime, kind: ScaleEventKind, subject: String) {
        self.events.push(ScaleEvent {
            at_ms: at,
            kind,
            subject,
        });
    }

    /// Counts what one loop decision planned.
    pub fn record_decision(&mut self, d: &Decision) {
        if d.scale_up.planned {
            self.decisions_planned += 1;
            let ratio = d.scale_up.cost_ratio.or(d.scale_up.node_ratio);
            if let Some(r) = ratio
                && r.is_finite()
            {
                self.max_cost_ratio = self.max_cost_ratio.max(r);
                if r > BOUND_RATIO_LIMIT {
                    self.decisions_over_bound += 1;
                }
            }
        }
        self.nodes_replaced += d.scale_down.replacements_started.len() as u64;
    }
}

/// Facts known only at the end of a run.
#[derive(Debug, Clone)]
pub struct Finals {
    pub end_ms: SimTime,
    pub billing: BillingSummary,
    pub orphaned: Vec<String>,
    pub workers_at_end: u32,
    pub steps: u64,
    pub steps_skipped: u64,
    pub events: u64,
    pub rng_draws: u64,
    pub final_usage: (Resources, Resources),
}

/// Percentiles of pod waits, in seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WaitStats {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// The run's report (`report.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub scenario: String,
    pub seed: u64,
    pub simulated_seconds: f64,
    pub total_cost_usd: f64,
    pub cost_by_group_usd: BTreeMap<String, f64>,
    pub node_hours: f64,
    /// Time from creation to binding; pods never bound count with their wait until the end.
    pub pod_wait_seconds: WaitStats,
    pub pods_never_bound: u64,
    pub pod_seconds_pending: f64,
    pub scale_ups: u64,
    pub failed_adds: u64,
    pub scale_downs: u64,
    pub evictions: u64,
    pub evictions_refused: u64,
    pub nodes_replaced: u64,
    pub nodes_died: u64,
    /// Workers at VPSie at the end that the autoscaler does not track (must be 0).
    pub vps_orphaned: u64,
    pub orphaned_workers: Vec<String>,
    pub workers_at_end: u32,
    pub peak_nodes: u32,
    pub pods_created: u64,
    pub pods_completed: u64,
    pub pods_lost: u64,
    pub loop_steps: u64,
    pub decisions_with_scale_up_plan: u64,
    /// Decisions whose plan cost exceeded the lower bound by more than 5 %.
    pub decisions_over_bound_ratio: u64,
    pub max_plan_bound_ratio: f64,
    pub events_processed: u64,
    pub random_draws: u64,
}

/// Everything a run produced.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub report: Report,
    pub samples: Vec<Sample>,
    pub events: Vec<ScaleEvent>,
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

fn percentile(sorted: &[SimTime], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    // Nearest-rank percentile.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1] as f64 / 1000.0
}

impl RunResult {
    pub fn build(m: Metrics, f: Finals) -> Self {
        let mut waits: Vec<SimTime> = m
            .waits
            .iter()
            .chain(m.unbound_waits.iter())
            .copied()
            .collect();
        waits.sort_unstable();
        let stats = WaitStats {
            p50: round(percentile(&waits, 50.0), 3),
            p95: round(percentile(&waits, 95.0), 3),
            p99: round(percentile(&waits, 99.0), 3),
            max: round(waits.last().map_or(0.0, |w| *w as f64 / 1000.0), 3),
        };
        let peak = m.samples.iter().map(Sample::total_nodes).max().unwrap_or(0);
        let report = Report {
            scenario: String::new(),
            seed: 0,
            simulated_seconds: f.end_ms as f64 / 1000.0,
            total_cost_usd: round(f.billing.total_usd, 4),
            cost_by_group_usd: f
                .billing
                .groups
                .iter()
                .map(|(g, b)| (g.clone(), round(b.usd, 4)))
                .collect(),
            node_hours: round(f.billing.worker_ms as f64 / 3_600_000.0, 3),
            pod_wait_seconds: stats,
            pods_never_bound: m.unbound_waits.len() as u64,
            pod_seconds_pending: round(m.pending_pod_ms as f64 / 1000.0, 1),
            scale_ups: m.scale_ups,
            failed_adds: m.failed_adds,
            scale_downs: m.scale_downs,
            evictions: m.evictions,
            evictions_refused: m.evictions_refused,
            nodes_replaced: m.nodes_replaced,
            nodes_died: m.nodes_died,
            vps_orphaned: f.orphaned.len() as u64,
            orphaned_workers: f.orphaned,
            workers_at_end: f.workers_at_end,
            peak_nodes: peak,
            pods_created: m.pods_created,
            pods_completed: m.pods_completed,
            pods_lost: m.pods_lost,
            loop_steps: f.steps,
            decisions_with_scale_up_plan: m.decisions_planned,
            decisions_over_bound_ratio: m.decisions_over_bound,
            max_plan_bound_ratio: round(m.max_cost_ratio, 4),
            events_processed: f.events,
            random_draws: f.rng_draws,
        };
        let _ = (f.steps_skipped, f.final_usage);
        RunResult {
            report,
            samples: m.samples,
            events: m.events,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let w: Vec<SimTime> = (1..=100).map(|s| s * 1000).collect();
        assert_eq!(percentile(&w, 50.0), 50.0);
        assert_eq!(percentile(&w, 99.0), 99.0);
        assert_eq!(percentile(&w, 100.0), 100.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }
}
