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
    while bins.len() > target && bins.len() >= 2 && !work.exhausted() && failures < max_failures {
        let chosen = choose(inst, &bins, failures, rng);
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
fn choose(inst: &Instance, bins: &[BinLoad], failures: u32, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut by_fill: Vec<usize> = (0..bins.len()).collect();
    by_fill.sort_by(|&a, &b| bins[a].fill.total_cmp(&bins[b].fill).then(a.cmp(&b)));
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
    let mut search = Completion {
        inst,
        avail: pool.to_vec(),
        spare,
        bins: Vec::new(),
        steps: 0,
        limit,
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
        // Close only a maximal bin whose waste the spare capacity covers.
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
