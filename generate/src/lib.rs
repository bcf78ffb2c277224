//! A deterministic generator of realistic example data: daily rated usage files (SPEC 3.1) and
//! access snapshots (SPEC 3.2) for a set of CSP partners, their customers and Azure resources.
//!
//! # What it writes
//!
//! Under `out_dir`:
//! - `usage/{partnerId}/{YYYY-MM-DD}.csv` (or `.csv.gz`): one file per partner per usage day,
//!   UTF-8 with BOM, CRLF, the 55 SPEC columns in the SPEC's order; one row per resource, day
//!   and meter (1–2 meters per resource) plus a few subscription-level lines.
//! - `snapshots/{partnerId}/{customerId}/{NNNNNN}.json`: one snapshot per customer every
//!   `snapshot_interval_hours` from `start` 00:05Z until the first snapshot at or after the day
//!   after the last usage day (so no usage day is `UNKNOWN`).
//! - `manifest.json`: the [`GeneratedSet`] with paths relative to `out_dir`.
//!
//! # Partners and customers
//!
//! Partner `p` is an indirect provider when `p % 3 == 1` (about a third): it has 2–4 Tier-2
//! resellers and each of its customers comes through one of them (`Tier2MpnId`). Customers are
//! numbered across all partners (`g = 0, 1, 2, …`); customer `g = 0` prices in USD, `g = 1` in EUR,
//! the others in EUR about one time in four.
//!
//! # Access scenarios
//!
//! Three customers in five (`g % 5` is 0, 2 or 4) are **steady**: the partner's admin agents
//! (AOBO) hold Owner on every subscription, permanently, with `createdOn`; some also carry noise
//! that earns nothing (a PIM-eligible Owner on a resource group, a Lighthouse Reader). The other
//! two in five take the next of these special scenarios in turn:
//!
//! 1. **removed and restored** — the AOBO Owner is removed mid-day and recreated (new id, new
//!    `createdOn`) one to two and a half days later;
//! 2. **reader only** — AOBO Reader on the subscriptions (`ROLE_NOT_ELIGIBLE`);
//! 3. **PIM only** — a GDAP Owner that is only `eligible`, with a few hours of `activated` Owner
//!    on some days (`NOT_PERMANENT`);
//! 4. **Lighthouse with PAL** — Lighthouse Contributor, no `createdOn`, Partner Admin Link equal
//!    to the partner's MPN or (indirect) mostly the reseller's MPN;
//! 5. **Lighthouse without PAL** — the same without a link, or linked to an unrelated MPN
//!    (`PAL_MISSING`);
//! 6. **GDAP via reseller** — GDAP Contributor with `createdOn`, linked to the reseller's MPN
//!    (the partner's for direct partners);
//! 7. **scoped** — AOBO Contributor on one resource group only, and an Owner on one resource
//!    (a SQL server when there is one, covering its databases); other resources have no access;
//! 8. **snapshot gap** — AOBO Owner without `createdOn`, and no snapshot for more than 26 h.
//!
//! # Microsoft's figure
//!
//! `PartnerEarnedCreditPercentage` is what Microsoft would apply from the *true* access (the
//! assignments as they really existed, not as sampled by snapshots): 15 on first-party
//! consumption lines whose resource had eligible access over the whole day, else 0. On about 2 %
//! of resource-days it is flipped, and the evidence differs from the truth where the snapshots
//! cannot see everything (first day of assignments without `createdOn`, the snapshot gap), so
//! reconciliation shows variance.
//!
//! # Usage lines
//!
//! Resources are virtual machines, App Service sites, SQL databases (children of SQL servers)
//! and storage accounts. Ineligible lines: VMs covered by a reservation (`BenefitType`
//! `Reservation`) or a savings plan (`SavingsPlan`), Spot VMs (`MeterName` `… Spot`),
//! marketplace software on VMs (a third-party `PublisherName`), reservation `purchase` and
//! `refund` lines, and a daily support line with an empty `ResourceURI`. Each partner has at
//! least one reservation, savings plan, Spot and third-party VM when it has four resources.
//!
//! # Determinism
//!
//! Every random choice comes from a hand-rolled SplitMix64 stream derived from `seed` and labels
//! (partner, customer, day), so output is byte-identical for the same options on any platform
//! and the gzip flag changes nothing but the compression. Rows are streamed to the files; only
//! the partner's resources are held in memory, never its rows.
#![forbid(unsafe_code)]

mod access;
mod amounts;
mod catalogue;
mod model;
mod options;
mod partners;
mod resources;
mod rng;
mod snapshots;
mod time;
mod usage;

pub use options::{GenerateOptions, GeneratedPartner, GeneratedSet};

use catalogue::{CUSTOMER_NAMES, PARTNER_NAMES};
use chrono::{Duration, NaiveDate};
use partners::{build_partner, NameState};
use rng::{Rng, STREAM_NAMES};
use snapshots::write_snapshots;
use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::Path;
use time::snapshot_times;
use usage::write_usage;

/// Writes usage files, snapshots and `manifest.json` under `out_dir` (see the module
/// documentation) and returns what it wrote, in upload/post order: usage files by date,
/// snapshot files by `takenAt` (customers in order within one instant).
pub fn generate(options: &GenerateOptions, out_dir: &Path) -> std::io::Result<GeneratedSet> {
    fs::create_dir_all(out_dir)?;
    let dates: Vec<NaiveDate> = (0..options.days)
        .map(|d| options.start + Duration::days(i64::from(d)))
        .collect();
    let times = snapshot_times(options);
    let mut names = NameState {
        partner_offset: Rng::derive(options.seed, &[STREAM_NAMES, 0])
            .below(PARTNER_NAMES.len() as u64) as usize,
        customer_offset: Rng::derive(options.seed, &[STREAM_NAMES, 1])
            .below(CUSTOMER_NAMES.len() as u64) as usize,
        next_customer: 0,
        next_special: 0,
        used_mpns: BTreeSet::new(),
    };

    let mut relative = GeneratedSet {
        partners: Vec::new(),
        usage_rows: 0,
        snapshots: 0,
    };
    for p in 0..options.partners {
        let partner = build_partner(options, p, &times, &mut names);
        let usage_files =
            write_usage(options, out_dir, &partner, &dates, &mut relative.usage_rows)?;
        let snapshot_files = write_snapshots(options, out_dir, &partner, &times)?;
        relative.snapshots += snapshot_files.len() as u64;
        relative.partners.push(GeneratedPartner {
            partner_id: partner.id.clone(),
            partner_name: partner.name.clone(),
            mpn_id: partner.mpn.clone(),
            usage_files,
            snapshot_files,
        });
    }

    let mut manifest = serde_json::to_vec_pretty(&relative).map_err(io::Error::other)?;
    manifest.push(b'\n');
    fs::write(out_dir.join("manifest.json"), manifest)?;

    for partner in &mut relative.partners {
        for path in partner
            .usage_files
            .iter_mut()
            .chain(partner.snapshot_files.iter_mut())
        {
            *path = out_dir.join(&*path);
        }
    }
    Ok(relative)
}

#[cfg(test)]
mod tests;
