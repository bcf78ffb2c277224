//! `pec explain`: why a resource earned or lost PEC on a day — the rule, the figures, the ledger
//! entries, and the assignments and snapshots that decided it — written as a plain answer to
//! "why did we lose PEC on this resource on this day?".

use crate::access::{
    same_assignment, union, AccessBuilder, CustomerAccess, Interval, PreparedAccess,
};
use crate::config::Config;
use crate::decimal::fmt_amount;
use crate::ids::{normalize_resource_id, scope_covers};
use crate::ledger::{Entry, Figures, ResourceDayKey};
use crate::reasons::{DayStatus, LossReason};
use crate::settle::value_of;
use crate::snapshot::{AccessType, Assignment, AssignmentType};
use crate::store::{EntryFilter, Store, StoreError, UsageAggregate};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// At most this many assignments are described in an answer (all are in `assignments`).
const MAX_DESCRIBED: usize = 3;

/// A snapshot, by id and time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotRef {
    pub snapshot_id: String,
    pub taken_at: DateTime<Utc>,
}

/// A snapshot around the day and the assignments covering the resource that it lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowSnapshot {
    pub snapshot_id: String,
    pub taken_at: DateTime<Utc>,
    /// Ids of the assignments whose scope covers the resource that this snapshot lists.
    pub lists: Vec<String>,
    /// The same, as indices into the customer's tracked assignments (for the answer).
    #[serde(skip)]
    listed: Vec<usize>,
}

impl WindowSnapshot {
    fn reference(&self) -> SnapshotRef {
        SnapshotRef {
            snapshot_id: self.snapshot_id.clone(),
            taken_at: self.taken_at,
        }
    }
}

/// The snapshots that decided the day: the last one at or before 00:00Z, those taken during the
/// day, and the first one at or after the next 00:00Z (without it the day is UNKNOWN).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DaySnapshots {
    pub last_before_day: Option<WindowSnapshot>,
    pub during_day: Vec<WindowSnapshot>,
    pub first_after_day: Option<WindowSnapshot>,
}

impl DaySnapshots {
    /// In `takenAt` order.
    fn sequence(&self) -> Vec<&WindowSnapshot> {
        self.last_before_day
            .iter()
            .chain(self.during_day.iter())
            .chain(self.first_after_day.iter())
            .collect()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentVerdict {
    pub id: String,
    pub scope: String,
    pub role_name: String,
    pub access_type: AccessType,
    pub assignment_type: AssignmentType,
    pub partner_admin_link_mpn_id: Option<String>,
    pub created_on: Option<DateTime<Utc>>,
    pub held: Vec<Interval>,
    pub role_eligible: bool,
    pub permanent: bool,
    pub partner_admin_link_ok: bool,
    pub held_during_day: bool,
    pub held_all_day: bool,
    /// Criteria it fails: ROLE_NOT_ELIGIBLE, NOT_PERMANENT, PAL_MISSING.
    pub fails: Vec<String>,
    /// The snapshots read are those up to the first one at or after the day's end.
    /// The first snapshot that listed it.
    pub first_listed_in: Option<SnapshotRef>,
    /// The snapshot just before `firstListedIn` (which did not list it).
    pub snapshot_before_first_listing: Option<SnapshotRef>,
    /// The last snapshot that listed it.
    pub last_listed_in: Option<SnapshotRef>,
    /// The first snapshot after `lastListedIn` (which no longer listed it).
    pub first_snapshot_without_it: Option<SnapshotRef>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntrySummary {
    pub seq: u32,
    pub kind: String,
    pub status: DayStatus,
    pub reason: Option<LossReason>,
    pub earned_credit: String,
    pub lost_credit: String,
    pub posted_at: DateTime<Utc>,
    pub run_id: String,
    pub hash: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDayExplanation {
    pub customer_id: String,
    pub subscription_id: String,
    pub currency: String,
    /// The answer to "why did we earn or lose PEC here?", in a few sentences: what happened,
    /// the rule, the assignments and snapshots that decided it, and what would have earned it.
    pub answer: String,
    pub status: DayStatus,
    pub reason: Option<LossReason>,
    pub rule: String,
    pub what_would_earn: Option<String>,
    /// As the ledger stands now (sum of entries).
    pub ledger: Figures,
    pub entries: Vec<EntrySummary>,
    /// As it would settle now from current inputs (differs from the ledger until the next run).
    pub current: Option<Figures>,
    pub usage: Vec<UsageAggregate>,
    pub latest_snapshot: Option<DateTime<Utc>>,
    /// The snapshots that decided the day.
    pub snapshots: DaySnapshots,
    /// When eligible access (for the usage's MpnId / Tier2MpnId) was held during the day.
    pub eligible_access_during_day: Vec<Interval>,
    pub assignments: Vec<AssignmentVerdict>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    pub partner_id: String,
    pub resource_id: String,
    pub date: NaiveDate,
    pub resource_days: Vec<ResourceDayExplanation>,
}

fn rule_text(status: DayStatus, reason: Option<LossReason>, date: NaiveDate) -> String {
    let next = date.succ_opt().unwrap_or(date);
    match (status, reason) {
        (DayStatus::Full, _) => format!(
            "R2: eligible, permanent access covered the whole UTC day [{date} 00:00Z, {next} 00:00Z], so the day earns."
        ),
        (_, Some(LossReason::NoEvidence)) => format!(
            "R2 (SPEC 3.4): a day is decided only once a snapshot of the customer taken at or after its end ({next} 00:00Z) exists; until then it is UNKNOWN, its credit counts as lost, and it is settled again when one arrives."
        ),
        (_, Some(LossReason::PalMissing)) => "R6: Lighthouse, GDAP and direct access earns only when its Partner Admin Link names the usage line's MpnId or Tier2MpnId; access without a matching link would have covered the day.".into(),
        (_, Some(LossReason::RoleNotEligible)) => "R4: only roles in Microsoft's PEC-eligible table earn; access through a role that is not eligible (such as Reader) would have covered the day.".into(),
        (_, Some(LossReason::NotPermanent)) => "R5: only permanent assignments earn; PIM-eligible or just-in-time activated access would have covered the day.".into(),
        (_, Some(LossReason::PartialDay)) => format!(
            "R2: PEC needs eligible access for the whole UTC day [{date} 00:00Z, {next} 00:00Z]; losing it for any part of the day loses the whole day."
        ),
        _ => "R2–R6: no eligible access to this resource was held at any time during the day.".into(),
    }
}

fn day_bounds(date: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = Utc.from_utc_datetime(&date.and_time(chrono::NaiveTime::MIN));
    (start, start + chrono::Duration::days(1))
}

/// A time as the answer writes it: `13:05Z` on the day, `2026-09-11 00:05Z` otherwise (seconds
/// when there are any).
fn clock(t: DateTime<Utc>, date: NaiveDate) -> String {
    let time = if t.timestamp_subsec_nanos() != 0 || t.format("%S").to_string() != "00" {
        t.format("%H:%M:%SZ").to_string()
    } else {
        t.format("%H:%MZ").to_string()
    };
    if t.date_naive() == date {
        time
    } else {
        format!("{} {time}", t.date_naive())
    }
}

/// A bound of a piece of the day: like [`clock`], but the day's end is `24:00Z`.
fn day_clock(t: DateTime<Utc>, date: NaiveDate) -> String {
    let (_, end) = day_bounds(date);
    if t == end {
        "24:00Z".into()
    } else {
        clock(t, date)
    }
}

/// `vm1`, or `subscription 3333…` for usage without a resource.
fn resource_name(resource: &str) -> String {
    let parts: Vec<&str> = resource.split('/').filter(|s| !s.is_empty()).collect();
    match parts.as_slice() {
        ["subscriptions", sub] => format!("subscription {sub}"),
        [.., last] => (*last).to_string(),
        [] => resource.to_string(),
    }
}

fn scope_text(scope: &str, resource: &str) -> String {
    let parts: Vec<&str> = scope.split('/').filter(|s| !s.is_empty()).collect();
    if scope == resource {
        return "on the resource itself".into();
    }
    match parts.as_slice() {
        ["subscriptions", _] => "at the subscription".into(),
        ["subscriptions", _, "resourcegroups", rg] => format!("at resource group {rg}"),
        _ => format!("at {scope}"),
    }
}

fn access_code(a: AccessType) -> &'static str {
    match a {
        AccessType::Aobo => "AOBO",
        AccessType::Lighthouse => "LIGHTHOUSE",
        AccessType::Direct => "DIRECT",
        AccessType::Gdap => "GDAP",
    }
}

fn assignment_type_code(a: AssignmentType) -> &'static str {
    match a {
        AssignmentType::Permanent => "permanent",
        AssignmentType::Eligible => "eligible",
        AssignmentType::Activated => "activated",
    }
}

/// "the Owner assignment /subscriptions/…/roleAssignments/x (AOBO, permanent) at the
/// subscription".
fn assignment_text(v: &AssignmentVerdict, resource: &str) -> String {
    let pal = if v.access_type == AccessType::Aobo {
        String::new()
    } else {
        match v.partner_admin_link_mpn_id.as_deref().map(str::trim) {
            Some(p) if !p.is_empty() => format!(", Partner Admin Link {p}"),
            _ => ", no Partner Admin Link".into(),
        }
    };
    format!(
        "the {} assignment {} ({}, {}{pal}) {}",
        v.role_name,
        v.id,
        access_code(v.access_type),
        assignment_type_code(v.assignment_type),
        scope_text(&v.scope, resource)
    )
}

/// "the Owner assignment at the subscription".
fn short_assignment_text(v: &AssignmentVerdict, resource: &str) -> String {
    format!(
        "the {} assignment {}",
        v.role_name,
        scope_text(&v.scope, resource)
    )
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// "from 00:00Z to 12:05Z and from 18:00Z to 24:00Z" (a lone instant: "at 12:05Z only").
fn pieces_text(pieces: &[Interval], date: NaiveDate) -> String {
    pieces
        .iter()
        .map(|p| {
            if p.start == p.end {
                format!("at {} only", day_clock(p.start, date))
            } else {
                format!(
                    "from {} to {}",
                    day_clock(p.start, date),
                    day_clock(p.end, date)
                )
            }
        })
        .collect::<Vec<_>>()
        .join(" and ")
}

/// The held intervals of an assignment that meet the day, as text with full dates.
fn held_text(v: &AssignmentVerdict, date: NaiveDate) -> String {
    let (start, end) = day_bounds(date);
    v.held
        .iter()
        .filter(|i| i.start <= end && i.end >= start)
        .map(|i| {
            if i.start == i.end {
                format!("at {} only", clock(i.start, date))
            } else {
                format!("from {} to {}", clock(i.start, date), clock(i.end, date))
            }
        })
        .collect::<Vec<_>>()
        .join(" and ")
}

/// For an assignment not held during the day: when it was held nearest before and after it.
fn held_elsewhere_text(v: &AssignmentVerdict, date: NaiveDate) -> String {
    let (start, end) = day_bounds(date);
    let before = v.held.iter().rev().find(|i| i.end < start);
    let after = v.held.iter().find(|i| i.start > end);
    match (before, after) {
        (Some(b), Some(a)) => format!(
            "was not held during the day: it was held until {} and again from {}",
            clock(b.end, date),
            clock(a.start, date)
        ),
        (Some(b), None) => format!("was held only until {}", clock(b.end, date)),
        (None, Some(a)) => format!("was held only from {}, after the day", clock(a.start, date)),
        (None, None) => "was not held at any time".into(),
    }
}

/// One assignment tracked through the snapshots (up to the first one after the day).
struct Track {
    assignment: Assignment,
    first: Option<SnapshotRef>,
    before_first: Option<SnapshotRef>,
    last: Option<SnapshotRef>,
    after_last: Option<SnapshotRef>,
}

/// A customer's access and the snapshots around the day, for one resource.
struct Evidence {
    access: CustomerAccess,
    window: DaySnapshots,
    tracks: Vec<Track>,
}

/// Reads the customer's snapshots once: builds its access (as settlement does) and records the
/// snapshots around the day and when each assignment covering `resource` was listed.
fn load_evidence(
    store: &dyn Store,
    config: &Config,
    partner_id: &str,
    customer_id: &str,
    resource: &str,
    date: NaiveDate,
) -> Result<Evidence, StoreError> {
    let (start, end) = day_bounds(date);
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

fn verdicts(
    evidence: &Evidence,
    config: &Config,
    resource: &str,
    date: NaiveDate,
    mpn: &str,
    tier2: &str,
) -> Vec<(AssignmentVerdict, Option<usize>)> {
    let roles = config.role_table();
    let (start, end) = day_bounds(date);
    let mut out = Vec::new();
    for h in &evidence.access.held {
        let a = &h.assignment;
        if !scope_covers(&a.scope, resource) {
            continue;
        }
        let role_eligible = roles.is_eligible(&a.role_definition_id, &a.role_name);
        let permanent = a.assignment_type == AssignmentType::Permanent;
        let pal = a
            .partner_admin_link_mpn_id
            .as_deref()
            .map(str::trim)
            .unwrap_or("");
        let partner_admin_link_ok = a.access_type == AccessType::Aobo
            || (!pal.is_empty() && (pal == mpn || (!tier2.is_empty() && pal == tier2)));
        let merged = union(h.intervals.clone());
        let held_during_day = merged.iter().any(|i| i.start <= end && i.end >= start);
        let held_all_day = merged.iter().any(|i| i.start <= start && i.end >= end);
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
        let track = evidence
            .tracks
            .iter()
            .position(|t| same_assignment(&t.assignment, a));
        let t = track.and_then(|i| evidence.tracks.get(i));
        out.push((
            AssignmentVerdict {
                id: a.id.clone(),
                scope: a.scope.clone(),
                role_name: a.role_name.clone(),
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
fn listing_story(
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
        let (start, end) = day_bounds(date);
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

/// Why an assignment that covered the day did not count.
fn failure_text(v: &AssignmentVerdict, reason: LossReason, mpn: &str, tier2: &str) -> String {
    match reason {
        LossReason::PalMissing => {
            let line = if tier2.is_empty() {
                format!("the usage's MpnId {mpn}")
            } else {
                format!("the usage's MpnId {mpn} or Tier2MpnId {tier2}")
            };
            match v.partner_admin_link_mpn_id.as_deref().map(str::trim) {
                Some(p) if !p.is_empty() => {
                    format!("its Partner Admin Link names {p}, not {line}")
                }
                _ => format!("it has no Partner Admin Link naming {line}"),
            }
        }
        LossReason::RoleNotEligible => {
            format!("{} is not a PEC-eligible role", v.role_name)
        }
        LossReason::NotPermanent => format!(
            "it is a PIM-{} assignment, not a permanent one",
            assignment_type_code(v.assignment_type)
        ),
        _ => String::new(),
    }
}

/// Everything the answer needs about one resource-day.
struct Facts<'a> {
    date: NaiveDate,
    resource: &'a str,
    currency: &'a str,
    status: DayStatus,
    reason: Option<LossReason>,
    figures: &'a Figures,
    mpn: &'a str,
    tier2: &'a str,
    verdicts: &'a [(AssignmentVerdict, Option<usize>)],
    window: &'a DaySnapshots,
    eligible_pieces: &'a [Interval],
    config: &'a Config,
    ledger_last: Option<&'a Entry>,
}

fn limited(mut sentences: Vec<String>, total: usize) -> Vec<String> {
    if total > MAX_DESCRIBED {
        sentences.truncate(MAX_DESCRIBED);
        sentences.push(format!(
            "{} more assignment(s) are listed under assignments.",
            total - MAX_DESCRIBED
        ));
    }
    sentences
}

/// The evidence sentences: the assignments (and snapshots) that decided the day.
fn evidence_sentences(f: &Facts<'_>) -> Vec<String> {
    let describe = |v: &AssignmentVerdict, track: Option<usize>| -> String {
        let story = listing_story(v, track, f.window, f.config, f.date);
        let subject = capitalise(&assignment_text(v, f.resource));
        if story.is_empty() {
            let during = held_text(v, f.date);
            if during.is_empty() {
                format!("{subject} {}.", held_elsewhere_text(v, f.date))
            } else {
                format!("{subject} was held {during}.")
            }
        } else {
            format!("{subject} {}.", story.join("; it "))
        }
    };
    let eligible = |v: &AssignmentVerdict| v.fails.is_empty();
    match (f.status, f.reason) {
        (DayStatus::Full, _) => {
            let chosen: Vec<_> = f
                .verdicts
                .iter()
                .filter(|(v, _)| eligible(v) && v.held_during_day)
                .collect();
            let total = chosen.len();
            limited(
                chosen
                    .iter()
                    .map(|(v, _)| {
                        format!(
                            "{} was held {}.",
                            capitalise(&assignment_text(v, f.resource)),
                            held_text(v, f.date)
                        )
                    })
                    .collect(),
                total,
            )
        }
        (_, Some(LossReason::NoEvidence)) => {
            let latest = f.window.sequence().last().map(|w| w.reference());
            vec![match latest {
                Some(s) => format!(
                    "The latest snapshot of this customer was taken at {} (snapshot {}).",
                    clock(s.taken_at, f.date),
                    s.snapshot_id
                ),
                None => "No access snapshot of this customer has been received.".into(),
            }]
        }
        (
            _,
            Some(
                r @ (LossReason::PalMissing
                | LossReason::RoleNotEligible
                | LossReason::NotPermanent),
            ),
        ) => {
            let chosen: Vec<_> = f
                .verdicts
                .iter()
                .filter(|(v, _)| v.held_during_day && v.fails == [r.code()])
                .collect();
            let total = chosen.len();
            limited(
                chosen
                    .iter()
                    .map(|(v, _)| {
                        let when = if v.held_all_day {
                            "was held all day".to_string()
                        } else {
                            format!("was held {}", held_text(v, f.date))
                        };
                        format!(
                            "{} {when}, but {}.",
                            capitalise(&assignment_text(v, f.resource)),
                            failure_text(v, r, f.mpn, f.tier2)
                        )
                    })
                    .collect(),
                total,
            )
        }
        (_, Some(LossReason::PartialDay)) => {
            let chosen: Vec<_> = f
                .verdicts
                .iter()
                .filter(|(v, _)| eligible(v) && v.held_during_day)
                .collect();
            let total = chosen.len();
            limited(chosen.iter().map(|(v, t)| describe(v, *t)).collect(), total)
        }
        _ => {
            // NO_ACCESS: eligible assignments held at other times, else nothing eligible at all.
            let chosen: Vec<_> = f.verdicts.iter().filter(|(v, _)| eligible(v)).collect();
            if chosen.is_empty() {
                let others = f.verdicts.iter().filter(|(v, _)| v.held_during_day).count();
                return vec![if others == 0 {
                    format!(
                        "No snapshot listed an assignment whose scope covers {} during the day.",
                        resource_name(f.resource)
                    )
                } else {
                    format!(
                        "{others} assignment(s) covering it were held during the day, but each fails two or more of R4–R6 (see assignments)."
                    )
                }];
            }
            let total = chosen.len();
            limited(chosen.iter().map(|(v, t)| describe(v, *t)).collect(), total)
        }
    }
}

fn what_would_earn(f: &Facts<'_>) -> Option<String> {
    let reason = f.reason?;
    if f.status == DayStatus::Full {
        return None;
    }
    let next = f.date.succ_opt().unwrap_or(f.date);
    let first_failing = |code: &str| {
        f.verdicts
            .iter()
            .find(|(v, _)| v.held_during_day && v.fails == [code])
            .map(|(v, _)| v)
    };
    let link = if f.tier2.is_empty() {
        format!("MpnId {}", f.mpn)
    } else {
        format!("MpnId {} (or the reseller's Tier2MpnId {})", f.mpn, f.tier2)
    };
    Some(match reason {
        LossReason::NoEvidence => format!(
            "an access snapshot of this customer taken at or after {next} 00:00Z; the next settlement then decides the day."
        ),
        LossReason::PartialDay => {
            let who = f
                .verdicts
                .iter()
                .find(|(v, _)| v.fails.is_empty() && v.held_during_day && !v.held_all_day)
                .map(|(v, _)| short_assignment_text(v, f.resource))
                .unwrap_or_else(|| "the eligible assignment".into());
            format!(
                "keeping {who} in place for the whole day, until the first snapshot taken at or after {next} 00:00Z; a removal, even for an hour, loses the whole day."
            )
        }
        LossReason::PalMissing => match first_failing("PAL_MISSING") {
            Some(v) => format!(
                "a Partner Admin Link naming {link} on {}, or the same role through AOBO.",
                short_assignment_text(v, f.resource)
            ),
            None => format!("a Partner Admin Link naming {link}, or AOBO access."),
        },
        LossReason::RoleNotEligible => match first_failing("ROLE_NOT_ELIGIBLE") {
            Some(v) => format!(
                "a PEC-eligible role (such as Owner or Contributor) instead of {} {}.",
                v.role_name,
                scope_text(&v.scope, f.resource)
            ),
            None => "a PEC-eligible role (such as Owner or Contributor).".into(),
        },
        LossReason::NotPermanent => match first_failing("NOT_PERMANENT") {
            Some(v) => format!(
                "making {} a permanent (active) assignment instead of a PIM-{} one.",
                short_assignment_text(v, f.resource),
                assignment_type_code(v.assignment_type)
            ),
            None => "a permanent (active) assignment instead of a PIM one.".into(),
        },
        LossReason::NoAccess => format!(
            "a permanent assignment of a PEC-eligible role (such as Owner or Contributor) at {}, its resource group or its subscription, held through AOBO or with a Partner Admin Link naming {link}, for the whole UTC day.",
            resource_name(f.resource)
        ),
    })
}

/// The whole answer, in plain sentences.
fn answer(f: &Facts<'_>, rule: &str, would: Option<&str>) -> String {
    let name = resource_name(f.resource);
    let mut s = match (f.status, f.reason) {
        (DayStatus::Full, _) => format!(
            "On {} {name} earned {} {} of PEC on {} {} of eligible consumption: eligible access was held for the whole UTC day.",
            f.date,
            fmt_amount(f.figures.earned_credit),
            f.currency,
            fmt_amount(f.figures.eligible_amount),
            f.currency
        ),
        (_, reason) => {
            let code = reason.map(|r| r.code()).unwrap_or("NO_ACCESS");
            let next = f.date.succ_opt().unwrap_or(f.date);
            let why = match reason {
                Some(LossReason::NoEvidence) => format!(
                    "the day cannot be decided yet, because no access snapshot of this customer taken at or after {next} 00:00Z has been received"
                ),
                Some(LossReason::PartialDay) => format!(
                    "eligible access was held only {}",
                    pieces_text(f.eligible_pieces, f.date)
                ),
                Some(LossReason::PalMissing) => "the access that would have covered the day has no Partner Admin Link for the usage's partner".into(),
                Some(LossReason::RoleNotEligible) => "the access that would have covered the day is through a role that does not earn PEC".into(),
                Some(LossReason::NotPermanent) => "the access that would have covered the day is PIM access, not permanent".into(),
                _ => "no eligible access was held at any time of the day".into(),
            };
            format!(
                "On {} {name} lost {} {} of PEC: {why} ({code}).",
                f.date,
                fmt_amount(f.figures.lost_credit),
                f.currency
            )
        }
    };
    s.push_str(&format!(" Rule {rule}"));
    for e in evidence_sentences(f) {
        s.push(' ');
        s.push_str(&e);
    }
    if let Some(w) = would {
        if f.reason == Some(LossReason::NoEvidence) {
            s.push_str(&format!(" What decides it: {w}"));
        } else {
            s.push_str(&format!(" What would have earned it: {w}"));
        }
    }
    match f.ledger_last {
        Some(e) if (e.status, e.reason) != (f.status, f.reason) => s.push_str(&format!(
            " The ledger still records {}{}; the next settlement posts the adjustment.",
            e.status.code(),
            e.reason
                .map(|r| format!(" ({})", r.code()))
                .unwrap_or_default()
        )),
        None => s.push_str(" The ledger has no entry for it yet; the next settlement posts one."),
        _ => {}
    }
    s
}

/// Explains every resource-day of `resource_id` on `date` for the partner (one per customer and
/// currency), from the ledger and from the current inputs.
pub fn explain(
    store: &dyn Store,
    config: &Config,
    partner_id: &str,
    resource_id: &str,
    date: NaiveDate,
) -> Result<Explanation, StoreError> {
    let partner_id = partner_id.trim().to_ascii_lowercase();
    let resource = normalize_resource_id(resource_id);
    let mut entries: BTreeMap<ResourceDayKey, Vec<Entry>> = BTreeMap::new();
    let filter = EntryFilter {
        partner_id: Some(partner_id.clone()),
        resource_id: Some(resource.clone()),
        usage_from: Some(date),
        usage_through: Some(date),
        ..Default::default()
    };
    store.for_each_entry(&filter, &mut |e| {
        entries.entry(e.key.clone()).or_default().push(e);
        Ok(())
    })?;
    let mut usage: BTreeMap<ResourceDayKey, Vec<UsageAggregate>> = BTreeMap::new();
    for (p, customer) in store.customers_in_range(date, date)? {
        if p != partner_id {
            continue;
        }
        for u in store.current_usage(&p, &customer, date)? {
            if u.key.resource_id == resource {
                usage.entry(u.key.clone()).or_default().push(u);
            }
        }
    }
    let mut keys: Vec<ResourceDayKey> = entries.keys().chain(usage.keys()).cloned().collect();
    keys.sort();
    keys.dedup();
    let roles = config.role_table();
    let (day_start, day_end) = day_bounds(date);
    let mut by_customer: BTreeMap<String, Evidence> = BTreeMap::new();
    let mut out = Vec::new();
    for key in keys {
        if !by_customer.contains_key(&key.customer_id) {
            let evidence = load_evidence(
                store,
                config,
                &partner_id,
                &key.customer_id,
                &resource,
                date,
            )?;
            by_customer.insert(key.customer_id.clone(), evidence);
        }
        let Some(evidence) = by_customer.get(&key.customer_id) else {
            continue;
        };
        let rows = usage.remove(&key).unwrap_or_default();
        let current = if rows.is_empty() {
            None
        } else {
            Some(value_of(
                &key,
                &rows,
                &PreparedAccess::new(&evidence.access, &roles),
                config,
            ))
        };
        let key_entries = entries.remove(&key).unwrap_or_default();
        let mut ledger = Figures::default();
        for e in &key_entries {
            ledger.add(&e.figures);
        }
        let (status, reason) = match (&current, key_entries.last()) {
            (Some(v), _) => (v.status, v.reason),
            (None, Some(e)) => (e.status, e.reason),
            (None, None) => (DayStatus::None, Some(LossReason::NoAccess)),
        };
        let (mpn, tier2) = rows
            .first()
            .map(|r| (r.mpn_id.clone(), r.tier2_mpn_id.clone()))
            .or_else(|| {
                key_entries
                    .last()
                    .map(|e| (String::new(), e.tier2_mpn_id.clone()))
            })
            .unwrap_or_default();
        let figures = current
            .as_ref()
            .map(|v| v.figures.clone())
            .unwrap_or_else(|| ledger.clone());
        let verdicts = verdicts(evidence, config, &resource, date, &mpn, &tier2);
        let eligible_pieces: Vec<Interval> = union(
            verdicts
                .iter()
                .filter(|(v, _)| v.fails.is_empty())
                .flat_map(|(v, _)| v.held.iter().copied())
                .collect(),
        )
        .into_iter()
        .filter(|i| i.start <= day_end && i.end >= day_start)
        .map(|i| Interval::new(i.start.max(day_start), i.end.min(day_end)))
        .collect();
        let rule = rule_text(status, reason, date);
        let facts = Facts {
            date,
            resource: &resource,
            currency: &key.currency,
            status,
            reason,
            figures: &figures,
            mpn: &mpn,
            tier2: &tier2,
            verdicts: &verdicts,
            window: &evidence.window,
            eligible_pieces: &eligible_pieces,
            config,
            ledger_last: key_entries.last(),
        };
        let would = what_would_earn(&facts);
        let answer = answer(&facts, &rule, would.as_deref());
        out.push(ResourceDayExplanation {
            customer_id: key.customer_id.clone(),
            subscription_id: key.subscription_id.clone(),
            currency: key.currency.clone(),
            answer,
            status,
            reason,
            rule,
            what_would_earn: would,
            ledger,
            entries: key_entries
                .iter()
                .map(|e| EntrySummary {
                    seq: e.seq,
                    kind: e.kind.code().to_string(),
                    status: e.status,
                    reason: e.reason,
                    earned_credit: fmt_amount(e.figures.earned_credit),
                    lost_credit: fmt_amount(e.figures.lost_credit),
                    posted_at: e.posted_at,
                    run_id: e.run_id.clone(),
                    hash: e.hash.clone(),
                })
                .collect(),
            current: current.map(|v| v.figures),
            usage: rows,
            latest_snapshot: evidence.access.latest_snapshot,
            snapshots: evidence.window.clone(),
            eligible_access_during_day: eligible_pieces,
            assignments: verdicts.into_iter().map(|(v, _)| v).collect(),
        });
    }
    Ok(Explanation {
        partner_id,
        resource_id: resource,
        date,
        resource_days: out,
    })
}

/// The explanation as text for a person: per resource-day, who and what, then the answer.
pub fn render_text(e: &Explanation) -> String {
    if e.resource_days.is_empty() {
        return format!(
            "No usage and no ledger entry for {} on {} (partner {}).\n",
            e.resource_id, e.date, e.partner_id
        );
    }
    let mut out = String::new();
    for (i, r) in e.resource_days.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!(
            "{} on {} — customer {}, subscription {}, {}:\n{}\n",
            e.resource_id, e.date, r.customer_id, r.subscription_id, r.currency, r.answer
        ));
    }
    out
}
