//! `vpsie-mock-cloud`: the VPSie HTTP mock plus kubelets for its workers, for end-to-end runs
//! of `vpsie-autoscaler` against a test cluster (kind or any disposable cluster).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use vpsie_sim::mock::MockConfig;
use vpsie_testkit::{MockCloud, MockCloudOptions};

#[derive(Debug, Parser)]
#[command(
    name = "vpsie-mock-cloud",
    version,
    about = "VPSie API mock whose workers register as Nodes in a test cluster"
)]
struct Cli {
    /// Address of the VPSie API mock; port 0 picks a free port (printed on the first line).
    #[arg(long, default_value = "127.0.0.1:8088")]
    listen: SocketAddr,
    /// Mock configuration (JSON or YAML, see docs/vpsie-mock.md); the example world otherwise.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Accept this static VPSie token.
    #[arg(long)]
    token: Vec<String>,
    /// Cluster in which the workers' Nodes are registered (default: $KUBECONFIG or
    /// ~/.kube/config).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Serve only the VPSie API; register no Nodes.
    #[arg(long)]
    no_kubelets: bool,
    /// Seconds between two kubelet passes (heartbeats, registrations, pod starts).
    #[arg(long, default_value_t = 2)]
    heartbeat_seconds: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
    let result = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
        .and_then(|rt| rt.block_on(run(cli)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn kube_client(path: Option<&PathBuf>) -> anyhow::Result<kube::Client> {
    let config = match path {
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

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut config = match &cli.config {
        Some(path) => MockConfig::from_file(path).map_err(|e| anyhow::anyhow!("{e}"))?,
        None => MockConfig::default(),
    };
    config.auth.static_tokens.extend(cli.token);
    config.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    let kube = if cli.no_kubelets {
        None
    } else {
        Some(kube_client(cli.kubeconfig.as_ref()).await?)
    };
    let kubelets = kube.is_some();
    let options = MockCloudOptions {
        listen: cli.listen,
        interval: Duration::from_secs(cli.heartbeat_seconds.max(1)),
        ..MockCloudOptions::new(config, kube)
    };
    let cloud = MockCloud::start(options).await?;
    println!("mock-vpsie listening on {}", cloud.base_url());
    if kubelets {
        println!("  kubelets: registering a Node for every running worker");
    }
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = std::future::pending::<()>() => {}
    }
    cloud.shutdown().await;
    Ok(())
}
