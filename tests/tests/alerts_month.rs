//! Access-lost alerts over generated months with removals and restorations: every snapshot is
//! posted as it would arrive (with the month's usage already uploaded), the month is settled,
//! and every alert is checked against what settlement decided for those days:
//! - each resource of an alert does not have eligible access all day on the day it was lost;
//! - each restored alert's resource-days lost are exactly the ledger's resource-days of its
//!   resources, from the day of the last covering snapshot to the day of the restoring one, with
//!   eligible usage and not FULL;
//! - its credit at stake per day is the ledger's rate × eligible amount of its resources over
//!   the window of its last loss, divided by the window's dates that have usage.

use chrono::{DateTime, NaiveDate, Utc};
use pec_embedded::SqliteStore;
use pec_generate::{generate, GenerateOptions};
use pec_ledger::alerts::{window, AlertStatus, ResourceDay};
use pec_ledger::config::Config;
use pec_ledger::decimal::fmt_amount;
use pec_ledger::ingest::{ingest_usage_file, post_snapshot_watched, UploadStatus};
use pec_ledger::ledger::Head;
use pec_ledger::reasons::DayStatus;
use pec_ledger::settle::{settle, SettleOptions};
use pec_ledger::store::{AlertStore, LedgerStore};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// (alerts checked, restored alerts checked, resource-days lost checked) for one seed.
fn check_month(seed: u64) -> (usize, usize, usize) {
    let dir = tempfile::tempdir().unwrap();
    let options = GenerateOptions {
        seed,
        partners: 2,
        customers_per_partner: 4,
        subscriptions_per_customer: 2,
        resources_per_subscription: 3,
        start: NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
        days: 30,
        snapshot_interval_hours: 6,
        gzip: false,
    };
    let set = generate(&options, &dir.path().join("inputs")).unwrap();
    let store = SqliteStore::open_dir(&dir.path().join("data")).unwrap();
    let config = Config::default();
    for p in &set.partners {
        for f in &p.usage_files {
            let name = f.file_name().unwrap().to_string_lossy().to_string();
            let r = ingest_usage_file(
                &store,
                &config,
                &p.partner_id,
                &name,
                &std::fs::read(f).unwrap()[..],
                t("2026-10-01T00:00:00Z"),
            )
            .unwrap();
            assert_eq!(r.status, UploadStatus::Accepted);
        }
    }
    // Snapshots in the order they were taken, each a minute after it was taken.
    let mut snapshots = Vec::new();
    for p in &set.partners {
        for f in &p.snapshot_files {
            let body = std::fs::read(f).unwrap();
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let taken: DateTime<Utc> = v["takenAt"].as_str().unwrap().parse().unwrap();
            snapshots.push((taken, p.partner_id.clone(), body));
        }
    }
    snapshots.sort_by_key(|a| a.0);
    for (taken, partner, body) in &snapshots {
        let now = *taken + chrono::Duration::minutes(1);
        post_snapshot_watched(&store, &config, partner, body, now).unwrap();
    }
    let through = options.start + chrono::Duration::days(i64::from(options.days) - 1);
    let mut run = SettleOptions::new(
        &config,
        through,
        Some(options.start),
        t("2026-10-03T00:00:00Z"),
    );
    run.full = true;
    settle(&store, &config, &run).unwrap();
    let mut heads: BTreeMap<(String, String, NaiveDate), Vec<Head>> = BTreeMap::new();
    let mut dates_with_usage: BTreeSet<(String, String, NaiveDate)> = BTreeSet::new();
    store
        .for_each_head(&mut |h| {
            dates_with_usage.insert((
                h.key.partner_id.clone(),
                h.key.customer_id.clone(),
                h.key.usage_date,
            ));
            heads
                .entry((
                    h.key.partner_id.clone(),
                    h.key.resource_id.clone(),
                    h.key.usage_date,
                ))
                .or_default()
                .push(h);
            Ok(())
        })
        .unwrap();
    let day_of = |p: &str, r: &str, d: NaiveDate| heads.get(&(p.into(), r.into(), d));
    let (mut alerts, mut restored, mut days_checked) = (0, 0, 0);
    for p in &set.partners {
        for a in store.alerts(&p.partner_id).unwrap() {
            alerts += 1;
            // Lost on the day it was lost.
            for r in &a.resources {
                let d = r.lost_at.date_naive();
                if let Some(hs) = day_of(&a.partner_id, &r.resource_id, d) {
                    for h in hs
                        .iter()
                        .filter(|h| h.figures.eligible_amount > Decimal::ZERO)
                    {
                        assert_ne!(
                            h.status,
                            DayStatus::Full,
                            "seed {seed}: alert {} says {} lost access on {d}, the ledger says FULL",
                            a.alert_id,
                            r.resource_id
                        );
                    }
                }
            }
            // The amount at stake, from the ledger.
            let last = a.resources.iter().map(|r| r.lost_at).max().unwrap();
            let (from, to) = window(last);
            let ids: BTreeSet<&str> = a.resources.iter().map(|r| r.resource_id.as_str()).collect();
            let mut sums: BTreeMap<String, Decimal> = BTreeMap::new();
            let mut d = from;
            let mut with_usage = 0u64;
            while d <= to {
                if dates_with_usage.contains(&(a.partner_id.clone(), a.customer_id.clone(), d)) {
                    with_usage += 1;
                }
                for id in &ids {
                    for h in day_of(&a.partner_id, id, d).into_iter().flatten() {
                        *sums.entry(h.key.currency.clone()).or_default() +=
                            config.rate_on(d) * h.figures.eligible_amount;
                    }
                }
                d = d.succ_opt().unwrap();
            }
            let expected: BTreeMap<String, String> = sums
                .into_iter()
                .filter(|(_, v)| !v.is_zero())
                .map(|(c, v)| {
                    (
                        c,
                        fmt_amount((v / Decimal::from(with_usage.max(1))).normalize()),
                    )
                })
                .collect();
            let got: BTreeMap<String, String> = a
                .credit_at_stake_per_day
                .clone()
                .into_iter()
                .filter(|(_, v)| v != "0")
                .collect();
            assert_eq!(
                got, expected,
                "seed {seed}: alert {} credit at stake",
                a.alert_id
            );
            // What a restoration says was lost is what settlement decided.
            if a.status == AlertStatus::Restored {
                restored += 1;
                let from = a
                    .resources
                    .iter()
                    .map(|r| r.last_covered_at)
                    .min()
                    .unwrap()
                    .date_naive();
                let to = a.restored_at.unwrap().date_naive();
                let mut lost = BTreeSet::new();
                for id in &ids {
                    let mut d = from;
                    while d <= to {
                        for h in day_of(&a.partner_id, id, d).into_iter().flatten() {
                            if h.figures.eligible_amount > Decimal::ZERO
                                && h.status != DayStatus::Full
                            {
                                lost.insert(ResourceDay {
                                    resource_id: id.to_string(),
                                    usage_date: d,
                                });
                            }
                        }
                        d = d.succ_opt().unwrap();
                    }
                }
                let said: BTreeSet<ResourceDay> = a.resource_days_lost.iter().cloned().collect();
                assert_eq!(
                    said, lost,
                    "seed {seed}: alert {} resource-days lost",
                    a.alert_id
                );
                days_checked += lost.len();
            }
        }
    }
    (alerts, restored, days_checked)
}

#[test]
fn every_alert_agrees_with_what_settlement_decides() {
    let (mut alerts, mut restored, mut days) = (0, 0, 0);
    for seed in [42, 7, 11, 2026] {
        let (a, r, d) = check_month(seed);
        eprintln!("seed {seed}: {a} alerts, {r} restored, {d} resource-days lost");
        alerts += a;
        restored += r;
        days += d;
    }
    assert!(
        alerts >= 2 && restored >= 1 && days >= 1,
        "the generated months have removals and restorations: {alerts} alerts, {restored} restored, {days} resource-days lost"
    );
}
