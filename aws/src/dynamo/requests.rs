//! The DynamoDB requests the store is built from, on a bare [`Client`]: paged queries, item
//! reads, batched writes and transactions, with bounded retries (backoff) where the SDK has none.

use super::item::{backend, s, sdk, Item};
use crate::retry::backoff;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, PutRequest, TransactWriteItem, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use pec_ledger::store::StoreResult;
use sha2::{Digest, Sha256};

/// Items per `BatchWriteItem` (the service's limit).
const BATCH_WRITE_ITEMS: usize = 25;
/// `BatchWriteItem` requests in flight at once.
const BATCH_WRITE_CONCURRENCY: usize = 8;
/// Bounded retries of unprocessed items and throttled or conflicting transactions.
pub(super) const MAX_ATTEMPTS: u32 = 12;

/// One query: a key condition on a table or index, read page by page.
#[derive(Debug, Clone)]
pub(crate) struct Query {
    pub(super) table: String,
    pub(super) index: Option<&'static str>,
    pub(super) key_condition: &'static str,
    pub(super) values: Vec<(&'static str, AttributeValue)>,
    pub(super) consistent: bool,
}

/// A `ClientRequestToken` (≤ 36 characters) derived from the request's content, so a retry of
/// a transaction that did commit (its response lost) is recognised and not applied twice.
pub(super) fn request_token(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0x1f]);
    }
    hex::encode(h.finalize())[..32].to_string()
}

pub(super) fn put_request(item: Item) -> StoreResult<WriteRequest> {
    Ok(WriteRequest::builder()
        .put_request(
            PutRequest::builder()
                .set_item(Some(item))
                .build()
                .map_err(backend)?,
        )
        .build())
}

pub(super) fn delete_request(pk: &str, sk: &str) -> StoreResult<WriteRequest> {
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

/// One page of a query.
pub(super) async fn query_page_with(
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
pub(super) async fn query_all_with(client: &Client, q: &Query) -> StoreResult<Vec<Item>> {
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

/// A consistent read of one item.
pub(super) async fn get_item_with(
    client: &Client,
    table: &str,
    pk: &str,
    sk: &str,
) -> StoreResult<Option<Item>> {
    let out = client
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
pub(super) async fn batch_write_with(
    client: &Client,
    table: &str,
    requests: Vec<WriteRequest>,
) -> StoreResult<()> {
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
                    set.spawn(write_batch(client.clone(), table.to_string(), c));
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

/// Runs one transaction, retrying (bounded, with backoff) while it is throttled or meets
/// another transaction on the same items. `Ok(false)`: a condition failed.
pub(super) async fn transact_with(
    client: &Client,
    items: Vec<TransactWriteItem>,
    token: String,
) -> StoreResult<bool> {
    let mut attempt = 0;
    loop {
        let r = client
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

/// Items by key (`pk`, `sk`) with `BatchGetItem`s of ≤ 100 keys, unprocessed keys resent with
/// backoff (bounded). Missing items are left out; the order is not the keys'.
pub(super) async fn batch_get_with(
    client: &Client,
    table: &str,
    keys: Vec<(String, String)>,
    consistent: bool,
) -> StoreResult<Vec<Item>> {
    use aws_sdk_dynamodb::types::KeysAndAttributes;
    let mut out = Vec::with_capacity(keys.len());
    let mut keys = keys.into_iter().peekable();
    while keys.peek().is_some() {
        let mut pending: Vec<Item> = keys
            .by_ref()
            .take(100)
            .map(|(pk, sk)| Item::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))]))
            .collect();
        let mut attempt = 0;
        while !pending.is_empty() {
            let ka = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(consistent)
                .build()
                .map_err(backend)?;
            let got = client
                .batch_get_item()
                .request_items(table, ka)
                .send()
                .await
                .map_err(sdk("BatchGetItem"))?;
            if let Some(mut r) = got.responses {
                out.extend(r.remove(table).unwrap_or_default());
            }
            pending = got
                .unprocessed_keys
                .and_then(|mut m| m.remove(table))
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
    }
    Ok(out)
}
