//! `pec resources`: the resources of a partner's ledger with the credit they earned and lost,
//! so that `pec explain --resource` can be fed without opening the database.

use crate::ledger::Entry;
use crate::statement::Month;
use crate::store::{EntryFilter, LedgerStore, StoreError};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One resource in one currency: what its resource-days earned and lost in the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceCredit {
    pub customer_id: String,
    pub subscription_id: String,
    pub resource_id: String,
    pub currency: String,
    /// Resource-days with entries.
    pub resource_days: u64,
    pub first_date: chrono::NaiveDate,
    pub last_date: chrono::NaiveDate,
    #[serde(with = "crate::decimal::as_string")]
    pub earned_credit: Decimal,
    #[serde(with = "crate::decimal::as_string")]
    pub lost_credit: Decimal,
}

/// Every resource of `partner_id` (of one customer, of usage dates in one month, when given)
/// with the sums of its entries, ordered by customer, resource and currency.
pub fn resources<S: LedgerStore + ?Sized>(
    store: &S,
    partner_id: &str,
    customer_id: Option<&str>,
    month: Option<Month>,
) -> Result<Vec<ResourceCredit>, StoreError> {
    let partner_id = partner_id.trim().to_ascii_lowercase();
    let customer_id = customer_id.map(|c| c.trim().to_ascii_lowercase());
    let filter = EntryFilter {
        partner_id: Some(partner_id),
        usage_from: month.map(Month::first_day),
        usage_through: month.map(Month::last_day),
        ..Default::default()
    };
    let mut by_resource: BTreeMap<(String, String, String, String), ResourceCredit> =
        BTreeMap::new();
    // Resource-days already counted (each has one or more entries).
    let mut days: std::collections::HashSet<(String, String, chrono::NaiveDate, String)> =
        std::collections::HashSet::new();
    store.for_each_entry(&filter, &mut |e: Entry| {
        let k = &e.key;
        if customer_id.as_deref().is_some_and(|c| c != k.customer_id) {
            return Ok(());
        }
        let r = by_resource
            .entry((
                k.customer_id.clone(),
                k.resource_id.clone(),
                k.currency.clone(),
                k.subscription_id.clone(),
            ))
            .or_insert_with(|| ResourceCredit {
                customer_id: k.customer_id.clone(),
                subscription_id: k.subscription_id.clone(),
                resource_id: k.resource_id.clone(),
                currency: k.currency.clone(),
                resource_days: 0,
                first_date: k.usage_date,
                last_date: k.usage_date,
                earned_credit: Decimal::ZERO,
                lost_credit: Decimal::ZERO,
            });
        if days.insert((
            k.customer_id.clone(),
            k.resource_id.clone(),
            k.usage_date,
            k.currency.clone(),
        )) {
            r.resource_days += 1;
        }
        r.first_date = r.first_date.min(k.usage_date);
        r.last_date = r.last_date.max(k.usage_date);
        r.earned_credit += e.figures.earned_credit;
        r.lost_credit += e.figures.lost_credit;
        Ok(())
    })?;
    Ok(by_resource.into_values().collect())
}
