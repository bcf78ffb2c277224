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

/// A signed API Gateway (payload 2.0) request posting `body` to the webhook.
fn webhook_request(body: &[u8], now: DateTime<Utc>, msg_id: &str) -> Value {
    use base64::Engine as _;
    let ts = now.timestamp();
    let sig = pec_ledger::webhook_secret::sign(SECRET, msg_id, ts, body).unwrap();
    let path = format!("/v1/partners/{PARTNER}/access-snapshots");
    serde_json::json!({
        "version": "2.0",
        "routeKey": "POST /v1/partners/{partnerId}/access-snapshots",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": ts.to_string(),
            "webhook-signature": sig
        },
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com", "domainPrefix": "abc123",
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "192.0.2.1", "userAgent": "access-tool/1.0"},
            "requestId": msg_id, "routeKey": "POST /v1/partners/{partnerId}/access-snapshots",
            "stage": "$default", "time": "03/Sep/2026:06:06:00 +0000",
            "timeEpoch": now.timestamp_millis()
        },
        "pathParameters": {"partnerId": PARTNER},
        "body": base64::engine::general_purpose::STANDARD.encode(body),
        "isBase64Encoded": true
    })
}

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// Alerts stored by the access webhook function go out with the alert publisher's next run, on
/// the stack's SNS topic, with `partnerId` and `eventType` attributes a subscription can filter
/// on, once; so do those of snapshots stored without the function (`pec --store aws access
/// post`).
#[test]
fn the_alert_publisher_sends_stored_alerts_to_sns_once() {
    use pec_aws::handlers::{access_webhook, alert_publisher};
    use pec_ledger::store::{AlertStore, PartnerStore, WebhookSecret};
    let env = common::setup();
    let aws = &env.aws;
    let rt = &env.rt;
    let config = Config::default();
    let now = t("2026-09-03T06:06:00Z");
    aws.store
        .add_secret(
            PARTNER,
            &WebhookSecret {
                secret: SECRET.into(),
                added_at: t("2026-09-01T00:00:00Z"),
            },
        )
        .unwrap();
    // An SQS queue subscribed to the topic, filtered on the partner: what a partner's
    // subscription receives.
    let topic = aws.env.alert_topic_arn.clone().expect("the test topic");
    let queue = rt
        .block_on(
            aws.clients
                .sqs()
                .create_queue()
                .queue_name(format!("alerts-{}", uuid::Uuid::new_v4().simple()))
                .send(),
        )
        .unwrap()
        .queue_url
        .unwrap();
    let queue_arn = rt
        .block_on(
            aws.clients
                .sqs()
                .get_queue_attributes()
                .queue_url(&queue)
                .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .send(),
        )
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    rt.block_on(
        aws.clients
            .sns()
            .subscribe()
            .topic_arn(&topic)
            .protocol("sqs")
            .endpoint(&queue_arn)
            .attributes(
                "FilterPolicy",
                serde_json::json!({ "partnerId": [PARTNER] }).to_string(),
            )
            .send(),
    )
    .unwrap();
    let received = || -> Vec<Value> {
        let out = rt
            .block_on(
                aws.clients
                    .sqs()
                    .receive_message()
                    .queue_url(&queue)
                    .max_number_of_messages(10)
                    .wait_time_seconds(1)
                    .send(),
            )
            .unwrap();
        out.messages
            .unwrap_or_default()
            .iter()
            .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
            .collect()
    };

    ingest_usage_file(
        &aws.store,
        &config,
        PARTNER,
        "daily-rated-usage.csv",
        &example("daily-rated-usage.csv")[..],
        now,
    )
    .unwrap();
    let call_at = |body: &[u8], id: &str, now| {
        let event = serde_json::from_value(webhook_request(body, now, id)).unwrap();
        access_webhook::handle(aws, &event, now)
            .unwrap()
            .status_code
    };
    let call = |body: &[u8], id: &str| call_at(body, id, now);
    for i in 0..5 {
        assert_eq!(
            call(&example(&format!("snapshot-{i}.json")), &format!("msg_{i}")),
            202
        );
    }
    let publish = || alert_publisher::handle(aws).unwrap();
    assert_eq!(publish().published, 0, "snapshots 0-4 raise nothing");
    assert_eq!(call(&snapshot_5(), "msg_5"), 202);
    assert_eq!(aws.store.pending_alert_events(None, 10).unwrap().len(), 1);
    assert!(received().is_empty(), "stored, not sent by the webhook");
    let run = publish();
    assert_eq!((run.published, run.waiting), (1, 0));
    let got = received();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["MessageAttributes"]["partnerId"]["Value"], PARTNER);
    assert_eq!(
        got[0]["MessageAttributes"]["eventType"]["Value"],
        "access-lost"
    );
    let event: Value = serde_json::from_str(got[0]["Message"].as_str().unwrap()).unwrap();
    assert_eq!(event["type"], "access-lost");
    assert_eq!(event["alert"]["creditAtStakePerDay"]["USD"], "4.66848");
    assert_eq!(event["alert"]["resources"].as_array().unwrap().len(), 2);
    assert!(aws.store.pending_alert_events(None, 10).unwrap().is_empty());

    assert_eq!(publish().published, 0, "published once");
    // The restoring snapshot stored without the webhook (as `pec --store aws access post`
    // does): the next run publishes its event.
    let later = t("2026-09-04T09:01:00Z");
    let stored = post_snapshot_watched(&aws.store, &config, PARTNER, &snapshot_6(), later).unwrap();
    assert_eq!(stored.events.len(), 1);
    assert!(received().is_empty());
    assert_eq!(call_at(&snapshot_6(), "msg_6", later), 200, "a duplicate");
    assert_eq!(publish().published, 1);
    let got = received();
    assert_eq!(got.len(), 1, "{got:?}");
    let event: Value = serde_json::from_str(got[0]["Message"].as_str().unwrap()).unwrap();
    assert_eq!(event["type"], "access-restored");
    assert_eq!(event["eventId"], stored.events[0].event_id.as_str());
    assert!(aws.store.pending_alert_events(None, 10).unwrap().is_empty());
    assert_eq!(publish().published, 0);
    assert!(received().is_empty(), "published once");
}
