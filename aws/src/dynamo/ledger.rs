//! [`LedgerStore`] for [`DynamoStore`]: conditional appends of entries with their heads, head
//! reads, and entry reads by usage month, by posting month or by scan.

use super::item::{backend, from_json, get_s, item, n, s, to_json, Item};
use super::presence::date_index_items;
use super::requests::{query_all_with, request_token, Query};
use super::store::DynamoStore;
use crate::keys;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use chrono::{DateTime, NaiveDate, Utc};
use pec_ledger::ledger::{Entry, Head, ResourceDayKey};
use pec_ledger::store::{Append, AppendOutcome, EntryFilter, LedgerStore, StoreError, StoreResult};
use std::collections::{BTreeSet, HashSet};

/// Entries per `TransactWriteItems`: each entry is two items (entry + head), the limit is 100.
pub const ENTRIES_PER_TRANSACTION: usize = 50;

/// An entry as stored: its canonical JSON and, beside it, its hash. An item that no longer reads
/// as an entry (changed behind the ledger's back) is named by where it is filed: the
/// resource-day (as `verify` prints it) and the entry's seq.
fn entry_from_item(item: &Item) -> StoreResult<Entry> {
    let read = || -> StoreResult<Entry> {
        let mut e: Entry = from_json(get_s(item, "entry")?)?;
        e.hash = get_s(item, "hash")?.to_string();
        Ok(e)
    };
    read().map_err(|err| {
        let pk = get_s(item, "pk").unwrap_or("?");
        let day = pk.strip_prefix("RD#").unwrap_or(pk).replace('#', " ");
        match get_s(item, "sk").ok().and_then(|s| s.parse::<u32>().ok()) {
            Some(seq) => StoreError::UnreadableEntry {
                resource_day: day,
                seq,
                message: err.to_string(),
            },
            None => StoreError::Corrupt(format!("ledger entry ? of {day} cannot be read: {err}")),
        }
    })
}

impl DynamoStore {
    /// Writes one chunk of an append: entries and heads in one transaction.
    async fn append_chunk(&self, chunk: &[&Append]) -> StoreResult<bool> {
        let firsts: BTreeSet<(String, String, NaiveDate)> = chunk
            .iter()
            .filter(|a| a.entry.seq == 0)
            .map(|a| {
                let k = &a.entry.key;
                (k.partner_id.clone(), k.customer_id.clone(), k.usage_date)
            })
            .collect();
        if !firsts.is_empty() {
            // The index is written first, so a committed head is always listed by
            // `customers_in_range` (an index item without heads costs a few reads, nothing else).
            self.batch_write(&self.state_table, date_index_items(&firsts)?)
                .await?;
            self.note_present(&firsts);
        }
        let mut items = Vec::with_capacity(chunk.len() * 2);
        let mut token_parts = Vec::with_capacity(chunk.len());
        for a in chunk {
            let e = &a.entry;
            let k = &e.key;
            let month = keys::month_of(k.usage_date);
            let posted_month = keys::month_of(e.posted_at.date_naive());
            let entry_item = item(vec![
                ("pk", s(keys::entry_pk(k))),
                ("sk", s(keys::seq(e.seq))),
                ("entry", s(e.canonical_json())),
                ("hash", s(e.hash.as_str())),
                (
                    "gsi1pk",
                    s(keys::usage_month_pk(
                        &k.partner_id,
                        &month,
                        keys::resource_shard(&k.resource_id),
                    )),
                ),
                ("gsi1sk", s(keys::usage_month_sk(k, e.seq))),
                (
                    "gsi2pk",
                    s(keys::posting_month_pk(
                        &k.partner_id,
                        &posted_month,
                        keys::resource_day_shard(k),
                    )),
                ),
                ("gsi2sk", s(keys::posting_month_sk(e.posted_at, k, e.seq))),
            ]);
            items.push(
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(&self.ledger_table)
                            .set_item(Some(entry_item))
                            .condition_expression("attribute_not_exists(pk)")
                            .build()
                            .map_err(backend)?,
                    )
                    .build(),
            );
            let (hpk, hsk) = keys::head_key(k);
            let head_item = item(vec![
                ("pk", s(hpk)),
                ("sk", s(hsk)),
                ("seq", n(a.head.seq)),
                ("hash", s(a.head.hash.as_str())),
                ("head", s(to_json(&a.head)?)),
            ]);
            let mut put = Put::builder()
                .table_name(&self.state_table)
                .set_item(Some(head_item));
            put = if e.seq == 0 {
                put.condition_expression("attribute_not_exists(pk)")
            } else {
                put.condition_expression("seq = :expected AND #hash = :prev")
                    .expression_attribute_names("#hash", "hash")
                    .expression_attribute_values(":expected", n(e.seq - 1))
                    .expression_attribute_values(":prev", s(e.prev_hash.as_str()))
            };
            items.push(
                TransactWriteItem::builder()
                    .put(put.build().map_err(backend)?)
                    .build(),
            );
            token_parts.push(e.hash.as_str());
        }
        let token = request_token(&token_parts);
        self.transact(items, token).await
    }
}

impl LedgerStore for DynamoStore {
    fn heads(
        &self,
        partner_id: &str,
        customer_id: &str,
        date: NaiveDate,
    ) -> StoreResult<Vec<Head>> {
        self.block_on(async {
            if !self.has_data(partner_id, customer_id, date).await? {
                return Ok(Vec::new());
            }
            let mut set = tokio::task::JoinSet::new();
            for shard in 0..keys::HEAD_SHARDS {
                let q = Query {
                    table: self.state_table.clone(),
                    index: None,
                    key_condition: "pk = :pk",
                    values: vec![(
                        ":pk",
                        s(keys::head_pk(partner_id, customer_id, date, shard)),
                    )],
                    consistent: true,
                };
                let client = self.client.clone();
                set.spawn(async move { query_all_with(&client, &q).await });
            }
            let mut out = Vec::new();
            while let Some(r) = set.join_next().await {
                for i in r.map_err(backend)?? {
                    out.push(from_json::<Head>(get_s(&i, "head")?)?);
                }
            }
            out.sort_by(|a, b| a.key.cmp(&b.key));
            Ok(out)
        })
    }

    /// Appends in transactions of at most [`ENTRIES_PER_TRANSACTION`] entries with their heads
    /// (a transaction holds at most 100 items). Each transaction is all or nothing and
    /// conditional on the heads; a batch larger than one transaction is not atomic as a whole:
    /// when a later transaction meets a conflict, the earlier ones stay written and `Conflict`
    /// is returned. That is still correct for settlement, which re-plans from the heads and
    /// finds those resource-days already at their value (nothing is appended twice).
    fn append(&self, batch: &[Append]) -> StoreResult<AppendOutcome> {
        for a in batch {
            let e = &a.entry;
            let chains = (e.seq == 0) == e.prev_hash.is_empty();
            if !chains || a.head.seq != e.seq || a.head.hash != e.hash || a.head.key != e.key {
                return Ok(AppendOutcome::Conflict);
            }
        }
        // Chunks of ≤ 50 entries, each resource-day at most once per chunk (a transaction may
        // not touch one item twice; a second entry of it chains to the head the first wrote).
        let mut chunks: Vec<Vec<&Append>> = Vec::new();
        let mut current: Vec<&Append> = Vec::new();
        let mut seen: HashSet<&ResourceDayKey> = HashSet::new();
        for a in batch {
            if current.len() >= ENTRIES_PER_TRANSACTION || seen.contains(&a.entry.key) {
                chunks.push(std::mem::take(&mut current));
                seen.clear();
            }
            seen.insert(&a.entry.key);
            current.push(a);
        }
        if !current.is_empty() {
            chunks.push(current);
        }
        for chunk in &chunks {
            if !self.block_on(self.append_chunk(chunk))? {
                self.forget_presence(batch);
                return Ok(AppendOutcome::Conflict);
            }
        }
        Ok(AppendOutcome::Appended)
    }

    /// Each resource-day's entries come together and in seq order. With a partner and a usage
    /// date range, entries are read from the `ByUsageMonth` index, month by month and shard by
    /// shard (with a resource, from its one shard); otherwise the ledger is scanned.
    fn for_each_entry(
        &self,
        filter: &EntryFilter,
        visit: &mut dyn FnMut(Entry) -> StoreResult<()>,
    ) -> StoreResult<()> {
        let keep = |e: &Entry| {
            filter
                .partner_id
                .as_ref()
                .is_none_or(|p| &e.key.partner_id == p)
                && filter
                    .resource_id
                    .as_ref()
                    .is_none_or(|r| &e.key.resource_id == r)
                && filter.usage_from.is_none_or(|d| e.key.usage_date >= d)
                && filter.usage_through.is_none_or(|d| e.key.usage_date <= d)
                && filter.posted_through.is_none_or(|t| e.posted_at <= t)
        };
        let mut on_item = |i: &Item| {
            let e = entry_from_item(i)?;
            if keep(&e) {
                visit(e)?;
            }
            Ok(())
        };
        let (Some(partner), Some(from), Some(through)) =
            (&filter.partner_id, filter.usage_from, filter.usage_through)
        else {
            return self.scan_each(&self.ledger_table, None, &mut on_item);
        };
        for (month, first, last) in keys::months(from, through) {
            let shards: Vec<u32> = match &filter.resource_id {
                Some(r) => vec![keys::resource_shard(r)],
                None => (0..keys::LEDGER_SHARDS).collect(),
            };
            for shard in shards {
                let pk = s(keys::usage_month_pk(partner, &month, shard));
                let q = match &filter.resource_id {
                    Some(r) => Query {
                        table: self.ledger_table.clone(),
                        index: Some("ByUsageMonth"),
                        key_condition: "gsi1pk = :pk AND gsi1sk BETWEEN :lo AND :hi",
                        values: vec![
                            (":pk", pk),
                            (":lo", s(format!("{r}#{}#", keys::day(first)))),
                            (":hi", s(format!("{r}#{}#\u{ffff}", keys::day(last)))),
                        ],
                        consistent: false,
                    },
                    None => Query {
                        table: self.ledger_table.clone(),
                        index: Some("ByUsageMonth"),
                        key_condition: "gsi1pk = :pk",
                        values: vec![(":pk", pk)],
                        consistent: false,
                    },
                };
                self.query_each(&q, &mut on_item)?;
            }
        }
        Ok(())
    }

    fn for_each_entry_posted(
        &self,
        partner_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        visit: &mut dyn FnMut(Entry) -> StoreResult<()>,
    ) -> StoreResult<()> {
        if to <= from {
            return Ok(());
        }
        let last = to - chrono::Duration::microseconds(1);
        for (month, _, _) in keys::months(from.date_naive(), last.date_naive()) {
            for shard in 0..keys::LEDGER_SHARDS {
                let q = Query {
                    table: self.ledger_table.clone(),
                    index: Some("ByPostingMonth"),
                    key_condition: "gsi2pk = :pk AND gsi2sk BETWEEN :lo AND :hi",
                    values: vec![
                        (":pk", s(keys::posting_month_pk(partner_id, &month, shard))),
                        (":lo", s(keys::ts(from))),
                        (":hi", s(keys::ts(to))),
                    ],
                    consistent: false,
                };
                self.query_each(&q, &mut |i| {
                    let e = entry_from_item(i)?;
                    if e.key.partner_id == partner_id && e.posted_at >= from && e.posted_at < to {
                        visit(e)?;
                    }
                    Ok(())
                })?;
            }
        }
        Ok(())
    }

    /// Scans the state table for heads (only `verify` reads every head).
    fn for_each_head(&self, visit: &mut dyn FnMut(Head) -> StoreResult<()>) -> StoreResult<()> {
        let mut all = Vec::new();
        self.scan_each(
            &self.state_table,
            Some(("begins_with(pk, :prefix)", "HEAD#")),
            &mut |i| {
                all.push(from_json::<Head>(get_s(i, "head")?)?);
                Ok(())
            },
        )?;
        all.sort_by(|a, b| a.key.cmp(&b.key));
        for h in all {
            visit(h)?;
        }
        Ok(())
    }
}
