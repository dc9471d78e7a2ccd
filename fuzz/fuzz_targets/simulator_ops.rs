//! Fuzz target: arbitrary sequences of pod arrivals, deletions, cloud faults, controller
//! restarts and time advances against the simulator hold the chaos invariants once settled.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vpsie_fuzz::simulator_ops::run(data));
