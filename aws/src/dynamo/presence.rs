//! The customer-date index: its items (written before the usage pointers and heads they
//! announce) and the per-container cache of which dates of a customer have data.

use super::item::{backend, get_s, item, s, sdk, Item};
use super::requests::{put_request, MAX_ATTEMPTS};
use crate::keys;
use crate::retry::backoff;
use aws_sdk_dynamodb::types::{KeysAndAttributes, WriteRequest};
use aws_sdk_dynamodb::Client;
use chrono::NaiveDate;
use pec_ledger::store::{Append, StoreResult};
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

/// How long a customer's dates-with-data are trusted. Dates this store writes are added at
/// once; another process's new dates are seen after at most this long (a settlement running
/// at that very moment settles them on its next run, as if they had arrived a little later).
const PRESENCE_FOR: std::time::Duration = std::time::Duration::from_secs(30);
/// Dates read at once (one `BatchGetItem` holds at most 100 keys).
const PRESENCE_WINDOW: i64 = 100;

/// Dates with data of one customer over a window, as read at `read_at`.
#[derive(Debug, Clone)]
struct Presence {
    read_at: std::time::Instant,
    from: NaiveDate,
    through: NaiveDate,
    dates: BTreeSet<NaiveDate>,
}

/// Per (partner, customer): the dates of a window that have usage or heads (from the
/// customer-date index), so settlement skips the look-back days without data.
#[derive(Debug, Default)]
pub(super) struct PresenceCache {
    by_customer: Mutex<HashMap<(String, String), Presence>>,
}

impl PresenceCache {
    /// Whether (partner, customer) has usage pointers or heads on `date`: the customer-date
    /// index in `table`, read for 100 dates at once with one `BatchGetItem` and kept for
    /// [`PRESENCE_FOR`]. The index is written before the pointers and heads it announces and
    /// is never removed, so "present" never goes stale; "absent" may, for other writers, for
    /// at most [`PRESENCE_FOR`].
    pub(super) async fn has_data(
        &self,
        client: &Client,
        table: &str,
        partner: &str,
        customer: &str,
        date: NaiveDate,
    ) -> StoreResult<bool> {
        let id = (partner.to_string(), customer.to_string());
        if let Ok(m) = self.by_customer.lock() {
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
            let out = client
                .batch_get_item()
                .request_items(table, ka)
                .send()
                .await
                .map_err(sdk("BatchGetItem"))?;
            for i in out
                .responses
                .as_ref()
                .and_then(|r| r.get(table))
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
        let found = dates.contains(&date);
        if let Ok(mut m) = self.by_customer.lock() {
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
    pub(super) fn note_present(&self, pairs: &BTreeSet<(String, String, NaiveDate)>) {
        if let Ok(mut m) = self.by_customer.lock() {
            for (p, c, d) in pairs {
                if let Some(entry) = m.get_mut(&(p.clone(), c.clone())) {
                    entry.dates.insert(*d);
                }
            }
        }
    }

    /// Forgets what is known of customers whose heads another writer changed.
    pub(super) fn forget(&self, batch: &[Append]) {
        if let Ok(mut m) = self.by_customer.lock() {
            for a in batch {
                let k = &a.entry.key;
                m.remove(&(k.partner_id.clone(), k.customer_id.clone()));
            }
        }
    }
}

/// Customer-date index items (idempotent puts).
pub(super) fn date_index_items(
    pairs: &BTreeSet<(String, String, NaiveDate)>,
) -> StoreResult<Vec<WriteRequest>> {
    pairs
        .iter()
        .map(|(p, c, d)| {
            let (pk, sk) = keys::date_index_key(p, c, *d);
            put_request(item(vec![
                ("pk", s(pk)),
                ("sk", s(sk)),
                ("partnerId", s(p.as_str())),
                ("customerId", s(c.as_str())),
            ]))
        })
        .collect()
}
