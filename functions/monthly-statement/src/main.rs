//! monthly-statement: EventBridge schedule (the 2nd) → last month's statements; or
//! `{"partnerId", "month"}` → that one. Logs JSON lines and prints its EMF metrics on stdout.
#![forbid(unsafe_code)]

use lambda_runtime::{service_fn, Error, LambdaEvent};
use pec_aws::handlers::monthly_statement;
use pec_aws::{emf, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    let aws = pec_aws::LazyAws::from_env_read_only().await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let aws = aws.clone();
        async move {
            let request_id = event.context.request_id.clone();
            let written = telemetry::invoke(aws, move |aws| {
                monthly_statement::handle(aws, &event.payload, chrono::Utc::now())
            })
            .await?;
            emf::emit(
                &emf::monthly_statement(&written, chrono::Utc::now()),
                &request_id,
            );
            Ok::<_, pec_aws::Failure>(written)
        }
    }))
    .await
}
