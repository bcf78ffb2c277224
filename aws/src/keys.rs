//! Item keys of the two tables (see `aws/README.md` for the design and the write-rate argument).
//!
//! Key parts are joined with `#`. Partner and customer ids are GUIDs, dates `YYYY-MM-DD`,
//! resource ids Azure resource paths, none of which contains `#`.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use pec_ledger::ledger::ResourceDayKey;

/// Shards of the ledger's month indexes (`ByUsageMonth`, `ByPostingMonth`) per partner-month.
pub const LEDGER_SHARDS: u32 = 32;
/// Shards of a customer-day's heads.
pub const HEAD_SHARDS: u32 = 4;
/// Shards of the customer-date index of one date.
pub const DATE_SHARDS: u32 = 8;
/// Shards of an upload's staged rows in the state table's `ByIndex`.
pub const STAGE_SHARDS: u32 = 16;

/// Sort-key value of single items (uploads, claims).
pub const ONE: &str = "-";

/// A stable 32-bit FNV-1a hash (the same in every process and release).
pub fn fnv1a(parts: &[&str]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0x1f)) {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
    }
    h
}

pub fn shard(parts: &[&str], shards: u32) -> u32 {
    fnv1a(parts) % shards
}

pub fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub fn month_of(d: NaiveDate) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

/// Fixed-width, sortable UTC time (the SQLite store's format).
pub fn ts(t: DateTime<Utc>) -> String {
    pec_ledger::store::ts(t)
}

pub fn seq(n: u32) -> String {
    format!("{n:010}")
}

// ---- ledger table ----

/// Partition key of a resource-day's entries.
pub fn entry_pk(k: &ResourceDayKey) -> String {
    format!(
        "RD#{}#{}#{}#{}#{}",
        k.partner_id,
        k.customer_id,
        k.resource_id,
        day(k.usage_date),
        k.currency
    )
}

/// `ByUsageMonth` partition: partner, usage month, shard of the resource id (so one query
/// finds a resource's entries for `explain`).
pub fn usage_month_pk(partner: &str, month: &str, shard: u32) -> String {
    format!("{partner}#{month}#{shard:02}")
}

pub fn resource_shard(resource_id: &str) -> u32 {
    shard(&[resource_id], LEDGER_SHARDS)
}

/// `ByUsageMonth` sort key: resource, date, customer, currency, seq — a resource-day's entries
/// are adjacent and in seq order.
pub fn usage_month_sk(k: &ResourceDayKey, n: u32) -> String {
    format!(
        "{}#{}#{}#{}#{}",
        k.resource_id,
        day(k.usage_date),
        k.customer_id,
        k.currency,
        seq(n)
    )
}

/// `ByPostingMonth` partition: partner, posting month, shard of the resource-day.
pub fn posting_month_pk(partner: &str, month: &str, shard: u32) -> String {
    format!("{partner}#{month}#{shard:02}")
}

pub fn resource_day_shard(k: &ResourceDayKey) -> u32 {
    shard(
        &[
            &k.customer_id,
            &k.resource_id,
            &day(k.usage_date),
            &k.currency,
        ],
        LEDGER_SHARDS,
    )
}

pub fn posting_month_sk(posted_at: DateTime<Utc>, k: &ResourceDayKey, n: u32) -> String {
    format!("{}#{}", ts(posted_at), usage_month_sk(k, n))
}

// ---- state table ----

pub fn head_pk(partner: &str, customer: &str, date: NaiveDate, shard: u32) -> String {
    format!("HEAD#{partner}#{customer}#{}#{shard:02}", day(date))
}

pub fn head_shard(k: &ResourceDayKey) -> u32 {
    shard(&[&k.resource_id, &k.currency], HEAD_SHARDS)
}

pub fn head_key(k: &ResourceDayKey) -> (String, String) {
    (
        head_pk(&k.partner_id, &k.customer_id, k.usage_date, head_shard(k)),
        format!("{}#{}", k.resource_id, k.currency),
    )
}

/// The customer-date index: (partner, customer) pairs with usage or heads on a date.
pub fn date_index_key(partner: &str, customer: &str, date: NaiveDate) -> (String, String) {
    let s = shard(&[partner, customer], DATE_SHARDS);
    (
        format!("CD#{}#{s:02}", day(date)),
        format!("{partner}#{customer}"),
    )
}

pub fn date_index_pk(date: NaiveDate, shard: u32) -> String {
    format!("CD#{}#{shard:02}", day(date))
}

/// An accepted upload by (partner, SHA-256): the duplicate claim.
pub fn upload_sha_pk(partner: &str, sha256: &str) -> String {
    format!("UPSHA#{partner}#{sha256}")
}

/// An accepted upload by id.
pub fn upload_pk(upload_id: &str) -> String {
    format!("UPLOAD#{upload_id}")
}

/// Staged usage rows of one (partner, subscription, date) from one upload.
pub fn usage_pk(partner: &str, subscription: &str, date: NaiveDate, upload_id: &str) -> String {
    format!("USG#{partner}#{subscription}#{}#{upload_id}", day(date))
}

pub fn stage_index_pk(upload_id: &str, shard: u32) -> String {
    format!("STG#{upload_id}#{shard:02}")
}

/// Pointers of a customer-day: which upload is the source of each subscription.
pub fn current_pk(partner: &str, customer: &str, date: NaiveDate) -> String {
    format!("CUR#{partner}#{customer}#{}", day(date))
}

pub fn current_sk(subscription: &str, received_at: DateTime<Utc>, upload_id: &str) -> String {
    format!("{subscription}#{}#{upload_id}", ts(received_at))
}

pub fn snapshot_claim_pk(partner: &str, snapshot_id: &str) -> String {
    format!("SNAPID#{partner}#{snapshot_id}")
}

pub fn snapshot_pk(partner: &str, customer: &str) -> String {
    format!("SNAP#{partner}#{customer}")
}

pub fn snapshot_sk(taken_at: DateTime<Utc>, snapshot_id: &str, chunk: usize) -> String {
    format!("{}#{snapshot_id}#{chunk:04}", ts(taken_at))
}

/// Months (`YYYY-MM`) from the month of `from` to the month of `through`, inclusive.
pub fn months(from: NaiveDate, through: NaiveDate) -> Vec<(String, NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    if from > through {
        return out;
    }
    let mut first = from.with_day(1).unwrap_or(from);
    while first <= through {
        let next = if first.month() == 12 {
            NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
        };
        let Some(next) = next else { break };
        let last = next.pred_opt().unwrap_or(next);
        out.push((month_of(first), first.max(from), last.min(through)));
        first = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_cover_the_range() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let m = months(d("2026-11-15"), d("2027-01-03"));
        assert_eq!(
            m,
            vec![
                ("2026-11".into(), d("2026-11-15"), d("2026-11-30")),
                ("2026-12".into(), d("2026-12-01"), d("2026-12-31")),
                ("2027-01".into(), d("2027-01-01"), d("2027-01-03")),
            ]
        );
        assert!(months(d("2026-11-15"), d("2026-11-14")).is_empty());
    }

    #[test]
    fn shards_are_stable_and_in_range() {
        // Golden values (worked out outside Rust): FNV-1a 32 over each part followed by 0x1f.
        // Every stored key's shard depends on them; a change here re-homes every item.
        assert_eq!(fnv1a(&[]), 0x811c_9dc5);
        assert_eq!(fnv1a(&["a"]), 0x3224_db49);
        assert_eq!(fnv1a(&["a", "b"]), 0x36e6_5dea);
        assert_eq!(fnv1a(&["ab"]), 0x4648_2e4f);
        let customer = [
            "7a3c0000-0000-4000-8000-000000000001",
            "bdd640fb-0667-4ad1-9c80-317fa3b1799d",
        ];
        assert_eq!(fnv1a(&customer), 0x89d8_510c);
        assert_eq!(shard(&customer, LEDGER_SHARDS), 12);
        assert_eq!(shard(&customer, DATE_SHARDS), 4);
        assert_ne!(fnv1a(&["a", "b"]), fnv1a(&["ab"]));
        for i in 0..1000 {
            assert!(shard(&[&i.to_string()], LEDGER_SHARDS) < LEDGER_SHARDS);
        }
    }
}
