//! CloudWatch Embedded Metric Format (EMF): the functions print one JSON document per line on
//! stdout, and CloudWatch Logs turns its members into metrics in the `PecLedger` namespace — no
//! PutMetricData call, no extra latency. Pure: documents are built from what the handlers
//! return; [`emit`] prints them.
//!
//! A document (the EMF specification):
//! ```json
//! {"_aws": {"Timestamp": 1790989200000,
//!           "CloudWatchMetrics": [{"Namespace": "PecLedger",
//!                                  "Dimensions": [["Function"]],
//!                                  "Metrics": [{"Name": "RowsIngested", "Unit": "Count"}]}]},
//!  "Function": "usage-upload", "RowsIngested": 8, "requestId": "…"}
//! ```
//! `_aws.Timestamp` is milliseconds since the epoch; each dimension and metric named in the
//! directive is a top-level member (dimension values strings, metric values numbers); other
//! members (`requestId`) are ignored by CloudWatch and searchable in Logs Insights.

#[cfg(feature = "webhook")]
use crate::handlers::access_webhook::SnapshotOutcome;
#[cfg(feature = "statements")]
use crate::handlers::monthly_statement::Written;
use crate::handlers::usage_upload::Outcome;
use chrono::{DateTime, Utc};
use pec_ledger::ingest::UploadStatus;
use pec_ledger::settle::RunSummary;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::io::Write;

/// The CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "PecLedger";

/// The `Function` dimension's values.
pub const USAGE_UPLOAD: &str = "usage-upload";
pub const ACCESS_WEBHOOK: &str = "access-webhook";
pub const NIGHTLY_SETTLE: &str = "nightly-settle-worker";
pub const MONTHLY_STATEMENT: &str = "monthly-statement";

/// The CloudWatch units EMF accepts.
pub const UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// One EMF document: one directive (namespace, one dimension set, its metrics).
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    timestamp: DateTime<Utc>,
    dimensions: Vec<(String, String)>,
    metrics: Vec<(String, &'static str, Value)>,
    properties: Vec<(String, Value)>,
}

impl Metrics {
    /// A document of `function` (the `Function` dimension) at `at`.
    pub fn new(function: &str, at: DateTime<Utc>) -> Metrics {
        Metrics {
            timestamp: at,
            dimensions: vec![("Function".into(), function.into())],
            metrics: Vec::new(),
            properties: Vec::new(),
        }
    }

    /// Another dimension of the document's dimension set.
    pub fn dimension(mut self, name: &str, value: &str) -> Metrics {
        self.dimensions.push((name.into(), value.into()));
        self
    }

    /// A count (unit `Count`).
    pub fn count(mut self, name: &str, n: u64) -> Metrics {
        self.metrics.push((name.into(), "Count", n.into()));
        self
    }

    /// An amount of money (unit `None`; the currency is a dimension). CloudWatch stores doubles.
    pub fn amount(mut self, name: &str, d: Decimal) -> Metrics {
        // Every Decimal has an f64 value (rounded to 15–17 significant digits).
        let v = d.to_f64().and_then(serde_json::Number::from_f64);
        self.metrics.push((
            name.into(),
            "None",
            v.map(Value::Number).unwrap_or(json!(0)),
        ));
        self
    }

    /// A member that is not a metric (e.g. `requestId`), for Logs Insights.
    pub fn property(mut self, name: &str, value: impl Into<Value>) -> Metrics {
        self.properties.push((name.into(), value.into()));
        self
    }

    /// The value of metric `name`, if the document has it.
    pub fn value(&self, name: &str) -> Option<&Value> {
        self.metrics.iter().find(|m| m.0 == name).map(|m| &m.2)
    }

    /// The document.
    pub fn to_json(&self) -> Value {
        let mut root = Map::new();
        for (k, v) in &self.properties {
            root.insert(k.clone(), v.clone());
        }
        for (k, v) in &self.dimensions {
            root.insert(k.clone(), Value::String(v.clone()));
        }
        for (k, _, v) in &self.metrics {
            root.insert(k.clone(), v.clone());
        }
        let dimension_set: Vec<&str> = self.dimensions.iter().map(|d| d.0.as_str()).collect();
        let metrics: Vec<Value> = self
            .metrics
            .iter()
            .map(|(name, unit, _)| json!({"Name": name, "Unit": unit}))
            .collect();
        root.insert(
            "_aws".into(),
            json!({
                "Timestamp": self.timestamp.timestamp_millis(),
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [dimension_set],
                    "Metrics": metrics,
                }],
            }),
        );
        Value::Object(root)
    }
}

/// Prints the documents on stdout, one line each, with the invocation's request id.
pub fn emit(docs: &[Metrics], request_id: &str) {
    let mut out = std::io::stdout().lock();
    for d in docs {
        let line = d.clone().property("requestId", request_id).to_json();
        // A closed stdout loses a metric, not the invocation.
        let _ = writeln!(out, "{line}");
    }
    let _ = out.flush();
}

/// usage-upload: `RowsIngested` (data rows of the files accepted now), `FilesAccepted`,
/// `FilesDuplicate`, `FilesRejected`. Keys that are not uploads count nothing.
pub fn usage_upload(outcomes: &[Outcome], at: DateTime<Utc>) -> Vec<Metrics> {
    let (mut rows, mut accepted, mut duplicate, mut rejected) = (0, 0, 0, 0);
    for r in outcomes.iter().filter_map(|o| o.receipt.as_ref()) {
        match r.status {
            UploadStatus::Accepted => {
                accepted += 1;
                rows += r.rows;
            }
            UploadStatus::Duplicate => duplicate += 1,
            UploadStatus::Rejected => rejected += 1,
        }
    }
    vec![Metrics::new(USAGE_UPLOAD, at)
        .count("RowsIngested", rows)
        .count("FilesAccepted", accepted)
        .count("FilesDuplicate", duplicate)
        .count("FilesRejected", rejected)]
}

#[cfg(feature = "webhook")]
/// access-webhook: `SnapshotsAccepted`, `SnapshotsDuplicate`, `SnapshotsRejected` for a
/// snapshot post (nothing for statement reads and other requests).
pub fn access_webhook(outcome: Option<SnapshotOutcome>, at: DateTime<Utc>) -> Vec<Metrics> {
    let Some(o) = outcome else {
        return Vec::new();
    };
    let one = |want: SnapshotOutcome| u64::from(o == want);
    vec![Metrics::new(ACCESS_WEBHOOK, at)
        .count("SnapshotsAccepted", one(SnapshotOutcome::Accepted))
        .count("SnapshotsDuplicate", one(SnapshotOutcome::Duplicate))
        .count("SnapshotsRejected", one(SnapshotOutcome::Rejected))]
}

/// nightly-settle worker: `EntriesAppended`, `ResourceDaysSettled`, `ShardsFailed` for the
/// batch; and per currency (dimension `Currency`) `CreditEarned` and `CreditLost`, the earned
/// and lost credit the appended entries add (adjustments can make them negative).
pub fn nightly_settle(
    summaries: &[RunSummary],
    shards_failed: u64,
    at: DateTime<Utc>,
) -> Vec<Metrics> {
    let entries: u64 = summaries.iter().map(|s| s.entries_appended).sum();
    let days: u64 = summaries.iter().map(|s| s.resource_days).sum();
    let mut docs = vec![Metrics::new(NIGHTLY_SETTLE, at)
        .count("EntriesAppended", entries)
        .count("ResourceDaysSettled", days)
        .count("ShardsFailed", shards_failed)];
    let mut by_currency: BTreeMap<&str, (Decimal, Decimal)> = BTreeMap::new();
    for s in summaries {
        for (currency, c) in &s.credit_by_currency {
            let t = by_currency.entry(currency).or_default();
            t.0 += c.earned_credit_delta;
            t.1 += c.lost_credit_delta;
        }
    }
    for (currency, (earned, lost)) in by_currency {
        docs.push(
            Metrics::new(NIGHTLY_SETTLE, at)
                .dimension("Currency", currency)
                .amount("CreditEarned", earned)
                .amount("CreditLost", lost),
        );
    }
    docs
}

#[cfg(feature = "statements")]
/// monthly-statement: `StatementsWritten`.
pub fn monthly_statement(written: &[Written], at: DateTime<Utc>) -> Vec<Metrics> {
    vec![Metrics::new(MONTHLY_STATEMENT, at).count("StatementsWritten", written.len() as u64)]
}

/// Checks `doc` against the EMF specification: the `_aws` metadata (a millisecond `Timestamp`,
/// a non-empty `CloudWatchMetrics` array of directives with no other members), each directive's
/// `Namespace`, `Dimensions` (sets of at most 30 names, each a top-level string member of 1 to
/// 1,024 ASCII characters) and `Metrics` (1 to 100 definitions, `Name` unique and a top-level
/// member whose value is a finite number or an array of at most 100 of them, `Unit` one of
/// [`UNITS`], `StorageResolution` 1 or 60). The error names the JSON path.
pub fn validate(doc: &Value) -> Result<(), String> {
    let root = doc.as_object().ok_or("$: not an object")?;
    let aws = root
        .get("_aws")
        .and_then(Value::as_object)
        .ok_or("$._aws: missing or not an object")?;
    only(aws, &["Timestamp", "CloudWatchMetrics"], "$._aws")?;
    match aws.get("Timestamp") {
        Some(Value::Number(n)) if n.as_u64().is_some() => {}
        _ => return Err("$._aws.Timestamp: not a non-negative integer (ms since epoch)".into()),
    }
    let directives = aws
        .get("CloudWatchMetrics")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or("$._aws.CloudWatchMetrics: missing, not an array or empty")?;
    for (i, d) in directives.iter().enumerate() {
        let at = format!("$._aws.CloudWatchMetrics[{i}]");
        let d = d.as_object().ok_or(format!("{at}: not an object"))?;
        only(d, &["Namespace", "Dimensions", "Metrics"], &at)?;
        let ns = d.get("Namespace").and_then(Value::as_str).unwrap_or("");
        let ns_ok = (1..=255).contains(&ns.len())
            && ns
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._#:/-".contains(c));
        if !ns_ok {
            return Err(format!("{at}.Namespace: {ns:?} is not a valid namespace"));
        }
        let sets = d
            .get("Dimensions")
            .and_then(Value::as_array)
            .ok_or(format!("{at}.Dimensions: missing or not an array"))?;
        for (j, set) in sets.iter().enumerate() {
            let set_at = format!("{at}.Dimensions[{j}]");
            let set = set
                .as_array()
                .filter(|s| s.len() <= 30)
                .ok_or(format!("{set_at}: not an array of at most 30 names"))?;
            for (k, name) in set.iter().enumerate() {
                let name = name
                    .as_str()
                    .ok_or(format!("{set_at}[{k}]: not a string"))?;
                match root.get(name) {
                    Some(Value::String(v))
                        if (1..=1024).contains(&v.len()) && v.is_ascii() && !v.trim().is_empty() => {}
                    _ => {
                        return Err(format!(
                            "$.{name}: dimension {name:?} of {set_at} is missing or not a string of 1 to 1024 ASCII characters"
                        ))
                    }
                }
            }
        }
        let metrics = d
            .get("Metrics")
            .and_then(Value::as_array)
            .filter(|m| (1..=100).contains(&m.len()))
            .ok_or(format!(
                "{at}.Metrics: missing, not an array, or not 1 to 100 metrics"
            ))?;
        let mut names = std::collections::BTreeSet::new();
        for (j, m) in metrics.iter().enumerate() {
            let m_at = format!("{at}.Metrics[{j}]");
            let m = m.as_object().ok_or(format!("{m_at}: not an object"))?;
            only(m, &["Name", "Unit", "StorageResolution"], &m_at)?;
            let name = m
                .get("Name")
                .and_then(Value::as_str)
                .filter(|n| (1..=255).contains(&n.len()) && !n.trim().is_empty())
                .ok_or(format!(
                    "{m_at}.Name: missing or not a name of 1 to 255 characters"
                ))?;
            if !names.insert(name) {
                return Err(format!("{m_at}.Name: {name:?} is defined twice"));
            }
            if let Some(unit) = m.get("Unit") {
                if !unit.as_str().is_some_and(|u| UNITS.contains(&u)) {
                    return Err(format!("{m_at}.Unit: {unit} is not a CloudWatch unit"));
                }
            }
            if let Some(r) = m.get("StorageResolution") {
                if !matches!(r.as_u64(), Some(1 | 60)) {
                    return Err(format!("{m_at}.StorageResolution: {r} is not 1 or 60"));
                }
            }
            let finite = |v: &Value| v.as_f64().is_some_and(f64::is_finite);
            let ok = match root.get(name) {
                Some(v @ Value::Number(_)) => finite(v),
                Some(Value::Array(vs)) => vs.len() <= 100 && vs.iter().all(finite),
                _ => false,
            };
            if !ok {
                return Err(format!(
                    "$.{name}: metric {name:?} of {m_at} is missing or not a number (or an array of at most 100 numbers)"
                ));
            }
        }
    }
    Ok(())
}

fn only(object: &Map<String, Value>, allowed: &[&str], at: &str) -> Result<(), String> {
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!(
            "{at}.{k}: not a member the specification allows here"
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pec_ledger::ingest::UploadReceipt;
    use pec_ledger::settle::CurrencyCredit;
    use std::str::FromStr;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-09-03T01:00:00Z")
            .expect("time")
            .with_timezone(&Utc)
    }

    fn receipt(status: UploadStatus, rows: u64) -> Outcome {
        Outcome {
            key: "uploads/p/f.csv".into(),
            receipt: Some(UploadReceipt {
                upload_id: "u".into(),
                status,
                rows,
                error_count: u64::from(status == UploadStatus::Rejected),
                errors: vec![],
                warnings: vec![],
            }),
        }
    }

    #[test]
    fn a_document_is_exactly_the_specified_structure() {
        let doc = Metrics::new(USAGE_UPLOAD, at())
            .count("RowsIngested", 8)
            .property("requestId", "r-1")
            .to_json();
        assert_eq!(
            doc,
            json!({
                "_aws": {
                    "Timestamp": 1_788_397_200_000_i64,
                    "CloudWatchMetrics": [{
                        "Namespace": "PecLedger",
                        "Dimensions": [["Function"]],
                        "Metrics": [{"Name": "RowsIngested", "Unit": "Count"}]
                    }]
                },
                "Function": "usage-upload",
                "RowsIngested": 8,
                "requestId": "r-1"
            })
        );
        assert_eq!(validate(&doc), Ok(()));
    }

    #[test]
    fn the_validator_rejects_what_the_specification_forbids() {
        let good = Metrics::new(NIGHTLY_SETTLE, at())
            .dimension("Currency", "EUR")
            .amount("CreditEarned", Decimal::from_str("12.5").expect("d"))
            .to_json();
        assert_eq!(validate(&good), Ok(()));
        let broken = |f: &dyn Fn(&mut Value)| {
            let mut d = good.clone();
            f(&mut d);
            validate(&d).expect_err("invalid")
        };
        assert!(broken(&|d| d["_aws"]["Timestamp"] = json!("now")).contains("Timestamp"));
        assert!(broken(&|d| d["_aws"]["Extra"] = json!(1)).contains("$._aws.Extra"));
        assert!(broken(&|d| d["Currency"] = json!(978)).contains("$.Currency"));
        assert!(broken(&|d| {
            d.as_object_mut().expect("object").remove("CreditEarned");
        })
        .contains("$.CreditEarned"));
        assert!(broken(&|d| d["CreditEarned"] = json!("12.5")).contains("$.CreditEarned"));
        assert!(broken(
            &|d| d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = json!("EUR")
        )
        .contains("Unit"));
        assert!(
            broken(&|d| d["_aws"]["CloudWatchMetrics"][0]["Namespace"] = json!("Pec Ledger"))
                .contains("Namespace")
        );
        assert!(broken(&|d| d["_aws"]["CloudWatchMetrics"] = json!([])).contains("empty"));
        assert!(validate(&json!([])).is_err());
    }

    #[test]
    fn usage_upload_counts_rows_of_accepted_files_only() {
        let outcomes = vec![
            receipt(UploadStatus::Accepted, 8),
            receipt(UploadStatus::Accepted, 5),
            receipt(UploadStatus::Duplicate, 8),
            receipt(UploadStatus::Rejected, 3),
            Outcome {
                key: "receipts/p/u.json".into(),
                receipt: None,
            },
        ];
        let docs = usage_upload(&outcomes, at());
        assert_eq!(docs.len(), 1);
        let d = docs[0].to_json();
        assert_eq!(validate(&d), Ok(()));
        assert_eq!(d["RowsIngested"], 13);
        assert_eq!(d["FilesAccepted"], 2);
        assert_eq!(d["FilesDuplicate"], 1);
        assert_eq!(d["FilesRejected"], 1);
    }

    #[test]
    fn credit_is_per_currency_and_summed_over_shards() {
        let credit = |e: &str, l: &str| CurrencyCredit {
            earned_credit_delta: Decimal::from_str(e).expect("d"),
            lost_credit_delta: Decimal::from_str(l).expect("d"),
        };
        let a = RunSummary {
            entries_appended: 3,
            resource_days: 4,
            credit_by_currency: [("EUR".to_string(), credit("1.25", "0.5"))].into(),
            ..Default::default()
        };
        let b = RunSummary {
            entries_appended: 2,
            resource_days: 2,
            credit_by_currency: [
                ("EUR".to_string(), credit("-0.25", "0")),
                ("USD".to_string(), credit("9.33696", "0")),
            ]
            .into(),
            ..Default::default()
        };
        let docs: Vec<Value> = nightly_settle(&[a, b], 1, at())
            .iter()
            .map(Metrics::to_json)
            .collect();
        assert_eq!(docs.len(), 3);
        for d in &docs {
            assert_eq!(validate(d), Ok(()), "{d}");
        }
        assert_eq!(docs[0]["EntriesAppended"], 5);
        assert_eq!(docs[0]["ResourceDaysSettled"], 6);
        assert_eq!(docs[0]["ShardsFailed"], 1);
        assert_eq!(docs[1]["Currency"], "EUR");
        assert_eq!(docs[1]["CreditEarned"], 1.0);
        assert_eq!(docs[1]["CreditLost"], 0.5);
        assert_eq!(
            docs[1]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Function", "Currency"]])
        );
        assert_eq!(docs[2]["Currency"], "USD");
        assert_eq!(docs[2]["CreditEarned"], 9.33696);
        assert_eq!(
            docs[2]["_aws"]["CloudWatchMetrics"][0]["Metrics"],
            json!([{"Name": "CreditEarned", "Unit": "None"}, {"Name": "CreditLost", "Unit": "None"}])
        );
    }

    #[test]
    #[cfg(feature = "statements")]
    fn webhook_and_statement_documents() {
        assert!(access_webhook(None, at()).is_empty());
        let d = access_webhook(Some(SnapshotOutcome::Rejected), at())[0].to_json();
        assert_eq!(validate(&d), Ok(()));
        assert_eq!(
            (
                &d["SnapshotsAccepted"],
                &d["SnapshotsDuplicate"],
                &d["SnapshotsRejected"]
            ),
            (&json!(0), &json!(0), &json!(1))
        );
        let d = monthly_statement(&[], at())[0].to_json();
        assert_eq!(validate(&d), Ok(()));
        assert_eq!(d["StatementsWritten"], 0);
        assert_eq!(d["Function"], "monthly-statement");
    }
}
