//! `pec statement --partner P --month YYYY-MM [--format json|csv|html|xlsx] [--as-of TIME]
//! [--out FILE]`: a partner's monthly statement, on stdout or in a file.

use super::{validate_partner, write_stdout_bytes, Context};
use crate::{ExitStatus, Failure};
use chrono::{DateTime, Utc};
use clap::ValueEnum;
use pec_ledger::statement::{render_csv, statement_from_store, Month, Statement};
use pec_render::html::render_html;
use pec_render::xlsx::render_xlsx;
use std::io::IsTerminal;
use std::path::PathBuf;

/// The arguments of `pec statement`.
#[derive(clap::Args)]
pub struct StatementArgs {
    #[arg(long)]
    partner: String,
    /// YYYY-MM
    #[arg(long)]
    month: String,
    /// json, csv (opens in Excel as is), html (a printable A4 page with charts) or xlsx (an
    /// Excel workbook; needs --out, or stdout redirected to a file or pipe).
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// Only entries posted by then (RFC 3339); default: now.
    #[arg(long)]
    as_of: Option<DateTime<Utc>>,
    /// Write here instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Json,
    Csv,
    Html,
    Xlsx,
}

pub fn run(ctx: &Context, args: StatementArgs) -> Result<ExitStatus, Failure> {
    let StatementArgs {
        partner,
        month,
        format,
        as_of,
        out,
    } = args;
    let partner = validate_partner(&partner)?;
    let month = Month::parse(&month).map_err(Failure::usage)?;
    if matches!(format, Format::Xlsx) && out.is_none() && std::io::stdout().is_terminal() {
        return Err(Failure::usage(
            "--format xlsx writes a binary workbook: give --out FILE, or redirect stdout to a file",
        ));
    }
    let store = ctx.store()?;
    let statement = statement_from_store(store, &partner, month, as_of.unwrap_or_else(Utc::now))?;
    let bytes = render(&statement, format)?;
    match out {
        Some(path) => {
            std::fs::write(&path, bytes)
                .map_err(|e| Failure::internal(format!("{}: {e}", path.display())))?;
            say!("statement written to {}", path.display());
        }
        None => write_stdout_bytes(&bytes)?,
    }
    Ok(ExitStatus::Success)
}

/// The statement in one of its formats, as the bytes to write.
fn render(statement: &Statement, format: Format) -> Result<Vec<u8>, Failure> {
    Ok(match format {
        Format::Json => (serde_json::to_string_pretty(statement).map_err(Failure::internal)?
            + "\n")
            .into_bytes(),
        Format::Csv => render_csv(statement).into_bytes(),
        Format::Html => render_html(statement).into_bytes(),
        Format::Xlsx => render_xlsx(statement).map_err(Failure::internal)?,
    })
}
