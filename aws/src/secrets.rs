//! Partner webhook secrets in SSM Parameter Store: one SecureString parameter per partner,
//! `{prefix}{partnerId}`, holding the JSON list of active secrets `[{"secret","addedAt"}]`.
//! Reads are cached per warm container for 60 s; a change made here clears the cache entry.

use aws_sdk_ssm::error::DisplayErrorContext;
use aws_sdk_ssm::operation::get_parameter::GetParameterError;
use aws_sdk_ssm::types::ParameterType;
use pec_ledger::store::{StoreError, StoreResult, WebhookSecret};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const CACHE_FOR: Duration = Duration::from_secs(60);

pub struct SsmSecrets {
    client: aws_sdk_ssm::Client,
    prefix: String,
    cache: Mutex<HashMap<String, (Instant, Vec<WebhookSecret>)>>,
}

impl SsmSecrets {
    pub fn new(client: aws_sdk_ssm::Client, prefix: impl Into<String>) -> SsmSecrets {
        SsmSecrets {
            client,
            prefix: prefix.into(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn parameter_name(&self, partner_id: &str) -> String {
        format!("{}{}", self.prefix, partner_id.trim().to_ascii_lowercase())
    }

    async fn load(&self, partner_id: &str) -> StoreResult<Vec<WebhookSecret>> {
        let r = self
            .client
            .get_parameter()
            .name(self.parameter_name(partner_id))
            .with_decryption(true)
            .send()
            .await;
        let out = match r {
            Ok(o) => o,
            Err(e) => {
                if let Some(GetParameterError::ParameterNotFound(_)) = e.as_service_error() {
                    return Ok(Vec::new());
                }
                return Err(StoreError::Backend(format!(
                    "SSM GetParameter: {}",
                    DisplayErrorContext(&e)
                )));
            }
        };
        let value = out
            .parameter
            .and_then(|p| p.value)
            .unwrap_or_else(|| "[]".to_string());
        let mut list: Vec<WebhookSecret> = serde_json::from_str(&value)
            .map_err(|e| StoreError::Corrupt(format!("webhook secrets of {partner_id}: {e}")))?;
        list.sort_by_key(|a| a.added_at);
        Ok(list)
    }

    async fn save(&self, partner_id: &str, list: &[WebhookSecret]) -> StoreResult<()> {
        let value = serde_json::to_string(list).map_err(|e| StoreError::Backend(e.to_string()))?;
        self.client
            .put_parameter()
            .name(self.parameter_name(partner_id))
            .r#type(ParameterType::SecureString)
            .overwrite(true)
            .value(value)
            .send()
            .await
            .map_err(|e| {
                StoreError::Backend(format!("SSM PutParameter: {}", DisplayErrorContext(&e)))
            })?;
        self.forget(partner_id);
        Ok(())
    }

    fn forget(&self, partner_id: &str) {
        if let Ok(mut c) = self.cache.lock() {
            c.remove(partner_id);
        }
    }

    /// Active secrets, oldest first (cached for [`CACHE_FOR`]).
    pub async fn active(&self, partner_id: &str) -> StoreResult<Vec<WebhookSecret>> {
        if let Ok(c) = self.cache.lock() {
            if let Some((at, list)) = c.get(partner_id) {
                if at.elapsed() < CACHE_FOR {
                    return Ok(list.clone());
                }
            }
        }
        let list = self.load(partner_id).await?;
        if let Ok(mut c) = self.cache.lock() {
            c.insert(partner_id.to_string(), (Instant::now(), list.clone()));
        }
        Ok(list)
    }

    /// Adds a secret (already active: unchanged). The read-modify-write is not atomic: two
    /// administrators changing one partner's secrets at the same instant may lose one change.
    pub async fn add(&self, partner_id: &str, secret: &WebhookSecret) -> StoreResult<()> {
        let mut list = self.load(partner_id).await?;
        if list.iter().any(|s| s.secret == secret.secret) {
            self.forget(partner_id);
            return Ok(());
        }
        list.push(secret.clone());
        list.sort_by_key(|a| a.added_at);
        self.save(partner_id, &list).await
    }

    /// Removes a secret; `false` when it was not active.
    pub async fn revoke(&self, partner_id: &str, secret: &str) -> StoreResult<bool> {
        let mut list = self.load(partner_id).await?;
        let before = list.len();
        list.retain(|s| s.secret != secret);
        if list.len() == before {
            return Ok(false);
        }
        self.save(partner_id, &list).await?;
        Ok(true)
    }
}
