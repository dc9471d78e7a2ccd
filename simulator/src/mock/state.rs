//! The mock's shared state: the cloud, its clock, session tokens, switches, a request journal.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::clock::{RealClock, wall_unix_ms};
use super::config::{AuthConfig, MockConfig};
use crate::cloud::{Cloud, CloudEvent, FaultRule};

/// Requests kept in the journal (oldest dropped first).
const JOURNAL_LIMIT: usize = 1_000;
/// Cloud events kept for `GET /__admin/state`.
const EVENT_LOG_LIMIT: usize = 1_000;

/// A request the mock received (credentials never recorded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedRequest {
    pub method: String,
    /// Path without the prefix, e.g. `/k8s/cluster/all`.
    pub path: String,
    pub prefix: String,
    pub content_type: Option<String>,
    pub body: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    Static,
    Session,
}

#[derive(Debug, Clone)]
pub(crate) struct TokenEntry {
    pub kind: TokenKind,
    /// Wall-clock Unix ms; `None` for static tokens.
    pub expires_unix_ms: Option<i64>,
}

pub(crate) struct Inner {
    pub cloud: Cloud,
    pub clock: RealClock,
    pub epoch_unix_ms: i64,
    pub auth: AuthConfig,
    pub tokens: BTreeMap<String, TokenEntry>,
    pub token_rng: ChaCha8Rng,
    pub add_worker_object_form: bool,
    pub journal: Vec<RecordedRequest>,
    pub events: Vec<CloudEvent>,
    pub logins: u64,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Tokens are credentials: only their count is shown.
        f.debug_struct("Inner")
            .field("tokens", &self.tokens.len())
            .field("logins", &self.logins)
            .finish_non_exhaustive()
    }
}

impl Inner {
    /// Brings the cloud up to the current virtual time and returns that time.
    pub fn tick(&mut self) -> i64 {
        let now = self.clock.virtual_now_ms();
        let events = self.cloud.advance(now);
        self.events.extend(events);
        if self.events.len() > EVENT_LOG_LIMIT {
            let excess = self.events.len() - EVENT_LOG_LIMIT;
            self.events.drain(..excess);
        }
        now
    }

    pub fn timestamp(&self, virtual_ms: i64) -> String {
        vpsie_api::time::format_rfc3339(self.epoch_unix_ms + virtual_ms)
    }

    pub fn record(&mut self, request: RecordedRequest) {
        self.journal.push(request);
        if self.journal.len() > JOURNAL_LIMIT {
            self.journal.remove(0);
        }
    }

    /// Whether a presented token is valid now.
    pub fn token_valid(&self, token: &str) -> bool {
        match self.tokens.get(token) {
            None => false,
            Some(entry) => entry
                .expires_unix_ms
                .is_none_or(|expires| wall_unix_ms() < expires),
        }
    }

    /// Issues a session token; returns it with its wall-clock expiry.
    pub fn issue_session(&mut self) -> (String, i64) {
        let a: u64 = self.token_rng.random();
        let b: u64 = self.token_rng.random();
        let token = format!("sess-{a:016x}{b:016x}");
        let expires = wall_unix_ms() + self.auth.session_ttl_seconds * 1000;
        self.tokens.insert(
            token.clone(),
            TokenEntry {
                kind: TokenKind::Session,
                expires_unix_ms: Some(expires),
            },
        );
        self.logins += 1;
        (token, expires)
    }

    pub fn expire_sessions(&mut self) {
        for entry in self.tokens.values_mut() {
            if entry.kind == TokenKind::Session {
                entry.expires_unix_ms = Some(0);
            }
        }
    }
}

/// Shared handle on the mock's state.
#[derive(Debug, Clone)]
pub(crate) struct Shared(pub Arc<Mutex<Inner>>);

impl Shared {
    pub fn new(config: &MockConfig) -> Self {
        let mut tokens = BTreeMap::new();
        for token in &config.auth.static_tokens {
            tokens.insert(
                token.clone(),
                TokenEntry {
                    kind: TokenKind::Static,
                    expires_unix_ms: None,
                },
            );
        }
        let inner = Inner {
            cloud: Cloud::new(config.cloud.clone(), config.seed),
            clock: RealClock::new(config.speed),
            epoch_unix_ms: vpsie_api::time::parse_rfc3339(&config.epoch).unwrap_or(0),
            auth: config.auth.clone(),
            tokens,
            token_rng: ChaCha8Rng::seed_from_u64(config.seed ^ 0x5eed_70ce),
            add_worker_object_form: config.add_worker_object_form,
            journal: Vec::new(),
            events: Vec::new(),
            logins: 0,
        };
        Shared(Arc::new(Mutex::new(inner)))
    }

    /// Locks the state; a poisoned lock (a handler panicked) is recovered, the data is plain.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Changes to the fault knobs (`POST /__admin/faults`). Absent fields leave things as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct FaultUpdate {
    /// Replace the cloud's fault rules.
    pub rules: Option<Vec<FaultRule>>,
    /// Append rules.
    pub add: Vec<FaultRule>,
    pub login_failure: Option<bool>,
    /// Expire every session token issued so far (the next call gets 401).
    pub expire_sessions: bool,
    pub session_ttl_seconds: Option<i64>,
    pub add_worker_object_form: Option<bool>,
}

/// In-process control of a running mock (what the admin endpoint does, without HTTP).
#[derive(Debug, Clone)]
pub struct MockControl {
    pub(crate) shared: Shared,
}

impl MockControl {
    /// Moves virtual time forward and applies what became due.
    pub fn advance(&self, ms: i64) -> Vec<CloudEvent> {
        let mut inner = self.shared.lock();
        inner.clock.advance(ms);
        let before = inner.events.len();
        inner.tick();
        inner.events[before.min(inner.events.len())..].to_vec()
    }

    pub fn now_ms(&self) -> i64 {
        self.shared.lock().clock.virtual_now_ms()
    }

    /// Applies a fault update; refuses invalid rules with a message naming the field.
    pub fn update_faults(&self, update: FaultUpdate) -> Result<(), String> {
        let mut inner = self.shared.lock();
        let now = inner.tick();
        if let Some(rules) = &update.rules {
            for (i, rule) in rules.iter().enumerate() {
                rule.validate(i).map_err(|m| format!("rules: {m}"))?;
            }
        }
        for (i, rule) in update.add.iter().enumerate() {
            rule.validate(i).map_err(|m| format!("add: {m}"))?;
        }
        if let Some(ttl) = update.session_ttl_seconds
            && ttl <= 0
        {
            return Err("sessionTtlSeconds: must be positive".to_string());
        }
        if let Some(rules) = update.rules {
            inner.cloud.set_faults(now, rules);
        }
        for rule in update.add {
            inner.cloud.add_fault(now, rule);
        }
        if let Some(flag) = update.login_failure {
            inner.auth.login_failure = flag;
        }
        if update.expire_sessions {
            inner.expire_sessions();
        }
        if let Some(ttl) = update.session_ttl_seconds {
            inner.auth.session_ttl_seconds = ttl;
        }
        if let Some(flag) = update.add_worker_object_form {
            inner.add_worker_object_form = flag;
        }
        Ok(())
    }

    /// Runs `f` on the cloud (at the current virtual time).
    pub fn with_cloud<R>(&self, f: impl FnOnce(&mut Cloud, i64) -> R) -> R {
        let mut inner = self.shared.lock();
        let now = inner.tick();
        f(&mut inner.cloud, now)
    }

    /// Requests received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().journal.clone()
    }

    pub fn clear_requests(&self) {
        self.shared.lock().journal.clear();
    }

    /// Successful logins so far.
    pub fn logins(&self) -> u64 {
        self.shared.lock().logins
    }
}
