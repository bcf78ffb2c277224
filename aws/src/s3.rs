//! S3: the domain's object store (receipts, rejected files, snapshots, statements) and a
//! streaming reader for uploaded usage files.

use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::primitives::ByteStream;
use pec_ledger::store::{ObjectStore, StoreError, StoreResult};
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::runtime::Handle;
use tokio_util::io::SyncIoBridge;

/// Objects in one bucket. Sync over async like [`crate::DynamoStore`]: call it from a blocking
/// thread (`spawn_blocking`), never from inside an async task.
pub struct S3Objects {
    rt: Handle,
    client: aws_sdk_s3::Client,
    bucket: String,
}

fn s3_error<E: std::error::Error + 'static>(op: &str, key: &str, e: E) -> StoreError {
    StoreError::Backend(format!("S3 {op} {key}: {}", DisplayErrorContext(&e)))
}

impl S3Objects {
    pub fn new(rt: Handle, client: aws_sdk_s3::Client, bucket: impl Into<String>) -> S3Objects {
        S3Objects {
            rt,
            client,
            bucket: bucket.into(),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Opens `bucket/key` as a blocking reader that streams the body (nothing is buffered
    /// beyond the transport's own chunks). `None` when there is no such object.
    pub fn open(&self, bucket: &str, key: &str) -> StoreResult<Option<S3Reader>> {
        let r = self
            .rt
            .block_on(self.client.get_object().bucket(bucket).key(key).send());
        let out = match r {
            Ok(o) => o,
            Err(e) => {
                if let Some(GetObjectError::NoSuchKey(_)) = e.as_service_error() {
                    return Ok(None);
                }
                return Err(s3_error("GetObject", key, e));
            }
        };
        let failed = Arc::new(AtomicBool::new(false));
        Ok(Some(S3Reader {
            inner: SyncIoBridge::new_with_handle(
                Box::pin(out.body.into_async_read()),
                self.rt.clone(),
            ),
            failed,
        }))
    }

    /// Keys under a prefix (tests and tools).
    pub fn list(&self, prefix: &str) -> StoreResult<Vec<String>> {
        self.rt.block_on(async {
            let mut keys = Vec::new();
            let mut token = None;
            loop {
                let out = self
                    .client
                    .list_objects_v2()
                    .bucket(&self.bucket)
                    .prefix(prefix)
                    .set_continuation_token(token)
                    .send()
                    .await
                    .map_err(|e| s3_error("ListObjectsV2", prefix, e))?;
                keys.extend(
                    out.contents()
                        .iter()
                        .filter_map(|o| o.key().map(str::to_string)),
                );
                token = out.next_continuation_token;
                if token.is_none() {
                    return Ok(keys);
                }
            }
        })
    }
}

/// A streamed S3 body as a blocking `Read`. A transport failure is remembered, so the caller
/// can tell "the object could not be read" (retry later) from "the file is invalid" (reject).
pub struct S3Reader {
    inner: SyncIoBridge<std::pin::Pin<Box<dyn tokio::io::AsyncRead + Send>>>,
    failed: Arc<AtomicBool>,
}

impl S3Reader {
    pub fn transport_failed(&self) -> Arc<AtomicBool> {
        self.failed.clone()
    }
}

impl Read for S3Reader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let r = self.inner.read(buf);
        if r.is_err() {
            self.failed.store(true, Ordering::SeqCst);
        }
        r
    }
}

impl ObjectStore for S3Objects {
    fn put_object(&self, key: &str, body: &[u8], content_type: &str) -> StoreResult<()> {
        self.rt
            .block_on(
                self.client
                    .put_object()
                    .bucket(&self.bucket)
                    .key(key)
                    .content_type(content_type)
                    .body(ByteStream::from(body.to_vec()))
                    .send(),
            )
            .map(|_| ())
            .map_err(|e| s3_error("PutObject", key, e))
    }

    fn get_object(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        let Some(mut r) = self.open(&self.bucket.clone(), key)? else {
            return Ok(None);
        };
        let mut out = Vec::new();
        r.read_to_end(&mut out)
            .map_err(|e| StoreError::Backend(format!("S3 GetObject {key}: {e}")))?;
        Ok(Some(out))
    }
}
