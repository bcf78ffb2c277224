//! [`AlertStore`] for [`DynamoStore`]: a customer's watch (`WATCH#`), the alerts (`ALERTS#`)
//! and the events not sent yet (`OUTBOX`), written in the snapshot's own transaction.

use super::item::{b, backend, corrupt, get_s, item, opt_b, s, to_json};
use super::requests::{delete_request, query_all_with, request_token, Query};
use super::snapshot::{gunzip, gzip};
use super::store::DynamoStore;
use crate::keys::{self, ONE, OUTBOX_PK};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use pec_ledger::alerts::{Alert, AlertEvent, SnapshotPosition, Watch};
use pec_ledger::snapshot::Snapshot;
use pec_ledger::store::{AlertStore, PutSnapshotOutcome, StoreResult};

/// A watch's newest snapshot as its `newest` attribute compares it.
fn position(p: &SnapshotPosition) -> String {
    format!("{}#{}", keys::ts(p.taken_at), p.snapshot_id)
}

fn packed<T: serde::de::DeserializeOwned>(i: &super::item::Item, name: &str) -> StoreResult<T> {
    let data = opt_b(i, name).ok_or_else(|| corrupt(format!("item without {name}")))?;
    serde_json::from_slice(&gunzip(data)?).map_err(corrupt)
}

fn put(
    table: &str,
    pairs: Vec<(&str, aws_sdk_dynamodb::types::AttributeValue)>,
) -> StoreResult<Put> {
    Put::builder()
        .table_name(table)
        .set_item(Some(item(pairs)))
        .build()
        .map_err(backend)
}

impl AlertStore for DynamoStore {
    fn watch(&self, partner_id: &str, customer_id: &str) -> StoreResult<Watch> {
        let found = self.block_on(self.get_item(
            &self.state_table,
            &keys::watch_pk(partner_id, customer_id),
            ONE,
        ))?;
        found
            .map(|i| packed(&i, "watch"))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    fn snapshot_at(
        &self,
        partner_id: &str,
        customer_id: &str,
        at: &SnapshotPosition,
    ) -> StoreResult<Option<Snapshot>> {
        let q = Query {
            table: self.state_table.clone(),
            index: None,
            key_condition: "pk = :pk AND begins_with(sk, :at)",
            values: vec![
                (":pk", s(keys::snapshot_pk(partner_id, customer_id))),
                (":at", s(format!("{}#", position(at)))),
            ],
            consistent: true,
        };
        let mut found = None;
        self.read_snapshots(&q, &mut |snap| {
            found = Some(snap);
            Ok(())
        })?;
        Ok(found)
    }

    /// The snapshot's transaction with the watch (conditional on its newest snapshot), each
    /// event's alert and the events themselves.
    fn put_snapshot_watched(
        &self,
        snapshot: &Snapshot,
        digest: &str,
        _raw: &[u8],
        expected: &Watch,
        next: &Watch,
        events: &[AlertEvent],
    ) -> StoreResult<Option<PutSnapshotOutcome>> {
        let (claim_pk, mut items) = self.snapshot_writes(snapshot, digest)?;
        let (p, c) = (&snapshot.partner_id, &snapshot.customer_id);
        let table = &self.state_table;
        let Some(newest) = &next.newest else {
            return Err(backend("a watch after a snapshot has its newest snapshot"));
        };
        let mut watch = Put::builder().table_name(table).set_item(Some(item(vec![
            ("pk", s(keys::watch_pk(p, c))),
            ("sk", s(ONE)),
            ("newest", s(position(newest))),
            ("watch", b(gzip(to_json(next)?.as_bytes())?)),
        ])));
        watch = match &expected.newest {
            None => watch.condition_expression("attribute_not_exists(pk)"),
            Some(e) => watch
                .condition_expression("newest = :expected")
                .expression_attribute_values(":expected", s(position(e))),
        };
        items.push(
            TransactWriteItem::builder()
                .put(watch.build().map_err(backend)?)
                .build(),
        );
        for e in events {
            let a = &e.alert;
            items.push(
                TransactWriteItem::builder()
                    .put(put(
                        table,
                        vec![
                            ("pk", s(keys::alerts_pk(p))),
                            ("sk", s(format!("{}#{}", keys::ts(a.taken_at), a.alert_id))),
                            ("alert", b(gzip(to_json(a)?.as_bytes())?)),
                        ],
                    )?)
                    .build(),
            );
            items.push(
                TransactWriteItem::builder()
                    .put(put(
                        table,
                        vec![
                            ("pk", s(OUTBOX_PK)),
                            ("sk", s(e.event_id.as_str())),
                            ("partnerId", s(p.as_str())),
                            ("event", b(gzip(to_json(e)?.as_bytes())?)),
                        ],
                    )?)
                    .build(),
            );
        }
        self.block_on(async {
            // A retry after the watch moved on is another request: its token says from where.
            let from = expected.newest.as_ref().map(position).unwrap_or_default();
            let token = request_token(&["watched", p, &snapshot.snapshot_id, digest, &from]);
            if self.transact(items, token).await? {
                return Ok(Some(PutSnapshotOutcome::Stored));
            }
            // The id was claimed before (duplicate or conflict), or the watch moved on.
            self.claimed(&claim_pk, digest).await
        })
    }

    fn alerts(&self, partner_id: &str) -> StoreResult<Vec<Alert>> {
        let q = Query {
            table: self.state_table.clone(),
            index: None,
            key_condition: "pk = :pk",
            values: vec![(":pk", s(keys::alerts_pk(partner_id)))],
            consistent: true,
        };
        let items = self.block_on(query_all_with(&self.client, &q))?;
        let mut out = items
            .iter()
            .map(|i| packed::<Alert>(i, "alert"))
            .collect::<StoreResult<Vec<_>>>()?;
        out.sort_by(|a, b| {
            b.taken_at
                .cmp(&a.taken_at)
                .then_with(|| a.alert_id.cmp(&b.alert_id))
        });
        Ok(out)
    }

    fn pending_alert_events(
        &self,
        partner_id: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<AlertEvent>> {
        let q = Query {
            table: self.state_table.clone(),
            index: None,
            key_condition: "pk = :pk",
            values: vec![(":pk", s(OUTBOX_PK))],
            consistent: true,
        };
        let items = self.block_on(query_all_with(&self.client, &q))?;
        let mut out = Vec::new();
        for i in &items {
            if partner_id.is_some_and(|p| get_s(i, "partnerId").ok() != Some(p)) {
                continue;
            }
            out.push(packed::<AlertEvent>(i, "event")?);
        }
        out.sort_by(|a, b| (a.occurred_at, &a.event_id).cmp(&(b.occurred_at, &b.event_id)));
        out.truncate(limit);
        Ok(out)
    }

    fn alert_event_sent(&self, event_id: &str, _at: DateTime<Utc>) -> StoreResult<()> {
        self.block_on(self.batch_write(
            &self.state_table,
            vec![delete_request(OUTBOX_PK, event_id)?],
        ))
    }
}
