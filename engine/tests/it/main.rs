//! Integration tests of vpsie-engine (one binary, one module per area).

mod autoscaler;
mod load;
mod plan_examples;
mod scaleup;
mod tidy;
