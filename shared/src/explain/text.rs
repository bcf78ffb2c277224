//! How `pec explain` words things: rules, times, scopes, assignments and held intervals.

use super::*;

pub(super) fn rule_text(status: DayStatus, reason: Option<LossReason>, date: NaiveDate) -> String {
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

/// The day as settlement judges it (SPEC R2, [`Interval::day`]): [D 00:00Z, D+1 00:00Z]. Only
/// chrono's very last date has no next day; it stands as a single instant.
pub(super) fn day_of(date: NaiveDate) -> Interval {
    Interval::day(date)
        .unwrap_or_else(|| Interval::point(date.and_time(chrono::NaiveTime::MIN).and_utc()))
}

/// A time as the answer writes it: `13:05Z` on the day, `2026-09-11 00:05Z` otherwise (seconds
/// when there are any).
pub(super) fn clock(t: DateTime<Utc>, date: NaiveDate) -> String {
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
pub(super) fn day_clock(t: DateTime<Utc>, date: NaiveDate) -> String {
    if t == day_of(date).end {
        "24:00Z".into()
    } else {
        clock(t, date)
    }
}

/// `vm1`, or `subscription 3333…` for usage without a resource.
pub(super) fn resource_name(resource: &str) -> String {
    let parts: Vec<&str> = resource.split('/').filter(|s| !s.is_empty()).collect();
    match parts.as_slice() {
        ["subscriptions", sub] => format!("subscription {sub}"),
        [.., last] => (*last).to_string(),
        [] => resource.to_string(),
    }
}

pub(super) fn scope_text(scope: &str, resource: &str) -> String {
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

pub(super) fn access_code(a: AccessType) -> &'static str {
    match a {
        AccessType::Aobo => "AOBO",
        AccessType::Lighthouse => "LIGHTHOUSE",
        AccessType::Direct => "DIRECT",
        AccessType::Gdap => "GDAP",
    }
}

pub(super) fn assignment_type_code(a: AssignmentType) -> &'static str {
    match a {
        AssignmentType::Permanent => "permanent",
        AssignmentType::Eligible => "eligible",
        AssignmentType::Activated => "activated",
    }
}

/// "the Owner assignment /subscriptions/…/roleAssignments/x (AOBO, permanent) at the
/// subscription".
pub(super) fn assignment_text(v: &AssignmentVerdict, resource: &str) -> String {
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
pub(super) fn short_assignment_text(v: &AssignmentVerdict, resource: &str) -> String {
    format!(
        "the {} assignment {}",
        v.role_name,
        scope_text(&v.scope, resource)
    )
}

pub(super) fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// "from 00:00Z to 12:05Z and from 18:00Z to 24:00Z" (a lone instant: "at 12:05Z only").
pub(super) fn pieces_text(pieces: &[Interval], date: NaiveDate) -> String {
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
pub(super) fn held_text(v: &AssignmentVerdict, date: NaiveDate) -> String {
    let day = day_of(date);
    v.held
        .iter()
        .filter(|i| i.intersects(&day))
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
pub(super) fn held_elsewhere_text(v: &AssignmentVerdict, date: NaiveDate) -> String {
    let day = day_of(date);
    let before = v.held.iter().rev().find(|i| i.end < day.start);
    let after = v.held.iter().find(|i| i.start > day.end);
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

/// Why an assignment that covered the day did not count.
pub(super) fn failure_text(
    v: &AssignmentVerdict,
    reason: LossReason,
    mpn: &str,
    tier2: &str,
) -> String {
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
