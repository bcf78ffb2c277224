//! Faults from AWS, injected by a proxy in front of moto (`common::proxy`): throttling, 5xx,
//! connection resets, lost responses, hangs past the client's timeouts, unprocessed batch items,
//! cancelled transactions, S3 bodies cut or stalled mid-stream, and a process that dies after
//! its Nth DynamoDB write. Each run is compared, entry by entry, with a clean run; nothing is
//! lost, nothing doubled, and `verify` passes.

mod common;

use common::proxy::{Fault, FaultProxy, Service};
use common::{
    assert_verifies, generated, ledger, post_all, run, setup_proxied, upload_all, PartnerInputs,
    TestAws,
};
use pec_aws::handlers::usage_upload;
use pec_aws::ClientSettings;
use pec_generate::GenerateOptions;
use pec_ledger::ingest::UploadStatus;
use pec_ledger::settle::settle;
use pec_ledger::store::{ObjectStore, UsageStore};
use std::time::{Duration, Instant};

/// Short timeouts and backoffs so that faulty runs stay quick (the production values are
/// checked in `production_clients_time_out_and_retry_a_hung_request`).
fn fast() -> ClientSettings {
    ClientSettings {
        connect_timeout: Duration::from_secs(1),
        read_timeout: Duration::from_secs(3),
        attempt_timeout: Duration::from_secs(3),
        operation_timeout: Duration::from_secs(30),
        max_attempts: 10,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(100),
        stall_grace: Duration::from_secs(1),
    }
}

/// Longer than [`fast`]'s attempt timeout.
const HANG: Duration = Duration::from_secs(4);

fn inputs() -> Vec<PartnerInputs> {
    generated(&GenerateOptions {
        seed: 11,
        partners: 1,
        customers_per_partner: 2,
        subscriptions_per_customer: 1,
        resources_per_subscription: 3,
        start: common::d("2026-09-01"),
        days: 3,
        snapshot_interval_hours: 12,
        gzip: false,
    })
}

const UPLOADED: &str = "2026-09-04T00:30:00Z";
const POSTED: &str = "2026-09-04T01:00:00Z";

/// The whole pipeline: usage files, a first settlement before any snapshot (every day lost for
/// want of evidence), the snapshots, and a second settlement (adjustments for the days that
/// had access, with heads at seq 1).
fn pipeline(aws: &pec_aws::Aws, inputs: &[PartnerInputs]) -> Result<(), String> {
    let e = |e: pec_ledger::store::StoreError| e.to_string();
    upload_all(aws, inputs, common::t(UPLOADED)).map_err(e)?;
    settle(&aws.store, &aws.config, &first_run()).map_err(e)?;
    post_all(aws, inputs, common::t(POSTED)).map_err(e)?;
    settle(&aws.store, &aws.config, &second_run()).map_err(e)?;
    Ok(())
}

/// Batches of about 5 entries (a customer-date or two): each settlement writes in several
/// transactions, so that a crash can fall between them.
fn first_run() -> pec_ledger::settle::SettleOptions {
    pec_ledger::settle::SettleOptions {
        batch_entries: 5,
        ..run("2026-09-01", "2026-09-03", "2026-09-04T00:45:00Z", "run-1")
    }
}

fn second_run() -> pec_ledger::settle::SettleOptions {
    pec_ledger::settle::SettleOptions {
        batch_entries: 5,
        ..run("2026-09-01", "2026-09-03", "2026-09-04T02:00:00Z", "run-2")
    }
}

/// The clean ledger, and the number of DynamoDB writes each settlement sends.
fn clean(inputs: &[PartnerInputs]) -> (Vec<String>, usize, usize) {
    let (env, proxy) = setup_proxied(&fast());
    let aws = &env.aws;
    upload_all(aws, inputs, common::t(UPLOADED)).unwrap();
    proxy.reset_log();
    settle(&aws.store, &aws.config, &first_run()).unwrap();
    let first = proxy.writes();
    post_all(aws, inputs, common::t(POSTED)).unwrap();
    proxy.reset_log();
    let s = settle(&aws.store, &aws.config, &second_run()).unwrap();
    let second = proxy.writes();
    assert!(s.adjustments > 0, "the second run adjusts: {s:?}");
    let l = ledger(&aws.store);
    assert_verifies(&aws.store, l.len());
    (l, first, second)
}

/// Every faulted request was followed by a later request of the same operation that passed.
fn assert_retried(proxy: &FaultProxy) {
    let log = proxy.log();
    for (i, l) in log.iter().enumerate() {
        if l.fault != Fault::Pass {
            assert!(
                log[i + 1..]
                    .iter()
                    .any(|later| later.op == l.op && later.fault == Fault::Pass),
                "{} #{i} ({:?}) was never retried",
                l.op,
                l.fault
            );
        }
    }
}

#[test]
fn dynamodb_faults_are_retried_and_the_ledger_equals_a_clean_run() {
    let inputs = inputs();
    let (expected, _, _) = clean(&inputs);
    type Plan = Box<dyn FnMut(&common::proxy::Request) -> Fault + Send>;
    let dynamo = |r: &common::proxy::Request| r.service == Service::DynamoDb;
    let plans: Vec<(&str, Plan)> = vec![
        (
            "throttling (400 ThrottlingException / ProvisionedThroughputExceededException)",
            Box::new(
                move |r: &common::proxy::Request| match (dynamo(r), r.index % 6) {
                    (true, 0) => Fault::Dynamo(400, "ThrottlingException"),
                    (true, 3) => Fault::Dynamo(400, "ProvisionedThroughputExceededException"),
                    _ => Fault::Pass,
                },
            ),
        ),
        (
            "500 InternalServerError",
            Box::new(
                move |r: &common::proxy::Request| match (dynamo(r), r.index % 4) {
                    (true, 1) => Fault::Dynamo(500, "InternalServerError"),
                    _ => Fault::Pass,
                },
            ),
        ),
        (
            "connection reset before the request reaches DynamoDB",
            Box::new(
                move |r: &common::proxy::Request| match (dynamo(r), r.index % 5) {
                    (true, 2) => Fault::Reset,
                    _ => Fault::Pass,
                },
            ),
        ),
        (
            "write applied, response lost (connection reset after forwarding)",
            Box::new(|r: &common::proxy::Request| match r.write_index {
                Some(w) if w % 3 == 1 => Fault::LoseResponse,
                _ => Fault::Pass,
            }),
        ),
        (
            "request hangs past the attempt timeout, then is applied late",
            Box::new(
                |r: &common::proxy::Request| match (r.op.as_str(), r.op_index) {
                    ("GetItem", 0)
                    | ("Query", 7)
                    | ("BatchWriteItem", 2)
                    | ("TransactWriteItems", 3) => Fault::Hang(HANG),
                    _ => Fault::Pass,
                },
            ),
        ),
        (
            "BatchWriteItem / BatchGetItem return half their items unprocessed",
            Box::new(|r: &common::proxy::Request| {
                if matches!(r.op.as_str(), "BatchWriteItem" | "BatchGetItem")
                    && r.op_index.is_multiple_of(3)
                    && r.op_index < 60
                {
                    Fault::Unprocessed
                } else {
                    Fault::Pass
                }
            }),
        ),
        (
            "TransactWriteItems cancelled with TransactionConflict",
            Box::new(|r: &common::proxy::Request| {
                if r.op == "TransactWriteItems" && r.op_index.is_multiple_of(2) && r.op_index < 40 {
                    Fault::TransactionConflict
                } else {
                    Fault::Pass
                }
            }),
        ),
    ];
    for (name, plan) in plans {
        let (env, proxy) = setup_proxied(&fast());
        proxy.reset_log();
        proxy.set_plan(plan);
        let started = Instant::now();
        pipeline(&env.aws, &inputs).unwrap_or_else(|e| panic!("{name}: {e}"));
        proxy.pass();
        let faults = proxy.faults();
        let requests = proxy.log().len();
        assert!(faults > 0, "{name}: no fault was injected");
        assert_retried(&proxy);
        assert_eq!(
            ledger(&env.aws.store),
            expected,
            "{name}: the ledger differs"
        );
        assert_verifies(&env.aws.store, expected.len());
        if name.starts_with("TransactWriteItems") {
            // The store's own backoff (25 ms and more) between a cancelled transaction and
            // its retry (settlement writes sequentially, so the next one is the retry).
            let log = proxy.log();
            let twi: Vec<_> = log
                .iter()
                .filter(|l| l.op == "TransactWriteItems")
                .collect();
            for w in twi.windows(2) {
                if w[0].fault == Fault::TransactionConflict {
                    let gap = w[1].at.duration_since(w[0].at);
                    assert!(
                        gap >= Duration::from_millis(25),
                        "{name}: retried after {gap:?}"
                    );
                }
            }
        }
        if name.starts_with("BatchWriteItem") {
            let log = proxy.log();
            let unprocessed = |op: &str| {
                log.iter()
                    .filter(|l| l.op == op && l.fault == Fault::Unprocessed)
                    .count()
            };
            // Every batch read met the fault too (the run may make none: evidence written by
            // this store is known to it).
            let batch_gets = log.iter().filter(|l| l.op == "BatchGetItem").count();
            assert!(unprocessed("BatchWriteItem") > 0);
            assert!(batch_gets == 0 || unprocessed("BatchGetItem") > 0);
        }
        println!(
            "{name}: {faults} faults in {requests} requests, {:?}; ledger of {} entries equal, verify ok",
            started.elapsed(),
            expected.len()
        );
    }
}

/// A settlement whose process dies after its Nth DynamoDB write (every request after it
/// fails), for every N, in both settlements; the write itself either never lands, or lands
/// with its response lost. The run errors; a rerun of the same run without faults gives the
/// clean ledger and verify passes.
#[test]
fn settlement_dying_after_every_nth_write_then_rerun_equals_a_clean_run() {
    let inputs = inputs();
    let (expected, first_writes, second_writes) = clean(&inputs);
    assert!(
        first_writes >= 4 && second_writes >= 2,
        "{first_writes} + {second_writes}"
    );
    let mut runs = 0;
    for second in [false, true] {
        let writes = if second { second_writes } else { first_writes };
        for n in 0..writes {
            for lose_response in [false, true] {
                let (env, proxy) = setup_proxied(&fast());
                let aws = &env.aws;
                upload_all(aws, &inputs, common::t(UPLOADED)).unwrap();
                let opts = if second {
                    settle(&aws.store, &aws.config, &first_run()).unwrap();
                    post_all(aws, &inputs, common::t(POSTED)).unwrap();
                    second_run()
                } else {
                    first_run()
                };
                proxy.reset_log();
                let mut dead = false;
                proxy.set_plan(move |r| {
                    if dead {
                        return Fault::Crash;
                    }
                    match r.write_index {
                        Some(w) if w == n => {
                            dead = true;
                            if lose_response {
                                Fault::LoseResponse
                            } else {
                                Fault::Crash
                            }
                        }
                        _ => Fault::Pass,
                    }
                });
                let r = settle(&aws.store, &aws.config, &opts);
                assert!(r.is_err(), "write {n}: the run must fail, got {r:?}");
                proxy.pass();
                settle(&aws.store, &aws.config, &opts).expect("rerun");
                if second {
                    // The second settlement also re-checks the first one's resource-days.
                } else {
                    post_all(aws, &inputs, common::t(POSTED)).unwrap();
                    settle(&aws.store, &aws.config, &second_run()).unwrap();
                }
                assert_eq!(
                    ledger(&aws.store),
                    expected,
                    "run {} dying at write {n} (response lost: {lose_response})",
                    if second { 2 } else { 1 }
                );
                assert_verifies(&aws.store, expected.len());
                runs += 1;
            }
        }
    }
    println!(
        "{runs} crashed settlements ({first_writes} + {second_writes} write points x 2), each rerun equals the clean ledger"
    );
}

/// Usage files on S3 read through GetObject faults by the usage-upload handler.
#[test]
fn usage_upload_through_s3_faults_is_accepted_once_or_fails_cleanly() {
    let (env, proxy) = setup_proxied(&fast());
    let aws = &env.aws;
    let inputs = inputs();
    let p = &inputs[0];
    let (name, bytes) = &p.usage[0];
    assert!(bytes.len() > 4000, "a file of several KB: {}", bytes.len());
    let key = format!("uploads/{}/{name}", p.partner_id);
    aws.objects.put_object(&key, bytes, "text/csv").unwrap();
    let event = common::s3_event(&aws.env.bucket, &key, "2026-09-04T00:30:00.000Z");
    let now = common::t(UPLOADED);
    let gets = |proxy: &FaultProxy| proxy.attempts("GetObject");

    // Cut mid-stream, and stalled mid-stream: the invocation fails (S3 redelivers the event)
    // and nothing of the file is kept: no receipt, no accepted upload, no usage.
    for fault in [Fault::CutBody(2000), Fault::StallBody(2000)] {
        proxy.reset_log();
        let f = fault.clone();
        proxy.set_plan(move |r| {
            if r.op == "GetObject" && r.path.contains("/uploads/") {
                f.clone()
            } else {
                Fault::Pass
            }
        });
        let started = Instant::now();
        let err = usage_upload::handle(aws, &event, now).expect_err("the read fails");
        assert!(err.message.contains("reading the object failed"), "{err}");
        // Not the file's fault: the runtime is told a retry can help.
        assert!(err.is_retryable(), "{err:?}");
        assert_eq!(err.error_type(), "pec.Retryable");
        assert!(started.elapsed() < Duration::from_secs(20), "{fault:?}");
        proxy.pass();
        assert_nothing_kept(&env, &p.partner_id);
    }

    // 503 SlowDown twice, 500 InternalError, a hang past the timeout: retried by the SDK,
    // the file accepted once.
    proxy.reset_log();
    proxy.set_plan(|r| match (r.op.as_str(), r.op_index) {
        ("GetObject", 0 | 1) => Fault::S3(503, "SlowDown"),
        ("GetObject", 2) => Fault::S3(500, "InternalError"),
        ("GetObject", 3) => Fault::Hang(HANG),
        ("PutObject", 0) => Fault::S3(503, "SlowDown"),
        _ => Fault::Pass,
    });
    let out = usage_upload::handle(aws, &event, now).expect("retried");
    let receipt = out[0].receipt.clone().expect("receipt");
    assert_eq!(receipt.status, UploadStatus::Accepted);
    assert_eq!(gets(&proxy), 5, "4 faulty attempts and the good one");
    assert_eq!(proxy.attempts("PutObject"), 2, "the receipt, retried once");
    proxy.pass();
    let receipts = aws
        .objects
        .list(&format!("receipts/{}/", p.partner_id))
        .unwrap();
    assert_eq!(
        receipts,
        vec![format!(
            "receipts/{}/{}.json",
            p.partner_id, receipt.upload_id
        )]
    );

    // Delivered again: a duplicate, nothing more.
    let again = usage_upload::handle(aws, &event, now).unwrap();
    assert_eq!(
        again[0].receipt.as_ref().map(|r| r.status),
        Some(UploadStatus::Duplicate)
    );
    assert_eq!(
        aws.objects
            .list(&format!("receipts/{}/", p.partner_id))
            .unwrap()
            .len(),
        1
    );
}

/// The upload is accepted but writing its receipt fails for good (the invocation fails): the
/// redelivered event finds the duplicate and writes the missing receipt, as accepted.
#[test]
fn a_receipt_lost_after_the_commit_is_written_on_redelivery() {
    let (env, proxy) = setup_proxied(&fast());
    let aws = &env.aws;
    let inputs = inputs();
    let p = &inputs[0];
    let (name, bytes) = &p.usage[1];
    let key = format!("uploads/{}/{name}", p.partner_id);
    aws.objects.put_object(&key, bytes, "text/csv").unwrap();
    let event = common::s3_event(&aws.env.bucket, &key, "2026-09-04T00:30:00.000Z");
    proxy.set_plan(|r| {
        if r.op == "PutObject" && r.path.contains("/receipts/") {
            Fault::Crash
        } else {
            Fault::Pass
        }
    });
    let now = common::t(UPLOADED);
    usage_upload::handle(aws, &event, now).expect_err("the receipt cannot be written");
    proxy.pass();
    let out = usage_upload::handle(aws, &event, now).unwrap();
    let dup = out[0].receipt.clone().expect("receipt");
    assert_eq!(dup.status, UploadStatus::Duplicate);
    let stored = aws
        .objects
        .get_object(&format!("receipts/{}/{}.json", p.partner_id, dup.upload_id))
        .unwrap()
        .expect("the receipt is written on redelivery");
    let stored: serde_json::Value = serde_json::from_slice(&stored).unwrap();
    assert_eq!(stored["status"], "accepted", "{stored}");
    assert_eq!(stored["uploadId"], dup.upload_id.as_str());
}

/// The functions' own settings: every client has connect, first-byte, attempt and operation
/// timeouts, standard retries and stalled-stream protection; a request that hangs is cut after
/// the attempt timeout and retried, so a hung connection cannot hold a Lambda.
#[test]
fn production_clients_time_out_and_retry_a_hung_request() {
    let settings = ClientSettings::default();
    assert_eq!(settings.connect_timeout, Duration::from_secs(3));
    assert_eq!(settings.read_timeout, Duration::from_secs(10));
    assert_eq!(settings.attempt_timeout, Duration::from_secs(10));
    assert_eq!(settings.operation_timeout, Duration::from_secs(25));
    assert_eq!(settings.max_attempts, 10);
    let (env, proxy) = setup_proxied(&settings);
    let aws = &env.aws;
    let conf = aws.clients.dynamodb.config();
    let timeouts = conf.timeout_config().expect("timeouts");
    assert_eq!(timeouts.connect_timeout(), Some(Duration::from_secs(3)));
    assert_eq!(timeouts.read_timeout(), Some(Duration::from_secs(10)));
    assert_eq!(
        timeouts.operation_attempt_timeout(),
        Some(Duration::from_secs(10))
    );
    assert_eq!(timeouts.operation_timeout(), Some(Duration::from_secs(25)));
    assert_eq!(conf.retry_config().map(|r| r.max_attempts()), Some(10));
    assert!(conf
        .stalled_stream_protection()
        .is_some_and(|s| s.is_enabled()));
    let s3 = aws.clients.s3.config();
    assert_eq!(
        s3.timeout_config()
            .and_then(|t| t.operation_attempt_timeout()),
        Some(Duration::from_secs(10))
    );
    proxy.reset_log();
    proxy.set_plan(|r| match (r.op.as_str(), r.op_index) {
        ("GetItem", 0) => Fault::Hang(Duration::from_secs(60)),
        _ => Fault::Pass,
    });
    let started = Instant::now();
    let found = aws
        .store
        .accepted_upload_by_sha("11111111-1111-4111-8111-111111111111", "00")
        .expect("retried after the timeout");
    let took = started.elapsed();
    assert_eq!(found, None);
    assert_eq!(proxy.attempts("GetItem"), 2);
    assert!(
        took >= Duration::from_secs(10) && took < Duration::from_secs(20),
        "{took:?}"
    );
}

fn assert_nothing_kept(env: &TestAws, partner: &str) {
    let aws = &env.aws;
    assert_eq!(aws.objects.list("receipts/").unwrap(), Vec::<String>::new());
    assert_eq!(aws.objects.list("rejected/").unwrap(), Vec::<String>::new());
    let mut state = Vec::new();
    let mut start = None;
    loop {
        let out = env
            .rt
            .block_on(
                aws.clients
                    .dynamodb
                    .scan()
                    .table_name(&aws.env.state_table)
                    .set_exclusive_start_key(start)
                    .send(),
            )
            .unwrap();
        for i in out.items() {
            if let Some(aws_sdk_dynamodb::types::AttributeValue::S(pk)) = i.get("pk") {
                // The tables' format mark is written on first use, whatever happens next.
                if pk != "FORMAT" {
                    state.push(pk.clone());
                }
            }
        }
        start = out.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    assert_eq!(
        state,
        Vec::<String>::new(),
        "no usage, pointer or upload item"
    );
    assert_eq!(
        aws.store
            .customers_in_range(common::d("2026-09-01"), common::d("2026-09-30"))
            .unwrap(),
        vec![],
        "{partner}"
    );
}
