//! What reading a usage file reports: [`RowError`]s and the [`UsageFileReport`], and the
//! error list the readers fill (the first [`MAX_REPORTED_ERRORS`] kept, all counted).

use super::{MAX_REPORTED_ERRORS, MAX_VALUE_CHARS};
use serde::{Deserialize, Serialize};

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

/// The errors found so far: the first [`MAX_REPORTED_ERRORS`] kept, all counted.
#[derive(Default)]
pub(super) struct Errors {
    pub(super) count: u64,
    pub(super) list: Vec<RowError>,
}

impl Errors {
    /// Whether the next error would be listed (rather than only counted).
    pub(super) fn listing(&self) -> bool {
        self.list.len() < MAX_REPORTED_ERRORS
    }

    pub(super) fn add(
        &mut self,
        line: u64,
        column: &str,
        value: &str,
        message: impl FnOnce() -> String,
    ) {
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

/// A record as text for an error message: its fields joined by commas, at most 200 characters.
pub(super) fn record_text(record: &csv::ByteRecord) -> String {
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
