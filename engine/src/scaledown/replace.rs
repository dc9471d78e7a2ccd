//! N-to-M consolidation: replace several under-used nodes by fewer or cheaper new ones.
//!
//! Candidates are the nodes that stay after the removals for utilization or placement reasons
//! only, least utilized first. For each prefix of them (up to the policy's cap and the decision's
//! remaining parallelism), their pods are first re-placed on nodes that stay, and the rest packed
//! first-fit onto new nodes of each template (every group's size, and every catalogue size no
//! group uses yet as a new group). The cheapest result that saves money and passes the
//! savings-versus-disruption rule wins; ties go to fewer removed nodes, then the template name.

use std::collections::BTreeMap;

use crate::model::{ClusterSnapshot, NodeGroup, Pod, Resources, VpsieSize};
use crate::sched::{NodeIdx, NodeKind, NodeTemplate, static_fit_request, template_for};

use super::pdb::Cover;
use super::planner::{Decision, safe_div};
use super::types::{Eviction, KeepReason, NewNodes, PodBlock, Replacement};

/// Every template a replacement may use: (template, is a new group), sorted by group name.
fn templates(snapshot: &ClusterSnapshot) -> Vec<(NodeTemplate, bool)> {
    let mut out = Vec::new();
    let mut groups: Vec<&NodeGroup> = snapshot.node_groups.iter().collect();
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    for g in &groups {
        if let Some(size) = snapshot.sizes.iter().find(|s| s.name == g.size) {
            out.push((template_for(snapshot, g, size), false));
        }
    }
    let mut sizes: Vec<_> = snapshot
        .sizes
        .iter()
        .filter(|s| !groups.iter().any(|g| g.size == s.name))
        .collect();
    sizes.sort_by(|a, b| a.name.cmp(&b.name));
    for size in sizes {
        let group = NodeGroup {
            name: new_group_name(size),
            size: size.name.clone(),
            min: 0,
            max: u32::MAX,
            labels: BTreeMap::new(),
            taints: Vec::new(),
            zone: None,
            datacenter: None,
            priority: 0,
            system_reserved: None,
            scale_down_utilization_threshold: None,
            shared_max: None,
        };
        out.push((template_for(snapshot, &group, size), true));
    }
    out
}

/// Name of the group a replacement would create for a size no group uses yet: the same name
/// the scale-up planner gives it, so both planners refer to one group (VPSie allows one group
/// per size per cluster).
pub fn new_group_name(size: &VpsieSize) -> String {
    crate::scaleup::new_group_name(size, None)
}

/// One evaluated option.
#[derive(Debug, Clone)]
struct Option_ {
    n: usize,
    template: usize,
    count: u32,
    saving: f64,
    savings_fraction: f64,
    disruption_fraction: f64,
}

/// Simulation of removing `set` and placing its pods; returns evictions (pod, destination
/// index), or None when some pod fits neither a node that stays nor a new node of `template`.
/// When `keep` is false everything is undone.
fn simulate<'a>(
    d: &mut Decision<'a>,
    set: &[usize],
    template: Option<&NodeTemplate>,
    keep: bool,
    new_names: &mut u32,
) -> Option<Vec<(&'a Pod, Cover, NodeIdx)>> {
    for &i in set {
        let idx = d.nodes[i].idx;
        d.placer.get().set_schedulable(idx, false);
        for pod in d.nodes[i].pods.clone() {
            d.placer.get().unbind(pod);
        }
    }
    let mut pods: Vec<(&'a Pod, Resources, Cover)> = set
        .iter()
        .flat_map(|&i| d.nodes[i].evict.iter().cloned())
        .collect();
    pods.sort_by(|a, b| {
        (b.1.cpu_milli, b.1.memory)
            .cmp(&(a.1.cpu_milli, a.1.memory))
            .then_with(|| (&a.0.namespace, &a.0.name).cmp(&(&b.0.namespace, &b.0.name)))
    });
    let removing = set.first().map(|&i| d.nodes[i].idx).unwrap_or(0);
    let mut placed: Vec<(&'a Pod, Cover, NodeIdx)> = Vec::new();
    let mut new_nodes: Vec<NodeIdx> = Vec::new();
    let mut ok = true;
    for (pod, request, covering) in &pods {
        // New nodes are tried before opening another; nodes that stay first of all.
        let existing = d
            .placer
            .get()
            .find_place(pod, request, removing, false)
            .ok();
        let dest = existing.or_else(|| {
            let t = template?;
            if let Some(&n) = new_nodes.iter().find(|&&n| {
                d.placer
                    .get()
                    .state
                    .check_with_request(pod, request, n)
                    .is_ok()
            }) {
                return Some(n);
            }
            static_fit_request(pod, request, t).ok()?;
            *new_names += 1;
            let n = d
                .placer
                .get()
                .state
                .add_node_from_template(t, format!("new:{}#{}", t.group, new_nodes.len() + 1));
            d.placer.get().set_schedulable(n, true);
            new_nodes.push(n);
            d.placer
                .get()
                .state
                .check_with_request(pod, request, n)
                .is_ok()
                .then_some(n)
        });
        match dest {
            Some(n) => {
                d.placer.get().bind(pod, n);
                placed.push((pod, covering.clone(), n));
            }
            None => {
                ok = false;
                break;
            }
        }
    }
    if ok && keep {
        return Some(placed);
    }
    for (pod, _, _) in &placed {
        d.placer.get().unbind(pod);
    }
    for n in &new_nodes {
        d.placer.get().set_schedulable(*n, false);
    }
    for &i in set {
        d.put_back(i);
    }
    ok.then_some(placed)
}

/// Plans at most one N-to-M replacement on top of the decision's removals, and applies it to
/// the decision's state when found.
pub(crate) fn plan_replacement(
    d: &mut Decision<'_>,
    verdicts: &BTreeMap<usize, KeepReason>,
    budget: usize,
) -> Option<Replacement> {
    let policy = d.opts.consolidation.clone();
    let mut cands: Vec<usize> = verdicts
        .iter()
        .filter(|(i, r)| {
            let info = &d.nodes[**i];
            info.verdict.is_none()
                && info.node.ready
                && !info.empty
                && !d.destinations.contains(&info.idx)
                && matches!(
                    r,
                    KeepReason::NotUnderutilized { .. }
                        | KeepReason::NotWorthDisruption { .. }
                        | KeepReason::PodBlocks {
                            block: PodBlock::NoPlace { .. },
                            ..
                        }
                )
        })
        .map(|(i, _)| *i)
        .collect();
    cands.sort_by(|a, b| {
        let (x, y) = (&d.nodes[*a], &d.nodes[*b]);
        x.cpu
            .max(x.memory)
            .total_cmp(&y.cpu.max(y.memory))
            .then_with(|| x.node.name.cmp(&y.node.name))
    });
    let max_n = cands
        .len()
        .min(policy.max_replace_nodes as usize)
        .min(budget);
    let templates = templates(d.snapshot);
    let in_flight = |g: &str| {
        d.snapshot
            .in_flight
            .iter()
            .filter(|f| f.node_group == g)
            .count()
    };
    let mut best: Option<Option_> = None;
    let mut names = 0u32;
    for n in 1..=max_n {
        let set = &cands[..n];
        // Group minimum and PDB budget of removing the whole set.
        let mut per_group: BTreeMap<&str, u32> = BTreeMap::new();
        let mut pdb_use: BTreeMap<usize, i32> = BTreeMap::new();
        for &i in set {
            if let Some(g) = d.nodes[i].group {
                *per_group.entry(g.name.as_str()).or_insert(0) += 1;
            }
            for (p, k) in &d.nodes[i].pdb_use {
                *pdb_use.entry(*p).or_insert(0) += k;
            }
        }
        let pdb_use: Vec<(usize, i32)> = pdb_use.into_iter().collect();
        if d.ledger.first_exhausted(&pdb_use).is_some() {
            break;
        }
        let removed_price: f64 = set.iter().map(|&i| d.nodes[i].price).sum();
        let disruption = set.iter().map(|&i| d.nodes[i].disruption()).sum::<i64>() as f64;
        let disruption_fraction = safe_div(disruption, d.cluster_disruption());
        for (t_idx, (t, _)) in templates.iter().enumerate() {
            let Some(placed) = simulate(d, set, Some(t), false, &mut names) else {
                continue;
            };
            let count = placed
                .iter()
                .map(|(_, _, n)| *n)
                .filter(|n| d.placer.get().state.node_kind(*n) == NodeKind::New)
                .collect::<std::collections::BTreeSet<_>>()
                .len() as u32;
            let saving = removed_price - f64::from(count) * t.hourly_price;
            // Group bounds: the target group may grow by `count`, sources stay at their min.
            let group_ok = per_group.iter().all(|(g, k)| {
                let size = d.group_size.get(g).copied().unwrap_or(0);
                let removed = d.group_removed.get(g).copied().unwrap_or(0) + k;
                let added = if *g == t.group { count } else { 0 };
                let min = d
                    .snapshot
                    .node_groups
                    .iter()
                    .find(|x| x.name == *g)
                    .map(|x| x.min)
                    .unwrap_or(0);
                size + added >= removed + min
            });
            let max_ok = count == 0
                || d.snapshot
                    .node_groups
                    .iter()
                    .find(|x| x.name == t.group)
                    .is_none_or(|g| {
                        let size = d.group_size.get(g.name.as_str()).copied().unwrap_or(0);
                        let removed = d.group_removed.get(g.name.as_str()).copied().unwrap_or(0);
                        u64::from(size) + in_flight(&g.name) as u64 + u64::from(count)
                            <= u64::from(g.max) + u64::from(removed)
                    });
            if !group_ok || !max_ok || saving <= 0.0 {
                continue;
            }
            let savings_fraction = safe_div(saving, d.cluster_cost);
            if !policy.worth_it(savings_fraction, disruption_fraction) {
                continue;
            }
            let better = match &best {
                None => true,
                Some(b) => saving > b.saving + 1e-9,
            };
            if better {
                best = Some(Option_ {
                    n,
                    template: t_idx,
                    count,
                    saving,
                    savings_fraction,
                    disruption_fraction,
                });
            }
        }
    }
    let best = best?;
    let set: Vec<usize> = cands[..best.n].to_vec();
    let (t, new_group) = templates[best.template].clone();
    let placed = simulate(d, &set, Some(&t), true, &mut names)?;
    let evictions: Vec<Eviction> = placed
        .iter()
        .map(|(pod, covering, n)| Eviction {
            pod: pod.key(),
            destination: d.placer.get().state.node_name(*n).to_string(),
            pdbs: covering.iter().map(|c| d.ledger.keys[*c].clone()).collect(),
        })
        .collect();

    for (_, _, n) in &placed {
        if d.placer.get().state.node_kind(*n) != NodeKind::New {
            d.destinations.insert(*n);
        }
    }
    let mut remove: Vec<String> = Vec::new();
    for &i in &set {
        let use_ = d.nodes[i].pdb_use.clone();
        d.ledger.consume(&use_);
        if let Some(g) = d.nodes[i].group {
            *d.group_removed.entry(g.name.as_str()).or_insert(0) += 1;
        }
        d.gone.insert(i);
        remove.push(d.nodes[i].node.name.clone());
    }
    d.placer.get().commit();
    remove.sort();
    let add = if best.count == 0 {
        Vec::new()
    } else {
        vec![NewNodes {
            group: t.group.clone(),
            size: t.size.clone(),
            new_group,
            count: best.count,
            hourly_price: t.hourly_price,
        }]
    };
    Some(Replacement {
        remove,
        add,
        evictions,
        hourly_saving: best.saving,
        savings_fraction: best.savings_fraction,
        disruption_fraction: best.disruption_fraction,
    })
}
