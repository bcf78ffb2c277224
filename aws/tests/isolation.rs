//! Isolation on AWS (issue 4, item 9): partner B, with its own secret and its own upload prefix,
//! can neither post nor read partner A's snapshots and statements through the access-webhook
//! and statement-api handlers, and a usage file under `uploads/{B}/` carrying A's rows is rejected
//! (`TENANT_MISMATCH`) without anything landing in A's (or B's) data.

mod common;

#[path = "../../tests/tests/common/mod.rs"]
mod scenario;

use base64::Engine;
use chrono::{DateTime, Utc};
use common::{ledger, setup, t, TestAws};
use pec_aws::handlers::http_api::HttpApiRequest;
use pec_aws::handlers::{access_webhook, statement_api, usage_upload};
use pec_ledger::ingest::UploadStatus;
use pec_ledger::settle::settle;
use pec_ledger::store::{ObjectStore, PartnerStore, SnapshotStore, UsageStore, WebhookSecret};
use scenario::{owner_on, snapshot, usage_file, Line, CUSTOMER, PARTNER, SUB};
use serde_json::{json, Value};

const SECRET_A: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const PARTNER_B: &str = "77777777-7777-4777-8777-777777777777";
const SECRET_B: &str = "whsec_c2Vjb25kIHNlY3JldCBrZXkgZm9yIHRlc3Rz";
const NOBODY: &str = "99999999-9999-4999-8999-999999999999";

fn request(
    method: &str,
    path: &str,
    body: &[u8],
    secret: &str,
    msg_id: &str,
    now: DateTime<Utc>,
) -> Value {
    let ts = now.timestamp();
    let signed: &[u8] = if method == "GET" { b"" } else { body };
    let sig = pec_ledger::webhook_secret::sign(secret, msg_id, ts, signed).expect("sign");
    json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": ts.to_string(),
            "webhook-signature": sig
        },
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc123", "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "attacker/1.0"},
            "requestId": "JKJaXmPLvHcESHA=", "routeKey": format!("{method} {path}"),
            "stage": "$default", "time": "03/Sep/2026:01:00:00 +0000", "timeEpoch": now.timestamp_millis()
        },
        "body": base64::engine::general_purpose::STANDARD.encode(body),
        "isBase64Encoded": true
    })
}

/// The request to the function API Gateway routes it to (infra/template.yaml): statement reads
/// to statement-api, the rest to access-webhook.
fn call(env: &TestAws, request: Value, now: DateTime<Utc>) -> (u16, String) {
    let event: HttpApiRequest = serde_json::from_value(request).expect("API Gateway v2 request");
    let r = if event.path().contains("/statements/") {
        statement_api::handle(&env.aws, &event, now).expect("statement-api")
    } else {
        access_webhook::handle(&env.aws, &event, now).expect("webhook")
    };
    (r.status_code, r.body)
}

fn error_code(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_string))
        .unwrap_or_default()
}

fn snapshots_of(env: &TestAws, partner: &str, customer: &str) -> usize {
    let mut n = 0;
    env.aws
        .store
        .for_each_snapshot(partner, customer, &mut |_| {
            n += 1;
            Ok(())
        })
        .unwrap();
    n
}

/// Everything stored anywhere: bucket keys, snapshot counts, usage, ledger.
fn everything(env: &TestAws) -> (Vec<String>, [usize; 4], Vec<String>, Vec<String>) {
    let aws = &env.aws;
    let mut keys = aws.objects.list("").unwrap();
    keys.sort();
    let usage = [PARTNER, PARTNER_B]
        .iter()
        .flat_map(|p| {
            aws.store
                .current_usage(p, CUSTOMER, common::d("2026-09-01"))
                .unwrap()
                .into_iter()
                .map(|u| serde_json::to_string(&u).unwrap())
        })
        .collect();
    (
        keys,
        [
            snapshots_of(env, PARTNER, CUSTOMER),
            snapshots_of(env, PARTNER_B, CUSTOMER),
            snapshots_of(env, NOBODY, CUSTOMER),
            aws.store
                .customers_in_range(common::d("2026-08-01"), common::d("2026-09-30"))
                .unwrap()
                .len(),
        ],
        usage,
        ledger(&aws.store),
    )
}

#[test]
fn another_partners_secret_path_or_prefix_reaches_nothing_of_a() {
    let env = setup();
    let aws = &env.aws;
    let now = t("2026-09-03T01:00:00Z");
    for (p, s) in [(PARTNER, SECRET_A), (PARTNER_B, SECRET_B)] {
        aws.store
            .add_secret(
                p,
                &WebhookSecret {
                    secret: s.into(),
                    added_at: now,
                },
            )
            .unwrap();
    }
    // A's own data: a snapshot (202), a usage file, a settlement.
    let a_snapshot = |n: u32| {
        serde_json::to_vec(&snapshot(
            n,
            "2026-08-31T23:00:00Z",
            vec![owner_on(&format!("/subscriptions/{SUB}"))],
        ))
        .unwrap()
    };
    let path_a = format!("/v1/partners/{PARTNER}/access-snapshots");
    let (status, body) = call(
        &env,
        request("POST", &path_a, &a_snapshot(1), SECRET_A, "msg_a1", now),
        now,
    );
    assert_eq!(status, 202, "{body}");
    let vm = scenario::res("/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1");
    let a_rows = usage_file(&[Line::new("2026-09-01", &vm)]);
    let key_a = format!("uploads/{PARTNER}/a.csv");
    aws.objects
        .put_object(&key_a, a_rows.as_bytes(), "text/csv")
        .unwrap();
    let out = usage_upload::handle(
        aws,
        &common::s3_event(&aws.env.bucket, &key_a, "2026-09-03T01:00:00.000Z"),
        now,
    )
    .unwrap();
    assert_eq!(
        out[0].receipt.as_ref().map(|r| r.status),
        Some(UploadStatus::Accepted)
    );
    settle(
        &aws.store,
        &aws.config,
        &common::run("2026-09-01", "2026-09-01", "2026-09-03T00:55:00Z", "r"),
    )
    .unwrap();
    let statement_path = format!("/v1/partners/{PARTNER}/statements/2026-09");
    let (status, own) = call(
        &env,
        request("GET", &statement_path, b"", SECRET_A, "msg_a2", now),
        now,
    );
    assert_eq!(status, 200, "A reads its own statement: {own}");
    let own_json: Value = serde_json::from_str(&own).unwrap();
    assert_eq!(
        own_json["currencies"][0]["totals"]["listAmount"], "10",
        "{own}"
    );
    let before = everything(&env);
    assert_eq!(before.1, [1, 0, 0, 1]);
    assert_eq!(before.3.len(), 1);

    // B's secret on A's path: a new snapshot of A's customer, and A's statement.
    let (status, body) = call(
        &env,
        request("POST", &path_a, &a_snapshot(2), SECRET_B, "msg_b1", now),
        now,
    );
    assert_eq!(
        (status, error_code(&body).is_empty()),
        (401, false),
        "{body}"
    );
    let (status, body) = call(
        &env,
        request("GET", &statement_path, b"", SECRET_B, "msg_b2", now),
        now,
    );
    assert_eq!(status, 401, "{body}");
    assert!(!body.contains("listAmount"), "{body}");
    // A's request, captured and replayed to B's path (the signature does not name the path, but
    // B's secret does not verify it).
    let path_b = format!("/v1/partners/{PARTNER_B}/access-snapshots");
    let (status, body) = call(
        &env,
        request("POST", &path_b, &a_snapshot(3), SECRET_A, "msg_a3", now),
        now,
    );
    assert_eq!(status, 401, "{body}");
    // B's own path and secret, A's partnerId in the body.
    let (status, body) = call(
        &env,
        request("POST", &path_b, &a_snapshot(4), SECRET_B, "msg_b3", now),
        now,
    );
    assert_eq!(status, 403, "{body}");
    // A partner without secrets.
    let path_nobody = format!("/v1/partners/{NOBODY}/access-snapshots");
    let mut body_nobody: Value = serde_json::from_slice(&a_snapshot(5)).unwrap();
    body_nobody["partnerId"] = json!(NOBODY);
    let body_nobody = serde_json::to_vec(&body_nobody).unwrap();
    let (status, body) = call(
        &env,
        request("POST", &path_nobody, &body_nobody, SECRET_B, "msg_b4", now),
        now,
    );
    assert_eq!(status, 401, "{body}");

    // B's upload prefix, A's rows.
    let key_b = format!("uploads/{PARTNER_B}/a-rows.csv");
    let other = usage_file(&[Line::new("2026-09-01", &vm).with(|l| l.quantity = "400".into())]);
    aws.objects
        .put_object(&key_b, other.as_bytes(), "text/csv")
        .unwrap();
    let out = usage_upload::handle(
        aws,
        &common::s3_event(&aws.env.bucket, &key_b, "2026-09-03T01:00:00.000Z"),
        now,
    )
    .unwrap();
    let r = out[0].receipt.clone().expect("receipt");
    assert_eq!(r.status, UploadStatus::Rejected);
    assert_eq!(r.error_count, 1);
    assert!(
        r.errors[0].message.contains("TENANT_MISMATCH"),
        "{:?}",
        r.errors
    );
    assert_eq!(r.errors[0].line, 2);
    assert_eq!(r.errors[0].column, "PartnerId");

    let after = everything(&env);
    assert_eq!(after.1, before.1, "no snapshot stored for anyone");
    assert_eq!(after.2, before.2, "A's usage unchanged, none for B");
    assert_eq!(after.3, before.3, "the ledger unchanged");
    let new_keys: Vec<&String> = after.0.iter().filter(|k| !before.0.contains(k)).collect();
    assert_eq!(new_keys.len(), 3, "{new_keys:?}");
    assert!(new_keys.iter().any(|k| **k == key_b));
    for k in &new_keys {
        assert!(k.contains(PARTNER_B) && !k.contains(PARTNER), "{k}");
    }
    assert!(new_keys
        .iter()
        .any(|k| k.starts_with(&format!("receipts/{PARTNER_B}/"))));
    assert!(new_keys
        .iter()
        .any(|k| k.starts_with(&format!("rejected/{PARTNER_B}/"))));
    let (status, again) = call(
        &env,
        request("GET", &statement_path, b"", SECRET_A, "msg_a4", now),
        now,
    );
    assert_eq!((status, again), (200, own), "A's statement unchanged");
}
