//! monthly-statement: EventBridge schedule (the 2nd) → last month's statements; or
//! `{"partnerId", "month"}` → that one.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use pec_aws::handlers::monthly_statement;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let aws = pec_aws::LazyAws::from_env().await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let aws = aws.clone();
        async move {
            aws.blocking(move |aws| {
                monthly_statement::handle(aws, &event.payload, chrono::Utc::now())
            })
            .await
            .map_err(|e| e.0)
        }
    }))
    .await
}
