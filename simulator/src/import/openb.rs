//! Alibaba `openb` (cluster-trace-gpu-v2023) pod and node lists → scenario.
//!
//! * Pods: one explicit pod per row, created at `creation_time` and running for
//!   `deletion_time − creation_time` (scheduled time is ignored: the simulator schedules).
//!   Requests: `cpu_milli`, `memory_mib`, and `num_gpu` whole GPUs (`nvidia.com/gpu`); a
//!   fractional GPU share (`gpu_milli` < 1000) is rounded up to one GPU, since VPSie sizes
//!   expose whole GPUs. `gpu_spec` and `qos` are not modelled. Files without time columns
//!   (`multigpu*`) arrive at time 0 and run to the end. Pods are owned by a Job-like controller
//!   (evictable, re-created when evicted).
//! * Nodes: every distinct shape (cpu, memory, GPUs, GPU model) becomes a size and a node group
//!   of that size (min 0, max = how many such nodes the list has); prices follow a documented
//!   linear model (`PRICE_*`), since the trace has none.
//! * A window of the trace (`from`, `window`) is kept and its times compressed by `time_scale`.

use std::collections::BTreeMap;

use vpsie_engine::model::resources::NVIDIA_GPU;
use vpsie_engine::model::{NodeGroup, Resources, VpsieSize};

use super::{ImportError, scaled};
use crate::scenario::{
    AutoscalerSource, CloudSpec, ClusterSpec, PodArrival, SCENARIO_VERSION, Scenario, SimDuration,
    Workload,
};

/// USD per vCPU-hour of the price model (VPSie's example catalogue: ~$0.0034 per vCPU).
pub const PRICE_PER_VCPU: f64 = 0.0034;
/// USD per GiB-hour of memory.
pub const PRICE_PER_GIB: f64 = 0.0017;
/// USD per GPU-hour.
pub const PRICE_PER_GPU: f64 = 0.50;

/// Options of the conversion.
#[derive(Debug, Clone)]
pub struct OpenbOptions {
    /// Keep pods created at or after this trace second.
    pub from_s: f64,
    /// Keep pods created before `from + window` (all when `None`).
    pub window_s: Option<f64>,
    /// Keep at most this many pods (the first ones).
    pub limit: Option<usize>,
    /// Divide trace times by this factor.
    pub time_scale: f64,
    /// Scenario name.
    pub name: String,
    pub seed: u64,
}

impl Default for OpenbOptions {
    fn default() -> Self {
        Self {
            from_s: 0.0,
            window_s: None,
            limit: None,
            time_scale: 1.0,
            name: "openb".to_string(),
            seed: 1,
        }
    }
}

/// One parsed pod row.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenbPod {
    pub name: String,
    pub cpu_milli: i64,
    pub memory_mib: i64,
    pub gpus: i64,
    pub created_s: Option<f64>,
    pub deleted_s: Option<f64>,
}

/// One parsed node row.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenbNode {
    pub cpu_milli: i64,
    pub memory_mib: i64,
    pub gpus: u32,
    pub model: String,
}

struct Csv<'a> {
    file: &'a str,
    header: Vec<&'a str>,
}

impl<'a> Csv<'a> {
    fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h.trim() == name)
    }

    fn need(&self, name: &str) -> Result<usize, ImportError> {
        self.column(name).ok_or_else(|| ImportError::Row {
            file: self.file.to_string(),
            line: 1,
            column: name.to_string(),
            message: format!("missing column (header: {})", self.header.join(",")),
        })
    }

    fn number<T: std::str::FromStr>(
        &self,
        fields: &[&str],
        idx: usize,
        line: usize,
    ) -> Result<T, ImportError> {
        let raw = fields.get(idx).map_or("", |s| s.trim());
        raw.parse().map_err(|_| ImportError::Row {
            file: self.file.to_string(),
            line,
            column: self.header.get(idx).map_or("?", |h| h.trim()).to_string(),
            message: format!("`{raw}` is not a number"),
        })
    }

    fn optional_number(
        &self,
        fields: &[&str],
        idx: Option<usize>,
        line: usize,
    ) -> Result<Option<f64>, ImportError> {
        match idx {
            None => Ok(None),
            Some(i) if fields.get(i).is_none_or(|s| s.trim().is_empty()) => Ok(None),
            Some(i) => self.number(fields, i, line).map(Some),
        }
    }
}

fn rows(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    text.lines()
        .enumerate()
        .skip(1)
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l.split(',').collect()))
}

fn header(text: &str) -> Vec<&str> {
    text.lines().next().unwrap_or("").split(',').collect()
}

/// Parses an openb pod list.
pub fn parse_pods(text: &str, file: &str) -> Result<Vec<OpenbPod>, ImportError> {
    let csv = Csv {
        file,
        header: header(text),
    };
    let name = csv.need("name")?;
    let cpu = csv.need("cpu_milli")?;
    let mem = csv.need("memory_mib")?;
    let num_gpu = csv.need("num_gpu")?;
    let created = csv.column("creation_time");
    let deleted = csv.column("deletion_time");
    let mut out = Vec::new();
    for (line, f) in rows(text) {
        let gpus: i64 = csv.number(&f, num_gpu, line)?;
        let pod = OpenbPod {
            name: f.get(name).map_or("", |s| s.trim()).to_string(),
            cpu_milli: csv.number(&f, cpu, line)?,
            memory_mib: csv.number(&f, mem, line)?,
            gpus,
            created_s: csv.optional_number(&f, created, line)?,
            deleted_s: csv.optional_number(&f, deleted, line)?,
        };
        if pod.name.is_empty() {
            return Err(ImportError::Row {
                file: file.to_string(),
                line,
                column: "name".to_string(),
                message: "empty pod name".to_string(),
            });
        }
        if pod.cpu_milli < 0 || pod.memory_mib < 0 || pod.gpus < 0 {
            return Err(ImportError::Row {
                file: file.to_string(),
                line,
                column: "cpu_milli".to_string(),
                message: "negative request".to_string(),
            });
        }
        out.push(pod);
    }
    Ok(out)
}

/// Parses an openb node list.
pub fn parse_nodes(text: &str, file: &str) -> Result<Vec<OpenbNode>, ImportError> {
    let csv = Csv {
        file,
        header: header(text),
    };
    let cpu = csv.need("cpu_milli")?;
    let mem = csv.need("memory_mib")?;
    let gpu = csv.need("gpu")?;
    let model = csv.column("model");
    let mut out = Vec::new();
    for (line, f) in rows(text) {
        out.push(OpenbNode {
            cpu_milli: csv.number(&f, cpu, line)?,
            memory_mib: csv.number(&f, mem, line)?,
            gpus: csv.number(&f, gpu, line)?,
            model: model
                .and_then(|i| f.get(i))
                .map_or("", |s| s.trim())
                .to_string(),
        });
    }
    Ok(out)
}

/// Sizes and groups from the node shapes: (sizes, groups), one group per shape.
pub fn shapes(nodes: &[OpenbNode]) -> (Vec<VpsieSize>, Vec<NodeGroup>) {
    let mut counts: BTreeMap<(i64, i64, u32, String), u32> = BTreeMap::new();
    for n in nodes {
        *counts
            .entry((n.cpu_milli, n.memory_mib, n.gpus, n.model.clone()))
            .or_default() += 1;
    }
    let mut sizes = Vec::new();
    let mut groups = Vec::new();
    for (i, ((cpu, mem, gpus, model), count)) in counts.into_iter().enumerate() {
        let vcpu = (cpu as f64 / 1000.0).ceil() as u32;
        let gib = mem as f64 / 1024.0;
        let gpu_part = if gpus > 0 {
            format!("-{gpus}x{}", if model.is_empty() { "GPU" } else { &model })
        } else {
            String::new()
        };
        let name = format!("OPENB-{vcpu}C-{}G{gpu_part}", gib.round() as i64);
        let price = f64::from(vcpu) * PRICE_PER_VCPU
            + gib * PRICE_PER_GIB
            + f64::from(gpus) * PRICE_PER_GPU;
        sizes.push(VpsieSize {
            id: 1000 + i as u32,
            name: name.clone(),
            vcpu,
            ram_mb: mem.max(0) as u64,
            disk_gb: 200,
            gpu: gpus,
            hourly_price: (price * 10_000.0).round() / 10_000.0,
            max_pods: vpsie_engine::model::group::DEFAULT_MAX_PODS,
        });
        groups.push(NodeGroup {
            name: name.to_lowercase(),
            size: name,
            min: 0,
            max: count,
            labels: Default::default(),
            taints: Vec::new(),
            zone: None,
            datacenter: None,
            priority: 0,
            system_reserved: None,
            scale_down_utilization_threshold: None,
            shared_max: None,
        });
    }
    (sizes, groups)
}

/// Builds the scenario.
pub fn convert(pods: &[OpenbPod], nodes: &[OpenbNode], opts: &OpenbOptions) -> Scenario {
    let window_end = opts.window_s.map(|w| opts.from_s + w);
    let mut arrivals = Vec::new();
    let mut end_s: f64 = 0.0;
    for p in pods {
        let created = p.created_s.unwrap_or(0.0);
        if created < opts.from_s || window_end.is_some_and(|e| created >= e) {
            continue;
        }
        if opts.limit.is_some_and(|l| arrivals.len() >= l) {
            break;
        }
        let duration = p.deleted_s.map(|d| (d - created).max(1.0));
        let rel = created - opts.from_s;
        end_s = end_s.max(rel + duration.unwrap_or(0.0));
        let mut requests = Resources::new(p.cpu_milli, p.memory_mib * 1024 * 1024);
        requests.set_extended(NVIDIA_GPU, p.gpus);
        arrivals.push(PodArrival {
            name: p.name.clone(),
            at: scaled(rel, opts.time_scale),
            duration: duration.map(|d| scaled(d, opts.time_scale)),
            count: 1,
            owner_kind: Some("Job".to_string()),
            template: None,
            requests: Some(requests),
        });
    }
    let (sizes, groups) = shapes(nodes);
    let horizon = window_end.map_or(end_s, |e| e - opts.from_s).max(600.0);
    Scenario {
        version: SCENARIO_VERSION,
        name: opts.name.clone(),
        description: format!(
            "{} pods of the Alibaba openb trace on {} node shapes (time scale {}).",
            arrivals.len(),
            groups.len(),
            opts.time_scale
        ),
        seed: opts.seed,
        duration: scaled(horizon, opts.time_scale).max(SimDuration::from_secs(600)),
        sample_interval: None,
        cluster: ClusterSpec {
            name: "OPENB-Kubernetes-0001".to_string(),
            sizes,
            node_groups: groups,
            initial_nodes: BTreeMap::new(),
            static_nodes: Vec::new(),
            daemon_sets: Vec::new(),
            pdbs: Vec::new(),
            system_reserved: Resources::default(),
            zones: Vec::new(),
        },
        cloud: CloudSpec {
            worker_limit: nodes.len().max(1) as u32,
            ..CloudSpec::default()
        },
        faults: Vec::new(),
        workload: Workload {
            pods: arrivals,
            ..Workload::default()
        },
        autoscaler: AutoscalerSource::default(),
    }
}
