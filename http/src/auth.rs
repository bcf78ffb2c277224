//! Standard Webhooks signatures and request headers.

use crate::{HttpRequest, JSON, MAX_SIGNATURES_TRIED, TIMESTAMP_TOLERANCE_SECONDS};
use chrono::{DateTime, Utc};
use pec_ledger::store::{PartnerStore, StoreError};
use pec_ledger::webhook_secret;

/// Checks the Standard Webhooks headers of `request` against the partner's active secrets,
/// with the signature over `{id}.{timestamp}.{signed_body}`. `Ok(Err(reason))` is a 401.
pub(crate) fn authenticate<S: PartnerStore + ?Sized>(
    store: &S,
    partner: &str,
    request: &HttpRequest,
    signed_body: &[u8],
    now: DateTime<Utc>,
) -> Result<Result<(), String>, StoreError> {
    let (Some(id), Some(timestamp), Some(signature)) = (
        header(request, "webhook-id").filter(|v| !v.trim().is_empty()),
        header(request, "webhook-timestamp"),
        header(request, "webhook-signature"),
    ) else {
        return Ok(Err(
            "the webhook-id, webhook-timestamp and webhook-signature headers are required".into(),
        ));
    };
    let Ok(timestamp) = timestamp.trim().parse::<i64>() else {
        return Ok(Err(
            "webhook-timestamp must be an integer (unix seconds)".into()
        ));
    };
    let skew = i128::from(now.timestamp()) - i128::from(timestamp);
    if skew.abs() > i128::from(TIMESTAMP_TOLERANCE_SECONDS) {
        return Ok(Err(format!(
            "webhook-timestamp is more than {TIMESTAMP_TOLERANCE_SECONDS} seconds from the server's clock"
        )));
    }
    let secrets: Vec<String> = store
        .active_secrets(partner)?
        .into_iter()
        .map(|s| s.secret)
        .collect();
    let tried: Vec<&str> = signature
        .split_whitespace()
        .filter(|s| s.starts_with("v1,"))
        .take(MAX_SIGNATURES_TRIED)
        .collect();
    // An unknown partner (no active secret) and a wrong signature get the same answer, so the
    // answer does not tell which partners exist.
    if secrets.is_empty()
        || !webhook_secret::verify(&secrets, id, timestamp, signed_body, &tried.join(" "))
    {
        return Ok(Err(
            "no webhook-signature matches a secret of this partner".into()
        ));
    }
    Ok(Ok(()))
}

/// The first header of that (case-insensitive) name.
pub(crate) fn header<'r>(request: &'r HttpRequest, name: &str) -> Option<&'r str> {
    request
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `application/json`, optionally with `charset=utf-8` (any case, optionally quoted).
pub(crate) fn is_json_content_type(value: &str) -> bool {
    let mut parts = value.split(';');
    let media = parts.next().unwrap_or_default().trim();
    if !media.eq_ignore_ascii_case(JSON) {
        return false;
    }
    parts.all(|p| {
        let p = p.trim();
        p.is_empty()
            || p.split_once('=').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("charset")
                    && v.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
            })
    })
}
