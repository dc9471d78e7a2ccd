//! Fuzz target: snapshot parsing and validation never panic, and an accepted snapshot round-trips through its canonical JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vpsie_fuzz::parsers::snapshot_parse(data));
