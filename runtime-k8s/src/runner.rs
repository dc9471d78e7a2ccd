//! Running the controller in a cluster: reflectors, the HTTP server, leader election, the pass
//! loop at the scan interval and on changes, and graceful shutdown on SIGTERM/SIGINT.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::Notify;
use vpsie_engine::autoscaler::AutoscalerConfig;

use crate::cloud::Vpsie;
use crate::controller::{Controller, RuntimeSettings, wall_clock_ms};
use crate::events::EventPublisher;
use crate::executor::{DrainSettings, eviction_config};
use crate::leader::LeaderElector;
use crate::metrics::Metrics;
use crate::server::{Health, router};

/// Everything `run` needs besides the VPSie client.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub config: AutoscalerConfig,
    pub settings: RuntimeSettings,
    pub listen: SocketAddr,
    pub lease_name: String,
    pub lease_namespace: String,
    pub identity: String,
    pub lease_duration: Duration,
    pub drain: DrainSettings,
    /// Shortest time between two passes triggered by changes.
    pub min_pass_gap: Duration,
}

/// Why the runtime could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("Kubernetes client configuration: {0}")]
    KubeConfig(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// Resolves when SIGTERM or SIGINT arrives.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = tokio::signal::ctrl_c() => {},
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Runs until SIGTERM: serves health and metrics, and acts while holding the Lease.
pub async fn run<V: Vpsie>(
    options: RunOptions,
    vpsie: Arc<V>,
    metrics: Arc<Metrics>,
) -> Result<(), RunError> {
    let kube_config = kube::Config::infer()
        .await
        .map_err(|e| RunError::KubeConfig(e.to_string()))?;
    run_until(options, kube_config, vpsie, metrics, shutdown_signal()).await
}

/// [`run`] with the Kubernetes configuration given and until `shutdown` resolves (SIGTERM in
/// the binary; end-to-end tests stop it themselves). Releases the Lease when it held it.
pub async fn run_until<V: Vpsie>(
    options: RunOptions,
    kube_config: kube::Config,
    vpsie: Arc<V>,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), RunError> {
    let client = kube::Client::try_from(kube_config.clone())
        .map_err(|e| RunError::KubeConfig(e.to_string()))?;
    let eviction_client = kube::Client::try_from(eviction_config(kube_config))
        .map_err(|e| RunError::KubeConfig(e.to_string()))?;

    let health = Arc::new(Health::default());
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|source| RunError::Listen {
            addr: options.listen,
            source,
        })?;
    let app = router(Arc::clone(&health), Arc::clone(&metrics));
    let server = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "HTTP server stopped");
        }
    });

    let wake = Arc::new(Notify::new());
    let (stores, driver) = crate::reflectors::start(client.clone(), Arc::clone(&wake));
    let reflectors = tokio::spawn(driver);
    {
        let stores = stores.clone();
        let health = Arc::clone(&health);
        tokio::spawn(async move {
            if stores.wait_until_ready().await {
                health.stores_synced.store(true, Ordering::Relaxed);
                tracing::info!("stores synced");
            }
        });
    }

    let events = EventPublisher::new(client.clone(), Some(options.identity.clone()));
    let scan =
        Duration::from_millis(u64::try_from(options.config.scan_interval.ms()).unwrap_or(10_000));
    let mut controller = Controller::new(
        client.clone(),
        eviction_client,
        Arc::clone(&vpsie),
        options.config.clone(),
        options.settings.clone(),
        Arc::clone(&metrics),
        Some(events),
        options.drain,
    );
    let elector = LeaderElector::new(
        client,
        &options.lease_namespace,
        &options.lease_name,
        &options.identity,
        options.lease_duration,
    );

    tokio::pin!(shutdown);
    let mut leader = false;
    let mut next_renew = tokio::time::Instant::now();
    let mut next_pass = tokio::time::Instant::now();
    loop {
        let now = tokio::time::Instant::now();
        if now >= next_renew {
            let was = leader;
            leader = elector.try_acquire_or_renew().await;
            metrics.is_leader.set(i64::from(leader));
            if leader != was {
                tracing::info!(leader, "leadership changed");
                if !leader {
                    // Another replica may have acted meanwhile: rebuild before acting again.
                    controller.forget_state();
                }
            }
            next_renew = now + elector.renew_interval();
        }
        if leader && health.stores_synced.load(Ordering::Relaxed) && now >= next_pass {
            match controller
                .reconcile_once(wall_clock_ms(), stores.objects())
                .await
            {
                Ok(report) => {
                    health.vpsie_reachable.store(true, Ordering::Relaxed);
                    tracing::debug!(actions = report.output.actions.len(), "pass done");
                }
                Err(e) => {
                    metrics.error(e.metric_label());
                    if matches!(
                        e,
                        crate::controller::ReconcileError::Sizes(_)
                            | crate::controller::ReconcileError::Recovery { .. }
                    ) {
                        health.vpsie_reachable.store(false, Ordering::Relaxed);
                    }
                    tracing::warn!(error = %e, "pass failed; retrying at the next scan");
                }
            }
            next_pass = tokio::time::Instant::now() + scan;
        } else if !leader {
            // Followers still check VPSie reachability for /readyz.
            health.vpsie_reachable.store(true, Ordering::Relaxed);
        }
        let sleep_until = next_renew
            .min(next_pass)
            .max(tokio::time::Instant::now() + Duration::from_millis(50));
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tokio::time::sleep_until(sleep_until) => {},
            _ = wake.notified() => {
                // A change: run soon, but not more often than the minimum gap.
                let soon = tokio::time::Instant::now() + options.min_pass_gap;
                if soon < next_pass {
                    next_pass = soon;
                }
            }
        }
    }
    tracing::info!("shutting down");
    if leader {
        elector.release().await;
    }
    reflectors.abort();
    server.abort();
    Ok(())
}
