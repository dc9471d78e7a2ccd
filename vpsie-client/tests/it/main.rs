//! Integration tests of the VPSie client against the in-process mock over real loopback HTTP.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod auth;
mod contract;
mod decode;
mod faults;
mod ops;
mod redaction;

use std::time::Duration;

use prometheus_client::registry::Registry;
use vpsie_client::{ClientConfig, CredentialSource, Credentials, Secret, VpsieClient};
use vpsie_sim::mock::{AuthConfig, ClientCredential, MockConfig, MockServer, start_ephemeral};

pub const CLUSTER: &str = "7c1d4e20-f8a1-11f0-9c3e-0050569c68dc";
pub const GROUP: i64 = 1187;
pub const TOKEN: &str = "static-tok-9f8e7d6c5b4a";
pub const CLIENT_ID: &str = "autoscaler-client";
pub const CLIENT_SECRET: &str = "client-secret-0a1b2c3d4e5f";

/// The example world, frozen in time, with zero lifecycle delays, accepting both schemes.
pub fn mock_config() -> MockConfig {
    MockConfig {
        speed: 0.0,
        cloud: vpsie_sim::cloud::CloudConfig::instant(),
        auth: AuthConfig {
            static_tokens: vec![TOKEN.to_string()],
            clients: vec![ClientCredential {
                client_id: CLIENT_ID.to_string(),
                client_secret: CLIENT_SECRET.to_string(),
            }],
            ..AuthConfig::default()
        },
        ..MockConfig::default()
    }
}

pub async fn mock(config: MockConfig) -> MockServer {
    start_ephemeral(config).await.expect("mock starts")
}

/// Fast retries, no breaker trips unless a test asks, no rate limiting in the way.
pub fn client_config(server: &MockServer) -> ClientConfig {
    ClientConfig {
        base_url: server.base_url(),
        prefix: "/v2".to_string(),
        allow_http: true,
        request_timeout: Duration::from_secs(5),
        max_attempts: 3,
        max_retry_time: Duration::from_secs(5),
        backoff_base: Duration::from_millis(1),
        backoff_max: Duration::from_millis(5),
        breaker_threshold: 100,
        rate_per_second: 10_000.0,
        burst: 10_000,
        ..ClientConfig::default()
    }
}

pub fn static_credentials() -> CredentialSource {
    CredentialSource::fixed(Credentials::StaticToken(Secret::new(TOKEN)))
}

pub fn session_credentials() -> CredentialSource {
    CredentialSource::fixed(Credentials::ClientCredentials {
        client_id: CLIENT_ID.to_string(),
        client_secret: Secret::new(CLIENT_SECRET),
    })
}

pub fn client(config: ClientConfig, credentials: CredentialSource) -> (VpsieClient, Registry) {
    let mut registry = Registry::default();
    let client = VpsieClient::new(config, credentials, &mut registry).expect("client builds");
    (client, registry)
}

pub fn metrics_text(registry: &Registry) -> String {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, registry).expect("encodes");
    text
}
