//! Configuration of the rules: the PEC rate by date, the snapshot gap, the look-back window,
//! role and product overrides. Stored as `config.json` in the data directory; every field is
//! optional and defaults to the SPEC's values.

use crate::roles::RoleTable;
use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    /// The PEC rate for a usage date.
    pub fn rate_on(&self, date: NaiveDate) -> Decimal {
        self.rates
            .iter()
            .filter(|p| p.from <= date)
            .max_by_key(|p| p.from)
            .map(|p| p.rate)
            .unwrap_or(Decimal::new(15, 2))
    }

    pub fn max_snapshot_gap(&self) -> Duration {
        Duration::hours(self.max_snapshot_gap_hours)
    }

    pub fn role_table(&self) -> RoleTable {
        RoleTable::builtin().with_overrides(&self.role_overrides)
    }

    /// Parses `config.json`, naming the JSON path of a problem.
    pub fn from_json(text: &str) -> Result<Config, String> {
        let config: Config = serde_json::from_str(text).map_err(|e| format!("config: {e}"))?;
        if config.max_snapshot_gap_hours <= 0 {
            return Err("config: $.maxSnapshotGapHours must be positive".into());
        }
        if config
            .rates
            .iter()
            .any(|r| r.rate < Decimal::ZERO || r.rate > Decimal::ONE)
        {
            return Err("config: $.rates[].rate must be between 0 and 1".into());
        }
        Ok(config)
    }
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
            r#"{"rates":[{"from":"2020-01-01","rate":"0.15"},{"from":"2026-10-01","rate":"0.2"}]}"#,
        )
        .unwrap();
        assert_eq!(c.rate_on(d("2026-09-30")), Decimal::new(15, 2));
        assert_eq!(c.rate_on(d("2026-10-01")), Decimal::new(2, 1));
        assert_eq!(c.lookback_days, 45);
        assert_eq!(c.max_snapshot_gap(), Duration::hours(25));
    }

    #[test]
    fn unknown_fields_are_rejected() {
        assert!(Config::from_json(r#"{"lookbackDayz": 3}"#).is_err());
        assert!(Config::from_json(r#"{"maxSnapshotGapHours": 0}"#).is_err());
    }
}
