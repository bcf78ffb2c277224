//! What the embedded store keeps of an entry reads back exactly: the hash of what is read is
//! the hash that was sealed, whatever the times and digests hold.

use chrono::{DateTime, NaiveDate, Utc};
use pec_embedded::SqliteStore;
use pec_ledger::ledger::{Entry, EntryKind, Figures, ResourceDayKey};
use pec_ledger::reasons::{DayStatus, IneligibleReason, LossReason};
use pec_ledger::store::{Append, AppendOutcome, EntryFilter, LedgerStore};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

fn entry(resource: &str, posted_at: DateTime<Utc>, input_digest: &str) -> Entry {
    Entry {
        key: ResourceDayKey {
            partner_id: "p".into(),
            customer_id: "c".into(),
            subscription_id: "s".into(),
            resource_id: resource.into(),
            usage_date: NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
            currency: "EUR".into(),
        },
        seq: 0,
        kind: EntryKind::Settlement,
        status: DayStatus::Partial,
        reason: Some(LossReason::PartialDay),
        figures: Figures {
            list_amount: Decimal::new(1_250, 2),
            eligible_amount: Decimal::new(10, 0),
            ineligible_amount: Decimal::new(25, 1),
            earned_credit: Decimal::ZERO,
            lost_credit: Decimal::new(15, 1),
            microsoft_credit: Decimal::new(-3, 0),
            variance: Decimal::new(3, 0),
            lost_by_reason: BTreeMap::from([(LossReason::PartialDay, Decimal::new(15, 1))]),
            ineligible_by_reason: BTreeMap::from([(IneligibleReason::Spot, Decimal::new(25, 1))]),
        },
        rate: Decimal::new(15, 2),
        tier2_mpn_id: "5200002".into(),
        evidence: vec!["a".into(), "b".into()],
        input_digest: input_digest.into(),
        run_id: "run".into(),
        posted_at,
        prev_hash: String::new(),
        hash: String::new(),
    }
    .seal()
}

#[test]
fn entries_read_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    let with_nanos: DateTime<Utc> = "2026-10-02T02:00:00.123456789Z".parse().unwrap();
    let whole: DateTime<Utc> = "2026-10-02T02:00:00Z".parse().unwrap();
    let written = vec![
        entry("/subscriptions/s/x", with_nanos, &"ab".repeat(32)),
        entry("/subscriptions/s/y", whole, "not a hex digest"),
        entry("/other/z", whole, ""),
    ];
    let batch: Vec<Append> = written
        .iter()
        .map(|e| Append::after(None, e.clone()))
        .collect();
    assert_eq!(store.append(&batch).unwrap(), AppendOutcome::Appended);
    let mut read = Vec::new();
    store
        .for_each_entry(&EntryFilter::default(), &mut |e| {
            read.push(e);
            Ok(())
        })
        .unwrap();
    read.sort_by(|a, b| a.key.cmp(&b.key));
    let mut expected = written.clone();
    expected.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(read, expected);
    for e in &read {
        assert_eq!(e.compute_hash(), e.hash);
    }
    // A prior-period read (September usage posted in October) sees the entry posted a fraction
    // of a second into the period, and not the ones posted before it.
    let mut posted = Vec::new();
    store
        .for_each_entry_posted(
            "p",
            with_nanos,
            with_nanos + chrono::Duration::seconds(1),
            &mut |e| {
                posted.push(e.key.resource_id);
                Ok(())
            },
        )
        .unwrap();
    assert_eq!(posted, vec!["/subscriptions/s/x".to_string()]);
}
