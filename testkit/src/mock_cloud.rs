//! The VPSie mock with kubelets: starts the simulator's mock server and, given a Kubernetes
//! client, a task that runs the kubelet stand-in over the mock's workers at a fixed interval.

use std::net::SocketAddr;
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use vpsie_sim::mock::{MockConfig, MockControl, MockError, MockServer};

use crate::kubelet::KubeletStandIn;
use crate::workers::workers_of;

/// How to start a [`MockCloud`].
pub struct MockCloudOptions {
    pub config: MockConfig,
    pub listen: SocketAddr,
    /// The cluster the stand-in registers Nodes in; `None` serves only the VPSie API.
    pub kube: Option<kube::Client>,
    /// Time between two stand-in passes (heartbeats, pod starts, registrations).
    pub interval: Duration,
    /// Make the mock's virtual time 0 the current wall-clock time, so the `created_on` of new
    /// workers is comparable with the autoscaler's wall clock (as with the real API).
    pub epoch_now: bool,
}

impl MockCloudOptions {
    /// Loopback on a free port, a 1 s interval, epoch = now.
    pub fn new(config: MockConfig, kube: Option<kube::Client>) -> Self {
        Self {
            config,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            kube,
            interval: Duration::from_secs(1),
            epoch_now: true,
        }
    }
}

impl std::fmt::Debug for MockCloudOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockCloudOptions")
            .field("listen", &self.listen)
            .field("kubelets", &self.kube.is_some())
            .field("interval", &self.interval)
            .field("epoch_now", &self.epoch_now)
            .finish_non_exhaustive()
    }
}

/// Why the mock cloud could not start.
#[derive(Debug, thiserror::Error)]
pub enum MockCloudError {
    #[error(transparent)]
    Mock(#[from] MockError),
}

/// A running mock with its kubelet stand-in.
#[derive(Debug)]
pub struct MockCloud {
    server: MockServer,
    stop: watch::Sender<bool>,
    stand_in: Option<JoinHandle<()>>,
}

/// Wall-clock milliseconds since the Unix epoch (what the kubelets' timestamps use).
pub fn wall_clock_ms() -> i64 {
    Timestamp::now().as_millisecond()
}

impl MockCloud {
    pub async fn start(mut options: MockCloudOptions) -> Result<Self, MockCloudError> {
        if options.epoch_now {
            // Whole seconds, rounded up: `created_on` is printed in seconds and must not
            // precede the add-worker call that caused it.
            let second = Timestamp::now().as_second() + 1;
            if let Ok(epoch) = Timestamp::from_second(second) {
                options.config.epoch = epoch.to_string();
            }
        }
        let server = vpsie_sim::mock::start(options.config, options.listen).await?;
        let (stop, stopped) = watch::channel(false);
        let stand_in = options.kube.map(|client| {
            tokio::spawn(stand_in_loop(
                client,
                server.control().clone(),
                options.interval,
                stopped,
            ))
        });
        Ok(Self {
            server,
            stop,
            stand_in,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://ADDR` (the VPSie API is under `/apps/v2`, `/api/v2` and `/v2`).
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    pub fn control(&self) -> &MockControl {
        self.server.control()
    }

    /// Stops the stand-in (its Nodes stay) and the server.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.stand_in.take() {
            let _ = task.await;
        }
        self.server.shutdown().await;
    }

    /// Runs until the server stops.
    pub async fn wait(self) {
        self.server.wait().await;
    }
}

async fn stand_in_loop(
    client: kube::Client,
    control: MockControl,
    interval: Duration,
    mut stopped: watch::Receiver<bool>,
) {
    let mut stand_in = KubeletStandIn::new(client);
    loop {
        let workers = control.with_cloud(|cloud, _now| workers_of(cloud));
        match stand_in.sync(&workers, wall_clock_ms()).await {
            Ok(report) => {
                for name in &report.registered {
                    tracing::info!(node = %name, "kubelet stand-in: Node registered");
                }
                for name in &report.deleted {
                    tracing::info!(node = %name, "kubelet stand-in: Node deleted (worker gone)");
                }
                for pod in &report.started {
                    tracing::info!(%pod, "kubelet stand-in: pod Running");
                }
                for pod in &report.finished {
                    tracing::info!(%pod, "kubelet stand-in: pod terminated");
                }
                for e in &report.errors {
                    tracing::warn!(error = %e, "kubelet stand-in: call failed; retried next pass");
                }
            }
            Err(e) => tracing::warn!(error = %e, "kubelet stand-in: pass failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stopped.changed() => return,
        }
    }
}
