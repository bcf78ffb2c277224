//! From snapshots to held intervals (SPEC 3.3) and from intervals to a resource-day's status and
//! reason (SPEC 3.4).
//!
//! [`AccessBuilder`] turns one (partner, customer)'s snapshots, pushed in `takenAt` order, into a
//! [`CustomerAccess`]: every distinct assignment with the closed intervals over which it was
//! held. [`day_coverage`] then decides a resource-day (R2–R6). For many resource-days against the
//! same access, [`PreparedAccess`] evaluates role eligibility and type once per assignment
//! instead of once per call ([`day_coverage`] is a one-off [`PreparedAccess`]).

use crate::ids;
use crate::reasons::{DayStatus, LossReason};
use crate::roles::RoleTable;
use crate::snapshot::{AccessType, Assignment, AssignmentType, Snapshot};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A closed time interval [start, end].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Interval {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Interval {
    /// The closed interval [start, end].
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        Interval { start, end }
    }

    /// The single instant `t` as the degenerate interval [t, t].
    pub fn point(t: DateTime<Utc>) -> Self {
        Interval { start: t, end: t }
    }

    /// The UTC day `date` as the closed interval [D 00:00Z, D+1 00:00Z] (SPEC R2). `None` only
    /// for the last date chrono can represent.
    pub fn day(date: NaiveDate) -> Option<Self> {
        let start = date.and_time(NaiveTime::MIN).and_utc();
        let end = date.succ_opt()?.and_time(NaiveTime::MIN).and_utc();
        Some(Interval { start, end })
    }

    /// Whether the interval is empty (`start > end`).
    pub fn is_empty(&self) -> bool {
        self.start > self.end
    }

    /// Whether `t` lies in the closed interval.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.start <= t && t <= self.end
    }

    /// Whether `other` lies entirely inside this interval.
    pub fn covers(&self, other: &Interval) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    /// Whether the two closed intervals share at least one instant (touching counts). An empty
    /// interval intersects nothing.
    pub fn intersects(&self, other: &Interval) -> bool {
        !self.is_empty() && !other.is_empty() && self.start <= other.end && other.start <= self.end
    }
}

/// Sorted, disjoint union of closed intervals (overlapping or touching ones merge).
///
/// Empty intervals (`start > end`) are dropped. In the result every interval satisfies
/// `start <= end` and each one starts strictly after the previous one ends.
pub fn union(intervals: Vec<Interval>) -> Vec<Interval> {
    let mut intervals = intervals;
    intervals.retain(|iv| !iv.is_empty());
    intervals.sort_unstable();
    let mut merged = 0usize;
    for i in 0..intervals.len() {
        let iv = intervals[i];
        if merged > 0 && iv.start <= intervals[merged - 1].end {
            let last = &mut intervals[merged - 1];
            last.end = last.end.max(iv.end);
        } else {
            intervals[merged] = iv;
            merged += 1;
        }
    }
    intervals.truncate(merged);
    intervals
}

/// An assignment (as identified by id, createdOn and its attributes) and when it was held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldAssignment {
    /// The assignment as first listed (scope normalised).
    pub assignment: Assignment,
    /// When it was held: sorted and disjoint, as [`AccessBuilder`] and [`union`] produce them
    /// ([`day_coverage`] relies on that order).
    pub intervals: Vec<Interval>,
}

/// Everything known about one (partner, customer)'s access.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerAccess {
    pub held: Vec<HeldAssignment>,
    /// `takenAt` of the latest snapshot (for UNKNOWN).
    pub latest_snapshot: Option<DateTime<Utc>>,
}

/// What makes two listings "the same assignment": SPEC 3.3's (`id`, `createdOn`), plus every
/// attribute that decides eligibility, so that a change of role, scope, type or Partner Admin
/// Link starts a new [`HeldAssignment`] instead of silently rewriting history.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Identity {
    id: String,
    created_on: Option<DateTime<Utc>>,
    scope: String,
    role_definition_id: String,
    role_name: String,
    access_type: AccessType,
    partner_admin_link_mpn_id: Option<String>,
    assignment_type: AssignmentType,
}

impl Identity {
    fn of(a: &Assignment, scope: &str) -> Self {
        Identity {
            id: a.id.trim().to_lowercase(),
            created_on: a.created_on,
            scope: scope.to_owned(),
            role_definition_id: a.role_definition_id.trim().to_lowercase(),
            role_name: a.role_name.trim().to_lowercase(),
            access_type: a.access_type,
            partner_admin_link_mpn_id: pal_of(a).map(str::to_owned),
            assignment_type: a.assignment_type,
        }
    }
}

/// Whether two listings are the same assignment as [`AccessBuilder`] tracks them: the same id and
/// `createdOn`, scope, role, access type, Partner Admin Link and assignment type.
pub fn same_assignment(a: &Assignment, b: &Assignment) -> bool {
    Identity::of(a, &ids::normalize_resource_id(&a.scope))
        == Identity::of(b, &ids::normalize_resource_id(&b.scope))
}

/// The builder's state for one assignment identity.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Tracked {
    /// The assignment as first listed (scope normalised).
    assignment: Assignment,
    /// Finished runs (only without `createdOn`).
    closed: Vec<Interval>,
    /// The current run; with `createdOn`, [first listing, last listing].
    run: Interval,
    /// Sequence number of the last snapshot that listed it.
    last_seen: u64,
}

/// Builds a [`CustomerAccess`] from snapshots pushed in `takenAt` order (streaming: it keeps only
/// what the intervals need, not the snapshots).
///
/// Held intervals (SPEC 3.3):
/// - with `createdOn` c: the single interval [min(c, first listing), last listing];
/// - without: [tᵢ, tⱼ] for each run of consecutive snapshots tᵢ … tⱼ that all list it, where a
///   run also breaks when the gap between two consecutive snapshots exceeds `max_gap`; a lone
///   listing is the point [t, t];
/// - nothing after the last snapshot that lists it.
///
/// The builder is per (partner, customer); it does not check the snapshots' ids.
pub struct AccessBuilder {
    max_gap: Duration,
    index: HashMap<Identity, usize>,
    tracked: Vec<Tracked>,
    /// Number of snapshots accepted so far (the sequence number of the latest).
    seq: u64,
    latest: Option<DateTime<Utc>>,
}

impl AccessBuilder {
    /// A builder whose runs without `createdOn` break at gaps longer than `max_gap`
    /// (configuration `maxSnapshotGap`, default 25 h).
    pub fn new(max_gap: Duration) -> Self {
        AccessBuilder {
            max_gap,
            index: HashMap::new(),
            tracked: Vec::new(),
            seq: 0,
            latest: None,
        }
    }

    /// Snapshots must come in non-decreasing `takenAt` order.
    ///
    /// A snapshot older than the latest one pushed is ignored (it cannot be placed in a
    /// streaming run); the caller must sort. Snapshots with equal `takenAt` are taken in push
    /// order.
    pub fn push(&mut self, snapshot: &Snapshot) {
        let t = snapshot.taken_at;
        let contiguous = match self.latest {
            Some(prev) if t < prev => return,
            Some(prev) => t.signed_duration_since(prev) <= self.max_gap,
            None => false,
        };
        self.seq += 1;
        self.latest = Some(t);
        let seq = self.seq;
        for a in &snapshot.assignments {
            let scope = ids::normalize_resource_id(&a.scope);
            let identity = Identity::of(a, &scope);
            match self.index.get(&identity) {
                None => {
                    let mut assignment = a.clone();
                    assignment.scope = scope;
                    self.index.insert(identity, self.tracked.len());
                    self.tracked.push(Tracked {
                        assignment,
                        closed: Vec::new(),
                        run: Interval::point(t),
                        last_seen: seq,
                    });
                }
                Some(&i) => {
                    let Some(tr) = self.tracked.get_mut(i) else {
                        continue;
                    };
                    if tr.last_seen == seq {
                        // Listed twice in one snapshot: nothing new.
                        continue;
                    }
                    if tr.assignment.created_on.is_some() || (contiguous && tr.last_seen + 1 == seq)
                    {
                        tr.run.end = t;
                    } else {
                        tr.closed.push(tr.run);
                        tr.run = Interval::point(t);
                    }
                    tr.last_seen = seq;
                }
            }
        }
    }

    /// The held assignments, in order of first listing, and the latest `takenAt`.
    pub fn finish(self) -> CustomerAccess {
        self.access()
    }

    /// What [`AccessBuilder::finish`] gives, leaving the builder as it is (more snapshots may be
    /// pushed after).
    pub fn access(&self) -> CustomerAccess {
        let held = self
            .tracked
            .iter()
            .map(|tr| {
                let intervals = match tr.assignment.created_on {
                    Some(c) => vec![Interval::new(c.min(tr.run.start), tr.run.end)],
                    None => {
                        let mut v = tr.closed.clone();
                        v.push(tr.run);
                        // Runs are already ordered; this only merges runs that meet (snapshots
                        // with equal `takenAt`).
                        union(v)
                    }
                };
                HeldAssignment {
                    assignment: tr.assignment.clone(),
                    intervals,
                }
            })
            .collect();
        CustomerAccess {
            held,
            latest_snapshot: self.latest,
        }
    }

    /// How many snapshots were pushed (taken in order; an older one ignored is not counted).
    pub fn snapshots(&self) -> u64 {
        self.seq
    }

    /// The builder's whole state as text (JSON), to carry on from later with
    /// [`AccessBuilder::from_state`] instead of pushing every snapshot again.
    pub fn to_state(&self) -> String {
        let state = BuilderState {
            max_gap_seconds: self.max_gap.num_seconds(),
            tracked: self.tracked.clone(),
            seq: self.seq,
            latest: self.latest,
        };
        serde_json::to_string(&state).unwrap_or_default()
    }

    /// A builder in the state [`AccessBuilder::to_state`] wrote: pushing the snapshots that came
    /// after gives what pushing them all would. `None` when the text is not such a state or was
    /// written for another `max_gap`.
    pub fn from_state(text: &str, max_gap: Duration) -> Option<AccessBuilder> {
        let state: BuilderState = serde_json::from_str(text).ok()?;
        if state.max_gap_seconds != max_gap.num_seconds() {
            return None;
        }
        let mut index = HashMap::with_capacity(state.tracked.len());
        for (i, tr) in state.tracked.iter().enumerate() {
            let a = &tr.assignment;
            index.insert(Identity::of(a, &a.scope), i);
        }
        Some(AccessBuilder {
            max_gap,
            index,
            tracked: state.tracked,
            seq: state.seq,
            latest: state.latest,
        })
    }
}

/// [`AccessBuilder`]'s state as [`AccessBuilder::to_state`] writes it.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BuilderState {
    max_gap_seconds: i64,
    tracked: Vec<Tracked>,
    seq: u64,
    latest: Option<DateTime<Utc>>,
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
///
/// - `UNKNOWN` / `NO_EVIDENCE` (no evidence) when there is no snapshot at or after D+1 00:00Z.
/// - Candidates are the assignments whose scope covers the resource (R3). One is eligible when
///   its role is eligible (R4), it is `permanent` (R5), and it is `AOBO` or its Partner Admin
///   Link equals `mpn_id` or a non-empty `tier2_mpn_id` (R6).
/// - `FULL` when the union of eligible intervals covers [D 00:00Z, D+1 00:00Z]; `PARTIAL` when it
///   meets the day (a single instant counts) without covering it; `NONE` otherwise.
/// - The reason when not `FULL` is the first of `PAL_MISSING`, `ROLE_NOT_ELIGIBLE`,
///   `NOT_PERMANENT` such that adding the assignments failing only that criterion would make the
///   day `FULL`; else `PARTIAL_DAY` (PARTIAL) or `NO_ACCESS` (NONE).
pub fn day_coverage(
    access: &CustomerAccess,
    roles: &RoleTable,
    resource_key: &str,
    date: NaiveDate,
    mpn_id: &str,
    tier2_mpn_id: &str,
) -> DayCoverage {
    PreparedAccess::new(access, roles).day_coverage(resource_key, date, mpn_id, tier2_mpn_id)
}

/// A [`CustomerAccess`] made ready for deciding many resource-days against it (settlement): each
/// assignment's role eligibility and type are worked out once, and assignments that fail two
/// criteria whatever the usage line (role and `permanent`) are left out, since they can never
/// change a verdict. [`day_coverage`] goes through it too.
#[derive(Debug, Clone)]
pub struct PreparedAccess<'a> {
    access: &'a CustomerAccess,
    candidates: Vec<Candidate<'a>>,
}

/// A held assignment that can matter, with the criteria it fails that do not depend on the usage
/// line.
#[derive(Debug, Clone)]
struct Candidate<'a> {
    held: &'a HeldAssignment,
    /// `FAILS_ROLE` and `FAILS_PERMANENT` bits.
    fails: u8,
}

impl<'a> PreparedAccess<'a> {
    /// Evaluates every held assignment's role and type.
    pub fn new(access: &'a CustomerAccess, roles: &RoleTable) -> Self {
        let candidates = access
            .held
            .iter()
            .filter_map(|held| {
                let a = &held.assignment;
                let mut fails = 0;
                if !role_eligible(a, roles) {
                    fails |= FAILS_ROLE;
                }
                if !is_permanent(a) {
                    fails |= FAILS_PERMANENT;
                }
                (fails != FAILS_ROLE | FAILS_PERMANENT).then_some(Candidate { held, fails })
            })
            .collect();
        PreparedAccess { access, candidates }
    }

    /// The access this was prepared from.
    pub fn access(&self) -> &'a CustomerAccess {
        self.access
    }

    /// See [`day_coverage`].
    pub fn day_coverage(
        &self,
        resource_key: &str,
        date: NaiveDate,
        mpn_id: &str,
        tier2_mpn_id: &str,
    ) -> DayCoverage {
        let unknown = DayCoverage {
            status: DayStatus::Unknown,
            reason: Some(LossReason::NoEvidence),
            evidence: Vec::new(),
        };
        let Some(day) = Interval::day(date) else {
            return unknown;
        };
        match self.access.latest_snapshot {
            Some(latest) if latest >= day.end => {}
            _ => return unknown,
        }

        // Pieces of held intervals inside the day, tagged with the criterion their assignment
        // fails (0 = eligible); assignments failing two or more criteria cannot matter and are
        // skipped. When one eligible interval covers the whole day the pieces are not needed.
        let mut pieces: Vec<(Interval, u8)> = Vec::new();
        let mut one_covers = false;
        let mut evidence: Vec<String> = Vec::new();
        for c in &self.candidates {
            let intervals = &c.held.intervals;
            // Intervals are sorted and disjoint: binary-search the ones that can meet the day.
            let from = intervals.partition_point(|iv| iv.end < day.start);
            let to = intervals
                .partition_point(|iv| iv.start <= day.end)
                .max(from);
            let touching = &intervals[from..to];
            if !touching.iter().any(|iv| iv.intersects(&day)) {
                continue;
            }
            let a = &c.held.assignment;
            if !ids::scope_covers(&a.scope, resource_key) {
                continue;
            }
            let mut fails = c.fails;
            if !pal_ok(a, mpn_id, tier2_mpn_id) {
                fails |= FAILS_PAL;
            }
            if fails.count_ones() > 1 {
                continue;
            }
            if fails == 0 {
                evidence.push(a.id.clone());
                one_covers = one_covers || touching.iter().any(|iv| iv.covers(&day));
            }
            if !one_covers {
                for iv in touching.iter().filter(|iv| iv.intersects(&day)) {
                    pieces.push((
                        Interval::new(iv.start.max(day.start), iv.end.min(day.end)),
                        fails,
                    ));
                }
            }
        }
        evidence.sort_unstable();
        evidence.dedup();

        let (status, reason) = if one_covers {
            (DayStatus::Full, None)
        } else {
            day_verdict(&mut pieces, day)
        };
        DayCoverage {
            status,
            reason,
            evidence,
        }
    }
}

impl PreparedAccess<'_> {
    /// For each date, a SHA-256 of everything [`PreparedAccess::day_coverage`] can read for that
    /// day: whether a snapshot at or after its end exists, and each candidate assignment whose
    /// held intervals meet the day, with its attributes, the criteria it fails and its intervals
    /// clipped to the day. Two days with the same digest get the same coverage for every resource
    /// and usage line (incremental settlement skips a day whose digest, usage and configuration
    /// are unchanged).
    pub fn day_digests(&self, dates: &[NaiveDate]) -> Vec<[u8; 32]> {
        use sha2::{Digest, Sha256};
        // Each candidate's attributes, hashed once (serde_json of the assignment as listed,
        // scope normalised, then the failure bits).
        let identities: Vec<[u8; 32]> = self
            .candidates
            .iter()
            .map(|c| {
                let mut h = Sha256::new();
                h.update(serde_json::to_vec(&c.held.assignment).unwrap_or_default());
                h.update([c.fails]);
                h.finalize().into()
            })
            .collect();
        let micros = |t: DateTime<Utc>| t.timestamp_micros().to_le_bytes();
        dates
            .iter()
            .map(|&date| {
                let mut h = Sha256::new();
                let Some(day) = Interval::day(date) else {
                    return h.finalize().into();
                };
                let known = matches!(self.access.latest_snapshot, Some(l) if l >= day.end);
                h.update([u8::from(known)]);
                if known {
                    for (c, identity) in self.candidates.iter().zip(&identities) {
                        let intervals = &c.held.intervals;
                        let from = intervals.partition_point(|iv| iv.end < day.start);
                        let mut met = false;
                        for iv in intervals[from..]
                            .iter()
                            .take_while(|iv| iv.start <= day.end)
                        {
                            if !iv.intersects(&day) {
                                continue;
                            }
                            if !met {
                                h.update(identity);
                                met = true;
                            }
                            h.update(micros(iv.start.max(day.start)));
                            h.update(micros(iv.end.min(day.end)));
                        }
                        if met {
                            h.update([0xff]);
                        }
                    }
                }
                h.finalize().into()
            })
            .collect()
    }
}

/// Whether one snapshot, at its `takenAt`, gives eligible access to a resource for a usage line
/// with these MPN IDs: `None` when one assignment it lists meets R3–R6 as [`day_coverage`]
/// applies them (scope, eligible role, permanent, AOBO or a matching Partner Admin Link); else
/// the reason, chosen as settlement chooses it — the first of `PAL_MISSING`,
/// `ROLE_NOT_ELIGIBLE`, `NOT_PERMANENT` that an assignment failing only that criterion would
/// have met, else `NO_ACCESS`. `resource_key` is normalised.
pub fn snapshot_coverage(
    snapshot: &Snapshot,
    roles: &RoleTable,
    resource_key: &str,
    mpn_id: &str,
    tier2_mpn_id: &str,
) -> Option<LossReason> {
    let mut single = 0u8;
    for a in &snapshot.assignments {
        if !ids::scope_covers(&ids::normalize_resource_id(&a.scope), resource_key) {
            continue;
        }
        let mut fails = 0;
        if !pal_ok(a, mpn_id, tier2_mpn_id) {
            fails |= FAILS_PAL;
        }
        if !role_eligible(a, roles) {
            fails |= FAILS_ROLE;
        }
        if !is_permanent(a) {
            fails |= FAILS_PERMANENT;
        }
        if fails == 0 {
            return None;
        }
        if fails.count_ones() == 1 {
            single |= fails;
        }
    }
    Some(
        SINGLE_FAILURES
            .iter()
            .find(|(bit, _)| single & bit != 0)
            .map(|(_, reason)| *reason)
            .unwrap_or(LossReason::NoAccess),
    )
}

/// Criteria an assignment fails, as bits; 0 is eligible.
const FAILS_PAL: u8 = 1;
const FAILS_ROLE: u8 = 2;
const FAILS_PERMANENT: u8 = 4;

/// The reasons in SPEC order, with the criterion each stands for.
const SINGLE_FAILURES: [(u8, LossReason); 3] = [
    (FAILS_PAL, LossReason::PalMissing),
    (FAILS_ROLE, LossReason::RoleNotEligible),
    (FAILS_PERMANENT, LossReason::NotPermanent),
];

/// The Partner Admin Link, trimmed; `None` when absent or blank.
fn pal_of(a: &Assignment) -> Option<&str> {
    a.partner_admin_link_mpn_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// R4: the assignment's role is eligible (Microsoft's table, the built-in GUIDs, overrides).
pub fn role_eligible(a: &Assignment, roles: &RoleTable) -> bool {
    roles.is_eligible(&a.role_definition_id, &a.role_name)
}

/// R5: only permanent assignments count (not PIM-eligible, not just-in-time activated).
pub fn is_permanent(a: &Assignment) -> bool {
    a.assignment_type == AssignmentType::Permanent
}

/// R6: AOBO counts as is; the others need a PAL equal to the MpnId or the (non-empty)
/// Tier2MpnId.
pub fn pal_ok(a: &Assignment, mpn_id: &str, tier2_mpn_id: &str) -> bool {
    if a.access_type == AccessType::Aobo {
        return true;
    }
    match pal_of(a) {
        Some(pal) => {
            let mpn = mpn_id.trim();
            let tier2 = tier2_mpn_id.trim();
            (!mpn.is_empty() && pal == mpn) || (!tier2.is_empty() && pal == tier2)
        }
        None => false,
    }
}

/// Status and reason from the pieces of the day (each tagged with the criterion it fails, 0 for
/// none).
fn day_verdict(pieces: &mut [(Interval, u8)], day: Interval) -> (DayStatus, Option<LossReason>) {
    pieces.sort_unstable_by_key(|(iv, _)| iv.start);
    if covers_day(pieces, day, 0) {
        return (DayStatus::Full, None);
    }
    let partial = pieces.iter().any(|(_, fails)| *fails == 0);
    let fallback = if partial {
        (DayStatus::Partial, LossReason::PartialDay)
    } else {
        (DayStatus::None, LossReason::NoAccess)
    };
    let reason = SINGLE_FAILURES
        .iter()
        .find(|(bit, _)| covers_day(pieces, day, *bit))
        .map_or(fallback.1, |(_, reason)| *reason);
    (fallback.0, Some(reason))
}

/// Whether the pieces that are eligible or fail exactly `also` (0 for none) cover the whole
/// closed `day`. `pieces` lie inside the day and are sorted by start.
fn covers_day(pieces: &[(Interval, u8)], day: Interval, also: u8) -> bool {
    // Invariant: [day.start, reach] is covered, except that day.start itself still needs a
    // piece starting at it; the first usable piece starting later than day.start is a gap.
    let mut reach = day.start;
    for (iv, fails) in pieces {
        if *fails != 0 && *fails != also {
            continue;
        }
        if iv.start > reach {
            return false;
        }
        reach = reach.max(iv.end);
        if reach >= day.end {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests;
