//! `pec demo`: a realistic example through the whole pipeline — generate, upload, post, settle,
//! verify — and the statement of the first partner (printed as JSON, and written beside the data
//! as `statement.html`, `.pdf`, `.csv`, `.xlsx` and `.json`).

use crate::{ExitStatus, Failure};
use chrono::{DateTime, NaiveDate, Utc};
use pec_embedded::SqliteStore;
use pec_generate::{generate, GenerateOptions};
use pec_ledger::config::Config;
use pec_ledger::decimal::fmt_amount;
use pec_ledger::ingest::{ingest_usage_file, post_snapshot_watched, SnapshotStatus, UploadStatus};
use pec_ledger::settle::{settle_with_progress, SettleOptions};
use pec_ledger::statement::{render_csv, statement_from_store, Month};
use pec_render::html::render_html;
use pec_render::xlsx::render_xlsx;
use std::path::{Path, PathBuf};

const MARKER: &str = ".pec-demo";

fn at(text: &str) -> Result<DateTime<Utc>, Failure> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(Failure::internal)
}

/// Refuses `dir` (named by `flag`) unless it is new, empty, or made by an earlier demo.
fn check(dir: &Path, flag: &str) -> Result<(), Failure> {
    if dir.is_file() {
        return Err(Failure::usage(format!(
            "{flag} {}: is a file; give a directory",
            dir.display()
        )));
    }
    if dir.exists() && !dir.join(MARKER).exists() {
        let empty = std::fs::read_dir(dir)
            .map_err(Failure::internal)?
            .next()
            .is_none();
        if !empty {
            return Err(Failure::usage(format!(
                "{flag} {}: exists, holds other files and was not made by pec demo (which \
                 recreates it on each run); choose an empty or new directory",
                dir.display()
            )));
        }
    }
    Ok(())
}

/// Makes `dir` (already [`check`]ed) an empty directory marked as the demo's.
fn prepare(dir: &Path) -> Result<(), Failure> {
    if dir.join(MARKER).exists() {
        std::fs::remove_dir_all(dir).map_err(Failure::internal)?;
    }
    std::fs::create_dir_all(dir).map_err(Failure::internal)?;
    std::fs::write(
        dir.join(MARKER),
        "made by pec demo; recreated on each run\n",
    )
    .map_err(Failure::internal)
}

/// The arguments of `pec demo`.
#[derive(clap::Args)]
pub struct DemoArgs {
    /// Working directory of the demo (its data and generated inputs); recreated on each run.
    #[arg(long, default_value = "./pec-demo")]
    dir: PathBuf,
    /// Seed of the generated example (the same seed gives the same figures).
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

pub fn run(args: DemoArgs, data_dir: Option<&Path>) -> Result<ExitStatus, Failure> {
    let DemoArgs { dir, seed } = args;
    let dir = dir.as_path();
    // Checked before anything is written: neither directory may hold someone else's files.
    if let Some(d) = data_dir {
        check(d, "--data-dir")?;
    }
    check(dir, "--dir")?;
    prepare(dir)?;
    let start = NaiveDate::from_ymd_opt(2026, 9, 1).ok_or_else(|| Failure::internal("bad date"))?;
    let options = GenerateOptions {
        seed,
        partners: 2,
        customers_per_partner: 4,
        subscriptions_per_customer: 2,
        resources_per_subscription: 6,
        start,
        days: 30,
        snapshot_interval_hours: 6,
        gzip: false,
    };
    let inputs = dir.join("inputs");
    let set = generate(&options, &inputs).map_err(Failure::internal)?;
    say!(
        "generated {} usage rows and {} snapshots in {}",
        set.usage_rows,
        set.snapshots,
        inputs.display()
    );

    let data = match data_dir {
        Some(d) => {
            prepare(d)?;
            d.to_path_buf()
        }
        None => dir.join("data"),
    };
    let store = SqliteStore::open_dir(&data)?;
    let config = Config::default();
    let received = at("2026-10-01T01:00:00Z")?;
    let inputs: usize = set
        .partners
        .iter()
        .map(|p| p.usage_files.len() + p.snapshot_files.len())
        .sum();
    let bar = crate::progress::items(inputs as u64, "uploading and posting", "inputs");
    for p in &set.partners {
        let mut accepted = 0;
        for file in &p.usage_files {
            let input = std::fs::File::open(file).map_err(Failure::internal)?;
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let receipt = ingest_usage_file(
                &store,
                &config,
                &p.partner_id,
                &name,
                std::io::BufReader::new(input),
                received,
            )?;
            if receipt.status == UploadStatus::Rejected {
                return Err(Failure::internal(format!(
                    "generated file {} was rejected: {:?}",
                    file.display(),
                    receipt.errors
                )));
            }
            accepted += 1;
            bar.inc(1);
        }
        let (mut posted, mut alerts) = (0, 0);
        for file in &p.snapshot_files {
            let body = std::fs::read(file).map_err(Failure::internal)?;
            let watched = post_snapshot_watched(&store, &config, &p.partner_id, &body, received)?;
            alerts += watched
                .events
                .iter()
                .filter(|e| e.event_type == pec_ledger::alerts::EventType::AccessLost)
                .count();
            let receipt = watched.receipt;
            if !matches!(
                receipt.status,
                SnapshotStatus::Accepted | SnapshotStatus::Duplicate
            ) {
                return Err(Failure::internal(format!(
                    "generated snapshot {} was rejected: {:?}",
                    file.display(),
                    receipt.errors
                )));
            }
            posted += 1;
            bar.inc(1);
        }
        bar.suspend(|| {
            say!(
                "partner {} ({}): {accepted} usage files uploaded, {posted} snapshots posted, \
                 {alerts} access-lost alert(s) raised (pec alerts --partner {})",
                p.partner_name,
                p.partner_id,
                p.partner_id
            )
        });
    }
    bar.finish_and_clear();

    let through =
        NaiveDate::from_ymd_opt(2026, 9, 30).ok_or_else(|| Failure::internal("bad date"))?;
    let run = SettleOptions::new(&config, through, Some(start), at("2026-10-01T02:00:00Z")?);
    let bar = crate::progress::settling();
    let summary = settle_with_progress(&store, &config, &run, &mut crate::progress::track(&bar));
    bar.finish_and_clear();
    let summary = summary?;
    say!(
        "settled {} resource-days: {} entries appended",
        summary.resource_days,
        summary.entries_appended
    );
    for (currency, c) in &summary.credit_by_currency {
        say!(
            "    {currency}: earned {} / lost {}",
            fmt_amount(c.earned_credit_delta),
            fmt_amount(c.lost_credit_delta)
        );
    }
    let report = pec_ledger::verify::verify(&store)?;
    say!(
        "verify: {} entries, {} breaks",
        report.entries,
        report.break_count
    );

    let partner = set
        .partners
        .first()
        .ok_or_else(|| Failure::internal("no partner generated"))?;
    let month = Month::parse("2026-09").map_err(Failure::internal)?;
    let statement = statement_from_store(
        &store,
        &partner.partner_id,
        month,
        at("2026-10-02T00:00:00Z")?,
    )?;
    for c in &statement.currencies {
        say!(
            "{} {}: eligible {} earned {} lost {} Microsoft applied {} variance {}",
            statement.month,
            c.currency,
            fmt_amount(c.totals.eligible_amount),
            fmt_amount(c.totals.earned_credit),
            fmt_amount(c.totals.lost_credit),
            fmt_amount(c.totals.microsoft_credit),
            fmt_amount(c.totals.variance)
        );
        for (reason, amount) in &c.lost_credit_by_reason {
            say!("    lost {amount} {}: {reason}", c.currency);
        }
    }
    let json = serde_json::to_string_pretty(&statement).map_err(Failure::internal)? + "\n";
    let files: [(&str, Vec<u8>); 5] = [
        ("statement.json", json.clone().into_bytes()),
        ("statement.csv", render_csv(&statement).into_bytes()),
        ("statement.html", render_html(&statement).into_bytes()),
        (
            "statement.xlsx",
            render_xlsx(&statement).map_err(Failure::internal)?,
        ),
        ("statement.pdf", pec_render::pdf::render_pdf(&statement)),
    ];
    for (name, bytes) in &files {
        let path = dir.join(name);
        std::fs::write(&path, bytes)
            .map_err(|e| Failure::internal(format!("{}: {e}", path.display())))?;
    }
    say!(
        "statement of {} for 2026-09 written to {} (open it in a browser and print it), and as .pdf, .csv, .xlsx and .json beside it",
        partner.partner_id,
        dir.join("statement.html").display()
    );
    say!(
        "explore: pec --data-dir {} statement --partner {} --month 2026-09 --format csv",
        data.display(),
        partner.partner_id
    );
    super::write_stdout(&json)?;
    Ok(if report.ok {
        ExitStatus::Success
    } else {
        ExitStatus::VerificationFailed
    })
}
