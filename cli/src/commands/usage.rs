//! `pec usage upload FILE --partner P [--mpn-id MPN]`: ingests one usage file (a Partner Center
//! daily rated usage file, an Azure Cost Management cost-details export or a FOCUS export, CSV,
//! optionally gzip) and prints its receipt; a rejected file exits with
//! [`ExitStatus::InputRejected`].

use super::{print_json, validate_partner, Context};
use crate::{progress, ExitStatus, Failure};
use chrono::Utc;
use clap::Subcommand;
use pec_ledger::ingest::{ingest_usage_file_with, UploadStatus};
use pec_ledger::usage::{detect_usage_format, ReadOptions};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum UsageCommand {
    /// Ingest one usage file (CSV, optionally gzip): a Partner Center daily rated usage file, an
    /// Azure Cost Management cost-details export or a FOCUS export (told from the header);
    /// prints the receipt.
    Upload {
        file: PathBuf,
        #[arg(long)]
        partner: String,
        /// The partner's own MPN ID (the DRU's MpnId), which Cost Management and FOCUS exports
        /// do not carry: required for them, ignored for daily rated usage files.
        #[arg(long, value_name = "MPN")]
        mpn_id: Option<String>,
    },
}

pub fn run(ctx: &Context, command: UsageCommand) -> Result<ExitStatus, Failure> {
    match command {
        UsageCommand::Upload {
            file,
            partner,
            mpn_id,
        } => upload(ctx, file, &partner, mpn_id),
    }
}

/// `pec usage upload`.
fn upload(
    ctx: &Context,
    file: PathBuf,
    partner: &str,
    mpn_id: Option<String>,
) -> Result<ExitStatus, Failure> {
    let partner = validate_partner(partner)?;
    if file.is_dir() {
        return Err(Failure::usage(format!(
            "{} is a directory: give one usage file",
            file.display()
        )));
    }
    let config = ctx.config()?;
    let open = || {
        std::fs::File::open(&file)
            .map(std::io::BufReader::new)
            .map_err(|e| Failure::usage(format!("{}: {e}", file.display())))
    };
    let format = detect_usage_format(open()?);
    let mpn_id = mpn_id
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty());
    if format.needs_mpn_id() && mpn_id.is_none() {
        return Err(Failure::usage(format!(
            "{} is {}, which has no MpnId column: give the partner's own MPN ID with --mpn-id",
            file.display(),
            format.describe()
        )));
    }
    if !format.needs_mpn_id() && mpn_id.is_some() {
        say!("--mpn-id is ignored: a daily rated usage file carries its own MpnId");
    }
    let store = ctx.store()?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let options = ReadOptions {
        partner_id: partner.clone(),
        mpn_id,
    };
    let file_len = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    let bar = progress::bytes(file_len, &name);
    let input = std::fs::File::open(&file)
        .map(|f| std::io::BufReader::new(bar.wrap_read(f)))
        .map_err(|e| Failure::usage(format!("{}: {e}", file.display())))?;
    let receipt = ingest_usage_file_with(store, &config, &options, &name, input, Utc::now());
    bar.finish_and_clear();
    let receipt = receipt?;
    print_json(&receipt)?;
    match receipt.status {
        UploadStatus::Rejected => {
            say!(
                "rejected: {} error(s) in {}; nothing was kept",
                receipt.error_count,
                file.display()
            );
            Ok(ExitStatus::InputRejected)
        }
        UploadStatus::Duplicate => {
            say!("duplicate of upload {}: nothing changed", receipt.upload_id);
            Ok(ExitStatus::Success)
        }
        UploadStatus::Accepted => {
            say!(
                "accepted {} row(s) of {} as upload {}",
                receipt.rows,
                format.describe(),
                receipt.upload_id
            );
            Ok(ExitStatus::Success)
        }
    }
}
