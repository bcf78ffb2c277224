//! Access-lost alerts on both stores, over the wire for DynamoDB: the worked example
//! (one alert, USD 4.66848 a day), duplicates and late snapshots raising nothing, the outbox,
//! and restoration.

mod common;

use chrono::{DateTime, Utc};
use pec_embedded::SqliteStore;
use pec_ledger::alerts::{AlertStatus, EventType};
use pec_ledger::config::Config;
use pec_ledger::ingest::{ingest_usage_file, post_snapshot_watched, SnapshotStatus};
use pec_ledger::reasons::LossReason;
use pec_ledger::store::Store;
use serde_json::Value;

const PARTNER: &str = "7a3c0000-0000-4000-8000-000000000001";
const CUSTOMER: &str = "bdd640fb-0667-4ad1-9c80-317fa3b1799d";
const SITE: &str = "/subscriptions/23b8c1e9-3924-46de-beb1-3b9046685257/resourcegroups/rg-web/providers/microsoft.web/sites/shop";
const DATABASE: &str = "/subscriptions/23b8c1e9-3924-46de-beb1-3b9046685257/resourcegroups/rg-data/providers/microsoft.sql/servers/sql1/databases/orders";

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn example(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../fixtures/examples/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// `snapshot-4` without the subscription's AOBO Owner, taken 2026-09-03T06:05:00Z.
fn snapshot_5() -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&example("snapshot-4.json")).unwrap();
    v["snapshotId"] = "5a5a5a5a-0000-4000-8000-000000000005".into();
    v["takenAt"] = "2026-09-03T06:05:00Z".into();
    let list = v["assignments"].as_array_mut().unwrap();
    list.retain(|a| {
        a["id"]
            .as_str()
            .is_some_and(|id| !id.ends_with("3f0c1d2e-aobo"))
    });
    assert_eq!(list.len(), 1);
    serde_json::to_vec(&v).unwrap()
}

/// `snapshot-4` again, later: the Owner assignment is back.
fn snapshot_6() -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&example("snapshot-4.json")).unwrap();
    v["snapshotId"] = "6a6a6a6a-0000-4000-8000-000000000006".into();
    v["takenAt"] = "2026-09-04T09:00:00Z".into();
    serde_json::to_vec(&v).unwrap()
}

fn suite(store: &dyn Store) {
    let config = Config::default();
    let now = t("2026-09-03T06:06:00Z");
    let receipt = ingest_usage_file(
        store,
        &config,
        PARTNER,
        "daily-rated-usage.csv",
        &example("daily-rated-usage.csv")[..],
        now,
    )
    .unwrap();
    assert!(receipt.errors.is_empty(), "{receipt:?}");
    let post_at =
        |body: &[u8], now| post_snapshot_watched(store, &config, PARTNER, body, now).unwrap();
    let post = |body: &[u8]| post_at(body, now);
    for i in 0..5 {
        let r = post(&example(&format!("snapshot-{i}.json")));
        assert_eq!(r.receipt.status, SnapshotStatus::Accepted);
        assert!(r.events.is_empty(), "snapshot-{i}: {:?}", r.events);
    }
    let r = post(&snapshot_5());
    assert_eq!(r.receipt.status, SnapshotStatus::Accepted);
    assert_eq!(r.events.len(), 1);
    let lost = &r.events[0];
    assert_eq!(lost.event_type, EventType::AccessLost);
    assert_eq!(lost.alert.customer_id, CUSTOMER);
    assert_eq!(
        lost.alert
            .resources
            .iter()
            .map(|r| (r.resource_id.as_str(), r.reason))
            .collect::<Vec<_>>(),
        vec![
            (DATABASE, LossReason::NotPermanent),
            (SITE, LossReason::NoAccess)
        ]
    );
    assert_eq!(lost.alert.credit_at_stake_per_day["USD"], "4.66848");
    // Kept with the snapshot, to be sent.
    assert_eq!(
        store.pending_alert_events(None, 10).unwrap(),
        vec![lost.clone()]
    );
    assert_eq!(
        store.pending_alert_events(Some(CUSTOMER), 10).unwrap(),
        vec![]
    );
    assert_eq!(store.alerts(PARTNER).unwrap(), vec![lost.alert.clone()]);
    assert_eq!(
        store.watch(PARTNER, CUSTOMER).unwrap().open.as_ref(),
        Some(&lost.alert)
    );

    // The same snapshot again, and an older one arriving late: nothing new.
    let again = post(&snapshot_5());
    assert_eq!(again.receipt.status, SnapshotStatus::Duplicate);
    assert!(again.events.is_empty());
    let mut late: Value = serde_json::from_slice(&example("snapshot-3.json")).unwrap();
    late["snapshotId"] = "3b3b3b3b-0000-4000-8000-000000000003".into();
    let late = post(&serde_json::to_vec(&late).unwrap());
    assert_eq!(late.receipt.status, SnapshotStatus::Accepted);
    assert!(late.events.is_empty());
    assert_eq!(store.pending_alert_events(None, 10).unwrap().len(), 1);

    // Sent: it leaves the outbox.
    store.alert_event_sent(&lost.event_id, now).unwrap();
    assert!(store.pending_alert_events(None, 10).unwrap().is_empty());

    // Covered again: restored, nothing lost (the example has usage on 1-2 September only).
    let r = post_at(&snapshot_6(), t("2026-09-04T09:01:00Z"));
    assert_eq!(r.receipt.status, SnapshotStatus::Accepted);
    assert_eq!(r.events.len(), 1, "{:?}", r.events);
    let restored = &r.events[0];
    assert_eq!(restored.event_type, EventType::AccessRestored);
    assert_eq!(restored.alert.alert_id, lost.alert.alert_id);
    assert_eq!(restored.alert.status, AlertStatus::Restored);
    assert_eq!(restored.alert.restored_at, Some(t("2026-09-04T09:00:00Z")));
    assert!(restored.alert.resource_days_lost.is_empty());
    assert_eq!(store.alerts(PARTNER).unwrap(), vec![restored.alert.clone()]);
    assert_eq!(store.watch(PARTNER, CUSTOMER).unwrap().open, None);
    assert_eq!(
        store.pending_alert_events(Some(PARTNER), 10).unwrap(),
        vec![restored.clone()]
    );
}

#[test]
fn sqlite_store_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    suite(&store);
}

#[test]
fn dynamo_store_alerts() {
    let env = common::setup();
    suite(&env.aws.store);
}
