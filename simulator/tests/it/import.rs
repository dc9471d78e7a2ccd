//! Trace importers on small fixtures: parsed rows, converted scenarios that load and run.

use vpsie_sim::import::{self, azure, openb};
use vpsie_sim::run::{Overrides, run_scenario};
use vpsie_sim::scenario::parse_str;

fn fixture(name: &str) -> (String, String) {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    (name.to_string(), text)
}

/// Renders, re-parses and runs a converted scenario.
fn round_trip(s: &vpsie_sim::scenario::Scenario) -> vpsie_sim::metrics::RunResult {
    for json in [false, true] {
        let text = import::render(s, "header", json);
        let name = if json {
            "imported.json"
        } else {
            "imported.yaml"
        };
        let loaded = parse_str(&text, name, std::path::PathBuf::new())
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(&loaded.scenario, s);
    }
    let text = import::render(s, "header", false);
    let loaded = parse_str(&text, "imported.yaml", std::path::PathBuf::new()).unwrap();
    run_scenario(&loaded, &Overrides::default(), &mut |_, _| {}).unwrap()
}

#[test]
fn openb_pods_and_nodes_become_a_scenario() {
    let (pf, pt) = fixture("openb_pods.csv");
    let (nf, nt) = fixture("openb_nodes.csv");
    let pods = openb::parse_pods(&pt, &pf).unwrap();
    let nodes = openb::parse_nodes(&nt, &nf).unwrap();
    assert_eq!(pods.len(), 8);
    assert_eq!(nodes.len(), 5);
    let opts = openb::OpenbOptions {
        window_s: Some(86_400.0),
        ..Default::default()
    };
    let s = openb::convert(&pods, &nodes, &opts);
    // The pod created at 90000 s is outside the one-day window.
    assert_eq!(s.workload.pods.len(), 7);
    let p1 = &s.workload.pods[1];
    assert_eq!(
        (p1.at.ms(), p1.duration.map(|d| d.ms())),
        (60_000, Some(3_600_000))
    );
    // A fractional GPU share is rounded up to one whole GPU.
    let r = p1.requests.as_ref().unwrap();
    assert_eq!(
        (r.cpu_milli, r.memory, r.extended("nvidia.com/gpu")),
        (2000, 4096 << 20, 1)
    );
    // Three node shapes → three sizes and groups, max = how many nodes of the shape.
    let groups: Vec<(String, u32)> = s
        .cluster
        .node_groups
        .iter()
        .map(|g| (g.size.clone(), g.max))
        .collect();
    assert_eq!(
        groups,
        [
            ("OPENB-16C-64G-2xP100".to_string(), 2),
            ("OPENB-32C-128G".to_string(), 2),
            ("OPENB-96C-384G-8xG2".to_string(), 1)
        ]
    );
    let result = round_trip(&s);
    assert_eq!(result.report.vps_orphaned, 0);
    assert!(
        result.report.scale_ups > 0,
        "the autoscaler buys nodes for the trace's pods"
    );
}

#[test]
fn openb_time_scale_and_limit() {
    let (pf, pt) = fixture("openb_pods.csv");
    let pods = openb::parse_pods(&pt, &pf).unwrap();
    let opts = openb::OpenbOptions {
        time_scale: 60.0,
        limit: Some(3),
        ..Default::default()
    };
    let s = openb::convert(&pods, &[], &opts);
    assert_eq!(s.workload.pods.len(), 3);
    assert_eq!(s.workload.pods[2].at.ms(), 2_000);
    assert_eq!(s.workload.pods[0].duration.unwrap().ms(), 120_000);
}

#[test]
fn openb_bad_rows_name_file_line_and_column() {
    let (pf, pt) = fixture("openb_pods_bad.csv");
    let e = openb::parse_pods(&pt, &pf).unwrap_err().to_string();
    assert_eq!(
        e,
        "openb_pods_bad.csv:3: column `cpu_milli`: `lots` is not a number"
    );
    let e = openb::parse_nodes("sn,cpu\nx,1\n", "n.csv")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("n.csv:1: column `cpu_milli`: missing column"),
        "{e}"
    );
}

fn azure_inputs() -> [(String, String); 4] {
    [
        fixture("azure_trace.txt"),
        fixture("azure_lifetimes.txt"),
        fixture("azure_flavours.txt"),
        fixture("azure_intervals.txt"),
    ]
}

#[test]
fn azure_trace_becomes_a_scenario() {
    let [t, l, f, i] = azure_inputs();
    let inputs = azure::AzureInputs {
        trace: (&t.0, &t.1),
        lifetimes: (&l.0, &l.1),
        flavours: (&f.0, &f.1),
        intervals: (&i.0, &i.1),
    };
    let vms = azure::parse_vms(&inputs).unwrap();
    assert_eq!(vms.len(), 13);
    // Bin 3 covers 900..1200 s: its midpoint; the censored VM runs to the end.
    assert_eq!(vms[0].duration_s, Some(1050));
    assert_eq!(vms[5].duration_s, None);
    // Bin 0 (gone within the bin) still runs a minute.
    assert_eq!(vms[6].duration_s, Some(60));
    // Arrivals are spread across the 5-minute bin in file order.
    assert_eq!(
        (vms[0].arrival_s, vms[5].arrival_s),
        (2_100_000.0, 2_100_000.0 + 300.0 * 5.0 / 6.0)
    );
    let flavours = azure::parse_flavours(&f.1, &f.0).unwrap();
    let opts = azure::AzureOptions {
        window_s: 3600,
        keep_every: 1,
        ..Default::default()
    };
    let s = azure::convert(&vms, &flavours, &opts).unwrap();
    assert_eq!(s.workload.pods.len(), 13);
    let big = s
        .workload
        .pods
        .iter()
        .find(|p| p.requests.as_ref().is_some_and(|r| r.memory == 56 << 30));
    assert!(big.is_some(), "the 8 vCPU / 56 GB flavour is kept");
    let result = round_trip(&s);
    assert_eq!(result.report.vps_orphaned, 0);
    assert_eq!(
        result.report.pods_never_bound, 0,
        "every flavour fits a size"
    );
}

#[test]
fn azure_mismatched_files_are_reported() {
    let [t, _, f, i] = azure_inputs();
    let lifetimes = "2100000 U3,U1,|\n";
    let inputs = azure::AzureInputs {
        trace: (&t.0, &t.1),
        lifetimes: ("lives.txt", lifetimes),
        flavours: (&f.0, &f.1),
        intervals: (&i.0, &i.1),
    };
    let e = azure::parse_vms(&inputs).unwrap_err().to_string();
    assert_eq!(e, "lives.txt:1: column `lifetimes`: 2 lifetimes for 6 VMs");
    let e = azure::parse_flavours("1;2 a\n", "flav.txt")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("flav.txt:1: column `flavour`"), "{e}");
}

/// The real traces, when the data directory is present next to the workspace.
#[test]
fn real_traces_convert_when_present() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    let pods = data.join("openb/openb_pod_list_default.csv");
    let nodes = data.join("openb/openb_node_list_gpu_node.csv");
    if !pods.exists() || !nodes.exists() {
        println!("skipping: {} not found", data.display());
        return;
    }
    let pods = openb::parse_pods(&std::fs::read_to_string(&pods).unwrap(), "pods").unwrap();
    let nodes = openb::parse_nodes(&std::fs::read_to_string(&nodes).unwrap(), "nodes").unwrap();
    assert_eq!((pods.len(), nodes.len()), (8152, 1213));
    let s = openb::convert(&pods, &nodes, &openb::OpenbOptions::default());
    assert_eq!(s.workload.pods.len(), 8152);
    let azure_dir = data.join("azure-vm-v1-huawei-tracegen");
    let read = |n: &str| std::fs::read_to_string(azure_dir.join(n)).unwrap();
    let (t, l, f, i) = (
        read("v1.test.txt"),
        read("v1.test.c2591400.txt"),
        read("flav_map.txt"),
        read("v1.interval_map.txt"),
    );
    let inputs = azure::AzureInputs {
        trace: ("t", &t),
        lifetimes: ("l", &l),
        flavours: ("f", &f),
        intervals: ("i", &i),
    };
    let vms = azure::parse_vms(&inputs).unwrap();
    assert_eq!(vms.len(), 410_276);
    assert_eq!(
        vms.iter().filter(|v| v.duration_s.is_none()).count(),
        23_311
    );
}
