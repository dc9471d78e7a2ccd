//! Identifiers, hostnames and addresses drawn from the cloud's seeded generator.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

/// A time-based-looking UUID (`xxxxxxxx-xxxx-11f0-xxxx-xxxxxxxxxxxx`) like VPSie's.
pub(crate) fn uuid(rng: &mut ChaCha8Rng) -> String {
    let a: u32 = rng.random();
    let b: u16 = rng.random();
    let c: u16 = rng.random();
    let d: u64 = rng.random();
    format!(
        "{a:08x}-{b:04x}-11f0-{:04x}-{:012x}",
        (c & 0x3fff) | 0x8000,
        d & 0xffff_ffff_ffff
    )
}

/// Four lowercase hex digits for hostnames (`<cluster>-slave-<hex4>`).
pub(crate) fn hex4(rng: &mut ChaCha8Rng) -> String {
    let v: u16 = rng.random();
    format!("{v:04x}")
}

/// A public-looking IPv4 address in 95.216.0.0/16.
pub(crate) fn public_ip(rng: &mut ChaCha8Rng) -> String {
    let x: u8 = rng.random();
    let y: u8 = rng.random_range(1..=254);
    format!("95.216.{x}.{y}")
}

/// The n-th private address of a cluster's network (10.10.0.0/16, from .11 on).
pub(crate) fn private_ip(n: u32) -> String {
    let host = n + 11;
    format!("10.10.{}.{}", host / 250, host % 250)
}
