//! Packing quality against public bin-packing benchmarks with known optima: reads OR-Library
//! 1-D files and Vectorpack `.vbp` vector instances, turns each instance into a snapshot (one
//! size whose capacity is the bin, one pending pod per item, no reservations, no DaemonSets),
//! runs the normal scale-up planner, and compares its node count with the optimum and with
//! first-fit-decreasing.

pub mod orlib;
pub mod vbp;

use std::path::{Path, PathBuf};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use serde_json::json;
use vpsie_engine::model::ClusterSnapshot;
use vpsie_engine::scaleup::packing::{self, ItemClass, PackProblem};
use vpsie_engine::scaleup::{ScaleUpOptions, plan_scale_up};

/// Seed of the item shuffle (Triplet files list each optimal bin's items together).
const SHUFFLE_SEED: u64 = 42;

/// One benchmark instance: a bin capacity vector, item size vectors, and the optimum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub name: String,
    pub capacity: Vec<i64>,
    pub items: Vec<Vec<i64>>,
    pub optimum: u64,
    pub optimum_source: OptimumSource,
    /// Item sizes written as negative numbers in the file, read as zero.
    pub negative_sizes_read_as_zero: usize,
}

/// Where an instance's optimum comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptimumSource {
    /// The instance file's own header (OR-Library's best known value).
    Header,
    /// A bounds table with equal lower and upper bound.
    BoundsTable,
    /// The set's optimum table (`*_summary_known.csv`).
    Table,
}

/// Instances read from one file or one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceSet {
    pub name: String,
    pub instances: Vec<Instance>,
    /// Instance files present whose optimum is unknown (not evaluated).
    pub skipped_unknown_optimum: usize,
}

/// Why a folder could not be evaluated.
#[derive(Debug, thiserror::Error)]
pub enum QualityError {
    #[error("{file}:{line}: {what}")]
    Syntax {
        file: String,
        line: usize,
        what: String,
    },
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{dir}: no bin packing instances found (expected OR-Library files such as binpack1.txt, or a <Set>_summary_known.csv table beside a <Set>_instances folder of .vbp files)"
    )]
    Empty { dir: String },
    #[error(
        "instance {name}: {dims} dimensions, but only 1 to 4 map onto a node size (cpu, memory, disk, gpu)"
    )]
    Dimensions { name: String, dims: usize },
    #[error("instance {name}: snapshot does not load: {message}")]
    Snapshot { name: String, message: String },
}

fn read(path: &Path) -> Result<String, QualityError> {
    std::fs::read_to_string(path).map_err(|source| QualityError::Io {
        path: path.display().to_string(),
        source,
    })
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, QualityError> {
    let io = |source| QualityError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        out.push(entry.map_err(io)?.path());
    }
    out.sort();
    Ok(out)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Reads every instance set in `dir`: each OR-Library `*.txt` file is a set (named after its
/// instances' class, e.g. `u120`), and each `<Set>_summary_known.csv` (or `<Set>_base_OPT.csv`)
/// with its `<Set>_instances` folder is a set named `<Set>`. A bounds table (`Bounds.txt` in
/// `dir` or in a sibling `bpplib-bounds` folder) overrides OR-Library header optima.
pub fn load_dir(dir: &Path) -> Result<Vec<InstanceSet>, QualityError> {
    let entries = sorted_entries(dir)?;
    let mut sets = Vec::new();

    let bounds_paths = [
        dir.join("Bounds.txt"),
        dir.join("..").join("bpplib-bounds").join("Bounds.txt"),
    ];
    let mut bounds = orlib::BoundsTable::default();
    for path in &bounds_paths {
        if path.is_file() {
            bounds = orlib::BoundsTable::parse(&read(path)?, &path.display().to_string())?;
            break;
        }
    }
    for path in &entries {
        let name = file_name(path);
        if !path.is_file() || !name.ends_with(".txt") || name == "Bounds.txt" {
            continue;
        }
        let Some(mut instances) = orlib::parse_file(&read(path)?, &path.display().to_string())?
        else {
            continue;
        };
        for inst in &mut instances {
            if let Some(opt) = bounds.optimum(&inst.name) {
                inst.optimum = opt;
                inst.optimum_source = OptimumSource::BoundsTable;
            }
        }
        let set_name = instances
            .first()
            .and_then(|i| i.name.split('_').next())
            .map(str::to_string)
            .unwrap_or_else(|| name.trim_end_matches(".txt").to_string());
        sets.push(InstanceSet {
            name: set_name,
            instances,
            skipped_unknown_optimum: 0,
        });
    }

    // Vector sets: one optimum table per set prefix, the summary preferred.
    let mut tables: Vec<(String, PathBuf)> = Vec::new();
    for suffix in ["_summary_known.csv", "_base_OPT.csv"] {
        for path in &entries {
            let name = file_name(path);
            if let Some(prefix) = name.strip_suffix(suffix)
                && !tables.iter().any(|(p, _)| p == prefix)
            {
                tables.push((prefix.to_string(), path.clone()));
            }
        }
    }
    tables.sort();
    for (prefix, table) in tables {
        let folder = dir.join(format!("{prefix}_instances"));
        if !folder.is_dir() {
            continue;
        }
        let optima = vbp::parse_optima(&read(&table)?, &table.display().to_string())?;
        let mut files = Vec::new();
        collect_vbp(&folder, &mut files)?;
        let mut set = InstanceSet {
            name: prefix.clone(),
            instances: Vec::new(),
            skipped_unknown_optimum: 0,
        };
        for path in files {
            let stem = file_name(&path).trim_end_matches(".vbp").to_string();
            let Some(&opt) = optima.get(&stem) else {
                set.skipped_unknown_optimum += 1;
                continue;
            };
            let mut inst = vbp::parse_file(&read(&path)?, &path.display().to_string(), &stem)?;
            inst.optimum = opt;
            set.instances.push(inst);
        }
        set.instances.sort_by(|a, b| a.name.cmp(&b.name));
        if !set.instances.is_empty() || set.skipped_unknown_optimum > 0 {
            sets.push(set);
        }
    }
    if sets.is_empty() {
        return Err(QualityError::Empty {
            dir: dir.display().to_string(),
        });
    }
    Ok(sets)
}

fn collect_vbp(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), QualityError> {
    for path in sorted_entries(dir)? {
        if path.is_dir() {
            collect_vbp(&path, out)?;
        } else if file_name(&path).ends_with(".vbp") {
            out.push(path);
        }
    }
    Ok(())
}

/// The instance as a cluster snapshot: one node group of one size whose capacity is the bin
/// (dimensions map to cpu cores, memory MiB, disk GiB, GPUs), no nodes, no reservations, and one
/// pending pod per item, named in a seeded shuffled order.
pub fn to_snapshot(inst: &Instance) -> Result<ClusterSnapshot, QualityError> {
    let dims = inst.capacity.len();
    if !(1..=4).contains(&dims) {
        return Err(QualityError::Dimensions {
            name: inst.name.clone(),
            dims,
        });
    }
    let cap = |d: usize, default: i64| inst.capacity.get(d).copied().unwrap_or(default);
    let n = inst.items.len().max(1);
    let size = json!({
        "id": 1, "name": "bin", "vcpu": cap(0, 0), "ramMb": cap(1, 1), "diskGb": cap(2, 1),
        "gpu": cap(3, 0), "hourlyPrice": 1.0, "maxPods": n,
    });
    let order = shuffled(inst.items.len());
    let pods: Vec<serde_json::Value> = order
        .iter()
        .enumerate()
        .map(|(i, &item)| {
            let s = &inst.items[item];
            let get = |d: usize| s.get(d).copied().unwrap_or(0);
            let mut requests = json!({
                "cpu": get(0),
                "memory": get(1) * (1 << 20),
                "ephemeral-storage": get(2) * (1 << 30),
            });
            if dims == 4 {
                requests["nvidia.com/gpu"] = json!(get(3));
            }
            json!({ "name": format!("item-{i:05}"), "containers": [{ "name": "c", "requests": requests }] })
        })
        .collect();
    let doc = json!({
        "version": 1,
        "nodeGroups": [{ "name": "bins", "size": "bin", "min": 0, "max": n }],
        "sizes": [size],
        "pods": pods,
    });
    serde_json::from_value(doc).map_err(|e| QualityError::Snapshot {
        name: inst.name.clone(),
        message: e.to_string(),
    })
}

fn shuffled(n: usize) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(SHUFFLE_SEED);
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.random_range(0..=i);
        order.swap(i, j);
    }
    order
}

/// The instance as a bare packing problem (for the first-fit-decreasing baseline).
pub fn to_problem(inst: &Instance) -> PackProblem {
    PackProblem {
        capacity: inst.capacity.clone(),
        classes: inst
            .items
            .iter()
            .enumerate()
            .map(|(i, s)| ItemClass::new(i as u32, s.clone(), 1))
            .collect(),
    }
}

/// How the planner and first-fit-decreasing did on one instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceResult {
    pub name: String,
    pub optimum: u64,
    pub nodes: u64,
    pub ffd_nodes: u64,
    /// Pods the planner left without a node (should be zero: every item fits a bin).
    pub unplaced: usize,
    pub work_used: u64,
}

/// Runs the planner and first-fit-decreasing on one instance.
pub fn evaluate(inst: &Instance, work_budget: u64) -> Result<InstanceResult, QualityError> {
    let snapshot = to_snapshot(inst)?;
    let opts = ScaleUpOptions {
        work_budget,
        ..ScaleUpOptions::default()
    };
    let plan = plan_scale_up(&snapshot, &opts);
    let ffd_nodes = packing::ffd(&to_problem(inst))
        .map(|p| p.bin_count())
        .map_err(|e| QualityError::Snapshot {
            name: inst.name.clone(),
            message: e.to_string(),
        })?;
    Ok(InstanceResult {
        name: inst.name.clone(),
        optimum: inst.optimum,
        nodes: u64::from(plan.node_count()),
        ffd_nodes,
        unplaced: plan.unschedulable.len(),
        work_used: plan.work_used,
    })
}

/// Per-set summary, the shape `vpsie-sim quality --format json` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SetSummary {
    pub name: String,
    pub instances: usize,
    pub mean_ratio: f64,
    pub max_ratio: f64,
    pub max_excess: i64,
    pub ffd_mean_ratio: f64,
}

/// Extra per-set figures for the text report.
#[derive(Debug, Clone, PartialEq)]
pub struct SetDetail {
    pub summary: SetSummary,
    pub at_optimum: usize,
    pub ffd_max_ratio: f64,
    pub ffd_max_excess: i64,
    pub unplaced: usize,
    pub skipped_unknown_optimum: usize,
    pub work_used: u64,
}

/// Summarises one set's results.
pub fn summarize(set: &InstanceSet, results: &[InstanceResult]) -> SetDetail {
    let ratio = |nodes: u64, opt: u64| nodes as f64 / opt.max(1) as f64;
    let count = results.len().max(1) as f64;
    let mean = |f: &dyn Fn(&InstanceResult) -> f64| results.iter().map(f).sum::<f64>() / count;
    let max = |f: &dyn Fn(&InstanceResult) -> f64| results.iter().map(f).fold(0.0, f64::max);
    let round = |x: f64| (x * 1e6).round() / 1e6;
    SetDetail {
        summary: SetSummary {
            name: set.name.clone(),
            instances: results.len(),
            mean_ratio: round(mean(&|r| ratio(r.nodes, r.optimum))),
            max_ratio: round(max(&|r| ratio(r.nodes, r.optimum))),
            max_excess: results
                .iter()
                .map(|r| r.nodes as i64 - r.optimum as i64)
                .max()
                .unwrap_or(0),
            ffd_mean_ratio: round(mean(&|r| ratio(r.ffd_nodes, r.optimum))),
        },
        at_optimum: results.iter().filter(|r| r.nodes <= r.optimum).count(),
        ffd_max_ratio: round(max(&|r| ratio(r.ffd_nodes, r.optimum))),
        ffd_max_excess: results
            .iter()
            .map(|r| r.ffd_nodes as i64 - r.optimum as i64)
            .max()
            .unwrap_or(0),
        unplaced: results.iter().map(|r| r.unplaced).sum(),
        skipped_unknown_optimum: set.skipped_unknown_optimum,
        work_used: results.iter().map(|r| r.work_used).sum(),
    }
}
