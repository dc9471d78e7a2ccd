//! The client: one `call` path (rate limit, breaker, auth, timeout, size limit, envelope,
//! classification, retries, metrics) and the operations built on it.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use prometheus_client::registry::Registry;
use reqwest::{Method, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use vpsie_api::envelope::DecodedEnvelope;
use vpsie_api::{
    AddWorkerData, AddedWorker, Cluster, ClusterNode, CreateGroupRequest, Datacenter,
    DeleteWorkerRequest, K8sOffer, LoginRequest, LoginResponse, NodeGroup, OffersRequest, paths,
};

use crate::breaker::Breaker;
use crate::config::{ClientConfig, StaticTokenHeader};
use crate::credentials::{CredentialSource, Credentials};
use crate::error::ClientError;
use crate::metrics::Metrics;
use crate::ratelimit::TokenBucket;
use crate::retry::Backoff;
use crate::secret::Secret;

/// Whether a call may be repeated after an ambiguous failure (a timeout or 5xx after which the
/// server may have acted). Adding a worker is not: a blind retry could buy two VPSs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Idempotency {
    Safe,
    Unsafe,
}

/// What add-worker answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddWorkerOutcome {
    /// `data: true`: accepted; the worker is anonymous until it shows up in the node list.
    Accepted,
    /// The object form: the API named the worker.
    Worker(AddedWorker),
}

/// What a targeted delete did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    Deleting,
    /// 404 or no such hostname: already gone, which is what was wanted.
    AlreadyGone,
}

#[derive(Debug)]
struct Session {
    token: Secret,
    expires_unix_ms: i64,
}

struct Body {
    bytes: Vec<u8>,
    content_type: &'static str,
}

/// The VPSie API client. Cheap to share behind an `Arc`; all state is internally locked.
#[derive(Debug)]
pub struct VpsieClient {
    http: reqwest::Client,
    config: ClientConfig,
    credentials: CredentialSource,
    session: tokio::sync::Mutex<Option<Session>>,
    breaker: Mutex<Breaker>,
    bucket: Mutex<TokenBucket>,
    backoff: Mutex<Backoff>,
    metrics: Metrics,
}

fn now_unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn segment(operation: &'static str, what: &str, value: &str) -> Result<(), ClientError> {
    if paths::is_safe_segment(value) {
        Ok(())
    } else {
        Err(ClientError::InvalidArgument {
            operation,
            message: format!("{what} {value:?} is not a plain identifier"),
        })
    }
}

impl VpsieClient {
    /// Builds a client; registers its metrics in `registry`.
    pub fn new(
        config: ClientConfig,
        credentials: CredentialSource,
        registry: &mut Registry,
    ) -> Result<Self, ClientError> {
        let base = config.base_url.trim_end_matches('/');
        let is_https = base.starts_with("https://");
        let is_http = base.starts_with("http://");
        if !(is_https || (is_http && config.allow_http)) {
            return Err(ClientError::Config {
                message: if is_http {
                    format!("{base}: plain http is refused unless explicitly allowed")
                } else {
                    format!("{base}: base URL must start with https://")
                },
            });
        }
        if !config.prefix.is_empty() && !config.prefix.starts_with('/') {
            return Err(ClientError::Config {
                message: format!("prefix {:?} must start with /", config.prefix),
            });
        }
        if config.max_attempts == 0 {
            return Err(ClientError::Config {
                message: "max_attempts must be at least 1".to_string(),
            });
        }
        // One process-wide crypto provider; an already installed one is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .https_only(!config.allow_http)
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(config.user_agent.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ClientError::Config {
                message: format!("cannot build the HTTP client: {e}"),
            })?;
        let now = Instant::now();
        Ok(VpsieClient {
            http,
            breaker: Mutex::new(Breaker::new(
                config.breaker_threshold,
                config.breaker_cooldown,
            )),
            bucket: Mutex::new(TokenBucket::new(config.rate_per_second, config.burst, now)),
            backoff: Mutex::new(Backoff::new(
                config.backoff_base,
                config.backoff_max,
                config.jitter_seed,
            )),
            metrics: Metrics::register(registry),
            session: tokio::sync::Mutex::new(None),
            credentials,
            config,
        })
    }

    fn url(&self, path: &str) -> String {
        format!(
            "{}{}{}",
            self.config.base_url.trim_end_matches('/'),
            self.config.prefix.trim_end_matches('/'),
            path
        )
    }

    async fn rate_limit(&self) {
        loop {
            let wait = lock(&self.bucket).try_take(Instant::now());
            match wait {
                Ok(()) => return,
                Err(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    fn current_credentials(&self) -> Result<(Credentials, bool), ClientError> {
        self.credentials
            .current()
            .map_err(|e| ClientError::Credentials {
                message: e.to_string(),
            })
    }

    /// The auth header for the next attempt, logging in when the session is missing or near
    /// expiry (or the credentials rotated).
    async fn auth_header(
        &self,
        operation: &'static str,
    ) -> Result<(header::HeaderName, Secret), ClientError> {
        let (credentials, changed) = self.current_credentials()?;
        match credentials {
            Credentials::StaticToken(token) => Ok(match self.config.static_token_header {
                StaticTokenHeader::VpsieAuth => {
                    (header::HeaderName::from_static("vpsie-auth"), token)
                }
                StaticTokenHeader::Bearer => (
                    header::AUTHORIZATION,
                    Secret::new(format!("Bearer {}", token.expose())),
                ),
            }),
            Credentials::ClientCredentials {
                client_id,
                client_secret,
            } => {
                let mut session = self.session.lock().await;
                let margin = i64::try_from(self.config.refresh_before_expiry.as_millis())
                    .unwrap_or(i64::MAX);
                let fresh = session
                    .as_ref()
                    .is_some_and(|s| now_unix_ms() < s.expires_unix_ms.saturating_sub(margin));
                if changed || !fresh {
                    *session = Some(self.login(operation, &client_id, &client_secret).await?);
                }
                let token = session
                    .as_ref()
                    .map(|s| s.token.expose().to_string())
                    .unwrap_or_default();
                Ok((
                    header::AUTHORIZATION,
                    Secret::new(format!("Bearer {token}")),
                ))
            }
        }
    }

    async fn login(
        &self,
        operation: &'static str,
        client_id: &str,
        client_secret: &Secret,
    ) -> Result<Session, ClientError> {
        self.rate_limit().await;
        let body = serde_json::to_vec(&LoginRequest {
            client_id: client_id.to_string(),
            client_secret: client_secret.expose().to_string(),
        })
        .map_err(|e| ClientError::Config {
            message: format!("cannot encode the login request: {e}"),
        })?;
        let body = Body {
            bytes: body,
            content_type: "application/json",
        };
        let started = Instant::now();
        let result = self
            .send_once("login", Method::POST, paths::LOGIN, Some(&body), None)
            .await
            .and_then(|(status, bytes)| {
                vpsie_api::decode_body::<LoginResponse>(status, &bytes)
                    .map_err(|e| ClientError::from_envelope("login", e))
            });
        self.metrics.record(
            "login",
            started.elapsed().as_secs_f64(),
            result.as_ref().err().map(ClientError::metric_label),
        );
        let response = result.map_err(|e| match e {
            // Say which call needed the login.
            ClientError::Auth {
                status, message, ..
            } => ClientError::Auth {
                operation,
                status,
                message: format!("login failed: {message}"),
            },
            other => other,
        })?;
        let access = response.access().ok_or_else(|| ClientError::Decode {
            operation: "login",
            status: 200,
            reason: "no access token in the login response".to_string(),
            body: String::new(),
        })?;
        let expires_unix_ms = vpsie_api::time::parse_rfc3339(&access.expires)
            .unwrap_or_else(|| now_unix_ms() + 3_600_000);
        Ok(Session {
            token: Secret::new(access.token.clone()),
            expires_unix_ms,
        })
    }

    /// One HTTP exchange: returns the status and the body (bounded by the size limit).
    async fn send_once(
        &self,
        operation: &'static str,
        method: Method,
        path: &str,
        body: Option<&Body>,
        auth: Option<&(header::HeaderName, Secret)>,
    ) -> Result<(u16, Vec<u8>), ClientError> {
        let mut request = self
            .http
            .request(method, self.url(path))
            .header(header::ACCEPT, "application/json");
        if let Some((name, value)) = auth {
            let mut value = header::HeaderValue::from_str(value.expose()).map_err(|_| {
                ClientError::Credentials {
                    message: "the token contains characters not allowed in a header".to_string(),
                }
            })?;
            value.set_sensitive(true);
            request = request.header(name.clone(), value);
        }
        if let Some(body) = body {
            request = request
                .header(header::CONTENT_TYPE, body.content_type)
                .body(body.bytes.clone());
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| self.transport_error(operation, &e))?;
        let status = response.status().as_u16();
        let limit = self.config.max_response_bytes;
        if response
            .content_length()
            .is_some_and(|len| len > limit as u64)
        {
            return Err(ClientError::ResponseTooLarge { operation, limit });
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(operation, &e))?
        {
            if bytes.len() + chunk.len() > limit {
                return Err(ClientError::ResponseTooLarge { operation, limit });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok((status, bytes))
    }

    fn transport_error(&self, operation: &'static str, e: &reqwest::Error) -> ClientError {
        if e.is_timeout() {
            ClientError::Timeout {
                operation,
                timeout: self.config.request_timeout,
            }
        } else {
            // Without the URL: reqwest's Display may include it, and the source chain is enough.
            let mut message = String::new();
            let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
            while let Some(s) = source {
                message = s.to_string();
                source = s.source();
            }
            if message.is_empty() {
                message = "request failed".to_string();
            }
            ClientError::Connect { operation, message }
        }
    }

    /// The full call: breaker, rate limit, auth (with one re-login on 401), retries, metrics.
    async fn call<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        method: Method,
        path: &str,
        body: Option<Body>,
        idempotency: Idempotency,
    ) -> Result<DecodedEnvelope<T>, ClientError> {
        let started = Instant::now();
        let result = self
            .call_inner(operation, method, path, body.as_ref(), idempotency, started)
            .await;
        self.metrics.record(
            operation,
            started.elapsed().as_secs_f64(),
            result.as_ref().err().map(ClientError::metric_label),
        );
        result
    }

    async fn call_inner<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        method: Method,
        path: &str,
        body: Option<&Body>,
        idempotency: Idempotency,
        started: Instant,
    ) -> Result<DecodedEnvelope<T>, ClientError> {
        let mut relogged = false;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            if let Err(retry_in) = lock(&self.breaker).admit(Instant::now()) {
                return Err(ClientError::CircuitOpen {
                    operation,
                    retry_in,
                });
            }
            self.rate_limit().await;
            let outcome = match self.auth_header(operation).await {
                Ok(auth) => self
                    .send_once(operation, method.clone(), path, body, Some(&auth))
                    .await
                    .and_then(|(status, bytes)| {
                        vpsie_api::decode_envelope::<T>(status, &bytes)
                            .map_err(|e| ClientError::from_envelope(operation, e))
                    }),
                Err(e) => Err(e),
            };
            let error = match outcome {
                Ok(decoded) => {
                    lock(&self.breaker).success();
                    return Ok(decoded);
                }
                Err(e) => e,
            };
            if error.is_health_failure() {
                lock(&self.breaker).failure(Instant::now());
            } else {
                lock(&self.breaker).neutral();
            }
            // A 401 on a session may mean the token expired early: log in again, once.
            if let ClientError::Auth { status: 401, .. } = error
                && !relogged
            {
                relogged = true;
                if self.forget_session().await {
                    continue;
                }
            }
            let may_retry = match idempotency {
                Idempotency::Safe => error.is_retryable(),
                // Only failures after which the server certainly did nothing.
                Idempotency::Unsafe => matches!(
                    error,
                    ClientError::RateLimited { .. } | ClientError::Connect { .. }
                ),
            } && !matches!(error, ClientError::CircuitOpen { .. });
            if !may_retry || attempt >= self.config.max_attempts {
                return Err(error);
            }
            let delay = lock(&self.backoff).delay(attempt - 1);
            if started.elapsed() + delay > self.config.max_retry_time {
                return Err(error);
            }
            tracing::debug!(
                operation,
                attempt,
                error = %error,
                delay_ms = delay.as_millis() as u64,
                "retrying VPSie API call"
            );
            self.metrics.retry(operation);
            tokio::time::sleep(delay).await;
        }
    }

    /// Drops the session so the next attempt logs in; false when there is no session to renew
    /// (static tokens: re-read the credentials instead, in case they rotated).
    async fn forget_session(&self) -> bool {
        match self.current_credentials() {
            Ok((Credentials::ClientCredentials { .. }, _)) => {
                *self.session.lock().await = None;
                true
            }
            Ok((Credentials::StaticToken(_), changed)) => changed,
            Err(_) => false,
        }
    }

    fn required<T>(operation: &'static str, decoded: DecodedEnvelope<T>) -> Result<T, ClientError> {
        decoded.data.ok_or(ClientError::Decode {
            operation,
            status: decoded.status,
            reason: "the response has no `data`".to_string(),
            body: String::new(),
        })
    }

    // ----- operations -----

    /// §4.2 Every cluster of the account.
    pub async fn list_clusters(&self) -> Result<Vec<Cluster>, ClientError> {
        let op = "list_clusters";
        let decoded = self
            .call(op, Method::GET, paths::CLUSTERS, None, Idempotency::Safe)
            .await?;
        Ok(decoded.data.unwrap_or_default())
    }

    /// §4.3 One cluster with its nodes.
    pub async fn get_cluster(&self, cluster: &str) -> Result<Cluster, ClientError> {
        let op = "get_cluster";
        segment(op, "cluster", cluster)?;
        let decoded = self
            .call(
                op,
                Method::GET,
                &paths::cluster(cluster),
                None,
                Idempotency::Safe,
            )
            .await?;
        Self::required(op, decoded)
    }

    /// The nodes of a cluster (§4.3 `nodes`).
    pub async fn list_nodes(&self, cluster: &str) -> Result<Vec<ClusterNode>, ClientError> {
        Ok(self.get_cluster(cluster).await?.nodes.unwrap_or_default())
    }

    /// §4.4 Node groups of a cluster (deleted ones left out).
    pub async fn list_node_groups(&self, cluster: &str) -> Result<Vec<NodeGroup>, ClientError> {
        let op = "list_node_groups";
        segment(op, "cluster", cluster)?;
        let decoded: DecodedEnvelope<Vec<NodeGroup>> = self
            .call(
                op,
                Method::GET,
                &paths::groups(cluster),
                None,
                Idempotency::Safe,
            )
            .await?;
        Ok(decoded
            .data
            .unwrap_or_default()
            .into_iter()
            .filter(|g| g.is_deleted == 0)
            .collect())
    }

    /// §4.5 Creates a group of a size, then re-lists the groups to find it by name (the create
    /// response is not trusted). After an ambiguous failure the list decides whether it exists.
    pub async fn create_node_group(
        &self,
        cluster: &str,
        group_name: &str,
        kube_size_id: u32,
    ) -> Result<NodeGroup, ClientError> {
        let op = "create_node_group";
        segment(op, "cluster", cluster)?;
        let body = json_body(
            op,
            &CreateGroupRequest {
                cluster_identifier: cluster.to_string(),
                group_name: group_name.to_string(),
                kube_size_id: i64::from(kube_size_id),
            },
        )?;
        let created = self
            .call::<serde_json::Value>(
                op,
                Method::POST,
                paths::CREATE_GROUP,
                Some(body),
                Idempotency::Unsafe,
            )
            .await;
        if let Err(e) = &created
            && !matches!(e, ClientError::Server { .. } | ClientError::Timeout { .. })
        {
            return Err(e.clone());
        }
        let groups = self.list_node_groups(cluster).await?;
        match groups.into_iter().find(|g| g.group_name == group_name) {
            Some(group) => Ok(group),
            None => Err(created.err().unwrap_or(ClientError::Decode {
                operation: op,
                status: 200,
                reason: format!("group {group_name:?} was created but is not listed"),
                body: String::new(),
            })),
        }
    }

    /// §4.7 Asks for one more worker in a group (numeric id). Never retried after an ambiguous
    /// failure: discover the worker by diffing node lists instead.
    pub async fn add_worker(
        &self,
        cluster: &str,
        group_id: i64,
    ) -> Result<AddWorkerOutcome, ClientError> {
        let op = "add_worker";
        segment(op, "cluster", cluster)?;
        let decoded: DecodedEnvelope<AddWorkerData> = self
            .call(
                op,
                Method::POST,
                &paths::add_worker(cluster, group_id),
                None,
                Idempotency::Unsafe,
            )
            .await?;
        match decoded.data {
            Some(AddWorkerData::Worker(worker)) => Ok(AddWorkerOutcome::Worker(worker)),
            Some(AddWorkerData::Accepted(true)) | None => Ok(AddWorkerOutcome::Accepted),
            Some(AddWorkerData::Accepted(false)) => Err(ClientError::Rejected {
                operation: op,
                status: decoded.status,
                message: decoded
                    .message
                    .unwrap_or_else(|| "add-worker answered false".to_string()),
            }),
        }
    }

    /// §4.8 Deletes one worker by its identifier; 404 means it is already gone.
    pub async fn delete_worker(
        &self,
        cluster: &str,
        identifier: &str,
    ) -> Result<DeleteOutcome, ClientError> {
        let op = "delete_worker";
        segment(op, "cluster", cluster)?;
        let body = json_body(
            op,
            &DeleteWorkerRequest {
                identifier: identifier.to_string(),
            },
        )?;
        match self
            .call::<serde_json::Value>(
                op,
                Method::DELETE,
                &paths::delete_worker(cluster),
                Some(body),
                Idempotency::Safe,
            )
            .await
        {
            Ok(_) => Ok(DeleteOutcome::Deleting),
            Err(ClientError::NotFound { .. }) => Ok(DeleteOutcome::AlreadyGone),
            Err(e) => Err(e),
        }
    }

    /// A cluster node by hostname, compared case-insensitively.
    pub async fn find_node_by_hostname(
        &self,
        cluster: &str,
        hostname: &str,
    ) -> Result<Option<ClusterNode>, ClientError> {
        Ok(self
            .list_nodes(cluster)
            .await?
            .into_iter()
            .find(|n| n.hostname.eq_ignore_ascii_case(hostname)))
    }

    /// Deletes the worker whose hostname is the Kubernetes Node name.
    pub async fn delete_worker_by_hostname(
        &self,
        cluster: &str,
        hostname: &str,
    ) -> Result<DeleteOutcome, ClientError> {
        match self.find_node_by_hostname(cluster, hostname).await? {
            None => Ok(DeleteOutcome::AlreadyGone),
            Some(node) if !node.is_worker() => Err(ClientError::InvalidArgument {
                operation: "delete_worker",
                message: format!("{hostname} is a control-plane node"),
            }),
            Some(node) => self.delete_worker(cluster, &node.identifier).await,
        }
    }

    /// §4.10 Kubernetes sizes and prices of a datacenter.
    pub async fn list_offers(&self, datacenter: &str) -> Result<Vec<K8sOffer>, ClientError> {
        let op = "list_offers";
        let body = json_body(
            op,
            &OffersRequest {
                dc_identifier: datacenter.to_string(),
            },
        )?;
        let decoded = self
            .call(
                op,
                Method::POST,
                paths::OFFERS,
                Some(body),
                Idempotency::Safe,
            )
            .await?;
        Ok(decoded.data.unwrap_or_default())
    }

    /// §4.12 Datacenters.
    pub async fn list_datacenters(&self) -> Result<Vec<Datacenter>, ClientError> {
        let op = "list_datacenters";
        let decoded = self
            .call(op, Method::GET, paths::DATACENTERS, None, Idempotency::Safe)
            .await?;
        Ok(decoded.data.unwrap_or_default())
    }
}

fn json_body(operation: &'static str, value: &impl Serialize) -> Result<Body, ClientError> {
    serde_json::to_vec(value)
        .map(|bytes| Body {
            bytes,
            content_type: "application/json",
        })
        .map_err(|e| ClientError::InvalidArgument {
            operation,
            message: format!("cannot encode the request: {e}"),
        })
}
