//! access-webhook: API Gateway HTTP API (payload 2.0) → the signed access-snapshot webhook.

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use pec_aws::handlers::access_webhook;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let aws = pec_aws::LazyAws::from_env().await?;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayV2httpRequest>| {
            let aws = aws.clone();
            async move {
                aws.blocking(move |aws| {
                    access_webhook::handle(aws, &event.payload, chrono::Utc::now())
                })
                .await
                .map_err(|e| e.0)
            }
        },
    ))
    .await
}
