//! statement-api: API Gateway HTTP API (payload 2.0) → `GET /v1/partners/{partnerId}/statements/
//! {YYYY-MM}`, the statement in JSON, CSV, HTML or XLSX, signed like the webhook. Logs JSON lines.
#![forbid(unsafe_code)]

use lambda_runtime::{service_fn, Error, LambdaEvent};
use pec_aws::handlers::http_api::HttpApiRequest;
use pec_aws::handlers::statement_api;
use pec_aws::telemetry;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    let aws = pec_aws::LazyAws::from_env_read_only().await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<HttpApiRequest>| {
        let aws = aws.clone();
        async move {
            telemetry::invoke(aws, move |aws| {
                statement_api::handle(aws, &event.payload, chrono::Utc::now())
            })
            .await
        }
    }))
    .await
}
