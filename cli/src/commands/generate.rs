//! `pec generate --out DIR [--seed N …]`: example usage files and access snapshots,
//! deterministic by seed; prints what was written.

use super::print_json;
use crate::{ExitStatus, Failure};
use chrono::NaiveDate;
use std::path::PathBuf;

/// The arguments of `pec generate`.
#[derive(clap::Args)]
pub struct GenerateArgs {
    /// Directory to write into (usage/, snapshots/, manifest.json).
    #[arg(long)]
    out: PathBuf,
    /// Seed of every random choice: the same options give byte-identical files.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Number of partners.
    #[arg(long, default_value_t = 2)]
    partners: u32,
    /// Customers of each partner.
    #[arg(long, default_value_t = 4)]
    customers: u32,
    /// Azure subscriptions of each customer.
    #[arg(long, default_value_t = 2)]
    subscriptions: u32,
    /// Billed resources (VMs, sites, SQL databases, storage accounts) per subscription.
    #[arg(long, default_value_t = 6)]
    resources: u32,
    /// First usage day, YYYY-MM-DD.
    #[arg(long, default_value = "2026-09-01", value_parser = crate::commands::date_arg)]
    start: NaiveDate,
    /// Number of usage days (one usage file per partner per day).
    #[arg(long, default_value_t = 30)]
    days: u32,
    /// Hours between two access snapshots of a customer.
    #[arg(long, default_value_t = 6)]
    snapshot_hours: u32,
    /// Write .csv.gz instead of .csv.
    #[arg(long)]
    gzip: bool,
}

pub fn run(args: GenerateArgs) -> Result<ExitStatus, Failure> {
    let options = pec_generate::GenerateOptions {
        seed: args.seed,
        partners: args.partners,
        customers_per_partner: args.customers,
        subscriptions_per_customer: args.subscriptions,
        resources_per_subscription: args.resources,
        start: args.start,
        days: args.days,
        snapshot_interval_hours: args.snapshot_hours,
        gzip: args.gzip,
    };
    let set = pec_generate::generate(&options, &args.out).map_err(Failure::internal)?;
    say!(
        "generated {} usage row(s) and {} snapshot(s) in {}",
        set.usage_rows,
        set.snapshots,
        args.out.display()
    );
    print_json(&set)?;
    Ok(ExitStatus::Success)
}
