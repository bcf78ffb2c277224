//! `pec explain --partner P --resource R --date DATE [--format json|text]`: why a resource earned
//! or lost PEC on a day, with the evidence.

use super::{print_json, validate_partner, write_stdout, Context};
use crate::{ExitStatus, Failure};
use chrono::NaiveDate;
use clap::ValueEnum;

/// The arguments of `pec explain`.
#[derive(clap::Args)]
pub struct ExplainArgs {
    /// The partner's tenant id (a GUID, e.g. 7a3c0000-0000-4000-8000-000000000001).
    #[arg(long)]
    partner: String,
    /// The resource id, as in the usage file's ResourceURI (any case; `pec resources` lists
    /// them), or the subscription (`/subscriptions/…`) for lines without one.
    #[arg(long)]
    resource: String,
    /// The usage date, YYYY-MM-DD.
    #[arg(long, value_parser = crate::commands::date_arg)]
    date: NaiveDate,
    /// json (default: the explanation with its evidence; the answer also goes to stderr) or
    /// text (the answer, in plain sentences, on stdout).
    #[arg(long, value_enum, default_value_t = ExplainFormat::Json)]
    format: ExplainFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum ExplainFormat {
    Json,
    Text,
}

pub fn run(ctx: &Context, args: ExplainArgs) -> Result<ExitStatus, Failure> {
    let ExplainArgs {
        partner,
        resource,
        date,
        format,
    } = args;
    let partner = validate_partner(&partner)?;
    let store = ctx.existing_store()?;
    let config = ctx.config()?;
    let explanation = pec_ledger::explain::explain(store, &config, &partner, &resource, date)?;
    if let ExplainFormat::Text = format {
        write_stdout(&pec_ledger::explain::render_text(&explanation))?;
        return Ok(ExitStatus::Success);
    }
    if explanation.resource_days.is_empty() {
        say!("no usage and no ledger entry for {resource} on {date}");
    }
    for r in &explanation.resource_days {
        say!("{} {}: {}", r.customer_id, r.currency, r.answer);
    }
    print_json(&explanation)?;
    Ok(ExitStatus::Success)
}
