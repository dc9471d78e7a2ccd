//! Lower bounds on the number of new nodes (bins) and on their cost.
//!
//! Every function here returns a number that NO packing can beat, so `plan / bound` is an honest
//! worst-case distance from optimal:
//! - [`l1`]: the volume bound `ceil(sum of sizes / capacity)` of one dimension;
//! - [`l2`]: Martello and Toth's bound for one dimension (1990), which also counts items that
//!   cannot share a bin because each is more than half of it; never below [`l1`];
//! - [`dff_bound`]: the volume bound after Fekete and Schepers' dual feasible functions
//!   `u^(k)`, which round sizes up to multiples of `capacity / k`; with `k = floor(capacity /
//!   size)` it gives `ceil(count / k)` for identical items, where the volume bound is weak;
//! - [`vector_bound`]: for several dimensions, the maximum over dimensions of [`l2`] and
//!   [`dff_bound`] on each dimension alone (a vector packing is also a packing of each
//!   projection), and at least `ceil(count / max_per_bin)` for items limited per bin;
//! - [`cost_bound_one_size`] and [`fractional_cost_bound`]: hourly cost bounds.

/// `ceil(sum of size × count / capacity)` over `(size, count)` pairs of one dimension.
///
/// Items of size zero are ignored. A capacity of zero gives 0 when nothing has a positive size
/// and `u64::MAX` otherwise (nothing positive fits).
pub fn l1(items: &[(i64, u64)], capacity: i64) -> u64 {
    let total: i128 = items
        .iter()
        .filter(|(s, _)| *s > 0)
        .map(|(s, c)| i128::from(*s) * i128::from(*c))
        .sum();
    ceil_div(total, capacity)
}

/// Martello and Toth's L2 bound for one dimension over `(size, count)` pairs.
///
/// For every threshold `a` in `[0, capacity/2]` (only the item sizes matter), items are split
/// into J1 (`size > capacity - a`: alone in their bin), J2 (`capacity/2 < size <= capacity - a`:
/// one per bin, room for only items `< a` beside them) and J3 (`a <= size <= capacity/2`). J3's
/// volume beyond the room J2's bins leave needs extra bins:
/// `L(a) = |J1| + |J2| + max(0, ceil((sum J3 - (|J2| × capacity - sum J2)) / capacity))`,
/// and `L2 = max_a L(a)`. Items larger than the capacity are each counted as one bin (callers
/// normally drop them as unplaceable first).
pub fn l2(items: &[(i64, u64)], capacity: i64) -> u64 {
    if capacity <= 0 {
        return l1(items, capacity);
    }
    // Distinct positive sizes, ascending, with counts merged.
    let mut sorted: Vec<(i64, u64)> = items
        .iter()
        .filter(|(s, c)| *s > 0 && *c > 0)
        .copied()
        .collect();
    sorted.sort_unstable();
    let mut merged: Vec<(i64, u128)> = Vec::with_capacity(sorted.len());
    for (s, c) in sorted {
        match merged.last_mut() {
            Some((ls, lc)) if *ls == s => *lc += u128::from(c),
            _ => merged.push((s, u128::from(c))),
        }
    }
    if merged.is_empty() {
        return 0;
    }
    // Prefix sums of counts and volumes over the ascending sizes.
    let mut pre_count = vec![0u128; merged.len() + 1];
    let mut pre_volume = vec![0i128; merged.len() + 1];
    for (i, (s, c)) in merged.iter().enumerate() {
        pre_count[i + 1] = pre_count[i] + c;
        pre_volume[i + 1] = pre_volume[i] + i128::from(*s) * (*c as i128);
    }
    // Index of the first size strictly greater than / at least `x`.
    let first_above = |x: i64| merged.partition_point(|(s, _)| *s <= x);
    let first_at_least = |x: i64| merged.partition_point(|(s, _)| *s < x);
    let cap = i128::from(capacity);
    let n = merged.len();
    let half_end = first_above(capacity / 2); // sizes <= capacity/2 are before this index
    let mut best: u128 = 0;
    let mut thresholds: Vec<i64> = vec![0];
    thresholds.extend(merged[..half_end].iter().map(|(s, _)| *s));
    for a in thresholds {
        let j1_start = first_above(capacity - a);
        let j2_start = half_end;
        let j3_start = first_at_least(a).min(j2_start);
        let n1 = pre_count[n] - pre_count[j1_start];
        let j2_end = j1_start.max(j2_start);
        let n2 = pre_count[j2_end] - pre_count[j2_start];
        let v2 = pre_volume[j2_end] - pre_volume[j2_start];
        let v3 = pre_volume[j2_start] - pre_volume[j3_start];
        let room = (n2 as i128) * cap - v2;
        let extra = if v3 > room {
            ((v3 - room) + cap - 1) / cap
        } else {
            0
        };
        best = best.max(n1 + n2 + extra as u128);
    }
    u64::try_from(best).unwrap_or(u64::MAX)
}

/// Most `k` values [`dff_bound`] tries per dimension.
const MAX_DFF_PARAMETERS: usize = 48;

/// Volume bound of the sizes transformed by Fekete and Schepers' dual feasible function
/// `u^(k)(x) = x` when `(k+1) x / capacity` is an integer, else `floor((k+1) x / capacity) ×
/// capacity / k`, maximised over `k` in `1..=16` and `floor(capacity / size)` of the items with
/// the most volume. Any set of items fitting a bin keeps fitting after the transformation, so
/// the transformed volume bound is valid.
pub fn dff_bound(items: &[(i64, u64)], capacity: i64) -> u64 {
    if capacity <= 0 {
        return l1(items, capacity);
    }
    let mut by_volume: Vec<(i128, i64)> = items
        .iter()
        .filter(|(s, c)| *s > 0 && *c > 0 && *s <= capacity)
        .map(|(s, c)| (i128::from(*s) * i128::from(*c), *s))
        .collect();
    by_volume.sort_unstable_by(|a, b| b.cmp(a));
    let mut ks: Vec<i64> = (1..=16).collect();
    ks.extend(
        by_volume
            .iter()
            .take(MAX_DFF_PARAMETERS - 16)
            .map(|(_, s)| capacity / s),
    );
    ks.sort_unstable();
    ks.dedup();
    let cap = i128::from(capacity);
    let mut best = 0u64;
    for k in ks {
        let k = i128::from(k);
        // Transformed sizes in units of capacity / (capacity × k), i.e. u(x) × capacity × k.
        let mut total: i128 = 0;
        for &(s, c) in items {
            if s <= 0 || c == 0 {
                continue;
            }
            let x = i128::from(s);
            let scaled = (k + 1) * x;
            let value = if scaled % cap == 0 {
                x * k
            } else {
                (scaled / cap) * cap
            };
            total += value * i128::from(c);
        }
        let denominator = cap * k;
        let bins = (total + denominator - 1) / denominator;
        best = best.max(u64::try_from(bins).unwrap_or(u64::MAX));
    }
    best
}

/// Lower bound on bins for vector packing: `max` over dimensions of [`l2`] of that dimension,
/// and of `ceil(count / max_per_bin)` for classes limited per bin.
///
/// `classes` are `(size vector, count, max_per_bin)`; every size vector has `capacity.len()`
/// entries. Callers should exclude items that fit in no bin at all.
pub fn vector_bound(capacity: &[i64], classes: &[(&[i64], u64, Option<u64>)]) -> u64 {
    let mut best = 0u64;
    for (d, &cap) in capacity.iter().enumerate() {
        let column: Vec<(i64, u64)> = classes
            .iter()
            .map(|(size, count, _)| (size.get(d).copied().unwrap_or(0), *count))
            .collect();
        best = best.max(l2(&column, cap)).max(dff_bound(&column, cap));
    }
    for (_, count, per_bin) in classes {
        if let Some(limit) = per_bin
            && *limit > 0
        {
            best = best.max(count.div_ceil(*limit));
        }
    }
    // Anything at all needs one bin.
    if best == 0 && classes.iter().any(|(_, c, _)| *c > 0) {
        best = 1;
    }
    best
}

/// Hourly cost bound when every new node has the same size: `bins × price`.
pub fn cost_bound_one_size(bins: u64, hourly_price: f64) -> f64 {
    bins as f64 * hourly_price
}

/// Hourly cost bound when nodes of several sizes may be mixed.
///
/// `demand[d]` is the total request in dimension `d` and each offer is `(capacity vector,
/// hourly price)`. Any plan pays, for every dimension `d`, at least `demand[d]` times the
/// cheapest price per unit of `d` among the offers (its nodes together provide at least
/// `demand[d]` of `d`, and each node costs at least its capacity in `d` times that cheapest unit
/// price). The bound is the maximum of that over dimensions: a fractional bound that ignores
/// integrality and the other dimensions, so it is never above the true optimum. Dimensions no
/// offer provides are skipped (the pods needing them are unplaceable and excluded by the caller).
pub fn fractional_cost_bound(demand: &[i64], offers: &[(Vec<i64>, f64)]) -> f64 {
    let mut best = 0.0f64;
    for (d, &need) in demand.iter().enumerate() {
        if need <= 0 {
            continue;
        }
        let cheapest_unit = offers
            .iter()
            .filter_map(|(cap, price)| {
                let c = cap.get(d).copied().unwrap_or(0);
                (c > 0).then(|| price / c as f64)
            })
            .fold(f64::INFINITY, f64::min);
        if cheapest_unit.is_finite() {
            best = best.max(need as f64 * cheapest_unit);
        }
    }
    best
}

fn ceil_div(total: i128, capacity: i64) -> u64 {
    if total <= 0 {
        return 0;
    }
    if capacity <= 0 {
        return u64::MAX;
    }
    let cap = i128::from(capacity);
    u64::try_from((total + cap - 1) / cap).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l1_is_the_volume_bound() {
        assert_eq!(l1(&[(30, 3), (10, 1)], 50), 2);
        assert_eq!(l1(&[(50, 2)], 50), 2);
        assert_eq!(l1(&[], 50), 0);
        assert_eq!(l1(&[(0, 7)], 50), 0);
    }

    #[test]
    fn l2_counts_items_larger_than_half() {
        // Three items of 60 cannot share bins of 100 although the volume fits in two.
        assert_eq!(l1(&[(60, 3)], 100), 2);
        assert_eq!(l2(&[(60, 3)], 100), 3);
        // 51 + 50 overflow: J2 = {51,51}, J3 = {50,50} -> 2 + ceil((100 - 98) / 100) = 3.
        assert_eq!(l2(&[(51, 2), (50, 2)], 100), 3);
        // Classic example: sizes 99,94,79,64,50,46,43,37,32,19,18,7,6,3 in bins of 100 -> L2 = 5.
        let items: Vec<(i64, u64)> = [99, 94, 79, 64, 50, 46, 43, 37, 32, 19, 18, 7, 6, 3]
            .iter()
            .map(|s| (*s, 1))
            .collect();
        assert_eq!(l1(&items, 100), 6);
        assert!(l2(&items, 100) >= 6);
    }

    #[test]
    fn l2_never_below_l1() {
        let items = [(20, 5), (70, 2), (45, 3), (1, 9)];
        for cap in [70, 71, 100, 150, 1000] {
            assert!(l2(&items, cap) >= l1(&items, cap), "capacity {cap}");
        }
    }

    #[test]
    fn dff_bound_counts_copies_per_bin() {
        // 26 items of 300 fit a bin of 8000; the volume bound says 1875 bins, the truth is 1924.
        assert_eq!(l1(&[(300, 50_000)], 8000), 1875);
        assert_eq!(dff_bound(&[(300, 50_000)], 8000), 1924);
        assert!(dff_bound(&[(60, 3)], 100) >= 3);
    }

    #[test]
    fn vector_bound_takes_the_worst_dimension_and_per_bin_limits() {
        let a = [60i64, 10];
        let b = [10i64, 60];
        let classes = [(&a[..], 3u64, None), (&b[..], 1u64, None)];
        assert_eq!(vector_bound(&[100, 100], &classes), 3);
        let c = [1i64, 1];
        assert_eq!(vector_bound(&[100, 100], &[(&c[..], 5, Some(2))]), 3);
        assert_eq!(vector_bound(&[100, 100], &[(&[0, 0][..], 5, None)]), 1);
    }

    #[test]
    fn cost_bounds() {
        assert_eq!(cost_bound_one_size(3, 0.5), 1.5);
        // cpu 10 units: size A 4 cpu for 1.0 (0.25/cpu), size B 8 cpu for 1.6 (0.2/cpu) -> 2.0.
        let offers = vec![(vec![4, 16], 1.0), (vec![8, 8], 1.6)];
        let b = fractional_cost_bound(&[10, 8], &offers);
        assert!((b - 2.0).abs() < 1e-9, "{b}");
    }
}
