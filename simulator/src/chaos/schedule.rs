//! Random fault schedules: cloud faults as scenario fault windows, plus controller restarts,
//! all drawn from one seeded ChaCha8 generator inside the base scenario's duration.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::des::{MINUTE, SimTime};
use crate::scenario::{Fault, FaultKind, Scenario, SimDuration, effective_sizes};

/// Kinds of injected trouble, for the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChaosKind {
    Cloud(FaultKind),
    /// The controller restarts and loses its in-memory state.
    Restart,
}

impl ChaosKind {
    /// Every kind, in label order of the summary.
    pub const ALL: [ChaosKind; 8] = [
        ChaosKind::Cloud(FaultKind::ServerErrors),
        ChaosKind::Cloud(FaultKind::RateLimited),
        ChaosKind::Cloud(FaultKind::LostAdds),
        ChaosKind::Cloud(FaultKind::LateAdds),
        ChaosKind::Cloud(FaultKind::FailedDeletes),
        ChaosKind::Cloud(FaultKind::StockOut),
        ChaosKind::Cloud(FaultKind::NodeDeath),
        ChaosKind::Restart,
    ];

    /// The kind a label names.
    pub fn from_label(label: &str) -> Option<ChaosKind> {
        Self::ALL.into_iter().find(|k| k.label() == label)
    }

    pub fn label(self) -> &'static str {
        match self {
            ChaosKind::Cloud(FaultKind::ServerErrors) => "api-5xx",
            ChaosKind::Cloud(FaultKind::RateLimited) => "api-429",
            ChaosKind::Cloud(FaultKind::LostAdds) => "lost-adds",
            ChaosKind::Cloud(FaultKind::LateAdds) => "late-adds",
            ChaosKind::Cloud(FaultKind::FailedDeletes) => "failed-deletes",
            ChaosKind::Cloud(FaultKind::StockOut) => "stock-out",
            ChaosKind::Cloud(FaultKind::NodeDeath) => "node-death",
            ChaosKind::Restart => "restart",
        }
    }
}

const CLOUD_KINDS: [FaultKind; 7] = [
    FaultKind::ServerErrors,
    FaultKind::RateLimited,
    FaultKind::LostAdds,
    FaultKind::LateAdds,
    FaultKind::FailedDeletes,
    FaultKind::StockOut,
    FaultKind::NodeDeath,
];

/// One run's trouble: fault windows (all ending by `window_end`) and restart times.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultPlan {
    pub faults: Vec<Fault>,
    pub restarts: Vec<SimTime>,
}

impl FaultPlan {
    /// The kind of every fault and restart scheduled.
    pub fn kinds(&self) -> Vec<ChaosKind> {
        let mut k: Vec<ChaosKind> = self
            .faults
            .iter()
            .map(|f| ChaosKind::Cloud(f.kind))
            .collect();
        k.extend(self.restarts.iter().map(|_| ChaosKind::Restart));
        k
    }
}

fn dur(ms: SimTime) -> SimDuration {
    SimDuration(ms)
}

/// Draws a schedule of 1 to 6 faults and 0 to 3 restarts inside `[0, window_end)`.
pub fn generate(
    rng: &mut ChaCha8Rng,
    base: &Scenario,
    window_end: SimTime,
    without: &[ChaosKind],
) -> FaultPlan {
    let window_end = window_end.max(MINUTE);
    let sizes: Vec<String> = {
        let mut used: Vec<String> = base
            .cluster
            .node_groups
            .iter()
            .map(|g| g.size.clone())
            .collect();
        if used.is_empty() {
            used = effective_sizes(base).into_iter().map(|z| z.name).collect();
        }
        used
    };
    let mut plan = FaultPlan::default();
    let n = rng.random_range(1..=6u32);
    for _ in 0..n {
        let kind = CLOUD_KINDS[rng.random_range(0..CLOUD_KINDS.len())];
        if without.contains(&ChaosKind::Cloud(kind)) {
            continue;
        }
        let at = rng.random_range(0..window_end);
        let until = rng.random_range(at + 1..=window_end);
        let probability = f64::from(rng.random_range(1..=10u32)) / 10.0;
        let mut fault = Fault {
            at: dur(at),
            until: Some(dur(until)),
            kind,
            probability,
            size: None,
            count: 1,
            delay: None,
        };
        match kind {
            FaultKind::StockOut => {
                fault.size = Some(sizes[rng.random_range(0..sizes.len())].clone());
            }
            FaultKind::LateAdds => {
                fault.delay = Some(dur(rng.random_range(1..=30) * MINUTE));
            }
            FaultKind::NodeDeath => {
                let interval = rng.random_range(2..=20) * MINUTE;
                let room = ((window_end - at) / interval).max(1);
                fault.count = rng.random_range(1..=room.min(3)) as u32;
                fault.delay = Some(dur(interval));
                fault.probability = 1.0;
            }
            _ => {}
        }
        plan.faults.push(fault);
    }
    let mut restarts = rng.random_range(0..=3u32);
    if without.contains(&ChaosKind::Restart) {
        restarts = 0;
    }
    for _ in 0..restarts {
        plan.restarts.push(rng.random_range(1..window_end));
    }
    plan.restarts.sort_unstable();
    plan
}
