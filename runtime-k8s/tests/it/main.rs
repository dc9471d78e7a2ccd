//! Integration tests of the runtime: CRD generation, the snapshot builder, the executor and the
//! controller against a scripted API server, and an end-to-end run gated on KUBECONFIG.

mod apiserver;
mod controller;
mod crds;
mod drain;
mod e2e;
mod fake_vpsie;
mod fixtures;
mod snapshot;
