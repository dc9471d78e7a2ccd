//! Vector bin packing of item classes onto identical bins (new nodes of one size).
//!
//! The input is a bin capacity vector (cpu, memory, ephemeral storage, pod slots, extended
//! resources, in any fixed order) and item classes: a size vector, a multiplicity and a stable
//! id. [`ffd`] is first-fit-decreasing, the baseline Cluster Autoscaler and Karpenter use (items
//! sorted by the sum of their sizes relative to the bin, each placed in the first bin it fits).
//! [`pack`] starts from it and improves within a work budget counted in steps: best-fit-decreasing,
//! minimum bin slack (fill one bin at a time with the subset of least slack), bin completion of
//! all items into lower-bound many bins (when that is at most a few hundred), then a local search
//! that empties lightly filled bins alternating with ruin and recreate. It stops as soon as the
//! bin count reaches the lower bound of [`crate::scaleup::bound`].
//!
//! Classes of equal size are merged and copies of one class are placed many at a time, so 50,000
//! identical items cost about as much as one item per bin. The result depends only on the set of
//! classes and the options, never on the order of `classes`.
//!
//! Constraints beyond resources: `max_per_bin` limits how many items of a class share a bin (a
//! pod with hostname anti-affinity to its own replicas has 1). Classes with other inter-pod
//! constraints must be placed by the caller's own placement checks instead.

mod construct;
mod instance;
mod local;
mod repair;

use instance::{BinLoad, Instance, Work};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Consecutive local-search attempts without a new best before switching to repair.
const LOCAL_SEARCH_PATIENCE: u32 = 60;
/// Consecutive failed repair attempts before switching back.
const REPAIR_PATIENCE: u32 = 3_000;

/// Most bins the bin completion over all items aims at (its recursion depth grows with them).
const WHOLE_COMPLETION_MAX_BINS: usize = 256;

/// Stable identifier of an item class, chosen by the caller.
pub type ClassId = u32;

/// Work budget of [`PackOptions::default`], in steps (one step is about one fit check).
pub const DEFAULT_WORK_BUDGET: u64 = 2_000_000;

/// Identical items: one size vector, how many, and an optional per-bin limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemClass {
    pub id: ClassId,
    /// One amount per dimension of the bin capacity, all non-negative.
    pub size: Vec<i64>,
    pub count: u32,
    /// At most this many items of this class in one bin.
    pub max_per_bin: Option<u32>,
}

impl ItemClass {
    pub fn new(id: ClassId, size: Vec<i64>, count: u32) -> Self {
        Self {
            id,
            size,
            count,
            max_per_bin: None,
        }
    }
}

/// Items to pack into identical bins of `capacity`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PackProblem {
    pub capacity: Vec<i64>,
    pub classes: Vec<ItemClass>,
}

/// How hard [`pack`] may work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackOptions {
    /// Steps the improvement phase may spend (first-fit-decreasing itself is not limited).
    pub work_budget: u64,
    /// Seed of the local search's ChaCha8 generator.
    pub seed: u64,
}

impl Default for PackOptions {
    fn default() -> Self {
        Self {
            work_budget: DEFAULT_WORK_BUDGET,
            seed: 0,
        }
    }
}

/// Input that is not a packing problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackError {
    #[error("item class {class}: size has {found} dimensions but the bin has {expected}")]
    DimensionMismatch {
        class: ClassId,
        expected: usize,
        found: usize,
    },
    #[error("item class {class}: negative size {value} in dimension {dimension}")]
    NegativeSize {
        class: ClassId,
        dimension: usize,
        value: i64,
    },
    #[error("bin capacity is negative ({value}) in dimension {dimension}")]
    NegativeCapacity { dimension: usize, value: i64 },
    #[error("item class {class} appears more than once")]
    DuplicateClass { class: ClassId },
}

/// Which heuristic produced the kept packing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Method {
    FirstFitDecreasing,
    BestFitDecreasing,
    MinimumBinSlack,
    /// Bin completion over all items into as many bins as the lower bound.
    BinCompletion,
    LocalSearch,
}

impl Method {
    /// Stable snake_case name.
    pub fn code(self) -> &'static str {
        match self {
            Self::FirstFitDecreasing => "first_fit_decreasing",
            Self::BestFitDecreasing => "best_fit_decreasing",
            Self::MinimumBinSlack => "minimum_bin_slack",
            Self::BinCompletion => "bin_completion",
            Self::LocalSearch => "local_search",
        }
    }
}

/// One bin: how many items of each class it holds, sorted by class id.
#[derive(Debug, Clone, PartialEq, Eq, Default, PartialOrd, Ord)]
pub struct Bin {
    pub items: Vec<(ClassId, u32)>,
}

impl Bin {
    pub fn item_count(&self) -> u64 {
        self.items.iter().map(|(_, c)| u64::from(*c)).sum()
    }
}

/// The result of packing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packing {
    /// Bins in a canonical order (fullest first).
    pub bins: Vec<Bin>,
    /// Items that fit in no bin (larger than the capacity in some dimension, or a per-bin limit
    /// of zero), by class id.
    pub unplaceable: Vec<(ClassId, u32)>,
    /// No packing of the placeable items uses fewer bins.
    pub lower_bound: u64,
    /// Bins first-fit-decreasing needs, for comparison.
    pub ffd_bins: u64,
    /// Steps spent, first-fit-decreasing included.
    pub work_used: u64,
    pub method: Method,
}

impl Packing {
    pub fn bin_count(&self) -> u64 {
        self.bins.len() as u64
    }
}

/// First-fit-decreasing alone: the baseline to quote.
pub fn ffd(problem: &PackProblem) -> Result<Packing, PackError> {
    let inst = Instance::build(problem)?;
    let mut work = Work { used: 0, budget: 0 };
    let order: Vec<usize> = (0..inst.types.len()).collect();
    let bins = construct::first_fit_decreasing(&inst, &order, &mut work);
    let ffd_bins = bins.len() as u64;
    Ok(finish(
        &inst,
        bins,
        ffd_bins,
        work.used,
        Method::FirstFitDecreasing,
    ))
}

/// First-fit-decreasing, then improvement within `options.work_budget` steps.
pub fn pack(problem: &PackProblem, options: &PackOptions) -> Result<Packing, PackError> {
    let inst = Instance::build(problem)?;
    let mut work = Work {
        used: 0,
        budget: options.work_budget,
    };
    let target = usize::try_from(inst.lower_bound).unwrap_or(usize::MAX);
    let order: Vec<usize> = (0..inst.types.len()).collect();
    let mut best = construct::first_fit_decreasing(&inst, &order, &mut work);
    let ffd_bins = best.len() as u64;
    let mut method = Method::FirstFitDecreasing;
    let consider = |bins: Vec<BinLoad>, m: Method, best: &mut Vec<BinLoad>, method: &mut Method| {
        if bins.len() < best.len() {
            *best = bins;
            *method = m;
        }
    };
    if best.len() > target && !work.exhausted() {
        let bins = construct::best_fit_decreasing(&inst, &order, &mut work);
        consider(bins, Method::BestFitDecreasing, &mut best, &mut method);
    }
    if best.len() > target && !work.exhausted() {
        // A quarter of the budget for the bin-by-bin searches, spread over the bins expected.
        let per_bin = (work.left() / 4 / inst.lower_bound.max(1)).clamp(64, 200_000);
        let bins = construct::minimum_bin_slack(&inst, &order, per_bin, &mut work);
        consider(bins, Method::MinimumBinSlack, &mut best, &mut method);
    }
    if best.len() > target && target <= WHOLE_COMPLETION_MAX_BINS && !work.exhausted() {
        // Bin completion over every item into lower-bound many bins: when the bound is tight
        // and bins must be (nearly) exactly full, as in triplet instances, building them around
        // exact completions finds what improving a heuristic packing misses.
        let all: Vec<u32> = inst.types.iter().map(|t| t.count).collect();
        let limit = (work.left() / 4).max(1);
        let (found, steps) = repair::solve_into(&inst, &all, target, limit);
        work.spend(steps.max(1));
        if let Some(bins) = found {
            consider(bins, Method::BinCompletion, &mut best, &mut method);
        }
    }
    // Alternate the two improvement searches while either makes progress.
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let mut stale_rounds = 0;
    while best.len() > target && !work.exhausted() && stale_rounds < 2 {
        let before = best.len();
        best = local::improve(&inst, best, &mut work, &mut rng, LOCAL_SEARCH_PATIENCE);
        best = repair::reduce(&inst, best, &mut work, &mut rng, REPAIR_PATIENCE);
        if best.len() < before {
            method = Method::LocalSearch;
            stale_rounds = 0;
        } else {
            stale_rounds += 1;
        }
    }
    Ok(finish(&inst, best, ffd_bins, work.used, method))
}

/// Orders bins canonically and hands each type's items out to its member classes by id.
fn finish(
    inst: &Instance,
    mut bins: Vec<BinLoad>,
    ffd_bins: u64,
    work_used: u64,
    method: Method,
) -> Packing {
    bins.sort_by(|a, b| {
        b.fill
            .total_cmp(&a.fill)
            .then_with(|| a.items.cmp(&b.items))
    });
    // Per type: the next member class and how many of its items are still unassigned.
    let mut cursor: Vec<(usize, u32)> = inst
        .types
        .iter()
        .map(|t| (0, t.members.first().map_or(0, |m| m.1)))
        .collect();
    let out = bins
        .iter()
        .map(|bin| {
            let mut items: Vec<(ClassId, u32)> = Vec::new();
            for &(ty, mut k) in &bin.items {
                let members = &inst.types[ty].members;
                let (ref mut index, ref mut left) = cursor[ty];
                while k > 0 && *index < members.len() {
                    let take = k.min(*left);
                    if take > 0 {
                        items.push((members[*index].0, take));
                        k -= take;
                        *left -= take;
                    }
                    if *left == 0 {
                        *index += 1;
                        *left = members.get(*index).map_or(0, |m| m.1);
                    }
                }
            }
            items.sort_unstable();
            Bin { items }
        })
        .collect();
    Packing {
        bins: out,
        unplaceable: inst.unplaceable.clone(),
        lower_bound: inst.lower_bound,
        ffd_bins,
        work_used,
        method,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_d(capacity: i64, sizes: &[i64]) -> PackProblem {
        PackProblem {
            capacity: vec![capacity],
            classes: sizes
                .iter()
                .enumerate()
                .map(|(i, s)| ItemClass::new(i as ClassId, vec![*s], 1))
                .collect(),
        }
    }

    #[test]
    fn identical_items_fill_bins_many_at_a_time() {
        let problem = PackProblem {
            capacity: vec![4000, 8 << 30, 110],
            classes: vec![ItemClass::new(7, vec![250, 512 << 20, 1], 50_000)],
        };
        let p = pack(&problem, &PackOptions::default()).unwrap();
        assert_eq!(p.bin_count(), 50_000u64.div_ceil(16));
        assert_eq!(p.lower_bound, p.bin_count());
        assert!(p.work_used < 10_000, "work {}", p.work_used);
        assert_eq!(p.bins[0].items, vec![(7, 16)]);
    }

    #[test]
    fn minimum_bin_slack_finds_exact_triples_ffd_misses() {
        // Bins of 100: {45,30,25} {40,35,25} {50,30,20}; FFD pairs 50+45 and wastes space.
        let p = one_d(100, &[45, 30, 25, 40, 35, 25, 50, 30, 20]);
        let f = ffd(&p).unwrap();
        let r = pack(&p, &PackOptions::default()).unwrap();
        assert_eq!(r.bin_count(), 3);
        assert!(f.bin_count() >= r.bin_count());
    }

    #[test]
    fn unplaceable_items_are_reported_not_packed() {
        let mut p = one_d(10, &[4, 11, 6]);
        p.classes[0].max_per_bin = Some(0);
        let r = pack(&p, &PackOptions::default()).unwrap();
        assert_eq!(r.unplaceable, vec![(0, 1), (1, 1)]);
        assert_eq!(r.bin_count(), 1);
    }

    #[test]
    fn per_bin_limit_spreads_items() {
        let mut p = one_d(100, &[1]);
        p.classes[0].count = 5;
        p.classes[0].max_per_bin = Some(2);
        let r = pack(&p, &PackOptions::default()).unwrap();
        assert_eq!(r.bin_count(), 3);
        assert_eq!(r.lower_bound, 3);
    }

    #[test]
    fn bad_input_is_an_error() {
        let p = PackProblem {
            capacity: vec![10, 10],
            classes: vec![ItemClass::new(1, vec![1], 1)],
        };
        assert!(matches!(
            pack(&p, &PackOptions::default()),
            Err(PackError::DimensionMismatch { class: 1, .. })
        ));
        let p = PackProblem {
            capacity: vec![10],
            classes: vec![ItemClass::new(1, vec![-1], 1)],
        };
        assert!(
            pack(&p, &PackOptions::default())
                .unwrap_err()
                .to_string()
                .contains("negative size")
        );
    }
}
