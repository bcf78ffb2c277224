//! Daily rated usage files (SPEC 3.1): a streaming, all-or-nothing reader.
//!
//! The same reader also takes the exports partners already have, told apart by their header
//! ([`UsageFormat`]): Azure Cost Management cost details of a partner (MCA) billing account and
//! FOCUS 1.x cost exports. Their rows are mapped onto the same [`UsageLine`]s (module `export`;
//! the mapping table is in the README, "Inputs you already have").
//!
//! The input goes through a chain of readers, each holding at most a buffer:
//!
//! 1. `HashingReader`: SHA-256 and byte count of the bytes as uploaded;
//! 2. a gzip decoder when the first two bytes are the gzip magic `1f 8b`;
//! 3. `BomStripper`: drops a leading UTF-8 byte-order mark;
//! 4. `LineTracker`: keeps the file line numbers of record starts (the `csv` crate's own
//!    line counter is off after CRLF line ends and blank lines) and bounds a record's size;
//! 5. the `csv` crate's reader, into one reused [`csv::ByteRecord`].
//!
//! Memory therefore does not grow with the file: only with the longest record, which is capped
//! at [`MAX_RECORD_BYTES`].

use crate::decimal::{parse_decimal, parse_percentage};
use crate::ids::{normalize_guid, normalize_guid_into, usage_resource_key_into};
use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::io::{self, Read};

mod export;

/// How many errors a report lists; the total is always counted.
pub const MAX_REPORTED_ERRORS: usize = 100;

/// The longest record (one CSV row, with the blank lines before it) the reader accepts, in
/// decoded bytes. A longer one is almost surely an unclosed quote; the file is rejected there.
pub const MAX_RECORD_BYTES: u64 = 1 << 20;

/// The largest list amount (`|Quantity × UnitPrice|`) one line may have: 10^15 in its pricing
/// currency. A larger line is rejected, so that ingestion, settlement and statements can add up
/// lines (up to ~10^13 of them) within `Decimal`'s range (~7.9 × 10^28) instead of overflowing.
pub const MAX_LINE_AMOUNT: Decimal = Decimal::from_parts(0xA4C6_8000, 0x0003_8D7E, 0, false, 0);

/// The error of a line whose amount is above [`MAX_LINE_AMOUNT`].
fn amount_too_large(amount: Decimal) -> String {
    format!(
        "the line's amount (quantity × unit price) is {amount}, more than the \
         ±{MAX_LINE_AMOUNT} a usage line may have"
    )
}

/// How many characters of a bad value an error repeats.
const MAX_VALUE_CHARS: usize = 200;

/// One valid row of a usage file, normalised.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageLine {
    /// File line number (header = 1; a quoted newline makes a record span lines: its first line).
    pub line: u64,
    /// Lower-cased GUIDs.
    pub partner_id: String,
    pub customer_id: String,
    pub subscription_id: String,
    pub customer_name: String,
    pub mpn_id: String,
    /// Empty when absent.
    pub tier2_mpn_id: String,
    /// The UTC day of `UsageDate`.
    pub usage_date: NaiveDate,
    /// `ResourceURI` normalised with `ids::usage_resource_key` (the subscription when empty).
    pub resource_key: String,
    pub resource_group: String,
    pub meter_id: String,
    pub meter_name: String,
    pub meter_category: String,
    pub meter_sub_category: String,
    pub product_name: String,
    pub publisher_name: String,
    pub charge_type: String,
    pub unit_price: Decimal,
    pub quantity: Decimal,
    /// Upper-cased ISO code.
    pub pricing_currency: String,
    /// `PartnerEarnedCreditPercentage` (0–100).
    pub pec_percentage: Decimal,
    pub benefit_type: String,
    pub tags: String,
}

/// A valid row of a usage file as the reader hands it over: the same fields as a [`UsageLine`],
/// normalised the same way, borrowed from the reader's buffers for the length of one callback.
/// Ingestion adds rows up from it without a `String` per field ([`read_usage_rows`]);
/// [`UsageLineView::to_line`] makes the owned line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UsageLineView<'a> {
    pub line: u64,
    pub partner_id: &'a str,
    pub customer_id: &'a str,
    pub subscription_id: &'a str,
    pub customer_name: &'a str,
    pub mpn_id: &'a str,
    pub tier2_mpn_id: &'a str,
    pub usage_date: NaiveDate,
    pub resource_key: &'a str,
    pub resource_group: &'a str,
    pub meter_id: &'a str,
    pub meter_name: &'a str,
    pub meter_category: &'a str,
    pub meter_sub_category: &'a str,
    pub product_name: &'a str,
    pub publisher_name: &'a str,
    pub charge_type: &'a str,
    pub unit_price: Decimal,
    pub quantity: Decimal,
    pub pricing_currency: &'a str,
    pub pec_percentage: Decimal,
    pub benefit_type: &'a str,
    pub tags: &'a str,
}

impl UsageLineView<'_> {
    /// The owned line.
    pub fn to_line(&self) -> UsageLine {
        UsageLine {
            line: self.line,
            partner_id: self.partner_id.to_string(),
            customer_id: self.customer_id.to_string(),
            subscription_id: self.subscription_id.to_string(),
            customer_name: self.customer_name.to_string(),
            mpn_id: self.mpn_id.to_string(),
            tier2_mpn_id: self.tier2_mpn_id.to_string(),
            usage_date: self.usage_date,
            resource_key: self.resource_key.to_string(),
            resource_group: self.resource_group.to_string(),
            meter_id: self.meter_id.to_string(),
            meter_name: self.meter_name.to_string(),
            meter_category: self.meter_category.to_string(),
            meter_sub_category: self.meter_sub_category.to_string(),
            product_name: self.product_name.to_string(),
            publisher_name: self.publisher_name.to_string(),
            charge_type: self.charge_type.to_string(),
            unit_price: self.unit_price,
            quantity: self.quantity,
            pricing_currency: self.pricing_currency.to_string(),
            pec_percentage: self.pec_percentage,
            benefit_type: self.benefit_type.to_string(),
            tags: self.tags.to_string(),
        }
    }
}

impl UsageLine {
    /// The line as a [`UsageLineView`].
    pub fn view(&self) -> UsageLineView<'_> {
        UsageLineView {
            line: self.line,
            partner_id: &self.partner_id,
            customer_id: &self.customer_id,
            subscription_id: &self.subscription_id,
            customer_name: &self.customer_name,
            mpn_id: &self.mpn_id,
            tier2_mpn_id: &self.tier2_mpn_id,
            usage_date: self.usage_date,
            resource_key: &self.resource_key,
            resource_group: &self.resource_group,
            meter_id: &self.meter_id,
            meter_name: &self.meter_name,
            meter_category: &self.meter_category,
            meter_sub_category: &self.meter_sub_category,
            product_name: &self.product_name,
            publisher_name: &self.publisher_name,
            charge_type: &self.charge_type,
            unit_price: self.unit_price,
            quantity: self.quantity,
            pricing_currency: &self.pricing_currency,
            pec_percentage: self.pec_percentage,
            benefit_type: &self.benefit_type,
            tags: &self.tags,
        }
    }
}

/// One problem in a usage file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    pub line: u64,
    pub column: String,
    pub value: String,
    pub message: String,
}

/// The outcome of reading a whole file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageFileReport {
    /// Data rows read (valid or not).
    pub rows: u64,
    pub error_count: u64,
    /// The first [`MAX_REPORTED_ERRORS`] errors, in file order.
    pub errors: Vec<RowError>,
    /// SHA-256 (hex) of the bytes as uploaded (compressed if gzip).
    pub sha256: String,
    pub bytes: u64,
}

// ---------------------------------------------------------------------------------------------
// Columns
// ---------------------------------------------------------------------------------------------

/// The 55 columns of a new-commerce daily rated usage file, in the SPEC's order.
const COLUMNS: [&str; 55] = [
    "PartnerId",
    "PartnerName",
    "CustomerId",
    "CustomerName",
    "CustomerDomainName",
    "CustomerCountry",
    "MpnId",
    "Tier2MpnId",
    "InvoiceNumber",
    "ProductId",
    "SkuId",
    "AvailabilityId",
    "SkuName",
    "ProductName",
    "PublisherName",
    "PublisherId",
    "SubscriptionDescription",
    "SubscriptionId",
    "ChargeStartDate",
    "ChargeEndDate",
    "UsageDate",
    "MeterType",
    "MeterCategory",
    "MeterId",
    "MeterSubCategory",
    "MeterName",
    "MeterRegion",
    "Unit",
    "ResourceLocation",
    "ConsumedService",
    "ResourceGroup",
    "ResourceURI",
    "ChargeType",
    "UnitPrice",
    "Quantity",
    "UnitType",
    "BillingPreTaxTotal",
    "BillingCurrency",
    "PricingPreTaxTotal",
    "PricingCurrency",
    "ServiceInfo1",
    "ServiceInfo2",
    "Tags",
    "AdditionalInfo",
    "EffectiveUnitPrice",
    "PCToBCExchangeRate",
    "PCToBCExchangeRateDate",
    "EntitlementId",
    "EntitlementDescription",
    "PartnerEarnedCreditPercentage",
    "CreditPercentage",
    "CreditType",
    "BenefitOrderId",
    "BenefitId",
    "BenefitType",
];

const N_COLUMNS: usize = COLUMNS.len();

// Indexes into COLUMNS of the columns the reader uses (checked by a test).
const PARTNER_ID: usize = 0;
const CUSTOMER_ID: usize = 2;
const CUSTOMER_NAME: usize = 3;
const MPN_ID: usize = 6;
const TIER2_MPN_ID: usize = 7;
const PRODUCT_NAME: usize = 13;
const PUBLISHER_NAME: usize = 14;
const SUBSCRIPTION_ID: usize = 17;
const USAGE_DATE: usize = 20;
const METER_CATEGORY: usize = 22;
const METER_ID: usize = 23;
const METER_SUB_CATEGORY: usize = 24;
const METER_NAME: usize = 25;
const RESOURCE_GROUP: usize = 30;
const RESOURCE_URI: usize = 31;
const CHARGE_TYPE: usize = 32;
const UNIT_PRICE: usize = 33;
const QUANTITY: usize = 34;
const PRICING_CURRENCY: usize = 39;
const TAGS: usize = 42;
const PEC_PERCENTAGE: usize = 49;
const BENEFIT_TYPE: usize = 54;

/// Columns that must be in the header; their values must be non-empty except `ResourceURI`.
const REQUIRED: [usize; 16] = [
    PARTNER_ID,
    CUSTOMER_ID,
    MPN_ID,
    SUBSCRIPTION_ID,
    USAGE_DATE,
    RESOURCE_URI,
    METER_ID,
    METER_NAME,
    METER_CATEGORY,
    PRODUCT_NAME,
    PUBLISHER_NAME,
    CHARGE_TYPE,
    UNIT_PRICE,
    QUANTITY,
    PRICING_CURRENCY,
    PEC_PERCENTAGE,
];

/// The 55 column names of a usage file, in the SPEC's order (SPEC 3.1).
pub fn usage_header() -> &'static [&'static str] {
    &COLUMNS
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

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
pub fn read_usage_file<R: Read>(
    input: R,
    partner_id: &str,
    on_line: impl FnMut(UsageLine) -> Result<(), String>,
) -> Result<UsageFileReport, String> {
    read_usage_file_with(input, &ReadOptions::for_partner(partner_id), on_line)
}

/// [`read_usage_file`] for any [`UsageFormat`]: the format is detected from the header
/// ([`detect_usage_format`]); exports without `MpnId` take it from `options.mpn_id`.
pub fn read_usage_file_with<R: Read>(
    input: R,
    options: &ReadOptions,
    mut on_line: impl FnMut(UsageLine) -> Result<(), String>,
) -> Result<UsageFileReport, String> {
    read_usage_rows(input, options, |row| on_line(row.to_line()))
}

/// [`read_usage_file_with`], handing each valid row over borrowed ([`UsageLineView`]) instead of
/// as an owned [`UsageLine`]: what ingestion uses, as it keeps only sums per resource-day.
pub fn read_usage_rows<R: Read>(
    input: R,
    options: &ReadOptions,
    mut on_line: impl FnMut(&UsageLineView<'_>) -> Result<(), String>,
) -> Result<UsageFileReport, String> {
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
    })
}

/// The reader's options, normalised.
struct Context {
    /// Lower-cased, trimmed.
    partner: String,
    /// Trimmed, non-empty.
    mpn_id: Option<String>,
}

/// Where the parser stopped.
struct Progress {
    /// Data rows read.
    rows: u64,
    /// The line reached.
    line: u64,
}

/// The errors found so far: the first [`MAX_REPORTED_ERRORS`] kept, all counted.
#[derive(Default)]
struct Errors {
    count: u64,
    list: Vec<RowError>,
}

impl Errors {
    /// Whether the next error would be listed (rather than only counted).
    fn listing(&self) -> bool {
        self.list.len() < MAX_REPORTED_ERRORS
    }

    fn add(&mut self, line: u64, column: &str, value: &str, message: impl FnOnce() -> String) {
        self.count += 1;
        if self.listing() {
            self.list.push(RowError {
                line,
                column: column.to_string(),
                value: value.chars().take(MAX_VALUE_CHARS).collect(),
                message: message(),
            });
        }
    }
}

/// The header, mapped onto the known columns.
struct Header {
    /// Each field's name as written (trimmed).
    names: Vec<String>,
    /// Each field's known column, if it is one of the 55.
    known: Vec<Option<usize>>,
}

impl Header {
    /// The column name an error on field `i` reports: the SPEC's spelling for a known column.
    fn column_name(&self, i: usize) -> &str {
        match self.known.get(i).copied().flatten() {
            Some(k) => COLUMNS[k],
            None => self.names.get(i).map(String::as_str).unwrap_or(""),
        }
    }
}

fn parse<R: Read>(
    source: &mut HashingReader<R>,
    context: &Context,
    errors: &mut Errors,
    on_line: &mut impl FnMut(&UsageLineView<'_>) -> Result<(), String>,
) -> Result<Progress, String> {
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
fn next_record<R: Read>(
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

fn read_error_message(e: &io::Error) -> String {
    format!("the file cannot be read past this point: {e}")
}

/// Maps the header record onto the known columns, reporting bad, duplicated and missing
/// headers; `None` if the file must be rejected.
fn read_header(record: &csv::ByteRecord, line: u64, errors: &mut Errors) -> Option<Header> {
    let mut names = Vec::with_capacity(record.len());
    let mut known = Vec::with_capacity(record.len());
    let mut position: [Option<usize>; N_COLUMNS] = [None; N_COLUMNS];
    let before = errors.count;
    for (i, raw) in record.iter().enumerate() {
        let Ok(name) = std::str::from_utf8(raw) else {
            let lossy = String::from_utf8_lossy(raw);
            errors.add(line, "", &lossy, || "the header is not valid UTF-8".into());
            names.push(lossy.trim().to_string());
            known.push(None);
            continue;
        };
        let name = name.trim();
        let k = COLUMNS.iter().position(|c| c.eq_ignore_ascii_case(name));
        if let Some(k) = k {
            if position[k].is_some() {
                errors.add(line, COLUMNS[k], name, || {
                    format!("duplicated header: {} appears more than once", COLUMNS[k])
                });
            } else {
                position[k] = Some(i);
            }
        }
        names.push(name.to_string());
        known.push(k);
    }
    for k in REQUIRED {
        if position[k].is_none() {
            errors.add(line, COLUMNS[k], "", || {
                format!("missing required header {}", COLUMNS[k])
            });
        }
    }
    (errors.count == before).then_some(Header { names, known })
}

/// The checked values of one row, borrowing its text.
struct Row<'a> {
    values: [&'a str; N_COLUMNS],
    usage_date: NaiveDate,
    unit_price: Decimal,
    quantity: Decimal,
    pec_percentage: Decimal,
}

/// The reader's buffers for the values a row's view normalises (re-used row after row).
#[derive(Default)]
struct Normalised {
    partner_id: String,
    customer_id: String,
    subscription_id: String,
    resource_key: String,
    pricing_currency: String,
}

impl<'a> Row<'a> {
    /// The row as a [`UsageLineView`]: trimmed values borrowed from the record, GUIDs
    /// lower-cased, the resource key normalised and the currency upper-cased into `normalised`.
    fn view<'b>(&self, line: u64, normalised: &'b mut Normalised) -> UsageLineView<'b>
    where
        'a: 'b,
    {
        let v = |k: usize| self.values[k].trim();
        normalize_guid_into(self.values[PARTNER_ID], &mut normalised.partner_id);
        normalize_guid_into(self.values[CUSTOMER_ID], &mut normalised.customer_id);
        normalize_guid_into(
            self.values[SUBSCRIPTION_ID],
            &mut normalised.subscription_id,
        );
        usage_resource_key_into(
            self.values[RESOURCE_URI],
            self.values[SUBSCRIPTION_ID],
            &mut normalised.resource_key,
        );
        let currency = &mut normalised.pricing_currency;
        currency.clear();
        currency.push_str(v(PRICING_CURRENCY));
        currency.make_ascii_uppercase();
        UsageLineView {
            line,
            partner_id: &normalised.partner_id,
            customer_id: &normalised.customer_id,
            subscription_id: &normalised.subscription_id,
            customer_name: v(CUSTOMER_NAME),
            mpn_id: v(MPN_ID),
            tier2_mpn_id: v(TIER2_MPN_ID),
            usage_date: self.usage_date,
            resource_key: &normalised.resource_key,
            resource_group: v(RESOURCE_GROUP),
            meter_id: v(METER_ID),
            meter_name: v(METER_NAME),
            meter_category: v(METER_CATEGORY),
            meter_sub_category: v(METER_SUB_CATEGORY),
            product_name: v(PRODUCT_NAME),
            publisher_name: v(PUBLISHER_NAME),
            charge_type: v(CHARGE_TYPE),
            unit_price: self.unit_price,
            quantity: self.quantity,
            pricing_currency: &normalised.pricing_currency,
            pec_percentage: self.pec_percentage,
            benefit_type: v(BENEFIT_TYPE),
            tags: v(TAGS),
        }
    }
}

/// Validates one data record, reporting every problem in it; `Some` if it is valid.
fn check_row<'a>(
    record: &'a csv::ByteRecord,
    line: u64,
    header: &Header,
    partner: &str,
    errors: &mut Errors,
) -> Option<Row<'a>> {
    if record.len() != header.known.len() {
        let value = if errors.listing() {
            record_text(record)
        } else {
            String::new()
        };
        errors.add(line, "", &value, || {
            format!(
                "the row has {} fields, the header has {}",
                record.len(),
                header.known.len()
            )
        });
        return None;
    }
    let before = errors.count;
    let mut values = [""; N_COLUMNS];
    let mut unreadable = 0u64; // bit k: known column k is not UTF-8 (already reported)
                               // Nearly every record is UTF-8 as a whole: one check, then each field is sliced out of it
                               // (a field boundary inside a character falls back to checking that field alone).
    let whole = std::str::from_utf8(record.as_slice()).ok();
    for (i, raw) in record.iter().enumerate() {
        let text = match whole.zip(record.range(i)).and_then(|(w, r)| w.get(r)) {
            Some(text) => Ok(text),
            None => std::str::from_utf8(raw),
        };
        match text {
            Ok(text) => {
                if let Some(k) = header.known[i] {
                    values[k] = text;
                }
            }
            Err(e) => {
                if let Some(k) = header.known[i] {
                    unreadable |= 1 << k;
                }
                errors.add(
                    line,
                    header.column_name(i),
                    &String::from_utf8_lossy(raw),
                    || {
                        format!(
                            "not valid UTF-8 (byte {} of the value)",
                            e.valid_up_to() + 1
                        )
                    },
                );
            }
        }
    }
    for k in REQUIRED {
        if k != RESOURCE_URI && unreadable & (1 << k) == 0 && values[k].trim().is_empty() {
            errors.add(line, COLUMNS[k], values[k], || {
                format!("{} is required", COLUMNS[k])
            });
        }
    }
    // A required value that is present and readable, trimmed.
    let given = |k: usize| {
        let text = values[k].trim();
        (unreadable & (1 << k) == 0 && !text.is_empty()).then_some(text)
    };

    if let Some(id) = given(PARTNER_ID) {
        if !id.eq_ignore_ascii_case(partner) {
            errors.add(line, COLUMNS[PARTNER_ID], values[PARTNER_ID], || {
                format!("TENANT_MISMATCH: PartnerId {id} is not the uploading partner {partner}")
            });
        }
    }
    let usage_date = given(USAGE_DATE).and_then(|text| {
        parse_usage_date(text)
            .map_err(|m| errors.add(line, COLUMNS[USAGE_DATE], values[USAGE_DATE], || m))
            .ok()
    });
    let mut number = |k: usize, parse: fn(&str) -> Result<Decimal, String>| {
        given(k).and_then(|text| {
            parse(text)
                .map_err(|m| errors.add(line, COLUMNS[k], values[k], || m))
                .ok()
        })
    };
    let unit_price = number(UNIT_PRICE, parse_decimal);
    let quantity = number(QUANTITY, parse_decimal);
    let pec_percentage = number(PEC_PERCENTAGE, parse_percentage);
    if let Some(pec) = pec_percentage {
        if pec < Decimal::ZERO || pec > Decimal::ONE_HUNDRED {
            errors.add(
                line,
                COLUMNS[PEC_PERCENTAGE],
                values[PEC_PERCENTAGE],
                || "PartnerEarnedCreditPercentage must be between 0 and 100".into(),
            );
        }
    }
    if let (Some(price), Some(quantity)) = (unit_price, quantity) {
        match price.checked_mul(quantity) {
            None => errors.add(line, COLUMNS[QUANTITY], values[QUANTITY], || {
                "Quantity × UnitPrice is too large to compute".into()
            }),
            Some(amount) => {
                if pec_percentage.is_some_and(|pec| amount.checked_mul(pec).is_none()) {
                    errors.add(line, COLUMNS[QUANTITY], values[QUANTITY], || {
                        "Quantity × UnitPrice × PartnerEarnedCreditPercentage is too large to \
                         compute"
                            .into()
                    });
                } else if amount.abs() > MAX_LINE_AMOUNT {
                    errors.add(line, COLUMNS[QUANTITY], values[QUANTITY], || {
                        amount_too_large(amount)
                    });
                }
            }
        }
    }
    if let Some(code) = given(PRICING_CURRENCY) {
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
            errors.add(
                line,
                COLUMNS[PRICING_CURRENCY],
                values[PRICING_CURRENCY],
                || "PricingCurrency must be a three-letter ISO 4217 code".into(),
            );
        }
    }

    if errors.count != before {
        return None;
    }
    Some(Row {
        values,
        usage_date: usage_date?,
        unit_price: unit_price?,
        quantity: quantity?,
        pec_percentage: pec_percentage?,
    })
}

/// A record as text for an error message: its fields joined by commas, at most 200 characters.
fn record_text(record: &csv::ByteRecord) -> String {
    let mut text = String::new();
    for (i, field) in record.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&String::from_utf8_lossy(field));
        if text.len() > 4 * MAX_VALUE_CHARS {
            break;
        }
    }
    text.chars().take(MAX_VALUE_CHARS).collect()
}

// ---------------------------------------------------------------------------------------------
// Usage dates
// ---------------------------------------------------------------------------------------------

/// The UTC day of a `UsageDate`: `YYYY-MM-DD`, `YYYY-MM-DDThh:mm:ss` with optional fractional
/// seconds and `Z` or `±hh:mm` offset (converted to UTC), or `M/D/YYYY` with an optional
/// ` h:mm:ss AM|PM` (or 24-hour ` H:mm:ss`) time, whose date is the day.
pub fn parse_usage_date(text: &str) -> Result<NaiveDate, String> {
    let t = text.trim();
    let parsed = if t.as_bytes().get(4) == Some(&b'-') {
        parse_iso_date(t)
    } else if t.contains('/') {
        parse_us_date(t)
    } else {
        None
    };
    parsed.ok_or_else(|| {
        format!(
            "not a valid UsageDate {t:?}: expected YYYY-MM-DD, YYYY-MM-DDThh:mm:ss[Z] or \
             M/D/YYYY[ h:mm:ss AM|PM]"
        )
    })
}

/// Digits only, 1 to `max` of them.
fn digits(text: &[u8], max: usize) -> Option<u32> {
    if text.is_empty() || text.len() > max || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(text.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0')))
}

/// Exactly `n` digits.
fn fixed_digits(text: &[u8], n: usize) -> Option<u32> {
    if text.len() == n {
        digits(text, n)
    } else {
        None
    }
}

fn parse_iso_date(t: &str) -> Option<NaiveDate> {
    let b = t.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = i32::try_from(fixed_digits(&b[0..4], 4)?).ok()?;
    let date = NaiveDate::from_ymd_opt(
        year,
        fixed_digits(&b[5..7], 2)?,
        fixed_digits(&b[8..10], 2)?,
    )?;
    if b.len() == 10 {
        return Some(date);
    }
    // hh:mm:ss
    if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 19 || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let time = NaiveTime::from_hms_opt(
        fixed_digits(&b[11..13], 2)?,
        fixed_digits(&b[14..16], 2)?,
        fixed_digits(&b[17..19], 2)?,
    )?;
    let mut rest = &b[19..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let n = fraction.iter().take_while(|d| d.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        rest = &fraction[n..];
    }
    let offset_minutes: i64 = match rest {
        b"" | b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), hh @ ..] => {
            let (h, m) = match hh {
                [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => {
                    (fixed_digits(&[*h1, *h2], 2)?, fixed_digits(&[*m1, *m2], 2)?)
                }
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let minutes = i64::from(h * 60 + m);
            if *sign == b'-' {
                -minutes
            } else {
                minutes
            }
        }
        _ => return None,
    };
    let utc =
        NaiveDateTime::new(date, time).checked_sub_signed(Duration::minutes(offset_minutes))?;
    Some(utc.date())
}

fn parse_us_date(t: &str) -> Option<NaiveDate> {
    let (date_part, time_part) = match t.split_once(' ') {
        Some((d, rest)) => (d, Some(rest.trim())),
        None => (t, None),
    };
    let mut parts = date_part.split('/');
    let month = digits(parts.next()?.as_bytes(), 2)?;
    let day = digits(parts.next()?.as_bytes(), 2)?;
    let year = i32::try_from(fixed_digits(parts.next()?.as_bytes(), 4)?).ok()?;
    if parts.next().is_some() {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    if let Some(time) = time_part {
        let (clock, meridiem) = match time.rsplit_once(' ') {
            Some((clock, m)) => (clock.trim_end(), Some(m)),
            None => (time, None),
        };
        let mut hms = clock.split(':');
        let hour = digits(hms.next()?.as_bytes(), 2)?;
        let minute = fixed_digits(hms.next()?.as_bytes(), 2)?;
        let second = fixed_digits(hms.next()?.as_bytes(), 2)?;
        if hms.next().is_some() || minute > 59 || second > 59 {
            return None;
        }
        let hour_ok = match meridiem {
            Some(m) if m.eq_ignore_ascii_case("AM") || m.eq_ignore_ascii_case("PM") => {
                (1..=12).contains(&hour)
            }
            Some(_) => false,
            None => hour <= 23,
        };
        if !hour_ok {
            return None;
        }
    }
    Some(date)
}

// ---------------------------------------------------------------------------------------------
// The reader chain
// ---------------------------------------------------------------------------------------------

/// Hashes and counts the bytes as they come from the upload.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.inner.read(buf) {
                Ok(n) => {
                    let read = buf.get(..n).unwrap_or(&[]);
                    self.hasher.update(read);
                    self.bytes += read.len() as u64;
                    return Ok(read.len());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

/// Reads until `buf` is full or the input ends; the number of bytes read.
fn read_up_to(mut input: impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The input as plain text or gunzipped.
/// One per open file: the size of the gzip state (larger with flate2's zlib-rs backend, which
/// the XLSX writer's zip dependency selects) does not matter.
#[allow(clippy::large_enum_variant)]
enum Decoded<R: Read> {
    Plain(R),
    Gzip(flate2::read::MultiGzDecoder<R>),
}

impl<R: Read> Read for Decoded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoded::Plain(r) => r.read(buf),
            // flate2 reports bad or missing compressed data with these kinds; other errors come
            // from the upload itself and pass as they are.
            Decoded::Gzip(r) => r.read(buf).map_err(|e| match e.kind() {
                io::ErrorKind::InvalidInput
                | io::ErrorKind::InvalidData
                | io::ErrorKind::UnexpectedEof => {
                    io::Error::new(e.kind(), format!("corrupt or truncated gzip data ({e})"))
                }
                _ => e,
            }),
        }
    }
}

/// Drops a UTF-8 byte-order mark at the start of the text.
struct BomStripper<R> {
    inner: R,
    /// The first bytes, read ahead to look for the mark; `start..len` are still to be returned.
    head: [u8; 3],
    start: usize,
    len: usize,
    checked: bool,
}

impl<R: Read> BomStripper<R> {
    fn new(inner: R) -> Self {
        BomStripper {
            inner,
            head: [0; 3],
            start: 0,
            len: 0,
            checked: false,
        }
    }
}

impl<R: Read> Read for BomStripper<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.checked {
            self.len = read_up_to(&mut self.inner, &mut self.head)?;
            self.checked = true;
            if self.head[..self.len] == [0xef, 0xbb, 0xbf] {
                self.len = 0;
            }
        }
        if self.start < self.len {
            let n = (self.len - self.start).min(buf.len());
            buf[..n].copy_from_slice(&self.head[self.start..self.start + n]);
            self.start += n;
            return Ok(n);
        }
        self.inner.read(buf)
    }
}

/// A maximal run of CR and LF bytes in the decoded text, at `[start, end)`.
#[derive(Debug)]
struct Run {
    start: u64,
    end: u64,
    /// Line breaks completed in the run (`\n`, `\r\n`, or a `\r` followed by another `\r`).
    breaks: u64,
    /// The run ends with a `\r` not yet known to be followed by `\n`; it counts as a break.
    pending_cr: bool,
}

impl Run {
    fn line_breaks(&self) -> u64 {
        self.breaks + u64::from(self.pending_cr)
    }
}

/// Counts line breaks (`\n`, `\r\n`, lone `\r`) in the text the CSV reader reads, so that the
/// file line of a record start can be told from the record's byte offset; and refuses to read
/// on when a single record grows past [`MAX_RECORD_BYTES`].
///
/// It keeps the runs of CR/LF bytes between the record being parsed and the end of what the
/// CSV reader has buffered: a record starts after the run its offset falls in (the CSV parser
/// skips blank lines, and after a `\r` terminator its offset is at the following `\n`).
struct LineTracker<R> {
    inner: R,
    /// Bytes handed out so far.
    offset: u64,
    runs: VecDeque<Run>,
    /// Line breaks in runs already dropped from `runs`.
    breaks_before: u64,
    /// Offset where the record being read begins (blank lines before it included).
    record_start: u64,
}

impl<R: Read> LineTracker<R> {
    fn new(inner: R) -> Self {
        LineTracker {
            inner,
            offset: 0,
            runs: VecDeque::new(),
            breaks_before: 0,
            record_start: 0,
        }
    }

    /// The CSV reader is about to read a record from `offset`.
    fn begin_record(&mut self, offset: u64) {
        self.record_start = offset;
    }

    /// The file line (1-based) of a record the CSV reader started reading at `offset`; forgets
    /// what lies before it.
    fn line_at(&mut self, offset: u64) -> u64 {
        while let Some(run) = self.runs.front() {
            // A run before the record, or the blank lines the record starts after.
            if run.start <= offset {
                self.breaks_before += run.line_breaks();
                self.runs.pop_front();
            } else {
                break;
            }
        }
        1 + self.breaks_before
    }

    fn note(&mut self, at: u64, byte: u8) {
        let run = match self.runs.back_mut() {
            Some(run) if run.end == at => run,
            _ => {
                self.runs.push_back(Run {
                    start: at,
                    end: at,
                    breaks: 0,
                    pending_cr: false,
                });
                match self.runs.back_mut() {
                    Some(run) => run,
                    None => return,
                }
            }
        };
        run.end = at + 1;
        if byte == b'\n' {
            run.breaks += 1;
            run.pending_cr = false;
        } else {
            run.breaks += u64::from(run.pending_cr);
            run.pending_cr = true;
        }
    }
}

impl<R: Read> Read for LineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.offset.saturating_sub(self.record_start) > MAX_RECORD_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "a record is longer than {} bytes (an unclosed quote?)",
                    MAX_RECORD_BYTES
                ),
            ));
        }
        let n = self.inner.read(buf)?;
        let read = buf.get(..n).unwrap_or(&[]);
        for i in memchr::memchr2_iter(b'\n', b'\r', read) {
            self.note(self.offset + i as u64, read[i]);
        }
        self.offset += read.len() as u64;
        Ok(read.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::usage_resource_key;
    use proptest::prelude::*;
    use std::io::Write;

    const PARTNER: &str = "7a3c0000-0000-4000-8000-000000000001";
    const SUB: &str = "23b8c1e9-3924-46de-beb1-3b9046685257";

    /// `fixtures/examples/daily-rated-usage.csv`, byte for byte (UTF-8 BOM, CRLF).
    const EXAMPLE: &str = concat!(
        "\u{feff}PartnerId,PartnerName,CustomerId,CustomerName,CustomerDomainName,CustomerCountry,MpnId,Tier2MpnId,InvoiceNumber,ProductId,SkuId,AvailabilityId,SkuName,ProductName,PublisherName,PublisherId,SubscriptionDescription,SubscriptionId,ChargeStartDate,ChargeEndDate,UsageDate,MeterType,MeterCategory,MeterId,MeterSubCategory,MeterName,MeterRegion,Unit,ResourceLocation,ConsumedService,ResourceGroup,ResourceURI,ChargeType,UnitPrice,Quantity,UnitType,BillingPreTaxTotal,BillingCurrency,PricingPreTaxTotal,PricingCurrency,ServiceInfo1,ServiceInfo2,Tags,AdditionalInfo,EffectiveUnitPrice,PCToBCExchangeRate,PCToBCExchangeRateDate,EntitlementId,EntitlementDescription,PartnerEarnedCreditPercentage,CreditPercentage,CreditType,BenefitOrderId,BenefitId,BenefitType\r\n",
        "7a3c0000-0000-4000-8000-000000000001,Northwind Cloud Partner,bdd640fb-0667-4ad1-9c80-317fa3b1799d,Customer bdd6,cbdd6.onmicrosoft.com,SE,4100001,,G012345678,DZH318Z0BQPS,0001,DZH318Z0BQ3Q,Azure plan,Azure plan,Microsoft,,Azure plan,23b8c1e9-3924-46de-beb1-3b9046685257,10/1/2026,10/31/2026,2026-09-01,1 Compute Hour,Azure App Service,7c52739c-65c2-5f49-bcde-403d7bdebb4f,Dv5 Series,P1v3 App,EU North,1 Hour,swedencentral,Microsoft.Compute,rg-web,/subscriptions/23b8c1e9-3924-46de-beb1-3b9046685257/resourceGroups/rg-web/providers/Microsoft.Web/sites/shop,new,0.288,24,1 Hour,0,USD,0,USD,,,,,0,1,10/1/2026,23b8c1e9-3924-46de-beb1-3b9046685257,Azure plan,15,0,,,,\r\n",
        "7a3c0000-0000-4000-8000-000000000001,Northwind Cloud Partner,bdd640fb-0667-4ad1-9c80-317fa3b1799d,Customer bdd6,cbdd6.onmicrosoft.com,SE,4100001,,G012345678,DZH318Z0BQPS,0001,DZH318Z0BQ3Q,Azure plan,Azure plan,Microsoft,,Azure plan,23b8c1e9-3924-46de-beb1-3b9046685257,10/1/2026,10/31/2026,2026-09-01,1 Compute Hour,SQL Database,9f85442b-35e0-5120-9988-40fb60dfc93b,Dv5 Series,vCore,EU North,1 Hour,swedencentral,Microsoft.Compute,rg-data,/subscriptions/23b8c1e9-3924-46de-beb1-3b9046685257/resourceGroups/rg-data/providers/Microsoft.Sql/servers/sql1/databases/orders,new,0.5044,48,1 Hour,0,USD,0,USD,,,,,0,1,10/1/2026,23b8c1e9-3924-46de-beb1-3b9046685257,Azure plan,0,0,,,,\r\n",
        "7a3c0000-0000-4000-8000-000000000001,Northwind Cloud Partner,bdd640fb-0667-4ad1-9c80-317fa3b1799d,Customer bdd6,cbdd6.onmicrosoft.com,SE,4100001,,G012345678,DZH318Z0BQPS,0001,DZH318Z0BQ3Q,Azure plan,Azure plan,Microsoft,,Azure plan,23b8c1e9-3924-46de-beb1-3b9046685257,10/1/2026,10/31/2026,2026-09-01,1 Compute Hour,Virtual Machines,2369ee67-e917-5259-a57d-0243ac3d8c8e,Dv5 Series,D4s v5,EU North,1 Hour,swedencentral,Microsoft.Compute,rg-web,/subscriptions/23b8c1e9-3924-46de-beb1-3b9046685257/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/batch,new,0.192,24,1 Hour,0,USD,0,USD,,,,,0,1,10/1/2026,23b8c1e9-3924-46de-beb1-3b9046685257,Azure plan,0,0,,,,Reservation\r\n",
        "7a3c0000-0000-4000-8000-000000000001,Northwind Cloud Partner,bdd640fb-0667-4ad1-9c80-317fa3b1799d,Customer bdd6,cbdd6.onmicrosoft.com,SE,4100001,,G012345678,DZH318Z0BQPS,0001,DZH318Z0BQ3Q,Azure plan,Azure plan,Microsoft,,Azure plan,23b8c1e9-3924-46de-beb1-3b9046685257,10/1/2026,10/31/2026,2026-09-01,1 Compute Hour,Support,d67b1e94-c0b2-54a5-9392-94bb799a4b69,Dv5 Series,Standard Support,EU North,1 Hour,swedencentral,Microsoft.Compute,,,new,0.0,1,1 Hour,0,USD,0,USD,,,,,0,1,10/1/2026,23b8c1e9-3924-46de-beb1-3b9046685257,Azure plan,15,0,,,,\r\n",
        "7a3c0000-0000-4000-8000-000000000001,Northwind Cloud Partner,bdd640fb-0667-4ad1-9c80-317fa3b1799d,Customer bdd6,cbdd6.onmicrosoft.com,SE,4100001,,G012345678,DZH318Z0BQPS,0001,DZH318Z0BQ3Q,Azure plan,Azure plan,Microsoft,,Azure plan,23b8c1e9-3924-46de-beb1-3b9046685257,10/1/2026,10/31/2026,2026-09-02,1 Compute Hour,Azure App Service,7c52739c-65c2-5f49-bcde-403d7bdebb4f,Dv5 Series,P1v3 App,EU North,1 Hour,swedencentral,Microsoft.Compute,rg-web,/subscriptions/23b8c1e9-3924-46de-beb1-3b9046685257/resourceGroups/rg-web/providers/Microsoft.Web/sites/shop,new,0.288,24,1 Hour,0,USD,0,USD,,,,,0,1,10/1/2026,23b8c1e9-3924-46de-beb1-3b9046685257,Azure plan,15,0,,,,\r\n",
        "7a3c0000-0000-4000-8000-000000000001,Northwind Cloud Partner,bdd640fb-0667-4ad1-9c80-317fa3b1799d,Customer bdd6,cbdd6.onmicrosoft.com,SE,4100001,,G012345678,DZH318Z0BQPS,0001,DZH318Z0BQ3Q,Azure plan,Azure plan,Microsoft,,Azure plan,23b8c1e9-3924-46de-beb1-3b9046685257,10/1/2026,10/31/2026,2026-09-02,1 Compute Hour,SQL Database,9f85442b-35e0-5120-9988-40fb60dfc93b,Dv5 Series,vCore,EU North,1 Hour,swedencentral,Microsoft.Compute,rg-data,/subscriptions/23b8c1e9-3924-46de-beb1-3b9046685257/resourceGroups/rg-data/providers/Microsoft.Sql/servers/sql1/databases/orders,new,0.5044,48,1 Hour,0,USD,0,USD,,,,,0,1,10/1/2026,23b8c1e9-3924-46de-beb1-3b9046685257,Azure plan,0,0,,,,\r\n",
        "7a3c0000-0000-4000-8000-000000000001,Northwind Cloud Partner,bdd640fb-0667-4ad1-9c80-317fa3b1799d,Customer bdd6,cbdd6.onmicrosoft.com,SE,4100001,,G012345678,DZH318Z0BQPS,0001,DZH318Z0BQ3Q,Azure plan,Azure plan,Microsoft,,Azure plan,23b8c1e9-3924-46de-beb1-3b9046685257,10/1/2026,10/31/2026,2026-09-02,1 Compute Hour,Virtual Machines,2369ee67-e917-5259-a57d-0243ac3d8c8e,Dv5 Series,D4s v5,EU North,1 Hour,swedencentral,Microsoft.Compute,rg-web,/subscriptions/23b8c1e9-3924-46de-beb1-3b9046685257/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/batch,new,0.192,24,1 Hour,0,USD,0,USD,,,,,0,1,10/1/2026,23b8c1e9-3924-46de-beb1-3b9046685257,Azure plan,0,0,,,,Reservation\r\n",
        "7a3c0000-0000-4000-8000-000000000001,Northwind Cloud Partner,bdd640fb-0667-4ad1-9c80-317fa3b1799d,Customer bdd6,cbdd6.onmicrosoft.com,SE,4100001,,G012345678,DZH318Z0BQPS,0001,DZH318Z0BQ3Q,Azure plan,Azure plan,Microsoft,,Azure plan,23b8c1e9-3924-46de-beb1-3b9046685257,10/1/2026,10/31/2026,2026-09-02,1 Compute Hour,Support,d67b1e94-c0b2-54a5-9392-94bb799a4b69,Dv5 Series,Standard Support,EU North,1 Hour,swedencentral,Microsoft.Compute,,,new,0.0,1,1 Hour,0,USD,0,USD,,,,,0,1,10/1/2026,23b8c1e9-3924-46de-beb1-3b9046685257,Azure plan,15,0,,,,\r\n",
    );

    /// Reads `bytes` as `PARTNER`, collecting the lines handed on.
    fn read(bytes: &[u8]) -> (UsageFileReport, Vec<UsageLine>) {
        read_from(bytes, PARTNER)
    }

    fn read_from(input: impl Read, partner: &str) -> (UsageFileReport, Vec<UsageLine>) {
        let mut lines = Vec::new();
        let report = read_usage_file(input, partner, |l| {
            lines.push(l);
            Ok(())
        })
        .expect("on_line never fails here");
        (report, lines)
    }

    fn sha(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(bytes).expect("in memory");
        enc.finish().expect("in memory")
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    fn dec(text: &str) -> Decimal {
        parse_decimal(text).expect("valid test decimal")
    }

    /// The eight lines of the example file, worked out by hand.
    fn example_lines() -> Vec<UsageLine> {
        let rg = |rg: &str, rest: &str| {
            format!("/subscriptions/{SUB}/resourcegroups/{rg}/providers/{rest}")
        };
        // (meter id, meter name, meter category, resource group, resource key, price, quantity,
        //  PEC %, benefit type)
        let resources = [
            (
                "7c52739c-65c2-5f49-bcde-403d7bdebb4f",
                "P1v3 App",
                "Azure App Service",
                "rg-web",
                rg("rg-web", "microsoft.web/sites/shop"),
                "0.288",
                "24",
                "15",
                "",
            ),
            (
                "9f85442b-35e0-5120-9988-40fb60dfc93b",
                "vCore",
                "SQL Database",
                "rg-data",
                rg("rg-data", "microsoft.sql/servers/sql1/databases/orders"),
                "0.5044",
                "48",
                "0",
                "",
            ),
            (
                "2369ee67-e917-5259-a57d-0243ac3d8c8e",
                "D4s v5",
                "Virtual Machines",
                "rg-web",
                rg("rg-web", "microsoft.compute/virtualmachines/batch"),
                "0.192",
                "24",
                "0",
                "Reservation",
            ),
            (
                "d67b1e94-c0b2-54a5-9392-94bb799a4b69",
                "Standard Support",
                "Support",
                "",
                format!("/subscriptions/{SUB}"),
                "0.0",
                "1",
                "15",
                "",
            ),
        ];
        let mut lines = Vec::new();
        for (d, date) in [day(2026, 9, 1), day(2026, 9, 2)].into_iter().enumerate() {
            for (i, r) in resources.iter().enumerate() {
                lines.push(UsageLine {
                    line: 2 + 4 * d as u64 + i as u64,
                    partner_id: PARTNER.into(),
                    customer_id: "bdd640fb-0667-4ad1-9c80-317fa3b1799d".into(),
                    subscription_id: SUB.into(),
                    customer_name: "Customer bdd6".into(),
                    mpn_id: "4100001".into(),
                    tier2_mpn_id: String::new(),
                    usage_date: date,
                    resource_key: r.4.clone(),
                    resource_group: r.3.into(),
                    meter_id: r.0.into(),
                    meter_name: r.1.into(),
                    meter_category: r.2.into(),
                    meter_sub_category: "Dv5 Series".into(),
                    product_name: "Azure plan".into(),
                    publisher_name: "Microsoft".into(),
                    charge_type: "new".into(),
                    unit_price: dec(r.5),
                    quantity: dec(r.6),
                    pricing_currency: "USD".into(),
                    pec_percentage: dec(r.7),
                    benefit_type: r.8.into(),
                    tags: String::new(),
                });
            }
        }
        lines
    }

    /// The example's records (header first), as fields.
    fn example_records() -> Vec<Vec<String>> {
        EXAMPLE
            .trim_start_matches('\u{feff}')
            .split("\r\n")
            .filter(|l| !l.is_empty())
            .map(|l| l.split(',').map(String::from).collect())
            .collect()
    }

    /// Writes records as CSV (quoting where needed) with the given line terminator.
    fn write_csv(records: &[Vec<String>], crlf: bool) -> Vec<u8> {
        let terminator = if crlf {
            csv::Terminator::CRLF
        } else {
            csv::Terminator::Any(b'\n')
        };
        let mut w = csv::WriterBuilder::new()
            .flexible(true)
            .terminator(terminator)
            .from_writer(Vec::new());
        for r in records {
            w.write_record(r).expect("in memory");
        }
        w.into_inner().expect("in memory")
    }

    /// The index of a column in the SPEC's (and the example's) order.
    fn col(name: &str) -> usize {
        COLUMNS
            .iter()
            .position(|c| *c == name)
            .unwrap_or(usize::MAX)
    }

    /// The example with one value changed: data row `row` (0-based), column `name`.
    fn example_with(row: usize, name: &str, value: &str) -> Vec<u8> {
        let mut records = example_records();
        records[row + 1][col(name)] = value.into();
        write_csv(&records, false)
    }

    /// A reader that hands out at most `n` bytes per call.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(buf.len()).min(self.1);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn column_indexes_match_the_spec_header() {
        let h = usage_header();
        assert_eq!(h.len(), 55);
        for (i, name) in [
            (PARTNER_ID, "PartnerId"),
            (CUSTOMER_ID, "CustomerId"),
            (CUSTOMER_NAME, "CustomerName"),
            (MPN_ID, "MpnId"),
            (TIER2_MPN_ID, "Tier2MpnId"),
            (PRODUCT_NAME, "ProductName"),
            (PUBLISHER_NAME, "PublisherName"),
            (SUBSCRIPTION_ID, "SubscriptionId"),
            (USAGE_DATE, "UsageDate"),
            (METER_CATEGORY, "MeterCategory"),
            (METER_ID, "MeterId"),
            (METER_SUB_CATEGORY, "MeterSubCategory"),
            (METER_NAME, "MeterName"),
            (RESOURCE_GROUP, "ResourceGroup"),
            (RESOURCE_URI, "ResourceURI"),
            (CHARGE_TYPE, "ChargeType"),
            (UNIT_PRICE, "UnitPrice"),
            (QUANTITY, "Quantity"),
            (PRICING_CURRENCY, "PricingCurrency"),
            (TAGS, "Tags"),
            (PEC_PERCENTAGE, "PartnerEarnedCreditPercentage"),
            (BENEFIT_TYPE, "BenefitType"),
        ] {
            assert_eq!(h[i], name);
        }
        let mut unique: Vec<String> = h.iter().map(|c| c.to_ascii_lowercase()).collect();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 55);
        // The example file's header is the SPEC's, in order.
        assert_eq!(
            example_records()[0],
            h.iter().map(|c| c.to_string()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn the_example_file_parses_to_its_eight_lines() {
        let bytes = EXAMPLE.as_bytes();
        let (report, lines) = read(bytes);
        assert_eq!(report.errors, vec![]);
        assert_eq!(report.error_count, 0);
        assert_eq!(report.rows, 8);
        assert_eq!(report.bytes, 5891);
        assert_eq!(report.bytes, bytes.len() as u64);
        assert_eq!(report.sha256, sha(bytes));
        // The file's own SHA-256, as `sha256sum` prints it: the copy above is exact.
        assert_eq!(
            report.sha256,
            "291213c0c7c41cc9a57deb497ced8606024a3c0af81d7eae8b1dda844d8e2241"
        );
        assert_eq!(lines, example_lines());
        assert_eq!(lines[0].quantity, Decimal::new(24, 0));
        assert_eq!(lines[0].unit_price, Decimal::new(288, 3));
        assert_eq!(lines[0].pec_percentage, Decimal::new(15, 0));
        assert_eq!(
            lines[3].resource_key,
            "/subscriptions/23b8c1e9-3924-46de-beb1-3b9046685257"
        );
        assert_eq!(lines[3].line, 5);
    }

    #[test]
    fn gzip_and_short_reads_give_the_same_lines() {
        let gz = gzip(EXAMPLE.as_bytes());
        let (report, lines) = read(&gz);
        assert_eq!((report.error_count, report.rows), (0, 8));
        assert_eq!(lines, example_lines());
        assert_eq!(report.sha256, sha(&gz));
        assert_eq!(report.bytes, gz.len() as u64);

        // Two gzip members, as `cat a.gz b.gz` makes.
        let cut = EXAMPLE.find("\r\n7a3c").expect("a data row") + 2;
        let mut two = gzip(&EXAMPLE.as_bytes()[..cut]);
        two.extend(gzip(&EXAMPLE.as_bytes()[cut..]));
        let (report, lines) = read(&two);
        assert_eq!(report.error_count, 0);
        assert_eq!(lines, example_lines());

        for input in [EXAMPLE.as_bytes(), &gz] {
            let (report, lines) = read_from(Trickle(input, 1), PARTNER);
            assert_eq!((report.error_count, report.sha256), (0, sha(input)));
            assert_eq!(lines, example_lines());
        }
    }

    #[test]
    fn with_or_without_bom_crlf_or_lf() {
        let no_bom = EXAMPLE.trim_start_matches('\u{feff}');
        let lf = no_bom.replace("\r\n", "\n");
        let bom_lf = format!("\u{feff}{lf}");
        let no_final_newline = lf.trim_end().to_string();
        for text in [no_bom, &lf, &bom_lf, &no_final_newline] {
            let (report, lines) = read(text.as_bytes());
            assert_eq!((report.error_count, report.rows), (0, 8));
            assert_eq!(lines, example_lines());
        }
    }

    #[test]
    fn blank_lines_and_lone_cr_keep_line_numbers_right() {
        let records = example_records();
        let text = String::from_utf8(write_csv(&records, true)).expect("UTF-8");
        let mut rows: Vec<&str> = text.split_inclusive("\r\n").collect();
        rows.insert(2, "\r\n\r\n"); // two blank lines before the second data row
        rows.insert(5, "\n"); // a blank LF line before the fourth
        let mut text = rows.concat();
        text = text.replacen("\r\n", "\r", 1); // the header ends with a lone CR
        let (report, lines) = read(text.as_bytes());
        assert_eq!((report.error_count, report.rows), (0, 8));
        let numbers: Vec<u64> = lines.iter().map(|l| l.line).collect();
        assert_eq!(numbers, vec![2, 5, 6, 8, 9, 10, 11, 12]);
    }

    #[test]
    fn headers_in_any_order_and_case_unknown_columns_ignored() {
        let mut records = example_records();
        for r in records.iter_mut() {
            r.reverse();
            r.insert(7, "anything".into());
        }
        records[0] = records[0]
            .iter()
            .map(|h| format!("  {}\t", h.to_uppercase()))
            .collect();
        records[0][7] = "Not A Column".into();
        for crlf in [false, true] {
            let (report, lines) = read(&write_csv(&records, crlf));
            assert_eq!(report.errors, vec![]);
            assert_eq!(lines, example_lines());
        }
        // Optional columns may be left out: they read as empty.
        let mut records = example_records();
        let c = col("BenefitType");
        for r in records.iter_mut() {
            r.remove(c);
        }
        let (report, lines) = read(&write_csv(&records, false));
        assert_eq!(report.error_count, 0);
        assert_eq!(lines[2].benefit_type, "");
        assert_eq!(lines[2].meter_name, "D4s v5");
    }

    #[test]
    fn a_missing_required_header_rejects_the_file() {
        for name in ["MeterId", "ResourceURI", "PartnerEarnedCreditPercentage"] {
            let mut records = example_records();
            let c = col(name);
            for r in records.iter_mut() {
                r.remove(c);
            }
            let bytes = write_csv(&records, false);
            let (report, lines) = read(&bytes);
            assert!(lines.is_empty());
            assert_eq!(report.rows, 0);
            assert_eq!(report.error_count, 1);
            assert_eq!(
                report.errors,
                vec![RowError {
                    line: 1,
                    column: name.into(),
                    value: String::new(),
                    message: format!("missing required header {name}"),
                }]
            );
            // The hash still covers the whole file.
            assert_eq!(
                (report.sha256, report.bytes),
                (sha(&bytes), bytes.len() as u64)
            );
        }
    }

    #[test]
    fn a_duplicated_header_rejects_the_file() {
        let mut records = example_records();
        for (i, r) in records.iter_mut().enumerate() {
            r.push(if i == 0 {
                " tags ".into()
            } else {
                String::new()
            });
            r.push(if i == 0 {
                "Extra".into()
            } else {
                String::new()
            });
            r.push(if i == 0 {
                "extra".into()
            } else {
                String::new()
            });
        }
        let (report, lines) = read(&write_csv(&records, false));
        assert!(lines.is_empty());
        assert_eq!(
            report.error_count, 1,
            "a repeated unknown column is no error"
        );
        assert_eq!(
            report.errors,
            vec![RowError {
                line: 1,
                column: "Tags".into(),
                value: "tags".into(),
                message: "duplicated header: Tags appears more than once".into(),
            }]
        );
    }

    #[test]
    fn a_bad_row_stops_the_hand_over_and_is_reported_exactly() {
        let (report, lines) = read(&example_with(2, "Quantity", "abc"));
        assert_eq!(lines.iter().map(|l| l.line).collect::<Vec<_>>(), vec![2, 3]);
        assert_eq!(report.rows, 8);
        assert_eq!(report.error_count, 1);
        assert_eq!(
            report.errors,
            vec![RowError {
                line: 4,
                column: "Quantity".into(),
                value: "abc".into(),
                message: "not a decimal number: \"abc\"".into(),
            }]
        );
    }

    #[test]
    fn every_problem_of_a_row_is_reported() {
        let mut records = example_records();
        records[1][col("MeterId")] = "  ".into();
        records[1][col("UsageDate")] = "2026-02-30".into();
        records[1][col("PricingCurrency")] = "US".into();
        records[1][col("ResourceURI")] = String::new(); // allowed empty
        let (report, lines) = read(&write_csv(&records, false));
        assert!(lines.is_empty());
        let found: Vec<(u64, &str, &str)> = report
            .errors
            .iter()
            .map(|e| (e.line, e.column.as_str(), e.value.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![
                (2, "MeterId", "  "),
                (2, "UsageDate", "2026-02-30"),
                (2, "PricingCurrency", "US")
            ]
        );
        assert_eq!(report.errors[0].message, "MeterId is required");
        assert!(report.errors[1]
            .message
            .starts_with("not a valid UsageDate"));
    }

    #[test]
    fn only_the_first_hundred_errors_are_listed_all_are_counted() {
        let mut records = example_records();
        let template = records[1].clone();
        let q = col("Quantity");
        records.truncate(1);
        for _ in 0..150 {
            let mut r = template.clone();
            r[q] = "x".into();
            records.push(r);
        }
        let (report, lines) = read(&write_csv(&records, false));
        assert!(lines.is_empty());
        assert_eq!(report.rows, 150);
        assert_eq!(report.error_count, 150);
        assert_eq!(report.errors.len(), MAX_REPORTED_ERRORS);
        assert_eq!(report.errors[0].line, 2);
        assert_eq!(report.errors[99].line, 101);
    }

    #[test]
    fn another_partners_rows_are_a_tenant_mismatch() {
        let other = "11111111-2222-3333-4444-555555555555";
        let (report, lines) = read_from(EXAMPLE.as_bytes(), other);
        assert!(lines.is_empty());
        assert_eq!(report.error_count, 8);
        let e = &report.errors[0];
        assert_eq!(
            (e.line, e.column.as_str(), e.value.as_str()),
            (2, "PartnerId", PARTNER)
        );
        assert!(e.message.starts_with("TENANT_MISMATCH:"), "{}", e.message);

        // GUIDs compare case-insensitively, and are lower-cased.
        let (report, lines) =
            read_from(EXAMPLE.as_bytes(), &format!(" {} ", PARTNER.to_uppercase()));
        assert_eq!(report.error_count, 0);
        assert_eq!(lines.len(), 8);
        let upper = example_with(0, "PartnerId", &PARTNER.to_uppercase());
        let upper = String::from_utf8(upper)
            .expect("UTF-8")
            .replace(SUB, &SUB.to_uppercase());
        let (report, lines) = read(upper.as_bytes());
        assert_eq!(report.error_count, 0);
        assert_eq!(lines, example_lines());
    }

    #[test]
    fn usage_date_forms() {
        let ok = [
            ("2026-09-01", day(2026, 9, 1)),
            (" 2026-09-01 ", day(2026, 9, 1)),
            ("2026-09-01T00:00:00", day(2026, 9, 1)),
            ("2026-09-01T23:59:59Z", day(2026, 9, 1)),
            ("2026-09-01T23:59:59.9999999Z", day(2026, 9, 1)),
            ("2026-09-01T12:00:00+00:00", day(2026, 9, 1)),
            ("2026-09-01T01:00:00+02:00", day(2026, 8, 31)),
            ("2026-09-01T23:30:00-01:00", day(2026, 9, 2)),
            ("2026-09-01T23:30:00-0100", day(2026, 9, 2)),
            ("9/1/2026", day(2026, 9, 1)),
            ("09/01/2026", day(2026, 9, 1)),
            ("12/31/2026 11:59:59 PM", day(2026, 12, 31)),
            ("9/1/2026 12:00:00 AM", day(2026, 9, 1)),
            ("9/1/2026 1:05:00 pm", day(2026, 9, 1)),
            ("9/1/2026 13:05:00", day(2026, 9, 1)),
            ("2/29/2028", day(2028, 2, 29)),
        ];
        for (text, date) in ok {
            assert_eq!(parse_usage_date(text), Ok(date), "{text}");
        }
        let bad = [
            "",
            "2026-02-30",
            "2026-13-01",
            "13/1/2026",
            "2/29/2026",
            "1/32/2026",
            "2026-9-1",
            "26-09-01",
            "2026/09/01",
            "9/1/26",
            "2026-09-01T24:00:00",
            "2026-09-01T12:00",
            "2026-09-01T12:00:00.",
            "2026-09-01T12:00:00+25:00",
            "2026-09-01X12:00:00",
            "2026-09-01T12:00:00Zjunk",
            "9/1/2026 13:00:00 PM",
            "9/1/2026 0:00:00 AM",
            "9/1/2026 12:60:00 PM",
            "9/1/2026 noon",
            "September 1, 2026",
            "1/1/2026/1",
            "２０２６-09-01",
        ];
        for text in bad {
            assert!(
                parse_usage_date(text).is_err(),
                "{text:?} should be rejected"
            );
        }
        // In a file, too.
        let (report, lines) = read(&example_with(0, "UsageDate", "9/2/2026 11:59:59 PM"));
        assert_eq!(report.error_count, 0);
        assert_eq!(lines[0].usage_date, day(2026, 9, 2));
        let (report, _) = read(&example_with(1, "UsageDate", "13/1/2026"));
        assert_eq!(
            (report.errors[0].line, report.errors[0].column.as_str()),
            (3, "UsageDate")
        );
    }

    #[test]
    fn decimal_forms_and_ranges() {
        let (report, lines) = read(&example_with(0, "Quantity", "1.2E-05"));
        assert_eq!(report.error_count, 0);
        assert_eq!(lines[0].quantity, Decimal::new(12, 6));
        let (report, lines) = read(&example_with(0, "PartnerEarnedCreditPercentage", "15%"));
        assert_eq!(report.error_count, 0);
        assert_eq!(lines[0].pec_percentage, Decimal::new(15, 0));
        let (report, lines) = read(&example_with(0, "Quantity", "-3"));
        assert_eq!(
            report.error_count, 0,
            "corrections have negative quantities"
        );
        assert_eq!(lines[0].quantity, Decimal::new(-3, 0));
        let (report, lines) = read(&example_with(0, "PricingCurrency", "eur"));
        assert_eq!(report.error_count, 0);
        assert_eq!(lines[0].pricing_currency, "EUR");

        for pec in ["101", "-1", "100.01", "15 %%", "fifteen"] {
            let (report, lines) = read(&example_with(0, "PartnerEarnedCreditPercentage", pec));
            assert!(lines.is_empty());
            assert_eq!(report.error_count, 1, "{pec}");
            assert_eq!(report.errors[0].column, "PartnerEarnedCreditPercentage");
            assert_eq!(report.errors[0].value, pec);
        }
        let (report, _) = read(&example_with(0, "PartnerEarnedCreditPercentage", "100"));
        assert_eq!(report.error_count, 0);

        let mut records = example_records();
        records[1][col("UnitPrice")] = "79228162514264337593543950335".into();
        records[1][col("Quantity")] = "2".into();
        let (report, _) = read(&write_csv(&records, false));
        assert_eq!(
            report.errors,
            vec![RowError {
                line: 2,
                column: "Quantity".into(),
                value: "2".into(),
                message: "Quantity × UnitPrice is too large to compute".into(),
            }]
        );
        records[1][col("Quantity")] = "1".into();
        let (report, _) = read(&write_csv(&records, false));
        assert_eq!(report.error_count, 1, "× 15 % would overflow");
        assert!(report.errors[0]
            .message
            .contains("PartnerEarnedCreditPercentage"));
    }

    /// Found with the `usage_file` fuzz target (`fuzz/`; an input written for its aggregation
    /// invariant): two lines of 5 × 10^28 each were read as valid, and adding them up in
    /// ingestion (`UsageGroups::add`) overflowed `Decimal`, a panic. A line's amount is now
    /// bounded by [`MAX_LINE_AMOUNT`].
    #[test]
    fn line_amounts_are_bounded_so_that_sums_cannot_overflow() {
        let mut records = example_records();
        for row in [1, 2] {
            records[row][col("UnitPrice")] = "50000000000000000000000000000".into();
            records[row][col("Quantity")] = "1".into();
            records[row][col("PartnerEarnedCreditPercentage")] = "0".into();
        }
        let (report, lines) = read(&write_csv(&records, false));
        assert!(lines.is_empty());
        let error = |line| RowError {
            line,
            column: "Quantity".into(),
            value: "1".into(),
            message: "the line's amount (quantity × unit price) is \
                      50000000000000000000000000000, more than the ±1000000000000000 a usage \
                      line may have"
                .into(),
        };
        assert_eq!(report.errors, vec![error(2), error(3)]);

        // The bound itself is allowed, either sign; a cent more is not.
        let amount = |price: &str, quantity: &str| {
            let mut records = example_records();
            records[1][col("UnitPrice")] = price.into();
            records[1][col("Quantity")] = quantity.into();
            let (report, lines) = read(&write_csv(&records, false));
            (report.error_count, lines.len())
        };
        assert_eq!(amount("1000000000000000", "1"), (0, 8));
        assert_eq!(amount("0.5", "-2000000000000000"), (0, 8));
        assert_eq!(amount("1000000000000000.01", "1"), (1, 0));
        assert_eq!(amount("-1000000000000000", "1.000000000000001"), (1, 0));
    }

    #[test]
    fn a_quoted_newline_spans_lines() {
        let mut records = example_records();
        records[1][col("CustomerName")] = "Customer\nbdd6".into();
        let tags = "{\"a\":\"x,\r\ny\",\n\"b\":\"\"\"q\"\"\"}";
        records[3][col("Tags")] = tags.into();
        for crlf in [false, true] {
            let (report, lines) = read(&write_csv(&records, crlf));
            assert_eq!(report.error_count, 0);
            let numbers: Vec<u64> = lines.iter().map(|l| l.line).collect();
            assert_eq!(numbers, vec![2, 4, 5, 8, 9, 10, 11, 12]);
            assert_eq!(lines[0].customer_name, "Customer\nbdd6");
            assert_eq!(lines[2].tags, tags);
        }
        // A bad value after a multi-line record is reported on its own first line.
        records[5][col("MeterId")] = String::new();
        let (report, lines) = read(&write_csv(&records, true));
        assert_eq!(lines.len(), 4);
        assert_eq!(
            (report.errors[0].line, report.errors[0].column.as_str()),
            (9, "MeterId")
        );
    }

    #[test]
    fn a_row_with_the_wrong_number_of_fields() {
        let mut records = example_records();
        records[2].push("extra".into());
        records[4].truncate(3);
        let (report, lines) = read(&write_csv(&records, false));
        assert_eq!(lines.len(), 1);
        assert_eq!(report.error_count, 2);
        let e = &report.errors[0];
        assert_eq!((e.line, e.column.as_str()), (3, ""));
        assert_eq!(e.message, "the row has 56 fields, the header has 55");
        assert_eq!(
            e.value,
            records[2].join(",").chars().take(200).collect::<String>()
        );
        assert_eq!(report.errors[1].value, records[4].join(","));
        assert_eq!(
            report.errors[1].message,
            "the row has 3 fields, the header has 55"
        );
    }

    #[test]
    fn non_utf8_bytes_are_reported_by_line_and_column() {
        let mut bytes = write_csv(&example_records(), false);
        let at = bytes
            .windows(13)
            .enumerate()
            .filter(|(_, w)| w == b"Customer bdd6")
            .map(|(i, _)| i)
            .nth(1)
            .expect("second row");
        bytes[at + 4] = 0xff;
        let (report, lines) = read(&bytes);
        assert_eq!(lines.len(), 1);
        assert_eq!(
            report.errors,
            vec![RowError {
                line: 3,
                column: "CustomerName".into(),
                value: "Cust\u{fffd}mer bdd6".into(),
                message: "not valid UTF-8 (byte 5 of the value)".into(),
            }]
        );

        // In an unknown column, named as the header has it.
        let mut records = example_records();
        for r in records.iter_mut() {
            r.push("ok".into());
        }
        records[0][55] = "My Notes".into();
        let mut bytes = write_csv(&records, false);
        let last_ok = bytes.len() - 2; // "...,ok\n" of the last row
        bytes[last_ok] = 0xc3;
        let (report, lines) = read(&bytes);
        assert_eq!(lines.len(), 7);
        let e = &report.errors[0];
        assert_eq!((e.line, e.column.as_str()), (9, "My Notes"));

        // In the header.
        let mut bytes = EXAMPLE.as_bytes().to_vec();
        bytes[5] = 0xfe;
        let (report, _) = read(&bytes);
        assert_eq!(report.errors.len(), 2);
        let e = &report.errors[0];
        assert_eq!((e.line, e.column.as_str()), (1, ""));
        assert_eq!(e.value, "Pa\u{fffd}tnerId");
        assert_eq!(e.message, "the header is not valid UTF-8");
        assert_eq!(
            report.errors[1].message,
            "missing required header PartnerId"
        );
    }

    #[test]
    fn a_truncated_gzip_is_one_error_where_it_stops() {
        let body = EXAMPLE
            .split_once("\r\n")
            .map(|(_, rows)| rows)
            .unwrap_or_default();
        let mut text = EXAMPLE.to_string();
        for _ in 0..400 {
            text.push_str(body);
        }
        let gz = gzip(text.as_bytes());
        let cut = &gz[..gz.len() / 2];
        let (report, lines) = read(cut);
        assert_eq!(report.error_count, 1);
        let e = &report.errors[0];
        assert!(
            e.message.contains("corrupt or truncated gzip data"),
            "{}",
            e.message
        );
        assert_eq!(e.column, "");
        assert!(report.rows > 0 && report.rows < 8 * 401);
        assert_eq!(
            lines.len() as u64,
            report.rows,
            "rows before the break were valid"
        );
        assert_eq!(
            e.line,
            report.rows + 2,
            "the line being read when the data ended"
        );
        assert_eq!((report.sha256, report.bytes), (sha(cut), cut.len() as u64));

        // Cut in the trailer, after all the text.
        let (report, _) = read(&gz[..gz.len() - 3]);
        assert_eq!(report.error_count, 1);
        assert_eq!(report.rows, 8 * 401);
        // Corrupt in the middle: what decodes before the damage is noticed may be garbage rows,
        // but the file is rejected.
        let mut bad = gz.clone();
        let mid = bad.len() / 2;
        for b in &mut bad[mid..mid + 64] {
            *b ^= 0x5a;
        }
        let (report, _) = read(&bad);
        assert!(report.error_count >= 1);
        assert_eq!(report.bytes, bad.len() as u64);
        // Not gzip after the first member.
        let mut junk = gzip(EXAMPLE.as_bytes());
        junk.extend_from_slice(b"junk");
        let (report, _) = read(&junk);
        assert_eq!(report.error_count, 1);
    }

    #[test]
    fn a_read_error_is_one_error_and_stops() {
        struct Failing<'a>(&'a [u8]);
        impl Read for Failing<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() {
                    return Err(io::Error::other("disk on fire"));
                }
                let n = self.0.len().min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let (report, lines) = read_from(Failing(EXAMPLE.as_bytes()), PARTNER);
        assert_eq!(lines.len(), 8);
        assert_eq!(report.error_count, 1);
        assert_eq!(report.errors[0].line, 10);
        assert!(report.errors[0].message.contains("disk on fire"));
    }

    #[test]
    fn an_unclosed_quote_cannot_eat_unbounded_memory() {
        let mut text = EXAMPLE.to_string();
        text.push_str("\"never closed");
        let filler = "x".repeat(1000) + "\r\n";
        for _ in 0..1100 {
            text.push_str(&filler);
        }
        let (report, lines) = read(text.as_bytes());
        assert_eq!(lines.len(), 8);
        assert_eq!(report.error_count, 1);
        assert_eq!(report.errors[0].line, 10);
        assert!(
            report.errors[0].message.contains("longer than"),
            "{}",
            report.errors[0].message
        );
        assert_eq!(report.bytes, text.len() as u64);
    }

    #[test]
    fn empty_and_header_only_files() {
        let (report, _) = read(b"");
        assert_eq!(report.error_count, 1);
        assert_eq!(report.errors[0].line, 1);
        assert_eq!(report.sha256, sha(b""));
        let (report, _) = read("\u{feff}".as_bytes());
        assert_eq!(report.error_count, 1);
        let (report, _) = read(&gzip(b""));
        assert_eq!(report.error_count, 1);

        let header = EXAMPLE
            .split_once("\r\n")
            .map(|(h, _)| h)
            .unwrap_or_default();
        let (report, lines) = read(header.as_bytes());
        assert_eq!((report.error_count, report.rows, lines.len()), (0, 0, 0));
    }

    #[test]
    fn values_in_errors_are_cut_to_200_characters() {
        let long = "é".repeat(300);
        let (report, _) = read(&example_with(0, "Quantity", &long));
        assert_eq!(report.errors[0].value, "é".repeat(200));
    }

    #[test]
    fn a_failing_consumer_stops_the_read() {
        let mut seen = 0;
        let result = read_usage_file(EXAMPLE.as_bytes(), PARTNER, |_| {
            seen += 1;
            if seen == 3 {
                Err("store is full".to_string())
            } else {
                Ok(())
            }
        });
        assert_eq!(result, Err("store is full".to_string()));
        assert_eq!(seen, 3);
    }

    // ---- properties ---------------------------------------------------------------------

    fn guid() -> impl Strategy<Value = String> {
        "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    }

    /// Text with no surrounding spaces, including characters CSV must quote.
    fn text(min: usize) -> impl Strategy<Value = String> {
        let inner = "[a-zA-Z0-9 ,\"\n;:={}é-]{0,10}";
        let word = proptest::string::string_regex(&format!("[a-zA-Z0-9é]({inner}[a-zA-Z0-9é])?"))
            .expect("valid regex");
        if min == 0 {
            prop_oneof![Just(String::new()), word].boxed()
        } else {
            word.boxed()
        }
    }

    fn decimal(max_scale: u32) -> impl Strategy<Value = Decimal> {
        (any::<i32>(), 0..=max_scale).prop_map(|(m, s)| Decimal::new(i64::from(m), s))
    }

    /// A valid row as the file writes it (55 fields) and the line it must read as (line 0).
    fn valid_row() -> impl Strategy<Value = (Vec<String>, UsageLine)> {
        let ids = (guid(), guid(), guid(), text(1), text(0), text(0));
        let meter = (
            text(1),
            text(1),
            text(1),
            text(0),
            text(1),
            text(1),
            text(1),
        );
        let rest = (
            0i64..40000,
            0usize..5,
            prop_oneof![Just(String::new()), "[a-zA-Z0-9/._-]{1,30}"],
            decimal(10),
            decimal(10),
            (0u32..=10000, 0u32..=2, any::<bool>()),
            "[a-zA-Z]{3}",
            (text(0), text(0)),
        );
        (ids, meter, rest).prop_map(|(ids, meter, rest)| {
            let (customer, subscription, _, mpn, tier2, customer_name) = ids;
            let (meter_id, meter_name, category, sub_category, product, publisher, charge) = meter;
            let (days, form, uri_tail, price, quantity, pec, currency, (benefit, tags)) = rest;
            // A larger line amount is rejected (MAX_LINE_AMOUNT).
            let price = if (price * quantity).abs() > MAX_LINE_AMOUNT {
                price / Decimal::from(1_000_000)
            } else {
                price
            };
            let date = day(1990, 1, 1) + Duration::days(days);
            let date_text = match form {
                0 => date.format("%Y-%m-%d").to_string(),
                1 => date.format("%Y-%m-%dT00:00:00Z").to_string(),
                2 => date.format("%Y-%m-%dT23:59:59.5+00:00").to_string(),
                3 => date.format("%-m/%-d/%Y").to_string(),
                _ => date.format("%-m/%-d/%Y 11:59:59 PM").to_string(),
            };
            let uri = if uri_tail.is_empty() {
                String::new()
            } else {
                format!("/subscriptions/{subscription}/resourceGroups/{uri_tail}")
            };
            let pec_value = Decimal::new(i64::from(pec.0), pec.1).min(Decimal::ONE_HUNDRED);
            let pec_text = format!("{pec_value}{}", if pec.2 { "%" } else { "" });
            let mut fields = vec![String::from("-"); N_COLUMNS];
            let mut set = |k: usize, v: &str| fields[k] = v.to_string();
            set(PARTNER_ID, &PARTNER.to_uppercase());
            set(CUSTOMER_ID, &customer);
            set(CUSTOMER_NAME, &customer_name);
            set(MPN_ID, &mpn);
            set(TIER2_MPN_ID, &tier2);
            set(SUBSCRIPTION_ID, &subscription);
            set(USAGE_DATE, &date_text);
            set(RESOURCE_URI, &uri);
            set(RESOURCE_GROUP, &uri_tail);
            set(METER_ID, &meter_id);
            set(METER_NAME, &meter_name);
            set(METER_CATEGORY, &category);
            set(METER_SUB_CATEGORY, &sub_category);
            set(PRODUCT_NAME, &product);
            set(PUBLISHER_NAME, &publisher);
            set(CHARGE_TYPE, &charge);
            set(UNIT_PRICE, &price.to_string());
            set(QUANTITY, &quantity.to_string());
            set(PRICING_CURRENCY, &currency);
            set(PEC_PERCENTAGE, &pec_text);
            set(BENEFIT_TYPE, &benefit);
            set(TAGS, &tags);
            let line = UsageLine {
                line: 0,
                partner_id: PARTNER.into(),
                customer_id: customer.to_lowercase(),
                subscription_id: subscription.to_lowercase(),
                customer_name,
                mpn_id: mpn,
                tier2_mpn_id: tier2,
                usage_date: date,
                resource_key: usage_resource_key(&uri, &subscription),
                resource_group: uri_tail,
                meter_id,
                meter_name,
                meter_category: category,
                meter_sub_category: sub_category,
                product_name: product,
                publisher_name: publisher,
                charge_type: charge,
                unit_price: price,
                quantity,
                pricing_currency: currency.to_uppercase(),
                pec_percentage: pec_value,
                benefit_type: benefit,
                tags,
            };
            (fields, line)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn valid_rows_round_trip(
            rows in prop::collection::vec(valid_row(), 1..8),
            crlf in any::<bool>(),
            bom in any::<bool>(),
            gz in any::<bool>(),
            chunk in 1usize..64,
        ) {
            let mut records = vec![COLUMNS.iter().map(|c| c.to_string()).collect::<Vec<_>>()];
            let mut expected = Vec::new();
            let mut line = 2;
            for (fields, mut usage) in rows {
                usage.line = line;
                line += 1 + fields.iter().map(|f| f.matches('\n').count() as u64).sum::<u64>();
                records.push(fields);
                expected.push(usage);
            }
            let mut bytes = if bom { "\u{feff}".as_bytes().to_vec() } else { Vec::new() };
            bytes.extend(write_csv(&records, crlf));
            if gz {
                bytes = gzip(&bytes);
            }
            let (report, lines) = read_from(Trickle(&bytes, chunk), PARTNER);
            prop_assert_eq!(report.errors, vec![]);
            prop_assert_eq!(report.rows, expected.len() as u64);
            prop_assert_eq!(lines, expected);
            prop_assert_eq!(report.sha256, sha(&bytes));
        }

        #[test]
        fn arbitrary_bytes_never_panic(
            bytes in prop::collection::vec(any::<u8>(), 0..3000),
            prefix in 0usize..3,
        ) {
            let header = EXAMPLE.split_once("\r\n").map(|(h, _)| h).unwrap_or_default();
            let mut input = match prefix {
                0 => Vec::new(),
                1 => format!("{header}\n").into_bytes(),
                _ => vec![0x1f, 0x8b],
            };
            input.extend(&bytes);
            let (report, lines) = read(&input);
            prop_assert_eq!(report.bytes, input.len() as u64);
            prop_assert_eq!(report.sha256, sha(&input));
            prop_assert!(report.errors.len() as u64 <= report.error_count);
            prop_assert!(report.errors.len() <= MAX_REPORTED_ERRORS);
            if report.error_count == 0 {
                prop_assert_eq!(lines.len() as u64, report.rows);
            }
        }

        #[test]
        fn damaged_files_are_accepted_whole_or_reported(
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        ) {
            let mut input = EXAMPLE.as_bytes().to_vec();
            for (at, byte) in edits {
                let i = at.index(input.len());
                input[i] = byte;
            }
            let (report, lines) = read(&input);
            prop_assert_eq!(report.bytes, input.len() as u64);
            if report.error_count == 0 {
                prop_assert_eq!(lines.len() as u64, report.rows);
            } else {
                prop_assert!(!report.errors.is_empty());
                prop_assert!(lines.iter().all(|l| l.line < report.errors[0].line));
            }
        }
    }
}
