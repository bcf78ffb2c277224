//! `POST /v1/partners/{partnerId}/access-snapshots`: checks, stores and archives a snapshot.

use crate::auth::{authenticate, header};
use crate::respond::{error, path_details, quoted, receipt_response, unauthorized};
use crate::{is_json_content_type, HttpRequest, HttpResponse, JSON, MAX_BODY_BYTES};
use chrono::{DateTime, Utc};
use pec_ledger::config::Config;
use pec_ledger::ingest::{post_snapshot_watched, SnapshotStatus};
use pec_ledger::snapshot::parse_snapshot;
use pec_ledger::store::{
    AlertStore, ObjectStore, PartnerStore, SnapshotStore, StoreError, UsageStore,
};
use sha2::{Digest, Sha256};

/// Longest identifier copied into an archive key part; longer ones are cut and suffixed with a
/// digest of the whole.
pub(crate) const MAX_KEY_PART_CHARS: usize = 100;

/// An identifier made safe as one part of an object key: characters other than ASCII letters,
/// digits, `-`, `_` and `.` become `_`; an all-dots or empty part is prefixed with `_`; a long
/// one is cut and suffixed with a digest of the whole.
pub(crate) fn key_part(id: &str) -> String {
    let mut part: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if part.len() > MAX_KEY_PART_CHARS {
        let digest = hex::encode(Sha256::digest(id.as_bytes()));
        part.truncate(MAX_KEY_PART_CHARS);
        part = format!("{part}~{}", &digest[..16]);
    }
    if part.chars().all(|c| c == '.') {
        part.insert(0, '_');
    }
    part
}

pub(crate) fn post_access_snapshot<
    S: SnapshotStore + AlertStore + UsageStore + PartnerStore + ?Sized,
>(
    store: &S,
    archive: &dyn ObjectStore,
    config: &Config,
    partner: &str,
    request: &HttpRequest,
    now: DateTime<Utc>,
) -> Result<HttpResponse, StoreError> {
    match header(request, "content-type") {
        Some(ct) if is_json_content_type(ct) => {}
        other => {
            return Ok(error(
                415,
                "unsupported_media_type",
                format!(
                    "Content-Type must be application/json (optionally with charset=utf-8), got {}",
                    other.map_or_else(|| "none".to_string(), quoted)
                ),
                vec![],
            ))
        }
    }
    let body = &request.body;
    if body.len() > MAX_BODY_BYTES {
        return Ok(error(
            413,
            "payload_too_large",
            format!("the body is larger than {MAX_BODY_BYTES} bytes"),
            vec![],
        ));
    }
    if let Err(reason) = authenticate(store, partner, request, body, now)? {
        tracing::info!(partner_id = %partner, status = 401u16, reason = %reason,
            "access snapshot request not authenticated");
        return Ok(unauthorized(reason));
    }
    // Alerts it raises are stored with it, for the caller to send.
    let receipt = post_snapshot_watched(store, config, partner, body, now)?.receipt;
    match receipt.status {
        SnapshotStatus::Accepted => {
            // The store has it; now the raw body goes to the archive. The same `now` parses
            // it exactly as `post_snapshot` did.
            let snapshot = parse_snapshot(body, now)
                .map_err(|_| StoreError::Backend("an accepted snapshot no longer parses".into()))?;
            let key = format!(
                "snapshots/{}/{}/{}-{}.json",
                key_part(&snapshot.partner_id),
                key_part(&snapshot.customer_id),
                snapshot.taken_at.format("%Y%m%dT%H%M%SZ"),
                key_part(&snapshot.snapshot_id)
            );
            archive.put_object(&key, body, JSON)?;
            Ok(receipt_response(202, &receipt))
        }
        SnapshotStatus::Duplicate => Ok(receipt_response(200, &receipt)),
        SnapshotStatus::Conflict => Ok(error(
            409,
            "snapshot_conflict",
            "snapshotId was already used for a snapshot with other content; nothing was stored",
            path_details(&receipt.errors),
        )),
        SnapshotStatus::Rejected => {
            // A body that passes the schema was rejected only for its partnerId.
            if parse_snapshot(body, now).is_ok() {
                Ok(error(
                    403,
                    "partner_mismatch",
                    format!("the snapshot's partnerId is not the partner of the path ({partner})"),
                    path_details(&receipt.errors),
                ))
            } else {
                Ok(error(
                    400,
                    "invalid_snapshot",
                    format!(
                        "the snapshot is invalid ({} problem(s)); nothing was stored",
                        receipt.errors.len()
                    ),
                    path_details(&receipt.errors),
                ))
            }
        }
    }
}
