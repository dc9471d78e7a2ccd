//! The `vpsie-autoscaler` binary: run the controller, generate CRDs, record or plan.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use vpsie_autoscaler::config::load_config;
use vpsie_autoscaler::controller::wall_clock_ms;
use vpsie_autoscaler::oneshot;
use vpsie_engine::autoscaler::AutoscalerConfig;
use vpsie_engine::model::{Resources, VpsieSize};

#[derive(Debug, Parser)]
#[command(
    name = "vpsie-autoscaler",
    version,
    about = "Kubernetes node autoscaler for VPSie"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Args)]
struct LiveArgs {
    /// Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Autoscaler configuration (the simulator's format); defaults when absent.
    #[arg(long)]
    config: Option<PathBuf>,
    /// VPSie size catalogue (a JSON or YAML list of sizes); the example catalogue when absent.
    #[arg(long)]
    sizes: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Autoscaler configuration file (the simulator's format), usually a mounted ConfigMap.
    #[arg(long, default_value = "/etc/vpsie-autoscaler/config.yaml")]
    config: PathBuf,
    /// Decide and explain, never act (overrides the configuration's dryRun).
    #[arg(long)]
    dry_run: bool,
    /// Directory of the mounted VPSie credentials Secret (`token`, or `clientId` and
    /// `clientSecret`); re-read when rotated.
    #[arg(long, default_value = "/var/run/secrets/vpsie")]
    vpsie_credentials_dir: PathBuf,
    /// VPSie API base URL.
    #[arg(long, default_value = "https://api.vpsie.com")]
    vpsie_url: String,
    /// Path prefix of the VPSie endpoints.
    #[arg(long, default_value = "/apps/v2")]
    vpsie_prefix: String,
    /// Allow a plain-http VPSie URL (the mock server only).
    #[arg(long)]
    vpsie_allow_http: bool,
    /// Address of /healthz, /readyz and /metrics.
    #[arg(long, default_value = "0.0.0.0:8080")]
    listen: std::net::SocketAddr,
    /// Lease used for leader election (in $POD_NAMESPACE).
    #[arg(long, default_value = "vpsie-autoscaler")]
    lease_name: String,
    #[arg(long, default_value_t = 15)]
    lease_duration_seconds: u64,
    /// Longest a drain may take before it is abandoned and the node uncordoned.
    #[arg(long, default_value_t = 120)]
    drain_timeout_seconds: u64,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the controller (in the cluster).
    Run(Box<RunArgs>),
    /// Write the CustomResourceDefinitions as YAML (one file per resource).
    Crdgen {
        /// Directories to write into.
        #[arg(long, default_values = ["deploy/crds", "charts/vpsie-autoscaler/crds"])]
        out_dir: Vec<PathBuf>,
    },
    /// One what-if decision against the live cluster; acts on nothing.
    Plan {
        #[command(flatten)]
        live: LiveArgs,
    },
    /// Capture the live cluster as a snapshot (and optionally a replayable scenario).
    Record {
        #[command(flatten)]
        live: LiveArgs,
        /// Snapshot file to write (JSON).
        #[arg(long)]
        out: PathBuf,
        /// Scenario file to write (JSON), replayable with `vpsie-sim run`.
        #[arg(long)]
        scenario: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => block_on(run(*args)),
        Command::Crdgen { out_dir } => crdgen(&out_dir),
        Command::Plan { live } => block_on(plan(live)),
        Command::Record {
            live,
            out,
            scenario,
        } => block_on(record(live, out, scenario)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn block_on(f: impl Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(f)
}

fn crdgen(out_dirs: &[PathBuf]) -> anyhow::Result<()> {
    for out_dir in out_dirs {
        std::fs::create_dir_all(out_dir)
            .with_context(|| format!("creating {}", out_dir.display()))?;
        for (file, yaml) in vpsie_autoscaler::crd::crd_yaml()? {
            let path = out_dir.join(file);
            std::fs::write(&path, yaml).with_context(|| format!("writing {}", path.display()))?;
            println!("wrote {}", path.display());
        }
    }
    Ok(())
}

async fn kube_client(kubeconfig: Option<&Path>) -> anyhow::Result<kube::Client> {
    let config = match kubeconfig {
        Some(path) => {
            let kc = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("reading kubeconfig {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
                .await
                .with_context(|| format!("using kubeconfig {}", path.display()))?
        }
        None => kube::Config::infer()
            .await
            .context("finding a Kubernetes configuration")?,
    };
    kube::Client::try_from(config).context("creating the Kubernetes client")
}

fn read_sizes(path: Option<&Path>) -> anyhow::Result<Vec<VpsieSize>> {
    let Some(path) = path else {
        eprintln!("note: no --sizes given; using the example VPSie size catalogue");
        return Ok(oneshot::example_sizes());
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let sizes: Vec<VpsieSize> = serde_yaml_ng::from_str(&text)
        .with_context(|| format!("{}: not a list of VPSie sizes", path.display()))?;
    Ok(sizes)
}

fn read_config(path: Option<&Path>) -> anyhow::Result<AutoscalerConfig> {
    match path {
        Some(p) => Ok(load_config(p, true)?),
        None => Ok(AutoscalerConfig::default()),
    }
}

async fn plan(live: LiveArgs) -> anyhow::Result<()> {
    let config = read_config(live.config.as_deref())?;
    let sizes = read_sizes(live.sizes.as_deref())?;
    let client = kube_client(live.kubeconfig.as_deref()).await?;
    let objects = oneshot::list_objects(&client)
        .await
        .context("listing cluster objects")?;
    let now = wall_clock_ms();
    let built = oneshot::snapshot_of(&objects, sizes, Resources::default(), now);
    let output = oneshot::what_if(&objects, &built, &config, now);
    print!("{}", oneshot::render_plan(&built, &output));
    Ok(())
}

async fn record(live: LiveArgs, out: PathBuf, scenario: Option<PathBuf>) -> anyhow::Result<()> {
    let config = read_config(live.config.as_deref())?;
    let sizes = read_sizes(live.sizes.as_deref())?;
    let client = kube_client(live.kubeconfig.as_deref()).await?;
    let objects = oneshot::list_objects(&client)
        .await
        .context("listing cluster objects")?;
    let built = oneshot::snapshot_of(&objects, sizes, Resources::default(), wall_clock_ms());
    for w in &built.warnings {
        eprintln!("warning: {w}");
    }
    let json = serde_json::to_string_pretty(&built.snapshot)?;
    std::fs::write(&out, json).with_context(|| format!("writing {}", out.display()))?;
    println!("wrote snapshot {}", out.display());
    if let Some(path) = scenario {
        let value = oneshot::scenario_of(&built.snapshot, &config, "recorded");
        std::fs::write(&path, serde_json::to_string_pretty(&value)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("wrote scenario {}", path.display());
    }
    Ok(())
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .try_init();
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    use std::sync::Arc;
    use std::time::Duration;
    init_logging();
    let config = load_config(&args.config, args.dry_run)?;
    let metrics = Arc::new(vpsie_autoscaler::metrics::Metrics::new());
    let vpsie = vpsie_autoscaler::vpsie_http::HttpVpsie::from_settings(
        &vpsie_autoscaler::vpsie_http::VpsieSettings {
            url: args.vpsie_url.clone(),
            prefix: args.vpsie_prefix.clone(),
            allow_http: args.vpsie_allow_http,
            credentials_dir: args.vpsie_credentials_dir.clone(),
        },
        &metrics,
    )?;
    let namespace = std::env::var("POD_NAMESPACE").unwrap_or_else(|_| "vpsie-system".into());
    let identity = std::env::var("POD_NAME")
        .unwrap_or_else(|_| format!("vpsie-autoscaler-{}", std::process::id()));
    let options = vpsie_autoscaler::runner::RunOptions {
        config,
        settings: vpsie_autoscaler::controller::RuntimeSettings {
            namespace: namespace.clone(),
            system_reserved: Resources::default(),
        },
        listen: args.listen,
        lease_name: args.lease_name,
        lease_namespace: namespace,
        identity,
        lease_duration: Duration::from_secs(args.lease_duration_seconds.max(3)),
        drain: vpsie_autoscaler::executor::DrainSettings {
            timeout: Duration::from_secs(args.drain_timeout_seconds.max(1)),
            ..Default::default()
        },
        min_pass_gap: Duration::from_secs(2),
    };
    vpsie_autoscaler::runner::run(options, Arc::new(vpsie), metrics).await?;
    Ok(())
}
