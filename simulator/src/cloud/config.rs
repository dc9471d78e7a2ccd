//! Configuration of the simulated cloud: catalogue, clusters, delays, billing, faults.
//!
//! `CloudConfig::default()` is the example world of the API specification (§7): three
//! datacenters, six Kubernetes sizes, one cluster `HEL-Kubernetes-49ab` with a worker limit of 10
//! and one group `GRP-Advanced-c745` (size 3) of two running workers.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::billing::BillingGranularity;
use super::faults::FaultRule;

/// Everything the simulated cloud needs to start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct CloudConfig {
    /// The Kubernetes size catalogue (`KubeSizeID`s) served by the offers endpoint.
    pub sizes: Vec<SizeSpec>,
    pub datacenters: Vec<DatacenterSpec>,
    /// Clusters that exist at time 0, with their groups and running workers.
    pub clusters: Vec<ClusterSpec>,
    /// Lifecycle delays of a worker.
    pub delays: Delays,
    pub billing: BillingGranularity,
    /// Fault injection rules, evaluated in order; the first that fires wins.
    pub faults: Vec<FaultRule>,
}

impl Default for CloudConfig {
    fn default() -> Self {
        CloudConfig {
            sizes: SizeSpec::example_catalogue(),
            datacenters: DatacenterSpec::example_datacenters(),
            clusters: vec![ClusterSpec::example()],
            delays: Delays::default(),
            billing: BillingGranularity::default(),
            faults: Vec::new(),
        }
    }
}

impl CloudConfig {
    /// The example world with every lifecycle delay set to zero (handy for tests).
    pub fn instant() -> Self {
        CloudConfig {
            delays: Delays::zero(),
            ..CloudConfig::default()
        }
    }
}

/// A Kubernetes size of the offers catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SizeSpec {
    /// `KubeSizeID`.
    pub id: u32,
    pub name: String,
    pub cpu: u32,
    pub ram_mb: u64,
    pub disk_gb: u64,
    #[serde(default)]
    pub gpu: u32,
    /// USD per month.
    pub price: f64,
    /// USD per hour (what billing uses).
    pub hourly_price: f64,
}

impl SizeSpec {
    fn new(id: u32, name: &str, cpu: u32, ram_mb: u64, disk_gb: u64, price: f64) -> Self {
        // The API's convention: hourly = monthly / 730, shown with four decimals.
        let hourly_price = (price / 730.0 * 10_000.0).round() / 10_000.0;
        SizeSpec {
            id,
            name: name.to_string(),
            cpu,
            ram_mb,
            disk_gb,
            gpu: 0,
            price,
            hourly_price,
        }
    }

    /// The six sizes of the specification's example catalogue.
    pub fn example_catalogue() -> Vec<SizeSpec> {
        vec![
            SizeSpec::new(1, "K8S-1C-2G", 1, 2048, 40, 5.0),
            SizeSpec::new(2, "K8S-2C-4G", 2, 4096, 80, 10.0),
            SizeSpec::new(3, "K8S-4C-8G", 4, 8192, 160, 20.0),
            SizeSpec::new(4, "K8S-8C-16G", 8, 16384, 160, 40.0),
            SizeSpec::new(5, "K8S-4C-16G", 4, 16384, 160, 32.0),
            SizeSpec::new(6, "K8S-16C-32G", 16, 32768, 320, 80.0),
        ]
    }

    /// The engine's view of this size.
    pub fn to_vpsie_size(&self) -> vpsie_engine::model::VpsieSize {
        vpsie_engine::model::VpsieSize {
            id: self.id,
            name: self.name.clone(),
            vcpu: self.cpu,
            ram_mb: self.ram_mb,
            disk_gb: self.disk_gb,
            gpu: self.gpu,
            hourly_price: self.hourly_price,
            max_pods: vpsie_engine::model::group::DEFAULT_MAX_PODS,
        }
    }
}

/// A datacenter of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DatacenterSpec {
    pub identifier: String,
    pub name: String,
    pub state: String,
    pub country: String,
}

impl DatacenterSpec {
    pub fn example_datacenters() -> Vec<DatacenterSpec> {
        let dc = |identifier: &str, name: &str, state: &str, country: &str| DatacenterSpec {
            identifier: identifier.to_string(),
            name: name.to_string(),
            state: state.to_string(),
            country: country.to_string(),
        };
        vec![
            dc(
                "55f06b85-c9ee-11e3-9845-005056aa8af7",
                "New York",
                "NY",
                "US",
            ),
            dc(
                "af876af7-f295-11e4-b45d-005056aadd24",
                "Frankfurt",
                "HE",
                "DE",
            ),
            dc(
                "eb8ac92d-9d4d-11ee-9444-7e0140123655",
                "Helsinki",
                "Uusimaa",
                "FI",
            ),
        ]
    }
}

/// A cluster that exists at time 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterSpec {
    /// UUID; generated from the seed when absent.
    #[serde(default)]
    pub identifier: Option<String>,
    /// `cluster_name`, e.g. `HEL-Kubernetes-49ab`; worker hostnames derive from it.
    pub name: String,
    /// Datacenter identifier.
    pub datacenter: String,
    #[serde(default = "default_kube_version")]
    pub kube_version: String,
    /// The cluster plan's name (`nickname`).
    #[serde(default = "default_nickname")]
    pub nickname: String,
    /// Workers (accepted adds included) the cluster plan allows.
    #[serde(default = "default_worker_limit")]
    pub worker_limit: u32,
    /// Control-plane nodes (listed, never billed as workers).
    #[serde(default = "default_masters")]
    pub masters: u32,
    #[serde(default)]
    pub groups: Vec<GroupSpec>,
}

fn default_kube_version() -> String {
    "1.34.1".to_string()
}
fn default_nickname() -> String {
    "Starter".to_string()
}
fn default_worker_limit() -> u32 {
    10
}
fn default_masters() -> u32 {
    1
}

impl ClusterSpec {
    /// The specification's example cluster.
    pub fn example() -> Self {
        ClusterSpec {
            identifier: Some("7c1d4e20-f8a1-11f0-9c3e-0050569c68dc".to_string()),
            name: "HEL-Kubernetes-49ab".to_string(),
            datacenter: "eb8ac92d-9d4d-11ee-9444-7e0140123655".to_string(),
            kube_version: default_kube_version(),
            nickname: default_nickname(),
            worker_limit: default_worker_limit(),
            masters: 1,
            groups: vec![GroupSpec {
                id: Some(1187),
                identifier: Some("9e2f7a44-f8a1-11f0-9c3e-0050569c68dc".to_string()),
                name: "GRP-Advanced-c745".to_string(),
                size_id: 3,
                workers: 2,
                worker_specs: vec![
                    WorkerSpec {
                        hostname: "hel-kubernetes-49ab-slave-11cc".to_string(),
                        private_ip: Some("10.10.0.11".to_string()),
                        public_ip: Some("95.216.14.11".to_string()),
                    },
                    WorkerSpec {
                        hostname: "hel-kubernetes-49ab-slave-7f02".to_string(),
                        private_ip: Some("10.10.0.12".to_string()),
                        public_ip: Some("95.216.14.12".to_string()),
                    },
                ],
            }],
        }
    }
}

/// A node group that exists at time 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupSpec {
    /// Numeric id (used in the add-worker URL); allocated when absent.
    #[serde(default)]
    pub id: Option<i64>,
    /// UUID; generated from the seed when absent.
    #[serde(default)]
    pub identifier: Option<String>,
    pub name: String,
    /// `KubeSizeID` of the group's size.
    pub size_id: u32,
    /// Running (Ready) workers at time 0.
    #[serde(default)]
    pub workers: u32,
    /// Optional fixed hostnames/IPs for the first workers (the rest are generated).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub worker_specs: Vec<WorkerSpec>,
}

/// A fixed identity for an initial worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkerSpec {
    pub hostname: String,
    #[serde(default)]
    pub private_ip: Option<String>,
    #[serde(default)]
    pub public_ip: Option<String>,
}

/// The worker lifecycle delays (specification §6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Delays {
    /// Accepted → listed as `provisioning`.
    pub create: Delay,
    /// Provisioning → `running` (the kubelet registers a NotReady Node).
    pub boot: Delay,
    /// Running → the Node is Ready.
    pub ready: Delay,
    /// Deleting → gone.
    pub delete: Delay,
}

impl Default for Delays {
    fn default() -> Self {
        Delays {
            create: Delay::uniform(60_000, 120_000),
            boot: Delay::uniform(30_000, 90_000),
            ready: Delay::uniform(10_000, 60_000),
            delete: Delay::uniform(20_000, 60_000),
        }
    }
}

impl Delays {
    /// Every transition happens at once.
    pub fn zero() -> Self {
        Delays {
            create: Delay::Fixed { ms: 0 },
            boot: Delay::Fixed { ms: 0 },
            ready: Delay::Fixed { ms: 0 },
            delete: Delay::Fixed { ms: 0 },
        }
    }
}

/// A delay distribution in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum Delay {
    Fixed {
        ms: i64,
    },
    /// Uniform over `[min_ms, max_ms]`.
    Uniform {
        min_ms: i64,
        max_ms: i64,
    },
    /// Normal with the given mean and standard deviation, clamped to `[min_ms, max_ms]`.
    Normal {
        mean_ms: i64,
        std_dev_ms: i64,
        min_ms: i64,
        max_ms: i64,
    },
}

impl Delay {
    pub fn uniform(min_ms: i64, max_ms: i64) -> Self {
        Delay::Uniform { min_ms, max_ms }
    }

    /// Draws a delay; never negative. A fixed delay draws nothing from the generator.
    pub fn sample(&self, rng: &mut ChaCha8Rng) -> i64 {
        let ms = match *self {
            Delay::Fixed { ms } => ms,
            Delay::Uniform { min_ms, max_ms } => {
                let (lo, hi) = (min_ms.min(max_ms), min_ms.max(max_ms));
                rng.random_range(lo..=hi)
            }
            Delay::Normal {
                mean_ms,
                std_dev_ms,
                min_ms,
                max_ms,
            } => {
                // Box-Muller on two uniform draws; u1 in (0, 1] keeps ln finite.
                let u1: f64 = 1.0 - rng.random::<f64>();
                let u2: f64 = rng.random::<f64>();
                let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                let x = (mean_ms as f64 + z * std_dev_ms as f64).round();
                let (lo, hi) = (min_ms.min(max_ms), min_ms.max(max_ms));
                (x as i64).clamp(lo, hi)
            }
        };
        ms.max(0)
    }

    /// Checks the parameters make sense.
    pub fn validate(&self, field: &str) -> Result<(), String> {
        match *self {
            Delay::Fixed { ms } if ms < 0 => Err(format!("{field}: negative delay {ms} ms")),
            Delay::Uniform { min_ms, max_ms } | Delay::Normal { min_ms, max_ms, .. }
                if min_ms < 0 || max_ms < min_ms =>
            {
                Err(format!(
                    "{field}: need 0 <= minMs <= maxMs, got {min_ms}..{max_ms}"
                ))
            }
            Delay::Normal { std_dev_ms, .. } if std_dev_ms < 0 => {
                Err(format!("{field}: negative stdDevMs {std_dev_ms}"))
            }
            _ => Ok(()),
        }
    }
}
