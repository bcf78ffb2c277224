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

/// The largest message body published (SNS takes at most 256 KiB with its attributes).
const MAX_MESSAGE_BYTES: usize = 240 * 1024;

/// An event's JSON as published: whole when it fits an SNS message; else its `resources` and
/// `resourceDaysLost` lists are cut until it does, and `resourcesOmitted` /
/// `resourceDaysLostOmitted` say how many were left out (the whole alert stays in
/// `pec --store aws alerts`). A message too large would fail its publish for good, and hold up
/// every event behind it.
fn message(e: &pec_ledger::alerts::AlertEvent) -> Result<String, Failure> {
    let mut body = serde_json::to_string(e).map_err(Failure::permanent)?;
    if body.len() <= MAX_MESSAGE_BYTES {
        return Ok(body);
    }
    let mut v = serde_json::to_value(e).map_err(Failure::permanent)?;
    let (resources, days) = (e.alert.resources.len(), e.alert.resource_days_lost.len());
    let (mut keep_resources, mut keep_days) = (resources, days);
    while body.len() > MAX_MESSAGE_BYTES && (keep_resources > 0 || keep_days > 0) {
        keep_resources /= 2;
        keep_days /= 2;
        let alert = &mut v["alert"];
        if let Some(list) = alert["resources"].as_array_mut() {
            list.truncate(keep_resources);
        }
        if let Some(list) = alert["resourceDaysLost"].as_array_mut() {
            list.truncate(keep_days);
        }
        alert["resourcesOmitted"] = (resources - keep_resources).into();
        alert["resourceDaysLostOmitted"] = (days - keep_days).into();
        body = serde_json::to_string(&v).map_err(Failure::permanent)?;
    }
    Ok(body)
}

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
        let body = message(&e)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use pec_ledger::alerts::{Alert, AlertEvent, AlertResource, AlertStatus, EventType};
    use pec_ledger::reasons::LossReason;

    #[test]
    fn an_alert_too_large_for_sns_is_cut_and_says_how_much() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-09-03T06:05:00Z")
            .map(|t| t.with_timezone(&chrono::Utc))
            .expect("time");
        let resource = |i: usize| AlertResource {
            resource_id: format!("/subscriptions/s/resourcegroups/rg/providers/p/vm{i:06}"),
            subscription_id: "s".into(),
            reason: LossReason::NoAccess,
            last_covered_at: t,
            lost_at: t,
            mpn_id: "4100001".into(),
            tier2_mpn_id: String::new(),
        };
        let event = |n: usize| AlertEvent {
            event_id: "evt_1".into(),
            event_type: EventType::AccessLost,
            partner_id: "p".into(),
            occurred_at: t,
            alert: Alert {
                alert_id: "alert_1".into(),
                partner_id: "p".into(),
                customer_id: "c".into(),
                snapshot_id: "s5".into(),
                taken_at: t,
                detected_at: t,
                status: AlertStatus::Open,
                resources: (0..n).map(resource).collect(),
                credit_at_stake_per_day: Default::default(),
                restored_at: None,
                restored_by_snapshot_id: None,
                resource_days_lost: Vec::new(),
            },
        };
        let small = event(3);
        assert_eq!(
            message(&small).expect("message"),
            serde_json::to_string(&small).expect("json")
        );
        let big = message(&event(5_000)).expect("message");
        assert!(big.len() <= MAX_MESSAGE_BYTES, "{}", big.len());
        let v: serde_json::Value = serde_json::from_str(&big).expect("json");
        let kept = v["alert"]["resources"].as_array().expect("resources").len();
        assert!(kept > 0 && kept < 5_000);
        assert_eq!(v["alert"]["resourcesOmitted"], 5_000 - kept);
        assert_eq!(v["alert"]["resourceDaysLostOmitted"], 0);
    }
}
