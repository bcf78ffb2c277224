//! [`SnapshotStore`] for [`DynamoStore`]: normalised access snapshots, gzip-compressed, in one
//! item or a few pieces, written in one transaction with their `snapshotId` claim.

use super::item::{b, backend, corrupt, get_n, get_n64, get_s, item, n, n64, opt_b, s, to_json};
use super::requests::put_request;
use super::requests::{request_token, Query};
use super::store::DynamoStore;
use crate::keys::{self, ONE};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use pec_ledger::snapshot::Snapshot;
use pec_ledger::store::{AccessCheckpoint, PutSnapshotOutcome, SnapshotStore, StoreResult};
use std::io::{Read, Write};

/// Largest piece of a (gzip-compressed) snapshot in one item (items are limited to 400 KB).
const SNAPSHOT_CHUNK: usize = 300 * 1024;
/// Pieces of one snapshot: they are written in one transaction (4 MB at most).
const MAX_SNAPSHOT_CHUNKS: usize = 12;

pub(super) fn gzip(data: &[u8]) -> StoreResult<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).map_err(backend)?;
    enc.finish().map_err(backend)
}

pub(super) fn gunzip(data: &[u8]) -> StoreResult<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .map_err(corrupt)?;
    Ok(out)
}

impl DynamoStore {
    /// The items of a snapshot's transaction: the `snapshotId` claim, the pieces and the
    /// customer's snapshot count; and the claim's key.
    pub(super) fn snapshot_writes(
        &self,
        snapshot: &Snapshot,
        digest: &str,
    ) -> StoreResult<(String, Vec<TransactWriteItem>)> {
        let p = &snapshot.partner_id;
        let packed = gzip(to_json(snapshot)?.as_bytes())?;
        let chunks: Vec<&[u8]> = packed.chunks(SNAPSHOT_CHUNK).collect();
        if chunks.len() > MAX_SNAPSHOT_CHUNKS {
            return Err(backend(format!(
                "snapshot {} is too large to store ({} bytes compressed)",
                snapshot.snapshot_id,
                packed.len()
            )));
        }
        let claim_pk = keys::snapshot_claim_pk(p, &snapshot.snapshot_id);
        let mut items = vec![TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(&self.state_table)
                    .set_item(Some(item(vec![
                        ("pk", s(claim_pk.as_str())),
                        ("sk", s(ONE)),
                        ("digest", s(digest)),
                        ("customerId", s(snapshot.customer_id.as_str())),
                        ("takenAt", s(keys::ts(snapshot.taken_at))),
                    ])))
                    .condition_expression("attribute_not_exists(pk)")
                    .build()
                    .map_err(backend)?,
            )
            .build()];
        for (i, c) in chunks.iter().enumerate() {
            items.push(
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(&self.state_table)
                            .set_item(Some(item(vec![
                                ("pk", s(keys::snapshot_pk(p, &snapshot.customer_id))),
                                (
                                    "sk",
                                    s(keys::snapshot_sk(
                                        snapshot.taken_at,
                                        &snapshot.snapshot_id,
                                        i,
                                    )),
                                ),
                                ("chunks", n(chunks.len() as u32)),
                                ("data", AttributeValue::B(c.to_vec().into())),
                            ])))
                            .build()
                            .map_err(backend)?,
                    )
                    .build(),
            );
        }
        // The customer's snapshot count moves with it (for `for_each_snapshot_after`).
        items.push(
            TransactWriteItem::builder()
                .update(
                    Update::builder()
                        .table_name(&self.state_table)
                        .key("pk", s(keys::snapshot_count_pk(p, &snapshot.customer_id)))
                        .key("sk", s(ONE))
                        .update_expression("ADD n :one")
                        .expression_attribute_values(":one", n64(1))
                        .build()
                        .map_err(backend)?,
                )
                .build(),
        );
        Ok((claim_pk, items))
    }

    /// After a transaction that did not go through: `Duplicate` or `Conflict` when the id was
    /// claimed before, `None` when it was not (another condition failed).
    pub(super) async fn claimed(
        &self,
        claim_pk: &str,
        digest: &str,
    ) -> StoreResult<Option<PutSnapshotOutcome>> {
        let existing = self.get_item(&self.state_table, claim_pk, ONE).await?;
        existing
            .map(|i| {
                Ok(if get_s(&i, "digest")? == digest {
                    PutSnapshotOutcome::Duplicate
                } else {
                    PutSnapshotOutcome::Conflict
                })
            })
            .transpose()
    }
    /// Snapshots of a query over a customer's snapshot items, pieces joined.
    pub(super) fn read_snapshots(
        &self,
        q: &Query,
        visit: &mut dyn FnMut(Snapshot) -> StoreResult<()>,
    ) -> StoreResult<()> {
        // Pieces of one snapshot are adjacent (sort key: takenAt, snapshotId, piece).
        let mut pending: Vec<u8> = Vec::new();
        let mut have = 0u32;
        self.query_each(q, &mut |i| {
            let chunks = get_n(i, "chunks")?;
            match i.get("data") {
                Some(AttributeValue::B(b)) => pending.extend_from_slice(b.as_ref()),
                _ => return Err(corrupt("snapshot item without data")),
            }
            have += 1;
            if have >= chunks {
                let json = gunzip(&pending)?;
                pending.clear();
                have = 0;
                visit(serde_json::from_slice(&json).map_err(corrupt)?)?;
            }
            Ok(())
        })?;
        if have > 0 {
            return Err(corrupt("a snapshot's pieces are incomplete"));
        }
        Ok(())
    }
}

impl SnapshotStore for DynamoStore {
    /// The normalised snapshot, gzip-compressed, in one item (or a few of ≤ 300 KB for very
    /// large ones), written in one transaction with the `snapshotId` claim. The raw body is not
    /// kept here: the webhook archives it in S3 under `snapshots/`.
    fn put_snapshot(
        &self,
        snapshot: &Snapshot,
        digest: &str,
        _raw: &[u8],
    ) -> StoreResult<PutSnapshotOutcome> {
        let (claim_pk, items) = self.snapshot_writes(snapshot, digest)?;
        let p = &snapshot.partner_id;
        self.block_on(async {
            let token = request_token(&["snapshot", p, &snapshot.snapshot_id, digest]);
            if self.transact(items, token).await? {
                return Ok(PutSnapshotOutcome::Stored);
            }
            self.claimed(&claim_pk, digest)
                .await?
                .ok_or_else(|| backend("snapshot write failed without a stored snapshot"))
        })
    }

    fn for_each_snapshot(
        &self,
        partner_id: &str,
        customer_id: &str,
        visit: &mut dyn FnMut(Snapshot) -> StoreResult<()>,
    ) -> StoreResult<()> {
        let q = Query {
            table: self.state_table.clone(),
            index: None,
            key_condition: "pk = :pk",
            values: vec![(":pk", s(keys::snapshot_pk(partner_id, customer_id)))],
            consistent: true,
        };
        self.read_snapshots(&q, visit)
    }

    /// The customer's snapshot count, then one query of the snapshots after `position`: in order
    /// exactly when the count less those is `before`.
    fn for_each_snapshot_after(
        &self,
        partner_id: &str,
        customer_id: &str,
        position: (DateTime<Utc>, &str),
        before: u64,
        visit: &mut dyn FnMut(Snapshot) -> StoreResult<()>,
    ) -> StoreResult<bool> {
        let count = self.block_on(self.get_item(
            &self.state_table,
            &keys::snapshot_count_pk(partner_id, customer_id),
            ONE,
        ))?;
        let Some(total) = count.map(|i| get_n64(&i, "n")).transpose()? else {
            return Ok(false);
        };
        let q = Query {
            table: self.state_table.clone(),
            index: None,
            key_condition: "pk = :pk AND sk > :after",
            values: vec![
                (":pk", s(keys::snapshot_pk(partner_id, customer_id))),
                (
                    ":after",
                    s(format!("{}#{}#\u{ffff}", keys::ts(position.0), position.1)),
                ),
            ],
            consistent: true,
        };
        let mut after = Vec::new();
        self.read_snapshots(&q, &mut |snap| {
            after.push(snap);
            Ok(())
        })?;
        if total.checked_sub(after.len() as u64) != Some(before) {
            return Ok(false);
        }
        for snap in after {
            visit(snap)?;
        }
        Ok(true)
    }

    fn access_checkpoint(
        &self,
        partner_id: &str,
        customer_id: &str,
    ) -> StoreResult<Option<AccessCheckpoint>> {
        let found = self.block_on(self.get_item(
            &self.state_table,
            &keys::checkpoint_pk(partner_id, customer_id),
            ONE,
        ))?;
        let Some(i) = found else { return Ok(None) };
        let state = opt_b(&i, "state").ok_or_else(|| corrupt("checkpoint without state"))?;
        let state = String::from_utf8(gunzip(state)?).map_err(corrupt)?;
        Ok(Some(AccessCheckpoint {
            partner_id: partner_id.to_string(),
            customer_id: customer_id.to_string(),
            taken_at: DateTime::parse_from_rfc3339(get_s(&i, "takenAt")?)
                .map_err(corrupt)?
                .with_timezone(&Utc),
            snapshot_id: get_s(&i, "snapshotId")?.to_string(),
            snapshots: get_n64(&i, "snapshots")?,
            state,
        }))
    }

    /// Checkpoints are a cache: one too large for an item is not kept.
    fn put_access_checkpoints(&self, checkpoints: &[AccessCheckpoint]) -> StoreResult<()> {
        let mut puts = Vec::new();
        for cp in checkpoints {
            let state = gzip(cp.state.as_bytes())?;
            if state.len() > SNAPSHOT_CHUNK {
                continue;
            }
            puts.push(put_request(item(vec![
                (
                    "pk",
                    s(keys::checkpoint_pk(&cp.partner_id, &cp.customer_id)),
                ),
                ("sk", s(ONE)),
                (
                    "takenAt",
                    s(cp.taken_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)),
                ),
                ("snapshotId", s(cp.snapshot_id.as_str())),
                ("snapshots", n64(cp.snapshots)),
                ("state", b(state)),
            ]))?);
        }
        self.block_on(self.batch_write(&self.state_table, puts))
    }
}
