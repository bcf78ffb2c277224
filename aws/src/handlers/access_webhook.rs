//! The access webhook (SPEC 6.2) behind API Gateway's HTTP API (payload format 2.0): the
//! request is handed to [`pec_http::handle_snapshot_post`] as is, the response handed
//! back. Statement reads have their own function ([`super::statement_api`]), so this one links
//! neither the ledger reads nor the statement renderers.

use crate::handlers::http_api::{serve, HttpApiRequest, HttpApiResponse};
use crate::{Aws, Failure};
use chrono::{DateTime, Utc};
use pec_http as webhook;

/// What became of a snapshot post, for the function's metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotOutcome {
    /// 202: stored.
    Accepted,
    /// 200: the same snapshot was stored before.
    Duplicate,
    /// 4xx: not stored (signature, content type, size, schema, partner, conflict).
    Rejected,
}

/// The outcome of a `POST …/access-snapshots` request from its response; `None` for any other
/// request and for a 5xx (a failure the sender retries, not a verdict on the snapshot).
pub fn snapshot_outcome(
    event: &HttpApiRequest,
    response: &HttpApiResponse,
) -> Option<SnapshotOutcome> {
    if event.method() != "POST" || webhook::allowed_method(event.path()) != Some("POST") {
        return None;
    }
    match response.status_code {
        202 => Some(SnapshotOutcome::Accepted),
        200 => Some(SnapshotOutcome::Duplicate),
        400..=499 => Some(SnapshotOutcome::Rejected),
        _ => None,
    }
}

pub fn handle(
    aws: &Aws,
    event: &HttpApiRequest,
    now: DateTime<Utc>,
) -> Result<HttpApiResponse, Failure> {
    // Alerts a snapshot raises are stored with it; the alert publisher sends them.
    serve(event, |request| {
        webhook::handle_snapshot_post(&aws.store, &aws.objects, &aws.config, request, now)
    })
}
