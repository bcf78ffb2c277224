//! API Gateway HTTP API (payload format 2.0) events, as the two HTTP functions (access-webhook,
//! statement-api) read and answer them, and their translation to and from the domain's
//! [`HttpRequest`] / [`HttpResponse`].
//!
//! The types hold only the fields these functions use. `aws_lambda_events`' complete types
//! (authorizers, JWT and IAM contexts, cookies, multi-value maps…) decode dozens of fields the
//! functions never look at, and that decoding code was about a tenth of a megabyte of each HTTP
//! function's binary (BENCHMARKS.md, "5. Lambda"). Unknown fields are ignored, so a request API
//! Gateway sends decodes the same.

use crate::Failure;
use base64::Engine;
use pec_http::{HttpRequest, HttpResponse};
use pec_ledger::store::StoreError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A request: `rawPath`, `rawQueryString`, `headers` (API Gateway joins repeated headers with
/// commas), `body` (base64 when `isBase64Encoded`) and `requestContext.http.method`/`path`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpApiRequest {
    #[serde(default)]
    pub raw_path: Option<String>,
    #[serde(default)]
    pub raw_query_string: Option<String>,
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub is_base64_encoded: bool,
    #[serde(default)]
    pub request_context: HttpApiRequestContext,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct HttpApiRequestContext {
    #[serde(default)]
    pub http: HttpApiHttp,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct HttpApiHttp {
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub path: Option<String>,
}

impl HttpApiRequest {
    /// The path as the client sent it (`rawPath`, else `requestContext.http.path`).
    pub fn path(&self) -> &str {
        self.raw_path
            .as_deref()
            .or(self.request_context.http.path.as_deref())
            .unwrap_or_default()
    }

    pub fn method(&self) -> &str {
        &self.request_context.http.method
    }
}

/// A response: status, headers, body (base64 when `isBase64Encoded`: the XLSX statement).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpApiResponse {
    pub status_code: u16,
    pub headers: BTreeMap<String, String>,
    pub body: String,
    pub is_base64_encoded: bool,
}

impl HttpApiResponse {
    /// The body's bytes (decoded from base64 when it is encoded).
    pub fn body_bytes(&self) -> Result<Vec<u8>, NotBase64> {
        if self.is_base64_encoded {
            base64::engine::general_purpose::STANDARD
                .decode(self.body.as_bytes())
                .map_err(|e| NotBase64(e.to_string()))
        } else {
            Ok(self.body.clone().into_bytes())
        }
    }
}

/// A body that says it is base64 and is not (a 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("body is not valid base64: {0}")]
pub struct NotBase64(pub String);

/// The request as the domain sees it: lower-cased header names, the body decoded from base64
/// when API Gateway encoded it. `Err`: a body that claims base64 but is not (a 400).
pub fn to_http_request(event: &HttpApiRequest) -> Result<HttpRequest, NotBase64> {
    let body = match &event.body {
        None => Vec::new(),
        Some(b) if event.is_base64_encoded => base64::engine::general_purpose::STANDARD
            .decode(b.as_bytes())
            .map_err(|e| NotBase64(e.to_string()))?,
        Some(b) => b.as_bytes().to_vec(),
    };
    let headers = event
        .headers
        .iter()
        .flatten()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    Ok(HttpRequest {
        method: event.method().to_string(),
        path: event.path().to_string(),
        query: event.raw_query_string.clone().unwrap_or_default(),
        headers,
        body,
    })
}

/// The domain's response for API Gateway: a body that is not UTF-8 goes base64-encoded.
pub fn to_gateway_response(r: HttpResponse) -> HttpApiResponse {
    let mut out = HttpApiResponse {
        status_code: r.status,
        ..HttpApiResponse::default()
    };
    out.headers.insert("content-type".into(), r.content_type);
    match String::from_utf8(r.body) {
        Ok(text) => out.body = text,
        Err(e) => {
            out.body = base64::engine::general_purpose::STANDARD.encode(e.into_bytes());
            out.is_base64_encoded = true;
        }
    }
    out
}

fn error(status: u16, code: &str, message: &str) -> HttpApiResponse {
    let body = serde_json::json!({"error": {"code": code, "message": message, "details": []}});
    to_gateway_response(HttpResponse {
        status,
        content_type: "application/json".into(),
        body: body.to_string().into_bytes(),
    })
}

/// The request as the domain sees it, handed to `domain`, and its response as API Gateway's.
/// A storage failure is a 500 and the sender retries (deliveries and reads are idempotent).
pub fn serve(
    event: &HttpApiRequest,
    domain: impl FnOnce(&HttpRequest) -> Result<HttpResponse, StoreError>,
) -> Result<HttpApiResponse, Failure> {
    let request = match to_http_request(event) {
        Ok(r) => r,
        Err(e) => return Ok(error(400, "INVALID_BODY", &e.to_string())),
    };
    match domain(&request) {
        Ok(r) => Ok(to_gateway_response(r)),
        Err(e) => {
            tracing::error!(error = %e, path = %request.path, "HTTP request failed");
            Ok(error(500, "INTERNAL", &e.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_decodes_with_the_fields_the_functions_use_and_ignores_the_rest() {
        // A payload 2.0 request as API Gateway documents it, authorizer and all.
        let event: HttpApiRequest = serde_json::from_str(
            r#"{"version":"2.0","routeKey":"POST /v1/partners/{partnerId}/access-snapshots",
            "rawPath":"/v1/partners/p/access-snapshots","rawQueryString":"a=1&b=2",
            "cookies":["c=1"],"headers":{"Content-Type":"application/json","X-Two":"a,b"},
            "queryStringParameters":{"a":"1","b":"2"},
            "requestContext":{"accountId":"123456789012","apiId":"api","authorizer":{"jwt":
            {"claims":{"sub":"x"},"scopes":null}},"domainName":"d","http":{"method":"POST",
            "path":"/v1/partners/p/access-snapshots","protocol":"HTTP/1.1","sourceIp":"192.0.2.1",
            "userAgent":"agent"},"requestId":"id","routeKey":"$default","stage":"$default",
            "time":"12/Mar/2020:19:03:58 +0000","timeEpoch":1583348638390},
            "body":"eyJhIjoxfQ==","pathParameters":{"partnerId":"p"},"isBase64Encoded":true,
            "stageVariables":null}"#,
        )
        .expect("decodes");
        let r = to_http_request(&event).expect("request");
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/v1/partners/p/access-snapshots");
        assert_eq!(r.query, "a=1&b=2");
        assert_eq!(r.body, br#"{"a":1}"#);
        assert_eq!(
            r.headers,
            vec![
                ("content-type".to_string(), "application/json".to_string()),
                ("x-two".to_string(), "a,b".to_string())
            ]
        );
        // Nulls and missing fields are empty, not errors; a path only in the context is used.
        let bare: HttpApiRequest = serde_json::from_str(
            r#"{"headers":null,"body":null,"requestContext":{"http":{"method":"GET","path":"/x"}}}"#,
        )
        .expect("decodes");
        let r = to_http_request(&bare).expect("request");
        assert_eq!(
            (r.method.as_str(), r.path.as_str(), r.query.as_str()),
            ("GET", "/x", "")
        );
        assert!(r.headers.is_empty() && r.body.is_empty());
        // A body that claims base64 and is not: a 400 from `serve`, the domain is not called.
        let bad = HttpApiRequest {
            body: Some("%%%".into()),
            is_base64_encoded: true,
            ..bare
        };
        let out = serve(&bad, |_| unreachable!("not called")).expect("response");
        assert_eq!(out.status_code, 400);
        assert!(out.body.contains("INVALID_BODY"), "{}", out.body);
        // A storage failure: 500, so the sender retries; the domain's message is kept.
        let out = serve(&HttpApiRequest::default(), |_| {
            Err(StoreError::Backend("DynamoDB throttled".into()))
        })
        .expect("response");
        assert_eq!(out.status_code, 500);
        let body: serde_json::Value = serde_json::from_str(&out.body).expect("JSON");
        assert_eq!(body["error"]["code"], "INTERNAL");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("DynamoDB throttled")),
            "{body}"
        );
    }

    #[test]
    fn responses_are_text_or_base64_and_serialise_as_api_gateway_reads_them() {
        let text = to_gateway_response(HttpResponse {
            status: 202,
            content_type: "application/json".into(),
            body: br#"{"status":"accepted"}"#.to_vec(),
        });
        assert_eq!(
            serde_json::to_value(&text).expect("JSON"),
            serde_json::json!({"statusCode": 202, "headers": {"content-type": "application/json"},
                "body": "{\"status\":\"accepted\"}", "isBase64Encoded": false})
        );
        let binary = to_gateway_response(HttpResponse {
            status: 200,
            content_type: "application/octet-stream".into(),
            body: vec![0x50, 0x4b, 0x03, 0x04, 0xff],
        });
        assert!(binary.is_base64_encoded);
        assert_eq!(binary.body, "UEsDBP8=");
        assert_eq!(
            binary.body_bytes().expect("base64"),
            [0x50, 0x4b, 0x03, 0x04, 0xff]
        );
    }
}
