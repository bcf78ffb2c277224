//! [`SnapshotStore`] for [`DynamoStore`]: normalised access snapshots, gzip-compressed, in one
//! item or a few pieces, written in one transaction with their `snapshotId` claim.

use super::item::{backend, corrupt, get_n, get_s, item, n, s, to_json};
use super::requests::{request_token, Query};
use super::store::DynamoStore;
use crate::keys::{self, ONE};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use pec_ledger::snapshot::Snapshot;
use pec_ledger::store::{PutSnapshotOutcome, SnapshotStore, StoreResult};
use std::io::{Read, Write};

/// Largest piece of a (gzip-compressed) snapshot in one item (items are limited to 400 KB).
const SNAPSHOT_CHUNK: usize = 300 * 1024;
/// Pieces of one snapshot: they are written in one transaction (4 MB at most).
const MAX_SNAPSHOT_CHUNKS: usize = 12;

fn gzip(data: &[u8]) -> StoreResult<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).map_err(backend)?;
    enc.finish().map_err(backend)
}

fn gunzip(data: &[u8]) -> StoreResult<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .map_err(corrupt)?;
    Ok(out)
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
        self.block_on(async {
            let token = request_token(&["snapshot", p, &snapshot.snapshot_id, digest]);
            if self.transact(items, token).await? {
                return Ok(PutSnapshotOutcome::Stored);
            }
            let existing = self
                .get_item(&self.state_table, &claim_pk, ONE)
                .await?
                .ok_or_else(|| backend("snapshot write failed without a stored snapshot"))?;
            Ok(if get_s(&existing, "digest")? == digest {
                PutSnapshotOutcome::Duplicate
            } else {
                PutSnapshotOutcome::Conflict
            })
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
        // Pieces of one snapshot are adjacent (sort key: takenAt, snapshotId, piece).
        let mut pending: Vec<u8> = Vec::new();
        let mut have = 0u32;
        self.query_each(&q, &mut |i| {
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
