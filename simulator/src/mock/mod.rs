//! The VPSie HTTP mock server around the simulated cloud (work in progress).
