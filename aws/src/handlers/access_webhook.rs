//! The access webhook (SPEC 6.2) behind API Gateway's HTTP API (payload format 2.0): the
//! request is handed to [`pec_ledger::webhook::handle_snapshot_post`] as is, the response handed
//! back. Statement reads have their own function ([`super::statement_api`]), so this one links
//! neither the ledger reads nor the statement renderers.

use crate::{Aws, Failure};
use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{header::CONTENT_TYPE, HeaderValue};
use base64::Engine;
use chrono::{DateTime, Utc};
use pec_ledger::store::StoreError;
use pec_ledger::webhook::{self, HttpRequest, HttpResponse};

/// The request as the domain sees it: lower-cased header names, the body decoded from base64
/// when API Gateway encoded it. `Err`: a body that claims base64 but is not (a 400).
pub fn to_http_request(event: &ApiGatewayV2httpRequest) -> Result<HttpRequest, String> {
    let body = match &event.body {
        None => Vec::new(),
        Some(b) if event.is_base64_encoded => base64::engine::general_purpose::STANDARD
            .decode(b.as_bytes())
            .map_err(|e| format!("body is not valid base64: {e}"))?,
        Some(b) => b.as_bytes().to_vec(),
    };
    let headers = event
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    Ok(HttpRequest {
        method: event.request_context.http.method.as_str().to_string(),
        path: event
            .raw_path
            .clone()
            .or_else(|| event.request_context.http.path.clone())
            .unwrap_or_default(),
        query: event.raw_query_string.clone().unwrap_or_default(),
        headers,
        body,
    })
}

pub fn to_gateway_response(r: HttpResponse) -> ApiGatewayV2httpResponse {
    let mut out = ApiGatewayV2httpResponse::default();
    out.status_code = i64::from(r.status);
    if let Ok(v) = HeaderValue::from_str(&r.content_type) {
        out.headers.insert(CONTENT_TYPE, v);
    }
    match String::from_utf8(r.body) {
        Ok(text) => out.body = Some(Body::Text(text)),
        Err(e) => {
            out.body = Some(Body::Text(
                base64::engine::general_purpose::STANDARD.encode(e.into_bytes()),
            ));
            out.is_base64_encoded = true;
        }
    }
    out
}

fn error(status: u16, code: &str, message: &str) -> ApiGatewayV2httpResponse {
    let body = serde_json::json!({"error": {"code": code, "message": message, "details": []}});
    to_gateway_response(HttpResponse {
        status,
        content_type: "application/json".into(),
        body: body.to_string().into_bytes(),
    })
}

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
    event: &ApiGatewayV2httpRequest,
    response: &ApiGatewayV2httpResponse,
) -> Option<SnapshotOutcome> {
    let path = event
        .raw_path
        .as_deref()
        .or(event.request_context.http.path.as_deref())
        .unwrap_or_default();
    if event.request_context.http.method.as_str() != "POST"
        || webhook::allowed_method(path) != Some("POST")
    {
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
    event: &ApiGatewayV2httpRequest,
    now: DateTime<Utc>,
) -> Result<ApiGatewayV2httpResponse, Failure> {
    serve(event, |request| {
        webhook::handle_snapshot_post(&aws.store, &aws.objects, request, now)
    })
}

/// The request as the domain sees it, handed to `domain`, and its response as API Gateway's.
/// A storage failure is a 500 and the sender retries (deliveries and reads are idempotent).
pub fn serve(
    event: &ApiGatewayV2httpRequest,
    domain: impl FnOnce(&HttpRequest) -> Result<HttpResponse, StoreError>,
) -> Result<ApiGatewayV2httpResponse, Failure> {
    let request = match to_http_request(event) {
        Ok(r) => r,
        Err(msg) => return Ok(error(400, "INVALID_BODY", &msg)),
    };
    match domain(&request) {
        Ok(r) => Ok(to_gateway_response(r)),
        Err(e) => {
            tracing::error!(error = %e, path = %request.path, "HTTP request failed");
            Ok(error(500, "INTERNAL", &e.to_string()))
        }
    }
}
