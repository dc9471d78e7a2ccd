//! The parsing targets: snapshots, scenarios, configurations and VPSie responses must reject
//! any bytes with an error, never a panic; an accepted snapshot round-trips through its
//! canonical JSON.
//!
//! This file is compiled twice: by the fuzz crate and, through `#[path]`, by the simulator's
//! integration tests, which replay `fuzz/regressions/<target>/` on stable Rust.

use vpsie_engine::autoscaler::AutoscalerConfig;
use vpsie_engine::model::ClusterSnapshot;

/// Both formats a name can select.
const NAMES_JSON_YAML: [&str; 2] = ["fuzz.json", "fuzz.yaml"];

pub fn snapshot_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for name in NAMES_JSON_YAML {
        if let Ok(snapshot) = ClusterSnapshot::from_text(text, name) {
            let canonical = snapshot.to_json_pretty();
            match ClusterSnapshot::from_text(&canonical, "canonical.json") {
                Ok(again) => assert_eq!(again, snapshot, "canonical JSON must round-trip"),
                Err(e) => {
                    panic!("an accepted snapshot does not reload from its canonical JSON: {e}")
                }
            }
        }
    }
}

pub fn config_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for name in NAMES_JSON_YAML {
        if let Ok(config) = AutoscalerConfig::from_text(text, name) {
            let _ = config.validate();
        }
    }
}

pub fn scenario_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for name in NAMES_JSON_YAML {
        let _ = vpsie_sim::scenario::parse_str(text, name, std::path::PathBuf::from("."));
    }
}

/// The first two bytes pick the HTTP status, the rest is the body.
pub fn vpsie_decode(data: &[u8]) {
    if data.len() < 2 {
        return;
    }
    let status = 100 + u16::from_le_bytes([data[0], data[1]]) % 500;
    let body = &data[2..];
    let _ = vpsie_api::decode_envelope::<serde_json::Value>(status, body);
    let _ = vpsie_api::decode_envelope::<Vec<vpsie_api::NodeGroup>>(status, body);
    let _ = vpsie_api::decode_envelope::<bool>(status, body);
}
