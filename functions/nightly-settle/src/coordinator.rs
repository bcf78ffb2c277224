//! nightly-settle-coordinator: EventBridge schedule → the run's shards sent to SQS. Logs JSON
//! lines on stdout.
#![forbid(unsafe_code)]

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use pec_aws::handlers::nightly_settle;
use pec_aws::telemetry;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    let aws = pec_aws::LazyAws::from_env().await?;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<EventBridgeEvent<serde_json::Value>>| {
            let aws = aws.clone();
            async move {
                telemetry::invoke(aws, move |aws| {
                    nightly_settle::coordinate(aws, &event.payload, chrono::Utc::now())
                })
                .await
            }
        },
    ))
    .await
}
