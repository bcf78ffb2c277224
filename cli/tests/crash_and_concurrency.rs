//! A `pec settle` killed at any point leaves a ledger that `verify` accepts, and running it again
//! finishes the job with no duplicate entry; two settlements at once never write an entry twice.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn pec(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pec"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .expect("run pec")
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)))
}

const SETTLE: [&str; 7] = [
    "settle",
    "--from",
    "2026-09-01",
    "--through",
    "2026-09-12",
    "--now",
    "2026-10-01T02:00:00Z",
];

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

    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut kills = 0;
    let mut cut_mid_run = 0;
    for round in 0..6 {
        let dir = root.path().join(format!("kill-{round}"));
        copy_dir(&pristine, &dir);
        // Kill 1–3 times at random points of the run, checking the ledger after each kill.
        for _ in 0..=(round % 3) {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let at = Duration::from_micros((seed >> 33) % (clean_time.as_micros() as u64).max(1));
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
    }
    assert!(kills >= 6);
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
