//! `verify` (SPEC 4): re-computes every entry's hash, every chain and every resource-day's sum.

use crate::ledger::{verify_resource_day, Entry, Head, LedgerBreak, ResourceDayKey};
use crate::store::{EntryFilter, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    pub ok: bool,
    pub entries: u64,
    pub resource_days: u64,
    /// Every break found (the first 1,000).
    pub breaks: Vec<LedgerBreak>,
    pub break_count: u64,
}

const MAX_LISTED: usize = 1000;

pub fn verify(store: &dyn Store) -> Result<VerifyReport, StoreError> {
    let mut heads: HashMap<ResourceDayKey, Head> = HashMap::new();
    store.for_each_head(&mut |h| {
        heads.insert(h.key.clone(), h);
        Ok(())
    })?;
    let mut report = VerifyReport::default();
    let mut current: Vec<Entry> = Vec::new();
    let finish = |entries: &mut Vec<Entry>,
                  report: &mut VerifyReport,
                  heads: &mut HashMap<ResourceDayKey, Head>| {
        if let Some(first) = entries.first() {
            let key = first.key.clone();
            let head = heads.remove(&key);
            report.resource_days += 1;
            let found = verify_resource_day(&key, entries, head.as_ref());
            record(report, found);
        }
        entries.clear();
    };
    let walked = store.for_each_entry(&EntryFilter::default(), &mut |e| {
        report.entries += 1;
        let same = current.first().map(|f| f.key == e.key).unwrap_or(true);
        if !same {
            finish(&mut current, &mut report, &mut heads);
        }
        current.push(e);
        Ok(())
    });
    if let Err(StoreError::UnreadableEntry {
        resource_day,
        seq,
        message,
    }) = walked
    {
        // An entry changed so that it no longer parses: a break, named; the entries after it
        // cannot be walked.
        record(
            &mut report,
            vec![LedgerBreak {
                resource_day,
                seq: Some(seq),
                problem: format!(
                    "entry cannot be read (changed outside the ledger): {message}; verification stopped here"
                ),
            }],
        );
        report.ok = false;
        return Ok(report);
    }
    walked?;
    finish(&mut current, &mut report, &mut heads);
    let mut orphans: Vec<Head> = heads.into_values().collect();
    orphans.sort_by(|a, b| a.key.cmp(&b.key));
    for h in orphans {
        report.resource_days += 1;
        let found = verify_resource_day(&h.key, &[], Some(&h));
        record(&mut report, found);
    }
    record(&mut report, store.record_breaks()?);
    report.ok = report.break_count == 0;
    if report.ok {
        tracing::info!(
            entries = report.entries,
            resource_days = report.resource_days,
            break_count = 0u64,
            ok = true,
            "ledger verified"
        );
    } else {
        tracing::error!(
            entries = report.entries,
            resource_days = report.resource_days,
            break_count = report.break_count,
            ok = false,
            "ledger verification failed"
        );
    }
    Ok(report)
}

fn record(report: &mut VerifyReport, found: Vec<LedgerBreak>) {
    report.break_count += found.len() as u64;
    for b in found {
        if report.breaks.len() < MAX_LISTED {
            report.breaks.push(b);
        }
    }
}
