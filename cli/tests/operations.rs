//! Operations: `pec --log-format json` writes one JSON object per stderr line carrying the ids
//! that stdout's receipts and the ledger carry; the default text format keeps normal runs as
//! quiet as before; progress bars appear on a terminal (run under a pseudo-terminal with
//! `script` from util-linux) and never when stderr is piped.
//!
//! Inputs: the SPEC's examples (`fixtures/examples`), whose figures
//! `cli_end_to_end.rs` works out by hand: 8 usage rows, 5 snapshots of one customer, and a
//! settlement of 2026-09-01..02 that appends 8 entries earning 9.33696 USD and losing nothing.

mod support;

use serde_json::Value;
use sha2::Digest;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::{examples, SETTLE_SEPTEMBER_1_2};

const PARTNER: &str = "7a3c0000-0000-4000-8000-000000000001";
const CUSTOMER: &str = "bdd640fb-0667-4ad1-9c80-317fa3b1799d";
const SNAPSHOT_0: &str = "bd9c66b3-ad3c-4d6d-9a3d-1fa7bc8960a9";
const SHOP: &str = "/subscriptions/23b8c1e9-3924-46de-beb1-3b9046685257/resourceGroups/rg-web/providers/Microsoft.Web/sites/shop";

fn usage_file() -> PathBuf {
    examples().join("daily-rated-usage.csv")
}

/// `pec --data-dir DATA ARGS…` with the log environment cleared, plus `env`.
fn pec_env(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pec"));
    for v in ["PEC_LOG", "RUST_LOG", "PEC_LOG_FORMAT"] {
        cmd.env_remove(v);
    }
    cmd.envs(env.iter().copied())
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .expect("run pec")
}

fn pec_json_logs(data: &Path, args: &[&str]) -> (Output, Value, Vec<Value>) {
    let mut all = vec!["--log-format", "json"];
    all.extend_from_slice(args);
    let out = pec_env(data, &all, &[]);
    let stdout: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    let logs = log_lines(&out.stderr);
    (out, stdout, logs)
}

/// Every stderr line, each of which must be a JSON object with a timestamp, level and message.
fn log_lines(stderr: &[u8]) -> Vec<Value> {
    let text = String::from_utf8(stderr.to_vec()).expect("stderr is UTF-8");
    text.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("stderr line is not JSON ({e}): {l}"));
            for k in ["timestamp", "level", "message", "target"] {
                assert!(v[k].is_string(), "{k} missing in {l}");
            }
            v
        })
        .collect()
}

fn one<'a>(logs: &'a [Value], message: &str) -> &'a Value {
    let found: Vec<&Value> = logs.iter().filter(|l| l["message"] == message).collect();
    assert_eq!(found.len(), 1, "one {message:?} line in {logs:#?}");
    found[0]
}

fn upload(data: &Path, file: &Path) -> (Output, Value, Vec<Value>) {
    pec_json_logs(
        data,
        &[
            "usage",
            "upload",
            file.to_str().expect("path"),
            "--partner",
            PARTNER,
        ],
    )
}

fn post(data: &Path, i: usize) -> (Output, Value, Vec<Value>) {
    let f = examples().join(format!("snapshot-{i}.json"));
    pec_json_logs(
        data,
        &[
            "access",
            "post",
            f.to_str().expect("path"),
            "--partner",
            PARTNER,
            "--now",
            "2026-09-03T01:00:00Z",
        ],
    )
}

fn settle(data: &Path) -> (Output, Value, Vec<Value>) {
    pec_json_logs(data, &SETTLE_SEPTEMBER_1_2)
}

#[test]
fn json_logs_carry_the_upload_snapshot_and_run_ids() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();

    // Upload: the log line has the receipt's upload id and the file's SHA-256.
    let (out, receipt, logs) = upload(data, &usage_file());
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(receipt["status"], "accepted");
    let line = one(&logs, "usage upload accepted");
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["target"], "pec_ledger::ingest");
    assert_eq!(line["upload_id"], receipt["uploadId"]);
    assert_eq!(line["partner_id"], PARTNER);
    assert_eq!(line["file_name"], "daily-rated-usage.csv");
    assert_eq!(line["rows"], 8);
    assert_eq!(line["error_count"], 0);
    assert_eq!(line["status"], "accepted");
    let bytes = std::fs::read(usage_file()).expect("usage file");
    assert_eq!(line["sha256"], hex::encode(sha2::Sha256::digest(&bytes)));
    // The human message is a log event too (stderr stays JSON lines).
    let said = one(
        &logs,
        &format!(
            "accepted 8 row(s) of a daily rated usage file as upload {}",
            receipt["uploadId"].as_str().expect("id")
        ),
    );
    assert_eq!(said["target"], "pec");

    // The same file again: a duplicate, logged with the first upload's id.
    let (_, again, logs) = upload(data, &usage_file());
    assert_eq!(again["status"], "duplicate");
    let line = one(&logs, "usage upload duplicate");
    assert_eq!(line["upload_id"], receipt["uploadId"]);

    // Snapshots: the receipt's snapshot id and the snapshot's customer.
    let (_, snap, logs) = post(data, 0);
    assert_eq!(snap["snapshotId"], SNAPSHOT_0);
    let line = one(&logs, "access snapshot accepted");
    assert_eq!(line["snapshot_id"], SNAPSHOT_0);
    assert_eq!(line["customer_id"], CUSTOMER);
    assert_eq!(line["partner_id"], PARTNER);
    assert_eq!(line["status"], "accepted");
    assert_eq!(line["error_count"], 0);
    for i in 1..5 {
        let (_, r, _) = post(data, i);
        assert_eq!(r["status"], "accepted");
    }

    // Settlement: start, finish and credit lines carry the run id the entries carry.
    let (out, run, logs) = settle(data);
    assert_eq!(out.status.code(), Some(0));
    let run_id = run["runId"].as_str().expect("runId");
    let started = one(&logs, "settlement started");
    assert_eq!(started["run_id"], run_id);
    assert_eq!(started["from"], "2026-09-01");
    assert_eq!(started["through"], "2026-09-02");
    assert_eq!(started["customers"], 1);
    let finished = one(&logs, "settlement finished");
    assert_eq!(finished["run_id"], run_id);
    assert_eq!(finished["resource_days"], 8);
    assert_eq!(finished["entries_appended"], 8);
    assert_eq!(finished["settlements"], 8);
    assert_eq!(finished["adjustments"], 0);
    let credit = one(&logs, "settlement credit");
    assert_eq!(credit["run_id"], run_id);
    assert_eq!(credit["currency"], "USD");
    assert_eq!(credit["credit_earned"], "9.33696");
    assert_eq!(credit["credit_lost"], "0");
    assert_eq!(
        run["creditByCurrency"]["USD"]["earnedCreditDelta"],
        "9.33696"
    );
    let (_, explained, _) = pec_json_logs(
        data,
        &[
            "explain",
            "--partner",
            PARTNER,
            "--resource",
            SHOP,
            "--date",
            "2026-09-01",
        ],
    );
    assert_eq!(
        explained["resourceDays"][0]["entries"][0]["runId"], run_id,
        "the ledger entry was appended by the logged run"
    );

    // Verify.
    let (_, report, logs) = pec_json_logs(data, &["verify"]);
    assert_eq!(report["ok"], true);
    let line = one(&logs, "ledger verified");
    assert_eq!(line["entries"], 8);
    assert_eq!(line["resource_days"], 8);
    assert_eq!(line["break_count"], 0);
}

#[test]
fn a_rejected_upload_and_a_failure_are_logged_as_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    // The example file with the first data row's Quantity broken (column `Quantity`).
    let text = std::fs::read_to_string(usage_file()).expect("usage file");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let header: Vec<String> = lines[0]
        .trim_start_matches('\u{feff}')
        .split(',')
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let q = header
        .iter()
        .position(|h| h == "quantity")
        .expect("Quantity");
    let mut cells: Vec<String> = lines[1].split(',').map(str::to_string).collect();
    cells[q] = "lots".into();
    lines[1] = cells.join(",");
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, lines.join("\n") + "\n").expect("write");
    let (out, receipt, logs) = upload(&data.join("db"), &bad);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(receipt["status"], "rejected");
    let line = one(&logs, "usage upload rejected");
    assert_eq!(line["upload_id"], receipt["uploadId"]);
    assert_eq!(line["rows"], receipt["rows"]);
    assert_eq!(line["error_count"], 1);
    assert_eq!(line["status"], "rejected");

    // A failure (exit 2) is an ERROR line with the exit code.
    let out = pec_env(
        data,
        &[
            "--log-format",
            "json",
            "statement",
            "--partner",
            PARTNER,
            "--month",
            "2026-13",
        ],
        &[],
    );
    let logs = log_lines(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(logs[0]["level"], "ERROR");
    assert_eq!(logs[0]["exit_code"], 2);
}

#[test]
fn text_logs_keep_normal_runs_quiet_and_bad_filters_are_usage_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    let file = usage_file();
    let args = [
        "usage",
        "upload",
        file.to_str().expect("path"),
        "--partner",
        PARTNER,
    ];
    let out = pec_env(data, &args, &[]);
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "only the human line: {stderr}");
    assert!(stderr.starts_with("accepted 8 row(s)"), "{stderr}");

    // PEC_LOG=info in text: the event as a text line, still on stderr; stdout is the receipt.
    let out = pec_env(data, &args, &[("PEC_LOG", "info")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("INFO"), "{stderr}");
    assert!(stderr.contains("usage upload duplicate"), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "no colours when piped: {stderr}"
    );
    let receipt: Value = serde_json::from_slice(&out.stdout).expect("stdout is the receipt");
    assert_eq!(receipt["status"], "duplicate");

    // PEC_LOG_FORMAT selects JSON like the flag.
    let out = pec_env(data, &["verify"], &[("PEC_LOG_FORMAT", "json")]);
    let logs = log_lines(&out.stderr);
    assert_eq!(one(&logs, "ledger verified")["entries"], 0);

    // A filter that does not parse: usage error, nothing run.
    let out = pec_env(data, &args, &[("PEC_LOG", "pec_ledger=loud")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("pec: PEC_LOG/RUST_LOG: \"pec_ledger=loud\" is not a log filter"),
        "{stderr}"
    );
}

/// Runs `pec ARGS…` under a pseudo-terminal (`script -qec`); what the terminal received.
fn on_a_terminal(data: &Path, args: &[&str]) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut line = vec![
        quote(env!("CARGO_BIN_EXE_pec")),
        "--data-dir".into(),
        quote(data.to_str().expect("path")),
    ];
    line.extend(args.iter().map(|a| quote(a)));
    let out = Command::new("script")
        .args(["-qec", &line.join(" "), "/dev/null"])
        .env_remove("PEC_LOG")
        .env_remove("RUST_LOG")
        .env_remove("PEC_LOG_FORMAT")
        .env("TERM", "xterm")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("script (util-linux) runs; the progress test needs it");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn progress_bars_on_a_terminal_and_none_when_piped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    let file = usage_file();
    let upload = [
        "usage",
        "upload",
        file.to_str().expect("path"),
        "--partner",
        PARTNER,
    ];
    let settle = SETTLE_SEPTEMBER_1_2;

    let screen = on_a_terminal(data, &upload);
    assert!(
        screen.contains("daily-rated-usage.csv") && screen.contains("] 5.75 KiB/5.75 KiB"),
        "the upload's bar: {screen:?}"
    );
    assert!(
        screen.contains('\u{1b}'),
        "drawn with escape codes: {screen:?}"
    );
    assert!(screen.contains("\"status\": \"accepted\""), "{screen:?}");
    for i in 0..5 {
        let f = examples().join(format!("snapshot-{i}.json"));
        let out = pec_env(
            data,
            &[
                "access",
                "post",
                f.to_str().expect("path"),
                "--partner",
                PARTNER,
                "--now",
                "2026-09-03T01:00:00Z",
            ],
            &[],
        );
        assert_eq!(out.status.code(), Some(0));
    }
    let screen = on_a_terminal(data, &settle);
    assert!(
        screen.contains("settling"),
        "the settlement's bar: {screen:?}"
    );
    assert!(screen.contains("1/1 customers"), "{screen:?}");

    // Piped: no bar, no escape code; stdout is the JSON it always was.
    let piped = pec_env(data, &settle, &[]);
    assert_eq!(piped.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&piped.stderr);
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    assert!(!stderr.contains("settling"), "{stderr:?}");
    assert!(!stderr.contains("customers ["), "{stderr:?}");
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    let run: Value = serde_json::from_slice(&piped.stdout).expect("stdout JSON");
    assert_eq!(
        run["entriesAppended"], 0,
        "the second run finds nothing to do"
    );
    let piped = pec_env(data, &upload, &[]);
    let stderr = String::from_utf8_lossy(&piped.stderr);
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains("KiB"),
        "{stderr:?}"
    );
}
