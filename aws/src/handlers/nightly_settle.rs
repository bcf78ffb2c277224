//! Nightly settlement, fanned out: the coordinator (EventBridge schedule) lists the
//! (partner, customer) pairs with usage or heads in the window and sends them to SQS in shards;
//! each worker invocation settles the shards of its SQS batch and reports the ones that failed
//! (they return to the queue; settlement is idempotent, so a retry is always safe).

use crate::{Aws, Failure};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use chrono::{DateTime, NaiveDate, Utc};
use pec_ledger::settle::{settle_customers, RunSummary, SettleOptions};
use pec_ledger::store::UsageStore;
use serde::{Deserialize, Serialize};

/// Customers per shard: one worker settles a shard well within Lambda's 15 minutes.
pub const CUSTOMERS_PER_SHARD: usize = 50;

/// One SQS message: a shard of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardMessage {
    pub run_id: String,
    pub from: NaiveDate,
    pub through: NaiveDate,
    /// [partnerId, customerId] pairs.
    pub customers: Vec<(String, String)>,
}

/// What the coordinator did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub run_id: String,
    pub from: NaiveDate,
    pub through: NaiveDate,
    pub customers: usize,
    pub messages: Vec<ShardMessage>,
}

/// Settles yesterday (relative to the event's time) and the look-back window before it.
pub fn plan(aws: &Aws, event_time: DateTime<Utc>) -> Result<Plan, Failure> {
    let through = event_time
        .date_naive()
        .pred_opt()
        .unwrap_or(event_time.date_naive());
    let opts = SettleOptions::new(&aws.config, through, None, event_time);
    let customers = aws.store.customers_in_range(opts.from, opts.through)?;
    let messages = customers
        .chunks(CUSTOMERS_PER_SHARD)
        .map(|c| ShardMessage {
            run_id: opts.run_id.clone(),
            from: opts.from,
            through: opts.through,
            customers: c.to_vec(),
        })
        .collect();
    Ok(Plan {
        run_id: opts.run_id,
        from: opts.from,
        through: opts.through,
        customers: customers.len(),
        messages,
    })
}

/// The coordinator: plans the run and sends its shards to `PEC_SETTLE_QUEUE_URL`.
pub fn coordinate(
    aws: &Aws,
    event: &EventBridgeEvent<serde_json::Value>,
    now: DateTime<Utc>,
) -> Result<Plan, Failure> {
    let plan = plan(aws, event.time.unwrap_or(now))?;
    send(aws, &plan.messages)?;
    tracing::info!(run_id = %plan.run_id, from = %plan.from, through = %plan.through,
        customers = plan.customers, shards = plan.messages.len(), "settlement planned");
    Ok(plan)
}

fn send(aws: &Aws, messages: &[ShardMessage]) -> Result<(), Failure> {
    if aws.env.settle_queue_url.is_empty() {
        return Err(Failure::permanent("PEC_SETTLE_QUEUE_URL is not set"));
    }
    let rt = &aws.rt;
    for (b, batch) in messages.chunks(10).enumerate() {
        let mut entries = Vec::new();
        for (i, m) in batch.iter().enumerate() {
            let body = serde_json::to_string(m).map_err(|e| Failure::permanent(e.to_string()))?;
            entries.push(
                SendMessageBatchRequestEntry::builder()
                    .id(format!("m{}", b * 10 + i))
                    .message_body(body)
                    .build()
                    .map_err(|e| Failure::permanent(e.to_string()))?,
            );
        }
        // Entries that fail are sent again (bounded); duplicates are harmless (idempotent).
        let mut attempt = 0;
        while !entries.is_empty() {
            let out = rt
                .block_on(
                    aws.clients
                        .sqs()
                        .send_message_batch()
                        .queue_url(&aws.env.settle_queue_url)
                        .set_entries(Some(entries.clone()))
                        .send(),
                )
                .map_err(|e| {
                    Failure::retryable(format!(
                        "SQS SendMessageBatch: {}",
                        aws_sdk_sqs::error::DisplayErrorContext(&e)
                    ))
                })?;
            let failed: Vec<&str> = out.failed().iter().map(|f| f.id()).collect();
            entries.retain(|e| failed.contains(&e.id()));
            if !entries.is_empty() {
                attempt += 1;
                if attempt >= 8 {
                    return Err(Failure::retryable(format!(
                        "SQS SendMessageBatch: {} messages not sent",
                        entries.len()
                    )));
                }
                rt.block_on(crate::retry::backoff(attempt));
            }
        }
    }
    Ok(())
}

/// Settles one shard.
pub fn settle_shard(
    aws: &Aws,
    message: &ShardMessage,
    now: DateTime<Utc>,
) -> Result<RunSummary, Failure> {
    let opts = SettleOptions {
        from: message.from,
        through: message.through,
        now,
        run_id: message.run_id.clone(),
        full: false,
        batch_entries: pec_ledger::settle::BATCH_ENTRIES,
    };
    Ok(settle_customers(
        &aws.store,
        &aws.config,
        &opts,
        &message.customers,
    )?)
}

/// The worker: every message of the batch, failures reported one by one.
pub fn work(aws: &Aws, event: &SqsEvent, now: DateTime<Utc>) -> SqsBatchResponse {
    work_with_summaries(aws, event, now).0
}

/// [`work`], and the run summaries of the shards it settled (for the function's metrics).
pub fn work_with_summaries(
    aws: &Aws,
    event: &SqsEvent,
    now: DateTime<Utc>,
) -> (SqsBatchResponse, Vec<RunSummary>) {
    let mut response = SqsBatchResponse::default();
    let mut summaries = Vec::new();
    for m in &event.records {
        let id = m.message_id.clone().unwrap_or_default();
        let result = m
            .body
            .as_deref()
            .ok_or_else(|| Failure::permanent("message without a body"))
            .and_then(|b| {
                serde_json::from_str::<ShardMessage>(b)
                    .map_err(|e| Failure::permanent(format!("not a settlement shard: {e}")))
            })
            .and_then(|msg| settle_shard(aws, &msg, now));
        match result {
            Ok(summary) => summaries.push(summary),
            Err(e) => {
                tracing::error!(message_id = %id, error = %e, "settlement shard failed");
                let mut f = BatchItemFailure::default();
                f.item_identifier = id;
                response.batch_item_failures.push(f);
            }
        }
    }
    (response, summaries)
}
