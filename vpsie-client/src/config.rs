//! Client settings: where the API is, how hard to try, how fast to go.

use std::time::Duration;

/// Which header carries a static token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StaticTokenHeader {
    /// `Vpsie-Auth: <token>` (the SDKs and Terraform provider).
    #[default]
    VpsieAuth,
    /// `Authorization: Bearer <token>`.
    Bearer,
}

/// Settings of a [`crate::VpsieClient`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Scheme and host, e.g. `https://api.vpsie.com`.
    pub base_url: String,
    /// Path prefix: `/apps/v2`, `/api/v2` or `/v2`.
    pub prefix: String,
    /// Allow `http://` base URLs (the mock); refused otherwise.
    pub allow_http: bool,
    pub static_token_header: StaticTokenHeader,
    /// Per attempt, connect to end of body.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    /// Attempts per call (first try included).
    pub max_attempts: u32,
    /// No retry starts after this much time was spent on a call.
    pub max_retry_time: Duration,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Seed of the jitter generator.
    pub jitter_seed: u64,
    /// Consecutive failed calls (server errors, timeouts, connection failures) that open the
    /// circuit breaker.
    pub breaker_threshold: u32,
    /// How long the breaker stays open before letting one probe through.
    pub breaker_cooldown: Duration,
    /// Largest response body accepted.
    pub max_response_bytes: usize,
    /// Client-side rate limit: sustained requests per second and burst.
    pub rate_per_second: f64,
    pub burst: u32,
    /// Refresh a session token this long before it expires.
    pub refresh_before_expiry: Duration,
    pub user_agent: String,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            base_url: "https://api.vpsie.com".to_string(),
            prefix: "/apps/v2".to_string(),
            allow_http: false,
            static_token_header: StaticTokenHeader::VpsieAuth,
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_attempts: 4,
            max_retry_time: Duration::from_secs(60),
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(10),
            jitter_seed: 0x007a_5eed,
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(30),
            max_response_bytes: 4 * 1024 * 1024,
            // The origin autoscaler's self-limit: 100 requests per minute, burst 100.
            rate_per_second: 100.0 / 60.0,
            burst: 100,
            refresh_before_expiry: Duration::from_secs(300),
            user_agent: concat!("vpsie-autoscaler/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}
