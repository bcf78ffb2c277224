//! Exact decimal amounts: parsing the forms usage files use, and printing them for JSON and CSV.

use rust_decimal::Decimal;
use std::str::FromStr;

/// A number that is not a decimal as the files or the stores write them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    #[error("empty number")]
    Empty,
    #[error("not a decimal number: {0:?}")]
    NotDecimal(String),
    /// Decimal-looking text that does not fit (too many digits, an exponent out of range).
    #[error("not a decimal number: {text:?} ({reason})")]
    OutOfRange { text: String, reason: String },
    /// An amount this program wrote itself that no longer reads.
    #[error("stored amount {text:?} is not a decimal: {reason}")]
    Stored { text: String, reason: String },
}

/// Parses a decimal as usage files write it: `.` as separator, optional sign, optional exponent
/// (`1.2E-05`). No thousands separators, no `NaN` or `Infinity`.
pub fn parse_decimal(text: &str) -> Result<Decimal, DecimalError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(DecimalError::Empty);
    }
    let valid_chars = t
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'+' | b'-' | b'e' | b'E'));
    if !valid_chars || !t.bytes().any(|b| b.is_ascii_digit()) {
        return Err(DecimalError::NotDecimal(t.to_string()));
    }
    let parsed = if t.contains(['e', 'E']) {
        Decimal::from_scientific(t)
    } else {
        Decimal::from_str_exact(t.strip_prefix('+').unwrap_or(t))
    };
    parsed.map_err(|e| DecimalError::OutOfRange {
        text: t.to_string(),
        reason: e.to_string(),
    })
}

/// Parses `PartnerEarnedCreditPercentage`: a decimal, optionally followed by `%`.
pub fn parse_percentage(text: &str) -> Result<Decimal, DecimalError> {
    let t = text.trim();
    parse_decimal(t.strip_suffix('%').unwrap_or(t))
}

/// The exact, canonical text of an amount: no exponent, no trailing zeros, `0` for zero.
pub fn fmt_amount(d: Decimal) -> String {
    let mut out = Vec::with_capacity(24);
    write_amount(&mut out, d);
    // Only ASCII digits, `-` and `.` were written.
    String::from_utf8(out).unwrap_or_default()
}

/// Appends the canonical text of [`fmt_amount`] to `out` (what `d.normalize().to_string()` gives,
/// and `0` for zero), without going through `fmt`.
pub fn write_amount(out: &mut Vec<u8>, d: Decimal) {
    let n = d.normalize();
    if n.is_zero() {
        out.push(b'0');
        return;
    }
    if n.is_sign_negative() {
        out.push(b'-');
    }
    // The digits of the mantissa (at most 29), least significant first.
    let mut digits = [0u8; 40];
    let mut len = 0;
    let mut m = n.mantissa().unsigned_abs();
    while m > u128::from(u64::MAX) {
        digits[len] = b'0' + (m % 10) as u8;
        m /= 10;
        len += 1;
    }
    let mut m = m as u64;
    while m > 0 {
        digits[len] = b'0' + (m % 10) as u8;
        m /= 10;
        len += 1;
    }
    let scale = n.scale() as usize;
    if len <= scale {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', scale - len));
        out.extend(digits[..len].iter().rev());
    } else {
        out.extend(digits[scale..len].iter().rev());
        if scale > 0 {
            out.push(b'.');
            out.extend(digits[..scale].iter().rev());
        }
    }
}

/// Lower-case hex of `bytes` (what `hex::encode` gives, without a per-character iterator).
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// Parses an amount that this program wrote itself (stored text).
pub fn parse_stored(text: &str) -> Result<Decimal, DecimalError> {
    Decimal::from_str(text).map_err(|e| DecimalError::Stored {
        text: text.to_string(),
        reason: e.to_string(),
    })
}

/// Serde helpers that write decimals as exact canonical strings.
pub mod as_string {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::fmt_amount(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_stored(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form_the_spec_lists() {
        assert_eq!(parse_decimal("0.5044").unwrap().to_string(), "0.5044");
        assert_eq!(parse_decimal("-3").unwrap().to_string(), "-3");
        assert_eq!(parse_decimal("+2.50").unwrap(), Decimal::new(25, 1));
        assert_eq!(parse_decimal("1.2E-05").unwrap(), Decimal::new(12, 6));
        assert_eq!(parse_decimal("1.5e2").unwrap(), Decimal::new(150, 0));
        assert_eq!(parse_percentage("15%").unwrap(), Decimal::new(15, 0));
        assert_eq!(parse_percentage("0").unwrap(), Decimal::ZERO);
    }

    #[test]
    fn rejects_what_is_not_a_number() {
        for bad in [
            "", "NaN", "Infinity", "1,5", "abc", "1.2.3", "--1", "e5", "1 000",
        ] {
            assert!(parse_decimal(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    proptest::proptest! {
        #[test]
        fn write_amount_is_the_normalized_display(
            lo in proptest::prelude::any::<u32>(),
            mid in proptest::prelude::any::<u32>(),
            hi in proptest::prelude::any::<u32>(),
            negative in proptest::prelude::any::<bool>(),
            scale in 0u32..=28,
            small in proptest::prelude::any::<bool>(),
        ) {
            // Half the cases small mantissas (the usual amounts), half anything up to 96 bits.
            let (mid, hi) = if small { (mid % 4, 0) } else { (mid, hi) };
            let d = Decimal::from_parts(lo, mid, hi, negative, scale);
            let n = d.normalize();
            let expected = if n.is_zero() { "0".to_string() } else { n.to_string() };
            proptest::prop_assert_eq!(fmt_amount(d), expected);
        }
    }

    #[test]
    fn formats_canonically() {
        assert_eq!(fmt_amount(Decimal::new(103680, 5)), "1.0368");
        assert_eq!(fmt_amount(Decimal::new(0, 3)), "0");
        assert_eq!(fmt_amount(Decimal::new(-5, 1)), "-0.5");
        assert_eq!(
            fmt_amount(Decimal::new(-5, 28)),
            "-0.0000000000000000000000000005"
        );
        assert_eq!(fmt_amount(Decimal::new(1_234_500, 2)), "12345");
        assert_eq!(fmt_amount(Decimal::MAX), "79228162514264337593543950335");
        assert_eq!(fmt_amount(Decimal::MIN), "-79228162514264337593543950335");
        assert_eq!(
            fmt_amount(Decimal::from_parts(u32::MAX, u32::MAX, u32::MAX, false, 28)),
            "7.9228162514264337593543950335"
        );
    }
}
