//! The benchmark readers behind `vpsie-sim quality` (OR-Library 1-D files, BPPLIB bounds,
//! Vectorpack `.vbp` sets) on small fixtures, and the planner on them.

use std::path::PathBuf;

use vpsie_sim::quality::{self, OptimumSource, orlib, vbp};

fn fixture(dir: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/quality")
        .join(dir)
}

#[test]
fn orlib_files_scale_decimals_and_take_proven_optima_from_the_bounds_table() {
    let sets = quality::load_dir(&fixture("orlib")).unwrap();
    assert_eq!(
        sets.len(),
        1,
        "info.txt and Bounds.txt are not instance files"
    );
    let set = &sets[0];
    assert_eq!(set.name, "u10");
    let names: Vec<&str> = set.instances.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["u10_00", "t6_00"]);
    let u = &set.instances[0];
    assert_eq!(u.capacity, vec![150]);
    assert_eq!(u.items, vec![vec![100], vec![50], vec![80], vec![70]]);
    // The header says 3; the bounds table proves 2.
    assert_eq!(
        (u.optimum, u.optimum_source),
        (2, OptimumSource::BoundsTable)
    );
    let t = &set.instances[1];
    assert_eq!(t.capacity, vec![1000]);
    assert_eq!(t.items[0], vec![366]);
    assert_eq!(t.items[1], vec![400]);
    // Lower and upper bound differ in the table: the header stays.
    assert_eq!((t.optimum, t.optimum_source), (2, OptimumSource::Header));
}

#[test]
fn the_planner_packs_the_fixtures_optimally() {
    for dir in ["orlib", "vbp"] {
        for set in quality::load_dir(&fixture(dir)).unwrap() {
            for inst in &set.instances {
                let r = quality::evaluate(inst, 100_000).unwrap();
                assert_eq!(r.unplaced, 0, "{}", inst.name);
                assert_eq!(r.nodes, inst.optimum, "{}", inst.name);
                assert!(r.ffd_nodes >= r.nodes, "{}", inst.name);
            }
        }
    }
}

#[test]
fn vbp_sets_use_the_summary_table_and_skip_unknown_optima() {
    let sets = quality::load_dir(&fixture("vbp")).unwrap();
    assert_eq!(sets.len(), 1);
    let set = &sets[0];
    assert_eq!(set.name, "Mini");
    assert_eq!(set.skipped_unknown_optimum, 1);
    assert_eq!(set.instances.len(), 1);
    let inst = &set.instances[0];
    assert_eq!(inst.name, "classX_4_3_0");
    assert_eq!(inst.capacity, vec![100, 100, 100]);
    assert_eq!(inst.items.len(), 4, "multiplicities expand");
    assert_eq!(inst.optimum, 2);
}

#[test]
fn malformed_files_name_the_file_and_line() {
    let err = orlib::parse_file("1\n x_0\n 150 2 1\n10\n1O\n", "bad.txt").unwrap_err();
    assert!(err.to_string().starts_with("bad.txt:5:"), "{err}");
    assert!(err.to_string().contains("`1O`"), "{err}");
    let err = orlib::parse_file("1\n x_0\n 150 3 1\n10\n", "short.txt").unwrap_err();
    assert!(err.to_string().contains("file ends"), "{err}");
    let err = vbp::parse_file("2\n10 10\n1\n5 x 1\n", "bad.vbp", "bad").unwrap_err();
    assert!(err.to_string().starts_with("bad.vbp:4:"), "{err}");
    let err = vbp::parse_optima("name\tOPT\nx\t1\n", "t.csv").unwrap_err();
    assert!(err.to_string().contains("instance_name"), "{err}");
    let err = orlib::BoundsTable::parse("a 1\n", "Bounds.txt").unwrap_err();
    assert!(err.to_string().starts_with("Bounds.txt:1:"), "{err}");
    assert!(quality::load_dir(&fixture("vbp/Mini_instances")).is_err());
}

#[test]
fn shipped_orlib_data_loads_with_bpplib_optima() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/orlib-binpack");
    if !dir.is_dir() {
        println!("skipped: {} is absent", dir.display());
        return;
    }
    let sets = quality::load_dir(&dir).unwrap();
    let instances: usize = sets.iter().map(|s| s.instances.len()).sum();
    assert_eq!(instances, 160);
    let all: Vec<&quality::Instance> = sets.iter().flat_map(|s| &s.instances).collect();
    let u120_08 = all.iter().find(|i| i.name == "u120_08").unwrap();
    assert_eq!(
        u120_08.optimum, 50,
        "header 51 is overridden by the bounds table"
    );
    let t60 = all.iter().find(|i| i.name == "t60_00").unwrap();
    assert_eq!((t60.capacity[0], t60.optimum), (1000, 20));
}
