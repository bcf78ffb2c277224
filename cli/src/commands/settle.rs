//! `pec settle --through DATE [--from DATE] [--now TIME]`: settles the resource-days of the
//! window into the ledger and prints the run's summary.

use super::{print_json, Context};
use crate::{progress, ExitStatus, Failure};
use chrono::{DateTime, NaiveDate, Utc};
use pec_ledger::settle::{settle_with_progress, SettleOptions};

/// The arguments of `pec settle`.
#[derive(clap::Args)]
pub struct SettleArgs {
    /// Last usage date to settle (inclusive), YYYY-MM-DD.
    #[arg(long)]
    through: NaiveDate,
    /// First usage date (inclusive); default: the look-back window (45 days) before --through.
    #[arg(long)]
    from: Option<NaiveDate>,
    /// The run's clock (RFC 3339); default: now.
    #[arg(long)]
    now: Option<DateTime<Utc>>,
}

pub fn run(ctx: &Context, args: SettleArgs) -> Result<ExitStatus, Failure> {
    let SettleArgs { through, from, now } = args;
    if let Some(f) = from {
        if f > through {
            return Err(Failure::usage("--from is after --through"));
        }
    }
    let config = ctx.config()?;
    let backend = ctx.backend()?;
    backend.prepare_for_settlement()?;
    let store = backend.store();
    let opts = SettleOptions::new(&config, through, from, now.unwrap_or_else(Utc::now));
    let bar = progress::settling();
    let summary = settle_with_progress(store, &config, &opts, &mut progress::track(&bar));
    bar.finish_and_clear();
    let summary = summary?;
    say!(
        "settled {} resource-day(s) of {} customer(s) from {} through {}: {} entr(ies) appended",
        summary.resource_days,
        summary.customers,
        opts.from,
        opts.through,
        summary.entries_appended
    );
    print_json(&summary)?;
    Ok(ExitStatus::Success)
}
