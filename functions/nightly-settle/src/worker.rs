//! nightly-settle-worker: SQS batch of shards → settlement, partial batch failures reported.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use pec_aws::handlers::nightly_settle;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let aws = pec_aws::LazyAws::from_env().await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let aws = aws.clone();
        async move {
            aws.blocking(move |aws| -> Result<SqsBatchResponse, _> {
                Ok(nightly_settle::work(
                    aws,
                    &event.payload,
                    chrono::Utc::now(),
                ))
            })
            .await
            .map_err(|e| e.0)
        }
    }))
    .await
}
