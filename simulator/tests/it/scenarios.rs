//! Every shipped scenario runs, matches its reviewed summary, and gives byte-identical
//! outputs when run twice with the same seed.

use vpsie_sim::report;
use vpsie_sim::run::{Overrides, run_scenario};
use vpsie_sim::scenario::load_file;

#[test]
fn shipped_scenarios_are_deterministic_and_match_their_snapshots() {
    insta::glob!("../../../scenarios", "*.yaml", |path| {
        let loaded = load_file(path).unwrap_or_else(|e| panic!("{e}"));
        let run = || {
            let r = run_scenario(&loaded, &Overrides::default(), &mut |_, _| {})
                .unwrap_or_else(|e| panic!("{e}"));
            (
                report::report_json(&r.report),
                report::timeline_csv(&r),
                report::html::single(&r),
                report::compact(&r),
                r,
            )
        };
        let first = run();
        let second = run();
        let name = path.display();
        assert_eq!(
            first.0, second.0,
            "{name}: report.json differs between two runs of the same seed"
        );
        assert_eq!(
            first.1, second.1,
            "{name}: timeline.csv differs between two runs of the same seed"
        );
        assert_eq!(
            first.2, second.2,
            "{name}: report.html differs between two runs of the same seed"
        );
        assert_eq!(
            first.4.report.vps_orphaned, 0,
            "{name}: orphaned VPS: {:?}",
            first.4.report.orphaned_workers
        );
        insta::assert_snapshot!(first.3);
    });
}

#[test]
fn the_built_in_quickstart_is_the_shipped_file() {
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/quickstart.yaml"
    ))
    .unwrap();
    assert_eq!(shipped, vpsie_sim::scenario::QUICKSTART);
    vpsie_sim::scenario::quickstart().unwrap();
}

#[test]
fn a_different_seed_changes_the_run() {
    let loaded = vpsie_sim::scenario::quickstart().unwrap();
    let a = run_scenario(&loaded, &Overrides::default(), &mut |_, _| {}).unwrap();
    let b = run_scenario(
        &loaded,
        &Overrides {
            seed: Some(9),
            config: None,
        },
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(b.report.seed, 9);
    assert_ne!(report::timeline_csv(&a), report::timeline_csv(&b));
}
