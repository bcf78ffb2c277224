//! `pec claims` on the SPEC's example inputs (`fixtures/examples`), with the figures of issue 17:
//! the SQL database `orders` earned 0.5044 × 48 × 0.15 = 3.63168 USD of PEC on each of
//! 2026-09-01 and 2026-09-02 through the AOBO Owner on the subscription, and Microsoft applied
//! 0 %; the App Service site earned 1.0368 and Microsoft applied as much; the VM under a
//! reservation and the support charge earned nothing. So the pack lists exactly two
//! resource-days, totalling USD 7.26336: the statement's variance.

mod support;

use serde_json::Value;
use std::path::Path;
use support::*;

const SUB: &str = "23b8c1e9-3924-46de-beb1-3b9046685257";
const AS_OF: &str = "2026-10-02T06:00:00Z";

fn orders() -> String {
    format!(
        "/subscriptions/{SUB}/resourcegroups/rg-data/providers/microsoft.sql/servers/sql1/databases/orders"
    )
}

/// The examples uploaded, posted and settled into `data`.
fn settled_examples(data: &Path) {
    let out = upload_usage(data, &examples().join("daily-rated-usage.csv"));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    for i in 0..5 {
        let file = examples().join(format!("snapshot-{i}.json"));
        let out = pec(
            data,
            &[
                "access",
                "post",
                file.to_str().unwrap(),
                "--partner",
                PARTNER,
                "--now",
                "2026-09-03T01:00:00Z",
            ],
        );
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
    let out = pec(data, &SETTLE_SEPTEMBER_1_2);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

fn claims(data: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "claims",
        "--partner",
        PARTNER,
        "--month",
        "2026-09",
        "--as-of",
        AS_OF,
    ];
    args.extend_from_slice(extra);
    pec(data, &args)
}

#[test]
fn the_example_pack_lists_the_sql_database_on_both_days() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    settled_examples(data);

    let out = claims(data, &["--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("2 resource-day(s) to claim: USD 7.26336"),
        "{}",
        stderr(&out)
    );
    let pack = json(&out);
    assert_eq!(pack["partnerId"], PARTNER);
    assert_eq!(pack["partnerName"], "Northwind Cloud Partner");
    assert_eq!(pack["month"], "2026-09");
    assert_eq!(pack["threshold"], "0.01");
    assert_eq!(pack["resourceDaysSettled"], 8);
    let rows = pack["resourceDays"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{rows:#?}");
    let snapshot = |v: &Value| (v["snapshotId"].clone(), v["takenAt"].clone());
    for (row, date) in rows.iter().zip(["2026-09-01", "2026-09-02"]) {
        assert_eq!(row["customerId"], CUSTOMER);
        assert_eq!(row["customerName"], "Customer bdd6");
        assert_eq!(row["subscriptionId"], SUB);
        assert_eq!(row["resourceId"], orders());
        assert_eq!(row["usageDate"], date);
        assert_eq!(row["currency"], "USD");
        assert_eq!(row["eligibleAmount"], "24.2112");
        assert_eq!(row["earnedCredit"], "3.63168");
        assert_eq!(row["microsoftCredit"], "0");
        assert_eq!(row["difference"], "3.63168");
        assert_eq!(row["mpnId"], "4100001");
        let assignments = row["evidence"]["assignments"].as_array().unwrap();
        assert_eq!(assignments.len(), 1, "{assignments:#?}");
        let a = &assignments[0];
        assert_eq!(
            a["id"],
            format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments/3f0c1d2e-aobo")
        );
        assert_eq!(a["principalId"], "878a0d66-d024-5b3d-b925-f58e6ac2ebe2");
        assert_eq!(a["principalType"], "ForeignGroup");
        assert_eq!(a["roleName"], "Owner");
        assert_eq!(a["scope"], format!("/subscriptions/{SUB}"));
        assert_eq!(a["accessType"], "AOBO");
        assert_eq!(a["assignmentType"], "permanent");
        assert_eq!(a["partnerAdminLinkMpnId"], Value::Null);
        assert_eq!(a["heldAllDay"], true);
    }
    // 09-01: the customer's first snapshot came at 00:05Z, so none before the day (the
    // assignment's createdOn, 2026-02-14, says it was held from the start).
    let first = &rows[0]["evidence"];
    assert_eq!(first["snapshotBefore"], Value::Null);
    assert_eq!(
        snapshot(&first["snapshotAfter"]),
        (
            "17fc695a-07a0-4a6e-8822-e8f36c031199".into(),
            "2026-09-02T00:05:00Z".into()
        )
    );
    assert_eq!(
        first["snapshotsDuringDay"].as_array().map(Vec::len),
        Some(2)
    );
    let second = &rows[1]["evidence"];
    assert_eq!(
        snapshot(&second["snapshotBefore"]),
        (
            "972a8469-1641-4f82-8b9d-2434e465e150".into(),
            "2026-09-01T12:05:00Z".into()
        )
    );
    assert_eq!(
        snapshot(&second["snapshotAfter"]),
        (
            "b74d0fb1-32e7-4629-8fad-c1a606cb0fb3".into(),
            "2026-09-03T00:05:00Z".into()
        )
    );
    // Totals per currency and per customer: USD 7.26336.
    let usd = &pack["totalsByCurrency"];
    assert_eq!(usd.as_array().map(Vec::len), Some(1));
    assert_eq!(usd[0]["currency"], "USD");
    assert_eq!(usd[0]["resourceDays"], 2);
    assert_eq!(usd[0]["earnedCredit"], "7.26336");
    assert_eq!(usd[0]["microsoftCredit"], "0");
    assert_eq!(usd[0]["difference"], "7.26336");
    let customer = &pack["totalsByCustomer"];
    assert_eq!(customer.as_array().map(Vec::len), Some(1));
    assert_eq!(customer[0]["customerId"], CUSTOMER);
    assert_eq!(customer[0]["customerName"], "Customer bdd6");
    assert_eq!(customer[0]["difference"], "7.26336");

    // The total equals the statement's variance.
    let out = pec(
        data,
        &[
            "statement",
            "--partner",
            PARTNER,
            "--month",
            "2026-09",
            "--as-of",
            AS_OF,
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        json(&out)["currencies"][0]["totals"]["variance"],
        usd[0]["difference"]
    );

    // CSV is the default: BOM, CRLF, two claim rows, then the customer's and the currency's.
    let out = claims(data, &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(csv.starts_with('\u{feff}'));
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').split("\r\n").collect();
    assert_eq!(lines.len(), 6, "{csv}");
    assert!(lines[0].starts_with("section,partner_id,partner_name,month,mpn_id,"));
    for (line, date) in lines[1..3].iter().zip(["2026-09-01", "2026-09-02"]) {
        assert!(
            line.starts_with(&format!(
                "claim,{PARTNER},Northwind Cloud Partner,2026-09,4100001,,{CUSTOMER},Customer bdd6,{SUB},Azure plan,{},{date},USD,1,24.2112,3.63168,0,3.63168,",
                orders()
            )),
            "{line}"
        );
        assert!(
            line.ends_with(&format!(
                ",/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments/3f0c1d2e-aobo,878a0d66-d024-5b3d-b925-f58e6ac2ebe2,ForeignGroup,Owner,/subscriptions/{SUB},AOBO,"
            )),
            "{line}"
        );
    }
    assert!(
        lines[2].contains(",972a8469-1641-4f82-8b9d-2434e465e150,2026-09-01T12:05:00Z,b74d0fb1-32e7-4629-8fad-c1a606cb0fb3,2026-09-03T00:05:00Z,"),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].starts_with(&format!("customer_total,{PARTNER},Northwind Cloud Partner,2026-09,,,{CUSTOMER},Customer bdd6,,,,,USD,2,48.4224,7.26336,0,7.26336,")),
        "{}",
        lines[3]
    );
    assert!(
        lines[4].starts_with(&format!(
            "currency_total,{PARTNER},Northwind Cloud Partner,2026-09,,,,,,,,,USD,2,48.4224,7.26336,0,7.26336,"
        )),
        "{}",
        lines[4]
    );

    // One customer's pack is the same here; another customer's is empty, and said so.
    let out = claims(
        data,
        &["--customer", &CUSTOMER.to_uppercase(), "--format", "json"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let theirs = json(&out);
    assert_eq!(theirs["customerId"], CUSTOMER);
    assert_eq!(theirs["resourceDays"], pack["resourceDays"]);
    let stranger = "0ab3c9e1-0000-4000-8000-000000000009";
    let out = claims(data, &["--customer", stranger, "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out)["resourceDays"], serde_json::json!([]));
    assert!(
        stderr(&out).contains(&format!(
            "warning: the ledger has no entries of partner {PARTNER} customer {stranger} for 2026-09"
        )),
        "{}",
        stderr(&out)
    );

    // XLSX: to a file outside the data directory, the same bytes on a pipe.
    let elsewhere = tempfile::tempdir().unwrap();
    let file = elsewhere.path().join("claims-2026-09.xlsx");
    let out = claims(data, &["--format", "xlsx", "--out", file.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(&bytes[..2], b"PK");
    let out = claims(data, &["--format", "xlsx"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(out.stdout, bytes);
}

#[test]
fn a_careless_operator_is_told_and_nothing_is_harmed() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    settled_examples(&data);

    // Bad flags: exit 2, naming the flag.
    for (args, message) in [
        (
            vec!["claims", "--partner", "northwind", "--month", "2026-09"],
            "--partner \"northwind\": not a partner's tenant id",
        ),
        (
            vec!["claims", "--partner", PARTNER, "--month", "2026-9"],
            "invalid value '2026-9' for '--month <MONTH>': not a month",
        ),
        (
            vec![
                "claims",
                "--partner",
                PARTNER,
                "--month",
                "2026-09",
                "--customer",
                "x",
            ],
            "--customer \"x\": not a tenant id",
        ),
        (
            vec![
                "claims",
                "--partner",
                PARTNER,
                "--month",
                "2026-09",
                "--format",
                "pdf",
            ],
            "--format",
        ),
    ] {
        let out = pec(&data, &args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
    // A mistyped data directory is not read as an empty ledger.
    let out = pec(
        &root.path().join("dta"),
        &["claims", "--partner", PARTNER, "--month", "2026-09"],
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(!root.path().join("dta").exists());

    // An unknown partner: an empty pack (the header alone) and a warning naming it.
    let stranger = "7a3c0000-0000-4000-8000-00000000beef";
    let out = pec(
        &data,
        &["claims", "--partner", stranger, "--month", "2026-09"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    assert!(
        stderr(&out).contains(&format!(
            "warning: the ledger has no entries of partner {stranger} for 2026-09"
        )),
        "{}",
        stderr(&out)
    );
    // A month that has not begun, or an --as-of in 2099: usage errors naming the flag, for
    // the claims pack and the statement alike.
    for cmd in ["claims", "statement"] {
        let out = pec(&data, &[cmd, "--partner", PARTNER, "--month", "2099-01"]);
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        assert!(
            stderr(&out).contains("--month 2099-01: has not begun"),
            "{}",
            stderr(&out)
        );
        let out = pec(
            &data,
            &[
                cmd,
                "--partner",
                PARTNER,
                "--month",
                "2026-09",
                "--as-of",
                "2099-01-01T00:00:00Z",
            ],
        );
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        assert!(
            stderr(&out).contains("--as-of 2099-01-01T00:00:00Z: more than 5 minutes ahead"),
            "{}",
            stderr(&out)
        );
    }
    // A month not over yet is noted; before anything was settled, the pack is empty.
    let out = pec(
        &data,
        &[
            "claims",
            "--partner",
            PARTNER,
            "--month",
            "2026-09",
            "--as-of",
            "2026-09-03T02:00:00Z",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("note: 2026-09 is not over"),
        "{}",
        stderr(&out)
    );
    let out = pec(
        &data,
        &[
            "claims",
            "--partner",
            PARTNER,
            "--month",
            "2026-09",
            "--as-of",
            "2026-09-03T01:00:00Z",
        ],
    );
    assert!(
        stderr(&out).contains("warning: the ledger has no entries of partner"),
        "nothing was posted before the run: {}",
        stderr(&out)
    );

    // --out onto the ledger, or anywhere in the data directory: refused, pec.db untouched.
    let db = data.join("pec.db");
    let before = std::fs::read(&db).unwrap();
    for target in [db.clone(), data.join("claims.csv"), data.clone()] {
        let out = claims(&data, &["--out", target.to_str().unwrap()]);
        assert_eq!(code(&out), 2, "{}: {}", target.display(), stderr(&out));
        assert!(
            stderr(&out).contains("inside the data directory"),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(std::fs::read(&db).unwrap(), before);
    assert!(!data.join("claims.csv").exists());
    let out = pec(&data, &["verify"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}
