//! Which store `pec` works on: the embedded SQLite store in the data directory (default), or
//! the AWS deployment's tables, bucket and parameters (`--store aws`, configured by the same
//! environment variables as the functions: `PEC_LEDGER_TABLE`, `PEC_STATE_TABLE`, `PEC_BUCKET`,
//! `PEC_SECRETS_PREFIX`, optional `PEC_AWS_ENDPOINT_URL`, and the usual AWS credentials).

use crate::Failure;
use clap::ValueEnum;
use pec_embedded::SqliteStore;
use pec_ledger::config::Config;
use pec_ledger::store::Store;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StoreKind {
    /// `pec.db` in the data directory.
    Sqlite,
    /// DynamoDB, S3 and SSM Parameter Store, as the Lambda functions use them.
    Aws,
}

pub enum Backend {
    Sqlite(SqliteStore),
    #[cfg(feature = "aws")]
    Aws(Box<AwsBackend>),
}

/// The AWS stores and the runtime their SDK clients run on. `pec` blocks on it from its main
/// thread, which is not a runtime thread (see `aws/README.md`, "Sync over async").
#[cfg(feature = "aws")]
pub struct AwsBackend {
    // Dropped before the runtime it runs on.
    aws: pec_aws::Aws,
    _rt: tokio::runtime::Runtime,
}

impl Backend {
    pub fn open(kind: StoreKind, data_dir: &Path) -> Result<Backend, Failure> {
        match kind {
            StoreKind::Sqlite => Ok(Backend::Sqlite(SqliteStore::open_dir(data_dir)?)),
            #[cfg(not(feature = "aws"))]
            StoreKind::Aws => Err(Failure::usage(
                "--store aws: this pec was built without AWS support; build it with \
                 `cargo build --release -p pec-cli --features aws` (README, \"The `pec` command against the stack\")",
            )),
            #[cfg(feature = "aws")]
            StoreKind::Aws => Self::open_aws(false),
        }
    }

    /// The AWS tables; `for_upgrade` skips the table-format check (`pec --store aws upgrade`).
    #[cfg(feature = "aws")]
    pub fn open_aws(for_upgrade: bool) -> Result<Backend, Failure> {
        let env = pec_aws::AwsEnv::from_env().map_err(Failure::usage)?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(Failure::internal)?;
        let aws = if for_upgrade {
            rt.block_on(pec_aws::Aws::connect_for_upgrade(env))
        } else {
            rt.block_on(pec_aws::Aws::connect(env))
        }
        .map_err(Failure::internal)?;
        Ok(Backend::Aws(Box::new(AwsBackend { aws, _rt: rt })))
    }

    /// The DynamoDB store, when this is the AWS backend.
    #[cfg(feature = "aws")]
    pub fn dynamo(&self) -> Option<&pec_aws::DynamoStore> {
        match self {
            Backend::Aws(a) => Some(&a.aws.store),
            Backend::Sqlite(_) => None,
        }
    }

    pub fn store(&self) -> &dyn Store {
        match self {
            Backend::Sqlite(s) => s,
            #[cfg(feature = "aws")]
            Backend::Aws(a) => &a.aws.store,
        }
    }

    /// The domain configuration: `DATA_DIR/config.json`, or in AWS `config/config.json` in the
    /// bucket.
    pub fn config(&self, data_dir: &Path) -> Result<Config, Failure> {
        match self {
            Backend::Sqlite(_) => load_config(data_dir),
            #[cfg(feature = "aws")]
            Backend::Aws(a) => Ok(a.aws.config.clone()),
        }
    }

    /// A larger page cache for settlement (SQLite only).
    pub fn prepare_for_settlement(&self) -> Result<(), Failure> {
        #[cfg_attr(not(feature = "aws"), allow(irrefutable_let_patterns))]
        if let Backend::Sqlite(s) = self {
            s.set_cache_mib(64)?;
        }
        Ok(())
    }
}

/// `DATA_DIR/config.json`, or the default configuration when there is none.
pub(crate) fn load_config(data_dir: &Path) -> Result<Config, Failure> {
    let path = data_dir.join("config.json");
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            Config::from_json(&text).map_err(|e| Failure::usage(format!("{}: {e}", path.display())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
        Err(e) => Err(Failure::internal(format!("{}: {e}", path.display()))),
    }
}
