//! The usage-file catalogue (issue 4 item 6) through `pec usage upload` on the embedded store:
//! broken files are rejected whole with the line, column and value of each problem and leave the
//! store as it was; odd but valid files compute exactly like the plain one; text from the
//! partner's files cannot run as a formula in a CSV statement; and one partner cannot upload
//! another's rows (item 9).

mod support;

use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;
use support::*;

// The truncated-gzip case's line numbers were worked out at the fastest level.
use pec_testkit::gzip_fast as gzip;

/// Uploads `bytes` as `name` for `partner`: (exit code, receipt).
fn upload_as(data: &Path, partner: &str, name: &str, bytes: &[u8]) -> (i32, Value) {
    let dir = data.parent().unwrap().join("files");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let out = pec(
        data,
        &[
            "usage",
            "upload",
            path.to_str().unwrap(),
            "--partner",
            partner,
        ],
    );
    let receipt: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{name}: not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), receipt)
}

fn upload(data: &Path, name: &str, bytes: &[u8]) -> (i32, Value) {
    upload_as(data, PARTNER, name, bytes)
}

/// A data directory holding one accepted upload (one row on September 2), so that a rejected
/// file has something to leave alone.
fn store_with_one_upload(root: &Path) -> std::path::PathBuf {
    let data = root.join("data");
    let (code, r) = upload(
        &data,
        "first.csv",
        &usage_file(&[usage_row(&[("UsageDate", "2026-09-02")])]),
    );
    assert_eq!((code, r["status"].as_str()), (0, Some("accepted")), "{r}");
    data
}

/// Settles September 1–3 and returns the September statement in `format`.
fn settle_and_statement(data: &Path, partner: &str, format: &str) -> Vec<u8> {
    let out = pec(
        data,
        &[
            "settle",
            "--from",
            "2026-09-01",
            "--through",
            "2026-09-03",
            "--now",
            "2026-10-01T02:00:00Z",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = pec(
        data,
        &[
            "statement",
            "--partner",
            partner,
            "--month",
            "2026-09",
            "--as-of",
            "2026-10-02T00:00:00Z",
            "--format",
            format,
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    out.stdout
}

fn totals(data: &Path) -> Value {
    let s: Value = serde_json::from_slice(&settle_and_statement(data, PARTNER, "json")).unwrap();
    s["currencies"][0]["totals"].clone()
}

/// (line, column, message) of a listed error.
type RowError = (u64, String, String);

/// Every listed error of a receipt.
fn errors(receipt: &Value) -> Vec<RowError> {
    receipt["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().expect("line"),
                e["column"].as_str().expect("column").to_string(),
                e["message"].as_str().expect("message").to_string(),
            )
        })
        .collect()
}

fn e(line: u64, column: &str, message: &str) -> RowError {
    (line, column.to_string(), message.to_string())
}

#[test]
fn broken_files_are_rejected_whole_naming_the_line_and_store_nothing() {
    let root = tempfile::tempdir().unwrap();
    let data = store_with_one_upload(root.path());
    let before = holdings(&data);
    let good = usage_file(&[usage_row(&[]), usage_row(&[("MeterId", "m2")])]);

    let mut cases: Vec<(&str, Vec<u8>, u64, Vec<RowError>)> = Vec::new();
    // Truncated gzip: half of a compressed file of 2,000 rows.
    let rows: Vec<String> = (0..2000)
        .map(|i| usage_row(&[("MeterId", &format!("meter-{i}"))]))
        .collect();
    let zipped = gzip(&usage_file(&rows));
    cases.push((
        "truncated.csv.gz",
        zipped[..zipped.len() / 2].to_vec(),
        963,
        vec![e(
            965,
            "",
            "the file cannot be read past this point: corrupt or truncated gzip data \
             (incomplete deflate stream)",
        )],
    ));
    // Wrong delimiters.
    // (The header is then one unknown column: every required header is missing.)
    let missing: Vec<RowError> = USAGE_HEADER
        .iter()
        .filter(|h| !["CustomerName", "Tier2MpnId", "Tags"].contains(h))
        .map(|h| e(1, h, &format!("missing required header {h}")))
        .collect();
    assert_eq!(missing.len(), 16);
    let semicolons = String::from_utf8(good.clone()).unwrap().replace(',', ";");
    cases.push((
        "semicolons.csv",
        semicolons.into_bytes(),
        0,
        missing.clone(),
    ));
    let tabs = String::from_utf8(good.clone()).unwrap().replace(',', "\t");
    cases.push(("tabs.csv", tabs.into_bytes(), 0, missing));
    // NaN, Infinity and friends.
    for (i, (v, detail)) in [
        ("NaN", ""),
        ("Infinity", ""),
        ("-Infinity", ""),
        ("inf", ""),
        ("1,5", ""),
        ("0x10", ""),
        ("1e", " (Failed to parse)"),
        ("--1", " (Invalid decimal: unknown character)"),
    ]
    .iter()
    .enumerate()
    {
        let quoted = if v.contains(',') {
            format!("\"{v}\"")
        } else {
            v.to_string()
        };
        cases.push((
            Box::leak(format!("amount-{i}.csv").into_boxed_str()),
            usage_file(&[usage_row(&[]), usage_row(&[("UnitPrice", &quoted)])]),
            2,
            vec![e(
                3,
                "UnitPrice",
                &format!("not a decimal number: {v:?}{detail}"),
            )],
        ));
    }
    // Out-of-range and impossible dates.
    for (i, d) in [
        "2026-02-30",
        "2/30/2026",
        "2026-13-01",
        "13/1/2026",
        "2026-09-31",
        "0000-00-00",
        "2026-09-01T25:00:00Z",
    ]
    .iter()
    .enumerate()
    {
        cases.push((
            Box::leak(format!("date-{i}.csv").into_boxed_str()),
            usage_file(&[usage_row(&[]), usage_row(&[("UsageDate", d)])]),
            2,
            vec![e(
                3,
                "UsageDate",
                &format!(
                    "not a valid UsageDate {d:?}: expected YYYY-MM-DD, \
                     YYYY-MM-DDThh:mm:ss[Z] or M/D/YYYY[ h:mm:ss AM|PM]"
                ),
            )],
        ));
    }
    // A field over the 1 MiB record limit.
    let huge = "x".repeat(2 << 20);
    cases.push((
        "huge-field.csv",
        usage_file(&[
            usage_row(&[]),
            usage_row(&[("Tags", &huge)]),
            usage_row(&[]),
        ]),
        1,
        vec![e(
            3,
            "",
            "the file cannot be read past this point: a record is longer than 1048576 bytes \
             (an unclosed quote?)",
        )],
    ));
    // An unclosed quote.
    cases.push((
        "unclosed-quote.csv",
        usage_file(&[usage_row(&[]), usage_row(&[("CustomerName", "\"Contoso")])]),
        2,
        vec![e(3, "", "the row has 3 fields, the header has 19")],
    ));
    // A quoted newline makes row 2 span file lines 3–5: the bad row after it is on line 6.
    cases.push((
        "quoted-newlines-then-bad.csv",
        usage_file(&[
            usage_row(&[]),
            usage_row(&[("CustomerName", "\"Contoso\r\nEast\n\"")]),
            usage_row(&[("Quantity", "NaN")]),
        ]),
        3,
        vec![e(6, "Quantity", "not a decimal number: \"NaN\"")],
    ));
    // Another partner's row in the middle of the file.
    cases.push((
        "tenant.csv",
        usage_file(&[
            usage_row(&[]),
            usage_row(&[("PartnerId", OTHER)]),
            usage_row(&[]),
        ]),
        3,
        vec![e(
            3,
            "PartnerId",
            &format!("TENANT_MISMATCH: PartnerId {OTHER} is not the uploading partner {PARTNER}"),
        )],
    ));

    for (name, bytes, rows, want) in &cases {
        let (code, receipt) = upload(&data, name, bytes);
        assert_eq!(code, 3, "{name}: {receipt}");
        assert_eq!(receipt["status"], "rejected", "{name}");
        assert_eq!(receipt["rows"], *rows, "{name}: {receipt}");
        let got = errors(&receipt);
        assert_eq!(receipt["errorCount"], got.len(), "{name}: {receipt}");
        assert_eq!(&got, want, "{name}");
        assert_eq!(holdings(&data), before, "{name}: nothing stored");
    }
    // And the store still takes a good file.
    let (code, r) = upload(&data, "good.csv", &good);
    assert_eq!((code, r["status"].as_str()), (0, Some("accepted")), "{r}");
}

/// Formula text cannot come in through ids any more: a CustomerId, Tier2MpnId or SubscriptionId
/// that is not a GUID or an MPN ID is rejected naming its column (the CSV statement still
/// neutralises cells starting with `=`, `+`, `-`, `@`, tab or CR: `statement::tests`). Amounts such
/// as -1.5 stay numbers.
#[test]
fn formula_cells_from_usage_files_are_refused_and_amounts_stay_numbers() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let rows = [
        usage_row(&[
            (
                "CustomerId",
                "\"=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\"",
            ),
            ("Tier2MpnId", "@SUM(A1)"),
            ("SubscriptionId", "+cmd|' /C calc'!A0"),
            ("ResourceURI", ""),
        ]),
        usage_row(&[("CustomerId", "-2+3"), ("Tier2MpnId", "\"\tTAB\"")]),
    ];
    let (code, r) = upload(&data, "formulas.csv", &usage_file(&rows));
    assert_eq!(code, 3, "{r}");
    let got: Vec<(u64, String)> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["column"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: Vec<(u64, String)> = [
        (2, "CustomerId"),
        (2, "SubscriptionId"),
        (2, "Tier2MpnId"),
        (3, "CustomerId"),
        (3, "Tier2MpnId"),
    ]
    .iter()
    .map(|(l, c)| (*l, c.to_string()))
    .collect();
    assert_eq!(got, want, "{r}");
    let stored = holdings(&data);
    assert_eq!(
        (stored.uploads, stored.staged_usage_rows, stored.usage_keys),
        (0, 0, 0),
        "nothing stored"
    );

    // A negative price stays a number in the CSV statement.
    let rows = [usage_row(&[("UnitPrice", "-1.5"), ("Quantity", "1")])];
    let (code, r) = upload(&data, "negative.csv", &usage_file(&rows));
    assert_eq!((code, r["status"].as_str()), (0, Some("accepted")), "{r}");
    let csv = String::from_utf8(settle_and_statement(&data, PARTNER, "csv")).unwrap();
    let total = csv
        .lines()
        .find(|l| l.starts_with("total,"))
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        total,
        format!("total,{PARTNER},2026-09,USD,,,,,,,-1.5,-1.5,0,0,-0.225,-0.225,0.225,0,,,,,")
    );
}

#[test]
fn one_partner_cannot_upload_or_read_anothers_usage() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let mine = usage_file(&[usage_row(&[]), usage_row(&[("UsageDate", "2026-09-02")])]);
    let (code, r) = upload(&data, "mine.csv", &mine);
    assert_eq!((code, r["status"].as_str()), (0, Some("accepted")), "{r}");
    let mine_before = settle_and_statement(&data, PARTNER, "json");
    let before = holdings(&data);

    // PARTNER's file uploaded as OTHER: every row is a tenant mismatch; not a duplicate of
    // PARTNER's upload either.
    let (code, r) = upload_as(&data, OTHER, "mine-as-other.csv", &mine);
    assert_eq!(code, 3, "{r}");
    assert_eq!(r["status"], "rejected");
    assert_eq!(r["errorCount"], 2);
    let message =
        format!("TENANT_MISMATCH: PartnerId {PARTNER} is not the uploading partner {OTHER}");
    assert_eq!(
        errors(&r),
        vec![e(2, "PartnerId", &message), e(3, "PartnerId", &message)]
    );
    assert_eq!(holdings(&data), before);

    // OTHER's own rows for PARTNER's subscription and dates: stored as OTHER's, and they do
    // not supersede PARTNER's usage of that subscription.
    let theirs = usage_file(&[usage_row(&[("PartnerId", OTHER), ("Quantity", "1000")])]);
    let (code, r) = upload_as(&data, OTHER, "theirs.csv", &theirs);
    assert_eq!((code, r["status"].as_str()), (0, Some("accepted")), "{r}");
    assert_eq!(settle_and_statement(&data, PARTNER, "json"), mine_before);
    let other: Value = serde_json::from_slice(&settle_and_statement(&data, OTHER, "json")).unwrap();
    assert_eq!(other["partnerId"], OTHER);
    assert_eq!(other["currencies"][0]["totals"]["listAmount"], "2000");
    let mine: Value = serde_json::from_slice(&mine_before).unwrap();
    assert_eq!(mine["currencies"][0]["totals"]["listAmount"], "40");
    // And explain for OTHER does not show PARTNER's resource-day.
    let resource =
        format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/app");
    let out = pec(
        &data,
        &[
            "explain",
            "--partner",
            OTHER,
            "--resource",
            &resource,
            "--date",
            "2026-09-02",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["resourceDays"], json!([]), "{v}");
}

/// Statement totals of a fresh store holding only `bytes`.
fn totals_of(root: &Path, name: &str, bytes: &[u8]) -> Value {
    let data = root.join(name).join("data");
    let (code, r) = upload(&data, name, bytes);
    assert_eq!(
        (code, r["status"].as_str()),
        (0, Some("accepted")),
        "{name}: {r}"
    );
    totals(&data)
}

#[test]
fn odd_but_valid_files_compute_like_the_plain_one() {
    let root = tempfile::tempdir().unwrap();
    let day2 = ("UsageDate", "2026-09-02");
    let plain = usage_file(&[usage_row(&[]), usage_row(&[day2])]);
    // No snapshot: both days are UNKNOWN, so the credit is lost (NO_EVIDENCE). 2 × 10 per day.
    let expected = json!({
        "listAmount": "40", "eligibleAmount": "40", "ineligibleAmount": "0",
        "earnedCredit": "0", "lostCredit": "6", "microsoftCredit": "6",
        "variance": "-6", "effectiveRate": "0"
    });
    assert_eq!(totals_of(root.path(), "plain", &plain), expected);

    let text = String::from_utf8(plain.clone()).unwrap();
    let crlf = text.replace('\n', "\r\n").into_bytes();
    let mut bom = b"\xef\xbb\xbf".to_vec();
    bom.extend_from_slice(&crlf);
    let variants: Vec<(&str, Vec<u8>)> = vec![
        ("crlf.csv", crlf.clone()),
        ("bom-crlf.csv", bom.clone()),
        ("bom-crlf.csv.gz", gzip(&bom)),
        ("two-boms.csv", [&b"\xef\xbb\xbf"[..], &bom].concat()),
        (
            "quoted-newlines.csv",
            usage_file(&[
                usage_row(&[("CustomerName", "\"Contoso\nEast, \"\"Ltd\"\"\r\n\"")]),
                usage_row(&[day2, ("MeterName", "\"P1v3\n\nApp\"")]),
            ]),
        ),
        (
            "one-mb-field.csv",
            usage_file(&[
                usage_row(&[("Tags", &"x".repeat(1_000_000))]),
                usage_row(&[day2]),
            ]),
        ),
        (
            "exponents.csv",
            usage_file(&[
                usage_row(&[("UnitPrice", "2E0"), ("Quantity", "1e1")]),
                usage_row(&[day2, ("UnitPrice", "+2.000"), ("Quantity", "100E-1")]),
            ]),
        ),
        (
            "date-and-percent-forms.csv",
            usage_file(&[
                usage_row(&[
                    ("UsageDate", "9/1/2026 11:59:59 PM"),
                    ("PartnerEarnedCreditPercentage", "15%"),
                ]),
                usage_row(&[("UsageDate", "2026-09-02T00:00:00Z")]),
            ]),
        ),
    ];
    for (name, bytes) in &variants {
        assert_eq!(totals_of(root.path(), name, bytes), expected, "{name}");
    }

    // Corrections: a negative quantity on September 1 and a negative price on September 2 are
    // computed, not rejected: (2 × 10 − 2 × 4) + (2 × 10 − 1.5 × 2) = 12 + 17 = 29.
    let corrected = usage_file(&[
        usage_row(&[]),
        usage_row(&[("Quantity", "-4")]),
        usage_row(&[day2]),
        usage_row(&[day2, ("UnitPrice", "-1.5"), ("Quantity", "2")]),
    ]);
    assert_eq!(
        totals_of(root.path(), "corrections.csv", &corrected),
        json!({
            "listAmount": "29", "eligibleAmount": "29", "ineligibleAmount": "0",
            "earnedCredit": "0", "lostCredit": "4.35", "microsoftCredit": "4.35",
            "variance": "-4.35", "effectiveRate": "0"
        })
    );
    // 1e5 is 100,000: 2 × 100,000 + 2 × 10.
    let big = usage_file(&[usage_row(&[("Quantity", "1e5")]), usage_row(&[day2])]);
    assert_eq!(
        totals_of(root.path(), "1e5.csv", &big)["listAmount"],
        "200020"
    );
}

#[test]
fn one_bad_row_among_a_million_rejects_the_whole_file() {
    let root = tempfile::tempdir().unwrap();
    let data = store_with_one_upload(root.path());
    let before = holdings(&data);
    // 1,000,000 rows over 10,000 resource-days, 100 consecutive rows each (so that the first
    // 8,192 resource-days are staged before the bad row is read), the bad one on file line
    // 987,654.
    let path = root.path().join("million.csv");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        writeln!(out, "{}", USAGE_HEADER.join(",")).unwrap();
        let mut base = usage_row(&[("ResourceURI", "RESOURCE"), ("UsageDate", "DATE")]);
        base.push('\n');
        let (a, rest) = base.split_once("DATE").unwrap();
        let (b, c) = rest.split_once("RESOURCE").unwrap();
        for i in 0..1_000_000u32 {
            if i + 2 == 987_654 {
                let bad = usage_row(&[("UnitPrice", "NaN")]);
                writeln!(out, "{bad}").unwrap();
                continue;
            }
            write!(
                out,
                "{a}2026-09-01{b}/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/app-{}{c}",
                i / 100
            )
            .unwrap();
        }
    }
    let out = pec(
        &data,
        &[
            "usage",
            "upload",
            path.to_str().unwrap(),
            "--partner",
            PARTNER,
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["status"], "rejected");
    assert_eq!(r["rows"], 1_000_000);
    assert_eq!(r["errorCount"], 1);
    assert_eq!(
        r["errors"],
        json!([{"line": 987_654, "column": "UnitPrice", "value": "NaN",
                "message": "not a decimal number: \"NaN\""}])
    );
    assert_eq!(holdings(&data), before, "nothing of the file is kept");
}
