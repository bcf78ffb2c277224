//! The `pec` command from files to statement, on the SPEC's example inputs
//! (`fixtures/examples`), with figures worked out by hand:
//!
//! Each of the two days (2026-09-01, 2026-09-02) has four lines:
//! - App Service `shop`: 0.288 × 24 = 6.912, eligible, Microsoft 15 % = 1.0368;
//! - SQL database `orders`: 0.5044 × 48 = 24.2112, eligible, Microsoft 0 %;
//! - VM `batch` under a reservation: 0.192 × 24 = 4.608, ineligible (RESERVATION);
//! - support, empty ResourceURI: 0.0 × 1 = 0.
//!
//! The AOBO Owner on the subscription (createdOn 2026-02-14) is listed up to 2026-09-03 00:05Z,
//! so both days are FULL for every resource. Per day: list 35.7312, eligible 31.1232, earned
//! 31.1232 × 0.15 = 4.66848, Microsoft 1.0368, variance 3.63168. The month doubles them.

mod support;

use serde_json::Value;
use std::path::Path;
use support::{code, examples, json, pec, SETTLE_SEPTEMBER_1_2};

const PARTNER: &str = "7a3c0000-0000-4000-8000-000000000001";
const SUB: &str = "23b8c1e9-3924-46de-beb1-3b9046685257";

fn load_examples(data: &Path) {
    let usage = examples().join("daily-rated-usage.csv");
    let out = pec(
        data,
        &[
            "usage",
            "upload",
            usage.to_str().unwrap(),
            "--partner",
            PARTNER,
        ],
    );
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let receipt = json(&out);
    assert_eq!(receipt["status"], "accepted");
    assert_eq!(receipt["rows"], 8);
    assert_eq!(receipt["errorCount"], 0);
    for i in 0..5 {
        let f = examples().join(format!("snapshot-{i}.json"));
        let out = pec(
            data,
            &[
                "access",
                "post",
                f.to_str().unwrap(),
                "--partner",
                PARTNER,
                "--now",
                "2026-09-03T01:00:00Z",
            ],
        );
        assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
        assert_eq!(json(&out)["status"], "accepted");
    }
}

/// `pec statement` of PARTNER's September as of the 4th, in `format`, to stdout or `--out`.
fn statement(data: &Path, format: &str, out: Option<&Path>) -> std::process::Output {
    let mut args = vec![
        "statement",
        "--partner",
        PARTNER,
        "--month",
        "2026-09",
        "--format",
        format,
        "--as-of",
        "2026-09-04T00:00:00Z",
    ];
    if let Some(o) = out {
        args.extend(["--out", o.to_str().unwrap()]);
    }
    pec(data, &args)
}

#[test]
fn files_to_statement_on_the_spec_examples() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    load_examples(data);

    let out = pec(data, &SETTLE_SEPTEMBER_1_2);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let run = json(&out);
    // shop, orders, batch, subscription (support) × 2 days.
    assert_eq!(run["resourceDays"], 8);
    assert_eq!(run["entriesAppended"], 8);
    assert_eq!(
        run["creditByCurrency"]["USD"]["earnedCreditDelta"],
        "9.33696"
    );
    assert_eq!(run["creditByCurrency"]["USD"]["lostCreditDelta"], "0");
    assert!(
        run.get("earnedCreditDelta").is_none() && run.get("lostCreditDelta").is_none(),
        "no total across currencies"
    );

    let out = pec(
        data,
        &[
            "statement",
            "--partner",
            PARTNER,
            "--month",
            "2026-09",
            "--as-of",
            "2026-09-04T00:00:00Z",
        ],
    );
    assert_eq!(code(&out), 0);
    let s = json(&out);
    assert_eq!(s["partnerId"], PARTNER);
    assert_eq!(s["month"], "2026-09");
    let usd = &s["currencies"][0];
    assert_eq!(usd["currency"], "USD");
    let totals = &usd["totals"];
    assert_eq!(totals["listAmount"], "71.4624");
    assert_eq!(totals["eligibleAmount"], "62.2464");
    assert_eq!(totals["ineligibleAmount"], "9.216");
    assert_eq!(totals["earnedCredit"], "9.33696");
    assert_eq!(totals["lostCredit"], "0");
    assert_eq!(totals["microsoftCredit"], "2.0736");
    assert_eq!(totals["variance"], "7.26336");
    assert_eq!(totals["effectiveRate"], "0.15");
    assert_eq!(usd["ineligibleByReason"]["RESERVATION"], "9.216");
    assert_eq!(
        usd["lostCreditByReason"].as_object().map(|m| m.len()),
        Some(0)
    );
    assert_eq!(
        usd["customers"][0]["customerId"],
        "bdd640fb-0667-4ad1-9c80-317fa3b1799d"
    );
    assert_eq!(
        usd["customers"][0]["subscriptions"][0]["subscriptionId"],
        SUB
    );
    assert_eq!(
        usd["customers"][0]["subscriptions"][0]["totals"]["earnedCredit"],
        "9.33696"
    );
    let days = usd["days"].as_array().unwrap();
    assert_eq!(days.len(), 2);
    assert_eq!(days[0]["date"], "2026-09-01");
    assert_eq!(days[0]["earnedCredit"], "4.66848");
    assert_eq!(days[0]["microsoftCredit"], "1.0368");
    assert_eq!(days[1]["date"], "2026-09-02");
    assert_eq!(
        usd["priorPeriodAdjustments"].as_array().map(Vec::len),
        Some(0)
    );

    // Settling again appends nothing; verify passes.
    let out = pec(
        data,
        &[
            "settle",
            "--from",
            "2026-09-01",
            "--through",
            "2026-09-02",
            "--now",
            "2026-09-03T03:00:00Z",
        ],
    );
    assert_eq!(json(&out)["entriesAppended"], 0);
    let out = pec(data, &["verify"]);
    assert_eq!(code(&out), 0);
    assert_eq!(json(&out)["entries"], 8);

    // CSV opens in Excel: BOM, one header, a total row with the same figures.
    let out = statement(data, "csv", None);
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(csv.starts_with('\u{feff}'));
    let total = csv
        .lines()
        .find(|l| l.starts_with("total,"))
        .expect("total row");
    assert!(
        total.contains(",71.4624,62.2464,9.216,9.33696,0,2.0736,7.26336,0.15"),
        "{total}"
    );

    // HTML: a self-contained page with the same figures.
    let out = statement(data, "html", None);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    // Rounded to cents as shown; exact in data-exact.
    assert!(page.contains(r#"data-figure="USD.totals.earnedCredit" data-exact="9.33696">9.34<"#));
    assert!(page
        .contains(r#"data-figure="USD.days.2026-09-01.earnedCredit" data-exact="4.66848">4.67<"#));
    assert!(!page.contains("https://") && !page.contains("<script"));
    // XLSX: to a file with --out, or to stdout when it is not a terminal (here, a pipe).
    // (Outside the data directory: `--out` refuses paths inside it.)
    let elsewhere = tempfile::tempdir().unwrap();
    let file = elsewhere.path().join("september.xlsx");
    let out = statement(data, "xlsx", Some(&file));
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty());
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(&bytes[..2], b"PK");
    let out = statement(data, "xlsx", None);
    assert_eq!(code(&out), 0);
    assert_eq!(
        out.stdout, bytes,
        "the same statement gives the same workbook"
    );
}

/// The PDF statement as a reader sees it: its text, extracted by `pdftotext` (Debian's
/// poppler-utils, which `tests/run.sh` installs; the test fails without it), has the JSON
/// statement's names and every total, rounded as shown.
#[test]
fn pdf_statement_has_the_jsons_names_and_totals() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    load_examples(data);
    pec(data, &SETTLE_SEPTEMBER_1_2);
    let v = json(&statement(data, "json", None));
    let elsewhere = tempfile::tempdir().unwrap();
    let file = elsewhere.path().join("september.pdf");
    let out = statement(data, "pdf", Some(&file));
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    let out = statement(data, "pdf", None);
    assert_eq!(code(&out), 0);
    assert_eq!(out.stdout, bytes, "the same statement gives the same PDF");
    let out = statement(data, "pdf", Some(&data.join("september.pdf")));
    assert_eq!(code(&out), 2, "--out inside the data directory is refused");

    let text = std::process::Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext runs (Debian's poppler-utils; tests/run.sh installs it)");
    assert!(
        text.status.success(),
        "{}",
        String::from_utf8_lossy(&text.stderr)
    );
    let text = String::from_utf8(text.stdout).unwrap();

    let s = |v: &Value| v.as_str().expect("a string").to_string();
    let mut wanted = vec![
        "Northwind Cloud Partner".to_string(),
        "Customer bdd6".to_string(),
        s(&v["partnerName"]),
        s(&v["partnerId"]),
        "Page 1 of ".to_string(),
    ];
    let shown = |wanted: &mut Vec<String>, totals: &Value| {
        for (k, x) in totals.as_object().expect("totals") {
            let d = pec_ledger::decimal::parse_stored(&s(x)).expect("a decimal");
            wanted.push(if k == "effectiveRate" {
                pec_render::money::percent(d)
            } else {
                pec_render::money::money(d)
            });
        }
    };
    for c in v["currencies"].as_array().expect("currencies") {
        shown(&mut wanted, &c["totals"]);
        for cu in c["customers"].as_array().expect("customers") {
            wanted.extend([s(&cu["customerName"]), s(&cu["customerId"])]);
            shown(&mut wanted, &cu["totals"]);
            for su in cu["subscriptions"].as_array().expect("subscriptions") {
                wanted.extend([s(&su["subscriptionName"]), s(&su["subscriptionId"])]);
                shown(&mut wanted, &su["totals"]);
            }
        }
    }
    assert!(wanted.contains(&"9.34".to_string()), "{wanted:?}");
    for w in wanted {
        assert!(text.contains(&w), "{w:?} in the PDF's text:\n{text}");
    }
}

#[test]
fn explain_answers_why() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    load_examples(data);
    pec(data, &SETTLE_SEPTEMBER_1_2);
    let db = format!("/subscriptions/{SUB}/resourceGroups/rg-data/providers/Microsoft.Sql/servers/sql1/databases/orders");
    let out = pec(
        data,
        &[
            "explain",
            "--partner",
            PARTNER,
            "--resource",
            &db,
            "--date",
            "2026-09-02",
        ],
    );
    assert_eq!(code(&out), 0);
    let e = json(&out);
    let day = &e["resourceDays"][0];
    assert_eq!(day["status"], "FULL");
    assert_eq!(day["ledger"]["earnedCredit"], "3.63168");
    let assignments = day["assignments"].as_array().unwrap();
    // The AOBO owner (subscription) and the PIM owner (rg-data) cover it on 09-02; the
    // Lighthouse assignment on rg-data also applies to the resource.
    let pim = assignments
        .iter()
        .find(|a| a["id"].as_str().unwrap().ends_with("5e4d3c2b-pim"))
        .unwrap();
    assert_eq!(pim["fails"], serde_json::json!(["NOT_PERMANENT"]));
    let aobo = assignments
        .iter()
        .find(|a| a["id"].as_str().unwrap().ends_with("3f0c1d2e-aobo"))
        .unwrap();
    assert_eq!(aobo["heldAllDay"], true);
    assert!(
        day["answer"]
            .as_str()
            .unwrap()
            .starts_with("On 2026-09-02 orders earned 3.63168 USD of PEC"),
        "{}",
        day["answer"]
    );
    // The answer goes to stderr too, and alone on stdout with --format text.
    assert!(String::from_utf8_lossy(&out.stderr).contains("On 2026-09-02 orders earned"));
    let out = pec(
        data,
        &[
            "explain",
            "--partner",
            PARTNER,
            "--resource",
            &db,
            "--date",
            "2026-09-02",
            "--format",
            "text",
        ],
    );
    assert_eq!(code(&out), 0);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(day["answer"].as_str().unwrap()), "{text}");
    assert!(
        serde_json::from_str::<Value>(&text).is_err(),
        "text, not JSON"
    );
}

#[test]
fn exit_codes_follow_the_spec() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    load_examples(data);
    // Duplicate: 0.
    let usage = examples().join("daily-rated-usage.csv");
    let out = pec(
        data,
        &[
            "usage",
            "upload",
            usage.to_str().unwrap(),
            "--partner",
            PARTNER,
        ],
    );
    assert_eq!(code(&out), 0);
    assert_eq!(json(&out)["status"], "duplicate");
    // Rejected (another partner's file): 3.
    let out = pec(
        data,
        &[
            "usage",
            "upload",
            usage.to_str().unwrap(),
            "--partner",
            "00000000-0000-4000-8000-000000000009",
        ],
    );
    assert_eq!(code(&out), 3);
    let r = json(&out);
    assert_eq!(r["status"], "rejected");
    assert_eq!(r["errorCount"], 8);
    assert_eq!(r["errors"][0]["line"], 2);
    assert_eq!(r["errors"][0]["column"], "PartnerId");
    // A bad snapshot: 3, with JSON paths.
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        br#"{"schemaVersion": 1, "assignments": [{"accessType": "VPN"}]}"#,
    )
    .unwrap();
    let out = pec(
        data,
        &[
            "access",
            "post",
            bad.to_str().unwrap(),
            "--partner",
            PARTNER,
        ],
    );
    assert_eq!(code(&out), 3);
    let paths: Vec<String> = json(&out)["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap().to_string())
        .collect();
    assert!(
        paths.contains(&"$.assignments[0].accessType".to_string()),
        "{paths:?}"
    );
    assert!(paths.contains(&"$.snapshotId".to_string()), "{paths:?}");
    // Usage errors: 2.
    assert_eq!(
        code(&pec(
            data,
            &["statement", "--partner", PARTNER, "--month", "2026-13"]
        )),
        2
    );
    assert_eq!(code(&pec(data, &["settle"])), 2);
    assert_eq!(
        code(&pec(
            data,
            &["partner", "set-secret", PARTNER, "not-a-secret"]
        )),
        2
    );
    // Secrets: at most two active.
    let s1 = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let s2 = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let s3 = "whsec_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
    assert_eq!(code(&pec(data, &["partner", "set-secret", PARTNER, s1])), 0);
    assert_eq!(code(&pec(data, &["partner", "set-secret", PARTNER, s2])), 0);
    assert_eq!(code(&pec(data, &["partner", "set-secret", PARTNER, s3])), 2);
    assert_eq!(
        code(&pec(
            data,
            &["partner", "set-secret", PARTNER, s1, "--revoke"]
        )),
        0
    );
    let out = pec(data, &["partner", "set-secret", PARTNER, s3]);
    assert_eq!(code(&out), 0);
    assert_eq!(json(&out)["activeSecrets"], 2);
}
