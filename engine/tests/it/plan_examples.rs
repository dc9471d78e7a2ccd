//! The scale-up plan of every example snapshot, as reviewable text (insta), and its stability:
//! planning twice or with nodes and pods reversed gives byte-identical output.

use vpsie_engine::model::ClusterSnapshot;
use vpsie_engine::scaleup::{ScaleUpOptions, plan_scale_up};

fn load(path: &std::path::Path) -> ClusterSnapshot {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let text = std::fs::read_to_string(path).unwrap();
    ClusterSnapshot::from_text(&text, &name).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn plan_of_every_example_snapshot() {
    insta::glob!("../../../examples/snapshots", "*.{json,yaml,yml}", |path| {
        let snapshot = load(path);
        let text = plan_scale_up(&snapshot, &ScaleUpOptions::default()).render_text();
        insta::assert_snapshot!(text);
    });
}

#[test]
fn example_plans_are_deterministic_and_order_independent() {
    insta::glob!("../../../examples/snapshots", "*.{json,yaml,yml}", |path| {
        let snapshot = load(path);
        let options = ScaleUpOptions::default();
        let first = plan_scale_up(&snapshot, &options).render_text();
        assert_eq!(first, plan_scale_up(&snapshot, &options).render_text());
        let mut reversed = snapshot.clone();
        reversed.nodes.reverse();
        reversed.pods.reverse();
        reversed.node_groups.reverse();
        reversed.sizes.reverse();
        reversed.in_flight.reverse();
        reversed.daemon_sets.reverse();
        assert_eq!(
            first,
            plan_scale_up(&reversed, &options).render_text(),
            "{}: reversing the snapshot's lists changed the plan",
            path.display()
        );
    });
}
