//! What the `pec serve` tests share: a running server on its own data directory, a minimal
//! HTTP/1.1 client, signed requests, and counts of what the data directory holds.
#![allow(dead_code)] // each test binary uses a different part

use pec_ledger::webhook_secret::sign;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const PARTNER: &str = "7a3c0000-0000-4000-8000-000000000001";
pub const OTHER: &str = "7a3c0000-0000-4000-8000-000000000002";
pub const CUSTOMER: &str = "bdd640fb-0667-4ad1-9c80-317fa3b1799d";
pub const SNAPSHOT_ID: &str = "bd9c66b3-ad3c-4d6d-9a3d-1fa7bc8960a9";
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
pub const SECRET2: &str = "whsec_c2Vjb25kIHNlY3JldCBvZiAzMiBieXRlcyEhISE=";
pub const OTHER_SECRET: &str = "whsec_b3RoZXIgcGFydG5lcidzIHNlY3JldCEhISEhISE=";
pub const MAX_BODY: usize = 5 * 1024 * 1024;
/// `pec settle` of September 1–2, 2026, run on the 3rd at 02:00 UTC (the examples' days).
pub const SETTLE_SEPTEMBER_1_2: [&str; 7] = [
    "settle",
    "--from",
    "2026-09-01",
    "--through",
    "2026-09-02",
    "--now",
    "2026-09-03T02:00:00Z",
];

// Not every test binary uses both.
#[allow(unused_imports)]
pub use pec_testkit::{example_snapshot, examples};

/// `pec --data-dir DATA ARGS…`, stdin closed, its output collected.
/// `pec settle` of September 1–2, 2026 (the examples' days) with the run's clock at `now`.
pub fn settle_september_1_2_at(data: &Path, now: &str) -> Output {
    let mut args = SETTLE_SEPTEMBER_1_2;
    args[6] = now;
    pec(data, &args)
}

/// `pec usage upload FILE --partner PARTNER` on `data`.
pub fn upload_usage(data: &Path, file: &Path) -> Output {
    pec(
        data,
        &[
            "usage",
            "upload",
            &file.to_string_lossy(),
            "--partner",
            PARTNER,
        ],
    )
}

pub fn pec(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pec"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run pec")
}

/// A command's stdout as JSON; the test fails showing both streams when it is not.
pub fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The exit code (-1 when killed by a signal).
pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

pub fn set_secret(data: &Path, partner: &str, secret: &str, revoke: bool) {
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

pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A running `pec serve` on its own data directory; killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: String,
    pub dir: tempfile::TempDir,
    pub log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts a server whose data directory has `SECRET` for `PARTNER` and `OTHER_SECRET` for
    /// `OTHER`.
    pub fn start() -> Server {
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

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Sends raw bytes, half-closes, and returns everything the server answered. The bytes
    /// are written from another thread while the answer is read: a server that answers a
    /// too-large body early stops reading it and may reset the connection after answering.
    pub fn raw(&self, bytes: &[u8]) -> Vec<u8> {
        let mut s = TcpStream::connect(&self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut w = s.try_clone().expect("clone the socket");
        let bytes = bytes.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = w.write_all(&bytes);
            let _ = w.shutdown(Shutdown::Write);
        });
        let mut out = Vec::new();
        if let Err(e) = s.read_to_end(&mut out) {
            assert!(!out.is_empty(), "no response: {e}");
        }
        let _ = writer.join();
        out
    }

    /// One HTTP/1.1 request; returns (status, headers, body).
    pub fn request(
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
    pub fn post_at(
        &self,
        path_partner: &str,
        body: &[u8],
        secret: &str,
        timestamp: i64,
    ) -> Response {
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

    pub fn post(&self, body: &[u8], secret: &str) -> Response {
        self.post_at(PARTNER, body, secret, unix_now())
    }

    /// A signed GET of a statement (signature over an empty body).
    pub fn statement(&self, partner: &str, month: &str, query: &str, secret: &str) -> Response {
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

    pub fn archived(&self, customer: &str, stamp: &str, id: &str) -> Option<Vec<u8>> {
        let path = self.data().join(format!(
            "objects/snapshots/{PARTNER}/{customer}/{stamp}-{id}.json"
        ));
        std::fs::read(path).ok()
    }

    pub fn archive_files(&self) -> usize {
        files_under(&self.data().join("objects"))
    }

    /// What the server's data directory holds.
    pub fn holdings(&self) -> Holdings {
        holdings(&self.data())
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn parse(raw: &[u8]) -> Response {
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

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Asserts an error response of that status and code; returns its `details`.
    pub fn error(&self, status: u16, code: &str) -> Vec<Value> {
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

pub fn with(body: &[u8], edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(body).unwrap();
    edit(&mut v);
    serde_json::to_vec_pretty(&v).unwrap()
}

/// How many files are under `dir` (0 when it does not exist).
pub fn files_under(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .map(|e| {
                let p = e.path();
                if p.is_dir() {
                    files_under(&p)
                } else {
                    1
                }
            })
            .sum()
    })
}

/// What a data directory holds, counted: equal before and after an input that must store
/// nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holdings {
    pub archive_files: usize,
    pub snapshots: i64,
    pub uploads: i64,
    pub staged_usage_rows: i64,
    pub usage_keys: i64,
    pub ledger_entries: i64,
    /// Digest of every stored snapshot and current usage key (content, not only counts).
    pub digest: String,
}

/// Counts what `data` holds, reading `pec.db` read-only (a running server may hold it open).
pub fn holdings(data: &Path) -> Holdings {
    use rusqlite::{Connection, OpenFlags};
    let db = Connection::open_with_flags(data.join("pec.db"), OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open pec.db");
    let count = |table: &str| -> i64 {
        db.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .expect("count")
    };
    let digest: String = db
        .query_row(
            "SELECT coalesce(group_concat(x, '|'), '') FROM (\
               SELECT partner_id || ' ' || snapshot_id || ' ' || digest AS x FROM snapshots \
               UNION ALL SELECT partner_id || ' ' || subscription_id || ' ' || usage_date || ' ' || upload_id FROM usage_current \
               ORDER BY x)",
            [],
            |r| r.get(0),
        )
        .expect("digest");
    Holdings {
        archive_files: files_under(&data.join("objects")),
        snapshots: count("snapshots"),
        uploads: count("uploads"),
        staged_usage_rows: db
            .query_row(
                "SELECT coalesce(sum(resource_days), 0) FROM usage_blocks",
                [],
                |r| r.get(0),
            )
            .expect("count"),
        usage_keys: count("usage_current"),
        ledger_entries: count("entries"),
        digest,
    }
}

// ---------------------------------------------------------------------------------------------
// Usage files
// ---------------------------------------------------------------------------------------------

pub const SUB: &str = "23b8c1e9-3924-46de-beb1-3b9046685257";

/// The 16 required columns of SPEC 3.1 and three optional ones.
pub const USAGE_HEADER: [&str; 19] = [
    "PartnerId",
    "CustomerId",
    "CustomerName",
    "MpnId",
    "Tier2MpnId",
    "SubscriptionId",
    "UsageDate",
    "ResourceURI",
    "MeterId",
    "MeterName",
    "MeterCategory",
    "ProductName",
    "PublisherName",
    "ChargeType",
    "UnitPrice",
    "Quantity",
    "PricingCurrency",
    "PartnerEarnedCreditPercentage",
    "Tags",
];

/// One row's values: the defaults with `changes` applied (each value written as is, so quote
/// it yourself where CSV needs it).
pub fn usage_row(changes: &[(&str, &str)]) -> String {
    let resource =
        format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/app");
    let defaults = [
        PARTNER,
        CUSTOMER,
        "Contoso",
        "4100001",
        "",
        SUB,
        "2026-09-01",
        &resource,
        "m1",
        "P1v3 App",
        "Azure App Service",
        "Azure plan",
        "Microsoft",
        "new",
        "2",
        "10",
        "USD",
        "15",
        "",
    ];
    let mut values: Vec<String> = defaults.iter().map(|s| s.to_string()).collect();
    for (name, value) in changes {
        let i = USAGE_HEADER
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"));
        values[i] = value.to_string();
    }
    values.join(",")
}

/// A file of a header and `rows`, with `\n` line ends.
pub fn usage_file(rows: &[String]) -> Vec<u8> {
    let mut text = USAGE_HEADER.join(",");
    for r in rows {
        text.push('\n');
        text.push_str(r);
    }
    text.push('\n');
    text.into_bytes()
}
