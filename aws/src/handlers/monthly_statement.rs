//! Monthly statements: on the 2nd (EventBridge), last month's statement of every partner with
//! entries in it, as JSON and CSV under `statements/{partnerId}/{YYYY-MM}/`; or, invoked with
//! `{"partnerId": "…", "month": "YYYY-MM"}`, that one statement.

use crate::{Aws, Failure};
use chrono::{DateTime, Utc};
use pec_ledger::statement::{render_csv, statement_from_store, Month};
use pec_ledger::store::{ObjectStore, UsageStore};
use pec_render::html::render_html;
use serde::Serialize;
use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Written {
    pub partner_id: String,
    pub month: String,
    pub keys: Vec<String>,
}

/// The statements an invocation asks for: one partner-month, or every partner of last month.
pub fn handle(
    aws: &Aws,
    input: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<Vec<Written>, Failure> {
    let partner = input.get("partnerId").and_then(|v| v.as_str());
    let month = input.get("month").and_then(|v| v.as_str());
    match (partner, month) {
        (Some(p), Some(m)) => {
            let month = Month::parse(m).map_err(Failure::permanent)?;
            Ok(vec![write(aws, p, month, now, true)?.ok_or_else(|| {
                Failure::permanent("statement not written")
            })?])
        }
        (None, None) => {
            let this = Month::of(now.date_naive()).first_day();
            let month = Month::of(this.pred_opt().unwrap_or(this));
            let partners: BTreeSet<String> = aws
                .store
                .customers_in_range(month.first_day(), month.last_day())?
                .into_iter()
                .map(|(p, _)| p)
                .collect();
            let mut out = Vec::new();
            for p in partners {
                if let Some(w) = write(aws, &p, month, now, false)? {
                    out.push(w);
                }
            }
            Ok(out)
        }
        _ => Err(Failure::permanent(
            "give both partnerId and month (YYYY-MM), or neither",
        )),
    }
}

/// Writes one statement as of `now`; without entries it is skipped unless `always`.
fn write(
    aws: &Aws,
    partner: &str,
    month: Month,
    now: DateTime<Utc>,
    always: bool,
) -> Result<Option<Written>, Failure> {
    let statement = statement_from_store(&aws.store, partner, month, now)?;
    if statement.currencies.is_empty() && !always {
        return Ok(None);
    }
    let base = format!("statements/{}/{}", statement.partner_id, statement.month);
    let json =
        serde_json::to_vec_pretty(&statement).map_err(|e| Failure::permanent(e.to_string()))?;
    let csv = render_csv(&statement);
    let html = render_html(&statement);
    let keys = vec![
        format!("{base}/statement.json"),
        format!("{base}/statement.csv"),
        format!("{base}/statement.html"),
    ];
    aws.objects
        .put_object(&keys[0], &json, "application/json")?;
    aws.objects
        .put_object(&keys[1], csv.as_bytes(), "text/csv; charset=utf-8")?;
    aws.objects
        .put_object(&keys[2], html.as_bytes(), "text/html; charset=utf-8")?;
    tracing::info!(partner_id = %statement.partner_id, month = %statement.month,
        keys = keys.len(), "statement written");
    Ok(Some(Written {
        partner_id: statement.partner_id,
        month: statement.month,
        keys,
    }))
}
