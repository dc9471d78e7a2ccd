//! Fuzz target: decoding any VPSie API response (any status, any bytes) never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vpsie_api::decode_envelope;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let status = 100 + u16::from_le_bytes([data[0], data[1]]) % 500;
    let body = &data[2..];
    let _ = decode_envelope::<serde_json::Value>(status, body);
    let _ = decode_envelope::<Vec<vpsie_api::NodeGroup>>(status, body);
    let _ = decode_envelope::<bool>(status, body);
});
