//! Tables of format 1, as the last release of that format left them (`fixtures/aws-format-1`:
//! made with its `pec --store aws` from the example inputs), upgraded in place: refused until
//! upgraded, then every entry verifies, the statement is the one that release printed figure for
//! figure, settlement finds nothing to change, and a second upgrade (removing the format 1
//! items) changes nothing of that.

mod common;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use base64::Engine;
use pec_aws::{provision, Aws, AwsEnv, Clients};
use pec_ledger::settle::{settle, SettleOptions};
use pec_ledger::statement::{statement_from_store, Month};
use pec_ledger::store::LedgerStore;
use std::collections::HashMap;
use std::path::PathBuf;

const PARTNER: &str = "7a3c0000-0000-4000-8000-000000000001";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/aws-format-1")
        .join(name)
}

fn value(v: &serde_json::Value) -> AttributeValue {
    let (kind, inner) = v
        .as_object()
        .and_then(|o| o.iter().next())
        .expect("typed value");
    match kind.as_str() {
        "S" => AttributeValue::S(inner.as_str().expect("S").into()),
        "N" => AttributeValue::N(inner.as_str().expect("N").into()),
        "B" => AttributeValue::B(Blob::new(
            base64::engine::general_purpose::STANDARD
                .decode(inner.as_str().expect("B"))
                .expect("base64"),
        )),
        "BOOL" => AttributeValue::Bool(inner.as_bool().expect("BOOL")),
        "L" => AttributeValue::L(inner.as_array().expect("L").iter().map(value).collect()),
        "M" => AttributeValue::M(
            inner
                .as_object()
                .expect("M")
                .iter()
                .map(|(k, v)| (k.clone(), value(v)))
                .collect(),
        ),
        other => panic!("attribute type {other} in the fixture"),
    }
}

fn load(rt: &tokio::runtime::Runtime, clients: &Clients, table: &str, file: &str) -> usize {
    let text = std::fs::read_to_string(fixture(file)).expect("fixture");
    let items: Vec<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_str(&text).expect("fixture JSON");
    for chunk in items.chunks(25) {
        let requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|i| {
                let item: HashMap<String, AttributeValue> =
                    i.iter().map(|(k, v)| (k.clone(), value(v))).collect();
                WriteRequest::builder()
                    .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                    .build()
            })
            .collect();
        let out = rt
            .block_on(
                clients
                    .dynamodb
                    .batch_write_item()
                    .request_items(table, requests)
                    .send(),
            )
            .expect("BatchWriteItem");
        assert!(out.unprocessed_items().is_none_or(|u| u.is_empty()));
    }
    items.len()
}

#[test]
fn format_1_tables_are_refused_then_upgraded_in_place() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    let env = AwsEnv {
        ledger_table: format!("pec-f1-ledger-{id}"),
        state_table: format!("pec-f1-state-{id}"),
        bucket: format!("pec-f1-{id}"),
        secrets_prefix: format!("/pec-f1-{id}/webhook-secrets/"),
        settle_queue_url: String::new(),
        endpoint_url: Some(common::endpoint()),
        alert_topic_arn: None,
    };
    let clients =
        Clients::for_lambda_with_settings(&env, &Default::default(), |k| std::env::var(k).ok())
            .expect("AWS_REGION is set");
    rt.block_on(provision::create_format1(&env, &clients))
        .expect("format 1 tables");
    let ledger_items = load(&rt, &clients, &env.ledger_table, "ledger.json");
    load(&rt, &clients, &env.state_table, "state.json");
    assert_eq!(ledger_items, 12, "the fixture's 12 entries");

    // Refused, naming what to run.
    let refused = rt
        .block_on(Aws::with_clients(env.clone(), clients.clone()))
        .err()
        .expect("format 1 refused");
    assert!(
        refused.to_string().contains("table format 1")
            && refused.to_string().contains("pec --store aws upgrade"),
        "{refused}"
    );

    let aws = rt
        .block_on(Aws::connect_for_upgrade(env.clone()))
        .expect("connect for the upgrade");
    // Before the first deployment of the upgrade has added the index: refused, nothing changed.
    let early = aws
        .store
        .upgrade(false)
        .expect_err("no PriorPeriod index yet");
    assert!(early.to_string().contains("TableUpgradeStep=1"), "{early}");
    rt.block_on(provision::add_prior_period_index(&env, &clients))
        .expect("the first deployment's index");
    let report = aws.store.upgrade(false).expect("upgrade");
    assert_eq!(report.from_format, Some(1));
    assert_eq!((report.entries, report.entries_copied), (12, 12));
    assert!(report.verified);
    assert_eq!(report.verified_entries, 12);
    assert_eq!(report.usage_sources, 2, "one subscription on 2 dates");
    assert_eq!(report.snapshot_counts, 1);
    drop(aws);

    let aws = rt
        .block_on(Aws::with_clients(env.clone(), clients.clone()))
        .expect("format 2 now");
    let store = &aws.store;
    let verified = pec_ledger::verify::verify(store).unwrap();
    assert!(verified.ok, "{:?}", verified.breaks);
    assert_eq!(verified.entries, 12);
    let statement = |store: &pec_aws::DynamoStore| {
        let s = statement_from_store(
            store,
            PARTNER,
            Month::parse("2026-09").unwrap(),
            common::t("2026-10-01T00:00:00Z"),
        )
        .unwrap();
        serde_json::to_value(&s).unwrap()
    };
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("statement-2026-09.json")).unwrap())
            .unwrap();
    assert_eq!(
        statement(store),
        expected,
        "the statement that release printed"
    );
    // Settlement decides the dates again (no marks were copied) and finds them at their value.
    let opts = SettleOptions::new(
        &aws.config,
        common::d("2026-09-02"),
        Some(common::d("2026-09-01")),
        common::t("2026-10-02T02:00:00Z"),
    );
    let summary = settle(store, &aws.config, &opts).unwrap();
    assert_eq!(summary.entries_appended, 0);
    assert!(summary.customer_days > 0);
    let again = settle(store, &aws.config, &opts).unwrap();
    assert_eq!(
        (again.entries_appended, again.customer_days),
        (0, 0),
        "now marked: skipped"
    );
    assert!(store.latest_posting().unwrap().is_some());

    // Again, removing the format 1 items: nothing of format 2 changes.
    let aws2 = rt
        .block_on(Aws::connect_for_upgrade(env.clone()))
        .expect("connect for the upgrade");
    let second = aws2.store.upgrade(true).expect("second upgrade");
    assert_eq!(second.from_format, Some(2));
    assert!(second.format1_items_removed >= 12);
    let verified = pec_ledger::verify::verify(&aws2.store).unwrap();
    assert!(verified.ok);
    assert_eq!(verified.entries, 12);
    assert_eq!(statement(&aws2.store), expected);
}
