//! From snapshots to held intervals (SPEC 3.3) and from intervals to a resource-day's status and
//! reason (SPEC 3.4).
//!
//! INTERFACE STUB — the implementation replaces the bodies, keeping the signatures.

use crate::reasons::{DayStatus, LossReason};
use crate::roles::RoleTable;
use crate::snapshot::{Assignment, Snapshot};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// A closed time interval [start, end].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Interval {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// Sorted, disjoint union of closed intervals (overlapping or touching ones merge).
pub fn union(intervals: Vec<Interval>) -> Vec<Interval> {
    let _ = intervals;
    unimplemented!()
}

/// An assignment (as identified by id, createdOn and its attributes) and when it was held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldAssignment {
    pub assignment: Assignment,
    pub intervals: Vec<Interval>,
}

/// Everything known about one (partner, customer)'s access.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerAccess {
    pub held: Vec<HeldAssignment>,
    /// `takenAt` of the latest snapshot (for UNKNOWN).
    pub latest_snapshot: Option<DateTime<Utc>>,
}

/// Builds a [`CustomerAccess`] from snapshots pushed in `takenAt` order (streaming: it keeps only
/// what the intervals need, not the snapshots).
pub struct AccessBuilder {
    _max_gap: Duration,
}

impl AccessBuilder {
    pub fn new(max_gap: Duration) -> Self {
        AccessBuilder { _max_gap: max_gap }
    }
    /// Snapshots must come in non-decreasing `takenAt` order.
    pub fn push(&mut self, snapshot: &Snapshot) {
        let _ = snapshot;
        unimplemented!()
    }
    pub fn finish(self) -> CustomerAccess {
        unimplemented!()
    }
}

/// A resource-day's access verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCoverage {
    pub status: DayStatus,
    /// `None` when FULL.
    pub reason: Option<LossReason>,
    /// Ids of the eligible assignments whose held intervals touch the day, sorted, deduplicated.
    pub evidence: Vec<String>,
}

/// Status and reason of a resource-day for a usage line with this MpnId / Tier2MpnId (SPEC 3.4,
/// R3–R6). `resource_key` is normalised.
pub fn day_coverage(
    access: &CustomerAccess,
    roles: &RoleTable,
    resource_key: &str,
    date: NaiveDate,
    mpn_id: &str,
    tier2_mpn_id: &str,
) -> DayCoverage {
    let _ = (access, roles, resource_key, date, mpn_id, tier2_mpn_id);
    unimplemented!()
}
