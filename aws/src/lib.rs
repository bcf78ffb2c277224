//! pec-aws: the AWS edge of pec-ledger. The domain crate's storage traits over DynamoDB
//! ([`DynamoStore`]), S3 ([`S3Objects`]) and SSM Parameter Store (webhook secrets), and the
//! Lambda handlers, each a thin adapter from an event to one domain call. The table and key
//! design, and the sync-over-async bridge, are documented in `aws/README.md`.
#![forbid(unsafe_code)]

pub mod dynamo;
pub mod emf;
pub mod env;
pub mod handlers;
pub mod keys;
pub mod metrics;
pub mod provision;
pub mod retry;
pub mod s3;
pub mod secrets;
pub mod telemetry;

pub use dynamo::DynamoStore;
pub use env::{AwsEnv, ClientSettings, Clients};
pub use s3::S3Objects;

use pec_ledger::config::Config;
use std::sync::Arc;

/// Where the domain configuration (`config.json`, SPEC's rates, look-back, overrides) is kept
/// in the bucket; absent means the defaults.
pub const CONFIG_KEY: &str = "config/config.json";

/// A handler's failure: the invocation fails, and Lambda retries it (an S3 event is delivered
/// again, an SQS message returns to the queue) until its retries run out. Its [`FailureKind`]
/// says whether that can help; the runtime reports it as the error type
/// ([`Failure::error_type`]: `pec.Retryable` or `pec.Permanent`), and the log line
/// `invocation failed` carries it as `retryable`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
}

/// Whether running the same invocation again can succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// A fault of the moment: throttling, a network or service error, an object that could not
    /// be read to the end. A retry can succeed.
    Retryable,
    /// The event, the configuration or the stored data is wrong: a retry fails the same way
    /// until someone fixes it.
    Permanent,
}

impl Failure {
    pub fn retryable(message: impl std::fmt::Display) -> Failure {
        Failure {
            kind: FailureKind::Retryable,
            message: message.to_string(),
        }
    }

    pub fn permanent(message: impl std::fmt::Display) -> Failure {
        Failure {
            kind: FailureKind::Permanent,
            message: message.to_string(),
        }
    }

    pub fn is_retryable(&self) -> bool {
        self.kind == FailureKind::Retryable
    }

    /// The error type the Lambda runtime reports for this failure.
    pub fn error_type(&self) -> &'static str {
        match self.kind {
            FailureKind::Retryable => "pec.Retryable",
            FailureKind::Permanent => "pec.Permanent",
        }
    }
}

impl From<Failure> for lambda_runtime::Diagnostic {
    fn from(f: Failure) -> lambda_runtime::Diagnostic {
        lambda_runtime::Diagnostic {
            error_type: f.error_type().into(),
            error_message: f.message,
        }
    }
}

/// A backend fault is retryable; stored data that no longer reads (corrupt, an unreadable
/// ledger entry) is not.
impl From<pec_ledger::store::StoreError> for Failure {
    fn from(e: pec_ledger::store::StoreError) -> Failure {
        use pec_ledger::store::StoreError;
        match e {
            StoreError::Backend(_) => Failure::retryable(e.to_string()),
            StoreError::Corrupt(_) | StoreError::UnreadableEntry { .. } => {
                Failure::permanent(e.to_string())
            }
        }
    }
}

/// Everything a function needs, built once per warm container.
pub struct Aws {
    /// The runtime the SDK clients run on (handlers block on it from blocking threads).
    pub rt: tokio::runtime::Handle,
    pub env: AwsEnv,
    pub clients: Clients,
    pub store: DynamoStore,
    pub objects: S3Objects,
    pub config: Config,
}

impl Aws {
    /// Clients, stores and configuration. Must be called inside a tokio runtime (the stores keep
    /// its handle).
    pub async fn connect(env: AwsEnv) -> Result<Aws, Failure> {
        let clients = Clients::new(&env).await;
        Self::with_clients(env, clients).await
    }

    pub async fn with_clients(env: AwsEnv, clients: Clients) -> Result<Aws, Failure> {
        Self::build(env, clients, true).await
    }

    /// Clients and stores without checking the tables' format: for `pec --store aws upgrade`
    /// only (every other use refuses tables of another format).
    pub async fn connect_for_upgrade(env: AwsEnv) -> Result<Aws, Failure> {
        let clients = Clients::new(&env).await;
        Self::build(env, clients, false).await
    }

    async fn build(env: AwsEnv, clients: Clients, check_format: bool) -> Result<Aws, Failure> {
        let aws = Self::assemble(env, clients).await?;
        if check_format {
            aws.store.check_format().await.map_err(Failure::permanent)?;
        }
        Ok(aws)
    }

    /// For a function that only reads the tables (the statement functions): the format is
    /// checked without ever writing its mark ([`DynamoStore::check_format_read_only`]).
    pub async fn read_only(env: AwsEnv, clients: Clients) -> Result<Aws, Failure> {
        let aws = Self::assemble(env, clients).await?;
        aws.store
            .check_format_read_only()
            .await
            .map_err(Failure::permanent)?;
        Ok(aws)
    }

    async fn assemble(env: AwsEnv, clients: Clients) -> Result<Aws, Failure> {
        let rt = tokio::runtime::Handle::current();
        let config = load_config(&clients.s3, &env.bucket).await?;
        let store = DynamoStore::new(
            rt.clone(),
            clients.dynamodb.clone(),
            env.ledger_table.clone(),
            env.state_table.clone(),
            secrets::SsmSecrets::new(clients.ssm.clone(), env.secrets_prefix.clone()),
        );
        let objects = S3Objects::new(rt, clients.s3.clone(), env.bucket.clone());
        Ok(Aws {
            rt: tokio::runtime::Handle::current(),
            env,
            clients,
            store,
            objects,
            config,
        })
    }

    pub async fn from_env() -> Result<Arc<Aws>, Failure> {
        let env = AwsEnv::from_env().map_err(Failure::permanent)?;
        Ok(Arc::new(Self::connect(env).await?))
    }
}

/// What a function holds from its cold start: the environment and the SDK clients, made without
/// sending a request, and the [`Aws`] built from them on the first invocation. Reading the
/// configuration from S3 waits for that invocation, so the function polls the Lambda runtime API
/// for its first event without any network round trip (`bench/lambda.sh` measures the time
/// to that poll); a failed read fails that invocation and is tried again on the next one.
#[derive(Clone)]
pub struct LazyAws {
    env: AwsEnv,
    clients: Clients,
    build: Build,
    aws: Arc<tokio::sync::OnceCell<Arc<Aws>>>,
}

/// How a [`LazyAws`] makes its [`Aws`]: a function pointer, so that a reader's binary links the
/// read-only start and not the writer's ([`Aws::read_only`]).
type Build =
    fn(
        AwsEnv,
        Clients,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Aws, Failure>> + Send>>;

impl LazyAws {
    /// The environment and the clients ([`Clients::for_lambda`]: credentials and region from
    /// the environment); no request is sent. Must be called inside a tokio runtime.
    pub async fn from_env() -> Result<LazyAws, Failure> {
        let env = AwsEnv::from_env().map_err(Failure::permanent)?;
        let clients = Clients::for_lambda(&env).map_err(Failure::permanent)?;
        Ok(Self::new(env, clients))
    }

    pub fn new(env: AwsEnv, clients: Clients) -> LazyAws {
        LazyAws {
            env,
            clients,
            build: |env, clients| Box::pin(Aws::with_clients(env, clients)),
            aws: Arc::new(tokio::sync::OnceCell::new()),
        }
    }

    /// [`LazyAws::from_env`] for a function that only reads the tables ([`Aws::read_only`]).
    pub async fn from_env_read_only() -> Result<LazyAws, Failure> {
        let mut lazy = Self::from_env().await?;
        lazy.build = |env, clients| Box::pin(Aws::read_only(env, clients));
        Ok(lazy)
    }

    /// The stores and the configuration, read once per container.
    pub async fn get(&self) -> Result<Arc<Aws>, Failure> {
        // Boxed: the SDK's request futures are deeply nested types, and inlined into every
        // handler's future (itself inside the Lambda runtime's) they overflow rustc's query
        // depth limit when the function's layout is computed.
        let init: std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send + '_>> =
            Box::pin(async {
                (self.build)(self.env.clone(), self.clients.clone())
                    .await
                    .map(Arc::new)
            });
        self.aws.get_or_try_init(|| init).await.cloned()
    }

    /// [`blocking`] on the (first time: newly built) [`Aws`].
    pub async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Aws) -> Result<T, Failure> + Send + 'static,
    ) -> Result<T, Failure> {
        blocking(self.get().await?, f).await
    }
}

async fn load_config(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<Config, Failure> {
    let r = s3.get_object().bucket(bucket).key(CONFIG_KEY).send().await;
    match r {
        Ok(out) => {
            let bytes = out
                .body
                .collect()
                .await
                .map_err(|e| Failure::retryable(format!("reading {CONFIG_KEY}: {e}")))?
                .into_bytes();
            let text = String::from_utf8_lossy(&bytes);
            Config::from_json(&text).map_err(|e| Failure::permanent(format!("{CONFIG_KEY}: {e}")))
        }
        Err(e) => match e.as_service_error() {
            Some(aws_sdk_s3::operation::get_object::GetObjectError::NoSuchKey(_)) => {
                Ok(Config::default())
            }
            _ => Err(Failure::retryable(format!(
                "reading {CONFIG_KEY}: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            ))),
        },
    }
}

/// Runs domain code (which blocks on the SDK) on a blocking thread, from an async handler.
pub async fn blocking<T: Send + 'static>(
    aws: Arc<Aws>,
    f: impl FnOnce(&Aws) -> Result<T, Failure> + Send + 'static,
) -> Result<T, Failure> {
    tokio::task::spawn_blocking(move || f(&aws))
        .await
        .map_err(|e| Failure::permanent(format!("handler task failed: {e}")))?
}

#[cfg(test)]
mod failure_tests {
    use super::*;
    use pec_ledger::store::StoreError;

    #[test]
    fn store_faults_are_retryable_and_bad_data_is_not() {
        let f = Failure::from(StoreError::Backend("throttled".into()));
        assert_eq!(
            (f.kind, f.error_type()),
            (FailureKind::Retryable, "pec.Retryable")
        );
        let f = Failure::from(StoreError::Corrupt("not JSON".into()));
        assert_eq!(
            (f.kind, f.error_type()),
            (FailureKind::Permanent, "pec.Permanent")
        );
        let f = Failure::from(StoreError::UnreadableEntry {
            resource_day: "p/c/s/r/2026-09-01/USD".into(),
            seq: 3,
            message: "bad".into(),
        });
        assert!(!f.is_retryable());
        let d = lambda_runtime::Diagnostic::from(Failure::permanent("month: not YYYY-MM"));
        assert_eq!(d.error_type, "pec.Permanent");
        assert_eq!(d.error_message, "month: not YYYY-MM");
    }
}
