//! Construction heuristics working on whole item types: first-fit-decreasing, best-fit-decreasing
//! and minimum-bin-slack (fill one bin at a time with the subset that leaves least slack).
//!
//! Copies of one type go into a bin all at once (`room_for`), which is exactly what placing them
//! one by one would do, so 50,000 identical items cost one step per bin they touch.

use std::collections::BTreeSet;
use std::ops::Bound;

use super::instance::{BinLoad, Instance, Work};

/// First-fit-decreasing over `order` (type indices, largest first).
pub(crate) fn first_fit_decreasing(
    inst: &Instance,
    order: &[usize],
    work: &mut Work,
) -> Vec<BinLoad> {
    let mut bins: Vec<BinLoad> = Vec::new();
    for &ty in order {
        let mut left = inst.types[ty].count;
        for bin in bins.iter_mut() {
            if left == 0 {
                break;
            }
            work.spend(1);
            let k = bin.room_for(inst, ty, left);
            bin.add(inst, ty, k);
            left -= k;
        }
        while left > 0 {
            work.spend(1);
            let mut bin = inst.empty_bin();
            let k = bin.room_for(inst, ty, left);
            if k == 0 {
                // Cannot happen for placeable types; stop rather than loop.
                break;
            }
            bin.add(inst, ty, k);
            left -= k;
            bins.push(bin);
        }
    }
    bins
}

/// Best-fit-decreasing: each item goes to the feasible bin with the least slack.
///
/// Bins are indexed by (slack, index). A bin with less slack than an item's weight cannot hold
/// it (the slack is the same weighted sum of the residual as the weight is of the size), so the
/// search starts at the item's weight and stops at the first feasible bin: the least slack,
/// ties by lowest index, exactly what a scan over all bins finds, without visiting full bins.
pub(crate) fn best_fit_decreasing(
    inst: &Instance,
    order: &[usize],
    work: &mut Work,
) -> Vec<BinLoad> {
    let mut bins: Vec<BinLoad> = Vec::new();
    let mut by_slack: BTreeSet<(u64, usize)> = BTreeSet::new();
    for &ty in order {
        let mut left = inst.types[ty].count;
        // Weights and slacks are non-negative, where the bit patterns order like the values;
        // a little below the weight, so float rounding never skips a feasible bin.
        let start_key = order_key(inst.types[ty].weight * (1.0 - 1e-9));
        // The bins from the start key up to `resume` cannot take this type: each was found
        // unable, or was just filled with as many copies as fit, and bins only fill up. The
        // search for the next copy goes on after them instead of visiting them again, and
        // charges them as if it had (`skipped`), so the work spent, and everything the
        // budget decides later, stays what a scan from the start gives.
        let mut skipped: u64 = 0;
        let mut resume: Option<(u64, usize)> = None;
        let mut none_left = false;
        while left > 0 {
            work.spend(skipped);
            let mut best = None;
            if !none_left {
                let range = match resume {
                    None => by_slack.range((start_key, 0)..),
                    Some(r) => by_slack.range((Bound::Excluded(r), Bound::Unbounded)),
                };
                for &(key, i) in range {
                    work.spend(1);
                    if bins[i].room_for(inst, ty, 1) > 0 {
                        best = Some((key, i));
                        break;
                    }
                    skipped += 1;
                }
            }
            let i = match best {
                Some((key, i)) => {
                    by_slack.remove(&(key, i));
                    resume = Some((key, i));
                    i
                }
                None => {
                    none_left = true;
                    work.spend(1);
                    bins.push(inst.empty_bin());
                    bins.len() - 1
                }
            };
            // After adding, this bin only gets tighter, so best fit keeps choosing it.
            let k = bins[i].room_for(inst, ty, left);
            bins[i].add(inst, ty, k);
            let key = slack_key(inst, &bins[i]);
            by_slack.insert((key, i));
            // Its slack only went down: it lands below `resume`, among the bins skipped.
            if key >= start_key {
                skipped += 1;
            }
            if k == 0 {
                break;
            }
            left -= k;
        }
    }
    bins
}

/// A bin's slack as an ordered key.
fn slack_key(inst: &Instance, bin: &BinLoad) -> u64 {
    order_key(inst.slack(&bin.residual))
}

/// Positive floats order like their bit patterns; zero, negative zero and NaN map to 0.
fn order_key(x: f64) -> u64 {
    if x > 0.0 { x.to_bits() } else { 0 }
}

/// Minimum bin slack (Gupta and Ho 1999; the MBS' variant of Fleszar and Hindi 2002 that seeds
/// each bin with the largest remaining item): bins are filled one at a time with the subset of
/// remaining items of least slack, found by a depth-first search over types in decreasing order
/// that stops at an exactly full bin. Each search node also looks up whether one or two more
/// items complete the bin exactly, which finds exact triples in `O(types)` per bin.
///
/// The search of one bin is limited to `per_bin_steps`; its first path is the greedy fill, so
/// an exhausted budget degrades to a next-fit-decreasing-like construction, never to failure.
pub(crate) fn minimum_bin_slack(
    inst: &Instance,
    order: &[usize],
    per_bin_steps: u64,
    work: &mut Work,
) -> Vec<BinLoad> {
    let mut avail: Vec<u32> = inst.types.iter().map(|t| t.count).collect();
    let mut bins = Vec::new();
    let mut position = 0usize; // first index of `order` that may still have items
    loop {
        while position < order.len() && avail[order[position]] == 0 {
            position += 1;
        }
        let Some(&seed) = order.get(position) else {
            break;
        };
        let mut bin = inst.empty_bin();
        bin.add(inst, seed, 1);
        avail[seed] -= 1;
        let mut search = SlackSearch {
            inst,
            order,
            avail: &mut avail,
            best_slack: inst.slack(&bin.residual),
            best: Vec::new(),
            picks: Vec::new(),
            steps_left: per_bin_steps.max(1),
            done: false,
        };
        search.dfs(position, &mut bin);
        let chosen = std::mem::take(&mut search.best);
        let used = per_bin_steps.max(1) - search.steps_left;
        work.spend(used.max(1));
        for (ty, k) in chosen {
            bin.add(inst, ty, k);
            avail[ty] -= k;
        }
        bins.push(bin);
    }
    bins
}

struct SlackSearch<'a> {
    inst: &'a Instance,
    order: &'a [usize],
    avail: &'a mut Vec<u32>,
    best_slack: f64,
    best: Vec<(usize, u32)>,
    picks: Vec<(usize, u32)>,
    steps_left: u64,
    done: bool,
}

impl SlackSearch<'_> {
    fn record(&mut self, slack: f64, extra: &[(usize, u32)]) {
        if slack < self.best_slack {
            self.best_slack = slack;
            self.best = self.picks.clone();
            self.best.extend_from_slice(extra);
        }
        if slack <= 0.0 {
            self.done = true;
        }
    }

    /// Available copies of `ty` that the bin can still take by its per-bin limit.
    fn usable(&self, bin: &BinLoad, ty: usize) -> u32 {
        let t = &self.inst.types[ty];
        self.avail[ty].min(t.per_bin.saturating_sub(bin.count_of(ty)))
    }

    /// A type of exactly `residual`'s size with a usable copy (other than `except`'s copy).
    fn exact(&self, bin: &BinLoad, residual: &[i64], except: Option<usize>) -> Option<usize> {
        let candidates = self.inst.by_size.get(residual)?;
        candidates.iter().copied().find(|&ty| {
            let need = if except == Some(ty) { 2 } else { 1 };
            self.usable(bin, ty) >= need
        })
    }

    fn dfs(&mut self, from: usize, bin: &mut BinLoad) {
        if self.done || self.steps_left == 0 {
            return;
        }
        self.steps_left -= 1;
        let slack = self.inst.slack(&bin.residual);
        self.record(slack, &[]);
        if self.done {
            return;
        }
        // One more item completing the bin exactly.
        let residual = bin.residual.clone();
        if let Some(ty) = self.exact(bin, &residual, None) {
            self.record(0.0, &[(ty, 1)]);
            return;
        }
        // Two more items completing it exactly.
        let mut rest = residual.clone();
        for idx in from..self.order.len() {
            let ty = self.order[idx];
            if self.usable(bin, ty) == 0 || bin.room_for(self.inst, ty, 1) == 0 {
                continue;
            }
            if self.steps_left == 0 {
                return;
            }
            self.steps_left -= 1;
            let size = &self.inst.types[ty].size;
            for ((r, base), s) in rest.iter_mut().zip(&residual).zip(size) {
                *r = base - s;
            }
            if let Some(other) = self.exact(bin, &rest, Some(ty)) {
                if other == ty {
                    self.record(0.0, &[(ty, 2)]);
                } else {
                    self.record(0.0, &[(ty, 1), (other, 1)]);
                }
                return;
            }
        }
        // Branch: the next type to add, and how many copies (most first).
        for idx in from..self.order.len() {
            let ty = self.order[idx];
            let max = bin.room_for(self.inst, ty, self.usable(bin, ty));
            if max == 0 {
                continue;
            }
            for k in (1..=max).rev() {
                bin.add(self.inst, ty, k);
                self.avail[ty] -= k;
                self.picks.push((ty, k));
                self.dfs(idx + 1, bin);
                self.picks.pop();
                self.avail[ty] += k;
                bin.remove(self.inst, ty, k);
                if self.done || self.steps_left == 0 {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::scaleup::packing::{ItemClass, PackProblem};

    /// Best fit by a scan from the item's weight on every copy: what `best_fit_decreasing`
    /// must match, bins and work alike.
    fn best_fit_by_rescanning(inst: &Instance, order: &[usize], work: &mut Work) -> Vec<BinLoad> {
        let mut bins: Vec<BinLoad> = Vec::new();
        let mut by_slack: BTreeSet<(u64, usize)> = BTreeSet::new();
        for &ty in order {
            let mut left = inst.types[ty].count;
            let start = order_key(inst.types[ty].weight * (1.0 - 1e-9));
            while left > 0 {
                let mut best = None;
                for &(_, i) in by_slack.range((start, 0)..) {
                    work.spend(1);
                    if bins[i].room_for(inst, ty, 1) > 0 {
                        best = Some(i);
                        break;
                    }
                }
                let i = match best {
                    Some(i) => {
                        by_slack.remove(&(slack_key(inst, &bins[i]), i));
                        i
                    }
                    None => {
                        work.spend(1);
                        bins.push(inst.empty_bin());
                        bins.len() - 1
                    }
                };
                let k = bins[i].room_for(inst, ty, left);
                bins[i].add(inst, ty, k);
                by_slack.insert((slack_key(inst, &bins[i]), i));
                if k == 0 {
                    break;
                }
                left -= k;
            }
        }
        bins
    }

    #[test]
    fn best_fit_skipping_full_bins_matches_a_rescan_and_its_work() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for case in 0..300 {
            let dims = 1 + case % 3;
            let capacity: Vec<i64> = (0..dims).map(|_| rng.random_range(10..60)).collect();
            let classes: Vec<ItemClass> = (0..rng.random_range(1..12u32))
                .map(|id| {
                    let size = capacity
                        .iter()
                        .map(|&c| rng.random_range(0..=c / 2 + 1))
                        .collect();
                    let mut class = ItemClass::new(id, size, rng.random_range(1..40));
                    if rng.random_range(0..4) == 0 {
                        class.max_per_bin = Some(rng.random_range(1..4));
                    }
                    class
                })
                .collect();
            let problem = PackProblem { capacity, classes };
            let Ok(inst) = Instance::build(&problem) else {
                continue;
            };
            let order: Vec<usize> = (0..inst.types.len()).collect();
            let mut fast_work = Work {
                used: 0,
                budget: u64::MAX,
            };
            let mut slow_work = fast_work.clone();
            let fast = best_fit_decreasing(&inst, &order, &mut fast_work);
            let slow = best_fit_by_rescanning(&inst, &order, &mut slow_work);
            let items = |bins: &[BinLoad]| bins.iter().map(|b| b.items.clone()).collect::<Vec<_>>();
            assert_eq!(items(&fast), items(&slow), "case {case}");
            assert_eq!(fast_work.used, slow_work.used, "case {case}");
        }
    }
}
