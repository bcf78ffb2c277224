//! `pec statement --partner P --month YYYY-MM [--customer C] [--reseller MPN]
//! [--format json|csv|html|xlsx|pdf] [--as-of TIME] [--out FILE]`: a partner's monthly statement (or
//! one customer's, or one reseller's), on stdout or in a file.

use super::{validate_mpn_id, validate_partner, validate_tenant, write_stdout_bytes, Context};
use crate::backend::StoreKind;
use crate::{ExitStatus, Failure};
use chrono::{DateTime, Utc};
use clap::ValueEnum;
use pec_ledger::statement::{
    render_csv, scoped_statement_from_store, Month, Statement, StatementScope,
};
use pec_render::html::render_html;
use pec_render::pdf::render_pdf;
use pec_render::xlsx::render_xlsx;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// The arguments of `pec statement`.
#[derive(clap::Args)]
pub struct StatementArgs {
    /// The partner's tenant id (a GUID, e.g. 7a3c0000-0000-4000-8000-000000000001).
    #[arg(long)]
    partner: String,
    /// YYYY-MM
    #[arg(long)]
    month: String,
    /// Only this customer's resource-days (its tenant id, a GUID): a statement to hand to the
    /// customer.
    #[arg(long, value_name = "GUID")]
    customer: Option<String>,
    /// Only the resource-days of this reseller (an indirect provider's Tier-2 partner, by its
    /// MPN ID, digits): a statement to hand to the reseller.
    #[arg(long, value_name = "MPN")]
    reseller: Option<String>,
    /// json, csv (opens in Excel as is), html (a printable A4 page with charts), xlsx (an Excel
    /// workbook) or pdf (A4 pages of text, no charts). xlsx and pdf need --out, or stdout
    /// redirected to a file or pipe.
    #[arg(long, value_enum, default_value_t = Format::Json)]
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
    Json,
    Csv,
    Html,
    Xlsx,
    Pdf,
}

pub fn run(ctx: &Context, args: StatementArgs) -> Result<ExitStatus, Failure> {
    let StatementArgs {
        partner,
        month,
        customer,
        reseller,
        format,
        as_of,
        out,
    } = args;
    let partner = validate_partner(&partner)?;
    let scope = StatementScope {
        customer_id: customer
            .map(|c| validate_tenant("--customer", &c))
            .transpose()?,
        reseller_mpn_id: reseller
            .map(|r| validate_mpn_id("--reseller", &r))
            .transpose()?,
        ..Default::default()
    };
    let month = Month::parse(&month).map_err(|_| {
        Failure::usage(format!(
            "--month {month}: not a month (expected YYYY-MM, e.g. 2026-09)"
        ))
    })?;
    let binary = match format {
        Format::Xlsx => Some("xlsx writes a binary workbook"),
        Format::Pdf => Some("pdf writes a binary document"),
        _ => None,
    };
    if let Some(what) = binary.filter(|_| out.is_none() && std::io::stdout().is_terminal()) {
        return Err(Failure::usage(format!(
            "--format {what}: give --out FILE, or redirect stdout to a file"
        )));
    }
    if let (Some(path), StoreKind::Sqlite) = (&out, ctx.kind) {
        refuse_inside_data_dir(path, &ctx.data_dir)?;
    }
    let as_of = super::as_of_and_month(as_of, month)?;
    let store = ctx.existing_store()?;
    let statement = scoped_statement_from_store(store, &partner, month, as_of, &scope)?;
    if statement.currencies.is_empty() {
        let of = match (&scope.customer_id, &scope.reseller_mpn_id) {
            (None, None) => String::new(),
            (c, r) => format!(
                "{}{}",
                c.as_ref()
                    .map(|c| format!(" customer {c}"))
                    .unwrap_or_default(),
                r.as_ref()
                    .map(|r| format!(" reseller {r}"))
                    .unwrap_or_default()
            ),
        };
        say!(
            "warning: the ledger has no entries of partner {partner}{of} for {month}: check \
             --partner, --customer, --reseller and --month (the statement is empty)"
        );
    }
    let bytes = render(&statement, format)?;
    match out {
        Some(path) => {
            write_file_atomically(&path, &bytes)?;
            say!("statement written to {}", path.display());
        }
        None => write_stdout_bytes(&bytes)?,
    }
    Ok(ExitStatus::Success)
}

/// `--out` may not point into the data directory: the ledger and its files live there, and a
/// statement written over `pec.db` would destroy it.
pub(super) fn refuse_inside_data_dir(out: &Path, data_dir: &Path) -> Result<(), Failure> {
    // Compare real paths: the output's directory (it must exist) and the data directory.
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let (Ok(parent), Ok(data)) = (parent.canonicalize(), data_dir.canonicalize()) else {
        return Ok(()); // no such directory: the write names it; no data directory: nothing to harm
    };
    let is_data_dir = out.canonicalize().is_ok_and(|o| o.starts_with(&data));
    if is_data_dir || parent.starts_with(&data) {
        return Err(Failure::usage(format!(
            "--out {}: inside the data directory {}; write statements elsewhere",
            out.display(),
            data_dir.display()
        )));
    }
    Ok(())
}

/// Writes `bytes` to a temporary file beside `path` and renames it into place: a failed or
/// interrupted write never leaves half a statement, nor replaces a good file with one.
pub(super) fn write_file_atomically(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let io = |e: std::io::Error| Failure::internal(format!("{}: {e}", path.display()));
    let name = path
        .file_name()
        .ok_or_else(|| Failure::usage(format!("--out {}: not a file name", path.display())))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.partial", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let written = std::fs::write(&tmp, bytes).and_then(|_| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    Ok(())
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
        Format::Pdf => render_pdf(statement),
    })
}
