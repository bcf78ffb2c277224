//! Usage files (SPEC 3.1 and the Cost Management / FOCUS exports): arbitrary bytes through the
//! reader the upload uses (`read_usage_file_with`), then the aggregation ingestion stages
//! (`UsageGroups`).
//!
//! Input: one flag byte, then the file.
//! - bit 0: also read the file gzip-compressed (the upload's gzip path) and require the same
//!   outcome as the plain read;
//! - bit 1: give the partner's MPN ID (needed by the exports);
//! - bits 2-4: also read the file in chunks of 1 to 7 bytes and require the same outcome (the
//!   byte-order-mark stripper and the line tracker must not depend on how reads are cut).
//!
//! Invariants checked on every input: no panic; `bytes`/`sha256` cover exactly the input; the
//! error list is the first `min(error_count, 100)` errors in file order; rows are handed on in
//! file order, only while no error has been seen, and an accepted file hands on every row; each
//! accepted row is the uploading partner's, with a percentage in 0..=100 and an upper-case
//! three-letter currency; the aggregates count every accepted row once and add up to the rows'
//! amounts; `detect_usage_format` is the same for the gzip and the plain file.
#![no_main]

use flate2::write::GzEncoder;
use libfuzzer_sys::fuzz_target;
use pec_ledger::config::Config;
use pec_ledger::ingest::{microsoft_credit, UsageGroups};
use pec_ledger::usage::{
    detect_usage_format, read_usage_file_with, ReadOptions, UsageFileReport, UsageLine,
    MAX_REPORTED_ERRORS,
};
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};

const PARTNER: &str = "7a3c0000-0000-4000-8000-000000000001";
const MPN: &str = "4100001";

/// Hands out at most `chunk` bytes per read.
struct Chunked<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.chunk.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn read(input: impl Read, options: &ReadOptions) -> (UsageFileReport, Vec<UsageLine>) {
    let mut lines = Vec::new();
    let report = read_usage_file_with(input, options, |line| {
        lines.push(line);
        Ok::<(), std::convert::Infallible>(())
    })
    .expect("on_line never fails here, so neither does the reader");
    (report, lines)
}

/// The invariants of one read of `raw` (the bytes as uploaded).
fn check(raw: &[u8], report: &UsageFileReport, lines: &[UsageLine]) {
    assert_eq!(report.bytes, raw.len() as u64, "bytes counts the upload");
    assert_eq!(report.sha256, hex::encode(Sha256::digest(raw)));
    let listed = (report.error_count as usize).min(MAX_REPORTED_ERRORS);
    assert_eq!(report.errors.len(), listed, "the first errors are listed");
    assert!(
        report.errors.windows(2).all(|w| w[0].line <= w[1].line),
        "errors are in file order: {:?}",
        report.errors
    );
    assert!(report
        .errors
        .iter()
        .all(|e| e.line >= 1 && !e.message.is_empty()));
    assert!(lines.len() as u64 <= report.rows);
    if report.error_count == 0 {
        assert_eq!(
            lines.len() as u64,
            report.rows,
            "an accepted file hands on every row"
        );
    } else if let Some(last) = lines.last() {
        // Rows are handed on only before the first error.
        assert!(last.line <= report.errors[0].line);
    }
    assert!(
        lines.windows(2).all(|w| w[0].line < w[1].line),
        "rows are handed on in file order"
    );
    for line in lines {
        assert!(line.line >= 2, "the header is line 1");
        assert_eq!(line.partner_id, PARTNER);
        assert!(
            line.pec_percentage >= Decimal::ZERO && line.pec_percentage <= Decimal::ONE_HUNDRED
        );
        assert!(
            line.pricing_currency.len() == 3
                && line
                    .pricing_currency
                    .bytes()
                    .all(|b| b.is_ascii_uppercase()),
            "{:?}",
            line.pricing_currency
        );
    }
}

/// Aggregates the accepted lines as ingestion does and checks the totals.
fn check_aggregates(lines: &[UsageLine]) {
    let config = Config::default();
    let mut groups = UsageGroups::default();
    let mut amount = Decimal::ZERO;
    let mut credit = Decimal::ZERO;
    let mut exact = true;
    for line in lines {
        let a = line.quantity * line.unit_price;
        match (
            amount.checked_add(a),
            credit.checked_add(microsoft_credit(line)),
        ) {
            (Some(x), Some(y)) => (amount, credit) = (x, y),
            _ => exact = false,
        }
        groups.add(line.clone(), &config);
    }
    let rows = groups.drain_sorted();
    assert_eq!(
        rows.iter().map(|r| r.lines).sum::<u64>(),
        lines.len() as u64
    );
    assert!(rows.windows(2).all(|w| w[0].key <= w[1].key));
    if exact {
        let list: Decimal = rows.iter().map(|r| r.list_amount).sum();
        let ms: Decimal = rows.iter().map(|r| r.microsoft_credit).sum();
        assert_eq!(list, amount, "the groups add up to the rows");
        assert_eq!(ms, credit);
        for r in &rows {
            let ineligible: Decimal = r.ineligible_by_reason.values().copied().sum();
            assert_eq!(r.eligible_amount + ineligible, r.list_amount);
        }
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).expect("writing to a Vec");
    e.finish().expect("writing to a Vec")
}

fuzz_target!(|input: &[u8]| {
    let Some((&flags, data)) = input.split_first() else {
        return;
    };
    let options = ReadOptions {
        partner_id: PARTNER.into(),
        mpn_id: (flags & 2 != 0).then(|| MPN.to_string()),
    };
    let (report, lines) = read(data, &options);
    check(data, &report, &lines);
    if report.error_count == 0 {
        check_aggregates(&lines);
    }
    let format = detect_usage_format(data);

    let chunk = usize::from((flags >> 2) & 7);
    if chunk != 0 {
        let (r, l) = read(Chunked { data, chunk }, &options);
        assert_eq!(r, report, "the outcome does not depend on read sizes");
        assert_eq!(l, lines);
    }
    // A plain file that already starts with the gzip magic would be gunzipped twice.
    if flags & 1 != 0 && !data.starts_with(&[0x1f, 0x8b]) {
        let gz = gzip(data);
        let (r, l) = read(gz.as_slice(), &options);
        check(&gz, &r, &l);
        assert_eq!(
            (r.rows, r.error_count, &r.errors),
            (report.rows, report.error_count, &report.errors),
            "gzip and plain read alike"
        );
        assert_eq!(l, lines);
        assert_eq!(detect_usage_format(gz.as_slice()), format);
    }
});
