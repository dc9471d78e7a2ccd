//! Azure VM trace (Azure Public Dataset V1 as binned by Huawei's trace generator) → scenario.
//!
//! * `v1.test.txt`: one line per 5-minute bin, `<t> <flavour>,<flavour>,|,...`; each flavour
//!   letter is one VM (one pod here) arriving in that bin. Arrivals are spread evenly across
//!   the bin in file order.
//! * `v1.test.c2591400.txt`: the same shape with `U<k>` (finished, duration in bin k) or `C<k>`
//!   (still running at the end of the trace) per VM. A VM finished in bin k runs for the
//!   midpoint of that bin's range in `v1.interval_map.txt`; a censored one runs to the end.
//! * `flav_map.txt`: `<vCPU>,<memory GB> <letter>`: the pod's requests.
//! * Options keep a window of bins and every n-th VM, so a day of a 400,000-VM trace fits a
//!   scenario.

use std::collections::BTreeMap;

use vpsie_engine::model::{NodeGroup, Resources, VpsieSize};

use super::{ImportError, scaled};
use crate::scenario::{
    AutoscalerSource, CloudSpec, ClusterSpec, PodArrival, SCENARIO_VERSION, Scenario, Workload,
    default_sizes,
};

/// Options of the conversion.
#[derive(Debug, Clone)]
pub struct AzureOptions {
    /// First trace second kept (default: the first bin).
    pub from_s: Option<i64>,
    /// Seconds of trace kept.
    pub window_s: i64,
    /// Keep every n-th VM (1 keeps all).
    pub keep_every: usize,
    pub time_scale: f64,
    pub name: String,
    pub seed: u64,
}

impl Default for AzureOptions {
    fn default() -> Self {
        Self {
            from_s: None,
            window_s: 6 * 3600,
            keep_every: 20,
            time_scale: 1.0,
            name: "azure-vms".to_string(),
            seed: 1,
        }
    }
}

/// The four input texts with their file names (for errors).
#[derive(Debug, Clone, Copy)]
pub struct AzureInputs<'a> {
    pub trace: (&'a str, &'a str),
    pub lifetimes: (&'a str, &'a str),
    pub flavours: (&'a str, &'a str),
    pub intervals: (&'a str, &'a str),
}

fn row_error(file: &str, line: usize, column: &str, message: String) -> ImportError {
    ImportError::Row {
        file: file.to_string(),
        line,
        column: column.to_string(),
        message,
    }
}

/// Flavour letter → (millicores, bytes).
pub fn parse_flavours(text: &str, file: &str) -> Result<BTreeMap<String, (i64, i64)>, ImportError> {
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let bad = |m: String| row_error(file, i + 1, "flavour", m);
        let (spec, letter) = line
            .split_once(' ')
            .ok_or_else(|| bad(format!("`{line}` is not `<vcpu>,<GB> <letter>`")))?;
        let (cpu, mem) = spec
            .split_once(',')
            .ok_or_else(|| bad(format!("`{spec}` is not `<vcpu>,<GB>`")))?;
        let cpu: f64 = cpu
            .trim()
            .parse()
            .map_err(|_| bad(format!("`{cpu}` is not a number")))?;
        let mem: f64 = mem
            .trim()
            .parse()
            .map_err(|_| bad(format!("`{mem}` is not a number")))?;
        out.insert(
            letter.trim().to_string(),
            (
                (cpu * 1000.0).round() as i64,
                (mem * 1024.0 * 1024.0 * 1024.0).round() as i64,
            ),
        );
    }
    Ok(out)
}

/// Duration bin → (shortest, longest) seconds it covers.
pub fn parse_intervals(text: &str, file: &str) -> Result<BTreeMap<u32, (i64, i64)>, ImportError> {
    let mut out: BTreeMap<u32, (i64, i64)> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let bad = |m: String| row_error(file, i + 1, "interval", m);
        let (secs, bin) = line
            .split_once(' ')
            .ok_or_else(|| bad(format!("`{line}` is not `<seconds> <bin>`")))?;
        let secs: i64 = secs
            .parse()
            .map_err(|_| bad(format!("`{secs}` is not a number")))?;
        let bin: u32 = bin
            .trim()
            .parse()
            .map_err(|_| bad(format!("`{bin}` is not a number")))?;
        let e = out.entry(bin).or_insert((secs, secs));
        e.0 = e.0.min(secs);
        e.1 = e.1.max(secs);
    }
    Ok(out)
}

/// One VM of the trace.
#[derive(Debug, Clone, PartialEq)]
pub struct AzureVm {
    pub arrival_s: f64,
    pub flavour: String,
    /// `None` when still running at the end of the trace.
    pub duration_s: Option<i64>,
}

fn tokens(rest: &str) -> impl Iterator<Item = &str> {
    rest.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty() && *t != "|")
}

/// Parses the trace and its lifetimes (line by line, VM by VM).
pub fn parse_vms(inputs: &AzureInputs<'_>) -> Result<Vec<AzureVm>, ImportError> {
    let intervals = parse_intervals(inputs.intervals.1, inputs.intervals.0)?;
    let (tf, tt) = inputs.trace;
    let (lf, lt) = inputs.lifetimes;
    let mut out = Vec::new();
    let mut life_lines = lt.lines();
    for (i, line) in tt.lines().enumerate() {
        let n = i + 1;
        let Some(life_line) = life_lines.next() else {
            return Err(row_error(
                lf,
                n,
                "line",
                format!("ends before {tf} (which has line {n})"),
            ));
        };
        if line.trim().is_empty() {
            continue;
        }
        let (t, rest) = line.trim().split_once(' ').unwrap_or((line.trim(), ""));
        let (lt_t, life_rest) = life_line
            .trim()
            .split_once(' ')
            .unwrap_or((life_line.trim(), ""));
        if t != lt_t {
            return Err(row_error(
                lf,
                n,
                "time",
                format!("bin {lt_t} does not match {t} in {tf}"),
            ));
        }
        let t: f64 = t
            .parse()
            .map_err(|_| row_error(tf, n, "time", format!("`{t}` is not a number")))?;
        let flavours: Vec<&str> = tokens(rest).collect();
        let lives: Vec<&str> = tokens(life_rest).collect();
        if flavours.len() != lives.len() {
            return Err(row_error(
                lf,
                n,
                "lifetimes",
                format!("{} lifetimes for {} VMs", lives.len(), flavours.len()),
            ));
        }
        let count = flavours.len().max(1) as f64;
        for (k, (f, life)) in flavours.into_iter().zip(lives).enumerate() {
            let (censored, bin) = match life.split_at_checked(1) {
                Some(("U", b)) => (false, b),
                Some(("C", b)) => (true, b),
                _ => {
                    return Err(row_error(
                        lf,
                        n,
                        "lifetimes",
                        format!("`{life}` is not U<k> or C<k>"),
                    ));
                }
            };
            let bin: u32 = bin.parse().map_err(|_| {
                row_error(lf, n, "lifetimes", format!("`{life}` has no bin number"))
            })?;
            let duration_s = if censored {
                None
            } else {
                let (lo, hi) = intervals.get(&bin).copied().ok_or_else(|| {
                    row_error(
                        lf,
                        n,
                        "lifetimes",
                        format!("bin {bin} is not in the interval map"),
                    )
                })?;
                Some(((lo + hi) / 2).max(60))
            };
            out.push(AzureVm {
                arrival_s: t + 300.0 * k as f64 / count,
                flavour: f.to_string(),
                duration_s,
            });
        }
    }
    Ok(out)
}

/// Builds the scenario: the VMs as pods on two groups (general and high-memory sizes, with
/// two large sizes added to the example catalogue so every flavour fits).
pub fn convert(
    vms: &[AzureVm],
    flavours: &BTreeMap<String, (i64, i64)>,
    opts: &AzureOptions,
) -> Result<Scenario, ImportError> {
    let start = opts
        .from_s
        .map(|f| f as f64)
        .or_else(|| vms.first().map(|v| v.arrival_s))
        .unwrap_or(0.0);
    let end = start + opts.window_s as f64;
    let keep = opts.keep_every.max(1);
    let mut pods = Vec::new();
    for (i, vm) in vms
        .iter()
        .filter(|v| v.arrival_s >= start && v.arrival_s < end)
        .enumerate()
    {
        if i % keep != 0 {
            continue;
        }
        let Some(&(cpu, mem)) = flavours.get(&vm.flavour) else {
            return Err(ImportError::Empty {
                file: "flavour map".to_string(),
                message: format!("flavour `{}` is not in the flavour map", vm.flavour),
            });
        };
        pods.push(PodArrival {
            name: format!("vm-{i:06}"),
            at: scaled(vm.arrival_s - start, opts.time_scale),
            duration: vm.duration_s.map(|d| scaled(d as f64, opts.time_scale)),
            count: 1,
            owner_kind: Some("Job".to_string()),
            template: None,
            requests: Some(Resources::new(cpu, mem)),
        });
    }
    let mut sizes = default_sizes();
    let big = |id: u32, name: &str, vcpu: u32, ram_gb: u64, monthly: f64| VpsieSize {
        id,
        name: name.to_string(),
        vcpu,
        ram_mb: ram_gb * 1024,
        disk_gb: 640,
        gpu: 0,
        hourly_price: (monthly / 730.0 * 10_000.0).round() / 10_000.0,
        max_pods: vpsie_engine::model::group::DEFAULT_MAX_PODS,
    };
    sizes.push(big(7, "K8S-16C-64G", 16, 64, 128.0));
    sizes.push(big(8, "K8S-32C-128G", 32, 128, 256.0));
    let group = |name: &str, size: &str, max: u32| NodeGroup {
        name: name.to_string(),
        size: size.to_string(),
        min: 0,
        max,
        labels: Default::default(),
        taints: Vec::new(),
        zone: None,
        datacenter: None,
        priority: 0,
        system_reserved: None,
        scale_down_utilization_threshold: None,
        shared_max: None,
    };
    Ok(Scenario {
        version: SCENARIO_VERSION,
        name: opts.name.clone(),
        description: format!(
            "{} VMs of the Azure V1 trace (every {keep}th VM of a {} s window) as pods.",
            pods.len(),
            opts.window_s
        ),
        seed: opts.seed,
        duration: scaled(opts.window_s as f64, opts.time_scale),
        sample_interval: None,
        cluster: ClusterSpec {
            name: "AZ-Kubernetes-0001".to_string(),
            sizes,
            node_groups: vec![
                group("general", "K8S-16C-32G", 200),
                group("highmem", "K8S-32C-128G", 50),
            ],
            initial_nodes: BTreeMap::new(),
            static_nodes: Vec::new(),
            daemon_sets: Vec::new(),
            pdbs: Vec::new(),
            system_reserved: Resources::default(),
            zones: Vec::new(),
        },
        cloud: CloudSpec {
            worker_limit: 250,
            ..CloudSpec::default()
        },
        faults: Vec::new(),
        workload: Workload {
            pods,
            ..Workload::default()
        },
        autoscaler: AutoscalerSource::default(),
    })
}
