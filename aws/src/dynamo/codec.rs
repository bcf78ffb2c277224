//! Ledger entries as items of the ledger table (format 2): the key names the customer-date and
//! the resource-day, the rest is the entry in short attributes, digests as bytes and evidence by
//! reference — about 600 bytes with a 200-character resource id, so a write is one WCU (two in a
//! transaction). The entry's canonical JSON, which its hash is over, is rebuilt from them; an
//! entry that would not read back exactly is kept verbatim (`j`) instead.
//!
//! | attribute | value |
//! |---|---|
//! | `pk` | `{partner}#{customer}#{YYYY-MM-DD}` ([`keys::day_pk`]) |
//! | `sk` | `{resourceId}#{currency}#{seq, 10 digits}` ([`keys::entry_sk`]) |
//! | `s` | subscription, only when the resource id does not start with `/subscriptions/{it}/` |
//! | `c` | `{kind}\|{status}\|{reason}` codes |
//! | `f` | list, eligible, ineligible, earned, lost, Microsoft, variance amounts, then lost and ineligible by reason (`CODE=amount,…`), `\|`-separated |
//! | `r`, `t` | rate; Tier-2 MPN ID (absent when empty) |
//! | `ev` | SHA-256 of the evidence list (an `EV#…` item of the state table), absent when empty |
//! | `in`, `ph`, `h` | input digest, previous hash (absent for seq 0), hash: 32 bytes each |
//! | `run`, `at` | run id (16 bytes when a UUID, else `runs` text); `postedAt` in nanoseconds |
//! | `ppk`, `psk` | only on prior-period entries: the `PriorPeriod` index keys |

use super::item::{b, corrupt, get_digest, get_s, opt_b, opt_s, put_digest, s, Item};
use crate::keys;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use pec_ledger::decimal::{fmt_amount, parse_stored};
use pec_ledger::ledger::{Entry, EntryKind, Figures, ResourceDayKey};
use pec_ledger::reasons::{DayStatus, IneligibleReason, LossReason};
use pec_ledger::store::{StoreError, StoreResult};
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// An entry's evidence as the state table keeps it: its SHA-256 (hex) and the JSON list.
pub(super) struct Evidence {
    pub digest: String,
    pub json: String,
}

/// The subscription in `/subscriptions/{subscription}/…`.
pub(super) fn subscription_of(resource_id: &str) -> Option<&str> {
    let rest = resource_id.strip_prefix("/subscriptions/")?;
    Some(rest.split('/').next().unwrap_or(rest))
}

fn amounts_text(f: &Figures) -> String {
    let mut out = f
        .amounts()
        .iter()
        .map(|a| fmt_amount(*a))
        .collect::<Vec<_>>()
        .join("|");
    let lost: Vec<String> = f
        .lost_by_reason
        .iter()
        .map(|(r, a)| format!("{}={}", r.code(), fmt_amount(*a)))
        .collect();
    let ineligible: Vec<String> = f
        .ineligible_by_reason
        .iter()
        .map(|(r, a)| format!("{}={}", r.code(), fmt_amount(*a)))
        .collect();
    out.push('|');
    out.push_str(&lost.join(","));
    out.push('|');
    out.push_str(&ineligible.join(","));
    out
}

fn reasons<K: Ord>(
    text: &str,
    code: impl Fn(&str) -> Option<K>,
) -> Result<BTreeMap<K, Decimal>, String> {
    let mut out = BTreeMap::new();
    for part in text.split(',').filter(|p| !p.is_empty()) {
        let (c, a) = part
            .split_once('=')
            .ok_or_else(|| format!("reason amount {part:?}"))?;
        let k = code(c).ok_or_else(|| format!("reason code {c:?}"))?;
        out.insert(k, parse_stored(a).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

fn figures_of(text: &str) -> Result<Figures, String> {
    let parts: Vec<&str> = text.split('|').collect();
    let [l, e, i, ea, lo, m, v, lost, inel] =
        <[&str; 9]>::try_from(parts).map_err(|_| "figures do not have nine parts".to_string())?;
    let a = |t: &str| parse_stored(t).map_err(|e| e.to_string());
    Ok(Figures {
        list_amount: a(l)?,
        eligible_amount: a(e)?,
        ineligible_amount: a(i)?,
        earned_credit: a(ea)?,
        lost_credit: a(lo)?,
        microsoft_credit: a(m)?,
        variance: a(v)?,
        lost_by_reason: reasons(lost, LossReason::from_code)?,
        ineligible_by_reason: reasons(inel, IneligibleReason::from_code)?,
    })
}

/// The item of an entry, and its evidence when it has any (to be stored under its digest
/// before the entry).
pub(super) fn entry_item(e: &Entry) -> StoreResult<(Item, Option<Evidence>)> {
    let k = &e.key;
    let pk = keys::day_pk(&k.partner_id, &k.customer_id, k.usage_date);
    let sk = keys::entry_sk(&k.resource_id, &k.currency, e.seq);
    let mut item = Item::new();
    item.insert("pk".into(), s(pk.as_str()));
    item.insert("sk".into(), s(sk.as_str()));
    if subscription_of(&k.resource_id) != Some(k.subscription_id.as_str()) {
        item.insert("s".into(), s(k.subscription_id.as_str()));
    }
    item.insert(
        "c".into(),
        s(format!(
            "{}|{}|{}",
            e.kind.code(),
            e.status.code(),
            e.reason.map(|r| r.code()).unwrap_or_default()
        )),
    );
    item.insert("f".into(), s(amounts_text(&e.figures)));
    item.insert("r".into(), s(fmt_amount(e.rate)));
    if !e.tier2_mpn_id.is_empty() {
        item.insert("t".into(), s(e.tier2_mpn_id.as_str()));
    }
    let evidence = if e.evidence.is_empty() {
        None
    } else {
        let json = serde_json::to_string(&e.evidence).map_err(corrupt)?;
        let digest = Sha256::digest(json.as_bytes());
        item.insert("ev".into(), b(digest.to_vec()));
        Some(Evidence {
            digest: hex::encode(digest),
            json,
        })
    };
    put_digest(&mut item, "in", &e.input_digest);
    if !e.prev_hash.is_empty() {
        put_digest(&mut item, "ph", &e.prev_hash);
    }
    put_digest(&mut item, "h", &e.hash);
    match uuid::Uuid::parse_str(&e.run_id) {
        Ok(u) if u.hyphenated().to_string() == e.run_id => {
            item.insert("run".into(), b(u.as_bytes().to_vec()));
        }
        _ => {
            item.insert("runs".into(), s(e.run_id.as_str()));
        }
    }
    match e.posted_at.timestamp_nanos_opt() {
        Some(n) => item.insert("at".into(), AttributeValue::N(n.to_string())),
        None => item.insert("ats".into(), s(keys::ts(e.posted_at))),
    };
    let usage_month = (k.usage_date.year(), k.usage_date.month());
    let posted = e.posted_at.date_naive();
    if usage_month < (posted.year(), posted.month()) {
        item.insert(
            "ppk".into(),
            s(keys::prior_pk(
                &k.partner_id,
                &keys::month_of(posted),
                keys::prior_shard(&pk, &sk),
            )),
        );
        item.insert("psk".into(), s(keys::ts(e.posted_at)));
    }
    // What is stored must read back as exactly this entry; otherwise keep its JSON.
    let evidence_list = evidence.as_ref().map(|_| e.evidence.clone());
    let back = decode(&item).map(|mut d| {
        d.entry.evidence = evidence_list.unwrap_or_default();
        d.entry
    });
    if !matches!(&back, Ok(r) if r.canonical_json() == e.canonical_json() && r.hash == e.hash) {
        item.insert("j".into(), s(e.canonical_json()));
    }
    Ok((item, evidence))
}

/// An entry read from its item, its evidence still to be looked up by `evidence`.
pub(super) struct Decoded {
    pub entry: Entry,
    pub evidence: Option<String>,
}

/// Where an item is filed, for errors: its resource-day as `verify` names it (partner, customer,
/// resource, date, currency) and the entry's seq.
fn filed(item: &Item) -> (String, u32) {
    let pk = opt_s(item, "pk").unwrap_or("?");
    let sk = opt_s(item, "sk").unwrap_or("?");
    let seq = sk
        .rsplit('#')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let day: Vec<&str> = pk.splitn(3, '#').collect();
    let rd = match (
        day.as_slice(),
        sk.rsplitn(3, '#').collect::<Vec<_>>().as_slice(),
    ) {
        ([p, c, d], [_, currency, resource]) => format!("{p} {c} {resource} {d} {currency}"),
        _ => format!("{} {sk}", pk.replace('#', " ")),
    };
    (rd, seq)
}

/// Reads an item back as an entry (evidence not resolved). An item that does not read is an
/// [`StoreError::UnreadableEntry`] naming where it is filed.
pub(super) fn decode(item: &Item) -> StoreResult<Decoded> {
    decode_inner(item).map_err(|message| {
        let (resource_day, seq) = filed(item);
        StoreError::UnreadableEntry {
            resource_day,
            seq,
            message,
        }
    })
}

fn decode_inner(item: &Item) -> Result<Decoded, String> {
    let text = |name: &str| get_s(item, name).map_err(|e| e.to_string());
    let pk = text("pk")?;
    let sk = text("sk")?;
    let mut p = pk.splitn(3, '#');
    let (Some(partner), Some(customer), Some(date)) = (p.next(), p.next(), p.next()) else {
        return Err(format!("partition key {pk:?}"));
    };
    let mut parts = sk.rsplitn(3, '#');
    let (Some(seq), Some(currency), Some(resource)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("sort key {sk:?}"));
    };
    let seq: u32 = seq.parse().map_err(|_| format!("seq {seq:?}"))?;
    let usage_date =
        NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| format!("date {date:?}"))?;
    let evidence = opt_b(item, "ev").map(hex::encode);
    if let Some(json) = opt_s(item, "j") {
        let mut entry: Entry = serde_json::from_str(json).map_err(|e| e.to_string())?;
        entry.hash = get_digest(item, "h");
        return Ok(Decoded {
            entry,
            evidence: None,
        });
    }
    let subscription = match opt_s(item, "s") {
        Some(sub) => sub.to_string(),
        None => subscription_of(resource)
            .ok_or("no subscription")?
            .to_string(),
    };
    let codes = text("c")?;
    let mut c = codes.split('|');
    let kind = match c.next() {
        Some("SETTLEMENT") => EntryKind::Settlement,
        Some("ADJUSTMENT") => EntryKind::Adjustment,
        other => return Err(format!("kind {other:?}")),
    };
    let status = c
        .next()
        .and_then(DayStatus::from_code)
        .ok_or("status is not a status code")?;
    let reason = match c.next() {
        None | Some("") => None,
        Some(code) => Some(LossReason::from_code(code).ok_or(format!("reason {code:?}"))?),
    };
    let run_id = match opt_b(item, "run") {
        Some(bytes) => uuid::Uuid::from_slice(bytes)
            .map_err(|e| e.to_string())?
            .hyphenated()
            .to_string(),
        None => text("runs")?.to_string(),
    };
    let posted_at = match item.get("at") {
        Some(AttributeValue::N(n)) => {
            DateTime::from_timestamp_nanos(n.parse::<i64>().map_err(|e| e.to_string())?)
        }
        _ => DateTime::parse_from_rfc3339(text("ats")?)
            .map_err(|e| e.to_string())?
            .with_timezone(&Utc),
    };
    Ok(Decoded {
        entry: Entry {
            key: ResourceDayKey {
                partner_id: partner.to_string(),
                customer_id: customer.to_string(),
                subscription_id: subscription,
                resource_id: resource.to_string(),
                usage_date,
                currency: currency.to_string(),
            },
            seq,
            kind,
            status,
            reason,
            figures: figures_of(text("f")?)?,
            rate: parse_stored(text("r")?).map_err(|e| e.to_string())?,
            tier2_mpn_id: opt_s(item, "t").unwrap_or_default().to_string(),
            evidence: Vec::new(),
            input_digest: get_digest(item, "in"),
            run_id,
            posted_at,
            prev_hash: get_digest(item, "ph"),
            hash: get_digest(item, "h"),
        },
        evidence,
    })
}
