//! [`UsageStore`] for [`DynamoStore`] (table format 2): usage blocks, upload commits (the
//! duplicate claim and the upload record in one transaction), a customer's usage sources, and
//! the registry of partners, customers and subscriptions.

use super::item::{backend, corrupt, get_s, item, s, to_json, Item};
use super::requests::{
    batch_get_with, delete_request, put_request, query_all_with, request_token, Query,
};
use super::store::DynamoStore;
use crate::keys::{self, ONE};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, WriteRequest};
use chrono::NaiveDate;
use pec_ledger::names::{NameKind, Names};
use pec_ledger::store::block::{blocks_of, usage_from_block, StoredUsage};
use pec_ledger::store::{
    CommitOutcome, StoreResult, UploadRecord, UsageAggregate, UsageKey, UsageSource, UsageStore,
};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};

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

/// A (customer, subscription, date) of an upload.
type BlockKey = (String, String, NaiveDate);
/// Parts of committed sources by (date, subscription, digest): their block sort keys.
type Reusable = HashMap<(NaiveDate, String, String), String>;

/// What an upload in progress has staged: the part items it wrote (deleted if it is
/// discarded), the parts each of its keys reads, and, by (customer, month), the parts of
/// committed sources it may reuse by digest.
#[derive(Debug, Default)]
pub(crate) struct Staged {
    written: Vec<(String, String)>,
    parts: HashMap<BlockKey, Vec<String>>,
    reusable: HashMap<(String, String), Reusable>,
}

/// A source item's parts (`parts`, a list of block sort keys).
fn parts_of(i: &Item) -> StoreResult<Vec<String>> {
    match i.get("parts") {
        Some(AttributeValue::L(l)) => l
            .iter()
            .map(|v| match v {
                AttributeValue::S(sk) => Ok(sk.clone()),
                _ => Err(corrupt("a usage source's part is not text")),
            })
            .collect(),
        _ => Err(corrupt("a usage source without parts")),
    }
}

/// The digest part of a block sort key (`{uploadId}#{digest}`).
fn digest_of(sk: &str) -> &str {
    sk.rsplit('#').next().unwrap_or(sk)
}

/// What a source reads, as settlement's fingerprint sees it: its parts. A later upload that
/// restates a key with the same content reuses the same parts, so the date is not settled again.
fn content_id(parts: &[String]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0x1f]);
    }
    hex::encode(h.finalize())
}

impl DynamoStore {
    pub(super) async fn is_committed(&self, upload_id: &str) -> StoreResult<bool> {
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
    /// one customer), in (date, subscription) order: its upload and the parts it reads.
    async fn newest_committed(
        &self,
        items: &[Item],
    ) -> StoreResult<BTreeMap<(String, String), (String, Vec<String>)>> {
        // Sort key order is (date, subscription, receivedAt, upload): newest last.
        type Pointer<'a> = (String, String, &'a Item);
        let mut by_key: BTreeMap<(String, String), Vec<Pointer<'_>>> = BTreeMap::new();
        for i in items {
            let sk = get_s(i, "sk")?;
            let Some((date, sub, upload)) = parse_source(sk) else {
                continue;
            };
            by_key
                .entry((date.to_string(), sub.to_string()))
                .or_default()
                .push((sk.to_string(), upload.to_string(), i));
        }
        let mut out = BTreeMap::new();
        for (key, mut pointers) in by_key {
            pointers.sort_by(|a, b| a.0.cmp(&b.0));
            for (_, upload, i) in pointers.into_iter().rev() {
                if self.is_committed(&upload).await? {
                    out.insert(key, (upload, parts_of(i)?));
                    break;
                }
            }
        }
        Ok(out)
    }

    /// The parts of committed sources of (customer, month), by (date, subscription, digest).
    async fn reusable_parts(
        &self,
        partner: &str,
        customer: &str,
        month: &str,
    ) -> StoreResult<Reusable> {
        let q = Query {
            table: self.state_table.clone(),
            index: None,
            key_condition: "pk = :pk AND sk BETWEEN :lo AND :hi",
            values: vec![
                (":pk", s(keys::sources_pk(partner, customer))),
                (":lo", s(format!("{month}-01#"))),
                (":hi", s(format!("{month}-31#\u{ffff}"))),
            ],
            consistent: true,
        };
        let mut out = HashMap::new();
        for i in query_all_with(&self.client, &q).await? {
            let sk = get_s(&i, "sk")?;
            let Some((date, sub, upload)) = parse_source(sk) else {
                continue;
            };
            if !self.is_committed(upload).await? {
                continue;
            }
            let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(corrupt)?;
            for part in parts_of(&i)? {
                out.insert((date, sub.to_string(), digest_of(&part).to_string()), part);
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
    ) -> StoreResult<BTreeMap<(String, String), (String, Vec<String>)>> {
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

    async fn read_names(&self, partner: &str) -> StoreResult<Names> {
        let q = Query {
            table: self.state_table.clone(),
            index: None,
            key_condition: "pk = :pk",
            values: vec![(":pk", s(keys::names_pk(partner)))],
            consistent: true,
        };
        let mut names = Names::default();
        for i in query_all_with(&self.client, &q).await? {
            let sk = get_s(&i, "sk")?;
            let (kind, id) = sk.split_once('#').ok_or_else(|| corrupt(sk))?;
            if let Some(kind) = NameKind::from_code(kind) {
                names.set(kind, id, get_s(&i, "name")?);
            }
        }
        Ok(names)
    }

    /// Writes the names of an upload that differ from those kept (one query, then only what
    /// changed). Two uploads of one partner committed at the same moment: the last write wins.
    async fn write_names(&self, partner: &str, names: &Names) -> StoreResult<()> {
        if names.is_empty() {
            return Ok(());
        }
        let kept = self.read_names(partner).await?;
        let kept: HashMap<(NameKind, &str), &str> = kept
            .rows()
            .into_iter()
            .map(|(k, id, n)| ((k, id), n))
            .collect();
        let mut puts = Vec::new();
        for (kind, id, name) in names.rows() {
            if kept.get(&(kind, id)) != Some(&name) {
                puts.push(put_request(item(vec![
                    ("pk", s(keys::names_pk(partner))),
                    ("sk", s(format!("{}#{id}", kind.code()))),
                    ("name", s(name)),
                ]))?);
            }
        }
        self.batch_write(&self.state_table, puts).await
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

    /// One part item per (subscription, date, customer) of the rows (several of ≤ 300 KB for a
    /// large block): about 150–250 bytes per resource-day, so well under one WCU each. A part is
    /// named by its content's digest: one whose content a committed source of the key already
    /// has is not written again but reused (a month-to-date file uploaded again each day writes
    /// only what changed). Rows of the same key from two flushes are two parts that add up.
    /// Nothing points at them until the commit.
    fn stage_usage(&self, upload_id: &str, rows: &[UsageAggregate]) -> StoreResult<()> {
        let blocks = blocks_of(rows);
        // The committed parts of the customers' months this flush touches, read once per upload.
        let mut wanted: BTreeSet<(&str, &str, String)> = BTreeSet::new();
        for (partner, _, date, customer) in blocks.keys() {
            wanted.insert((partner, customer, keys::month_of(*date)));
        }
        let mut loaded = Vec::new();
        for (partner, customer, month) in wanted {
            let known = self
                .staged
                .lock()
                .map(|m| {
                    m.get(upload_id).is_some_and(|st| {
                        st.reusable
                            .contains_key(&(customer.to_string(), month.clone()))
                    })
                })
                .unwrap_or(false);
            if !known {
                let parts = self.block_on(self.reusable_parts(partner, customer, &month))?;
                loaded.push(((customer.to_string(), month), parts));
            }
        }
        let mut requests = Vec::new();
        let mut staged = self.staged.lock().map_err(backend)?;
        let st = staged.entry(upload_id.to_string()).or_default();
        st.reusable.extend(loaded);
        for ((partner, subscription, date, customer), group) in blocks {
            let pk = keys::block_pk(partner, subscription, date, customer);
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
                let body = to_json(&part)?;
                let digest = hex::encode(&Sha256::digest(body.as_bytes())[..16]);
                let reuse = st
                    .reusable
                    .get(&(customer.to_string(), keys::month_of(date)))
                    .and_then(|m| m.get(&(date, subscription.to_string(), digest.clone())))
                    .cloned();
                let sk = match reuse {
                    Some(sk) => sk,
                    None => {
                        let sk = keys::block_sk(upload_id, &digest);
                        let pair = (pk.clone(), sk.clone());
                        if !st.written.contains(&pair) {
                            requests.push(put_request(item(vec![
                                ("pk", s(pk.as_str())),
                                ("sk", s(sk.as_str())),
                                ("b", s(body)),
                            ]))?);
                            st.written.push(pair);
                        }
                        sk
                    }
                };
                st.parts
                    .entry((customer.to_string(), subscription.to_string(), date))
                    .or_default()
                    .push(sk);
            }
        }
        drop(staged);
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
        let parts: HashMap<BlockKey, Vec<String>> = self
            .staged
            .lock()
            .map(|m| {
                m.get(&upload.upload_id)
                    .map(|st| st.parts.clone())
                    .unwrap_or_default()
            })
            .map_err(backend)?;
        let mut pointers = Vec::with_capacity(keys_.len());
        for k in keys_ {
            // A key with nothing staged (discarded, or no rows) reads as no usage.
            let read = parts
                .get(&(
                    k.customer_id.clone(),
                    k.subscription_id.clone(),
                    k.usage_date,
                ))
                .cloned()
                .unwrap_or_default();
            pointers.push(put_request(item(vec![
                (
                    "parts",
                    AttributeValue::L(read.iter().map(|sk| s(sk.as_str())).collect()),
                ),
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
        // The record keeps no names (they are items of their own, and could be many).
        let record_json = to_json(&UploadRecord {
            names: Names::default(),
            ..upload.clone()
        })?;
        self.block_on(async {
            // Names that changed, before the commit point: a commit that then fails leaves names
            // that the same file (a retry) would give anyway.
            self.write_names(p, &upload.names).await?;
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
                    ("upload", s(record_json)),
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

    /// Deletes the parts this store wrote for the upload (never parts it reused: those belong
    /// to committed uploads). Parts of an upload whose process died before committing stay
    /// behind, never pointed at (storage only).
    fn names(&self, partner_id: &str) -> StoreResult<Names> {
        self.block_on(self.read_names(partner_id))
    }

    fn discard_upload(&self, upload_id: &str) -> StoreResult<()> {
        let staged = self
            .staged
            .lock()
            .map(|mut m| m.remove(upload_id).unwrap_or_default())
            .unwrap_or_default();
        let mut deletes = Vec::with_capacity(staged.written.len());
        for (pk, sk) in staged.written {
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
            for ((_, sub), (_, parts)) in sources {
                let pk = keys::block_pk(partner_id, &sub, date, customer_id);
                let distinct: BTreeSet<&String> = parts.iter().collect();
                let found = batch_get_with(
                    &self.client,
                    &self.state_table,
                    distinct
                        .into_iter()
                        .map(|sk| (pk.clone(), sk.clone()))
                        .collect(),
                    true,
                )
                .await?;
                let mut bodies: HashMap<String, String> = HashMap::new();
                for i in found {
                    bodies.insert(get_s(&i, "sk")?.to_string(), get_s(&i, "b")?.to_string());
                }
                // A part listed twice (the same content in two flushes) counts twice.
                for sk in &parts {
                    let body = bodies
                        .get(sk)
                        .ok_or_else(|| corrupt(format!("usage block {pk} {sk} is missing")))?;
                    out.extend(usage_from_block(partner_id, &sub, date, customer_id, body)?);
                }
            }
            Ok(out)
        })
    }

    /// One query of the customer's source items in the range; each source is named by the
    /// content it reads (its parts), not by its upload, so a restatement with the same content
    /// leaves the date's fingerprint as it was.
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
            .map(|((date, subscription_id), (_, parts))| {
                Ok(UsageSource {
                    usage_date: NaiveDate::parse_from_str(&date, "%Y-%m-%d").map_err(corrupt)?,
                    subscription_id,
                    upload_id: content_id(&parts),
                })
            })
            .collect::<StoreResult<Vec<_>>>()
            .map(Some)
    }
}
