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

/// Something worth a look in a file that was taken (e.g. a charge period longer than a day).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowWarning {
    pub line: u64,
    pub column: String,
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
    /// The first [`MAX_REPORTED_ERRORS`] warnings, in file order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<RowWarning>,
}

/// The errors found so far: the first [`MAX_REPORTED_ERRORS`] kept, all counted.
#[derive(Default)]
pub(super) struct Errors {
    pub(super) count: u64,
    pub(super) list: Vec<RowError>,
    /// Warnings (the first [`MAX_REPORTED_ERRORS`]): the file is still taken.
    pub(super) warnings: Vec<RowWarning>,
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

impl Errors {
    pub(super) fn warn(&mut self, line: u64, column: &str, message: impl FnOnce() -> String) {
        if self.warnings.len() < MAX_REPORTED_ERRORS {
            self.warnings.push(RowWarning {
                line,
                column: column.to_string(),
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
