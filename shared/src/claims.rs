//! The claims pack: for a partner and a month of usage dates, every settled resource-day whose
//! earned credit exceeds the credit Microsoft applied by more than 0.01 in its currency, with the
//! evidence that it earned it (the snapshots around the day and the assignment that covered it),
//! totalled per currency and per customer. It is the file a partner attaches to a Partner Center
//! support request asking Microsoft for the credit it did not apply.
//!
//! Figures are the ledger's: the sum of each resource-day's entries posted by `asOf`. The evidence
//! is read from the access snapshots as they are now, by settlement's own criteria
//! ([`crate::explain::judge_assignments`]); the MPN IDs from the resource-day's current usage.

use crate::access::{AccessBuilder, CustomerAccess};
use crate::config::Config;
use crate::decimal::{as_string, fmt_amount};
use crate::explain::{judge_assignments, SnapshotRef};
use crate::ledger::{Entry, Figures, ResourceDayKey};
use crate::names::Names;
use crate::roles::RoleTable;
use crate::snapshot::{AccessType, AssignmentType, PrincipalType};
use crate::statement::{push_csv_row, spreadsheet_safe, Month};
use crate::store::{
    EntryFilter, LedgerStore, SnapshotStore, StoreError, UsageAggregate, UsageStore,
};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::btree_map::Entry as Slot;
use std::collections::BTreeMap;

/// A resource-day is claimed when its earned credit exceeds Microsoft's by more than this, in
/// its currency (0.01: a cent of the currencies Partner Center bills in).
pub fn claim_threshold() -> Decimal {
    Decimal::new(1, 2)
}

/// Whether a resource-day's value (the sum of its entries) is a claim.
pub fn is_claim(f: &Figures) -> bool {
    f.earned_credit - f.microsoft_credit > claim_threshold()
}

/// The claims pack of one partner-month (or of one of its customers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claims {
    pub partner_id: String,
    /// The partner's name in the newest usage file that gives one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub partner_name: String,
    pub month: String,
    /// Entries posted by then count.
    pub as_of: DateTime<Utc>,
    /// Only this customer's resource-days (absent: every customer of the partner).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// A resource-day is listed when its difference is more than this.
    #[serde(with = "as_string")]
    pub threshold: Decimal,
    /// How many resource-days of the month (of the customer) the ledger holds: those listed are
    /// the claims among them.
    #[serde(default)]
    pub resource_days_settled: u64,
    /// Sorted by customer, subscription, resource, usage date, currency.
    pub resource_days: Vec<Claim>,
    /// Per currency, in currency order.
    pub totals_by_currency: Vec<ClaimTotals>,
    /// Per customer and currency, in that order.
    pub totals_by_customer: Vec<CustomerClaimTotals>,
}

/// One resource-day Microsoft under-credited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claim {
    pub customer_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub customer_name: String,
    pub subscription_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subscription_name: String,
    pub resource_id: String,
    pub usage_date: NaiveDate,
    pub currency: String,
    #[serde(with = "as_string")]
    pub eligible_amount: Decimal,
    #[serde(with = "as_string")]
    pub earned_credit: Decimal,
    #[serde(with = "as_string")]
    pub microsoft_credit: Decimal,
    /// earnedCredit − microsoftCredit: what the claim asks for.
    #[serde(with = "as_string")]
    pub difference: Decimal,
    /// The usage's `MpnId` (the partner's MPN ID; several, space-separated, when the usage
    /// lines of the resource-day name more than one). Empty when the resource-day has no
    /// current usage any more.
    pub mpn_id: String,
    /// The usage's `Tier2MpnId` (an indirect provider's reseller), when there is one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tier2_mpn_id: String,
    pub evidence: ClaimEvidence,
}

/// Why the resource-day earned: the access snapshots around the day and the eligible assignment
/// that covered it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimEvidence {
    /// The last snapshot taken at or before the day's 00:00Z (none when the customer's first
    /// snapshot came later; an assignment's `createdOn` then shows it was held from the start).
    pub snapshot_before: Option<SnapshotRef>,
    /// Those taken during the day.
    pub snapshots_during_day: Vec<SnapshotRef>,
    /// The first snapshot taken at or after the next 00:00Z.
    pub snapshot_after: Option<SnapshotRef>,
    /// The eligible assignments held for the whole day (when none alone was, those whose held
    /// times together covered it).
    pub assignments: Vec<CoveringAssignment>,
}

/// An assignment that covered the day, as the snapshots list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CoveringAssignment {
    pub id: String,
    pub principal_id: String,
    pub principal_type: PrincipalType,
    pub role_name: String,
    pub scope: String,
    pub access_type: AccessType,
    pub assignment_type: AssignmentType,
    pub partner_admin_link_mpn_id: Option<String>,
    pub created_on: Option<DateTime<Utc>>,
    pub held_all_day: bool,
}

/// The claimed figures of a currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimTotals {
    pub currency: String,
    pub resource_days: u64,
    #[serde(with = "as_string")]
    pub eligible_amount: Decimal,
    #[serde(with = "as_string")]
    pub earned_credit: Decimal,
    #[serde(with = "as_string")]
    pub microsoft_credit: Decimal,
    #[serde(with = "as_string")]
    pub difference: Decimal,
}

impl ClaimTotals {
    fn new(currency: &str) -> ClaimTotals {
        ClaimTotals {
            currency: currency.to_string(),
            resource_days: 0,
            eligible_amount: Decimal::ZERO,
            earned_credit: Decimal::ZERO,
            microsoft_credit: Decimal::ZERO,
            difference: Decimal::ZERO,
        }
    }

    fn add(&mut self, c: &Claim) {
        self.resource_days += 1;
        self.eligible_amount += c.eligible_amount;
        self.earned_credit += c.earned_credit;
        self.microsoft_credit += c.microsoft_credit;
        self.difference += c.difference;
    }
}

/// The claimed figures of a customer in a currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerClaimTotals {
    pub customer_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub customer_name: String,
    #[serde(flatten)]
    pub totals: ClaimTotals,
}

/// A resource-day's value folded from its entries: a claim when [`is_claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDay {
    pub key: ResourceDayKey,
    pub figures: Figures,
    /// The last entry's Tier2MpnId (for a resource-day without current usage).
    pub tier2_mpn_id: String,
}

/// Folds a partner-month's entries (each resource-day's together, as stores hand them) into the
/// resource-days that are claims, one resource-day at a time.
pub struct ClaimFold {
    partner_id: String,
    month: Month,
    as_of: DateTime<Utc>,
    customer_id: Option<String>,
    current: Option<ClaimedDay>,
    claims: Vec<ClaimedDay>,
    seen: u64,
}

impl ClaimFold {
    /// Ids as the ledger keeps them (lower-case).
    pub fn new(
        partner_id: &str,
        month: Month,
        as_of: DateTime<Utc>,
        customer_id: Option<&str>,
    ) -> ClaimFold {
        ClaimFold {
            partner_id: partner_id.to_string(),
            month,
            as_of,
            customer_id: customer_id.map(str::to_string),
            current: None,
            claims: Vec::new(),
            seen: 0,
        }
    }

    /// One entry; those of other partners, customers or months, or posted after `as_of`, are
    /// ignored.
    pub fn add(&mut self, e: &Entry) {
        if e.key.partner_id != self.partner_id
            || Month::of(e.key.usage_date) != self.month
            || e.posted_at > self.as_of
            || self
                .customer_id
                .as_deref()
                .is_some_and(|c| !e.key.customer_id.eq_ignore_ascii_case(c))
        {
            return;
        }
        match &mut self.current {
            Some(day) if day.key == e.key => {
                day.figures.add(&e.figures);
                day.tier2_mpn_id = e.tier2_mpn_id.clone();
            }
            _ => {
                self.flush();
                self.seen += 1;
                self.current = Some(ClaimedDay {
                    key: e.key.clone(),
                    figures: e.figures.clone(),
                    tier2_mpn_id: e.tier2_mpn_id.clone(),
                });
            }
        }
    }

    fn flush(&mut self) {
        if let Some(day) = self.current.take() {
            if is_claim(&day.figures) {
                self.claims.push(day);
            }
        }
    }

    /// How many resource-days the entries added so far belong to.
    pub fn resource_days_seen(&self) -> u64 {
        self.seen
    }

    /// The claimed resource-days, sorted by customer, subscription, resource, date, currency.
    pub fn finish(mut self) -> Vec<ClaimedDay> {
        self.flush();
        let mut claims = self.claims;
        claims.sort_by(|a, b| a.key.cmp(&b.key));
        claims
    }
}

/// A customer's snapshots replayed once: its access (as settlement builds it) and every
/// snapshot's id and time, in `takenAt` order.
struct CustomerEvidence {
    access: CustomerAccess,
    snapshots: Vec<SnapshotRef>,
    usage: BTreeMap<NaiveDate, Vec<UsageAggregate>>,
}

impl CustomerEvidence {
    fn load<S: SnapshotStore + ?Sized>(
        store: &S,
        config: &Config,
        partner_id: &str,
        customer_id: &str,
    ) -> Result<CustomerEvidence, StoreError> {
        let mut builder = AccessBuilder::new(config.max_snapshot_gap());
        let mut snapshots = Vec::new();
        store.for_each_snapshot(partner_id, customer_id, &mut |s| {
            builder.push(&s);
            snapshots.push(SnapshotRef {
                snapshot_id: s.snapshot_id,
                taken_at: s.taken_at,
            });
            Ok(())
        })?;
        snapshots.sort_by(|a, b| (a.taken_at, &a.snapshot_id).cmp(&(b.taken_at, &b.snapshot_id)));
        Ok(CustomerEvidence {
            access: builder.finish(),
            snapshots,
            usage: BTreeMap::new(),
        })
    }

    /// The evidence of one claimed resource-day, for its usage's (MpnId, Tier2MpnId) pairs.
    fn of(
        &self,
        key: &ResourceDayKey,
        roles: &RoleTable,
        groups: &[(String, String)],
    ) -> ClaimEvidence {
        let start = key.usage_date.and_time(chrono::NaiveTime::MIN).and_utc();
        let end = start + TimeDelta::days(1);
        let before = self.snapshots.partition_point(|s| s.taken_at <= start);
        let after = self.snapshots.partition_point(|s| s.taken_at < end);
        let mut assignments: Vec<CoveringAssignment> = Vec::new();
        for (mpn, tier2) in groups {
            for v in judge_assignments(
                &self.access,
                roles,
                &key.resource_id,
                key.usage_date,
                mpn,
                tier2,
            ) {
                if !v.fails.is_empty()
                    || !v.held_during_day
                    || assignments.iter().any(|a| a.id == v.id)
                {
                    continue;
                }
                assignments.push(CoveringAssignment {
                    id: v.id,
                    principal_id: v.principal_id,
                    principal_type: v.principal_type,
                    role_name: v.role_name,
                    scope: v.scope,
                    access_type: v.access_type,
                    assignment_type: v.assignment_type,
                    partner_admin_link_mpn_id: v.partner_admin_link_mpn_id,
                    created_on: v.created_on,
                    held_all_day: v.held_all_day,
                });
            }
        }
        if assignments.iter().any(|a| a.held_all_day) {
            assignments.retain(|a| a.held_all_day);
        }
        ClaimEvidence {
            snapshot_before: before
                .checked_sub(1)
                .and_then(|i| self.snapshots.get(i))
                .cloned(),
            snapshots_during_day: self
                .snapshots
                .get(before..after)
                .map(<[SnapshotRef]>::to_vec)
                .unwrap_or_default(),
            snapshot_after: self.snapshots.get(after).cloned(),
            assignments,
        }
    }
}

/// The claims pack of a partner-month (of one customer when `customer_id` is given), from the
/// entries posted by `as_of`, with the evidence from the snapshots and usage as they are now.
/// Each customer's snapshots are replayed once, however many of its resource-days are claimed.
pub fn claims_from_store<S: LedgerStore + SnapshotStore + UsageStore + ?Sized>(
    store: &S,
    config: &Config,
    partner_id: &str,
    month: Month,
    as_of: DateTime<Utc>,
    customer_id: Option<&str>,
) -> Result<Claims, StoreError> {
    let partner_id = partner_id.trim().to_ascii_lowercase();
    let customer_id = customer_id.map(crate::ids::normalize_guid);
    let mut fold = ClaimFold::new(&partner_id, month, as_of, customer_id.as_deref());
    let filter = EntryFilter {
        partner_id: Some(partner_id.clone()),
        usage_from: Some(month.first_day()),
        usage_through: Some(month.last_day()),
        posted_through: Some(as_of),
        ..Default::default()
    };
    store.for_each_entry(&filter, &mut |e| {
        fold.add(&e);
        Ok(())
    })?;
    let settled = fold.resource_days_seen();
    let days = fold.finish();
    let names = store.names(&partner_id)?;
    let roles = config.role_table();
    let mut rows = Vec::with_capacity(days.len());
    let mut evidence: Option<CustomerEvidence> = None;
    let mut evidence_of = String::new();
    for day in days {
        let key = &day.key;
        // Days come sorted by customer: one replay per customer.
        let ev = match evidence.as_mut() {
            Some(ev) if evidence_of == key.customer_id => ev,
            _ => {
                evidence_of = key.customer_id.clone();
                evidence.insert(CustomerEvidence::load(
                    store,
                    config,
                    &partner_id,
                    &key.customer_id,
                )?)
            }
        };
        let usage = match ev.usage.entry(key.usage_date) {
            Slot::Occupied(o) => o.into_mut(),
            Slot::Vacant(v) => {
                v.insert(store.current_usage(&partner_id, &key.customer_id, key.usage_date)?)
            }
        };
        let mut groups: Vec<(String, String)> = usage
            .iter()
            .filter(|u| &u.key == key)
            .map(|u| {
                (
                    u.mpn_id.trim().to_string(),
                    u.tier2_mpn_id.trim().to_string(),
                )
            })
            .collect();
        groups.sort();
        groups.dedup();
        let mpn_id = join_distinct(groups.iter().map(|g| g.0.as_str()));
        let tier2_mpn_id = if groups.is_empty() {
            day.tier2_mpn_id.clone()
        } else {
            join_distinct(groups.iter().map(|g| g.1.as_str()))
        };
        if groups.is_empty() {
            groups.push((String::new(), day.tier2_mpn_id.clone()));
        }
        let customer = names.customer(&key.customer_id);
        rows.push(Claim {
            customer_id: key.customer_id.clone(),
            customer_name: customer.map(|c| c.name.clone()).unwrap_or_default(),
            subscription_id: key.subscription_id.clone(),
            subscription_name: names
                .subscription(&key.subscription_id)
                .unwrap_or_default()
                .to_string(),
            resource_id: key.resource_id.clone(),
            usage_date: key.usage_date,
            currency: key.currency.clone(),
            eligible_amount: day.figures.eligible_amount,
            earned_credit: day.figures.earned_credit,
            microsoft_credit: day.figures.microsoft_credit,
            difference: day.figures.earned_credit - day.figures.microsoft_credit,
            mpn_id,
            tier2_mpn_id,
            evidence: ev.of(key, &roles, &groups),
        });
    }
    let mut claims = Claims::new(&partner_id, &names, month, as_of, customer_id, rows);
    claims.resource_days_settled = settled;
    Ok(claims)
}

/// The distinct non-empty values, space-separated, in order.
fn join_distinct<'a>(values: impl Iterator<Item = &'a str>) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for v in values.filter(|v| !v.is_empty()) {
        if !seen.contains(&v) {
            seen.push(v);
        }
    }
    seen.join(" ")
}

impl Claims {
    /// The pack of these rows (sorted as they come), with its totals.
    pub fn new(
        partner_id: &str,
        names: &Names,
        month: Month,
        as_of: DateTime<Utc>,
        customer_id: Option<String>,
        resource_days: Vec<Claim>,
    ) -> Claims {
        let mut by_currency: BTreeMap<String, ClaimTotals> = BTreeMap::new();
        let mut by_customer: BTreeMap<(String, String), CustomerClaimTotals> = BTreeMap::new();
        for c in &resource_days {
            by_currency
                .entry(c.currency.clone())
                .or_insert_with(|| ClaimTotals::new(&c.currency))
                .add(c);
            by_customer
                .entry((c.customer_id.clone(), c.currency.clone()))
                .or_insert_with(|| CustomerClaimTotals {
                    customer_id: c.customer_id.clone(),
                    customer_name: c.customer_name.clone(),
                    totals: ClaimTotals::new(&c.currency),
                })
                .totals
                .add(c);
        }
        Claims {
            partner_id: partner_id.to_string(),
            partner_name: names.partner.clone(),
            month: month.to_string(),
            as_of,
            customer_id,
            threshold: claim_threshold(),
            resource_days_settled: resource_days.len() as u64,
            resource_days,
            totals_by_currency: by_currency.into_values().collect(),
            totals_by_customer: by_customer.into_values().collect(),
        }
    }
}

/// An enum's code as its JSON says it (`AOBO`, `ForeignGroup`, `permanent`).
pub fn code_of<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// A time as the CSV writes it: RFC 3339, UTC, seconds (`2026-09-02T00:05:00Z`).
fn csv_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// The CSV's columns.
pub const CSV_COLUMNS: [&str; 30] = [
    "section",
    "partner_id",
    "partner_name",
    "month",
    "mpn_id",
    "tier2_mpn_id",
    "customer_id",
    "customer_name",
    "subscription_id",
    "subscription_name",
    "resource_id",
    "usage_date",
    "currency",
    "resource_days",
    "eligible_amount",
    "earned_credit",
    "microsoft_credit",
    "difference",
    "snapshot_before_id",
    "snapshot_before_taken_at",
    "snapshot_after_id",
    "snapshot_after_taken_at",
    "snapshots_during_day",
    "assignment_id",
    "principal_id",
    "principal_type",
    "role_name",
    "scope",
    "access_type",
    "partner_admin_link_mpn_id",
];

/// The assignment cells of a row (assignment, principal, principal type, role, scope, access
/// type, Partner Admin Link): the covering assignments' values, `; `-separated when several
/// covered the day together.
pub fn assignment_cells(assignments: &[CoveringAssignment]) -> Vec<String> {
    let join = |f: &dyn Fn(&CoveringAssignment) -> String| -> String {
        assignments.iter().map(f).collect::<Vec<_>>().join("; ")
    };
    vec![
        join(&|a| a.id.clone()),
        join(&|a| a.principal_id.clone()),
        join(&|a| code_of(&a.principal_type)),
        join(&|a| a.role_name.clone()),
        join(&|a| a.scope.clone()),
        join(&|a| code_of(&a.access_type)),
        join(&|a| a.partner_admin_link_mpn_id.clone().unwrap_or_default()),
    ]
}

/// The snapshots taken during a day, as one cell: `id@time; id@time`.
pub fn during_day_cell(snapshots: &[SnapshotRef]) -> String {
    snapshots
        .iter()
        .map(|s| format!("{}@{}", s.snapshot_id, csv_time(s.taken_at)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The pack as one CSV table (UTF-8 with BOM, CRLF) that Excel opens as is: a `section` column
/// says what each row is (`claim`, one per resource-day; `customer_total`; `currency_total`).
/// Amounts are exact decimals.
pub fn render_claims_csv(c: &Claims) -> String {
    let mut out = String::from("\u{feff}");
    push_csv_row(
        &mut out,
        &CSV_COLUMNS
            .iter()
            .map(|h| h.to_string())
            .collect::<Vec<_>>(),
    );
    let safe = |s: &str| spreadsheet_safe(s);
    let partner = [safe(&c.partner_id), safe(&c.partner_name), c.month.clone()];
    let amounts = |eligible: Decimal, earned: Decimal, microsoft: Decimal, diff: Decimal| {
        [eligible, earned, microsoft, diff].map(fmt_amount)
    };
    for r in &c.resource_days {
        let mut row = vec!["claim".to_string()];
        row.extend(partner.iter().cloned());
        row.extend([
            safe(&r.mpn_id),
            safe(&r.tier2_mpn_id),
            safe(&r.customer_id),
            safe(&r.customer_name),
            safe(&r.subscription_id),
            safe(&r.subscription_name),
            safe(&r.resource_id),
            r.usage_date.to_string(),
            safe(&r.currency),
            "1".to_string(),
        ]);
        row.extend(amounts(
            r.eligible_amount,
            r.earned_credit,
            r.microsoft_credit,
            r.difference,
        ));
        let e = &r.evidence;
        for s in [&e.snapshot_before, &e.snapshot_after] {
            row.push(s.as_ref().map(|s| safe(&s.snapshot_id)).unwrap_or_default());
            row.push(s.as_ref().map(|s| csv_time(s.taken_at)).unwrap_or_default());
        }
        row.push(safe(&during_day_cell(&e.snapshots_during_day)));
        row.extend(assignment_cells(&e.assignments).iter().map(|s| safe(s)));
        push_csv_row(&mut out, &row);
    }
    let totals_row = |section: &str, customer: (&str, &str), t: &ClaimTotals| {
        let mut row = vec![section.to_string()];
        row.extend(partner.iter().cloned());
        row.extend([
            String::new(),
            String::new(),
            safe(customer.0),
            safe(customer.1),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            safe(&t.currency),
            t.resource_days.to_string(),
        ]);
        row.extend(amounts(
            t.eligible_amount,
            t.earned_credit,
            t.microsoft_credit,
            t.difference,
        ));
        row.resize(CSV_COLUMNS.len(), String::new());
        row
    };
    for t in &c.totals_by_customer {
        let row = totals_row(
            "customer_total",
            (&t.customer_id, &t.customer_name),
            &t.totals,
        );
        push_csv_row(&mut out, &row);
    }
    for t in &c.totals_by_currency {
        push_csv_row(&mut out, &totals_row("currency_total", ("", ""), t));
    }
    out
}

#[cfg(test)]
mod tests;
