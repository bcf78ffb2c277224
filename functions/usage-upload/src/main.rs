//! usage-upload: S3 ObjectCreated (`uploads/{partnerId}/….csv[.gz]`) → usage ingestion.

use aws_lambda_events::event::s3::S3Event;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use pec_aws::handlers::usage_upload;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let aws = pec_aws::LazyAws::from_env().await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<S3Event>| {
        let aws = aws.clone();
        async move {
            aws.blocking(move |aws| usage_upload::handle(aws, &event.payload, chrono::Utc::now()))
                .await
                .map_err(|e| e.0)
        }
    }))
    .await
}
