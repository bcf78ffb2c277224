//! The HTTP surface (SPEC 6.2): the signed access-snapshot webhook and statement reads. One
//! request handler serves both the AWS function (API Gateway HTTP API) and `pec serve`.
//!
//! INTERFACE STUB — the implementation replaces the bodies, keeping the signatures.

use crate::store::{ObjectStore, Store, StoreError};
use chrono::{DateTime, Utc};

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

/// Largest body accepted (SPEC 6.2: 413 above).
pub const MAX_BODY_BYTES: usize = 5 * 1024 * 1024;

/// Handles one request. `archive` receives accepted raw snapshots (`snapshots/…`).
pub fn handle(
    store: &dyn Store,
    archive: &dyn ObjectStore,
    request: &HttpRequest,
    now: DateTime<Utc>,
) -> Result<HttpResponse, StoreError> {
    let _ = (store, archive, request, now);
    unimplemented!("webhook")
}
