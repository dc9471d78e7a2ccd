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
///
/// Each attempt edits `best` in place and keeps a copy of every bin it changes, so a rejected
/// attempt is undone by putting those copies back: an attempt touches a few bins, and copying
/// all of them per attempt (thousands of allocations on large plans) cost more than the search.
/// The bins are visited in the same order as on a copy, so the result is the same.
pub(crate) fn improve(
    inst: &Instance,
    start: Vec<BinLoad>,
    work: &mut Work,
    rng: &mut ChaCha8Rng,
    max_failures: u32,
) -> Vec<BinLoad> {
    let target = usize::try_from(inst.lower_bound).unwrap_or(usize::MAX);
    let mut best = start;
    let mut best_score = squared_fill(best.iter());
    let mut failures = 0u32;
    let mut attempt = 0u64;
    let mut scratch = Scratch::default();
    let mut sorted = false;
    let mut free = vec![0u32; inst.types.len()];
    let mut kept: Vec<usize> = Vec::new();
    // Original of every bin of `best` the current attempt changed, and whether it did.
    let mut saved: Vec<(usize, BinLoad)> = Vec::new();
    let mut touched: Vec<bool> = Vec::new();
    while best.len() > target && best.len() > 1 && !work.exhausted() && failures < max_failures {
        attempt += 1;
        work.spend(best.len() as u64);
        let base_len = best.len();
        let freed = pick_bins_to_empty(&best, attempt, rng, &mut scratch.by_fill, &mut sorted);
        free.iter_mut().for_each(|f| *f = 0);
        for &i in &freed {
            for &(ty, k) in &best[i].items {
                free[ty] += k;
            }
        }
        scratch.stale = true;
        kept.clear();
        kept.extend((0..base_len).filter(|i| freed.binary_search(i).is_err()));
        saved.clear();
        touched.clear();
        touched.resize(base_len, false);
        let mut save = |best: &mut Vec<BinLoad>, i: usize| {
            if !touched[i] {
                touched[i] = true;
                saved.push((i, best[i].clone()));
            }
        };
        // Exchange passes until no bin improves.
        loop {
            let mut changed = false;
            for &i in &kept {
                if work.exhausted() {
                    break;
                }
                while let Some(change) = best_move(inst, &best[i], &free, work, &mut scratch) {
                    save(&mut best, i);
                    change.apply(inst, &mut best[i], &mut free);
                    scratch.stale = true;
                    changed = true;
                }
            }
            if !changed || free.iter().all(|&f| f == 0) || work.exhausted() {
                break;
            }
        }
        reinsert(inst, &mut best, &kept, &mut free, work, &mut save);
        let new_bins = best.len() - base_len;
        let len = kept.len() + new_bins;
        let score = squared_fill(kept.iter().map(|&i| &best[i]).chain(&best[base_len..]));
        let accept = if len < base_len {
            failures = 0;
            true
        } else {
            failures += 1;
            len == base_len && score > best_score + EPSILON
        };
        if accept {
            // The attempt's bins, in the order the attempt saw them: kept ones, then new ones.
            let mut index = 0;
            best.retain(|_| {
                let keep = index >= base_len || freed.binary_search(&index).is_err();
                index += 1;
                keep
            });
            best_score = score;
            sorted = false;
        } else {
            best.truncate(base_len);
            for (i, bin) in saved.drain(..) {
                best[i] = bin;
            }
        }
    }
    best
}

/// Indices (ascending) of the bins to empty: the least filled one, plus up to two more chosen at
/// random among the lighter half, their number cycling 1, 2, 3.
///
/// `by_fill` holds the bins' indices by fill, then index; it is sorted again only when
/// `sorted` is false (the caller clears it when `bins` changed), since most attempts are
/// undone and leave the order as it was.
fn pick_bins_to_empty(
    bins: &[BinLoad],
    attempt: u64,
    rng: &mut ChaCha8Rng,
    by_fill: &mut Vec<usize>,
    sorted: &mut bool,
) -> Vec<usize> {
    if !*sorted {
        by_fill.clear();
        by_fill.extend(0..bins.len());
        by_fill.sort_unstable_by(|&a, &b| bins[a].fill.total_cmp(&bins[b].fill).then(a.cmp(&b)));
        *sorted = true;
    }
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

fn squared_fill<'b>(bins: impl Iterator<Item = &'b BinLoad>) -> f64 {
    bins.map(|b| b.fill * b.fill).sum()
}

/// Buffers the search reuses from attempt to attempt.
#[derive(Debug, Default)]
struct Scratch {
    /// The free items changed since `free_types`, `ins` and `in_weights` were built.
    stale: bool,
    free_types: Vec<usize>,
    outs: Vec<[(usize, u32); 2]>,
    ins: Vec<[(usize, u32); 2]>,
    in_weights: Vec<f64>,
    residual: Vec<i64>,
    /// Bin indices by fill (see `pick_bins_to_empty`).
    by_fill: Vec<usize>,
}

/// A change to one bin against the free items.
#[derive(Debug, Clone, Copy)]
enum Move {
    /// Put `k` free items of a type in.
    Insert { ty: usize, k: u32 },
    /// Take up to two items out and put up to two free items in.
    Swap {
        out: [(usize, u32); 2],
        inn: [(usize, u32); 2],
    },
}

impl Move {
    fn apply(self, inst: &Instance, bin: &mut BinLoad, free: &mut [u32]) {
        match self {
            Move::Insert { ty, k } => {
                bin.add(inst, ty, k);
                free[ty] -= k;
            }
            Move::Swap { out, inn } => {
                for &(t, k) in out.iter().filter(|(_, k)| *k > 0) {
                    bin.remove(inst, t, k);
                    free[t] += k;
                }
                for &(t, k) in inn.iter().filter(|(_, k)| *k > 0) {
                    bin.add(inst, t, k);
                    free[t] -= k;
                }
            }
        }
    }
}

/// The improving move for `bin`, if any: a direct insertion of free items, or the best swap of
/// up to two bin items against up to two free items that increases the bin's fill.
fn best_move(
    inst: &Instance,
    bin: &BinLoad,
    free: &[u32],
    work: &mut Work,
    scratch: &mut Scratch,
) -> Option<Move> {
    // Direct insertion, largest types first.
    for (ty, &left) in free.iter().enumerate() {
        if left == 0 {
            continue;
        }
        work.spend(1);
        let k = bin.room_for(inst, ty, left);
        if k > 0 {
            return Some(Move::Insert { ty, k });
        }
    }
    let Scratch {
        stale,
        free_types,
        outs,
        ins,
        in_weights,
        residual,
        ..
    } = scratch;
    if *stale {
        // The incoming sets depend on the free items only: rebuilt when those changed, not
        // for every bin of a pass.
        rebuild_incoming(inst, free, free_types, ins, in_weights);
        *stale = false;
    }
    if free_types.is_empty() {
        return None;
    }
    // Candidate outgoing sets: one or two items of the bin.
    outs.clear();
    for (i, &(a, ca)) in bin.items.iter().enumerate() {
        outs.push([(a, 1), (usize::MAX, 0)]);
        if ca >= 2 {
            outs.push([(a, 2), (usize::MAX, 0)]);
        }
        for &(b, _) in &bin.items[i + 1..] {
            outs.push([(a, 1), (b, 1)]);
        }
    }
    let mut best: Option<(f64, usize, usize)> = None;
    residual.clear();
    residual.resize(inst.capacity.len(), 0);
    for (oi, out) in outs.iter().enumerate() {
        let out_weight = set_weight(inst, out);
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
            if fits_after(inst, residual, inn) && within_limits(inst, bin, out, inn) {
                best = Some((gain, oi, ii));
            }
        }
        if work.exhausted() {
            break;
        }
    }
    best.map(|(_, oi, ii)| Move::Swap {
        out: outs[oi],
        inn: ins[ii],
    })
}

/// Total weight of a set of up to two items.
fn set_weight(inst: &Instance, set: &[(usize, u32); 2]) -> f64 {
    set.iter()
        .filter(|(t, k)| *k > 0 && *t != usize::MAX)
        .map(|(t, k)| inst.types[*t].weight * f64::from(*k))
        .sum()
}

/// The free types and the candidate incoming sets (one or two free items) with their weights.
fn rebuild_incoming(
    inst: &Instance,
    free: &[u32],
    free_types: &mut Vec<usize>,
    ins: &mut Vec<[(usize, u32); 2]>,
    in_weights: &mut Vec<f64>,
) {
    free_types.clear();
    free_types.extend((0..inst.types.len()).filter(|&t| free[t] > 0));
    ins.clear();
    for (i, &x) in free_types.iter().enumerate() {
        ins.push([(x, 1), (usize::MAX, 0)]);
        if free[x] >= 2 {
            ins.push([(x, 2), (usize::MAX, 0)]);
        }
        for &y in &free_types[i + 1..] {
            ins.push([(x, 1), (y, 1)]);
        }
    }
    in_weights.clear();
    in_weights.extend(ins.iter().map(|set| set_weight(inst, set)));
}

/// Whether `inn` fits into a bin whose residual (with the outgoing items removed) is
/// `residual`.
fn fits_after(inst: &Instance, residual: &[i64], inn: &[(usize, u32); 2]) -> bool {
    residual.iter().enumerate().all(|(d, &r)| {
        let need: i64 = inn
            .iter()
            .filter(|(_, k)| *k > 0)
            .map(|(t, k)| inst.types[*t].size[d] * i64::from(*k))
            .sum();
        need <= r
    })
}

/// Whether the bin stays within every type's per-bin limit when `out` leaves and `inn` comes.
fn within_limits(
    inst: &Instance,
    bin: &BinLoad,
    out: &[(usize, u32); 2],
    inn: &[(usize, u32); 2],
) -> bool {
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

/// Puts the free items back: first fit into the kept bins (in order) and the bins opened so
/// far, then into new bins appended to `bins`. `save` is told of every kept bin before it
/// changes.
fn reinsert(
    inst: &Instance,
    bins: &mut Vec<BinLoad>,
    kept: &[usize],
    free: &mut [u32],
    work: &mut Work,
    save: &mut impl FnMut(&mut Vec<BinLoad>, usize),
) {
    let base_len = bins.len();
    for (ty, left) in free.iter_mut().enumerate() {
        // Kept bins, then the bins this reinsertion opened for earlier types.
        let mut next = 0;
        while *left > 0 && next < kept.len() + (bins.len() - base_len) {
            let i = match kept.get(next) {
                Some(&i) => i,
                None => base_len + (next - kept.len()),
            };
            work.spend(1);
            let k = bins[i].room_for(inst, ty, *left);
            if k > 0 {
                if i < base_len {
                    save(bins, i);
                }
                bins[i].add(inst, ty, k);
                *left -= k;
            }
            next += 1;
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
