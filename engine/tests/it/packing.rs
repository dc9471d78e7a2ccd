//! Properties of the bin packing engine and its lower bounds on random instances, and a
//! brute-force oracle on tiny ones.

use proptest::prelude::*;
use vpsie_engine::scaleup::bound;
use vpsie_engine::scaleup::packing::{ItemClass, PackOptions, PackProblem, Packing, ffd, pack};

fn problem_strategy(max_classes: usize, max_count: u32) -> impl Strategy<Value = PackProblem> {
    (1usize..=3)
        .prop_flat_map(move |dims| {
            (
                prop::collection::vec(5i64..=30, dims),
                prop::collection::vec(
                    (
                        prop::collection::vec(0i64..=32, dims),
                        1u32..=max_count,
                        prop::option::weighted(0.2, 1u32..=2),
                    ),
                    1..=max_classes,
                ),
            )
        })
        .prop_map(|(capacity, classes)| PackProblem {
            capacity,
            classes: classes
                .into_iter()
                .enumerate()
                .map(|(i, (size, count, max_per_bin))| ItemClass {
                    id: 100 + i as u32,
                    size,
                    count,
                    max_per_bin,
                })
                .collect(),
        })
}

/// Checks that a packing is a valid packing of `problem`.
fn assert_valid(problem: &PackProblem, p: &Packing) {
    let dims = problem.capacity.len();
    let class = |id: u32| problem.classes.iter().find(|c| c.id == id).unwrap();
    for (b, bin) in p.bins.iter().enumerate() {
        assert!(!bin.items.is_empty(), "bin {b} is empty");
        for d in 0..dims {
            let used: i64 = bin
                .items
                .iter()
                .map(|(id, k)| class(*id).size[d] * i64::from(*k))
                .sum();
            assert!(
                used <= problem.capacity[d],
                "bin {b} over capacity in dimension {d}"
            );
        }
        for (id, k) in &bin.items {
            if let Some(limit) = class(*id).max_per_bin {
                assert!(
                    *k <= limit,
                    "bin {b} holds {k} of class {id}, limit {limit}"
                );
            }
        }
    }
    for c in &problem.classes {
        let placed: u32 = p
            .bins
            .iter()
            .flat_map(|b| b.items.iter())
            .filter(|(id, _)| *id == c.id)
            .map(|(_, k)| *k)
            .sum();
        let unplaced: u32 = p
            .unplaceable
            .iter()
            .filter(|(id, _)| *id == c.id)
            .map(|(_, k)| *k)
            .sum();
        assert_eq!(
            placed + unplaced,
            c.count,
            "class {} placed {placed} + unplaceable {unplaced}",
            c.id
        );
        let fits = c
            .size
            .iter()
            .zip(&problem.capacity)
            .all(|(s, cap)| s <= cap)
            && c.max_per_bin != Some(0);
        assert_eq!(
            unplaced == 0,
            fits,
            "class {} unplaceable iff it fits no bin",
            c.id
        );
    }
    assert!(
        p.bin_count() >= p.lower_bound,
        "{} bins below the bound {}",
        p.bin_count(),
        p.lower_bound
    );
}

/// Fewest bins for `problem` by trying every partition of its items (tiny inputs only).
fn brute_force_optimum(problem: &PackProblem) -> u64 {
    let items: Vec<(&Vec<i64>, Option<u32>, u32)> = problem
        .classes
        .iter()
        .filter(|c| {
            c.size
                .iter()
                .zip(&problem.capacity)
                .all(|(s, cap)| s <= cap)
                && c.max_per_bin != Some(0)
        })
        .flat_map(|c| (0..c.count).map(move |_| (&c.size, c.max_per_bin, c.id)))
        .collect();
    let n = items.len();
    if n == 0 {
        return 0;
    }
    let dims = problem.capacity.len();
    let mut best = n as u64;
    let mut assign = vec![0usize; n];
    // Restricted growth strings: item i goes to a bin index at most one above the largest so far.
    fn rec(
        i: usize,
        used: usize,
        assign: &mut Vec<usize>,
        items: &[(&Vec<i64>, Option<u32>, u32)],
        cap: &[i64],
        dims: usize,
        best: &mut u64,
    ) {
        if used as u64 >= *best {
            return;
        }
        if i == items.len() {
            *best = used as u64;
            return;
        }
        for b in 0..=used {
            assign[i] = b;
            let members: Vec<usize> = (0..=i).filter(|&j| assign[j] == b).collect();
            let fits = (0..dims)
                .all(|d| members.iter().map(|&j| items[j].0[d]).sum::<i64>() <= cap[d])
                && members.iter().all(|&j| match items[j].1 {
                    Some(limit) => {
                        members
                            .iter()
                            .filter(|&&m| items[m].2 == items[j].2)
                            .count() as u32
                            <= limit
                    }
                    None => true,
                });
            if fits {
                rec(i + 1, used.max(b + 1), assign, items, cap, dims, best);
            }
        }
    }
    rec(
        0,
        0,
        &mut assign,
        &items,
        &problem.capacity,
        dims,
        &mut best,
    );
    best
}

proptest! {
    #![proptest_config(crate::seeded(96))]

    #[test]
    fn packings_are_valid_never_worse_than_ffd_and_deterministic(problem in problem_strategy(6, 6)) {
        let options = PackOptions { work_budget: 20_000, seed: 3 };
        let base = ffd(&problem).unwrap();
        assert_valid(&problem, &base);
        let improved = pack(&problem, &options).unwrap();
        assert_valid(&problem, &improved);
        prop_assert!(improved.bin_count() <= base.bin_count());
        prop_assert_eq!(improved.ffd_bins, base.bin_count());
        prop_assert_eq!(&pack(&problem, &options).unwrap(), &improved);
    }

    #[test]
    fn class_order_does_not_matter(problem in problem_strategy(6, 4), rotate in 0usize..6) {
        let options = PackOptions { work_budget: 20_000, seed: 0 };
        let mut shuffled = problem.clone();
        shuffled.classes.reverse();
        let by = rotate % shuffled.classes.len();
        shuffled.classes.rotate_left(by);
        let a = pack(&problem, &options).unwrap();
        let b = pack(&shuffled, &options).unwrap();
        prop_assert_eq!(a.bin_count(), b.bin_count());
        prop_assert_eq!(a, b);
        prop_assert_eq!(ffd(&problem).unwrap(), ffd(&shuffled).unwrap());
    }

    #[test]
    fn tiny_instances_reach_the_brute_force_optimum(problem in problem_strategy(8, 1)) {
        let optimum = brute_force_optimum(&problem);
        let p = pack(&problem, &PackOptions::default()).unwrap();
        prop_assert!(p.lower_bound <= optimum, "bound {} above optimum {}", p.lower_bound, optimum);
        prop_assert!(p.bin_count() <= optimum + 1, "{} bins, optimum {}", p.bin_count(), optimum);
        prop_assert_eq!(p.bin_count(), optimum);
    }

    #[test]
    fn one_dimensional_bounds_are_valid(sizes in prop::collection::vec((1i64..=100, 1u64..=3), 1..=6), cap in 100i64..=160) {
        let problem = PackProblem {
            capacity: vec![cap],
            classes: sizes.iter().enumerate().map(|(i, (s, c))| ItemClass::new(i as u32, vec![*s], *c as u32)).collect(),
        };
        let l1 = bound::l1(&sizes, cap);
        let l2 = bound::l2(&sizes, cap);
        prop_assert!(l2 >= l1);
        if sizes.iter().map(|(_, c)| c).sum::<u64>() <= 8 {
            prop_assert!(l2 <= brute_force_optimum(&problem));
        }
    }
}

#[test]
fn fifty_thousand_identical_pods_pack_cheaply() {
    let problem = PackProblem {
        capacity: vec![8000, 16 << 30, 110],
        classes: vec![
            ItemClass::new(1, vec![300, 600 << 20, 1], 50_000),
            ItemClass::new(2, vec![1100, 2 << 30, 1], 3),
        ],
    };
    let p = pack(&problem, &PackOptions::default()).unwrap();
    assert_valid(&problem, &p);
    assert!(p.work_used < 100_000, "work {}", p.work_used);
    assert!(
        p.bin_count() <= p.lower_bound + 1,
        "{} bins, bound {}",
        p.bin_count(),
        p.lower_bound
    );
}

/// OR-Library triplet instances (`binpack5.txt`, t60: every optimal bin holds three items that
/// fill it exactly) as packing problems with their optima, or `None` when the data folder is
/// absent. Sizes have one decimal digit: they are scaled by ten.
fn orlib_triplets_t60() -> Option<Vec<(String, PackProblem, u64)>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/orlib-binpack/binpack5.txt");
    let text = std::fs::read_to_string(&path).ok()?;
    let tenths = |s: &str| (s.parse::<f64>().unwrap() * 10.0).round() as i64;
    let mut tokens = text.split_whitespace();
    let count: usize = tokens.next()?.parse().ok()?;
    let mut out = Vec::new();
    for _ in 0..count {
        let name = tokens.next()?.to_string();
        let capacity = tenths(tokens.next()?);
        let n: usize = tokens.next()?.parse().ok()?;
        let optimum: u64 = tokens.next()?.parse().ok()?;
        let classes = (0..n)
            .map(|i| ItemClass::new(i as u32, vec![tenths(tokens.next().unwrap())], 1))
            .collect();
        out.push((
            name,
            PackProblem {
                capacity: vec![capacity],
                classes,
            },
            optimum,
        ));
    }
    Some(out)
}

#[test]
fn triplet_instances_reach_their_optimum() {
    let Some(instances) = orlib_triplets_t60() else {
        eprintln!("skipped: ../shared/data/orlib-binpack/binpack5.txt is absent");
        return;
    };
    let mut at_optimum = 0;
    for (name, problem, optimum) in &instances {
        let p = pack(problem, &PackOptions::default()).unwrap();
        assert_valid(problem, &p);
        assert!(
            p.bin_count() <= optimum + 1,
            "{name}: {} bins",
            p.bin_count()
        );
        if p.bin_count() == *optimum {
            at_optimum += 1;
        }
    }
    eprintln!("t60: {at_optimum}/{} at the optimum", instances.len());
    assert!(at_optimum >= 19, "{at_optimum}/20 at the optimum");
}
