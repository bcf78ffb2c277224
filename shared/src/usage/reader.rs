//! The reader's entry points: [`UsageFormat`], [`ReadOptions`], [`read_usage_file`] and its
//! variants, [`detect_usage_format`], and the parse loop over the CSV records of a DRU file.

use super::chain::{read_up_to, BomStripper, Decoded, HashingReader, LineTracker};
use super::columns::read_header;
use super::export;
use super::line::{UsageLine, UsageLineView};
use super::report::{Errors, UsageFileReport};
use super::row::{check_row, Normalised};
use crate::ids::normalize_guid;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{self, Read};

/// The kinds of usage file the reader takes, told apart by their header (see
/// [`detect_usage_format`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum UsageFormat {
    /// Partner Center daily rated usage, new commerce (SPEC 3.1).
    Dru,
    /// Azure Cost Management cost details of a partner (MCA) billing account.
    CostManagement,
    /// A FOCUS 1.x cost and usage export (Microsoft's, with its `x_` columns).
    Focus,
}

impl UsageFormat {
    /// A name for messages.
    pub fn describe(self) -> &'static str {
        match self {
            UsageFormat::Dru => "a daily rated usage file",
            UsageFormat::CostManagement => "an Azure Cost Management cost-details export",
            UsageFormat::Focus => "a FOCUS cost export",
        }
    }

    /// Whether the format lacks the partner's own `MpnId`, which must then be given in
    /// [`ReadOptions::mpn_id`].
    pub fn needs_mpn_id(self) -> bool {
        !matches!(self, UsageFormat::Dru)
    }
}

/// What the reader needs besides the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// The uploading partner's tenant id: every row's partner must be this one
    /// (`TENANT_MISMATCH`), and rows of formats that do not name the partner belong to it.
    pub partner_id: String,
    /// The partner's own MPN ID (the DRU's `MpnId`), required for the formats that do not carry
    /// it (Cost Management, FOCUS); ignored for DRU files, whose rows carry their own.
    pub mpn_id: Option<String>,
}

impl ReadOptions {
    /// Options for a partner, without an MPN ID.
    pub fn for_partner(partner_id: &str) -> Self {
        ReadOptions {
            partner_id: partner_id.to_string(),
            mpn_id: None,
        }
    }
}

/// Streams a usage file — plain or gzip (detected from the magic bytes), UTF-8 with or without
/// BOM — validating every row. Each valid row is handed to `on_line` in file order while no
/// error has been seen; after the first error the rest is only validated and counted. The file
/// is accepted only if the report has `error_count == 0`. `Err` only when `on_line` fails.
///
/// Problems of the file as a whole are errors too: a missing or duplicated header (line 1,
/// naming the column; no row is read then), an empty file, and a read error, corrupt or
/// truncated gzip data or an over-long record (one error on the line reached; reading stops).
/// The rest of the input is still read, so `sha256` and `bytes` always cover all of it.
///
/// The same as [`read_usage_file_with`] without an MPN ID: a Cost Management or FOCUS export is
/// rejected (line 1, column `MpnId`).
pub fn read_usage_file<R: Read, E>(
    input: R,
    partner_id: &str,
    on_line: impl FnMut(UsageLine) -> Result<(), E>,
) -> Result<UsageFileReport, E> {
    read_usage_file_with(input, &ReadOptions::for_partner(partner_id), on_line)
}

/// [`read_usage_file`] for any [`UsageFormat`]: the format is detected from the header
/// ([`detect_usage_format`]); exports without `MpnId` take it from `options.mpn_id`.
pub fn read_usage_file_with<R: Read, E>(
    input: R,
    options: &ReadOptions,
    mut on_line: impl FnMut(UsageLine) -> Result<(), E>,
) -> Result<UsageFileReport, E> {
    read_usage_rows(input, options, |row| on_line(row.to_line()))
}

/// [`read_usage_file_with`], handing each valid row over borrowed ([`UsageLineView`]) instead of
/// as an owned [`UsageLine`]: what ingestion uses, as it keeps only sums per resource-day.
pub fn read_usage_rows<R: Read, E>(
    input: R,
    options: &ReadOptions,
    mut on_line: impl FnMut(&UsageLineView<'_>) -> Result<(), E>,
) -> Result<UsageFileReport, E> {
    let mut source = HashingReader {
        inner: input,
        hasher: Sha256::new(),
        bytes: 0,
    };
    let mut errors = Errors::default();
    let context = Context {
        partner: normalize_guid(&options.partner_id),
        mpn_id: options
            .mpn_id
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(str::to_string),
    };
    let progress = parse(&mut source, &context, &mut errors, &mut on_line)?;
    // The parser stops early on a fatal error; the hash must still cover every byte.
    if let Err(e) = io::copy(&mut source, &mut io::sink()) {
        if errors.count == 0 {
            errors.add(progress.line, "", "", || read_error_message(&e));
        }
    }
    Ok(UsageFileReport {
        rows: progress.rows,
        error_count: errors.count,
        errors: errors.list,
        sha256: hex::encode(source.hasher.finalize()),
        bytes: source.bytes,
        warnings: errors.warnings,
    })
}

/// The reader's options, normalised.
pub(super) struct Context {
    /// Lower-cased, trimmed.
    pub(super) partner: String,
    /// Trimmed, non-empty.
    pub(super) mpn_id: Option<String>,
}

/// Where the parser stopped.
pub(super) struct Progress {
    /// Data rows read.
    pub(super) rows: u64,
    /// The line reached.
    pub(super) line: u64,
}

fn parse<R: Read, E>(
    source: &mut HashingReader<R>,
    context: &Context,
    errors: &mut Errors,
    on_line: &mut impl FnMut(&UsageLineView<'_>) -> Result<(), E>,
) -> Result<Progress, E> {
    let partner = context.partner.as_str();
    let mut normalised = Normalised::default();
    let mut progress = Progress { rows: 0, line: 1 };
    let mut magic = [0u8; 2];
    let n = match read_up_to(&mut *source, &mut magic) {
        Ok(n) => n,
        Err(e) => {
            errors.add(1, "", "", || read_error_message(&e));
            return Ok(progress);
        }
    };
    let raw = (&magic[..n]).chain(source);
    let decoded = if magic[..n] == [0x1f, 0x8b] {
        Decoded::Gzip(flate2::read::MultiGzDecoder::new(raw))
    } else {
        Decoded::Plain(raw)
    };
    let tracked = LineTracker::new(BomStripper::new(decoded));
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(64 * 1024)
        .from_reader(tracked);
    let mut record = csv::ByteRecord::new();

    let header = match next_record(&mut csv, &mut record) {
        Ok(Some(line)) => {
            progress.line = line;
            let format = format_of_header(&record);
            if format != UsageFormat::Dru {
                return export::read_rows(
                    format,
                    &mut csv,
                    &mut record,
                    progress,
                    context,
                    errors,
                    on_line,
                );
            }
            match read_header(&record, line, errors) {
                Some(header) => header,
                None => return Ok(progress),
            }
        }
        Ok(None) => {
            errors.add(1, "", "", || {
                "the file is empty: it has no header line".into()
            });
            return Ok(progress);
        }
        Err((line, message)) => {
            errors.add(line, "", "", || message);
            return Ok(progress);
        }
    };

    loop {
        match next_record(&mut csv, &mut record) {
            Ok(Some(line)) => {
                progress.rows += 1;
                progress.line = line;
                let Some(row) = check_row(&record, line, &header, partner, errors) else {
                    continue;
                };
                if errors.count == 0 {
                    on_line(&row.view(line, &mut normalised))?;
                }
            }
            Ok(None) => return Ok(progress),
            Err((line, message)) => {
                errors.add(line, "", "", || message);
                return Ok(progress);
            }
        }
    }
}

/// The format of a usage file, from its header (the first CSV record, after gunzipping and
/// dropping a byte-order mark); [`UsageFormat::Dru`] when the header is not recognised (or the
/// input cannot be read), so that such a file gets the DRU's "missing required header" errors.
///
/// Each format has header names only it uses: DRU `PartnerId`, `CustomerId`, `MpnId`,
/// `Tier2MpnId`, `UsageDate`, `ResourceURI`, `PartnerEarnedCreditPercentage`; Cost Management
/// `partnerTenantId`, `customerTenantId`, `partnerEarnedCreditRate`,
/// `partnerEarnedCreditApplied`, `billingProfileId`, `PayGPrice`, `paygCostInBillingCurrency`,
/// `costInBillingCurrency`, `resellerMpnId`; FOCUS `ChargePeriodStart`, `ChargeCategory`,
/// `BilledCost`, `ListCost`, `ListUnitPrice`, `EffectiveCost`, `PricingQuantity`,
/// `SubAccountId`, `x_CustomerId`, `x_PartnerCreditApplied`, `x_PartnerCreditRate` (names
/// compared case-insensitively). The format with the most of its names wins; a tie, or none,
/// is DRU.
pub fn detect_usage_format<R: Read>(mut input: R) -> UsageFormat {
    let mut magic = [0u8; 2];
    let Ok(n) = read_up_to(&mut input, &mut magic) else {
        return UsageFormat::Dru;
    };
    let raw = (&magic[..n]).chain(input);
    let decoded = if magic[..n] == [0x1f, 0x8b] {
        Decoded::Gzip(flate2::read::MultiGzDecoder::new(raw))
    } else {
        Decoded::Plain(raw)
    };
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(LineTracker::new(BomStripper::new(decoded)));
    let mut record = csv::ByteRecord::new();
    match next_record(&mut csv, &mut record) {
        Ok(Some(_)) => format_of_header(&record),
        _ => UsageFormat::Dru,
    }
}

/// See [`detect_usage_format`].
fn format_of_header(record: &csv::ByteRecord) -> UsageFormat {
    const DRU: [&str; 7] = [
        "PartnerId",
        "CustomerId",
        "MpnId",
        "Tier2MpnId",
        "UsageDate",
        "ResourceURI",
        "PartnerEarnedCreditPercentage",
    ];
    let mut counts = [0usize; 3];
    for raw in record.iter() {
        let Ok(name) = std::str::from_utf8(raw) else {
            continue;
        };
        let name = name.trim();
        let is = |names: &[&str]| names.iter().any(|n| n.eq_ignore_ascii_case(name));
        if is(&DRU) {
            counts[0] += 1;
        } else if is(export::COST_MANAGEMENT_MARKERS) {
            counts[1] += 1;
        } else if is(export::FOCUS_MARKERS) {
            counts[2] += 1;
        }
    }
    let [dru, cost_management, focus] = counts;
    if focus > dru && focus > cost_management {
        UsageFormat::Focus
    } else if cost_management > dru && cost_management >= focus {
        UsageFormat::CostManagement
    } else {
        UsageFormat::Dru
    }
}

/// Reads the next record; `Ok(Some(line))` gives its first file line, `Err` the line reached
/// and why the input cannot be read further.
pub(super) fn next_record<R: Read>(
    csv: &mut csv::Reader<LineTracker<R>>,
    record: &mut csv::ByteRecord,
) -> Result<Option<u64>, (u64, String)> {
    let start = csv.position().byte();
    csv.get_mut().begin_record(start);
    let result = csv.read_byte_record(record);
    let line = csv.get_mut().line_at(start);
    match result {
        Ok(true) => Ok(Some(line)),
        Ok(false) => Ok(None),
        Err(e) => match e.into_kind() {
            csv::ErrorKind::Io(e) => Err((line, read_error_message(&e))),
            other => Err((line, format!("malformed CSV: {other:?}"))),
        },
    }
}

pub(super) fn read_error_message(e: &io::Error) -> String {
    format!("the file cannot be read past this point: {e}")
}
