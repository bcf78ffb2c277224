//! `pec serve` over real HTTP: the binary is started on 127.0.0.1 (port 0: it prints the address
//! it bound on stderr), requests are signed with `pec_ledger::webhook_secret::sign` and sent with
//! a minimal HTTP/1.1 client on `std::net`. One test per status code of SPEC 6.2, secret
//! rotation through `pec partner set-secret`, the archive of accepted snapshots, statement reads,
//! and requests that are not well-formed HTTP.

use pec_ledger::webhook_secret::sign;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const PARTNER: &str = "7a3c0000-0000-4000-8000-000000000001";
const OTHER: &str = "7a3c0000-0000-4000-8000-000000000002";
const CUSTOMER: &str = "bdd640fb-0667-4ad1-9c80-317fa3b1799d";
const SNAPSHOT_ID: &str = "bd9c66b3-ad3c-4d6d-9a3d-1fa7bc8960a9";
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SECRET2: &str = "whsec_c2Vjb25kIHNlY3JldCBvZiAzMiBieXRlcyEhISE=";
const OTHER_SECRET: &str = "whsec_b3RoZXIgcGFydG5lcidzIHNlY3JldCEhISEhISE=";
const MAX_BODY: usize = 5 * 1024 * 1024;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/examples")
}

fn example_snapshot(i: usize) -> Vec<u8> {
    std::fs::read(examples().join(format!("snapshot-{i}.json"))).expect("example snapshot")
}

fn pec(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pec"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .expect("run pec")
}

fn set_secret(data: &Path, partner: &str, secret: &str, revoke: bool) {
    let mut args = vec!["partner", "set-secret", partner, secret];
    if revoke {
        args.push("--revoke");
    }
    let out = pec(data, &args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A running `pec serve` on its own data directory; killed when dropped.
struct Server {
    child: Child,
    addr: String,
    dir: tempfile::TempDir,
    log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts a server whose data directory has `SECRET` for `PARTNER` and `OTHER_SECRET` for
    /// `OTHER`.
    fn start() -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        set_secret(&data, PARTNER, SECRET, false);
        set_secret(&data, OTHER, OTHER_SECRET, false);
        let mut child = Command::new(env!("CARGO_BIN_EXE_pec"))
            .arg("--data-dir")
            .arg(&data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start pec serve");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let sink = Arc::clone(&log);
        // Keep reading stderr (one line per request) so the server never blocks on it.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or_default();
                    let _ = tx.send(addr.to_string());
                }
                sink.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                panic!("pec serve did not start: {}", log.lock().unwrap());
            }
        };
        Server {
            child,
            addr,
            dir,
            log,
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Sends raw bytes, half-closes, and returns everything the server answered.
    fn raw(&self, bytes: &[u8]) -> Vec<u8> {
        let mut s = TcpStream::connect(&self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        s.write_all(bytes).expect("send");
        let _ = s.shutdown(Shutdown::Write);
        let mut out = Vec::new();
        s.read_to_end(&mut out).expect("read the response");
        out
    }

    /// One HTTP/1.1 request; returns (status, headers, body).
    fn request(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Response {
        let mut head = format!(
            "{method} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (n, v) in headers {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        Response::parse(&self.raw(&bytes))
    }

    /// A signed POST of `body` to `path_partner`'s webhook, signed with `secret` at `timestamp`.
    fn post_at(&self, path_partner: &str, body: &[u8], secret: &str, timestamp: i64) -> Response {
        self.request(
            "POST",
            &format!("/v1/partners/{path_partner}/access-snapshots"),
            &[
                ("Content-Type", "application/json".into()),
                ("webhook-id", format!("msg_{timestamp}")),
                ("webhook-timestamp", timestamp.to_string()),
                (
                    "webhook-signature",
                    sign(secret, &format!("msg_{timestamp}"), timestamp, body).unwrap(),
                ),
            ],
            body,
        )
    }

    fn post(&self, body: &[u8], secret: &str) -> Response {
        self.post_at(PARTNER, body, secret, unix_now())
    }

    /// A signed GET of a statement (signature over an empty body).
    fn statement(&self, partner: &str, month: &str, query: &str, secret: &str) -> Response {
        let ts = unix_now();
        self.request(
            "GET",
            &format!("/v1/partners/{partner}/statements/{month}?{query}"),
            &[
                ("webhook-id", "msg_statement".into()),
                ("webhook-timestamp", ts.to_string()),
                (
                    "webhook-signature",
                    sign(secret, "msg_statement", ts, b"").unwrap(),
                ),
            ],
            b"",
        )
    }

    fn archived(&self, customer: &str, stamp: &str, id: &str) -> Option<Vec<u8>> {
        let path = self.data().join(format!(
            "objects/snapshots/{PARTNER}/{customer}/{stamp}-{id}.json"
        ));
        std::fs::read(path).ok()
    }

    fn archive_files(&self) -> usize {
        fn count(dir: &Path) -> usize {
            std::fs::read_dir(dir).map_or(0, |entries| {
                entries
                    .flatten()
                    .map(|e| {
                        let p = e.path();
                        if p.is_dir() {
                            count(&p)
                        } else {
                            1
                        }
                    })
                    .sum()
            })
        }
        count(&self.data().join("objects"))
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn parse(raw: &[u8]) -> Response {
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(raw)));
        let head = String::from_utf8_lossy(&raw[..split]).to_string();
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let body = raw[split + 4..].to_vec();
        let response = Response {
            status,
            headers,
            body,
        };
        let length: usize = response
            .header("content-length")
            .and_then(|l| l.parse().ok())
            .expect("content-length");
        assert_eq!(length, response.body.len(), "Content-Length matches");
        response
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Asserts an error response of that status and code; returns its `details`.
    fn error(&self, status: u16, code: &str) -> Vec<Value> {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.header("content-type"), Some("application/json"));
        let v = self.json();
        assert_eq!(v["error"]["code"], code, "{v}");
        assert!(v["error"]["message"].is_string(), "{v}");
        v["error"]["details"].as_array().cloned().expect("details")
    }
}

fn with(body: &[u8], edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(body).unwrap();
    edit(&mut v);
    serde_json::to_vec_pretty(&v).unwrap()
}

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
    let out = pec(
        &data,
        &[
            "settle",
            "--from",
            "2026-09-01",
            "--through",
            "2026-09-02",
            "--now",
            "2026-09-03T02:00:00Z",
        ],
    );
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
    // A body much shorter than its (huge) Content-Length, then the client half-closes.
    let mut lie = format!(
        "POST /v1/partners/{PARTNER}/access-snapshots HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 1000000000000\r\n\r\n"
    )
    .into_bytes();
    lie.extend_from_slice(&[b'a'; 2000]);
    assert_eq!(status(&server.raw(&lie)), 400);
    assert_eq!(status(&server.raw(b"GARBAGE\r\n\r\n")), 400);
    assert_eq!(status(&server.raw(b"\xff\xfe / HTTP/1.1\r\n\r\n")), 400);
    let many = format!("GET / HTTP/1.1\r\n{}\r\n", "X-A: b\r\n".repeat(200));
    assert_eq!(status(&server.raw(many.as_bytes())), 431);
    // Invalid UTF-8 in the webhook headers: simply not a valid signature.
    let bad_headers =
        format!("GET /v1/partners/{PARTNER}/statements/2026-09 HTTP/1.1\r\nwebhook-id: \u{0}x\r\n");
    let mut bytes = bad_headers.into_bytes();
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
