//! Item keys of the two tables (see `aws/README.md` for the design and the write-rate argument).
//!
//! Key parts are joined with `#`. Partner and customer ids are GUIDs, dates `YYYY-MM-DD`,
//! resource ids Azure resource paths, none of which contains `#`.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

/// Shards of the prior-period index (`PriorPeriod`) per partner and posting month.
pub const PRIOR_SHARDS: u32 = 16;

/// The layout these keys describe (`FORMAT` item of the state table). Format 1 (before issue 13)
/// kept per-resource-day heads, month indexes that projected every attribute and staged rows.
pub const TABLE_FORMAT: u32 = 2;

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

/// Partition of a customer-date's entries: every entry of every resource-day the customer has on
/// the date, so one query reads the date's heads.
pub fn day_pk(partner: &str, customer: &str, date: NaiveDate) -> String {
    format!("{partner}#{customer}#{}", day(date))
}

/// Sort key of an entry in its customer-date: resource, currency, seq — a resource-day's entries
/// are adjacent and in seq order.
pub fn entry_sk(resource_id: &str, currency: &str, n: u32) -> String {
    format!("{resource_id}#{currency}#{}", seq(n))
}

/// `PriorPeriod` partition: partner, posting month, shard of the entry.
pub fn prior_pk(partner: &str, posted_month: &str, shard: u32) -> String {
    format!("{partner}#{posted_month}#{shard:02}")
}

pub fn prior_shard(day_pk: &str, entry_sk: &str) -> u32 {
    shard(&[day_pk, entry_sk], PRIOR_SHARDS)
}

// ---- state table ----

pub const FORMAT_PK: &str = "FORMAT";
pub const PARTNERS_PK: &str = "PARTNERS";
pub const LATEST_PK: &str = "LATEST";

/// A partner's customers (sort key: customer), with the months they have usage in.
pub fn customers_pk(partner: &str) -> String {
    format!("CUSTOMERS#{partner}")
}

/// A customer's alert watch (sort key: `-`).
pub fn watch_pk(partner: &str, customer: &str) -> String {
    format!("WATCH#{partner}#{customer}")
}

/// A partner's alerts (sort key: `{takenAt}#{alertId}`).
pub fn alerts_pk(partner: &str) -> String {
    format!("ALERTS#{partner}")
}

/// Alert events not sent yet (sort key: event id).
pub const OUTBOX_PK: &str = "OUTBOX";

/// The names a partner's usage files give its ids (sort key: `{kind}#{id}`).
pub fn names_pk(partner: &str) -> String {
    format!("NAMES#{partner}")
}

/// Which customer a subscription belongs to (sort key: customer), for `explain`.
pub fn subscription_pk(partner: &str, subscription: &str) -> String {
    format!("SUB#{partner}#{subscription}")
}

/// A customer's day marks (sort key: date).
pub fn marks_pk(partner: &str, customer: &str) -> String {
    format!("MARK#{partner}#{customer}")
}

/// A customer's usage sources: one item per (date, subscription, upload).
pub fn sources_pk(partner: &str, customer: &str) -> String {
    format!("SRC#{partner}#{customer}")
}

pub fn source_sk(
    date: NaiveDate,
    subscription: &str,
    received_at: DateTime<Utc>,
    upload_id: &str,
) -> String {
    format!(
        "{}#{subscription}#{}#{upload_id}",
        day(date),
        ts(received_at)
    )
}

/// The usage blocks of one (subscription, date, customer): parts of every upload, sort key
/// `{uploadId}#{digest}` ([`block_sk`]); a source item lists the parts it reads.
pub fn block_pk(partner: &str, subscription: &str, date: NaiveDate, customer: &str) -> String {
    format!("UB#{partner}#{subscription}#{}#{customer}", day(date))
}

/// A block part: written by `upload_id`, its content's digest.
pub fn block_sk(upload_id: &str, digest: &str) -> String {
    format!("{upload_id}#{digest}")
}

/// Content-addressed evidence (a list of assignment ids), by its SHA-256.
pub fn evidence_pk(digest_hex: &str) -> String {
    format!("EV#{digest_hex}")
}

/// An accepted upload by (partner, SHA-256): the duplicate claim.
pub fn upload_sha_pk(partner: &str, sha256: &str) -> String {
    format!("UPSHA#{partner}#{sha256}")
}

/// An accepted upload by id.
pub fn upload_pk(upload_id: &str) -> String {
    format!("UPLOAD#{upload_id}")
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

/// How many snapshots a customer has (kept with each snapshot, in its transaction).
pub fn snapshot_count_pk(partner: &str, customer: &str) -> String {
    format!("SNAPN#{partner}#{customer}")
}

/// A customer's access checkpoint.
pub fn checkpoint_pk(partner: &str, customer: &str) -> String {
    format!("ACP#{partner}#{customer}")
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
        assert_eq!(shard(&customer, 32), 12);
        assert_eq!(shard(&customer, 8), 4);
        assert_ne!(fnv1a(&["a", "b"]), fnv1a(&["ab"]));
        for i in 0..1000 {
            assert!(shard(&[&i.to_string()], PRIOR_SHARDS) < PRIOR_SHARDS);
        }
    }
}
