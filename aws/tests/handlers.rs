//! Every handler driven with real event JSON (S3 event, API Gateway HTTP API v2 request,
//! EventBridge scheduled event, SQS batch) against moto, and one end-to-end run compared,
//! figure for figure, with the embedded store.

mod common;

#[path = "../../tests/tests/common/mod.rs"]
mod scenario;

use base64::Engine;
use chrono::{DateTime, Utc};
use common::{setup, t, TestAws};
use pec_aws::emf;
use pec_aws::handlers::access_webhook::SnapshotOutcome;
use pec_aws::handlers::http_api::HttpApiResponse;
use pec_aws::handlers::{
    access_webhook, monthly_statement, nightly_settle, statement_api, usage_upload,
};
use pec_embedded::SqliteStore;
use pec_generate::{generate, GenerateOptions};
use pec_ledger::claims::{claims_from_store, render_claims_csv};
use pec_ledger::config::Config;
use pec_ledger::ingest::{ingest_usage_file, post_snapshot, UploadStatus};
use pec_ledger::settle::{settle, SettleOptions};
use pec_ledger::statement::{render_csv, statement_from_store, Month};
use pec_ledger::store::{
    EntryFilter, LedgerStore, ObjectStore, PartnerStore, UsageStore, WebhookSecret,
};
use scenario::{owner_on, snapshot, usage_file, Line, CUSTOMER, PARTNER, SUB};
use serde_json::{json, Value};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn s3_event(bucket: &str, encoded_key: &str) -> aws_lambda_events::event::s3::S3Event {
    let v = json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-09-03T01:00:00.000Z", "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8"},
        "s3": {
            "s3SchemaVersion": "1.0", "configurationId": "usage-uploaded",
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                       "arn": format!("arn:aws:s3:::{bucket}")},
            "object": {"key": encoded_key, "size": 1024, "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                       "sequencer": "0055AED6DCD90281E5"}
        }
    }]});
    serde_json::from_value(v).expect("S3 event")
}

fn api_request(
    partner: &str,
    body: &[u8],
    now: DateTime<Utc>,
    secret: &str,
    msg_id: &str,
) -> Value {
    let ts = now.timestamp();
    let sig = pec_ledger::webhook_secret::sign(secret, msg_id, ts, body).expect("sign");
    let path = format!("/v1/partners/{partner}/access-snapshots");
    json!({
        "version": "2.0",
        "routeKey": "POST /v1/partners/{partnerId}/access-snapshots",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": ts.to_string(),
            "webhook-signature": sig,
            "user-agent": "access-tool/1.0"
        },
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc123", "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "access-tool/1.0"},
            "requestId": "JKJaXmPLvHcESHA=", "routeKey": "POST /v1/partners/{partnerId}/access-snapshots",
            "stage": "$default", "time": "03/Sep/2026:01:00:00 +0000", "timeEpoch": now.timestamp_millis()
        },
        "pathParameters": {"partnerId": partner},
        "body": base64::engine::general_purpose::STANDARD.encode(body),
        "isBase64Encoded": true
    })
}

/// The partner's webhook secret, [`SECRET`], from `now`.
fn add_partner_secret(aws: &pec_aws::Aws, now: DateTime<Utc>) {
    aws.store
        .add_secret(
            PARTNER,
            &WebhookSecret {
                secret: SECRET.into(),
                added_at: now,
            },
        )
        .unwrap();
}

/// Status, JSON body, and what the function's metrics count it as.
fn webhook(
    env: &TestAws,
    request: Value,
    now: DateTime<Utc>,
) -> (u16, Value, Option<SnapshotOutcome>) {
    let event = serde_json::from_value(request).expect("API Gateway v2 request");
    let r = access_webhook::handle(&env.aws, &event, now).expect("webhook");
    let outcome = access_webhook::snapshot_outcome(&event, &r);
    (
        r.status_code,
        serde_json::from_str(&r.body).unwrap_or(Value::Null),
        outcome,
    )
}

/// The EMF documents as JSON, each checked against the specification and stamped `at`.
fn emf_json(docs: &[emf::Metrics], at: DateTime<Utc>) -> Vec<Value> {
    docs.iter()
        .map(|d| {
            let j = d.to_json();
            emf::validate(&j).unwrap_or_else(|e| panic!("{e}: {j}"));
            assert_eq!(j["_aws"]["Timestamp"], at.timestamp_millis());
            assert_eq!(j["_aws"]["CloudWatchMetrics"][0]["Namespace"], "PecLedger");
            j
        })
        .collect()
}

/// The values of the named metrics of one document.
fn values(doc: &Value, names: &[&str]) -> Vec<Value> {
    names.iter().map(|n| doc[*n].clone()).collect()
}

const UPLOAD_METRICS: [&str; 4] = [
    "RowsIngested",
    "FilesAccepted",
    "FilesDuplicate",
    "FilesRejected",
];

/// The usage-upload function's one EMF document for `out`: its four counts.
fn upload_metrics(out: &[usage_upload::Outcome], at: DateTime<Utc>) -> Vec<Value> {
    let docs = emf_json(&emf::usage_upload(out, at), at);
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["Function"], "usage-upload");
    values(&docs[0], &UPLOAD_METRICS)
}

fn scheduled(time: &str) -> aws_lambda_events::event::eventbridge::EventBridgeEvent<Value> {
    serde_json::from_value(json!({
        "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event", "source": "aws.events", "account": "123456789012",
        "time": time, "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/pec-nightly-settle"],
        "detail": {}
    }))
    .expect("scheduled event")
}

/// Receives everything on the settlement queue and shapes it as Lambda's SQS event.
fn drain_queue(env: &TestAws) -> Value {
    let mut records = Vec::new();
    loop {
        let out = env
            .rt
            .block_on(
                env.aws
                    .clients
                    .sqs()
                    .receive_message()
                    .queue_url(&env.aws.env.settle_queue_url)
                    .max_number_of_messages(10)
                    .send(),
            )
            .expect("receive");
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        for m in messages {
            records.push(json!({
                "messageId": m.message_id, "receiptHandle": m.receipt_handle, "body": m.body,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1788660000000",
                               "SenderId": "AIDAEXAMPLE", "ApproximateFirstReceiveTimestamp": "1788660000001"},
                "messageAttributes": {}, "md5OfBody": m.md5_of_body, "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:pec-settle", "awsRegion": "us-east-1"
            }));
        }
    }
    json!({ "Records": records })
}

fn get_json(env: &TestAws, key: &str) -> Option<Value> {
    env.aws
        .objects
        .get_object(key)
        .expect("get object")
        .map(|b| serde_json::from_slice(&b).expect("json object"))
}

#[test]
fn usage_upload_handler_accepts_rejects_ignores_and_redelivery_changes_nothing() {
    let env = setup();
    let aws = &env.aws;
    let partner = PARTNER;
    let lines = vec![
        Line::new(
            "2026-09-01",
            &scenario::res("/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"),
        ),
        Line::new(
            "2026-09-02",
            &scenario::res("/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"),
        ),
    ];
    let key = format!("uploads/{partner}/september usage(1).csv");
    aws.objects
        .put_object(&key, usage_file(&lines).as_bytes(), "text/csv")
        .unwrap();
    let event = s3_event(
        &aws.env.bucket,
        &format!("uploads/{partner}/september+usage%281%29.csv"),
    );
    let now = t("2026-09-03T01:00:00Z");
    let out = usage_upload::handle(aws, &event, now).expect("ingest");
    let receipt = out[0].receipt.clone().expect("a receipt");
    assert_eq!(receipt.status, UploadStatus::Accepted);
    assert_eq!(receipt.rows, 2);
    // The file's two data rows ingested, one file accepted.
    assert_eq!(
        upload_metrics(&out, now),
        [json!(2), json!(1), json!(0), json!(0)]
    );
    let stored = get_json(
        &env,
        &format!("receipts/{partner}/{}.json", receipt.upload_id),
    )
    .expect("receipt object");
    assert_eq!(stored["status"], "accepted");
    assert_eq!(
        aws.store
            .customers_in_range(scenario::d("2026-09-01"), scenario::d("2026-09-02"))
            .unwrap(),
        vec![(PARTNER.to_string(), CUSTOMER.to_string())]
    );

    // The same event delivered again: a duplicate, and nothing changes.
    let usage_before = aws
        .store
        .current_usage(PARTNER, CUSTOMER, scenario::d("2026-09-01"))
        .unwrap();
    let again = usage_upload::handle(aws, &event, t("2026-09-03T01:05:00Z")).expect("redelivery");
    let dup = again[0].receipt.clone().expect("a receipt");
    assert_eq!(dup.status, UploadStatus::Duplicate);
    assert_eq!(
        upload_metrics(&again, t("2026-09-03T01:05:00Z")),
        [json!(0), json!(0), json!(1), json!(0)]
    );
    assert_eq!(dup.upload_id, receipt.upload_id);
    assert_eq!(
        get_json(
            &env,
            &format!("receipts/{partner}/{}.json", receipt.upload_id)
        ),
        Some(stored.clone()),
        "the first receipt stays"
    );
    assert_eq!(
        aws.store
            .current_usage(PARTNER, CUSTOMER, scenario::d("2026-09-01"))
            .unwrap(),
        usage_before
    );
    assert_eq!(
        aws.objects
            .list(&format!("receipts/{partner}/"))
            .unwrap()
            .len(),
        1
    );

    // A gzip file with an invalid row: rejected, with its errors in rejected/.
    let bad = usage_file(&[lines[0].clone().with(|l| l.quantity = "lots".into())]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, bad.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    aws.objects
        .put_object(
            &format!("uploads/{partner}/bad.csv.gz"),
            &gz,
            "application/gzip",
        )
        .unwrap();
    let out = usage_upload::handle(
        aws,
        &s3_event(&aws.env.bucket, &format!("uploads/{partner}/bad.csv.gz")),
        now,
    )
    .unwrap();
    let rejected = out[0].receipt.clone().expect("a receipt");
    assert_eq!(rejected.status, UploadStatus::Rejected);
    assert_eq!(
        upload_metrics(&out, now),
        [json!(0), json!(0), json!(0), json!(1)]
    );
    let errors = get_json(
        &env,
        &format!("rejected/{partner}/{}.errors.json", rejected.upload_id),
    )
    .expect("errors object");
    assert_eq!(errors["errorCount"], 1);
    assert_eq!(errors["errors"][0]["column"], "Quantity");
    assert_eq!(
        get_json(
            &env,
            &format!("receipts/{partner}/{}.json", rejected.upload_id)
        )
        .expect("receipt")["status"],
        "rejected"
    );

    // Its own outputs and other keys are ignored.
    for k in [
        format!("receipts/{partner}/{}.json", receipt.upload_id),
        format!("uploads/{partner}/notes.txt"),
        format!("uploads/{partner}/deleted-before-the-event-arrived.csv"),
    ] {
        let out = usage_upload::handle(aws, &s3_event(&aws.env.bucket, &k), now).unwrap();
        assert_eq!(out[0].receipt, None, "{k}");
        assert_eq!(
            upload_metrics(&out, now),
            [json!(0), json!(0), json!(0), json!(0)]
        );
    }
}

#[test]
fn access_webhook_handler_over_api_gateway_v2() {
    let env = setup();
    let aws = &env.aws;
    let now = t("2026-09-03T01:00:00Z");
    add_partner_secret(aws, now);
    let body = serde_json::to_vec(&snapshot(
        1,
        "2026-09-03T00:05:00Z",
        vec![owner_on(&format!("/subscriptions/{SUB}"))],
    ))
    .unwrap();
    let (status, reply, outcome) =
        webhook(&env, api_request(PARTNER, &body, now, SECRET, "msg_1"), now);
    assert_eq!(status, 202, "{reply}");
    assert_eq!(outcome, Some(SnapshotOutcome::Accepted));
    let snapshot_metrics = [
        "SnapshotsAccepted",
        "SnapshotsDuplicate",
        "SnapshotsRejected",
    ];
    let docs = emf_json(&emf::access_webhook(outcome, now), now);
    assert_eq!(docs[0]["Function"], "access-webhook");
    assert_eq!(
        values(&docs[0], &snapshot_metrics),
        [json!(1), json!(0), json!(0)]
    );
    let (status, _, outcome) =
        webhook(&env, api_request(PARTNER, &body, now, SECRET, "msg_2"), now);
    assert_eq!(status, 200, "the same snapshot again is a duplicate");
    assert_eq!(outcome, Some(SnapshotOutcome::Duplicate));
    let docs = emf_json(&emf::access_webhook(outcome, now), now);
    assert_eq!(
        values(&docs[0], &snapshot_metrics),
        [json!(0), json!(1), json!(0)]
    );
    let (status, reply, outcome) = webhook(
        &env,
        api_request(
            PARTNER,
            &body,
            now,
            "whsec_c2Vjb25kIHNlY3JldCBrZXkgZm9yIHRlc3Rz",
            "msg_3",
        ),
        now,
    );
    assert_eq!(status, 401, "{reply}");
    assert!(reply["error"]["code"].is_string());
    assert_eq!(outcome, Some(SnapshotOutcome::Rejected));
    let docs = emf_json(&emf::access_webhook(outcome, now), now);
    assert_eq!(
        values(&docs[0], &snapshot_metrics),
        [json!(0), json!(0), json!(1)]
    );
    let mut seen = 0;
    pec_ledger::store::SnapshotStore::for_each_snapshot(&aws.store, PARTNER, CUSTOMER, &mut |_| {
        seen += 1;
        Ok(())
    })
    .unwrap();
    assert_eq!(seen, 1);
    assert_eq!(
        aws.objects.list("snapshots/").unwrap().len(),
        1,
        "the raw body is archived"
    );
    // A body that says base64 and is not.
    let mut bad = api_request(PARTNER, &body, now, SECRET, "msg_4");
    bad["body"] = json!("%%% not base64 %%%");
    let (status, _, outcome) = webhook(&env, bad, now);
    assert_eq!(status, 400);
    assert_eq!(outcome, Some(SnapshotOutcome::Rejected));
    // A statement read is not a snapshot post: API Gateway routes it to statement-api; if it
    // reached this function it would be a 404, and no snapshot metric either way.
    let mut read = api_request(PARTNER, b"", now, SECRET, "msg_5");
    read["requestContext"]["http"]["method"] = json!("GET");
    read["rawPath"] = json!(format!("/v1/partners/{PARTNER}/statements/2026-09"));
    let (status, reply, outcome) = webhook(&env, read, now);
    assert_eq!(
        (status, reply["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    assert_eq!(outcome, None);
    assert!(emf::access_webhook(outcome, now).is_empty());
}

#[test]
fn nightly_settlement_coordinator_and_worker_with_partial_batch_failure() {
    let env = setup();
    let aws = &env.aws;
    let vm = scenario::res("/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1");
    let receipt = ingest_usage_file(
        &aws.store,
        &aws.config,
        PARTNER,
        "u.csv",
        usage_file(&[Line::new("2026-09-04", &vm), Line::new("2026-09-05", &vm)]).as_bytes(),
        t("2026-09-06T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(receipt.status, UploadStatus::Accepted);
    for (i, at) in [
        "2026-09-03T23:00:00Z",
        "2026-09-04T11:00:00Z",
        "2026-09-04T23:00:00Z",
        "2026-09-05T11:00:00Z",
        "2026-09-05T23:00:00Z",
        "2026-09-06T00:30:00Z",
    ]
    .iter()
    .enumerate()
    {
        let body = serde_json::to_vec(&snapshot(
            i as u32 + 1,
            at,
            vec![owner_on(&format!("/subscriptions/{SUB}"))],
        ))
        .unwrap();
        post_snapshot(&aws.store, PARTNER, &body, t("2026-09-06T01:00:00Z")).unwrap();
    }
    let now = t("2026-09-06T02:00:00Z");
    let plan = nightly_settle::coordinate(aws, &scheduled("2026-09-06T02:00:00Z"), now)
        .expect("coordinate");
    assert_eq!(plan.through, scenario::d("2026-09-05"));
    assert_eq!(plan.from, scenario::d("2026-07-22"));
    assert_eq!(plan.customers, 1);
    let mut batch = drain_queue(&env);
    assert_eq!(batch["Records"].as_array().map(Vec::len), Some(1));
    // A second record that is not a shard: reported as a failure, the good one settled.
    let mut broken = batch["Records"][0].clone();
    broken["messageId"] = json!("broken-message");
    broken["body"] = json!("{\"not\": \"a shard\"}");
    batch["Records"].as_array_mut().unwrap().push(broken);
    let event = serde_json::from_value(batch).expect("SQS event");
    let (response, summaries) = nightly_settle::work_with_summaries(aws, &event, now);
    // Two resource-days (vm1 on 09-04 and 09-05), each FULL: 2.5 × 4 = 10 eligible × 15 % =
    // 1.5 USD earned a day; the broken record is the one failed shard.
    let docs = emf_json(
        &emf::nightly_settle(&summaries, response.batch_item_failures.len() as u64, now),
        now,
    );
    assert_eq!(docs.len(), 2, "{docs:?}");
    assert_eq!(docs[0]["Function"], "nightly-settle-worker");
    assert_eq!(
        values(
            &docs[0],
            &["EntriesAppended", "ResourceDaysSettled", "ShardsFailed"]
        ),
        [json!(2), json!(2), json!(1)]
    );
    assert_eq!(docs[1]["Currency"], "USD");
    assert_eq!(
        values(&docs[1], &["CreditEarned", "CreditLost"]),
        [json!(3.0), json!(0.0)]
    );
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, vec!["broken-message"]);
    let heads = aws
        .store
        .heads(PARTNER, CUSTOMER, scenario::d("2026-09-04"))
        .unwrap();
    assert_eq!(heads.len(), 1);
    assert_eq!(heads[0].status, pec_ledger::reasons::DayStatus::Full);
    // Delivered again: nothing more is appended.
    let later = t("2026-09-06T03:00:00Z");
    let (response, summaries) = nightly_settle::work_with_summaries(aws, &event, later);
    assert_eq!(response.batch_item_failures.len(), 1);
    let docs = emf_json(&emf::nightly_settle(&summaries, 1, later), later);
    assert_eq!(
        docs.len(),
        1,
        "no credit moved, no currency document: {docs:?}"
    );
    // Its dates are unchanged since they were settled: skipped without reading them.
    assert_eq!(
        values(&docs[0], &["EntriesAppended", "ResourceDaysSettled"]),
        [json!(0), json!(0)]
    );
    let mut n = 0;
    aws.store
        .for_each_entry(&EntryFilter::default(), &mut |_| {
            n += 1;
            Ok(())
        })
        .unwrap();
    assert_eq!(n, 2);
}

/// One resource-day of September 2026 settled: list 10, no access evidence, so the 15 % credit
/// (1.5) is lost (`NO_EVIDENCE`).
fn one_settled_resource_day(aws: &pec_aws::Aws) {
    let vm = scenario::res("/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1");
    ingest_usage_file(
        &aws.store,
        &aws.config,
        PARTNER,
        "u.csv",
        usage_file(&[Line::new("2026-09-04", &vm)]).as_bytes(),
        t("2026-09-06T00:00:00Z"),
    )
    .unwrap();
    let opts = SettleOptions::new(
        &aws.config,
        scenario::d("2026-09-05"),
        None,
        t("2026-09-06T02:00:00Z"),
    );
    settle(&aws.store, &aws.config, &opts).unwrap();
}

/// A signed `GET …/statements/{month}?{query}` as API Gateway hands it over.
fn statement_read(partner: &str, month: &str, query: &str, now: DateTime<Utc>) -> Value {
    let mut r = api_request(partner, b"", now, SECRET, "msg_read");
    let path = format!("/v1/partners/{partner}/statements/{month}");
    r["routeKey"] = json!("GET /v1/partners/{partnerId}/statements/{month}");
    r["requestContext"]["routeKey"] = r["routeKey"].clone();
    r["requestContext"]["http"]["method"] = json!("GET");
    r["requestContext"]["http"]["path"] = json!(path);
    r["rawPath"] = json!(path);
    r["rawQueryString"] = json!(query);
    r["headers"]
        .as_object_mut()
        .expect("headers")
        .remove("Content-Type");
    r
}

fn gateway_response(r: &HttpApiResponse) -> (u16, String, Vec<u8>) {
    let content_type = r.headers.get("content-type").cloned().unwrap_or_default();
    (r.status_code, content_type, r.body_bytes().expect("base64"))
}

#[test]
fn statement_api_handler_serves_statement_reads_and_only_those() {
    let env = setup();
    let aws = &env.aws;
    one_settled_resource_day(aws);
    let now = t("2026-10-02T06:00:00Z");
    add_partner_secret(aws, now);
    let read = |query: &str| {
        let event = serde_json::from_value(statement_read(PARTNER, "2026-09", query, now))
            .expect("API Gateway v2 request");
        gateway_response(&statement_api::handle(aws, &event, now).expect("statement-api"))
    };
    // One resource-day: list 10, no access evidence, so the 15 % credit (1.5) is lost.
    let (status, content_type, body) = read("");
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    let json: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(json["currencies"][0]["totals"]["listAmount"], "10");
    assert_eq!(
        json["currencies"][0]["lostCreditByReason"]["NO_EVIDENCE"],
        "1.5"
    );
    assert_eq!(json["currencies"][0]["totals"]["earnedCredit"], "0");
    // The same statement as the domain builds it, byte for byte in CSV.
    let expected = render_csv(
        &statement_from_store(&aws.store, PARTNER, Month::parse("2026-09").unwrap(), now).unwrap(),
    );
    let (status, content_type, body) = read("format=csv");
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/csv; charset=utf-8")
    );
    assert_eq!(String::from_utf8(body).expect("utf-8"), expected);
    // XLSX is binary: API Gateway gets it base64-encoded; it is a zip (an OOXML package).
    let (status, content_type, body) = read("format=xlsx");
    assert_eq!(status, 200);
    assert_eq!(
        content_type,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert_eq!(&body[..4], b"PK\x03\x04");
    let (status, _, body) = read("format=pdf");
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    // Unsigned: 401, and no figure in the answer.
    let mut unsigned = statement_read(PARTNER, "2026-09", "", now);
    unsigned["headers"]["webhook-signature"] = json!("v1,AAAA");
    let event = serde_json::from_value(unsigned).expect("request");
    let (status, _, body) =
        gateway_response(&statement_api::handle(aws, &event, now).expect("statement-api"));
    assert_eq!(status, 401);
    assert!(!String::from_utf8_lossy(&body).contains("listAmount"));
    // Each function answers its own routes only: API Gateway never sends it the other's, and if
    // it did, the answer would be a 404, not the other function's work.
    let event =
        serde_json::from_value(statement_read(PARTNER, "2026-09", "", now)).expect("request");
    let (status, _, body) =
        gateway_response(&access_webhook::handle(aws, &event, now).expect("webhook"));
    assert_eq!(status, 404);
    assert!(!String::from_utf8_lossy(&body).contains("listAmount"));
    let snapshot_post =
        serde_json::from_value(api_request(PARTNER, b"{}", now, SECRET, "msg_p")).expect("request");
    let (status, _, _) =
        gateway_response(&statement_api::handle(aws, &snapshot_post, now).expect("statement-api"));
    assert_eq!(status, 404);
}

#[test]
fn monthly_statement_handler_scheduled_and_on_demand() {
    let env = setup();
    let aws = &env.aws;
    one_settled_resource_day(aws);
    let now = t("2026-10-02T06:00:00Z");
    let input = serde_json::to_value(scheduled("2026-10-02T06:00:00Z")).unwrap();
    let written = monthly_statement::handle(aws, &input, now).expect("scheduled");
    assert_eq!(written.len(), 1);
    let docs = emf_json(&emf::monthly_statement(&written, now), now);
    assert_eq!(docs[0]["StatementsWritten"], 1);
    assert_eq!(docs[0]["Function"], "monthly-statement");
    assert_eq!(written[0].month, "2026-09");
    let json = get_json(
        &env,
        &format!("statements/{PARTNER}/2026-09/statement.json"),
    )
    .expect("statement");
    assert_eq!(json["currencies"][0]["totals"]["listAmount"], "10");
    assert_eq!(
        json["currencies"][0]["lostCreditByReason"]["NO_EVIDENCE"],
        "1.5"
    );
    let csv = aws
        .objects
        .get_object(&format!("statements/{PARTNER}/2026-09/statement.csv"))
        .unwrap()
        .expect("csv");
    assert!(csv.starts_with("\u{feff}".as_bytes()));
    // The claims pack beside it: the month's only resource-day lost its credit, so nothing to
    // claim (the header alone).
    let claims = aws
        .objects
        .get_object(&format!("statements/{PARTNER}/2026-09/claims.csv"))
        .unwrap()
        .expect("claims.csv");
    let claims = String::from_utf8(claims).expect("utf-8");
    assert!(
        claims.starts_with("\u{feff}section,partner_id,"),
        "{claims}"
    );
    assert_eq!(claims.lines().count(), 1, "{claims}");
    let html = aws
        .objects
        .get_object(&format!("statements/{PARTNER}/2026-09/statement.html"))
        .unwrap()
        .expect("html");
    let html = String::from_utf8(html).expect("utf-8");
    assert!(
        html.contains(r#"data-figure="USD.totals.listAmount" data-exact="10">10.00<"#),
        "the page shows the statement's figures"
    );
    let html = aws
        .objects
        .get_object(&format!("statements/{PARTNER}/2026-09/statement.html"))
        .unwrap()
        .expect("html");
    let html = String::from_utf8(html).expect("utf-8");
    assert!(
        html.contains("data-figure=\"USD.totals.listAmount\" data-exact=\"10\">10.00<"),
        "the page shows the figures"
    );
    let pdf = aws
        .objects
        .get_object(&format!("statements/{PARTNER}/2026-09/statement.pdf"))
        .unwrap()
        .expect("pdf");
    assert!(pdf.starts_with(b"%PDF-"), "a PDF");
    // On demand, for a month without entries: written all the same.
    let written =
        monthly_statement::handle(aws, &json!({"partnerId": PARTNER, "month": "2026-08"}), now)
            .unwrap();
    let mut expected: Vec<String> = ["json", "csv", "html", "pdf"]
        .map(|f| format!("statements/{PARTNER}/2026-08/statement.{f}"))
        .into();
    expected.push(format!("statements/{PARTNER}/2026-08/claims.csv"));
    assert_eq!(written[0].keys, expected);
    assert!(monthly_statement::handle(aws, &json!({"partnerId": PARTNER}), now).is_err());

    // An indirect provider: a reseller's usage gets the reseller's own statement beside the
    // partner's (issue 16, part 3).
    let vm2 = scenario::res("/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm2");
    ingest_usage_file(
        &aws.store,
        &aws.config,
        PARTNER,
        "resold.csv",
        usage_file(&[Line::new("2026-09-05", &vm2).with(|l| l.tier2 = "2000002".into())])
            .as_bytes(),
        t("2026-09-07T00:00:00Z"),
    )
    .unwrap();
    let opts = SettleOptions::new(
        &aws.config,
        scenario::d("2026-09-05"),
        None,
        t("2026-09-07T02:00:00Z"),
    );
    settle(&aws.store, &aws.config, &opts).unwrap();
    let written =
        monthly_statement::handle(aws, &json!({"partnerId": PARTNER, "month": "2026-09"}), now)
            .unwrap();
    assert_eq!(written[0].keys.len(), 9, "{:?}", written[0].keys);
    let theirs = get_json(
        &env,
        &format!("statements/{PARTNER}/2026-09/resellers/2000002/statement.json"),
    )
    .expect("the reseller's statement");
    assert_eq!(theirs["scope"], json!({"resellerMpnId": "2000002"}));
    assert_eq!(theirs["currencies"][0]["totals"]["listAmount"], "10");
    let all = get_json(
        &env,
        &format!("statements/{PARTNER}/2026-09/statement.json"),
    )
    .expect("the partner's statement");
    assert_eq!(all["currencies"][0]["totals"]["listAmount"], "20");
}

/// The whole pipeline on generated data, through the handlers, compared with the embedded
/// store figure for figure; prints the DynamoDB requests per 1,000 ledger entries.
#[test]
fn end_to_end_matches_the_embedded_store() {
    let env = setup();
    let aws = &env.aws;
    let dir = tempfile::tempdir().unwrap();
    let options = GenerateOptions {
        seed: 42,
        partners: 2,
        customers_per_partner: 2,
        subscriptions_per_customer: 2,
        resources_per_subscription: 8,
        start: scenario::d("2026-09-01"),
        days: 5,
        snapshot_interval_hours: 12,
        gzip: true,
    };
    let set = generate(&options, &dir.path().join("data")).expect("generate");
    let sqlite = SqliteStore::open_dir(&dir.path().join("db")).unwrap();
    let config = Config::default();
    let counter = &aws.clients.dynamodb_requests;
    counter.reset();
    let mut phases = Vec::new();

    // Usage files: S3 → ObjectCreated event → usage-upload.
    let upload_now = t("2026-09-06T00:30:00Z");
    for p in &set.partners {
        for f in &p.usage_files {
            let bytes = std::fs::read(f).unwrap();
            let name = f.file_name().unwrap().to_string_lossy().to_string();
            let key = format!("uploads/{}/{name}", p.partner_id);
            aws.objects
                .put_object(&key, &bytes, "application/gzip")
                .unwrap();
            let out =
                usage_upload::handle(aws, &s3_event(&aws.env.bucket, &key), upload_now).unwrap();
            assert_eq!(
                out[0].receipt.as_ref().map(|r| r.status),
                Some(UploadStatus::Accepted),
                "{key}"
            );
            let local = ingest_usage_file(
                &sqlite,
                &config,
                &p.partner_id,
                &name,
                bytes.as_slice(),
                upload_now,
            )
            .unwrap();
            assert_eq!(local.status, UploadStatus::Accepted);
        }
    }
    phases.push(("usage upload", counter.total()));

    // Snapshots: signed webhook requests through API Gateway v2 events.
    let post_now = t("2026-09-06T01:00:00Z");
    for p in &set.partners {
        aws.store
            .add_secret(
                &p.partner_id,
                &WebhookSecret {
                    secret: SECRET.into(),
                    added_at: post_now,
                },
            )
            .unwrap();
        for (i, f) in p.snapshot_files.iter().enumerate() {
            let body = std::fs::read(f).unwrap();
            let (status, reply, _) = webhook(
                &env,
                api_request(&p.partner_id, &body, post_now, SECRET, &format!("msg_{i}")),
                post_now,
            );
            assert_eq!(status, 202, "{reply}");
            post_snapshot(&sqlite, &p.partner_id, &body, post_now).unwrap();
        }
    }
    phases.push(("snapshots", counter.total()));

    // Nightly settlement: coordinator → SQS → worker.
    let settle_now = t("2026-09-06T02:00:00Z");
    let plan =
        nightly_settle::coordinate(aws, &scheduled("2026-09-06T02:00:00Z"), settle_now).unwrap();
    phases.push(("coordinator", counter.total()));
    let event = serde_json::from_value(drain_queue(&env)).unwrap();
    let response = nightly_settle::work(aws, &event, settle_now);
    assert!(response.batch_item_failures.is_empty());
    let local_opts = SettleOptions {
        run_id: "local".into(),
        full: false,
        batch_entries: pec_ledger::settle::BATCH_ENTRIES,
        ..SettleOptions::new(&config, plan.through, Some(plan.from), settle_now)
    };
    let local = settle(&sqlite, &config, &local_opts).unwrap();
    assert!(local.entries_appended > 0);
    phases.push(("workers", counter.total()));

    // Statements on the 2nd of the next month.
    let stmt_now = t("2026-10-02T06:00:00Z");
    let mut claims_found = 0;
    let written = monthly_statement::handle(
        aws,
        &serde_json::to_value(scheduled("2026-10-02T06:00:00Z")).unwrap(),
        stmt_now,
    )
    .unwrap();
    assert_eq!(written.len(), set.partners.len());
    phases.push(("statements", counter.total()));
    let total = counter.total();
    let by_op = counter.snapshot();

    for p in &set.partners {
        let expected = statement_from_store(
            &sqlite,
            &p.partner_id,
            Month::parse("2026-09").unwrap(),
            stmt_now,
        )
        .unwrap();
        let json = get_json(
            &env,
            &format!("statements/{}/2026-09/statement.json", p.partner_id),
        )
        .expect("statement");
        assert_eq!(
            json,
            serde_json::to_value(&expected).unwrap(),
            "statement of {}",
            p.partner_id
        );
        assert!(!expected.currencies.is_empty());
        let csv = aws
            .objects
            .get_object(&format!(
                "statements/{}/2026-09/statement.csv",
                p.partner_id
            ))
            .unwrap()
            .unwrap();
        assert_eq!(String::from_utf8(csv).unwrap(), render_csv(&expected));
        // The claims pack, from the DynamoDB tables (entries, snapshots, usage, names) as from
        // the embedded store.
        let claims = claims_from_store(
            &sqlite,
            &config,
            &p.partner_id,
            Month::parse("2026-09").unwrap(),
            stmt_now,
            None,
        )
        .unwrap();
        let csv = aws
            .objects
            .get_object(&format!("statements/{}/2026-09/claims.csv", p.partner_id))
            .unwrap()
            .expect("claims.csv");
        assert_eq!(String::from_utf8(csv).unwrap(), render_claims_csv(&claims));
        claims_found += claims.resource_days.len();
    }
    assert!(claims_found > 0, "the generated data has claims to compare");
    let report = pec_ledger::verify::verify(&aws.store).unwrap();
    assert!(report.ok, "{:?}", report.breaks);
    assert_eq!(report.entries, local.entries_appended);

    let mut bytes = 0usize;
    aws.store
        .for_each_entry(&EntryFilter::default(), &mut |e| {
            bytes += e.canonical_json().len();
            Ok(())
        })
        .unwrap();
    println!(
        "average entry JSON: {} bytes",
        bytes / report.entries.max(1) as usize
    );
    let entries = report.entries as f64;
    println!(
        "end to end: {} ledger entries, {} resource-days settled",
        report.entries, local.resource_days
    );
    let mut before = 0;
    for (phase, after) in &phases {
        println!(
            "  {phase:<13} {:>6} DynamoDB requests = {:>8.1} per 1,000 entries",
            after - before,
            (after - before) as f64 * 1000.0 / entries
        );
        before = *after;
    }
    println!(
        "  total         {total:>6} DynamoDB requests = {:>8.1} per 1,000 entries",
        total as f64 * 1000.0 / entries
    );
    println!("  by operation: {by_op:?}");
}
