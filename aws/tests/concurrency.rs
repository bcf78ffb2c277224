//! Two settlements of the same customers at once, each with its own DynamoStore (as two Lambda
//! workers would be): conditional appends let exactly one version of each entry in. Checked
//! entry by entry: every entry carries the run id of the settlement that wrote it, each run
//! finds exactly as many entries of its own as it says it appended (an overwritten entry would
//! be missing from its writer's count), the ledger is a clean single run's (run ids aside), and
//! verify passes. One case lets the runs race freely; the other forces the interleaving
//! through the fault proxy (one run's first transaction is held until the other has written).

mod common;

use common::proxy::Fault;
use common::{generated, ledger, post_all, setup, setup_proxied, t, upload_all, PartnerInputs};
use pec_aws::secrets::SsmSecrets;
use pec_aws::{ClientSettings, DynamoStore};
use pec_generate::GenerateOptions;
use pec_ledger::settle::{settle, RunSummary, SettleOptions};
use std::collections::BTreeMap;
use std::time::Duration;

fn inputs() -> Vec<PartnerInputs> {
    generated(&GenerateOptions {
        seed: 7,
        partners: 1,
        customers_per_partner: 2,
        subscriptions_per_customer: 1,
        resources_per_subscription: 6,
        start: common::d("2026-09-01"),
        days: 4,
        snapshot_interval_hours: 12,
        gzip: false,
    })
}

const NOW: &str = "2026-09-05T02:00:00Z";

fn options(run_id: &str) -> SettleOptions {
    common::run("2026-09-01", "2026-09-04", NOW, run_id)
}

/// The ledger of one settlement alone, with the run id blanked.
fn clean_ledger(inputs: &[PartnerInputs]) -> Vec<String> {
    let env = setup();
    let aws = &env.aws;
    upload_all(aws, inputs, t("2026-09-05T01:00:00Z")).unwrap();
    post_all(aws, inputs, t("2026-09-05T01:00:00Z")).unwrap();
    settle(&aws.store, &aws.config, &options("clean")).unwrap();
    without_run_ids(&ledger(&aws.store), &["clean"])
}

/// Entries with their run id replaced by `*` and the hashes (which cover the run id) dropped.
fn without_run_ids(ledger: &[String], runs: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = ledger
        .iter()
        .map(|l| {
            let mut l = l.clone();
            for r in runs {
                l = l.replace(&format!("\"runId\":\"{r}\""), "\"runId\":\"*\"");
            }
            let json_start = l.find('{').expect("entry JSON");
            let json_end = l.rfind('}').expect("entry JSON");
            let mut v: serde_json::Value = serde_json::from_str(&l[json_start..=json_end]).unwrap();
            v["hash"] = serde_json::Value::Null;
            v["prevHash"] = serde_json::Value::Null;
            format!("{} {v}", &l[..json_start])
        })
        .collect();
    out.sort();
    out
}

/// Per run id, the number of entries that carry it.
fn entries_by_run(store: &DynamoStore) -> BTreeMap<String, u64> {
    let mut by_run = BTreeMap::new();
    pec_ledger::store::LedgerStore::for_each_entry(
        store,
        &pec_ledger::store::EntryFilter::default(),
        &mut |e| {
            *by_run.entry(e.run_id.clone()).or_insert(0) += 1;
            Ok(())
        },
    )
    .unwrap();
    by_run
}

fn store_on(env: &common::TestAws, clients: &pec_aws::Clients) -> DynamoStore {
    DynamoStore::new(
        env.rt.handle().clone(),
        clients.dynamodb.clone(),
        env.aws.env.ledger_table.clone(),
        env.aws.env.state_table.clone(),
        SsmSecrets::new(clients.ssm.clone(), env.aws.env.secrets_prefix.clone()),
    )
}

/// Runs the two settlements at once (released together by a barrier).
fn race(stores: [&DynamoStore; 2], config: &pec_ledger::config::Config) -> Vec<RunSummary> {
    let barrier = std::sync::Barrier::new(2);
    std::thread::scope(|s| {
        let handles: Vec<_> = stores
            .iter()
            .zip(["run-a", "run-b"])
            .map(|(st, id)| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    settle(*st, config, &options(id)).expect("settle")
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    })
}

fn check(env: &common::TestAws, summaries: &[RunSummary], clean: &[String]) {
    let aws = &env.aws;
    let report = pec_ledger::verify::verify(&aws.store).unwrap();
    assert!(report.ok, "{:?}", report.breaks);
    let appended: u64 = summaries.iter().map(|s| s.entries_appended).sum();
    assert_eq!(
        report.entries,
        clean.len() as u64,
        "as many entries as one clean run"
    );
    assert_eq!(
        report.entries, appended,
        "every appended entry is in the ledger once"
    );
    assert_eq!(
        report.entries, report.resource_days,
        "one entry per resource-day, no doubles"
    );
    let by_run = entries_by_run(&aws.store);
    for s in summaries {
        assert_eq!(
            by_run.get(&s.run_id).copied().unwrap_or(0),
            s.entries_appended,
            "{}: each entry a run appended is still its own (none overwritten): {by_run:?}",
            s.run_id
        );
    }
    assert_eq!(
        by_run.keys().filter(|r| !r.starts_with("run-")).count(),
        0,
        "{by_run:?}"
    );
    assert_eq!(
        without_run_ids(&ledger(&aws.store), &["run-a", "run-b"]),
        clean,
        "the same entries as one clean run"
    );
}

#[test]
fn two_settlements_at_once_write_each_entry_once() {
    let inputs = inputs();
    let clean = clean_ledger(&inputs);
    assert_eq!(
        clean.len(),
        54,
        "the generated set (seed 7) has 54 resource-days"
    );
    let env = setup();
    let aws = &env.aws;
    upload_all(aws, &inputs, t("2026-09-05T01:00:00Z")).unwrap();
    post_all(aws, &inputs, t("2026-09-05T01:00:00Z")).unwrap();
    let a = store_on(&env, &aws.clients);
    let b = store_on(&env, &aws.clients);
    let summaries = race([&a, &b], &aws.config);
    check(&env, &summaries, &clean);
    println!(
        "two runs at once: {} + {} entries appended, {} + {} conflicts retried",
        summaries[0].entries_appended,
        summaries[1].entries_appended,
        summaries[0].conflicts_retried,
        summaries[1].conflicts_retried
    );
}

/// Run A's first transaction is held by the proxy for 3 s, so run B writes those resource-days
/// first: A's transaction then fails its conditions, A re-plans from the heads and appends
/// nothing B already wrote.
#[test]
fn a_settlement_that_loses_the_race_writes_nothing_twice() {
    let inputs = inputs();
    let clean = clean_ledger(&inputs);
    let (env, proxy) = setup_proxied(&ClientSettings::default());
    let aws = &env.aws;
    upload_all(aws, &inputs, t("2026-09-05T01:00:00Z")).unwrap();
    post_all(aws, &inputs, t("2026-09-05T01:00:00Z")).unwrap();
    let direct = env.rt.block_on(pec_aws::Clients::new(&pec_aws::AwsEnv {
        endpoint_url: Some(common::endpoint()),
        alert_topic_arn: None,
        ..aws.env.clone()
    }));
    let a = store_on(&env, &aws.clients);
    let b = store_on(&env, &direct);
    proxy.reset_log();
    proxy.set_plan(|r| match (r.op.as_str(), r.op_index) {
        ("TransactWriteItems", 0) => Fault::Hang(Duration::from_secs(3)),
        _ => Fault::Pass,
    });
    let summaries = race([&a, &b], &aws.config);
    proxy.pass();
    assert!(
        summaries[0].conflicts_retried >= 1,
        "A met B's entries: {:?}",
        summaries[0]
    );
    assert_eq!(summaries[1].conflicts_retried, 0, "{:?}", summaries[1]);
    check(&env, &summaries, &clean);
    println!(
        "held run: {} appended, {} conflicts; other run: {} appended",
        summaries[0].entries_appended,
        summaries[0].conflicts_retried,
        summaries[1].entries_appended
    );
}
