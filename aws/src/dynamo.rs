//! [`DynamoStore`]: the domain's storage traits over two DynamoDB tables (the append-only
//! ledger and the mutable state) and SSM Parameter Store (webhook secrets). The table and key
//! design is in `aws/README.md`; the key functions are in [`crate::keys`].

use crate::keys::{self, ONE};
use crate::retry::backoff;
use crate::secrets::SsmSecrets;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, KeysAndAttributes, Put, PutRequest, TransactWriteItem,
    WriteRequest,
};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, NaiveDate, Utc};
use pec_ledger::ledger::{Entry, Head, ResourceDayKey};
use pec_ledger::snapshot::Snapshot;
use pec_ledger::store::{
    Append, AppendOutcome, CommitOutcome, EntryFilter, LedgerStore, PartnerStore,
    PutSnapshotOutcome, SnapshotStore, StoreError, StoreResult, UploadRecord, UsageAggregate,
    UsageKey, UsageStore, WebhookSecret,
};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::{Read, Write};
use std::sync::Mutex;
use tokio::runtime::Handle;

pub type Item = HashMap<String, AttributeValue>;

/// Entries per `TransactWriteItems`: each entry is two items (entry + head), the limit is 100.
pub const ENTRIES_PER_TRANSACTION: usize = 50;
/// Items per `BatchWriteItem` (the service's limit).
const BATCH_WRITE_ITEMS: usize = 25;
/// `BatchWriteItem` requests in flight at once.
const BATCH_WRITE_CONCURRENCY: usize = 8;
/// Bounded retries of unprocessed items and throttled or conflicting transactions.
const MAX_ATTEMPTS: u32 = 12;
/// Largest piece of a (gzip-compressed) snapshot in one item (items are limited to 400 KB).
const SNAPSHOT_CHUNK: usize = 300 * 1024;
/// Pieces of one snapshot: they are written in one transaction (4 MB at most).
const MAX_SNAPSHOT_CHUNKS: usize = 12;

pub(crate) fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn sdk<E: std::error::Error + 'static, R: std::fmt::Debug>(
    op: &str,
) -> impl FnOnce(SdkError<E, R>) -> StoreError + '_ {
    move |e| StoreError::Backend(format!("DynamoDB {op}: {}", DisplayErrorContext(&e)))
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: u32) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn get_s<'a>(item: &'a Item, name: &str) -> StoreResult<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        _ => Err(corrupt(format!("item without string attribute {name}"))),
    }
}

fn get_n(item: &Item, name: &str) -> StoreResult<u32> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().map_err(corrupt),
        _ => Err(corrupt(format!("item without number attribute {name}"))),
    }
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(corrupt)
}

fn to_json<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(backend)
}

fn item(pairs: Vec<(&str, AttributeValue)>) -> Item {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

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

/// A `ClientRequestToken` (≤ 36 characters) derived from the request's content, so a retry of
/// a transaction that did commit (its response lost) is recognised and not applied twice.
fn request_token(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0x1f]);
    }
    hex::encode(h.finalize())[..32].to_string()
}

/// One query: a key condition on a table or index, read page by page.
#[derive(Debug, Clone)]
pub(crate) struct Query {
    table: String,
    index: Option<&'static str>,
    key_condition: &'static str,
    values: Vec<(&'static str, AttributeValue)>,
    consistent: bool,
}

/// The storage traits over DynamoDB and SSM.
///
/// # Sync over async
///
/// The domain's traits are synchronous; the SDK is async. A `DynamoStore` holds a
/// [`tokio::runtime::Handle`] and every trait method runs its requests with
/// `handle.block_on(…)`. That is only legal on a thread that is not driving async tasks, so
/// async callers (the Lambda handlers) run domain code inside `tokio::task::spawn_blocking`,
/// where blocking is allowed; calling a method from inside an async task panics. Visitors of
/// `for_each_*` are called between pages, outside `block_on`, so they may call the store again.
pub struct DynamoStore {
    rt: Handle,
    client: Client,
    ledger_table: String,
    state_table: String,
    secrets: SsmSecrets,
    /// Upload ids known to be accepted (an accepted upload never stops being accepted).
    committed: Mutex<HashSet<String>>,
    /// Per (partner, customer): the dates of a window that have usage or heads (from the
    /// customer-date index), so settlement skips the look-back days without data (see
    /// [`DynamoStore::has_data`]).
    presence: Mutex<HashMap<(String, String), Presence>>,
}

/// Dates with data of one customer over a window, as read at `read_at`.
#[derive(Debug, Clone)]
struct Presence {
    read_at: std::time::Instant,
    from: NaiveDate,
    through: NaiveDate,
    dates: BTreeSet<NaiveDate>,
}

/// How long a customer's dates-with-data are trusted. Dates this store writes are added at
/// once; another process's new dates are seen after at most this long (a settlement running
/// at that very moment settles them on its next run, as if they had arrived a little later).
const PRESENCE_FOR: std::time::Duration = std::time::Duration::from_secs(30);
/// Dates read at once (one `BatchGetItem` holds at most 100 keys).
const PRESENCE_WINDOW: i64 = 100;

impl DynamoStore {
    pub fn new(
        rt: Handle,
        client: Client,
        ledger_table: impl Into<String>,
        state_table: impl Into<String>,
        secrets: SsmSecrets,
    ) -> DynamoStore {
        DynamoStore {
            rt,
            client,
            ledger_table: ledger_table.into(),
            state_table: state_table.into(),
            secrets,
            committed: Mutex::new(HashSet::new()),
            presence: Mutex::new(HashMap::new()),
        }
    }

    fn block_on<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        self.rt.block_on(f)
    }

    async fn query_page(
        &self,
        q: &Query,
        start: Option<Item>,
    ) -> StoreResult<(Vec<Item>, Option<Item>)> {
        query_page_with(&self.client, q, start).await
    }

    async fn query_all(&self, q: &Query) -> StoreResult<Vec<Item>> {
        query_all_with(&self.client, q).await
    }

    /// Runs the query page by page, calling `visit` outside the runtime between pages.
    fn query_each(
        &self,
        q: &Query,
        visit: &mut dyn FnMut(&Item) -> StoreResult<()>,
    ) -> StoreResult<()> {
        let mut start = None;
        loop {
            let (items, next) = self.block_on(self.query_page(q, start))?;
            for i in &items {
                visit(i)?;
            }
            match next {
                Some(k) => start = Some(k),
                None => return Ok(()),
            }
        }
    }

    /// Scans a table page by page (only `verify` and unfiltered reads need this).
    fn scan_each(
        &self,
        table: &str,
        filter: Option<(&str, &str)>,
        visit: &mut dyn FnMut(&Item) -> StoreResult<()>,
    ) -> StoreResult<()> {
        let mut start: Option<Item> = None;
        loop {
            let mut req = self
                .client
                .scan()
                .table_name(table)
                .consistent_read(true)
                .set_exclusive_start_key(start.take());
            if let Some((expr, prefix)) = filter {
                req = req
                    .filter_expression(expr)
                    .expression_attribute_values(":prefix", s(prefix));
            }
            let out = self.block_on(req.send()).map_err(sdk("Scan"))?;
            for i in out.items() {
                visit(i)?;
            }
            match out.last_evaluated_key.filter(|k| !k.is_empty()) {
                Some(k) => start = Some(k),
                None => return Ok(()),
            }
        }
    }

    async fn get_item(&self, table: &str, pk: &str, sk: &str) -> StoreResult<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk("GetItem"))?;
        Ok(out.item)
    }

    /// Writes (puts or deletes) in `BatchWriteItem`s of 25, a few in flight at once, retrying
    /// unprocessed items with exponential backoff until every one is written.
    async fn batch_write(&self, table: &str, requests: Vec<WriteRequest>) -> StoreResult<()> {
        let mut chunks: Vec<Vec<WriteRequest>> = Vec::new();
        let mut it = requests.into_iter().peekable();
        while it.peek().is_some() {
            chunks.push(it.by_ref().take(BATCH_WRITE_ITEMS).collect());
        }
        let mut set = tokio::task::JoinSet::new();
        let mut chunks = chunks.into_iter();
        loop {
            while set.len() < BATCH_WRITE_CONCURRENCY {
                match chunks.next() {
                    Some(c) => {
                        set.spawn(write_batch(self.client.clone(), table.to_string(), c));
                    }
                    None => break,
                }
            }
            match set.join_next().await {
                Some(r) => r.map_err(backend)??,
                None => return Ok(()),
            }
        }
    }

    fn put_request(item: Item) -> StoreResult<WriteRequest> {
        Ok(WriteRequest::builder()
            .put_request(
                PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map_err(backend)?,
            )
            .build())
    }

    fn delete_request(pk: &str, sk: &str) -> StoreResult<WriteRequest> {
        Ok(WriteRequest::builder()
            .delete_request(
                DeleteRequest::builder()
                    .key("pk", s(pk))
                    .key("sk", s(sk))
                    .build()
                    .map_err(backend)?,
            )
            .build())
    }

    /// Customer-date index items (idempotent puts).
    fn date_index_items(
        pairs: &BTreeSet<(String, String, NaiveDate)>,
    ) -> StoreResult<Vec<WriteRequest>> {
        pairs
            .iter()
            .map(|(p, c, d)| {
                let (pk, sk) = keys::date_index_key(p, c, *d);
                Self::put_request(item(vec![
                    ("pk", s(pk)),
                    ("sk", s(sk)),
                    ("partnerId", s(p.as_str())),
                    ("customerId", s(c.as_str())),
                ]))
            })
            .collect()
    }

    /// Runs one transaction, retrying (bounded, with backoff) while it is throttled or meets
    /// another transaction on the same items. `Ok(false)`: a condition failed.
    async fn transact(&self, items: Vec<TransactWriteItem>, token: String) -> StoreResult<bool> {
        let mut attempt = 0;
        loop {
            let r = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .client_request_token(&token)
                .send()
                .await;
            let err = match r {
                Ok(_) => return Ok(true),
                Err(e) => e,
            };
            let retry = match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                    let codes: Vec<&str> = c
                        .cancellation_reasons()
                        .iter()
                        .filter_map(|r| r.code())
                        .collect();
                    if codes.contains(&"ConditionalCheckFailed") {
                        return Ok(false);
                    }
                    codes.iter().any(|c| {
                        matches!(
                            *c,
                            "TransactionConflict"
                                | "ThrottlingError"
                                | "ProvisionedThroughputExceeded"
                                | "RequestLimitExceeded"
                        )
                    })
                }
                Some(TransactWriteItemsError::TransactionInProgressException(_)) => true,
                Some(TransactWriteItemsError::ProvisionedThroughputExceededException(_)) => true,
                Some(TransactWriteItemsError::RequestLimitExceeded(_)) => true,
                _ => false,
            };
            attempt += 1;
            if !retry || attempt >= MAX_ATTEMPTS {
                return Err(sdk("TransactWriteItems")(err));
            }
            backoff(attempt).await;
        }
    }

    /// Whether (partner, customer) has usage pointers or heads on `date`: the customer-date
    /// index, read for 100 dates at once with one `BatchGetItem` and kept for
    /// [`PRESENCE_FOR`]. The index is written before the pointers and heads it announces and
    /// is never removed, so "present" never goes stale; "absent" may, for other writers, for
    /// at most [`PRESENCE_FOR`].
    async fn has_data(&self, partner: &str, customer: &str, date: NaiveDate) -> StoreResult<bool> {
        let id = (partner.to_string(), customer.to_string());
        if let Ok(m) = self.presence.lock() {
            if let Some(p) = m.get(&id) {
                if p.read_at.elapsed() < PRESENCE_FOR && p.from <= date && date <= p.through {
                    return Ok(p.dates.contains(&date));
                }
            }
        }
        let read_at = std::time::Instant::now();
        let through = date
            .checked_add_signed(chrono::Duration::days(PRESENCE_WINDOW - 1))
            .unwrap_or(date);
        let mut keys_by_sk: HashMap<(String, String), NaiveDate> = HashMap::new();
        let mut d = date;
        while d <= through {
            keys_by_sk.insert(keys::date_index_key(partner, customer, d), d);
            d = match d.succ_opt() {
                Some(n) => n,
                None => break,
            };
        }
        let mut pending: Vec<Item> = keys_by_sk
            .keys()
            .map(|(pk, sk)| item(vec![("pk", s(pk.as_str())), ("sk", s(sk.as_str()))]))
            .collect();
        let mut dates = BTreeSet::new();
        let mut attempt = 0;
        while !pending.is_empty() {
            let ka = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(backend)?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.state_table, ka)
                .send()
                .await
                .map_err(sdk("BatchGetItem"))?;
            for i in out
                .responses
                .as_ref()
                .and_then(|r| r.get(&self.state_table))
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                let k = (get_s(i, "pk")?.to_string(), get_s(i, "sk")?.to_string());
                if let Some(d) = keys_by_sk.get(&k) {
                    dates.insert(*d);
                }
            }
            pending = out
                .unprocessed_keys
                .and_then(|mut m| m.remove(&self.state_table))
                .map(|ka| ka.keys)
                .unwrap_or_default();
            if !pending.is_empty() {
                attempt += 1;
                if attempt >= MAX_ATTEMPTS {
                    return Err(backend("DynamoDB BatchGetItem: keys still unprocessed"));
                }
                backoff(attempt).await;
            }
        }
        let found = dates.contains(&date);
        if let Ok(mut m) = self.presence.lock() {
            m.insert(
                id,
                Presence {
                    read_at,
                    from: date,
                    through,
                    dates,
                },
            );
        }
        Ok(found)
    }

    /// Dates this store has just indexed.
    fn note_present(&self, pairs: &BTreeSet<(String, String, NaiveDate)>) {
        if let Ok(mut m) = self.presence.lock() {
            for (p, c, d) in pairs {
                if let Some(entry) = m.get_mut(&(p.clone(), c.clone())) {
                    entry.dates.insert(*d);
                }
            }
        }
    }

    /// Forgets what is known of customers whose heads another writer changed.
    fn forget_presence(&self, batch: &[Append]) {
        if let Ok(mut m) = self.presence.lock() {
            for a in batch {
                let k = &a.entry.key;
                m.remove(&(k.partner_id.clone(), k.customer_id.clone()));
            }
        }
    }

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
            self.batch_write(&self.state_table, Self::date_index_items(&firsts)?)
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
                deletes.push(Self::delete_request(get_s(&i, "pk")?, get_s(&i, "sk")?)?);
            }
            self.batch_write(&self.state_table, deletes).await?;
        }
        Ok(())
    }
}

/// One `BatchWriteItem` of ≤ 25 requests, resent until nothing is unprocessed.
async fn write_batch(
    client: Client,
    table: String,
    mut requests: Vec<WriteRequest>,
) -> StoreResult<()> {
    let mut attempt = 0;
    while !requests.is_empty() {
        let out = client
            .batch_write_item()
            .request_items(&table, requests)
            .send()
            .await
            .map_err(sdk("BatchWriteItem"))?;
        requests = out
            .unprocessed_items
            .and_then(|mut m| m.remove(&table))
            .unwrap_or_default();
        if !requests.is_empty() {
            attempt += 1;
            if attempt >= MAX_ATTEMPTS {
                return Err(backend(format!(
                    "DynamoDB BatchWriteItem: {} items still unprocessed after {attempt} attempts",
                    requests.len()
                )));
            }
            backoff(attempt).await;
        }
    }
    Ok(())
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
            requests.push(Self::put_request(item(vec![
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
            pointers.push(Self::put_request(item(vec![
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
            self.batch_write(&self.state_table, Self::date_index_items(&pairs)?)
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
                deletes.push(Self::delete_request(
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

/// One page of a query.
async fn query_page_with(
    client: &Client,
    q: &Query,
    start: Option<Item>,
) -> StoreResult<(Vec<Item>, Option<Item>)> {
    let mut req = client
        .query()
        .table_name(&q.table)
        .key_condition_expression(q.key_condition)
        .consistent_read(q.consistent)
        .set_exclusive_start_key(start);
    if let Some(i) = q.index {
        req = req.index_name(i);
    }
    for (k, v) in &q.values {
        req = req.expression_attribute_values(*k, v.clone());
    }
    let out = req.send().await.map_err(sdk("Query"))?;
    Ok((
        out.items.unwrap_or_default(),
        out.last_evaluated_key.filter(|k| !k.is_empty()),
    ))
}

/// Every page of a query.
async fn query_all_with(client: &Client, q: &Query) -> StoreResult<Vec<Item>> {
    let mut all = Vec::new();
    let mut start = None;
    loop {
        let (items, next) = query_page_with(client, q, start).await?;
        all.extend(items);
        match next {
            Some(k) => start = Some(k),
            None => return Ok(all),
        }
    }
}

impl PartnerStore for DynamoStore {
    fn add_secret(&self, partner_id: &str, secret: &WebhookSecret) -> StoreResult<()> {
        self.block_on(self.secrets.add(partner_id, secret))
    }

    fn revoke_secret(&self, partner_id: &str, secret: &str) -> StoreResult<bool> {
        self.block_on(self.secrets.revoke(partner_id, secret))
    }

    fn active_secrets(&self, partner_id: &str) -> StoreResult<Vec<WebhookSecret>> {
        self.block_on(self.secrets.active(partner_id))
    }
}
