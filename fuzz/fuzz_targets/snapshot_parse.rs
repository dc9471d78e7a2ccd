//! Fuzz target: snapshot parsing and validation never panic, and an accepted snapshot
//! round-trips through its canonical JSON unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vpsie_engine::model::ClusterSnapshot;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for name in ["fuzz.json", "fuzz.yaml"] {
        if let Ok(snapshot) = ClusterSnapshot::from_text(text, name) {
            let canonical = snapshot.to_json_pretty();
            let again = ClusterSnapshot::from_text(&canonical, "canonical.json")
                .expect("a snapshot the loader accepted must reload from its own canonical JSON");
            assert_eq!(again, snapshot, "canonical JSON must round-trip");
        }
    }
});
