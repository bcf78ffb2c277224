//! Exact decimal amounts: parsing the forms usage files use, and printing them for JSON and CSV.

use rust_decimal::Decimal;
use std::str::FromStr;

/// Parses a decimal as usage files write it: `.` as separator, optional sign, optional exponent
/// (`1.2E-05`). No thousands separators, no `NaN` or `Infinity`.
pub fn parse_decimal(text: &str) -> Result<Decimal, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty number".into());
    }
    let valid_chars = t
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'+' | b'-' | b'e' | b'E'));
    if !valid_chars || !t.bytes().any(|b| b.is_ascii_digit()) {
        return Err(format!("not a decimal number: {t:?}"));
    }
    let parsed = if t.contains(['e', 'E']) {
        Decimal::from_scientific(t)
    } else {
        Decimal::from_str_exact(t.strip_prefix('+').unwrap_or(t))
    };
    parsed.map_err(|e| format!("not a decimal number: {t:?} ({e})"))
}

/// Parses `PartnerEarnedCreditPercentage`: a decimal, optionally followed by `%`.
pub fn parse_percentage(text: &str) -> Result<Decimal, String> {
    let t = text.trim();
    parse_decimal(t.strip_suffix('%').unwrap_or(t))
}

/// The exact, canonical text of an amount: no exponent, no trailing zeros, `0` for zero.
pub fn fmt_amount(d: Decimal) -> String {
    let n = d.normalize();
    if n.is_zero() {
        "0".to_string()
    } else {
        n.to_string()
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
pub fn parse_stored(text: &str) -> Result<Decimal, String> {
    Decimal::from_str(text).map_err(|e| format!("stored amount {text:?} is not a decimal: {e}"))
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

    #[test]
    fn formats_canonically() {
        assert_eq!(fmt_amount(Decimal::new(103680, 5)), "1.0368");
        assert_eq!(fmt_amount(Decimal::new(0, 3)), "0");
        assert_eq!(fmt_amount(Decimal::new(-5, 1)), "-0.5");
    }
}
