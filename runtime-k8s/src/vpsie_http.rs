//! The production `Vpsie`: the HTTP client of `vpsie-client`, with its errors mapped to the
//! engine's error kinds.

use std::path::PathBuf;

use vpsie_client::{ClientError, TerminalKind, VpsieClient};
use vpsie_engine::model::VpsieSize;

use crate::cloud::{CloudError, CloudErrorKind, Vpsie, VpsieGroup, Worker};
use crate::metrics::Metrics;

/// The VPSie HTTP client behind the `Vpsie` trait.
#[derive(Debug)]
pub struct HttpVpsie {
    client: VpsieClient,
}

/// Where and how `vpsie-autoscaler run` reaches VPSie (its command-line flags).
#[derive(Debug, Clone)]
pub struct VpsieSettings {
    /// Scheme and host, e.g. `https://api.vpsie.com`.
    pub url: String,
    /// Path prefix of the endpoints, e.g. `/apps/v2`.
    pub prefix: String,
    /// Accept a plain-http URL (the mock server only).
    pub allow_http: bool,
    /// Directory of the mounted credentials Secret (`token`, or `clientId` and `clientSecret`).
    pub credentials_dir: PathBuf,
}

impl HttpVpsie {
    pub fn new(client: VpsieClient) -> Self {
        Self { client }
    }

    /// The client the run path uses: credentials read from the mounted directory (and re-read
    /// when rotated), the client's own metrics registered with the runtime's.
    pub fn from_settings(settings: &VpsieSettings, metrics: &Metrics) -> Result<Self, ClientError> {
        let config = vpsie_client::ClientConfig {
            base_url: settings.url.clone(),
            prefix: settings.prefix.clone(),
            allow_http: settings.allow_http,
            ..vpsie_client::ClientConfig::default()
        };
        let mut registry = metrics
            .registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let client = VpsieClient::new(
            config,
            vpsie_client::CredentialSource::directory(&settings.credentials_dir),
            &mut registry,
        )?;
        Ok(Self::new(client))
    }
}

/// Maps a client error to the kind the engine reasons about.
pub fn kind_of(e: &ClientError) -> CloudErrorKind {
    match e {
        ClientError::Auth { .. } | ClientError::Credentials { .. } => CloudErrorKind::Unauthorized,
        ClientError::NotFound { .. } => CloudErrorKind::NotFound,
        ClientError::RateLimited { .. } => CloudErrorKind::RateLimited,
        ClientError::Server { .. }
        | ClientError::Decode { .. }
        | ClientError::ResponseTooLarge { .. }
        | ClientError::CircuitOpen { .. } => CloudErrorKind::Server,
        ClientError::Timeout { .. } | ClientError::Connect { .. } => CloudErrorKind::Network,
        ClientError::Terminal { kind, .. } => match kind {
            TerminalKind::WorkerLimit | TerminalKind::Quota => CloudErrorKind::WorkerLimit,
            TerminalKind::DuplicateGroupSize => CloudErrorKind::SizeConflict,
            TerminalKind::OutOfStock => CloudErrorKind::OutOfStock,
        },
        ClientError::Rejected { .. }
        | ClientError::InvalidArgument { .. }
        | ClientError::Config { .. } => CloudErrorKind::Other,
    }
}

fn err(e: ClientError) -> CloudError {
    CloudError::new(kind_of(&e), e.to_string())
}

impl Vpsie for HttpVpsie {
    async fn list_workers(&self, cluster: &str) -> Result<Vec<Worker>, CloudError> {
        let nodes = self.client.list_nodes(cluster).await.map_err(err)?;
        Ok(nodes
            .into_iter()
            .filter(|n| n.is_worker())
            .map(|n| Worker {
                created_at_ms: vpsie_api::time::parse_rfc3339(&n.created_on),
                private_ip: (!n.private_ip.is_empty()).then_some(n.private_ip),
                public_ip: (!n.default_ip.is_empty()).then_some(n.default_ip),
                identifier: n.identifier,
                hostname: n.hostname,
                status: n.status,
                group_id: n.group_id,
            })
            .collect())
    }

    async fn list_groups(&self, cluster: &str) -> Result<Vec<VpsieGroup>, CloudError> {
        let groups = self.client.list_node_groups(cluster).await.map_err(err)?;
        Ok(groups
            .into_iter()
            .map(|g| VpsieGroup {
                id: g.id,
                name: g.group_name,
                kube_size_id: u32::try_from(g.boxsize_id).unwrap_or(0),
            })
            .collect())
    }

    async fn create_group(
        &self,
        cluster: &str,
        name: &str,
        kube_size_id: u32,
    ) -> Result<(), CloudError> {
        self.client
            .create_node_group(cluster, name, kube_size_id)
            .await
            .map(|_| ())
            .map_err(err)
    }

    async fn add_worker(&self, cluster: &str, group_id: i64) -> Result<(), CloudError> {
        self.client
            .add_worker(cluster, group_id)
            .await
            .map(|_| ())
            .map_err(err)
    }

    async fn delete_worker(&self, cluster: &str, identifier: &str) -> Result<(), CloudError> {
        self.client
            .delete_worker(cluster, identifier)
            .await
            .map(|_| ())
            .map_err(err)
    }

    async fn list_sizes(&self, datacenter: &str) -> Result<Vec<VpsieSize>, CloudError> {
        let offers = self.client.list_offers(datacenter).await.map_err(err)?;
        Ok(offers.iter().map(vpsie_client::offer_to_size).collect())
    }
}
