//! Integration tests of the runtime: CRD generation, the snapshot builder, the executor and the
//! controller against a scripted API server, and an end-to-end run gated on KUBECONFIG.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test loudly; inputs are fixtures"
)]

mod apiserver;
mod closed_loop;
mod controller;
mod crds;
mod drain;
mod e2e;
mod fake_vpsie;
mod fixtures;
mod leader_health;
mod loopback;
mod record;
mod restart;
mod snapshot;
