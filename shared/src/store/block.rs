//! Usage blocks: the usage groups of one (partner, subscription, usage date, customer) as one
//! compact JSON array, resource IDs relative to the subscription. Both stores keep usage this way
//! (the embedded store in `usage_blocks`, the AWS store in block items), so the codec lives here.

use crate::decimal::{fmt_amount, parse_stored};
use crate::ledger::{amount_map, ResourceDayKey};
use crate::reasons::IneligibleReason;
use crate::store::{ProductAmount, StoreError, StoreResult, UsageAggregate};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where a block belongs: (partner, subscription, usage date, customer).
pub type BlockKey<'a> = (&'a str, &'a str, NaiveDate, &'a str);

/// Groups rows into blocks by (partner, subscription, usage date, customer), in key order; the
/// rows of a block need not be adjacent in `rows`.
pub fn blocks_of(rows: &[UsageAggregate]) -> BTreeMap<BlockKey<'_>, Vec<StoredUsage>> {
    let mut blocks: BTreeMap<BlockKey<'_>, Vec<StoredUsage>> = BTreeMap::new();
    for u in rows {
        let k = &u.key;
        blocks
            .entry((
                k.partner_id.as_str(),
                k.subscription_id.as_str(),
                k.usage_date,
                k.customer_id.as_str(),
            ))
            .or_default()
            .push(StoredUsage::of(u));
    }
    blocks
}

impl StoredUsage {
    /// A usage group as a block keeps it.
    pub fn of(u: &UsageAggregate) -> StoredUsage {
        let k = &u.key;
        let rel = relative(&k.resource_id, &k.subscription_id);
        StoredUsage {
            r: rel.map(str::to_string),
            a: rel.is_none().then(|| k.resource_id.clone()),
            c: k.currency.clone(),
            m: u.mpn_id.clone(),
            t: u.tier2_mpn_id.clone(),
            l: u.list_amount,
            e: u.eligible_amount,
            x: u.microsoft_credit,
            i: u.ineligible_by_reason.clone(),
            n: u.lines,
            p: u.products
                .iter()
                .map(|p| {
                    (
                        p.meter_id.clone(),
                        p.product_name.clone(),
                        p.rule,
                        fmt_amount(p.amount),
                    )
                })
                .collect(),
        }
    }
}

/// One usage group in a block's JSON body: what is not the block's (partner, subscription,
/// date, customer), with short names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredUsage {
    /// Resource ID after `/subscriptions/{subscription}` when it starts so (`r`), else whole
    /// (`a`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    r: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    a: Option<String>,
    /// Currency.
    c: String,
    /// MpnId and Tier2MpnId.
    m: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    t: String,
    /// List amount, eligible amount (R7 at upload), Microsoft's credit.
    #[serde(with = "crate::decimal::as_string")]
    l: Decimal,
    #[serde(with = "crate::decimal::as_string")]
    e: Decimal,
    #[serde(with = "crate::decimal::as_string")]
    x: Decimal,
    /// Ineligible amounts by reason (R7 at upload).
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        with = "amount_map"
    )]
    i: BTreeMap<IneligibleReason, Decimal>,
    /// Lines.
    n: u64,
    /// Products: [meter ID, product name, rule or null, amount].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    p: Vec<(String, String, Option<IneligibleReason>, String)>,
}

/// `resource_id` after `/subscriptions/{subscription}`, when it starts so.
pub fn relative<'r>(resource_id: &'r str, subscription: &str) -> Option<&'r str> {
    resource_id
        .strip_prefix("/subscriptions/")?
        .strip_prefix(subscription)
}

/// The usage rows of a block.
pub fn usage_from_block(
    partner: &str,
    subscription: &str,
    date: NaiveDate,
    customer: &str,
    body: &str,
) -> StoreResult<Vec<UsageAggregate>> {
    let stored: Vec<StoredUsage> = serde_json::from_str(body)
        .map_err(|e| StoreError::Corrupt(format!("a usage block does not read: {e}")))?;
    stored
        .into_iter()
        .map(|s| {
            let products =
                s.p.into_iter()
                    .map(|(meter_id, product_name, rule, amount)| {
                        Ok(ProductAmount {
                            meter_id,
                            product_name,
                            rule,
                            amount: parse_stored(&amount)
                                .map_err(|e| StoreError::Corrupt(format!("a usage block: {e}")))?,
                        })
                    })
                    .collect::<StoreResult<Vec<_>>>()?;
            Ok(UsageAggregate {
                key: ResourceDayKey {
                    partner_id: partner.to_string(),
                    customer_id: customer.to_string(),
                    subscription_id: subscription.to_string(),
                    resource_id: match (s.r, s.a) {
                        (Some(r), _) => format!("/subscriptions/{subscription}{r}"),
                        (None, Some(a)) => a,
                        (None, None) => {
                            return Err(StoreError::Corrupt(
                                "a usage block row without a resource ID".into(),
                            ))
                        }
                    },
                    usage_date: date,
                    currency: s.c,
                },
                mpn_id: s.m,
                tier2_mpn_id: s.t,
                list_amount: s.l,
                eligible_amount: s.e,
                microsoft_credit: s.x,
                ineligible_by_reason: s.i,
                lines: s.n,
                products,
            })
        })
        .collect()
}
