//! Fault injection: rules that fire in a time window, with a probability, a bounded number of
//! times, on chosen API operations.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The API operations faults can target.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum ApiOp {
    Login,
    ListClusters,
    GetCluster,
    ListGroups,
    CreateGroup,
    DeleteGroup,
    AddWorker,
    DeleteWorker,
    Reduce,
    Offers,
    Datacenters,
    Projects,
    ListVms,
}

/// One fault rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultRule {
    pub fault: FaultKind,
    /// Operations the rule applies to (call faults only); empty means every operation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ops: Vec<ApiOp>,
    /// Start of the active window (inclusive), virtual ms; open when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_ms: Option<i64>,
    /// End of the active window (exclusive); open when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_ms: Option<i64>,
    /// Chance that a matching call (or a node-death tick) is hit.
    #[serde(default = "always")]
    pub probability: f64,
    /// Stop after firing this many times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_count: Option<u32>,
    /// Restrict to one cluster (identifier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
}

fn always() -> f64 {
    1.0
}

impl FaultRule {
    /// A rule that always fires, at any time, on every operation it can apply to.
    pub fn always(fault: FaultKind) -> Self {
        FaultRule {
            fault,
            ops: Vec::new(),
            from_ms: None,
            until_ms: None,
            probability: 1.0,
            max_count: None,
            cluster: None,
        }
    }

    pub fn on(mut self, ops: &[ApiOp]) -> Self {
        self.ops = ops.to_vec();
        self
    }

    pub fn between(mut self, from_ms: i64, until_ms: i64) -> Self {
        self.from_ms = Some(from_ms);
        self.until_ms = Some(until_ms);
        self
    }

    pub fn with_probability(mut self, probability: f64) -> Self {
        self.probability = probability;
        self
    }

    pub fn times(mut self, max_count: u32) -> Self {
        self.max_count = Some(max_count);
        self
    }

    pub(crate) fn active_at(&self, now_ms: i64) -> bool {
        self.from_ms.is_none_or(|from| now_ms >= from)
            && self.until_ms.is_none_or(|until| now_ms < until)
    }

    /// Checks the parameters make sense; the message names the field.
    pub fn validate(&self, index: usize) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.probability) {
            return Err(format!(
                "faults[{index}].probability: must be within 0..=1, got {}",
                self.probability
            ));
        }
        if let (Some(from), Some(until)) = (self.from_ms, self.until_ms)
            && until < from
        {
            return Err(format!(
                "faults[{index}].untilMs: {until} is before fromMs {from}"
            ));
        }
        match &self.fault {
            FaultKind::ServerError { status } if !(500..=599).contains(status) => Err(format!(
                "faults[{index}].fault.status: {status} is not a 5xx status"
            )),
            FaultKind::LateMaterialization { delay_ms } if *delay_ms < 0 => Err(format!(
                "faults[{index}].fault.delayMs: negative ({delay_ms})"
            )),
            FaultKind::NodeDeath {
                interval_ms: Some(interval),
                ..
            } if *interval <= 0 => Err(format!(
                "faults[{index}].fault.intervalMs: must be positive, got {interval}"
            )),
            _ => Ok(()),
        }
    }
}

/// What goes wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum FaultKind {
    /// The call fails with an HTTP 5xx (default 503).
    ServerError {
        #[serde(default = "default_server_status")]
        status: u16,
    },
    /// The call fails with HTTP 429.
    RateLimited,
    /// HTTP 200 with `{"error": true}` in the envelope.
    ErrorOn200 {
        #[serde(default = "default_error_on_200_message")]
        message: String,
    },
    /// An add is accepted but the worker never materialises (and does not count toward limits).
    LostAdd,
    /// An add materialises only after `delay_ms` (typically past the autoscaler's timeout).
    LateMaterialization { delay_ms: i64 },
    /// A targeted delete is accepted, the worker shows `deleting`, then returns to its previous
    /// status instead of disappearing.
    FailedDelete,
    /// Adds to groups of this size fail (HTTP 400, "out of stock").
    StockOut { size_id: u32 },
    /// A running worker dies at `fromMs` (and every `intervalMs` after, within the window):
    /// the named one, or one drawn at random.
    NodeDeath {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hostname: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        interval_ms: Option<i64>,
    },
}

fn default_server_status() -> u16 {
    503
}

fn default_error_on_200_message() -> String {
    "Something went wrong, please try again later".to_string()
}

impl FaultKind {
    /// Whether this rule can hit a call of `op`.
    fn applies_to(&self, op: ApiOp) -> bool {
        match self {
            FaultKind::ServerError { .. }
            | FaultKind::RateLimited
            | FaultKind::ErrorOn200 { .. } => true,
            FaultKind::LostAdd
            | FaultKind::LateMaterialization { .. }
            | FaultKind::StockOut { .. } => op == ApiOp::AddWorker,
            FaultKind::FailedDelete => op == ApiOp::DeleteWorker,
            FaultKind::NodeDeath { .. } => false,
        }
    }

    fn is_call_level(&self) -> bool {
        matches!(
            self,
            FaultKind::ServerError { .. } | FaultKind::RateLimited | FaultKind::ErrorOn200 { .. }
        )
    }
}

/// Rules plus how often each fired.
#[derive(Debug, Clone, Default)]
pub(crate) struct FaultBook {
    pub rules: Vec<FaultRule>,
    pub fired: Vec<u32>,
}

/// Which class of fault to look for on a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultStage {
    /// Transport-level trouble before the call is processed (5xx, 429, 200-with-error).
    Call,
    /// Effects on an accepted add or delete (lost, late, failed delete, stock-out).
    Effect,
}

impl FaultBook {
    pub fn new(rules: Vec<FaultRule>) -> Self {
        let fired = vec![0; rules.len()];
        FaultBook { rules, fired }
    }

    /// The first rule of `stage` that fires for this call, if any; counts it as fired.
    /// `extra` filters on call details (e.g. the group's size for stock-outs).
    pub fn pick(
        &mut self,
        rng: &mut ChaCha8Rng,
        now_ms: i64,
        op: ApiOp,
        cluster: Option<&str>,
        stage: FaultStage,
        extra: impl Fn(&FaultKind) -> bool,
    ) -> Option<FaultKind> {
        for (index, rule) in self.rules.iter().enumerate() {
            let stage_matches = match stage {
                FaultStage::Call => rule.fault.is_call_level(),
                FaultStage::Effect => !rule.fault.is_call_level(),
            };
            if !stage_matches
                || !rule.fault.applies_to(op)
                || !(rule.ops.is_empty() || rule.ops.contains(&op))
                || !rule.active_at(now_ms)
                || rule.max_count.is_some_and(|max| self.fired[index] >= max)
                || rule
                    .cluster
                    .as_deref()
                    .is_some_and(|c| cluster.is_some_and(|k| k != c))
                || !extra(&rule.fault)
            {
                continue;
            }
            if !draw(rng, rule.probability) {
                continue;
            }
            self.fired[index] += 1;
            return Some(rule.fault.clone());
        }
        None
    }
}

/// A Bernoulli draw that consumes randomness only when the outcome is uncertain.
pub(crate) fn draw(rng: &mut ChaCha8Rng, probability: f64) -> bool {
    if probability >= 1.0 {
        true
    } else if probability <= 0.0 {
        false
    } else {
        rng.random::<f64>() < probability
    }
}
