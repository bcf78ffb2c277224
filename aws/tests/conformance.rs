//! One conformance suite of the storage traits, run against the embedded SqliteStore (the
//! reference) and against DynamoStore over the wire (moto): the same calls, the same
//! assertions.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::{d, t};
use pec_embedded::SqliteStore;
use pec_ledger::ledger::{Entry, EntryKind, Figures, Head, ResourceDayKey};
use pec_ledger::names::{NameKind, Names};
use pec_ledger::reasons::{DayStatus, LossReason};
use pec_ledger::snapshot::parse_snapshot;
use pec_ledger::store::{AccessCheckpoint, SnapshotStore as _};
use pec_ledger::store::{
    Append, AppendOutcome, CommitOutcome, EntryFilter, LedgerStore, PutSnapshotOutcome, Store,
    UploadRecord, UsageAggregate, UsageKey, WebhookSecret,
};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

const P: &str = "aaaaaaaa-0000-4000-8000-000000000001";
const C1: &str = "cccccccc-0000-4000-8000-000000000001";
const C2: &str = "cccccccc-0000-4000-8000-000000000002";
const SUB1: &str = "55555555-0000-4000-8000-000000000001";
const SUB2: &str = "55555555-0000-4000-8000-000000000002";

fn res(sub: &str, name: &str) -> String {
    format!(
        "/subscriptions/{sub}/resourcegroups/rg/providers/microsoft.compute/virtualmachines/{name}"
    )
}

fn key(c: &str, sub: &str, name: &str, date: &str) -> ResourceDayKey {
    ResourceDayKey {
        partner_id: P.into(),
        customer_id: c.into(),
        subscription_id: sub.into(),
        resource_id: res(sub, name),
        usage_date: d(date),
        currency: "USD".into(),
    }
}

fn agg(k: ResourceDayKey, amount: i64) -> UsageAggregate {
    UsageAggregate {
        key: k,
        mpn_id: "1000001".into(),
        tier2_mpn_id: String::new(),
        list_amount: Decimal::from(amount),
        eligible_amount: Decimal::from(amount),
        microsoft_credit: Decimal::ZERO,
        ineligible_by_reason: BTreeMap::new(),
        lines: 1,
        products: Vec::new(),
    }
}

fn upload(id: &str, sha: &str, at: &str) -> UploadRecord {
    UploadRecord {
        upload_id: id.into(),
        partner_id: P.into(),
        sha256: sha.into(),
        file_name: format!("{id}.csv"),
        received_at: t(at),
        rows: 1,
        names: Default::default(),
    }
}

fn ukey(sub: &str, date: &str, c: &str) -> UsageKey {
    UsageKey {
        subscription_id: sub.into(),
        usage_date: d(date),
        customer_id: c.into(),
    }
}

fn amounts(store: &dyn Store, c: &str, date: &str) -> Vec<i64> {
    let mut v: Vec<i64> = store
        .current_usage(P, c, d(date))
        .expect("current usage")
        .iter()
        .map(|u| u.list_amount.try_into().expect("whole amount"))
        .collect();
    v.sort();
    v
}

fn entry(
    k: ResourceDayKey,
    head: Option<&Head>,
    earned: i64,
    run: &str,
    posted: DateTime<Utc>,
) -> Append {
    let previous = head.map(|h| h.figures.clone()).unwrap_or_default();
    let value = Figures {
        list_amount: Decimal::from(earned * 10),
        eligible_amount: Decimal::from(earned * 10),
        earned_credit: Decimal::from(earned),
        variance: Decimal::from(earned),
        ..Default::default()
    };
    let e = Entry {
        key: k,
        seq: head.map(|h| h.seq + 1).unwrap_or(0),
        kind: if head.is_some() {
            EntryKind::Adjustment
        } else {
            EntryKind::Settlement
        },
        status: DayStatus::Full,
        reason: None::<LossReason>,
        figures: value.minus(&previous),
        rate: Decimal::new(15, 2),
        tier2_mpn_id: String::new(),
        evidence: vec![
            "/subscriptions/x/providers/microsoft.authorization/roleassignments/a".into(),
        ],
        input_digest: "digest".into(),
        run_id: run.into(),
        posted_at: posted,
        prev_hash: head.map(|h| h.hash.clone()).unwrap_or_default(),
        hash: String::new(),
    }
    .seal();
    Append::after(head, e)
}

fn entries(store: &dyn Store, filter: &EntryFilter) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    store
        .for_each_entry(filter, &mut |e| {
            // Each resource-day's entries come together and in seq order.
            if let Some(last) = out.last() {
                if last.key == e.key {
                    assert_eq!(e.seq, last.seq + 1, "seq order");
                } else {
                    assert!(
                        out.iter().all(|o| o.key != e.key),
                        "resource-day {} not contiguous",
                        e.key
                    );
                }
            }
            out.push(e);
            Ok(())
        })
        .expect("entries");
    out.sort_by(|a, b| (&a.key, a.seq).cmp(&(&b.key, b.seq)));
    out
}

fn snapshot_body(id: u32, customer: &str, taken_at: &str, source: &str) -> Vec<u8> {
    serde_json::json!({
        "schemaVersion": 1,
        "snapshotId": format!("00000000-0000-4000-8000-{id:012}"),
        "partnerId": P,
        "customerId": customer,
        "takenAt": taken_at,
        "source": source,
        "assignments": [{
            "id": format!("/subscriptions/{SUB1}/providers/Microsoft.Authorization/roleAssignments/a1"),
            "scope": format!("/subscriptions/{SUB1}"),
            "roleDefinitionId": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
            "roleName": "Owner",
            "principalId": "44444444-4444-4444-8444-444444444444",
            "principalType": "ForeignGroup",
            "accessType": "AOBO",
            "assignmentType": "permanent"
        }]
    })
    .to_string()
    .into_bytes()
}

/// The suite: every method of UsageStore, SnapshotStore, LedgerStore and PartnerStore.
/// `customers_in_range` lists at least `must` and nothing but this suite's customers: a store
/// may list a customer that has data in the range's months but not on its dates (the AWS store
/// keeps its registry by month; settlement then finds nothing to do for it).
fn listed(store: &dyn Store, from: &str, through: &str, must: &[&str]) {
    let got = store.customers_in_range(d(from), d(through)).unwrap();
    for c in must {
        assert!(
            got.contains(&(P.to_string(), c.to_string())),
            "{c} in {got:?}"
        );
    }
    for (p, c) in &got {
        assert!(p == P && (c == C1 || c == C2), "{p} {c}");
    }
}

pub fn suite(store: &dyn Store) {
    // ---- usage: staged rows are invisible until commit ----
    assert_eq!(store.accepted_upload_by_sha(P, "sha-1").unwrap(), None);
    store
        .stage_usage(
            "u1",
            &[
                agg(key(C1, SUB1, "vm1", "2026-09-01"), 10),
                agg(key(C1, SUB1, "vm1", "2026-09-01"), 5),
                agg(key(C1, SUB1, "vm2", "2026-09-01"), 1),
                agg(key(C1, SUB1, "vm1", "2026-09-02"), 2),
                agg(key(C2, SUB2, "vm3", "2026-09-01"), 3),
            ],
        )
        .unwrap();
    // A second flush of the same upload: rows of the same group add up.
    store
        .stage_usage("u1", &[agg(key(C1, SUB1, "vm1", "2026-09-01"), 1)])
        .unwrap();
    assert!(amounts(store, C1, "2026-09-01").is_empty());
    assert!(store
        .customers_in_range(d("2026-09-01"), d("2026-09-30"))
        .unwrap()
        .is_empty());
    let keys1 = [
        ukey(SUB1, "2026-09-01", C1),
        ukey(SUB1, "2026-09-02", C1),
        ukey(SUB2, "2026-09-01", C2),
    ];
    assert_eq!(
        store
            .commit_upload(&upload("u1", "sha-1", "2026-09-03T01:00:00Z"), &keys1)
            .unwrap(),
        CommitOutcome::Accepted
    );
    assert_eq!(amounts(store, C1, "2026-09-01"), vec![1, 1, 5, 10]);
    assert_eq!(amounts(store, C1, "2026-09-02"), vec![2]);
    assert_eq!(amounts(store, C2, "2026-09-01"), vec![3]);
    assert!(amounts(store, C2, "2026-09-02").is_empty());
    assert_eq!(
        store.accepted_upload_by_sha(P, "sha-1").unwrap().as_deref(),
        Some("u1")
    );
    assert_eq!(
        store
            .customers_in_range(d("2026-09-01"), d("2026-09-01"))
            .unwrap(),
        vec![
            (P.to_string(), C1.to_string()),
            (P.to_string(), C2.to_string())
        ]
    );
    listed(store, "2026-09-02", "2026-09-05", &[C1]);
    let u = store.current_usage(P, C1, d("2026-09-02")).unwrap();
    assert_eq!(u[0].key, key(C1, SUB1, "vm1", "2026-09-02"));

    // ---- a byte-identical file is a duplicate and changes nothing ----
    store
        .stage_usage("u2", &[agg(key(C1, SUB1, "vm1", "2026-09-01"), 100)])
        .unwrap();
    assert_eq!(
        store
            .commit_upload(&upload("u2", "sha-1", "2026-09-03T02:00:00Z"), &keys1[..1])
            .unwrap(),
        CommitOutcome::Duplicate("u1".into())
    );
    store.discard_upload("u2").unwrap();
    assert_eq!(amounts(store, C1, "2026-09-01"), vec![1, 1, 5, 10]);

    // ---- supersession: a later file replaces the keys it holds, and only those ----
    store
        .stage_usage("u3", &[agg(key(C1, SUB1, "vm1", "2026-09-01"), 7)])
        .unwrap();
    assert_eq!(
        store
            .commit_upload(
                &upload("u3", "sha-3", "2026-09-04T01:00:00Z"),
                &[ukey(SUB1, "2026-09-01", C1)]
            )
            .unwrap(),
        CommitOutcome::Accepted
    );
    assert_eq!(amounts(store, C1, "2026-09-01"), vec![7]);
    assert_eq!(amounts(store, C1, "2026-09-02"), vec![2]);
    assert_eq!(amounts(store, C2, "2026-09-01"), vec![3]);

    // ---- discarded rows are gone ----
    store
        .stage_usage("u4", &[agg(key(C1, SUB1, "vm1", "2026-09-02"), 99)])
        .unwrap();
    store.discard_upload("u4").unwrap();
    assert_eq!(
        store
            .commit_upload(
                &upload("u4", "sha-4", "2026-09-05T01:00:00Z"),
                &[ukey(SUB1, "2026-09-02", C1)]
            )
            .unwrap(),
        CommitOutcome::Accepted
    );
    assert!(amounts(store, C1, "2026-09-02").is_empty());

    // ---- snapshots: stored, duplicate, conflict; replayed in takenAt order ----
    let now = t("2026-09-10T00:00:00Z");
    let later = parse_snapshot(&snapshot_body(1, C1, "2026-09-02T06:00:00Z", "a"), now).unwrap();
    let earlier = parse_snapshot(&snapshot_body(2, C1, "2026-09-01T06:00:00Z", "a"), now).unwrap();
    let other_customer =
        parse_snapshot(&snapshot_body(3, C2, "2026-09-01T06:00:00Z", "a"), now).unwrap();
    let body = snapshot_body(1, C1, "2026-09-02T06:00:00Z", "a");
    assert_eq!(
        store
            .put_snapshot(&later, &later.content_digest(), &body)
            .unwrap(),
        PutSnapshotOutcome::Stored
    );
    assert_eq!(
        store
            .put_snapshot(&earlier, &earlier.content_digest(), b"{}")
            .unwrap(),
        PutSnapshotOutcome::Stored
    );
    assert_eq!(
        store
            .put_snapshot(&other_customer, &other_customer.content_digest(), b"{}")
            .unwrap(),
        PutSnapshotOutcome::Stored
    );
    assert_eq!(
        store
            .put_snapshot(&later, &later.content_digest(), &body)
            .unwrap(),
        PutSnapshotOutcome::Duplicate
    );
    let changed = parse_snapshot(&snapshot_body(1, C1, "2026-09-02T07:00:00Z", "b"), now).unwrap();
    assert_eq!(
        store
            .put_snapshot(&changed, &changed.content_digest(), b"{}")
            .unwrap(),
        PutSnapshotOutcome::Conflict
    );
    let mut seen = Vec::new();
    store
        .for_each_snapshot(P, C1, &mut |s| {
            seen.push(s);
            Ok(())
        })
        .unwrap();
    assert_eq!(seen, vec![earlier.clone(), later.clone()]);
    // After a position: the later ones, provided the count at or before it is as expected.
    let after = |at: &str, id: &str, before: u64| {
        let mut seen = Vec::new();
        let in_order = store
            .for_each_snapshot_after(P, C1, (t(at), id), before, &mut |s| {
                seen.push(s.snapshot_id);
                Ok(())
            })
            .unwrap();
        in_order.then_some(seen)
    };
    let (e, l) = (earlier.snapshot_id.clone(), later.snapshot_id.clone());
    assert_eq!(after("2026-09-01T06:00:00Z", &e, 1), Some(vec![l.clone()]));
    assert_eq!(
        after("2026-09-01T06:00:00Z", "0", 0),
        Some(vec![e.clone(), l.clone()])
    );
    assert_eq!(after("2026-09-02T06:00:00Z", &l, 2), Some(vec![]));
    // One more at or before the position than expected: out of order, nothing visited.
    assert_eq!(after("2026-09-02T06:00:00Z", &l, 1), None);
    assert_eq!(after("2026-09-01T06:00:00Z", &e, 0), None);
    // Checkpoints: none at first, then the last one kept per customer.
    assert_eq!(store.access_checkpoint(P, C1).unwrap(), None);
    let checkpoint = |n: u64| AccessCheckpoint {
        partner_id: P.into(),
        customer_id: C1.into(),
        taken_at: t("2026-09-02T06:00:00Z"),
        snapshot_id: l.clone(),
        snapshots: n,
        state: format!("state {n}"),
    };
    store.put_access_checkpoints(&[checkpoint(1)]).unwrap();
    store.put_access_checkpoints(&[checkpoint(2)]).unwrap();
    let kept = store.access_checkpoint(P, C1).unwrap();
    // A store that keeps none (DynamoDB for now) answers None.
    assert!(kept.is_none() || kept == Some(checkpoint(2)), "{kept:?}");

    // ---- ledger: conditional appends ----
    let posted = t("2026-09-05T02:00:00Z");
    assert!(store.heads(P, C1, d("2026-09-01")).unwrap().is_empty());
    let a1 = entry(key(C1, SUB1, "vm1", "2026-09-01"), None, 3, "r1", posted);
    let a2 = entry(key(C1, SUB1, "vm2", "2026-09-01"), None, 4, "r1", posted);
    assert_eq!(
        store.append(&[a1.clone(), a2.clone()]).unwrap(),
        AppendOutcome::Appended
    );
    assert_eq!(
        store.heads(P, C1, d("2026-09-01")).unwrap(),
        vec![a1.head.clone(), a2.head.clone()]
    );
    // A second first entry of vm1 loses; the batch's other entry (vm9) is not written either.
    let again = entry(key(C1, SUB1, "vm1", "2026-09-01"), None, 5, "r2", posted);
    let fresh = entry(key(C1, SUB1, "vm9", "2026-09-01"), None, 5, "r2", posted);
    assert_eq!(
        store.append(&[fresh.clone(), again]).unwrap(),
        AppendOutcome::Conflict
    );
    assert_eq!(store.heads(P, C1, d("2026-09-01")).unwrap().len(), 2);
    // An adjustment chained to the head is appended; a second one chained to the same (now
    // stale) head loses.
    let late = t("2026-10-02T02:00:00Z");
    let a3 = entry(
        key(C1, SUB1, "vm1", "2026-09-01"),
        Some(&a1.head),
        6,
        "r3",
        late,
    );
    assert_eq!(
        store.append(std::slice::from_ref(&a3)).unwrap(),
        AppendOutcome::Appended
    );
    let stale = entry(
        key(C1, SUB1, "vm1", "2026-09-01"),
        Some(&a1.head),
        8,
        "r4",
        late,
    );
    assert_eq!(store.append(&[stale]).unwrap(), AppendOutcome::Conflict);
    // A head that does not match its entry is refused.
    let mut bad = entry(key(C1, SUB1, "vm7", "2026-09-01"), None, 1, "r5", posted);
    bad.head.seq = 3;
    assert_eq!(store.append(&[bad]).unwrap(), AppendOutcome::Conflict);
    // A batch larger than one DynamoDB transaction.
    let big: Vec<Append> = (0..120)
        .map(|i| {
            entry(
                key(C2, SUB2, &format!("vm-{i:03}"), "2026-09-03"),
                None,
                1,
                "r6",
                posted,
            )
        })
        .collect();
    assert_eq!(store.append(&big).unwrap(), AppendOutcome::Appended);
    assert_eq!(store.heads(P, C2, d("2026-09-03")).unwrap().len(), 120);
    listed(store, "2026-09-03", "2026-09-03", &[C2]);

    // ---- reading entries ----
    let sept = EntryFilter {
        partner_id: Some(P.into()),
        usage_from: Some(d("2026-09-01")),
        usage_through: Some(d("2026-09-30")),
        ..Default::default()
    };
    let all_sept = entries(store, &sept);
    assert_eq!(all_sept.len(), 123);
    let day1 = entries(
        store,
        &EntryFilter {
            usage_through: Some(d("2026-09-01")),
            ..sept.clone()
        },
    );
    assert_eq!(
        day1,
        vec![a1.entry.clone(), a3.entry.clone(), a2.entry.clone()]
    );
    let vm1 = entries(
        store,
        &EntryFilter {
            resource_id: Some(res(SUB1, "vm1")),
            usage_from: Some(d("2026-09-01")),
            usage_through: Some(d("2026-09-01")),
            ..sept.clone()
        },
    );
    assert_eq!(vm1, vec![a1.entry.clone(), a3.entry.clone()]);
    let as_of = entries(
        store,
        &EntryFilter {
            posted_through: Some(t("2026-09-30T00:00:00Z")),
            usage_through: Some(d("2026-09-01")),
            ..sept.clone()
        },
    );
    assert_eq!(as_of, vec![a1.entry.clone(), a2.entry.clone()]);
    let everything = entries(store, &EntryFilter::default());
    assert_eq!(everything.len(), 123);
    assert!(entries(
        store,
        &EntryFilter {
            partner_id: Some("other".into()),
            ..sept.clone()
        }
    )
    .is_empty());
    let mut posted_oct = Vec::new();
    store
        .for_each_entry_posted(
            P,
            t("2026-10-01T00:00:00Z"),
            t("2026-11-01T00:00:00Z"),
            &mut |e| {
                posted_oct.push(e);
                Ok(())
            },
        )
        .unwrap();
    assert_eq!(posted_oct, vec![a3.entry.clone()]);
    // Only prior-period entries: those posted in September for September are not.
    let mut posted_exact = 0;
    store
        .for_each_entry_posted(P, posted, posted + Duration::microseconds(1), &mut |_| {
            posted_exact += 1;
            Ok(())
        })
        .unwrap();
    assert_eq!(posted_exact, 0);
    let mut posted_at_late = Vec::new();
    store
        .for_each_entry_posted(P, late, late + Duration::microseconds(1), &mut |e| {
            posted_at_late.push(e);
            Ok(())
        })
        .unwrap();
    assert_eq!(posted_at_late, vec![a3.entry.clone()]);
    let mut posted_none = 0;
    store
        .for_each_entry_posted(P, posted - Duration::days(1), posted, &mut |_| {
            posted_none += 1;
            Ok(())
        })
        .unwrap();
    assert_eq!(posted_none, 0);
    let mut heads = Vec::new();
    store
        .for_each_head(&mut |h| {
            heads.push(h);
            Ok(())
        })
        .unwrap();
    assert_eq!(heads.len(), 122);
    let mut sorted = heads.clone();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(heads, sorted);
    let report = pec_ledger::verify::verify(store).unwrap();
    assert!(report.ok, "{:?}", report.breaks);
    assert_eq!(report.entries, 123);
    assert_eq!(report.resource_days, 122);

    // ---- partner secrets ----
    let s1 = WebhookSecret {
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
        added_at: t("2026-09-01T00:00:00Z"),
    };
    let s2 = WebhookSecret {
        secret: "whsec_c2Vjb25kIHNlY3JldCBrZXkgZm9yIHRlc3Rz".into(),
        added_at: t("2026-09-02T00:00:00Z"),
    };
    assert!(store.active_secrets(P).unwrap().is_empty());
    store.add_secret(P, &s2).unwrap();
    store.add_secret(P, &s1).unwrap();
    store.add_secret(P, &s1).unwrap();
    assert_eq!(
        store.active_secrets(P).unwrap(),
        vec![s1.clone(), s2.clone()]
    );
    assert!(store.revoke_secret(P, &s1.secret).unwrap());
    assert!(!store.revoke_secret(P, &s1.secret).unwrap());
    assert_eq!(store.active_secrets(P).unwrap(), vec![s2.clone()]);
    assert!(store.active_secrets(C1).unwrap().is_empty());

    // ---- names: kept with an upload's commit; the newest upload's win, name by name ----
    assert_eq!(store.names(P).unwrap(), Names::default());
    let mut first = Names::default();
    first.set(NameKind::Partner, "", "Northwind Cloud Partner");
    first.set(NameKind::Customer, C1, "Litware");
    first.set(NameKind::CustomerDomain, C1, "litware.onmicrosoft.com");
    first.set(NameKind::Subscription, SUB1, "Production");
    first.set(NameKind::Reseller, "1234567", "VanArsdel");
    let named = |id: &str, sha: &str, at: &str, names: &Names| {
        store
            .stage_usage(id, &[agg(key(C1, SUB1, "vm1", "2026-09-10"), 1)])
            .unwrap();
        let mut record = upload(id, sha, at);
        record.names = names.clone();
        assert_eq!(
            store
                .commit_upload(&record, &[ukey(SUB1, "2026-09-10", C1)])
                .unwrap(),
            CommitOutcome::Accepted
        );
    };
    named("u7", "sha-7", "2026-09-10T01:00:00Z", &first);
    assert_eq!(store.names(P).unwrap(), first);
    let mut second = Names::default();
    second.set(NameKind::Customer, C1, "Litware Ltd");
    second.set(NameKind::Subscription, SUB2, "Test");
    named("u8", "sha-8", "2026-09-11T01:00:00Z", &second);
    let mut both = first.clone();
    both.set(NameKind::Customer, C1, "Litware Ltd");
    both.set(NameKind::Subscription, SUB2, "Test");
    assert_eq!(store.names(P).unwrap(), both);
    assert_eq!(store.names(C1).unwrap(), Names::default());
}

#[test]
fn sqlite_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    suite(&store);
    // The embedded store keeps access checkpoints: the suite's last one.
    let kept = store
        .access_checkpoint(P, C1)
        .unwrap()
        .expect("a checkpoint");
    assert_eq!((kept.snapshots, kept.state.as_str()), (2, "state 2"));
}

#[test]
fn dynamo_store_conforms() {
    let env = common::setup();
    suite(&env.aws.store);
}

/// A batch larger than one transaction that meets a conflict in its second transaction: the
/// first (99 entries and the date's mark) stays written (documented), `Conflict` is returned,
/// and planning again from the heads appends exactly what is missing.
#[test]
fn dynamo_append_conflict_in_a_later_transaction() {
    let env = common::setup();
    let store = &env.aws.store;
    let posted = t("2026-09-05T02:00:00Z");
    let k = |i: usize| key(C1, SUB1, &format!("vm-{i:03}"), "2026-09-01");
    // Someone else already wrote resource-day 120.
    let other = entry(k(120), None, 9, "other", posted);
    assert_eq!(store.append(&[other]).unwrap(), AppendOutcome::Appended);
    let batch: Vec<Append> = (0..150)
        .map(|i| entry(k(i), None, 1, "mine", posted))
        .collect();
    assert_eq!(store.append(&batch).unwrap(), AppendOutcome::Conflict);
    let heads = store.heads(P, C1, d("2026-09-01")).unwrap();
    assert_eq!(
        heads.len(),
        100,
        "the first transaction (99) and the other writer's entry"
    );
    // Re-planned from the heads: only the missing resource-days.
    let have: std::collections::HashSet<_> = heads.iter().map(|h| h.key.clone()).collect();
    let rest: Vec<Append> = (0..150)
        .filter(|i| !have.contains(&k(*i)))
        .map(|i| entry(k(i), None, 1, "mine", posted))
        .collect();
    assert_eq!(rest.len(), 50);
    assert_eq!(store.append(&rest).unwrap(), AppendOutcome::Appended);
    let report = pec_ledger::verify::verify(store).unwrap();
    assert!(report.ok, "{:?}", report.breaks);
    assert_eq!(report.entries, 150);
}

/// A month-to-date file uploaded again with one more day and one restated day writes only the
/// parts whose content changed; the unchanged day reads the earlier upload's part and keeps its
/// usage source (so settlement skips it); a discarded upload that reused a part leaves it.
#[test]
fn dynamo_month_to_date_upload_writes_only_changed_blocks() {
    let env = common::setup();
    let store: &dyn Store = &env.aws.store;
    let parts_of = |upload: &str| -> usize {
        let out = env
            .rt
            .block_on(
                env.aws
                    .clients
                    .dynamodb
                    .scan()
                    .table_name(&env.aws.env.state_table)
                    .send(),
            )
            .unwrap();
        out.items()
            .iter()
            .filter(|i| {
                i["pk"].as_s().unwrap().starts_with("UB#")
                    && i["sk"].as_s().unwrap().starts_with(&format!("{upload}#"))
            })
            .count()
    };
    let day = |date: &str, amount: i64| {
        vec![
            agg(key(C1, SUB1, "vm1", date), amount),
            agg(key(C1, SUB1, "vm2", date), 1),
        ]
    };
    let sources = || {
        store
            .usage_sources(P, C1, d("2026-09-01"), d("2026-09-30"))
            .unwrap()
            .unwrap()
    };
    store
        .stage_usage(
            "mtd-1",
            &[day("2026-09-01", 10), day("2026-09-02", 20)].concat(),
        )
        .unwrap();
    let k1 = [ukey(SUB1, "2026-09-01", C1), ukey(SUB1, "2026-09-02", C1)];
    assert_eq!(
        store
            .commit_upload(&upload("mtd-1", "sha-mtd-1", "2026-09-03T01:00:00Z"), &k1)
            .unwrap(),
        CommitOutcome::Accepted
    );
    assert_eq!(parts_of("mtd-1"), 2);
    let before = sources();
    // The next day's file: day 1 the same, day 2 restated, day 3 new.
    store
        .stage_usage(
            "mtd-2",
            &[
                day("2026-09-01", 10),
                day("2026-09-02", 25),
                day("2026-09-03", 30),
            ]
            .concat(),
        )
        .unwrap();
    let k2 = [
        ukey(SUB1, "2026-09-01", C1),
        ukey(SUB1, "2026-09-02", C1),
        ukey(SUB1, "2026-09-03", C1),
    ];
    assert_eq!(
        store
            .commit_upload(&upload("mtd-2", "sha-mtd-2", "2026-09-04T01:00:00Z"), &k2)
            .unwrap(),
        CommitOutcome::Accepted
    );
    assert_eq!(
        parts_of("mtd-2"),
        2,
        "day 2 restated and day 3 new, not day 1"
    );
    assert_eq!(amounts(store, C1, "2026-09-01"), vec![1, 10]);
    assert_eq!(amounts(store, C1, "2026-09-02"), vec![1, 25]);
    assert_eq!(amounts(store, C1, "2026-09-03"), vec![1, 30]);
    let after = sources();
    assert_eq!(after.len(), 3);
    assert_eq!(after[0], before[0], "day 1's source is unchanged");
    assert_ne!(after[1], before[1], "day 2's source changed");
    // An upload that reuses day 1's part and is then discarded leaves the part in place.
    store.stage_usage("mtd-3", &day("2026-09-01", 10)).unwrap();
    assert_eq!(parts_of("mtd-3"), 0);
    store.discard_upload("mtd-3").unwrap();
    assert_eq!(amounts(store, C1, "2026-09-01"), vec![1, 10]);
    assert_eq!(parts_of("mtd-1"), 2);
}
