//! `pec --store aws upgrade`: tables of format 1 (releases before 2026-12) to format 2, in place.
//!
//! Format 1 kept each entry as its JSON under `RD#{resource-day}`, a head per resource-day, a
//! customer-date index, staged usage rows with pointers per customer-date. The upgrade writes the
//! format 2 items beside them — entries copied exactly (the same JSON, the same hash), the
//! newest accepted usage source of every (customer, date, subscription) as blocks, snapshot
//! counts, the registry — verifies the format 2 ledger, and only then marks the tables format 2.
//! Until the mark, the functions refuse the tables, so nothing writes during the upgrade. It can
//! be run again after any failure: what is already copied is skipped. `--remove-format-1` then
//! deletes the format 1 items (the ledger's `RD#…` copies only after the format 2 ledger verified
//! with as many entries).

use super::codec::entry_item;
use super::item::{corrupt, get_s, item, s, to_json, Item};
use super::requests::{batch_get_with, delete_request, put_request, query_all_with, Query};
use super::store::DynamoStore;
use crate::keys;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::NaiveDate;
use pec_ledger::ledger::Entry;
use pec_ledger::store::block::{blocks_of, StoredUsage};
use pec_ledger::store::{
    Append, AppendOutcome, LedgerStore, StoreError, StoreResult, UsageAggregate,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// Entries appended at once while copying.
const COPY_BATCH: usize = 2_000;

/// What an upgrade did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeReport {
    /// The tables' format before (`null`: empty tables, now marked).
    pub from_format: Option<u64>,
    pub to_format: u64,
    /// Format 1 entries found, copied now, and found already copied by an earlier run.
    pub entries: u64,
    pub entries_copied: u64,
    pub entries_already_copied: u64,
    /// Usage sources (the newest accepted upload of each customer, date and subscription) and
    /// the block parts written for them.
    pub usage_sources: u64,
    pub usage_parts: u64,
    /// Customers whose snapshot count was set.
    pub snapshot_counts: u64,
    /// The format 2 ledger's verification after the copy.
    pub verified_entries: u64,
    pub verified: bool,
    /// Format 1 items deleted (`--remove-format-1`).
    pub format1_items_removed: u64,
}

/// The format 1 prefixes, by table.
const FORMAT1_STATE: [&str; 4] = ["HEAD#", "CD#", "CUR#", "USG#"];
const FORMAT1_LEDGER: &str = "RD#";

impl DynamoStore {
    /// Upgrades the tables to format 2 (see the module). Format 2 tables are left as they are
    /// (with `remove_format1`, leftover format 1 items are deleted).
    pub fn upgrade(&self, remove_format1: bool) -> StoreResult<UpgradeReport> {
        let from = self.block_on(self.table_format())?;
        let to = u64::from(keys::TABLE_FORMAT);
        let mut report = UpgradeReport {
            from_format: from,
            to_format: to,
            ..Default::default()
        };
        match from {
            None => {
                self.block_on(self.mark_format(to))?;
                return Ok(report);
            }
            Some(f) if f == to => {}
            Some(1) => {
                self.block_on(self.require_prior_period_index())?;
                self.copy_entries(&mut report)?;
                self.copy_usage(&mut report)?;
                self.count_snapshots(&mut report)?;
                let verified = pec_ledger::verify::verify(self)?;
                report.verified_entries = verified.entries;
                report.verified = verified.ok && verified.entries == report.entries;
                if !report.verified {
                    return Err(StoreError::Corrupt(format!(
                        "the format 2 ledger does not verify after the copy ({} of {} entries, \
                         {} breaks, first: {:?}); the tables stay format 1 — run the upgrade \
                         again, and report this if it repeats",
                        verified.entries,
                        report.entries,
                        verified.break_count,
                        verified.breaks.first()
                    )));
                }
                self.block_on(self.mark_format(to))?;
            }
            Some(f) => {
                return Err(StoreError::Backend(format!(
                    "the tables are in table format {f}, which this release does not know"
                )))
            }
        }
        if remove_format1 {
            if report.from_format == Some(1) || self.format1_ledger_is_copied()? {
                report.format1_items_removed = self.remove_format1()?;
            } else {
                return Err(StoreError::Backend(
                    "--remove-format-1: the format 2 ledger does not hold every format 1 entry; \
                     nothing removed"
                        .into(),
                ));
            }
        }
        Ok(report)
    }

    /// Format 2 reads prior-period entries from the `PriorPeriod` index: the first deployment
    /// of the upgrade adds it (`TableUpgradeStep=1`), and it must be there before anything is
    /// copied.
    async fn require_prior_period_index(&self) -> StoreResult<()> {
        let out = self
            .client
            .describe_table()
            .table_name(&self.ledger_table)
            .send()
            .await
            .map_err(super::item::sdk("DescribeTable"))?;
        let has = out.table().is_some_and(|t| {
            t.global_secondary_indexes()
                .iter()
                .any(|i| i.index_name() == Some("PriorPeriod"))
        });
        if has {
            return Ok(());
        }
        Err(StoreError::Backend(format!(
            "the ledger table {} has no PriorPeriod index yet: deploy the stack with \
             TableUpgradeStep=1 first (aws/README.md, \"Upgrading tables\"); nothing was changed",
            self.ledger_table
        )))
    }

    /// Copies every format 1 entry that format 2 does not hold yet. A scan returns a
    /// resource-day's items together and in seq order; batches hold whole resource-days.
    fn copy_entries(&self, report: &mut UpgradeReport) -> StoreResult<()> {
        let mut pending: Vec<Entry> = Vec::new();
        let flush = |pending: &mut Vec<Entry>, report: &mut UpgradeReport| -> StoreResult<()> {
            if pending.is_empty() {
                return Ok(());
            }
            let wanted: Vec<(String, String)> = pending
                .iter()
                .map(|e| {
                    let k = &e.key;
                    (
                        keys::day_pk(&k.partner_id, &k.customer_id, k.usage_date),
                        keys::entry_sk(&k.resource_id, &k.currency, e.seq),
                    )
                })
                .collect();
            let there: BTreeSet<(String, String)> = self
                .block_on(batch_get_with(
                    &self.client,
                    &self.ledger_table,
                    wanted,
                    true,
                ))?
                .iter()
                .map(|i| Ok((get_s(i, "pk")?.to_string(), get_s(i, "sk")?.to_string())))
                .collect::<StoreResult<_>>()?;
            let mut batch = Vec::new();
            for e in pending.drain(..) {
                let k = &e.key;
                let id = (
                    keys::day_pk(&k.partner_id, &k.customer_id, k.usage_date),
                    keys::entry_sk(&k.resource_id, &k.currency, e.seq),
                );
                if there.contains(&id) {
                    report.entries_already_copied += 1;
                } else {
                    batch.push(Append::after(None, e));
                }
            }
            let n = batch.len() as u64;
            match self.append(&batch)? {
                AppendOutcome::Appended => {
                    report.entries_copied += n;
                    Ok(())
                }
                AppendOutcome::Conflict => Err(StoreError::Backend(
                    "another writer appended to the ledger during the upgrade; stop the \
                     functions and run the upgrade again"
                        .into(),
                )),
            }
        };
        let mut current = String::new();
        self.scan_each(
            &self.ledger_table,
            Some(("begins_with(pk, :prefix)", FORMAT1_LEDGER)),
            &mut |i| {
                let pk = get_s(i, "pk")?;
                if pk != current && pending.len() >= COPY_BATCH {
                    flush(&mut pending, report)?;
                }
                current = pk.to_string();
                let mut e: Entry = serde_json::from_str(get_s(i, "entry")?)
                    .map_err(|err| corrupt(format!("format 1 entry {pk} does not read: {err}")))?;
                e.hash = get_s(i, "hash")?.to_string();
                // Refuse what format 2 could not keep before anything is written for it.
                entry_item(&e)?;
                report.entries += 1;
                pending.push(e);
                Ok(())
            },
        )?;
        flush(&mut pending, report)?;
        Ok(())
    }

    /// The newest accepted source of every (customer, date, subscription) of format 1, as
    /// format 2 blocks, sources and registry items.
    fn copy_usage(&self, report: &mut UpgradeReport) -> StoreResult<()> {
        // (partner, customer, date, subscription) → (receivedAt text, upload).
        type Key = (String, String, String, String);
        let mut newest: BTreeMap<Key, Vec<(String, String)>> = BTreeMap::new();
        self.scan_each(
            &self.state_table,
            Some(("begins_with(pk, :prefix)", "CUR#")),
            &mut |i| {
                let pk = get_s(i, "pk")?;
                let sk = get_s(i, "sk")?;
                let parts: Vec<&str> = pk.splitn(4, '#').collect();
                let rest: Vec<&str> = sk.splitn(3, '#').collect();
                if let ([_, p, c, date], [sub, at, upload]) = (parts.as_slice(), rest.as_slice()) {
                    newest
                        .entry((
                            p.to_string(),
                            c.to_string(),
                            date.to_string(),
                            sub.to_string(),
                        ))
                        .or_default()
                        .push((at.to_string(), upload.to_string()));
                }
                Ok(())
            },
        )?;
        for ((p, c, date, sub), mut pointers) in newest {
            pointers.sort();
            let mut source = None;
            for (at, upload) in pointers.into_iter().rev() {
                if self.block_on(self.is_committed(&upload))? {
                    source = Some((at, upload));
                    break;
                }
            }
            let Some((at, upload)) = source else { continue };
            let usage_date = NaiveDate::parse_from_str(&date, "%Y-%m-%d").map_err(corrupt)?;
            let q = Query {
                table: self.state_table.clone(),
                index: None,
                key_condition: "pk = :pk",
                values: vec![(":pk", s(format!("USG#{p}#{sub}#{date}#{upload}")))],
                consistent: true,
            };
            let mut rows: Vec<UsageAggregate> = Vec::new();
            for i in self.block_on(query_all_with(&self.client, &q))? {
                rows.push(serde_json::from_str(get_s(&i, "row")?).map_err(corrupt)?);
            }
            let block_pk = keys::block_pk(&p, &sub, usage_date, &c);
            let mut writes = Vec::new();
            let mut parts = Vec::new();
            for (_, group) in blocks_of(&rows) {
                let body = to_json::<Vec<StoredUsage>>(&group)?;
                let digest = hex::encode(&Sha256::digest(body.as_bytes())[..16]);
                let sk = keys::block_sk(&upload, &digest);
                writes.push(put_request(item(vec![
                    ("pk", s(block_pk.as_str())),
                    ("sk", s(sk.as_str())),
                    ("b", s(body)),
                ]))?);
                parts.push(s(sk));
                report.usage_parts += 1;
            }
            writes.push(put_request(item(vec![
                ("pk", s(keys::sources_pk(&p, &c))),
                ("sk", s(format!("{date}#{sub}#{at}#{upload}"))),
                ("parts", AttributeValue::L(parts)),
            ]))?);
            writes.push(put_request(item(vec![
                ("pk", s(keys::PARTNERS_PK)),
                ("sk", s(p.as_str())),
            ]))?);
            writes.push(put_request(item(vec![
                ("pk", s(keys::customers_pk(&p))),
                ("sk", s(format!("{}#{c}", keys::month_of(usage_date)))),
            ]))?);
            writes.push(put_request(item(vec![
                ("pk", s(keys::subscription_pk(&p, &sub))),
                ("sk", s(c.as_str())),
            ]))?);
            self.block_on(self.batch_write(&self.state_table, writes))?;
            report.usage_sources += 1;
        }
        Ok(())
    }

    /// Each customer's snapshot count, from the snapshot claims.
    fn count_snapshots(&self, report: &mut UpgradeReport) -> StoreResult<()> {
        let mut counts: BTreeMap<(String, String), u64> = BTreeMap::new();
        self.scan_each(
            &self.state_table,
            Some(("begins_with(pk, :prefix)", "SNAPID#")),
            &mut |i| {
                let pk = get_s(i, "pk")?;
                let partner = pk.split('#').nth(1).unwrap_or_default().to_string();
                *counts
                    .entry((partner, get_s(i, "customerId")?.to_string()))
                    .or_default() += 1;
                Ok(())
            },
        )?;
        let mut writes = Vec::new();
        for ((p, c), n) in counts {
            writes.push(put_request(item(vec![
                ("pk", s(keys::snapshot_count_pk(&p, &c))),
                ("sk", s(keys::ONE)),
                ("n", super::item::n64(n)),
            ]))?);
            report.snapshot_counts += 1;
        }
        self.block_on(self.batch_write(&self.state_table, writes))
    }

    /// Whether every format 1 entry is in format 2 (for a removal after the upgrade).
    fn format1_ledger_is_copied(&self) -> StoreResult<bool> {
        let mut format1 = 0u64;
        self.scan_each(
            &self.ledger_table,
            Some(("begins_with(pk, :prefix)", FORMAT1_LEDGER)),
            &mut |_| {
                format1 += 1;
                Ok(())
            },
        )?;
        let verified = pec_ledger::verify::verify(self)?;
        Ok(verified.ok && verified.entries >= format1)
    }

    /// Deletes the format 1 items of both tables.
    fn remove_format1(&self) -> StoreResult<u64> {
        let mut removed = 0u64;
        for (table, prefixes) in [
            (&self.state_table, FORMAT1_STATE.to_vec()),
            (&self.ledger_table, vec![FORMAT1_LEDGER]),
        ] {
            for prefix in prefixes {
                let mut deletes = Vec::new();
                self.scan_each(
                    table,
                    Some(("begins_with(pk, :prefix)", prefix)),
                    &mut |i: &Item| {
                        deletes.push(delete_request(get_s(i, "pk")?, get_s(i, "sk")?)?);
                        Ok(())
                    },
                )?;
                removed += deletes.len() as u64;
                self.block_on(self.batch_write(table, deletes))?;
            }
        }
        Ok(removed)
    }
}
