//! Two settlements of the same customers at once, each with its own DynamoStore (as two Lambda
//! workers would be): conditional appends let exactly one version of each entry in.

mod common;

use common::{setup, t};
use pec_aws::secrets::SsmSecrets;
use pec_aws::DynamoStore;
use pec_ledger::generate::{generate, GenerateOptions};
use pec_ledger::ingest::{ingest_usage_file, post_snapshot, UploadStatus};
use pec_ledger::settle::{settle, SettleOptions};

#[test]
fn two_settlements_at_once_write_each_entry_once() {
    let env = setup();
    let aws = &env.aws;
    let dir = tempfile::tempdir().unwrap();
    let options = GenerateOptions {
        seed: 7,
        partners: 1,
        customers_per_partner: 2,
        subscriptions_per_customer: 1,
        resources_per_subscription: 6,
        start: common::d("2026-09-01"),
        days: 4,
        snapshot_interval_hours: 12,
        gzip: false,
    };
    let set = generate(&options, dir.path()).unwrap();
    let now = t("2026-09-05T01:00:00Z");
    for p in &set.partners {
        for f in &p.usage_files {
            let bytes = std::fs::read(f).unwrap();
            let r = ingest_usage_file(
                &aws.store,
                &aws.config,
                &p.partner_id,
                "u.csv",
                bytes.as_slice(),
                now,
            )
            .unwrap();
            assert_eq!(r.status, UploadStatus::Accepted);
        }
        for f in &p.snapshot_files {
            post_snapshot(&aws.store, &p.partner_id, &std::fs::read(f).unwrap(), now).unwrap();
        }
    }
    let store = |_| {
        DynamoStore::new(
            env.rt.handle().clone(),
            aws.clients.dynamodb.clone(),
            aws.env.ledger_table.clone(),
            aws.env.state_table.clone(),
            SsmSecrets::new(aws.clients.ssm.clone(), aws.env.secrets_prefix.clone()),
        )
    };
    let stores: Vec<DynamoStore> = (0..2).map(store).collect();
    let config = aws.config.clone();
    let summaries: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = stores
            .iter()
            .map(|st| {
                let config = config.clone();
                s.spawn(move || {
                    let opts = SettleOptions::new(
                        &config,
                        common::d("2026-09-04"),
                        None,
                        t("2026-09-05T02:00:00Z"),
                    );
                    settle(st, &config, &opts).expect("settle")
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let report = pec_ledger::verify::verify(&aws.store).unwrap();
    assert!(report.ok, "{:?}", report.breaks);
    let appended: u64 = summaries.iter().map(|s| s.entries_appended).sum();
    assert_eq!(
        report.entries, appended,
        "every appended entry is in the ledger once"
    );
    assert_eq!(
        report.entries, report.resource_days,
        "one settlement per resource-day, no doubles"
    );
    assert!(report.entries > 0);
    println!(
        "two runs at once: {} + {} entries appended, {} + {} conflicts retried",
        summaries[0].entries_appended,
        summaries[1].entries_appended,
        summaries[0].conflicts_retried,
        summaries[1].conflicts_retried
    );
}
