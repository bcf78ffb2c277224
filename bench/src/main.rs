//! `pec-bench`: the measurements `bench/run.sh` compares with DuckDB.
//!
//! - `ingest FILE --partner P`: the real usage reader (`usage::read_usage_rows`) and the real
//!   ingestion aggregation (`ingest::UsageGroups`) into exact resource-day figures, held in
//!   memory; prints throughput and a checksum (groups, Σ list amount, Σ Microsoft credit).
//! - `settle-engine --resource-days N --assignments M --seed S [--csv DIR]`: N resource-days and
//!   M held intervals generated in memory, deterministically, then decided by the real engine
//!   (`PreparedAccess::day_coverage` through `settle::value_of`); prints throughput and a
//!   checksum (count per status and reason, Σ earned, Σ lost). `--csv` also writes the same
//!   inputs for the DuckDB SQL version.
//!
//! Every command prints one JSON object on stdout.
#![forbid(unsafe_code)]

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use clap::{Parser, Subcommand};
use pec_ledger::access::{CustomerAccess, HeldAssignment, Interval, PreparedAccess};
use pec_ledger::config::Config;
use pec_ledger::decimal::fmt_amount;
use pec_ledger::ingest::UsageGroups;
use pec_ledger::ledger::ResourceDayKey;
use pec_ledger::reasons::{DayStatus, LossReason};
use pec_ledger::settle::value_of;
use pec_ledger::snapshot::{AccessType, Assignment, AssignmentType, PrincipalType};
use pec_ledger::store::UsageAggregate;
use pec_ledger::usage::{read_usage_rows, ReadOptions};
use rust_decimal::Decimal;
use serde_json::json;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Parser)]
#[command(name = "pec-bench", about = "pec-ledger benchmarks (see bench/run.sh)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read one usage file into exact resource-day figures.
    Ingest {
        file: PathBuf,
        #[arg(long)]
        partner: String,
    },
    /// Decide generated resource-days with the real coverage and settlement engine.
    SettleEngine {
        #[arg(long, default_value_t = 1_000_000)]
        resource_days: u64,
        #[arg(long, default_value_t = 100_000)]
        assignments: u64,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Also write the inputs as CSV (`resource_days.csv`, `assignments.csv`) for DuckDB.
        #[arg(long)]
        csv: Option<PathBuf>,
        /// Engine threads, customers shared out among them as the nightly settlement shares
        /// them out among its workers (each customer's resource-days on one thread).
        #[arg(long, default_value_t = 1)]
        threads: usize,
    },
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Ingest { file, partner } => ingest(&file, &partner),
        Command::SettleEngine {
            resource_days,
            assignments,
            seed,
            csv,
            threads,
        } => settle_engine(resource_days, assignments, seed, csv, threads),
    };
    match result {
        Ok(v) => println!("{v}"),
        Err(e) => {
            eprintln!("pec-bench: {e}");
            std::process::exit(1);
        }
    }
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn ingest(file: &PathBuf, partner: &str) -> Res<serde_json::Value> {
    let config = Config::default();
    let input = File::open(file)?;
    let started = Instant::now();
    let mut groups = UsageGroups::default();
    let report = read_usage_rows(input, &ReadOptions::for_partner(partner), |line| {
        groups.add_view(line, &config);
        Ok::<(), std::convert::Infallible>(())
    })?;
    let rows = groups.drain_sorted();
    let seconds = started.elapsed().as_secs_f64();
    if report.error_count > 0 {
        return Err(format!("the file was rejected: {:?}", report.errors.first()).into());
    }
    let (mut list, mut ms) = (Decimal::ZERO, Decimal::ZERO);
    for r in &rows {
        list += r.list_amount;
        ms += r.microsoft_credit;
    }
    Ok(json!({
        "rows": report.rows,
        "bytes": report.bytes,
        "seconds": seconds,
        "rowsPerSecond": report.rows as f64 / seconds,
        "mbPerSecond": report.bytes as f64 / 1e6 / seconds,
        "groups": rows.len(),
        "listAmount": fmt_amount(list),
        "microsoftCredit": fmt_amount(ms),
    }))
}

// ---------------------------------------------------------------------------------------------
// Settlement engine
// ---------------------------------------------------------------------------------------------

/// SplitMix64: deterministic on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
    fn guid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            b >> 52,
            b & 0xffff_ffff_ffff
        )
    }
}

const DAYS: u64 = 30;
const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";
const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const PARTNER: &str = "7a3c0000-0000-4000-8000-000000000001";
const MPN: &str = "4100001";
/// Intervals per customer: customers = assignments / this.
const INTERVALS_PER_CUSTOMER: u64 = 20;

struct Customer {
    id: String,
    tier2: String,
    access: CustomerAccess,
    resources: Vec<(String, String)>, // (subscription, resource id)
}

fn month_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 9, 1, 0, 0, 0).unwrap()
}

/// One customer: `resources` resources in 1–2 subscriptions and assignments holding
/// `intervals` intervals in a realistic mix (AOBO Owner with createdOn, removed and restored,
/// PIM eligible/activated, Lighthouse with and without PAL, readers, resource scopes, gaps).
fn customer(rng: &mut Rng, index: u64, resources: u64, intervals: u64) -> Customer {
    let id = rng.guid();
    let tier2 = if index % 3 == 1 {
        format!("52{:05}", index % 100_000)
    } else {
        String::new()
    };
    let subs: Vec<String> = (0..1 + rng.below(2))
        .map(|_| format!("/subscriptions/{}", rng.guid()))
        .collect();
    let resources: Vec<(String, String)> = (0..resources)
        .map(|r| {
            let sub = &subs[rng.below(subs.len() as u64) as usize];
            let kind = [
                "microsoft.compute/virtualmachines",
                "microsoft.web/sites",
                "microsoft.storage/storageaccounts",
                "microsoft.sql/servers",
            ][rng.below(4) as usize];
            (
                sub.clone(),
                format!("{sub}/resourcegroups/rg-{}/providers/{kind}/res-{r}", r % 3),
            )
        })
        .collect();
    let start = month_start();
    let end = start + Duration::days(DAYS as i64);
    let mut held = Vec::new();
    let mut used = 0;
    let mut n = 0u64;
    let assignment = |n: u64, scope: &str, role: &str, access: AccessType, kind| Assignment {
        id: format!("{id}-a{n}"),
        scope: scope.to_string(),
        role_definition_id: role.to_string(),
        role_name: String::new(),
        principal_id: "p".into(),
        principal_type: PrincipalType::ForeignGroup,
        access_type: access,
        partner_admin_link_mpn_id: None,
        assignment_type: kind,
        created_on: None,
    };
    let hours = |rng: &mut Rng, max: u64| Duration::minutes(rng.below(max * 60) as i64);
    while used < intervals {
        n += 1;
        let sub = subs[rng.below(subs.len() as u64) as usize].clone();
        let res = &resources[rng.below(resources.len() as u64) as usize].1;
        let rg = res[..res.find("/providers").unwrap()].to_string();
        let pick = rng.below(100);
        let (a, ivs) = if pick < 35 {
            // Steady AOBO Owner with createdOn, sometimes created during the month.
            let mut a = assignment(n, &sub, OWNER, AccessType::Aobo, AssignmentType::Permanent);
            let from = if rng.below(4) == 0 {
                start + hours(rng, 24 * DAYS)
            } else {
                start - Duration::days(90)
            };
            a.created_on = Some(from);
            (a, vec![Interval::new(from, end + Duration::hours(30))])
        } else if pick < 45 {
            // Removed mid-day, restored later (a second assignment restores it).
            let a = assignment(n, &sub, OWNER, AccessType::Aobo, AssignmentType::Permanent);
            let cut = start + hours(rng, 24 * DAYS);
            (a, vec![Interval::new(start, cut)])
        } else if pick < 55 {
            // PIM: eligible Owner on a resource group.
            let a = assignment(n, &rg, OWNER, AccessType::Gdap, AssignmentType::Eligible);
            (a, vec![Interval::new(start, end + Duration::hours(30))])
        } else if pick < 62 {
            // PIM activations: a few hours each, on a few days.
            let a = assignment(n, &sub, OWNER, AccessType::Gdap, AssignmentType::Activated);
            let k = 1 + rng.below(3).min(intervals - used - 1);
            let mut v: Vec<Interval> = (0..k)
                .map(|_| {
                    let s = start + hours(rng, 24 * DAYS);
                    Interval::new(s, s + hours(rng, 8))
                })
                .collect();
            v.sort();
            (a, pec_ledger::access::union(v))
        } else if pick < 75 {
            // Lighthouse Contributor without createdOn: runs broken by gaps; PAL mostly right.
            let mut a = assignment(
                n,
                &sub,
                CONTRIBUTOR,
                AccessType::Lighthouse,
                AssignmentType::Permanent,
            );
            a.partner_admin_link_mpn_id = match rng.below(10) {
                0..=5 => Some(MPN.to_string()),
                6 | 7 if !tier2.is_empty() => Some(tier2.clone()),
                8 => Some("9999999".to_string()),
                _ => None,
            };
            let k = 1 + rng.below(3).min(intervals - used - 1);
            let mut v = Vec::new();
            let mut t = start + hours(rng, 48);
            for _ in 0..k {
                let e = t + hours(rng, 24 * 12);
                v.push(Interval::new(t, e));
                t = e + hours(rng, 40) + Duration::minutes(1);
            }
            (a, v)
        } else if pick < 85 {
            // Lighthouse Reader: a role that does not earn.
            let a = assignment(
                n,
                &sub,
                READER,
                AccessType::Lighthouse,
                AssignmentType::Permanent,
            );
            (a, vec![Interval::new(start, end + Duration::hours(30))])
        } else {
            // GDAP Contributor on one resource, linked to the reseller or the partner.
            let mut a = assignment(
                n,
                res,
                CONTRIBUTOR,
                AccessType::Gdap,
                AssignmentType::Permanent,
            );
            a.partner_admin_link_mpn_id = Some(if tier2.is_empty() {
                MPN.to_string()
            } else {
                tier2.clone()
            });
            let from = start + hours(rng, 24 * 5);
            a.created_on = Some(from);
            (a, vec![Interval::new(from, end + Duration::hours(30))])
        };
        used += ivs.len() as u64;
        held.push(HeldAssignment {
            assignment: a,
            intervals: ivs,
        });
    }
    Customer {
        id,
        tier2,
        access: CustomerAccess {
            held,
            latest_snapshot: Some(end + Duration::hours(30)),
        },
        resources,
    }
}

/// Customers generated, then decided, at a time by `settle-engine`.
const BATCH_CUSTOMERS: usize = 512;

/// What one engine thread decided: count per (status, reason), Σ earned, Σ lost.
#[derive(Default)]
struct Tally {
    counts: BTreeMap<(DayStatus, Option<LossReason>), u64>,
    earned: Decimal,
    lost: Decimal,
}

/// Splits `total` into `parts` near-equal shares; share `i`.
fn share(total: u64, parts: u64, i: u64) -> u64 {
    total / parts + u64::from(i < total % parts)
}

fn settle_engine(
    resource_days: u64,
    intervals: u64,
    seed: u64,
    csv: Option<PathBuf>,
    threads: usize,
) -> Res<serde_json::Value> {
    let threads = threads.max(1);
    let config = Config::default();
    let roles = config.role_table();
    let customers = (intervals / INTERVALS_PER_CUSTOMER).max(1);
    let resources = (resource_days / DAYS).max(1);
    let mut rng = Rng(seed);
    let mut writers = match &csv {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            let mut rd = BufWriter::new(File::create(dir.join("resource_days.csv"))?);
            let mut asg = BufWriter::new(File::create(dir.join("assignments.csv"))?);
            writeln!(rd, "customer,resource,day_s,mpn,tier2,eligible")?;
            writeln!(
                asg,
                "customer,scope,role_ok,permanent,aobo,pal,start_s,end_s"
            )?;
            Some((rd, asg))
        }
        None => None,
    };
    let first_day = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
    let mut engine = std::time::Duration::ZERO;
    let mut counts: BTreeMap<(DayStatus, Option<LossReason>), u64> = BTreeMap::new();
    let (mut earned, mut lost) = (Decimal::ZERO, Decimal::ZERO);
    let (mut days_done, mut intervals_made) = (0u64, 0u64);
    // Customers are generated (untimed) in batches, and each batch is decided (timed) on
    // `threads` threads: memory stays bounded at 10 M resource-days.
    let mut batch: Vec<(Customer, Vec<(ResourceDayKey, UsageAggregate)>)> = Vec::new();
    for c in 0..customers {
        let cust = customer(
            &mut rng,
            c,
            share(resources, customers, c).max(1),
            share(intervals, customers, c).max(1),
        );
        intervals_made += cust
            .access
            .held
            .iter()
            .map(|h| h.intervals.len() as u64)
            .sum::<u64>();
        // The customer's resource-days, one usage group each.
        let mut days = Vec::with_capacity(cust.resources.len() * DAYS as usize);
        for (sub, res) in &cust.resources {
            for d in 0..DAYS {
                let cents = 1 + rng.below(500_000) as i64;
                let amount = Decimal::new(cents * 1_000 + rng.below(1000) as i64, 5);
                let key = ResourceDayKey {
                    partner_id: PARTNER.into(),
                    customer_id: cust.id.clone(),
                    subscription_id: sub["/subscriptions/".len()..].to_string(),
                    resource_id: res.clone(),
                    usage_date: first_day + Duration::days(d as i64),
                    currency: "USD".into(),
                };
                let group = UsageAggregate {
                    key: key.clone(),
                    mpn_id: MPN.into(),
                    tier2_mpn_id: cust.tier2.clone(),
                    list_amount: amount,
                    eligible_amount: amount,
                    microsoft_credit: Decimal::ZERO,
                    ineligible_by_reason: BTreeMap::new(),
                    lines: 1,
                    products: Vec::new(),
                };
                days.push((key, group));
            }
        }
        if let Some((rd, asg)) = writers.as_mut() {
            for (key, g) in &days {
                let day_s = key
                    .usage_date
                    .and_hms_opt(0, 0, 0)
                    .unwrap()
                    .and_utc()
                    .timestamp();
                writeln!(
                    rd,
                    "{c},{},{day_s},{},{},{}",
                    key.resource_id, g.mpn_id, g.tier2_mpn_id, g.eligible_amount
                )?;
            }
            for h in &cust.access.held {
                let a = &h.assignment;
                let role_ok = roles.is_eligible(&a.role_definition_id, &a.role_name);
                for iv in &h.intervals {
                    writeln!(
                        asg,
                        "{c},{},{role_ok},{},{},{},{},{}",
                        a.scope,
                        a.assignment_type == AssignmentType::Permanent,
                        a.access_type == AccessType::Aobo,
                        a.partner_admin_link_mpn_id.as_deref().unwrap_or(""),
                        iv.start.timestamp(),
                        iv.end.timestamp()
                    )?;
                }
            }
        }

        days_done += days.len() as u64;
        batch.push((cust, days));
        if batch.len() == BATCH_CUSTOMERS || c + 1 == customers {
            let started = Instant::now();
            let tallies: Result<Vec<Tally>, &str> = std::thread::scope(|scope| {
                let workers: Vec<_> = (0..threads)
                    .map(|t| {
                        let (batch, roles, config) = (&batch, &roles, &config);
                        scope.spawn(move || {
                            let mut tally = Tally::default();
                            for (cust, days) in batch.iter().skip(t).step_by(threads) {
                                let prepared = PreparedAccess::new(&cust.access, roles);
                                for (key, group) in days {
                                    let v = value_of(
                                        key,
                                        std::slice::from_ref(group),
                                        &prepared,
                                        config,
                                    );
                                    tally.earned += v.figures.earned_credit;
                                    tally.lost += v.figures.lost_credit;
                                    *tally.counts.entry((v.status, v.reason)).or_default() += 1;
                                }
                            }
                            tally
                        })
                    })
                    .collect();
                workers
                    .into_iter()
                    .map(|w| w.join().map_err(|_| "an engine thread panicked"))
                    .collect()
            });
            let tallies = tallies?;
            engine += started.elapsed();
            for t in tallies {
                earned += t.earned;
                lost += t.lost;
                for (k, n) in t.counts {
                    *counts.entry(k).or_default() += n;
                }
            }
            batch.clear();
        }
    }
    if let Some((mut rd, mut asg)) = writers {
        rd.flush()?;
        asg.flush()?;
    }
    let seconds = engine.as_secs_f64();
    let counts: BTreeMap<String, u64> = counts
        .into_iter()
        .map(|((status, reason), n)| {
            let reason = reason.map(|r| r.code()).unwrap_or("");
            (format!("{}/{reason}", status.code()), n)
        })
        .collect();
    let full = counts
        .iter()
        .filter(|(k, _)| k.starts_with("FULL/"))
        .map(|(_, v)| v)
        .sum::<u64>();
    Ok(json!({
        "threads": threads,
        "resourceDays": days_done,
        "intervals": intervals_made,
        "customers": customers,
        "seconds": seconds,
        "resourceDaysPerSecond": days_done as f64 / seconds,
        "full": full,
        "counts": counts,
        "earned": fmt_amount(earned),
        "lost": fmt_amount(lost),
        "rate": fmt_amount(config.rate_on(first_day)),
    }))
}
