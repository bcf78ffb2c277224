//! Settlement (SPEC 4): per resource-day, from current usage and access, the value it should
//! have; appended to the ledger as the difference from what the ledger already says.

use crate::access::{AccessBuilder, CustomerAccess, PreparedAccess};
use crate::config::Config;
use crate::decimal::write_amount;
use crate::ledger::{Entry, EntryKind, Figures, Head, ResourceDayKey};
use crate::reasons::{DayStatus, IneligibleReason, LossReason};
use crate::store::{
    AccessCheckpoint, Append, AppendOutcome, DayMark, MarkUpdate, SnapshotStore, Store, StoreError,
    UsageAggregate, UsageSource,
};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;

/// About how many entries one transaction appends, by default.
pub const BATCH_ENTRIES: usize = 5_000;

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
    /// Decide every resource-day of the range again (`pec settle --full`), not only the
    /// customer-dates whose inputs changed since they were last settled.
    pub full: bool,
    /// About how many entries one transaction appends ([`BATCH_ENTRIES`] by default; at least
    /// one customer-date per transaction).
    pub batch_entries: usize,
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
            full: false,
            batch_entries: BATCH_ENTRIES,
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
    /// Customer-dates decided in this run.
    #[serde(default)]
    pub customer_days: u64,
    /// Customer-dates skipped because nothing they depend on changed since they were settled.
    #[serde(default)]
    pub customer_days_unchanged: u64,
    pub resource_days: u64,
    pub entries_appended: u64,
    pub settlements: u64,
    pub adjustments: u64,
    pub unchanged: u64,
    /// Batches another writer got to first, recomputed and retried.
    pub conflicts_retried: u64,
    /// Earned and lost credit appended, by currency (amounts of different currencies are never
    /// added up, so there is no total across them).
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
                for p in r.products {
                    m.add_product(p);
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
    let mut verdict: Option<(DayStatus, Option<LossReason>)> = None;
    let mut evidence: Vec<String> = Vec::new();
    let mut coverages = Vec::with_capacity(groups.len());
    // R7 is decided here, with the configuration of this run (SPEC R7).
    let eligibility: Vec<_> = groups.iter().map(|g| g.eligibility(config)).collect();
    for (g, (eligible, ineligible)) in groups.iter().zip(&eligibility) {
        let cov = access.day_coverage(&key.resource_id, key.usage_date, &g.mpn_id, &g.tier2_mpn_id);
        figures.list_amount += g.list_amount;
        figures.eligible_amount += *eligible;
        figures.microsoft_credit += g.microsoft_credit;
        for (r, v) in ineligible {
            figures.ineligible_amount += *v;
            *figures.ineligible_by_reason.entry(*r).or_default() += *v;
        }
        let credit = *eligible * rate;
        if cov.status == DayStatus::Full {
            figures.earned_credit += credit;
        } else {
            figures.lost_credit += credit;
            let reason = cov.reason.unwrap_or(LossReason::NoAccess);
            *figures.lost_by_reason.entry(reason).or_default() += credit;
        }
        if evidence.is_empty() {
            evidence = cov.evidence;
        } else {
            evidence.extend(cov.evidence);
        }
        // The resource-day is FULL only if every group is; otherwise the first group that is not
        // gives status and reason.
        let replace = match verdict {
            None => true,
            Some((status, _)) => status == DayStatus::Full && cov.status != DayStatus::Full,
        };
        if replace {
            verdict = Some((cov.status, cov.reason));
        }
        coverages.push((
            g.mpn_id.as_str(),
            g.tier2_mpn_id.as_str(),
            cov.status,
            cov.reason,
        ));
    }
    // Each group's evidence is sorted and deduplicated; so is their union.
    if groups.len() > 1 {
        evidence.sort_unstable();
        evidence.dedup();
    }
    figures.variance = figures.earned_credit - figures.microsoft_credit;
    figures.lost_by_reason.retain(|_, v| !v.is_zero());
    figures.ineligible_by_reason.retain(|_, v| !v.is_zero());
    let (status, reason) = verdict.unwrap_or((DayStatus::None, Some(LossReason::NoAccess)));
    let input_digest = input_digest(key, rate, groups, &eligibility, &coverages, &evidence);
    let tier2 = groups
        .iter()
        .map(|g| g.tier2_mpn_id.as_str())
        .find(|t| !t.is_empty())
        .unwrap_or_default();
    ResourceDayValue {
        key: key.clone(),
        status,
        reason,
        figures,
        rate,
        tier2_mpn_id: tier2.to_string(),
        evidence,
        input_digest,
    }
}

/// SHA-256 of what a resource-day's value was computed from: its key, the rate, the usage of
/// each (MpnId, Tier2MpnId) group (with R7 as decided for this run), the coverage of each group
/// and the evidence. Each field is
/// followed by 0x1F; the key is its `Display` text, amounts are `decimal::fmt_amount` text.
fn input_digest(
    key: &ResourceDayKey,
    rate: Decimal,
    groups: &[UsageAggregate],
    eligibility: &[(Decimal, BTreeMap<IneligibleReason, Decimal>)],
    coverages: &[(&str, &str, DayStatus, Option<LossReason>)],
    evidence: &[String],
) -> String {
    const END: u8 = 0x1f;
    // The whole text is built in one buffer and hashed at once.
    let mut text: Vec<u8> = Vec::with_capacity(512);
    let field = |text: &mut Vec<u8>, s: &str| {
        text.extend_from_slice(s.as_bytes());
        text.push(END);
    };
    for part in [&key.partner_id, &key.customer_id, &key.resource_id] {
        text.extend_from_slice(part.as_bytes());
        text.push(b' ');
    }
    write_date(&mut text, key.usage_date);
    text.push(b' ');
    field(&mut text, &key.currency);
    write_amount(&mut text, rate);
    text.push(END);
    for (g, (eligible, ineligible)) in groups.iter().zip(eligibility) {
        field(&mut text, &g.mpn_id);
        field(&mut text, &g.tier2_mpn_id);
        for amount in [g.list_amount, *eligible, g.microsoft_credit] {
            write_amount(&mut text, amount);
            text.push(END);
        }
        for (r, v) in ineligible {
            field(&mut text, r.code());
            write_amount(&mut text, *v);
            text.push(END);
        }
        let _ = write!(text, "{}", g.lines);
        text.push(END);
    }
    for (mpn, tier2, status, reason) in coverages {
        field(&mut text, mpn);
        field(&mut text, tier2);
        field(&mut text, status.code());
        field(&mut text, reason.map(|r| r.code()).unwrap_or(""));
    }
    for e in evidence {
        field(&mut text, e);
    }
    crate::decimal::to_hex(&Sha256::digest(&text))
}

/// `date` as its `Display` text (`YYYY-MM-DD` for years 0–9999, chrono's text otherwise).
fn write_date(out: &mut Vec<u8>, date: NaiveDate) {
    let (y, m, d) = (date.year(), date.month(), date.day());
    if (0..=9999).contains(&y) {
        let y = y as u32;
        out.extend_from_slice(&[
            b'0' + (y / 1000) as u8,
            b'0' + (y / 100 % 10) as u8,
            b'0' + (y / 10 % 10) as u8,
            b'0' + (y % 10) as u8,
            b'-',
            b'0' + (m / 10) as u8,
            b'0' + (m % 10) as u8,
            b'-',
            b'0' + (d / 10) as u8,
            b'0' + (d % 10) as u8,
        ]);
    } else {
        out.extend_from_slice(date.to_string().as_bytes());
    }
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
pub fn load_access<S: SnapshotStore + ?Sized>(
    store: &S,
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

/// A customer's access, carried on from its last checkpoint when the store keeps one and no
/// snapshot arrived out of order since (the same as replaying every snapshot, since the builder
/// is a fold over them in order), else replayed from the first. Returns the new checkpoint when
/// there is something new to keep.
pub fn load_access_checkpointed<S: SnapshotStore + ?Sized>(
    store: &S,
    config: &Config,
    partner_id: &str,
    customer_id: &str,
) -> Result<(CustomerAccess, Option<AccessCheckpoint>), StoreError> {
    let max_gap = config.max_snapshot_gap();
    let mut last: Option<(DateTime<Utc>, String)> = None;
    let mut pushed = 0u64;
    let mut resumed = None;
    if let Some(cp) = store.access_checkpoint(partner_id, customer_id)? {
        if let Some(mut builder) = AccessBuilder::from_state(&cp.state, max_gap) {
            let position = (cp.taken_at, cp.snapshot_id.as_str());
            let in_order = store.for_each_snapshot_after(
                partner_id,
                customer_id,
                position,
                cp.snapshots,
                &mut |s| {
                    builder.push(&s);
                    last = Some((s.taken_at, s.snapshot_id));
                    pushed += 1;
                    Ok(())
                },
            )?;
            if in_order {
                resumed = Some((builder, cp));
            }
        }
    }
    let (builder, count, position) = match resumed {
        Some((builder, cp)) => (
            builder,
            cp.snapshots + pushed,
            last.clone().or(Some((cp.taken_at, cp.snapshot_id))),
        ),
        None => {
            let mut builder = AccessBuilder::new(max_gap);
            let mut count = 0u64;
            store.for_each_snapshot(partner_id, customer_id, &mut |s| {
                builder.push(&s);
                last = Some((s.taken_at, s.snapshot_id));
                count += 1;
                Ok(())
            })?;
            pushed = count;
            (builder, count, last.clone())
        }
    };
    let checkpoint = match position {
        Some((taken_at, snapshot_id)) if pushed > 0 => Some(AccessCheckpoint {
            partner_id: partner_id.to_string(),
            customer_id: customer_id.to_string(),
            taken_at,
            snapshot_id,
            snapshots: count,
            state: builder.to_state(),
        }),
        _ => None,
    };
    Ok((builder.access(), checkpoint))
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
pub fn settle<S: Store + ?Sized>(
    store: &S,
    config: &Config,
    opts: &SettleOptions,
) -> Result<RunSummary, StoreError> {
    settle_with_progress(store, config, opts, &mut |_, _| {})
}

/// [`settle`], calling `progress(done, total)` after each customer.
pub fn settle_with_progress<S: Store + ?Sized>(
    store: &S,
    config: &Config,
    opts: &SettleOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<RunSummary, StoreError> {
    let customers = store.customers_in_range(opts.from, opts.through)?;
    settle_customers_with_progress(store, config, opts, &customers, progress)
}

/// Settles the resource-days in `[from, through]` of the given (partner, customer) pairs only:
/// one shard of a fanned-out nightly run. Same guarantees as [`settle`].
pub fn settle_customers<S: Store + ?Sized>(
    store: &S,
    config: &Config,
    opts: &SettleOptions,
    customers: &[(String, String)],
) -> Result<RunSummary, StoreError> {
    settle_customers_with_progress(store, config, opts, customers, &mut |_, _| {})
}

fn settle_customers_with_progress<S: Store + ?Sized>(
    store: &S,
    config: &Config,
    opts: &SettleOptions,
    customers: &[(String, String)],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<RunSummary, StoreError> {
    let roles = config.role_table();
    let base = config_fingerprint(config);
    let mut summary = RunSummary {
        run_id: opts.run_id.clone(),
        from: Some(opts.from),
        through: Some(opts.through),
        posted_at: Some(opts.now),
        customers: customers.len() as u64,
        ..Default::default()
    };
    tracing::info!(run_id = %opts.run_id, from = %opts.from, through = %opts.through,
        customers = customers.len(), full = opts.full, "settlement started");
    // Customer-dates are planned in order and appended in batches of about `batch_entries`
    // entries, each batch in one transaction with the marks of its dates (a batch may span
    // customers, and a customer batches). A batch that loses a race with another writer is
    // selected and planned again from where it began.
    let mut cursor = (0usize, opts.from);
    let mut access: Option<(usize, CustomerAccess)> = None;
    let mut counted = 0usize; // customers whose unchanged dates are counted
    let mut attempts = 0;
    // What the last batch that lost a race would have written: a retry that would write the
    // same again means no writer moved on, and only those count towards giving up.
    let mut lost: Option<Vec<String>> = None;
    // Access checkpoints made along the way, kept after each committed batch.
    let mut checkpoints: Vec<AccessCheckpoint> = Vec::new();
    while cursor.0 < customers.len() {
        let mut batch = Vec::new();
        let mut marks = Vec::new();
        let mut count = 0;
        let mut days = 0;
        let (mut c, mut from) = cursor;
        let next = loop {
            let (partner, customer) = &customers[c];
            // The customer's access, loaded once however many batches it takes.
            let (_, loaded) = match access.take() {
                Some((i, loaded)) if i == c => access.insert((i, loaded)),
                _ => {
                    let (loaded, checkpoint) =
                        load_access_checkpointed(store, config, partner, customer)?;
                    checkpoints.extend(checkpoint);
                    access.insert((c, loaded))
                }
            };
            let prepared = PreparedAccess::new(loaded, &roles);
            let selection = select_days(store, &prepared, &base, opts, partner, customer, from)?;
            if c >= counted {
                summary.customer_days_unchanged += selection.unchanged;
                counted = c + 1;
            }
            let mut planned = selection.days.iter().peekable();
            while let Some(day) = planned.next_if(|_| batch.len() < opts.batch_entries.max(1)) {
                let usage = store.current_usage(partner, customer, day.date)?;
                let heads = store.heads(partner, customer, day.date)?;
                let (entries, n) = plan_day(usage, &heads, &prepared, config, opts);
                batch.extend(entries);
                count += n;
                days += 1;
                if let Some(m) = &day.mark {
                    marks.push(m.clone());
                }
            }
            if let Some(d) = planned.peek() {
                break (c, d.date);
            }
            c += 1;
            from = opts.from;
            if c == customers.len() || batch.len() >= opts.batch_entries.max(1) {
                break (c, from);
            }
        };
        match store.append_marked(&batch, &marks)? {
            AppendOutcome::Appended => {
                attempts = 0;
                lost = None;
                summary.customer_days += days;
                summary.resource_days += count;
                summary.unchanged += count - batch.len() as u64;
                summary.entries_appended += batch.len() as u64;
                for Append { entry: e, .. } in &batch {
                    match e.kind {
                        EntryKind::Settlement => summary.settlements += 1,
                        EntryKind::Adjustment => summary.adjustments += 1,
                    }
                    let c = summary
                        .credit_by_currency
                        .entry(e.key.currency.clone())
                        .or_default();
                    c.earned_credit_delta += e.figures.earned_credit;
                    c.lost_credit_delta += e.figures.lost_credit;
                }
                if !checkpoints.is_empty() {
                    store.put_access_checkpoints(&std::mem::take(&mut checkpoints))?;
                }
                if next.0 > cursor.0 {
                    progress(next.0, customers.len());
                }
                cursor = next;
            }
            AppendOutcome::Conflict => {
                summary.conflicts_retried += 1;
                let attempt: Vec<String> = batch
                    .iter()
                    .map(|a| format!("{} {}", a.entry.key, a.entry.seq))
                    .chain(marks.iter().map(|m| {
                        format!(
                            "{} {} {} {:?}",
                            m.partner_id, m.customer_id, m.usage_date, m.expected_version
                        )
                    }))
                    .collect();
                if lost.as_ref() == Some(&attempt) {
                    attempts += 1;
                } else {
                    attempts = 1;
                    lost = Some(attempt);
                }
                if attempts >= 10 {
                    let (partner, customer) = &customers[cursor.0];
                    return Err(StoreError::Backend(format!(
                        "another settlement keeps writing {partner} {customer} from {}; try again",
                        cursor.1
                    )));
                }
            }
        }
    }
    log_finished(&summary);
    Ok(summary)
}

/// Bump when a release changes how a resource-day is decided from the same inputs: every
/// customer-date's fingerprint changes with it, so the next run decides them all again.
const ENGINE_VERSION: &str = "pec-settle 1";

/// SHA-256 of the engine version and the configuration: the part of every fingerprint that a
/// configuration change (rates, lists, roles, look-back, gap) changes.
fn config_fingerprint(config: &Config) -> Vec<u8> {
    let mut text = ENGINE_VERSION.as_bytes().to_vec();
    text.push(0x1f);
    text.extend(serde_json::to_vec(config).unwrap_or_default());
    Sha256::digest(&text).to_vec()
}

/// One customer-date to decide, and the mark to set with its entries.
struct PlannedDay {
    date: NaiveDate,
    mark: Option<MarkUpdate>,
}

/// The customer-dates of a run, from `start` on.
struct Selection {
    days: Vec<PlannedDay>,
    /// Dates with a mark whose fingerprint is today's: not read again.
    unchanged: u64,
}

/// Which of a customer's dates in `[start, through]` must be decided: with `--full` or a store
/// that keeps no marks, every date; otherwise the dates with usage or ledger entries whose
/// fingerprint (configuration, the day's access as [`PreparedAccess::day_digests`] sees it, and
/// which upload each of its usage keys comes from) differs from the one it was last settled
/// with.
fn select_days<S: Store + ?Sized>(
    store: &S,
    access: &PreparedAccess<'_>,
    base: &[u8],
    opts: &SettleOptions,
    partner: &str,
    customer: &str,
    start: NaiveDate,
) -> Result<Selection, StoreError> {
    let marks = store.day_marks(partner, customer, start, opts.through)?;
    let sources = store.usage_sources(partner, customer, start, opts.through)?;
    let (Some(marks), Some(sources)) = (marks, sources) else {
        let mut days = Vec::new();
        let mut date = start;
        while date <= opts.through {
            days.push(PlannedDay { date, mark: None });
            date = match date.succ_opt() {
                Some(d) => d,
                None => break,
            };
        }
        return Ok(Selection { days, unchanged: 0 });
    };
    let mut by_date: BTreeMap<NaiveDate, (Option<&DayMark>, Vec<&UsageSource>)> = BTreeMap::new();
    for m in &marks {
        by_date.entry(m.usage_date).or_default().0 = Some(m);
    }
    for s in &sources {
        by_date.entry(s.usage_date).or_default().1.push(s);
    }
    let dates: Vec<NaiveDate> = by_date.keys().copied().collect();
    let digests = access.day_digests(&dates);
    let mut selection = Selection {
        days: Vec::new(),
        unchanged: 0,
    };
    for ((date, (mark, mut sources)), digest) in by_date.into_iter().zip(digests) {
        sources.sort();
        let mut h = Sha256::new();
        h.update(base);
        h.update(digest);
        for s in sources {
            h.update(s.subscription_id.as_bytes());
            h.update([0x1f]);
            h.update(s.upload_id.as_bytes());
            h.update([0x1e]);
        }
        let fingerprint = crate::decimal::to_hex(&h.finalize());
        if !opts.full && mark.is_some_and(|m| m.fingerprint == fingerprint) {
            selection.unchanged += 1;
            continue;
        }
        selection.days.push(PlannedDay {
            date,
            mark: Some(MarkUpdate {
                partner_id: partner.to_string(),
                customer_id: customer.to_string(),
                usage_date: date,
                expected_version: mark.map(|m| m.version),
                fingerprint,
            }),
        });
    }
    Ok(selection)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{HeldAssignment, Interval};
    use crate::reasons::IneligibleReason;
    use crate::snapshot::{AccessType, Assignment, AssignmentType, PrincipalType};

    const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";

    fn held(id: &str, access_type: AccessType, pal: Option<&str>) -> HeldAssignment {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        HeldAssignment {
            assignment: Assignment {
                id: id.into(),
                scope: "/subscriptions/s1".into(),
                role_definition_id: OWNER.into(),
                role_name: String::new(),
                principal_id: "p".into(),
                principal_type: PrincipalType::ForeignGroup,
                access_type,
                partner_admin_link_mpn_id: pal.map(str::to_string),
                assignment_type: AssignmentType::Permanent,
                created_on: None,
            },
            intervals: vec![Interval::new(
                t("2026-08-31T23:00:00Z"),
                t("2026-09-02T01:00:00Z"),
            )],
        }
    }

    fn group(key: &ResourceDayKey, tier2: &str, list: Decimal) -> UsageAggregate {
        UsageAggregate {
            key: key.clone(),
            mpn_id: "4100001".into(),
            tier2_mpn_id: tier2.into(),
            list_amount: list,
            eligible_amount: Decimal::new(10_000, 3),
            microsoft_credit: Decimal::new(-15, 1),
            ineligible_by_reason: BTreeMap::from([(IneligibleReason::Spot, Decimal::new(250, 2))]),
            lines: 3,
            products: Vec::new(),
        }
    }

    /// The input digest is part of the ledger: its text must not change. The expected text is
    /// written out by hand from the documented layout (fields ended by 0x1F, the key's Display
    /// text, canonical amounts, per group usage then per group coverage, then the evidence).
    #[test]
    fn input_digest_text_is_stable() {
        let key = ResourceDayKey {
            partner_id: "p1".into(),
            customer_id: "c1".into(),
            subscription_id: "s1".into(),
            resource_id: "/subscriptions/s1/x".into(),
            usage_date: NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
            currency: "USD".into(),
        };
        let access = CustomerAccess {
            held: vec![
                held("B", AccessType::Lighthouse, Some("5200002")),
                held("A", AccessType::Aobo, None),
            ],
            latest_snapshot: Some("2026-09-02T01:00:00Z".parse().unwrap()),
        };
        let config = Config::default();
        let roles = config.role_table();
        let prepared = PreparedAccess::new(&access, &roles);
        let groups = [
            group(&key, "", Decimal::new(1250, 2)),
            group(&key, "5200002", Decimal::new(7, 0)),
        ];
        let v = value_of(&key, &groups, &prepared, &config);
        // Group 1 (no Tier2MpnId): only the AOBO assignment is eligible; group 2: both.
        assert_eq!((v.status, v.reason), (DayStatus::Full, None));
        assert_eq!(v.evidence, vec!["A".to_string(), "B".to_string()]);
        assert_eq!(v.tier2_mpn_id, "5200002");
        assert_eq!(v.figures.earned_credit, Decimal::new(3, 0));
        let text = "p1 c1 /subscriptions/s1/x 2026-09-01 USD\u{1f}0.15\u{1f}\
            4100001\u{1f}\u{1f}12.5\u{1f}10\u{1f}-1.5\u{1f}SPOT\u{1f}2.5\u{1f}3\u{1f}\
            4100001\u{1f}5200002\u{1f}7\u{1f}10\u{1f}-1.5\u{1f}SPOT\u{1f}2.5\u{1f}3\u{1f}\
            4100001\u{1f}\u{1f}FULL\u{1f}\u{1f}\
            4100001\u{1f}5200002\u{1f}FULL\u{1f}\u{1f}\
            A\u{1f}B\u{1f}";
        assert_eq!(v.input_digest, hex::encode(Sha256::digest(text.as_bytes())));
    }

    #[test]
    fn dates_are_written_as_chrono_displays_them() {
        for (y, m, d) in [
            (2026, 9, 1),
            (0, 1, 1),
            (9999, 12, 31),
            (10_000, 1, 1),
            (-1, 6, 30),
        ] {
            let date = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            let mut out = Vec::new();
            write_date(&mut out, date);
            assert_eq!(String::from_utf8(out).unwrap(), date.to_string());
        }
    }
}
