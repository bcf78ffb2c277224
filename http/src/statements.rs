//! `GET /v1/partners/{partnerId}/statements/{YYYY-MM}`: a statement in JSON, CSV, HTML or XLSX
//! (the `statements` feature: only the functions that serve statements link the renderers);
//! `customer=GUID` or `reseller=MPN` makes it one customer's or one reseller's.

use crate::auth::authenticate;
use crate::respond::{error, method_not_allowed, param_problem, quoted, unauthorized};
use crate::{normalize_partner, not_found, route, HttpRequest, HttpResponse, Route, JSON};
use chrono::{DateTime, Datelike, Utc};
use pec_ledger::statement::{render_csv, scoped_statement_from_store, Month, StatementScope};
use pec_ledger::store::{LedgerStore, PartnerStore, StoreError, UsageStore};
use pec_render::html::render_html;
use pec_render::xlsx::render_xlsx;

const CSV: &str = "text/csv; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The representations of a statement.
#[derive(Clone, Copy, PartialEq, Eq)]
enum StatementFormat {
    Json,
    Csv,
    Html,
    Xlsx,
}

/// Handles `GET …/statements/{YYYY-MM}` (the statement-api function); any other path is a 404.
pub fn handle_statement_read<S: LedgerStore + UsageStore + PartnerStore + ?Sized>(
    store: &S,
    request: &HttpRequest,
    now: DateTime<Utc>,
) -> Result<HttpResponse, StoreError> {
    match route(&request.path) {
        Some(Route::Statement { partner, month }) => {
            if request.method != "GET" {
                return Ok(method_not_allowed(&request.method, "GET"));
            }
            if let Some(refused) = crate::not_a_partner(partner) {
                return Ok(refused);
            }
            get_statement(store, &normalize_partner(partner), month, request, now)
        }
        _ => Ok(not_found(&request.path)),
    }
}

fn get_statement<S: LedgerStore + UsageStore + PartnerStore + ?Sized>(
    store: &S,
    partner: &str,
    month: &str,
    request: &HttpRequest,
    now: DateTime<Utc>,
) -> Result<HttpResponse, StoreError> {
    if let Err(reason) = authenticate(store, partner, request, b"", now)? {
        return Ok(unauthorized(reason));
    }
    let mut problems = Vec::new();
    let month = match Month::parse(month) {
        Ok(m) => Some(m),
        Err(e) => {
            problems.push(param_problem("month", e.to_string()));
            None
        }
    };
    let mut format_value = None;
    let mut as_of_value = None;
    let mut customer_value = None;
    let mut reseller_value = None;
    for pair in request.query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let slot = match name {
            "format" => &mut format_value,
            "asOf" => &mut as_of_value,
            "customer" => &mut customer_value,
            "reseller" => &mut reseller_value,
            _ => continue,
        };
        if slot.is_some() {
            problems.push(param_problem(name, "given more than once"));
            continue;
        }
        match percent_decode(value) {
            Some(v) => *slot = Some(v),
            None => problems.push(param_problem(name, "is not valid percent-encoded UTF-8")),
        }
    }
    let format = match format_value.as_deref().map(|f| f.to_ascii_lowercase()) {
        None => StatementFormat::Json,
        Some(f) => match f.as_str() {
            "json" => StatementFormat::Json,
            "csv" => StatementFormat::Csv,
            "html" => StatementFormat::Html,
            "xlsx" => StatementFormat::Xlsx,
            _ => {
                problems.push(param_problem(
                    "format",
                    format!(
                        "must be json, csv, html or xlsx, got {}",
                        quoted(format_value.as_deref().unwrap_or(""))
                    ),
                ));
                StatementFormat::Json
            }
        },
    };
    let as_of = match as_of_value.as_deref() {
        None => now,
        Some(t) => match DateTime::parse_from_rfc3339(t.trim()) {
            // The statement repeats asOf in UTC as RFC 3339, which has four-digit years only.
            Ok(t) if !(0..=9999).contains(&t.with_timezone(&Utc).year()) => {
                problems.push(param_problem(
                    "asOf",
                    format!(
                        "must be between years 0000 and 9999 in UTC, got {}",
                        quoted(t.to_rfc3339().as_str())
                    ),
                ));
                now
            }
            Ok(t) => t.with_timezone(&Utc),
            Err(e) => {
                problems.push(param_problem(
                    "asOf",
                    format!("must be an RFC 3339 time, got {} ({e})", quoted(t)),
                ));
                now
            }
        },
    };
    // One customer's or one reseller's statement.
    let customer = customer_value.map(|c| c.trim().to_ascii_lowercase());
    if let Some(c) = customer.as_deref().filter(|c| !pec_ledger::ids::is_guid(c)) {
        problems.push(param_problem(
            "customer",
            format!("must be a customer tenant id (a GUID), got {}", quoted(c)),
        ));
    }
    let reseller = reseller_value.map(|r| r.trim().to_string());
    if let Some(r) = reseller
        .as_deref()
        .filter(|r| !pec_ledger::ids::is_mpn_id(r))
    {
        problems.push(param_problem(
            "reseller",
            format!("must be a reseller's MPN ID (digits), got {}", quoted(r)),
        ));
    }
    let scope = StatementScope {
        customer_id: customer,
        reseller_mpn_id: reseller,
        ..Default::default()
    };
    let Some(month) = month.filter(|_| problems.is_empty()) else {
        return Ok(error(
            400,
            "invalid_request",
            "bad statement request",
            problems,
        ));
    };
    let statement = scoped_statement_from_store(store, partner, month, as_of, &scope)?;
    let (content_type, body) = match format {
        StatementFormat::Json => {
            // The same bytes `pec statement --format json` prints.
            let mut body = serde_json::to_vec_pretty(&statement)
                .map_err(|e| StoreError::Backend(format!("cannot serialise the statement: {e}")))?;
            body.push(b'\n');
            (JSON, body)
        }
        StatementFormat::Csv => (CSV, render_csv(&statement).into_bytes()),
        StatementFormat::Html => (HTML, render_html(&statement).into_bytes()),
        StatementFormat::Xlsx => (
            XLSX,
            render_xlsx(&statement).map_err(|e| StoreError::Backend(e.to_string()))?,
        ),
    };
    Ok(HttpResponse {
        status: 200,
        content_type: content_type.into(),
        body,
    })
}

/// `%XX`-decodes a query value (`+` stays `+`: an RFC 3339 offset needs it); `None` when the
/// escapes or the UTF-8 are invalid.
fn percent_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            // `from_str_radix` alone would take a sign: `%+1` is not an escape.
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}
