//! A data directory written by the release before the compact format (format 1, JSON rows;
//! `fixtures/format-1`, made as its README says) opens with this one: upgraded in place, every
//! old entry still verifies, and the statement is the one that release printed, figure for
//! figure.

use chrono::{DateTime, NaiveDate, Utc};
use pec_embedded::SqliteStore;
use pec_ledger::config::Config;
use pec_ledger::settle::{settle, SettleOptions};
use pec_ledger::statement::{statement_from_store, Month};
use pec_ledger::store::PartnerStore;
use pec_ledger::verify::verify;
use std::path::{Path, PathBuf};

const PARTNER: &str = "7a3c0000-0000-4000-8000-000000000001";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/format-1")
}

/// A copy of the fixture's data directory (the fixture itself is never opened for writing).
fn copy(root: &Path) -> PathBuf {
    let dir = root.join("pec-data");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(fixture().join("pec-data/pec.db"), dir.join("pec.db")).unwrap();
    dir
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

#[test]
fn a_format_1_data_directory_is_upgraded_in_place_and_reads_the_same() {
    let root = tempfile::tempdir().unwrap();
    let dir = copy(root.path());
    let store = SqliteStore::open_dir(&dir).unwrap();

    // Every old entry verifies, as it did under the release that wrote it.
    let report = verify(&store).unwrap();
    let before: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture().join("verify.json")).unwrap()).unwrap();
    assert_eq!(serde_json::to_value(&report).unwrap(), before);
    assert_eq!(
        (report.ok, report.entries, report.resource_days),
        (true, 12, 8)
    );

    // The statement is the old release's, figure for figure.
    let statement = statement_from_store(
        &store,
        PARTNER,
        Month::of(day(2026, 9, 1)),
        t("2026-10-01T00:00:00Z"),
    )
    .unwrap();
    let printed: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture().join("statement-2026-09.json")).unwrap())
            .unwrap();
    assert_eq!(serde_json::to_value(&statement).unwrap(), printed);

    // The partner's secret came along.
    assert_eq!(store.active_secrets(PARTNER).unwrap().len(), 1);

    // The same inputs settled again append nothing (the upgraded usage and heads agree), and the
    // upgraded customer-dates are decided once more since they carry no fingerprint yet.
    let config = Config::default();
    let opts = |now: &str| SettleOptions {
        from: day(2026, 9, 1),
        through: day(2026, 9, 2),
        now: t(now),
        run_id: format!("after-upgrade-{now}"),
        full: false,
        batch_entries: pec_ledger::settle::BATCH_ENTRIES,
    };
    let again = settle(&store, &config, &opts("2026-12-01T02:00:00Z")).unwrap();
    assert_eq!((again.entries_appended, again.customer_days), (0, 2));
    let then = settle(&store, &config, &opts("2026-12-01T03:00:00Z")).unwrap();
    assert_eq!((then.customer_days, then.customer_days_unchanged), (0, 2));
    drop(store);

    // Only format 2 is left: the old tables are gone and every entry moved into columns.
    let db = rusqlite_connection(&dir);
    let version: i64 = db
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 2);
    let old: i64 = db
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('ledger_entries', 'ledger_heads', 'usage_staged')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(old, 0);
    let formats: Vec<(i64, i64)> = db
        .prepare("SELECT format, count(*) FROM entries GROUP BY format")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(formats, vec![(2, 12)]);
    // A release before format 2 would create its empty `ledger_entries` table and take this for
    // an empty ledger: the guard view of that name makes its schema fail instead.
    assert_older_release_is_refused(&db);
    // The view shows figures as columns.
    let earned: String = db
        .query_row(
            "SELECT earned_credit FROM ledger WHERE resource_id LIKE '%/sites/shop' AND usage_date = '2026-09-02' AND seq = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(earned, "1.0368");
}

#[test]
fn an_old_entry_changed_before_the_upgrade_is_kept_as_it_was_and_still_named_by_verify() {
    let root = tempfile::tempdir().unwrap();
    let dir = copy(root.path());
    {
        let db = rusqlite_connection(&dir);
        db.execute_batch(
            "DROP TRIGGER ledger_entries_no_update; \
             UPDATE ledger_entries SET entry = replace(entry, '\"earnedCredit\":\"1.0368\"', '\"earnedCredit\":\"10.368\"') \
             WHERE resource_id LIKE '%/sites/shop' AND usage_date = '2026-09-01' AND seq = 0;",
        )
        .unwrap();
    }
    let store = SqliteStore::open_dir(&dir).unwrap();
    let report = verify(&store).unwrap();
    assert!(!report.ok);
    assert_eq!(report.entries, 12);
    let problems: Vec<(Option<u32>, &str)> = report
        .breaks
        .iter()
        .map(|b| (b.seq, b.problem.as_str()))
        .collect();
    assert_eq!(
        problems,
        vec![
            (
                Some(0),
                "hash does not match the entry's content (entry changed)"
            ),
            (
                None,
                "sum of entries differs from the resource-day's recorded value"
            ),
        ]
    );
    drop(store);
    let db = rusqlite_connection(&dir);
    let kept: i64 = db
        .query_row(
            "SELECT count(*) FROM entries WHERE format = 1 AND legacy_json LIKE '%10.368%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kept, 1);
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn rusqlite_connection(dir: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.join("pec.db")).unwrap()
}

/// What a release before format 2 runs when it opens `pec.db` (its schema's first statements
/// about entries) fails on a format 2 database.
fn assert_older_release_is_refused(db: &rusqlite::Connection) {
    let old_schema = "CREATE TABLE IF NOT EXISTS ledger_entries (partner_id TEXT NOT NULL, \
        usage_date TEXT NOT NULL, entry TEXT NOT NULL); \
        CREATE INDEX IF NOT EXISTS ledger_entries_by_date ON ledger_entries (partner_id, usage_date);";
    let refused = db.execute_batch(old_schema).unwrap_err().to_string();
    assert!(refused.contains("views may not be indexed"), "{refused}");
}

#[test]
fn a_new_database_is_refused_by_an_older_release_too() {
    let root = tempfile::tempdir().unwrap();
    drop(SqliteStore::open_dir(root.path()).unwrap());
    let db = rusqlite_connection(root.path());
    assert_older_release_is_refused(&db);
    let note: String = db
        .query_row("SELECT note FROM ledger_entries", [], |r| r.get(0))
        .unwrap();
    assert!(note.contains("format 2"), "{note}");
}
