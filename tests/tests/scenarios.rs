//! Scenarios written from the SPEC, one per rule and case, with figures worked out by hand.
//!
//! Unless a test says otherwise: usage date D = 2026-09-10, one line of 2.5 × 4 = 10.00 USD,
//! Microsoft applied 15 % (1.50); rate 0.15, so a FULL day earns 1.50 and any other loses 1.50.

mod common;

use common::*;
use pec_ledger::ingest::{SnapshotStatus, UploadStatus};
use pec_ledger::ledger::EntryKind;
use pec_ledger::reasons::{DayStatus, IneligibleReason, LossReason};
use serde_json::Value;

const D: &str = "2026-09-10";
/// Snapshots at 00:00, 12:00 and the next 00:00: an assignment listed in all three is held for
/// the whole closed day.
const ALL_DAY: [&str; 3] = [
    "2026-09-10T00:00:00Z",
    "2026-09-10T12:00:00Z",
    "2026-09-11T00:00:00Z",
];
const NOW: &str = "2026-09-12T02:00:00Z";

fn vm() -> String {
    res("/resourceGroups/rg-a/providers/Microsoft.Compute/virtualMachines/vm1")
}

/// Settles D with `lines` and all-day `assignments`, returning the single resource-day entry.
fn settle_one(lines: &[Line], assignments: Vec<Value>) -> (World, pec_ledger::ledger::Entry) {
    let mut w = World::new();
    assert_eq!(w.upload(lines).status, UploadStatus::Accepted);
    w.access_at(&ALL_DAY, assignments);
    w.settle(D, D, NOW);
    let mut entries = w.entries();
    assert_eq!(entries.len(), 1, "one resource-day");
    let e = entries.remove(0);
    (w, e)
}

fn assert_earned(e: &pec_ledger::ledger::Entry) {
    assert_eq!((e.status, e.reason), (DayStatus::Full, None));
    assert_eq!(e.figures.earned_credit, dec("1.5"));
    assert_eq!(e.figures.lost_credit, dec("0"));
    assert_eq!(e.figures.variance, dec("0"));
}

fn assert_lost(e: &pec_ledger::ledger::Entry, status: DayStatus, reason: LossReason) {
    assert_eq!((e.status, e.reason), (status, Some(reason)));
    assert_eq!(e.figures.earned_credit, dec("0"));
    assert_eq!(e.figures.lost_credit, dec("1.5"));
    assert_eq!(e.figures.lost_by_reason.get(&reason), Some(&dec("1.5")));
    assert_eq!(
        e.figures.variance,
        dec("-1.5"),
        "Microsoft applied 1.50 that we would not have earned"
    );
}

#[test]
fn subscription_owner_all_day_earns() {
    let (_, e) = settle_one(
        &[Line::new(D, &vm())],
        vec![owner_on(&format!("/subscriptions/{SUB}"))],
    );
    assert_earned(&e);
    assert_eq!(e.kind, EntryKind::Settlement);
    assert_eq!(e.figures.list_amount, dec("10"));
    assert_eq!(e.figures.eligible_amount, dec("10"));
    assert_eq!(e.figures.microsoft_credit, dec("1.5"));
    assert_eq!(
        e.evidence,
        vec![format!(
            "/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments/owner-aobo"
        )]
    );
    assert_eq!(e.rate, dec("0.15"));
    assert_eq!(e.key.resource_id, vm().to_lowercase());
}

#[test]
fn resource_group_scope_covers_its_resources_only() {
    let other = res("/resourceGroups/rg-b/providers/Microsoft.Compute/virtualMachines/vm2");
    let mut w = World::new();
    w.upload(&[Line::new(D, &vm()), Line::new(D, &other)]);
    w.access_at(&ALL_DAY, vec![owner_on(&res("/resourceGroups/RG-A"))]);
    w.settle(D, D, NOW);
    assert_earned(&w.entries_of(&vm(), D)[0]);
    assert_lost(
        &w.entries_of(&other, D)[0],
        DayStatus::None,
        LossReason::NoAccess,
    );
}

#[test]
fn resource_scope_covers_a_child_not_a_sibling() {
    let server = res("/resourceGroups/rg-a/providers/Microsoft.Sql/servers/sql1");
    let db = format!("{server}/databases/orders");
    let sibling = res("/resourceGroups/rg-a/providers/Microsoft.Sql/servers/sql10");
    let mut w = World::new();
    w.upload(&[Line::new(D, &db), Line::new(D, &sibling)]);
    w.access_at(&ALL_DAY, vec![owner_on(&server)]);
    w.settle(D, D, NOW);
    assert_earned(&w.entries_of(&db, D)[0]);
    assert_lost(
        &w.entries_of(&sibling, D)[0],
        DayStatus::None,
        LossReason::NoAccess,
    );
}

#[test]
fn access_removed_at_13_00_loses_the_day() {
    let mut w = World::new();
    w.upload(&[Line::new(D, &vm())]);
    let owner = owner_on(&format!("/subscriptions/{SUB}"));
    w.access_at(
        &["2026-09-10T00:00:00Z", "2026-09-10T12:00:00Z"],
        vec![owner],
    );
    w.access_at(&["2026-09-10T13:00:00Z", "2026-09-11T00:00:00Z"], vec![]);
    w.settle(D, D, NOW);
    assert_lost(
        &w.entries_of(&vm(), D)[0],
        DayStatus::Partial,
        LossReason::PartialDay,
    );
}

#[test]
fn reader_is_not_eligible() {
    let reader = assignment(
        "reader",
        &format!("/subscriptions/{SUB}"),
        READER,
        "Reader",
        "AOBO",
        "permanent",
        None,
        None,
    );
    let (_, e) = settle_one(&[Line::new(D, &vm())], vec![reader]);
    assert_lost(&e, DayStatus::None, LossReason::RoleNotEligible);
    assert!(e.evidence.is_empty());
}

#[test]
fn pim_eligible_and_activated_are_not_permanent() {
    for kind in ["eligible", "activated"] {
        let pim = assignment(
            "pim",
            &format!("/subscriptions/{SUB}"),
            OWNER,
            "Owner",
            "AOBO",
            kind,
            None,
            None,
        );
        let (_, e) = settle_one(&[Line::new(D, &vm())], vec![pim]);
        assert_lost(&e, DayStatus::None, LossReason::NotPermanent);
    }
}

#[test]
fn lighthouse_needs_a_partner_admin_link() {
    let scope = format!("/subscriptions/{SUB}");
    let with = assignment(
        "lh",
        &scope,
        CONTRIBUTOR,
        "Contributor",
        "LIGHTHOUSE",
        "permanent",
        Some(MPN),
        None,
    );
    let (_, e) = settle_one(&[Line::new(D, &vm())], vec![with]);
    assert_earned(&e);

    let without = assignment(
        "lh",
        &scope,
        CONTRIBUTOR,
        "Contributor",
        "LIGHTHOUSE",
        "permanent",
        None,
        None,
    );
    let (_, e) = settle_one(&[Line::new(D, &vm())], vec![without]);
    assert_lost(&e, DayStatus::None, LossReason::PalMissing);

    let wrong = assignment(
        "gdap",
        &scope,
        CONTRIBUTOR,
        "Contributor",
        "GDAP",
        "permanent",
        Some("9999999"),
        None,
    );
    let (_, e) = settle_one(&[Line::new(D, &vm())], vec![wrong]);
    assert_lost(&e, DayStatus::None, LossReason::PalMissing);
}

#[test]
fn reseller_pal_earns_through_tier2_mpn_id() {
    let scope = format!("/subscriptions/{SUB}");
    let reseller = assignment(
        "lh",
        &scope,
        CONTRIBUTOR,
        "Contributor",
        "LIGHTHOUSE",
        "permanent",
        Some(RESELLER_MPN),
        None,
    );
    let line = Line::new(D, &vm()).with(|l| l.tier2 = RESELLER_MPN.into());
    let (w, e) = settle_one(&[line], vec![reseller.clone()]);
    assert_earned(&e);
    assert_eq!(e.tier2_mpn_id, RESELLER_MPN);
    let s = w.statement("2026-09", "2026-10-01T00:00:00Z");
    assert_eq!(
        s.currencies[0].customers[0].tier2_mpn_id.as_deref(),
        Some(RESELLER_MPN)
    );

    // The same reseller link without Tier2MpnId on the line does not earn.
    let (_, e) = settle_one(&[Line::new(D, &vm())], vec![reseller]);
    assert_lost(&e, DayStatus::None, LossReason::PalMissing);
}

#[test]
fn created_on_back_fills_before_the_first_snapshot() {
    let mut w = World::new();
    w.upload(&[Line::new(D, &vm())]);
    let created = assignment(
        "owner",
        &format!("/subscriptions/{SUB}"),
        OWNER,
        "Owner",
        "AOBO",
        "permanent",
        None,
        Some("2026-08-01T10:00:00Z"),
    );
    w.access_at(&["2026-09-11T00:05:00Z"], vec![created]);
    w.settle(D, D, NOW);
    assert_earned(&w.entries_of(&vm(), D)[0]);

    // Without createdOn the same lone snapshot is only a point after the day: no access.
    let mut w = World::new();
    w.upload(&[Line::new(D, &vm())]);
    w.access_at(
        &["2026-09-11T00:05:00Z"],
        vec![owner_on(&format!("/subscriptions/{SUB}"))],
    );
    w.settle(D, D, NOW);
    assert_lost(
        &w.entries_of(&vm(), D)[0],
        DayStatus::None,
        LossReason::NoAccess,
    );
}

#[test]
fn a_gap_over_max_snapshot_gap_breaks_holding() {
    // 23:00 the day before and 01:00 the day after: a 26 h gap, over the default 25 h.
    let times = ["2026-09-09T23:00:00Z", "2026-09-11T01:00:00Z"];
    let mut w = World::new();
    w.upload(&[Line::new(D, &vm())]);
    w.access_at(&times, vec![owner_on(&format!("/subscriptions/{SUB}"))]);
    w.settle(D, D, NOW);
    assert_lost(
        &w.entries_of(&vm(), D)[0],
        DayStatus::None,
        LossReason::NoAccess,
    );

    // With maxSnapshotGap at 27 h the same snapshots hold it all day.
    let mut w = World::new();
    w.config.max_snapshot_gap_hours = 27;
    w.upload(&[Line::new(D, &vm())]);
    w.access_at(&times, vec![owner_on(&format!("/subscriptions/{SUB}"))]);
    w.settle(D, D, NOW);
    assert_earned(&w.entries_of(&vm(), D)[0]);
}

#[test]
fn unknown_until_the_next_snapshot_then_an_adjustment() {
    let mut w = World::new();
    w.upload(&[Line::new(D, &vm())]);
    let owner = owner_on(&format!("/subscriptions/{SUB}"));
    w.access_at(&ALL_DAY[..2], vec![owner.clone()]);
    let first = w.settle(D, D, "2026-09-11T02:00:00Z");
    assert_eq!((first.settlements, first.adjustments), (1, 0));
    let e0 = w.entries_of(&vm(), D).remove(0);
    assert_lost(&e0, DayStatus::Unknown, LossReason::NoEvidence);

    // Settling again with nothing new appends nothing.
    let again = w.settle(D, D, "2026-09-11T03:00:00Z");
    assert_eq!(
        (
            again.entries_appended,
            again.customer_days,
            again.customer_days_unchanged
        ),
        (0, 0, 1),
        "the unchanged customer-day is not read again"
    );

    w.access_at(&ALL_DAY[2..], vec![owner]);
    let second = w.settle(D, D, "2026-09-12T02:00:00Z");
    assert_eq!((second.settlements, second.adjustments), (0, 1));
    let entries = w.entries_of(&vm(), D);
    assert_eq!(entries.len(), 2);
    let adj = &entries[1];
    assert_eq!(adj.kind, EntryKind::Adjustment);
    assert_eq!((adj.status, adj.reason), (DayStatus::Full, None));
    assert_eq!(adj.figures.earned_credit, dec("1.5"));
    assert_eq!(adj.figures.lost_credit, dec("-1.5"));
    assert_eq!(
        adj.figures.lost_by_reason.get(&LossReason::NoEvidence),
        Some(&dec("-1.5"))
    );
    assert_eq!(adj.figures.list_amount, dec("0"));
    assert_eq!(adj.prev_hash, entries[0].hash);

    let s = w.statement("2026-09", "2026-10-01T00:00:00Z");
    let usd = &s.currencies[0];
    assert_eq!(usd.totals.earned_credit, dec("1.5"));
    assert_eq!(usd.totals.lost_credit, dec("0"));
    assert!(
        usd.lost_credit_by_reason.is_empty(),
        "{:?}",
        usd.lost_credit_by_reason
    );
    // As of before the adjustment, the statement shows the day as lost for lack of evidence.
    let before = w.statement("2026-09", "2026-09-11T12:00:00Z");
    assert_eq!(before.currencies[0].totals.lost_credit, dec("1.5"));
    assert_eq!(
        before.currencies[0]
            .lost_credit_by_reason
            .get("NO_EVIDENCE")
            .map(String::as_str),
        Some("1.5")
    );
    assert!(pec_ledger::verify::verify(&w.store).expect("verify").ok);
}

#[test]
fn each_product_ineligibility_reason() {
    let cases: Vec<(Line, IneligibleReason)> = vec![
        (
            Line::new(D, &vm()).with(|l| l.charge_type = "purchase".into()),
            IneligibleReason::NotConsumption,
        ),
        (
            Line::new(D, &vm()).with(|l| l.benefit_type = "Reservation".into()),
            IneligibleReason::Reservation,
        ),
        (
            Line::new(D, &vm())
                .with(|l| l.meter_category = "Reserved VM Instances reservation".into()),
            IneligibleReason::Reservation,
        ),
        (
            Line::new(D, &vm()).with(|l| l.benefit_type = "SavingsPlan".into()),
            IneligibleReason::SavingsPlan,
        ),
        (
            Line::new(D, &vm()).with(|l| l.publisher = "Contoso Software".into()),
            IneligibleReason::ThirdParty,
        ),
        (
            Line::new(D, &vm()).with(|l| l.meter_name = "D4s v5 Spot".into()),
            IneligibleReason::Spot,
        ),
    ];
    for (line, reason) in cases {
        let (w, e) = settle_one(&[line], vec![owner_on(&format!("/subscriptions/{SUB}"))]);
        assert_eq!(e.figures.list_amount, dec("10"), "{reason}");
        assert_eq!(e.figures.eligible_amount, dec("0"), "{reason}");
        assert_eq!(e.figures.ineligible_amount, dec("10"), "{reason}");
        assert_eq!(
            e.figures.ineligible_by_reason.get(&reason),
            Some(&dec("10")),
            "{reason}"
        );
        assert_eq!(e.figures.earned_credit, dec("0"), "{reason}");
        assert_eq!(e.figures.lost_credit, dec("0"), "{reason}");
        // Microsoft applied 15 % on a line we say is ineligible: a variance of -1.50.
        assert_eq!(e.figures.variance, dec("-1.5"), "{reason}");
        let s = w.statement("2026-09", "2026-10-01T00:00:00Z");
        assert_eq!(
            s.currencies[0]
                .ineligible_by_reason
                .get(reason.code())
                .map(String::as_str),
            Some("10")
        );
    }
}

#[test]
fn a_later_upload_supersedes_its_keys_only() {
    let d2 = "2026-09-11";
    let mut w = World::new();
    let first = w.upload(&[Line::new(D, &vm()), Line::new(d2, &vm())]);
    assert_eq!(first.status, UploadStatus::Accepted);
    // The corrected file has D only, with quantity 8 (20.00): D is replaced, D+1 untouched.
    let second = w.upload(&[Line::new(D, &vm()).with(|l| l.quantity = "8".into())]);
    assert_eq!(second.status, UploadStatus::Accepted);
    w.access_at(
        &[
            "2026-09-10T00:00:00Z",
            "2026-09-10T12:00:00Z",
            "2026-09-11T00:00:00Z",
            "2026-09-11T12:00:00Z",
            "2026-09-12T00:00:00Z",
        ],
        vec![owner_on(&format!("/subscriptions/{SUB}"))],
    );
    w.settle(D, d2, NOW);
    assert_eq!(w.entries_of(&vm(), D)[0].figures.list_amount, dec("20"));
    assert_eq!(w.entries_of(&vm(), D)[0].figures.earned_credit, dec("3"));
    assert_eq!(w.entries_of(&vm(), d2)[0].figures.list_amount, dec("10"));

    // A third upload after settlement moves D to another resource: the old resource-day is
    // brought to zero by an adjustment, the new one settled.
    let vm2 = res("/resourceGroups/rg-a/providers/Microsoft.Compute/virtualMachines/vm2");
    w.upload(&[Line::new(D, &vm2)]);
    let run = w.settle(D, d2, "2026-09-13T02:00:00Z");
    assert_eq!((run.settlements, run.adjustments), (1, 1));
    let old = w.entries_of(&vm(), D);
    assert_eq!(old[1].figures.list_amount, dec("-20"));
    assert_eq!(old[1].figures.earned_credit, dec("-3"));
    let s = w.statement("2026-09", "2026-10-01T00:00:00Z");
    assert_eq!(s.currencies[0].totals.list_amount, dec("20"));
    assert_eq!(s.currencies[0].totals.earned_credit, dec("3"));
}

#[test]
fn a_byte_identical_upload_is_a_duplicate() {
    let w = World::new();
    let body = usage_file(&[Line::new(D, &vm())]);
    let first = w.upload_as(PARTNER, &body);
    let second = w.upload_as(PARTNER, &body);
    assert_eq!(first.status, UploadStatus::Accepted);
    assert_eq!(second.status, UploadStatus::Duplicate);
    assert_eq!(second.upload_id, first.upload_id);
    assert_eq!(second.rows, 1);
}

#[test]
fn a_rejected_file_leaves_no_trace() {
    let mut w = World::new();
    let good = Line::new(D, &vm());
    let bad = Line::new(D, &vm()).with(|l| l.quantity = "lots".into());
    let r = w.upload(&[good.clone(), bad, good.clone()]);
    assert_eq!(r.status, UploadStatus::Rejected);
    assert_eq!(r.rows, 3);
    assert_eq!(r.error_count, 1);
    assert_eq!(
        (
            r.errors[0].line,
            r.errors[0].column.as_str(),
            r.errors[0].value.as_str()
        ),
        (3, "Quantity", "lots")
    );
    w.access_at(&ALL_DAY, vec![owner_on(&format!("/subscriptions/{SUB}"))]);
    let run = w.settle(D, D, NOW);
    assert_eq!(run.resource_days, 0);
    assert!(w.entries().is_empty());

    // Another partner's rows are rejected whole too.
    let r = w.upload_as("99999999-9999-4999-8999-999999999999", &usage_file(&[good]));
    assert_eq!(r.status, UploadStatus::Rejected);
    assert!(
        r.errors[0].message.starts_with("TENANT_MISMATCH"),
        "{:?}",
        r.errors
    );
}

#[test]
fn an_empty_resource_uri_is_keyed_to_the_subscription() {
    let (_, e) = settle_one(
        &[Line::new(D, "")],
        vec![owner_on(&format!("/subscriptions/{SUB}"))],
    );
    assert_eq!(e.key.resource_id, format!("/subscriptions/{SUB}"));
    assert_earned(&e);
}

#[test]
fn two_currencies_are_kept_apart() {
    let eur = Line::new(D, &vm()).with(|l| {
        l.currency = "EUR".into();
        l.unit_price = "1.25".into();
    });
    let mut w = World::new();
    w.upload(&[Line::new(D, &vm()), eur]);
    w.access_at(&ALL_DAY, vec![owner_on(&format!("/subscriptions/{SUB}"))]);
    w.settle(D, D, NOW);
    let s = w.statement("2026-09", "2026-10-01T00:00:00Z");
    let currencies: Vec<&str> = s.currencies.iter().map(|c| c.currency.as_str()).collect();
    assert_eq!(currencies, vec!["EUR", "USD"]);
    assert_eq!(s.currencies[0].totals.list_amount, dec("5"));
    assert_eq!(s.currencies[0].totals.earned_credit, dec("0.75"));
    assert_eq!(s.currencies[1].totals.list_amount, dec("10"));
    assert_eq!(s.currencies[1].totals.earned_credit, dec("1.5"));
}

#[test]
fn prior_period_adjustments_show_in_the_next_months_statement() {
    let d = "2026-09-30";
    let mut w = World::new();
    w.upload(&[Line::new(d, &vm())]);
    let owner = owner_on(&format!("/subscriptions/{SUB}"));
    w.access_at(
        &["2026-09-30T00:00:00Z", "2026-09-30T12:00:00Z"],
        vec![owner.clone()],
    );
    w.settle(d, d, "2026-10-01T02:00:00Z");
    w.access_at(&["2026-10-01T00:00:00Z"], vec![owner]);
    w.settle(d, d, "2026-10-02T02:00:00Z");

    let october = w.statement("2026-10", "2026-11-01T00:00:00Z");
    assert_eq!(october.currencies.len(), 1);
    let ppa = &october.currencies[0].prior_period_adjustments;
    assert_eq!(ppa.len(), 1);
    assert_eq!(ppa[0].usage_month, "2026-09");
    assert_eq!(ppa[0].earned_credit, dec("1.5"));
    assert_eq!(ppa[0].lost_credit, dec("-1.5"));
    assert_eq!(
        october.currencies[0].totals.list_amount,
        dec("0"),
        "no October usage"
    );

    let september = w.statement("2026-09", "2026-11-01T00:00:00Z");
    assert_eq!(september.currencies[0].totals.earned_credit, dec("1.5"));
    assert!(september.currencies[0].prior_period_adjustments.is_empty());
}

/// A restated file for a closed month changes the credit Microsoft applied: the next month's
/// statement shows that delta beside earned and lost, per usage month and per customer
/// (issue 16, part 4).
#[test]
fn a_restated_file_shows_its_microsoft_credit_change_per_customer() {
    let d = "2026-09-30";
    let mut w = World::new();
    let owner = owner_on(&format!("/subscriptions/{SUB}"));
    w.access_at(
        &["2026-09-30T00:00:00Z", "2026-10-01T00:00:00Z"],
        vec![owner],
    );
    // 4 × 2.5 = 10, 15 % applied by Microsoft: 1.5 earned, 1.5 applied.
    w.upload_at(&[Line::new(d, &vm())], "2026-10-01T01:00:00Z");
    w.settle(d, d, "2026-10-01T02:00:00Z");
    // Restated on 5 October: Microsoft applied nothing.
    let restated = Line::new(d, &vm()).with(|l| l.pec = "0".into());
    w.upload_at(&[restated], "2026-10-05T01:00:00Z");
    w.settle(d, d, "2026-10-06T02:00:00Z");

    let october = w.statement("2026-10", "2026-11-01T00:00:00Z");
    let ppa = &october.currencies[0].prior_period_adjustments;
    assert_eq!(ppa.len(), 1);
    assert_eq!(ppa[0].usage_month, "2026-09");
    assert_eq!(
        (
            ppa[0].earned_credit,
            ppa[0].lost_credit,
            ppa[0].microsoft_credit
        ),
        (dec("0"), dec("0"), dec("-1.5"))
    );
    assert_eq!(ppa[0].customers.len(), 1);
    assert_eq!(ppa[0].customers[0].customer_id, CUSTOMER);
    assert_eq!(ppa[0].customers[0].microsoft_credit, dec("-1.5"));
    // September as of the end of October: the restated figure.
    let september = w.statement("2026-09", "2026-11-01T00:00:00Z");
    assert_eq!(september.currencies[0].totals.microsoft_credit, dec("0"));
    // In every format: the CSV has the month's row and the customer's.
    let csv = pec_ledger::statement::render_csv(&october);
    assert!(csv.contains("prior_period_adjustment,"), "{csv}");
    assert!(
        csv.lines()
            .any(|l| l.starts_with("prior_period_adjustment_customer,")
                && l.contains(CUSTOMER)
                && l.contains(",-1.5,")),
        "{csv}"
    );
    let page = pec_render::html::render_html(&october);
    let figures = pec_render::html::figures_in_page(&page);
    let shown = |key: &str| {
        figures
            .iter()
            .find(|f| f.key == key)
            .map(|f| (f.exact.clone(), f.shown.clone()))
    };
    assert_eq!(
        shown("USD.priorPeriodAdjustments.2026-09.microsoftCredit"),
        Some(("-1.5".into(), "-1.50".into()))
    );
    assert_eq!(
        shown(&format!(
            "USD.priorPeriodAdjustments.2026-09.customers.{CUSTOMER}.microsoftCredit"
        )),
        Some(("-1.5".into(), "-1.50".into()))
    );
    let book = pec_render::xlsx::render_xlsx(&october).expect("xlsx");
    assert!(!book.is_empty());
}

#[test]
fn snapshots_are_idempotent_by_id() {
    let w = World::new();
    let s = snapshot(
        1,
        "2026-09-10T00:00:00Z",
        vec![owner_on(&format!("/subscriptions/{SUB}"))],
    );
    assert_eq!(w.post(&s).status, SnapshotStatus::Accepted);
    assert_eq!(w.post(&s).status, SnapshotStatus::Duplicate);
    let mut other = s.clone();
    other["assignments"] = serde_json::json!([]);
    let r = w.post(&other);
    assert_eq!(r.status, SnapshotStatus::Conflict);
    assert_eq!(r.errors[0].path, "$.snapshotId");
}

/// R7 is decided when a resource-day is settled, with the configuration of that run: a product
/// forced ineligible, then a meter forced eligible, each reach the re-settled day as an
/// adjustment. Three lines of vm1 on D: the plan's line (2.5 × 4 = 10), a Microsoft appliance
/// (2 × 3 = 6) and a Spot line (1 × 4 = 4, SPOT by the rules); all on the same meter ID, all with
/// Microsoft's 15 % (3.00 in all). The subscription's Owner holds the whole day.
#[test]
fn a_configuration_change_reaches_re_settled_days() {
    let meter = "7C52739C-65C2-5F49-BCDE-403D7BDEBB4F"; // the test lines' MeterId, upper-cased
    let mut w = World::new();
    let lines = [
        Line::new(D, &vm()),
        Line::new(D, &vm()).with(|l| {
            l.product = "Contoso Appliance".into();
            l.unit_price = "3".into();
            l.quantity = "2".into();
        }),
        Line::new(D, &vm()).with(|l| {
            l.meter_name = "D4s v5 Spot".into();
            l.unit_price = "4".into();
            l.quantity = "1".into();
        }),
    ];
    assert_eq!(w.upload(&lines).status, UploadStatus::Accepted);
    w.access_at(&ALL_DAY, vec![owner_on(&format!("/subscriptions/{SUB}"))]);

    // With the default configuration: 16 eligible (earns 2.40), 4 SPOT.
    w.settle(D, D, NOW);
    // The product forced ineligible (names compare without case): 6 move to CONFIGURED.
    w.config.ineligible_product_names = vec!["contoso appliance".into()];
    w.settle(D, D, "2026-09-12T03:00:00Z");
    // A meter forced eligible wins over both the product list and the Spot rule: all 20 earn.
    w.config.eligible_meter_ids = vec![meter.into()];
    w.settle(D, D, "2026-09-12T04:00:00Z");
    // The same configuration again: nothing to adjust.
    assert_eq!(w.settle(D, D, "2026-09-12T05:00:00Z").entries_appended, 0);

    let entries = w.entries_of(&vm(), D);
    let kinds: Vec<EntryKind> = entries.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EntryKind::Settlement,
            EntryKind::Adjustment,
            EntryKind::Adjustment
        ]
    );
    let f = |i: usize| &entries[i].figures;
    assert_eq!(
        (
            f(0).list_amount,
            f(0).eligible_amount,
            f(0).ineligible_amount
        ),
        (dec("20"), dec("16"), dec("4"))
    );
    assert_eq!(
        f(0).ineligible_by_reason.get(&IneligibleReason::Spot),
        Some(&dec("4"))
    );
    assert_eq!(
        (f(0).earned_credit, f(0).variance),
        (dec("2.4"), dec("-0.6"))
    );
    // Adjustment 1: eligible −6, CONFIGURED +6, earned −0.90.
    assert_eq!(
        (
            f(1).list_amount,
            f(1).eligible_amount,
            f(1).ineligible_amount
        ),
        (dec("0"), dec("-6"), dec("6"))
    );
    assert_eq!(
        f(1).ineligible_by_reason.get(&IneligibleReason::Configured),
        Some(&dec("6"))
    );
    assert_eq!(
        (f(1).earned_credit, f(1).variance),
        (dec("-0.9"), dec("-0.9"))
    );
    // Adjustment 2: eligible +10 (the appliance's 6 and the Spot line's 4), earned +1.50.
    assert_eq!(
        (f(2).eligible_amount, f(2).ineligible_amount),
        (dec("10"), dec("-10"))
    );
    assert_eq!(
        f(2).ineligible_by_reason.get(&IneligibleReason::Configured),
        Some(&dec("-6"))
    );
    assert_eq!(
        f(2).ineligible_by_reason.get(&IneligibleReason::Spot),
        Some(&dec("-4"))
    );
    assert_eq!(
        (f(2).earned_credit, f(2).variance),
        (dec("1.5"), dec("1.5"))
    );
    // The month's statement: all 20 eligible, earned 3.00 = Microsoft's 3.00.
    let s = w.statement("2026-09", "2026-10-01T00:00:00Z");
    let totals = &s.currencies[0].totals;
    assert_eq!(
        (
            totals.eligible_amount,
            totals.earned_credit,
            totals.variance
        ),
        (dec("20"), dec("3"), dec("0"))
    );
}

/// A customer's statement and a reseller's (issue 16, part 3): each holds only its own
/// resource-days, and says whose it is; the partner's is unchanged (no `scope`).
#[test]
fn statements_per_customer_and_per_reseller() {
    const OTHER_CUSTOMER: &str = "44444444-4444-4444-8444-444444444444";
    const OTHER_SUB: &str = "55555555-5555-4555-8555-555555555555";
    let mut w = World::new();
    // The customer with access, sold through a reseller: 10 × 15 % earned.
    let resold = Line::new(D, &vm()).with(|l| l.tier2 = RESELLER_MPN.into());
    // Another customer, direct, without any access snapshot: 10 × 15 % lost.
    let direct = Line::new(D, &vm()).with(|l| {
        l.customer = OTHER_CUSTOMER.into();
        l.subscription = OTHER_SUB.into();
        l.resource_uri =
            format!("/subscriptions/{OTHER_SUB}/resourceGroups/rg-b/providers/Microsoft.Compute/virtualMachines/vm2");
    });
    assert_eq!(w.upload(&[resold, direct]).status, UploadStatus::Accepted);
    w.access_at(&ALL_DAY, vec![owner_on(&format!("/subscriptions/{SUB}"))]);
    w.settle(D, D, NOW);
    let scoped = |customer: Option<&str>, reseller: Option<&str>| {
        pec_ledger::statement::scoped_statement_from_store(
            &w.store,
            PARTNER,
            pec_ledger::statement::Month::parse("2026-09").unwrap(),
            pec_testkit::t("2026-10-01T00:00:00Z"),
            &pec_ledger::statement::StatementScope {
                customer_id: customer.map(str::to_string),
                reseller_mpn_id: reseller.map(str::to_string),
                ..Default::default()
            },
        )
        .expect("statement")
    };
    let whole = w.statement("2026-09", "2026-10-01T00:00:00Z");
    let t = &whole.currencies[0].totals;
    assert_eq!((t.earned_credit, t.lost_credit), (dec("1.5"), dec("1.5")));
    assert_eq!(whole.currencies[0].customers.len(), 2);
    assert!(serde_json::to_value(&whole).unwrap().get("scope").is_none());

    let theirs = scoped(Some(&OTHER_CUSTOMER.to_uppercase()), None);
    let t = &theirs.currencies[0].totals;
    assert_eq!((t.earned_credit, t.lost_credit), (dec("0"), dec("1.5")));
    let ids: Vec<&str> = theirs.currencies[0]
        .customers
        .iter()
        .map(|c| c.customer_id.as_str())
        .collect();
    assert_eq!(ids, vec![OTHER_CUSTOMER]);
    assert_eq!(
        serde_json::to_value(&theirs).unwrap()["scope"],
        serde_json::json!({ "customerId": OTHER_CUSTOMER, "customerName": "Customer" })
    );

    let reseller = scoped(None, Some(RESELLER_MPN));
    let t = &reseller.currencies[0].totals;
    assert_eq!((t.earned_credit, t.lost_credit), (dec("1.5"), dec("0")));
    assert_eq!(reseller.currencies[0].customers[0].customer_id, CUSTOMER);
    assert_eq!(reseller.currencies[0].customers.len(), 1);
    assert_eq!(
        serde_json::to_value(&reseller).unwrap()["scope"],
        serde_json::json!({ "resellerMpnId": RESELLER_MPN })
    );
    // Both: the reseller's view of the other customer is empty.
    assert!(scoped(Some(OTHER_CUSTOMER), Some(RESELLER_MPN))
        .currencies
        .is_empty());
    // The scope is named on the page.
    let page = pec_render::html::render_html(&reseller);
    assert!(page.contains("Reseller (Tier 2 MPN ID)</dt><dd>2000002"));
}
