//! Fuzz target: autoscaler configuration parsing and validation never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vpsie_engine::autoscaler::AutoscalerConfig;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for name in ["fuzz.json", "fuzz.yaml"] {
        if let Ok(config) = AutoscalerConfig::from_text(text, name) {
            let _ = config.validate();
        }
    }
});
