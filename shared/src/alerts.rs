//! Access-lost alerts: the hour a customer's newest snapshot stops covering resources that earn
//! PEC, an alert opens, with the credit at stake per day; a later snapshot that covers them again
//! closes it, with the resource-days lost meanwhile.
//!
//! [`observe`] decides, from the customer's newest snapshot before this one, the new snapshot,
//! the customer's usage around it and its open alert, what changes. It reads nothing: the caller
//! ([`crate::ingest::post_snapshot_watched`]) gathers the inputs and stores the outcome with the
//! snapshot, in one transaction, before any event is sent.

use crate::access::{snapshot_coverage, AccessBuilder, PreparedAccess};
use crate::config::Config;
use crate::decimal::fmt_amount;
use crate::reasons::{DayStatus, LossReason};
use crate::roles::RoleTable;
use crate::snapshot::Snapshot;
use crate::store::UsageAggregate;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Usage dates considered before the snapshot's own date (the window is these and that date).
pub const WINDOW_DAYS: i64 = 7;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    Open,
    Restored,
}

/// A resource an alert is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertResource {
    pub resource_id: String,
    pub subscription_id: String,
    /// Why the newest snapshot does not cover it (SPEC reason codes).
    pub reason: LossReason,
    /// `takenAt` of the last snapshot that covered it.
    pub last_covered_at: DateTime<Utc>,
    /// `takenAt` of the first snapshot that did not.
    pub lost_at: DateTime<Utc>,
    /// The usage line's MPN ID (and Tier-2 MPN ID) its Partner Admin Link was checked against.
    pub mpn_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tier2_mpn_id: String,
}

/// A resource and a usage date.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDay {
    pub resource_id: String,
    pub usage_date: NaiveDate,
}

/// An access-lost alert of one customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub alert_id: String,
    pub partner_id: String,
    pub customer_id: String,
    /// The snapshot that opened it, and when that snapshot was taken.
    pub snapshot_id: String,
    pub taken_at: DateTime<Utc>,
    /// When pec-ledger saw it (the snapshot's arrival).
    pub detected_at: DateTime<Utc>,
    pub status: AlertStatus,
    pub resources: Vec<AlertResource>,
    /// Per currency: the PEC rate times the affected resources' eligible amount over the
    /// window's dates, divided by the number of those dates with usage (exact decimals).
    pub credit_at_stake_per_day: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored_by_snapshot_id: Option<String>,
    /// On restoration: the alert's resource-days with eligible usage, from the day of the last
    /// snapshot that covered them to the day of the one that covers them again, that do not have
    /// eligible access all day (as settlement decides them, supposing the restored access lasts
    /// the rest of its day).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_days_lost: Vec<ResourceDay>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventType {
    /// An alert opened, or more resources were added to the open one.
    AccessLost,
    /// The open alert closed: every resource of it is covered again.
    AccessRestored,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::AccessLost => "access-lost",
            EventType::AccessRestored => "access-restored",
        }
    }
}

/// What is sent: one change of one alert, with the alert as it is after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertEvent {
    /// Stable per change: the `webhook-id` of every delivery attempt.
    pub event_id: String,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub partner_id: String,
    pub occurred_at: DateTime<Utc>,
    pub alert: Alert,
}

/// Where a snapshot stands in a customer's order: `takenAt`, then `snapshotId`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotPosition {
    pub taken_at: DateTime<Utc>,
    pub snapshot_id: String,
}

impl SnapshotPosition {
    pub fn of(s: &Snapshot) -> SnapshotPosition {
        SnapshotPosition {
            taken_at: s.taken_at,
            snapshot_id: s.snapshot_id.clone(),
        }
    }
}

/// What is kept per customer between snapshots: its newest snapshot and its open alert.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Watch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest: Option<SnapshotPosition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open: Option<Alert>,
}

/// What [`observe`] is given.
pub struct Seen<'a> {
    /// The snapshot just accepted.
    pub snapshot: &'a Snapshot,
    /// The customer's newest snapshot before it (`None` for its first).
    pub previous: Option<&'a Snapshot>,
    /// The customer's current usage; dates outside the window are ignored.
    pub usage: &'a [UsageAggregate],
    pub watch: &'a Watch,
    pub now: DateTime<Utc>,
}

/// The customer's watch after a snapshot, and the events to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub watch: Watch,
    pub events: Vec<AlertEvent>,
}

/// The dates a snapshot taken at `t` looks at: the 7 before its date, and its date.
pub fn window(t: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
    let d = t.date_naive();
    (d - Duration::days(WINDOW_DAYS), d)
}

/// A considered resource: its subscription, the usage lines' (MpnId, Tier2MpnId) pairs and its
/// eligible amount by (currency, date).
#[derive(Default)]
struct Considered {
    subscription_id: String,
    lines: BTreeSet<(String, String)>,
    eligible: BTreeMap<(String, NaiveDate), Decimal>,
}

fn hex_id(prefix: &str, parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    let digest = h.finalize();
    let mut out = String::from(prefix);
    for b in &digest[..16] {
        let _ = write!(out, "{b:02x}");
    }
    out
}

fn event(kind: EventType, alert: &Alert, snapshot_id: &str, now: DateTime<Utc>) -> AlertEvent {
    AlertEvent {
        event_id: hex_id("evt_", &[&alert.alert_id, kind.as_str(), snapshot_id]),
        event_type: kind,
        partner_id: alert.partner_id.clone(),
        occurred_at: now,
        alert: alert.clone(),
    }
}

/// Decides what a newly accepted snapshot changes (see the module's documentation). A snapshot
/// that is not the customer's newest changes nothing.
pub fn observe(seen: &Seen<'_>, config: &Config, roles: &RoleTable) -> Observed {
    let snapshot = seen.snapshot;
    let position = SnapshotPosition::of(snapshot);
    if seen.watch.newest.as_ref().is_some_and(|n| *n >= position) {
        return Observed {
            watch: seen.watch.clone(),
            events: Vec::new(),
        };
    }
    let (from, through) = window(snapshot.taken_at);
    let mut considered: BTreeMap<&str, Considered> = BTreeMap::new();
    let mut usage_dates = BTreeSet::new();
    for u in seen.usage {
        let date = u.key.usage_date;
        if date < from || date > through {
            continue;
        }
        usage_dates.insert(date);
        let (eligible, _) = u.eligibility(config);
        if eligible <= Decimal::ZERO {
            continue;
        }
        let c = considered.entry(u.key.resource_id.as_str()).or_default();
        c.subscription_id.clone_from(&u.key.subscription_id);
        c.lines.insert((
            u.mpn_id.trim().to_string(),
            u.tier2_mpn_id.trim().to_string(),
        ));
        *c.eligible
            .entry((u.key.currency.clone(), date))
            .or_default() += eligible;
    }
    let mut events = Vec::new();
    let mut open = seen.watch.open.clone();

    // Restored: every resource of the open alert is covered again.
    if let Some(alert) = open.take() {
        let covered = alert.resources.iter().all(|r| {
            snapshot_coverage(snapshot, roles, &r.resource_id, &r.mpn_id, &r.tier2_mpn_id).is_none()
        });
        if covered {
            let mut closed = alert;
            closed.status = AlertStatus::Restored;
            closed.restored_at = Some(snapshot.taken_at);
            closed.restored_by_snapshot_id = Some(snapshot.snapshot_id.clone());
            events.push(event(
                EventType::AccessRestored,
                &closed,
                &snapshot.snapshot_id,
                seen.now,
            ));
        } else {
            open = Some(alert);
        }
    }

    // Lost: covered by the previous snapshot, not by this one.
    let mut lost = Vec::new();
    if let Some(previous) = seen.previous {
        for (resource_id, c) in &considered {
            if open
                .as_ref()
                .is_some_and(|a| a.resources.iter().any(|r| r.resource_id == *resource_id))
            {
                continue;
            }
            let loss = c.lines.iter().find_map(|(mpn, tier2)| {
                let before = snapshot_coverage(previous, roles, resource_id, mpn, tier2);
                let now = snapshot_coverage(snapshot, roles, resource_id, mpn, tier2);
                match (before, now) {
                    (None, Some(reason)) => Some((reason, mpn, tier2)),
                    _ => None,
                }
            });
            if let Some((reason, mpn, tier2)) = loss {
                lost.push(AlertResource {
                    resource_id: resource_id.to_string(),
                    subscription_id: c.subscription_id.clone(),
                    reason,
                    last_covered_at: previous.taken_at,
                    lost_at: snapshot.taken_at,
                    mpn_id: mpn.clone(),
                    tier2_mpn_id: tier2.clone(),
                });
            }
        }
    }
    if !lost.is_empty() {
        let mut alert = open.take().unwrap_or_else(|| Alert {
            alert_id: hex_id(
                "alert_",
                &[
                    &snapshot.partner_id,
                    &snapshot.customer_id,
                    &snapshot.snapshot_id,
                ],
            ),
            partner_id: snapshot.partner_id.clone(),
            customer_id: snapshot.customer_id.clone(),
            snapshot_id: snapshot.snapshot_id.clone(),
            taken_at: snapshot.taken_at,
            detected_at: seen.now,
            status: AlertStatus::Open,
            resources: Vec::new(),
            credit_at_stake_per_day: BTreeMap::new(),
            restored_at: None,
            restored_by_snapshot_id: None,
            resource_days_lost: Vec::new(),
        });
        alert.resources.extend(lost);
        alert.credit_at_stake_per_day =
            credit_at_stake(&alert.resources, &considered, usage_dates.len(), config);
        events.push(event(
            EventType::AccessLost,
            &alert,
            &snapshot.snapshot_id,
            seen.now,
        ));
        open = Some(alert);
    }
    Observed {
        watch: Watch {
            newest: Some(position),
            open,
        },
        events,
    }
}

/// Σ rate × eligible amount of `resources` over the window, by currency, divided by the number
/// of the window's dates with usage.
fn credit_at_stake(
    resources: &[AlertResource],
    considered: &BTreeMap<&str, Considered>,
    usage_dates: usize,
    config: &Config,
) -> BTreeMap<String, String> {
    let mut sums: BTreeMap<String, Decimal> = BTreeMap::new();
    let ids: BTreeSet<&str> = resources.iter().map(|r| r.resource_id.as_str()).collect();
    for id in ids {
        let Some(c) = considered.get(id) else {
            continue;
        };
        for ((currency, date), eligible) in &c.eligible {
            *sums.entry(currency.clone()).or_default() += config.rate_on(*date) * eligible;
        }
    }
    let days = Decimal::from(usage_dates.max(1) as u64);
    sums.into_iter()
        .map(|(currency, sum)| {
            let per_day = sum.checked_div(days).unwrap_or(Decimal::ZERO).normalize();
            (currency, fmt_amount(per_day))
        })
        .collect()
}

/// The resource-days an alert lost, worked out when it is restored (see
/// [`Alert::resource_days_lost`]): `history` is every snapshot of the customer before the
/// restoring one, in order; `usage` the customer's usage on the dates between.
pub fn resource_days_lost(
    alert: &Alert,
    history: &[Snapshot],
    restoring: &Snapshot,
    usage: &[UsageAggregate],
    config: &Config,
    roles: &RoleTable,
) -> Vec<ResourceDay> {
    let Some(first) = alert.resources.iter().map(|r| r.last_covered_at).min() else {
        return Vec::new();
    };
    let (from, through) = (first.date_naive(), restoring.taken_at.date_naive());
    let mut builder = AccessBuilder::new(config.max_snapshot_gap());
    for s in history {
        builder.push(s);
    }
    builder.push(restoring);
    // The restored access is supposed to last the rest of its day.
    let mut end_of_day = restoring.clone();
    if let Some(midnight) = (through + Duration::days(1)).and_hms_opt(0, 0, 0) {
        end_of_day.taken_at = midnight.and_utc();
        builder.push(&end_of_day);
    }
    let access = builder.finish();
    let prepared = PreparedAccess::new(&access, roles);
    let resources: BTreeSet<&str> = alert
        .resources
        .iter()
        .map(|r| r.resource_id.as_str())
        .collect();
    let mut out = BTreeSet::new();
    for u in usage {
        let date = u.key.usage_date;
        if date < from || date > through || !resources.contains(u.key.resource_id.as_str()) {
            continue;
        }
        if u.eligibility(config).0 <= Decimal::ZERO {
            continue;
        }
        let cov = prepared.day_coverage(&u.key.resource_id, date, &u.mpn_id, &u.tier2_mpn_id);
        if cov.status != DayStatus::Full {
            out.insert(ResourceDay {
                resource_id: u.key.resource_id.clone(),
                usage_date: date,
            });
        }
    }
    out.into_iter().collect()
}

/// Alerts as text, one block each (`pec alerts --format text`).
pub fn render_text(alerts: &[Alert]) -> String {
    let mut out = String::new();
    if alerts.is_empty() {
        out.push_str("No alerts.\n");
    }
    for a in alerts {
        let _ = writeln!(
            out,
            "{} {} customer {} — {} resource(s) no longer covered since snapshot {} taken {}",
            a.alert_id,
            match a.status {
                AlertStatus::Open => "OPEN",
                AlertStatus::Restored => "RESTORED",
            },
            a.customer_id,
            a.resources.len(),
            a.snapshot_id,
            a.taken_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        );
        for (currency, amount) in &a.credit_at_stake_per_day {
            let _ = writeln!(out, "  credit at stake per day: {amount} {currency}");
        }
        for r in &a.resources {
            let _ = writeln!(
                out,
                "  {} {}",
                serde_json::to_value(r.reason)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                r.resource_id
            );
        }
        if let Some(t) = a.restored_at {
            let _ = writeln!(
                out,
                "  restored {} by snapshot {}; {} resource-day(s) lost",
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                a.restored_by_snapshot_id.as_deref().unwrap_or(""),
                a.resource_days_lost.len()
            );
        }
    }
    out
}

#[cfg(test)]
mod tests;
