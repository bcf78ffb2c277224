//! Publishing access-lost alert events to the stack's SNS topic (`PEC_ALERT_TOPIC_ARN`): each
//! waiting event of the outbox as one message, its JSON the body, with `partnerId` and
//! `eventType` message attributes so that a partner's subscription (email, HTTPS for Teams or
//! Slack, SQS) can filter on them. An event leaves the outbox once SNS took it: at least once.
//! SNS's own retries (the SDK's standard mode) cover throttling and transient failures.

use crate::{Aws, Failure};
use aws_sdk_sns::types::MessageAttributeValue;
use chrono::Utc;
use pec_ledger::store::AlertStore;

/// Events published per invocation at most (the rest by the next).
const MAX_PER_INVOCATION: usize = 100;

/// Publishes the events waiting in the outbox, oldest first; how many were published. Without
/// a topic (`PEC_ALERT_TOPIC_ARN` unset) they wait, and a warning says so.
pub fn publish_pending(aws: &Aws) -> Result<usize, Failure> {
    let pending = aws.store.pending_alert_events(None, MAX_PER_INVOCATION)?;
    if pending.is_empty() {
        return Ok(0);
    }
    let Some(topic) = aws.env.alert_topic_arn.as_deref() else {
        tracing::warn!(
            waiting = pending.len(),
            "alert events wait in the outbox: PEC_ALERT_TOPIC_ARN is not set"
        );
        return Ok(0);
    };
    let attribute = |v: &str| {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(v)
            .build()
            .map_err(Failure::permanent)
    };
    let mut published = 0;
    for e in pending {
        let body = serde_json::to_string(&e).map_err(Failure::permanent)?;
        let sent = aws.rt.block_on(
            aws.clients
                .sns
                .publish()
                .topic_arn(topic)
                .subject(format!(
                    "PEC {}: customer {}",
                    e.event_type.as_str(),
                    e.alert.customer_id
                ))
                .message(body)
                .message_attributes("partnerId", attribute(&e.partner_id)?)
                .message_attributes("eventType", attribute(e.event_type.as_str())?)
                .send(),
        );
        match sent {
            Ok(_) => {
                aws.store.alert_event_sent(&e.event_id, Utc::now())?;
                tracing::info!(event_id = %e.event_id, partner_id = %e.partner_id,
                    event_type = e.event_type.as_str(), "alert published");
                published += 1;
            }
            Err(err) => {
                // It stays in the outbox for the next invocation.
                tracing::warn!(event_id = %e.event_id,
                    error = %aws_sdk_sns::error::DisplayErrorContext(&err),
                    "alert not published yet");
                break;
            }
        }
    }
    Ok(published)
}
