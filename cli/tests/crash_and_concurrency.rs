//! A `pec settle` killed at any point leaves a ledger that `verify` accepts, and running it again
//! finishes the job with no duplicate entry; two settlements at once never write an entry twice.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{holdings, json, pec, usage_file, usage_row, PARTNER, SUB};

/// Small batches: the run commits many times, so kills land between commits.
const SETTLE: [&str; 9] = [
    "settle",
    "--batch-entries",
    "25",
    "--from",
    "2026-09-01",
    "--through",
    "2026-09-12",
    "--now",
    "2026-10-01T02:00:00Z",
];

/// How many rounds of kills each test makes.
const SETTLE_ROUNDS: u64 = 10;
const UPLOAD_ROUNDS: u64 = 8;
const POST_ROUNDS: u64 = 6;

/// The next value of a 64-bit linear congruential generator (Knuth's MMIX constants).
fn next(seed: u64) -> u64 {
    seed.wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407)
}

/// Generates a small data set and loads it into a fresh data directory.
fn loaded(root: &Path) -> (PathBuf, Vec<String>) {
    let inputs = root.join("inputs");
    let out = Command::new(env!("CARGO_BIN_EXE_pec"))
        .args(["generate", "--out"])
        .arg(&inputs)
        .args([
            "--seed",
            "7",
            "--partners",
            "2",
            "--customers",
            "3",
            "--days",
            "12",
            "--resources",
            "5",
        ])
        .output()
        .expect("generate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let set = json(&out);
    let data = root.join("data");
    let mut partners = Vec::new();
    for p in set["partners"].as_array().expect("partners") {
        let partner = p["partnerId"].as_str().expect("id").to_string();
        for f in p["usageFiles"].as_array().expect("files") {
            let out = pec(
                &data,
                &[
                    "usage",
                    "upload",
                    f.as_str().expect("path"),
                    "--partner",
                    &partner,
                ],
            );
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        for f in p["snapshotFiles"].as_array().expect("files") {
            let out = pec(
                &data,
                &[
                    "access",
                    "post",
                    f.as_str().expect("path"),
                    "--partner",
                    &partner,
                    "--now",
                    "2030-01-01T00:00:00Z",
                ],
            );
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        partners.push(partner);
    }
    (data, partners)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

fn statements(data: &Path, partners: &[String]) -> Vec<Value> {
    partners
        .iter()
        .map(|p| {
            json(&pec(
                data,
                &[
                    "statement",
                    "--partner",
                    p,
                    "--month",
                    "2026-09",
                    "--as-of",
                    "2026-12-01T00:00:00Z",
                ],
            ))
        })
        .collect()
}

fn verified_entries(data: &Path) -> u64 {
    let out = pec(data, &["verify"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "verify failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    json(&out)["entries"].as_u64().expect("count")
}

#[test]
fn killed_settlements_resume_to_the_clean_result() {
    let root = tempfile::tempdir().expect("tmp");
    let (data, partners) = loaded(root.path());
    let pristine = root.path().join("pristine");
    copy_dir(&data, &pristine);

    let started = Instant::now();
    let clean = pec(&data, &SETTLE);
    let clean_time = started.elapsed();
    assert!(clean.status.success());
    let clean_entries = verified_entries(&data);
    assert!(
        clean_entries > 200,
        "a data set worth killing: {clean_entries}"
    );
    let expected = statements(&data, &partners);

    // Each round kills the run once in its own slice of the clean run's duration (so the kill
    // points are spread from process start to the last commit) and, every other round, once
    // more anywhere; the ledger is checked after every kill.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut kills = 0;
    let mut cut_mid_run = 0;
    for round in 0..SETTLE_ROUNDS {
        let dir = root.path().join(format!("kill-{round}"));
        copy_dir(&pristine, &dir);
        for k in 0..=(round % 2) {
            seed = next(seed);
            let per_mille = if k == 0 {
                (round * 1000 + (seed >> 33) % 1000) / SETTLE_ROUNDS
            } else {
                (seed >> 33) % 1000
            };
            let at = clean_time.mul_f64(per_mille as f64 / 1000.0);
            let mut child = Command::new(env!("CARGO_BIN_EXE_pec"))
                .arg("--data-dir")
                .arg(&dir)
                .args(SETTLE)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn");
            std::thread::sleep(at);
            let _ = child.kill();
            let _ = child.wait();
            kills += 1;
            let partial = verified_entries(&dir);
            assert!(
                partial <= clean_entries,
                "never more entries than a clean run"
            );
            if partial > 0 && partial < clean_entries {
                cut_mid_run += 1;
            }
        }
        let rerun = pec(&dir, &SETTLE);
        assert!(rerun.status.success());
        assert_eq!(
            verified_entries(&dir),
            clean_entries,
            "round {round}: no duplicate, nothing missing"
        );
        assert_eq!(
            statements(&dir, &partners),
            expected,
            "round {round}: same figures as a clean run"
        );
        // And once more: nothing left to do.
        assert_eq!(json(&pec(&dir, &SETTLE))["entriesAppended"], 0);
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
    assert!(kills >= SETTLE_ROUNDS);
    assert!(
        cut_mid_run > 0,
        "at least one kill landed in the middle of writing the ledger"
    );
}

#[test]
fn concurrent_settlements_write_each_entry_once() {
    let root = tempfile::tempdir().expect("tmp");
    let (data, partners) = loaded(root.path());
    let reference = root.path().join("reference");
    copy_dir(&data, &reference);
    assert!(pec(&reference, &SETTLE).status.success());
    let clean_entries = verified_entries(&reference);

    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_pec"))
            .arg("--data-dir")
            .arg(&data)
            .args(SETTLE)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (
        a.wait_with_output().expect("a"),
        b.wait_with_output().expect("b"),
    );
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    let appended = json(&a)["entriesAppended"].as_u64().unwrap_or(0)
        + json(&b)["entriesAppended"].as_u64().unwrap_or(0);
    assert_eq!(
        appended, clean_entries,
        "between them the two runs appended each entry once"
    );
    assert_eq!(verified_entries(&data), clean_entries);
    assert_eq!(
        statements(&data, &partners),
        statements(&reference, &partners)
    );
}

/// The usage a settlement would read: every current (partner, subscription, date) key with the
/// aggregates staged for it, in order — equal for two stores that hold the same usage.
fn current_usage(data: &Path) -> Vec<String> {
    let db = rusqlite::Connection::open_with_flags(
        data.join("pec.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open");
    let mut stmt = db
        .prepare(
            "SELECT c.partner_id || ' ' || b.customer_id || ' ' || c.subscription_id || ' ' || c.usage_date \
             || ' ' || j.value AS row FROM usage_current c JOIN usage_blocks b ON b.upload_id = c.upload_id \
             AND b.subscription_id = c.subscription_id AND b.usage_date = c.usage_date, json_each(b.body) j \
             ORDER BY row",
        )
        .expect("prepare");
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .expect("query")
        .map(|r| r.expect("row"))
        .collect();
    rows
}

/// Spawns `pec` on `data` with `args` and kills it after `at`.
fn kill_after(data: &Path, args: &[&str], at: Duration) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pec"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    std::thread::sleep(at);
    let _ = child.kill();
    let _ = child.wait();
}

/// The kill point of `round` of `rounds`: in that round's slice of `clean`, at a pseudo-random
/// place inside it.
fn kill_point(round: u64, rounds: u64, seed: u64, clean: Duration) -> Duration {
    let per_mille = (round * 1000 + (seed >> 33) % 1000) / rounds;
    clean.mul_f64(per_mille as f64 / 1000.0)
}

#[test]
fn killed_uploads_and_snapshot_posts_leave_nothing_half_written() {
    let root = tempfile::tempdir().expect("tmp");
    // 12,000 rows of 12,000 resource-days over 3 days (usage is staged twice: at 8,192
    // resource-days and at the end).
    let rows: Vec<String> = (0..12_000)
        .map(|i| {
            let date = format!("2026-09-{:02}", 1 + i % 3);
            let resource = format!(
                "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/app-{i}"
            );
            usage_row(&[("UsageDate", &date), ("ResourceURI", &resource)])
        })
        .collect();
    let file = root.path().join("usage.csv");
    std::fs::write(&file, usage_file(&rows)).expect("write");
    let upload = [
        "usage",
        "upload",
        file.to_str().expect("path"),
        "--partner",
        PARTNER,
    ];
    // A snapshot of 5,000 assignments (about 1.7 MB).
    let assignments: Vec<Value> = (0..5_000)
        .map(|i| {
            serde_json::json!({
                "id": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments/{i:08}"),
                "scope": format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/app-{i}"),
                "roleDefinitionId": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
                "roleName": "Owner",
                "principalId": "878a0d66-d024-5b3d-b925-f58e6ac2ebe2",
                "principalType": "ForeignGroup",
                "accessType": "AOBO",
                "assignmentType": "permanent"
            })
        })
        .collect();
    let snapshot = serde_json::json!({
        "schemaVersion": 1,
        "snapshotId": "5ca1ab1e-0000-4000-8000-000000000001",
        "partnerId": PARTNER,
        "customerId": support::CUSTOMER,
        "takenAt": "2026-09-04T00:00:00Z",
        "source": "crash test",
        "assignments": assignments
    });
    let snapshot_file = root.path().join("snapshot.json");
    std::fs::write(&snapshot_file, serde_json::to_vec(&snapshot).expect("json")).expect("write");
    let post = [
        "access",
        "post",
        snapshot_file.to_str().expect("path"),
        "--partner",
        PARTNER,
        "--now",
        "2026-09-05T00:00:00Z",
    ];

    // The clean results, and how long each takes.
    let pristine = root.path().join("pristine");
    let out = pec(
        &pristine,
        &["partner", "set-secret", PARTNER, support::SECRET],
    );
    assert!(out.status.success());
    let empty = holdings(&pristine);
    let clean = root.path().join("clean");
    copy_dir(&pristine, &clean);
    let started = Instant::now();
    assert_eq!(json(&pec(&clean, &upload))["status"], "accepted");
    let upload_time = started.elapsed();
    let done = holdings(&clean);
    let clean_usage = current_usage(&clean);
    assert_eq!(clean_usage.len(), 12_000);
    assert_eq!((done.uploads, done.usage_keys, done.snapshots), (1, 3, 0));
    let clean = root.path().join("clean-post");
    copy_dir(&pristine, &clean);
    let started = Instant::now();
    assert_eq!(json(&pec(&clean, &post))["status"], "accepted");
    let post_time = started.elapsed();
    let posted = holdings(&clean);
    assert_eq!((posted.uploads, posted.snapshots), (0, 1));
    eprintln!("clean upload {upload_time:?}, clean post {post_time:?}");

    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut outcomes = [0u32; 2]; // [nothing kept, all kept]
    let mut orphaned = 0u64;
    for round in 0..UPLOAD_ROUNDS {
        let dir = root.path().join(format!("upload-{round}"));
        copy_dir(&pristine, &dir);
        seed = next(seed);
        // Spread over 110 % of the clean time: the last rounds may land after the commit.
        let at = kill_point(round, UPLOAD_ROUNDS, seed, upload_time.mul_f64(1.1));
        kill_after(&dir, &upload, at);
        // Either nothing of the file is visible or all of it: never some keys.
        let after = holdings(&dir);
        let kept = (after.uploads, after.usage_keys);
        assert!(kept == (0, 0) || kept == (1, 3), "round {round}: {after:?}");
        assert!(
            current_usage(&dir).is_empty() || current_usage(&dir) == clean_usage,
            "round {round}"
        );
        outcomes[usize::from(kept == (1, 3))] += 1;
        // Staged rows of a killed upload are never read (no current key points at them).
        if kept == (0, 0) {
            orphaned += (after.staged_usage_rows - empty.staged_usage_rows) as u64;
        }
        // Uploading again finishes the job: accepted, or a duplicate of the upload that made it.
        let receipt = json(&pec(&dir, &upload));
        let expected = if kept == (1, 3) {
            "duplicate"
        } else {
            "accepted"
        };
        assert_eq!(receipt["status"], expected, "round {round}: {receipt}");
        assert_eq!(current_usage(&dir), clean_usage, "round {round}");
        assert_eq!(holdings(&dir).usage_keys, 3);
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
    assert_eq!(outcomes.iter().sum::<u32>() as u64, UPLOAD_ROUNDS);
    eprintln!(
        "upload kills: {outcomes:?} (nothing kept, all kept); orphaned staged rows: {orphaned}"
    );

    for round in 0..POST_ROUNDS {
        let dir = root.path().join(format!("post-{round}"));
        copy_dir(&pristine, &dir);
        seed = next(seed);
        let at = kill_point(round, POST_ROUNDS, seed, post_time.mul_f64(1.1));
        kill_after(&dir, &post, at);
        let after = holdings(&dir);
        assert!(
            after.snapshots == 0 && after.digest == empty.digest
                || after.snapshots == 1 && after.digest == posted.digest,
            "round {round}: {after:?}"
        );
        let receipt = json(&pec(&dir, &post));
        let expected = if after.snapshots == 1 {
            "duplicate"
        } else {
            "accepted"
        };
        assert_eq!(receipt["status"], expected, "round {round}: {receipt}");
        assert_eq!(holdings(&dir).digest, posted.digest, "round {round}");
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
