//! alert-publisher: EventBridge schedule (every minute) → access-lost alert events from the
//! outbox to the stack's SNS topic. Logs JSON lines on stdout.
#![forbid(unsafe_code)]

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use pec_aws::handlers::alert_publisher;
use pec_aws::telemetry;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    let aws = pec_aws::LazyAws::from_env_read_only().await?;
    lambda_runtime::run(service_fn(
        move |_event: LambdaEvent<EventBridgeEvent<serde_json::Value>>| {
            let aws = aws.clone();
            async move { telemetry::invoke(aws, alert_publisher::handle).await }
        },
    ))
    .await
}
