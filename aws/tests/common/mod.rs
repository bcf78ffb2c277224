//! Test set-up against a local AWS emulator (moto, started by `tests/run.sh`): uniquely named
//! tables, bucket, queue and parameters per test, created with the SAM template's key schema.
#![allow(dead_code)]

pub mod proxy;

use chrono::{DateTime, Utc};
use pec_aws::{provision, Aws, AwsEnv, ClientSettings, Clients};
use proxy::FaultProxy;
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
    let rt = runtime();
    let endpoint = endpoint();
    setup_on(rt, &endpoint, &ClientSettings::default())
}

/// [`setup`] with the clients going through a [`FaultProxy`] in front of the emulator (it
/// forwards everything until a plan is set), with these client settings.
pub fn setup_proxied(settings: &ClientSettings) -> (TestAws, FaultProxy) {
    let rt = runtime();
    let proxy = FaultProxy::start(&rt, &endpoint());
    let url = proxy.url.clone();
    (setup_on(rt, &url, settings), proxy)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn setup_on(rt: tokio::runtime::Runtime, endpoint: &str, settings: &ClientSettings) -> TestAws {
    let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    let mut env = AwsEnv {
        ledger_table: format!("pec-ledger-{id}"),
        state_table: format!("pec-state-{id}"),
        bucket: format!("pec-test-{id}"),
        secrets_prefix: format!("/pec-test-{id}/webhook-secrets/"),
        settle_queue_url: String::new(),
        endpoint_url: Some(endpoint.to_string()),
        alert_topic_arn: None,
    };
    let aws = rt.block_on(async {
        // The functions' clients: credentials and region from the environment (tests/aws-emulator.sh).
        let clients = Clients::for_lambda_with_settings(&env, settings, |k| std::env::var(k).ok())
            .expect("AWS_REGION is set");
        let queue = provision::create_all(&env, &clients, Some(&format!("pec-settle-{id}")))
            .await
            .expect("create test resources");
        env.settle_queue_url = queue.unwrap_or_default();
        #[cfg(feature = "alerts")]
        {
            let topic = clients
                .sns()
                .create_topic()
                .name(format!("pec-alerts-{id}"))
                .send()
                .await
                .expect("create the alert topic");
            env.alert_topic_arn = topic.topic_arn;
        }
        Aws::with_clients(env, clients).await.expect("connect")
    });
    TestAws {
        aws: Arc::new(aws),
        rt,
    }
}

pub use pec_testkit::{d, t};

/// One partner's generated inputs, read into memory.
#[derive(Debug, Clone)]
pub struct PartnerInputs {
    pub partner_id: String,
    /// (file name, bytes) in upload order.
    pub usage: Vec<(String, Vec<u8>)>,
    /// Snapshot bodies in posting order.
    pub snapshots: Vec<Vec<u8>>,
}

/// A generated data set (`pec generate`), read into memory.
pub fn generated(options: &pec_generate::GenerateOptions) -> Vec<PartnerInputs> {
    let dir = tempfile::tempdir().expect("temp dir");
    let set = pec_generate::generate(options, dir.path()).expect("generate");
    set.partners
        .iter()
        .map(|p| PartnerInputs {
            partner_id: p.partner_id.clone(),
            usage: p
                .usage_files
                .iter()
                .map(|f| {
                    let name = f
                        .file_name()
                        .expect("file name")
                        .to_string_lossy()
                        .to_string();
                    (name, std::fs::read(f).expect("usage file"))
                })
                .collect(),
            snapshots: p
                .snapshot_files
                .iter()
                .map(|f| std::fs::read(f).expect("snapshot file"))
                .collect(),
        })
        .collect()
}

/// Ingests every usage file (each must be accepted or a duplicate).
pub fn upload_all(
    aws: &Aws,
    inputs: &[PartnerInputs],
    now: DateTime<Utc>,
) -> Result<(), pec_ledger::store::StoreError> {
    use pec_ledger::ingest::{ingest_usage_file, UploadStatus};
    for p in inputs {
        for (name, bytes) in &p.usage {
            let r = ingest_usage_file(
                &aws.store,
                &aws.config,
                &p.partner_id,
                name,
                bytes.as_slice(),
                now,
            )?;
            assert_ne!(r.status, UploadStatus::Rejected, "{name}: {:?}", r.errors);
        }
    }
    Ok(())
}

/// Posts every snapshot (each must be accepted or a duplicate).
pub fn post_all(
    aws: &Aws,
    inputs: &[PartnerInputs],
    now: DateTime<Utc>,
) -> Result<(), pec_ledger::store::StoreError> {
    for p in inputs {
        for body in &p.snapshots {
            let r = pec_ledger::ingest::post_snapshot(&aws.store, &p.partner_id, body, now)?;
            assert!(
                matches!(
                    r.status,
                    pec_ledger::ingest::SnapshotStatus::Accepted
                        | pec_ledger::ingest::SnapshotStatus::Duplicate
                ),
                "snapshot {:?}: {:?} {:?}",
                r.snapshot_id,
                r.status,
                r.errors
            );
        }
    }
    Ok(())
}

/// Settlement options over `[from, through]` with a fixed run id (as a redelivered shard
/// message carries).
pub fn run(
    from: &str,
    through: &str,
    now: &str,
    run_id: &str,
) -> pec_ledger::settle::SettleOptions {
    pec_ledger::settle::SettleOptions {
        from: d(from),
        through: d(through),
        now: t(now),
        run_id: run_id.to_string(),
        full: false,
        batch_entries: pec_ledger::settle::BATCH_ENTRIES,
    }
}

/// Every ledger entry as `{resource-day} #{seq} {canonical JSON} {hash}`, sorted: two ledgers
/// are equal entry by entry when these lists are.
pub fn ledger(store: &dyn pec_ledger::store::Store) -> Vec<String> {
    let mut out = Vec::new();
    store
        .for_each_entry(&pec_ledger::store::EntryFilter::default(), &mut |e| {
            out.push(format!(
                "{} #{:010} {} {}",
                e.key,
                e.seq,
                e.canonical_json(),
                e.hash
            ));
            Ok(())
        })
        .expect("read the ledger");
    out.sort();
    out
}

/// `verify` passes and counts these entries.
pub fn assert_verifies(store: &dyn pec_ledger::store::Store, entries: usize) {
    let report = pec_ledger::verify::verify(store).expect("verify");
    assert!(report.ok, "verify: {:?}", report.breaks);
    assert_eq!(report.entries, entries as u64);
}

/// An S3 ObjectCreated event for `bucket/key` (key URL-encoded as S3 sends it), created at
/// `event_time`.
pub fn s3_event(
    bucket: &str,
    key: &str,
    event_time: &str,
) -> aws_lambda_events::event::s3::S3Event {
    serde_json::from_value(serde_json::json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": event_time, "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8"},
        "s3": {
            "s3SchemaVersion": "1.0", "configurationId": "usage-uploaded",
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                       "arn": format!("arn:aws:s3:::{bucket}")},
            "object": {"key": key, "size": 1024, "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                       "sequencer": "0055AED6DCD90281E5"}
        }
    }]}))
    .expect("S3 event")
}
