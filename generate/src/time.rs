//! Time: day boundaries, month lengths, Partner Center's `M/D/YYYY` dates and the snapshot
//! instants.

use crate::options::GenerateOptions;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};

pub(crate) fn day_start(date: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN))
}

pub(crate) fn days_in_month(date: NaiveDate) -> i64 {
    let first = date.with_day(1).expect("day 1 exists");
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    }
    .expect("valid month");
    (next - first).num_days()
}

/// `M/D/YYYY`, as Partner Center writes charge dates.
pub(crate) fn us_date(date: NaiveDate) -> String {
    format!("{}/{}/{}", date.month(), date.day(), date.year())
}

/// Snapshot instants: `start` 00:05Z every interval, through the first one at or after the day
/// after the last usage day. Empty when there are no usage days.
pub(crate) fn snapshot_times(options: &GenerateOptions) -> Vec<DateTime<Utc>> {
    let mut times = Vec::new();
    if options.days == 0 {
        return times;
    }
    let step = Duration::hours(i64::from(options.snapshot_interval_hours.max(1)));
    let end = day_start(options.start + Duration::days(i64::from(options.days)));
    let mut t = day_start(options.start) + Duration::minutes(5);
    loop {
        times.push(t);
        if t >= end {
            return times;
        }
        t += step;
    }
}
