//! `vpsie-sim mock-vpsie`: serves the simulated VPSie cloud over HTTP until interrupted.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use vpsie_sim::mock::{ClientCredential, MockConfig};

use super::{CliError, Run};

#[derive(Debug, clap::Args)]
pub struct MockVpsieArgs {
    /// Address to listen on; port 0 picks a free port (the chosen address is printed).
    #[arg(long, default_value = "127.0.0.1:8088")]
    pub listen: SocketAddr,
    /// Mock configuration (JSON or YAML, see docs/vpsie-mock.md); the example world otherwise.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Accept this static token (`Vpsie-Auth` or `Authorization: Bearer`).
    #[arg(long)]
    pub token: Vec<String>,
    /// Client id accepted by the login endpoint (with --client-secret).
    #[arg(long, requires = "client_secret")]
    pub client_id: Option<String>,
    /// Client secret accepted by the login endpoint (with --client-id).
    #[arg(long, requires = "client_id")]
    pub client_secret: Option<String>,
    /// Virtual milliseconds per real millisecond (0 freezes time; advance it via the admin
    /// endpoint).
    #[arg(long)]
    pub speed: Option<f64>,
    /// Seed of the cloud's random draws (hostnames, delays, faults).
    #[arg(long)]
    pub seed: Option<u64>,
}

impl Run for MockVpsieArgs {
    fn run(self, out: &mut dyn Write) -> Result<(), CliError> {
        let mut config = match &self.config {
            Some(path) => {
                MockConfig::from_file(path).map_err(|e| CliError::Usage(e.to_string()))?
            }
            None => MockConfig::default(),
        };
        config.auth.static_tokens.extend(self.token);
        if let (Some(client_id), Some(client_secret)) = (self.client_id, self.client_secret) {
            config.auth.clients.push(ClientCredential {
                client_id,
                client_secret,
            });
        }
        if let Some(speed) = self.speed {
            config.speed = speed;
        }
        if let Some(seed) = self.seed {
            config.seed = seed;
        }
        config.validate().map_err(CliError::Usage)?;
        if config.auth.static_tokens.is_empty() && config.auth.clients.is_empty() {
            eprintln!(
                "warning: no --token and no --client-id/--client-secret: every API call will get 401"
            );
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| CliError::Failed(format!("cannot start the async runtime: {e}")))?;
        runtime.block_on(async {
            let server = vpsie_sim::mock::start(config, self.listen)
                .await
                .map_err(|e| CliError::Failed(e.to_string()))?;
            writeln!(out, "mock-vpsie listening on http://{}", server.addr())?;
            writeln!(
                out,
                "  API under /apps/v2, /api/v2 and /v2; admin: GET /__admin/state, POST /__admin/faults, POST /__admin/advance"
            )?;
            out.flush()?;
            let _ = tokio::signal::ctrl_c().await;
            server.shutdown().await;
            Ok(())
        })
    }
}
