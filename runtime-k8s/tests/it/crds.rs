//! The committed CRD YAML must match what the Rust types generate.

use std::path::Path;

#[test]
fn committed_crd_yaml_is_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for dir in ["deploy/crds", "charts/vpsie-autoscaler/crds"] {
        for (file, yaml) in vpsie_autoscaler::crd::crd_yaml().unwrap() {
            let path = root.join(dir).join(file);
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                committed == yaml,
                "{dir}/{file} is stale: run `cargo run -p vpsie-autoscaler -- crdgen` from the workspace root"
            );
        }
    }
}

#[test]
fn nodegroup_crd_has_status_subresource_and_printer_columns() {
    use kube::CustomResourceExt;
    let crd = vpsie_autoscaler::crd::NodeGroup::crd();
    let v = &crd.spec.versions[0];
    assert!(v.subresources.as_ref().unwrap().status.is_some());
    let columns: Vec<&str> = v
        .additional_printer_columns
        .iter()
        .flatten()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        columns,
        ["Min", "Max", "Desired", "Current", "Ready", "Age"]
    );
    assert_eq!(crd.spec.scope, "Namespaced");
    assert_eq!(crd.spec.group, "autoscaler.vpsie.com");
}

#[test]
fn vpsienode_status_carries_the_engine_phase() {
    let yaml = vpsie_autoscaler::crd::crd_yaml().unwrap();
    let vn = &yaml
        .iter()
        .find(|(f, _)| *f == "vpsienodes.yaml")
        .unwrap()
        .1;
    for phase in [
        "Pending",
        "Provisioning",
        "Provisioned",
        "Joining",
        "Ready",
        "Terminating",
        "Deleting",
        "Failed",
    ] {
        assert!(vn.contains(&format!("- {phase}")), "phase {phase} missing");
    }
    assert!(vn.contains("x-kubernetes-preserve-unknown-fields: true"));
}
