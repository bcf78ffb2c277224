//! usage-upload: S3 ObjectCreated (`uploads/{partnerId}/….csv[.gz]`) → usage ingestion. Logs
//! JSON lines and prints its EMF metrics on stdout.
#![forbid(unsafe_code)]

use aws_lambda_events::event::s3::S3Event;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use pec_aws::handlers::usage_upload;
use pec_aws::{emf, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    let aws = pec_aws::LazyAws::from_env().await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<S3Event>| {
        let aws = aws.clone();
        async move {
            let request_id = event.context.request_id.clone();
            let outcomes = telemetry::invoke(aws, move |aws| {
                usage_upload::handle(aws, &event.payload, chrono::Utc::now())
            })
            .await?;
            emf::emit(
                &emf::usage_upload(&outcomes, chrono::Utc::now()),
                &request_id,
            );
            Ok::<_, pec_aws::Failure>(outcomes)
        }
    }))
    .await
}
