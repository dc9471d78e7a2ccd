//! `ScaleDownPlan::render_text`: a compact, line-oriented, deterministic rendering.

use std::fmt::Write as _;

use super::types::ScaleDownPlan;

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

impl ScaleDownPlan {
    /// One line per removal, eviction, replacement, kept node and PDB budget. Stable across runs.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let saving: f64 = self.removals.iter().map(|r| r.hourly_saving).sum::<f64>()
            + self
                .replacements
                .iter()
                .map(|r| r.hourly_saving)
                .sum::<f64>()
            + 0.0; // an empty sum is -0.0
        let _ = writeln!(
            out,
            "scale-down: remove {} node(s), {} replacement(s), keep {}, saving ${:.4}/h",
            self.removals.len(),
            self.replacements.len(),
            self.kept.len(),
            saving
        );
        for r in &self.removals {
            let _ = writeln!(
                out,
                "remove {} group={} kind={} cpu={} mem={} evictions={} saving=${:.4}/h",
                r.node,
                r.group,
                r.kind.code(),
                pct(r.cpu_utilization),
                pct(r.memory_utilization),
                r.evictions.len(),
                r.hourly_saving
            );
            for e in &r.evictions {
                let _ = write!(out, "  evict {} -> {}", e.pod, e.destination);
                if !e.pdbs.is_empty() {
                    let _ = write!(out, " pdb={}", e.pdbs.join(","));
                }
                out.push('\n');
            }
        }
        for r in &self.replacements {
            let adds: Vec<String> = r
                .add
                .iter()
                .map(|a| {
                    format!(
                        "{}x{}/{}{} ${:.4}/h",
                        a.count,
                        a.group,
                        a.size,
                        if a.new_group { " (new group)" } else { "" },
                        a.hourly_price
                    )
                })
                .collect();
            let _ = writeln!(
                out,
                "replace {} with {} saving=${:.4}/h savings={} disruption={}",
                r.remove.join(","),
                if adds.is_empty() {
                    "nothing".to_string()
                } else {
                    adds.join(" + ")
                },
                r.hourly_saving,
                pct(r.savings_fraction),
                pct(r.disruption_fraction)
            );
            for e in &r.evictions {
                let _ = write!(out, "  evict {} -> {}", e.pod, e.destination);
                if !e.pdbs.is_empty() {
                    let _ = write!(out, " pdb={}", e.pdbs.join(","));
                }
                out.push('\n');
            }
        }
        for k in &self.kept {
            let _ = writeln!(out, "keep {} {}: {}", k.node, k.reason.code(), k.reason);
        }
        for b in &self.pdb_budgets {
            let _ = writeln!(
                out,
                "pdb {} allowed={} consumed={}",
                b.pdb, b.allowed, b.consumed
            );
        }
        out
    }
}
