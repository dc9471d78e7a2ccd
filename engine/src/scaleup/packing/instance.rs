//! The packing instance in working form: classes merged into item types, non-binding dimensions
//! dropped, a canonical order independent of the caller's order, and the bin state type.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use super::{ClassId, PackError, PackProblem};
use crate::scaleup::bound;

/// Size vector, per-bin limit, and the class id when limited (a limit is per class, so limited
/// classes never merge): what makes two classes interchangeable.
type TypeKey = (Vec<i64>, u32, Option<ClassId>);

/// Items of one size vector and one per-bin limit (all classes that share them).
#[derive(Debug, Clone)]
pub(crate) struct ItemType {
    /// Size in the kept dimensions.
    pub size: Vec<i64>,
    /// Items of this type.
    pub count: u32,
    /// At most this many per bin (`u32::MAX` when unlimited).
    pub per_bin: u32,
    /// The caller's classes in this type, by id.
    pub members: Vec<(ClassId, u32)>,
    /// Scalar size used for ordering and slack: scarcity-weighted sum of `size / capacity`.
    pub weight: f64,
}

/// Types in canonical decreasing order, with the capacity of the kept dimensions.
#[derive(Debug, Clone)]
pub(crate) struct Instance {
    pub capacity: Vec<i64>,
    /// Weight of one unit of each kept dimension in the scalar measure.
    pub unit_weight: Vec<f64>,
    pub types: Vec<ItemType>,
    pub unplaceable: Vec<(ClassId, u32)>,
    pub lower_bound: u64,
    /// Types by size vector, for exact-complement lookups.
    pub by_size: BTreeMap<Vec<i64>, Vec<usize>>,
}

impl Instance {
    pub fn build(problem: &PackProblem) -> Result<Self, PackError> {
        let dims = problem.capacity.len();
        for (d, &c) in problem.capacity.iter().enumerate() {
            if c < 0 {
                return Err(PackError::NegativeCapacity {
                    dimension: d,
                    value: c,
                });
            }
        }
        for class in &problem.classes {
            if class.size.len() != dims {
                return Err(PackError::DimensionMismatch {
                    class: class.id,
                    expected: dims,
                    found: class.size.len(),
                });
            }
            if let Some((d, &v)) = class.size.iter().enumerate().find(|(_, v)| **v < 0) {
                return Err(PackError::NegativeSize {
                    class: class.id,
                    dimension: d,
                    value: v,
                });
            }
        }
        let mut seen: Vec<ClassId> = problem.classes.iter().map(|c| c.id).collect();
        seen.sort_unstable();
        if let Some(w) = seen.windows(2).find(|w| w[0] == w[1]) {
            return Err(PackError::DuplicateClass { class: w[0] });
        }

        let mut unplaceable = Vec::new();
        let mut placeable = Vec::new();
        for class in problem.classes.iter().filter(|c| c.count > 0) {
            let too_big = class.size.iter().zip(&problem.capacity).any(|(s, c)| s > c);
            if too_big || class.max_per_bin == Some(0) {
                unplaceable.push((class.id, class.count));
            } else {
                placeable.push(class);
            }
        }
        unplaceable.sort_unstable();

        // A dimension whose total demand fits in one bin never constrains anything: drop it.
        let mut totals = vec![0i128; dims];
        for class in &placeable {
            for (d, s) in class.size.iter().enumerate() {
                totals[d] += i128::from(*s) * i128::from(class.count);
            }
        }
        let kept: Vec<usize> = (0..dims)
            .filter(|&d| totals[d] > i128::from(problem.capacity[d]))
            .collect();
        let capacity: Vec<i64> = kept.iter().map(|&d| problem.capacity[d]).collect();
        // Scarcity weights: a dimension counts in proportion to how many bins its volume needs.
        let loads: Vec<f64> = kept
            .iter()
            .map(|&d| totals[d] as f64 / problem.capacity[d] as f64)
            .collect();
        let max_load = loads.iter().copied().fold(0.0f64, f64::max);
        let unit_weight: Vec<f64> = kept
            .iter()
            .zip(&loads)
            .map(|(&d, load)| load / max_load / problem.capacity[d] as f64)
            .collect();

        let mut merged: BTreeMap<TypeKey, Vec<(ClassId, u32)>> = BTreeMap::new();
        for class in &placeable {
            let size: Vec<i64> = kept.iter().map(|&d| class.size[d]).collect();
            let per_bin = class.max_per_bin.unwrap_or(u32::MAX);
            let own = class.max_per_bin.map(|_| class.id);
            merged
                .entry((size, per_bin, own))
                .or_default()
                .push((class.id, class.count));
        }
        let mut types: Vec<ItemType> = merged
            .into_iter()
            .map(|((size, per_bin, _), mut members)| {
                members.sort_unstable();
                let count = members
                    .iter()
                    .fold(0u32, |acc, (_, c)| acc.saturating_add(*c));
                let weight = size
                    .iter()
                    .zip(&unit_weight)
                    .map(|(s, w)| *s as f64 * w)
                    .sum();
                ItemType {
                    size,
                    count,
                    per_bin,
                    members,
                    weight,
                }
            })
            .collect();
        types.sort_by(type_order);

        let bound_input: Vec<(&[i64], u64, Option<u64>)> = types
            .iter()
            .map(|t| {
                let limit = (t.per_bin != u32::MAX).then_some(u64::from(t.per_bin));
                (t.size.as_slice(), u64::from(t.count), limit)
            })
            .collect();
        let lower_bound = bound::vector_bound(&capacity, &bound_input);

        let mut by_size: BTreeMap<Vec<i64>, Vec<usize>> = BTreeMap::new();
        for (i, t) in types.iter().enumerate() {
            by_size.entry(t.size.clone()).or_default().push(i);
        }
        Ok(Self {
            capacity,
            unit_weight,
            types,
            unplaceable,
            lower_bound,
            by_size,
        })
    }

    /// Scalar measure of a residual vector (the bin's slack).
    pub fn slack(&self, residual: &[i64]) -> f64 {
        residual
            .iter()
            .zip(&self.unit_weight)
            .map(|(r, w)| *r as f64 * w)
            .sum()
    }

    pub fn empty_bin(&self) -> BinLoad {
        BinLoad {
            items: Vec::new(),
            residual: self.capacity.clone(),
            fill: 0.0,
        }
    }
}

/// Decreasing weight, then decreasing size vector, then increasing per-bin limit: a total order
/// on distinct types, so the caller's order never matters.
fn type_order(a: &ItemType, b: &ItemType) -> Ordering {
    b.weight
        .total_cmp(&a.weight)
        .then_with(|| b.size.cmp(&a.size))
        .then_with(|| a.per_bin.cmp(&b.per_bin))
        .then_with(|| a.members.cmp(&b.members))
}

/// How many copies of a size fit in a residual (`u64::MAX` when the size is all zero).
pub(crate) fn copies_fitting(residual: &[i64], size: &[i64]) -> u64 {
    let mut k = u64::MAX;
    for (r, s) in residual.iter().zip(size) {
        if *s > 0 {
            k = k.min(u64::try_from(*r / *s).unwrap_or(0));
        }
    }
    k
}

/// One bin being filled: counts per type (sorted by type index), residual capacity, fill.
#[derive(Debug, Clone)]
pub(crate) struct BinLoad {
    pub items: Vec<(usize, u32)>,
    pub residual: Vec<i64>,
    pub fill: f64,
}

impl BinLoad {
    pub fn count_of(&self, ty: usize) -> u32 {
        match self.items.binary_search_by_key(&ty, |(t, _)| *t) {
            Ok(i) => self.items[i].1,
            Err(_) => 0,
        }
    }

    /// Copies of `ty` that still fit (capacity and per-bin limit), at most `limit`.
    pub fn room_for(&self, inst: &Instance, ty: usize, limit: u32) -> u32 {
        let t = &inst.types[ty];
        // Most calls ask about a bin that cannot take even one copy: answer those without
        // the divisions.
        if limit == 0
            || self
                .residual
                .iter()
                .zip(&t.size)
                .any(|(r, s)| *s > 0 && r < s)
        {
            return 0;
        }
        let by_limit = t.per_bin.saturating_sub(self.count_of(ty));
        if limit == 1 {
            return u32::from(by_limit > 0);
        }
        let by_size = copies_fitting(&self.residual, &t.size);
        u32::try_from(by_size.min(u64::from(by_limit.min(limit)))).unwrap_or(0)
    }

    pub fn add(&mut self, inst: &Instance, ty: usize, k: u32) {
        if k == 0 {
            return;
        }
        let t = &inst.types[ty];
        for (r, s) in self.residual.iter_mut().zip(&t.size) {
            *r -= *s * i64::from(k);
        }
        self.fill += t.weight * f64::from(k);
        match self.items.binary_search_by_key(&ty, |(t, _)| *t) {
            Ok(i) => self.items[i].1 += k,
            Err(i) => self.items.insert(i, (ty, k)),
        }
    }

    pub fn remove(&mut self, inst: &Instance, ty: usize, k: u32) {
        if k == 0 {
            return;
        }
        let t = &inst.types[ty];
        if let Ok(i) = self.items.binary_search_by_key(&ty, |(t, _)| *t) {
            let k = k.min(self.items[i].1);
            for (r, s) in self.residual.iter_mut().zip(&t.size) {
                *r += *s * i64::from(k);
            }
            self.fill -= t.weight * f64::from(k);
            self.items[i].1 -= k;
            if self.items[i].1 == 0 {
                self.items.remove(i);
            }
        }
    }
}

/// Step counter against a budget. Construction heuristics always finish; searches stop when
/// the budget is spent.
#[derive(Debug, Clone)]
pub(crate) struct Work {
    pub used: u64,
    pub budget: u64,
}

impl Work {
    pub fn spend(&mut self, steps: u64) {
        self.used = self.used.saturating_add(steps);
    }

    pub fn left(&self) -> u64 {
        self.budget.saturating_sub(self.used)
    }

    pub fn exhausted(&self) -> bool {
        self.used >= self.budget
    }
}
