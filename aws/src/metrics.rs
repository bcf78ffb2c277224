//! Counting DynamoDB requests on the wire (an SDK interceptor), by operation.

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Every DynamoDB request attempt, retries included, by operation (`Query`, `PutItem`, …).
#[derive(Debug, Clone, Default)]
pub struct RequestCounter {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl RequestCounter {
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.counts.lock().map(|m| m.clone()).unwrap_or_default()
    }

    pub fn total(&self) -> u64 {
        self.snapshot().values().sum()
    }

    pub fn reset(&self) {
        if let Ok(mut m) = self.counts.lock() {
            m.clear();
        }
    }
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        // The JSON protocol names the operation in `x-amz-target: DynamoDB_20120810.Query`.
        let op = context
            .request()
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("unknown")
            .to_string();
        if let Ok(mut m) = self.counts.lock() {
            *m.entry(op).or_default() += 1;
        }
        Ok(())
    }
}
