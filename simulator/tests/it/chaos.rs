//! Chaos campaigns: a small campaign holds every invariant and is deterministic, and the
//! invariant checker itself reports broken end states (orphans, lost pods, PDBs, bounds).

use std::collections::{BTreeMap, BTreeSet};

use vpsie_engine::model::PodDisruptionBudget;
use vpsie_engine::model::snapshot::IntOrPercent;
use vpsie_sim::chaos::check::{EndState, GroupBounds, NodeEnd, PodEnd, VpsEnd};
use vpsie_sim::chaos::{self, ChaosKind, Violation, check};
use vpsie_sim::scenario;
use vpsie_sim::scenario::FaultKind;

/// Node deaths left out: the other faults alone hold every invariant.
#[test]
fn a_small_campaign_without_node_deaths_holds_every_invariant() {
    small_campaign(&[ChaosKind::Cloud(FaultKind::NodeDeath)]);
}

/// Every kind of fault, node deaths included: dead workers are deleted and replaced.
#[test]
fn a_small_campaign_with_every_fault_holds_every_invariant() {
    small_campaign(&[]);
}

/// Runs that once broke an invariant, replayed as regressions: (run seed, what broke).
const REPLAYED: &[(u64, &str)] = &[
    (
        7424550030962593201,
        "a dead worker stayed tracked, NotReady and billed",
    ),
    (
        16749674651110329089,
        "a dead worker stayed tracked; its PDB ended below budget",
    ),
    (
        3735822747558869949,
        "every worker of the group died: below min, pods pending",
    ),
];

#[test]
fn replayed_runs_hold_every_invariant() {
    let base = scenario::quickstart().unwrap();
    let mut died = 0;
    for (seed, broke) in REPLAYED {
        let o = chaos::run_one(&base, *seed, &[]).unwrap();
        assert!(
            o.violations.is_empty(),
            "vpsie-sim chaos --replay {seed} (once: {broke}): {:?}",
            o.violations
        );
        died += o.nodes_died;
    }
    // The dead-worker runs really kill workers, so they test the recovery.
    assert!(died >= 3, "only {died} worker(s) died");
}

fn small_campaign(without: &[ChaosKind]) {
    let base = scenario::quickstart().unwrap();
    let summary = chaos::campaign(&base, 7, 5, without, &mut |_, _| {}).unwrap();
    assert_eq!(summary.runs, 5);
    let failures: Vec<String> = summary
        .failures
        .iter()
        .map(|o| {
            format!(
                "vpsie-sim chaos --replay {}: {:?}",
                o.run_seed, o.violations
            )
        })
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(summary.scheduled.values().sum::<u64>() >= 5);
}

#[test]
fn runs_are_deterministic_and_seeds_differ_per_run() {
    let base = scenario::quickstart().unwrap();
    let s = chaos::run_seed(3, 1);
    assert_ne!(s, chaos::run_seed(3, 0));
    assert_ne!(s, chaos::run_seed(4, 1));
    let a = chaos::run_one(&base, s, &[]).unwrap();
    let b = chaos::run_one(&base, s, &[]).unwrap();
    assert_eq!(a.plan, b.plan);
    assert_eq!(a.violations, b.violations);
    assert_eq!((a.failed_adds, a.nodes_died), (b.failed_adds, b.nodes_died));
}

fn vps(id: &str, host: &str, status: &str) -> VpsEnd {
    VpsEnd {
        identifier: id.to_string(),
        hostname: host.to_string(),
        group: "general".to_string(),
        status: status.to_string(),
    }
}

fn pod(name: &str, node: Option<&str>) -> PodEnd {
    PodEnd {
        key: format!("default/{name}"),
        namespace: "default".to_string(),
        labels: BTreeMap::from([("app".to_string(), "web".to_string())]),
        node: node.map(str::to_string),
        terminating: false,
        daemon_set: false,
    }
}

/// A sound end state: two tracked Ready workers, pods bound, group within bounds.
fn healthy() -> EndState {
    EndState {
        vps: vec![vps("a", "w-a", "running"), vps("b", "w-b", "running")],
        tracked: BTreeSet::from(["a".to_string(), "b".to_string()]),
        nodes: vec![
            NodeEnd {
                name: "w-a".to_string(),
                ready: true,
            },
            NodeEnd {
                name: "w-b".to_string(),
                ready: true,
            },
        ],
        pods: vec![pod("web-1", Some("w-a")), pod("web-2", Some("w-b"))],
        explained: BTreeSet::new(),
        pdbs: vec![PodDisruptionBudget {
            name: "web".to_string(),
            namespace: "default".to_string(),
            selector: vpsie_engine::model::LabelSelector {
                match_labels: BTreeMap::from([("app".to_string(), "web".to_string())]),
                ..Default::default()
            },
            min_available: Some(IntOrPercent::Int(2)),
            max_unavailable: None,
            disruptions_allowed: None,
        }],
        groups: vec![GroupBounds {
            name: "general".to_string(),
            min: 2,
            max: 3,
        }],
        pods_lost: 0,
        max_exceeded: None,
    }
}

#[test]
fn the_checker_accepts_a_sound_end_state() {
    assert_eq!(check(&healthy()), Vec::<Violation>::new());
}

#[test]
fn the_checker_reports_an_untracked_vps_as_an_orphan() {
    let mut end = healthy();
    end.vps.push(vps("c", "w-c", "running"));
    let v = check(&end);
    assert!(
        matches!(v.as_slice(), [Violation::OrphanVps { hostname, .. }] if hostname == "w-c"),
        "{v:?}"
    );
}

#[test]
fn the_checker_reports_a_tracked_vps_whose_node_is_not_ready() {
    let mut end = healthy();
    end.nodes[1].ready = false;
    let v = check(&end);
    // The worker is an orphan, the group falls below min, and the PDB loses a healthy pod.
    assert!(
        v.iter()
            .any(|x| matches!(x, Violation::OrphanVps { hostname, .. } if hostname == "w-b"))
    );
    assert!(v.contains(&Violation::BelowMin {
        group: "general".to_string(),
        ready: 1,
        min: 2
    }));
    assert!(v.iter().any(|x| matches!(x, Violation::PdbViolated { .. })));
}

#[test]
fn a_deleting_vps_is_not_an_orphan() {
    let mut end = healthy();
    end.vps.push(vps("c", "w-c", "deleting"));
    assert!(check(&end).is_empty());
}

#[test]
fn the_checker_reports_unexplained_pending_and_lost_pods() {
    let mut end = healthy();
    end.pods.push(pod("lonely", None));
    end.pods_lost = 2;
    let v = check(&end);
    assert!(v.contains(&Violation::UnexplainedPendingPod {
        pod: "default/lonely".to_string()
    }));
    assert!(v.contains(&Violation::PodsLost { count: 2 }));
    end.explained.insert("default/lonely".to_string());
    end.pods_lost = 0;
    assert!(check(&end).is_empty());
}

#[test]
fn the_checker_reports_a_group_above_its_max() {
    let mut end = healthy();
    end.max_exceeded = Some(("general".to_string(), 4, 3));
    assert_eq!(
        check(&end),
        vec![Violation::AboveMax {
            group: "general".to_string(),
            workers: 4,
            max: 3
        }]
    );
}

#[test]
fn the_cli_prints_a_summary_and_replays_a_seed() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vpsie-sim"))
        .args(["chaos", "--runs", "2", "--seed", "11", "--quiet"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("runs 2"), "{text}");
    assert!(out.status.success(), "{text}");
    let seed = chaos::run_seed(11, 0).to_string();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vpsie-sim"))
        .args(["chaos", "--replay", &seed])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("ok run seed {seed}")), "{text}");
}
