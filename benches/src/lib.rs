//! vpsie-benches (work in progress).

pub mod scaledown_workloads;
pub mod scaleup_workloads;
