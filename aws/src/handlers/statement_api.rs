//! Statement reads over HTTP (SPEC 6.2, `GET /v1/partners/{partnerId}/statements/{YYYY-MM}`)
//! behind API Gateway's HTTP API (payload format 2.0): the request is handed to
//! [`pec_http::handle_statement_read`] as is, the response handed back. A function of
//! its own, apart from the access webhook: it reads the ledger and renders the statement in every
//! format (the XLSX writer alone is about half a megabyte of code), the webhook does neither.

use crate::handlers::http_api::{serve, HttpApiRequest, HttpApiResponse};
use crate::{Aws, Failure};
use chrono::{DateTime, Utc};
use pec_http as webhook;

pub fn handle(
    aws: &Aws,
    event: &HttpApiRequest,
    now: DateTime<Utc>,
) -> Result<HttpApiResponse, Failure> {
    serve(event, |request| {
        webhook::handle_statement_read(&aws.store, request, now)
    })
}
