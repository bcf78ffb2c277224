//! pec-testkit: the helpers every crate's tests share, defined once: dates, times and decimals
//! from text (panicking on a typo in a test, never on input the product reads), gzip, and the
//! example inputs in `fixtures/examples`. A dev-dependency only; it depends on no crate of ours,
//! so the domain crate's own tests can use it too.
#![forbid(unsafe_code)]

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use std::io::Write;
use std::path::PathBuf;
use std::str::FromStr;

/// `2026-09-01` as a date.
pub fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
}

/// An RFC 3339 time as UTC.
pub fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("test time")
        .with_timezone(&Utc)
}

/// A plain decimal (`6.912`, `-3.63168`) as an exact [`Decimal`].
pub fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).expect("test decimal")
}

/// `bytes` gzip-compressed, as a partner's `.csv.gz` upload.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).expect("in memory");
    e.finish().expect("in memory")
}

/// `bytes` gzip-compressed at the fastest level. Tests that cut a compressed stream at a given
/// offset depend on the level: they say which one they were worked out with.
pub fn gzip_fast(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).expect("in memory");
    e.finish().expect("in memory")
}

/// The repository's `fixtures/` folder.
pub fn fixtures() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures"))
}

/// The contract's example inputs: `fixtures/examples` (`daily-rated-usage.csv`,
/// `snapshot-0.json` … `snapshot-4.json`).
pub fn examples() -> PathBuf {
    fixtures().join("examples")
}

/// The bytes of `fixtures/examples/snapshot-{i}.json`.
pub fn example_snapshot(i: usize) -> Vec<u8> {
    std::fs::read(examples().join(format!("snapshot-{i}.json"))).expect("example snapshot")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn helpers_read_what_they_say() {
        assert_eq!(
            d("2026-09-01"),
            NaiveDate::from_ymd_opt(2026, 9, 1).unwrap()
        );
        assert_eq!(t("2026-09-01T02:00:00+02:00"), t("2026-09-01T00:00:00Z"));
        assert_eq!(t("2026-09-01T00:00:00Z").timestamp(), 1_788_220_800);
        assert_eq!(dec("-3.63168"), Decimal::new(-363168, 5));
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&gzip(b"a,b\r\n")[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, b"a,b\r\n");
        // The five example snapshots are there, and are the SPEC's customer's.
        for i in 0..5 {
            let s = String::from_utf8(example_snapshot(i)).unwrap();
            assert!(
                s.contains("bdd640fb-0667-4ad1-9c80-317fa3b1799d"),
                "snapshot-{i}"
            );
        }
        assert!(examples().join("daily-rated-usage.csv").is_file());
    }
}
