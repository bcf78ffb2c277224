//! Which store `pec` works on: the embedded SQLite store in the data directory (default), or
//! the AWS deployment's tables, bucket and parameters (`--store aws`, configured by the same
//! environment variables as the functions: `PEC_LEDGER_TABLE`, `PEC_STATE_TABLE`, `PEC_BUCKET`,
//! `PEC_SECRETS_PREFIX`, optional `PEC_AWS_ENDPOINT_URL`, and the usual AWS credentials).

use crate::{load_config, Failure};
use clap::ValueEnum;
use pec_ledger::config::Config;
use pec_ledger::store::sqlite::SqliteStore;
use pec_ledger::store::Store;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StoreKind {
    /// `pec.db` in the data directory.
    Sqlite,
    /// DynamoDB, S3 and SSM Parameter Store, as the Lambda functions use them.
    Aws,
}

/// The store of `stores`, opened on first use.
pub fn backend<'a>(
    stores: &'a std::cell::OnceCell<Backend>,
    kind: StoreKind,
    data_dir: &Path,
) -> Result<&'a Backend, Failure> {
    if let Some(b) = stores.get() {
        return Ok(b);
    }
    let opened = Backend::open(kind, data_dir)?;
    Ok(stores.get_or_init(|| opened))
}

pub enum Backend {
    Sqlite(SqliteStore),
    Aws(Box<AwsBackend>),
}

/// The AWS stores and the runtime their SDK clients run on. `pec` blocks on it from its main
/// thread, which is not a runtime thread (see `aws/README.md`, "Sync over async").
pub struct AwsBackend {
    // Dropped before the runtime it runs on.
    aws: pec_aws::Aws,
    _rt: tokio::runtime::Runtime,
}

impl Backend {
    pub fn open(kind: StoreKind, data_dir: &Path) -> Result<Backend, Failure> {
        match kind {
            StoreKind::Sqlite => Ok(Backend::Sqlite(SqliteStore::open_dir(data_dir)?)),
            StoreKind::Aws => {
                let env = pec_aws::AwsEnv::from_env().map_err(Failure::usage)?;
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .map_err(Failure::internal)?;
                let aws = rt
                    .block_on(pec_aws::Aws::connect(env))
                    .map_err(Failure::internal)?;
                Ok(Backend::Aws(Box::new(AwsBackend { aws, _rt: rt })))
            }
        }
    }

    pub fn store(&self) -> &dyn Store {
        match self {
            Backend::Sqlite(s) => s,
            Backend::Aws(a) => &a.aws.store,
        }
    }

    /// The domain configuration: `DATA_DIR/config.json`, or in AWS `config/config.json` in the
    /// bucket.
    pub fn config(&self, data_dir: &Path) -> Result<Config, Failure> {
        match self {
            Backend::Sqlite(_) => load_config(data_dir),
            Backend::Aws(a) => Ok(a.aws.config.clone()),
        }
    }

    /// A larger page cache for settlement (SQLite only).
    pub fn prepare_for_settlement(&self) -> Result<(), Failure> {
        if let Backend::Sqlite(s) = self {
            s.set_cache_mib(64)?;
        }
        Ok(())
    }
}
