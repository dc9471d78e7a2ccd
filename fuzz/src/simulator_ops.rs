//! Arbitrary operation sequences against the simulator: pod arrivals, deployment scale-outs and
//! deletions, cloud fault windows, controller restarts and time advances on a small scenario,
//! then the fault-free settle period of the chaos campaigns and the chaos checker's invariants
//! (no orphaned VPS, no lost or unexplained pod, no PDB or group-bound violation).
//!
//! Node deaths are among the faults: the loop fails a worker whose Node stays NotReady for the
//! unready node timeout, deletes it and replaces it, well within the settle period.
//!
//! This file is compiled twice: by the fuzz crate and, through `#[path]`, by the simulator's
//! integration tests, which replay `fuzz/regressions/simulator_ops/` on stable Rust.

use arbitrary::{Arbitrary, Unstructured};
use serde_json::{Value, json};
use vpsie_sim::chaos::{FaultPlan, check, run_plan};
use vpsie_sim::scenario::{Fault, FaultKind, SimDuration, parse_str};

const MINUTE_MS: i64 = 60_000;
/// Operations kept from one input, and the longest base run before the settle period.
const MAX_OPS: usize = 16;
const MAX_WINDOW_MS: i64 = 4 * 60 * MINUTE_MS;
const DEPLOYMENTS: [&str; 2] = ["web", "api"];

/// One thing that happens at the current time of the sequence.
#[derive(Debug, Arbitrary)]
pub enum Op {
    /// Time moves on by 1 to 64 minutes.
    Advance(u8),
    /// A deployment's replica count changes (up: arrivals; down: deletions).
    Scale { deployment: bool, replicas: u8 },
    /// Pods arrive: Job-owned (evictable) or bare, running for a while or until the end.
    Pods {
        count: u8,
        cpu: u8,
        mem: u8,
        bare: bool,
        minutes: Option<u8>,
    },
    /// A cloud fault window opens now for 1 to 64 minutes.
    Fault {
        kind: u8,
        minutes: u8,
        probability: u8,
    },
    /// The controller restarts and loses its in-memory state.
    Restart,
}

#[derive(Debug, Arbitrary)]
pub struct Input {
    seed: u64,
    initial_nodes: u8,
    ops: Vec<Op>,
}

/// Fault kinds a sequence may open.
const KINDS: [FaultKind; 7] = [
    FaultKind::ServerErrors,
    FaultKind::RateLimited,
    FaultKind::LostAdds,
    FaultKind::LateAdds,
    FaultKind::FailedDeletes,
    FaultKind::StockOut,
    FaultKind::NodeDeath,
];

fn secs(ms: i64) -> String {
    format!("{}s", ms / 1000)
}

/// The scenario, the trouble plan and the base duration an input describes.
pub fn build(input: &Input) -> (Value, FaultPlan) {
    let mut now = 0i64;
    let mut replicas: [Vec<(i64, u8)>; 2] = [vec![(0, 2)], vec![(0, 1)]];
    let mut pods = Vec::new();
    let mut plan = FaultPlan::default();
    for (i, op) in input.ops.iter().take(MAX_OPS).enumerate() {
        match op {
            Op::Advance(m) => now = (now + (1 + i64::from(m % 64)) * MINUTE_MS).min(MAX_WINDOW_MS),
            Op::Scale {
                deployment,
                replicas: n,
            } => {
                let steps = &mut replicas[usize::from(*deployment)];
                let n = n % 9;
                match steps.last_mut() {
                    Some(last) if last.0 == now => last.1 = n,
                    _ => steps.push((now, n)),
                }
            }
            Op::Pods {
                count,
                cpu,
                mem,
                bare,
                minutes,
            } => {
                let mut p = json!({
                    "name": format!("p{i}"),
                    "at": secs(now),
                    "count": 1 + count % 6,
                    "requests": {"cpu": format!("{}m", 100 * (1 + u32::from(cpu % 30))),
                                 "memory": format!("{}Mi", 128 * (1 + u32::from(mem % 40)))},
                });
                if !bare {
                    p["ownerKind"] = json!("Job");
                }
                if let Some(m) = minutes {
                    p["duration"] = json!(secs((1 + i64::from(m % 90)) * MINUTE_MS));
                }
                pods.push(p);
            }
            Op::Fault {
                kind,
                minutes,
                probability,
            } => {
                let kind = KINDS[usize::from(*kind) % KINDS.len()];
                let until = now + (1 + i64::from(minutes % 64)) * MINUTE_MS;
                plan.faults.push(Fault {
                    at: SimDuration(now),
                    until: Some(SimDuration(until)),
                    kind,
                    probability: f64::from(1 + probability % 10) / 10.0,
                    size: (kind == FaultKind::StockOut).then(|| "K8S-2C-4G".to_string()),
                    count: 1,
                    delay: (kind == FaultKind::LateAdds)
                        .then(|| SimDuration((1 + i64::from(minutes % 30)) * MINUTE_MS)),
                });
            }
            Op::Restart => {
                if now > 0 {
                    plan.restarts.push(now);
                }
            }
        }
    }
    // The base run lasts until a little after the last operation.
    let window_end = (now + 10 * MINUTE_MS).min(MAX_WINDOW_MS);
    for f in &mut plan.faults {
        let until = f.until.map_or(window_end, |u| u.ms()).min(window_end);
        f.until = Some(SimDuration(until.max(f.at.ms())));
    }
    plan.faults.retain(|f| f.at.ms() < window_end);
    plan.restarts.retain(|t| *t < window_end);
    plan.restarts.sort_unstable();
    let deployments: Vec<Value> = DEPLOYMENTS
        .iter()
        .zip(&replicas)
        .map(|(name, steps)| {
            let steps: Vec<Value> = steps
                .iter()
                .map(|(at, n)| json!({"at": secs(*at), "replicas": n}))
                .collect();
            let mut d = json!({"name": name, "template": name, "replicas": steps});
            if *name == "web" {
                d["pdb"] = json!({"maxUnavailable": 1});
            }
            d
        })
        .collect();
    let scenario = json!({
        "version": 1,
        "name": "fuzz-ops",
        "seed": input.seed,
        "duration": secs(window_end),
        "cluster": {
            "nodeGroups": [{"name": "general", "size": "K8S-2C-4G", "min": 1, "max": 4}],
            "initialNodes": {"general": 1 + input.initial_nodes % 3},
            "systemReserved": {"cpu": "100m", "memory": "256Mi"},
        },
        "workload": {
            "templates": {
                "web": {"requests": {"cpu": "500m", "memory": "512Mi"}, "labels": {"app": "web"}},
                "api": {"requests": {"cpu": "300m", "memory": "256Mi"}, "labels": {"app": "api"}},
            },
            "deployments": deployments,
            "pods": pods,
        },
    });
    (scenario, plan)
}

/// Runs the target on fuzzer bytes: builds the scenario, runs it under the sequence's faults
/// and restarts plus the settle period, and checks the chaos invariants.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(input) = Input::arbitrary(&mut u) else {
        return;
    };
    let (scenario, plan) = build(&input);
    let text = scenario.to_string();
    let base = match parse_str(&text, "fuzz-ops.json", std::path::PathBuf::new()) {
        Ok(base) => base,
        Err(e) => panic!("the generated scenario is invalid: {e}\n{text}"),
    };
    let (_, end) = match run_plan(&base, input.seed, &plan) {
        Ok(done) => done,
        Err(e) => panic!("the generated scenario does not run: {e}\n{text}"),
    };
    let violations = check(&end);
    if !violations.is_empty() {
        let lines: Vec<String> = violations.iter().map(ToString::to_string).collect();
        panic!(
            "invariants broken after settling:\n{}\nscenario: {text}\nplan: {plan:?}",
            lines.join("\n")
        );
    }
}
