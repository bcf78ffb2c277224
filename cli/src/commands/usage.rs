//! `pec usage upload FILE --partner P [--mpn-id MPN]`: ingests one usage file (a Partner Center
//! daily rated usage file, an Azure Cost Management cost-details export or a FOCUS export, CSV,
//! optionally gzip) and prints its receipt; a rejected file exits with
//! [`ExitStatus::InputRejected`].

use super::{print_json, validate_mpn_id, validate_partner, Context};
use crate::{progress, ExitStatus, Failure};
use chrono::Utc;
use clap::Subcommand;
use pec_ledger::ingest::{ingest_usage_file_with, UploadStatus};
use pec_ledger::usage::{detect_usage_format, ReadOptions};
use std::io::Read;
use std::path::PathBuf;

/// How much of stdin is read first to tell the file's format from its header.
const STDIN_PEEK: usize = 256 * 1024;

#[derive(Subcommand)]
pub enum UsageCommand {
    /// Ingest one usage file (CSV, optionally gzip): a Partner Center daily rated usage file, an
    /// Azure Cost Management cost-details export or a FOCUS export (told from the header);
    /// prints the receipt.
    Upload {
        /// The usage file (CSV, or CSV compressed with gzip), or - to read it from stdin.
        file: PathBuf,
        /// The partner's tenant id (a GUID, e.g. 7a3c0000-0000-4000-8000-000000000001).
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
    let mpn_id = mpn_id
        .map(|m| validate_mpn_id("--mpn-id", &m))
        .transpose()?;
    if file.is_dir() {
        return Err(Failure::usage(format!(
            "{} is a directory: give one usage file",
            file.display()
        )));
    }
    let config = ctx.config()?;
    let stdin = file.as_os_str() == "-";
    let open = || {
        std::fs::File::open(&file)
            .map(std::io::BufReader::new)
            .map_err(|e| Failure::usage(format!("{}: {e}", file.display())))
    };
    // From stdin the format is told from the first bytes read, which are then read again.
    let mut head = Vec::new();
    if stdin {
        std::io::stdin()
            .lock()
            .take(STDIN_PEEK as u64)
            .read_to_end(&mut head)
            .map_err(Failure::internal)?;
    }
    let format = if stdin {
        detect_usage_format(std::io::Cursor::new(&head))
    } else {
        detect_usage_format(open()?)
    };
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
    let name = if stdin {
        "stdin".to_string()
    } else {
        file.file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default()
    };
    let options = ReadOptions {
        partner_id: partner.clone(),
        mpn_id,
    };
    let file_len = if stdin {
        0
    } else {
        std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0)
    };
    let bar = progress::bytes(file_len, &name);
    let input: Box<dyn Read> = if stdin {
        Box::new(std::io::Cursor::new(head).chain(std::io::stdin().lock()))
    } else {
        Box::new(
            std::fs::File::open(&file)
                .map_err(|e| Failure::usage(format!("{}: {e}", file.display())))?,
        )
    };
    let input = std::io::BufReader::new(bar.wrap_read(input));
    let receipt = ingest_usage_file_with(store, &config, &options, &name, input, Utc::now());
    bar.finish_and_clear();
    let receipt = receipt?;
    print_json(&receipt)?;
    for w in &receipt.warnings {
        say!("warning: {}: {w}", file.display());
    }
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
