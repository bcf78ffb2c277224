//! The answer's sentences: what the evidence says, what would have earned, and the answer itself.

use super::evidence::*;
use super::text::*;
use super::*;

/// Everything the answer needs about one resource-day.
pub(super) struct Facts<'a> {
    pub(super) date: NaiveDate,
    pub(super) resource: &'a str,
    pub(super) currency: &'a str,
    pub(super) status: DayStatus,
    pub(super) reason: Option<LossReason>,
    pub(super) figures: &'a Figures,
    pub(super) mpn: &'a str,
    pub(super) tier2: &'a str,
    pub(super) verdicts: &'a [(AssignmentVerdict, Option<usize>)],
    pub(super) window: &'a DaySnapshots,
    pub(super) eligible_pieces: &'a [Interval],
    pub(super) config: &'a Config,
    pub(super) ledger_last: Option<&'a Entry>,
}

pub(super) fn limited(mut sentences: Vec<String>, total: usize) -> Vec<String> {
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
pub(super) fn evidence_sentences(f: &Facts<'_>) -> Vec<String> {
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

pub(super) fn what_would_earn(f: &Facts<'_>) -> Option<String> {
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
pub(super) fn answer(f: &Facts<'_>, rule: &str, would: Option<&str>) -> String {
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
