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
    /// `PEC_ALERT_TOPIC_ARN`: the SNS topic access-lost alerts are published to (the access
    /// webhook's; empty elsewhere).
    pub alert_topic_arn: Option<String>,
}

pub const DEFAULT_SECRETS_PREFIX: &str = "/pec/webhook-secrets/";

/// A function's environment that lacks what it needs: a permanent failure (the stack's
/// configuration), never retried into success.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable AWS_REGION is not set (Lambda sets it)")]
    NoRegion,
}

impl AwsEnv {
    /// Reads the variables; the tables and the bucket are required.
    pub fn from_env() -> Result<AwsEnv, EnvError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<AwsEnv, EnvError> {
        let required = |k: &'static str| {
            get(k)
                .filter(|v| !v.trim().is_empty())
                .ok_or(EnvError::Missing(k))
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
            alert_topic_arn: get("PEC_ALERT_TOPIC_ARN").filter(|v| !v.trim().is_empty()),
        })
    }
}

/// Timeouts and retries of every SDK client. [`ClientSettings::default`] is what the functions
/// use: a request that hangs (a half-open connection, a stalled response) fails after seconds and
/// is retried, instead of holding the Lambda until its own timeout (29 s for the webhook).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientSettings {
    /// Time to open a connection.
    pub connect_timeout: Duration,
    /// Time from sending a request to the first byte of its response.
    pub read_timeout: Duration,
    /// One attempt of an operation, up to its response's headers (a streamed body is guarded by
    /// stalled-stream protection instead).
    pub attempt_timeout: Duration,
    /// An operation with all its retries.
    pub operation_timeout: Duration,
    /// Attempts per operation (standard retry mode: throttling, 5xx, timeouts and connection
    /// errors retried with exponential backoff and full jitter).
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// A streamed body (an S3 object being read) that delivers nothing for this long fails.
    pub stall_grace: Duration,
}

impl Default for ClientSettings {
    fn default() -> ClientSettings {
        ClientSettings {
            connect_timeout: Duration::from_secs(3),
            read_timeout: Duration::from_secs(10),
            attempt_timeout: Duration::from_secs(10),
            operation_timeout: Duration::from_secs(25),
            max_attempts: 10,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(5),
            stall_grace: Duration::from_secs(5),
        }
    }
}

impl ClientSettings {
    pub fn timeout_config(&self) -> aws_config::timeout::TimeoutConfig {
        aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.read_timeout)
            .operation_attempt_timeout(self.attempt_timeout)
            .operation_timeout(self.operation_timeout)
            .build()
    }

    pub fn stalled_stream_protection(
        &self,
    ) -> aws_config::stalled_stream_protection::StalledStreamProtectionConfig {
        aws_config::stalled_stream_protection::StalledStreamProtectionConfig::enabled()
            .grace_period(self.stall_grace)
            .build()
    }

    pub fn retry_config(&self) -> aws_config::retry::RetryConfig {
        aws_config::retry::RetryConfig::standard()
            .with_max_attempts(self.max_attempts)
            .with_initial_backoff(self.initial_backoff)
            .with_max_backoff(self.max_backoff)
    }
}

/// The SDK clients, all with [`ClientSettings`] (timeouts, the standard retry mode, stalled-stream
/// protection) and, when set, the one endpoint URL.
#[derive(Clone, Debug)]
pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub ssm: aws_sdk_ssm::Client,
    /// The configuration every client is made from; the clients few functions use (SQS, SNS)
    /// are made from it where they are used, so that the others do not link them.
    pub shared: aws_config::SdkConfig,
    /// DynamoDB requests sent (every attempt, retries included).
    pub dynamodb_requests: RequestCounter,
}

impl Clients {
    /// An SQS client (the nightly coordinator's shard queue; test set-up).
    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.shared)
    }

    /// An SNS client (the alert publisher).
    #[cfg(feature = "alerts")]
    pub fn sns(&self) -> aws_sdk_sns::Client {
        aws_sdk_sns::Client::new(&self.shared)
    }

    /// Credentials and region from the SDK's default chains (environment, profile, SSO, web
    /// identity, container, instance metadata): `pec` and the tests.
    pub async fn new(env: &AwsEnv) -> Clients {
        Self::with_settings(env, &ClientSettings::default()).await
    }

    pub async fn with_settings(env: &AwsEnv, settings: &ClientSettings) -> Clients {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(https_client())
            .retry_config(settings.retry_config())
            .timeout_config(settings.timeout_config())
            .stalled_stream_protection(settings.stalled_stream_protection());
        if let Some(url) = &env.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        Self::from_shared(env, &loader.load().await)
    }

    /// The Lambda functions' clients: credentials and region from the environment only, which
    /// is where Lambda puts the execution role's credentials (`AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) and the region (`AWS_REGION`). The default
    /// chains' other sources (profile files, SSO, web identity through STS, container and
    /// instance metadata) are never used there, and leaving them out takes their code out of
    /// every function binary (BENCHMARKS.md, "5. Lambda"). `Err`: no region in the environment.
    pub fn for_lambda(env: &AwsEnv) -> Result<Clients, EnvError> {
        Self::for_lambda_with_settings(env, &ClientSettings::default(), |k| std::env::var(k).ok())
    }

    /// [`Clients::for_lambda`] with other settings, the region looked up with `get`.
    pub fn for_lambda_with_settings(
        env: &AwsEnv,
        settings: &ClientSettings,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Clients, EnvError> {
        let region = ["AWS_REGION", "AWS_DEFAULT_REGION"]
            .iter()
            .find_map(|k| get(k).filter(|v| !v.trim().is_empty()))
            .ok_or(EnvError::NoRegion)?;
        let credentials = aws_config::environment::EnvironmentVariableCredentialsProvider::new();
        let mut shared = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region))
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(credentials),
            )
            .http_client(https_client())
            .sleep_impl(aws_smithy_async::rt::sleep::SharedAsyncSleep::new(
                aws_smithy_async::rt::sleep::TokioSleep::new(),
            ))
            .time_source(aws_smithy_async::time::SharedTimeSource::new(
                aws_smithy_async::time::SystemTimeSource::new(),
            ))
            .retry_config(settings.retry_config())
            .timeout_config(settings.timeout_config())
            .stalled_stream_protection(settings.stalled_stream_protection());
        if let Some(url) = &env.endpoint_url {
            shared = shared.endpoint_url(url);
        }
        Ok(Self::from_shared(env, &shared.build()))
    }

    fn from_shared(env: &AwsEnv, shared: &aws_config::SdkConfig) -> Clients {
        let counter = RequestCounter::default();
        let dynamodb = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(shared)
                .interceptor(counter.clone())
                .build(),
        );
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(shared)
                .force_path_style(env.endpoint_url.is_some())
                .build(),
        );
        Clients {
            dynamodb,
            s3,
            ssm: aws_sdk_ssm::Client::new(shared),
            shared: shared.clone(),
            dynamodb_requests: counter,
        }
    }
}

/// The one HTTP client of every SDK client: hyper 1 with rustls on *ring* (HTTPS to AWS, plain
/// HTTP to a local emulator). The SDK's default client is the same connector on aws-lc; ring is
/// the smaller of the two in a Lambda binary (BENCHMARKS.md, "5. Lambda").
pub fn https_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> AwsEnv {
        AwsEnv::from_lookup(|k| match k {
            "PEC_LEDGER_TABLE" => Some("ledger".into()),
            "PEC_STATE_TABLE" => Some("state".into()),
            "PEC_BUCKET" => Some("bucket".into()),
            _ => None,
        })
        .expect("environment")
    }

    #[test]
    fn lambda_clients_take_the_region_from_the_environment_or_say_it_is_missing() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let _guard = rt.enter();
        let settings = ClientSettings::default();
        let region = |clients: &Clients| clients.s3.config().region().map(|r| r.to_string());
        let both = Clients::for_lambda_with_settings(&env(), &settings, |k| match k {
            "AWS_REGION" => Some("eu-west-1".into()),
            "AWS_DEFAULT_REGION" => Some("us-east-1".into()),
            _ => None,
        })
        .expect("clients");
        assert_eq!(region(&both).as_deref(), Some("eu-west-1"));
        assert_eq!(
            both.dynamodb.config().region().map(|r| r.to_string()),
            Some("eu-west-1".to_string())
        );
        let fallback = Clients::for_lambda_with_settings(&env(), &settings, |k| {
            (k == "AWS_DEFAULT_REGION").then(|| "us-east-2".into())
        })
        .expect("clients");
        assert_eq!(region(&fallback).as_deref(), Some("us-east-2"));
        let err = Clients::for_lambda_with_settings(&env(), &settings, |k| {
            (k == "AWS_REGION").then(|| " ".into())
        })
        .err();
        assert_eq!(err, Some(EnvError::NoRegion));
        assert_eq!(
            EnvError::NoRegion.to_string(),
            "environment variable AWS_REGION is not set (Lambda sets it)"
        );
        let missing = AwsEnv::from_lookup(|k| (k == "PEC_LEDGER_TABLE").then(|| "l".into()));
        assert_eq!(missing.err(), Some(EnvError::Missing("PEC_STATE_TABLE")));
    }
}
