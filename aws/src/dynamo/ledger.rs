//! [`LedgerStore`] for [`DynamoStore`] (table format 2): entries filed by customer-date, heads
//! folded from a date's entries, day marks with their version, and the appends that move both.
//!
//! A customer-date's mark (`MARK#{partner}#{customer}` / `{date}` in the state table) holds:
//! `v` the version (every write to the date's entries moves it on), `n` how many entries were
//! appended to the date, `fp` the fingerprint it was last settled from, `hd` the SHA-256 of its
//! heads after that (for `verify`). An append is one `TransactWriteItems` of ≤ 100 items: the
//! entries (each `attribute_not_exists`) and one update per customer-date they touch, conditional
//! on the version read before planning. See `aws/README.md` for why this is a transaction.

use super::codec::{decode, entry_item, Decoded};
use super::item::{b, backend, corrupt, get_n64, get_s, item, n64, opt_b, opt_s, s, Item};
use super::requests::{batch_get_with, put_request, query_all_with, request_token, Query};
use super::store::{CustomerDate, DynamoStore, HeadsSeen};
use crate::keys::{self, ONE};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use pec_ledger::ledger::{Entry, Head, LedgerBreak};
use pec_ledger::store::{
    Append, AppendOutcome, DayMark, EntryFilter, LedgerStore, MarkUpdate, StoreResult,
};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Items per `TransactWriteItems` (the service's limit).
pub const ITEMS_PER_TRANSACTION: usize = 100;
/// Kept for callers that size batches by it: at most this many entries go in one transaction
/// (at least one item is a customer-date's mark).
pub const ENTRIES_PER_TRANSACTION: usize = ITEMS_PER_TRANSACTION - 1;

/// What `verify` counts of one customer-date: its entries and the heads they end in.
#[derive(Debug, Default)]
pub(crate) struct DayTally {
    entries: u64,
    heads: HeadsSeen,
}

/// SHA-256 (hex) of a customer-date's heads: each resource-day's `{resource}#{currency}`, last
/// seq and hash, in that order.
fn heads_digest(heads: &HeadsSeen) -> Vec<u8> {
    let sorted: BTreeMap<&String, &(u32, String)> = heads.iter().collect();
    let mut h = Sha256::new();
    for (rd, (seq, hash)) in sorted {
        h.update(rd.as_bytes());
        h.update([0x1f]);
        h.update(seq.to_string().as_bytes());
        h.update([0x1f]);
        h.update(hash.as_bytes());
        h.update([0x1e]);
    }
    h.finalize().to_vec()
}

/// `{resource}#{currency}` of an entry's resource-day: its sort key without the seq.
fn rd_prefix(e: &Entry) -> String {
    format!("{}#{}", e.key.resource_id, e.key.currency)
}

/// Folds a customer-date's entries (in sort-key order) into its heads.
fn fold_heads(entries: impl IntoIterator<Item = Entry>) -> Vec<Head> {
    let mut heads: Vec<Head> = Vec::new();
    for e in entries {
        match heads.last_mut() {
            Some(h) if h.key == e.key => *h = Head::after(Some(h), &e),
            _ => heads.push(Head::after(None, &e)),
        }
    }
    heads
}

fn parse_date(text: &str) -> StoreResult<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(corrupt)
}

/// The pending mark change of one customer-date within an append.
struct DayWrite {
    /// The version the next transaction expects (`None`: no mark yet; unconditional when the
    /// append has no mark for the date).
    expected: Option<Option<u64>>,
    /// Entries of the date in this append, in order.
    entries: Vec<usize>,
    fingerprint: Option<String>,
}

impl DynamoStore {
    fn day_query(&self, date_pk: String, resource: Option<&str>, consistent: bool) -> Query {
        match resource {
            Some(r) => Query {
                table: self.ledger_table.clone(),
                index: None,
                key_condition: "pk = :pk AND begins_with(sk, :prefix)",
                values: vec![(":pk", s(date_pk)), (":prefix", s(format!("{r}#")))],
                consistent,
            },
            None => Query {
                table: self.ledger_table.clone(),
                index: None,
                key_condition: "pk = :pk",
                values: vec![(":pk", s(date_pk))],
                consistent,
            },
        }
    }

    /// Looks up evidence lists not yet known (one `BatchGetItem` per 100).
    async fn resolve_evidence(&self, digests: BTreeSet<String>) -> StoreResult<()> {
        let missing: Vec<(String, String)> = {
            let known = self.evidence.lock().map_err(backend)?;
            digests
                .into_iter()
                .filter(|d| !known.contains_key(d))
                .map(|d| (keys::evidence_pk(&d), ONE.to_string()))
                .collect()
        };
        if missing.is_empty() {
            return Ok(());
        }
        let found = batch_get_with(&self.client, &self.state_table, missing, false).await?;
        let mut known = self.evidence.lock().map_err(backend)?;
        for i in found {
            let pk = get_s(&i, "pk")?;
            let digest = pk.strip_prefix("EV#").unwrap_or(pk).to_string();
            let ids: Vec<String> = serde_json::from_str(get_s(&i, "ids")?).map_err(corrupt)?;
            known.insert(digest, ids);
        }
        Ok(())
    }

    /// Entries of items, their evidence resolved.
    async fn entries_of(&self, items: &[Item]) -> StoreResult<Vec<Entry>> {
        let decoded: Vec<Decoded> = items.iter().map(decode).collect::<StoreResult<_>>()?;
        let wanted: BTreeSet<String> = decoded.iter().filter_map(|d| d.evidence.clone()).collect();
        self.resolve_evidence(wanted).await?;
        let known = self.evidence.lock().map_err(backend)?;
        decoded
            .into_iter()
            .map(|d| {
                let mut e = d.entry;
                if let Some(digest) = d.evidence {
                    e.evidence = known.get(&digest).cloned().ok_or_else(|| {
                        corrupt(format!(
                            "evidence {digest} of ledger entry {} {} is missing",
                            e.key, e.seq
                        ))
                    })?;
                }
                Ok(e)
            })
            .collect()
    }

    /// The dates in `[from, through]` on which (partner, customer) has a mark, with the mark.
    async fn marks(
        &self,
        partner: &str,
        customer: &str,
        from: NaiveDate,
        through: NaiveDate,
    ) -> StoreResult<Vec<(NaiveDate, Item)>> {
        let q = Query {
            table: self.state_table.clone(),
            index: None,
            key_condition: "pk = :pk AND sk BETWEEN :lo AND :hi",
            values: vec![
                (":pk", s(keys::marks_pk(partner, customer))),
                (":lo", s(keys::day(from))),
                (":hi", s(keys::day(through))),
            ],
            consistent: true,
        };
        query_all_with(&self.client, &q)
            .await?
            .into_iter()
            .map(|i| Ok((parse_date(get_s(&i, "sk")?)?, i)))
            .collect()
    }

    /// Stores evidence lists this store has not stored or read yet (idempotent puts).
    async fn put_evidence(&self, lists: Vec<super::codec::Evidence>) -> StoreResult<()> {
        let mut fresh = Vec::new();
        {
            let mut known = self.evidence.lock().map_err(backend)?;
            let mut seen = HashSet::new();
            for ev in lists {
                if known.contains_key(&ev.digest) || !seen.insert(ev.digest.clone()) {
                    continue;
                }
                let ids: Vec<String> = serde_json::from_str(&ev.json).map_err(corrupt)?;
                known.insert(ev.digest.clone(), ids);
                fresh.push(put_request(item(vec![
                    ("pk", s(keys::evidence_pk(&ev.digest))),
                    ("sk", s(ONE)),
                    ("ids", s(ev.json)),
                ]))?);
            }
        }
        if fresh.is_empty() {
            return Ok(());
        }
        let written = self.batch_write(&self.state_table, fresh).await;
        if written.is_err() {
            // Not known to be stored after all: write them again next time.
            if let Ok(mut known) = self.evidence.lock() {
                known.clear();
            }
        }
        written
    }

    /// One update of a customer-date's mark in a transaction.
    #[allow(clippy::too_many_arguments)]
    fn mark_update(
        &self,
        day: &CustomerDate,
        expected: Option<Option<u64>>,
        entries: u64,
        last: bool,
        fingerprint: Option<&str>,
        heads: Option<&[u8]>,
    ) -> StoreResult<Update> {
        let (p, c, d) = day;
        let mut set = Vec::new();
        let mut add = Vec::new();
        let mut remove = Vec::new();
        let mut u = Update::builder()
            .table_name(&self.state_table)
            .key("pk", s(keys::marks_pk(p, c)))
            .key("sk", s(keys::day(*d)));
        match expected {
            Some(Some(v)) => {
                u = u
                    .condition_expression("v = :expected")
                    .expression_attribute_values(":expected", n64(v))
                    .expression_attribute_values(":next", n64(v + 1));
                set.push("v = :next");
            }
            Some(None) => {
                u = u
                    .condition_expression("attribute_not_exists(v)")
                    .expression_attribute_values(":next", n64(1));
                set.push("v = :next");
            }
            None => {
                u = u.expression_attribute_values(":one", n64(1));
                add.push("v :one");
            }
        }
        if entries > 0 {
            u = u.expression_attribute_values(":n", n64(entries));
            add.push("n :n");
        }
        match (last, fingerprint) {
            (true, Some(fp)) => {
                u = u.expression_attribute_values(":fp", s(fp));
                set.push("fp = :fp");
            }
            _ => remove.push("fp"),
        }
        match (last, heads) {
            (true, Some(h)) => {
                u = u.expression_attribute_values(":hd", b(h.to_vec()));
                set.push("hd = :hd");
            }
            _ => remove.push("hd"),
        }
        let mut expr = String::new();
        if !set.is_empty() {
            expr.push_str(&format!("SET {} ", set.join(", ")));
        }
        if !add.is_empty() {
            expr.push_str(&format!("ADD {} ", add.join(", ")));
        }
        if !remove.is_empty() {
            expr.push_str(&format!("REMOVE {}", remove.join(", ")));
        }
        u.update_expression(expr.trim()).build().map_err(backend)
    }

    /// Appends entries and moves marks, in transactions of ≤ 100 items (see the module).
    async fn append_days(&self, batch: &[Append], marks: &[MarkUpdate]) -> StoreResult<bool> {
        // Customer-dates in order of first appearance; dates with a mark but no entries last.
        let mut order: Vec<CustomerDate> = Vec::new();
        let mut days: HashMap<CustomerDate, DayWrite> = HashMap::new();
        for (i, a) in batch.iter().enumerate() {
            let k = &a.entry.key;
            let day = (k.partner_id.clone(), k.customer_id.clone(), k.usage_date);
            days.entry(day.clone())
                .or_insert_with(|| {
                    order.push(day);
                    DayWrite {
                        expected: None,
                        entries: Vec::new(),
                        fingerprint: None,
                    }
                })
                .entries
                .push(i);
        }
        for m in marks {
            let day = (m.partner_id.clone(), m.customer_id.clone(), m.usage_date);
            let w = days.entry(day.clone()).or_insert_with(|| {
                order.push(day);
                DayWrite {
                    expected: None,
                    entries: Vec::new(),
                    fingerprint: None,
                }
            });
            w.expected = Some(m.expected_version);
            w.fingerprint = Some(m.fingerprint.clone());
        }
        // Each date's heads after this append, where this store read them before.
        let mut after: HashMap<CustomerDate, Vec<u8>> = HashMap::new();
        {
            let mut seen = self.heads_seen.lock().map_err(backend)?;
            for day in &order {
                let Some(mut heads) = seen.remove(day) else {
                    continue;
                };
                for &i in &days[day].entries {
                    let e = &batch[i].entry;
                    heads.insert(rd_prefix(e), (e.seq, e.hash.clone()));
                }
                after.insert(day.clone(), heads_digest(&heads));
            }
        }
        let mut evidence = Vec::new();
        let mut items: Vec<Item> = Vec::with_capacity(batch.len());
        for a in batch {
            let (i, ev) = entry_item(&a.entry)?;
            items.push(i);
            evidence.extend(ev);
        }
        self.put_evidence(evidence).await?;
        // Fill transactions: a date's entries, then its mark update (one per date per
        // transaction; a date larger than a transaction takes several, each moving its version).
        let mut tx: Vec<TransactWriteItem> = Vec::new();
        let mut token: Vec<String> = Vec::new();
        for day in &order {
            let w = days
                .get_mut(day)
                .ok_or_else(|| backend("append: day lost"))?;
            let mut pending: &[usize] = &w.entries;
            loop {
                // Room for the date's mark and, when it has entries left, at least one of them.
                let need = if pending.is_empty() { 1 } else { 2 };
                if tx.len() + need > ITEMS_PER_TRANSACTION
                    && !self.commit(&mut tx, &mut token).await?
                {
                    return Ok(false);
                }
                let room = ITEMS_PER_TRANSACTION - tx.len() - 1;
                let take = pending.len().min(room);
                for &i in &pending[..take] {
                    tx.push(
                        TransactWriteItem::builder()
                            .put(
                                Put::builder()
                                    .table_name(&self.ledger_table)
                                    .set_item(Some(items[i].clone()))
                                    .condition_expression("attribute_not_exists(pk)")
                                    .build()
                                    .map_err(backend)?,
                            )
                            .build(),
                    );
                    token.push(batch[i].entry.hash.clone());
                }
                pending = &pending[take..];
                let last = pending.is_empty();
                let update = self.mark_update(
                    day,
                    w.expected,
                    take as u64,
                    last,
                    w.fingerprint.as_deref(),
                    after.get(day).map(Vec::as_slice),
                )?;
                tx.push(TransactWriteItem::builder().update(update).build());
                token.push(format!("{} {} {} {:?}", day.0, day.1, day.2, w.expected));
                // The next transaction touching the date expects the version this one sets.
                w.expected = match w.expected {
                    Some(Some(v)) => Some(Some(v + 1)),
                    Some(None) => Some(Some(1)),
                    None => None,
                };
                if last {
                    break;
                }
            }
        }
        if !tx.is_empty() && !self.commit(&mut tx, &mut token).await? {
            return Ok(false);
        }
        Ok(true)
    }

    async fn commit(
        &self,
        tx: &mut Vec<TransactWriteItem>,
        token: &mut Vec<String>,
    ) -> StoreResult<bool> {
        let parts: Vec<&str> = token.iter().map(String::as_str).collect();
        let t = request_token(&parts);
        let done = self.transact(std::mem::take(tx), t).await?;
        token.clear();
        Ok(done)
    }

    /// Moves the latest posting on to `at` (never back).
    async fn note_posting(&self, at: DateTime<Utc>) -> StoreResult<()> {
        let Some(nanos) = at.timestamp_nanos_opt() else {
            return Ok(());
        };
        let r = self
            .client
            .update_item()
            .table_name(&self.state_table)
            .key("pk", s(keys::LATEST_PK))
            .key("sk", s(ONE))
            .update_expression("SET #at = :at")
            .condition_expression("attribute_not_exists(#at) OR #at < :at")
            .expression_attribute_names("#at", "at")
            .expression_attribute_values(":at", AttributeValue::N(nanos.to_string()))
            .send()
            .await;
        super::item::unless_condition_failed("UpdateItem", r)
    }

    /// Scans the ledger table's format 2 entries, page by page.
    fn scan_entries(&self, visit: &mut dyn FnMut(&Item) -> StoreResult<()>) -> StoreResult<()> {
        self.scan_each(&self.ledger_table, None, &mut |i| {
            // Format 1 items (`RD#…`), kept after an upgrade, are not this ledger's.
            if get_s(i, "pk")?.starts_with("RD#") {
                return Ok(());
            }
            visit(i)
        })
    }

    /// (partner, customer) pairs of a partner whose usage months meet `[from, through]`.
    pub(super) fn partner_customers(
        &self,
        partner: &str,
        from: NaiveDate,
        through: NaiveDate,
    ) -> StoreResult<BTreeSet<String>> {
        let mut out = BTreeSet::new();
        let q = Query {
            table: self.state_table.clone(),
            index: None,
            key_condition: "pk = :pk AND sk BETWEEN :lo AND :hi",
            values: vec![
                (":pk", s(keys::customers_pk(partner))),
                (":lo", s(keys::month_of(from))),
                (":hi", s(format!("{}#\u{ffff}", keys::month_of(through)))),
            ],
            consistent: true,
        };
        self.query_each(&q, &mut |i| {
            let sk = get_s(i, "sk")?;
            if let Some((_, customer)) = sk.split_once('#') {
                out.insert(customer.to_string());
            }
            Ok(())
        })?;
        Ok(out)
    }
}

impl LedgerStore for DynamoStore {
    /// One consistent query of the customer-date's entries, folded into heads.
    fn heads(
        &self,
        partner_id: &str,
        customer_id: &str,
        date: NaiveDate,
    ) -> StoreResult<Vec<Head>> {
        let q = self.day_query(keys::day_pk(partner_id, customer_id, date), None, true);
        let items = self.block_on(query_all_with(&self.client, &q))?;
        let entries: Vec<Entry> = items
            .iter()
            .map(|i| decode(i).map(|d| d.entry))
            .collect::<StoreResult<_>>()?;
        let heads = fold_heads(entries);
        let seen: HeadsSeen = heads
            .iter()
            .map(|h| {
                (
                    format!("{}#{}", h.key.resource_id, h.key.currency),
                    (h.seq, h.hash.clone()),
                )
            })
            .collect();
        if let Ok(mut m) = self.heads_seen.lock() {
            m.insert(
                (partner_id.to_string(), customer_id.to_string(), date),
                seen,
            );
        }
        Ok(heads)
    }

    fn append(&self, batch: &[Append]) -> StoreResult<AppendOutcome> {
        self.append_marked(batch, &[])
    }

    /// Appends in transactions of ≤ 100 items: entries with one mark update per customer-date,
    /// conditional on its version. Each transaction is all or nothing; a batch larger than one
    /// is not atomic as a whole: when a later transaction meets a conflict, the earlier ones stay
    /// (their dates' versions moved on, their fingerprints cleared) and `Conflict` is returned.
    /// Settlement then re-plans those dates from the heads and finds them at their value.
    fn append_marked(&self, batch: &[Append], marks: &[MarkUpdate]) -> StoreResult<AppendOutcome> {
        for a in batch {
            let e = &a.entry;
            let chains = (e.seq == 0) == e.prev_hash.is_empty();
            if !chains || a.head.seq != e.seq || a.head.hash != e.hash || a.head.key != e.key {
                return Ok(AppendOutcome::Conflict);
            }
        }
        if batch.is_empty() && marks.is_empty() {
            return Ok(AppendOutcome::Appended);
        }
        let done = self.block_on(async {
            let done = self.append_days(batch, marks).await?;
            if done {
                if let Some(at) = batch.iter().map(|a| a.entry.posted_at).max() {
                    self.note_posting(at).await?;
                }
            }
            Ok::<_, pec_ledger::store::StoreError>(done)
        });
        if let Ok(mut m) = self.heads_seen.lock() {
            m.clear();
        }
        Ok(if done? {
            AppendOutcome::Appended
        } else {
            AppendOutcome::Conflict
        })
    }

    /// With a partner and a usage date range: the partner's customers with usage in those months,
    /// their marked dates, and one query per customer-date (with a resource, only its
    /// subscription's customers and its sort-key range). Otherwise the ledger is scanned.
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
        let (Some(partner), Some(from), Some(through)) =
            (&filter.partner_id, filter.usage_from, filter.usage_through)
        else {
            // A scan returns each partition's items together and in sort-key order, so a
            // resource-day's entries come together; they are decoded a page at a time.
            let mut page: Vec<Item> = Vec::new();
            let mut flush = |page: &mut Vec<Item>| -> StoreResult<()> {
                for e in self.block_on(self.entries_of(page))? {
                    if keep(&e) {
                        visit(e)?;
                    }
                }
                page.clear();
                Ok(())
            };
            self.scan_entries(&mut |i| {
                page.push(i.clone());
                if page.len() >= 500 {
                    flush(&mut page)?;
                }
                Ok(())
            })?;
            return flush(&mut page);
        };
        let customers: BTreeSet<String> = match filter
            .resource_id
            .as_deref()
            .and_then(super::codec::subscription_of)
        {
            Some(sub) => {
                let q = Query {
                    table: self.state_table.clone(),
                    index: None,
                    key_condition: "pk = :pk",
                    values: vec![(":pk", s(keys::subscription_pk(partner, sub)))],
                    consistent: true,
                };
                let mut out = BTreeSet::new();
                self.query_each(&q, &mut |i| {
                    out.insert(get_s(i, "sk")?.to_string());
                    Ok(())
                })?;
                out
            }
            None => self.partner_customers(partner, from, through)?,
        };
        for customer in customers {
            let dates = self.block_on(self.marks(partner, &customer, from, through))?;
            for (date, _) in dates {
                let q = self.day_query(
                    keys::day_pk(partner, &customer, date),
                    filter.resource_id.as_deref(),
                    filter.resource_id.is_some(),
                );
                let mut start = None;
                loop {
                    let (items, next) =
                        self.block_on(super::requests::query_page_with(&self.client, &q, start))?;
                    for e in self.block_on(self.entries_of(&items))? {
                        if keep(&e) {
                            visit(e)?;
                        }
                    }
                    match next {
                        Some(k) => start = Some(k),
                        None => break,
                    }
                }
            }
        }
        Ok(())
    }

    /// The sparse `PriorPeriod` index (keys only) holds exactly the entries whose usage month is
    /// before their posting month: its shards of each posting month, then the items themselves.
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
        let first = from.date_naive().with_day(1).unwrap_or(from.date_naive());
        let last = to - chrono::Duration::microseconds(1);
        for (month, _, _) in keys::months(from.date_naive(), last.date_naive()) {
            for shard in 0..keys::PRIOR_SHARDS {
                let q = Query {
                    table: self.ledger_table.clone(),
                    index: Some("PriorPeriod"),
                    key_condition: "ppk = :pk AND psk BETWEEN :lo AND :hi",
                    values: vec![
                        (":pk", s(keys::prior_pk(partner_id, &month, shard))),
                        (":lo", s(keys::ts(from))),
                        (":hi", s(keys::ts(to))),
                    ],
                    consistent: false,
                };
                let found = self.block_on(query_all_with(&self.client, &q))?;
                let wanted: Vec<(String, String)> = found
                    .iter()
                    .map(|i| Ok((get_s(i, "pk")?.to_string(), get_s(i, "sk")?.to_string())))
                    .collect::<StoreResult<_>>()?;
                let mut items = self.block_on(batch_get_with(
                    &self.client,
                    &self.ledger_table,
                    wanted,
                    false,
                ))?;
                items.sort_by(|a, b| {
                    (opt_s(a, "pk"), opt_s(a, "sk")).cmp(&(opt_s(b, "pk"), opt_s(b, "sk")))
                });
                for e in self.block_on(self.entries_of(&items))? {
                    if e.key.partner_id == partner_id
                        && e.posted_at >= from
                        && e.posted_at < to
                        && e.key.usage_date < first
                    {
                        visit(e)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Heads folded from a scan of the ledger (only `verify` reads every head); what each
    /// customer-date holds is kept for [`LedgerStore::record_breaks`].
    fn for_each_head(&self, visit: &mut dyn FnMut(Head) -> StoreResult<()>) -> StoreResult<()> {
        let mut by_rd: BTreeMap<(String, String), Vec<Entry>> = BTreeMap::new();
        let mut unreadable = 0u64;
        self.scan_entries(&mut |i| {
            let pk = get_s(i, "pk")?.to_string();
            match decode(i) {
                Ok(d) => by_rd
                    .entry((pk, rd_prefix(&d.entry)))
                    .or_default()
                    .push(d.entry),
                // `for_each_entry` names it; heads are what can be read.
                Err(_) => unreadable += 1,
            }
            Ok(())
        })?;
        let mut tally: HashMap<CustomerDate, DayTally> = HashMap::new();
        let mut heads = Vec::new();
        for (_, mut entries) in by_rd {
            entries.sort_by_key(|e| e.seq);
            for e in &entries {
                let k = &e.key;
                let t = tally
                    .entry((k.partner_id.clone(), k.customer_id.clone(), k.usage_date))
                    .or_default();
                t.entries += 1;
                t.heads.insert(rd_prefix(e), (e.seq, e.hash.clone()));
            }
            heads.extend(fold_heads(entries));
        }
        if let Ok(mut t) = self.tally.lock() {
            *t = (unreadable == 0).then_some(tally);
        }
        heads.sort_by(|a, b| a.key.cmp(&b.key));
        for h in heads {
            visit(h)?;
        }
        Ok(())
    }

    /// Each customer-date's entries against its mark: how many were appended (`n`) and the
    /// digest of its heads when last settled (`hd`). An entry deleted, or added, outside the
    /// ledger is found here even where the chains still hold (the last entry of a resource-day,
    /// or all of them).
    fn record_breaks(&self) -> StoreResult<Vec<LedgerBreak>> {
        let tally = match self.tally.lock().map_err(backend)?.take() {
            Some(t) => t,
            None => {
                // Not counted by `for_each_head` (or an entry there did not read: it is named
                // by the walk already).
                return Ok(Vec::new());
            }
        };
        let mut marks: BTreeMap<CustomerDate, (u64, Option<Vec<u8>>)> = BTreeMap::new();
        self.scan_each(
            &self.state_table,
            Some(("begins_with(pk, :prefix)", "MARK#")),
            &mut |i| {
                let pk = get_s(i, "pk")?;
                let mut parts = pk.splitn(3, '#').skip(1);
                let (Some(p), Some(c)) = (parts.next(), parts.next()) else {
                    return Ok(());
                };
                let n = if i.contains_key("n") {
                    get_n64(i, "n")?
                } else {
                    0
                };
                marks.insert(
                    (p.to_string(), c.to_string(), parse_date(get_s(i, "sk")?)?),
                    (n, opt_b(i, "hd").map(<[u8]>::to_vec)),
                );
                Ok(())
            },
        )?;
        let mut breaks = Vec::new();
        let days: BTreeSet<&CustomerDate> = marks.keys().chain(tally.keys()).collect();
        for day in days {
            let name = format!("customer-date {} {} {}", day.0, day.1, day.2);
            let (held, heads) = match tally.get(day) {
                Some(t) => (t.entries, Some(&t.heads)),
                None => (0, None),
            };
            let (appended, recorded) = match marks.get(day) {
                Some((n, hd)) => (*n, hd.as_deref()),
                None => (0, None),
            };
            if held != appended {
                breaks.push(LedgerBreak {
                    resource_day: name,
                    seq: None,
                    problem: format!(
                        "{appended} entries were appended to this customer-date, the ledger holds {held} (entries deleted or added outside the ledger)"
                    ),
                });
                continue;
            }
            if let (Some(recorded), Some(heads)) = (recorded, heads) {
                if heads_digest(heads) != recorded {
                    breaks.push(LedgerBreak {
                        resource_day: name,
                        seq: None,
                        problem: "the customer-date's last entries are not those it was settled with (entries replaced outside the ledger)".into(),
                    });
                }
            }
        }
        Ok(breaks)
    }

    fn latest_posting(&self) -> StoreResult<Option<DateTime<Utc>>> {
        let found = self.block_on(self.get_item(&self.state_table, keys::LATEST_PK, ONE))?;
        Ok(match found.as_ref().and_then(|i| i.get("at")) {
            Some(AttributeValue::N(n)) => Some(DateTime::from_timestamp_nanos(
                n.parse::<i64>().map_err(corrupt)?,
            )),
            _ => None,
        })
    }

    fn day_marks(
        &self,
        partner_id: &str,
        customer_id: &str,
        from: NaiveDate,
        through: NaiveDate,
    ) -> StoreResult<Option<Vec<DayMark>>> {
        let marks = self.block_on(self.marks(partner_id, customer_id, from, through))?;
        marks
            .into_iter()
            .map(|(usage_date, i)| {
                Ok(DayMark {
                    usage_date,
                    version: get_n64(&i, "v")?,
                    fingerprint: opt_s(&i, "fp").unwrap_or_default().to_string(),
                })
            })
            .collect::<StoreResult<Vec<_>>>()
            .map(Some)
    }
}
