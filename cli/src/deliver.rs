//! Sending alert events from the outbox to partners' alert URLs (`pec partner set-alert-url`):
//! one POST per event, its JSON the body, signed as the webhook's requests are (Standard
//! Webhooks: `webhook-id` is the event's id, stable over retries; `webhook-timestamp`;
//! `webhook-signature` with the partner's newest active secret), retried with exponential
//! backoff (`backon`). An event leaves the outbox only once a 2xx answered it: delivery is at
//! least once, and a receiver dedupes by `webhook-id`.
//!
//! `ureq` (blocking, rustls) is the client: the sends happen off the request path, a few at a
//! time, and it adds no runtime to the commands that call it.

use crate::Failure;
use backon::{BlockingRetryable, ExponentialBuilder};
use chrono::Utc;
use pec_ledger::alerts::AlertEvent;
use pec_ledger::store::Store;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// Events sent in one pass at most (the rest wait for the next).
const MAX_PER_PASS: usize = 500;
/// Tries per event and pass: the first, then retries after 0.5 s, 1 s and 2 s.
const RETRIES: usize = 3;
/// One request's deadline.
const TIMEOUT: Duration = Duration::from_secs(10);

/// What a pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub sent: usize,
    /// Events still in the outbox: no URL or secret for their partner, or their URL failed.
    pub waiting: usize,
    /// One line per partner whose URL failed this pass.
    pub failures: Vec<String>,
}

/// Sends the events waiting in the outbox (of one partner, or of all), oldest first. A partner
/// whose URL fails keeps its later events for the next pass, so that they arrive in order.
pub fn deliver_pending(store: &dyn Store, partner: Option<&str>) -> Result<Delivery, Failure> {
    let events = store.pending_alert_events(partner, MAX_PER_PASS)?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .http_status_as_error(false)
        .user_agent(concat!("pec-ledger/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut targets: HashMap<String, Option<(String, String)>> = HashMap::new();
    let mut failed: HashSet<String> = HashSet::new();
    let mut out = Delivery::default();
    for event in events {
        let p = event.partner_id.clone();
        if !targets.contains_key(&p) {
            let url = store.alert_url(&p)?;
            let secret = store.active_secrets(&p)?.pop().map(|s| s.secret);
            targets.insert(p.clone(), url.zip(secret));
        }
        let Some(Some((url, secret))) = targets.get(&p) else {
            out.waiting += 1;
            continue;
        };
        if failed.contains(&p) {
            out.waiting += 1;
            continue;
        }
        match send(&agent, url, secret, &event) {
            Ok(()) => {
                store.alert_event_sent(&event.event_id, Utc::now())?;
                out.sent += 1;
            }
            Err(e) => {
                out.failures.push(format!(
                    "partner {p}: {url}: {e} (event {})",
                    event.event_id
                ));
                failed.insert(p);
                out.waiting += 1;
            }
        }
    }
    Ok(out)
}

/// Why one send failed: retried (connection, 429, 5xx) or not (any other answer).
#[derive(Debug)]
enum SendError {
    Retry(String),
    Refused(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Retry(m) | SendError::Refused(m) => f.write_str(m),
        }
    }
}

fn send(agent: &ureq::Agent, url: &str, secret: &str, event: &AlertEvent) -> Result<(), SendError> {
    let body = serde_json::to_vec(event).map_err(|e| SendError::Refused(e.to_string()))?;
    let attempt = || {
        let timestamp = Utc::now().timestamp();
        let signature = pec_ledger::webhook_secret::sign(secret, &event.event_id, timestamp, &body)
            .map_err(|e| SendError::Refused(format!("the partner's secret: {e}")))?;
        let response = agent
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &event.event_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", &signature)
            .send(&body[..])
            .map_err(|e| SendError::Retry(e.to_string()))?;
        let status = response.status().as_u16();
        match status {
            200..=299 => Ok(()),
            429 | 500..=599 => Err(SendError::Retry(format!("answered {status}"))),
            _ => Err(SendError::Refused(format!("answered {status}"))),
        }
    };
    attempt
        .retry(
            ExponentialBuilder::default()
                .with_min_delay(Duration::from_millis(500))
                .with_max_times(RETRIES),
        )
        .sleep(std::thread::sleep)
        .when(|e| matches!(e, SendError::Retry(_)))
        .call()
}
