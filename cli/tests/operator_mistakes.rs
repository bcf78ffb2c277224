//! Mistakes a careless operator makes, each refused with exit 2 and a message naming the flag,
//! with nothing created, written or lost: a mistyped data directory, a `--now` in 2099, a
//! statement written over the ledger.

mod support;

use std::path::Path;
use support::*;

/// `out` is a usage error (exit 2) whose message says `message`.
#[track_caller]
fn refused(out: &std::process::Output, message: &str) {
    assert_eq!(code(out), 2, "{}", stderr(out));
    assert!(stderr(out).contains(message), "{}", stderr(out));
}

/// The examples' usage file, uploaded into `data`.
fn upload_example_usage(data: &Path) {
    let csv = examples().join("daily-rated-usage.csv");
    let out = upload_usage(data, &csv);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

/// The examples' five snapshots, posted into `data`.
fn post_example_snapshots(data: &Path) {
    for i in 0..5 {
        let file = examples().join(format!("snapshot-{i}.json"));
        let out = pec(
            data,
            &[
                "access",
                "post",
                file.to_str().unwrap(),
                "--partner",
                PARTNER,
            ],
        );
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
}

/// A data directory holding the examples' ledger: the usage file, the five snapshots, settled.
fn ledger(data: &Path) {
    upload_example_usage(data);
    post_example_snapshots(data);
    let out = pec(data, &SETTLE_SEPTEMBER_1_2);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out)["entriesAppended"], 8);
}

#[test]
fn read_commands_refuse_a_data_directory_without_a_ledger_and_create_nothing() {
    let root = tempfile::tempdir().unwrap();
    let typo = root.path().join("pec-dta");
    let month = ["--partner", PARTNER, "--month", "2026-09"];
    let explain = [
        "--partner",
        PARTNER,
        "--resource",
        "/subscriptions/x",
        "--date",
        "2026-09-01",
    ];
    for args in [
        vec!["verify"],
        [&["statement"][..], &month[..]].concat(),
        [&["explain"][..], &explain[..]].concat(),
        vec!["resources", "--partner", PARTNER],
        // serve refuses before it listens (a port that would be taken otherwise).
        vec!["serve", "--listen", "127.0.0.1:0"],
    ] {
        let out = pec(&typo, &args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!(
                "--data-dir {}: no ledger there (no pec.db)",
                typo.display()
            )),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout");
        assert!(!typo.exists(), "{args:?} created {}", typo.display());
    }
    // An existing directory that holds no ledger: the same, and it stays empty.
    std::fs::create_dir(&typo).unwrap();
    let out = pec(&typo, &["verify"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_eq!(std::fs::read_dir(&typo).unwrap().count(), 0);
}

/// A run whose clock is behind the ledger's latest posting is refused before it writes: an
/// adjustment posted before the entry it adjusts would read as the past changing.
#[test]
fn a_now_before_the_latest_posting_is_refused_and_appends_nothing() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    upload_example_usage(&data);
    let settle = |now: &str| settle_september_1_2_at(&data, now);
    let out = settle("2026-10-01T02:00:00Z");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out)["entriesAppended"], 8);
    // New evidence arrives, but the clock given is a day behind the first run's.
    post_example_snapshots(&data);
    let out = settle("2026-09-30T02:00:00Z");
    refused(&out, "--now 2026-09-30T02:00:00Z: before the latest posting in this ledger (2026-10-01T02:00:00Z)");
    let out = pec(&data, &["verify"]);
    assert_eq!(
        json(&out)["entries"],
        8,
        "nothing appended by the refused run"
    );
    // The same instant as the latest posting, or later, is taken.
    let out = settle("2026-10-01T02:00:00Z");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(json(&out)["entriesAppended"].as_u64().unwrap() > 0);
    let out = pec(&data, &["verify"]);
    assert_eq!(
        (code(&out), json(&out)["ok"].clone()),
        (0, serde_json::json!(true))
    );
}

#[test]
fn a_now_in_the_future_is_refused_and_appends_nothing() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    upload_example_usage(&data);
    let out = pec(
        &data,
        &[
            "settle",
            "--through",
            "2026-09-30",
            "--now",
            "2099-01-01T00:00:00Z",
        ],
    );
    refused(
        &out,
        "--now 2099-01-01T00:00:00Z: more than 5 minutes ahead of this machine's clock",
    );
    let out = pec(&data, &["verify"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out)["entries"], 0, "nothing was posted in 2099");
    // A clock a minute ahead (drift between machines) is taken.
    let soon = (chrono::Utc::now() + chrono::Duration::minutes(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let out = pec(
        &data,
        &["settle", "--through", "2026-09-02", "--now", &soon],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn a_statement_is_never_written_into_the_data_directory() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    ledger(&data);
    let db = data.join("pec.db");
    let before = std::fs::read(&db).unwrap();
    let month = [
        "statement",
        "--partner",
        PARTNER,
        "--month",
        "2026-09",
        "--out",
    ];
    for target in [
        db.clone(),
        data.join("statement.csv"),
        data.clone(),
        root.path().join("data/../data/objects.csv"),
    ] {
        let out = pec(&data, &[&month[..], &[target.to_str().unwrap()]].concat());
        assert_eq!(code(&out), 2, "{}: {}", target.display(), stderr(&out));
        assert!(
            stderr(&out).contains("inside the data directory"),
            "{}: {}",
            target.display(),
            stderr(&out)
        );
    }
    assert_eq!(std::fs::read(&db).unwrap(), before, "pec.db is untouched");
    assert!(!data.join("statement.csv").exists());
    assert!(!data.join("objects.csv").exists());
    let out = pec(&data, &["verify"]);
    assert_eq!((code(&out), json(&out)["entries"].clone()), (0, 8.into()));

    // Elsewhere it is written whole, replacing an older file, with no temporary file left.
    let file = root.path().join("september.json");
    std::fs::write(&file, "old").unwrap();
    let out = pec(&data, &[&month[..], &[file.to_str().unwrap()]].concat());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(
        written["currencies"][0]["totals"]["earnedCredit"],
        "9.33696"
    );
    let names: Vec<String> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "data and september.json only: {names:?}");
}

#[test]
fn a_directory_given_as_a_file_is_a_usage_error_and_an_unknown_partner_is_warned_about() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    ledger(&data);
    let dir = root.path().to_str().unwrap();
    for args in [
        vec!["usage", "upload", dir, "--partner", PARTNER],
        vec!["access", "post", dir, "--partner", PARTNER],
    ] {
        let out = pec(&data, &args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("{dir} is a directory")),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    // A partner with no entries: the (empty) statement, with a warning naming the partner.
    let stranger = "7a3c0000-0000-4000-8000-00000000beef";
    let out = pec(
        &data,
        &["statement", "--partner", stranger, "--month", "2026-09"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out)["currencies"], serde_json::json!([]));
    assert!(
        stderr(&out).contains(&format!(
            "warning: the ledger has no entries of partner {stranger} for 2026-09"
        )),
        "{}",
        stderr(&out)
    );
    // The examples' partner gets no warning.
    let out = pec(
        &data,
        &["statement", "--partner", PARTNER, "--month", "2026-09"],
    );
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
}

/// The fingerprint of a secret as `pec` names it: the first 16 hex digits of its SHA-256.
fn fingerprint(secret: &str) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(secret.as_bytes())[..8])
}

#[test]
fn secrets_are_generated_shown_once_listed_by_fingerprint_and_revoked_by_it() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    // --generate: the text once, in the JSON; a 32-byte key.
    let out = pec(&data, &["partner", "set-secret", PARTNER, "--generate"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let made = json(&out);
    let secret = made["secret"].as_str().expect("the new secret").to_string();
    assert!(
        secret.starts_with("whsec_") && secret.len() == 6 + 44,
        "{secret}"
    );
    assert_eq!(made["fingerprint"], fingerprint(&secret));
    assert_eq!(made["activeSecrets"], 1);
    assert_eq!(made["secrets"][0]["fingerprint"], fingerprint(&secret));
    assert!(!stderr(&out).contains(&secret), "the text only on stdout");
    // From stdin (out of sight of `ps`): the second one.
    let second = "whsec_c2Vjb25kIHNlY3JldCBvZiAzMiBieXRlcyEhISE=";
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pec"))
        .args([
            "--data-dir",
            data.to_str().unwrap(),
            "partner",
            "set-secret",
            PARTNER,
            "-",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{second}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out)["activeSecrets"], 2);
    assert!(
        json(&out).get("secret").is_none(),
        "a given secret is not echoed"
    );
    // The listing names both by fingerprint, never by text.
    let out = pec(&data, &["partner", "secrets", PARTNER]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let listed = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(
        !listed.contains(&secret) && !listed.contains(second),
        "{listed}"
    );
    let prints: Vec<String> = json(&out)["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["fingerprint"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(prints, [fingerprint(&secret), fingerprint(second)]);
    // A third is refused, naming how to get out.
    let out = pec(&data, &["partner", "set-secret", PARTNER, "--generate"]);
    refused(&out, "two secrets are already active");
    // Revoked by fingerprint; an unknown fingerprint is a usage error.
    let print = fingerprint(&secret);
    let out = pec(
        &data,
        &["partner", "set-secret", PARTNER, &print, "--revoke"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out)["activeSecrets"], 1);
    assert_eq!(json(&out)["secrets"][0]["fingerprint"], fingerprint(second));
    let out = pec(
        &data,
        &["partner", "set-secret", PARTNER, &print, "--revoke"],
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    // Neither a secret nor --generate: clap's usage error.
    let out = pec(&data, &["partner", "set-secret", PARTNER]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
}

#[test]
fn dates_times_and_months_that_are_not_say_the_flag_and_the_form() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    ledger(&data);
    for (args, expected) in [
        (
            vec!["settle", "--through", "2026-02-30"],
            "invalid value '2026-02-30' for '--through <THROUGH>': not a date (expected YYYY-MM-DD, e.g. 2026-09-30)",
        ),
        (
            vec!["settle", "--through", "2026-9-3"],
            "invalid value '2026-9-3' for '--through <THROUGH>': not a date (expected YYYY-MM-DD",
        ),
        (
            vec!["settle", "--through", "2026-09-02", "--now", "2026-09-03 02:00"],
            "invalid value '2026-09-03 02:00' for '--now <NOW>': not a time (expected RFC 3339, e.g. 2026-09-03T02:00:00Z)",
        ),
        (
            vec!["statement", "--partner", PARTNER, "--month", "2026-13"],
            "--month 2026-13: not a month (expected YYYY-MM, e.g. 2026-09)",
        ),
        (
            vec!["explain", "--partner", PARTNER, "--resource", "/subscriptions/x", "--date", "09/01/2026"],
            "invalid value '09/01/2026' for '--date <DATE>': not a date (expected YYYY-MM-DD",
        ),
    ] {
        let out = pec(&data, &args);
        refused(&out, expected);
    }
    // Good values still parse (an offset is taken as UTC).
    let out = pec(
        &data,
        &[
            "settle",
            "--through",
            "2026-09-02",
            "--now",
            "2026-09-03T04:00:00+02:00",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        json(&out)["entriesAppended"],
        0,
        "nothing changed since the first run"
    );
}

/// One size limit for snapshots wherever they come in: `pec access post` takes exactly 5 MiB, as
/// the webhook does, and rejects one byte more (exit 3, naming the limit, nothing stored), from
/// a file or from stdin.
#[test]
fn access_post_has_the_webhooks_size_limit() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let mut at_limit = example_snapshot(0);
    at_limit.resize(MAX_BODY, b'\n');
    let file = root.path().join("snapshot.json");
    std::fs::write(&file, &at_limit).unwrap();
    let post = |file: &str| pec(&data, &["access", "post", file, "--partner", PARTNER]);
    let out = post(file.to_str().unwrap());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out)["status"], "accepted");

    let mut over = example_snapshot(1);
    over.resize(MAX_BODY + 1, b'\n');
    std::fs::write(&file, &over).unwrap();
    let out = post(file.to_str().unwrap());
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert_eq!(json(&out)["status"], "rejected");
    assert_eq!(
        json(&out)["errors"],
        serde_json::json!([{"path": "$", "message": "the snapshot is larger than 5242880 bytes (5 MiB), the most a snapshot may have wherever it is posted"}])
    );
    // From stdin the same (the reader stops one byte past the limit; the rest may not be read).
    let out = pec_with_stdin(&data, &["access", "post", "-", "--partner", PARTNER], &over);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert_eq!(
        holdings(&data).snapshots,
        1,
        "only the one at the limit is stored"
    );
}

/// `pec demo` honours `--data-dir` (its ledger goes there instead of under `--dir`), and never
/// writes over a data directory it did not make.
#[test]
fn demo_writes_its_ledger_where_data_dir_says_and_never_over_another() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("ledger");
    let dir = root.path().join("demo");
    let demo = |data: &Path, dir: &Path| pec(data, &["demo", "--dir", dir.to_str().unwrap()]);
    for _ in 0..2 {
        // Twice: the second run recreates what the first made.
        let out = demo(&data, &dir);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert!(data.join("pec.db").is_file());
        assert!(!dir.join("data").exists(), "the ledger is not under --dir");
        assert!(dir.join("statement.html").is_file());
        let out = pec(&data, &["verify"]);
        assert_eq!(json(&out)["ok"], true);
        assert!(json(&out)["entries"].as_u64().unwrap() > 1000);
    }

    // A real ledger is refused before anything is written.
    let real = root.path().join("real");
    ledger(&real);
    let other = root.path().join("demo-2");
    let out = demo(&real, &other);
    refused(&out, "--data-dir");
    refused(&out, "was not made by pec demo");
    assert!(!other.exists(), "nothing written");
    assert_eq!(json(&pec(&real, &["verify"]))["entries"], 8);
}

/// Runs `pec` on `data` with `args`, feeding `input` on stdin.
fn pec_with_stdin(data: &Path, args: &[&str], input: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pec"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(input);
    drop(stdin);
    child.wait_with_output().unwrap()
}

/// `pec usage upload -` reads the file from stdin, plain or gzip, and takes it exactly as the
/// same file given by name (the same upload: a duplicate of it); an export that needs
/// `--mpn-id` is told from its header on stdin too.
#[test]
fn usage_upload_reads_stdin_like_a_file() {
    let root = tempfile::tempdir().unwrap();
    let csv = examples().join("daily-rated-usage.csv");
    let bytes = std::fs::read(&csv).unwrap();
    for (name, input) in [
        ("plain", bytes.clone()),
        ("gzip", pec_testkit::gzip(&bytes)),
    ] {
        let data = root.path().join(name);
        let upload = &["usage", "upload", "-", "--partner", PARTNER];
        let out = pec_with_stdin(&data, upload, &input);
        assert_eq!(code(&out), 0, "{name}: {}", stderr(&out));
        assert_eq!(json(&out)["status"], "accepted");
        assert_eq!(json(&out)["rows"], 8);
        // The same bytes by name: the same file, already taken.
        let file = root.path().join(format!("{name}.csv"));
        std::fs::write(&file, &input).unwrap();
        let out = upload_usage(&data, &file);
        assert_eq!(json(&out)["status"], "duplicate", "{name}");
        let out = settle_september_1_2_at(&data, "2026-09-03T02:00:00Z");
        // No snapshots: every resource-day UNKNOWN, all its credit counted as lost.
        assert_eq!(json(&out)["resourceDays"], 8);
        assert_eq!(
            json(&out)["creditByCurrency"]["USD"]["lostCreditDelta"],
            "9.33696"
        );
    }
    // A FOCUS export on stdin without --mpn-id: refused by its header, as from a file.
    let focus = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/tests/fixtures/focus-1.2.csv");
    let out = pec_with_stdin(
        &root.path().join("focus"),
        &["usage", "upload", "-", "--partner", PARTNER],
        &std::fs::read(focus).unwrap(),
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("--mpn-id"), "{}", stderr(&out));
}

/// Inputs that are taken but hold nothing say so: a usage file with a header and no rows, and
/// a role-assignment listing with no assignments (a snapshot that records no access).
#[test]
fn empty_inputs_are_taken_with_a_warning_in_the_receipt() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let csv = std::fs::read_to_string(examples().join("daily-rated-usage.csv")).unwrap();
    let header_only = root.path().join("header-only.csv");
    std::fs::write(&header_only, format!("{}\r\n", csv.lines().next().unwrap())).unwrap();
    let out = upload_usage(&data, &header_only);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        (json(&out)["status"].clone(), json(&out)["rows"].clone()),
        (serde_json::json!("accepted"), serde_json::json!(0))
    );
    assert_eq!(
        json(&out)["warnings"],
        serde_json::json!([{
            "message": "the file has a header and no usage rows: it was taken, but it holds no usage and replaces none"
        }])
    );
    assert!(stderr(&out).contains("warning: "), "{}", stderr(&out));
    // A file with rows has no warnings field at all.
    let out = upload_usage(&data, &examples().join("daily-rated-usage.csv"));
    assert!(json(&out).get("warnings").is_none());

    let empty = root.path().join("assignments.json");
    std::fs::write(&empty, "[]").unwrap();
    let out = pec(
        &data,
        &[
            "access",
            "import",
            empty.to_str().unwrap(),
            "--partner",
            PARTNER,
            "--customer",
            "bdd640fb-0667-4ad1-9c80-317fa3b1799d",
            "--taken-at",
            "2026-09-02T06:00:00Z",
            "--format",
            "az",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out)["status"], "accepted");
    let warnings = json(&out)["warnings"].clone();
    assert_eq!(warnings.as_array().map(Vec::len), Some(1), "{warnings}");
    assert!(
        warnings[0]["message"].as_str().unwrap().contains(
            "lists no role assignments: the snapshot says the partner held no access to customer \
             bdd640fb-0667-4ad1-9c80-317fa3b1799d at 2026-09-02T06:00:00Z"
        ),
        "{warnings}"
    );
}

/// `pec resources` lists the ledger's resources with their credit, so that `pec explain` can be
/// fed without sqlite3; figures worked out from the examples (September 1 and 2, every snapshot:
/// the site earns 15 % of 6.912 a day, the database 15 % of 24.2112, the reserved VM and the
/// support line nothing).
#[test]
fn resources_lists_what_explain_can_be_asked_about() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    ledger(&data);
    let out = pec(
        &data,
        &["resources", "--partner", PARTNER, "--month", "2026-09"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let listed = json(&out);
    let rows: Vec<(String, u64, String, String)> = listed["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let id = r["resourceId"].as_str().unwrap();
            (
                id.rsplit('/').next().unwrap().to_string(),
                r["resourceDays"].as_u64().unwrap(),
                r["earnedCredit"].as_str().unwrap().to_string(),
                r["lostCredit"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let row = |name: &str, earned: &str| (name.to_string(), 2, earned.to_string(), "0".to_string());
    let mut expected = vec![
        row("shop", "2.0736"),
        row("orders", "7.26336"),
        row("batch", "0"),
        row("23b8c1e9-3924-46de-beb1-3b9046685257", "0"),
    ];
    let mut got = rows.clone();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);

    // Any listed resource can be explained.
    let shop = listed["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resourceId"].as_str().unwrap().ends_with("/sites/shop"))
        .unwrap()["resourceId"]
        .as_str()
        .unwrap()
        .to_string();
    let out = pec(
        &data,
        &[
            "explain",
            "--partner",
            PARTNER,
            "--resource",
            &shop,
            "--date",
            "2026-09-01",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out)["resourceDays"][0]["status"], "FULL");

    // Another month, or another customer: nothing, said on stderr.
    let out = pec(
        &data,
        &["resources", "--partner", PARTNER, "--month", "2026-10"],
    );
    assert_eq!(json(&out)["resources"], serde_json::json!([]));
    assert!(stderr(&out).contains("no resource"), "{}", stderr(&out));
    // A month that is not one names the flag.
    let out = pec(
        &data,
        &["resources", "--partner", PARTNER, "--month", "2026-13"],
    );
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("--month"), "{}", stderr(&out));
}

/// Ids are checked where they enter on the command line: tenant ids are GUIDs, MPN IDs digits;
/// a wrong one is exit 2 naming the flag and the form, before anything is opened or written.
#[test]
fn ids_on_the_command_line_are_validated_naming_the_flag() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let csv = examples().join("daily-rated-usage.csv");
    let csv = csv.to_str().unwrap();
    let snapshot = examples().join("snapshot-0.json");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["usage", "upload", csv, "--partner", "acme"],
            "--partner \"acme\": not a partner's tenant id (expected a GUID",
        ),
        (
            vec![
                "usage",
                "upload",
                csv,
                "--partner",
                PARTNER,
                "--mpn-id",
                "not an mpn",
            ],
            "--mpn-id \"not an mpn\": not an MPN ID (expected its digits",
        ),
        (
            vec!["partner", "set-secret", "acme", "--generate"],
            "--partner \"acme\": not a partner's tenant id",
        ),
        (
            vec![
                "access",
                "post",
                snapshot.to_str().unwrap(),
                "--partner",
                "7a3c0000",
            ],
            "--partner \"7a3c0000\": not a partner's tenant id",
        ),
        (
            vec![
                "access",
                "import",
                csv,
                "--partner",
                PARTNER,
                "--customer",
                "contoso",
                "--taken-at",
                "2026-09-02T06:00:00Z",
            ],
            "--customer \"contoso\": not a tenant id",
        ),
        (
            vec![
                "access",
                "import",
                csv,
                "--partner",
                PARTNER,
                "--customer",
                "bdd640fb-0667-4ad1-9c80-317fa3b1799d",
                "--taken-at",
                "2026-09-02T06:00:00Z",
                "--pal",
                "MPN-1",
            ],
            "--pal \"MPN-1\": not an MPN ID",
        ),
    ];
    for (args, message) in cases {
        let out = pec(&data, &args);
        refused(&out, message);
        assert!(!data.exists(), "{args:?}: nothing created");
    }
}

/// Everything under `dir` (names and bytes), to show nothing was written.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p.clone());
                out.push((p.display().to_string(), Vec::new()));
            } else {
                out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// Read commands on a data directory this user cannot write (an auditor's read-only copy): the
/// same answers as on a writable one, and nothing in the directory changes. Run as an
/// unprivileged user: `setpriv` to nobody when the tests run as root (root writes anywhere),
/// else with the directory made read-only.
#[test]
fn read_commands_work_on_a_read_only_data_directory() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    ledger(&data);
    let shop = "/subscriptions/23b8c1e9-3924-46de-beb1-3b9046685257/resourcegroups/rg-web/providers/microsoft.web/sites/shop";
    let commands: Vec<Vec<&str>> = vec![
        vec!["verify"],
        vec![
            "statement",
            "--partner",
            PARTNER,
            "--month",
            "2026-09",
            "--as-of",
            "2026-10-01T00:00:00Z",
            "--format",
            "json",
        ],
        vec!["resources", "--partner", PARTNER, "--month", "2026-09"],
        vec![
            "explain",
            "--partner",
            PARTNER,
            "--resource",
            shop,
            "--date",
            "2026-09-01",
        ],
    ];
    let writable: Vec<Vec<u8>> = commands
        .iter()
        .map(|args| {
            let out = pec(&data, args);
            assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
            out.stdout
        })
        .collect();
    // Readable by all, writable by no one but root.
    let mut all = vec![root.path().to_path_buf()];
    all.extend(tree(&data).into_iter().map(|(p, _)| p.into()));
    all.push(data.clone());
    for p in &all {
        let mode = if p.is_dir() { 0o555 } else { 0o444 };
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let before = tree(&data);
    let is_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    for (args, expected) in commands.iter().zip(&writable) {
        let mut cmd = if is_root {
            let mut c = std::process::Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(env!("CARGO_BIN_EXE_pec"));
            c
        } else {
            std::process::Command::new(env!("CARGO_BIN_EXE_pec"))
        };
        let out = cmd
            .arg("--data-dir")
            .arg(&data)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run pec as an unprivileged user");
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
        assert_eq!(&out.stdout, expected, "{args:?}");
        assert!(
            stderr(&out).contains("reading it read-only"),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(tree(&data), before, "nothing written");
    // Writable again, so the temporary directory can be removed.
    for p in &all {
        let mode = if p.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
}

/// `pec statement --customer C` and `--reseller MPN` (issue 16, part 3): the customer's
/// statement says whose it is; ids in the wrong form are exit 2 naming the flag; a reseller with
/// nothing is an empty statement with a warning.
#[test]
fn statements_of_one_customer_or_one_reseller() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    ledger(&data);
    let statement = |extra: &[&str]| {
        let mut args = vec![
            "statement",
            "--partner",
            PARTNER,
            "--month",
            "2026-09",
            "--as-of",
            "2026-10-01T00:00:00Z",
        ];
        args.extend_from_slice(extra);
        pec(&data, &args)
    };
    let whole = statement(&[]);
    assert_eq!(code(&whole), 0, "{}", stderr(&whole));
    let customer = "bdd640fb-0667-4ad1-9c80-317fa3b1799d";
    let out = statement(&["--customer", &customer.to_uppercase()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let theirs = json(&out);
    assert_eq!(
        theirs["scope"],
        serde_json::json!({ "customerId": customer, "customerName": "Customer bdd6" })
    );
    // The examples have one customer: the same figures.
    assert_eq!(theirs["currencies"], json(&whole)["currencies"]);
    for (flag, value) in [("--customer", "acme"), ("--reseller", "Contoso")] {
        let out = statement(&[flag, value]);
        assert_eq!(code(&out), 2, "{flag} {value}");
        assert!(stderr(&out).contains(flag), "{}", stderr(&out));
    }
    let out = statement(&["--reseller", "2000002"]);
    assert_eq!(code(&out), 0);
    assert_eq!(json(&out)["currencies"], serde_json::json!([]));
    assert!(
        stderr(&out).contains("reseller 2000002"),
        "{}",
        stderr(&out)
    );
}
