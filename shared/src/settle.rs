//! Settlement (SPEC 4): per resource-day, from current usage and access, the value it should
//! have; appended to the ledger as the difference from what the ledger already says.

use crate::access::{AccessBuilder, CustomerAccess, DayCoverage, PreparedAccess};
use crate::config::Config;
use crate::ledger::{Entry, EntryKind, Figures, Head, ResourceDayKey};
use crate::reasons::{DayStatus, LossReason};
use crate::store::{Append, AppendOutcome, Store, StoreError, UsageAggregate};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// About how many entries one transaction appends.
const BATCH_ENTRIES: usize = 5_000;

/// What a settlement run covers.
#[derive(Debug, Clone)]
pub struct SettleOptions {
    /// First usage date to settle (inclusive).
    pub from: NaiveDate,
    /// Last usage date to settle (inclusive).
    pub through: NaiveDate,
    /// The run's clock: `postedAt` of its entries.
    pub now: DateTime<Utc>,
    pub run_id: String,
}

impl SettleOptions {
    /// `--from` defaults to the look-back window before `--through` (the window includes
    /// `through` itself and the `lookback_days` days before it).
    pub fn new(
        config: &Config,
        through: NaiveDate,
        from: Option<NaiveDate>,
        now: DateTime<Utc>,
    ) -> SettleOptions {
        let from = from
            .unwrap_or_else(|| through - chrono::Duration::days(i64::from(config.lookback_days)));
        SettleOptions {
            from,
            through,
            now,
            run_id: uuid::Uuid::new_v4().to_string(),
        }
    }
}

/// The run summary `pec settle` prints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    pub run_id: String,
    pub from: Option<NaiveDate>,
    pub through: Option<NaiveDate>,
    pub posted_at: Option<DateTime<Utc>>,
    pub customers: u64,
    pub resource_days: u64,
    pub entries_appended: u64,
    pub settlements: u64,
    pub adjustments: u64,
    pub unchanged: u64,
    /// Batches another writer got to first, recomputed and retried.
    pub conflicts_retried: u64,
    #[serde(with = "crate::decimal::as_string")]
    pub earned_credit_delta: Decimal,
    #[serde(with = "crate::decimal::as_string")]
    pub lost_credit_delta: Decimal,
    /// The two deltas above by currency (amounts of different currencies are not added up).
    pub credit_by_currency: BTreeMap<String, CurrencyCredit>,
}

/// Earned and lost credit appended by a run in one currency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CurrencyCredit {
    #[serde(with = "crate::decimal::as_string")]
    pub earned_credit_delta: Decimal,
    #[serde(with = "crate::decimal::as_string")]
    pub lost_credit_delta: Decimal,
}

/// A resource-day's value as it should be now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceDayValue {
    pub key: ResourceDayKey,
    pub status: DayStatus,
    pub reason: Option<LossReason>,
    pub figures: Figures,
    pub rate: Decimal,
    pub tier2_mpn_id: String,
    pub evidence: Vec<String>,
    pub input_digest: String,
}

/// Merges a resource-day's usage rows into one row per (MpnId, Tier2MpnId).
fn merge_groups(rows: Vec<UsageAggregate>) -> Vec<UsageAggregate> {
    let mut merged: BTreeMap<(String, String), UsageAggregate> = BTreeMap::new();
    for r in rows {
        match merged.get_mut(&(r.mpn_id.clone(), r.tier2_mpn_id.clone())) {
            Some(m) => {
                m.list_amount += r.list_amount;
                m.eligible_amount += r.eligible_amount;
                m.microsoft_credit += r.microsoft_credit;
                m.lines += r.lines;
                for (k, v) in r.ineligible_by_reason {
                    *m.ineligible_by_reason.entry(k).or_default() += v;
                }
            }
            None => {
                merged.insert((r.mpn_id.clone(), r.tier2_mpn_id.clone()), r);
            }
        }
    }
    merged.into_values().collect()
}

/// The value of one resource-day from its usage groups (same key) and the customer's access.
pub fn value_of(
    key: &ResourceDayKey,
    groups: &[UsageAggregate],
    access: &PreparedAccess<'_>,
    config: &Config,
) -> ResourceDayValue {
    let rate = config.rate_on(key.usage_date);
    let mut figures = Figures::default();
    let mut verdict: Option<DayCoverage> = None;
    let mut evidence = BTreeSet::new();
    let mut tier2 = String::new();
    let mut coverages = Vec::with_capacity(groups.len());
    for g in groups {
        let mut cov =
            access.day_coverage(&key.resource_id, key.usage_date, &g.mpn_id, &g.tier2_mpn_id);
        figures.list_amount += g.list_amount;
        figures.eligible_amount += g.eligible_amount;
        figures.microsoft_credit += g.microsoft_credit;
        for (r, v) in &g.ineligible_by_reason {
            figures.ineligible_amount += *v;
            *figures.ineligible_by_reason.entry(*r).or_default() += *v;
        }
        let credit = g.eligible_amount * rate;
        if cov.status == DayStatus::Full {
            figures.earned_credit += credit;
        } else {
            figures.lost_credit += credit;
            let reason = cov.reason.unwrap_or(LossReason::NoAccess);
            *figures.lost_by_reason.entry(reason).or_default() += credit;
        }
        evidence.extend(std::mem::take(&mut cov.evidence));
        if tier2.is_empty() {
            tier2 = g.tier2_mpn_id.clone();
        }
        // The resource-day is FULL only if every group is; otherwise the first group that is not
        // gives status and reason.
        let replace = match &verdict {
            None => true,
            Some(v) => v.status == DayStatus::Full && cov.status != DayStatus::Full,
        };
        coverages.push((
            g.mpn_id.clone(),
            g.tier2_mpn_id.clone(),
            cov.status,
            cov.reason,
        ));
        if replace {
            verdict = Some(cov);
        }
    }
    figures.variance = figures.earned_credit - figures.microsoft_credit;
    figures.lost_by_reason.retain(|_, v| !v.is_zero());
    figures.ineligible_by_reason.retain(|_, v| !v.is_zero());
    let (status, reason) = verdict
        .map(|v| (v.status, v.reason))
        .unwrap_or((DayStatus::None, Some(LossReason::NoAccess)));
    let input_digest = input_digest(key, rate, groups, &coverages, &evidence);
    ResourceDayValue {
        key: key.clone(),
        status,
        reason,
        figures,
        rate,
        tier2_mpn_id: tier2,
        evidence: evidence.into_iter().collect(),
        input_digest,
    }
}

/// SHA-256 of what a resource-day's value was computed from: its key, the rate, the usage of
/// each (MpnId, Tier2MpnId) group, the coverage of each group and the evidence.
fn input_digest(
    key: &ResourceDayKey,
    rate: Decimal,
    groups: &[UsageAggregate],
    coverages: &[(String, String, DayStatus, Option<LossReason>)],
    evidence: &BTreeSet<String>,
) -> String {
    use std::fmt::Write as _;
    let mut h = Sha256::new();
    let mut field = |s: &str| {
        h.update(s.as_bytes());
        h.update([0x1f]);
    };
    // Formatted fields go through one reused buffer (the same text as `to_string` and
    // `decimal::fmt_amount`).
    let mut buf = String::new();
    let mut text = |f: &mut dyn FnMut(&str), args: std::fmt::Arguments<'_>| {
        buf.clear();
        let _ = buf.write_fmt(args);
        f(&buf);
    };
    let amount = |d: Decimal| {
        let n = d.normalize();
        if n.is_zero() {
            Decimal::ZERO
        } else {
            n
        }
    };
    text(&mut field, format_args!("{key}"));
    text(&mut field, format_args!("{}", amount(rate)));
    for g in groups {
        field(&g.mpn_id);
        field(&g.tier2_mpn_id);
        text(&mut field, format_args!("{}", amount(g.list_amount)));
        text(&mut field, format_args!("{}", amount(g.eligible_amount)));
        text(&mut field, format_args!("{}", amount(g.microsoft_credit)));
        for (r, v) in &g.ineligible_by_reason {
            field(r.code());
            text(&mut field, format_args!("{}", amount(*v)));
        }
        text(&mut field, format_args!("{}", g.lines));
    }
    for (mpn, tier2, status, reason) in coverages {
        field(mpn);
        field(tier2);
        field(status.code());
        field(reason.map(|r| r.code()).unwrap_or(""));
    }
    for e in evidence {
        field(e);
    }
    crate::decimal::to_hex(&h.finalize())
}

/// The entry that brings `head` to `value`, or `None` if the ledger already says it.
pub fn entry_for(
    value: &ResourceDayValue,
    head: Option<&Head>,
    run_id: &str,
    now: DateTime<Utc>,
) -> Option<Entry> {
    if let Some(h) = head {
        if h.status == value.status
            && h.reason == value.reason
            && h.figures.same_amounts(&value.figures)
        {
            return None;
        }
    }
    let previous = head.map(|h| h.figures.clone()).unwrap_or_default();
    let entry = Entry {
        key: value.key.clone(),
        seq: head.map(|h| h.seq + 1).unwrap_or(0),
        kind: if head.is_some() {
            EntryKind::Adjustment
        } else {
            EntryKind::Settlement
        },
        status: value.status,
        reason: value.reason,
        figures: value.figures.minus(&previous),
        rate: value.rate,
        tier2_mpn_id: value.tier2_mpn_id.clone(),
        evidence: value.evidence.clone(),
        input_digest: value.input_digest.clone(),
        run_id: run_id.to_string(),
        posted_at: now,
        prev_hash: head.map(|h| h.hash.clone()).unwrap_or_default(),
        hash: String::new(),
    };
    Some(entry.seal())
}

/// Replays a customer's snapshots into its access intervals.
pub fn load_access(
    store: &dyn Store,
    config: &Config,
    partner_id: &str,
    customer_id: &str,
) -> Result<CustomerAccess, StoreError> {
    let mut builder = AccessBuilder::new(config.max_snapshot_gap());
    store.for_each_snapshot(partner_id, customer_id, &mut |s| {
        builder.push(&s);
        Ok(())
    })?;
    Ok(builder.finish())
}

/// The entries one customer-day needs, given the heads as they are now.
fn plan_day(
    usage: Vec<UsageAggregate>,
    heads: &[Head],
    access: &PreparedAccess<'_>,
    config: &Config,
    opts: &SettleOptions,
) -> (Vec<Append>, u64) {
    let mut by_key: BTreeMap<ResourceDayKey, Vec<UsageAggregate>> = BTreeMap::new();
    for u in usage {
        by_key.entry(u.key.clone()).or_default().push(u);
    }
    let head_by_key: HashMap<&ResourceDayKey, &Head> = heads.iter().map(|h| (&h.key, h)).collect();
    let mut entries = Vec::new();
    let mut count = 0;
    for (key, rows) in by_key.iter_mut() {
        count += 1;
        let groups = merge_groups(std::mem::take(rows));
        let value = value_of(key, &groups, access, config);
        let head = head_by_key.get(key).copied();
        if let Some(e) = entry_for(&value, head, &opts.run_id, opts.now) {
            entries.push(Append::after(head, e));
        }
    }
    // Resource-days in the ledger whose usage is gone (superseded by a file without them).
    for h in heads {
        if by_key.contains_key(&h.key) {
            continue;
        }
        count += 1;
        let value = ResourceDayValue {
            key: h.key.clone(),
            status: h.status,
            reason: h.reason,
            figures: Figures::default(),
            rate: config.rate_on(h.key.usage_date),
            tier2_mpn_id: h.tier2_mpn_id.clone(),
            evidence: vec![],
            input_digest: hex::encode(Sha256::digest(b"no usage")),
        };
        if let Some(e) = entry_for(&value, Some(h), &opts.run_id, opts.now) {
            entries.push(Append::after(Some(h), e));
        }
    }
    (entries, count)
}

/// Settles every customer's resource-days in `[from, through]`. Idempotent: settling the same
/// inputs again appends nothing; a run interrupted half way and run again ends where one clean
/// run would; concurrent runs never write two versions of an entry (appends are conditional on
/// the head they chain to, and a batch that loses the race is recomputed).
pub fn settle(
    store: &dyn Store,
    config: &Config,
    opts: &SettleOptions,
) -> Result<RunSummary, StoreError> {
    settle_with_progress(store, config, opts, &mut |_, _| {})
}

/// [`settle`], calling `progress(done, total)` after each customer.
pub fn settle_with_progress(
    store: &dyn Store,
    config: &Config,
    opts: &SettleOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<RunSummary, StoreError> {
    let customers = store.customers_in_range(opts.from, opts.through)?;
    settle_customers_with_progress(store, config, opts, &customers, progress)
}

/// Settles the resource-days in `[from, through]` of the given (partner, customer) pairs only:
/// one shard of a fanned-out nightly run. Same guarantees as [`settle`].
pub fn settle_customers(
    store: &dyn Store,
    config: &Config,
    opts: &SettleOptions,
    customers: &[(String, String)],
) -> Result<RunSummary, StoreError> {
    settle_customers_with_progress(store, config, opts, customers, &mut |_, _| {})
}

fn settle_customers_with_progress(
    store: &dyn Store,
    config: &Config,
    opts: &SettleOptions,
    customers: &[(String, String)],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<RunSummary, StoreError> {
    let roles = config.role_table();
    let mut summary = RunSummary {
        run_id: opts.run_id.clone(),
        from: Some(opts.from),
        through: Some(opts.through),
        posted_at: Some(opts.now),
        customers: customers.len() as u64,
        ..Default::default()
    };
    tracing::info!(run_id = %opts.run_id, from = %opts.from, through = %opts.through,
        customers = customers.len(), "settlement started");
    for (i, (partner, customer)) in customers.iter().enumerate() {
        let access = load_access(store, config, partner, customer)?;
        let access = PreparedAccess::new(&access, &roles);
        let mut dates = Vec::new();
        let mut date = opts.from;
        while date <= opts.through {
            dates.push(date);
            date = match date.succ_opt() {
                Some(d) => d,
                None => break,
            };
        }
        // Dates are planned and appended in chunks of about BATCH_ENTRIES entries, each chunk in
        // one transaction; a chunk that loses a race with another writer is planned again.
        let mut next = 0;
        while next < dates.len() {
            let mut attempts = 0;
            loop {
                let mut batch = Vec::new();
                let mut count = 0;
                let mut end = next;
                while end < dates.len() && batch.len() < BATCH_ENTRIES {
                    let usage = store.current_usage(partner, customer, dates[end])?;
                    let heads = store.heads(partner, customer, dates[end])?;
                    let (entries, n) = plan_day(usage, &heads, &access, config, opts);
                    batch.extend(entries);
                    count += n;
                    end += 1;
                }
                let outcome = if batch.is_empty() {
                    AppendOutcome::Appended
                } else {
                    store.append(&batch)?
                };
                match outcome {
                    AppendOutcome::Appended => {
                        summary.resource_days += count;
                        summary.unchanged += count - batch.len() as u64;
                        summary.entries_appended += batch.len() as u64;
                        for Append { entry: e, .. } in &batch {
                            match e.kind {
                                EntryKind::Settlement => summary.settlements += 1,
                                EntryKind::Adjustment => summary.adjustments += 1,
                            }
                            summary.earned_credit_delta += e.figures.earned_credit;
                            summary.lost_credit_delta += e.figures.lost_credit;
                            let c = summary
                                .credit_by_currency
                                .entry(e.key.currency.clone())
                                .or_default();
                            c.earned_credit_delta += e.figures.earned_credit;
                            c.lost_credit_delta += e.figures.lost_credit;
                        }
                        next = end;
                        break;
                    }
                    AppendOutcome::Conflict => {
                        attempts += 1;
                        summary.conflicts_retried += 1;
                        if attempts >= 10 {
                            return Err(StoreError::Backend(format!(
                                "another settlement keeps writing {partner} {customer} from {}; try again",
                                dates[next]
                            )));
                        }
                    }
                }
            }
        }
        tracing::debug!(run_id = %opts.run_id, partner_id = %partner, customer_id = %customer,
            "customer settled");
        progress(i + 1, customers.len());
    }
    log_finished(&summary);
    Ok(summary)
}

/// The run's closing log events: the totals, then one event per currency.
fn log_finished(s: &RunSummary) {
    let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    tracing::info!(run_id = %s.run_id, from = %date(s.from), through = %date(s.through),
        customers = s.customers, resource_days = s.resource_days,
        entries_appended = s.entries_appended, settlements = s.settlements,
        adjustments = s.adjustments, unchanged = s.unchanged,
        conflicts_retried = s.conflicts_retried, "settlement finished");
    for (currency, c) in &s.credit_by_currency {
        tracing::info!(run_id = %s.run_id, currency = %currency,
            credit_earned = %crate::decimal::fmt_amount(c.earned_credit_delta),
            credit_lost = %crate::decimal::fmt_amount(c.lost_credit_delta), "settlement credit");
    }
}
