//! The evidence around a resource-day: the customer's snapshots replayed, the snapshots before
//! and after the day, and each assignment's verdict by settlement's own criteria.

use super::text::*;
use super::*;

/// One assignment tracked through the snapshots (up to the first one after the day).
pub(super) struct Track {
    pub(super) assignment: Assignment,
    pub(super) first: Option<SnapshotRef>,
    pub(super) before_first: Option<SnapshotRef>,
    pub(super) last: Option<SnapshotRef>,
    pub(super) after_last: Option<SnapshotRef>,
}

/// A customer's access and the snapshots around the day, for one resource.
pub(super) struct Evidence {
    pub(super) access: CustomerAccess,
    pub(super) window: DaySnapshots,
    pub(super) tracks: Vec<Track>,
}

/// Reads the customer's snapshots once: builds its access (as settlement does) and records the
/// snapshots around the day and when each assignment covering `resource` was listed.
pub(super) fn load_evidence(
    store: &dyn Store,
    config: &Config,
    partner_id: &str,
    customer_id: &str,
    resource: &str,
    date: NaiveDate,
) -> Result<Evidence, StoreError> {
    let Interval { start, end } = day_of(date);
    let mut builder = AccessBuilder::new(config.max_snapshot_gap());
    let mut window = DaySnapshots::default();
    let mut tracks: Vec<Track> = Vec::new();
    let mut previous: Option<SnapshotRef> = None;
    let mut done = false;
    store.for_each_snapshot(partner_id, customer_id, &mut |s| {
        builder.push(&s);
        if done || previous.as_ref().is_some_and(|p| s.taken_at < p.taken_at) {
            return Ok(());
        }
        let here = SnapshotRef {
            snapshot_id: s.snapshot_id.clone(),
            taken_at: s.taken_at,
        };
        let mut listed: Vec<usize> = Vec::new();
        for a in &s.assignments {
            if !scope_covers(&normalize_resource_id(&a.scope), resource) {
                continue;
            }
            let i = match tracks
                .iter()
                .position(|t| same_assignment(&t.assignment, a))
            {
                Some(i) => i,
                None => {
                    tracks.push(Track {
                        assignment: a.clone(),
                        first: Some(here.clone()),
                        before_first: previous.clone(),
                        last: None,
                        after_last: None,
                    });
                    tracks.len() - 1
                }
            };
            if !listed.contains(&i) {
                listed.push(i);
            }
        }
        for (i, t) in tracks.iter_mut().enumerate() {
            if listed.contains(&i) {
                t.last = Some(here.clone());
                t.after_last = None;
            } else if t.last.is_some() && t.after_last.is_none() {
                t.after_last = Some(here.clone());
            }
        }
        let w = WindowSnapshot {
            snapshot_id: s.snapshot_id.clone(),
            taken_at: s.taken_at,
            lists: listed
                .iter()
                .filter_map(|&i| tracks.get(i).map(|t| t.assignment.id.clone()))
                .collect(),
            listed,
        };
        if s.taken_at <= start {
            window.last_before_day = Some(w);
        } else if s.taken_at < end {
            window.during_day.push(w);
        } else {
            window.first_after_day = Some(w);
            done = true;
        }
        previous = Some(here);
        Ok(())
    })?;
    Ok(Evidence {
        access: builder.finish(),
        window,
        tracks,
    })
}

pub(super) fn verdicts(
    evidence: &Evidence,
    config: &Config,
    resource: &str,
    date: NaiveDate,
    mpn: &str,
    tier2: &str,
) -> Vec<(AssignmentVerdict, Option<usize>)> {
    let roles = config.role_table();
    judge(
        &evidence.access,
        &evidence.tracks,
        &roles,
        resource,
        date,
        mpn,
        tier2,
    )
}

/// The verdict on each assignment of a customer's access whose scope covers `resource` (a
/// normalised resource id), for `date` and a usage line of this MpnId / Tier2MpnId, by
/// settlement's own criteria. Without the snapshot listings of [`explain`] (its `firstListedIn`
/// … fields are `None`): for callers that judge many resource-days of one customer against one
/// replay of its snapshots (the claims pack).
pub fn judge_assignments(
    access: &CustomerAccess,
    roles: &RoleTable,
    resource: &str,
    date: NaiveDate,
    mpn: &str,
    tier2: &str,
) -> Vec<AssignmentVerdict> {
    judge(access, &[], roles, resource, date, mpn, tier2)
        .into_iter()
        .map(|(v, _)| v)
        .collect()
}

fn judge(
    access: &CustomerAccess,
    tracks: &[Track],
    roles: &RoleTable,
    resource: &str,
    date: NaiveDate,
    mpn: &str,
    tier2: &str,
) -> Vec<(AssignmentVerdict, Option<usize>)> {
    let Some(day) = Interval::day(date) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for h in &access.held {
        let a = &h.assignment;
        if !scope_covers(&a.scope, resource) {
            continue;
        }
        // The same criteria, decided by the same functions, as settlement (access.rs).
        let role_eligible = role_eligible(a, roles);
        let permanent = is_permanent(a);
        let partner_admin_link_ok = pal_ok(a, mpn, tier2);
        let merged = union(h.intervals.clone());
        let held_during_day = merged.iter().any(|i| i.intersects(&day));
        let held_all_day = merged.iter().any(|i| i.covers(&day));
        let mut fails = Vec::new();
        if !role_eligible {
            fails.push("ROLE_NOT_ELIGIBLE".to_string());
        }
        if !permanent {
            fails.push("NOT_PERMANENT".to_string());
        }
        if !partner_admin_link_ok {
            fails.push("PAL_MISSING".to_string());
        }
        let track = tracks
            .iter()
            .position(|t| same_assignment(&t.assignment, a));
        let t = track.and_then(|i| tracks.get(i));
        out.push((
            AssignmentVerdict {
                id: a.id.clone(),
                scope: a.scope.clone(),
                role_name: a.role_name.clone(),
                principal_id: a.principal_id.clone(),
                principal_type: a.principal_type,
                access_type: a.access_type,
                assignment_type: a.assignment_type,
                partner_admin_link_mpn_id: a.partner_admin_link_mpn_id.clone(),
                created_on: a.created_on,
                held: merged,
                role_eligible,
                permanent,
                partner_admin_link_ok,
                held_during_day,
                held_all_day,
                fails,
                first_listed_in: t.and_then(|t| t.first.clone()),
                snapshot_before_first_listing: t.and_then(|t| t.before_first.clone()),
                last_listed_in: t.and_then(|t| t.last.clone()),
                first_snapshot_without_it: t.and_then(|t| t.after_last.clone()),
            },
            track,
        ));
    }
    out
}

/// What the snapshots around the day say about one assignment: where it stopped or started
/// being listed, or a gap too long to bridge.
pub(super) fn listing_story(
    v: &AssignmentVerdict,
    track: Option<usize>,
    window: &DaySnapshots,
    config: &Config,
    date: NaiveDate,
) -> Vec<String> {
    let Some(k) = track else {
        return Vec::new();
    };
    let seq = window.sequence();
    let mut out = Vec::new();
    for pair in seq.windows(2) {
        let (p, q) = (pair[0], pair[1]);
        let (in_p, in_q) = (p.listed.contains(&k), q.listed.contains(&k));
        match (in_p, in_q) {
            (true, false) => out.push(format!(
                "was last seen in the snapshot taken at {}; the next snapshot ({}) no longer listed it",
                clock(p.taken_at, date),
                clock(q.taken_at, date)
            )),
            (false, true) if v.created_on.is_none() => out.push(format!(
                "was not listed in the snapshot taken at {} and listed again in the one taken at {}",
                clock(p.taken_at, date),
                clock(q.taken_at, date)
            )),
            (true, true)
                if v.created_on.is_none()
                    && q.taken_at.signed_duration_since(p.taken_at) > config.max_snapshot_gap() =>
            {
                out.push(format!(
                    "was listed in the snapshots taken at {} and at {}, but they are more than {} h apart (maxSnapshotGapHours), so it does not count as held between them",
                    clock(p.taken_at, date),
                    clock(q.taken_at, date),
                    config.max_snapshot_gap_hours
                ))
            }
            _ => {}
        }
    }
    if out.is_empty() {
        // Nothing changed around the day: say where it was last or first seen.
        let Interval { start, end } = day_of(date);
        if let (Some(last), Some(next)) = (&v.last_listed_in, &v.first_snapshot_without_it) {
            if last.taken_at < end {
                out.push(format!(
                    "was last seen in the snapshot taken at {}; the next snapshot ({}) no longer listed it",
                    clock(last.taken_at, date),
                    clock(next.taken_at, date)
                ));
            }
        }
        if let Some(first) = &v.first_listed_in {
            if first.taken_at > start && v.created_on.is_none_or(|c| c > start) {
                let before = match &v.snapshot_before_first_listing {
                    Some(b) => format!(
                        " (the one before, at {}, did not list it)",
                        clock(b.taken_at, date)
                    ),
                    None => " (the first snapshot of this customer)".into(),
                };
                out.push(format!(
                    "was first listed in the snapshot taken at {}{before}",
                    clock(first.taken_at, date)
                ));
            }
        }
    }
    out
}
