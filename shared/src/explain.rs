//! `pec explain`: why a resource earned or lost PEC on a day — the rule, the figures, the ledger
//! entries, and the assignments and snapshots that decided it.

use crate::access::{union, CustomerAccess, Interval, PreparedAccess};
use crate::config::Config;
use crate::decimal::fmt_amount;
use crate::ids::{normalize_resource_id, scope_covers};
use crate::ledger::{Entry, Figures, ResourceDayKey};
use crate::reasons::{DayStatus, LossReason};
use crate::settle::{load_access, value_of};
use crate::snapshot::{AccessType, AssignmentType};
use crate::store::{EntryFilter, Store, StoreError, UsageAggregate};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentVerdict {
    pub id: String,
    pub scope: String,
    pub role_name: String,
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
    /// One sentence: the answer to "why did we earn or lose PEC here?".
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

fn rule_text(status: DayStatus, reason: Option<LossReason>, date: NaiveDate) -> String {
    let next = date.succ_opt().unwrap_or(date);
    match (status, reason) {
        (DayStatus::Full, _) => format!(
            "R2: eligible, permanent access covered the whole UTC day [{date} 00:00Z, {next} 00:00Z], so the day earns."
        ),
        (_, Some(LossReason::NoEvidence)) => format!(
            "SPEC 3.4: no access snapshot of this customer was taken at or after {next} 00:00Z yet, so the day's evidence is incomplete (UNKNOWN). It is re-settled when one arrives."
        ),
        (_, Some(LossReason::PalMissing)) => "R6: Lighthouse, direct and GDAP access earns only when its Partner Admin Link names the line's MpnId or Tier2MpnId; access without a matching link would have covered the day.".into(),
        (_, Some(LossReason::RoleNotEligible)) => "R4: only roles in Microsoft's PEC-eligible table earn; access through a role that is not eligible (such as Reader) would have covered the day.".into(),
        (_, Some(LossReason::NotPermanent)) => "R5: only permanent assignments earn; PIM-eligible or just-in-time activated access would have covered the day.".into(),
        (_, Some(LossReason::PartialDay)) => format!(
            "R2: eligible access was held during part of the day only; PEC needs it for the whole UTC day [{date} 00:00Z, {next} 00:00Z]."
        ),
        _ => "R2–R6: no eligible access to this resource was held at any time during the day.".into(),
    }
}

fn what_would_earn(reason: Option<LossReason>) -> Option<String> {
    Some(match reason? {
        LossReason::NoEvidence => "Post an access snapshot taken after the day ended; the next settlement decides the day.",
        LossReason::PalMissing => "Link the partner's MPN ID (Partner Admin Link) to the Lighthouse/GDAP/direct principal, or hold AOBO access.",
        LossReason::RoleNotEligible => "Assign a PEC-eligible role (e.g. Owner or Contributor) at the resource, its resource group or subscription.",
        LossReason::NotPermanent => "Make the assignment permanent (active), not PIM-eligible or just-in-time.",
        LossReason::PartialDay => "Keep eligible access for the whole UTC day: a removal, even for an hour, loses the day.",
        LossReason::NoAccess => "Grant the partner permanent access with an eligible role at the resource, resource group or subscription.",
    }.to_string())
}

fn day_bounds(date: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = Utc.from_utc_datetime(&date.and_time(chrono::NaiveTime::MIN));
    (start, start + chrono::Duration::days(1))
}

fn verdicts(
    access: &CustomerAccess,
    config: &Config,
    resource: &str,
    date: NaiveDate,
    mpn: &str,
    tier2: &str,
) -> Vec<AssignmentVerdict> {
    let roles = config.role_table();
    let (start, end) = day_bounds(date);
    let mut out = Vec::new();
    for h in &access.held {
        let a = &h.assignment;
        if !scope_covers(&a.scope, resource) {
            continue;
        }
        let role_eligible = roles.is_eligible(&a.role_definition_id, &a.role_name);
        let permanent = a.assignment_type == AssignmentType::Permanent;
        let pal = a
            .partner_admin_link_mpn_id
            .as_deref()
            .map(str::trim)
            .unwrap_or("");
        let partner_admin_link_ok = a.access_type == AccessType::Aobo
            || (!pal.is_empty() && (pal == mpn || (!tier2.is_empty() && pal == tier2)));
        let merged = union(h.intervals.clone());
        let held_during_day = merged.iter().any(|i| i.start <= end && i.end >= start);
        let held_all_day = merged.iter().any(|i| i.start <= start && i.end >= end);
        let mut fails = Vec::new();
        if !role_eligible {
            fails.push("ROLE_NOT_ELIGIBLE".to_string());
        }
        if !permanent {
            fails.push("NOT_PERMANENT".to_string());
        }
        if !partner_admin_link_ok {
            fails.push("PAL_MISSING".to_string());
        }
        out.push(AssignmentVerdict {
            id: a.id.clone(),
            scope: a.scope.clone(),
            role_name: a.role_name.clone(),
            access_type: a.access_type,
            assignment_type: a.assignment_type,
            partner_admin_link_mpn_id: a.partner_admin_link_mpn_id.clone(),
            created_on: a.created_on,
            held: merged,
            role_eligible,
            permanent,
            partner_admin_link_ok,
            held_during_day,
            held_all_day,
            fails,
        });
    }
    out
}

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
    let mut out = Vec::new();
    for key in keys {
        let access = load_access(store, config, &partner_id, &key.customer_id)?;
        let rows = usage.remove(&key).unwrap_or_default();
        let current = if rows.is_empty() {
            None
        } else {
            Some(value_of(
                &key,
                &rows,
                &PreparedAccess::new(&access, &roles),
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
            .unwrap_or_default();
        let figures = current
            .as_ref()
            .map(|v| v.figures.clone())
            .unwrap_or_else(|| ledger.clone());
        let answer = match status {
            DayStatus::Full => format!(
                "Earned {} {} of PEC on {} of eligible consumption: {}",
                fmt_amount(figures.earned_credit),
                key.currency,
                fmt_amount(figures.eligible_amount),
                rule_text(status, reason, date)
            ),
            _ => format!(
                "Lost {} {} of PEC ({}): {}",
                fmt_amount(figures.lost_credit),
                key.currency,
                reason.map(|r| r.code()).unwrap_or("NO_ACCESS"),
                rule_text(status, reason, date)
            ),
        };
        out.push(ResourceDayExplanation {
            customer_id: key.customer_id.clone(),
            subscription_id: key.subscription_id.clone(),
            currency: key.currency.clone(),
            answer,
            status,
            reason,
            rule: rule_text(status, reason, date),
            what_would_earn: if status == DayStatus::Full {
                None
            } else {
                what_would_earn(reason)
            },
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
            latest_snapshot: access.latest_snapshot,
            assignments: verdicts(&access, config, &resource, date, &mpn, &tier2),
        });
    }
    Ok(Explanation {
        partner_id,
        resource_id: resource,
        date,
        resource_days: out,
    })
}
