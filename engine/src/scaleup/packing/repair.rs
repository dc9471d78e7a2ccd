//! Ruin and recreate with an exact sub-solver: take the lightest bins plus a few random others,
//! and search for a packing of their items into one bin fewer.
//!
//! This reaches packings the fill-increasing local search cannot: when every other bin is
//! exactly full (triplet instances), no bin can get fuller, so the items of the last bins can
//! only be placed by re-partitioning them together with some full bins. The sub-solver is a
//! bounded bin-completion search (Korf 2002): bins are built one at a time around the largest
//! remaining item, only maximal bins are closed (a bin some remaining item still fits in is
//! dominated), and the total waste may not exceed the pool's spare capacity in any dimension.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::instance::{BinLoad, Instance, Work};

/// Steps one sub-problem search may take.
const STEPS_PER_ATTEMPT: u64 = 20_000;
/// Most lightest bins taken into one sub-problem.
const MAX_LIGHT_BINS: usize = 8;

/// Tries to remove bins from `start` until the lower bound, the budget, or `max_failures`
/// consecutive failed attempts.
pub(crate) fn reduce(
    inst: &Instance,
    start: Vec<BinLoad>,
    work: &mut Work,
    rng: &mut ChaCha8Rng,
    max_failures: u32,
) -> Vec<BinLoad> {
    let target = usize::try_from(inst.lower_bound).unwrap_or(usize::MAX);
    let mut bins = start;
    let mut failures = 0u32;
    // Bins by fill, lightest first; they only change when an attempt succeeds.
    let mut by_fill: Option<Vec<usize>> = None;
    while bins.len() > target && bins.len() >= 2 && !work.exhausted() && failures < max_failures {
        let order = by_fill.get_or_insert_with(|| {
            let mut order: Vec<usize> = (0..bins.len()).collect();
            order.sort_by(|&a, &b| bins[a].fill.total_cmp(&bins[b].fill).then(a.cmp(&b)));
            order
        });
        let chosen = choose(inst, &bins, order, failures, rng);
        let mut pool = vec![0u32; inst.types.len()];
        for &i in &chosen {
            for &(ty, k) in &bins[i].items {
                pool[ty] += k;
            }
        }
        let m = chosen.len() - 1;
        let limit = STEPS_PER_ATTEMPT.min(work.left()).max(1);
        match solve_into(inst, &pool, m, limit) {
            (Some(new_bins), steps) => {
                work.spend(steps);
                for &i in chosen.iter().rev() {
                    bins.remove(i);
                }
                bins.extend(new_bins);
                by_fill = None;
                failures = 0;
            }
            (None, steps) => {
                work.spend(steps.max(1));
                failures += 1;
            }
        }
    }
    bins
}

/// Indices (ascending) of the bins to re-pack: the fewest lightest bins whose items could fill
/// one bin fewer by volume (at least two, sometimes one more), plus 1 to 8 random others (more
/// after repeated failures).
fn choose(
    inst: &Instance,
    bins: &[BinLoad],
    by_fill: &[usize],
    failures: u32,
    rng: &mut ChaCha8Rng,
) -> Vec<usize> {
    let mut light = 2.min(bins.len());
    let mut used: Vec<i64> = vec![0; inst.capacity.len()];
    for (r, &i) in by_fill.iter().enumerate() {
        for ((u, c), res) in used.iter_mut().zip(&inst.capacity).zip(&bins[i].residual) {
            *u += c - res;
        }
        let fits_one_fewer = used
            .iter()
            .zip(&inst.capacity)
            .all(|(u, c)| *u <= c * r as i64);
        if r + 1 >= light && fits_one_fewer {
            light = r + 1;
            break;
        }
        if r + 1 >= MAX_LIGHT_BINS {
            light = r + 1;
            break;
        }
    }
    if failures % 3 == 2 {
        light = (light + 1).min(bins.len());
    }
    let mut chosen: Vec<usize> = by_fill[..light].to_vec();
    let extra = (1 + (failures / 8) % 8) as usize;
    let want = (light + extra).min(bins.len());
    let mut guard = 0;
    while chosen.len() < want && light < bins.len() && guard < 256 {
        guard += 1;
        let pick = by_fill[rng.random_range(light..bins.len())];
        if !chosen.contains(&pick) {
            chosen.push(pick);
        }
    }
    chosen.sort_unstable();
    chosen
}

/// Packs `pool` (counts per type) into at most `m` bins, or `None` within `limit` steps.
/// Also returns the steps spent.
pub(crate) fn solve_into(
    inst: &Instance,
    pool: &[u32],
    m: usize,
    limit: u64,
) -> (Option<Vec<BinLoad>>, u64) {
    // Spare capacity of `m` bins over the pool's volume, per dimension.
    let mut spare: Vec<i64> = inst.capacity.iter().map(|c| c * m as i64).collect();
    for (ty, &k) in pool.iter().enumerate() {
        for (s, size) in spare.iter_mut().zip(&inst.types[ty].size) {
            *s -= size * i64::from(k);
        }
    }
    if spare.iter().any(|s| *s < 0) {
        return (None, 1);
    }
    // Smallest positive size per dimension over the pool's types, and whether every type has
    // a positive size there (then a bin with less than twice that left takes one more item at
    // most).
    let dims = inst.capacity.len();
    let mut min_size = vec![i64::MAX; dims];
    let mut all_positive = vec![true; dims];
    for (ty, _) in pool.iter().enumerate().filter(|(_, k)| **k > 0) {
        for (d, &x) in inst.types[ty].size.iter().enumerate() {
            if x > 0 {
                min_size[d] = min_size[d].min(x);
            } else {
                all_positive[d] = false;
            }
        }
    }
    let mut search = Completion {
        inst,
        avail: pool.to_vec(),
        spare,
        bins: Vec::new(),
        steps: 0,
        limit,
        min_size,
        all_positive,
    };
    let found = search.next_bin(m);
    let steps = search.steps;
    (found.then_some(search.bins), steps)
}

struct Completion<'a> {
    inst: &'a Instance,
    avail: Vec<u32>,
    spare: Vec<i64>,
    bins: Vec<BinLoad>,
    steps: u64,
    limit: u64,
    /// See `solve_into`: per dimension, the pool's smallest positive size.
    min_size: Vec<i64>,
    /// Per dimension, whether every type of the pool has a positive size.
    all_positive: Vec<bool>,
}

impl Completion<'_> {
    fn out_of_steps(&mut self) -> bool {
        self.steps += 1;
        self.steps > self.limit
    }

    /// Opens a bin around the largest remaining item and completes it.
    fn next_bin(&mut self, bins_left: usize) -> bool {
        let Some(seed) = self.avail.iter().position(|&a| a > 0) else {
            return true;
        };
        if bins_left == 0 || self.out_of_steps() {
            return false;
        }
        let mut bin = self.inst.empty_bin();
        bin.add(self.inst, seed, 1);
        self.avail[seed] -= 1;
        let ok = self.complete(&mut bin, seed, bins_left);
        self.avail[seed] += 1;
        ok
    }

    /// Adds items of types `from..` to `bin` (larger and more first); closes it when maximal.
    fn complete(&mut self, bin: &mut BinLoad, from: usize, bins_left: usize) -> bool {
        if self.out_of_steps() {
            return false;
        }
        if let Some(d) = self.last_item_dimension(bin) {
            return self.complete_with_one(bin, from, bins_left, d);
        }
        for ty in from..self.inst.types.len() {
            let max = bin.room_for(self.inst, ty, self.avail[ty]);
            for k in (1..=max).rev() {
                bin.add(self.inst, ty, k);
                self.avail[ty] -= k;
                let ok = self.complete(bin, ty + 1, bins_left);
                self.avail[ty] += k;
                bin.remove(self.inst, ty, k);
                if ok {
                    return true;
                }
                if self.steps > self.limit {
                    return false;
                }
            }
        }
        self.close(bin, bins_left)
    }

    /// A dimension whose waste must still shrink but where one more item at most fits: every
    /// item of the pool uses at least `min_size` of it and less than twice that is left.
    fn last_item_dimension(&self, bin: &BinLoad) -> Option<usize> {
        (0..bin.residual.len()).find(|&d| {
            let r = bin.residual[d];
            r > self.spare[d] && self.all_positive[d] && r < self.min_size[d].saturating_mul(2)
        })
    }

    /// `complete` when at most one more item fits (see `last_item_dimension`): close the bin
    /// with each single item that leaves an affordable waste (for a bin that must be exactly
    /// full, the one type of exactly the residual size), or as it is.
    fn complete_with_one(
        &mut self,
        bin: &mut BinLoad,
        from: usize,
        bins_left: usize,
        d: usize,
    ) -> bool {
        let exact_only = self.spare.iter().all(|&s| s == 0);
        let candidates: Vec<usize> = if exact_only {
            let residual = bin.residual.clone();
            self.inst
                .by_size
                .get(&residual)
                .map(|tys| {
                    tys.iter()
                        .copied()
                        .filter(|&ty| {
                            ty >= from && self.avail[ty] > 0 && bin.room_for(self.inst, ty, 1) > 0
                        })
                        .take(1)
                        .collect()
                })
                .unwrap_or_default()
        } else {
            (from..self.inst.types.len())
                .filter(|&ty| {
                    let size = &self.inst.types[ty].size;
                    self.avail[ty] > 0
                        && size[d] > 0
                        && bin.room_for(self.inst, ty, 1) > 0
                        && bin
                            .residual
                            .iter()
                            .zip(size)
                            .zip(&self.spare)
                            .all(|((r, x), s)| r - x <= *s)
                })
                .collect()
        };
        for ty in candidates {
            bin.add(self.inst, ty, 1);
            self.avail[ty] -= 1;
            let ok = self.close(bin, bins_left);
            self.avail[ty] += 1;
            bin.remove(self.inst, ty, 1);
            if ok {
                return true;
            }
            if self.out_of_steps() {
                return false;
            }
        }
        // Waste in `d` exceeds the spare, so the bin cannot close as it is.
        false
    }

    /// Closes `bin` if it is maximal and its waste fits the spare capacity, then goes on with
    /// the next bin; undoes the close when that fails.
    fn close(&mut self, bin: &mut BinLoad, bins_left: usize) -> bool {
        let maximal = (0..self.inst.types.len())
            .all(|ty| self.avail[ty] == 0 || bin.room_for(self.inst, ty, 1) == 0);
        let affordable = bin.residual.iter().zip(&self.spare).all(|(r, s)| r <= s);
        if !maximal || !affordable {
            return false;
        }
        for (s, r) in self.spare.iter_mut().zip(&bin.residual) {
            *s -= r;
        }
        self.bins.push(bin.clone());
        if self.next_bin(bins_left - 1) {
            return true;
        }
        self.bins.pop();
        for (s, r) in self.spare.iter_mut().zip(&bin.residual) {
            *s += r;
        }
        false
    }
}
