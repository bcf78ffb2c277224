//! Error and receipt responses: `{"error":{"code","message","details":[…]}}`.

use crate::{HttpResponse, JSON};
use pec_ledger::ingest::SnapshotReceipt;
use pec_ledger::snapshot::PathError;
use serde::Serialize;

/// A value quoted for a message, cut to a readable length.
pub(crate) fn quoted(value: &str) -> String {
    const MAX: usize = 80;
    if value.chars().count() > MAX {
        let cut: String = value.chars().take(MAX).collect();
        format!("{:?}…", cut)
    } else {
        format!("{value:?}")
    }
}

/// The error body, with its fields in the documented order.
#[derive(Serialize)]
pub(crate) struct ErrorBody<'a> {
    error: ErrorFields<'a>,
}

#[derive(Serialize)]
pub(crate) struct ErrorFields<'a> {
    code: &'a str,
    message: String,
    details: Vec<Detail>,
}

/// One item of `details`: a JSON path in the snapshot, or a query/path parameter.
#[derive(Serialize)]
#[serde(untagged)]
pub(crate) enum Detail {
    Path {
        path: String,
        message: String,
    },
    #[cfg(feature = "statements")]
    Parameter {
        parameter: String,
        message: String,
    },
}

pub(crate) fn error(
    status: u16,
    code: &str,
    message: impl Into<String>,
    details: Vec<Detail>,
) -> HttpResponse {
    let body = ErrorBody {
        error: ErrorFields {
            code,
            message: message.into(),
            details,
        },
    };
    HttpResponse {
        status,
        content_type: JSON.into(),
        // Plain strings always serialise.
        body: serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec()),
    }
}

/// An error response `{"error":{"code","message","details":[]}}` (for the HTTP edge's own
/// errors, e.g. a request it could not read).
pub fn error_response(status: u16, code: &str, message: impl Into<String>) -> HttpResponse {
    error(status, code, message, vec![])
}

pub(crate) fn unauthorized(reason: String) -> HttpResponse {
    error(401, "unauthorized", reason, vec![])
}

pub(crate) fn method_not_allowed(method: &str, allowed: &str) -> HttpResponse {
    error(
        405,
        "method_not_allowed",
        format!("{} is not allowed here; use {allowed}", quoted(method)),
        vec![],
    )
}

pub(crate) fn path_details(errors: &[PathError]) -> Vec<Detail> {
    errors
        .iter()
        .map(|e| Detail::Path {
            path: e.path.clone(),
            message: e.message.clone(),
        })
        .collect()
}

#[cfg(feature = "statements")]
pub(crate) fn param_problem(parameter: &str, message: impl Into<String>) -> Detail {
    Detail::Parameter {
        parameter: parameter.into(),
        message: message.into(),
    }
}

pub(crate) fn receipt_response(status: u16, receipt: &SnapshotReceipt) -> HttpResponse {
    HttpResponse {
        status,
        content_type: JSON.into(),
        body: serde_json::to_vec(receipt).unwrap_or_else(|_| b"{}".to_vec()),
    }
}
