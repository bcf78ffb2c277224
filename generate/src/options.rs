//! What to generate ([`GenerateOptions`]) and what was generated ([`GeneratedSet`],
//! [`GeneratedPartner`]), as written to `manifest.json`.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateOptions {
    /// Seed of every random choice: the same options give byte-identical files.
    pub seed: u64,
    /// Number of partners.
    pub partners: u32,
    /// Customers of each partner.
    pub customers_per_partner: u32,
    /// Azure subscriptions of each customer.
    pub subscriptions_per_customer: u32,
    /// Billed resources (VMs, sites, SQL databases, storage accounts) per subscription.
    pub resources_per_subscription: u32,
    /// First usage day.
    pub start: NaiveDate,
    /// Number of usage days.
    pub days: u32,
    /// Hours between two snapshots of a customer (0 is taken as 1).
    pub snapshot_interval_hours: u32,
    /// Write `.csv.gz` instead of `.csv`.
    pub gzip: bool,
}

/// One generated partner and its files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GeneratedPartner {
    pub partner_id: String,
    pub partner_name: String,
    pub mpn_id: String,
    /// Usage files in the order to upload them.
    pub usage_files: Vec<PathBuf>,
    /// Snapshot files in the order to post them.
    pub snapshot_files: Vec<PathBuf>,
}

/// Everything generated. Paths are joined to `out_dir`; `manifest.json` holds the same with
/// paths relative to `out_dir`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GeneratedSet {
    pub partners: Vec<GeneratedPartner>,
    pub usage_rows: u64,
    pub snapshots: u64,
}
