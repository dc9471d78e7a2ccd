//! Turning a scenario into the simulation's starting point: the simulated cloud's
//! configuration, the snapshot's static parts, and the autoscaler configuration.

use vpsie_engine::autoscaler::AutoscalerConfig;
use vpsie_engine::model::{ClusterSnapshot, SNAPSHOT_VERSION, VpsieSize};

use crate::cloud::{
    ApiOp, CloudConfig, ClusterSpec as CloudClusterSpec, DatacenterSpec, Delay, Delays,
    FaultKind as CloudFault, FaultRule, GroupSpec, SizeSpec,
};
use crate::des::MINUTE;
use crate::scenario::{DelaySpec, FaultKind, LoadedScenario, ScenarioError, effective_sizes};

/// Identifier of the simulated cluster at VPSie.
pub const CLUSTER_ID: &str = "5a1e0c2d-0000-4000-8000-00000000c0de";

fn delay(d: &DelaySpec) -> Delay {
    match d {
        DelaySpec::Fixed(x) => Delay::Fixed { ms: x.ms() },
        DelaySpec::Uniform { min, max } => Delay::Uniform {
            min_ms: min.ms(),
            max_ms: max.ms(),
        },
        DelaySpec::Normal {
            mean,
            std_dev,
            min,
            max,
        } => Delay::Normal {
            mean_ms: mean.ms(),
            std_dev_ms: std_dev.ms(),
            min_ms: min.ms(),
            max_ms: max.ms(),
        },
        // Rejected by validation; a stand-in keeps this total.
        DelaySpec::Exponential { mean } => Delay::Fixed { ms: mean.ms() },
    }
}

fn size_spec(z: &VpsieSize) -> SizeSpec {
    SizeSpec {
        id: z.id,
        name: z.name.clone(),
        cpu: z.vcpu,
        ram_mb: z.ram_mb,
        disk_gb: z.disk_gb,
        gpu: z.gpu,
        price: (z.hourly_price * 730.0 * 100.0).round() / 100.0,
        hourly_price: z.hourly_price,
    }
}

/// The simulated cloud's configuration for a scenario.
pub fn cloud_config(l: &LoadedScenario) -> Result<CloudConfig, ScenarioError> {
    let s = &l.scenario;
    let sizes = effective_sizes(s);
    let datacenters = DatacenterSpec::example_datacenters();
    let datacenter = datacenters
        .last()
        .map(|d| d.identifier.clone())
        .unwrap_or_default();
    let groups = s
        .cluster
        .node_groups
        .iter()
        .map(|g| GroupSpec {
            id: None,
            identifier: None,
            name: g.name.clone(),
            size_id: sizes.iter().find(|z| z.name == g.size).map_or(0, |z| z.id),
            workers: s.cluster.initial_nodes.get(&g.name).copied().unwrap_or(0),
            worker_specs: Vec::new(),
        })
        .collect();
    let faults = s
        .faults
        .iter()
        .map(|f| {
            let fault = match f.kind {
                FaultKind::ServerErrors => CloudFault::ServerError { status: 503 },
                FaultKind::RateLimited => CloudFault::RateLimited,
                FaultKind::LostAdds => CloudFault::LostAdd,
                FaultKind::LateAdds => CloudFault::LateMaterialization {
                    delay_ms: f.delay.map_or(20 * MINUTE, |d| d.ms()),
                },
                FaultKind::FailedDeletes => CloudFault::FailedDelete,
                FaultKind::StockOut => CloudFault::StockOut {
                    size_id: f
                        .size
                        .as_ref()
                        .and_then(|n| sizes.iter().find(|z| &z.name == n))
                        .map_or(0, |z| z.id),
                },
                FaultKind::NodeDeath => CloudFault::NodeDeath {
                    hostname: None,
                    interval_ms: Some(f.delay.map_or(10 * MINUTE, |d| d.ms()).max(1)),
                },
            };
            let ops: &[ApiOp] = match f.kind {
                FaultKind::ServerErrors | FaultKind::RateLimited => {
                    &[ApiOp::AddWorker, ApiOp::DeleteWorker, ApiOp::CreateGroup]
                }
                _ => &[],
            };
            FaultRule {
                fault,
                ops: ops.to_vec(),
                from_ms: Some(f.at.ms()),
                until_ms: f.until.map(|u| u.ms()),
                probability: f.probability,
                max_count: (f.kind == FaultKind::NodeDeath).then_some(f.count),
                cluster: None,
            }
        })
        .collect();
    let config = CloudConfig {
        sizes: sizes.iter().map(size_spec).collect(),
        datacenters,
        clusters: vec![CloudClusterSpec {
            identifier: Some(CLUSTER_ID.to_string()),
            name: s.cluster.name.clone(),
            datacenter,
            kube_version: "1.34.1".to_string(),
            nickname: "Simulated".to_string(),
            worker_limit: s.cloud.worker_limit,
            masters: 1,
            groups,
        }],
        delays: Delays {
            create: delay(&s.cloud.create_delay),
            boot: delay(&s.cloud.boot_delay),
            ready: delay(&s.cloud.ready_delay),
            delete: delay(&s.cloud.delete_delay),
        },
        billing: s.cloud.billing,
        faults,
    };
    config
        .validate()
        .map_err(|message| l.invalid("cloud", message))?;
    Ok(config)
}

/// The snapshot's static parts: groups, sizes, PDBs (the scenario's and the deployments'),
/// DaemonSets, reservations, zones.
pub fn base_snapshot(l: &LoadedScenario) -> ClusterSnapshot {
    let s = &l.scenario;
    let mut pdbs = s.cluster.pdbs.clone();
    for d in &s.workload.deployments {
        if let Some(p) = &d.pdb {
            let mut selector = vpsie_engine::model::LabelSelector::default();
            selector
                .match_labels
                .insert("app".to_string(), d.name.clone());
            let t = crate::workload::resolve_template(&s.workload, &d.template, &d.requests);
            pdbs.push(vpsie_engine::model::PodDisruptionBudget {
                name: d.name.clone(),
                namespace: t.namespace,
                selector,
                min_available: p.min_available.clone(),
                max_unavailable: p.max_unavailable.clone(),
                disruptions_allowed: None,
            });
        }
    }
    ClusterSnapshot {
        version: SNAPSHOT_VERSION,
        now_ms: 0,
        nodes: Vec::new(),
        pods: Vec::new(),
        pdbs,
        node_groups: s.cluster.node_groups.clone(),
        sizes: effective_sizes(s),
        daemon_sets: s.cluster.daemon_sets.clone(),
        in_flight: Vec::new(),
        system_reserved: s.cluster.system_reserved.clone(),
        zones: s.cluster.zones.clone(),
        pod_revisions: Vec::new(),
    }
}

/// The autoscaler configuration of a scenario: its file, its inline config, or the defaults.
pub fn autoscaler_config(l: &LoadedScenario) -> Result<AutoscalerConfig, ScenarioError> {
    let a = &l.scenario.autoscaler;
    if let Some(file) = &a.file {
        let path = l.resolve(file);
        return load_config_file(&path);
    }
    if let Some(value) = &a.config {
        let text = serde_json::to_string_pretty(value)
            .map_err(|e| l.invalid("autoscaler.config", e.to_string()))?;
        return AutoscalerConfig::from_text(
            &text,
            &format!("{} (autoscaler.config)", l.source_name),
        )
        .map_err(|e| l.invalid("autoscaler.config", e.to_string()));
    }
    Ok(AutoscalerConfig::default())
}

/// Reads an autoscaler configuration file (the runtime's format).
pub fn load_config_file(path: &std::path::Path) -> Result<AutoscalerConfig, ScenarioError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
        file: name.clone(),
        source,
    })?;
    AutoscalerConfig::from_text(&text, &name).map_err(|e| ScenarioError::Config {
        file: name,
        message: e.to_string(),
    })
}
