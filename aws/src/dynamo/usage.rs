//! [`UsageStore`] for [`DynamoStore`] (table format 2): usage blocks, upload commits (the
//! duplicate claim and the upload record in one transaction), a customer's usage sources, and
//! the registry of partners, customers and subscriptions.

use super::item::{backend, get_s, item, s, to_json};
use super::requests::{delete_request, put_request, query_all_with, request_token, Query};
use super::store::DynamoStore;
use crate::keys::{self, ONE};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, WriteRequest};
use chrono::NaiveDate;
use pec_ledger::store::block::{blocks_of, usage_from_block, StoredUsage};
use pec_ledger::store::{
    CommitOutcome, StoreResult, UploadRecord, UsageAggregate, UsageKey, UsageSource, UsageStore,
};
use std::collections::{BTreeMap, BTreeSet};

/// Largest JSON body of one block item (items are limited to 400 KB); a larger block is kept in
/// several parts.
const BLOCK_PART_BYTES: usize = 300 * 1024;

/// `{date}#{subscription}#{receivedAt}#{uploadId}` split.
fn parse_source(sk: &str) -> Option<(&str, &str, &str)> {
    let mut p = sk.splitn(4, '#');
    let date = p.next()?;
    let subscription = p.next()?;
    let _received = p.next()?;
    let upload = p.next()?;
    Some((date, subscription, upload))
}

impl DynamoStore {
    async fn is_committed(&self, upload_id: &str) -> StoreResult<bool> {
        if self
            .committed
            .lock()
            .map(|c| c.contains(upload_id))
            .unwrap_or(false)
        {
            return Ok(true);
        }
        let found = self
            .get_item(&self.state_table, &keys::upload_pk(upload_id), ONE)
            .await?
            .is_some();
        if found {
            if let Ok(mut c) = self.committed.lock() {
                c.insert(upload_id.to_string());
            }
        }
        Ok(found)
    }

    /// The newest committed source of each (date, subscription) among `items` (source items of
    /// one customer), in (date, subscription) order.
    async fn newest_committed(
        &self,
        items: &[super::item::Item],
    ) -> StoreResult<BTreeMap<(String, String), String>> {
        // Sort key order is (date, subscription, receivedAt, upload): newest last.
        let mut by_key: BTreeMap<(String, String), Vec<(String, String)>> = BTreeMap::new();
        for i in items {
            let sk = get_s(i, "sk")?;
            let Some((date, sub, upload)) = parse_source(sk) else {
                continue;
            };
            by_key
                .entry((date.to_string(), sub.to_string()))
                .or_default()
                .push((sk.to_string(), upload.to_string()));
        }
        let mut out = BTreeMap::new();
        for (key, mut pointers) in by_key {
            pointers.sort();
            for (_, upload) in pointers.into_iter().rev() {
                if self.is_committed(&upload).await? {
                    out.insert(key, upload);
                    break;
                }
            }
        }
        Ok(out)
    }

    async fn sources(
        &self,
        partner: &str,
        customer: &str,
        lo: String,
        hi: String,
    ) -> StoreResult<BTreeMap<(String, String), String>> {
        let q = Query {
            table: self.state_table.clone(),
            index: None,
            key_condition: "pk = :pk AND sk BETWEEN :lo AND :hi",
            values: vec![
                (":pk", s(keys::sources_pk(partner, customer))),
                (":lo", s(lo)),
                (":hi", s(hi)),
            ],
            consistent: true,
        };
        let items = query_all_with(&self.client, &q).await?;
        self.newest_committed(&items).await
    }

    /// Registry items of an upload: the partner, its customers by month, and which customer
    /// each subscription belongs to (idempotent puts).
    fn registry_items(partner: &str, keys_: &[UsageKey]) -> StoreResult<Vec<WriteRequest>> {
        let mut out = vec![put_request(item(vec![
            ("pk", s(keys::PARTNERS_PK)),
            ("sk", s(partner)),
        ]))?];
        let months: BTreeSet<(String, &str)> = keys_
            .iter()
            .map(|k| (keys::month_of(k.usage_date), k.customer_id.as_str()))
            .collect();
        for (month, customer) in months {
            out.push(put_request(item(vec![
                ("pk", s(keys::customers_pk(partner))),
                ("sk", s(format!("{month}#{customer}"))),
            ]))?);
        }
        let subscriptions: BTreeSet<(&str, &str)> = keys_
            .iter()
            .map(|k| (k.subscription_id.as_str(), k.customer_id.as_str()))
            .collect();
        for (sub, customer) in subscriptions {
            out.push(put_request(item(vec![
                ("pk", s(keys::subscription_pk(partner, sub))),
                ("sk", s(customer)),
            ]))?);
        }
        Ok(out)
    }
}

impl UsageStore for DynamoStore {
    fn accepted_upload_by_sha(
        &self,
        partner_id: &str,
        sha256: &str,
    ) -> StoreResult<Option<String>> {
        let found = self.block_on(self.get_item(
            &self.state_table,
            &keys::upload_sha_pk(partner_id, sha256),
            ONE,
        ))?;
        found
            .map(|i| get_s(&i, "uploadId").map(str::to_string))
            .transpose()
    }

    /// One block item per (subscription, date, customer) of the rows (in parts of ≤ 300 KB):
    /// about 150–250 bytes per resource-day, so well under one WCU each. Rows of the same key
    /// from two flushes are two parts that add up. Nothing points at them until the commit.
    fn stage_usage(&self, upload_id: &str, rows: &[UsageAggregate]) -> StoreResult<()> {
        let mut requests = Vec::new();
        let mut written = Vec::new();
        for ((partner, subscription, date, customer), group) in blocks_of(rows) {
            let pk = keys::block_pk(partner, subscription, date, customer, upload_id);
            let mut parts: Vec<Vec<StoredUsage>> = vec![Vec::new()];
            let mut size = 0;
            for row in group {
                let len = serde_json::to_string(&row).map_err(backend)?.len() + 1;
                if size + len > BLOCK_PART_BYTES && !parts.last().is_some_and(Vec::is_empty) {
                    parts.push(Vec::new());
                    size = 0;
                }
                size += len;
                if let Some(last) = parts.last_mut() {
                    last.push(row);
                }
            }
            for part in parts {
                let sk = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
                requests.push(put_request(item(vec![
                    ("pk", s(pk.as_str())),
                    ("sk", s(sk.as_str())),
                    ("b", s(to_json(&part)?)),
                ]))?);
                written.push((pk.clone(), sk));
            }
        }
        if let Ok(mut staged) = self.staged.lock() {
            staged
                .entry(upload_id.to_string())
                .or_default()
                .extend(written);
        }
        self.block_on(self.batch_write(&self.state_table, requests))
    }

    fn commit_upload(
        &self,
        upload: &UploadRecord,
        keys_: &[UsageKey],
    ) -> StoreResult<CommitOutcome> {
        if let Some(id) = self.accepted_upload_by_sha(&upload.partner_id, &upload.sha256)? {
            if id != upload.upload_id {
                return Ok(CommitOutcome::Duplicate(id));
            }
            return Ok(CommitOutcome::Accepted);
        }
        let p = &upload.partner_id;
        let mut pointers = Vec::with_capacity(keys_.len());
        for k in keys_ {
            pointers.push(put_request(item(vec![
                ("pk", s(keys::sources_pk(p, &k.customer_id))),
                (
                    "sk",
                    s(keys::source_sk(
                        k.usage_date,
                        &k.subscription_id,
                        upload.received_at,
                        &upload.upload_id,
                    )),
                ),
            ]))?);
        }
        let registry = Self::registry_items(p, keys_)?;
        self.block_on(async {
            // Registry and pointers first: pointers take effect only once the upload record
            // below exists (readers skip pointers of uploads that were never accepted), and that
            // record is written with the duplicate claim in one transaction — the commit point.
            self.batch_write(&self.state_table, registry).await?;
            self.batch_write(&self.state_table, pointers).await?;
            let claim = Put::builder()
                .table_name(&self.state_table)
                .set_item(Some(item(vec![
                    ("pk", s(keys::upload_sha_pk(p, &upload.sha256))),
                    ("sk", s(ONE)),
                    ("uploadId", s(upload.upload_id.as_str())),
                ])))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(backend)?;
            let record = Put::builder()
                .table_name(&self.state_table)
                .set_item(Some(item(vec![
                    ("pk", s(keys::upload_pk(&upload.upload_id))),
                    ("sk", s(ONE)),
                    ("upload", s(to_json(upload)?)),
                ])))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(backend)?;
            let committed = self
                .transact(
                    vec![
                        TransactWriteItem::builder().put(claim).build(),
                        TransactWriteItem::builder().put(record).build(),
                    ],
                    request_token(&["commit", &upload.upload_id]),
                )
                .await?;
            if committed {
                if let Ok(mut c) = self.committed.lock() {
                    c.insert(upload.upload_id.clone());
                }
                if let Ok(mut staged) = self.staged.lock() {
                    staged.remove(&upload.upload_id);
                }
                return Ok(CommitOutcome::Accepted);
            }
            let existing = self
                .get_item(
                    &self.state_table,
                    &keys::upload_sha_pk(p, &upload.sha256),
                    ONE,
                )
                .await?
                .ok_or_else(|| backend("upload commit failed without a duplicate"))?;
            let existing = get_s(&existing, "uploadId")?.to_string();
            if existing == upload.upload_id {
                return Ok(CommitOutcome::Accepted);
            }
            // Lost the race to a byte-identical file: take our pointers back (they would be
            // ignored anyway, as this upload was never accepted).
            let mut deletes = Vec::with_capacity(keys_.len());
            for k in keys_ {
                deletes.push(delete_request(
                    &keys::sources_pk(p, &k.customer_id),
                    &keys::source_sk(
                        k.usage_date,
                        &k.subscription_id,
                        upload.received_at,
                        &upload.upload_id,
                    ),
                )?);
            }
            self.batch_write(&self.state_table, deletes).await?;
            Ok(CommitOutcome::Duplicate(existing))
        })
    }

    /// Deletes the blocks this store staged for the upload. Blocks of an upload whose process
    /// died before committing stay behind, never pointed at (storage only).
    fn discard_upload(&self, upload_id: &str) -> StoreResult<()> {
        let staged = self
            .staged
            .lock()
            .map(|mut m| m.remove(upload_id).unwrap_or_default())
            .unwrap_or_default();
        let mut deletes = Vec::with_capacity(staged.len());
        for (pk, sk) in staged {
            deletes.push(delete_request(&pk, &sk)?);
        }
        self.block_on(self.batch_write(&self.state_table, deletes))
    }

    /// Every partner's customers with usage in the months of the range: one query for the
    /// partners, one per partner (its customers of those months), whatever the window.
    fn customers_in_range(
        &self,
        from: NaiveDate,
        through: NaiveDate,
    ) -> StoreResult<Vec<(String, String)>> {
        let q = Query {
            table: self.state_table.clone(),
            index: None,
            key_condition: "pk = :pk",
            values: vec![(":pk", s(keys::PARTNERS_PK))],
            consistent: true,
        };
        let mut partners = Vec::new();
        self.query_each(&q, &mut |i| {
            partners.push(get_s(i, "sk")?.to_string());
            Ok(())
        })?;
        let mut out = Vec::new();
        for p in partners {
            for c in self.partner_customers(&p, from, through)? {
                out.push((p.clone(), c));
            }
        }
        out.sort();
        Ok(out)
    }

    fn current_usage(
        &self,
        partner_id: &str,
        customer_id: &str,
        date: NaiveDate,
    ) -> StoreResult<Vec<UsageAggregate>> {
        self.block_on(async {
            let d = keys::day(date);
            let sources = self
                .sources(
                    partner_id,
                    customer_id,
                    format!("{d}#"),
                    format!("{d}#\u{ffff}"),
                )
                .await?;
            let mut out = Vec::new();
            for ((_, sub), upload) in sources {
                let q = Query {
                    table: self.state_table.clone(),
                    index: None,
                    key_condition: "pk = :pk",
                    values: vec![(
                        ":pk",
                        s(keys::block_pk(partner_id, &sub, date, customer_id, &upload)),
                    )],
                    consistent: true,
                };
                for i in query_all_with(&self.client, &q).await? {
                    out.extend(usage_from_block(
                        partner_id,
                        &sub,
                        date,
                        customer_id,
                        get_s(&i, "b")?,
                    )?);
                }
            }
            Ok(out)
        })
    }

    /// One query of the customer's source items in the range.
    fn usage_sources(
        &self,
        partner_id: &str,
        customer_id: &str,
        from: NaiveDate,
        through: NaiveDate,
    ) -> StoreResult<Option<Vec<UsageSource>>> {
        let sources = self.block_on(self.sources(
            partner_id,
            customer_id,
            format!("{}#", keys::day(from)),
            format!("{}#\u{ffff}", keys::day(through)),
        ))?;
        sources
            .into_iter()
            .map(|((date, subscription_id), upload_id)| {
                Ok(UsageSource {
                    usage_date: NaiveDate::parse_from_str(&date, "%Y-%m-%d")
                        .map_err(super::item::corrupt)?,
                    subscription_id,
                    upload_id,
                })
            })
            .collect::<StoreResult<Vec<_>>>()
            .map(Some)
    }
}
