//! `pec --store aws` against a local AWS emulator (moto, started by `tests/run.sh`; without
//! `PEC_TEST_AWS_ENDPOINT` this test fails): the same generated inputs through `pec` on the
//! embedded store and on the AWS store give the same statement, and the AWS ledger verifies.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

struct Target {
    store: &'static str,
    env: Vec<(String, String)>,
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
