//! The append-only ledger (SPEC 4): resource-day keys, figures, entries with their hash chain,
//! and verification.

use crate::decimal::as_string;
use crate::reasons::{DayStatus, IneligibleReason, LossReason};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;

/// What the ledger settles: one resource on one usage date in one pricing currency.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDayKey {
    pub partner_id: String,
    pub customer_id: String,
    pub subscription_id: String,
    /// Lower-cased resource ID (the subscription for lines without a `ResourceURI`).
    pub resource_id: String,
    pub usage_date: NaiveDate,
    pub currency: String,
}

impl fmt::Display for ResourceDayKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {}",
            self.partner_id, self.customer_id, self.resource_id, self.usage_date, self.currency
        )
    }
}

/// Money of a resource-day: its current value, or the deltas an entry carries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Figures {
    #[serde(with = "as_string")]
    pub list_amount: Decimal,
    #[serde(with = "as_string")]
    pub eligible_amount: Decimal,
    #[serde(with = "as_string")]
    pub ineligible_amount: Decimal,
    #[serde(with = "as_string")]
    pub earned_credit: Decimal,
    #[serde(with = "as_string")]
    pub lost_credit: Decimal,
    #[serde(with = "as_string")]
    pub microsoft_credit: Decimal,
    #[serde(with = "as_string")]
    pub variance: Decimal,
    #[serde(with = "amount_map")]
    pub lost_by_reason: BTreeMap<LossReason, Decimal>,
    #[serde(with = "amount_map")]
    pub ineligible_by_reason: BTreeMap<IneligibleReason, Decimal>,
}

impl Figures {
    /// The seven amounts in their fixed order: list, eligible, ineligible, earned, lost,
    /// Microsoft's credit, variance (how stores lay them out).
    pub fn amounts(&self) -> [Decimal; 7] {
        [
            self.list_amount,
            self.eligible_amount,
            self.ineligible_amount,
            self.earned_credit,
            self.lost_credit,
            self.microsoft_credit,
            self.variance,
        ]
    }

    /// `self − other`, field by field; reasons whose delta is zero are left out.
    pub fn minus(&self, other: &Figures) -> Figures {
        Figures {
            list_amount: self.list_amount - other.list_amount,
            eligible_amount: self.eligible_amount - other.eligible_amount,
            ineligible_amount: self.ineligible_amount - other.ineligible_amount,
            earned_credit: self.earned_credit - other.earned_credit,
            lost_credit: self.lost_credit - other.lost_credit,
            microsoft_credit: self.microsoft_credit - other.microsoft_credit,
            variance: self.variance - other.variance,
            lost_by_reason: map_minus(&self.lost_by_reason, &other.lost_by_reason),
            ineligible_by_reason: map_minus(
                &self.ineligible_by_reason,
                &other.ineligible_by_reason,
            ),
        }
    }

    /// Adds `other` into `self`; reasons whose sum is zero are left out.
    pub fn add(&mut self, other: &Figures) {
        self.list_amount += other.list_amount;
        self.eligible_amount += other.eligible_amount;
        self.ineligible_amount += other.ineligible_amount;
        self.earned_credit += other.earned_credit;
        self.lost_credit += other.lost_credit;
        self.microsoft_credit += other.microsoft_credit;
        self.variance += other.variance;
        map_add(&mut self.lost_by_reason, &other.lost_by_reason);
        map_add(&mut self.ineligible_by_reason, &other.ineligible_by_reason);
    }

    pub fn is_zero(&self) -> bool {
        self.list_amount.is_zero()
            && self.eligible_amount.is_zero()
            && self.ineligible_amount.is_zero()
            && self.earned_credit.is_zero()
            && self.lost_credit.is_zero()
            && self.microsoft_credit.is_zero()
            && self.variance.is_zero()
            && self.lost_by_reason.is_empty()
            && self.ineligible_by_reason.is_empty()
    }

    /// Equal as amounts (scale ignored: 1.50 = 1.5).
    pub fn same_amounts(&self, other: &Figures) -> bool {
        self.minus(other).is_zero()
    }
}

fn map_minus<K: Ord + Copy>(
    a: &BTreeMap<K, Decimal>,
    b: &BTreeMap<K, Decimal>,
) -> BTreeMap<K, Decimal> {
    let mut out = a.clone();
    for (k, v) in b {
        *out.entry(*k).or_default() -= *v;
    }
    out.retain(|_, v| !v.is_zero());
    out
}

fn map_add<K: Ord + Copy>(a: &mut BTreeMap<K, Decimal>, b: &BTreeMap<K, Decimal>) {
    for (k, v) in b {
        *a.entry(*k).or_default() += *v;
    }
    a.retain(|_, v| !v.is_zero());
}

/// Serde for reason → amount maps with exact decimal strings.
pub mod amount_map {
    use rust_decimal::Decimal;
    use serde::de::DeserializeOwned;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<K: Serialize + Ord, S: Serializer>(
        m: &BTreeMap<K, Decimal>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let as_text: BTreeMap<&K, String> = m
            .iter()
            .map(|(k, v)| (k, crate::decimal::fmt_amount(*v)))
            .collect();
        as_text.serialize(s)
    }

    pub fn deserialize<'de, K: DeserializeOwned + Ord, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<K, Decimal>, D::Error> {
        let as_text: BTreeMap<K, String> = BTreeMap::deserialize(d)?;
        as_text
            .into_iter()
            .map(|(k, v)| {
                crate::decimal::parse_stored(&v)
                    .map(|v| (k, v))
                    .map_err(serde::de::Error::custom)
            })
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EntryKind {
    /// The first entry of a resource-day.
    Settlement,
    /// A later change, carrying deltas.
    Adjustment,
}

impl EntryKind {
    pub fn code(self) -> &'static str {
        match self {
            EntryKind::Settlement => "SETTLEMENT",
            EntryKind::Adjustment => "ADJUSTMENT",
        }
    }
}

/// One ledger line. Never updated or deleted; the sum of a resource-day's entries is its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    #[serde(flatten)]
    pub key: ResourceDayKey,
    /// 0 for the first entry of the resource-day, then 1, 2, …
    pub seq: u32,
    pub kind: EntryKind,
    /// The resource-day's status and reason after this entry.
    pub status: DayStatus,
    pub reason: Option<LossReason>,
    /// Deltas (for the first entry, the whole value).
    pub figures: Figures,
    #[serde(with = "as_string")]
    pub rate: Decimal,
    pub tier2_mpn_id: String,
    /// Ids of the assignments that gave the resource-day its access.
    pub evidence: Vec<String>,
    /// SHA-256 of the inputs the entry was computed from.
    pub input_digest: String,
    pub run_id: String,
    pub posted_at: DateTime<Utc>,
    /// Hash of the previous entry of the same resource-day ("" for the first).
    pub prev_hash: String,
    #[serde(default)]
    pub hash: String,
}

/// An entry's content without its hash, in the canonical JSON form that is hashed and stored.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Hashed<'a> {
    #[serde(flatten)]
    key: &'a ResourceDayKey,
    seq: u32,
    kind: EntryKind,
    status: DayStatus,
    reason: Option<LossReason>,
    figures: &'a Figures,
    #[serde(with = "as_string")]
    rate: Decimal,
    tier2_mpn_id: &'a str,
    evidence: &'a [String],
    input_digest: &'a str,
    run_id: &'a str,
    posted_at: DateTime<Utc>,
    prev_hash: &'a str,
}

impl Entry {
    /// The canonical JSON of every field but `hash`: what is hashed, and what stores keep (an
    /// `Entry` parses from it, with `hash` empty).
    pub fn canonical_json(&self) -> String {
        let view = Hashed {
            key: &self.key,
            seq: self.seq,
            kind: self.kind,
            status: self.status,
            reason: self.reason,
            figures: &self.figures,
            rate: self.rate,
            tier2_mpn_id: &self.tier2_mpn_id,
            evidence: &self.evidence,
            input_digest: &self.input_digest,
            run_id: &self.run_id,
            posted_at: self.posted_at,
            prev_hash: &self.prev_hash,
        };
        serde_json::to_string(&view).unwrap_or_default()
    }

    /// SHA-256 (hex) of [`Entry::canonical_json`].
    pub fn compute_hash(&self) -> String {
        hex::encode(Sha256::digest(self.canonical_json().as_bytes()))
    }

    /// Sets `hash` from the other fields.
    pub fn seal(mut self) -> Entry {
        self.hash = self.compute_hash();
        self
    }
}

/// The latest state of a resource-day: kept beside the ledger so that a missing last entry is
/// noticed and the next entry can be chained without reading them all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Head {
    #[serde(flatten)]
    pub key: ResourceDayKey,
    pub seq: u32,
    pub hash: String,
    pub status: DayStatus,
    pub reason: Option<LossReason>,
    /// The sum of all entries.
    pub figures: Figures,
    pub tier2_mpn_id: String,
}

impl Head {
    /// The head after appending `entry` to `previous`.
    pub fn after(previous: Option<&Head>, entry: &Entry) -> Head {
        let mut figures = previous.map(|h| h.figures.clone()).unwrap_or_default();
        figures.add(&entry.figures);
        Head {
            key: entry.key.clone(),
            seq: entry.seq,
            hash: entry.hash.clone(),
            status: entry.status,
            reason: entry.reason,
            figures,
            tier2_mpn_id: entry.tier2_mpn_id.clone(),
        }
    }
}

/// One problem `verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerBreak {
    pub resource_day: String,
    pub seq: Option<u32>,
    pub problem: String,
}

/// Checks one resource-day's entries (in seq order) against its head.
pub fn verify_resource_day(
    key: &ResourceDayKey,
    entries: &[Entry],
    head: Option<&Head>,
) -> Vec<LedgerBreak> {
    let mut breaks = Vec::new();
    let mut push = |seq: Option<u32>, problem: String| {
        breaks.push(LedgerBreak {
            resource_day: key.to_string(),
            seq,
            problem,
        })
    };
    let mut prev_hash = String::new();
    let mut sum = Figures::default();
    for (i, e) in entries.iter().enumerate() {
        if &e.key != key {
            push(
                Some(e.seq),
                "entry is filed under another resource-day".into(),
            );
        }
        if e.seq as usize != i {
            push(
                Some(e.seq),
                format!("sequence gap: expected entry {i}, found {}", e.seq),
            );
        }
        if e.compute_hash() != e.hash {
            push(
                Some(e.seq),
                "hash does not match the entry's content (entry changed)".into(),
            );
        }
        if e.prev_hash != prev_hash {
            push(
                Some(e.seq),
                "chain broken: prevHash is not the previous entry's hash".into(),
            );
        }
        let expected_kind = if i == 0 {
            EntryKind::Settlement
        } else {
            EntryKind::Adjustment
        };
        if e.kind != expected_kind {
            push(
                Some(e.seq),
                format!("entry {i} should be {}", expected_kind.code()),
            );
        }
        if let Some(before) = i.checked_sub(1).and_then(|j| entries.get(j)) {
            if e.posted_at < before.posted_at {
                push(
                    Some(e.seq),
                    format!(
                        "postedAt goes backwards: {} is before the previous entry's {}",
                        e.posted_at
                            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                        before
                            .posted_at
                            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                    ),
                );
            }
        }
        prev_hash = e.hash.clone();
        sum.add(&e.figures);
    }
    match (head, entries.last()) {
        (None, None) => {}
        (None, Some(last)) => push(Some(last.seq), "entries without a head record".into()),
        (Some(h), None) => push(
            Some(h.seq),
            "head record without entries (entries deleted)".into(),
        ),
        (Some(h), Some(last)) => {
            if h.seq != last.seq {
                push(
                    Some(h.seq),
                    format!(
                        "head says entry {} is last, ledger ends at entry {}",
                        h.seq, last.seq
                    ),
                );
            } else if h.hash != last.hash {
                push(
                    Some(h.seq),
                    format!(
                        "last entry {} is not the one the head recorded: its hash differs (entry replaced)",
                        h.seq
                    ),
                );
            }
            if !h.figures.same_amounts(&sum) {
                push(
                    None,
                    "sum of entries differs from the resource-day's recorded value".into(),
                );
            }
        }
    }
    breaks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ResourceDayKey {
        ResourceDayKey {
            partner_id: "p".into(),
            customer_id: "c".into(),
            subscription_id: "s".into(),
            resource_id: "/subscriptions/s".into(),
            usage_date: NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
            currency: "USD".into(),
        }
    }

    fn entry(seq: u32, prev: &str, earned: i64) -> Entry {
        Entry {
            key: key(),
            seq,
            kind: if seq == 0 {
                EntryKind::Settlement
            } else {
                EntryKind::Adjustment
            },
            status: DayStatus::Full,
            reason: None,
            figures: Figures {
                earned_credit: Decimal::new(earned, 2),
                ..Default::default()
            },
            rate: Decimal::new(15, 2),
            tier2_mpn_id: String::new(),
            evidence: vec![],
            input_digest: "d".into(),
            run_id: "r".into(),
            posted_at: DateTime::from_timestamp(1_790_000_000, 0).unwrap(),
            prev_hash: prev.into(),
            hash: String::new(),
        }
        .seal()
    }

    /// An entry's canonical JSON and hash are the ledger's format: pinned here, so that a change
    /// to a field name, its order, a number's text or the hash input fails this test instead of
    /// silently breaking every stored chain. (The hash below is `sha256sum` of the JSON line, as
    /// computed outside Rust.)
    #[test]
    fn canonical_json_and_hash_are_pinned() {
        let mut lost = BTreeMap::new();
        lost.insert(LossReason::PalMissing, Decimal::new(363168, 5));
        let mut ineligible = BTreeMap::new();
        ineligible.insert(IneligibleReason::Reservation, Decimal::new(1152, 1));
        let e = Entry {
            key: ResourceDayKey {
                partner_id: "7a3c0000-0000-4000-8000-000000000001".into(),
                customer_id: "bdd640fb-0667-4ad1-9c80-317fa3b1799d".into(),
                subscription_id: "3f1d5a2e-8c4b-4e6f-9a7d-2b1c0e9f8a76".into(),
                resource_id:
                    "/subscriptions/3f1d5a2e-8c4b-4e6f-9a7d-2b1c0e9f8a76/resourcegroups/rg-data"
                        .into(),
                usage_date: NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
                currency: "USD".into(),
            },
            seq: 1,
            kind: EntryKind::Adjustment,
            status: DayStatus::None,
            reason: Some(LossReason::PalMissing),
            figures: Figures {
                list_amount: Decimal::new(1396112, 4),
                eligible_amount: Decimal::new(242112, 4),
                ineligible_amount: Decimal::new(1152, 1),
                earned_credit: Decimal::new(-363168, 5),
                lost_credit: Decimal::new(363168, 5),
                microsoft_credit: Decimal::ZERO,
                variance: Decimal::new(-363168, 5),
                lost_by_reason: lost,
                ineligible_by_reason: ineligible,
            },
            rate: Decimal::new(15, 2),
            tier2_mpn_id: "4200002".into(),
            evidence: vec![
                "/subscriptions/x/providers/microsoft.authorization/roleassignments/a".into(),
            ],
            input_digest: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
            run_id: "run-1".into(),
            posted_at: DateTime::from_timestamp(1_790_000_000, 123_000_000).unwrap(),
            prev_hash: "ab".repeat(32),
            hash: String::new(),
        };
        let json = e.canonical_json();
        assert_eq!(json, GOLDEN_JSON);
        assert_eq!(e.compute_hash(), GOLDEN_HASH);
        let sealed = e.seal();
        assert_eq!(sealed.hash, GOLDEN_HASH);
        // What a store keeps parses back to the same entry.
        let mut back: Entry = serde_json::from_str(GOLDEN_JSON).unwrap();
        back.hash = GOLDEN_HASH.into();
        assert_eq!(back, sealed);
    }

    const GOLDEN_JSON: &str = concat!(
        r#"{"partnerId":"7a3c0000-0000-4000-8000-000000000001","customerId":"bdd640fb-0667-4ad1-9c8"#,
        r#"0-317fa3b1799d","subscriptionId":"3f1d5a2e-8c4b-4e6f-9a7d-2b1c0e9f8a76","resourceId":"/s"#,
        r#"ubscriptions/3f1d5a2e-8c4b-4e6f-9a7d-2b1c0e9f8a76/resourcegroups/rg-data","usageDate":"2"#,
        r#"026-09-01","currency":"USD","seq":1,"kind":"ADJUSTMENT","status":"NONE","reason":"PAL_MI"#,
        r#"SSING","figures":{"listAmount":"139.6112","eligibleAmount":"24.2112","ineligibleAmount":"#,
        r#""115.2","earnedCredit":"-3.63168","lostCredit":"3.63168","microsoftCredit":"0","variance"#,
        r#"":"-3.63168","lostByReason":{"PAL_MISSING":"3.63168"},"ineligibleByReason":{"RESERVATION"#,
        r#"":"115.2"}},"rate":"0.15","tier2MpnId":"4200002","evidence":["/subscriptions/x/providers"#,
        r#"/microsoft.authorization/roleassignments/a"],"inputDigest":"9f86d081884c7d659a2feaa0c55a"#,
        r#"d015a3bf4f1b2b0b822cd15d6c15b0f00a08","runId":"run-1","postedAt":"2026-09-21T14:13:20.12"#,
        r#"3Z","prevHash":"abababababababababababababababababababababababababababababababab"}"#,
    );
    const GOLDEN_HASH: &str = "4e963323d27eb7b810e4eaa5985bbb84c829d045372393a8245aa0016cd0b33c";

    #[test]
    fn a_sound_chain_verifies_and_tampering_is_named() {
        let e0 = entry(0, "", 100);
        let e1 = entry(1, &e0.hash, -40);
        let head = Head::after(Some(&Head::after(None, &e0)), &e1);
        assert_eq!(head.figures.earned_credit, Decimal::new(60, 2));
        assert!(verify_resource_day(&key(), &[e0.clone(), e1.clone()], Some(&head)).is_empty());

        let mut changed = e1.clone();
        changed.figures.earned_credit = Decimal::new(-30, 2);
        let b = verify_resource_day(&key(), &[e0.clone(), changed], Some(&head));
        assert!(
            b.iter()
                .any(|b| b.seq == Some(1) && b.problem.contains("hash")),
            "{b:?}"
        );

        let b = verify_resource_day(&key(), std::slice::from_ref(&e0), Some(&head));
        assert!(
            b.iter().any(|b| b.problem.contains("head says entry 1")),
            "{b:?}"
        );
    }

    /// An adjustment posted before the entry it adjusts (a run whose clock was behind an
    /// earlier run's) is a break, named, even when every hash and the chain are sound.
    #[test]
    fn a_chain_whose_posted_at_goes_backwards_is_a_break() {
        let e0 = entry(0, "", 100);
        let mut e1 = entry(1, &e0.hash, -40);
        e1.posted_at = e0.posted_at - chrono::Duration::hours(1);
        let e1 = e1.seal();
        let head = Head::after(Some(&Head::after(None, &e0)), &e1);
        let b = verify_resource_day(&key(), &[e0.clone(), e1.clone()], Some(&head));
        assert_eq!(
            b,
            vec![LedgerBreak {
                resource_day: key().to_string(),
                seq: Some(1),
                problem: "postedAt goes backwards: 2026-09-21T13:13:20Z is before the previous \
                          entry's 2026-09-21T14:13:20Z"
                    .into(),
            }]
        );
        // Posted at the same instant is not a break.
        let mut same = entry(1, &e0.hash, -40);
        same.posted_at = e0.posted_at;
        let same = same.seal();
        let head = Head::after(Some(&Head::after(None, &e0)), &same);
        assert!(verify_resource_day(&key(), &[e0, same], Some(&head)).is_empty());
    }

    #[test]
    fn deltas_drop_zero_reasons() {
        let a = Figures {
            lost_credit: Decimal::new(3, 0),
            lost_by_reason: [(LossReason::NoEvidence, Decimal::new(3, 0))].into(),
            ..Default::default()
        };
        let b = Figures {
            lost_credit: Decimal::new(3, 0),
            lost_by_reason: [(LossReason::NoAccess, Decimal::new(3, 0))].into(),
            ..Default::default()
        };
        let d = b.minus(&a);
        assert_eq!(d.lost_credit, Decimal::ZERO);
        assert_eq!(
            d.lost_by_reason.get(&LossReason::NoEvidence),
            Some(&Decimal::new(-3, 0))
        );
        assert_eq!(
            d.lost_by_reason.get(&LossReason::NoAccess),
            Some(&Decimal::new(3, 0))
        );
        let mut s = a.clone();
        s.add(&d);
        assert!(s.same_amounts(&b));
        assert!(!s.lost_by_reason.contains_key(&LossReason::NoEvidence));
    }
}
