//! Tamper evidence on the embedded store (issue 4 item 8, SQLite): ledger entries changed,
//! deleted, reordered or forged behind the product's back — with `rusqlite`, dropping the
//! append-only triggers first — make `pec verify` exit 4 and name the entry (partner, customer,
//! resource, usage date, currency and sequence number).

mod support;

use pec_ledger::ledger::Entry;
use rusqlite::{params, Connection};
use serde_json::Value;
use std::path::{Path, PathBuf};
use support::*;

const RESOURCE: &str = "/subscriptions/23b8c1e9-3924-46de-beb1-3b9046685257/resourcegroups/rg-web/providers/microsoft.web/sites/shop";
/// The resource-day that has two entries (a settlement and an adjustment).
const DAY: &str = "7a3c0000-0000-4000-8000-000000000001 bdd640fb-0667-4ad1-9c80-317fa3b1799d /subscriptions/23b8c1e9-3924-46de-beb1-3b9046685257/resourcegroups/rg-web/providers/microsoft.web/sites/shop 2026-09-01 USD";

fn settle(data: &Path, now: &str) {
    let out = settle_september_1_2_at(data, now);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The example usage and snapshots, settled; then the web app's September 1 usage restated
/// (48 hours instead of 24) and settled again, so that its resource-day has entries 0 and 1.
fn ledger(root: &Path) -> PathBuf {
    let data = root.join("pristine");
    let usage = examples().join("daily-rated-usage.csv");
    let out = upload_usage(&data, &usage);
    assert_eq!(out.status.code(), Some(0));
    for i in 0..5 {
        let file = examples().join(format!("snapshot-{i}.json"));
        let out = pec(
            &data,
            &[
                "access",
                "post",
                file.to_str().unwrap(),
                "--partner",
                PARTNER,
                "--now",
                "2026-09-03T00:00:00Z",
            ],
        );
        assert_eq!(out.status.code(), Some(0));
    }
    settle(&data, "2026-09-03T02:00:00Z");
    let text = std::fs::read_to_string(&usage).unwrap();
    let restated: String = text
        .lines()
        .filter(|l| !l.contains(",2026-09-02,"))
        .map(|l| {
            if l.contains("sites/shop") {
                l.replace(",0.288,24,", ",0.288,48,")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let file = root.join("restated.csv");
    std::fs::write(&file, restated).unwrap();
    let out = upload_usage(&data, &file);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    settle(&data, "2026-09-04T02:00:00Z");
    let v = verify(&data);
    assert_eq!(v.0, 0, "{}", v.1);
    assert_eq!(v.1["entries"], 9);
    data
}

/// `pec verify`: (exit code, report).
fn verify(data: &Path) -> (i32, Value) {
    let out = pec(data, &["verify"]);
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "verify printed no report ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), report)
}

/// A copy of the pristine data directory, opened behind the product's back with the
/// append-only triggers dropped.
fn tampered(root: &Path, pristine: &Path, name: &str) -> (PathBuf, Connection) {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    // The pristine database was closed cleanly: pec.db holds everything.
    for f in ["pec.db", "pec.db-wal", "pec.db-shm"] {
        if pristine.join(f).exists() {
            std::fs::copy(pristine.join(f), dir.join(f)).unwrap();
        }
    }
    let db = Connection::open(dir.join("pec.db")).unwrap();
    db.execute_batch("DROP TRIGGER entries_no_update; DROP TRIGGER entries_no_delete;")
        .unwrap();
    (dir, db)
}

/// Where the test's resource-day is filed in `pec.db`'s `entries` table.
const FILED: &str = "resource_ref = (SELECT resource_ref FROM resources WHERE resource_id = ?1) AND usage_date = '2026-09-01'";

/// Entry `seq` of the test's resource-day, as the store reads it.
fn entry(dir: &Path, seq: u32) -> Entry {
    use pec_ledger::store::{EntryFilter, LedgerStore};
    let store = pec_embedded::SqliteStore::open(&dir.join("pec.db")).unwrap();
    let mut found = Vec::new();
    store
        .for_each_entry(
            &EntryFilter {
                resource_id: Some(RESOURCE.into()),
                ..Default::default()
            },
            &mut |e| {
                found.push(e);
                Ok(())
            },
        )
        .unwrap();
    found
        .into_iter()
        .find(|e| e.seq == seq && e.key.usage_date.to_string() == "2026-09-01")
        .unwrap()
}

/// Replaces entry `seq`'s earned credit and hash with `e`'s (a forger's rewrite).
fn rewrite(db: &Connection, seq: u32, e: &Entry) {
    let n = db
        .execute(
            &format!("UPDATE entries SET earned_credit = ?2, hash = ?3 WHERE {FILED} AND seq = ?4"),
            params![
                RESOURCE,
                e.figures.earned_credit.to_string(),
                hex::decode(&e.hash).unwrap(),
                seq
            ],
        )
        .unwrap();
    assert_eq!(n, 1);
}

/// (resourceDay, seq, problem) of a break.
type Break = (String, Option<u64>, String);

/// Every break of a verify report.
fn breaks(report: &Value) -> Vec<Break> {
    report["breaks"]
        .as_array()
        .expect("breaks")
        .iter()
        .map(|b| {
            (
                b["resourceDay"].as_str().expect("resourceDay").to_string(),
                b["seq"].as_u64(),
                b["problem"].as_str().expect("problem").to_string(),
            )
        })
        .collect()
}

fn b(seq: Option<u64>, problem: &str) -> Break {
    (DAY.to_string(), seq, problem.to_string())
}

#[test]
fn tampered_ledgers_fail_verify_naming_the_entry() {
    let root = tempfile::tempdir().unwrap();
    let pristine = ledger(root.path());
    let e0 = entry(&pristine, 0);
    let e1 = entry(&pristine, 1);
    assert_eq!(e0.figures.list_amount.to_string(), "6.912");
    assert_eq!(e1.figures.list_amount.to_string(), "6.912");
    assert_eq!(e1.prev_hash, e0.hash);

    let mut cases: Vec<(&str, Vec<Break>)> = Vec::new();

    // 1. One amount changed in place (the JSON only).
    let (dir, db) = tampered(root.path(), &pristine, "amount");
    let n = db
        .execute(
            &format!("UPDATE entries SET earned_credit = '10.368' WHERE {FILED} AND seq = 0 AND earned_credit = '1.0368'"),
            [RESOURCE],
        )
        .unwrap();
    assert_eq!(n, 1);
    drop(db);
    assert_eq!(entry(&dir, 0).figures.earned_credit.to_string(), "10.368");
    cases.push(("amount", verify_breaks(&dir)));

    // 2. An amount changed and the entry re-hashed by a forger who knows the scheme: the next
    //    entry's prevHash and the head's sum no longer agree.
    let (dir, db) = tampered(root.path(), &pristine, "rehashed");
    let mut forged = e0.clone();
    forged.figures.earned_credit = "10.368".parse().unwrap();
    let forged = forged.seal();
    rewrite(&db, 0, &forged);
    drop(db);
    cases.push(("rehashed", verify_breaks(&dir)));

    // 3. The last entry re-hashed with another amount.
    let (dir, db) = tampered(root.path(), &pristine, "rehashed-last");
    let mut forged = e1.clone();
    forged.figures.earned_credit = "0".parse().unwrap();
    let forged = forged.seal();
    rewrite(&db, 1, &forged);
    drop(db);
    cases.push(("rehashed-last", verify_breaks(&dir)));

    // 4. The first entry deleted.
    let (dir, db) = tampered(root.path(), &pristine, "deleted-first");
    db.execute(
        &format!("DELETE FROM entries WHERE {FILED} AND seq = 0"),
        [RESOURCE],
    )
    .unwrap();
    drop(db);
    cases.push(("deleted-first", verify_breaks(&dir)));

    // 5. The last entry deleted.
    let (dir, db) = tampered(root.path(), &pristine, "deleted-last");
    db.execute(
        &format!("DELETE FROM entries WHERE {FILED} AND seq = 1"),
        [RESOURCE],
    )
    .unwrap();
    drop(db);
    cases.push(("deleted-last", verify_breaks(&dir)));

    // 6. The two entries swapped (their seq columns exchanged).
    let (dir, db) = tampered(root.path(), &pristine, "reordered");
    for (from, to) in [(0, 7), (1, 0), (7, 1)] {
        db.execute(
            &format!("UPDATE entries SET seq = ?3 WHERE {FILED} AND seq = ?2"),
            params![RESOURCE, from, to],
        )
        .unwrap();
    }
    drop(db);
    cases.push(("reordered", verify_breaks(&dir)));

    // 7. A forged adjustment appended, correctly chained and hashed.
    let (dir, db) = tampered(root.path(), &pristine, "forged");
    let mut extra = e1.clone();
    extra.seq = 2;
    extra.prev_hash = e1.hash.clone();
    extra.figures.earned_credit = "100".parse().unwrap();
    let extra = extra.seal();
    db.execute_batch("CREATE TEMP TABLE forged AS SELECT * FROM entries WHERE 0; ")
        .unwrap();
    db.execute(
        &format!("INSERT INTO forged SELECT * FROM entries WHERE {FILED} AND seq = 1"),
        [RESOURCE],
    )
    .unwrap();
    db.execute(
        "UPDATE forged SET seq = 2, earned_credit = '100', prev_hash = ?1, hash = ?2",
        params![
            hex::decode(&e1.hash).unwrap(),
            hex::decode(&extra.hash).unwrap()
        ],
    )
    .unwrap();
    db.execute_batch("INSERT INTO entries SELECT * FROM forged;")
        .unwrap();
    drop(db);
    cases.push(("forged", verify_breaks(&dir)));

    // 8. An entry made unreadable.
    let (dir, db) = tampered(root.path(), &pristine, "unreadable");
    db.execute(
        &format!("UPDATE entries SET earned_credit = 'lots' WHERE {FILED} AND seq = 0"),
        [RESOURCE],
    )
    .unwrap();
    drop(db);
    cases.push(("unreadable", verify_breaks(&dir)));

    // 9. The head record deleted.
    let (dir, db) = tampered(root.path(), &pristine, "headless");
    db.execute(
        "DELETE FROM resource_days WHERE resource_ref = (SELECT resource_ref FROM resources WHERE resource_id = ?1) \
         AND usage_date = '2026-09-01'",
        [RESOURCE],
    )
    .unwrap();
    drop(db);
    cases.push(("headless", verify_breaks(&dir)));

    const HASH: &str = "hash does not match the entry's content (entry changed)";
    const CHAIN: &str = "chain broken: prevHash is not the previous entry's hash";
    const SUM: &str = "sum of entries differs from the resource-day's recorded value";
    let expected = vec![
        ("amount", vec![b(Some(0), HASH), b(None, SUM)]),
        ("rehashed", vec![b(Some(1), CHAIN), b(None, SUM)]),
        (
            "rehashed-last",
            vec![
                b(
                    Some(1),
                    "last entry 1 is not the one the head recorded: its hash differs (entry replaced)",
                ),
                b(None, SUM),
            ],
        ),
        (
            "deleted-first",
            vec![
                b(Some(1), "sequence gap: expected entry 0, found 1"),
                b(Some(1), CHAIN),
                b(Some(1), "entry 0 should be SETTLEMENT"),
                b(None, SUM),
            ],
        ),
        (
            "deleted-last",
            vec![
                b(Some(1), "head says entry 1 is last, ledger ends at entry 0"),
                b(None, SUM),
            ],
        ),
        (
            // An entry's seq is its place in the table, and part of what is hashed: each moved
            // entry no longer matches its hash or its place in the chain.
            "reordered",
            vec![
                b(Some(0), HASH),
                b(Some(0), CHAIN),
                b(Some(0), "entry 0 should be SETTLEMENT"),
                b(Some(1), HASH),
                b(Some(1), CHAIN),
                b(Some(1), "entry 1 should be ADJUSTMENT"),
                b(
                    Some(1),
                    "postedAt goes backwards: 2026-09-03T02:00:00Z is before the previous entry's \
                     2026-09-04T02:00:00Z",
                ),
                b(
                    Some(1),
                    "last entry 1 is not the one the head recorded: its hash differs (entry replaced)",
                ),
            ],
        ),
        (
            "forged",
            vec![
                b(Some(1), "head says entry 1 is last, ledger ends at entry 2"),
                b(None, SUM),
            ],
        ),
        (
            "unreadable",
            vec![b(
                Some(0),
                "entry cannot be read (changed outside the ledger): stored amount \"lots\" is not a decimal: \
                 Invalid decimal: unknown character; verification stopped here",
            )],
        ),
        ("headless", vec![b(Some(1), "entries without a head record")]),
    ];
    assert_eq!(cases.len(), expected.len());
    for ((name, got), (want_name, want)) in cases.iter().zip(expected) {
        assert_eq!(*name, want_name);
        assert_eq!(got, &want, "{name}");
    }
    // The untouched copy still verifies: the breaks come from the tampering alone.
    assert_eq!(verify(&pristine).0, 0);
}

/// Runs verify on a tampered directory: it must exit 4.
fn verify_breaks(dir: &Path) -> Vec<Break> {
    let (code, report) = verify(dir);
    assert_eq!(code, 4, "{report}");
    assert_eq!(report["ok"], false);
    breaks(&report)
}
