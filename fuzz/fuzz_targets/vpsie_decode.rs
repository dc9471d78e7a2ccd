//! Fuzz target: decoding any VPSie API response (any status, any bytes) never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vpsie_fuzz::parsers::vpsie_decode(data));
