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
#[derive(Debug)]
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
        let held = self
            .tracked
            .into_iter()
            .map(|tr| {
                let intervals = match tr.assignment.created_on {
                    Some(c) => vec![Interval::new(c.min(tr.run.start), tr.run.end)],
                    None => {
                        let mut v = tr.closed;
                        v.push(tr.run);
                        // Runs are already ordered; this only merges runs that meet (snapshots
                        // with equal `takenAt`).
                        union(v)
                    }
                };
                HeldAssignment {
                    assignment: tr.assignment,
                    intervals,
                }
            })
            .collect();
        CustomerAccess {
            held,
            latest_snapshot: self.latest,
        }
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
                if !roles.is_eligible(&a.role_definition_id, &a.role_name) {
                    fails |= FAILS_ROLE;
                }
                if a.assignment_type != AssignmentType::Permanent {
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

/// R6: AOBO counts as is; the others need a PAL equal to the MpnId or the (non-empty)
/// Tier2MpnId.
fn pal_ok(a: &Assignment, mpn_id: &str, tier2_mpn_id: &str) -> bool {
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
mod tests {
    use super::*;
    use crate::snapshot::{parse_snapshot, PrincipalType};
    use proptest::prelude::*;

    const SUB: &str = "/subscriptions/23b8c1e9-3924-46de-beb1-3b9046685257";
    const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
    const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";
    const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
    const MPN: &str = "4100001";
    const TIER2: &str = "5200002";

    fn ts(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn gap() -> Duration {
        Duration::hours(25)
    }

    fn rg(name: &str) -> String {
        format!("{SUB}/resourcegroups/{name}")
    }

    fn web_site() -> String {
        ids::normalize_resource_id(&format!(
            "{SUB}/resourceGroups/rg-web/providers/Microsoft.Web/sites/shop"
        ))
    }

    /// A permanent AOBO Owner at `scope`, without createdOn.
    fn owner(id: &str, scope: &str) -> Assignment {
        Assignment {
            id: id.to_owned(),
            scope: ids::normalize_resource_id(scope),
            role_definition_id: OWNER.to_owned(),
            role_name: "Owner".to_owned(),
            principal_id: "p".to_owned(),
            principal_type: PrincipalType::ForeignGroup,
            access_type: AccessType::Aobo,
            partner_admin_link_mpn_id: None,
            assignment_type: AssignmentType::Permanent,
            created_on: None,
        }
    }

    fn snap(taken_at: &str, assignments: Vec<Assignment>) -> Snapshot {
        Snapshot {
            schema_version: 1,
            snapshot_id: format!("snap-{taken_at}"),
            partner_id: "partner".into(),
            customer_id: "customer".into(),
            taken_at: ts(taken_at),
            source: "test".into(),
            assignments,
        }
    }

    fn build(max_gap: Duration, snaps: &[Snapshot]) -> CustomerAccess {
        let mut b = AccessBuilder::new(max_gap);
        for s in snaps {
            b.push(s);
        }
        b.finish()
    }

    /// Day coverage with the built-in role table.
    fn cov(
        access: &CustomerAccess,
        resource: &str,
        day: &str,
        mpn: &str,
        tier2: &str,
    ) -> DayCoverage {
        day_coverage(
            access,
            &RoleTable::builtin(),
            resource,
            date(day),
            mpn,
            tier2,
        )
    }

    const D: &str = "2026-10-01";

    /// Snapshots at D 00:00 (or earlier), D 12:00 and D+1 00:05 all listing `a`.
    fn whole_day(a: Assignment) -> CustomerAccess {
        build(
            gap(),
            &[
                snap("2026-09-30T23:55:00Z", vec![a.clone()]),
                snap("2026-10-01T12:00:00Z", vec![a.clone()]),
                snap("2026-10-02T00:05:00Z", vec![a]),
            ],
        )
    }

    fn full(evidence: &[&str]) -> DayCoverage {
        DayCoverage {
            status: DayStatus::Full,
            reason: None,
            evidence: evidence.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn verdict(status: DayStatus, reason: LossReason, evidence: &[&str]) -> DayCoverage {
        DayCoverage {
            status,
            reason: Some(reason),
            evidence: evidence.iter().map(|s| s.to_string()).collect(),
        }
    }

    // ---- union ----

    #[test]
    fn union_merges_overlapping_and_touching_intervals() {
        let iv = |a: &str, b: &str| Interval::new(ts(a), ts(b));
        let u = union(vec![
            iv("2026-10-01T10:00:00Z", "2026-10-01T12:00:00Z"),
            iv("2026-10-01T00:00:00Z", "2026-10-01T05:00:00Z"),
            iv("2026-10-01T05:00:00Z", "2026-10-01T06:00:00Z"),
            iv("2026-10-01T11:00:00Z", "2026-10-01T11:30:00Z"),
            iv("2026-10-01T13:00:00Z", "2026-10-01T13:00:00Z"),
            iv("2026-10-01T20:00:00Z", "2026-10-01T19:00:00Z"),
        ]);
        assert_eq!(
            u,
            vec![
                iv("2026-10-01T00:00:00Z", "2026-10-01T06:00:00Z"),
                iv("2026-10-01T10:00:00Z", "2026-10-01T12:00:00Z"),
                iv("2026-10-01T13:00:00Z", "2026-10-01T13:00:00Z"),
            ]
        );
        assert!(union(Vec::new()).is_empty());
    }

    // ---- builder ----

    #[test]
    fn runs_without_created_on_follow_consecutive_listings() {
        let a = owner("A", SUB);
        let access = build(
            gap(),
            &[
                snap("2026-10-01T00:00:00Z", vec![a.clone()]),
                snap("2026-10-01T06:00:00Z", vec![a.clone()]),
                snap("2026-10-01T12:00:00Z", vec![]),
                snap("2026-10-01T18:00:00Z", vec![a.clone()]),
                snap("2026-10-02T00:00:00Z", vec![]),
            ],
        );
        assert_eq!(access.latest_snapshot, Some(ts("2026-10-02T00:00:00Z")));
        assert_eq!(access.held.len(), 1);
        assert_eq!(
            access.held[0].intervals,
            vec![
                Interval::new(ts("2026-10-01T00:00:00Z"), ts("2026-10-01T06:00:00Z")),
                Interval::point(ts("2026-10-01T18:00:00Z")),
            ]
        );
    }

    #[test]
    fn created_on_gives_one_interval_from_creation_to_the_last_listing() {
        let mut a = owner("A", SUB);
        a.created_on = Some(ts("2026-01-01T00:00:00Z"));
        let access = build(
            gap(),
            &[
                snap("2026-10-01T00:00:00Z", vec![a.clone()]),
                snap("2026-10-01T06:00:00Z", vec![]),
                snap("2026-10-05T00:00:00Z", vec![a.clone()]),
                snap("2026-10-06T00:00:00Z", vec![]),
            ],
        );
        assert_eq!(
            access.held[0].intervals,
            vec![Interval::new(
                ts("2026-01-01T00:00:00Z"),
                ts("2026-10-05T00:00:00Z")
            )]
        );
    }

    #[test]
    fn changed_attributes_make_a_new_held_assignment_and_id_case_does_not() {
        let a = owner("A", SUB);
        let mut upper = a.clone();
        upper.id = "a".into();
        upper.scope = SUB.to_uppercase();
        let mut reader = a.clone();
        reader.role_definition_id = READER.into();
        reader.role_name = "Reader".into();
        let access = build(
            gap(),
            &[
                snap("2026-10-01T00:00:00Z", vec![a.clone()]),
                snap("2026-10-01T06:00:00Z", vec![upper]),
                snap("2026-10-01T12:00:00Z", vec![reader]),
            ],
        );
        assert_eq!(access.held.len(), 2);
        assert_eq!(access.held[0].assignment.id, "A");
        assert_eq!(
            access.held[0].intervals,
            vec![Interval::new(
                ts("2026-10-01T00:00:00Z"),
                ts("2026-10-01T06:00:00Z")
            )]
        );
        assert_eq!(access.held[1].assignment.role_name, "Reader");
        assert_eq!(
            access.held[1].intervals,
            vec![Interval::point(ts("2026-10-01T12:00:00Z"))]
        );
    }

    #[test]
    fn snapshots_with_equal_taken_at_give_disjoint_intervals() {
        let a = owner("A", SUB);
        let access = build(
            gap(),
            &[
                snap("2026-10-01T06:00:00Z", vec![a.clone()]),
                snap("2026-10-01T06:00:00Z", vec![]),
                snap("2026-10-01T06:00:00Z", vec![a.clone()]),
                snap("2026-10-01T07:00:00Z", vec![a]),
            ],
        );
        assert_eq!(
            access.held[0].intervals,
            vec![Interval::new(
                ts("2026-10-01T06:00:00Z"),
                ts("2026-10-01T07:00:00Z")
            )]
        );
    }

    #[test]
    fn out_of_order_snapshots_are_ignored() {
        let a = owner("A", SUB);
        let access = build(
            gap(),
            &[
                snap("2026-10-01T06:00:00Z", vec![a.clone()]),
                snap("2026-10-01T00:00:00Z", vec![]),
                snap("2026-10-01T12:00:00Z", vec![a]),
            ],
        );
        assert_eq!(access.latest_snapshot, Some(ts("2026-10-01T12:00:00Z")));
        assert_eq!(
            access.held[0].intervals,
            vec![Interval::new(
                ts("2026-10-01T06:00:00Z"),
                ts("2026-10-01T12:00:00Z")
            )]
        );
    }

    // ---- day coverage: scope, role, permanence, PAL ----

    #[test]
    fn subscription_owner_all_day_is_full() {
        let access = whole_day(owner("A", SUB));
        assert_eq!(cov(&access, &web_site(), D, MPN, ""), full(&["A"]));
        // The subscription itself (usage with an empty ResourceURI).
        assert_eq!(
            cov(&access, &ids::normalize_resource_id(SUB), D, MPN, ""),
            full(&["A"])
        );
        // Another subscription is not covered.
        let other = ids::normalize_resource_id(
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/x",
        );
        assert_eq!(
            cov(&access, &other, D, MPN, ""),
            verdict(DayStatus::None, LossReason::NoAccess, &[])
        );
    }

    #[test]
    fn resource_group_scope_covers_its_resources_only() {
        let access = whole_day(owner("RG", &rg("RG-Web")));
        assert_eq!(cov(&access, &web_site(), D, MPN, ""), full(&["RG"]));
        let elsewhere =
            ids::normalize_resource_id(&format!("{SUB}/resourceGroups/rg-web2/providers/x/y/z"));
        assert_eq!(
            cov(&access, &elsewhere, D, MPN, ""),
            verdict(DayStatus::None, LossReason::NoAccess, &[])
        );
    }

    #[test]
    fn resource_scope_covers_a_child_not_a_sibling() {
        let server = format!("{SUB}/resourceGroups/rg-data/providers/Microsoft.Sql/servers/sql1");
        let access = whole_day(owner("SRV", &server));
        let child = ids::normalize_resource_id(&format!("{server}/databases/orders"));
        let sibling = ids::normalize_resource_id(&format!(
            "{SUB}/resourceGroups/rg-data/providers/Microsoft.Sql/servers/sql2"
        ));
        assert_eq!(cov(&access, &child, D, MPN, ""), full(&["SRV"]));
        assert_eq!(
            cov(&access, &sibling, D, MPN, ""),
            verdict(DayStatus::None, LossReason::NoAccess, &[])
        );
    }

    #[test]
    fn access_removed_at_one_pm_is_a_partial_day() {
        let a = owner("A", SUB);
        let access = build(
            gap(),
            &[
                snap("2026-09-30T23:55:00Z", vec![a.clone()]),
                snap("2026-10-01T13:00:00Z", vec![a]),
                snap("2026-10-01T13:05:00Z", vec![]),
                snap("2026-10-02T00:05:00Z", vec![]),
            ],
        );
        assert_eq!(
            cov(&access, &web_site(), D, MPN, ""),
            verdict(DayStatus::Partial, LossReason::PartialDay, &["A"])
        );
        // The next day there is nothing.
        assert_eq!(
            cov(&access, &web_site(), "2026-10-02", MPN, ""),
            verdict(DayStatus::Unknown, LossReason::NoEvidence, &[])
        );
    }

    #[test]
    fn reader_is_role_not_eligible() {
        let mut a = owner("R", SUB);
        a.role_definition_id = READER.into();
        a.role_name = "Reader".into();
        let access = whole_day(a);
        assert_eq!(
            cov(&access, &web_site(), D, MPN, ""),
            verdict(DayStatus::None, LossReason::RoleNotEligible, &[])
        );
    }

    #[test]
    fn pim_eligible_and_activated_are_not_permanent() {
        for t in [AssignmentType::Eligible, AssignmentType::Activated] {
            let mut a = owner("P", SUB);
            a.assignment_type = t;
            let access = whole_day(a);
            assert_eq!(
                cov(&access, &web_site(), D, MPN, ""),
                verdict(DayStatus::None, LossReason::NotPermanent, &[])
            );
        }
    }

    fn lighthouse(pal: Option<&str>) -> Assignment {
        let mut a = owner("LH", &rg("rg-web"));
        a.access_type = AccessType::Lighthouse;
        a.role_definition_id = CONTRIBUTOR.into();
        a.role_name = "Contributor".into();
        a.partner_admin_link_mpn_id = pal.map(str::to_owned);
        a
    }

    #[test]
    fn lighthouse_needs_a_partner_admin_link_to_the_mpn_or_tier2() {
        let with_pal = whole_day(lighthouse(Some(MPN)));
        assert_eq!(cov(&with_pal, &web_site(), D, MPN, TIER2), full(&["LH"]));
        assert_eq!(
            cov(&with_pal, &web_site(), D, &format!(" {MPN} "), ""),
            full(&["LH"])
        );

        let without = whole_day(lighthouse(None));
        assert_eq!(
            cov(&without, &web_site(), D, MPN, TIER2),
            verdict(DayStatus::None, LossReason::PalMissing, &[])
        );
        let blank = whole_day(lighthouse(Some("  ")));
        assert_eq!(
            cov(&blank, &web_site(), D, "", ""),
            verdict(DayStatus::None, LossReason::PalMissing, &[])
        );

        let tier2 = whole_day(lighthouse(Some(TIER2)));
        assert_eq!(cov(&tier2, &web_site(), D, MPN, TIER2), full(&["LH"]));
        // Without a Tier2MpnId on the line the reseller's link does not count.
        assert_eq!(
            cov(&tier2, &web_site(), D, MPN, ""),
            verdict(DayStatus::None, LossReason::PalMissing, &[])
        );
    }

    #[test]
    fn gdap_and_direct_with_a_wrong_link_are_pal_missing() {
        for t in [AccessType::Gdap, AccessType::Direct] {
            let mut a = lighthouse(Some("9999999"));
            a.access_type = t;
            let access = whole_day(a);
            assert_eq!(
                cov(&access, &web_site(), D, MPN, TIER2),
                verdict(DayStatus::None, LossReason::PalMissing, &[])
            );
        }
    }

    #[test]
    fn failing_two_criteria_gives_no_specific_reason() {
        // A Reader via Lighthouse without PAL: fixing one criterion alone would not help.
        let mut a = lighthouse(None);
        a.role_definition_id = READER.into();
        a.role_name = "Reader".into();
        let access = whole_day(a);
        assert_eq!(
            cov(&access, &web_site(), D, MPN, ""),
            verdict(DayStatus::None, LossReason::NoAccess, &[])
        );
    }

    #[test]
    fn the_first_sufficient_reason_wins_and_partial_eligible_access_combines() {
        // Eligible AOBO Owner until 13:00; from 12:00 a Lighthouse without PAL and a PIM Owner.
        let aobo = owner("A", SUB);
        let lh = lighthouse(None);
        let mut pim = owner("P", SUB);
        pim.assignment_type = AssignmentType::Eligible;
        let access = build(
            gap(),
            &[
                snap("2026-09-30T23:55:00Z", vec![aobo.clone()]),
                snap(
                    "2026-10-01T12:00:00Z",
                    vec![aobo.clone(), lh.clone(), pim.clone()],
                ),
                snap("2026-10-01T13:00:00Z", vec![aobo, lh.clone(), pim.clone()]),
                snap("2026-10-02T00:05:00Z", vec![lh, pim]),
            ],
        );
        assert_eq!(
            cov(&access, &web_site(), D, MPN, ""),
            verdict(DayStatus::Partial, LossReason::PalMissing, &["A"])
        );
        // On a resource outside rg-web only the PIM assignment could have helped.
        let vm = ids::normalize_resource_id(&format!(
            "{SUB}/resourceGroups/rg-vm/providers/Microsoft.Compute/virtualMachines/vm1"
        ));
        assert_eq!(
            cov(&access, &vm, D, MPN, ""),
            verdict(DayStatus::Partial, LossReason::NotPermanent, &["A"])
        );
    }

    // ---- day coverage: time ----

    #[test]
    fn created_on_back_fills_the_day_from_a_single_later_snapshot() {
        let mut a = owner("A", SUB);
        a.created_on = Some(ts("2026-02-14T08:31:07Z"));
        let access = build(gap(), &[snap("2026-10-02T00:05:00Z", vec![a])]);
        assert_eq!(cov(&access, &web_site(), D, MPN, ""), full(&["A"]));
        assert_eq!(
            cov(&access, &web_site(), "2026-09-15", MPN, ""),
            full(&["A"])
        );
        // Before it was created: nothing.
        assert_eq!(
            cov(&access, &web_site(), "2026-02-13", MPN, ""),
            verdict(DayStatus::None, LossReason::NoAccess, &[])
        );
        // The creation day itself is partial.
        assert_eq!(
            cov(&access, &web_site(), "2026-02-14", MPN, ""),
            verdict(DayStatus::Partial, LossReason::PartialDay, &["A"])
        );
    }

    #[test]
    fn without_created_on_a_single_snapshot_is_only_a_point() {
        let a = owner("A", SUB);
        let access = build(gap(), &[snap("2026-10-02T00:05:00Z", vec![a.clone()])]);
        assert_eq!(
            cov(&access, &web_site(), D, MPN, ""),
            verdict(DayStatus::None, LossReason::NoAccess, &[])
        );
        // A point inside the day touches it.
        let access = build(
            gap(),
            &[
                snap("2026-10-01T10:00:00Z", vec![a.clone()]),
                snap("2026-10-02T00:05:00Z", vec![]),
            ],
        );
        assert_eq!(
            cov(&access, &web_site(), D, MPN, ""),
            verdict(DayStatus::Partial, LossReason::PartialDay, &["A"])
        );
        // A point at exactly D+1 00:00 touches the closed day too.
        let access = build(gap(), &[snap("2026-10-02T00:00:00Z", vec![a])]);
        assert_eq!(
            cov(&access, &web_site(), D, MPN, ""),
            verdict(DayStatus::Partial, LossReason::PartialDay, &["A"])
        );
    }

    #[test]
    fn the_day_is_closed_at_both_ends() {
        let a = owner("A", SUB);
        let exact = build(
            gap(),
            &[
                snap("2026-10-01T00:00:00Z", vec![a.clone()]),
                snap("2026-10-02T00:00:00Z", vec![a.clone()]),
            ],
        );
        assert_eq!(cov(&exact, &web_site(), D, MPN, ""), full(&["A"]));
        let late = build(
            gap(),
            &[
                snap("2026-10-01T00:00:01Z", vec![a.clone()]),
                snap("2026-10-02T00:00:00Z", vec![a.clone()]),
            ],
        );
        assert_eq!(
            cov(&late, &web_site(), D, MPN, ""),
            verdict(DayStatus::Partial, LossReason::PartialDay, &["A"])
        );
        let early = build(
            gap(),
            &[
                snap("2026-10-01T00:00:00Z", vec![a.clone()]),
                snap("2026-10-01T23:59:59Z", vec![a]),
                snap("2026-10-02T00:00:00Z", vec![]),
            ],
        );
        assert_eq!(
            cov(&early, &web_site(), D, MPN, ""),
            verdict(DayStatus::Partial, LossReason::PartialDay, &["A"])
        );
    }

    #[test]
    fn a_gap_over_max_gap_splits_the_run() {
        let a = owner("A", SUB);
        // D-1 23:00 and D+1 00:30: 25 h 30 min apart.
        let snaps = [
            snap("2026-09-30T23:00:00Z", vec![a.clone()]),
            snap("2026-10-02T00:30:00Z", vec![a.clone()]),
        ];
        assert_eq!(
            cov(&build(gap(), &snaps), &web_site(), D, MPN, ""),
            verdict(DayStatus::None, LossReason::NoAccess, &[])
        );
        assert_eq!(
            cov(&build(Duration::hours(26), &snaps), &web_site(), D, MPN, ""),
            full(&["A"])
        );
        // D 00:05 and D+1 02:00: 25 h 55 min apart, two points; 00:05 lies in D.
        let snaps = [
            snap("2026-10-01T00:05:00Z", vec![a.clone()]),
            snap("2026-10-02T02:00:00Z", vec![a.clone()]),
        ];
        let access = build(gap(), &snaps);
        assert_eq!(
            access.held[0].intervals,
            vec![
                Interval::point(ts("2026-10-01T00:05:00Z")),
                Interval::point(ts("2026-10-02T02:00:00Z"))
            ]
        );
        assert_eq!(
            cov(&access, &web_site(), D, MPN, ""),
            verdict(DayStatus::Partial, LossReason::PartialDay, &["A"])
        );
        // Exactly max_gap does not split.
        let snaps = [
            snap("2026-09-30T23:00:00Z", vec![a.clone()]),
            snap("2026-10-02T00:00:00Z", vec![a]),
        ];
        assert_eq!(
            cov(&build(gap(), &snaps), &web_site(), D, MPN, ""),
            full(&["A"])
        );
    }

    #[test]
    fn a_day_is_unknown_until_a_snapshot_at_or_after_its_end() {
        let a = owner("A", SUB);
        let mut snaps = vec![
            snap("2026-09-30T23:55:00Z", vec![a.clone()]),
            snap("2026-10-01T23:59:59Z", vec![a.clone()]),
        ];
        assert_eq!(
            cov(&build(gap(), &snaps), &web_site(), D, MPN, ""),
            verdict(DayStatus::Unknown, LossReason::NoEvidence, &[])
        );
        snaps.push(snap("2026-10-02T00:00:00Z", vec![a]));
        assert_eq!(
            cov(&build(gap(), &snaps), &web_site(), D, MPN, ""),
            full(&["A"])
        );
        assert_eq!(
            cov(&CustomerAccess::default(), &web_site(), D, MPN, ""),
            verdict(DayStatus::Unknown, LossReason::NoEvidence, &[])
        );
        // The last representable date never panics.
        let d = day_coverage(
            &CustomerAccess::default(),
            &RoleTable::builtin(),
            "/x",
            NaiveDate::MAX,
            MPN,
            "",
        );
        assert_eq!(d.status, DayStatus::Unknown);
    }

    #[test]
    fn no_access_at_all_and_an_empty_snapshot_removes_access() {
        let none = build(
            gap(),
            &[
                snap("2026-09-30T00:00:00Z", vec![]),
                snap("2026-10-02T00:05:00Z", vec![]),
            ],
        );
        assert_eq!(
            cov(&none, &web_site(), D, MPN, ""),
            verdict(DayStatus::None, LossReason::NoAccess, &[])
        );

        let a = owner("A", SUB);
        let removed = build(
            gap(),
            &[
                snap("2026-09-29T00:00:00Z", vec![a.clone()]),
                snap("2026-09-30T00:00:00Z", vec![a.clone()]),
                snap("2026-09-30T12:00:00Z", vec![]),
                snap("2026-10-01T00:00:00Z", vec![a.clone()]),
                snap("2026-10-02T00:05:00Z", vec![a]),
            ],
        );
        assert_eq!(
            removed.held[0].intervals,
            vec![
                Interval::new(ts("2026-09-29T00:00:00Z"), ts("2026-09-30T00:00:00Z")),
                Interval::new(ts("2026-10-01T00:00:00Z"), ts("2026-10-02T00:05:00Z")),
            ]
        );
        assert_eq!(
            cov(&removed, &web_site(), "2026-09-29", MPN, ""),
            full(&["A"])
        );
        assert_eq!(
            cov(&removed, &web_site(), "2026-09-30", MPN, ""),
            verdict(DayStatus::Partial, LossReason::PartialDay, &["A"])
        );
        assert_eq!(cov(&removed, &web_site(), D, MPN, ""), full(&["A"]));
    }

    #[test]
    fn evidence_is_sorted_and_deduplicated() {
        let b = owner("B", SUB);
        let a = owner("A", SUB);
        let mut a2 = a.clone();
        a2.role_name = "Contributor".into();
        a2.role_definition_id = CONTRIBUTOR.into();
        let mut reader = owner("C", SUB);
        reader.role_name = "Reader".into();
        reader.role_definition_id = READER.into();
        let access = build(
            gap(),
            &[
                snap(
                    "2026-09-30T23:00:00Z",
                    vec![b.clone(), a.clone(), reader.clone()],
                ),
                snap(
                    "2026-10-01T12:00:00Z",
                    vec![b.clone(), a2.clone(), reader.clone()],
                ),
                snap("2026-10-02T00:05:00Z", vec![b, a2, reader]),
            ],
        );
        assert_eq!(access.held.len(), 4);
        assert_eq!(cov(&access, &web_site(), D, MPN, ""), full(&["A", "B"]));
    }

    // ---- the SPEC examples ----

    const EXAMPLE_DB: &str = "/subscriptions/23b8c1e9-3924-46de-beb1-3b9046685257/resourcegroups/rg-data/providers/microsoft.sql/servers/sql1/databases/orders";
    const AOBO_ID: &str = "/subscriptions/23b8c1e9-3924-46de-beb1-3b9046685257/providers/Microsoft.Authorization/roleAssignments/3f0c1d2e-aobo";
    const LH_ID: &str = "/subscriptions/23b8c1e9-3924-46de-beb1-3b9046685257/resourceGroups/rg-data/providers/Microsoft.Authorization/roleAssignments/9a8b7c6d-lh";

    fn examples() -> Vec<Snapshot> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/examples");
        (0..5)
            .map(|i| {
                let body = std::fs::read(format!("{dir}/snapshot-{i}.json")).unwrap();
                parse_snapshot(&body, ts("2026-09-03T01:00:00Z")).unwrap()
            })
            .collect()
    }

    #[test]
    fn spec_examples_sql_database_earns_on_both_days_through_aobo() {
        let access = build(gap(), &examples());
        assert_eq!(access.latest_snapshot, Some(ts("2026-09-03T00:05:00Z")));
        assert_eq!(access.held.len(), 3);
        assert_eq!(
            access.held[0].intervals,
            vec![Interval::new(
                ts("2026-02-14T08:31:07Z"),
                ts("2026-09-03T00:05:00Z")
            )]
        );
        assert_eq!(
            access.held[1].intervals,
            vec![Interval::new(
                ts("2026-09-01T00:05:00Z"),
                ts("2026-09-01T12:05:00Z")
            )]
        );
        assert_eq!(
            access.held[2].intervals,
            vec![Interval::new(
                ts("2026-09-01T00:05:00Z"),
                ts("2026-09-03T00:05:00Z")
            )]
        );
        // On 09-01 the Lighthouse assignment (PAL 4100001) is eligible too, and touches the day.
        assert_eq!(
            cov(&access, EXAMPLE_DB, "2026-09-01", MPN, ""),
            full(&[AOBO_ID, LH_ID])
        );
        assert_eq!(
            cov(&access, EXAMPLE_DB, "2026-09-02", MPN, ""),
            full(&[AOBO_ID])
        );
        assert_eq!(
            cov(&access, EXAMPLE_DB, "2026-09-03", MPN, ""),
            verdict(DayStatus::Unknown, LossReason::NoEvidence, &[])
        );
    }

    #[test]
    fn spec_examples_without_the_aobo_assignment() {
        let mut snaps = examples();
        for s in &mut snaps {
            s.assignments.retain(|a| a.id != AOBO_ID);
        }
        let access = build(gap(), &snaps);
        // Lighthouse held [09-01 00:05, 09-01 12:05]: eligible but not from midnight; the PIM
        // Owner starts at 00:05 too, so making it count would not fill 00:00–00:05.
        assert_eq!(
            cov(&access, EXAMPLE_DB, "2026-09-01", MPN, ""),
            verdict(DayStatus::Partial, LossReason::PartialDay, &[LH_ID])
        );
        // 09-02: no eligible access; the PIM-eligible Owner held all day would have earned.
        assert_eq!(
            cov(&access, EXAMPLE_DB, "2026-09-02", MPN, ""),
            verdict(DayStatus::None, LossReason::NotPermanent, &[])
        );
        // With another MpnId the Lighthouse link does not count on 09-01 either.
        assert_eq!(
            cov(&access, EXAMPLE_DB, "2026-09-01", "4999999", ""),
            verdict(DayStatus::None, LossReason::NoAccess, &[])
        );
    }

    // ---- properties ----

    const BASE: i64 = 1_790_812_800; // 2026-10-01T00:00:00Z
    const SPAN: i64 = 3 * 86_400;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(BASE - 86_400 + secs, 0).unwrap()
    }

    fn interval_strategy() -> impl Strategy<Value = Interval> {
        // Coarse steps make touching and equal endpoints common.
        (0..SPAN / 3600, 0i64..30)
            .prop_map(|(h, len)| Interval::new(at(h * 3600), at(h * 3600 + len * 3600 - 3600)))
    }

    /// Points worth checking: every endpoint and one second either side.
    fn sample_points(ivs: &[Interval]) -> Vec<DateTime<Utc>> {
        let mut pts = Vec::new();
        for iv in ivs {
            for t in [iv.start, iv.end] {
                pts.push(t - Duration::seconds(1));
                pts.push(t);
                pts.push(t + Duration::seconds(1));
            }
        }
        pts.push(at(0));
        pts.push(at(SPAN));
        pts
    }

    fn union_covers_day(ivs: &[Interval], day: Interval) -> bool {
        union(ivs.to_vec()).iter().any(|u| u.covers(&day))
    }

    proptest! {
        #[test]
        fn union_is_sorted_disjoint_exact_and_idempotent(ivs in prop::collection::vec(interval_strategy(), 0..12)) {
            let u = union(ivs.clone());
            for w in u.windows(2) {
                prop_assert!(w[0].end < w[1].start, "sorted, disjoint, not touching: {:?}", w);
            }
            for iv in &u {
                prop_assert!(iv.start <= iv.end);
            }
            for t in sample_points(&ivs) {
                let inside = ivs.iter().any(|iv| iv.contains(t));
                prop_assert_eq!(u.iter().any(|iv| iv.contains(t)), inside, "at {}", t);
            }
            prop_assert_eq!(union(u.clone()), u);
        }

        #[test]
        fn full_iff_the_union_of_held_intervals_covers_the_day(
            ivs in prop::collection::vec(prop::collection::vec(interval_strategy(), 0..4), 1..4),
            kinds in prop::collection::vec(0u8..4, 4),
        ) {
            let day = Interval::day(date(D)).unwrap();
            let mut held = Vec::new();
            let mut eligible_intervals = Vec::new();
            for (n, intervals) in ivs.iter().enumerate() {
                let mut a = owner(&format!("A{n}"), SUB);
                match kinds[n] {
                    0 => {}
                    1 => a.assignment_type = AssignmentType::Eligible,
                    2 => { a.role_name = "Reader".into(); a.role_definition_id = READER.into(); }
                    _ => a.access_type = AccessType::Gdap,
                }
                if kinds[n] == 0 {
                    eligible_intervals.extend(intervals.iter().copied());
                }
                held.push(HeldAssignment { assignment: a, intervals: union(intervals.clone()) });
            }
            let access = CustomerAccess { held, latest_snapshot: Some(day.end) };
            let c = cov(&access, &web_site(), D, MPN, "");
            let covered = union_covers_day(&eligible_intervals, day);
            prop_assert_eq!(c.status == DayStatus::Full, covered);
            prop_assert_eq!(c.reason.is_none(), covered);
            let touches = eligible_intervals.iter().any(|iv| iv.intersects(&day));
            prop_assert_eq!(c.status == DayStatus::None, !touches);
            prop_assert_eq!(!c.evidence.is_empty(), touches);
            if let Some(LossReason::NotPermanent) = c.reason {
                let mut with_pim = eligible_intervals.clone();
                for (n, intervals) in ivs.iter().enumerate() {
                    if kinds[n] == 1 { with_pim.extend(intervals.iter().copied()); }
                }
                prop_assert!(union_covers_day(&with_pim, day));
            }
        }
    }
}
