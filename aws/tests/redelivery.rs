//! Redelivery (issue 4, item 4): S3 events and SQS settlement messages delivered twice and out
//! of order (day 2's file before day 1's, a restated file before the original, shards repeated
//! and reordered) leave the same usage, ledger entries and statements as in-order, single
//! delivery.

mod common;

#[path = "../../tests/tests/common/mod.rs"]
mod scenario;

use aws_lambda_events::sqs::SqsEvent;
use common::{ledger, setup, t, TestAws};
use pec_aws::handlers::nightly_settle::{self, ShardMessage};
use pec_aws::handlers::usage_upload;
use pec_ledger::ingest::{post_snapshot, UploadStatus};
use pec_ledger::statement::{statement_from_store, Month};
use pec_ledger::store::{ObjectStore, UsageStore};
use scenario::{owner_on, snapshot, usage_file, Line, CUSTOMER, PARTNER, SUB};
use serde_json::{json, Value};

const CUSTOMER2: &str = "55555555-5555-4555-8555-555555555555";
const SUB2: &str = "66666666-6666-4666-8666-666666666666";

fn vm(sub: &str, name: &str) -> String {
    format!(
        "/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/{name}"
    )
}

fn line(customer: &str, sub: &str, date: &str, name: &str, quantity: &str) -> Line {
    Line::new(date, &vm(sub, name)).with(|l| {
        l.customer = customer.into();
        l.subscription = sub.into();
        l.quantity = quantity.into();
    })
}

/// The partner's uploads, in the order (and at the times) it made them: day 1; day 2's
/// month-to-date file; day 2 restated (vm1 6 instead of 4, vm2 2 instead of 4).
fn files() -> Vec<(&'static str, &'static str, String)> {
    let both = |date: &str, q1: &str, q2: &str| {
        vec![
            line(CUSTOMER, SUB, date, "vm1", q1),
            line(CUSTOMER, SUB, date, "vm2", q2),
            line(CUSTOMER2, SUB2, date, "vm3", "4"),
        ]
    };
    let day1 = both("2026-09-01", "4", "4");
    let mut day2 = day1.clone();
    day2.extend(both("2026-09-02", "4", "4"));
    let mut restated = day1.clone();
    restated.extend(both("2026-09-02", "6", "2"));
    vec![
        ("day-1.csv", "2026-09-02T01:00:00.000Z", usage_file(&day1)),
        ("day-2.csv", "2026-09-03T01:00:00.000Z", usage_file(&day2)),
        (
            "day-2-restated.csv",
            "2026-09-03T05:00:00.000Z",
            usage_file(&restated),
        ),
    ]
}

/// Six-hourly snapshots of both customers: owner of each subscription all along.
fn snapshots() -> Vec<Vec<u8>> {
    let times = [
        "2026-08-31T23:00:00Z",
        "2026-09-01T06:00:00Z",
        "2026-09-01T12:00:00Z",
        "2026-09-01T18:00:00Z",
        "2026-09-01T23:30:00Z",
        "2026-09-02T06:00:00Z",
        "2026-09-02T12:00:00Z",
        "2026-09-02T18:00:00Z",
        "2026-09-02T23:30:00Z",
        "2026-09-03T00:30:00Z",
    ];
    let mut out = Vec::new();
    for (i, at) in times.iter().enumerate() {
        out.push(
            serde_json::to_vec(&snapshot(
                i as u32 + 1,
                at,
                vec![owner_on(&format!("/subscriptions/{SUB}"))],
            ))
            .unwrap(),
        );
        let mut other = snapshot(
            i as u32 + 101,
            at,
            vec![owner_on(&format!("/subscriptions/{SUB2}"))],
        );
        other["customerId"] = json!(CUSTOMER2);
        other["assignments"][0]["id"] = json!(format!(
            "/subscriptions/{SUB2}/providers/Microsoft.Authorization/roleAssignments/a2"
        ));
        out.push(serde_json::to_vec(&other).unwrap());
    }
    out
}

fn sqs_event(messages: &[(&str, &ShardMessage)]) -> SqsEvent {
    let records: Vec<Value> = messages
        .iter()
        .map(|(id, m)| {
            json!({
                "messageId": id, "receiptHandle": format!("handle-{id}"),
                "body": serde_json::to_string(m).unwrap(),
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1788660000000",
                               "SenderId": "AIDAEXAMPLE", "ApproximateFirstReceiveTimestamp": "1788660000001"},
                "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:pec-settle", "awsRegion": "us-east-1"
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).expect("SQS event")
}

fn shard(customer: &str) -> ShardMessage {
    ShardMessage {
        run_id: "nightly-2026-09-03".into(),
        from: common::d("2026-09-01"),
        through: common::d("2026-09-02"),
        customers: vec![(PARTNER.to_string(), customer.to_string())],
    }
}

/// Everything a delivery order leaves behind.
#[derive(Debug, PartialEq)]
struct Outcome {
    usage: Vec<String>,
    ledger: Vec<String>,
    statement: Value,
    receipts: usize,
}

/// Delivers the upload events in `order` (indexes into [`files`], repeats allowed), posts the
/// snapshots in `snapshot_order`, then runs the settlement worker on the SQS batches given.
fn deliver(order: &[usize], reverse_snapshots: bool, batches: &[Vec<&str>]) -> Outcome {
    let env = setup();
    let aws = &env.aws;
    let files = files();
    for (name, _, body) in &files {
        aws.objects
            .put_object(
                &format!("uploads/{PARTNER}/{name}"),
                body.as_bytes(),
                "text/csv",
            )
            .unwrap();
    }
    let mut accepted = std::collections::BTreeSet::new();
    for (i, &f) in order.iter().enumerate() {
        let (name, at, _) = &files[f];
        // Processed hours after the upload, each delivery later than the one before.
        let now = t("2026-09-03T08:00:00Z") + chrono::Duration::minutes(i as i64);
        let out = usage_upload::handle(
            aws,
            &common::s3_event(&aws.env.bucket, &format!("uploads/{PARTNER}/{name}"), at),
            now,
        )
        .expect("ingest");
        let r = out[0].receipt.clone().expect("receipt");
        match r.status {
            UploadStatus::Accepted => assert!(accepted.insert(f), "{name} accepted twice"),
            UploadStatus::Duplicate => assert!(accepted.contains(&f), "{name}: {r:?}"),
            UploadStatus::Rejected => panic!("{name}: {:?}", r.errors),
        }
    }
    assert_eq!(accepted.len(), files.len(), "every file accepted once");
    let mut bodies = snapshots();
    if reverse_snapshots {
        bodies.reverse();
        let again = bodies.clone();
        bodies.extend(again);
    }
    for b in &bodies {
        post_snapshot(&aws.store, PARTNER, b, t("2026-09-03T08:30:00Z")).unwrap();
    }
    let shards = [("c1", shard(CUSTOMER)), ("c2", shard(CUSTOMER2))];
    for (i, batch) in batches.iter().enumerate() {
        let messages: Vec<(&str, &ShardMessage)> = batch
            .iter()
            .map(|id| {
                let m = &shards.iter().find(|(s, _)| s == id).expect("shard").1;
                (*id, m)
            })
            .collect();
        let now = t("2026-09-03T09:00:00Z") + chrono::Duration::hours(i as i64);
        let response = nightly_settle::work(aws, &sqs_event(&messages), now);
        assert!(response.batch_item_failures.is_empty());
    }
    outcome(&env)
}

fn outcome(env: &TestAws) -> Outcome {
    let aws = &env.aws;
    let mut usage = Vec::new();
    for c in [CUSTOMER, CUSTOMER2] {
        for date in ["2026-09-01", "2026-09-02"] {
            for u in aws
                .store
                .current_usage(PARTNER, c, common::d(date))
                .unwrap()
            {
                usage.push(format!("{date} {}", serde_json::to_string(&u).unwrap()));
            }
        }
    }
    usage.sort();
    let statement = statement_from_store(
        &aws.store,
        PARTNER,
        Month::parse("2026-09").unwrap(),
        t("2026-10-02T06:00:00Z"),
    )
    .unwrap();
    Outcome {
        usage,
        ledger: ledger(&aws.store),
        statement: serde_json::to_value(&statement).unwrap(),
        receipts: aws
            .objects
            .list(&format!("receipts/{PARTNER}/"))
            .unwrap()
            .len(),
    }
}

/// A delivery order: its name, the upload events (indexes into [`files`]), whether the
/// snapshots come reversed and twice, and the SQS batches of shard ids.
type Delivery<'a> = (&'a str, &'a [usize], bool, Vec<Vec<&'a str>>);

#[test]
fn events_and_messages_twice_and_out_of_order_change_nothing() {
    let in_order = deliver(&[0, 1, 2], false, &[vec!["c1", "c2"]]);
    // The restated file wins day 2: vm1 6 × 2.5 = 15, vm2 2 × 2.5 = 5; day 1 and vm3 10 each.
    let totals = &in_order.statement["currencies"][0]["totals"];
    assert_eq!(totals["listAmount"], "60", "{totals}");
    assert_eq!(totals["earnedCredit"], "9", "{totals}");
    assert_eq!(totals["lostCredit"], "0", "{totals}");
    assert_eq!(in_order.ledger.len(), 6, "6 resource-days, one entry each");
    assert_eq!(in_order.receipts, 3);
    assert_eq!(in_order.usage.len(), 6);

    let orders: [Delivery; 4] = [
        (
            "restated before the original, day 2 before day 1",
            &[2, 1, 0],
            false,
            vec![vec!["c1", "c2"]],
        ),
        (
            "every event twice, shuffled; snapshots reversed and twice",
            &[1, 2, 2, 0, 1, 0],
            true,
            vec![vec!["c1", "c2"]],
        ),
        (
            "shards reordered in a batch, then redelivered later",
            &[0, 1, 2],
            false,
            vec![vec!["c2", "c1"], vec!["c1", "c2", "c1"]],
        ),
        (
            "everything out of order and twice",
            &[2, 0, 2, 1, 0, 1],
            true,
            vec![vec!["c2", "c2", "c1"], vec!["c2"], vec!["c1", "c1"]],
        ),
    ];
    for (name, order, reverse, batches) in orders {
        let got = deliver(order, reverse, &batches);
        assert_eq!(got.usage, in_order.usage, "{name}: usage");
        assert_eq!(got.ledger, in_order.ledger, "{name}: ledger entries");
        assert_eq!(got.statement, in_order.statement, "{name}: statement");
        assert_eq!(got.receipts, 3, "{name}: one receipt per file");
    }
}
