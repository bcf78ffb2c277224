//! The webhook attack catalogue (issue 4 item 5) and partner isolation over HTTP (item 9),
//! against a real `pec serve`: every hostile request gets its exact status and error code, and
//! leaves the data directory as it was — same archive files, same stored snapshots (by content
//! digest), same usage — and, settled afterwards, the same statement as if it had never been
//! sent.

mod support;

use pec_ledger::webhook_secret::sign;
use serde_json::{json, Value};
use std::time::Duration;
use support::*;

/// A snapshot id none of the examples uses.
const POISON_ID: &str = "0badc0de-0000-4000-8000-00000000beef";
/// The earned credit of September 1–2 on the example usage with the five example snapshots
/// (the figure `serve.rs` also checks).
const EARNED: &str = "9.33696";
/// The same with snapshots 0–3 only: September 2 has no evidence after its end (snapshot 4,
/// taken at 00:05 on September 3, is missing), so only September 1 earns: half of the above.
const EARNED_WITHOUT_4: &str = "4.66848";

/// A valid snapshot of PARTNER that, if it were stored, would change the statement of a store
/// holding snapshots 0–3: snapshot 4's content under a new id, which completes September 2.
fn poison() -> Vec<u8> {
    with(&example_snapshot(4), |v| {
        v["snapshotId"] = POISON_ID.into();
    })
}

/// The Standard Webhooks headers for `body`, signed with `secret` as message `id` at `ts`,
/// plus `Content-Type: application/json`.
fn signed(secret: &str, id: &str, ts: i64, body: &[u8]) -> Vec<(&'static str, String)> {
    vec![
        ("Content-Type", "application/json".into()),
        ("webhook-id", id.into()),
        ("webhook-timestamp", ts.to_string()),
        ("webhook-signature", sign(secret, id, ts, body).unwrap()),
    ]
}

fn snapshots_path(partner: &str) -> String {
    format!("/v1/partners/{partner}/access-snapshots")
}

/// The statement's earned credit for September after settling September 1–2 on the CLI.
fn settle_and_earned(server: &Server) -> String {
    let data = server.data();
    let out = pec(&data, &SETTLE_SEPTEMBER_1_2);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = pec(
        &data,
        &[
            "statement",
            "--partner",
            PARTNER,
            "--month",
            "2026-09",
            "--as-of",
            "2026-09-04T00:00:00Z",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).expect("statement JSON");
    v["currencies"][0]["totals"]["earnedCredit"]
        .as_str()
        .expect("earnedCredit")
        .to_string()
}

fn upload_example_usage(server: &Server) {
    let usage = examples().join("daily-rated-usage.csv");
    let out = pec(
        &server.data(),
        &[
            "usage",
            "upload",
            usage.to_str().unwrap(),
            "--partner",
            PARTNER,
        ],
    );
    assert_eq!(out.status.code(), Some(0));
}

/// One hostile request: what it is, and the status and error code it must get.
struct Attack {
    name: String,
    response: Response,
    status: u16,
    code: &'static str,
}

#[test]
fn the_webhook_attack_catalogue_gets_its_statuses_and_stores_nothing() {
    let server = Server::start();
    upload_example_usage(&server);
    for i in 0..3 {
        assert_eq!(server.post(&example_snapshot(i), SECRET).status, 202);
    }
    // Snapshot 3 is sent as a captured request signed 297 s ago: accepted now (within the
    // ±300 s tolerance), replayed below once the tolerance has passed.
    let captured_ts = unix_now() - 297;
    let s3 = example_snapshot(3);
    let captured = signed(SECRET, "msg_captured", captured_ts, &s3);
    let path = snapshots_path(PARTNER);
    assert_eq!(server.request("POST", &path, &captured, &s3).status, 202);
    // A replay of the very same request within the tolerance: a duplicate, nothing new.
    let r = server.request("POST", &path, &captured, &s3);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["status"], "duplicate");

    let before = server.holdings();
    assert_eq!(before.archive_files, 4);
    assert_eq!(before.snapshots, 4);

    let body = poison();
    let now = unix_now();
    let good = signed(SECRET, "msg_1", now, &body);
    let valid_signature = good[3].1.clone();
    let mut attacks: Vec<Attack> = Vec::new();
    let mut add = |name: &str, response: Response, status: u16, code: &'static str| {
        attacks.push(Attack {
            name: name.to_string(),
            response,
            status,
            code,
        })
    };
    let post = |headers: &[(&'static str, String)], body: &[u8]| {
        server.request("POST", &path, headers, body)
    };
    let without = |name: &str| -> Vec<(&'static str, String)> {
        good.iter().filter(|(n, _)| *n != name).cloned().collect()
    };
    let replaced = |name: &str, value: &str| -> Vec<(&'static str, String)> {
        good.iter()
            .map(|(n, v)| {
                if *n == name {
                    (*n, value.to_string())
                } else {
                    (*n, v.clone())
                }
            })
            .collect()
    };

    // Missing signature headers.
    add(
        "no signature headers",
        post(&without("webhook-id")[..1], &body),
        401,
        "unauthorized",
    );
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        add(
            &format!("missing {name}"),
            post(&without(name), &body),
            401,
            "unauthorized",
        );
    }
    add(
        "blank webhook-id",
        post(&replaced("webhook-id", " "), &body),
        401,
        "unauthorized",
    );
    // Malformed signatures.
    let b64 = valid_signature.trim_start_matches("v1,").to_string();
    for (what, sig) in [
        ("empty", String::new()),
        ("v1, with nothing", "v1,".to_string()),
        ("not base64", "v1,!!!not*base64!!!".to_string()),
        ("wrong version", format!("v2,{b64}")),
        ("no comma", format!("v1{b64}")),
        ("upper-case version", format!("V1,{b64}")),
        (
            "cut by one character",
            format!("v1,{}", &b64[..b64.len() - 1]),
        ),
        ("all zero, 32 bytes", format!("v1,{}=", "A".repeat(43))),
        (
            "the valid one after eight bad ones (only eight are tried)",
            format!("{} {valid_signature}", ["v1,AAAA"; 8].join(" ")),
        ),
    ] {
        add(
            &format!("malformed signature: {what}"),
            post(&replaced("webhook-signature", &sig), &body),
            401,
            "unauthorized",
        );
    }
    // Wrong signatures: another secret, or signed over another id, timestamp or body.
    add(
        "another partner's secret",
        post(&signed(OTHER_SECRET, "msg_1", now, &body), &body),
        401,
        "unauthorized",
    );
    add(
        "a secret nobody has",
        post(
            &signed(
                "whsec_bm9ib2R5J3Mgc2VjcmV0IGtleSAzMiBieXRlcyE=",
                "msg_1",
                now,
                &body,
            ),
            &body,
        ),
        401,
        "unauthorized",
    );
    add(
        "signed for another webhook-id",
        post(&replaced("webhook-id", "msg_2"), &body),
        401,
        "unauthorized",
    );
    add(
        "signed for another timestamp",
        post(
            &replaced("webhook-timestamp", &(now - 1).to_string()),
            &body,
        ),
        401,
        "unauthorized",
    );
    add(
        "signed for another body",
        post(&signed(SECRET, "msg_1", now, b"{}"), &body),
        401,
        "unauthorized",
    );
    // Stale, future and nonsense timestamps, correctly signed.
    for (what, ts) in [
        ("stale by 310 s", now - 310),
        ("310 s in the future", now + 310),
        ("zero", 0),
        ("negative", -1),
        ("i64::MAX", i64::MAX),
        ("i64::MIN", i64::MIN),
    ] {
        add(
            &format!("timestamp {what}"),
            post(&signed(SECRET, "msg_1", ts, &body), &body),
            401,
            "unauthorized",
        );
    }
    for text in [
        "1e9",
        "",
        "0x10",
        &format!("{now}.0"),
        "99999999999999999999",
    ] {
        add(
            &format!("timestamp {text:?}"),
            post(&replaced("webhook-timestamp", text), &body),
            401,
            "unauthorized",
        );
    }
    // A replay of a request with a valid signature but another body.
    let mut forged = s3.clone();
    forged.extend_from_slice(b" ");
    let forged = with(&forged, |v| v["assignments"] = json!([]));
    add(
        "captured signature on another body",
        server.request("POST", &path, &captured, &forged),
        401,
        "unauthorized",
    );
    // Unknown partner (its own snapshot, signed with a secret it does not have).
    let unknown = "7a3c0000-0000-4000-8000-0000000000ff";
    let theirs = with(&body, |v| v["partnerId"] = unknown.into());
    add(
        "unknown partner",
        server.request(
            "POST",
            &snapshots_path(unknown),
            &signed(SECRET, "msg_1", now, &theirs),
            &theirs,
        ),
        401,
        "unauthorized",
    );
    // The body's partner is not the path's.
    let others = with(&body, |v| v["partnerId"] = OTHER.into());
    add(
        "body partnerId is another partner",
        post(&signed(SECRET, "msg_1", now, &others), &others),
        403,
        "partner_mismatch",
    );
    // snapshotId reused with other content.
    let reused = with(&body, |v| {
        v["snapshotId"] = SNAPSHOT_ID.into();
    });
    add(
        "snapshotId of snapshot 0 with other content",
        post(&signed(SECRET, "msg_1", now, &reused), &reused),
        409,
        "snapshot_conflict",
    );
    let upper = with(&body, |v| {
        v["snapshotId"] = SNAPSHOT_ID.to_uppercase().into();
    });
    add(
        "snapshotId of snapshot 0, upper case, with other content",
        post(&signed(SECRET, "msg_1", now, &upper), &upper),
        409,
        "snapshot_conflict",
    );
    // Over 5 MiB: signed, unsigned, and chunked.
    let mut big = body.clone();
    big.resize(MAX_BODY + 1, b' ');
    add(
        "5 MiB + 1 byte, signed",
        post(&signed(SECRET, "msg_1", now, &big), &big),
        413,
        "payload_too_large",
    );
    add(
        "5 MiB + 1 byte, unsigned",
        post(&good[..1], &big),
        413,
        "payload_too_large",
    );
    // 100,000 assignments do not fit in 5 MiB (about 330 bytes each).
    let many = with(&body, |v| {
        let a = json!({
            "id": "",
            "scope": "/subscriptions/23b8c1e9-3924-46de-beb1-3b9046685257",
            "roleDefinitionId": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
            "roleName": "Owner",
            "principalId": "878a0d66-d024-5b3d-b925-f58e6ac2ebe2",
            "principalType": "ForeignGroup",
            "accessType": "AOBO",
            "assignmentType": "permanent"
        });
        let list: Vec<Value> = (0..100_000)
            .map(|i| {
                let mut a = a.clone();
                a["id"] = format!(
                    "/subscriptions/23b8c1e9-3924-46de-beb1-3b9046685257/providers/Microsoft.Authorization/roleAssignments/{i:08}"
                )
                .into();
                a
            })
            .collect();
        v["assignments"] = Value::Array(list);
    });
    assert!(many.len() > 30 * 1024 * 1024, "{}", many.len());
    add(
        "100,000 assignments",
        post(&signed(SECRET, "msg_1", now, &many), &many),
        413,
        "payload_too_large",
    );
    // Deeply nested JSON, in arrays and in objects, at the root and inside a field.
    let deep_arrays = "[".repeat(100_000).into_bytes();
    let deep_objects = "{\"a\":".repeat(100_000).into_bytes();
    let deep_inside = String::from_utf8(body.clone())
        .unwrap()
        .replacen(
            "\"source\": \"example-access-tool\"",
            &format!("\"source\": {}1{}", "[".repeat(10_000), "]".repeat(10_000)),
            1,
        )
        .into_bytes();
    assert_ne!(deep_inside, body);
    for (what, b) in [
        ("100,000 [", &deep_arrays),
        ("100,000 {\"a\":", &deep_objects),
        ("10,000 levels inside source", &deep_inside),
    ] {
        add(
            &format!("deeply nested JSON: {what}"),
            post(&signed(SECRET, "msg_1", now, b), b),
            400,
            "invalid_snapshot",
        );
    }
    // Invalid UTF-8 and other encodings.
    let mut latin1 = body.clone();
    let at = latin1
        .windows(7)
        .position(|w| w == b"example")
        .expect("source");
    latin1[at] = 0xe9; // Latin-1 é
    let overlong = String::from_utf8(body.clone())
        .unwrap()
        .replacen("example", "ex\u{1}ample", 1)
        .into_bytes()
        .iter()
        .flat_map(|&b| if b == 1 { vec![0xc0, 0x81] } else { vec![b] })
        .collect::<Vec<u8>>();
    let utf16: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain(
            String::from_utf8(body.clone())
                .unwrap()
                .encode_utf16()
                .flat_map(|u| u.to_le_bytes()),
        )
        .collect();
    for (what, b) in [
        ("a Latin-1 byte in a string", &latin1),
        ("an overlong UTF-8 sequence", &overlong),
        ("UTF-16LE with BOM", &utf16),
    ] {
        add(
            &format!("invalid UTF-8: {what}"),
            post(&signed(SECRET, "msg_1", now, b), b),
            400,
            "invalid_snapshot",
        );
    }
    // Wrong content types (checked before anything else).
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json; charset=iso-8859-1",
        "application/jsonp",
        "application/json-patch+json",
        "",
    ] {
        add(
            &format!("Content-Type {ct:?}"),
            post(&replaced("Content-Type", ct), &body),
            415,
            "unsupported_media_type",
        );
    }
    // Unknown fields are allowed and ignored (docs/snapshot.schema.json): snapshot 0 with
    // unknown fields at every level is snapshot 0 again.
    let s0_extra = with(&example_snapshot(0), |v| {
        v["x-unknown"] = json!({"partnerId": OTHER});
        v["PartnerId"] = OTHER.into();
        v["assignments"][0]["extra"] = json!([1, 2, 3]);
    });
    let r = post(&signed(SECRET, "msg_1", now, &s0_extra), &s0_extra);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        r.json(),
        json!({"snapshotId": SNAPSHOT_ID, "status": "duplicate", "errors": []})
    );

    // Every attack: its status and code, and nothing stored.
    assert_eq!(attacks.len(), 50);
    for a in &attacks {
        assert_eq!(
            (a.response.status, a.name.as_str()),
            (a.status, a.name.as_str()),
            "{}",
            String::from_utf8_lossy(&a.response.body)
        );
        let v = a.response.json();
        assert_eq!(v["error"]["code"], a.code, "{}: {v}", a.name);
    }
    for a in attacks
        .iter()
        .filter(|a| a.name.starts_with("deeply nested"))
    {
        let details = a.response.error(400, "invalid_snapshot");
        assert_eq!(details.len(), 1, "{}", a.name);
        assert_eq!(details[0]["path"], "$", "{}", a.name);
        assert!(
            details[0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("recursion limit")),
            "{}: {details:?}",
            a.name
        );
    }
    assert_eq!(server.holdings(), before, "nothing was stored");

    // The captured request replayed after the tolerance has passed (297 s + 6 s).
    let wait = captured_ts + 303 - unix_now();
    if wait > 0 {
        std::thread::sleep(Duration::from_secs(wait as u64));
    }
    server
        .request("POST", &path, &captured, &s3)
        .error(401, "unauthorized");
    assert_eq!(server.holdings(), before);

    // Settled, the statement is the one of the good inputs alone…
    assert_eq!(settle_and_earned(&server), EARNED_WITHOUT_4);
    // …and the poison, had it got in, would have shown: posted properly, it changes it.
    let r = server.post(&body, SECRET);
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(settle_and_earned(&server), EARNED);
}

#[test]
fn exactly_5_mib_and_as_many_assignments_as_fit_are_accepted() {
    let server = Server::start();
    // Exactly 5 MiB (padded with whitespace): accepted.
    let mut padded = poison();
    padded.resize(MAX_BODY, b'\n');
    let r = server.post(&padded, SECRET);
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    // Exactly 5 MiB, chunked in 64 KiB chunks: the same body again is a duplicate.
    let ts = unix_now();
    let mut chunked = format!(
        "POST {} HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nwebhook-id: c\r\nwebhook-timestamp: {ts}\r\nwebhook-signature: {}\r\n\r\n",
        snapshots_path(PARTNER),
        sign(SECRET, "c", ts, &padded).unwrap()
    )
    .into_bytes();
    for part in padded.chunks(64 * 1024) {
        chunked.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        chunked.extend_from_slice(part);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(Response::parse(&server.raw(&chunked)).status, 200);
    // One byte more, chunked: 413.
    let mut over = padded.clone();
    over.push(b' ');
    let mut chunked = format!(
        "POST {} HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nwebhook-id: c\r\nwebhook-timestamp: {ts}\r\nwebhook-signature: {}\r\n\r\n",
        snapshots_path(PARTNER),
        sign(SECRET, "c", ts, &over).unwrap()
    )
    .into_bytes();
    chunked.extend_from_slice(format!("{:x}\r\n", over.len()).as_bytes());
    chunked.extend_from_slice(&over);
    chunked.extend_from_slice(b"\r\n0\r\n\r\n");
    Response::parse(&server.raw(&chunked)).error(413, "payload_too_large");

    // As many distinct assignments as fit in 5 MiB (compact JSON): accepted, all of them kept.
    let mut n = 0;
    let body = loop {
        let candidate = with(&example_snapshot(1), |v| {
            let template = v["assignments"][0].clone();
            v["assignments"] = Value::Array(
                (0..n + 1000)
                    .map(|i| {
                        let mut a = template.clone();
                        a["id"] = format!("{}-{i}", template["id"].as_str().unwrap()).into();
                        a
                    })
                    .collect(),
            );
        });
        let compact =
            serde_json::to_vec(&serde_json::from_slice::<Value>(&candidate).unwrap()).unwrap();
        if compact.len() > MAX_BODY {
            break with(&example_snapshot(1), |v| {
                let template = v["assignments"][0].clone();
                v["assignments"] = Value::Array(
                    (0..n)
                        .map(|i| {
                            let mut a = template.clone();
                            a["id"] = format!("{}-{i}", template["id"].as_str().unwrap()).into();
                            a
                        })
                        .collect(),
                );
            });
        }
        n += 1000;
    };
    let compact = serde_json::to_vec(&serde_json::from_slice::<Value>(&body).unwrap()).unwrap();
    assert!(compact.len() <= MAX_BODY);
    assert!(n >= 10_000, "{n}");
    let r = server.post(&compact, SECRET);
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    let h = server.holdings();
    assert_eq!((h.snapshots, h.archive_files), (2, 2));
    let id = serde_json::from_slice::<Value>(&compact).unwrap()["snapshotId"]
        .as_str()
        .unwrap()
        .to_string();
    let db = rusqlite::Connection::open(server.data().join("pec.db")).unwrap();
    let kept: i64 = db
        .query_row(
            "SELECT json_array_length(snapshot, '$.assignments') FROM snapshots WHERE snapshot_id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kept, n as i64);
}

#[test]
fn another_partners_secret_cannot_write_or_read_this_partners_data() {
    let server = Server::start();
    upload_example_usage(&server);
    for i in 0..5 {
        assert_eq!(server.post(&example_snapshot(i), SECRET).status, 202);
    }
    assert_eq!(settle_and_earned(&server), EARNED);
    let before = server.holdings();
    let now = unix_now();
    let body = poison();

    // OTHER's secret, on PARTNER's path: not authenticated (401), whatever the body says.
    for b in [&body, &with(&body, |v| v["partnerId"] = OTHER.into())] {
        server
            .request(
                "POST",
                &snapshots_path(PARTNER),
                &signed(OTHER_SECRET, "m", now, b),
                b,
            )
            .error(401, "unauthorized");
    }
    // OTHER's secret on OTHER's path with PARTNER's snapshot: 403, and PARTNER's snapshot 0
    // re-sent by OTHER is not a duplicate of PARTNER's but a mismatch too.
    for b in [&body, &example_snapshot(0)] {
        server
            .request(
                "POST",
                &snapshots_path(OTHER),
                &signed(OTHER_SECRET, "m", now, b),
                b,
            )
            .error(403, "partner_mismatch");
    }
    // Path tricks: PARTNER's id with other spelling or extra segments under OTHER's secret.
    for p in [
        format!("/v1/partners/{}/access-snapshots", PARTNER.to_uppercase()),
        format!("/v1/partners/%20{PARTNER}/access-snapshots"),
        format!("/v1/partners/{OTHER}/../{PARTNER}/access-snapshots"),
        format!("/v1/partners/{PARTNER}%2F/access-snapshots"),
    ] {
        let r = server.request("POST", &p, &signed(OTHER_SECRET, "m", now, &body), &body);
        assert!(
            r.status == 401 || r.status == 404,
            "{p}: {} {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
    }
    assert_eq!(server.holdings(), before);

    // Statements: OTHER's secret cannot read PARTNER's, in any format or spelling (a spelling
    // that is not a GUID is not a partner at all: 404).
    for (partner, query, status, code) in [
        (PARTNER.to_string(), "", 401, "unauthorized"),
        (PARTNER.to_string(), "format=csv", 401, "unauthorized"),
        (PARTNER.to_uppercase(), "format=html", 401, "unauthorized"),
        (format!("%20{PARTNER}"), "format=xlsx", 404, "not_found"),
    ] {
        server
            .statement(&partner, "2026-09", query, OTHER_SECRET)
            .error(status, code);
    }
    // OTHER's own statement holds nothing of PARTNER's.
    let r = server.statement(OTHER, "2026-09", "asOf=2026-09-04T00:00:00Z", OTHER_SECRET);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(v["partnerId"], OTHER);
    assert_eq!(v["currencies"], json!([]));
    let text = String::from_utf8_lossy(&r.body);
    assert!(
        !text.contains(PARTNER) && !text.contains(CUSTOMER),
        "{text}"
    );

    // A snapshot OTHER posts with PARTNER's snapshotId is OTHER's own: it neither conflicts
    // with nor replaces PARTNER's.
    let theirs = with(&example_snapshot(0), |v| {
        v["partnerId"] = OTHER.into();
        v["assignments"] = json!([]);
    });
    let r = server.request(
        "POST",
        &snapshots_path(OTHER),
        &signed(OTHER_SECRET, "m", now, &theirs),
        &theirs,
    );
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        server.archived(CUSTOMER, "20260901T000500Z", SNAPSHOT_ID),
        Some(example_snapshot(0))
    );
    assert_eq!(settle_and_earned(&server), EARNED);
}
