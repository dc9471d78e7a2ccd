//! Fuzz target: on arbitrary small snapshots the scale-up and scale-down planners and one loop
//! step never overcommit a node, overdraw a PDB, break a group bound or a cluster limit, lose an
//! evicted pod, or answer differently twice.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vpsie_fuzz::engine_invariants::run(data));
