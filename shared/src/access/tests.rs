//! Tests for [`crate::access`]: interval building from snapshots and resource-day coverage
//! (SPEC 3.3, 3.4), including property tests.

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
fn cov(access: &CustomerAccess, resource: &str, day: &str, mpn: &str, tier2: &str) -> DayCoverage {
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
    (0..5)
        .map(|i| {
            let body = pec_testkit::example_snapshot(i);
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

proptest! {
    /// A builder saved after any prefix of the snapshots and carried on from its state gives
    /// exactly what replaying them all gives (incremental settlement relies on it).
    #[test]
    fn carrying_on_from_a_saved_state_equals_replaying_everything(
        listings in prop::collection::vec((0i64..96, prop::collection::vec(0usize..5, 0..4)), 1..14),
        cut in 0usize..14,
        gap_hours in 1i64..30,
    ) {
        let mut times: Vec<i64> = listings.iter().map(|(h, _)| *h).collect();
        times.sort_unstable();
        let created: DateTime<Utc> = at(-7200);
        let snaps: Vec<Snapshot> = times
            .iter()
            .zip(&listings)
            .enumerate()
            .map(|(n, (h, (_, which)))| {
                let assignments = which
                    .iter()
                    .map(|&k| {
                        let mut a = owner(&format!("A{k}"), SUB);
                        if k == 4 {
                            a.created_on = Some(created);
                        }
                        if k == 3 {
                            a.role_name = "Reader".into();
                            a.role_definition_id = READER.into();
                        }
                        a
                    })
                    .collect();
                let mut s = snap("2026-10-01T00:00:00Z", assignments);
                s.taken_at = at(h * 3600);
                s.snapshot_id = format!("snap-{n:03}");
                s
            })
            .collect();
        let gap = Duration::hours(gap_hours);
        let cut = cut.min(snaps.len());
        let mut first = AccessBuilder::new(gap);
        for s in &snaps[..cut] {
            first.push(s);
        }
        let state = first.to_state();
        let mut resumed = AccessBuilder::from_state(&state, gap).expect("a state");
        prop_assert!(AccessBuilder::from_state(&state, gap + Duration::hours(1)).is_none());
        for s in &snaps[cut..] {
            resumed.push(s);
        }
        prop_assert_eq!(resumed.snapshots(), snaps.len() as u64);
        prop_assert_eq!(resumed.finish(), build(gap, &snaps));
    }
}
