//! The alert publisher (EventBridge, every minute): access-lost alert events waiting in the
//! outbox — stored there with the snapshot that raised them, by the access webhook or
//! `pec --store aws access post` — go to the stack's SNS topic (`PEC_ALERT_TOPIC_ARN`), each as
//! one message, its JSON the body, with `partnerId` and `eventType` message attributes so that a
//! partner's subscription (email, HTTPS for Teams or Slack, SQS) can filter on them. An event
//! leaves the outbox once SNS took it: at least once, within about a minute. A function of its
//! own, so that the webhook neither waits on SNS nor links its client.

use crate::{Aws, Failure};
use aws_sdk_sns::types::MessageAttributeValue;
use chrono::Utc;
use pec_ledger::store::AlertStore;

/// Events published per invocation at most (the rest by the next).
const MAX_PER_INVOCATION: usize = 500;

/// What one invocation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Published {
    pub published: usize,
    /// Events still in the outbox after this invocation (up to its limit).
    pub waiting: usize,
}

/// Publishes the events waiting in the outbox, oldest first. Without a topic
/// (`PEC_ALERT_TOPIC_ARN` unset) it is a permanent failure: the stack's configuration.
pub fn handle(aws: &Aws) -> Result<Published, Failure> {
    let pending = aws.store.pending_alert_events(None, MAX_PER_INVOCATION)?;
    let Some(topic) = aws.env.alert_topic_arn.as_deref() else {
        return Err(Failure::permanent(
            "PEC_ALERT_TOPIC_ARN is not set: alert events wait in the outbox",
        ));
    };
    if pending.is_empty() {
        return Ok(Published {
            published: 0,
            waiting: 0,
        });
    }
    let sns = aws.clients.sns();
    let attribute = |v: &str| {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(v)
            .build()
            .map_err(Failure::permanent)
    };
    let (total, mut published) = (pending.len(), 0);
    for e in pending {
        let body = serde_json::to_string(&e).map_err(Failure::permanent)?;
        let sent = aws.rt.block_on(
            sns.publish()
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
                // It and the later ones stay in the outbox, in order, for the next invocation;
                // the failure is retryable (the function's error metric and alarm see it).
                return Err(Failure::retryable(format!(
                    "SNS Publish of event {}: {} ({published} of {total} published)",
                    e.event_id,
                    aws_sdk_sns::error::DisplayErrorContext(&err)
                )));
            }
        }
    }
    Ok(Published {
        published,
        waiting: total - published,
    })
}
