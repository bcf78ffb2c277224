//! `pec verify`: re-computes every hash and every resource-day's sum and prints the report; a
//! break exits with [`ExitStatus::VerificationFailed`].

use super::{print_json, Context};
use crate::{ExitStatus, Failure};

/// `pec verify` (no arguments of its own).
pub fn run(ctx: &Context) -> Result<ExitStatus, Failure> {
    let store = ctx.existing_store()?;
    let report = pec_ledger::verify::verify(store)?;
    print_json(&report)?;
    if report.ok {
        say!(
            "ledger verified: {} entries, {} resource-days",
            report.entries,
            report.resource_days
        );
        Ok(ExitStatus::Success)
    } else {
        for b in &report.breaks {
            say!("BREAK {} entry {:?}: {}", b.resource_day, b.seq, b.problem);
        }
        Ok(ExitStatus::VerificationFailed)
    }
}
