//! `vpsie-sim plan SNAPSHOT`: loads and validates a snapshot and prints what it contains.

use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;
use vpsie_engine::model::ClusterSnapshot;

use super::{CliError, Format, Run, read_text};

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Cluster snapshot, JSON or YAML (see docs/snapshot-format.md).
    pub snapshot: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

impl Run for PlanArgs {
    fn run(self, out: &mut dyn Write) -> Result<(), CliError> {
        let text = read_text(&self.snapshot)?;
        let name = self.snapshot.display().to_string();
        let snapshot = ClusterSnapshot::from_text(&text, &name)?;
        let summary = Summary::of(&snapshot);
        match self.format {
            Format::Text => out.write_all(summary.render_text().as_bytes())?,
            Format::Json => {
                let json = serde_json::to_string_pretty(&summary)
                    .map_err(|e| CliError::Failed(e.to_string()))?;
                writeln!(out, "{json}")?;
            }
        }
        Ok(())
    }
}

/// What a snapshot holds, counted.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    nodes: usize,
    schedulable_nodes: usize,
    pods: usize,
    pending_pods: Vec<String>,
    node_groups: usize,
    sizes: usize,
    daemon_sets: usize,
    pdbs: usize,
    in_flight: usize,
}

impl Summary {
    fn of(s: &ClusterSnapshot) -> Self {
        let mut pending_pods: Vec<String> = s
            .pods
            .iter()
            .filter(|p| p.node_name.is_none())
            .map(|p| p.key())
            .collect();
        pending_pods.sort();
        Summary {
            nodes: s.nodes.len(),
            schedulable_nodes: s.nodes.iter().filter(|n| n.schedulable()).count(),
            pods: s.pods.len(),
            pending_pods,
            node_groups: s.node_groups.len(),
            sizes: s.sizes.len(),
            daemon_sets: s.daemon_sets.len(),
            pdbs: s.pdbs.len(),
            in_flight: s.in_flight.len(),
        }
    }

    fn render_text(&self) -> String {
        let mut out = format!(
            "nodes {} (schedulable {}), pods {} (pending {}), nodeGroups {}, sizes {}, daemonSets {}, pdbs {}, inFlight {}\n",
            self.nodes,
            self.schedulable_nodes,
            self.pods,
            self.pending_pods.len(),
            self.node_groups,
            self.sizes,
            self.daemon_sets,
            self.pdbs,
            self.in_flight
        );
        for pod in &self.pending_pods {
            out.push_str(&format!("pending {pod}\n"));
        }
        out
    }
}
