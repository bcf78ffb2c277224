//! The rows a usage file yields: [`UsageLine`] (owned) and [`UsageLineView`] (borrowed from the
//! reader's buffers for one callback).

use chrono::NaiveDate;
use rust_decimal::Decimal;

/// One valid row of a usage file, normalised.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageLine {
    /// File line number (header = 1; a quoted newline makes a record span lines: its first line).
    pub line: u64,
    /// Lower-cased GUIDs.
    pub partner_id: String,
    pub customer_id: String,
    pub subscription_id: String,
    pub customer_name: String,
    /// Names as the file gives them (empty when absent): `PartnerName`, `CustomerDomainName`,
    /// `SubscriptionDescription`, and an export's reseller name.
    pub partner_name: String,
    pub customer_domain: String,
    pub subscription_name: String,
    pub reseller_name: String,
    pub mpn_id: String,
    /// Empty when absent.
    pub tier2_mpn_id: String,
    /// The UTC day of `UsageDate`.
    pub usage_date: NaiveDate,
    /// `ResourceURI` normalised with `ids::usage_resource_key` (the subscription when empty).
    pub resource_key: String,
    pub resource_group: String,
    pub meter_id: String,
    pub meter_name: String,
    pub meter_category: String,
    pub meter_sub_category: String,
    pub product_name: String,
    pub publisher_name: String,
    pub charge_type: String,
    pub unit_price: Decimal,
    pub quantity: Decimal,
    /// Upper-cased ISO code.
    pub pricing_currency: String,
    /// `PartnerEarnedCreditPercentage` (0–100).
    pub pec_percentage: Decimal,
    pub benefit_type: String,
    pub tags: String,
}

/// A valid row of a usage file as the reader hands it over: the same fields as a [`UsageLine`],
/// normalised the same way, borrowed from the reader's buffers for the length of one callback.
/// Ingestion adds rows up from it without a `String` per field
/// ([`read_usage_rows`](super::read_usage_rows)); [`UsageLineView::to_line`] makes the owned line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UsageLineView<'a> {
    pub line: u64,
    pub partner_id: &'a str,
    pub customer_id: &'a str,
    pub subscription_id: &'a str,
    pub customer_name: &'a str,
    pub partner_name: &'a str,
    pub customer_domain: &'a str,
    pub subscription_name: &'a str,
    pub reseller_name: &'a str,
    pub mpn_id: &'a str,
    pub tier2_mpn_id: &'a str,
    pub usage_date: NaiveDate,
    pub resource_key: &'a str,
    pub resource_group: &'a str,
    pub meter_id: &'a str,
    pub meter_name: &'a str,
    pub meter_category: &'a str,
    pub meter_sub_category: &'a str,
    pub product_name: &'a str,
    pub publisher_name: &'a str,
    pub charge_type: &'a str,
    pub unit_price: Decimal,
    pub quantity: Decimal,
    pub pricing_currency: &'a str,
    pub pec_percentage: Decimal,
    pub benefit_type: &'a str,
    pub tags: &'a str,
}

impl UsageLineView<'_> {
    /// The owned line.
    pub fn to_line(&self) -> UsageLine {
        UsageLine {
            line: self.line,
            partner_id: self.partner_id.to_string(),
            customer_id: self.customer_id.to_string(),
            subscription_id: self.subscription_id.to_string(),
            customer_name: self.customer_name.to_string(),
            partner_name: self.partner_name.to_string(),
            customer_domain: self.customer_domain.to_string(),
            subscription_name: self.subscription_name.to_string(),
            reseller_name: self.reseller_name.to_string(),
            mpn_id: self.mpn_id.to_string(),
            tier2_mpn_id: self.tier2_mpn_id.to_string(),
            usage_date: self.usage_date,
            resource_key: self.resource_key.to_string(),
            resource_group: self.resource_group.to_string(),
            meter_id: self.meter_id.to_string(),
            meter_name: self.meter_name.to_string(),
            meter_category: self.meter_category.to_string(),
            meter_sub_category: self.meter_sub_category.to_string(),
            product_name: self.product_name.to_string(),
            publisher_name: self.publisher_name.to_string(),
            charge_type: self.charge_type.to_string(),
            unit_price: self.unit_price,
            quantity: self.quantity,
            pricing_currency: self.pricing_currency.to_string(),
            pec_percentage: self.pec_percentage,
            benefit_type: self.benefit_type.to_string(),
            tags: self.tags.to_string(),
        }
    }
}

impl UsageLine {
    /// The line as a [`UsageLineView`].
    pub fn view(&self) -> UsageLineView<'_> {
        UsageLineView {
            line: self.line,
            partner_id: &self.partner_id,
            customer_id: &self.customer_id,
            subscription_id: &self.subscription_id,
            customer_name: &self.customer_name,
            partner_name: &self.partner_name,
            customer_domain: &self.customer_domain,
            subscription_name: &self.subscription_name,
            reseller_name: &self.reseller_name,
            mpn_id: &self.mpn_id,
            tier2_mpn_id: &self.tier2_mpn_id,
            usage_date: self.usage_date,
            resource_key: &self.resource_key,
            resource_group: &self.resource_group,
            meter_id: &self.meter_id,
            meter_name: &self.meter_name,
            meter_category: &self.meter_category,
            meter_sub_category: &self.meter_sub_category,
            product_name: &self.product_name,
            publisher_name: &self.publisher_name,
            charge_type: &self.charge_type,
            unit_price: self.unit_price,
            quantity: self.quantity,
            pricing_currency: &self.pricing_currency,
            pec_percentage: self.pec_percentage,
            benefit_type: &self.benefit_type,
            tags: &self.tags,
        }
    }
}
