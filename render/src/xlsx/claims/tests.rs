//! Tests of the claims workbook: sheets in order, exact amounts in number cells of one format,
//! evidence as text and date cells, totals, safe text, the same bytes for the same pack.

use super::*;
use crate::xlsx::tests::{cell, cells, part, shared_strings};
use pec_ledger::claims::{Claim, ClaimEvidence, CoveringAssignment};
use pec_ledger::names::Names;
use pec_ledger::snapshot::{AccessType, AssignmentType, PrincipalType};
use pec_ledger::statement::Month;
use std::str::FromStr;

fn d(s: &str) -> chrono::NaiveDate {
    s.parse().expect("a date")
}

fn t(s: &str) -> chrono::DateTime<chrono::Utc> {
    s.parse().expect("a time")
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).expect("a decimal")
}

const PARTNER: &str = "7a3c0000-0000-4000-8000-000000000001";
const CUSTOMER: &str = "bdd640fb-0667-4ad1-9c80-317fa3b1799d";
const SUB: &str = "23b8c1e9-3924-46de-beb1-3b9046685257";

fn example_claim(date: &str, before: Option<(&str, &str)>, after: (&str, &str)) -> Claim {
    let snapshot = |(id, at): (&str, &str)| SnapshotRef {
        snapshot_id: id.into(),
        taken_at: t(at),
    };
    Claim {
        customer_id: CUSTOMER.into(),
        customer_name: "Customer bdd6".into(),
        subscription_id: SUB.into(),
        subscription_name: "=Azure plan".into(),
        resource_id: format!("/subscriptions/{SUB}/resourcegroups/rg-data/providers/microsoft.sql/servers/sql1/databases/orders"),
        usage_date: d(date),
        currency: "USD".into(),
        eligible_amount: dec("24.2112"),
        earned_credit: dec("3.63168"),
        microsoft_credit: dec("0"),
        difference: dec("3.63168"),
        mpn_id: "4100001".into(),
        tier2_mpn_id: String::new(),
        evidence: ClaimEvidence {
            snapshot_before: before.map(snapshot),
            snapshots_during_day: vec![],
            snapshot_after: Some(snapshot(after)),
            assignments: vec![CoveringAssignment {
                id: format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments/3f0c1d2e-aobo"),
                principal_id: "878a0d66-d024-5b3d-b925-f58e6ac2ebe2".into(),
                principal_type: PrincipalType::ForeignGroup,
                role_name: "Owner".into(),
                scope: format!("/subscriptions/{SUB}"),
                access_type: AccessType::Aobo,
                assignment_type: AssignmentType::Permanent,
                partner_admin_link_mpn_id: None,
                created_on: Some(t("2026-02-14T08:31:07Z")),
                held_all_day: true,
            }],
        },
    }
}

fn example_pack() -> Claims {
    Claims::new(
        PARTNER,
        &Names {
            partner: "Northwind Cloud Partner".into(),
            ..Default::default()
        },
        Month::parse("2026-09").unwrap(),
        t("2026-10-02T06:00:00Z"),
        None,
        vec![
            example_claim(
                "2026-09-01",
                None,
                (
                    "17fc695a-07a0-4a6e-8822-e8f36c031199",
                    "2026-09-02T00:05:00Z",
                ),
            ),
            example_claim(
                "2026-09-02",
                Some((
                    "972a8469-1641-4f82-8b9d-2434e465e150",
                    "2026-09-01T12:05:00Z",
                )),
                (
                    "b74d0fb1-32e7-4629-8fad-c1a606cb0fb3",
                    "2026-09-03T00:05:00Z",
                ),
            ),
        ],
    )
}

/// A shared-string cell's text.
fn text(bytes: &[u8], sheet: &str, r: &str) -> String {
    let c = cell(sheet, r);
    assert!(c.contains("t=\"s\""), "{r} is a string cell: {c}");
    let (_, _, v) = cells(c).pop().unwrap();
    shared_strings(bytes)[v.parse::<usize>().unwrap()].clone()
}

/// A number cell's value.
fn number(sheet: &str, r: &str) -> String {
    let c = cell(sheet, r);
    assert!(!c.contains(" t="), "{r} is a number cell: {c}");
    cells(c).pop().unwrap().2
}

#[test]
fn the_example_pack_reads_back_exactly() {
    let bytes = render_claims_xlsx(&example_pack()).unwrap();
    assert_eq!(&bytes[..2], b"PK");
    let workbook = part(&bytes, "xl/workbook.xml");
    let mut at = 0;
    for name in CLAIM_SHEETS {
        let i = workbook[at..]
            .find(&format!("<sheet name=\"{name}\""))
            .unwrap_or_else(|| panic!("sheet {name} (in order) in {workbook}"));
        at += i + 1;
    }
    let claims = part(&bytes, "xl/worksheets/sheet1.xml");
    assert!(claims.contains("state=\"frozen\""));
    assert_eq!(text(&bytes, &claims, "A1"), "Customer");
    assert_eq!(text(&bytes, &claims, "K1"), "Difference");
    for row in ["2", "3"] {
        assert_eq!(text(&bytes, &claims, &format!("A{row}")), CUSTOMER);
        assert_eq!(text(&bytes, &claims, &format!("B{row}")), "Customer bdd6");
        assert_eq!(
            text(&bytes, &claims, &format!("D{row}")),
            "'=Azure plan",
            "text is spreadsheet-safe"
        );
        // Exact figures, not rounded to cents.
        assert_eq!(number(&claims, &format!("H{row}")), "24.2112");
        assert_eq!(number(&claims, &format!("I{row}")), "3.63168");
        assert_eq!(number(&claims, &format!("J{row}")), "0");
        assert_eq!(number(&claims, &format!("K{row}")), "3.63168");
        assert_eq!(text(&bytes, &claims, &format!("L{row}")), "4100001");
        assert!(text(&bytes, &claims, &format!("S{row}")).ends_with("/3f0c1d2e-aobo"));
        assert_eq!(
            text(&bytes, &claims, &format!("T{row}")),
            "878a0d66-d024-5b3d-b925-f58e6ac2ebe2"
        );
        assert_eq!(text(&bytes, &claims, &format!("U{row}")), "ForeignGroup");
        assert_eq!(text(&bytes, &claims, &format!("V{row}")), "Owner");
        assert_eq!(
            text(&bytes, &claims, &format!("W{row}")),
            format!("/subscriptions/{SUB}")
        );
        assert_eq!(text(&bytes, &claims, &format!("X{row}")), "AOBO");
    }
    // Usage dates are date cells (2026-09-01 is serial 46266).
    assert_eq!(number(&claims, "F2"), "46266");
    assert_eq!(number(&claims, "F3"), "46267");
    // 09-01 has no snapshot before the day; its snapshot after is an id and a time cell.
    assert!(!claims.contains("<c r=\"N2\""), "empty: {}", claims);
    assert_eq!(
        text(&bytes, &claims, "P2"),
        "17fc695a-07a0-4a6e-8822-e8f36c031199"
    );
    let after = number(&claims, "Q2").parse::<f64>().unwrap();
    assert!((after - (46267.0 + 5.0 / 1440.0)).abs() < 1e-9, "{after}");
    assert_eq!(
        text(&bytes, &claims, "N3"),
        "972a8469-1641-4f82-8b9d-2434e465e150"
    );

    // One number format for the amounts, with the exact figure's decimals.
    let styles = part(&bytes, "xl/styles.xml");
    assert!(
        styles.contains(&format!("formatCode=\"{EXACT_AMOUNT_FORMAT}\"")),
        "{styles}"
    );
    let style_of = |r: &str| -> String {
        let c = cell(&claims, r);
        c.split(" s=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string()
    };
    for col in ["H", "I", "J", "K"] {
        assert_eq!(style_of(&format!("{col}2")), style_of("K3"), "{col}");
    }

    // Totals: USD 7.26336 over two resource-days, by currency and by customer.
    let by_currency = part(&bytes, "xl/worksheets/sheet2.xml");
    assert_eq!(text(&bytes, &by_currency, "A2"), PARTNER);
    assert_eq!(text(&bytes, &by_currency, "B2"), "Northwind Cloud Partner");
    assert_eq!(text(&bytes, &by_currency, "E2"), "USD");
    assert_eq!(number(&by_currency, "F2"), "2");
    assert_eq!(number(&by_currency, "G2"), "48.4224");
    assert_eq!(number(&by_currency, "H2"), "7.26336");
    assert_eq!(number(&by_currency, "J2"), "7.26336");
    let by_customer = part(&bytes, "xl/worksheets/sheet3.xml");
    assert_eq!(text(&bytes, &by_customer, "A2"), CUSTOMER);
    assert_eq!(text(&bytes, &by_customer, "C2"), "USD");
    assert_eq!(number(&by_customer, "D2"), "2");
    assert_eq!(number(&by_customer, "H2"), "7.26336");
}

#[test]
fn the_same_pack_gives_the_same_bytes_and_an_empty_one_has_every_sheet() {
    assert_eq!(
        render_claims_xlsx(&example_pack()).unwrap(),
        render_claims_xlsx(&example_pack()).unwrap()
    );
    let mut empty = example_pack();
    empty.resource_days.clear();
    empty.totals_by_currency.clear();
    empty.totals_by_customer.clear();
    let bytes = render_claims_xlsx(&empty).unwrap();
    for i in 1..=CLAIM_SHEETS.len() {
        let sheet = part(&bytes, &format!("xl/worksheets/sheet{i}.xml"));
        assert!(!sheet.contains("<c r=\"A2\""), "only the header row");
    }
}
