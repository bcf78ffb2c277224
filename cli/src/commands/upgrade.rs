//! `pec --store aws upgrade`: the AWS tables from table format 1 (releases before 2026-12) to
//! format 2, in place (`aws/README.md`, "Upgrading tables"). The embedded store needs no command:
//! `pec.db` is upgraded when it is opened.

use super::Context;
use crate::backend::StoreKind;
use crate::{ExitStatus, Failure};
use clap::Args;

#[derive(Args, Debug)]
pub struct UpgradeArgs {
    /// After the copy has verified, delete the format 1 items (heads, indexes, staged rows,
    /// and the ledger's format 1 copies of the entries).
    #[arg(long = "remove-format-1")]
    pub remove_format1: bool,
}

pub fn run(ctx: &Context, args: UpgradeArgs) -> Result<ExitStatus, Failure> {
    if ctx.kind != StoreKind::Aws {
        return Err(Failure::usage(
            "upgrade is for the AWS tables (--store aws); the embedded store upgrades pec.db \
             itself when a command opens it",
        ));
    }
    run_aws(args)
}

#[cfg(feature = "aws")]
fn run_aws(args: UpgradeArgs) -> Result<ExitStatus, Failure> {
    let backend = crate::backend::Backend::open_aws(true)?;
    let store = backend
        .dynamo()
        .ok_or_else(|| Failure::internal("not the AWS store"))?;
    let report = store.upgrade(args.remove_format1)?;
    super::print_json(&report)?;
    match report.from_format {
        None => say!(
            "the tables were empty: marked table format {}",
            report.to_format
        ),
        Some(f) if f == report.to_format => say!(
            "the tables are already in table format {}{}",
            report.to_format,
            if args.remove_format1 {
                format!("; {} format 1 items removed", report.format1_items_removed)
            } else {
                String::new()
            }
        ),
        Some(f) => say!(
            "upgraded from table format {f} to {}: {} entries ({} copied now), {} usage sources, \
             {} snapshot counts; the format 2 ledger verified with {} entries{}",
            report.to_format,
            report.entries,
            report.entries_copied,
            report.usage_sources,
            report.snapshot_counts,
            report.verified_entries,
            if args.remove_format1 {
                format!("; {} format 1 items removed", report.format1_items_removed)
            } else {
                String::new()
            }
        ),
    }
    Ok(ExitStatus::Success)
}

#[cfg(not(feature = "aws"))]
fn run_aws(_: UpgradeArgs) -> Result<ExitStatus, Failure> {
    Err(Failure::usage(
        "--store aws: this pec was built without AWS support; build it with \
         `cargo build --release -p pec-cli --features aws`",
    ))
}
