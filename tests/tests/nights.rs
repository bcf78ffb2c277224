//! Incremental settlement (issue 12): generated months played night by night, with a restated
//! file, late and out-of-order snapshots, the generator's snapshot gaps of more than 25 h and a
//! configuration change, must end exactly where one settlement of the same inputs ends, and a
//! `--full` re-settlement afterwards must find nothing to append.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use pec_embedded::SqliteStore;
use pec_generate::{generate, GenerateOptions};
use pec_ledger::config::Config;
use pec_ledger::ingest::{ingest_usage_file, post_snapshot};
use pec_ledger::ingest::{SnapshotStatus, UploadStatus};
use pec_ledger::ledger::Head;
use pec_ledger::settle::{settle, RunSummary, SettleOptions};
use pec_ledger::statement::{statement_from_store, Month};
use pec_ledger::store::LedgerStore;
use std::path::{Path, PathBuf};

/// A generated snapshot file and when it was taken.
struct SnapshotFile {
    partner: String,
    path: PathBuf,
    taken_at: DateTime<Utc>,
}

struct Generated {
    partners: Vec<(String, Vec<PathBuf>)>,
    snapshots: Vec<SnapshotFile>,
    start: NaiveDate,
    days: u32,
}

fn generated(dir: &Path, seed: u64, days: u32) -> Generated {
    let options = GenerateOptions {
        seed,
        partners: 2,
        customers_per_partner: 5,
        subscriptions_per_customer: 2,
        resources_per_subscription: 3,
        start: NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
        days,
        snapshot_interval_hours: 6,
        gzip: false,
    };
    let set = generate(&options, dir).unwrap();
    let mut snapshots = Vec::new();
    for p in &set.partners {
        for path in &p.snapshot_files {
            let body: serde_json::Value =
                serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
            snapshots.push(SnapshotFile {
                partner: p.partner_id.clone(),
                path: path.clone(),
                taken_at: body["takenAt"].as_str().unwrap().parse().unwrap(),
            });
        }
    }
    Generated {
        partners: set
            .partners
            .iter()
            .map(|p| (p.partner_id.clone(), p.usage_files.clone()))
            .collect(),
        snapshots,
        start: options.start,
        days,
    }
}

fn post(store: &SqliteStore, s: &SnapshotFile, now: DateTime<Utc>) {
    let receipt = post_snapshot(store, &s.partner, &std::fs::read(&s.path).unwrap(), now).unwrap();
    assert!(
        matches!(
            receipt.status,
            SnapshotStatus::Accepted | SnapshotStatus::Duplicate
        ),
        "{receipt:?}"
    );
}

fn upload(store: &SqliteStore, config: &Config, partner: &str, name: &str, body: &[u8]) {
    let now = Utc::now();
    let receipt = ingest_usage_file(store, config, partner, name, body, now).unwrap();
    assert_eq!(receipt.status, UploadStatus::Accepted, "{receipt:?}");
}

/// The file of a day restated: the same file without its last two data lines (their
/// resource-days lose that usage).
fn restated(body: &[u8]) -> Vec<u8> {
    let text = String::from_utf8(body.to_vec()).unwrap();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    lines[..lines.len() - 2].concat().into_bytes()
}

/// The configuration after the change: a 27 h snapshot gap (the generator's 26 h+ gaps now
/// hold access) and one product made ineligible.
fn changed(config: &Config) -> Config {
    let mut c = config.clone();
    c.max_snapshot_gap_hours = 27;
    c.ineligible_product_names = vec!["Storage".into()];
    c
}

fn opts(from: NaiveDate, through: NaiveDate, now: DateTime<Utc>, full: bool) -> SettleOptions {
    SettleOptions {
        from,
        through,
        now,
        run_id: format!("run-{now}"),
        full,
        // Small batches: a night's work spans several transactions and customers.
        batch_entries: 40,
    }
}

/// Heads without their hashes: the value of every resource-day. Resource-days whose usage a
/// restated file took away are left out: played night by night they were settled and then
/// adjusted to zero, settled once they never existed.
fn values(store: &SqliteStore) -> Vec<String> {
    let mut out = Vec::new();
    store
        .for_each_head(&mut |h: Head| {
            if h.figures.is_zero() {
                return Ok(());
            }
            out.push(format!(
                "{} {:?} {:?} {:?} {}",
                h.key, h.status, h.reason, h.figures, h.tier2_mpn_id
            ));
            Ok(())
        })
        .unwrap();
    out.sort();
    out
}

#[test]
fn a_month_played_night_by_night_ends_where_one_settlement_does() {
    let root = tempfile::tempdir().unwrap();
    let m = generated(&root.path().join("gen"), 11, 12);
    let nightly = SqliteStore::open_dir(&root.path().join("nightly")).unwrap();
    let base = Config::default();
    let mut config = base.clone();
    let mut posted = vec![false; m.snapshots.len()];
    let mut held_back: Vec<usize> = Vec::new();
    let mut restatements = Vec::new();
    let mut nights: Vec<RunSummary> = Vec::new();
    let mut now = Utc::now();
    for night in 0..m.days {
        let day = m.start + Duration::days(i64::from(night));
        now = (day + Duration::days(1))
            .and_hms_opt(2, 0, 0)
            .unwrap()
            .and_utc();
        // Snapshots taken since the last night. On odd nights those of the last six hours arrive
        // a night late, after the next night's (out of order).
        let mut late = Vec::new();
        for (i, s) in m.snapshots.iter().enumerate() {
            if posted[i] || s.taken_at > now {
                continue;
            }
            if night % 2 == 1 && s.taken_at > now - Duration::hours(6) {
                late.push(i);
                continue;
            }
            post(&nightly, s, now);
            posted[i] = true;
        }
        for i in std::mem::take(&mut held_back) {
            post(&nightly, &m.snapshots[i], now);
            posted[i] = true;
        }
        held_back = late;
        if night == 7 {
            config = changed(&base);
        }
        for (partner, files) in &m.partners {
            let body = std::fs::read(&files[night as usize]).unwrap();
            upload(&nightly, &config, partner, "day.csv", &body);
            // Night 5 also brings a restated file for two days before.
            if night == 5 {
                let earlier = std::fs::read(&files[3]).unwrap();
                let body = restated(&earlier);
                upload(&nightly, &config, partner, "restated.csv", &body);
                restatements.push((partner.clone(), body));
            }
        }
        let through = day;
        let from = through - Duration::days(i64::from(config.lookback_days));
        nights.push(settle(&nightly, &config, &opts(from, through, now, false)).unwrap());
    }
    // The last night's held-back snapshots, and a settlement after them.
    now += Duration::hours(1);
    for i in held_back {
        post(&nightly, &m.snapshots[i], now);
    }
    let last = m.start + Duration::days(i64::from(m.days) - 1);
    nights.push(settle(&nightly, &config, &opts(m.start, last, now, false)).unwrap());

    // Work in proportion to what changed: the nights after the first decided far fewer
    // customer-days than their windows hold, and skipped the rest.
    let decided: u64 = nights.iter().map(|n| n.customer_days).sum();
    let skipped: u64 = nights.iter().map(|n| n.customer_days_unchanged).sum();
    assert!(skipped > decided, "decided {decided}, skipped {skipped}");
    // The configuration change re-decided every customer-day of night 7's window.
    assert_eq!(nights[7].customer_days_unchanged, 0);
    assert!(nights[7].customer_days >= 8 * 10);

    // Nothing is left to do: a --full pass over the whole range appends nothing.
    now += Duration::hours(1);
    let full = settle(&nightly, &config, &opts(m.start, last, now, true)).unwrap();
    assert_eq!(full.entries_appended, 0, "{full:?}");
    assert_eq!(full.customer_days_unchanged, 0);
    assert!(full.resource_days > 0);

    // A fresh data directory given the final inputs, settled once.
    let fresh = SqliteStore::open_dir(&root.path().join("fresh")).unwrap();
    for s in &m.snapshots {
        post(&fresh, s, now);
    }
    for (partner, files) in &m.partners {
        for f in files {
            upload(
                &fresh,
                &config,
                partner,
                "day.csv",
                &std::fs::read(f).unwrap(),
            );
        }
    }
    for (partner, body) in &restatements {
        upload(&fresh, &config, partner, "restated.csv", body);
    }
    let once = settle(&fresh, &config, &opts(m.start, last, now, false)).unwrap();
    assert!(once.entries_appended > 0);

    let (a, b) = (values(&nightly), values(&fresh));
    assert!(a.len() > 300, "{}", a.len());
    let only_nightly: Vec<&String> = a.iter().filter(|v| !b.contains(v)).collect();
    let only_fresh: Vec<&String> = b.iter().filter(|v| !a.contains(v)).collect();
    assert!(
        only_nightly.is_empty() && only_fresh.is_empty(),
        "night by night only: {only_nightly:#?}\nsettled once only: {only_fresh:#?}"
    );
    let as_of = now + Duration::hours(1);
    for (partner, _) in &m.partners {
        let a = statement_from_store(&nightly, partner, Month::of(m.start), as_of).unwrap();
        let b = statement_from_store(&fresh, partner, Month::of(m.start), as_of).unwrap();
        assert!(!a.currencies.is_empty());
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            serde_json::to_value(&b).unwrap()
        );
    }
}
