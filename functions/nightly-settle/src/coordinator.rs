//! nightly-settle-coordinator: EventBridge schedule → the run's shards sent to SQS.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use pec_aws::handlers::nightly_settle;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let aws = pec_aws::LazyAws::from_env().await?;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<EventBridgeEvent<serde_json::Value>>| {
            let aws = aws.clone();
            async move {
                aws.blocking(move |aws| {
                    nightly_settle::coordinate(aws, &event.payload, chrono::Utc::now())
                })
                .await
                .map_err(|e| e.0)
            }
        },
    ))
    .await
}
