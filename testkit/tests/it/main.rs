//! Integration tests of the test kit: the kubelet stand-in against a scripted API server that
//! checks every request, the worker view of the simulated cloud, and the mock with kubelets.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly; inputs are fixtures"
)]

mod kubelet;
mod scripted;
mod workers;
