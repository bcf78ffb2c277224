//! Configuration of the rules: the PEC rate by date, the snapshot gap, the look-back window,
//! role and product overrides. Stored as `config.json` in the data directory; every field is
//! optional and defaults to the SPEC's values.

use crate::roles::RoleTable;
use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The first usage date pec-ledger takes (no Azure usage is older): a usage file with an earlier
/// date is rejected, and the configured rates must cover every date from it on.
pub const FIRST_USAGE_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2000, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

/// A PEC rate in force from a usage date on (SPEC R1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RatePeriod {
    pub from: NaiveDate,
    #[serde(with = "crate::decimal::as_string")]
    pub rate: Decimal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Config {
    /// Rates by date; the latest period starting on or before a usage date applies.
    pub rates: Vec<RatePeriod>,
    /// Longest gap between consecutive snapshots over which an assignment without `createdOn`
    /// is still held (SPEC 3.3), in hours.
    pub max_snapshot_gap_hours: i64,
    /// Days before `--through` that a settlement re-settles (SPEC 4).
    pub lookback_days: u32,
    /// Role name or role definition GUID → eligible (SPEC R4).
    pub role_overrides: BTreeMap<String, bool>,
    /// Meter IDs and product names forced eligible or ineligible (SPEC R7).
    pub eligible_meter_ids: Vec<String>,
    pub ineligible_meter_ids: Vec<String>,
    pub eligible_product_names: Vec<String>,
    pub ineligible_product_names: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            rates: vec![RatePeriod {
                from: NaiveDate::MIN,
                rate: Decimal::new(15, 2),
            }],
            max_snapshot_gap_hours: 25,
            lookback_days: 45,
            role_overrides: BTreeMap::new(),
            eligible_meter_ids: Vec::new(),
            ineligible_meter_ids: Vec::new(),
            eligible_product_names: Vec::new(),
            ineligible_product_names: Vec::new(),
        }
    }
}

impl Config {
    /// The PEC rate for a usage date: the latest period starting on or before it. A loaded
    /// configuration covers every date from [`FIRST_USAGE_DATE`] on ([`Config::from_json`]), and
    /// usage files carry no earlier date; before the first period its rate applies.
    pub fn rate_on(&self, date: NaiveDate) -> Decimal {
        let latest = self
            .rates
            .iter()
            .filter(|p| p.from <= date)
            .max_by_key(|p| p.from);
        let first = || self.rates.iter().min_by_key(|p| p.from);
        latest.or_else(first).map_or(Decimal::ZERO, |p| p.rate)
    }

    pub fn max_snapshot_gap(&self) -> Duration {
        Duration::hours(self.max_snapshot_gap_hours)
    }

    pub fn role_table(&self) -> RoleTable {
        RoleTable::builtin().with_overrides(&self.role_overrides)
    }

    /// Parses `config.json`, naming the JSON path of a problem.
    pub fn from_json(text: &str) -> Result<Config, ConfigError> {
        let config: Config =
            serde_json::from_str(text).map_err(|e| ConfigError::Json(e.to_string()))?;
        if config.max_snapshot_gap_hours <= 0 {
            return Err(ConfigError::GapNotPositive);
        }
        if let Some(i) = config
            .rates
            .iter()
            .position(|r| r.rate < Decimal::ZERO || r.rate > Decimal::ONE)
        {
            return Err(ConfigError::RateOutOfRange(i));
        }
        match config.rates.iter().map(|r| r.from).min() {
            None => Err(ConfigError::NoRates),
            Some(first) if first > FIRST_USAGE_DATE => Err(ConfigError::RatesStartLate(first)),
            Some(_) => Ok(config),
        }
    }
}

/// A `config.json` that is refused, with the JSON path of the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Not JSON, an unknown field, or a value of the wrong type (serde's message names it).
    #[error("config: {0}")]
    Json(String),
    #[error("config: $.maxSnapshotGapHours must be positive")]
    GapNotPositive,
    #[error("config: $.rates[{0}].rate must be between 0 and 1")]
    RateOutOfRange(usize),
    #[error(
        "config: $.rates is empty: give at least one rate, from {FIRST_USAGE_DATE} or earlier \
         (or leave $.rates out for 15 %)"
    )]
    NoRates,
    #[error(
        "config: $.rates leaves usage dates before {0} without a rate: the earliest period must \
         start on or before {FIRST_USAGE_DATE}"
    )]
    RatesStartLate(NaiveDate),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rate_is_15_percent_and_rates_change_by_date() {
        let c = Config::default();
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(c.rate_on(d("2026-09-01")), Decimal::new(15, 2));
        let c = Config::from_json(
            r#"{"rates":[{"from":"2000-01-01","rate":"0.15"},{"from":"2026-10-01","rate":"0.2"}]}"#,
        )
        .unwrap();
        assert_eq!(c.rate_on(d("2026-09-30")), Decimal::new(15, 2));
        assert_eq!(c.rate_on(d("2026-10-01")), Decimal::new(2, 1));
        assert_eq!(c.lookback_days, 45);
        assert_eq!(c.max_snapshot_gap(), Duration::hours(25));
    }

    #[test]
    fn rates_that_leave_dates_uncovered_are_refused() {
        let e =
            Config::from_json(r#"{"rates":[{"from":"2019-10-01","rate":"0.15"}]}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "config: $.rates leaves usage dates before 2019-10-01 without a rate: the earliest \
             period must start on or before 2000-01-01"
        );
        let e = Config::from_json(r#"{"rates":[]}"#).unwrap_err();
        assert_eq!(e, ConfigError::NoRates);
        assert!(e.to_string().starts_with("config: $.rates is empty"), "{e}");
        let e = Config::from_json(
            r#"{"rates":[{"from":"2000-01-01","rate":"0.15"},{"from":"2026-10-01","rate":"1.5"}]}"#,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "config: $.rates[1].rate must be between 0 and 1"
        );
        // From the first usage date on, every date has its rate.
        let c = Config::from_json(
            r#"{"rates":[{"from":"2026-10-01","rate":"0.2"},{"from":"2000-01-01","rate":"0.15"}]}"#,
        )
        .unwrap();
        assert_eq!(c.rate_on(FIRST_USAGE_DATE), Decimal::new(15, 2));
        assert_eq!(
            c.rate_on(NaiveDate::from_ymd_opt(2026, 10, 1).unwrap()),
            Decimal::new(2, 1)
        );
    }

    #[test]
    fn unknown_fields_are_rejected() {
        assert!(Config::from_json(r#"{"lookbackDayz": 3}"#).is_err());
        assert!(Config::from_json(r#"{"maxSnapshotGapHours": 0}"#).is_err());
    }
}
