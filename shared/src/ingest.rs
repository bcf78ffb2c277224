//! Taking inputs in: usage files (SPEC 3.1) into staged, then current, usage; snapshots (SPEC
//! 3.2) into the snapshot store. All or nothing: a rejected input leaves no trace.

use crate::alerts::{self, AlertEvent, EventType, Seen, SnapshotPosition, Watch};
use crate::config::Config;
use crate::ledger::ResourceDayKey;
use crate::products::{rule_ineligibility, with_overrides};
use crate::reasons::IneligibleReason;
use crate::snapshot::{parse_snapshot, PathError, Snapshot, MAX_SNAPSHOT_BYTES};
use crate::store::{
    add_product, AlertStore, CommitOutcome, ProductAmount, PutSnapshotOutcome, SnapshotStore,
    StoreError, UploadRecord, UsageAggregate, UsageKey, UsageStore,
};
use crate::usage::{read_usage_rows, ReadOptions, RowError, UsageLine, UsageLineView};
use chrono::{DateTime, NaiveDate, Utc};
use hashbrown::Equivalent;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::io::Read;

/// How many distinct resource-day groups are held in memory before they are staged.
const FLUSH_GROUPS: usize = 8_192;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UploadStatus {
    Accepted,
    Duplicate,
    Rejected,
}

/// What `pec usage upload` prints and the AWS ingestion writes to `receipts/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadReceipt {
    pub upload_id: String,
    pub status: UploadStatus,
    pub rows: u64,
    pub error_count: u64,
    pub errors: Vec<RowError>,
    /// What is worth a look although the file was taken: a file with a header and no rows; a
    /// row whose charge period is longer than one day (with its line and column).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
}

/// A warning of a receipt: where (for a row: its line and column) and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    pub message: String,
}

impl Warning {
    /// A warning about the whole input.
    pub fn of(message: impl Into<String>) -> Warning {
        Warning {
            line: None,
            column: None,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.line, &self.column) {
            (Some(l), Some(c)) => write!(f, "line {l}, {c}: {}", self.message),
            (Some(l), None) => write!(f, "line {l}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

/// The warning of an accepted file without rows.
pub const NO_ROWS_WARNING: &str =
    "the file has a header and no usage rows: it was taken, but it holds no usage and replaces none";

impl UploadStatus {
    /// The status as the receipt spells it (`accepted`, `duplicate`, `rejected`).
    pub fn as_str(self) -> &'static str {
        match self {
            UploadStatus::Accepted => "accepted",
            UploadStatus::Duplicate => "duplicate",
            UploadStatus::Rejected => "rejected",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotStatus {
    Accepted,
    Duplicate,
    Rejected,
    /// The `snapshotId` was used before with other content.
    Conflict,
}

impl SnapshotStatus {
    /// The status as the receipt spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotStatus::Accepted => "accepted",
            SnapshotStatus::Duplicate => "duplicate",
            SnapshotStatus::Rejected => "rejected",
            SnapshotStatus::Conflict => "conflict",
        }
    }
}

/// What `pec access post` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotReceipt {
    pub snapshot_id: Option<String>,
    pub status: SnapshotStatus,
    pub errors: Vec<PathError>,
    /// What is worth a look although the snapshot was taken (an import with no assignments).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
}

/// One group's key: a resource-day and its (MpnId, Tier2MpnId).
#[derive(Debug, PartialEq, Eq)]
struct GroupKey {
    key: ResourceDayKey,
    mpn_id: String,
    tier2_mpn_id: String,
}

/// A [`GroupKey`] borrowed from a line: what each line is looked up with, so that a line of a
/// group already held costs no allocation. It hashes exactly like the owned key (whose `Hash`
/// goes through this type).
#[derive(Debug, PartialEq, Eq, Hash)]
struct GroupKeyRef<'a> {
    partner_id: &'a str,
    customer_id: &'a str,
    subscription_id: &'a str,
    resource_id: &'a str,
    usage_date: NaiveDate,
    currency: &'a str,
    mpn_id: &'a str,
    tier2_mpn_id: &'a str,
}

impl GroupKey {
    fn borrowed(&self) -> GroupKeyRef<'_> {
        GroupKeyRef {
            partner_id: &self.key.partner_id,
            customer_id: &self.key.customer_id,
            subscription_id: &self.key.subscription_id,
            resource_id: &self.key.resource_id,
            usage_date: self.key.usage_date,
            currency: &self.key.currency,
            mpn_id: &self.mpn_id,
            tier2_mpn_id: &self.tier2_mpn_id,
        }
    }
}

impl Hash for GroupKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.borrowed().hash(state)
    }
}

impl Equivalent<GroupKey> for GroupKeyRef<'_> {
    fn equivalent(&self, key: &GroupKey) -> bool {
        *self == key.borrowed()
    }
}

impl GroupKeyRef<'_> {
    fn to_owned_key(&self) -> GroupKey {
        GroupKey {
            key: ResourceDayKey {
                partner_id: self.partner_id.to_string(),
                customer_id: self.customer_id.to_string(),
                subscription_id: self.subscription_id.to_string(),
                resource_id: self.resource_id.to_string(),
                usage_date: self.usage_date,
                currency: self.currency.to_string(),
            },
            mpn_id: self.mpn_id.to_string(),
            tier2_mpn_id: self.tier2_mpn_id.to_string(),
        }
    }
}

/// The sums of one group.
#[derive(Debug, Default)]
struct GroupSums {
    list_amount: Decimal,
    eligible_amount: Decimal,
    microsoft_credit: Decimal,
    ineligible_by_reason: BTreeMap<IneligibleReason, Decimal>,
    lines: u64,
    products: Vec<ProductAmount>,
}

/// Credit Microsoft applied on a line (SPEC R8).
pub fn microsoft_credit(line: &UsageLine) -> Decimal {
    line.quantity * line.unit_price * line.pec_percentage / Decimal::ONE_HUNDRED
}

/// Usage lines added up into one [`UsageAggregate`] per resource-day and (MpnId, Tier2MpnId):
/// the aggregation ingestion stages (and `pec-bench ingest` measures).
#[derive(Debug, Default)]
pub struct UsageGroups {
    groups: hashbrown::HashMap<GroupKey, GroupSums>,
}

impl UsageGroups {
    /// Adds one valid line to its group.
    pub fn add(&mut self, line: UsageLine, config: &Config) {
        self.add_view(&line.view(), config);
    }

    /// Adds one valid line, borrowed, to its group: what ingestion does for every row.
    pub fn add_view(&mut self, line: &UsageLineView<'_>, config: &Config) {
        // As `microsoft_credit`: (quantity × unit price) × percentage / 100.
        let amount = line.quantity * line.unit_price;
        let ms = amount * line.pec_percentage / Decimal::ONE_HUNDRED;
        // R7 by the rules, kept per product so that settlement can apply the configuration of
        // the day; and with today's configuration, for the sums the row also keeps.
        let rule = rule_ineligibility(line);
        let reason = with_overrides(line.meter_id, line.product_name, rule, config);
        let add = |sums: &mut GroupSums| {
            sums.list_amount += amount;
            sums.microsoft_credit += ms;
            sums.lines += 1;
            match reason {
                None => sums.eligible_amount += amount,
                Some(r) => *sums.ineligible_by_reason.entry(r).or_default() += amount,
            }
            add_product(
                &mut sums.products,
                line.meter_id,
                line.product_name,
                rule,
                amount,
            );
        };
        let key = GroupKeyRef {
            partner_id: line.partner_id,
            customer_id: line.customer_id,
            subscription_id: line.subscription_id,
            resource_id: line.resource_key,
            usage_date: line.usage_date,
            currency: line.pricing_currency,
            mpn_id: line.mpn_id,
            tier2_mpn_id: line.tier2_mpn_id,
        };
        if let Some(sums) = self.groups.get_mut(&key) {
            add(sums);
        } else {
            let mut sums = GroupSums::default();
            add(&mut sums);
            self.groups.insert(key.to_owned_key(), sums);
        }
    }

    /// How many groups are held.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Whether no group is held.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Takes every group out, sorted by resource-day key, then MpnId and Tier2MpnId.
    pub fn drain_sorted(&mut self) -> Vec<UsageAggregate> {
        let mut rows: Vec<UsageAggregate> = self
            .groups
            .drain()
            .map(|(k, sums)| UsageAggregate {
                key: k.key,
                mpn_id: k.mpn_id,
                tier2_mpn_id: k.tier2_mpn_id,
                list_amount: sums.list_amount,
                eligible_amount: sums.eligible_amount,
                microsoft_credit: sums.microsoft_credit,
                ineligible_by_reason: sums.ineligible_by_reason,
                lines: sums.lines,
                products: sums.products,
            })
            .collect();
        // Fully ordered (a resource-day may have several MpnId pairs), so staging is repeatable.
        rows.sort_by(|a, b| {
            (&a.key, &a.mpn_id, &a.tier2_mpn_id).cmp(&(&b.key, &b.mpn_id, &b.tier2_mpn_id))
        });
        rows
    }
}

fn flush<S: UsageStore + ?Sized>(
    store: &S,
    upload_id: &str,
    groups: &mut UsageGroups,
) -> Result<(), StoreError> {
    store.stage_usage(upload_id, &groups.drain_sorted())
}

/// Ingests one usage file for `partner_id`. The file is streamed: memory is bounded by
/// [`FLUSH_GROUPS`] and the number of (subscription, date) keys in it.
///
/// A daily rated usage file; a Cost Management or FOCUS export needs the partner's MPN ID:
/// [`ingest_usage_file_with`].
pub fn ingest_usage_file<S: UsageStore + ?Sized, R: Read>(
    store: &S,
    config: &Config,
    partner_id: &str,
    file_name: &str,
    input: R,
    now: DateTime<Utc>,
) -> Result<UploadReceipt, StoreError> {
    let options = ReadOptions::for_partner(partner_id);
    ingest_usage_file_with(store, config, &options, file_name, input, now)
}

/// [`ingest_usage_file`] for any usage format the reader detects
/// ([`crate::usage::read_usage_file_with`]): `options` names the partner and, for exports
/// without `MpnId`, the partner's MPN ID.
pub fn ingest_usage_file_with<S: UsageStore + ?Sized, R: Read>(
    store: &S,
    config: &Config,
    options: &ReadOptions,
    file_name: &str,
    input: R,
    now: DateTime<Utc>,
) -> Result<UploadReceipt, StoreError> {
    let partner_id = options.partner_id.trim().to_ascii_lowercase();
    let options = ReadOptions {
        partner_id: partner_id.clone(),
        mpn_id: options.mpn_id.clone(),
    };
    let upload_id = uuid::Uuid::new_v4().to_string();
    let mut groups = UsageGroups::default();
    let mut names = crate::names::Names::default();
    // (date, subscription) → customer: the usage keys the upload will replace.
    let mut keys: BTreeMap<NaiveDate, BTreeMap<String, String>> = BTreeMap::new();
    let read = read_usage_rows(input, &options, |line| {
        let subscriptions = keys.entry(line.usage_date).or_default();
        if !subscriptions.contains_key(line.subscription_id) {
            subscriptions.insert(
                line.subscription_id.to_string(),
                line.customer_id.to_string(),
            );
        }
        names.note(line);
        groups.add_view(line, config);
        if groups.len() >= FLUSH_GROUPS {
            flush(store, &upload_id, &mut groups)?;
        }
        Ok(())
    });
    let report = match read {
        Ok(r) => r,
        Err(e) => {
            let _ = store.discard_upload(&upload_id);
            return Err(e);
        }
    };
    // Built once, where the upload's outcome is final; the log event goes with it.
    let receipt = |id: String, status: UploadStatus| {
        tracing::info!(
            upload_id = %id,
            partner_id = %partner_id,
            file_name,
            sha256 = %report.sha256,
            rows = report.rows,
            error_count = report.error_count,
            status = status.as_str(),
            "usage upload {}",
            status.as_str()
        );
        let warnings = if status == UploadStatus::Rejected {
            Vec::new()
        } else if report.rows == 0 {
            vec![Warning::of(NO_ROWS_WARNING)]
        } else {
            report
                .warnings
                .iter()
                .map(|w| Warning {
                    line: Some(w.line),
                    column: Some(w.column.clone()),
                    message: w.message.clone(),
                })
                .collect()
        };
        UploadReceipt {
            upload_id: id,
            status,
            rows: report.rows,
            error_count: report.error_count,
            errors: report.errors.clone(),
            warnings,
        }
    };
    if report.error_count > 0 {
        store.discard_upload(&upload_id)?;
        return Ok(receipt(upload_id, UploadStatus::Rejected));
    }
    if let Some(existing) = store.accepted_upload_by_sha(&partner_id, &report.sha256)? {
        store.discard_upload(&upload_id)?;
        return Ok(receipt(existing, UploadStatus::Duplicate));
    }
    let staged = flush(store, &upload_id, &mut groups).and_then(|_| {
        // In (subscription, date) order, as before.
        let mut keys: Vec<UsageKey> = keys
            .into_iter()
            .flat_map(|(usage_date, subscriptions)| {
                subscriptions
                    .into_iter()
                    .map(move |(subscription_id, customer_id)| UsageKey {
                        subscription_id,
                        usage_date,
                        customer_id,
                    })
            })
            .collect();
        keys.sort_by(|a, b| {
            (&a.subscription_id, a.usage_date).cmp(&(&b.subscription_id, b.usage_date))
        });
        let record = UploadRecord {
            upload_id: upload_id.clone(),
            partner_id: partner_id.clone(),
            sha256: report.sha256.clone(),
            file_name: file_name.to_string(),
            received_at: now,
            rows: report.rows,
            names: std::mem::take(&mut names),
        };
        store.commit_upload(&record, &keys)
    });
    match staged {
        Ok(CommitOutcome::Accepted) => Ok(receipt(upload_id, UploadStatus::Accepted)),
        Ok(CommitOutcome::Duplicate(existing)) => {
            store.discard_upload(&upload_id)?;
            Ok(receipt(existing, UploadStatus::Duplicate))
        }
        Err(e) => {
            let _ = store.discard_upload(&upload_id);
            Err(e)
        }
    }
}

/// Validates and stores one access snapshot posted for `partner_id`.
pub fn post_snapshot<S: SnapshotStore + ?Sized>(
    store: &S,
    partner_id: &str,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<SnapshotReceipt, StoreError> {
    let mut customer_id = String::new();
    let receipt = store_snapshot(
        partner_id,
        body,
        now,
        &mut customer_id,
        &mut |snapshot, digest| store.put_snapshot(snapshot, digest, body),
    )?;
    log_snapshot(partner_id, &customer_id, &receipt);
    Ok(receipt)
}

/// A snapshot's receipt and the alert events its arrival raised (already stored, to be sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedReceipt {
    pub receipt: SnapshotReceipt,
    pub events: Vec<AlertEvent>,
}

/// How many times a snapshot's alert watch is worked out again when another snapshot of the
/// same customer was stored meanwhile.
const WATCH_ATTEMPTS: usize = 8;

/// [`post_snapshot`] that also watches the customer's access ([`crate::alerts`]): when the
/// snapshot is the customer's newest, it is compared with the one before, and the alert events
/// this raises are stored with the snapshot, in one transaction, to be sent after. A duplicate
/// or an older snapshot raises nothing.
pub fn post_snapshot_watched<S: SnapshotStore + AlertStore + UsageStore + ?Sized>(
    store: &S,
    config: &Config,
    partner_id: &str,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<WatchedReceipt, StoreError> {
    let roles = config.role_table();
    let mut customer_id = String::new();
    let mut raised = Vec::new();
    let receipt = store_snapshot(
        partner_id,
        body,
        now,
        &mut customer_id,
        &mut |snapshot, digest| {
            for _ in 0..WATCH_ATTEMPTS {
                let watch = store.watch(&snapshot.partner_id, &snapshot.customer_id)?;
                let (next, events) = watched(store, config, &roles, snapshot, &watch, now)?;
                match store.put_snapshot_watched(snapshot, digest, body, &watch, &next, &events)? {
                    Some(outcome) => {
                        if outcome == PutSnapshotOutcome::Stored {
                            raised = events;
                        }
                        return Ok(outcome);
                    }
                    None => continue,
                }
            }
            Err(StoreError::Backend(format!(
                "customer {}'s snapshots kept arriving while this one was stored; post it again",
                snapshot.customer_id
            )))
        },
    )?;
    log_snapshot(partner_id, &customer_id, &receipt);
    for e in &raised {
        tracing::warn!(
            event_id = %e.event_id,
            alert_id = %e.alert.alert_id,
            partner_id = %e.partner_id,
            customer_id = %e.alert.customer_id,
            resources = e.alert.resources.len(),
            "{}",
            e.event_type.as_str()
        );
    }
    Ok(WatchedReceipt {
        receipt,
        events: raised,
    })
}

/// The customer's watch after `snapshot`, and the events it raises.
fn watched<S: SnapshotStore + AlertStore + UsageStore + ?Sized>(
    store: &S,
    config: &Config,
    roles: &crate::roles::RoleTable,
    snapshot: &Snapshot,
    watch: &Watch,
    now: DateTime<Utc>,
) -> Result<(Watch, Vec<AlertEvent>), StoreError> {
    let (p, c) = (&snapshot.partner_id, &snapshot.customer_id);
    let here = SnapshotPosition::of(snapshot);
    // The snapshot before this one: the watch's newest, or, for a customer not watched yet
    // (snapshots stored by an earlier release), the newest stored.
    let mut watch = watch.clone();
    let previous = match &watch.newest {
        Some(n) if *n >= here => return Ok((watch, Vec::new())),
        Some(n) => store.snapshot_at(p, c, n)?,
        None => {
            let mut newest: Option<Snapshot> = None;
            store.for_each_snapshot(p, c, &mut |s| {
                if SnapshotPosition::of(&s) != here {
                    newest = Some(s);
                }
                Ok(())
            })?;
            if let Some(n) = &newest {
                if SnapshotPosition::of(n) > here {
                    watch.newest = Some(SnapshotPosition::of(n));
                    return Ok((watch, Vec::new()));
                }
            }
            newest
        }
    };
    // The same assignments as the snapshot before: every resource is covered by both or by
    // neither, so nothing can be lost or restored (the usual hourly snapshot). No usage is read.
    if previous
        .as_ref()
        .is_some_and(|prev| prev.assignments == snapshot.assignments)
    {
        watch.newest = Some(here);
        return Ok((watch, Vec::new()));
    }
    let (from, through) = alerts::window(snapshot.taken_at);
    let usage = usage_between(store, p, c, from, through)?;
    let mut observed = alerts::observe(
        &Seen {
            snapshot,
            previous: previous.as_ref(),
            usage: &usage,
            watch: &watch,
            now,
        },
        config,
        roles,
    );
    for e in &mut observed.events {
        if e.event_type != EventType::AccessRestored {
            continue;
        }
        let Some(first) = e.alert.resources.iter().map(|r| r.last_covered_at).min() else {
            continue;
        };
        let mut history = Vec::new();
        store.for_each_snapshot(p, c, &mut |s| {
            if SnapshotPosition::of(&s) < here {
                history.push(s);
            }
            Ok(())
        })?;
        let usage = usage_between(store, p, c, first.date_naive(), through)?;
        e.alert.resource_days_lost =
            alerts::resource_days_lost(&e.alert, &history, snapshot, &usage, config, roles);
    }
    Ok((observed.watch, observed.events))
}

/// A customer's current usage on the dates from `from` through `through`.
fn usage_between<S: UsageStore + ?Sized>(
    store: &S,
    partner_id: &str,
    customer_id: &str,
    from: NaiveDate,
    through: NaiveDate,
) -> Result<Vec<UsageAggregate>, StoreError> {
    let mut out = Vec::new();
    let mut d = from;
    while d <= through {
        out.extend(store.current_usage(partner_id, customer_id, d)?);
        match d.succ_opt() {
            Some(next) => d = next,
            None => break,
        }
    }
    Ok(out)
}

fn log_snapshot(partner_id: &str, customer_id: &str, receipt: &SnapshotReceipt) {
    tracing::info!(
        snapshot_id = receipt.snapshot_id.as_deref().unwrap_or(""),
        partner_id = %partner_id.trim().to_ascii_lowercase(),
        customer_id = %customer_id,
        status = receipt.status.as_str(),
        error_count = receipt.errors.len(),
        "access snapshot {}",
        receipt.status.as_str()
    );
}

/// A snapshot validated and handed to `put`, without the log event; `customer_id` is set once
/// the body parses.
fn store_snapshot(
    partner_id: &str,
    body: &[u8],
    now: DateTime<Utc>,
    customer_id: &mut String,
    put: &mut dyn FnMut(&Snapshot, &str) -> Result<PutSnapshotOutcome, StoreError>,
) -> Result<SnapshotReceipt, StoreError> {
    if body.len() > MAX_SNAPSHOT_BYTES {
        return Ok(SnapshotReceipt {
            snapshot_id: None,
            status: SnapshotStatus::Rejected,
            errors: vec![PathError {
                path: "$".into(),
                message: format!(
                    "the snapshot is larger than {MAX_SNAPSHOT_BYTES} bytes (5 MiB), the most a \
                     snapshot may have wherever it is posted"
                ),
            }],
            warnings: Vec::new(),
        });
    }
    let snapshot = match parse_snapshot(body, now) {
        Ok(s) => s,
        Err(errors) => {
            let snapshot_id = serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| {
                    v.get("snapshotId")
                        .and_then(|s| s.as_str())
                        .map(|s| s.trim().to_ascii_lowercase())
                });
            return Ok(SnapshotReceipt {
                snapshot_id,
                status: SnapshotStatus::Rejected,
                errors,
                warnings: Vec::new(),
            });
        }
    };
    let snapshot_id = Some(snapshot.snapshot_id.clone());
    customer_id.clone_from(&snapshot.customer_id);
    if snapshot.partner_id != partner_id.trim().to_ascii_lowercase() {
        return Ok(SnapshotReceipt {
            snapshot_id,
            status: SnapshotStatus::Rejected,
            errors: vec![PathError {
                path: "$.partnerId".into(),
                message: format!(
                    "partnerId {} is not the posting partner {}",
                    snapshot.partner_id,
                    partner_id.trim()
                ),
            }],
            warnings: Vec::new(),
        });
    }
    let digest = snapshot.content_digest();
    let status = match put(&snapshot, &digest)? {
        PutSnapshotOutcome::Stored => SnapshotStatus::Accepted,
        PutSnapshotOutcome::Duplicate => SnapshotStatus::Duplicate,
        PutSnapshotOutcome::Conflict => {
            return Ok(SnapshotReceipt {
                snapshot_id,
                status: SnapshotStatus::Conflict,
                errors: vec![PathError {
                    path: "$.snapshotId".into(),
                    message: "snapshotId was already used for a snapshot with other content".into(),
                }],
                warnings: Vec::new(),
            })
        }
    };
    Ok(SnapshotReceipt {
        snapshot_id,
        status,
        errors: vec![],
        warnings: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::hash::BuildHasher;

    fn line(resource: &str, mpn: &str, quantity: &str, charge: &str) -> UsageLine {
        let d = |t: &str| t.parse::<Decimal>().expect("decimal");
        UsageLine {
            line: 2,
            partner_id: "p1".into(),
            customer_id: "c1".into(),
            subscription_id: "s1".into(),
            customer_name: "Contoso".into(),
            partner_name: String::new(),
            customer_domain: String::new(),
            subscription_name: String::new(),
            reseller_name: String::new(),
            mpn_id: mpn.into(),
            tier2_mpn_id: String::new(),
            usage_date: NaiveDate::from_ymd_opt(2026, 9, 3).expect("date"),
            resource_key: resource.into(),
            resource_group: "rg".into(),
            meter_id: "m1".into(),
            meter_name: "D2s v3".into(),
            meter_category: "Virtual Machines".into(),
            meter_sub_category: "Dsv3 Series".into(),
            product_name: "Virtual Machines Dsv3 Series".into(),
            publisher_name: "Microsoft".into(),
            charge_type: charge.into(),
            unit_price: d("0.25"),
            quantity: d(quantity),
            pricing_currency: "USD".into(),
            pec_percentage: d("15"),
            benefit_type: String::new(),
            tags: String::new(),
        }
    }

    #[test]
    fn lines_add_up_per_resource_day_and_mpn_pair() {
        let config = Config::default();
        let mut groups = UsageGroups::default();
        groups.add(line("/r/a", "111", "4", "New"), &config); // 1.00, credit 0.15
        groups.add(line("/r/a", "111", "2", "Usage"), &config); // 0.50, credit 0.075
        groups.add_view(&line("/r/a", "111", "8", "Purchase").view(), &config); // 2.00 not consumption
        groups.add(line("/r/a", "222", "1", "New"), &config); // another MpnId: its own group
        groups.add(line("/r/b", "111", "1", "New"), &config);
        assert_eq!(groups.len(), 3);
        let rows = groups.drain_sorted();
        assert!(groups.is_empty());
        let a = &rows[0];
        assert_eq!(
            (a.key.resource_id.as_str(), a.mpn_id.as_str()),
            ("/r/a", "111")
        );
        assert_eq!(a.lines, 3);
        assert_eq!(a.list_amount.to_string(), "3.50");
        assert_eq!(a.eligible_amount.to_string(), "1.50");
        assert_eq!(a.microsoft_credit.to_string(), "0.5250");
        assert_eq!(
            a.ineligible_by_reason
                .get(&IneligibleReason::NotConsumption)
                .map(Decimal::to_string),
            Some("2.00".to_string())
        );
        assert_eq!((rows[1].mpn_id.as_str(), rows[1].lines), ("222", 1));
        assert_eq!(rows[2].key.resource_id, "/r/b");
    }

    proptest! {
        /// The borrowed key finds the owned one: equal keys hash alike and compare equal, and
        /// keys differing in any part do not compare equal.
        #[test]
        fn borrowed_and_owned_group_keys_agree(
            parts in prop::collection::vec("[a-c/]{0,3}", 7),
            other in prop::collection::vec("[a-c/]{0,3}", 7),
            day in 0u32..3,
            other_day in 0u32..3,
        ) {
            let date = |d: u32| NaiveDate::from_ymd_opt(2026, 9, 1 + d).expect("date");
            let key = |p: &[String], d: u32| GroupKey {
                key: ResourceDayKey {
                    partner_id: p[0].clone(),
                    customer_id: p[1].clone(),
                    subscription_id: p[2].clone(),
                    resource_id: p[3].clone(),
                    usage_date: date(d),
                    currency: p[4].clone(),
                },
                mpn_id: p[5].clone(),
                tier2_mpn_id: p[6].clone(),
            };
            let owned = key(&parts, day);
            let hasher = hashbrown::DefaultHashBuilder::default();
            prop_assert!(owned.borrowed().equivalent(&owned));
            prop_assert_eq!(&owned.borrowed().to_owned_key(), &owned);
            prop_assert_eq!(hasher.hash_one(owned.borrowed()), hasher.hash_one(&owned));
            let second = key(&other, other_day);
            prop_assert_eq!(
                second.borrowed().equivalent(&owned),
                parts == other && day == other_day
            );
        }
    }
}
