//! Configuration from the environment and the SDK clients built from it.

use crate::metrics::RequestCounter;
use std::time::Duration;

/// Where everything lives, from the environment (the SAM template sets these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsEnv {
    /// `PEC_LEDGER_TABLE`: the append-only ledger.
    pub ledger_table: String,
    /// `PEC_STATE_TABLE`: heads, usage, uploads, snapshots, indexes.
    pub state_table: String,
    /// `PEC_BUCKET`: uploads, receipts, rejected files, snapshots, statements.
    pub bucket: String,
    /// `PEC_SECRETS_PREFIX` (default `/pec/webhook-secrets/`): SSM parameter name prefix.
    pub secrets_prefix: String,
    /// `PEC_SETTLE_QUEUE_URL`: the nightly settlement's shard queue (may be empty where unused).
    pub settle_queue_url: String,
    /// `PEC_AWS_ENDPOINT_URL`: one endpoint for every client (tests against a local emulator).
    pub endpoint_url: Option<String>,
}

pub const DEFAULT_SECRETS_PREFIX: &str = "/pec/webhook-secrets/";

impl AwsEnv {
    /// Reads the variables; the tables and the bucket are required.
    pub fn from_env() -> Result<AwsEnv, String> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<AwsEnv, String> {
        let required = |k: &str| {
            get(k)
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| format!("environment variable {k} is not set"))
        };
        Ok(AwsEnv {
            ledger_table: required("PEC_LEDGER_TABLE")?,
            state_table: required("PEC_STATE_TABLE")?,
            bucket: required("PEC_BUCKET")?,
            secrets_prefix: get("PEC_SECRETS_PREFIX")
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| DEFAULT_SECRETS_PREFIX.to_string()),
            settle_queue_url: get("PEC_SETTLE_QUEUE_URL").unwrap_or_default(),
            endpoint_url: get("PEC_AWS_ENDPOINT_URL").filter(|v| !v.is_empty()),
        })
    }
}

/// The SDK clients, all with the standard retry mode (throttling and transient errors retried
/// with exponential backoff and jitter) and, when set, the one endpoint URL.
#[derive(Clone, Debug)]
pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub sqs: aws_sdk_sqs::Client,
    /// DynamoDB requests sent (every attempt, retries included).
    pub dynamodb_requests: RequestCounter,
}

impl Clients {
    pub async fn new(env: &AwsEnv) -> Clients {
        let retry = aws_config::retry::RetryConfig::standard()
            .with_max_attempts(10)
            .with_initial_backoff(Duration::from_millis(50))
            .with_max_backoff(Duration::from_secs(5));
        let mut loader =
            aws_config::defaults(aws_config::BehaviorVersion::latest()).retry_config(retry);
        if let Some(url) = &env.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let shared = loader.load().await;
        let counter = RequestCounter::default();
        let dynamodb = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&shared)
                .interceptor(counter.clone())
                .build(),
        );
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&shared)
                .force_path_style(env.endpoint_url.is_some())
                .build(),
        );
        Clients {
            dynamodb,
            s3,
            ssm: aws_sdk_ssm::Client::new(&shared),
            sqs: aws_sdk_sqs::Client::new(&shared),
            dynamodb_requests: counter,
        }
    }
}
