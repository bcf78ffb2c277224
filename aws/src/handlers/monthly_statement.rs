//! Monthly statements: on the 2nd (EventBridge), last month's statement of every partner with
//! entries in it, as JSON, CSV, HTML and PDF under `statements/{partnerId}/{YYYY-MM}/`, with the
//! partner's claims pack beside it (`claims.csv`, as `pec claims` writes it), and for an
//! indirect provider one statement per reseller (Tier-2 MPN ID) of the month under
//! `statements/{partnerId}/{YYYY-MM}/resellers/{mpn}/`; or, invoked with
//! `{"partnerId": "…", "month": "YYYY-MM"}`, that partner-month's.

use crate::{Aws, Failure};
use chrono::{DateTime, Utc};
use pec_ledger::claims::{claims_from_store, render_claims_csv};
use pec_ledger::statement::{
    render_csv, scoped_statement_from_store, statement_from_store, Month, Statement, StatementScope,
};
use pec_ledger::store::{ObjectStore, UsageStore};
use pec_render::html::render_html;
use pec_render::pdf::render_pdf;
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
    let mut keys = put_statement(aws, &statement, &base)?;
    keys.push(put_claims(aws, partner, month, now, &base)?);
    // An indirect provider's resellers: each one's own statement beside the partner's.
    let resellers: BTreeSet<String> = statement
        .currencies
        .iter()
        .flat_map(|c| c.customers.iter())
        .filter_map(|c| c.tier2_mpn_id.clone())
        .filter(|m| !m.trim().is_empty())
        .collect();
    for mpn in resellers {
        let scope = StatementScope {
            customer_id: None,
            reseller_mpn_id: Some(mpn.clone()),
            ..Default::default()
        };
        let theirs = scoped_statement_from_store(&aws.store, partner, month, now, &scope)?;
        keys.extend(put_statement(
            aws,
            &theirs,
            &format!("{base}/resellers/{mpn}"),
        )?);
    }
    tracing::info!(partner_id = %statement.partner_id, month = %statement.month,
        keys = keys.len(), "statement written");
    Ok(Some(Written {
        partner_id: statement.partner_id,
        month: statement.month,
        keys,
    }))
}

/// The partner-month's claims pack (`pec claims`) as `claims.csv` under `base`; the key written.
fn put_claims(
    aws: &Aws,
    partner: &str,
    month: Month,
    now: DateTime<Utc>,
    base: &str,
) -> Result<String, Failure> {
    let claims = claims_from_store(&aws.store, &aws.config, partner, month, now, None)?;
    let key = format!("{base}/claims.csv");
    aws.objects.put_object(
        &key,
        render_claims_csv(&claims).as_bytes(),
        "text/csv; charset=utf-8",
    )?;
    Ok(key)
}

/// A statement as JSON, CSV, HTML and PDF under `base`; the keys written.
fn put_statement(aws: &Aws, statement: &Statement, base: &str) -> Result<Vec<String>, Failure> {
    let json =
        serde_json::to_vec_pretty(statement).map_err(|e| Failure::permanent(e.to_string()))?;
    let csv = render_csv(statement);
    let html = render_html(statement);
    let pdf = render_pdf(statement);
    let keys = vec![
        format!("{base}/statement.json"),
        format!("{base}/statement.csv"),
        format!("{base}/statement.html"),
        format!("{base}/statement.pdf"),
    ];
    aws.objects
        .put_object(&keys[0], &json, "application/json")?;
    aws.objects
        .put_object(&keys[1], csv.as_bytes(), "text/csv; charset=utf-8")?;
    aws.objects
        .put_object(&keys[2], html.as_bytes(), "text/html; charset=utf-8")?;
    aws.objects.put_object(&keys[3], &pdf, "application/pdf")?;
    Ok(keys)
}
