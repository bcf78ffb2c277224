//! Daily rated usage files (SPEC 3.1): a streaming, all-or-nothing reader.
//!
//! INTERFACE STUB — the implementation replaces the bodies, keeping the signatures.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::io::Read;

/// How many errors a report lists; the total is always counted.
pub const MAX_REPORTED_ERRORS: usize = 100;

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

/// Streams a usage file — plain or gzip (detected from the magic bytes), UTF-8 with or without
/// BOM — validating every row. Each valid row is handed to `on_line` in file order while no
/// error has been seen; after the first error the rest is only validated and counted. The file
/// is accepted only if the report has `error_count == 0`. `Err` only when `on_line` fails.
pub fn read_usage_file<R: Read>(
    input: R,
    partner_id: &str,
    on_line: impl FnMut(UsageLine) -> Result<(), String>,
) -> Result<UsageFileReport, String> {
    let _ = (input, partner_id, on_line);
    unimplemented!("usage reader")
}
