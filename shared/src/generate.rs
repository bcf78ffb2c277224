//! A deterministic generator of realistic example data: usage files and access snapshots.
//!
//! INTERFACE STUB — the implementation replaces the bodies, keeping the signatures.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerateOptions {
    pub seed: u64,
    pub partners: u32,
    pub customers_per_partner: u32,
    pub subscriptions_per_customer: u32,
    pub resources_per_subscription: u32,
    pub start: NaiveDate,
    pub days: u32,
    pub snapshot_interval_hours: u32,
    pub gzip: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratedPartner {
    pub partner_id: String,
    pub partner_name: String,
    pub mpn_id: String,
    /// Usage files in the order to upload them.
    pub usage_files: Vec<PathBuf>,
    /// Snapshot files in the order to post them.
    pub snapshot_files: Vec<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratedSet {
    pub partners: Vec<GeneratedPartner>,
    pub usage_rows: u64,
    pub snapshots: u64,
}

pub fn generate(options: &GenerateOptions, out_dir: &Path) -> std::io::Result<GeneratedSet> {
    let _ = (options, out_dir);
    unimplemented!()
}
