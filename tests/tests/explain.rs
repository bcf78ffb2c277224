//! `pec explain` answers "why did we lose PEC on this resource on this day?" in plain sentences:
//! what happened, the rule, the assignments and snapshots that decided it, and what would have
//! earned it. One scenario per status and reason, with the exact expected answer.
//!
//! Unless a test says otherwise: usage date D = 2026-09-10, one line of 10.00 USD on vm1,
//! Microsoft applied 15 %; rate 0.15, so the day earns or loses 1.5 USD.

mod common;

use common::*;
use pec_ledger::explain::{explain, render_text, Explanation, ResourceDayExplanation};
use pec_ledger::reasons::{DayStatus, LossReason};
use serde_json::{json, Value};

const D: &str = "2026-09-10";
const NOW: &str = "2026-09-12T02:00:00Z";
/// 00:00, 12:00 and the next 00:00: listed in all three, an assignment is held all day.
const ALL_DAY: [&str; 3] = [
    "2026-09-10T00:00:00Z",
    "2026-09-10T12:00:00Z",
    "2026-09-11T00:00:00Z",
];

fn vm() -> String {
    res("/resourceGroups/rg-a/providers/Microsoft.Compute/virtualMachines/vm1")
}

fn assignment_id(name: &str) -> String {
    format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments/{name}")
}

fn sub_scope() -> String {
    format!("/subscriptions/{SUB}")
}

fn explain_vm(w: &World) -> Explanation {
    explain(&w.store, &w.config, PARTNER, &vm(), d(D)).expect("explain")
}

/// Uploads D's line, posts `assignments` at each of `times`, settles D, explains vm1 on D.
fn explained(times: &[&str], assignments: Vec<Value>) -> Explanation {
    let mut w = World::new();
    w.upload(&[Line::new(D, &vm())]);
    w.access_at(times, assignments);
    w.settle(D, D, NOW);
    explain_vm(&w)
}

fn only(e: &Explanation) -> &ResourceDayExplanation {
    assert_eq!(e.resource_days.len(), 1, "one resource-day");
    &e.resource_days[0]
}

#[test]
fn a_full_day_names_the_assignment_that_covered_it() {
    let e = explained(&ALL_DAY, vec![owner_on(&sub_scope())]);
    let r = only(&e);
    assert_eq!((r.status, r.reason), (DayStatus::Full, None));
    assert_eq!(
        r.answer,
        format!(
            "On 2026-09-10 vm1 earned 1.5 USD of PEC on 10 USD of eligible consumption: eligible \
             access was held for the whole UTC day. Rule R2: eligible, permanent access covered the \
             whole UTC day [2026-09-10 00:00Z, 2026-09-11 00:00Z], so the day earns. The Owner \
             assignment {} (AOBO, permanent) at the subscription was held from 00:00Z to \
             2026-09-11 00:00Z.",
            assignment_id("owner-aobo")
        )
    );
    assert_eq!(r.what_would_earn, None);
    // The text form is the same answer under a heading.
    let text = render_text(&e);
    assert!(text.starts_with(&format!(
        "{} on 2026-09-10 — customer {CUSTOMER}",
        vm().to_lowercase()
    )));
    assert!(text.contains(&r.answer));
}

#[test]
fn a_removal_at_13_00_is_told_with_the_snapshots_around_it() {
    let mut w = World::new();
    w.upload(&[Line::new(D, &vm())]);
    w.access_at(
        &[
            "2026-09-09T18:05:00Z",
            "2026-09-10T06:05:00Z",
            "2026-09-10T12:05:00Z",
        ],
        vec![owner_on(&sub_scope())],
    );
    w.access_at(&["2026-09-10T13:05:00Z", "2026-09-11T00:05:00Z"], vec![]);
    w.settle(D, D, NOW);
    let e = explain_vm(&w);
    let r = only(&e);
    assert_eq!(
        (r.status, r.reason),
        (DayStatus::Partial, Some(LossReason::PartialDay))
    );
    assert_eq!(
        r.answer,
        format!(
            "On 2026-09-10 vm1 lost 1.5 USD of PEC: eligible access was held only from 00:00Z to \
             12:05Z (PARTIAL_DAY). Rule R2: PEC needs eligible access for the whole UTC day \
             [2026-09-10 00:00Z, 2026-09-11 00:00Z]; losing it for any part of the day loses the \
             whole day. The Owner assignment {} (AOBO, permanent) at the subscription was last \
             seen in the snapshot taken at 12:05Z; the next snapshot (13:05Z) no longer listed it. \
             What would have earned it: keeping the Owner assignment at the subscription in place \
             for the whole day, until the first snapshot taken at or after 2026-09-11 00:00Z; a \
             removal, even for an hour, loses the whole day.",
            assignment_id("owner-aobo")
        )
    );
    // The JSON carries the snapshots that decided it.
    let v = serde_json::to_value(r).unwrap();
    let snap = |n: u32| format!("00000000-0000-4000-8000-{n:012}");
    let owner = json!([assignment_id("owner-aobo")]);
    assert_eq!(
        v["snapshots"],
        json!({
            "lastBeforeDay": {"snapshotId": snap(1), "takenAt": "2026-09-09T18:05:00Z", "lists": owner},
            "duringDay": [
                {"snapshotId": snap(2), "takenAt": "2026-09-10T06:05:00Z", "lists": owner},
                {"snapshotId": snap(3), "takenAt": "2026-09-10T12:05:00Z", "lists": owner},
                {"snapshotId": snap(4), "takenAt": "2026-09-10T13:05:00Z", "lists": []},
            ],
            "firstAfterDay": {"snapshotId": snap(5), "takenAt": "2026-09-11T00:05:00Z", "lists": []},
        })
    );
    assert_eq!(
        v["eligibleAccessDuringDay"],
        json!([{"start": "2026-09-10T00:00:00Z", "end": "2026-09-10T12:05:00Z"}])
    );
    let a = &v["assignments"][0];
    assert_eq!(a["lastListedIn"]["snapshotId"], snap(3));
    assert_eq!(
        a["firstSnapshotWithoutIt"]["takenAt"],
        "2026-09-10T13:05:00Z"
    );
    assert_eq!(a["firstListedIn"]["takenAt"], "2026-09-09T18:05:00Z");
    assert_eq!(a["snapshotBeforeFirstListing"], Value::Null);
}

#[test]
fn a_lighthouse_assignment_without_a_partner_admin_link() {
    let lh = assignment(
        "lh",
        &sub_scope(),
        CONTRIBUTOR,
        "Contributor",
        "LIGHTHOUSE",
        "permanent",
        None,
        None,
    );
    let r = explained(&ALL_DAY, vec![lh]);
    let r = only(&r);
    assert_eq!(r.reason, Some(LossReason::PalMissing));
    assert_eq!(
        r.answer,
        format!(
            "On 2026-09-10 vm1 lost 1.5 USD of PEC: the access that would have covered the day has \
             no Partner Admin Link for the usage's partner (PAL_MISSING). Rule R6: Lighthouse, \
             GDAP and direct access earns only when its Partner Admin Link names the usage line's \
             MpnId or Tier2MpnId; access without a matching link would have covered the day. The \
             Contributor assignment {} (LIGHTHOUSE, permanent, no Partner Admin Link) at the \
             subscription was held all day, but it has no Partner Admin Link naming the usage's \
             MpnId 1000001. What would have earned it: a Partner Admin Link naming MpnId 1000001 \
             on the Contributor assignment at the subscription, or the same role through AOBO.",
            assignment_id("lh")
        )
    );
}

#[test]
fn a_pim_eligible_owner_is_not_permanent() {
    let pim = assignment(
        "pim",
        &sub_scope(),
        OWNER,
        "Owner",
        "AOBO",
        "eligible",
        None,
        None,
    );
    let r = explained(&ALL_DAY, vec![pim]);
    let r = only(&r);
    assert_eq!(
        (r.status, r.reason),
        (DayStatus::None, Some(LossReason::NotPermanent))
    );
    assert_eq!(
        r.answer,
        format!(
            "On 2026-09-10 vm1 lost 1.5 USD of PEC: the access that would have covered the day is \
             PIM access, not permanent (NOT_PERMANENT). Rule R5: only permanent assignments earn; \
             PIM-eligible or just-in-time activated access would have covered the day. The Owner \
             assignment {} (AOBO, eligible) at the subscription was held all day, but it is a \
             PIM-eligible assignment, not a permanent one. What would have earned it: making the \
             Owner assignment at the subscription a permanent (active) assignment instead of a \
             PIM-eligible one.",
            assignment_id("pim")
        )
    );
}

#[test]
fn no_snapshot_after_the_day_yet() {
    let mut w = World::new();
    w.upload(&[Line::new(D, &vm())]);
    w.access_at(&ALL_DAY[..2], vec![owner_on(&sub_scope())]);
    w.settle(D, D, "2026-09-11T02:00:00Z");
    let e = explain_vm(&w);
    let r = only(&e);
    assert_eq!(
        (r.status, r.reason),
        (DayStatus::Unknown, Some(LossReason::NoEvidence))
    );
    assert_eq!(
        r.answer,
        "On 2026-09-10 vm1 lost 1.5 USD of PEC: the day cannot be decided yet, because no access \
         snapshot of this customer taken at or after 2026-09-11 00:00Z has been received \
         (NO_EVIDENCE). Rule R2 (SPEC 3.4): a day is decided only once a snapshot of the customer \
         taken at or after its end (2026-09-11 00:00Z) exists; until then it is UNKNOWN, its credit \
         counts as lost, and it is settled again when one arrives. The latest snapshot of this \
         customer was taken at 12:00Z (snapshot 00000000-0000-4000-8000-000000000002). What \
         decides it: an access snapshot of this customer taken at or after 2026-09-11 00:00Z; the \
         next settlement then decides the day."
    );
    assert_eq!(r.snapshots.first_after_day, None);
    assert_eq!(r.snapshots.during_day.len(), 1);

    // The snapshot arrives: explain answers from the current inputs and says the ledger is behind.
    w.access_at(&ALL_DAY[2..], vec![owner_on(&sub_scope())]);
    let r = explain_vm(&w).resource_days.remove(0);
    assert_eq!(r.status, DayStatus::Full);
    assert!(
        r.answer.ends_with(
            " The ledger still records UNKNOWN (NO_EVIDENCE); the next settlement posts the adjustment."
        ),
        "{}",
        r.answer
    );
}

#[test]
fn a_gap_longer_than_max_snapshot_gap_is_named() {
    let r = explained(
        &["2026-09-09T23:00:00Z", "2026-09-11T01:00:00Z"],
        vec![owner_on(&sub_scope())],
    );
    let r = only(&r);
    assert_eq!(
        (r.status, r.reason),
        (DayStatus::None, Some(LossReason::NoAccess))
    );
    assert!(
        r.answer.contains(&format!(
            "The Owner assignment {} (AOBO, permanent) at the subscription was listed in the \
             snapshots taken at 2026-09-09 23:00Z and at 2026-09-11 01:00Z, but they are more than \
             25 h apart (maxSnapshotGapHours), so it does not count as held between them.",
            assignment_id("owner-aobo")
        )),
        "{}",
        r.answer
    );
}

#[test]
fn a_reader_is_not_an_eligible_role() {
    let reader = assignment(
        "reader",
        &sub_scope(),
        READER,
        "Reader",
        "AOBO",
        "permanent",
        None,
        None,
    );
    let r = explained(&ALL_DAY, vec![reader]);
    let r = only(&r);
    assert_eq!(r.reason, Some(LossReason::RoleNotEligible));
    assert!(r.answer.contains(
        "at the subscription was held all day, but Reader is not a PEC-eligible role. What would \
         have earned it: a PEC-eligible role (such as Owner or Contributor) instead of Reader at \
         the subscription."
    ));
}
