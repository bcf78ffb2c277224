//! `pec --store aws` against a local AWS emulator (moto, started by `tests/run.sh`; without
//! `PEC_TEST_AWS_ENDPOINT` this test fails): the same generated inputs through `pec` on the
//! embedded store and on the AWS store give the same statement, and the AWS ledger verifies.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

struct Target {
    store: &'static str,
    env: Vec<(String, String)>,
    /// The AWS resources (`--store aws` only).
    aws: Option<pec_aws::AwsEnv>,
}

impl Target {
    fn pec(&self, data: &Path, args: &[&str]) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_pec"));
        c.arg("--data-dir").arg(data).arg("--store").arg(self.store);
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c.args(args).output().expect("run pec")
    }

    fn ok(&self, data: &Path, args: &[&str]) -> Value {
        let out = self.pec(data, args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "pec --store {} {args:?}: {}",
            self.store,
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }
}

fn aws_target() -> Target {
    let endpoint = match std::env::var("PEC_TEST_AWS_ENDPOINT") {
        Ok(v) if !v.is_empty() => v,
        _ => panic!("PEC_TEST_AWS_ENDPOINT is not set: run ./tests/run.sh, which starts a local AWS emulator"),
    };
    let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    let env = pec_aws::AwsEnv {
        ledger_table: format!("pec-cli-ledger-{id}"),
        state_table: format!("pec-cli-state-{id}"),
        bucket: format!("pec-cli-{id}"),
        secrets_prefix: format!("/pec-cli-{id}/webhook-secrets/"),
        settle_queue_url: String::new(),
        endpoint_url: Some(endpoint.clone()),
        alert_topic_arn: None,
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let clients = pec_aws::Clients::new(&env).await;
        pec_aws::provision::create_all(&env, &clients, None)
            .await
            .expect("create test resources");
    });
    Target {
        store: "aws",
        aws: Some(env.clone()),
        env: vec![
            ("PEC_LEDGER_TABLE".into(), env.ledger_table),
            ("PEC_STATE_TABLE".into(), env.state_table),
            ("PEC_BUCKET".into(), env.bucket),
            ("PEC_SECRETS_PREFIX".into(), env.secrets_prefix),
            ("PEC_AWS_ENDPOINT_URL".into(), endpoint),
        ],
    }
}

#[test]
fn pec_on_the_aws_store_matches_the_embedded_store() {
    let aws = aws_target();
    let local = Target {
        store: "sqlite",
        env: vec![],
        aws: None,
    };
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("in");
    let generated = local.ok(
        dir.path(),
        &[
            "generate",
            "--out",
            inputs.to_str().unwrap(),
            "--partners",
            "1",
            "--customers",
            "2",
            "--subscriptions",
            "1",
            "--resources",
            "2",
            "--days",
            "3",
            "--snapshot-hours",
            "12",
        ],
    );
    let partner = generated["partners"][0]["partnerId"]
        .as_str()
        .unwrap()
        .to_string();
    let now = "2026-09-05T02:00:00Z";
    let mut statements = Vec::new();
    for target in [&local, &aws] {
        let data = dir.path().join(target.store);
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let s = target.ok(&data, &["partner", "set-secret", &partner, secret]);
        assert_eq!(s["activeSecrets"], 1);
        for f in generated["partners"][0]["usageFiles"].as_array().unwrap() {
            let path = inputs.join(f.as_str().unwrap());
            let r = target.ok(
                &data,
                &[
                    "usage",
                    "upload",
                    path.to_str().unwrap(),
                    "--partner",
                    &partner,
                ],
            );
            assert_eq!(r["status"], "accepted");
            let again = target.ok(
                &data,
                &[
                    "usage",
                    "upload",
                    path.to_str().unwrap(),
                    "--partner",
                    &partner,
                ],
            );
            assert_eq!(again["status"], "duplicate");
        }
        for f in generated["partners"][0]["snapshotFiles"]
            .as_array()
            .unwrap()
        {
            let path = inputs.join(f.as_str().unwrap());
            let r = target.ok(
                &data,
                &[
                    "access",
                    "post",
                    path.to_str().unwrap(),
                    "--partner",
                    &partner,
                    "--now",
                    now,
                ],
            );
            assert_eq!(r["status"], "accepted");
        }
        let summary = target.ok(&data, &["settle", "--through", "2026-09-04", "--now", now]);
        assert!(summary["entriesAppended"].as_u64().unwrap() > 0);
        let again = target.ok(&data, &["settle", "--through", "2026-09-04", "--now", now]);
        assert_eq!(again["entriesAppended"], 0);
        let report = target.ok(&data, &["verify"]);
        assert_eq!(report["ok"], true);
        statements.push(target.ok(
            &data,
            &[
                "statement",
                "--partner",
                &partner,
                "--month",
                "2026-09",
                "--as-of",
                now,
            ],
        ));
    }
    assert!(!statements[0]["currencies"].as_array().unwrap().is_empty());
    assert_eq!(statements[0], statements[1]);
    let out = aws.pec(dir.path(), &["demo"]);
    assert_eq!(out.status.code(), Some(2), "demo is local only");
}

/// Tamper evidence on DynamoDB (issue 4, item 8): ledger items changed or deleted behind the
/// product's back (raw `UpdateItem`/`DeleteItem`, as someone with table access could) make
/// `pec --store aws verify` exit 4 and name the resource-day and entry; put back, it verifies.
#[test]
fn pec_verify_on_the_aws_store_names_a_changed_or_deleted_entry() {
    let aws = aws_target();
    let local = Target {
        store: "sqlite",
        env: vec![],
        aws: None,
    };
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("in");
    let generated = local.ok(
        dir.path(),
        &[
            "generate",
            "--out",
            inputs.to_str().unwrap(),
            "--partners",
            "1",
            "--customers",
            "1",
            "--subscriptions",
            "1",
            "--resources",
            "2",
            "--days",
            "2",
            "--snapshot-hours",
            "12",
        ],
    );
    let partner = generated["partners"][0]["partnerId"]
        .as_str()
        .unwrap()
        .to_string();
    let data = dir.path().join("aws");
    let files = |kind: &str| -> Vec<String> {
        generated["partners"][0][kind]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                inputs
                    .join(f.as_str().unwrap())
                    .to_string_lossy()
                    .to_string()
            })
            .collect()
    };
    for f in files("usageFiles") {
        aws.ok(&data, &["usage", "upload", &f, "--partner", &partner]);
    }
    // Settled before any snapshot (every day lost), then again with the snapshots: each
    // resource-day with access gets an adjustment (seq 1).
    aws.ok(
        &data,
        &[
            "settle",
            "--through",
            "2026-09-02",
            "--now",
            "2026-09-03T01:00:00Z",
        ],
    );
    for f in files("snapshotFiles") {
        aws.ok(
            &data,
            &[
                "access",
                "post",
                &f,
                "--partner",
                &partner,
                "--now",
                "2026-09-03T01:30:00Z",
            ],
        );
    }
    aws.ok(
        &data,
        &[
            "settle",
            "--through",
            "2026-09-02",
            "--now",
            "2026-09-03T02:00:00Z",
        ],
    );
    let report = aws.ok(&data, &["verify"]);
    assert_eq!(report["ok"], true);

    let env = aws.aws.clone().expect("AWS resources");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let clients = rt.block_on(pec_aws::Clients::new(&env));
    let db = &clients.dynamodb;
    let items = rt
        .block_on(db.scan().table_name(&env.ledger_table).send())
        .expect("scan")
        .items
        .unwrap_or_default();
    assert_eq!(items.len() as u64, report["entries"].as_u64().unwrap());
    // Format 2 items: `pk` = partner#customer#date, `sk` = resource#currency#seq.
    let seq_of = |i: &pec_aws::dynamo::Item| -> u32 {
        let sk = i["sk"].as_s().unwrap();
        sk.rsplit('#').next().unwrap().parse().unwrap()
    };
    let rd_of = |i: &pec_aws::dynamo::Item| -> (String, String) {
        let sk = i["sk"].as_s().unwrap();
        let (rd, _) = sk.rsplit_once('#').unwrap();
        (i["pk"].as_s().unwrap().clone(), rd.to_string())
    };
    // A resource-day with an adjustment: its two items.
    let adjusted = items
        .iter()
        .find(|i| seq_of(i) == 1)
        .expect("an adjusted resource-day");
    let first = items
        .iter()
        .find(|i| seq_of(i) == 0 && rd_of(i) == rd_of(adjusted))
        .expect("its first entry")
        .clone();
    let second = adjusted.clone();
    let (pk, rd_sk) = rd_of(&second);
    let [p, c, date] = <[&str; 3]>::try_from(pk.splitn(3, '#').collect::<Vec<_>>()).unwrap();
    let (resource, currency) = rd_sk.rsplit_once('#').unwrap();
    let rd = format!("{p} {c} {resource} {date} {currency}");
    let customer_date = format!("customer-date {p} {c} {date}");
    let on_date = items
        .iter()
        .filter(|i| i["pk"].as_s().unwrap() == &pk)
        .count();
    let key = |i: &pec_aws::dynamo::Item| {
        (
            i["pk"].as_s().unwrap().clone(),
            i["sk"].as_s().unwrap().clone(),
        )
    };
    let put_back = |i: &pec_aws::dynamo::Item| {
        rt.block_on(
            db.put_item()
                .table_name(&env.ledger_table)
                .set_item(Some(i.clone()))
                .send(),
        )
        .expect("put back");
    };
    let delete = |i: &pec_aws::dynamo::Item| {
        let (pk, sk) = key(i);
        rt.block_on(
            db.delete_item()
                .table_name(&env.ledger_table)
                .key("pk", pec_aws::dynamo::s(pk))
                .key("sk", pec_aws::dynamo::s(sk))
                .send(),
        )
        .expect("DeleteItem");
    };
    let set_entry = |i: &pec_aws::dynamo::Item, text: String| {
        let (pk, sk) = key(i);
        rt.block_on(
            db.update_item()
                .table_name(&env.ledger_table)
                .key("pk", pec_aws::dynamo::s(pk))
                .key("sk", pec_aws::dynamo::s(sk))
                .update_expression("SET #e = :e")
                .expression_attribute_names("#e", "f")
                .expression_attribute_values(":e", pec_aws::dynamo::s(text))
                .send(),
        )
        .expect("UpdateItem");
    };
    let broken = |case: &str, expected: Vec<(&str, Option<u32>, String)>| {
        let out = aws.pec(&data, &["verify"]);
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(4), "{case}: {stderr}");
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["ok"], false);
        let got: Vec<(String, Option<u32>, String)> = report["breaks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                (
                    b["resourceDay"].as_str().unwrap().to_string(),
                    b["seq"].as_u64().map(|s| s as u32),
                    b["problem"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let want: Vec<(String, Option<u32>, String)> = expected
            .into_iter()
            .map(|(day, seq, p)| (day.to_string(), seq, p))
            .collect();
        assert_eq!(got, want, "{case}");
        let named = want.first().map(|w| w.0.clone()).unwrap_or_default();
        assert!(
            stderr.contains(&format!("BREAK {named}")),
            "{case}: {stderr}"
        );
    };
    let missing = |held: usize| {
        format!(
            "{on_date} entries were appended to this customer-date, the ledger holds {held} \
             (entries deleted or added outside the ledger)"
        )
    };
    let verified = || {
        let r = aws.ok(&data, &["verify"]);
        assert_eq!(r["ok"], true);
    };

    // 1. The first entry's earned credit changed in place (the fourth of its figures).
    let figures = first["f"].as_s().unwrap().clone();
    let mut parts: Vec<&str> = figures.split('|').collect();
    parts[3] = "999";
    set_entry(&first, parts.join("|"));
    broken(
        "an entry's figure changed",
        vec![(
            &rd,
            Some(0),
            "hash does not match the entry's content (entry changed)".into(),
        )],
    );
    put_back(&first);
    verified();

    // 2. The adjustment deleted: the chain still holds, the customer-date's count does not.
    delete(&second);
    broken(
        "the last entry deleted",
        vec![(&customer_date, None, missing(on_date - 1))],
    );
    put_back(&second);
    verified();

    // 3. The first entry deleted.
    delete(&first);
    broken(
        "the first entry deleted",
        vec![
            (
                &rd,
                Some(1),
                "sequence gap: expected entry 0, found 1".into(),
            ),
            (
                &rd,
                Some(1),
                "chain broken: prevHash is not the previous entry's hash".into(),
            ),
            (&rd, Some(1), "entry 0 should be SETTLEMENT".into()),
            (&customer_date, None, missing(on_date - 1)),
        ],
    );
    put_back(&first);
    verified();

    // 4. Both deleted.
    delete(&first);
    delete(&second);
    broken(
        "the resource-day's entries deleted",
        vec![(&customer_date, None, missing(on_date - 2))],
    );
    put_back(&first);
    put_back(&second);
    verified();

    // 5. The entry replaced by something that is not an entry at all: exit 4, one break that
    // names the entry (the walk cannot go on past an item it cannot read).
    set_entry(&second, "gone".into());
    let out = aws.pec(&data, &["verify"]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let breaks = report["breaks"].as_array().unwrap();
    assert_eq!(breaks.len(), 1, "{report}");
    assert_eq!(breaks[0]["resourceDay"].as_str(), Some(rd.as_str()));
    assert_eq!(breaks[0]["seq"].as_u64(), Some(1));
    let problem = breaks[0]["problem"].as_str().unwrap();
    assert!(
        problem.starts_with("entry cannot be read (changed outside the ledger): ")
            && problem.ends_with("; verification stopped here"),
        "{problem}"
    );
    put_back(&second);
    verified();
}
