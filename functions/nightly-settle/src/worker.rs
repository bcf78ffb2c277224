//! nightly-settle-worker: SQS batch of shards → settlement, partial batch failures reported.
//! Logs JSON lines and prints its EMF metrics on stdout.
#![forbid(unsafe_code)]

use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use pec_aws::handlers::nightly_settle;
use pec_aws::{emf, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    let aws = pec_aws::LazyAws::from_env().await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let aws = aws.clone();
        async move {
            let request_id = event.context.request_id.clone();
            let (response, summaries) = telemetry::invoke(aws, move |aws| {
                Ok(nightly_settle::work_with_summaries(
                    aws,
                    &event.payload,
                    chrono::Utc::now(),
                ))
            })
            .await?;
            let failed = response.batch_item_failures.len() as u64;
            emf::emit(
                &emf::nightly_settle(&summaries, failed, chrono::Utc::now()),
                &request_id,
            );
            Ok::<_, pec_aws::Failure>(response)
        }
    }))
    .await
}
