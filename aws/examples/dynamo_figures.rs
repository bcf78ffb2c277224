//! DynamoDB figures for BENCHMARKS.md ("### 4. DynamoDB"); `bench/dynamo.sh` runs it against a
//! local emulator (moto):
//!
//! ```sh
//! bench/dynamo.sh [--customers 2] [--subscriptions 2] [--resources 50] [--days 5] [--hot-entries 1000000]
//! bench/dynamo.sh --only-keys true     # only the partition-key figures (2.)
//! ```
//!
//! 1. Generates a data set with the project's generator (one partner), and drives the real
//!    [`DynamoStore`] through the domain calls the functions make: every usage file but the last
//!    day's, every snapshot, a first settlement, then one more night (the last day's file and a
//!    settlement with the default 46-day look-back). An SDK interceptor counts every request (by
//!    operation), asks `ReturnConsumedCapacity=TOTAL` on writes and records what came back, and
//!    computes each written item's size and write units with DynamoDB's rules (below): moto
//!    answers no real consumed capacity (nothing for `TransactWriteItems`, a fixed 1.0 per table
//!    for `BatchWriteItem`), so the write units reported are the computed ones.
//! 2. Computes, with the store's own key functions, where the writes of one night of 1 M ledger
//!    entries land, and the largest share on one partition key of each table and index.
//!
//! Write units: an item's size is the sum of its attribute names' and values' lengths (UTF-8
//! strings, binary as is, numbers 1 byte per two significant digits + 1); a write costs 1 WCU
//! per started KB of the item, 2 in a transaction (`TransactWriteItems`); the one global
//! secondary index (`PriorPeriod`, keys only, sparse) costs, for an item that has its keys, 1 WCU
//! per started KB of the table's and index's keys plus 100 bytes of index overhead. An update
//! (a day mark, a counter) is counted as an item of its key and the values it sets. Reads are
//! counted from what each request returns, as if every read were strongly consistent (an upper
//! bound): 1 RRU per started 4 KB per request (per item in a `BatchGetItem`), at least 1.
//! A delete costs the deleted item's size, unknown here: counted as 1 WCU (none happen in this
//! run: no upload is rejected).

use aws_sdk_dynamodb::config::interceptors::{
    BeforeSerializationInterceptorContextMut, FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
use aws_sdk_dynamodb::operation::batch_write_item::{BatchWriteItemInput, BatchWriteItemOutput};
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::put_item::{PutItemInput, PutItemOutput};
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::operation::scan::ScanOutput;
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsInput, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::operation::update_item::UpdateItemInput;
use aws_sdk_dynamodb::types::{AttributeValue, ConsumedCapacity, ReturnConsumedCapacity};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use pec_aws::metrics::RequestCounter;
use pec_aws::secrets::SsmSecrets;
use pec_aws::{keys, provision, AwsEnv, Clients, DynamoStore};
use pec_generate::{generate, GenerateOptions};
use pec_ledger::config::Config;
use pec_ledger::ingest::{ingest_usage_file, post_snapshot, SnapshotStatus, UploadStatus};
use pec_ledger::settle::{settle, RunSummary, SettleOptions};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

type Item = HashMap<String, AttributeValue>;

/// Index overhead DynamoDB adds to an item's size in a secondary index.
const INDEX_OVERHEAD: usize = 100;
/// A partition key's write limit (WCU per second).
const KEY_LIMIT_WCU: f64 = 1000.0;

fn main() {
    if let Err(e) = run() {
        eprintln!("dynamo_figures: {e}");
        std::process::exit(1);
    }
}

struct Args {
    customers: u32,
    subscriptions: u32,
    resources: u32,
    days: u32,
    hot_entries: u64,
    /// Only the partition-key figures (no emulator needed).
    only_keys: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        customers: 2,
        subscriptions: 2,
        resources: 50,
        days: 5,
        hot_entries: 1_000_000,
        only_keys: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |v: &str| {
            v.parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{flag}: {v:?} is not a positive whole number"))
        };
        let small = |v: &str| {
            number(v)
                .and_then(|n| u32::try_from(n).map_err(|_| format!("{flag}: {v} is too large")))
        };
        match flag.as_str() {
            "--customers" => a.customers = small(&value)?,
            "--subscriptions" => a.subscriptions = small(&value)?,
            "--resources" => a.resources = small(&value)?,
            "--days" => a.days = small(&value)?,
            "--hot-entries" => a.hot_entries = number(&value)?,
            "--only-keys" => a.only_keys = value == "true",
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if a.days < 2 {
        return Err("--days must be at least 2 (a first settlement, then one more night)".into());
    }
    Ok(a)
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    if args.only_keys {
        hot_keys(args.hot_entries);
        return Ok(());
    }
    let endpoint = std::env::var("PEC_TEST_AWS_ENDPOINT")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or("PEC_TEST_AWS_ENDPOINT is not set (bench/dynamo.sh starts moto and sets it)")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    let env = AwsEnv {
        ledger_table: format!("pec-bench-ledger-{id}"),
        state_table: format!("pec-bench-state-{id}"),
        bucket: format!("pec-bench-{id}"),
        secrets_prefix: format!("/pec-bench-{id}/webhook-secrets/"),
        settle_queue_url: String::new(),
        endpoint_url: Some(endpoint),
        alert_topic_arn: None,
    };
    let clients = rt.block_on(Clients::new(&env));
    rt.block_on(provision::create_all(&env, &clients, None))?;

    let counter = RequestCounter::default();
    let capacity = CapacityMeter::new(&env);
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        clients
            .dynamodb
            .config()
            .to_builder()
            .interceptor(counter.clone())
            .interceptor(capacity.clone())
            .build(),
    );
    let store = DynamoStore::new(
        rt.handle().clone(),
        dynamodb,
        env.ledger_table.clone(),
        env.state_table.clone(),
        SsmSecrets::new(clients.ssm.clone(), env.secrets_prefix.clone()),
    );
    let config = Config::default();

    let dir = std::env::temp_dir().join(format!("pec-dynamo-figures-{id}"));
    let start = NaiveDate::from_ymd_opt(2026, 9, 1).ok_or("start date")?;
    let options = GenerateOptions {
        seed: 42,
        partners: 1,
        customers_per_partner: args.customers,
        subscriptions_per_customer: args.subscriptions,
        resources_per_subscription: args.resources,
        start,
        days: args.days,
        snapshot_interval_hours: 6,
        gzip: false,
    };
    let set = generate(&options, &dir).map_err(|e| format!("generate: {e}"))?;
    let partner = set.partners.first().ok_or("no partner generated")?;
    let last_day = start + Duration::days(i64::from(args.days) - 1);
    let at = |d: NaiveDate, h: u32| -> Result<DateTime<Utc>, String> {
        d.and_hms_opt(h, 0, 0)
            .map(|t| t.and_utc())
            .ok_or_else(|| format!("time {d} {h}h"))
    };
    println!(
        "Data set (`pec generate` seed 42): 1 partner, {} customers x {} subscriptions x {} \
         resources, {} days from {start}; snapshots every 6 h.\n",
        args.customers, args.subscriptions, args.resources, args.days
    );

    let mut phases: Vec<Phase> = Vec::new();
    let mut clock = std::time::Instant::now();
    let mut measure = |name: &str, entries: u64| {
        let requests = counter.snapshot();
        counter.reset();
        eprintln!("{name}: {:.1} s", clock.elapsed().as_secs_f64());
        clock = std::time::Instant::now();
        phases.push(Phase {
            name: name.to_string(),
            entries,
            requests,
            writes: capacity.take(),
        });
    };

    // Usage files of every day but the last, uploaded the morning after their day.
    let (last_files, first_files): (Vec<_>, Vec<_>) = partner
        .usage_files
        .iter()
        .partition(|f| f.to_string_lossy().contains(&keys::day(last_day)));
    let upload = |files: &[&std::path::PathBuf], now: DateTime<Utc>| -> Result<(), String> {
        for f in files {
            let bytes = std::fs::read(f).map_err(|e| format!("{}: {e}", f.display()))?;
            let name = f.file_name().map(|n| n.to_string_lossy().to_string());
            let receipt = ingest_usage_file(
                &store,
                &config,
                &partner.partner_id,
                name.as_deref().unwrap_or("usage.csv"),
                bytes.as_slice(),
                now,
            )
            .map_err(|e| e.to_string())?;
            if receipt.status != UploadStatus::Accepted {
                return Err(format!("{}: {:?}", f.display(), receipt.status));
            }
        }
        Ok(())
    };
    if last_files.is_empty() || first_files.is_empty() {
        return Err("the generator wrote no usage file for the first or the last day".into());
    }
    upload(&first_files, at(last_day, 1)?)?;
    measure(&format!("usage upload ({} files)", first_files.len()), 0);

    // Every snapshot (the last ones are taken the day after the last usage day), accepted.
    let posted_at = at(last_day + Duration::days(2), 0)?;
    for f in &partner.snapshot_files {
        let body = std::fs::read(f).map_err(|e| format!("{}: {e}", f.display()))?;
        let receipt = post_snapshot(&store, &partner.partner_id, &body, posted_at)
            .map_err(|e| e.to_string())?;
        if receipt.status != SnapshotStatus::Accepted {
            return Err(format!(
                "{}: {:?} {:?}",
                f.display(),
                receipt.status,
                receipt.errors
            ));
        }
    }
    measure(&format!("snapshots ({})", partner.snapshot_files.len()), 0);

    let day_before = last_day - Duration::days(1);
    let first = settle_once(&store, &config, day_before, at(last_day, 2)?)?;
    measure(
        &format!("first settlement ({} days)", args.days - 1),
        first.entries_appended,
    );

    upload(&last_files, at(last_day + Duration::days(1), 1)?)?;
    measure("next night: usage upload (1 file)", 0);
    let night = settle_once(
        &store,
        &config,
        last_day,
        at(last_day + Duration::days(1), 2)?,
    )?;
    measure(
        "next night: settlement (46-day look-back)",
        night.entries_appended,
    );
    // The same night's usage as a month-to-date file (every day so far, all unchanged), as many
    // partners upload it: only what changed is written, and settlement finds nothing to do.
    let mtd = dir.join("month-to-date.csv");
    let mut text = String::new();
    let mut files: Vec<&std::path::PathBuf> = partner.usage_files.iter().collect();
    files.sort();
    for (i, f) in files.iter().enumerate() {
        let body = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
        let mut lines = body.lines();
        let header = lines.next().unwrap_or_default();
        if i == 0 {
            text.push_str(header);
            text.push('\n');
        }
        for l in lines {
            text.push_str(l);
            text.push('\n');
        }
    }
    std::fs::write(&mtd, text).map_err(|e| format!("{}: {e}", mtd.display()))?;
    upload(&[&mtd], at(last_day + Duration::days(1), 3)?)?;
    measure(
        &format!("month-to-date file ({} days, unchanged)", args.days),
        0,
    );
    let mtd_night = settle_once(
        &store,
        &config,
        last_day,
        at(last_day + Duration::days(1), 4)?,
    )?;
    measure(
        "settlement after it (46-day look-back)",
        mtd_night.entries_appended,
    );

    // Entries with 200-character resource ids and every figure filled in: item sizes.
    capacity.set_label(Some("200-character resource ids"));
    let long = long_entries(&partner.partner_id, at(last_day + Duration::days(1), 5)?);
    let appended =
        pec_ledger::store::LedgerStore::append(&store, &long).map_err(|e| e.to_string())?;
    if appended != pec_ledger::store::AppendOutcome::Appended {
        return Err("the long-id entries were not appended".into());
    }
    capacity.set_label(None);
    measure("entries with 200-character resource ids", long.len() as u64);
    let _ = std::fs::remove_dir_all(&dir);

    print_phases(&phases);
    print_sizes(&capacity);
    print_storage(&capacity, &phases);
    hot_keys(args.hot_entries);
    Ok(())
}

fn settle_once(
    store: &DynamoStore,
    config: &Config,
    through: NaiveDate,
    now: DateTime<Utc>,
) -> Result<RunSummary, String> {
    let opts = SettleOptions::new(config, through, None, now);
    settle(store, config, &opts).map_err(|e| e.to_string())
}

// ---- measuring writes ----

/// Written-item figures of one phase.
#[derive(Debug, Default, Clone)]
struct Writes {
    /// Computed WCU: (ledger table, ledger indexes, state table, state index).
    ledger: u64,
    ledger_gsi: u64,
    state: u64,
    state_gsi: u64,
    /// What the service answered in `ConsumedCapacity` (moto: see the module documentation).
    reported: f64,
    items: u64,
    /// Computed read units, every read counted as strongly consistent (an upper bound: 1 RRU
    /// per started 4 KB of the items a request returns, at least 1 per request).
    rru: u64,
}

impl Writes {
    fn total(&self) -> u64 {
        self.ledger + self.ledger_gsi + self.state + self.state_gsi
    }
}

#[derive(Debug, Default)]
struct Meter {
    phase: Writes,
    /// Item sizes in bytes by table ("ledger" / "state") and kind (the key prefix; ledger
    /// items: "entries", with the label of the phase when one is set).
    sizes: BTreeMap<(&'static str, String), Vec<usize>>,
    label: Option<String>,
}

/// An SDK interceptor: asks for consumed capacity on writes and computes each written item's
/// size and write units.
#[derive(Debug, Clone)]
struct CapacityMeter {
    ledger_table: String,
    state_table: String,
    inner: Arc<Mutex<Meter>>,
}

impl CapacityMeter {
    fn new(env: &AwsEnv) -> CapacityMeter {
        CapacityMeter {
            ledger_table: env.ledger_table.clone(),
            state_table: env.state_table.clone(),
            inner: Arc::new(Mutex::new(Meter::default())),
        }
    }

    fn take(&self) -> Writes {
        self.inner
            .lock()
            .map(|mut m| std::mem::take(&mut m.phase))
            .unwrap_or_default()
    }

    fn set_label(&self, label: Option<&str>) {
        if let Ok(mut m) = self.inner.lock() {
            m.label = label.map(str::to_string);
        }
    }

    fn sizes(&self) -> BTreeMap<(&'static str, String), Vec<usize>> {
        self.inner
            .lock()
            .map(|m| m.sizes.clone())
            .unwrap_or_default()
    }

    /// One written item: `transactional` doubles the table's units.
    fn put(&self, m: &mut Meter, table: &str, item: &Item, transactional: bool) {
        let size = item_size(item);
        let units = kb(size) * if transactional { 2 } else { 1 };
        let (name, gsis): (&'static str, &[(&str, &str)]) = if table == self.ledger_table {
            ("ledger", &[("ppk", "psk")])
        } else if table == self.state_table {
            ("state", &[])
        } else {
            return;
        };
        // Format 2's one index projects keys only: its entry is the table's and the index's
        // keys plus the overhead.
        let index_units: u64 = gsis
            .iter()
            .filter(|(h, r)| item.contains_key(*h) && item.contains_key(*r))
            .map(|(h, r)| {
                let keys: usize = ["pk", "sk", h, r]
                    .iter()
                    .filter_map(|a| item.get(*a).map(|v| a.len() + value_size(v)))
                    .sum();
                kb(keys + INDEX_OVERHEAD)
            })
            .sum();
        if name == "ledger" {
            m.phase.ledger += units;
            m.phase.ledger_gsi += index_units;
        } else {
            m.phase.state += units;
            m.phase.state_gsi += index_units;
        }
        m.phase.items += 1;
        let kind = match item.get("pk") {
            _ if name == "ledger" => match &m.label {
                Some(l) => format!("entries, {l}"),
                None => "entries".to_string(),
            },
            Some(AttributeValue::S(pk)) => format!("`{}#…`", pk.split('#').next().unwrap_or("")),
            _ => String::new(),
        };
        m.sizes.entry((name, kind)).or_default().push(size);
    }

    /// An updated item: its size after the update is estimated as its key and the values the
    /// update sets (marks and counters are small and written whole).
    fn update(
        &self,
        m: &mut Meter,
        table: &str,
        key: &Item,
        values: Option<&HashMap<String, AttributeValue>>,
        transactional: bool,
    ) {
        let mut item = key.clone();
        for (k, v) in values.into_iter().flatten() {
            item.insert(k.trim_start_matches(':').to_string(), v.clone());
        }
        self.put(m, table, &item, transactional);
    }

    fn delete(&self, m: &mut Meter, table: &str) {
        if table == self.ledger_table {
            m.phase.ledger += 1;
        } else {
            m.phase.state += 1;
        }
    }
}

fn kb(size: usize) -> u64 {
    size.div_ceil(1024).max(1) as u64
}

/// An item's size by DynamoDB's rules (see the module documentation).
fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn value_size(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => number_size(n),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Ss(l) => l.iter().map(String::len).sum(),
        AttributeValue::Ns(l) => l.iter().map(|n| number_size(n)).sum(),
        AttributeValue::Bs(l) => l.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(l) => 3 + l.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, v)| 1 + k.len() + value_size(v))
                .sum::<usize>()
        }
        _ => 1,
    }
}

/// 1 byte per two significant digits, plus 1.
fn number_size(n: &str) -> usize {
    let digits: String = n.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len();
    significant.max(1).div_ceil(2) + 1
}

fn reported_units(c: &[ConsumedCapacity]) -> f64 {
    c.iter().filter_map(|c| c.capacity_units()).sum()
}

impl Intercept for CapacityMeter {
    fn name(&self) -> &'static str {
        "CapacityMeter"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Ok(mut m) = self.inner.lock() else {
            return Ok(());
        };
        let input = context.input_mut();
        if let Some(i) = input.downcast_mut::<TransactWriteItemsInput>() {
            i.return_consumed_capacity = Some(ReturnConsumedCapacity::Total);
            for t in i.transact_items.iter().flatten() {
                if let Some(p) = t.put() {
                    self.put(&mut m, p.table_name(), p.item(), true);
                }
                if let Some(u) = t.update() {
                    self.update(
                        &mut m,
                        u.table_name(),
                        u.key(),
                        u.expression_attribute_values(),
                        true,
                    );
                }
                if let Some(d) = t.delete() {
                    self.delete(&mut m, d.table_name());
                }
            }
        } else if let Some(i) = input.downcast_mut::<BatchWriteItemInput>() {
            i.return_consumed_capacity = Some(ReturnConsumedCapacity::Total);
            for (table, requests) in i.request_items.iter().flatten() {
                for r in requests {
                    if let Some(p) = r.put_request() {
                        self.put(&mut m, table, p.item(), false);
                    }
                    if r.delete_request().is_some() {
                        self.delete(&mut m, table);
                    }
                }
            }
        } else if let Some(i) = input.downcast_mut::<PutItemInput>() {
            i.return_consumed_capacity = Some(ReturnConsumedCapacity::Total);
            if let (Some(table), Some(item)) = (&i.table_name, &i.item) {
                self.put(&mut m, table, item, false);
            }
        } else if let Some(i) = input.downcast_mut::<UpdateItemInput>() {
            if let (Some(table), Some(key)) = (&i.table_name, &i.key) {
                self.update(
                    &mut m,
                    table,
                    key,
                    i.expression_attribute_values.as_ref(),
                    false,
                );
            }
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(Ok(out)) = context.output_or_error() else {
            return Ok(());
        };
        let read = |items: &[Item]| -> u64 {
            let bytes: usize = items.iter().map(item_size).sum();
            bytes.div_ceil(4096).max(1) as u64
        };
        let rru = out
            .downcast_ref::<QueryOutput>()
            .map(|o| read(o.items()))
            .or_else(|| out.downcast_ref::<ScanOutput>().map(|o| read(o.items())))
            .or_else(|| {
                out.downcast_ref::<GetItemOutput>()
                    .map(|o| read(o.item().map(std::slice::from_ref).unwrap_or_default()))
            })
            .or_else(|| {
                // Each item of a batch is its own read.
                out.downcast_ref::<BatchGetItemOutput>().map(|o| {
                    o.responses()
                        .map(|r| {
                            r.values()
                                .flatten()
                                .map(|i| item_size(i).div_ceil(4096).max(1) as u64)
                                .sum()
                        })
                        .unwrap_or(0)
                })
            });
        if let Some(rru) = rru {
            if let Ok(mut m) = self.inner.lock() {
                m.phase.rru += rru;
            }
            return Ok(());
        }
        let units = if let Some(o) = out.downcast_ref::<TransactWriteItemsOutput>() {
            reported_units(o.consumed_capacity())
        } else if let Some(o) = out.downcast_ref::<BatchWriteItemOutput>() {
            reported_units(o.consumed_capacity())
        } else if let Some(o) = out.downcast_ref::<PutItemOutput>() {
            o.consumed_capacity()
                .and_then(|c| c.capacity_units())
                .unwrap_or(0.0)
        } else {
            return Ok(());
        };
        if let Ok(mut m) = self.inner.lock() {
            m.phase.reported += units;
        }
        Ok(())
    }
}

/// 50 entries of one customer-date whose resource ids are 200 characters long, with both
/// reason maps, evidence and a Tier-2 MPN ID: the largest entries the ledger writes.
fn long_entries(partner: &str, posted_at: DateTime<Utc>) -> Vec<pec_ledger::store::Append> {
    use pec_ledger::ledger::{Entry, EntryKind, Figures, ResourceDayKey};
    use pec_ledger::reasons::{DayStatus, IneligibleReason, LossReason};
    use rust_decimal::Decimal;
    let customer = guid(9, 1);
    let subscription = guid(9, 2);
    (0..50u64)
        .map(|i| {
            let prefix = format!(
                "/subscriptions/{subscription}/resourcegroups/rg-production-west-europe/providers/microsoft.web/sites/"
            );
            let name = format!("app-{i:04}-{}", "x".repeat(200));
            let resource_id = format!("{prefix}{}", &name[..200 - prefix.len()]);
            let amount = |n: i64| Decimal::new(n * 1_000_003 + i as i64, 8);
            let figures = Figures {
                list_amount: amount(91),
                eligible_amount: amount(83),
                ineligible_amount: amount(8),
                earned_credit: amount(12),
                lost_credit: amount(3),
                microsoft_credit: amount(11),
                variance: amount(1),
                lost_by_reason: [(LossReason::PalMissing, amount(2)), (LossReason::PartialDay, amount(1))]
                    .into_iter()
                    .collect(),
                ineligible_by_reason: [
                    (IneligibleReason::Reservation, amount(5)),
                    (IneligibleReason::ThirdParty, amount(3)),
                ]
                .into_iter()
                .collect(),
            };
            let entry = Entry {
                key: ResourceDayKey {
                    partner_id: partner.to_string(),
                    customer_id: customer.clone(),
                    subscription_id: subscription.clone(),
                    resource_id,
                    usage_date: posted_at.date_naive() - Duration::days(2),
                    currency: "EUR".into(),
                },
                seq: 0,
                kind: EntryKind::Settlement,
                status: DayStatus::Partial,
                reason: Some(LossReason::PartialDay),
                figures,
                rate: Decimal::new(15, 2),
                tier2_mpn_id: "4100021".into(),
                evidence: (0..3)
                    .map(|a| format!("/subscriptions/{subscription}/providers/microsoft.authorization/roleassignments/{}", guid(8, a)))
                    .collect(),
                input_digest: "ab".repeat(32),
                run_id: uuid::Uuid::new_v4().to_string(),
                posted_at,
                prev_hash: String::new(),
                hash: String::new(),
            }
            .seal();
            pec_ledger::store::Append::after(None, entry)
        })
        .collect()
}

/// Storage per month of history at 1 M resource-days a day, from the item sizes written: every
/// item is billed its size plus 100 bytes.
fn print_storage(capacity: &CapacityMeter, phases: &[Phase]) {
    let sizes = capacity.sizes();
    let billed = |v: &[usize]| v.iter().map(|s| (s + 100) as f64).sum::<f64>();
    let settled: u64 = phases
        .iter()
        .filter(|p| p.name.contains("settlement") && !p.name.contains("200"))
        .map(|p| p.entries)
        .sum();
    let mut rows: Vec<(String, f64)> = Vec::new();
    for ((table, kind), v) in &sizes {
        if kind.contains("200-character") {
            continue;
        }
        rows.push((format!("{table} {kind}"), billed(v) / settled.max(1) as f64));
    }
    let total: f64 = rows.iter().map(|(_, b)| b).sum();
    println!(
        "Storage per settled resource-day (bytes billed, each item + 100 B, over the {settled} \
         resource-days settled; prior-period index entries are keys only and rare, not counted):\n"
    );
    println!("| items | bytes per resource-day |");
    println!("|---|---:|");
    for (name, b) in &rows {
        println!("| {name} | {b:.0} |");
    }
    let gb_month = total * 30.0e6 / 1.0e9;
    println!("| **all** | **{total:.0}** |");
    println!();
    println!(
        "At 1 M resource-days a day: {gb_month:.1} GB per month of history; ${:.2} a month per \
         month kept in the Standard table class ($0.25/GB-month), ${:.2} in Standard-IA \
         ($0.10/GB-month).",
        gb_month * 0.25,
        gb_month * 0.10
    );
    println!();
}

// ---- reporting ----

struct Phase {
    name: String,
    entries: u64,
    requests: BTreeMap<String, u64>,
    writes: Writes,
}

fn per_1000(n: u64, entries: u64) -> String {
    if entries == 0 {
        "–".into()
    } else {
        format!("{:.0}", n as f64 * 1000.0 / entries as f64)
    }
}

fn print_phases(phases: &[Phase]) {
    println!("Requests (every attempt, by the SDK interceptor) and computed write units:\n");
    println!(
        "| phase | entries | requests | by operation | WCU ledger + its index | WCU state | WCU total | requests / 1,000 entries | WCU / 1,000 entries | RRU (upper bound) | RRU / 1,000 entries | ConsumedCapacity answered (moto) |"
    );
    println!("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for p in phases {
        let total: u64 = p.requests.values().sum();
        let ops: Vec<String> = p.requests.iter().map(|(k, v)| format!("{v} {k}")).collect();
        let w = &p.writes;
        println!(
            "| {} | {} | {} | {} | {} + {} | {} | {} | {} | {} | {} | {} | {:.1} |",
            p.name,
            p.entries,
            total,
            ops.join(", "),
            w.ledger,
            w.ledger_gsi,
            w.state + w.state_gsi,
            w.total(),
            per_1000(total, p.entries),
            per_1000(w.total(), p.entries),
            w.rru,
            per_1000(w.rru, p.entries),
            w.reported
        );
    }
    // A night: its usage file and its settlement.
    let named = |prefix: &str| phases.iter().find(|p| p.name.starts_with(prefix));
    if let (Some(upload), Some(night)) = (
        named("next night: usage upload"),
        named("next night: settlement"),
    ) {
        let requests: u64 = upload
            .requests
            .values()
            .chain(night.requests.values())
            .sum();
        let wcu = upload.writes.total() + night.writes.total();
        let rru = upload.writes.rru + night.writes.rru;
        println!(
            "| **one night** (its file + settlement) | {} | {} | | | | {} | **{}** | **{}** | {} | **{}** | |",
            night.entries,
            requests,
            wcu,
            per_1000(requests, night.entries),
            per_1000(wcu, night.entries),
            rru,
            per_1000(rru, night.entries)
        );
    }
    println!();
}

fn percentile(sorted: &[usize], q: f64) -> usize {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn print_sizes(capacity: &CapacityMeter) {
    println!("Item sizes written (bytes, DynamoDB's size rules), by table and key prefix:\n");
    println!("| table | items | count | p50 | p90 | p99 | max | > 1 KB |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    let sizes = capacity.sizes();
    let mut by_table: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for ((table, kind), v) in &sizes {
        by_table.entry(table).or_default().extend(v);
        let mut v = v.clone();
        v.sort_unstable();
        print_size_row(table, kind, &v);
    }
    for (table, mut v) in by_table {
        v.sort_unstable();
        print_size_row(table, "**all**", &v);
    }
    println!();
}

fn print_size_row(table: &str, kind: &str, v: &[usize]) {
    let over = v.iter().filter(|s| **s > 1024).count();
    println!(
        "| {table} | {kind} | {} | {} | {} | {} | {} | {:.0} % |",
        v.len(),
        percentile(v, 0.5),
        percentile(v, 0.9),
        percentile(v, 0.99),
        v.last().copied().unwrap_or(0),
        100.0 * over as f64 / v.len().max(1) as f64
    );
}

// ---- partition keys at 1 M entries ----

/// A stable pseudo-random GUID (SplitMix64), so the key figures are the same on every run.
fn guid(stream: u64, n: u64) -> String {
    let mut x = stream
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(n.wrapping_mul(0xBF58_476D_1CE4_E5B9));
    let mut next = || {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let (a, b) = (next(), next());
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}

/// Writes per partition key of one table or index.
#[derive(Default)]
struct KeyLoad {
    writes: HashMap<String, u64>,
    total: u64,
}

impl KeyLoad {
    fn add(&mut self, key: String) {
        *self.writes.entry(key).or_default() += 1;
        self.total += 1;
    }

    fn hottest(&self) -> (u64, usize) {
        (
            self.writes.values().copied().max().unwrap_or(0),
            self.writes.len(),
        )
    }
}

/// One night of `entries` ledger entries of ONE partner (the worst case for the month indexes)
/// for yesterday, in two shapes: many customers of 100 resources, and 10 customers of
/// `entries / 10` resources (the worst case for heads). WCU per write, from the item sizes above:
/// a ledger entry (1.8–1.95 KB) 4 in the table (transaction), 2 in each index (with the 100-byte
/// index overhead); a head (~1 KB, about half of them over) 4 in the transaction (2 when ≤ 1 KB);
/// the customer-date index 1.
fn hot_keys(entries: u64) {
    println!(
        "Partition keys of one night of {entries} ledger entries of ONE partner (usage date \
         2026-09-30, posted 2026-10-01), from the store's key functions (`aws/src/keys.rs`):\n"
    );
    println!(
        "| shape | table / index | writes | keys | most writes on one key | share | WCU per write | that key's WCU | night's entries/s at which it reaches 1,000 WCU/s |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    let partner = guid(1, 0);
    let date = NaiveDate::from_ymd_opt(2026, 9, 30).unwrap_or_default();
    let posted = date
        .succ_opt()
        .and_then(|d| d.and_hms_opt(2, 0, 0))
        .map(|t| t.and_utc())
        .unwrap_or_default();
    let shapes = [
        ("100 resources per customer", 100u64),
        ("10 customers", entries.div_ceil(10).max(1)),
    ];
    let mut worker_rates = Vec::new();
    for (shape, per_customer) in shapes {
        let mut ledger = KeyLoad::default();
        let mut prior = KeyLoad::default();
        let mut marks = KeyLoad::default();
        let customers = entries.div_ceil(per_customer);
        let mut n = 0u64;
        'outer: for c in 0..customers {
            let customer = guid(2, c);
            let day_pk = keys::day_pk(&partner, &customer, date);
            for r in 0..per_customer {
                if n == entries {
                    break 'outer;
                }
                if r % (pec_aws::dynamo::ENTRIES_PER_TRANSACTION as u64) == 0 {
                    marks.add(keys::marks_pk(&partner, &customer));
                }
                n += 1;
                let subscription = guid(3, c * 1000 + r / 50);
                let resource = format!(
                    "/subscriptions/{subscription}/resourcegroups/rg-{}/providers/microsoft.compute/virtualmachines/vm-{r:06}",
                    r % 7
                );
                let sk = keys::entry_sk(&resource, "EUR", 0);
                ledger.add(day_pk.clone());
                // The month's first night settles the last day of the month before: every entry
                // is a prior-period one.
                prior.add(keys::prior_pk(
                    &partner,
                    &keys::month_of(posted.date_naive()),
                    keys::prior_shard(&day_pk, &sk),
                ));
            }
        }
        let rows: [(&str, &KeyLoad, u64); 3] = [
            ("ledger table (pk = customer-date)", &ledger, 2),
            ("ledger `PriorPeriod` (a month's first night)", &prior, 1),
            ("state: day marks (`MARK#…`)", &marks, 2),
        ];
        for (name, load, wcu) in rows {
            let (max, keys_count) = load.hottest();
            let share = max as f64 / load.total.max(1) as f64;
            // The night writes `entries` entries at R entries/s; this key then takes
            // share * R * (writes per entry) writes/s of `wcu` units each.
            let per_entry = load.total as f64 / entries as f64;
            let rate = KEY_LIMIT_WCU / (share * per_entry * wcu as f64);
            println!(
                "| {shape} | {name} | {} | {keys_count} | {max} | {:.3} % | {wcu} | {} | {:.0} |",
                load.total,
                100.0 * share,
                max * wcu,
                rate
            );
        }
        // A customer-date is written by the one worker settling that customer: its key takes
        // that worker's rate, whatever the others do.
        let (max, _) = ledger.hottest();
        if (max * 2) as f64 <= KEY_LIMIT_WCU {
            worker_rates.push(format!(
                "{shape}: the busiest customer-date gets {max} entries ({} WCU) in the whole \
                 night: under 1,000 WCU/s whatever the rate",
                max * 2
            ));
            continue;
        }
        worker_rates.push(format!(
            "{shape}: a customer-date of {max} entries is one partition key written by one worker: \
             it reaches 1,000 WCU/s at 500 entries/s from that worker (2 WCU per entry in a \
             transaction); DynamoDB splits a hot item collection by sort key (the table has no \
             local index), so a sustained rate above that is absorbed after the split"
        ));
    }
    println!();
    for line in worker_rates {
        println!("- {line}");
    }
    println!();
}
