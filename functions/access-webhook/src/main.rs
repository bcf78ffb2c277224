//! access-webhook: API Gateway HTTP API (payload 2.0) → the signed access-snapshot webhook.
//! Logs JSON lines and prints its EMF metrics on stdout.
#![forbid(unsafe_code)]

use lambda_runtime::{service_fn, Error, LambdaEvent};
use pec_aws::handlers::access_webhook;
use pec_aws::handlers::http_api::HttpApiRequest;
use pec_aws::{emf, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    let aws = pec_aws::LazyAws::from_env().await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<HttpApiRequest>| {
        let aws = aws.clone();
        async move {
            let request_id = event.context.request_id.clone();
            let (response, outcome) = telemetry::invoke(aws, move |aws| {
                let response = access_webhook::handle(aws, &event.payload, chrono::Utc::now())?;
                let outcome = access_webhook::snapshot_outcome(&event.payload, &response);
                Ok((response, outcome))
            })
            .await?;
            emf::emit(
                &emf::access_webhook(outcome, chrono::Utc::now()),
                &request_id,
            );
            Ok::<_, pec_aws::Failure>(response)
        }
    }))
    .await
}
