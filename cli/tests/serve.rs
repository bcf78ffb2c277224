//! `pec serve` over real HTTP: the binary is started on 127.0.0.1 (port 0: it prints the address
//! it bound on stderr), requests are signed with `pec_ledger::webhook_secret::sign` and sent with
//! a minimal HTTP/1.1 client on `std::net`. One test per status code of SPEC 6.2, secret
//! rotation through `pec partner set-secret`, the archive of accepted snapshots, statement reads,
//! requests that are not well-formed HTTP, connections that never finish their headers, and a
//! clean stop on SIGTERM.

mod support;

use pec_ledger::webhook_secret::sign;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use support::*;

#[test]
fn accepted_is_202_archived_and_logged() {
    let server = Server::start();
    let body = example_snapshot(0);
    let r = server.post(&body, SECRET);
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.json(),
        serde_json::json!({"snapshotId": SNAPSHOT_ID, "status": "accepted", "errors": []})
    );
    assert_eq!(
        server.archived(CUSTOMER, "20260901T000500Z", SNAPSHOT_ID),
        Some(body)
    );
    assert_eq!(server.archive_files(), 1);
    // The log line is written before the connection closes; the reader thread may lag.
    let line = format!("POST /v1/partners/{PARTNER}/access-snapshots 202 ");
    let logged = |log: &str| {
        log.lines()
            .any(|l| l.starts_with(&line) && l.ends_with("ms"))
    };
    for _ in 0..100 {
        if logged(&server.log()) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(logged(&server.log()), "{}", server.log());
}

#[test]
fn duplicate_is_200_and_stores_nothing_new() {
    let server = Server::start();
    let body = example_snapshot(0);
    assert_eq!(server.post(&body, SECRET).status, 202);
    // A replay of the same signed request within the tolerance, and the same content
    // re-serialised under an upper-case partner in the path: duplicates.
    let ts = unix_now();
    let r = server.post_at(PARTNER, &body, SECRET, ts);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "duplicate");
    let compact = serde_json::to_vec(&serde_json::from_slice::<Value>(&body).unwrap()).unwrap();
    let r = server.post_at(&PARTNER.to_uppercase(), &compact, SECRET, ts);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(server.archive_files(), 1);
}

#[test]
fn invalid_snapshot_is_400_with_json_paths() {
    let server = Server::start();
    let body = with(&example_snapshot(0), |v| {
        v["assignments"][1]["accessType"] = "TELEPATHY".into();
        v["assignments"][2]
            .as_object_mut()
            .unwrap()
            .remove("roleName");
    });
    let details = server.post(&body, SECRET).error(400, "invalid_snapshot");
    let paths: Vec<&str> = details.iter().filter_map(|d| d["path"].as_str()).collect();
    assert!(
        paths.contains(&"$.assignments[1].accessType"),
        "{details:?}"
    );
    assert!(paths.contains(&"$.assignments[2].roleName"), "{details:?}");
    assert!(details.iter().all(|d| d["message"].is_string()));
    // Not JSON at all, and not UTF-8.
    let details = server
        .post(b"{\"schemaVersion\": \xff", SECRET)
        .error(400, "invalid_snapshot");
    assert_eq!(details[0]["path"], "$");
    assert_eq!(server.archive_files(), 0);
}

#[test]
fn bad_signatures_are_401() {
    let server = Server::start();
    let body = example_snapshot(0);
    let path = format!("/v1/partners/{PARTNER}/access-snapshots");
    let now = unix_now();
    let ct = ("Content-Type", "application/json".to_string());
    // Missing headers.
    server
        .request("POST", &path, std::slice::from_ref(&ct), &body)
        .error(401, "unauthorized");
    // A signature that does not match (made for another body).
    server
        .request(
            "POST",
            &path,
            &[
                ct.clone(),
                ("webhook-id", "msg_1".into()),
                ("webhook-timestamp", now.to_string()),
                (
                    "webhook-signature",
                    sign(SECRET, "msg_1", now, b"{}").unwrap(),
                ),
            ],
            &body,
        )
        .error(401, "unauthorized");
    // A timestamp that is not a number.
    server
        .request(
            "POST",
            &path,
            &[
                ct.clone(),
                ("webhook-id", "msg_1".into()),
                ("webhook-timestamp", "now".into()),
                (
                    "webhook-signature",
                    sign(SECRET, "msg_1", now, &body).unwrap(),
                ),
            ],
            &body,
        )
        .error(401, "unauthorized");
    // Stale (−6 min) and future (+6 min), correctly signed.
    server
        .post_at(PARTNER, &body, SECRET, now - 6 * 60)
        .error(401, "unauthorized");
    server
        .post_at(PARTNER, &body, SECRET, now + 6 * 60)
        .error(401, "unauthorized");
    // Another partner's secret.
    server.post(&body, OTHER_SECRET).error(401, "unauthorized");
    // An unknown partner (no secret at all), whose own snapshot this is.
    let unknown = "7a3c0000-0000-4000-8000-0000000000ff";
    let theirs = with(&body, |v| v["partnerId"] = unknown.into());
    server
        .post_at(unknown, &theirs, SECRET, now)
        .error(401, "unauthorized");
    assert_eq!(server.archive_files(), 0);
    // And the good one still works.
    assert_eq!(server.post(&body, SECRET).status, 202);
}

#[test]
fn another_partners_snapshot_is_403() {
    let server = Server::start();
    let body = with(&example_snapshot(0), |v| v["partnerId"] = OTHER.into());
    let details = server.post(&body, SECRET).error(403, "partner_mismatch");
    assert_eq!(details[0]["path"], "$.partnerId");
    assert_eq!(server.archive_files(), 0);
}

#[test]
fn reused_snapshot_id_is_409() {
    let server = Server::start();
    let first = example_snapshot(0);
    assert_eq!(server.post(&first, SECRET).status, 202);
    let other = with(&first, |v| v["source"] = "another tool".into());
    let details = server.post(&other, SECRET).error(409, "snapshot_conflict");
    assert_eq!(details[0]["path"], "$.snapshotId");
    assert_eq!(
        server.archived(CUSTOMER, "20260901T000500Z", SNAPSHOT_ID),
        Some(first)
    );
    assert_eq!(server.archive_files(), 1);
}

#[test]
fn over_5_mib_is_413() {
    let server = Server::start();
    let mut body = example_snapshot(0);
    body.resize(MAX_BODY + 1, b' ');
    server.post(&body, SECRET).error(413, "payload_too_large");
    // Exactly 5 MiB (the same JSON, padded) is fine.
    body.truncate(MAX_BODY);
    assert_eq!(server.post(&body, SECRET).status, 202);
}

#[test]
fn not_json_is_415() {
    let server = Server::start();
    let body = example_snapshot(0);
    let ts = unix_now();
    let signed = |ct: &str| -> Vec<(&'static str, String)> {
        vec![
            ("Content-Type", ct.to_string()),
            ("webhook-id", "msg_1".into()),
            ("webhook-timestamp", ts.to_string()),
            (
                "webhook-signature",
                sign(SECRET, "msg_1", ts, &body).unwrap(),
            ),
        ]
    };
    let path = format!("/v1/partners/{PARTNER}/access-snapshots");
    for ct in ["text/plain", "application/xml", "multipart/form-data"] {
        server
            .request("POST", &path, &signed(ct), &body)
            .error(415, "unsupported_media_type");
    }
    let mut no_ct = signed("x");
    no_ct.remove(0);
    server
        .request("POST", &path, &no_ct, &body)
        .error(415, "unsupported_media_type");
    // The charset parameter is allowed.
    let r = server.request(
        "POST",
        &path,
        &signed("application/json; charset=utf-8"),
        &body,
    );
    assert_eq!(r.status, 202);
}

#[test]
fn unknown_path_is_404_and_wrong_method_405() {
    let server = Server::start();
    for target in [
        "/",
        "/v1/partners",
        &format!("/v1/partners/{PARTNER}"),
        &format!("/v1/partners/{PARTNER}/snapshots"),
        &format!("/v1/partners/{PARTNER}/statements"),
    ] {
        server
            .request("GET", target, &[], b"")
            .error(404, "not_found");
    }
    let r = server.request(
        "GET",
        &format!("/v1/partners/{PARTNER}/access-snapshots"),
        &[],
        b"",
    );
    r.error(405, "method_not_allowed");
    assert_eq!(r.header("allow"), Some("POST"));
    let r = server.request(
        "DELETE",
        &format!("/v1/partners/{PARTNER}/statements/2026-09"),
        &[],
        b"",
    );
    r.error(405, "method_not_allowed");
    assert_eq!(r.header("allow"), Some("GET"));
}

#[test]
fn rotation_two_secrets_verify_and_a_revoked_one_does_not() {
    let server = Server::start();
    let data = server.data();
    set_secret(&data, PARTNER, SECRET2, false);
    let s0 = example_snapshot(0);
    let s1 = example_snapshot(1);
    assert_eq!(server.post(&s0, SECRET).status, 202);
    assert_eq!(server.post(&s1, SECRET2).status, 202);
    set_secret(&data, PARTNER, SECRET, true);
    server
        .post(&example_snapshot(2), SECRET)
        .error(401, "unauthorized");
    assert_eq!(server.post(&example_snapshot(2), SECRET2).status, 202);
    assert_eq!(server.archive_files(), 3);
}

#[test]
fn statements_match_pec_statement_and_are_private() {
    let server = Server::start();
    let data = server.data();
    let usage = examples().join("daily-rated-usage.csv");
    let out = pec(
        &data,
        &[
            "usage",
            "upload",
            usage.to_str().unwrap(),
            "--partner",
            PARTNER,
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    for i in 0..5 {
        assert_eq!(server.post(&example_snapshot(i), SECRET).status, 202);
    }
    let out = pec(&data, &SETTLE_SEPTEMBER_1_2);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let as_of = "2026-09-04T00:00:00Z";
    let r = server.statement(PARTNER, "2026-09", &format!("asOf={as_of}"), SECRET);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let cli = pec(
        &data,
        &[
            "statement",
            "--partner",
            PARTNER,
            "--month",
            "2026-09",
            "--as-of",
            as_of,
        ],
    );
    assert_eq!(cli.status.code(), Some(0));
    assert_eq!(r.body, cli.stdout, "the same bytes as pec statement");
    assert_eq!(
        r.json()["currencies"][0]["totals"]["earnedCredit"],
        "9.33696"
    );

    let r = server.statement(
        &PARTNER.to_uppercase(),
        "2026-09",
        &format!("format=csv&asOf={as_of}"),
        SECRET,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    let cli = pec(
        &data,
        &[
            "statement",
            "--partner",
            PARTNER,
            "--month",
            "2026-09",
            "--as-of",
            as_of,
            "--format",
            "csv",
        ],
    );
    assert_eq!(r.body, cli.stdout);

    // Another partner's secret cannot read it; nor can a missing signature.
    server
        .statement(PARTNER, "2026-09", "", OTHER_SECRET)
        .error(401, "unauthorized");
    server
        .request(
            "GET",
            &format!("/v1/partners/{PARTNER}/statements/2026-09"),
            &[],
            b"",
        )
        .error(401, "unauthorized");
    // Bad parameters are 400, once authenticated.
    for (month, query) in [
        ("2026-13", ""),
        ("2026-09", "format=xml"),
        ("2026-09", "asOf=tomorrow"),
    ] {
        server
            .statement(PARTNER, month, query, SECRET)
            .error(400, "invalid_request");
    }
}

#[test]
fn requests_that_are_not_well_formed_http_get_answers_and_the_server_stays_up() {
    let server = Server::start();
    let status = |raw: &[u8]| Response::parse(raw).status;
    // A huge declared Content-Length: 413 before any of the body is read (nothing buffered).
    let mut lie = format!(
        "POST /v1/partners/{PARTNER}/access-snapshots HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 1000000000000\r\n\r\n"
    )
    .into_bytes();
    lie.extend_from_slice(&[b'a'; 2000]);
    assert_eq!(status(&server.raw(&lie)), 413);
    // A body shorter than its Content-Length, then the client half-closes: 400.
    let mut short = format!(
        "POST /v1/partners/{PARTNER}/access-snapshots HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n"
    )
    .into_bytes();
    short.extend_from_slice(&[b'a'; 2000]);
    assert_eq!(status(&server.raw(&short)), 400);
    assert_eq!(status(&server.raw(b"GARBAGE\r\n\r\n")), 400);
    assert_eq!(status(&server.raw(b"\xff\xfe / HTTP/1.1\r\n\r\n")), 400);
    let many = format!("GET / HTTP/1.1\r\n{}\r\n", "X-A: b\r\n".repeat(200));
    assert_eq!(status(&server.raw(many.as_bytes())), 431);
    // A NUL in a header value is not HTTP: 400.
    let nul = format!(
        "GET /v1/partners/{PARTNER}/statements/2026-09 HTTP/1.1\r\nwebhook-id: \u{0}x\r\n\r\n"
    );
    assert_eq!(status(&server.raw(nul.as_bytes())), 400);
    // Invalid UTF-8 in the webhook headers: simply not a valid signature.
    let bad_headers = format!("GET /v1/partners/{PARTNER}/statements/2026-09 HTTP/1.1\r\n");
    let mut bytes = bad_headers.into_bytes();
    bytes.extend_from_slice(b"webhook-id: \xfex\r\n");
    bytes.extend_from_slice(b"webhook-timestamp: \xff\xff\r\nwebhook-signature: v1,\xfe\r\n\r\n");
    assert_eq!(status(&server.raw(&bytes)), 401);
    // A chunked body is read too.
    let body = example_snapshot(0);
    let ts = unix_now();
    let mut chunked = format!(
        "POST /v1/partners/{PARTNER}/access-snapshots HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nwebhook-id: m\r\nwebhook-timestamp: {ts}\r\nwebhook-signature: {}\r\n\r\n",
        sign(SECRET, "m", ts, &body).unwrap()
    )
    .into_bytes();
    for part in body.chunks(500) {
        chunked.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        chunked.extend_from_slice(part);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(status(&server.raw(&chunked)), 202);
    // Still serving.
    assert_eq!(server.post(&body, SECRET).status, 200);
}

/// 200 connections that send part of a request line and never finish their headers do not hold
/// up a signed snapshot post (they cost the server a task each): it is answered well within the
/// 10 s header timeout that a server serving them in turn would wait out (5 s allows for a
/// loaded CI machine and a debug build; it takes about 0.1-1 s), and they are closed after that
/// timeout.
#[test]
fn connections_that_never_finish_their_headers_delay_no_one() {
    let server = Server::start();
    let mut idle = Vec::new();
    for _ in 0..200 {
        let mut s = TcpStream::connect(&server.addr).expect("connect");
        s.write_all(b"POST /v1/partners/")
            .expect("partial request line");
        idle.push(s);
    }
    let body = example_snapshot(0);
    let started = std::time::Instant::now();
    let response = server.post(&body, SECRET);
    let took = started.elapsed();
    assert_eq!(
        response.status,
        202,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    assert!(took < Duration::from_secs(5), "the post took {took:?}");
    // The idle ones are answered 408 and closed once the header timeout passes.
    let mut first = idle.remove(0);
    first
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut answer = Vec::new();
    let _ = first.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
}

/// SIGTERM: the server stops accepting, finishes what is in flight and exits 0.
#[cfg(unix)]
#[test]
fn sigterm_stops_the_server_cleanly() {
    let mut server = Server::start();
    assert_eq!(server.post(&example_snapshot(0), SECRET).status, 202);
    let pid = server.child.id();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still running 15 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        server.log().contains("pec serve: stopped"),
        "{}",
        server.log()
    );
    assert!(TcpStream::connect(&server.addr).is_err(), "still accepting");
}
