//! [`PartnerStore`] for [`DynamoStore`]: partners' webhook secrets, kept in SSM Parameter Store
//! by [`SsmSecrets`](crate::secrets::SsmSecrets).

use super::store::DynamoStore;
use pec_ledger::store::{PartnerStore, StoreResult, WebhookSecret};

impl PartnerStore for DynamoStore {
    fn add_secret(&self, partner_id: &str, secret: &WebhookSecret) -> StoreResult<()> {
        self.block_on(self.secrets.add(partner_id, secret))
    }

    fn revoke_secret(&self, partner_id: &str, secret: &str) -> StoreResult<bool> {
        self.block_on(self.secrets.revoke(partner_id, secret))
    }

    fn active_secrets(&self, partner_id: &str) -> StoreResult<Vec<WebhookSecret>> {
        self.block_on(self.secrets.active(partner_id))
    }
}
