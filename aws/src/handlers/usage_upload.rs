//! Usage-file ingestion: an S3 ObjectCreated event for `uploads/{partnerId}/….csv[.gz]` →
//! [`pec_ledger::ingest::ingest_usage_file`] on the streamed object → a receipt in
//! `receipts/{partnerId}/{uploadId}.json` (and the errors in
//! `rejected/{partnerId}/{uploadId}.errors.json` when rejected).

use crate::{Aws, Failure};
use aws_lambda_events::event::s3::S3Event;
use chrono::{DateTime, Utc};
use pec_ledger::ingest::{ingest_usage_file, UploadReceipt, UploadStatus};
use pec_ledger::store::ObjectStore;
use serde::Serialize;
use std::sync::atomic::Ordering;

/// What happened to one record of the event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub key: String,
    /// `None`: not an upload (another prefix, or not a usage file), ignored.
    pub receipt: Option<UploadReceipt>,
}

/// S3 event keys are URL-encoded, with `+` for a space.
pub fn decode_key(raw: &str) -> String {
    let plus = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8_lossy()
        .into_owned()
}

/// The partner of an upload key `uploads/{partnerId}/…(.csv|.csv.gz)`; `None` for any other key.
pub fn upload_partner(key: &str) -> Option<String> {
    let rest = key.strip_prefix("uploads/")?;
    let (partner, name) = rest.split_once('/')?;
    let lower = name.to_ascii_lowercase();
    if partner.is_empty()
        || name.is_empty()
        || !(lower.ends_with(".csv") || lower.ends_with(".csv.gz"))
    {
        return None;
    }
    Some(partner.trim().to_ascii_lowercase())
}

pub fn handle(aws: &Aws, event: &S3Event, now: DateTime<Utc>) -> Result<Vec<Outcome>, Failure> {
    let mut out = Vec::new();
    for record in &event.records {
        let Some(raw) = record.s3.object.key.as_deref() else {
            continue;
        };
        let key = decode_key(raw);
        let bucket = record
            .s3
            .bucket
            .name
            .clone()
            .unwrap_or_else(|| aws.env.bucket.clone());
        let created = record
            .event_name
            .as_deref()
            .is_none_or(|n| n.starts_with("ObjectCreated"));
        let partner = upload_partner(&key).filter(|_| created);
        let Some(partner) = partner else {
            tracing::debug!(key = %key, "not a usage upload; ignored");
            out.push(Outcome { key, receipt: None });
            continue;
        };
        let receipt = ingest_one(aws, &bucket, &key, &partner, received_at(record, now))?;
        out.push(Outcome { key, receipt });
    }
    Ok(out)
}

/// When the file arrived: the event's time (when S3 stored the object), so "latest accepted
/// wins" follows the order in which the partner uploaded, whatever the order (and number of
/// times) the events are delivered in. `now` when the event has no time (or one in the future).
pub fn received_at(
    record: &aws_lambda_events::event::s3::S3EventRecord,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let t = record.event_time;
    if t.timestamp() > 0 && t <= now {
        t
    } else {
        now
    }
}

fn ingest_one(
    aws: &Aws,
    bucket: &str,
    key: &str,
    partner: &str,
    now: DateTime<Utc>,
) -> Result<Option<UploadReceipt>, Failure> {
    let Some(reader) = aws.objects.open(bucket, key)? else {
        // Deleted since the event was sent: nothing to ingest (failing would only retry).
        tracing::warn!(
            bucket,
            key,
            "the object no longer exists; nothing to ingest"
        );
        return Ok(None);
    };
    let failed = reader.transport_failed();
    let file_name = key.rsplit('/').next().unwrap_or(key);
    let receipt = tracing::info_span!("usage_upload", bucket, key)
        .in_scope(|| ingest_usage_file(&aws.store, &aws.config, partner, file_name, reader, now))?;
    if failed.load(Ordering::SeqCst) {
        // The object could not be read to the end: not the file's fault. Fail, so the event is
        // delivered again (a rejected receipt would be wrong; nothing was accepted).
        return Err(Failure::retryable(format!(
            "s3://{bucket}/{key}: reading the object failed"
        )));
    }
    let receipt_key = format!("receipts/{partner}/{}.json", receipt.upload_id);
    match receipt.status {
        UploadStatus::Duplicate => {
            // The first upload's receipt stays as it is; a missing one (the first run stopped
            // after the commit, before writing it) is written now, as what it was: accepted.
            if aws.objects.get_object(&receipt_key)?.is_none() {
                let first = UploadReceipt {
                    status: UploadStatus::Accepted,
                    ..receipt.clone()
                };
                aws.objects
                    .put_object(&receipt_key, &json(&first)?, "application/json")?;
            }
        }
        UploadStatus::Accepted => {
            aws.objects
                .put_object(&receipt_key, &json(&receipt)?, "application/json")?;
        }
        UploadStatus::Rejected => {
            let errors = serde_json::json!({
                "uploadId": receipt.upload_id,
                "key": key,
                "errorCount": receipt.error_count,
                "errors": receipt.errors,
            });
            aws.objects.put_object(
                &format!("rejected/{partner}/{}.errors.json", receipt.upload_id),
                &json(&errors)?,
                "application/json",
            )?;
            aws.objects
                .put_object(&receipt_key, &json(&receipt)?, "application/json")?;
        }
    }
    Ok(Some(receipt))
}

fn json<T: Serialize>(v: &T) -> Result<Vec<u8>, Failure> {
    serde_json::to_vec_pretty(v).map_err(|e| Failure::permanent(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_decoded_and_only_uploads_are_taken() {
        assert_eq!(
            decode_key("uploads/p/my+file%282%29.csv"),
            "uploads/p/my file(2).csv"
        );
        assert_eq!(
            upload_partner("uploads/ABC/x/2026-09.csv.gz").as_deref(),
            Some("abc")
        );
        assert_eq!(
            upload_partner("uploads/abc/file.CSV").as_deref(),
            Some("abc")
        );
        assert_eq!(upload_partner("receipts/abc/u.json"), None);
        assert_eq!(upload_partner("uploads/abc/readme.txt"), None);
        assert_eq!(upload_partner("uploads/file.csv"), None);
    }
}
