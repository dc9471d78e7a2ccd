//! Scenarios: the versioned file format, loading with located errors, validation, JSON Schema.

pub mod duration;
pub mod format;
pub mod load;
mod validate;

pub use duration::SimDuration;
pub use format::*;
pub use load::{LoadedScenario, ScenarioError, load_file, parse_str};

use vpsie_engine::model::VpsieSize;

/// The built-in quickstart scenario (also the default of `vpsie-sim run`).
pub const QUICKSTART: &str = include_str!("../../../scenarios/quickstart.yaml");

/// Parses the built-in quickstart.
pub fn quickstart() -> Result<LoadedScenario, ScenarioError> {
    parse_str(
        QUICKSTART,
        "<built-in quickstart>.yaml",
        std::path::PathBuf::new(),
    )
}

/// JSON Schema of the scenario format (`vpsie-sim schema scenario`), pretty-printed.
pub fn scenario_json_schema() -> String {
    let schema = schemars::schema_for!(Scenario);
    match serde_json::to_string_pretty(&schema) {
        Ok(text) => text + "\n",
        Err(e) => format!("{{\"error\": {:?}}}\n", e.to_string()),
    }
}

/// The size catalogue a scenario uses: its own, or the example catalogue of the VPSie API.
pub fn effective_sizes(s: &Scenario) -> Vec<VpsieSize> {
    if s.cluster.sizes.is_empty() {
        default_sizes()
    } else {
        s.cluster.sizes.clone()
    }
}

/// The example K8s size catalogue (`vpsie-api.md` §7), hourly price = monthly / 730.
pub fn default_sizes() -> Vec<VpsieSize> {
    let size =
        |id: u32, name: &str, vcpu: u32, ram_mb: u64, disk_gb: u64, monthly: f64| VpsieSize {
            id,
            name: name.to_string(),
            vcpu,
            ram_mb,
            disk_gb,
            gpu: 0,
            hourly_price: (monthly / 730.0 * 10_000.0).round() / 10_000.0,
            max_pods: vpsie_engine::model::group::DEFAULT_MAX_PODS,
        };
    vec![
        size(1, "K8S-1C-2G", 1, 2048, 40, 5.0),
        size(2, "K8S-2C-4G", 2, 4096, 80, 10.0),
        size(3, "K8S-4C-8G", 4, 8192, 160, 20.0),
        size(4, "K8S-8C-16G", 8, 16384, 160, 40.0),
        size(5, "K8S-4C-16G", 4, 16384, 160, 32.0),
        size(6, "K8S-16C-32G", 16, 32768, 320, 80.0),
    ]
}
