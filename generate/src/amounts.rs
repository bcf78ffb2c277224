//! Amounts: integers in millionths, so output has at most six decimals and no float noise;
//! their text, products, rounding and local prices.

use std::fmt::Write as _;

pub(crate) const MICRO: i64 = 1_000_000;

/// Appends `v` millionths as a plain decimal without trailing zeros (`24`, `0.288`, `-1`).
pub(crate) fn push_micro(out: &mut String, v: i64) {
    if v < 0 {
        out.push('-');
    }
    let a = v.unsigned_abs();
    let (int, mut frac) = (a / MICRO as u64, a % MICRO as u64);
    let _ = write!(out, "{int}");
    if frac != 0 {
        let mut width = 6;
        while frac % 10 == 0 {
            frac /= 10;
            width -= 1;
        }
        let _ = write!(out, ".{frac:0width$}");
    }
}

pub(crate) fn micro_text(v: i64) -> String {
    let mut s = String::new();
    push_micro(&mut s, v);
    s
}

/// `a × b` in millionths, rounded half away from zero.
pub(crate) fn mul_micro(a: i64, b: i64) -> i64 {
    div_round(i128::from(a) * i128::from(b), i128::from(MICRO))
}

pub(crate) fn div_round(n: i128, d: i128) -> i64 {
    let q = (n.abs() + d / 2) / d;
    (if n < 0 { -q } else { q }) as i64
}

/// A USD list price in the customer's pricing currency.
pub(crate) fn local_price(usd: i64, currency: &str) -> i64 {
    if currency == "EUR" {
        div_round(i128::from(usd) * 92, 100)
    } else {
        usd
    }
}
