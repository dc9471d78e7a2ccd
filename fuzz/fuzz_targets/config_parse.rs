//! Fuzz target: autoscaler configuration parsing and validation never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vpsie_fuzz::parsers::config_parse(data));
