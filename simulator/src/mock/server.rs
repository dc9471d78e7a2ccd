//! Starting and stopping the mock: bind, serve with graceful shutdown, hand back a handle.

use std::net::SocketAddr;

use axum::Router;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::config::MockConfig;
use super::state::{MockControl, Shared};
use super::{admin, routes};

/// Why the mock could not start.
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    #[error("invalid mock configuration: {0}")]
    Config(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A running mock. Dropping it without `shutdown` leaves the server running until the runtime
/// stops.
#[derive(Debug)]
pub struct MockServer {
    addr: SocketAddr,
    control: MockControl,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl MockServer {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` (no prefix).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn control(&self) -> &MockControl {
        &self.control
    }

    /// Stops accepting, lets in-flight requests finish, and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }

    /// Waits until the server stops (for the command line: forever, or until ctrl-c).
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

fn app(shared: Shared) -> Router {
    let mut api = Router::new();
    for prefix in vpsie_api::paths::PREFIXES {
        api = api.nest(prefix, routes::api_router());
    }
    let api = routes::with_gatekeeper(api, shared.clone());
    api.merge(admin::router())
        .fallback(routes::not_found)
        .with_state(shared)
}

/// Starts the mock on `listen` (port 0 picks a free port; see [`MockServer::addr`]).
pub async fn start(config: MockConfig, listen: SocketAddr) -> Result<MockServer, MockError> {
    config.validate().map_err(MockError::Config)?;
    let shared = Shared::new(&config);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| MockError::Bind {
            addr: listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| MockError::Bind {
        addr: listen,
        source,
    })?;
    let (tx, rx) = oneshot::channel::<()>();
    let router = app(shared.clone());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Ok(MockServer {
        addr,
        control: MockControl { shared },
        shutdown: Some(tx),
        task,
    })
}

/// Starts the mock on an ephemeral loopback port (for tests).
pub async fn start_ephemeral(config: MockConfig) -> Result<MockServer, MockError> {
    start(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
}
