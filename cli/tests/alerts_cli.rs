//! Access-lost alerts through `pec`: the worked example posted in order, the alert POSTed
//! once to a listener on 127.0.0.1, signed with the partner's secret; `pec alerts`; a 503 retried;
//! and a crash between storing a snapshot and sending its event, after which the event is sent
//! (once) by the next post.

mod support;

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use support::{code, examples, json, pec, set_secret, stderr};

const PARTNER: &str = "7a3c0000-0000-4000-8000-000000000001";
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// One request the listener received: its headers (lower-cased names) and body.
#[derive(Clone, Debug)]
struct Received {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A listener on 127.0.0.1 that records every request and answers with the next status of
/// `answers` (then 200).
struct Listener {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
    answers: Arc<Mutex<Vec<u16>>>,
}

impl Listener {
    fn start() -> Listener {
        let socket = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/pec-alerts", socket.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let answers: Arc<Mutex<Vec<u16>>> = Arc::new(Mutex::new(Vec::new()));
        let (r, a) = (Arc::clone(&received), Arc::clone(&answers));
        std::thread::spawn(move || {
            for stream in socket.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() || line.is_empty() {
                    continue;
                }
                let mut headers = Vec::new();
                loop {
                    let mut h = String::new();
                    reader.read_line(&mut h).unwrap();
                    let h = h.trim_end();
                    if h.is_empty() {
                        break;
                    }
                    let (k, v) = h.split_once(':').unwrap();
                    headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
                }
                let length: usize = headers
                    .iter()
                    .find(|(k, _)| k == "content-length")
                    .map(|(_, v)| v.parse().unwrap())
                    .unwrap_or(0);
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                r.lock().unwrap().push(Received { headers, body });
                let status = {
                    let mut a = a.lock().unwrap();
                    if a.is_empty() {
                        200
                    } else {
                        a.remove(0)
                    }
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
            }
        });
        Listener {
            url,
            received,
            answers,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

fn post_snapshot(data: &Path, file: &Path, now: &str, crash: bool) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_pec"));
    cmd.args(["--data-dir", data.to_str().unwrap()])
        .args(["access", "post", file.to_str().unwrap()])
        .args(["--partner", PARTNER, "--now", now]);
    if crash {
        cmd.env("PEC_TEST_CRASH_BEFORE_SENDING", "1");
    }
    cmd.output().unwrap()
}

/// `snapshot-4` under another id and time, without the subscription's AOBO Owner or with it.
fn variant(dir: &Path, name: &str, id: &str, taken_at: &str, owner: bool) -> std::path::PathBuf {
    let mut v: Value =
        serde_json::from_slice(&std::fs::read(examples().join("snapshot-4.json")).unwrap())
            .unwrap();
    v["snapshotId"] = id.into();
    v["takenAt"] = taken_at.into();
    if !owner {
        v["assignments"]
            .as_array_mut()
            .unwrap()
            .retain(|a| !a["id"].as_str().unwrap().ends_with("3f0c1d2e-aobo"));
    }
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
    path
}

fn verified(r: &Received, body_type: &str) -> Value {
    let ts: i64 = r.header("webhook-timestamp").parse().unwrap();
    assert!(
        pec_ledger::webhook_secret::verify(
            &[SECRET.to_string()],
            r.header("webhook-id"),
            ts,
            &r.body,
            r.header("webhook-signature"),
        ),
        "signed with the partner's secret: {:?}",
        r.headers
    );
    assert_eq!(r.header("content-type"), "application/json");
    let v = r.json();
    assert_eq!(v["type"], body_type);
    assert_eq!(v["eventId"], r.header("webhook-id"));
    v
}

#[test]
fn the_worked_example_alerts_once_signed_and_survives_a_crash_before_sending() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let listener = Listener::start();
    let out = pec(
        &data,
        &[
            "usage",
            "upload",
            examples().join("daily-rated-usage.csv").to_str().unwrap(),
            "--partner",
            PARTNER,
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    set_secret(&data, PARTNER, SECRET, false);
    let out = pec(&data, &["partner", "set-alert-url", PARTNER, &listener.url]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out)["alertUrl"], listener.url.as_str());

    for i in 0..5 {
        let out = post_snapshot(
            &data,
            &examples().join(format!("snapshot-{i}.json")),
            "2026-09-03T01:00:00Z",
            false,
        );
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
    assert!(
        listener.received().is_empty(),
        "snapshots 0-4 raise nothing"
    );

    // snapshot-5: the subscription's AOBO Owner is gone.
    let five = variant(
        dir.path(),
        "snapshot-5.json",
        "5a5a5a5a-0000-4000-8000-000000000005",
        "2026-09-03T06:05:00Z",
        false,
    );
    let out = post_snapshot(&data, &five, "2026-09-03T06:06:00Z", false);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("access-lost alert"),
        "{}",
        stderr(&out)
    );
    let got = listener.received();
    assert_eq!(got.len(), 1, "one alert, sent once");
    let lost = verified(&got[0], "access-lost");
    let alert = &lost["alert"];
    assert_eq!(alert["status"], "open");
    assert_eq!(alert["partnerId"], PARTNER);
    assert_eq!(alert["customerId"], "bdd640fb-0667-4ad1-9c80-317fa3b1799d");
    assert_eq!(alert["snapshotId"], "5a5a5a5a-0000-4000-8000-000000000005");
    assert_eq!(alert["takenAt"], "2026-09-03T06:05:00Z");
    assert_eq!(alert["creditAtStakePerDay"]["USD"], "4.66848");
    let resources: Vec<(String, String)> = alert["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["resourceId"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string(),
                r["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        resources,
        vec![
            ("orders".to_string(), "NOT_PERMANENT".to_string()),
            ("shop".to_string(), "NO_ACCESS".to_string())
        ]
    );

    // The same snapshot again: a duplicate raises nothing and sends nothing.
    let out = post_snapshot(&data, &five, "2026-09-03T06:10:00Z", false);
    assert_eq!(code(&out), 0);
    assert_eq!(json(&out)["status"], "duplicate");
    assert_eq!(listener.received().len(), 1);

    let out = pec(&data, &["alerts", "--partner", PARTNER, "--open"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let listed = json(&out);
    assert_eq!(listed["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(listed["alerts"][0], *alert);
    let out = pec(&data, &["alerts", "--partner", PARTNER, "--format", "text"]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.contains("OPEN"), "{text}");
    assert!(
        text.contains("credit at stake per day: 4.66848 USD"),
        "{text}"
    );
    assert!(
        text.contains("NOT_PERMANENT") && text.contains("NO_ACCESS"),
        "{text}"
    );

    // snapshot-6 covers them again, and pec dies before sending: the restoration is stored
    // (pec alerts shows it), nothing was sent.
    let six = variant(
        dir.path(),
        "snapshot-6.json",
        "6a6a6a6a-0000-4000-8000-000000000006",
        "2026-09-04T09:00:00Z",
        true,
    );
    let out = post_snapshot(&data, &six, "2026-09-04T09:01:00Z", true);
    assert_eq!(out.status.code(), Some(137), "{}", stderr(&out));
    assert_eq!(listener.received().len(), 1);
    let out = pec(&data, &["alerts", "--partner", PARTNER]);
    assert_eq!(json(&out)["alerts"][0]["status"], "restored");
    let out = pec(&data, &["alerts", "--partner", PARTNER, "--open"]);
    assert!(json(&out)["alerts"].as_array().unwrap().is_empty());

    // The next post (the same snapshot, a duplicate) sends the waiting event; the listener
    // first answers 503, and the retry gets it through under the same webhook-id.
    listener.answers.lock().unwrap().push(503);
    let out = post_snapshot(&data, &six, "2026-09-04T09:05:00Z", false);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out)["status"], "duplicate");
    let got = listener.received();
    assert_eq!(got.len(), 3, "the 503, then the retry");
    assert_eq!(got[1].header("webhook-id"), got[2].header("webhook-id"));
    let restored = verified(&got[2], "access-restored");
    assert_eq!(restored["alert"]["alertId"], alert["alertId"]);
    assert_eq!(restored["alert"]["status"], "restored");
    assert_eq!(restored["alert"]["restoredAt"], "2026-09-04T09:00:00Z");
    assert_eq!(
        restored["alert"]["restoredBySnapshotId"],
        "6a6a6a6a-0000-4000-8000-000000000006"
    );

    // Nothing left to send: another pass sends nothing.
    let out = pec(&data, &["alerts", "--partner", PARTNER, "--send"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("sent 0 alert event(s); 0 waiting"),
        "{}",
        stderr(&out)
    );
    assert_eq!(listener.received().len(), 3);
}

#[test]
fn careless_alert_settings_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for (args, needle) in [
        (
            vec!["partner", "set-alert-url", PARTNER, "http://example.com/x"],
            "http:// is allowed only to this machine",
        ),
        (
            vec![
                "partner",
                "set-alert-url",
                "not-a-guid",
                "https://example.com/x",
            ],
            "not-a-guid",
        ),
        (vec!["alerts", "--partner", "xyz"], "xyz"),
    ] {
        let out = pec(&data, &args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
    // On AWS alerts go to the stack's SNS topic: said before anything is opened.
    let out = pec(
        &data,
        &[
            "--store",
            "aws",
            "partner",
            "set-alert-url",
            PARTNER,
            "https://hooks.example.com/pec",
        ],
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("SNS topic"), "{}", stderr(&out));
    // No ledger yet: pec alerts is a mistyped --data-dir, not an empty list.
    let out = pec(
        &dir.path().join("nowhere"),
        &["alerts", "--partner", PARTNER],
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(!dir.path().join("nowhere").exists());
    // An alert URL without a secret: a warning, the events wait.
    let out = pec(
        &data,
        &[
            "partner",
            "set-alert-url",
            PARTNER,
            "https://hooks.example.com/pec",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no webhook secret"),
        "{}",
        stderr(&out)
    );
    let out = pec(&data, &["partner", "set-alert-url", PARTNER, "--clear"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out)["alertUrl"], Value::Null);
    let out = pec(&data, &["alerts", "--partner", PARTNER, "--send"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("no alert URL"), "{}", stderr(&out));
}
