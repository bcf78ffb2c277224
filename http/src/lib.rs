//! The HTTP surface (SPEC 6.2): the signed access-snapshot webhook and statement reads. One
//! request handler ([`handle`]) serves every route for `pec serve`; on AWS (API Gateway HTTP API)
//! the access-webhook function serves the webhook's routes ([`handle_snapshot_post`]) and the
//! statement-api function the statement reads ([`handle_statement_read`]).
//!
//! Routes:
//! - `POST /v1/partners/{partnerId}/access-snapshots`: a snapshot (SPEC 3.2), signed per
//!   Standard Webhooks with one of the partner's secrets. Checked in this order: route (404),
//!   method (405), `Content-Type` (415), size (413), signature (401), schema (400), partner
//!   (403), then stored: 202 accepted, 200 duplicate, 409 `snapshotId` reused with other content.
//!   An accepted body is archived as `snapshots/{partnerId}/{customerId}/{takenAt}-{snapshotId}.json`.
//! - `GET /v1/partners/{partnerId}/statements/{YYYY-MM}?format=json|csv|html|xlsx&asOf=RFC3339`:
//!   the statement (SPEC 5), signed the same way over an empty body (401), then 400 for a bad
//!   month, format or `asOf`.
//!
//! - `GET /openapi.json`: the OpenAPI 3.1 description of these routes ([`OPENAPI_JSON`],
//!   `docs/openapi.json`), not signed.
//!
//! Errors are `{"error":{"code","message","details":[…]}}`; successes of the webhook are the
//! snapshot receipt `{"snapshotId","status","errors"}`. The handler never panics on input.

#![forbid(unsafe_code)]

mod auth;
mod respond;
mod snapshots;
#[cfg(feature = "statements")]
mod statements;

#[cfg(feature = "statements")]
pub use statements::handle_statement_read;

use auth::is_json_content_type;
use chrono::{DateTime, Utc};
use pec_ledger::config::Config;
#[cfg(feature = "statements")]
use pec_ledger::store::Store;
use pec_ledger::store::{
    AlertStore, ObjectStore, PartnerStore, SnapshotStore, StoreError, UsageStore,
};
pub use respond::error_response;
use respond::{error, method_not_allowed, quoted};

/// A request as the edge received it. Header names are lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    /// The path without the query string, e.g. `/v1/partners/{p}/access-snapshots`.
    pub path: String,
    /// The raw query string without `?` (may be empty).
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// Largest body accepted (SPEC 6.2: 413 above): the one snapshot size limit.
pub const MAX_BODY_BYTES: usize = pec_ledger::snapshot::MAX_SNAPSHOT_BYTES;

/// How far `webhook-timestamp` may be from the server's clock, either way (Standard Webhooks).
pub const TIMESTAMP_TOLERANCE_SECONDS: i64 = 5 * 60;

/// At most this many `v1,` signatures of one request are tried (each costs an HMAC of the body
/// per active secret), so a header listing thousands cannot make a request expensive.
pub const MAX_SIGNATURES_TRIED: usize = 8;

/// The OpenAPI 3.1 document of this interface (`docs/openapi.json`), served at `GET /openapi.json`.
/// Its `components.schemas.Snapshot` is `docs/snapshot.schema.json` (JSON Schema 2020-12).
pub const OPENAPI_JSON: &str = include_str!("../../docs/openapi.json");

pub use pec_ledger::snapshot::SNAPSHOT_SCHEMA_JSON;

pub(crate) const JSON: &str = "application/json";

/// The routes this handler knows.
// Without the `statements` feature a statement route is recognised (to answer 404) but not read.
#[cfg_attr(not(feature = "statements"), allow(dead_code))]
pub(crate) enum Route<'a> {
    Snapshots { partner: &'a str },
    Statement { partner: &'a str, month: &'a str },
    OpenApi,
}

pub(crate) fn route(path: &str) -> Option<Route<'_>> {
    if path == "/openapi.json" {
        return Some(Route::OpenApi);
    }
    let rest = path.strip_prefix("/v1/partners/")?;
    let mut parts = rest.split('/');
    let partner = parts.next().filter(|p| !p.trim().is_empty())?;
    match (parts.next(), parts.next(), parts.next()) {
        (Some("access-snapshots"), None, None) => Some(Route::Snapshots { partner }),
        (Some("statements"), Some(month), None) if !month.is_empty() => {
            Some(Route::Statement { partner, month })
        }
        _ => None,
    }
}

/// The method a known path answers to (for the `Allow` header of a 405), `None` for an unknown
/// path.
pub fn allowed_method(path: &str) -> Option<&'static str> {
    match route(path)? {
        Route::Snapshots { .. } => Some("POST"),
        Route::Statement { .. } | Route::OpenApi => Some("GET"),
    }
}

#[cfg(feature = "statements")]
/// Handles one request on any route (`pec serve`). `archive` receives accepted raw snapshots
/// (`snapshots/…`).
pub fn handle<S: Store + ?Sized>(
    store: &S,
    archive: &dyn ObjectStore,
    config: &Config,
    request: &HttpRequest,
    now: DateTime<Utc>,
) -> Result<HttpResponse, StoreError> {
    match route(&request.path) {
        Some(Route::Statement { .. }) => handle_statement_read(store, request, now),
        _ => handle_snapshot_post(store, archive, config, request, now),
    }
}

/// Handles a request for the webhook's routes, `POST …/access-snapshots` and `GET /openapi.json`
/// (the access-webhook function); any other path is a 404. It needs the snapshots, the
/// partners' secrets, and for alerts the watch and the customer's usage: the AWS function that
/// calls it links nothing of the ledger or of the statement renderers. Alert events a snapshot
/// raises are stored with it; the caller sends them ([`AlertStore::pending_alert_events`]).
pub fn handle_snapshot_post<S: SnapshotStore + AlertStore + UsageStore + PartnerStore + ?Sized>(
    store: &S,
    archive: &dyn ObjectStore,
    config: &Config,
    request: &HttpRequest,
    now: DateTime<Utc>,
) -> Result<HttpResponse, StoreError> {
    match route(&request.path) {
        Some(Route::Snapshots { partner }) => {
            if request.method != "POST" {
                return Ok(method_not_allowed(&request.method, "POST"));
            }
            if let Some(refused) = not_a_partner(partner) {
                return Ok(refused);
            }
            snapshots::post_access_snapshot(
                store,
                archive,
                config,
                &normalize_partner(partner),
                request,
                now,
            )
        }
        Some(Route::OpenApi) => {
            if request.method != "GET" {
                return Ok(method_not_allowed(&request.method, "GET"));
            }
            Ok(HttpResponse {
                status: 200,
                content_type: JSON.into(),
                body: OPENAPI_JSON.as_bytes().to_vec(),
            })
        }
        Some(Route::Statement { .. }) | None => Ok(not_found(&request.path)),
    }
}

pub(crate) fn not_found(path: &str) -> HttpResponse {
    error(
        404,
        "not_found",
        format!("no such resource: {}", quoted(path)),
        vec![],
    )
}

pub(crate) fn normalize_partner(p: &str) -> String {
    p.trim().to_ascii_lowercase()
}

/// A path whose partner is not a partner id (a GUID): 404 naming `partnerId`, before any secret
/// is looked up.
pub(crate) fn not_a_partner(partner: &str) -> Option<HttpResponse> {
    if pec_ledger::ids::is_guid(&normalize_partner(partner)) {
        return None;
    }
    Some(error(
        404,
        "not_found",
        format!(
            "partnerId {} in the path is not a partner id (a GUID such as 7a3c0000-0000-4000-8000-000000000001)",
            quoted(partner)
        ),
        vec![],
    ))
}

// The tests drive `handle`, every route: they need the `statements` feature (the workspace's
// test command turns it on through `pec-cli`).
#[cfg(all(test, feature = "statements"))]
mod tests;
