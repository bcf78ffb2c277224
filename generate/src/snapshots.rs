//! Writing snapshots: every customer's access snapshot at each instant, as JSON files.

use crate::model::Partner;
use crate::options::GenerateOptions;
use crate::rng::{Rng, STREAM_SNAPSHOT};
use chrono::{DateTime, Utc};
use pec_ledger::snapshot::Snapshot;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Writes every customer's snapshots, instant by instant, and returns their paths in that
/// (posting) order.
pub(crate) fn write_snapshots(
    options: &GenerateOptions,
    out_dir: &Path,
    partner: &Partner,
    times: &[DateTime<Utc>],
) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut rngs: Vec<Rng> = (0..partner.customers.len())
        .map(|c| {
            Rng::derive(
                options.seed,
                &[STREAM_SNAPSHOT, u64::from(partner.index), c as u64],
            )
        })
        .collect();
    let mut next_number = vec![0u32; partner.customers.len()];
    let dirs: Vec<PathBuf> = partner
        .customers
        .iter()
        .map(|c| Path::new("snapshots").join(&partner.id).join(&c.id))
        .collect();
    if !times.is_empty() {
        for dir in &dirs {
            fs::create_dir_all(out_dir.join(dir))?;
        }
    }
    for &t in times {
        for (c, customer) in partner.customers.iter().enumerate() {
            if customer
                .snapshot_gap
                .is_some_and(|(from, to)| from < t && t <= to)
            {
                continue;
            }
            let snapshot = Snapshot {
                schema_version: 1,
                snapshot_id: rngs[c].guid(),
                partner_id: partner.id.clone(),
                customer_id: customer.id.clone(),
                taken_at: t,
                source: partner.source.to_string(),
                assignments: customer
                    .grants
                    .iter()
                    .filter(|g| g.held_at(t))
                    .map(|g| g.assignment.clone())
                    .collect(),
            };
            let relative = dirs[c].join(format!("{:06}.json", next_number[c]));
            next_number[c] += 1;
            let mut file = BufWriter::new(File::create(out_dir.join(&relative))?);
            serde_json::to_writer_pretty(&mut file, &snapshot).map_err(io::Error::other)?;
            file.flush()?;
            files.push(relative);
        }
    }
    Ok(files)
}
