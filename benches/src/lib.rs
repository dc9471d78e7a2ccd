//! vpsie-benches (work in progress).

pub mod scaleup_workloads;
