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

use rust_decimal::Decimal;

mod chain;
mod columns;
mod date;
mod export;
mod line;
mod reader;
mod report;
mod row;

pub use columns::usage_header;
pub use date::{parse_usage_date, UsageDateError};
pub use line::{UsageLine, UsageLineView};
pub use reader::{
    detect_usage_format, read_usage_file, read_usage_file_with, read_usage_rows, ReadOptions,
    UsageFormat,
};
pub use report::{RowError, UsageFileReport};

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

#[cfg(test)]
mod tests;
