//! The mock's configuration file (JSON or YAML): the cloud, authentication, and switches.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::cloud::CloudConfig;

/// Everything the mock needs; every field has a default (the specification's example world).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct MockConfig {
    pub cloud: CloudConfig,
    /// Seed of the cloud's generator.
    pub seed: u64,
    /// Virtual ms per real ms; 0 freezes time (tests advance it through the admin endpoint).
    pub speed: f64,
    /// What virtual time 0 is as a timestamp (RFC 3339) in `created_on` fields.
    pub epoch: String,
    pub auth: AuthConfig,
    /// Answer add-worker with the object form `{"id","identifier","status","hostname"}` instead
    /// of `true`.
    pub add_worker_object_form: bool,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            cloud: CloudConfig::default(),
            seed: 1,
            speed: 1.0,
            epoch: "2026-01-01T00:00:00Z".to_string(),
            auth: AuthConfig::default(),
            add_worker_object_form: false,
        }
    }
}

/// Accepted credentials and session behaviour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Static tokens accepted in `Vpsie-Auth` (or as `Authorization: Bearer`).
    pub static_tokens: Vec<String>,
    /// Client credentials the login endpoint accepts.
    pub clients: Vec<ClientCredential>,
    /// Lifetime of a session token.
    pub session_ttl_seconds: i64,
    /// Make every login fail with 401.
    pub login_failure: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            static_tokens: Vec::new(),
            clients: Vec::new(),
            session_ttl_seconds: 3600,
            login_failure: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientCredential {
    pub client_id: String,
    pub client_secret: String,
}

/// A configuration file that cannot be used; says which file and what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum MockConfigError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

impl MockConfig {
    /// Parses JSON (when the text starts with `{`) or YAML, then validates.
    pub fn from_str(text: &str, source_name: &str) -> Result<Self, MockConfigError> {
        let parse_error = |message: String| MockConfigError::Parse {
            path: source_name.to_string(),
            message,
        };
        let config: MockConfig = if text.trim_start().starts_with('{') {
            let de = &mut serde_json::Deserializer::from_str(text);
            serde_path_to_error::deserialize(de).map_err(|e| {
                parse_error(format!(
                    "line {}, column {}: at `{}`: {}",
                    e.inner().line(),
                    e.inner().column(),
                    e.path(),
                    e.inner()
                ))
            })?
        } else {
            let de = serde_yaml_ng::Deserializer::from_str(text);
            serde_path_to_error::deserialize(de).map_err(|e| {
                let location = e
                    .inner()
                    .location()
                    .map(|l| format!("line {}, column {}: ", l.line(), l.column()))
                    .unwrap_or_default();
                parse_error(format!("{location}at `{}`: {}", e.path(), e.inner()))
            })?
        };
        config
            .validate()
            .map_err(|message| MockConfigError::Invalid {
                path: source_name.to_string(),
                message,
            })?;
        Ok(config)
    }

    pub fn from_file(path: &Path) -> Result<Self, MockConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| MockConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        MockConfig::from_str(&text, &path.display().to_string())
    }

    pub fn validate(&self) -> Result<(), String> {
        self.cloud.validate().map_err(|m| format!("cloud.{m}"))?;
        if !(self.speed.is_finite() && self.speed >= 0.0) {
            return Err(format!(
                "speed: must be a non-negative number, got {}",
                self.speed
            ));
        }
        if vpsie_api::time::parse_rfc3339(&self.epoch).is_none() {
            return Err(format!(
                "epoch: not an RFC 3339 timestamp: {:?}",
                self.epoch
            ));
        }
        if self.auth.session_ttl_seconds <= 0 {
            return Err("auth.sessionTtlSeconds: must be positive".to_string());
        }
        Ok(())
    }
}
