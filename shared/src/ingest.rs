//! Taking inputs in: usage files (SPEC 3.1) into staged, then current, usage; snapshots (SPEC
//! 3.2) into the snapshot store. All or nothing: a rejected input leaves no trace.

use crate::config::Config;
use crate::ledger::ResourceDayKey;
use crate::products::product_ineligibility;
use crate::snapshot::{parse_snapshot, PathError};
use crate::store::{
    CommitOutcome, PutSnapshotOutcome, Store, StoreError, UploadRecord, UsageAggregate, UsageKey,
};
use crate::usage::{read_usage_file_with, ReadOptions, RowError, UsageLine};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
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
}

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
}

type GroupKey = (ResourceDayKey, String, String);

/// Credit Microsoft applied on a line (SPEC R8).
pub fn microsoft_credit(line: &UsageLine) -> Decimal {
    line.quantity * line.unit_price * line.pec_percentage / Decimal::ONE_HUNDRED
}

/// Usage lines added up into one [`UsageAggregate`] per resource-day and (MpnId, Tier2MpnId):
/// the aggregation ingestion stages (and `pec-bench ingest` measures).
#[derive(Debug, Default)]
pub struct UsageGroups {
    groups: HashMap<GroupKey, UsageAggregate>,
}

impl UsageGroups {
    /// Adds one valid line to its group.
    pub fn add(&mut self, line: UsageLine, config: &Config) {
        let amount = line.quantity * line.unit_price;
        let ms = microsoft_credit(&line);
        let reason = product_ineligibility(&line, config);
        let key = ResourceDayKey {
            partner_id: line.partner_id,
            customer_id: line.customer_id,
            subscription_id: line.subscription_id,
            resource_id: line.resource_key,
            usage_date: line.usage_date,
            currency: line.pricing_currency,
        };
        let gk = (key, line.mpn_id, line.tier2_mpn_id);
        let agg = self
            .groups
            .entry(gk)
            .or_insert_with_key(|(key, mpn, tier2)| UsageAggregate {
                key: key.clone(),
                mpn_id: mpn.clone(),
                tier2_mpn_id: tier2.clone(),
                list_amount: Decimal::ZERO,
                eligible_amount: Decimal::ZERO,
                microsoft_credit: Decimal::ZERO,
                ineligible_by_reason: BTreeMap::new(),
                lines: 0,
            });
        agg.list_amount += amount;
        agg.microsoft_credit += ms;
        agg.lines += 1;
        match reason {
            None => agg.eligible_amount += amount,
            Some(r) => *agg.ineligible_by_reason.entry(r).or_default() += amount,
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

    /// Takes every group out, sorted by resource-day key.
    pub fn drain_sorted(&mut self) -> Vec<UsageAggregate> {
        let mut rows: Vec<UsageAggregate> = self.groups.drain().map(|(_, v)| v).collect();
        rows.sort_by(|a, b| a.key.cmp(&b.key));
        rows
    }
}

fn flush(store: &dyn Store, upload_id: &str, groups: &mut UsageGroups) -> Result<(), StoreError> {
    store.stage_usage(upload_id, &groups.drain_sorted())
}

/// Ingests one usage file for `partner_id`. The file is streamed: memory is bounded by
/// [`FLUSH_GROUPS`] and the number of (subscription, date) keys in it.
///
/// A daily rated usage file; a Cost Management or FOCUS export needs the partner's MPN ID:
/// [`ingest_usage_file_with`].
pub fn ingest_usage_file<R: Read>(
    store: &dyn Store,
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
pub fn ingest_usage_file_with<R: Read>(
    store: &dyn Store,
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
    let mut keys: BTreeMap<(String, chrono::NaiveDate), String> = BTreeMap::new();
    let mut store_error: Option<StoreError> = None;
    let read = read_usage_file_with(input, &options, |line| {
        keys.entry((line.subscription_id.clone(), line.usage_date))
            .or_insert_with(|| line.customer_id.clone());
        groups.add(line, config);
        if groups.len() >= FLUSH_GROUPS {
            if let Err(e) = flush(store, &upload_id, &mut groups) {
                let msg = e.to_string();
                store_error = Some(e);
                return Err(msg);
            }
        }
        Ok(())
    });
    let report = match read {
        Ok(r) => r,
        Err(msg) => {
            let _ = store.discard_upload(&upload_id);
            return Err(store_error.unwrap_or(StoreError::Backend(msg)));
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
        UploadReceipt {
            upload_id: id,
            status,
            rows: report.rows,
            error_count: report.error_count,
            errors: report.errors.clone(),
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
        let keys: Vec<UsageKey> = keys
            .into_iter()
            .map(|((subscription_id, usage_date), customer_id)| UsageKey {
                subscription_id,
                usage_date,
                customer_id,
            })
            .collect();
        let record = UploadRecord {
            upload_id: upload_id.clone(),
            partner_id: partner_id.clone(),
            sha256: report.sha256.clone(),
            file_name: file_name.to_string(),
            received_at: now,
            rows: report.rows,
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
pub fn post_snapshot(
    store: &dyn Store,
    partner_id: &str,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<SnapshotReceipt, StoreError> {
    let mut customer_id = String::new();
    let receipt = store_snapshot(store, partner_id, body, now, &mut customer_id)?;
    tracing::info!(
        snapshot_id = receipt.snapshot_id.as_deref().unwrap_or(""),
        partner_id = %partner_id.trim().to_ascii_lowercase(),
        customer_id = %customer_id,
        status = receipt.status.as_str(),
        error_count = receipt.errors.len(),
        "access snapshot {}",
        receipt.status.as_str()
    );
    Ok(receipt)
}

/// [`post_snapshot`] without the log event; `customer_id` is set once the body parses.
fn store_snapshot(
    store: &dyn Store,
    partner_id: &str,
    body: &[u8],
    now: DateTime<Utc>,
    customer_id: &mut String,
) -> Result<SnapshotReceipt, StoreError> {
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
        });
    }
    let digest = snapshot.content_digest();
    let status = match store.put_snapshot(&snapshot, &digest, body)? {
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
            })
        }
    };
    Ok(SnapshotReceipt {
        snapshot_id,
        status,
        errors: vec![],
    })
}
