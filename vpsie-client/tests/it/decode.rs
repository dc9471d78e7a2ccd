//! Response decoding never panics, whatever the bytes (the fuzz target calls the same function).

use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use vpsie_api::{Cluster, K8sOffer, LoginResponse, decode_body, decode_envelope};
use vpsie_client::EnvelopeError;

fn json_fragment() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        Just("false".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        "[a-z\"\\\\]{0,8}".prop_map(|s| format!("{s:?}")),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("error"),
                        Just("data"),
                        Just("code"),
                        Just("message"),
                        Just("nodes"),
                        Just("id")
                    ],
                    inner
                ),
                0..5
            )
            .prop_map(|kv| format!(
                "{{{}}}",
                kv.iter()
                    .map(|(k, v)| format!("\"{k}\":{v}"))
                    .collect::<Vec<_>>()
                    .join(",")
            )),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, rng_seed: RngSeed::Fixed(0x5eed_0003), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(status in 0u16..1000, bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_envelope::<Vec<Cluster>>(status, &bytes);
        let _ = decode_envelope::<serde_json::Value>(status, &bytes);
        let _ = decode_body::<LoginResponse>(status, &bytes);
    }

    #[test]
    fn json_shaped_bodies_never_panic_and_errors_stay_short(status in prop_oneof![Just(200u16), Just(404), Just(429), Just(503)], body in json_fragment()) {
        for result in [
            decode_envelope::<Vec<K8sOffer>>(status, body.as_bytes()).map(|_| ()),
            decode_envelope::<Cluster>(status, body.as_bytes()).map(|_| ()),
        ] {
            if let Err(EnvelopeError::Decode { body, .. }) = result {
                prop_assert!(body.chars().count() <= vpsie_api::envelope::MAX_ERROR_BODY_CHARS);
            }
        }
        // A 2xx body whose `error` is true is never a success.
        if status == 200 && body.starts_with("{\"error\":true") && body.matches("\"error\":").count() == 1 {
            prop_assert!(decode_envelope::<serde_json::Value>(status, body.as_bytes()).is_err());
        }
    }
}
