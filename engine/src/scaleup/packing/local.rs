//! Local search that tries to empty bins: free the items of a few lightly filled bins, let every
//! other bin swap up to two of its items for up to two free items whenever that makes it fuller
//! (the dominance idea of Martello and Toth as used by Levine and Ducatelle 2004: fuller bins
//! leave smaller, easier items outside), then put the free items back first-fit. A result is kept
//! when it needs fewer bins, or as many bins but fuller ones (larger sum of squared fills), which
//! moves free space into the bins that are emptied next.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::instance::{BinLoad, Instance, Work};

/// Gains below this are float noise, not progress.
const EPSILON: f64 = 1e-9;

/// Improves `start` until the lower bound, the budget, or `max_failures` consecutive attempts
/// without a new best.
pub(crate) fn improve(
    inst: &Instance,
    start: Vec<BinLoad>,
    work: &mut Work,
    rng: &mut ChaCha8Rng,
    max_failures: u32,
) -> Vec<BinLoad> {
    let target = usize::try_from(inst.lower_bound).unwrap_or(usize::MAX);
    let mut best = start;
    let mut best_score = squared_fill(&best);
    let mut failures = 0u32;
    let mut attempt = 0u64;
    while best.len() > target && best.len() > 1 && !work.exhausted() && failures < max_failures {
        attempt += 1;
        work.spend(best.len() as u64);
        let mut bins = best.clone();
        let freed = pick_bins_to_empty(&bins, attempt, rng);
        let mut free = vec![0u32; inst.types.len()];
        // Remove from the highest index down so the remaining indices stay valid.
        for &i in freed.iter().rev() {
            let bin = bins.remove(i);
            for (ty, k) in bin.items {
                free[ty] += k;
            }
        }
        // Exchange passes until no bin improves.
        loop {
            let mut changed = false;
            for bin in bins.iter_mut() {
                if work.exhausted() {
                    break;
                }
                while improve_bin(inst, bin, &mut free, work) {
                    changed = true;
                }
            }
            if !changed || free.iter().all(|&f| f == 0) || work.exhausted() {
                break;
            }
        }
        reinsert(inst, &mut bins, &mut free, work);
        let score = squared_fill(&bins);
        if bins.len() < best.len() {
            best = bins;
            best_score = score;
            failures = 0;
        } else {
            if bins.len() == best.len() && score > best_score + EPSILON {
                best = bins;
                best_score = score;
            }
            failures += 1;
        }
    }
    best
}

/// Indices (ascending) of the bins to empty: the least filled one, plus up to two more chosen at
/// random among the lighter half, their number cycling 1, 2, 3.
fn pick_bins_to_empty(bins: &[BinLoad], attempt: u64, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut by_fill: Vec<usize> = (0..bins.len()).collect();
    by_fill.sort_by(|&a, &b| bins[a].fill.total_cmp(&bins[b].fill).then(a.cmp(&b)));
    let want = (1 + (attempt % 3) as usize)
        .min(bins.len().saturating_sub(1))
        .max(1);
    let mut chosen = vec![by_fill[0]];
    let pool = (bins.len() / 2).max(want + 1).min(bins.len());
    let mut guard = 0;
    while chosen.len() < want && guard < 64 {
        guard += 1;
        let pick = by_fill[rng.random_range(1..pool.max(2))];
        if !chosen.contains(&pick) {
            chosen.push(pick);
        }
    }
    chosen.sort_unstable();
    chosen
}

fn squared_fill(bins: &[BinLoad]) -> f64 {
    bins.iter().map(|b| b.fill * b.fill).sum()
}

/// One improving move on `bin`: a direct insertion of free items, or the best swap of up to two
/// bin items against up to two free items that increases the bin's fill. Returns whether it moved.
fn improve_bin(inst: &Instance, bin: &mut BinLoad, free: &mut [u32], work: &mut Work) -> bool {
    // Direct insertion, largest types first.
    for (ty, left) in free.iter_mut().enumerate() {
        if *left == 0 {
            continue;
        }
        work.spend(1);
        let k = bin.room_for(inst, ty, *left);
        if k > 0 {
            bin.add(inst, ty, k);
            *left -= k;
            return true;
        }
    }
    let free_types: Vec<usize> = (0..inst.types.len()).filter(|&t| free[t] > 0).collect();
    if free_types.is_empty() {
        return false;
    }
    // Candidate outgoing sets: one or two items of the bin.
    let mut outs: Vec<[(usize, u32); 2]> = Vec::new();
    for (i, &(a, ca)) in bin.items.iter().enumerate() {
        outs.push([(a, 1), (usize::MAX, 0)]);
        if ca >= 2 {
            outs.push([(a, 2), (usize::MAX, 0)]);
        }
        for &(b, _) in &bin.items[i + 1..] {
            outs.push([(a, 1), (b, 1)]);
        }
    }
    // Candidate incoming sets: one or two free items.
    let mut ins: Vec<[(usize, u32); 2]> = Vec::new();
    for (i, &x) in free_types.iter().enumerate() {
        ins.push([(x, 1), (usize::MAX, 0)]);
        if free[x] >= 2 {
            ins.push([(x, 2), (usize::MAX, 0)]);
        }
        for &y in &free_types[i + 1..] {
            ins.push([(x, 1), (y, 1)]);
        }
    }
    let weight = |set: &[(usize, u32); 2]| -> f64 {
        set.iter()
            .filter(|(t, k)| *k > 0 && *t != usize::MAX)
            .map(|(t, k)| inst.types[*t].weight * f64::from(*k))
            .sum()
    };
    let in_weights: Vec<f64> = ins.iter().map(weight).collect();
    let mut best: Option<(f64, usize, usize)> = None;
    let mut residual = vec![0i64; inst.capacity.len()];
    for (oi, out) in outs.iter().enumerate() {
        let out_weight = weight(out);
        // Residual after taking `out` out of the bin.
        residual.copy_from_slice(&bin.residual);
        for &(t, k) in out.iter().filter(|(_, k)| *k > 0) {
            for (r, s) in residual.iter_mut().zip(&inst.types[t].size) {
                *r += s * i64::from(k);
            }
        }
        for (ii, inn) in ins.iter().enumerate() {
            let gain = in_weights[ii] - out_weight;
            if gain <= EPSILON || best.is_some_and(|(g, _, _)| gain <= g) {
                continue;
            }
            // Never swap an item for a copy of itself.
            if inn
                .iter()
                .any(|(t, k)| *k > 0 && out.iter().any(|(o, ok)| *ok > 0 && o == t))
            {
                continue;
            }
            work.spend(1);
            if fits_after(inst, bin, &residual, out, inn) {
                best = Some((gain, oi, ii));
            }
        }
        if work.exhausted() {
            break;
        }
    }
    let Some((_, oi, ii)) = best else {
        return false;
    };
    for &(t, k) in outs[oi].iter().filter(|(_, k)| *k > 0) {
        bin.remove(inst, t, k);
        free[t] += k;
    }
    for &(t, k) in ins[ii].iter().filter(|(_, k)| *k > 0) {
        bin.add(inst, t, k);
        free[t] -= k;
    }
    true
}

/// Whether `inn` fits into a bin whose residual (with `out` removed) is `residual`.
fn fits_after(
    inst: &Instance,
    bin: &BinLoad,
    residual: &[i64],
    out: &[(usize, u32); 2],
    inn: &[(usize, u32); 2],
) -> bool {
    for (d, &r) in residual.iter().enumerate() {
        let need: i64 = inn
            .iter()
            .filter(|(_, k)| *k > 0)
            .map(|(t, k)| inst.types[*t].size[d] * i64::from(*k))
            .sum();
        if need > r {
            return false;
        }
    }
    // Per-bin limits.
    inn.iter().filter(|(_, k)| *k > 0).all(|&(t, k)| {
        let removed: u32 = out
            .iter()
            .filter(|(o, ok)| *ok > 0 && *o == t)
            .map(|(_, ok)| *ok)
            .sum();
        bin.count_of(t) - removed.min(bin.count_of(t)) + k <= inst.types[t].per_bin
    })
}

/// Puts the free items back: first fit into the existing bins, then first-fit-decreasing into new
/// bins.
fn reinsert(inst: &Instance, bins: &mut Vec<BinLoad>, free: &mut [u32], work: &mut Work) {
    for (ty, left) in free.iter_mut().enumerate() {
        let mut i = 0;
        while *left > 0 && i < bins.len() {
            work.spend(1);
            let k = bins[i].room_for(inst, ty, *left);
            bins[i].add(inst, ty, k);
            *left -= k;
            i += 1;
        }
        while *left > 0 {
            let mut bin = inst.empty_bin();
            let k = bin.room_for(inst, ty, *left);
            if k == 0 {
                break;
            }
            bin.add(inst, ty, k);
            *left -= k;
            bins.push(bin);
        }
    }
}
