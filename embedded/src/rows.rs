//! How entries, heads and usage are laid out in `pec.db`'s format 2 tables, both ways.

use chrono::{DateTime, NaiveDate, Utc};
use pec_ledger::decimal::{fmt_amount, parse_stored};
use pec_ledger::ledger::{amount_map, Entry, EntryKind, Figures, Head, ResourceDayKey};
use pec_ledger::reasons::{DayStatus, IneligibleReason, LossReason};
use pec_ledger::store::block::blocks_of;
pub use pec_ledger::store::block::usage_from_block;
use pec_ledger::store::{StoreError, StoreResult, UsageAggregate};
use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension, Row};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

pub fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub fn parse_day(text: &str) -> StoreResult<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|e| StoreError::Corrupt(format!("date {text:?}: {e}")))
}

/// A time as `runs.posted_at` keeps it: RFC 3339 UTC with nanoseconds, fixed width (so text
/// order is time order) and exact (an entry's `postedAt` is part of its hash).
pub fn exact_ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

pub fn parse_ts(text: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("time {text:?}: {e}")))
}

/// A reason → amount map as JSON text (exact amounts), `None` when empty.
#[derive(Serialize, Deserialize)]
#[serde(bound = "K: Serialize + serde::de::DeserializeOwned + Ord")]
struct Reasons<K>(#[serde(with = "amount_map")] BTreeMap<K, Decimal>);

fn reasons_text<K: Serialize + serde::de::DeserializeOwned + Ord + Clone>(
    m: &BTreeMap<K, Decimal>,
) -> Option<String> {
    if m.is_empty() {
        return None;
    }
    serde_json::to_string(&Reasons(m.clone())).ok()
}

fn reasons_of<K: Serialize + serde::de::DeserializeOwned + Ord>(
    text: Option<String>,
) -> Result<BTreeMap<K, Decimal>, String> {
    match text {
        None => Ok(BTreeMap::new()),
        Some(t) => serde_json::from_str::<Reasons<K>>(&t)
            .map(|r| r.0)
            .map_err(|e| e.to_string()),
    }
}

fn hex32(bytes: &[u8]) -> String {
    pec_ledger::decimal::to_hex(bytes)
}

/// A digest as stored: SHA-256 hex (what pec writes) as its 32 bytes, anything else as text, so
/// that every entry reads back exactly as it was appended.
fn digest_value(text: &str) -> rusqlite::types::Value {
    let hex64 = text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    match hex::decode(text) {
        Ok(bytes) if hex64 => rusqlite::types::Value::Blob(bytes),
        _ => rusqlite::types::Value::Text(text.to_string()),
    }
}

/// A digest column read back ([`digest_value`]); `None` for NULL.
fn digest_text(r: &Row<'_>, i: usize) -> StoreResult<Option<String>> {
    use rusqlite::types::ValueRef;
    Ok(match r.get_ref(i).map_err(backend)? {
        ValueRef::Null => None,
        ValueRef::Blob(b) => Some(hex32(b)),
        ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
        other => Some(format!("{other:?}")),
    })
}

/// Where a format 1 entry was filed (its row's key columns).
pub struct Filed {
    pub partner_id: String,
    pub customer_id: String,
    pub subscription_id: String,
    pub resource_id: String,
    pub usage_date: String,
    pub currency: String,
    pub seq: u32,
}

/// Whether an entry's own key and seq are where its row was filed.
pub fn is_filed_as(e: &Entry, f: &Filed) -> bool {
    let k = &e.key;
    k.partner_id == f.partner_id
        && k.customer_id == f.customer_id
        && k.subscription_id == f.subscription_id
        && k.resource_id == f.resource_id
        && day(k.usage_date) == f.usage_date
        && k.currency == f.currency
        && e.seq == f.seq
}

/// Whether a format 1 entry (its stored JSON `json`, `hash` set) reads back from format 2's
/// columns as exactly the same text and hash: its JSON is canonical and its hash is right.
pub fn fits_columns(e: &Entry, json: &str) -> bool {
    e.canonical_json() == json && e.compute_hash() == e.hash
}

/// Writes entries, heads and marks in one transaction, remembering the references it made.
pub struct Writer<'c> {
    conn: &'c Connection,
    resources: HashMap<(String, String, String, String, String), i64>,
    runs: HashMap<(String, String), i64>,
    evidence: HashSet<Vec<u8>>,
}

impl<'c> Writer<'c> {
    pub fn new(conn: &'c Connection) -> StoreResult<Writer<'c>> {
        Ok(Writer {
            conn,
            resources: HashMap::new(),
            runs: HashMap::new(),
            evidence: HashSet::new(),
        })
    }

    /// The reference of a resource (created when new).
    pub fn resource_ref(&mut self, k: &ResourceDayKey) -> StoreResult<i64> {
        self.resource_ref_of(
            &k.partner_id,
            &k.customer_id,
            &k.subscription_id,
            &k.resource_id,
            &k.currency,
        )
    }

    fn resource_ref_of(
        &mut self,
        partner: &str,
        customer: &str,
        subscription: &str,
        resource: &str,
        currency: &str,
    ) -> StoreResult<i64> {
        let key = (
            partner.to_string(),
            customer.to_string(),
            subscription.to_string(),
            resource.to_string(),
            currency.to_string(),
        );
        if let Some(r) = self.resources.get(&key) {
            return Ok(*r);
        }
        let found: Option<i64> = self
            .conn
            .prepare_cached(
                "SELECT resource_ref FROM resources WHERE partner_id = ?1 AND customer_id = ?2 \
                 AND subscription_id = ?3 AND resource_id = ?4 AND currency = ?5",
            )
            .map_err(backend)?
            .query_row(params![key.0, key.1, key.2, key.3, key.4], |r| r.get(0))
            .optional()
            .map_err(backend)?;
        let r = match found {
            Some(r) => r,
            None => {
                self.conn
                    .prepare_cached(
                        "INSERT INTO resources (partner_id, customer_id, subscription_id, resource_id, currency) \
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                    )
                    .map_err(backend)?
                    .execute(params![key.0, key.1, key.2, key.3, key.4])
                    .map_err(backend)?;
                self.conn.last_insert_rowid()
            }
        };
        self.resources.insert(key, r);
        Ok(r)
    }

    fn run_ref(&mut self, run_id: &str, posted_at: DateTime<Utc>) -> StoreResult<i64> {
        let key = (run_id.to_string(), exact_ts(posted_at));
        if let Some(r) = self.runs.get(&key) {
            return Ok(*r);
        }
        self.conn
            .prepare_cached("INSERT OR IGNORE INTO runs (run_id, posted_at) VALUES (?1, ?2)")
            .map_err(backend)?
            .execute(params![key.0, key.1])
            .map_err(backend)?;
        let r: i64 = self
            .conn
            .prepare_cached("SELECT run_ref FROM runs WHERE run_id = ?1 AND posted_at = ?2")
            .map_err(backend)?
            .query_row(params![key.0, key.1], |r| r.get(0))
            .map_err(backend)?;
        self.runs.insert(key, r);
        Ok(r)
    }

    /// The digest under which `ids` are stored (stored now if new); `None` for no evidence.
    fn evidence_ref(&mut self, ids: &[String]) -> StoreResult<Option<Vec<u8>>> {
        if ids.is_empty() {
            return Ok(None);
        }
        let text = serde_json::to_string(ids).map_err(backend)?;
        let digest = Sha256::digest(text.as_bytes()).to_vec();
        if self.evidence.insert(digest.clone()) {
            self.conn
                .prepare_cached("INSERT OR IGNORE INTO evidence (digest, ids) VALUES (?1, ?2)")
                .map_err(backend)?
                .execute(params![digest, text])
                .map_err(backend)?;
        }
        Ok(Some(digest))
    }

    /// Appends an entry in format 2 (its columns).
    pub fn put_entry(&mut self, e: &Entry) -> StoreResult<()> {
        let resource = self.resource_ref(&e.key)?;
        let run = self.run_ref(&e.run_id, e.posted_at)?;
        let evidence = self.evidence_ref(&e.evidence)?;
        let f = &e.figures;
        let prev = (!e.prev_hash.is_empty()).then(|| digest_value(&e.prev_hash));
        self.conn
            .prepare_cached(
                "INSERT INTO entries (resource_ref, usage_date, seq, format, kind, status, reason, list_amount, \
                 eligible_amount, ineligible_amount, earned_credit, lost_credit, microsoft_credit, variance, \
                 lost_by_reason, ineligible_by_reason, rate, tier2_mpn_id, evidence, input_digest, run_ref, \
                 prev_hash, hash) VALUES (?1, ?2, ?3, 2, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, \
                 ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
            )
            .map_err(backend)?
            .execute(rusqlite::params_from_iter(
                [
                    resource.into(),
                    day(e.key.usage_date).into(),
                    e.seq.into(),
                    e.kind.code().to_string().into(),
                    e.status.code().to_string().into(),
                    code_value(e.reason.map(|r| r.code())),
                ]
                .into_iter()
                .chain(figure_values(f))
                .chain([
                    fmt_amount(e.rate).into(),
                    e.tier2_mpn_id.clone().into(),
                    evidence.map(Value::Blob).unwrap_or(Value::Null),
                    digest_value(&e.input_digest),
                    run.into(),
                    prev.unwrap_or(Value::Null),
                    digest_value(&e.hash),
                ]),
            ))
            .map_err(backend)?;
        Ok(())
    }

    /// Keeps a format 1 entry that does not read back to its hash verbatim (format 1).
    pub fn put_legacy_entry(&mut self, f: &Filed, json: &str, hash: &str) -> StoreResult<()> {
        let resource = self.resource_ref_of(
            &f.partner_id,
            &f.customer_id,
            &f.subscription_id,
            &f.resource_id,
            &f.currency,
        )?;
        let run = self.run_ref("", DateTime::<Utc>::UNIX_EPOCH)?;
        self.conn
            .prepare_cached(
                "INSERT INTO entries (resource_ref, usage_date, seq, format, run_ref, hash, legacy_json) \
                 VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6)",
            )
            .map_err(backend)?
            .execute(params![resource, f.usage_date, f.seq, run, digest_value(hash), json])
            .map_err(backend)?;
        Ok(())
    }

    /// The stored head's (seq, hash) of a resource-day.
    pub fn head_of(&mut self, k: &ResourceDayKey) -> StoreResult<Option<(u32, String)>> {
        let resource = self.resource_ref(&k.clone())?;
        self.conn
            .prepare_cached(
                "SELECT seq, hash FROM resource_days WHERE usage_date = ?2 AND resource_ref = ?1",
            )
            .map_err(backend)?
            .query_row(params![resource, day(k.usage_date)], |r| {
                Ok((
                    r.get::<_, u32>(0)?,
                    digest_text(r, 1)
                        .map_err(|e| rusqlite::Error::InvalidColumnName(e.to_string()))?
                        .unwrap_or_default(),
                ))
            })
            .optional()
            .map_err(backend)
    }

    /// `postedAt` of entry `seq` of a resource-day, if there is one.
    pub fn posted_at_of(
        &mut self,
        k: &ResourceDayKey,
        seq: u32,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        let resource = self.resource_ref(k)?;
        let found: Option<String> = self
            .conn
            .prepare_cached(
                "SELECT u.posted_at FROM entries e JOIN runs u ON u.run_ref = e.run_ref \
                 WHERE e.usage_date = ?1 AND e.resource_ref = ?2 AND e.seq = ?3",
            )
            .map_err(backend)?
            .query_row(params![day(k.usage_date), resource, seq], |r| r.get(0))
            .optional()
            .map_err(backend)?;
        found.map(|t| parse_ts(&t)).transpose()
    }

    /// Sets a resource-day's head.
    pub fn put_head(&mut self, h: &Head) -> StoreResult<()> {
        let resource = self.resource_ref(&h.key)?;
        let f = &h.figures;
        self.conn
            .prepare_cached(
                "INSERT INTO resource_days (resource_ref, usage_date, seq, hash, status, reason, list_amount, \
                 eligible_amount, ineligible_amount, earned_credit, lost_credit, microsoft_credit, variance, \
                 lost_by_reason, ineligible_by_reason, tier2_mpn_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, \
                 ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16) ON CONFLICT (usage_date, resource_ref) DO UPDATE SET \
                 seq = excluded.seq, hash = excluded.hash, status = excluded.status, reason = excluded.reason, \
                 list_amount = excluded.list_amount, eligible_amount = excluded.eligible_amount, \
                 ineligible_amount = excluded.ineligible_amount, earned_credit = excluded.earned_credit, \
                 lost_credit = excluded.lost_credit, microsoft_credit = excluded.microsoft_credit, \
                 variance = excluded.variance, lost_by_reason = excluded.lost_by_reason, \
                 ineligible_by_reason = excluded.ineligible_by_reason, tier2_mpn_id = excluded.tier2_mpn_id",
            )
            .map_err(backend)?
            .execute(rusqlite::params_from_iter(
                [
                    resource.into(),
                    day(h.key.usage_date).into(),
                    h.seq.into(),
                    digest_value(&h.hash),
                    h.status.code().to_string().into(),
                    code_value(h.reason.map(|r| r.code())),
                ]
                .into_iter()
                .chain(figure_values(f))
                .chain([h.tier2_mpn_id.clone().into()]),
            ))
            .map_err(backend)?;
        Ok(())
    }

    /// Records a write to a customer-date's ledger that names no fingerprint: its version moves
    /// on and its fingerprint is cleared, so the next run decides the date again.
    pub fn touch_day(&mut self, partner: &str, customer: &str, date: NaiveDate) -> StoreResult<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO settled_days (partner_id, customer_id, usage_date, version, fingerprint) \
                 VALUES (?1, ?2, ?3, 1, '') ON CONFLICT (partner_id, customer_id, usage_date) \
                 DO UPDATE SET version = version + 1, fingerprint = ''",
            )
            .map_err(backend)?
            .execute(params![partner, customer, day(date)])
            .map_err(backend)?;
        Ok(())
    }

    /// Sets a customer-date's mark if its version is still `expected` (`None`: no mark yet).
    /// Returns false (and writes nothing) when another writer moved it.
    pub fn set_mark(
        &mut self,
        partner: &str,
        customer: &str,
        date: NaiveDate,
        expected: Option<u64>,
        fingerprint: &str,
    ) -> StoreResult<bool> {
        let d = day(date);
        let n = match expected {
            None => self
                .conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO settled_days (partner_id, customer_id, usage_date, version, fingerprint) \
                     VALUES (?1, ?2, ?3, 1, ?4)",
                )
                .map_err(backend)?
                .execute(params![partner, customer, d, fingerprint]),
            Some(v) => self
                .conn
                .prepare_cached(
                    "UPDATE settled_days SET version = version + 1, fingerprint = ?5 \
                     WHERE partner_id = ?1 AND customer_id = ?2 AND usage_date = ?3 AND version = ?4",
                )
                .map_err(backend)?
                .execute(params![partner, customer, d, v as i64, fingerprint]),
        }
        .map_err(backend)?;
        Ok(n == 1)
    }
}

/// The nine figure columns of a row from column `at` on (amounts as text, then the two reason
/// maps); a problem is described for the caller to file.
fn figures_at(r: &Row<'_>, at: usize) -> StoreResult<Result<Figures, String>> {
    let mut texts = Vec::with_capacity(9);
    for i in at..at + 9 {
        texts.push(r.get::<_, Option<String>>(i).map_err(backend)?);
    }
    Ok(figures_of(texts))
}

fn figures_of(mut texts: Vec<Option<String>>) -> Result<Figures, String> {
    let ineligible = texts.pop().flatten();
    let lost = texts.pop().flatten();
    let mut amounts = Vec::with_capacity(7);
    for t in texts {
        amounts.push(parse_stored(&t.unwrap_or_default()).map_err(|e| e.to_string())?);
    }
    let [list_amount, eligible_amount, ineligible_amount, earned_credit, lost_credit, microsoft_credit, variance] =
        <[Decimal; 7]>::try_from(amounts).map_err(|_| "figure columns missing".to_string())?;
    Ok(Figures {
        list_amount,
        eligible_amount,
        ineligible_amount,
        earned_credit,
        lost_credit,
        microsoft_credit,
        variance,
        lost_by_reason: reasons_of::<LossReason>(lost)?,
        ineligible_by_reason: reasons_of::<IneligibleReason>(ineligible)?,
    })
}

/// A reason code column: the code, or NULL.
fn code_value(code: Option<&str>) -> rusqlite::types::Value {
    code.map(|c| rusqlite::types::Value::Text(c.to_string()))
        .unwrap_or(rusqlite::types::Value::Null)
}

/// The nine figure columns as they are written (see [`figures_at`]).
fn figure_values(f: &Figures) -> Vec<rusqlite::types::Value> {
    use rusqlite::types::Value;
    let mut out: Vec<Value> = f
        .amounts()
        .into_iter()
        .map(|a| Value::Text(fmt_amount(a)))
        .collect();
    for m in [
        reasons_text(&f.lost_by_reason),
        reasons_text(&f.ineligible_by_reason),
    ] {
        out.push(m.map(Value::Text).unwrap_or(Value::Null));
    }
    out
}

/// The resource-day key in a row's first six columns (partner, customer, subscription,
/// resource, usage date, currency), as [`ENTRY_SELECT`] and [`HEAD_SELECT`] put it.
fn key_at(r: &Row<'_>) -> StoreResult<ResourceDayKey> {
    let need = |i: usize| -> StoreResult<String> {
        Ok(r.get::<_, Option<String>>(i)
            .map_err(backend)?
            .unwrap_or_default())
    };
    Ok(ResourceDayKey {
        partner_id: need(0)?,
        customer_id: need(1)?,
        subscription_id: need(2)?,
        resource_id: need(3)?,
        usage_date: parse_day(&need(4)?)?,
        currency: need(5)?,
    })
}

/// The columns an entry is read from, after `r.partner_id, …` (see [`ENTRY_SELECT`]).
pub const ENTRY_SELECT: &str = "SELECT r.partner_id, r.customer_id, r.subscription_id, r.resource_id, e.usage_date, \
     r.currency, e.seq, e.format, e.kind, e.status, e.reason, e.list_amount, e.eligible_amount, \
     e.ineligible_amount, e.earned_credit, e.lost_credit, e.microsoft_credit, e.variance, e.lost_by_reason, \
     e.ineligible_by_reason, e.rate, e.tier2_mpn_id, v.ids, e.input_digest, u.run_id, u.posted_at, \
     e.prev_hash, e.hash, e.legacy_json \
     FROM resources r JOIN entries e ON e.resource_ref = r.resource_ref JOIN runs u ON u.run_ref = e.run_ref \
     LEFT JOIN evidence v ON v.digest = e.evidence";

/// An entry from a row of [`ENTRY_SELECT`]. A row that does not read as an entry is an
/// [`StoreError::UnreadableEntry`] naming where it is filed.
pub fn entry_from_row(r: &Row<'_>) -> StoreResult<Entry> {
    let text = |i: usize| r.get::<_, Option<String>>(i).map_err(backend);
    let need = |i: usize| -> StoreResult<String> { Ok(text(i)?.unwrap_or_default()) };
    let key = key_at(r)?;
    let seq: u32 = r.get(6).map_err(backend)?;
    let format: i64 = r.get(7).map_err(backend)?;
    let hash = digest_text(r, 27)?.unwrap_or_default();
    let filed = key.to_string();
    let unreadable = |message: String| StoreError::UnreadableEntry {
        resource_day: filed.clone(),
        seq,
        message,
    };
    if format == 1 {
        let json = need(28)?;
        let mut e: Entry = serde_json::from_str(&json).map_err(|e| unreadable(e.to_string()))?;
        e.hash = hash;
        return Ok(e);
    }
    let amount = |i: usize| -> StoreResult<Decimal> {
        parse_stored(&need(i)?).map_err(|e| unreadable(e.to_string()))
    };
    let code = |i: usize| need(i);
    let kind = match code(8)?.as_str() {
        "SETTLEMENT" => EntryKind::Settlement,
        "ADJUSTMENT" => EntryKind::Adjustment,
        other => return Err(unreadable(format!("kind {other:?}"))),
    };
    let status = DayStatus::from_code(&code(9)?)
        .ok_or_else(|| unreadable("status is not a status code".into()))?;
    let reason = match text(10)? {
        None => None,
        Some(c) => {
            Some(LossReason::from_code(&c).ok_or_else(|| unreadable(format!("reason {c:?}")))?)
        }
    };
    let figures = figures_at(r, 11)?.map_err(unreadable)?;
    let evidence: Vec<String> = match text(22)? {
        None => Vec::new(),
        Some(t) => serde_json::from_str(&t).map_err(|e| unreadable(e.to_string()))?,
    };
    let input_digest = digest_text(r, 23)?.unwrap_or_default();
    let prev_hash = digest_text(r, 26)?.unwrap_or_default();
    Ok(Entry {
        key,
        seq,
        kind,
        status,
        reason,
        figures,
        rate: amount(20)?,
        tier2_mpn_id: need(21)?,
        evidence,
        input_digest,
        run_id: need(24)?,
        posted_at: parse_ts(&need(25)?)?,
        prev_hash,
        hash,
    })
}

/// The columns a head is read from.
pub const HEAD_SELECT: &str = "SELECT r.partner_id, r.customer_id, r.subscription_id, r.resource_id, h.usage_date, \
     r.currency, h.seq, h.hash, h.status, h.reason, h.list_amount, h.eligible_amount, h.ineligible_amount, \
     h.earned_credit, h.lost_credit, h.microsoft_credit, h.variance, h.lost_by_reason, h.ineligible_by_reason, \
     h.tier2_mpn_id FROM resources r JOIN resource_days h ON h.resource_ref = r.resource_ref";

/// A head from a row of [`HEAD_SELECT`].
pub fn head_from_row(r: &Row<'_>) -> StoreResult<Head> {
    let text = |i: usize| r.get::<_, Option<String>>(i).map_err(backend);
    let need = |i: usize| -> StoreResult<String> { Ok(text(i)?.unwrap_or_default()) };
    let corrupt = |m: String| StoreError::Corrupt(format!("a ledger head: {m}"));
    let key = key_at(r)?;
    let status =
        DayStatus::from_code(&need(8)?).ok_or_else(|| corrupt("status code".to_string()))?;
    let reason = match text(9)? {
        None => None,
        Some(c) => Some(LossReason::from_code(&c).ok_or_else(|| corrupt(format!("reason {c}")))?),
    };
    Ok(Head {
        key,
        seq: r.get(6).map_err(backend)?,
        hash: digest_text(r, 7)?.unwrap_or_default(),
        status,
        reason,
        figures: figures_at(r, 10)?.map_err(corrupt)?,
        tier2_mpn_id: need(19)?,
    })
}

/// `bytes` deflate-compressed (RFC 1951), as raw snapshot bodies are kept.
pub fn deflate(bytes: &[u8]) -> StoreResult<Vec<u8>> {
    use std::io::Write;
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).map_err(backend)?;
    e.finish().map_err(backend)
}

/// Stores rows of an upload as blocks of (subscription, usage date, customer); rows of a block
/// need not be adjacent.
pub fn put_usage(conn: &Connection, upload_id: &str, rows: &[UsageAggregate]) -> StoreResult<()> {
    let blocks = blocks_of(rows);
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO usage_blocks (upload_id, partner_id, subscription_id, usage_date, customer_id, \
             resource_days, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .map_err(backend)?;
    for ((partner, subscription, date, customer), group) in blocks {
        let body = serde_json::to_string(&group).map_err(backend)?;
        stmt.execute(params![
            upload_id,
            partner,
            subscription,
            day(date),
            customer,
            group.len() as i64,
            body
        ])
        .map_err(backend)?;
    }
    Ok(())
}
