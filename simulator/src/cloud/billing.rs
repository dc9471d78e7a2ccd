//! Billing of workers by their size's hourly price, at a configurable granularity.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

const MS_PER_HOUR: i64 = 3_600_000;

/// The unit a worker's lifetime is rounded up to; every started unit is billed in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum BillingGranularity {
    PerSecond,
    PerMinute,
    /// Started hours are billed in full (the VPSie default).
    #[default]
    PerHour,
}

impl BillingGranularity {
    fn unit_ms(self) -> i64 {
        match self {
            BillingGranularity::PerSecond => 1_000,
            BillingGranularity::PerMinute => 60_000,
            BillingGranularity::PerHour => MS_PER_HOUR,
        }
    }

    /// The billed duration (milliseconds) of a lifetime: rounded up to whole units.
    pub fn billed_ms(self, lifetime_ms: i64) -> i64 {
        if lifetime_ms <= 0 {
            return 0;
        }
        let unit = self.unit_ms();
        let units = (lifetime_ms + unit - 1) / unit;
        units.saturating_mul(unit)
    }

    /// Cost in USD of one worker that lived `lifetime_ms` at `hourly_price`.
    pub fn cost(self, lifetime_ms: i64, hourly_price: f64) -> f64 {
        self.billed_ms(lifetime_ms) as f64 / MS_PER_HOUR as f64 * hourly_price
    }
}

/// One worker's billable life: from the moment its VPS exists (provisioning) until it is gone.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BillingRecord {
    pub group: String,
    pub hourly_price: f64,
    pub start_ms: i64,
    pub end_ms: Option<i64>,
}

/// Cost so far.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BillingSummary {
    pub total_usd: f64,
    /// Actual (not rounded) worker lifetime, summed.
    pub worker_ms: i64,
    /// Per group name.
    pub groups: BTreeMap<String, GroupBilling>,
}

/// Cost of one group so far.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupBilling {
    pub usd: f64,
    pub worker_ms: i64,
    pub workers: u32,
}

pub(crate) fn summarize(
    records: &[BillingRecord],
    granularity: BillingGranularity,
    now_ms: i64,
) -> BillingSummary {
    let mut summary = BillingSummary::default();
    for record in records {
        let end = record.end_ms.unwrap_or(now_ms).min(now_ms);
        let lifetime = (end - record.start_ms).max(0);
        let usd = granularity.cost(lifetime, record.hourly_price);
        summary.total_usd += usd;
        summary.worker_ms += lifetime;
        let group = summary.groups.entry(record.group.clone()).or_default();
        group.usd += usd;
        group.worker_ms += lifetime;
        group.workers += 1;
    }
    summary
}
