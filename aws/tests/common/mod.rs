//! Test set-up against a local AWS emulator (moto, started by `tests/run.sh`): uniquely named
//! tables, bucket, queue and parameters per test, created with the SAM template's key schema.
#![allow(dead_code)]

use chrono::{DateTime, NaiveDate, Utc};
use pec_aws::{provision, Aws, AwsEnv, Clients};
use std::sync::Arc;

/// The emulator's URL. Tests that need AWS fail (they do not skip) without it.
pub fn endpoint() -> String {
    match std::env::var("PEC_TEST_AWS_ENDPOINT") {
        Ok(v) if !v.trim().is_empty() => v,
        _ => panic!(
            "PEC_TEST_AWS_ENDPOINT is not set: these tests run against a local AWS emulator; \
             run ./tests/run.sh, which starts one (moto) and sets it"
        ),
    }
}

/// A fresh set of AWS resources and the runtime the SDK runs on. Handlers and stores are called
/// from the test's own thread, which is not a runtime thread, as the functions call them from
/// `spawn_blocking`.
pub struct TestAws {
    pub aws: Arc<Aws>,
    pub rt: tokio::runtime::Runtime,
}

pub fn setup() -> TestAws {
    let endpoint = endpoint();
    let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    let mut env = AwsEnv {
        ledger_table: format!("pec-ledger-{id}"),
        state_table: format!("pec-state-{id}"),
        bucket: format!("pec-test-{id}"),
        secrets_prefix: format!("/pec-test-{id}/webhook-secrets/"),
        settle_queue_url: String::new(),
        endpoint_url: Some(endpoint),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let aws = rt.block_on(async {
        let clients = Clients::new(&env).await;
        let queue = provision::create_all(&env, &clients, Some(&format!("pec-settle-{id}")))
            .await
            .expect("create test resources");
        env.settle_queue_url = queue.unwrap_or_default();
        Aws::with_clients(env, clients).await.expect("connect")
    });
    TestAws {
        aws: Arc::new(aws),
        rt,
    }
}

pub fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
}

pub fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("test time")
        .with_timezone(&Utc)
}
