//! Fuzz target: scenario parsing and validation never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for name in ["fuzz.json", "fuzz.yaml"] {
        let _ = vpsie_sim::scenario::load::parse_str(text, name, std::path::PathBuf::from("."));
    }
});
