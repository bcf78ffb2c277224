//! `pec claims --partner P --month YYYY-MM [--customer C] [--format csv|json|xlsx]
//! [--as-of TIME] [--out FILE]`: the claims pack, every settled resource-day of the month whose
//! earned credit exceeds the credit Microsoft applied by more than 0.01, with its evidence: the
//! file a partner attaches to a Partner Center support request.

use super::statement::{refuse_inside_data_dir, write_file_atomically};
use super::{validate_partner, validate_tenant, write_stdout_bytes, Context};
use crate::backend::StoreKind;
use crate::{ExitStatus, Failure};
use chrono::{DateTime, Utc};
use clap::ValueEnum;
use pec_ledger::claims::{claims_from_store, render_claims_csv, Claims};
use pec_ledger::decimal::fmt_amount;
use pec_ledger::statement::Month;
use pec_render::xlsx::claims::render_claims_xlsx;
use std::io::IsTerminal;
use std::path::PathBuf;

/// The arguments of `pec claims`.
#[derive(clap::Args)]
pub struct ClaimsArgs {
    /// The partner's tenant id (a GUID, e.g. 7a3c0000-0000-4000-8000-000000000001).
    #[arg(long)]
    partner: String,
    /// The month of usage dates, YYYY-MM.
    #[arg(long, value_parser = crate::commands::month_arg)]
    month: Month,
    /// Only this customer's resource-days (its tenant id, a GUID).
    #[arg(long, value_name = "GUID")]
    customer: Option<String>,
    /// csv (default; opens in Excel as is), json (exact decimal strings) or xlsx (an Excel
    /// workbook; needs --out, or stdout redirected to a file or pipe).
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    format: Format,
    /// Only entries posted by then (RFC 3339); default: now.
    #[arg(long, value_parser = crate::commands::time_arg)]
    as_of: Option<DateTime<Utc>>,
    /// Write here instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Csv,
    Json,
    Xlsx,
}

pub fn run(ctx: &Context, args: ClaimsArgs) -> Result<ExitStatus, Failure> {
    let ClaimsArgs {
        partner,
        month,
        customer,
        format,
        as_of,
        out,
    } = args;
    let partner = validate_partner(&partner)?;
    let customer = customer
        .map(|c| validate_tenant("--customer", &c))
        .transpose()?;
    if matches!(format, Format::Xlsx) && out.is_none() && std::io::stdout().is_terminal() {
        return Err(Failure::usage(
            "--format xlsx writes a binary workbook: give --out FILE, or redirect stdout to a file",
        ));
    }
    if let (Some(path), StoreKind::Sqlite) = (&out, ctx.kind) {
        refuse_inside_data_dir(path, &ctx.data_dir)?;
    }
    let store = ctx.existing_store()?;
    let config = ctx.config()?;
    let as_of = super::as_of_and_month(as_of, month)?;
    let claims = claims_from_store(store, &config, &partner, month, as_of, customer.as_deref())?;
    warn(&claims, month, as_of);
    let bytes = match format {
        Format::Csv => render_claims_csv(&claims).into_bytes(),
        Format::Json => {
            (serde_json::to_string_pretty(&claims).map_err(Failure::internal)? + "\n").into_bytes()
        }
        Format::Xlsx => render_claims_xlsx(&claims).map_err(Failure::internal)?,
    };
    match out {
        Some(path) => {
            write_file_atomically(&path, &bytes)?;
            say!("claims written to {}", path.display());
        }
        None => write_stdout_bytes(&bytes)?,
    }
    Ok(ExitStatus::Success)
}

/// What the operator should know: an empty pack and why it may be, a month not over yet, and
/// the totals to claim.
fn warn(claims: &Claims, month: Month, as_of: DateTime<Utc>) {
    let of = claims
        .customer_id
        .as_ref()
        .map(|c| format!(" customer {c}"))
        .unwrap_or_default();
    if month.next().start() > as_of {
        say!(
            "note: {month} is not over (as of {as_of}): the pack lists the resource-days settled \
             so far"
        );
    }
    if claims.resource_days_settled == 0 {
        say!(
            "warning: the ledger has no entries of partner {}{of} for {month}: check --partner, \
             --customer and --month, and that `pec settle` ran (the claims pack is empty)",
            claims.partner_id
        );
        return;
    }
    if claims.resource_days.is_empty() {
        say!(
            "nothing to claim: none of the {} settled resource-day(s) of partner {}{of} in \
             {month} earned more than Microsoft applied (by more than {})",
            claims.resource_days_settled,
            claims.partner_id,
            fmt_amount(claims.threshold)
        );
        return;
    }
    for t in &claims.totals_by_currency {
        say!(
            "{} resource-day(s) to claim: {} {}",
            t.resource_days,
            t.currency,
            fmt_amount(t.difference)
        );
    }
}
