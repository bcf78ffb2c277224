//! Inputs partners already have, end to end through settlement: a Cost Management cost-details
//! export and FOCUS exports describing the same consumption as the SPEC's example daily rated
//! usage file, and access snapshots imported from `az role assignment list` and Azure Resource
//! Graph describing the SPEC's example snapshots, give the same ledger and statement.
//!
//! Figures (worked out in `cli/tests/cli_end_to_end.rs`): list 71.4624 over the two days,
//! eligible 62.2464, RESERVATION 9.216, earned 9.33696, Microsoft's credit 2.0736.

mod common;

use common::*;
use pec_ledger::import::{
    snapshot_from_az_role_assignments, snapshot_from_resource_graph, ImportOptions, PrincipalRule,
};
use pec_ledger::ingest::{SnapshotStatus, UploadStatus};
use pec_ledger::snapshot::AccessType;
use pec_ledger::statement::Statement;
use serde_json::Value;
use std::path::Path;

const EXAMPLE_PARTNER: &str = "7a3c0000-0000-4000-8000-000000000001";
const EXAMPLE_CUSTOMER: &str = "bdd640fb-0667-4ad1-9c80-317fa3b1799d";
const EXAMPLE_MPN: &str = "4100001";
const AOBO_GROUP: &str = "878a0d66-d024-5b3d-b925-f58e6ac2ebe2";
const LH_USER: &str = "f0a91588-02ae-509e-a7d5-373bcffde1a7";
/// The example snapshots' times.
const TIMES: [&str; 5] = [
    "2026-09-01T00:05:00Z",
    "2026-09-01T12:05:00Z",
    "2026-09-02T00:05:00Z",
    "2026-09-02T12:05:00Z",
    "2026-09-03T00:05:00Z",
];

use pec_testkit::examples;

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn post_example_snapshots(w: &World) {
    for i in 0..5 {
        let body = std::fs::read(examples().join(format!("snapshot-{i}.json"))).expect("example");
        let r = w.post_as(EXAMPLE_PARTNER, &body);
        assert_eq!(r.status, SnapshotStatus::Accepted, "{:?}", r.errors);
    }
}

fn statement(w: &World) -> Statement {
    w.settle("2026-09-01", "2026-09-02", "2026-09-03T02:00:00Z");
    pec_ledger::statement::statement_from_store(
        &w.store,
        EXAMPLE_PARTNER,
        pec_ledger::statement::Month::parse("2026-09").expect("month"),
        t("2026-09-04T00:00:00Z"),
    )
    .expect("statement")
}

/// What a settled ledger says per resource-day, without run ids, times and hashes.
fn decisions(w: &World) -> Vec<Value> {
    let mut out: Vec<Value> = w
        .entries()
        .into_iter()
        .map(|e| {
            serde_json::json!({
                "key": serde_json::to_value(&e.key).expect("json"),
                "status": serde_json::to_value(e.status).expect("json"),
                "reason": serde_json::to_value(e.reason).expect("json"),
                "evidence": e.evidence,
                "figures": serde_json::to_value(&e.figures).expect("json"),
            })
        })
        .collect();
    out.sort_by_key(|v| v["key"].to_string());
    out
}

/// The DRU example with the example snapshots: the reference.
fn reference() -> (Statement, Vec<Value>) {
    let w = World::new();
    let dru = std::fs::read(examples().join("daily-rated-usage.csv")).expect("example");
    let r = w.upload_file(EXAMPLE_PARTNER, None, &dru);
    assert_eq!(r.status, UploadStatus::Accepted, "{:?}", r.errors);
    post_example_snapshots(&w);
    (statement(&w), decisions(&w))
}

fn assert_example_figures(s: &Statement) {
    let usd = &s.currencies[0];
    assert_eq!(usd.currency, "USD");
    let totals = serde_json::to_value(&usd.totals).expect("json");
    assert_eq!(totals["listAmount"], "71.4624");
    assert_eq!(totals["eligibleAmount"], "62.2464");
    assert_eq!(totals["ineligibleAmount"], "9.216");
    assert_eq!(totals["earnedCredit"], "9.33696");
    assert_eq!(totals["lostCredit"], "0");
    assert_eq!(totals["microsoftCredit"], "2.0736");
    assert_eq!(totals["variance"], "7.26336");
    let ineligible = serde_json::to_value(&usd.ineligible_by_reason).expect("json");
    assert_eq!(ineligible["RESERVATION"], "9.216");
}

#[test]
fn exports_settle_to_the_same_statement_as_the_dru_file() {
    let (expected, expected_decisions) = reference();
    assert_example_figures(&expected);
    for name in [
        "cost-details-mca-partner.csv",
        "focus-1.0.csv",
        "focus-1.2.csv",
        "focus-1.3.csv",
    ] {
        let w = World::new();
        let r = w.upload_file(EXAMPLE_PARTNER, Some(EXAMPLE_MPN), &fixture(name));
        assert_eq!(r.status, UploadStatus::Accepted, "{name}: {:?}", r.errors);
        assert_eq!(r.rows, 8);
        post_example_snapshots(&w);
        let mut s = statement(&w);
        assert_example_figures(&s);
        // Names the daily rated file alone gives: the customer's domain; the partner's name
        // (Cost Management has it, FOCUS does not).
        let dru = &expected.currencies[0].customers[0];
        assert_eq!(dru.customer_domain, "cbdd6.onmicrosoft.com");
        assert_eq!(s.currencies[0].customers[0].customer_domain, "");
        s.currencies[0].customers[0]
            .customer_domain
            .clone_from(&dru.customer_domain);
        s.partner_name.clone_from(&expected.partner_name);
        assert_eq!(s, expected, "{name}");
        assert_eq!(decisions(&w), expected_decisions, "{name}");
    }
}

#[test]
fn an_export_without_the_partners_mpn_id_is_rejected_whole() {
    let w = World::new();
    let r = w.upload_file(EXAMPLE_PARTNER, None, &fixture("focus-1.0.csv"));
    assert_eq!(r.status, UploadStatus::Rejected);
    assert_eq!(
        (r.errors[0].line, r.errors[0].column.as_str()),
        (1, "MpnId")
    );
    // Another partner's cost details: TENANT_MISMATCH on every row, nothing kept.
    let r = w.upload_file(PARTNER, Some(MPN), &fixture("cost-details-mca-partner.csv"));
    assert_eq!(r.status, UploadStatus::Rejected);
    assert_eq!(r.error_count, 8);
    assert_eq!(r.errors[0].column, "partnerTenantId");
    assert!(r.errors[0].message.starts_with("TENANT_MISMATCH"));
    w.settle("2026-09-01", "2026-09-02", "2026-09-03T02:00:00Z");
    assert!(w.entries().is_empty());
}

/// The az fixture is the tenant's role assignments at the first example time; the Lighthouse
/// user's assignment is gone after the second (as in the examples).
fn az_at(i: usize) -> Vec<u8> {
    let rows: Vec<Value> = match serde_json::from_slice(&fixture("az-role-assignment-list.json")) {
        Ok(Value::Array(rows)) => rows,
        _ => panic!("the az fixture is an array"),
    };
    let listed: Vec<Value> = rows
        .into_iter()
        .filter(|r| i < 2 || r["principalId"] != LH_USER)
        .collect();
    serde_json::to_vec_pretty(&listed).expect("json")
}

fn arg_at(i: usize) -> Vec<u8> {
    let mut v: Value =
        serde_json::from_slice(&fixture("arg-authorizationresources.json")).expect("json");
    if let Some(Value::Array(rows)) = v.get_mut("data") {
        rows.retain(|r| i < 2 || r["properties"]["principalId"] != LH_USER);
    }
    serde_json::to_vec(&v).expect("json")
}

/// The examples' principals: the admin agents (AOBO) and a Lighthouse user whose Partner
/// Admin Link is the example MPN.
fn partner_principals() -> ImportOptions {
    ImportOptions {
        partner_admin_link_mpn_id: Some(EXAMPLE_MPN.into()),
        principals: vec![
            PrincipalRule {
                principal_id: AOBO_GROUP.into(),
                access_type: None,
                principal_type: None,
            },
            PrincipalRule {
                principal_id: LH_USER.into(),
                access_type: Some(AccessType::Lighthouse),
                principal_type: None,
            },
        ],
        ..ImportOptions::default()
    }
}

#[test]
fn imported_snapshots_settle_like_the_example_snapshots() {
    let (expected, expected_decisions) = reference();
    type Importer =
        fn(
            &[u8],
            &str,
            &str,
            chrono::DateTime<chrono::Utc>,
            &str,
            &ImportOptions,
        ) -> Result<pec_ledger::snapshot::Snapshot, Vec<pec_ledger::snapshot::PathError>>;
    type FileAt = fn(usize) -> Vec<u8>;
    let importers: [(&str, Importer, FileAt); 2] = [
        ("az", snapshot_from_az_role_assignments, az_at),
        ("arg", snapshot_from_resource_graph, arg_at),
    ];
    for (name, import, file_at) in importers {
        let w = World::new();
        let dru = std::fs::read(examples().join("daily-rated-usage.csv")).expect("example");
        assert_eq!(
            w.upload_file(EXAMPLE_PARTNER, None, &dru).status,
            UploadStatus::Accepted
        );
        let mut ids = Vec::new();
        for (i, time) in TIMES.iter().enumerate() {
            let snapshot = import(
                &file_at(i),
                EXAMPLE_PARTNER,
                EXAMPLE_CUSTOMER,
                t(time),
                "inputs test",
                &partner_principals(),
            )
            .unwrap_or_else(|e| panic!("{name} at {time}: {e:?}"));
            let body = serde_json::to_vec(&snapshot).expect("json");
            let r = w.post_as(EXAMPLE_PARTNER, &body);
            assert_eq!(r.status, SnapshotStatus::Accepted, "{name}: {:?}", r.errors);
            // Importing the same file again is a duplicate.
            let again = import(
                &file_at(i),
                EXAMPLE_PARTNER,
                EXAMPLE_CUSTOMER,
                t(time),
                "inputs test",
                &partner_principals(),
            )
            .expect("imports");
            assert_eq!(again.snapshot_id, snapshot.snapshot_id);
            let r = w.post_as(EXAMPLE_PARTNER, &serde_json::to_vec(&again).expect("json"));
            assert_eq!(r.status, SnapshotStatus::Duplicate);
            ids.push(snapshot.snapshot_id);
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 5, "one snapshot per time");
        let s = statement(&w);
        assert_eq!(s, expected, "{name}");
        assert_eq!(decisions(&w), expected_decisions, "{name}");
    }
}

#[test]
fn without_the_admin_agents_the_imported_access_loses_like_the_examples() {
    // The examples without the AOBO assignment, posted and imported (the PIM-eligible Owner of
    // the examples is not in `az role assignment list`, so it is left out of both).
    let without = |v: &mut Value| {
        if let Some(Value::Array(a)) = v.get_mut("assignments") {
            a.retain(|x| x["principalId"] != AOBO_GROUP && x["assignmentType"] == "permanent");
        }
    };
    let posted = World::new();
    let dru = std::fs::read(examples().join("daily-rated-usage.csv")).expect("example");
    posted.upload_file(EXAMPLE_PARTNER, None, &dru);
    for i in 0..5 {
        let body = std::fs::read(examples().join(format!("snapshot-{i}.json"))).expect("example");
        let mut v: Value = serde_json::from_slice(&body).expect("json");
        without(&mut v);
        // The Lighthouse assignment with the az fixture's createdOn.
        if let Some(Value::Array(a)) = v.get_mut("assignments") {
            for x in a.iter_mut() {
                x["createdOn"] = Value::from("2026-08-20T10:00:00Z");
            }
        }
        let r = posted.post_as(EXAMPLE_PARTNER, &serde_json::to_vec(&v).expect("json"));
        assert_eq!(r.status, SnapshotStatus::Accepted, "{:?}", r.errors);
    }
    let imported = World::new();
    imported.upload_file(EXAMPLE_PARTNER, None, &dru);
    let mut options = partner_principals();
    options.principals.remove(0);
    for (i, time) in TIMES.iter().enumerate() {
        let s = snapshot_from_az_role_assignments(
            &az_at(i),
            EXAMPLE_PARTNER,
            EXAMPLE_CUSTOMER,
            t(time),
            "inputs test",
            &options,
        )
        .expect("imports");
        let r = imported.post_as(EXAMPLE_PARTNER, &serde_json::to_vec(&s).expect("json"));
        assert_eq!(r.status, SnapshotStatus::Accepted);
    }
    let expected = statement(&posted);
    let got = statement(&imported);
    assert_eq!(got.currencies[0].totals, expected.currencies[0].totals);
    assert_eq!(
        got.currencies[0].lost_credit_by_reason,
        expected.currencies[0].lost_credit_by_reason
    );
    // Everything is lost: only the Lighthouse user's part of 2026-09-01 on rg-data is held.
    let totals = serde_json::to_value(&got.currencies[0].totals).expect("json");
    assert_eq!(totals["earnedCredit"], "0");
    assert_eq!(totals["lostCredit"], "9.33696");
    let lost = serde_json::to_value(&got.currencies[0].lost_credit_by_reason).expect("json");
    assert_eq!(
        lost["PARTIAL_DAY"], "3.63168",
        "orders on 2026-09-01: 24.2112 × 0.15"
    );
    assert_eq!(lost["NO_ACCESS"], "5.70528");
}

/// A FOCUS file with a monthly row is taken, and its receipt warns with the row's line and
/// column (issue 16, part 5).
#[test]
fn a_monthly_focus_row_is_taken_with_a_warning_in_the_receipt() {
    let w = World::new();
    let text = String::from_utf8(fixture("focus-1.2.csv")).expect("utf-8");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[1] = lines[1].replacen("2026-09-02T00:00:00Z", "2026-10-01T00:00:00Z", 1);
    let monthly = lines.join("\n") + "\n";
    let r = w.upload_file(EXAMPLE_PARTNER, Some(EXAMPLE_MPN), monthly.as_bytes());
    assert_eq!(r.status, UploadStatus::Accepted, "{:?}", r.errors);
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    assert_eq!(r.warnings[0].line, Some(2));
    assert_eq!(r.warnings[0].column.as_deref(), Some("ChargePeriodEnd"));
    assert!(r.warnings[0].message.contains("30 days"));
    let receipt = serde_json::to_value(&r).expect("json");
    assert_eq!(receipt["warnings"][0]["line"], 2);
    assert_eq!(receipt["warnings"][0]["column"], "ChargePeriodEnd");
}
