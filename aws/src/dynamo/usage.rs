//! [`UsageStore`] for [`DynamoStore`]: staged usage rows, upload commits (the duplicate claim and
//! the upload record in one transaction), current-usage pointers and the customers of a range.

use super::item::{backend, from_json, get_s, item, s, to_json};
use super::presence::date_index_items;
use super::requests::{delete_request, put_request, request_token, Query};
use super::store::DynamoStore;
use crate::keys::{self, ONE};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use chrono::NaiveDate;
use pec_ledger::store::{
    CommitOutcome, StoreResult, UploadRecord, UsageAggregate, UsageKey, UsageStore,
};
use std::collections::{BTreeMap, BTreeSet};

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

    /// Deletes staged rows of an upload found through the `ByIndex` index.
    async fn delete_staged(&self, upload_id: &str) -> StoreResult<()> {
        for shard in 0..keys::STAGE_SHARDS {
            let q = Query {
                table: self.state_table.clone(),
                index: Some("ByIndex"),
                key_condition: "gsi1pk = :pk",
                values: vec![(":pk", s(keys::stage_index_pk(upload_id, shard)))],
                consistent: false,
            };
            let mut deletes = Vec::new();
            for i in self.query_all(&q).await? {
                deletes.push(delete_request(get_s(&i, "pk")?, get_s(&i, "sk")?)?);
            }
            self.batch_write(&self.state_table, deletes).await?;
        }
        Ok(())
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

    fn stage_usage(&self, upload_id: &str, rows: &[UsageAggregate]) -> StoreResult<()> {
        let mut requests = Vec::with_capacity(rows.len());
        for r in rows {
            let k = &r.key;
            let pk = keys::usage_pk(&k.partner_id, &k.subscription_id, k.usage_date, upload_id);
            // Rows of the same group from two flushes add up: each gets its own item.
            let unique = uuid::Uuid::new_v4().simple().to_string();
            let sk = format!(
                "{}#{}#{}#{}#{}",
                k.resource_id,
                k.currency,
                r.mpn_id,
                r.tier2_mpn_id,
                &unique[..12]
            );
            let shard = keys::shard(
                &[&k.subscription_id, &keys::day(k.usage_date)],
                keys::STAGE_SHARDS,
            );
            requests.push(put_request(item(vec![
                ("gsi1pk", s(keys::stage_index_pk(upload_id, shard))),
                ("gsi1sk", s(pk.as_str())),
                ("pk", s(pk)),
                ("sk", s(sk)),
                ("row", s(to_json(r)?)),
            ]))?);
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
        let pairs: BTreeSet<(String, String, NaiveDate)> = keys_
            .iter()
            .map(|k| (p.clone(), k.customer_id.clone(), k.usage_date))
            .collect();
        let mut pointers = Vec::with_capacity(keys_.len());
        for k in keys_ {
            pointers.push(put_request(item(vec![
                ("pk", s(keys::current_pk(p, &k.customer_id, k.usage_date))),
                (
                    "sk",
                    s(keys::current_sk(
                        &k.subscription_id,
                        upload.received_at,
                        &upload.upload_id,
                    )),
                ),
                ("subscriptionId", s(k.subscription_id.as_str())),
                ("uploadId", s(upload.upload_id.as_str())),
            ]))?);
        }
        self.block_on(async {
            // Index and pointers first: they take effect only once the upload record below
            // exists (readers skip pointers of uploads that were never accepted), and that record
            // is written with the duplicate claim in one transaction — the commit point.
            self.batch_write(&self.state_table, date_index_items(&pairs)?)
                .await?;
            self.note_present(&pairs);
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
                    &keys::current_pk(p, &k.customer_id, k.usage_date),
                    &keys::current_sk(&k.subscription_id, upload.received_at, &upload.upload_id),
                )?);
            }
            self.batch_write(&self.state_table, deletes).await?;
            Ok(CommitOutcome::Duplicate(existing))
        })
    }

    fn discard_upload(&self, upload_id: &str) -> StoreResult<()> {
        self.block_on(self.delete_staged(upload_id))
    }

    fn customers_in_range(
        &self,
        from: NaiveDate,
        through: NaiveDate,
    ) -> StoreResult<Vec<(String, String)>> {
        let mut out = BTreeSet::new();
        let mut date = from;
        while date <= through {
            for shard in 0..keys::DATE_SHARDS {
                let q = Query {
                    table: self.state_table.clone(),
                    index: None,
                    key_condition: "pk = :pk",
                    values: vec![(":pk", s(keys::date_index_pk(date, shard)))],
                    consistent: true,
                };
                self.query_each(&q, &mut |i| {
                    out.insert((
                        get_s(i, "partnerId")?.to_string(),
                        get_s(i, "customerId")?.to_string(),
                    ));
                    Ok(())
                })?;
            }
            date = match date.succ_opt() {
                Some(d) => d,
                None => break,
            };
        }
        Ok(out.into_iter().collect())
    }

    fn current_usage(
        &self,
        partner_id: &str,
        customer_id: &str,
        date: NaiveDate,
    ) -> StoreResult<Vec<UsageAggregate>> {
        self.block_on(async {
            if !self.has_data(partner_id, customer_id, date).await? {
                return Ok(Vec::new());
            }
            let q = Query {
                table: self.state_table.clone(),
                index: None,
                key_condition: "pk = :pk",
                values: vec![(":pk", s(keys::current_pk(partner_id, customer_id, date)))],
                consistent: true,
            };
            // Per subscription, pointers newest first (sort key: subscription, receivedAt, id).
            let mut by_sub: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
            for i in self.query_all(&q).await? {
                by_sub
                    .entry(get_s(&i, "subscriptionId")?.to_string())
                    .or_default()
                    .push((
                        get_s(&i, "sk")?.to_string(),
                        get_s(&i, "uploadId")?.to_string(),
                    ));
            }
            let mut out = Vec::new();
            for (sub, mut pointers) in by_sub {
                pointers.sort();
                let mut source = None;
                for (_, upload) in pointers.into_iter().rev() {
                    if self.is_committed(&upload).await? {
                        source = Some(upload);
                        break;
                    }
                }
                let Some(upload) = source else { continue };
                let q = Query {
                    table: self.state_table.clone(),
                    index: None,
                    key_condition: "pk = :pk",
                    values: vec![(":pk", s(keys::usage_pk(partner_id, &sub, date, &upload)))],
                    consistent: true,
                };
                for i in self.query_all(&q).await? {
                    out.push(from_json(get_s(&i, "row")?)?);
                }
            }
            Ok(out)
        })
    }
}
