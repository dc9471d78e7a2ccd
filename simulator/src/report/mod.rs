//! Outputs of a run: the terminal summary, `report.json`, `timeline.csv`, `report.html`, and a
//! compact line-oriented summary for snapshot tests.

pub mod html;
mod svg;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use crate::metrics::{Report, RunResult};

/// Rows of the summary table: label and value.
fn rows(r: &Report) -> Vec<(&'static str, String)> {
    let w = &r.pod_wait_seconds;
    vec![
        ("scenario", r.scenario.clone()),
        ("seed", r.seed.to_string()),
        (
            "simulated",
            crate::scenario::duration::format_duration((r.simulated_seconds * 1000.0) as i64),
        ),
        ("total cost (USD)", format!("{:.4}", r.total_cost_usd)),
        ("node-hours", format!("{:.3}", r.node_hours)),
        ("peak nodes", r.peak_nodes.to_string()),
        (
            "pod wait p50/p95/p99/max (s)",
            format!("{:.1} / {:.1} / {:.1} / {:.1}", w.p50, w.p95, w.p99, w.max),
        ),
        (
            "pod-seconds pending",
            format!("{:.1}", r.pod_seconds_pending),
        ),
        ("pods never bound", r.pods_never_bound.to_string()),
        ("scale-ups (workers added)", r.scale_ups.to_string()),
        ("failed adds", r.failed_adds.to_string()),
        ("scale-downs (workers deleted)", r.scale_downs.to_string()),
        (
            "evictions (refused)",
            format!("{} ({})", r.evictions, r.evictions_refused),
        ),
        ("nodes replaced", r.nodes_replaced.to_string()),
        ("nodes died", r.nodes_died.to_string()),
        ("VPS orphaned", r.vps_orphaned.to_string()),
        (
            "plans over 1.05 x bound",
            format!(
                "{} of {} (max ratio {:.3})",
                r.decisions_over_bound_ratio,
                r.decisions_with_scale_up_plan,
                r.max_plan_bound_ratio
            ),
        ),
        (
            "pods created/completed/lost",
            format!(
                "{} / {} / {}",
                r.pods_created, r.pods_completed, r.pods_lost
            ),
        ),
        ("loop steps", r.loop_steps.to_string()),
    ]
}

/// The terminal summary: a two-column table.
pub fn summary_table(r: &Report) -> String {
    let rows = rows(r);
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (k, v) in rows {
        let _ = writeln!(out, "  {k:<width$}  {v}");
    }
    out
}

/// Two runs side by side (compare mode).
pub fn compare_table(labels: [&str; 2], a: &Report, b: &Report) -> String {
    let ra = rows(a);
    let rb = rows(b);
    let width = ra.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let vw = ra
        .iter()
        .map(|(_, v)| v.len())
        .max()
        .unwrap_or(0)
        .max(labels[0].len());
    let mut out = String::new();
    let _ = writeln!(out, "  {:<width$}  {:<vw$}  {}", "", labels[0], labels[1]);
    for ((k, va), (_, vb)) in ra.into_iter().zip(rb) {
        let mark = if va != vb { "  *" } else { "" };
        let _ = writeln!(out, "  {k:<width$}  {va:<vw$}  {vb}{mark}");
    }
    out
}

/// A compact, line-oriented summary for snapshot tests: the report's fields, then the scale
/// events one per line.
pub fn compact(result: &RunResult) -> String {
    let mut out = String::new();
    let value = serde_json::to_value(&result.report).unwrap_or_default();
    if let serde_json::Value::Object(map) = value {
        for (k, v) in map {
            let _ = writeln!(out, "{k}: {v}");
        }
    }
    let _ = writeln!(out, "events:");
    for e in &result.events {
        let _ = writeln!(
            out,
            "  {} {} {}",
            crate::scenario::duration::format_duration(e.at_ms),
            e.kind.as_str(),
            e.subject
        );
    }
    out
}

/// `report.json`.
pub fn report_json(r: &Report) -> String {
    serde_json::to_string_pretty(r).unwrap_or_default() + "\n"
}

/// `timeline.csv`: one row per sample; one `nodes:<group>` column per group ever seen.
pub fn timeline_csv(result: &RunResult) -> String {
    let groups: BTreeSet<&str> = result
        .samples
        .iter()
        .flat_map(|s| s.nodes_by_group.keys().map(String::as_str))
        .collect();
    let mut out = String::from(
        "time_s,nodes,ready_nodes,in_flight,pending_pods,running_pods,cpu_utilization,memory_utilization,cost_usd",
    );
    for g in &groups {
        let _ = write!(out, ",nodes:{g}");
    }
    out.push('\n');
    for s in &result.samples {
        let _ = write!(
            out,
            "{},{},{},{},{},{},{:.4},{:.4},{:.4}",
            s.at / 1000,
            s.total_nodes(),
            s.ready_nodes,
            s.in_flight,
            s.pending_pods,
            s.running_pods,
            s.cpu_utilization,
            s.memory_utilization,
            s.cost_usd
        );
        for g in &groups {
            let _ = write!(out, ",{}", s.nodes_by_group.get(*g).copied().unwrap_or(0));
        }
        out.push('\n');
    }
    out
}

/// Writes `report.json`, `timeline.csv` and `report.html` into `dir` (created if needed).
pub fn write_outputs(dir: &Path, result: &RunResult) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("report.json"), report_json(&result.report))?;
    std::fs::write(dir.join("timeline.csv"), timeline_csv(result))?;
    std::fs::write(dir.join("report.html"), html::single(result))?;
    Ok(())
}
