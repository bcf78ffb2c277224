//! [`DynamoStore`] itself: its tables, clients and caches, the bridge from the synchronous
//! traits to the async SDK, and the request helpers every trait implementation shares.

use super::item::{s, sdk, Item};
use super::requests::{batch_write_with, get_item_with, query_page_with, transact_with, Query};
use crate::secrets::SsmSecrets;
use aws_sdk_dynamodb::types::{TransactWriteItem, WriteRequest};
use aws_sdk_dynamodb::Client;
use chrono::NaiveDate;
use pec_ledger::store::StoreResult;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// A customer-date: (partner, customer, date).
pub(super) type CustomerDate = (String, String, NaiveDate);

/// What the last read of a customer-date's heads found: each resource-day's `sk` prefix
/// (`{resource}#{currency}`), last seq and hash.
pub(super) type HeadsSeen = HashMap<String, (u32, String)>;
use tokio::runtime::Handle;

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
    pub(super) client: Client,
    pub(super) ledger_table: String,
    pub(super) state_table: String,
    pub(super) secrets: SsmSecrets,
    /// Upload ids known to be accepted (an accepted upload never stops being accepted).
    pub(super) committed: Mutex<HashSet<String>>,
    /// Evidence lists by digest (hex): read, or known to be stored.
    pub(super) evidence: Mutex<HashMap<String, Vec<String>>>,
    /// The heads each customer-date had when last read here, so an append can record the
    /// digest of the date's heads after it (for `verify`).
    pub(super) heads_seen: Mutex<HashMap<CustomerDate, HeadsSeen>>,
    /// What each upload in progress has staged (see `usage`).
    pub(super) staged: Mutex<HashMap<String, super::usage::Staged>>,
    /// What `for_each_head` counted per customer-date, for `record_breaks`.
    pub(super) tally: Mutex<Option<HashMap<CustomerDate, super::ledger::DayTally>>>,
}

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
            evidence: Mutex::new(HashMap::new()),
            heads_seen: Mutex::new(HashMap::new()),
            staged: Mutex::new(HashMap::new()),
            tally: Mutex::new(None),
        }
    }

    pub(super) fn block_on<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        self.rt.block_on(f)
    }

    async fn query_page(
        &self,
        q: &Query,
        start: Option<Item>,
    ) -> StoreResult<(Vec<Item>, Option<Item>)> {
        query_page_with(&self.client, q, start).await
    }

    /// Runs the query page by page, calling `visit` outside the runtime between pages.
    pub(super) fn query_each(
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
    pub(super) fn scan_each(
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

    pub(super) async fn get_item(
        &self,
        table: &str,
        pk: &str,
        sk: &str,
    ) -> StoreResult<Option<Item>> {
        get_item_with(&self.client, table, pk, sk).await
    }

    /// Writes (puts or deletes) in `BatchWriteItem`s of 25, a few in flight at once, retrying
    /// unprocessed items with exponential backoff until every one is written.
    pub(super) async fn batch_write(
        &self,
        table: &str,
        requests: Vec<WriteRequest>,
    ) -> StoreResult<()> {
        batch_write_with(&self.client, table, requests).await
    }

    /// Runs one transaction, retrying (bounded, with backoff) while it is throttled or meets
    /// another transaction on the same items. `Ok(false)`: a condition failed.
    pub(super) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
        token: String,
    ) -> StoreResult<bool> {
        transact_with(&self.client, items, token).await
    }
}
