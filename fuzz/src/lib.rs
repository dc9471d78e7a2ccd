//! The fuzz targets' bodies, one function per target, so that the main workspace's tests can
//! replay committed regression inputs through exactly the code the fuzzer ran.

pub mod engine_invariants;
pub mod parsers;
pub mod simulator_ops;
