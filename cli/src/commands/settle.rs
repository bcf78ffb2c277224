//! `pec settle --through DATE [--from DATE] [--now TIME]`: settles the resource-days of the
//! window into the ledger and prints the run's summary. Only customer-dates whose inputs changed
//! since they were last settled are read again, unless `--full`.

use super::{print_json, Context};
use crate::{progress, ExitStatus, Failure};
use chrono::{DateTime, NaiveDate, Utc};
use pec_ledger::settle::{settle_with_progress, SettleOptions};

/// The arguments of `pec settle`.
#[derive(clap::Args)]
pub struct SettleArgs {
    /// Last usage date to settle (inclusive), YYYY-MM-DD.
    #[arg(long, value_parser = crate::commands::date_arg)]
    through: NaiveDate,
    /// First usage date (inclusive); default: the look-back window (45 days) before --through.
    #[arg(long, value_parser = crate::commands::date_arg)]
    from: Option<NaiveDate>,
    /// The run's clock (RFC 3339): `postedAt` of the entries and the month adjustments are
    /// posted in. At most 5 minutes ahead of this machine's clock; default: now.
    #[arg(long, value_parser = crate::commands::time_arg)]
    now: Option<DateTime<Utc>>,
    /// Decide every resource-day of the range again, changed or not (for audits, and after a
    /// release that changes the rules). Without it only customer-dates whose usage, snapshots
    /// or configuration changed since they were last settled are read.
    #[arg(long)]
    full: bool,
    /// About how many entries each transaction appends (default 5000). Smaller batches commit
    /// more often; a run killed half way keeps every batch it committed.
    #[arg(long, value_name = "N", default_value_t = pec_ledger::settle::BATCH_ENTRIES as u32,
          value_parser = clap::value_parser!(u32).range(1..))]
    batch_entries: u32,
}

pub fn run(ctx: &Context, args: SettleArgs) -> Result<ExitStatus, Failure> {
    let SettleArgs {
        through,
        from,
        now,
        full,
        batch_entries,
    } = args;
    if let Some(f) = from {
        if f > through {
            return Err(Failure::usage("--from is after --through"));
        }
    }
    let clock = Utc::now();
    if let Some(t) = now {
        if t > clock + chrono::Duration::minutes(5) {
            return Err(Failure::usage(format!(
                "--now {}: more than 5 minutes ahead of this machine's clock ({}); entries \
                 posted in the future would hide from statements until then",
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                clock.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )));
        }
    }
    let config = ctx.config()?;
    let backend = ctx.backend()?;
    backend.prepare_for_settlement()?;
    let store = backend.store();
    let clock_now = now.unwrap_or(clock);
    if let Some(latest) = store.latest_posting()? {
        if clock_now < latest {
            return Err(Failure::usage(format!(
                "--now {}: before the latest posting in this ledger ({}); a resource-day's \
                 postings never go backwards, so settle with a --now at or after it",
                clock_now.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                latest.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            )));
        }
    }
    let mut opts = SettleOptions::new(&config, through, from, clock_now);
    opts.full = full;
    opts.batch_entries = batch_entries as usize;
    let bar = progress::settling();
    let summary = settle_with_progress(store, &config, &opts, &mut progress::track(&bar));
    bar.finish_and_clear();
    let summary = summary?;
    say!(
        "settled {} resource-day(s) of {} customer(s) from {} through {} ({} customer-day(s) \
         unchanged since they were settled, not read): {} entr(ies) appended",
        summary.resource_days,
        summary.customers,
        opts.from,
        opts.through,
        summary.customer_days_unchanged,
        summary.entries_appended
    );
    print_json(&summary)?;
    Ok(ExitStatus::Success)
}
