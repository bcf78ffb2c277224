//! Money as finance reads it, for the HTML and XLSX statements: amounts rounded to 2 decimals
//! (half away from zero: 0.125 → 0.13, −0.125 → −0.13) with thousands separators, rates as
//! percentages with 2 decimals. Each figure is rounded on its own, from its exact value: a total
//! is the exact sum rounded, not the sum of rounded rows, so rows may add up to a total that
//! differs by a few cents (a rounding difference, not an error). The exact figures are the JSON
//! and CSV statements' (and the XLSX's Exact sheet).

use rust_decimal::{Decimal, RoundingStrategy};

/// `d` rounded to cents, half away from zero (never a negative zero).
pub fn round_money(d: Decimal) -> Decimal {
    let r = d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    if r.is_zero() {
        Decimal::new(0, 2)
    } else {
        r
    }
}

/// A rate as a fraction rounded to 2 decimals of a percent (0.0916781 → 0.0917).
pub fn round_rate(d: Decimal) -> Decimal {
    let r = d.round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero);
    if r.is_zero() {
        Decimal::new(0, 4)
    } else {
        r
    }
}

/// Digits with a comma every three from the right.
fn grouped(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A decimal already rounded to cents, with separators: `-1234.5` → `-1,234.50`.
fn two_decimals(r: Decimal) -> String {
    let text = format!("{:.2}", r.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, "00"));
    let sign = if r.is_sign_negative() { "-" } else { "" };
    format!("{sign}{}.{frac}", grouped(int))
}

/// `9264.615583` → `9,264.62`; `-0.004` → `0.00`.
pub fn money(d: Decimal) -> String {
    two_decimals(round_money(d))
}

/// `0.0916781751` → `9.17 %`.
pub fn percent(d: Decimal) -> String {
    format!("{} %", two_decimals(round_rate(d) * Decimal::ONE_HUNDRED))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn amounts_round_half_away_from_zero_with_separators() {
        assert_eq!(money(d("9264.615583224456")), "9,264.62");
        assert_eq!(money(d("0.125")), "0.13");
        assert_eq!(money(d("-0.125")), "-0.13");
        assert_eq!(money(d("-0.004")), "0.00");
        assert_eq!(money(d("0")), "0.00");
        assert_eq!(money(d("1234567.891")), "1,234,567.89");
        assert_eq!(money(d("-1000")), "-1,000.00");
        assert_eq!(money(d("999.995")), "1,000.00");
        assert_eq!(money(d("12.0000000001")), "12.00");
    }

    #[test]
    fn rates_are_percentages_with_two_decimals() {
        assert_eq!(percent(d("0.0916781751482184600972064264")), "9.17 %");
        assert_eq!(percent(d("0.15")), "15.00 %");
        assert_eq!(percent(d("0")), "0.00 %");
        assert_eq!(percent(d("1.23455")), "123.46 %");
        assert_eq!(round_rate(d("0.0916781")), d("0.0917"));
    }
}
