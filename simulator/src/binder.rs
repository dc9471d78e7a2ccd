//! The binder's node choice, like kube-scheduler's default profile reduced to what matters
//! for capacity: filter with the engine's scheduler (`ClusterState::check`, every filter), then
//! score **least-allocated**: the node whose free cpu and memory fractions after placement have
//! the highest mean wins; ties go to the node whose name sorts first.
//!
//! For speed, nodes are ranked by the score first (a cheap integer computation) and the full
//! filter runs in rank order until one node passes; the outcome is the same as filtering every
//! node and taking the best score.

use std::collections::BTreeSet;

use vpsie_engine::model::Pod;
use vpsie_engine::sched::{ClusterState, NodeIdx};

/// Score scale: parts per million of free capacity.
const SCALE: i64 = 1_000_000;

/// Least-allocated score of placing `request` on node `i` (higher is better), or `None` when cpu,
/// memory or pod slots are short.
fn score(state: &ClusterState, i: NodeIdx, cpu: i64, memory: i64) -> Option<i64> {
    let alloc = state.allocatable(i);
    let used = state.used(i);
    let free_cpu = alloc.cpu_milli - used.cpu_milli - cpu;
    let free_mem = alloc.memory - used.memory - memory;
    if free_cpu < 0 || free_mem < 0 || used.pods + 1 > alloc.pods.max(0) && alloc.pods > 0 {
        return None;
    }
    let frac = |free: i64, total: i64| -> i64 {
        if total <= 0 {
            0
        } else {
            ((free as i128 * SCALE as i128) / total as i128) as i64
        }
    };
    Some((frac(free_cpu, alloc.cpu_milli) + frac(free_mem, alloc.memory)) / 2)
}

/// The node a pending pod goes to, if any. `scratch` is a reusable buffer.
pub fn choose_node(
    state: &ClusterState,
    usable: &BTreeSet<NodeIdx>,
    pod: &Pod,
    scratch: &mut Vec<(i64, NodeIdx)>,
) -> Option<NodeIdx> {
    let request = pod.effective_requests();
    scratch.clear();
    for &i in usable {
        if let Some(s) = score(state, i, request.cpu_milli, request.memory) {
            scratch.push((s, i));
        }
    }
    let better = |a: &(i64, NodeIdx), b: &(i64, NodeIdx)| {
        b.0.cmp(&a.0)
            .then_with(|| state.node_name(a.1).cmp(state.node_name(b.1)))
    };
    // Usually the best-scored node passes every filter: find it in one pass, and rank the
    // rest only when it does not.
    let best = scratch.iter().copied().min_by(|a, b| better(a, b))?;
    if state.check_with_request(pod, &request, best.1).is_ok() {
        return Some(best.1);
    }
    scratch.sort_by(better);
    scratch
        .iter()
        .skip(1)
        .map(|&(_, i)| i)
        .find(|&i| state.check_with_request(pod, &request, i).is_ok())
}
