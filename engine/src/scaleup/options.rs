//! Node options: every node group, and every catalogue size no group uses proposed as a new
//! group (VPSie allows one group per size per cluster) in each zone of the snapshot.
//!
//! Also the cluster-wide limit accounting: how many more nodes of an option the group max and
//! the cluster limits (nodes, cores, memory; existing and in-flight nodes count) allow.

use std::collections::BTreeMap;

use crate::model::node::LABEL_HOSTNAME;
use crate::model::{ClusterSnapshot, NodeGroup, Resources, VpsieSize};
use crate::sched::{NodeIdx, NodeTemplate, template_for};

use super::plan::{ClusterLimits, GroupBlock};

/// Priority of proposed new groups under the `priority` expander: below every configured group.
pub const NEW_GROUP_PRIORITY: i32 = i32::MIN;

/// Name of the group the planner proposes for a catalogue size no group uses:
/// `auto-<size>` (lowercased, non-alphanumerics as `-`), plus `-<zone>` when zoned.
pub fn new_group_name(size: &VpsieSize, zone: Option<&str>) -> String {
    let slug = |s: &str| -> String {
        let mut out = String::with_capacity(s.len());
        for c in s.chars() {
            if c.is_ascii_alphanumeric() {
                out.push(c.to_ascii_lowercase());
            } else if !out.ends_with('-') {
                out.push('-');
            }
        }
        out.trim_matches('-').to_string()
    };
    match zone {
        Some(z) => format!("auto-{}-{}", slug(&size.name), slug(z)),
        None => format!("auto-{}", slug(&size.name)),
    }
}

/// One way to add nodes.
#[derive(Debug, Clone)]
pub(crate) struct NodeOption {
    pub name: String,
    pub size: VpsieSize,
    pub template: NodeTemplate,
    /// Template labels plus a placeholder hostname, for static checks.
    pub static_labels: BTreeMap<String, String>,
    /// Allocatable minus DaemonSets: what workload pods get on an empty node.
    pub capacity: Resources,
    pub new_group: bool,
    pub priority: i32,
    /// The group's max (for explanations); `u32::MAX` for proposed groups.
    pub max: u32,
    /// Nodes the group max still allows (max − current − in-flight − planned).
    pub group_room: u32,
    pub blocked: Option<GroupBlock>,
    /// Another zone's proposal of the same size was chosen (one group per size).
    pub superseded: bool,
    /// Nodes committed to the plan, in order.
    pub planned: Vec<NodeIdx>,
    /// Nodes of this option present in the placement state but unused (made unschedulable);
    /// reused before adding more, so rejected simulations leave no trace.
    pub pool: Vec<NodeIdx>,
    /// Nodes ever added to the state for this option (names stay unique).
    pub minted: usize,
    /// Name of the maximum this option's group shares with others, if any.
    pub shared: Option<String>,
}

impl NodeOption {
    fn new(candidate: CandidateGroup, room: u32) -> Self {
        let CandidateGroup {
            group,
            size,
            new_group,
            template,
        } = candidate;
        let mut static_labels = template.labels.clone();
        static_labels.insert(LABEL_HOSTNAME.to_string(), format!("{}-new", group.name));
        let capacity = template.workload_capacity();
        Self {
            name: group.name.clone(),
            size,
            template,
            static_labels,
            capacity,
            new_group,
            priority: group.priority,
            max: group.max,
            group_room: room,
            blocked: None,
            superseded: false,
            planned: Vec::new(),
            pool: Vec::new(),
            minted: 0,
            shared: group.shared_max.as_ref().map(|m| m.name.clone()),
        }
    }

    /// Cores a node of this option counts toward the cluster cpu limit.
    pub fn cores(&self) -> u64 {
        u64::from(self.size.vcpu)
    }

    /// Bytes a node of this option counts toward the cluster memory limit.
    pub fn memory(&self) -> i64 {
        self.size.capacity().memory
    }
}

/// A group the scale-up planner may grow: one of the snapshot's, or a new group it proposes
/// for a size no group uses.
#[derive(Debug, Clone)]
pub struct CandidateGroup {
    pub group: NodeGroup,
    pub size: VpsieSize,
    pub new_group: bool,
    /// What a new node of the group looks like (`template_for`).
    pub template: NodeTemplate,
}

/// Every group the scale-up planner weighs: the snapshot's groups whose size is in the
/// catalogue, then, for each size no group uses, a proposed group per zone (or one without a
/// zone), unless a group already has the proposal's name.
pub fn candidate_groups(snapshot: &ClusterSnapshot) -> Vec<CandidateGroup> {
    let size_by_name: BTreeMap<&str, &VpsieSize> = snapshot
        .sizes
        .iter()
        .map(|s| (s.name.as_str(), s))
        .collect();
    let mut groups: Vec<&NodeGroup> = snapshot.node_groups.iter().collect();
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out: Vec<CandidateGroup> = groups
        .iter()
        .filter_map(|g| {
            let size = size_by_name.get(g.size.as_str())?;
            Some(CandidateGroup {
                template: template_for(snapshot, g, size),
                group: (*g).clone(),
                size: (*size).clone(),
                new_group: false,
            })
        })
        .collect();
    let mut zones: Vec<Option<String>> = snapshot.zones.iter().cloned().map(Some).collect();
    zones.sort();
    zones.dedup();
    if zones.is_empty() {
        zones.push(None);
    }
    for size in size_by_name.values() {
        if groups.iter().any(|g| g.size == size.name) {
            continue;
        }
        for zone in &zones {
            let name = new_group_name(size, zone.as_deref());
            if groups.iter().any(|g| g.name == name) {
                continue;
            }
            let group = NodeGroup {
                name,
                size: size.name.clone(),
                min: 0,
                max: u32::MAX,
                labels: BTreeMap::new(),
                taints: Vec::new(),
                zone: zone.clone(),
                datacenter: None,
                priority: NEW_GROUP_PRIORITY,
                system_reserved: None,
                scale_down_utilization_threshold: None,
                shared_max: None,
            };
            out.push(CandidateGroup {
                template: template_for(snapshot, &group, size),
                group,
                size: (*size).clone(),
                new_group: true,
            });
        }
    }
    out
}

/// Every option, sorted by name: the candidate groups with the room their max leaves.
pub(crate) fn build_options(
    snapshot: &ClusterSnapshot,
    blocked: &BTreeMap<String, GroupBlock>,
) -> Vec<NodeOption> {
    let mut current: BTreeMap<&str, u32> = BTreeMap::new();
    for g in snapshot.group_members() {
        *current.entry(g).or_insert(0) += 1;
    }
    let mut options: Vec<NodeOption> = candidate_groups(snapshot)
        .into_iter()
        .map(|c| {
            let used = current.get(c.group.name.as_str()).copied().unwrap_or(0);
            // A proposal has no max of its own; what it may add is bounded by the limits.
            let room = if c.new_group {
                u32::MAX - used
            } else {
                c.group.max.saturating_sub(used)
            };
            NodeOption::new(c, room)
        })
        .collect();
    options.sort_by(|a, b| a.name.cmp(&b.name));
    for o in &mut options {
        o.blocked = blocked.get(&o.name).cloned();
    }
    options
}

/// Which limit stops an option from adding a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Cap {
    GroupMax,
    ClusterNodes,
    ClusterCores,
    ClusterMemory,
}

/// What the cluster-wide limits still allow.
#[derive(Debug, Clone)]
pub(crate) struct LimitBudget {
    pub limits: ClusterLimits,
    pub nodes_left: Option<u64>,
    pub cores_left: Option<u64>,
    pub memory_left: Option<i64>,
    /// Nodes each shared maximum still allows (`NodeGroup::shared_max`).
    pub shared_left: BTreeMap<String, u64>,
}

impl LimitBudget {
    /// Counts existing and in-flight nodes against `limits`. A node of a known group counts its
    /// size's vCPUs and RAM; any other node its allocatable (cpu rounded up to whole cores).
    pub fn new(snapshot: &ClusterSnapshot, limits: &ClusterLimits) -> Self {
        let size_of_group = |group: &str| -> Option<&VpsieSize> {
            let g = snapshot.node_groups.iter().find(|g| g.name == group)?;
            snapshot.sizes.iter().find(|s| s.name == g.size)
        };
        let mut nodes: u64 = 0;
        let mut cores: u64 = 0;
        let mut memory: i64 = 0;
        for n in &snapshot.nodes {
            nodes += 1;
            match n.node_group.as_deref().and_then(size_of_group) {
                Some(s) => {
                    cores += u64::from(s.vcpu);
                    memory = memory.saturating_add(s.capacity().memory);
                }
                None => {
                    cores += u64::try_from(n.allocatable.cpu_milli.max(0))
                        .unwrap_or(0)
                        .div_ceil(1000);
                    memory = memory.saturating_add(n.allocatable.memory.max(0));
                }
            }
        }
        for f in &snapshot.in_flight {
            nodes += 1;
            if let Some(s) = size_of_group(&f.node_group) {
                cores += u64::from(s.vcpu);
                memory = memory.saturating_add(s.capacity().memory);
            }
        }
        let mut shared_used: BTreeMap<&str, u64> = BTreeMap::new();
        let shared_of: BTreeMap<&str, &str> = snapshot
            .node_groups
            .iter()
            .filter_map(|g| Some((g.name.as_str(), g.shared_max.as_ref()?.name.as_str())))
            .collect();
        if !shared_of.is_empty() {
            for group in snapshot.group_members() {
                if let Some(name) = shared_of.get(group) {
                    *shared_used.entry(name).or_default() += 1;
                }
            }
        }
        let shared_left = snapshot
            .node_groups
            .iter()
            .filter_map(|g| g.shared_max.as_ref())
            .map(|m| {
                let used = shared_used.get(m.name.as_str()).copied().unwrap_or(0);
                (m.name.clone(), u64::from(m.max).saturating_sub(used))
            })
            .collect();
        Self {
            limits: limits.clone(),
            shared_left,
            nodes_left: limits.max_nodes.map(|m| u64::from(m).saturating_sub(nodes)),
            cores_left: limits.max_cores.map(|m| m.saturating_sub(cores)),
            memory_left: limits.max_memory_bytes.map(|m| (m - memory).max(0)),
        }
    }

    /// How many more nodes of `opt` fit every limit, and which limit binds (the group max
    /// when several allow the same number).
    pub fn room(&self, opt: &NodeOption) -> (u32, Cap) {
        let mut room = u64::from(opt.group_room);
        let mut cap = Cap::GroupMax;
        let mut tighten = |n: u64, which: Cap| {
            if n < room {
                room = n;
                cap = which;
            }
        };
        if let Some(n) = opt.shared.as_ref().and_then(|s| self.shared_left.get(s)) {
            // A shared maximum is the group's own max spread over several sizes.
            tighten(*n, Cap::GroupMax);
        }
        if let Some(n) = self.nodes_left {
            tighten(n, Cap::ClusterNodes);
        }
        if let Some(c) = self.cores_left {
            let per = opt.cores().max(1);
            tighten(c / per, Cap::ClusterCores);
        }
        if let Some(m) = self.memory_left {
            let per = opt.memory().max(1);
            tighten(u64::try_from(m / per).unwrap_or(0), Cap::ClusterMemory);
        }
        (u32::try_from(room).unwrap_or(u32::MAX), cap)
    }

    /// Accounts `count` new nodes of `opt`.
    pub fn take(&mut self, opt: &NodeOption, count: u32) {
        let n = u64::from(count);
        if let Some(left) = opt
            .shared
            .as_ref()
            .and_then(|s| self.shared_left.get_mut(s))
        {
            *left = left.saturating_sub(n);
        }
        if let Some(l) = &mut self.nodes_left {
            *l = l.saturating_sub(n);
        }
        if let Some(c) = &mut self.cores_left {
            *c = c.saturating_sub(opt.cores() * n);
        }
        if let Some(m) = &mut self.memory_left {
            *m = (*m - opt.memory().saturating_mul(i64::from(count))).max(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_group_names_are_slugs() {
        let size = VpsieSize {
            id: 5,
            name: "K8S-4C-16G (high memory)".into(),
            vcpu: 4,
            ram_mb: 16384,
            disk_gb: 160,
            gpu: 0,
            hourly_price: 0.0438,
            max_pods: 110,
        };
        assert_eq!(new_group_name(&size, None), "auto-k8s-4c-16g-high-memory");
        assert_eq!(
            new_group_name(&size, Some("HEL 1")),
            "auto-k8s-4c-16g-high-memory-hel-1"
        );
    }
}
