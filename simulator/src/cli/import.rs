//! `vpsie-sim import openb|azure ...`: convert a real trace into a scenario file.

use std::io::Write;
use std::path::PathBuf;

use vpsie_sim::import::{self, ImportError, azure, openb};

use super::{CliError, Run};

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    #[command(subcommand)]
    pub source: ImportSource,
}

#[derive(Debug, clap::Subcommand)]
pub enum ImportSource {
    /// Alibaba openb pod list (and node list) → scenario.
    Openb(OpenbArgs),
    /// Azure VM trace (Huawei's binned test split) → scenario.
    Azure(AzureArgs),
}

/// Options every importer shares.
#[derive(Debug, clap::Args)]
pub struct Common {
    /// Output scenario file (`.json` writes JSON, anything else YAML); stdout when absent.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Scenario name.
    #[arg(long)]
    pub name: Option<String>,
    /// Divide trace times by this factor (2 replays twice as fast).
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(Debug, clap::Args)]
pub struct OpenbArgs {
    /// Pod list CSV (`openb_pod_list_*.csv`).
    #[arg(long)]
    pub pods: PathBuf,
    /// Node list CSV (`openb_node_list_*.csv`): its shapes become sizes and node groups.
    #[arg(long)]
    pub nodes: PathBuf,
    /// First trace second kept.
    #[arg(long, default_value_t = 0.0)]
    pub from: f64,
    /// Seconds of trace kept after `--from`.
    #[arg(long)]
    pub window: Option<f64>,
    /// Keep at most this many pods.
    #[arg(long)]
    pub limit: Option<usize>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, clap::Args)]
pub struct AzureArgs {
    /// Flavour trace (`v1.test.txt`).
    #[arg(long)]
    pub trace: PathBuf,
    /// Lifetime trace of the same bins (`v1.test.c2591400.txt`).
    #[arg(long)]
    pub lifetimes: PathBuf,
    /// Flavour map (`flav_map.txt`).
    #[arg(long)]
    pub flavours: PathBuf,
    /// Duration bins (`v1.interval_map.txt`).
    #[arg(long)]
    pub intervals: PathBuf,
    /// First trace second kept (default: the first bin).
    #[arg(long)]
    pub from: Option<i64>,
    /// Seconds of trace kept.
    #[arg(long, default_value_t = 21_600)]
    pub window: i64,
    /// Keep every n-th VM.
    #[arg(long, default_value_t = 20)]
    pub keep_every: usize,
    #[command(flatten)]
    pub common: Common,
}

fn bad(e: ImportError) -> CliError {
    CliError::Usage(e.to_string())
}

fn emit(out: &mut dyn Write, common: &Common, text: &str) -> Result<(), CliError> {
    match &common.output {
        Some(path) => std::fs::write(path, text)?,
        None => out.write_all(text.as_bytes())?,
    }
    Ok(())
}

fn is_json(common: &Common) -> bool {
    common
        .output
        .as_ref()
        .is_some_and(|p| p.extension().is_some_and(|e| e == "json"))
}

impl Run for ImportArgs {
    fn run(self, out: &mut dyn Write) -> Result<(), CliError> {
        match self.source {
            ImportSource::Openb(a) => {
                let pods_text = import::read(&a.pods).map_err(bad)?;
                let nodes_text = import::read(&a.nodes).map_err(bad)?;
                let pods =
                    openb::parse_pods(&pods_text, &a.pods.display().to_string()).map_err(bad)?;
                let nodes =
                    openb::parse_nodes(&nodes_text, &a.nodes.display().to_string()).map_err(bad)?;
                let opts = openb::OpenbOptions {
                    from_s: a.from,
                    window_s: a.window,
                    limit: a.limit,
                    time_scale: a.common.time_scale,
                    name: a.common.name.clone().unwrap_or_else(|| "openb".to_string()),
                    seed: a.common.seed,
                };
                let scenario = openb::convert(&pods, &nodes, &opts);
                let header = format!(
                    "Converted by `vpsie-sim import openb` from {} and {}.\nAlibaba cluster-trace-gpu-v2023 (Weng et al., USENIX ATC'23): research and study use only.",
                    file_name(&a.pods),
                    file_name(&a.nodes)
                );
                emit(
                    out,
                    &a.common,
                    &import::render(&scenario, &header, is_json(&a.common)),
                )
            }
            ImportSource::Azure(a) => {
                let texts = [&a.trace, &a.lifetimes, &a.flavours, &a.intervals]
                    .map(|p| import::read(p).map(|t| (p.display().to_string(), t)));
                let [trace, lifetimes, flavours, intervals] = texts;
                let (trace, lifetimes, flavours, intervals) = (
                    trace.map_err(bad)?,
                    lifetimes.map_err(bad)?,
                    flavours.map_err(bad)?,
                    intervals.map_err(bad)?,
                );
                let inputs = azure::AzureInputs {
                    trace: (&trace.0, &trace.1),
                    lifetimes: (&lifetimes.0, &lifetimes.1),
                    flavours: (&flavours.0, &flavours.1),
                    intervals: (&intervals.0, &intervals.1),
                };
                let flavour_map = azure::parse_flavours(&flavours.1, &flavours.0).map_err(bad)?;
                let vms = azure::parse_vms(&inputs).map_err(bad)?;
                let opts = azure::AzureOptions {
                    from_s: a.from,
                    window_s: a.window,
                    keep_every: a.keep_every,
                    time_scale: a.common.time_scale,
                    name: a
                        .common
                        .name
                        .clone()
                        .unwrap_or_else(|| "azure-vms".to_string()),
                    seed: a.common.seed,
                };
                let scenario = azure::convert(&vms, &flavour_map, &opts).map_err(bad)?;
                let header = format!(
                    "Converted by `vpsie-sim import azure` from {}.\nAzure Public Dataset V1 (Cortez et al., SOSP'17), CC BY 4.0; binned by huaweicloud/trace_generation_rnn (MIT).",
                    file_name(&a.trace)
                );
                emit(
                    out,
                    &a.common,
                    &import::render(&scenario, &header, is_json(&a.common)),
                )
            }
        }
    }
}

fn file_name(p: &std::path::Path) -> String {
    p.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}
