//! `pec explain`: why a resource earned or lost PEC on a day — the rule, the figures, the ledger
//! entries, and the assignments and snapshots that decided it — written as a plain answer to
//! "why did we lose PEC on this resource on this day?".

use crate::access::{
    is_permanent, pal_ok, role_eligible, same_assignment, union, AccessBuilder, CustomerAccess,
    Interval, PreparedAccess,
};
use crate::config::Config;
use crate::decimal::fmt_amount;
use crate::ids::{normalize_resource_id, scope_covers};
use crate::ledger::{Entry, Figures, ResourceDayKey};
use crate::reasons::{DayStatus, LossReason};
use crate::roles::RoleTable;
use crate::settle::value_of;
use crate::snapshot::{AccessType, Assignment, AssignmentType, PrincipalType};
use crate::store::{EntryFilter, Store, StoreError, UsageAggregate};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// At most this many assignments are described in an answer (all are in `assignments`).
const MAX_DESCRIBED: usize = 3;

/// A snapshot, by id and time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotRef {
    pub snapshot_id: String,
    pub taken_at: DateTime<Utc>,
}

/// A snapshot around the day and the assignments covering the resource that it lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowSnapshot {
    pub snapshot_id: String,
    pub taken_at: DateTime<Utc>,
    /// Ids of the assignments whose scope covers the resource that this snapshot lists.
    pub lists: Vec<String>,
    /// The same, as indices into the customer's tracked assignments (for the answer).
    #[serde(skip)]
    listed: Vec<usize>,
}

impl WindowSnapshot {
    fn reference(&self) -> SnapshotRef {
        SnapshotRef {
            snapshot_id: self.snapshot_id.clone(),
            taken_at: self.taken_at,
        }
    }
}

/// The snapshots that decided the day: the last one at or before 00:00Z, those taken during the
/// day, and the first one at or after the next 00:00Z (without it the day is UNKNOWN).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DaySnapshots {
    pub last_before_day: Option<WindowSnapshot>,
    pub during_day: Vec<WindowSnapshot>,
    pub first_after_day: Option<WindowSnapshot>,
}

impl DaySnapshots {
    /// In `takenAt` order.
    fn sequence(&self) -> Vec<&WindowSnapshot> {
        self.last_before_day
            .iter()
            .chain(self.during_day.iter())
            .chain(self.first_after_day.iter())
            .collect()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentVerdict {
    pub id: String,
    pub scope: String,
    pub role_name: String,
    pub principal_id: String,
    pub principal_type: PrincipalType,
    pub access_type: AccessType,
    pub assignment_type: AssignmentType,
    pub partner_admin_link_mpn_id: Option<String>,
    pub created_on: Option<DateTime<Utc>>,
    pub held: Vec<Interval>,
    pub role_eligible: bool,
    pub permanent: bool,
    pub partner_admin_link_ok: bool,
    pub held_during_day: bool,
    pub held_all_day: bool,
    /// Criteria it fails: ROLE_NOT_ELIGIBLE, NOT_PERMANENT, PAL_MISSING.
    pub fails: Vec<String>,
    /// The snapshots read are those up to the first one at or after the day's end.
    /// The first snapshot that listed it.
    pub first_listed_in: Option<SnapshotRef>,
    /// The snapshot just before `firstListedIn` (which did not list it).
    pub snapshot_before_first_listing: Option<SnapshotRef>,
    /// The last snapshot that listed it.
    pub last_listed_in: Option<SnapshotRef>,
    /// The first snapshot after `lastListedIn` (which no longer listed it).
    pub first_snapshot_without_it: Option<SnapshotRef>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntrySummary {
    pub seq: u32,
    pub kind: String,
    pub status: DayStatus,
    pub reason: Option<LossReason>,
    pub earned_credit: String,
    pub lost_credit: String,
    pub posted_at: DateTime<Utc>,
    pub run_id: String,
    pub hash: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDayExplanation {
    pub customer_id: String,
    pub subscription_id: String,
    pub currency: String,
    /// The answer to "why did we earn or lose PEC here?", in a few sentences: what happened,
    /// the rule, the assignments and snapshots that decided it, and what would have earned it.
    pub answer: String,
    pub status: DayStatus,
    pub reason: Option<LossReason>,
    pub rule: String,
    pub what_would_earn: Option<String>,
    /// As the ledger stands now (sum of entries).
    pub ledger: Figures,
    pub entries: Vec<EntrySummary>,
    /// As it would settle now from current inputs (differs from the ledger until the next run).
    pub current: Option<Figures>,
    pub usage: Vec<UsageAggregate>,
    pub latest_snapshot: Option<DateTime<Utc>>,
    /// The snapshots that decided the day.
    pub snapshots: DaySnapshots,
    /// When eligible access (for the usage's MpnId / Tier2MpnId) was held during the day.
    pub eligible_access_during_day: Vec<Interval>,
    pub assignments: Vec<AssignmentVerdict>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    pub partner_id: String,
    pub resource_id: String,
    pub date: NaiveDate,
    pub resource_days: Vec<ResourceDayExplanation>,
}

mod answer;
mod evidence;
mod text;

use answer::{answer, what_would_earn, Facts};
pub use evidence::judge_assignments;
use evidence::{load_evidence, verdicts, Evidence};
use text::*;

/// Explains every resource-day of `resource_id` on `date` for the partner (one per customer and
/// currency), from the ledger and from the current inputs.
pub fn explain(
    store: &dyn Store,
    config: &Config,
    partner_id: &str,
    resource_id: &str,
    date: NaiveDate,
) -> Result<Explanation, StoreError> {
    let partner_id = partner_id.trim().to_ascii_lowercase();
    let resource = normalize_resource_id(resource_id);
    let mut entries: BTreeMap<ResourceDayKey, Vec<Entry>> = BTreeMap::new();
    let filter = EntryFilter {
        partner_id: Some(partner_id.clone()),
        resource_id: Some(resource.clone()),
        usage_from: Some(date),
        usage_through: Some(date),
        ..Default::default()
    };
    store.for_each_entry(&filter, &mut |e| {
        entries.entry(e.key.clone()).or_default().push(e);
        Ok(())
    })?;
    let mut usage: BTreeMap<ResourceDayKey, Vec<UsageAggregate>> = BTreeMap::new();
    for (p, customer) in store.customers_in_range(date, date)? {
        if p != partner_id {
            continue;
        }
        for u in store.current_usage(&p, &customer, date)? {
            if u.key.resource_id == resource {
                usage.entry(u.key.clone()).or_default().push(u);
            }
        }
    }
    let mut keys: Vec<ResourceDayKey> = entries.keys().chain(usage.keys()).cloned().collect();
    keys.sort();
    keys.dedup();
    let roles = config.role_table();
    let Interval {
        start: day_start,
        end: day_end,
    } = day_of(date);
    let mut by_customer: BTreeMap<String, Evidence> = BTreeMap::new();
    let mut out = Vec::new();
    for key in keys {
        if !by_customer.contains_key(&key.customer_id) {
            let evidence = load_evidence(
                store,
                config,
                &partner_id,
                &key.customer_id,
                &resource,
                date,
            )?;
            by_customer.insert(key.customer_id.clone(), evidence);
        }
        let Some(evidence) = by_customer.get(&key.customer_id) else {
            continue;
        };
        let rows = usage.remove(&key).unwrap_or_default();
        let current = if rows.is_empty() {
            None
        } else {
            Some(value_of(
                &key,
                &rows,
                &PreparedAccess::new(&evidence.access, &roles),
                config,
            ))
        };
        let key_entries = entries.remove(&key).unwrap_or_default();
        let mut ledger = Figures::default();
        for e in &key_entries {
            ledger.add(&e.figures);
        }
        let (status, reason) = match (&current, key_entries.last()) {
            (Some(v), _) => (v.status, v.reason),
            (None, Some(e)) => (e.status, e.reason),
            (None, None) => (DayStatus::None, Some(LossReason::NoAccess)),
        };
        let (mpn, tier2) = rows
            .first()
            .map(|r| (r.mpn_id.clone(), r.tier2_mpn_id.clone()))
            .or_else(|| {
                key_entries
                    .last()
                    .map(|e| (String::new(), e.tier2_mpn_id.clone()))
            })
            .unwrap_or_default();
        let figures = current
            .as_ref()
            .map(|v| v.figures.clone())
            .unwrap_or_else(|| ledger.clone());
        let verdicts = verdicts(evidence, config, &resource, date, &mpn, &tier2);
        let eligible_pieces: Vec<Interval> = union(
            verdicts
                .iter()
                .filter(|(v, _)| v.fails.is_empty())
                .flat_map(|(v, _)| v.held.iter().copied())
                .collect(),
        )
        .into_iter()
        .filter(|i| i.start <= day_end && i.end >= day_start)
        .map(|i| Interval::new(i.start.max(day_start), i.end.min(day_end)))
        .collect();
        let rule = rule_text(status, reason, date);
        let facts = Facts {
            date,
            resource: &resource,
            currency: &key.currency,
            status,
            reason,
            figures: &figures,
            mpn: &mpn,
            tier2: &tier2,
            verdicts: &verdicts,
            window: &evidence.window,
            eligible_pieces: &eligible_pieces,
            config,
            ledger_last: key_entries.last(),
        };
        let would = what_would_earn(&facts);
        let answer = answer(&facts, &rule, would.as_deref());
        out.push(ResourceDayExplanation {
            customer_id: key.customer_id.clone(),
            subscription_id: key.subscription_id.clone(),
            currency: key.currency.clone(),
            answer,
            status,
            reason,
            rule,
            what_would_earn: would,
            ledger,
            entries: key_entries
                .iter()
                .map(|e| EntrySummary {
                    seq: e.seq,
                    kind: e.kind.code().to_string(),
                    status: e.status,
                    reason: e.reason,
                    earned_credit: fmt_amount(e.figures.earned_credit),
                    lost_credit: fmt_amount(e.figures.lost_credit),
                    posted_at: e.posted_at,
                    run_id: e.run_id.clone(),
                    hash: e.hash.clone(),
                })
                .collect(),
            current: current.map(|v| v.figures),
            usage: rows,
            latest_snapshot: evidence.access.latest_snapshot,
            snapshots: evidence.window.clone(),
            eligible_access_during_day: eligible_pieces,
            assignments: verdicts.into_iter().map(|(v, _)| v).collect(),
        });
    }
    Ok(Explanation {
        partner_id,
        resource_id: resource,
        date,
        resource_days: out,
    })
}

/// The explanation as text for a person: per resource-day, who and what, then the answer.
pub fn render_text(e: &Explanation) -> String {
    if e.resource_days.is_empty() {
        return format!(
            "No usage and no ledger entry for {} on {} (partner {}).\n",
            e.resource_id, e.date, e.partner_id
        );
    }
    let mut out = String::new();
    for (i, r) in e.resource_days.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!(
            "{} on {} — customer {}, subscription {}, {}:\n{}\n",
            e.resource_id, e.date, r.customer_id, r.subscription_id, r.currency, r.answer
        ));
    }
    out
}
