//! Tests of the claims pack: the fold of entries into resource-days and the 0.01 threshold, the
//! totals, the CSV, and the evidence from the example snapshots.

use super::*;
use crate::ledger::EntryKind;
use crate::reasons::DayStatus;
use crate::snapshot::{parse_snapshot, Snapshot};
use crate::store::{PutSnapshotOutcome, StoreResult};
use pec_testkit::{d, dec, example_snapshot, t};

const PARTNER: &str = "7a3c0000-0000-4000-8000-000000000001";
const CUSTOMER: &str = "bdd640fb-0667-4ad1-9c80-317fa3b1799d";
const OTHER_CUSTOMER: &str = "0ab3c9e1-0000-4000-8000-000000000009";
const SUB: &str = "23b8c1e9-3924-46de-beb1-3b9046685257";

fn orders() -> String {
    format!(
        "/subscriptions/{SUB}/resourcegroups/rg-data/providers/microsoft.sql/servers/sql1/databases/orders"
    )
}

fn key(customer: &str, resource: &str, date: &str) -> ResourceDayKey {
    ResourceDayKey {
        partner_id: PARTNER.into(),
        customer_id: customer.into(),
        subscription_id: SUB.into(),
        resource_id: resource.into(),
        usage_date: d(date),
        currency: "USD".into(),
    }
}

/// An entry of `key` carrying these deltas of earned and Microsoft's credit.
fn entry(key: &ResourceDayKey, seq: u32, earned: &str, microsoft: &str, posted: &str) -> Entry {
    let (earned, microsoft) = (dec(earned), dec(microsoft));
    Entry {
        key: key.clone(),
        seq,
        kind: if seq == 0 {
            EntryKind::Settlement
        } else {
            EntryKind::Adjustment
        },
        status: DayStatus::Full,
        reason: None,
        figures: Figures {
            eligible_amount: earned / dec("0.15"),
            earned_credit: earned,
            microsoft_credit: microsoft,
            variance: earned - microsoft,
            ..Default::default()
        },
        rate: dec("0.15"),
        tier2_mpn_id: String::new(),
        evidence: vec![],
        input_digest: "d".into(),
        run_id: "r".into(),
        posted_at: t(posted),
        prev_hash: String::new(),
        hash: String::new(),
    }
}

thread_local! {
    /// The resource-days the last [`fold`] saw.
    static SEEN: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn september() -> Month {
    Month::parse("2026-09").unwrap()
}

fn fold(entries: &[Entry], customer: Option<&str>) -> Vec<ClaimedDay> {
    let mut f = ClaimFold::new(PARTNER, september(), t("2026-10-05T00:00:00Z"), customer);
    for e in entries {
        f.add(e);
    }
    SEEN.set(f.resource_days_seen());
    f.finish()
}

#[test]
fn the_threshold_is_more_than_one_cent() {
    let f = |earned: &str, microsoft: &str| Figures {
        earned_credit: dec(earned),
        microsoft_credit: dec(microsoft),
        ..Default::default()
    };
    assert!(!is_claim(&f("0.01", "0")), "exactly 0.01 is not a claim");
    assert!(is_claim(&f("0.0100001", "0")));
    assert!(!is_claim(&f("1.0368", "1.0368")));
    assert!(!is_claim(&f("1.05", "1.04")));
    assert!(is_claim(&f("1.06", "1.04")));
    assert!(
        !is_claim(&f("0", "3")),
        "Microsoft applying more is no claim"
    );
    assert!(is_claim(&f("3.63168", "0")));
}

#[test]
fn a_resource_days_entries_are_summed_before_the_threshold() {
    let db = orders();
    let shop =
        format!("/subscriptions/{SUB}/resourcegroups/rg-web/providers/microsoft.web/sites/shop");
    let one = key(CUSTOMER, &db, "2026-09-01");
    let two = key(CUSTOMER, &db, "2026-09-02");
    let exact_cent = key(CUSTOMER, &shop, "2026-09-01");
    let above_cent = key(CUSTOMER, &shop, "2026-09-02");
    let withdrawn = key(CUSTOMER, &shop, "2026-09-03");
    let adjusted_later = key(CUSTOMER, &shop, "2026-09-04");
    let august = key(CUSTOMER, &db, "2026-08-31");
    let entries = vec![
        // Settled, then Microsoft's credit restated (a later usage file): still a claim.
        entry(&one, 0, "3.63168", "1", "2026-09-02T02:00:00Z"),
        entry(&one, 1, "0", "-1", "2026-09-03T02:00:00Z"),
        entry(&two, 0, "3.63168", "0", "2026-09-03T02:00:00Z"),
        entry(&exact_cent, 0, "1.0468", "1.0368", "2026-09-02T02:00:00Z"),
        entry(
            &above_cent,
            0,
            "1.0468001",
            "1.0368",
            "2026-09-03T02:00:00Z",
        ),
        // Earned, then lost by a late snapshot: the sum earns nothing.
        entry(&withdrawn, 0, "5", "0", "2026-09-04T02:00:00Z"),
        entry(&withdrawn, 1, "-5", "0", "2026-09-05T02:00:00Z"),
        // An adjustment posted after asOf does not count.
        entry(&adjusted_later, 0, "2", "0", "2026-09-05T02:00:00Z"),
        entry(&adjusted_later, 1, "-2", "0", "2026-10-06T02:00:00Z"),
        // Another month, another partner: ignored.
        entry(&august, 0, "9", "0", "2026-09-01T02:00:00Z"),
        entry(
            &ResourceDayKey {
                partner_id: "7a3c0000-0000-4000-8000-000000000002".into(),
                ..one.clone()
            },
            0,
            "9",
            "0",
            "2026-09-02T02:00:00Z",
        ),
    ];
    let days = fold(&entries, None);
    let keys: Vec<&ResourceDayKey> = days.iter().map(|c| &c.key).collect();
    assert_eq!(keys, vec![&one, &two, &above_cent, &adjusted_later]);
    assert_eq!(
        SEEN.get(),
        6,
        "the partner's six resource-days of September"
    );
    assert_eq!(days[0].figures.earned_credit, dec("3.63168"));
    assert_eq!(days[0].figures.microsoft_credit, dec("0"));
    assert_eq!(
        days[2].figures.earned_credit - days[2].figures.microsoft_credit,
        dec("0.0100001")
    );
}

#[test]
fn claims_are_sorted_and_a_customer_scope_keeps_only_its_days() {
    let db = orders();
    let other = key(OTHER_CUSTOMER, &db, "2026-09-01");
    let late = key(CUSTOMER, &db, "2026-09-20");
    let early = key(CUSTOMER, &db, "2026-09-02");
    let entries = vec![
        entry(&late, 0, "1", "0", "2026-09-21T02:00:00Z"),
        entry(&other, 0, "1", "0", "2026-09-02T02:00:00Z"),
        entry(&early, 0, "1", "0", "2026-09-03T02:00:00Z"),
    ];
    let all: Vec<ResourceDayKey> = fold(&entries, None).into_iter().map(|c| c.key).collect();
    assert_eq!(all, vec![other.clone(), early.clone(), late.clone()]);
    let one: Vec<ResourceDayKey> = fold(&entries, Some(CUSTOMER))
        .into_iter()
        .map(|c| c.key)
        .collect();
    assert_eq!(one, vec![early, late]);
}

fn claim(customer: &str, name: &str, date: &str, currency: &str, earned: &str) -> Claim {
    Claim {
        customer_id: customer.into(),
        customer_name: name.into(),
        subscription_id: SUB.into(),
        subscription_name: String::new(),
        resource_id: orders(),
        usage_date: d(date),
        currency: currency.into(),
        eligible_amount: dec(earned) / dec("0.15"),
        earned_credit: dec(earned),
        microsoft_credit: Decimal::ZERO,
        difference: dec(earned),
        mpn_id: "4100001".into(),
        tier2_mpn_id: String::new(),
        evidence: ClaimEvidence::default(),
    }
}

#[test]
fn totals_per_currency_and_per_customer() {
    let names = Names {
        partner: "Northwind, \"Cloud\"".into(),
        ..Default::default()
    };
    let rows = vec![
        claim(
            OTHER_CUSTOMER,
            "=HYPERLINK(\"x\")",
            "2026-09-01",
            "EUR",
            "2",
        ),
        claim(
            OTHER_CUSTOMER,
            "=HYPERLINK(\"x\")",
            "2026-09-02",
            "USD",
            "1",
        ),
        claim(CUSTOMER, "Customer bdd6", "2026-09-01", "USD", "3.63168"),
        claim(CUSTOMER, "Customer bdd6", "2026-09-02", "USD", "3.63168"),
    ];
    let c = Claims::new(
        PARTNER,
        &names,
        september(),
        t("2026-10-05T00:00:00Z"),
        None,
        rows,
    );
    assert_eq!(c.totals_by_currency.len(), 2);
    assert_eq!(c.totals_by_currency[0].currency, "EUR");
    assert_eq!(c.totals_by_currency[1].difference, dec("8.26336"));
    assert_eq!(c.totals_by_currency[1].resource_days, 3);
    let customers: Vec<(&str, &str, String)> = c
        .totals_by_customer
        .iter()
        .map(|t| {
            (
                t.customer_id.as_str(),
                t.totals.currency.as_str(),
                fmt_amount(t.totals.difference),
            )
        })
        .collect();
    assert_eq!(
        customers,
        vec![
            (OTHER_CUSTOMER, "EUR", "2".to_string()),
            (OTHER_CUSTOMER, "USD", "1".to_string()),
            (CUSTOMER, "USD", "7.26336".to_string()),
        ]
    );
    // JSON: camelCase, exact decimal strings, the customer totals flat.
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["threshold"], "0.01");
    assert_eq!(json["resourceDays"][2]["difference"], "3.63168");
    assert_eq!(json["totalsByCustomer"][2]["difference"], "7.26336");
    assert_eq!(json["totalsByCustomer"][2]["customerName"], "Customer bdd6");
    assert_eq!(serde_json::from_value::<Claims>(json).unwrap(), c);

    // CSV: BOM, CRLF, one header, a row per claim then the totals; text made safe and quoted.
    let csv = render_claims_csv(&c);
    assert!(csv.starts_with('\u{feff}'));
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').split("\r\n").collect();
    assert_eq!(lines.len(), 1 + 4 + 3 + 2 + 1, "{csv}");
    assert_eq!(lines[0], CSV_COLUMNS.join(","));
    assert!(lines[1].starts_with(&format!(
        "claim,{PARTNER},\"Northwind, \"\"Cloud\"\"\",2026-09,4100001,,{OTHER_CUSTOMER},\"'=HYPERLINK(\"\"x\"\")\","
    )), "{}", lines[1]);
    assert!(
        lines[3].contains(",2026-09-01,USD,1,24.2112,3.63168,0,3.63168,"),
        "{}",
        lines[3]
    );
    assert!(
        lines[7].starts_with(&format!(
            "customer_total,{PARTNER},\"Northwind, \"\"Cloud\"\"\",2026-09,,,{CUSTOMER},Customer bdd6,,,,,USD,2,48.4224,7.26336,0,7.26336,"
        )),
        "{}",
        lines[7]
    );
    assert!(lines[9].starts_with("currency_total,"), "{}", lines[9]);
    assert!(lines[9].contains(",USD,3,"), "{}", lines[9]);
    assert_eq!(lines[10], "");
    for l in &lines[1..10] {
        let cells = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(l.as_bytes())
            .records()
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(cells.len(), CSV_COLUMNS.len(), "{l}");
    }
}

#[test]
fn an_empty_pack_is_a_header_and_no_totals() {
    let c = Claims::new(
        PARTNER,
        &Names::default(),
        september(),
        t("2026-10-05T00:00:00Z"),
        Some(CUSTOMER.into()),
        vec![],
    );
    assert!(c.totals_by_currency.is_empty() && c.totals_by_customer.is_empty());
    assert_eq!(
        render_claims_csv(&c),
        format!("\u{feff}{}\r\n", CSV_COLUMNS.join(","))
    );
}

/// Snapshots in memory: all a customer's evidence needs.
struct Snapshots(Vec<Snapshot>);

impl SnapshotStore for Snapshots {
    fn put_snapshot(&self, _: &Snapshot, _: &str, _: &[u8]) -> StoreResult<PutSnapshotOutcome> {
        Ok(PutSnapshotOutcome::Stored)
    }

    fn for_each_snapshot(
        &self,
        _partner_id: &str,
        _customer_id: &str,
        visit: &mut dyn FnMut(Snapshot) -> StoreResult<()>,
    ) -> StoreResult<()> {
        for s in &self.0 {
            visit(s.clone())?;
        }
        Ok(())
    }
}

/// The example snapshots: the SQL database earned on 09-01 and 09-02 through the AOBO Owner on
/// the subscription; the Lighthouse Contributor on rg-data (with a Partner Admin Link) is held
/// only until 09-01 12:05Z, the PIM Owner is not permanent.
#[test]
fn evidence_of_the_example_days() {
    let store = Snapshots(
        (0..5)
            .map(|i| parse_snapshot(&example_snapshot(i), t("2026-09-03T01:00:00Z")).unwrap())
            .collect(),
    );
    let config = Config::default();
    let ev = CustomerEvidence::load(&store, &config, PARTNER, CUSTOMER).unwrap();
    let roles = config.role_table();
    let groups = [("4100001".to_string(), String::new())];
    let first = ev.of(&key(CUSTOMER, &orders(), "2026-09-01"), &roles, &groups);
    assert_eq!(
        first.snapshot_before, None,
        "the first snapshot is at 00:05Z"
    );
    let ids =
        |s: &[SnapshotRef]| -> Vec<String> { s.iter().map(|s| s.snapshot_id.clone()).collect() };
    assert_eq!(
        ids(&first.snapshots_during_day),
        vec![
            "bd9c66b3-ad3c-4d6d-9a3d-1fa7bc8960a9",
            "972a8469-1641-4f82-8b9d-2434e465e150"
        ]
    );
    let after = first.snapshot_after.as_ref().unwrap();
    assert_eq!(after.snapshot_id, "17fc695a-07a0-4a6e-8822-e8f36c031199");
    assert_eq!(after.taken_at, t("2026-09-02T00:05:00Z"));
    assert_eq!(first.assignments.len(), 1, "{:?}", first.assignments);
    let a = &first.assignments[0];
    assert!(a.id.ends_with("/roleAssignments/3f0c1d2e-aobo"), "{}", a.id);
    assert_eq!(a.principal_id, "878a0d66-d024-5b3d-b925-f58e6ac2ebe2");
    assert_eq!(code_of(&a.principal_type), "ForeignGroup");
    assert_eq!(a.role_name, "Owner");
    assert_eq!(a.scope, format!("/subscriptions/{SUB}"));
    assert_eq!(code_of(&a.access_type), "AOBO");
    assert_eq!(a.partner_admin_link_mpn_id, None);
    assert!(a.held_all_day);

    let second = ev.of(&key(CUSTOMER, &orders(), "2026-09-02"), &roles, &groups);
    let before = second.snapshot_before.as_ref().unwrap();
    assert_eq!(before.snapshot_id, "972a8469-1641-4f82-8b9d-2434e465e150");
    assert_eq!(before.taken_at, t("2026-09-01T12:05:00Z"));
    assert_eq!(
        second
            .snapshot_after
            .as_ref()
            .map(|s| s.snapshot_id.as_str()),
        Some("b74d0fb1-32e7-4629-8fad-c1a606cb0fb3")
    );
    assert_eq!(second.assignments, first.assignments);

    // With only the Lighthouse Contributor's Partner Admin Link in play (a usage line of
    // another MpnId), nothing but AOBO covers the day either.
    let other = ev.of(
        &key(CUSTOMER, &orders(), "2026-09-01"),
        &roles,
        &[("999".to_string(), String::new())],
    );
    assert_eq!(other.assignments, first.assignments);
}
