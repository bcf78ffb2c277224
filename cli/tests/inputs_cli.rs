//! `pec usage upload` of Cost Management and FOCUS exports and `pec access import`, end to end
//! on the SPEC's example data (see `tests/tests/inputs.rs` for the same at the library level).

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;
use support::{code, examples, json, pec, stderr, SETTLE_SEPTEMBER_1_2};

const PARTNER: &str = "7a3c0000-0000-4000-8000-000000000001";
const CUSTOMER: &str = "bdd640fb-0667-4ad1-9c80-317fa3b1799d";
const AOBO_GROUP: &str = "878a0d66-d024-5b3d-b925-f58e6ac2ebe2";
const LH_USER: &str = "f0a91588-02ae-509e-a7d5-373bcffde1a7";
const TIMES: [&str; 5] = [
    "2026-09-01T00:05:00Z",
    "2026-09-01T12:05:00Z",
    "2026-09-02T00:05:00Z",
    "2026-09-02T12:05:00Z",
    "2026-09-03T00:05:00Z",
];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/tests/fixtures")
        .join(name)
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

fn settle_and_statement(data: &Path) -> Value {
    let out = pec(data, &SETTLE_SEPTEMBER_1_2);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
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
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    json(&out)
}

fn post_example_snapshots(data: &Path) {
    for i in 0..5 {
        let f = examples().join(format!("snapshot-{i}.json"));
        let out = pec(
            data,
            &[
                "access",
                "post",
                path(&f),
                "--partner",
                PARTNER,
                "--now",
                "2026-09-03T01:00:00Z",
            ],
        );
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
}

fn upload(data: &Path, file: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["usage", "upload", path(file), "--partner", PARTNER];
    args.extend_from_slice(extra);
    pec(data, &args)
}

#[test]
fn exports_upload_and_settle_like_the_dru_file() {
    let dru = tempfile::tempdir().expect("temp dir");
    let out = upload(dru.path(), &examples().join("daily-rated-usage.csv"), &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    post_example_snapshots(dru.path());
    let mut expected = settle_and_statement(dru.path());
    assert_eq!(expected["currencies"][0]["totals"]["listAmount"], "71.4624");
    // Names: the daily rated file gives the partner's and the customer's domain, which exports
    // do not carry (Cost Management has partnerName, FOCUS neither): compared without them.
    let customer = &expected["currencies"][0]["customers"][0];
    assert_eq!(customer["customerName"], "Customer bdd6");
    assert_eq!(customer["customerDomain"], "cbdd6.onmicrosoft.com");
    assert_eq!(expected["partnerName"], "Northwind Cloud Partner");
    let without_dru_only_names = |mut v: Value| {
        if let Some(o) = v.as_object_mut() {
            o.remove("partnerName");
        }
        if let Some(o) = v["currencies"][0]["customers"][0].as_object_mut() {
            o.remove("customerDomain");
        }
        v
    };
    expected = without_dru_only_names(expected);

    for name in ["cost-details-mca-partner.csv", "focus-1.2.csv"] {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path();
        // Without --mpn-id: a usage error naming the option; nothing stored.
        let out = upload(data, &fixture(name), &[]);
        assert_eq!(code(&out), 2, "{name}");
        assert!(stderr(&out).contains("--mpn-id"), "{}", stderr(&out));
        assert!(out.stdout.is_empty());

        let out = upload(data, &fixture(name), &["--mpn-id", "4100001"]);
        assert_eq!(code(&out), 0, "{name}: {}", stderr(&out));
        let receipt = json(&out);
        assert_eq!(receipt["status"], "accepted");
        assert_eq!(receipt["rows"], 8);
        assert!(
            stderr(&out).contains("accepted 8 row(s) of "),
            "{}",
            stderr(&out)
        );
        // The same bytes again: a duplicate.
        let again = upload(data, &fixture(name), &["--mpn-id", "4100001"]);
        assert_eq!(code(&again), 0);
        assert_eq!(json(&again)["status"], "duplicate");
        assert_eq!(json(&again)["uploadId"], receipt["uploadId"]);

        post_example_snapshots(data);
        assert_eq!(
            without_dru_only_names(settle_and_statement(data)),
            expected,
            "{name}"
        );
    }

    // A DRU file ignores --mpn-id (and says so); a bad export row is rejected with exit 3.
    let dir = tempfile::tempdir().expect("temp dir");
    let out = upload(
        dir.path(),
        &examples().join("daily-rated-usage.csv"),
        &["--mpn-id", "999"],
    );
    assert_eq!(code(&out), 0);
    assert!(stderr(&out).contains("--mpn-id is ignored"));
    let bad = dir.path().join("bad.csv");
    let text = std::fs::read_to_string(fixture("focus-1.0.csv")).expect("fixture");
    std::fs::write(&bad, text.replacen(",true,0.15,", ",true,1.5,", 1)).expect("write");
    let out = upload(dir.path(), &bad, &["--mpn-id", "4100001"]);
    assert_eq!(code(&out), 3);
    let receipt = json(&out);
    assert_eq!(receipt["status"], "rejected");
    assert_eq!(receipt["errors"][0]["line"], 2);
    assert_eq!(receipt["errors"][0]["column"], "x_PartnerCreditRate");
}

/// `az role assignment list` at example time `i` (the Lighthouse user's assignment gone after
/// the second), written into `dir`.
fn az_file(dir: &Path, i: usize) -> PathBuf {
    let rows: Value = serde_json::from_slice(
        &std::fs::read(fixture("az-role-assignment-list.json")).expect("az"),
    )
    .expect("json");
    let listed: Vec<Value> = rows
        .as_array()
        .expect("array")
        .iter()
        .filter(|r| i < 2 || r["principalId"] != LH_USER)
        .cloned()
        .collect();
    let f = dir.join(format!("az-{i}.json"));
    std::fs::write(&f, serde_json::to_vec_pretty(&listed).expect("json")).expect("write");
    f
}

fn import(data: &Path, file: &Path, time: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "access",
        "import",
        path(file),
        "--partner",
        PARTNER,
        "--customer",
        CUSTOMER,
        "--taken-at",
        time,
        "--now",
        "2026-09-03T01:00:00Z",
    ];
    args.extend_from_slice(extra);
    pec(data, &args)
}

#[test]
fn access_import_stores_snapshots_that_settle_like_the_examples() {
    let reference = tempfile::tempdir().expect("temp dir");
    assert_eq!(
        code(&upload(
            reference.path(),
            &examples().join("daily-rated-usage.csv"),
            &[]
        )),
        0
    );
    post_example_snapshots(reference.path());
    let expected = settle_and_statement(reference.path());

    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    assert_eq!(
        code(&upload(
            &data,
            &examples().join("daily-rated-usage.csv"),
            &[]
        )),
        0
    );
    let lh = format!("{LH_USER}=LIGHTHOUSE");
    let principals = [
        "--principal-id",
        AOBO_GROUP,
        "--principal-id",
        lh.as_str(),
        "--pal",
        "4100001",
    ];
    for (i, time) in TIMES.iter().enumerate() {
        let f = az_file(dir.path(), i);
        let out = import(&data, &f, time, &principals);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let receipt = json(&out);
        assert_eq!(receipt["status"], "accepted", "{receipt}");
        assert!(stderr(&out).contains("imported "), "{}", stderr(&out));
        // Again: the same snapshot id, a duplicate.
        let again = import(&data, &f, time, &principals);
        assert_eq!(code(&again), 0);
        assert_eq!(json(&again)["status"], "duplicate");
        assert_eq!(json(&again)["snapshotId"], receipt["snapshotId"]);
    }
    assert_eq!(settle_and_statement(&data), expected);

    // The Resource Graph export, told from its shape or named.
    let arg = fixture("arg-authorizationresources.json");
    let out = import(&data, &arg, "2026-09-03T00:30:00Z", &principals);
    assert_eq!(json(&out)["status"], "accepted", "{}", stderr(&out));
    let out = import(
        &data,
        &arg,
        "2026-09-03T00:30:00Z",
        &[&["--format", "arg"], &principals[..]].concat(),
    );
    assert_eq!(json(&out)["status"], "duplicate");
    // Named wrongly: rejected with the path of the problem.
    let out = import(&data, &arg, "2026-09-03T00:40:00Z", &["--format", "az"]);
    assert_eq!(code(&out), 3);
    let receipt = json(&out);
    assert_eq!(receipt["status"], "rejected");
    assert_eq!(receipt["snapshotId"], Value::Null);
    assert_eq!(receipt["errors"][0]["path"], "$");
    // Without principals: a warning; LIGHTHOUSE without --pal: another.
    let out = import(
        &data,
        &arg,
        "2026-09-03T00:50:00Z",
        &["--access-type", "lighthouse"],
    );
    assert_eq!(code(&out), 0);
    assert!(
        stderr(&out).contains("no --principal-id"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("no --pal"), "{}", stderr(&out));
    // takenAt in the future (of --now): rejected like a posted snapshot.
    let out = import(&data, &arg, "2026-09-04T00:00:00Z", &principals);
    assert_eq!(code(&out), 3);
    assert_eq!(json(&out)["errors"][0]["path"], "$.takenAt");
}

#[test]
fn access_import_usage_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path();
    let az = fixture("az-role-assignment-list.json");
    for (extra, what) in [
        (&["--access-type", "RESELLER"][..], "--access-type"),
        (&["--assignment-type", "sometimes"][..], "--assignment-type"),
        (&["--principal-id", "=AOBO"][..], "--principal-id"),
        (&["--principal-id", "p=OWNER"][..], "--principal-id"),
        (&["--format", "csv"][..], "--format"),
    ] {
        let out = import(data, &az, "2026-09-01T00:05:00Z", extra);
        assert_eq!(code(&out), 2, "{extra:?}");
        assert!(stderr(&out).contains(what), "{}", stderr(&out));
    }
    let out = pec(
        data,
        &[
            "access",
            "import",
            path(&az),
            "--partner",
            PARTNER,
            "--customer",
            " ",
            "--taken-at",
            "2026-09-01T00:05:00Z",
        ],
    );
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("--customer"));
    let out = pec(
        data,
        &[
            "access",
            "import",
            path(&az),
            "--partner",
            PARTNER,
            "--customer",
            CUSTOMER,
        ],
    );
    assert_eq!(code(&out), 2, "--taken-at is required");
    let out = import(
        data,
        &data.join("missing.json"),
        "2026-09-01T00:05:00Z",
        &[],
    );
    assert_eq!(code(&out), 2);
}

/// A listing without principal types (Microsoft's REST listing): exit 3 naming the path and the
/// flags; then imported with the types given per principal (`ID=TYPE`, with an access type too)
/// or for all (`--principal-type`); a wrong type names the flag (issue 16, part 5).
#[test]
fn a_listing_without_principal_types_is_imported_with_the_flags() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let rows: Value = serde_json::from_slice(
        &std::fs::read(fixture("az-role-assignment-list.json")).expect("az"),
    )
    .expect("json");
    let untyped: Vec<Value> = rows
        .as_array()
        .expect("array")
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.as_object_mut().expect("row").remove("principalType");
            r
        })
        .collect();
    let file = dir.path().join("rest.json");
    std::fs::write(
        &file,
        serde_json::to_vec(&serde_json::json!({ "value": untyped })).expect("json"),
    )
    .expect("write");
    let aobo = "878a0d66-d024-5b3d-b925-f58e6ac2ebe2";
    let out = import(
        &data,
        &file,
        "2026-09-01T00:05:00Z",
        &["--principal-id", aobo],
    );
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let receipt: Value = serde_json::from_slice(&out.stdout).expect("receipt");
    let first = &receipt["errors"][0];
    assert_eq!(first["path"], "$.value[0].principalType");
    assert!(
        first["message"]
            .as_str()
            .unwrap_or_default()
            .contains("--principal-type"),
        "{first}"
    );
    let per_principal = format!("{aobo}=AOBO,ForeignGroup");
    let out = import(
        &data,
        &file,
        "2026-09-01T00:05:00Z",
        &["--principal-id", &per_principal],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = import(
        &data,
        &file,
        "2026-09-01T00:06:00Z",
        &["--principal-id", aobo, "--principal-type", "foreigngroup"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // Two types of one kind for a principal: which would win is not guessed.
    let twice = format!("{aobo}=Group,User");
    let out = import(
        &data,
        &file,
        "2026-09-01T00:07:00Z",
        &["--principal-id", &twice],
    );
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("more than one principal type"),
        "{}",
        stderr(&out)
    );
    let out = import(
        &data,
        &file,
        "2026-09-01T00:07:00Z",
        &["--principal-type", "Device"],
    );
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("--principal-type"),
        "{}",
        stderr(&out)
    );
}
