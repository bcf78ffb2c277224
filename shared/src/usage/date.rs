//! Usage dates: the UTC day of a `UsageDate` in the ISO 8601 and US (`M/D/YYYY`) spellings the
//! files use.

use crate::config::FIRST_USAGE_DATE;
use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};

/// The UTC day of a `UsageDate`: `YYYY-MM-DD`, `YYYY-MM-DDThh:mm:ss` with optional fractional
/// seconds and `Z` or `±hh:mm` offset (converted to UTC), or `M/D/YYYY` with an optional
/// ` h:mm:ss AM|PM` (or 24-hour ` H:mm:ss`) time, whose date is the day.
pub fn parse_usage_date(text: &str) -> Result<NaiveDate, UsageDateError> {
    let t = text.trim();
    let parsed = if t.as_bytes().get(4) == Some(&b'-') {
        parse_iso_date(t)
    } else if t.contains('/') {
        parse_us_date(t)
    } else {
        None
    };
    let date = parsed.ok_or_else(|| UsageDateError::Malformed(t.to_string()))?;
    if date < FIRST_USAGE_DATE {
        return Err(UsageDateError::TooEarly(date));
    }
    Ok(date)
}

/// A `UsageDate` that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsageDateError {
    #[error(
        "not a valid UsageDate {0:?}: expected YYYY-MM-DD, YYYY-MM-DDThh:mm:ss[Z] or \
         M/D/YYYY[ h:mm:ss AM|PM]"
    )]
    Malformed(String),
    #[error("UsageDate {0} is before {FIRST_USAGE_DATE}: no Azure usage is that old")]
    TooEarly(NaiveDate),
}

/// Digits only, 1 to `max` of them.
fn digits(text: &[u8], max: usize) -> Option<u32> {
    if text.is_empty() || text.len() > max || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(text.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0')))
}

/// Exactly `n` digits.
fn fixed_digits(text: &[u8], n: usize) -> Option<u32> {
    if text.len() == n {
        digits(text, n)
    } else {
        None
    }
}

fn parse_iso_date(t: &str) -> Option<NaiveDate> {
    let b = t.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = i32::try_from(fixed_digits(&b[0..4], 4)?).ok()?;
    let date = NaiveDate::from_ymd_opt(
        year,
        fixed_digits(&b[5..7], 2)?,
        fixed_digits(&b[8..10], 2)?,
    )?;
    if b.len() == 10 {
        return Some(date);
    }
    // hh:mm:ss
    if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 19 || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let time = NaiveTime::from_hms_opt(
        fixed_digits(&b[11..13], 2)?,
        fixed_digits(&b[14..16], 2)?,
        fixed_digits(&b[17..19], 2)?,
    )?;
    let mut rest = &b[19..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let n = fraction.iter().take_while(|d| d.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        rest = &fraction[n..];
    }
    let offset_minutes: i64 = match rest {
        b"" | b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), hh @ ..] => {
            let (h, m) = match hh {
                [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => {
                    (fixed_digits(&[*h1, *h2], 2)?, fixed_digits(&[*m1, *m2], 2)?)
                }
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let minutes = i64::from(h * 60 + m);
            if *sign == b'-' {
                -minutes
            } else {
                minutes
            }
        }
        _ => return None,
    };
    let utc =
        NaiveDateTime::new(date, time).checked_sub_signed(Duration::minutes(offset_minutes))?;
    Some(utc.date())
}

fn parse_us_date(t: &str) -> Option<NaiveDate> {
    let (date_part, time_part) = match t.split_once(' ') {
        Some((d, rest)) => (d, Some(rest.trim())),
        None => (t, None),
    };
    let mut parts = date_part.split('/');
    let month = digits(parts.next()?.as_bytes(), 2)?;
    let day = digits(parts.next()?.as_bytes(), 2)?;
    let year = i32::try_from(fixed_digits(parts.next()?.as_bytes(), 4)?).ok()?;
    if parts.next().is_some() {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    if let Some(time) = time_part {
        let (clock, meridiem) = match time.rsplit_once(' ') {
            Some((clock, m)) => (clock.trim_end(), Some(m)),
            None => (time, None),
        };
        let mut hms = clock.split(':');
        let hour = digits(hms.next()?.as_bytes(), 2)?;
        let minute = fixed_digits(hms.next()?.as_bytes(), 2)?;
        let second = fixed_digits(hms.next()?.as_bytes(), 2)?;
        if hms.next().is_some() || minute > 59 || second > 59 {
            return None;
        }
        let hour_ok = match meridiem {
            Some(m) if m.eq_ignore_ascii_case("AM") || m.eq_ignore_ascii_case("PM") => {
                (1..=12).contains(&hour)
            }
            Some(_) => false,
            None => hour <= 23,
        };
        if !hour_ok {
            return None;
        }
    }
    Some(date)
}
