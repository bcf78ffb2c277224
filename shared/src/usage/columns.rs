//! The 55 columns of a daily rated usage file (SPEC 3.1), the indexes of those the reader uses,
//! and the header: mapping it onto the known columns and reporting bad or missing headers.

use super::report::Errors;

/// The 55 columns of a new-commerce daily rated usage file, in the SPEC's order.
pub(super) const COLUMNS: [&str; 55] = [
    "PartnerId",
    "PartnerName",
    "CustomerId",
    "CustomerName",
    "CustomerDomainName",
    "CustomerCountry",
    "MpnId",
    "Tier2MpnId",
    "InvoiceNumber",
    "ProductId",
    "SkuId",
    "AvailabilityId",
    "SkuName",
    "ProductName",
    "PublisherName",
    "PublisherId",
    "SubscriptionDescription",
    "SubscriptionId",
    "ChargeStartDate",
    "ChargeEndDate",
    "UsageDate",
    "MeterType",
    "MeterCategory",
    "MeterId",
    "MeterSubCategory",
    "MeterName",
    "MeterRegion",
    "Unit",
    "ResourceLocation",
    "ConsumedService",
    "ResourceGroup",
    "ResourceURI",
    "ChargeType",
    "UnitPrice",
    "Quantity",
    "UnitType",
    "BillingPreTaxTotal",
    "BillingCurrency",
    "PricingPreTaxTotal",
    "PricingCurrency",
    "ServiceInfo1",
    "ServiceInfo2",
    "Tags",
    "AdditionalInfo",
    "EffectiveUnitPrice",
    "PCToBCExchangeRate",
    "PCToBCExchangeRateDate",
    "EntitlementId",
    "EntitlementDescription",
    "PartnerEarnedCreditPercentage",
    "CreditPercentage",
    "CreditType",
    "BenefitOrderId",
    "BenefitId",
    "BenefitType",
];

pub(super) const N_COLUMNS: usize = COLUMNS.len();

// Indexes into COLUMNS of the columns the reader uses (checked by a test).
pub(super) const PARTNER_ID: usize = 0;
pub(super) const CUSTOMER_ID: usize = 2;
pub(super) const PARTNER_NAME: usize = 1;
pub(super) const CUSTOMER_NAME: usize = 3;
pub(super) const CUSTOMER_DOMAIN: usize = 4;
pub(super) const MPN_ID: usize = 6;
pub(super) const TIER2_MPN_ID: usize = 7;
pub(super) const PRODUCT_NAME: usize = 13;
pub(super) const PUBLISHER_NAME: usize = 14;
pub(super) const SUBSCRIPTION_DESCRIPTION: usize = 16;
pub(super) const SUBSCRIPTION_ID: usize = 17;
pub(super) const USAGE_DATE: usize = 20;
pub(super) const METER_CATEGORY: usize = 22;
pub(super) const METER_ID: usize = 23;
pub(super) const METER_SUB_CATEGORY: usize = 24;
pub(super) const METER_NAME: usize = 25;
pub(super) const RESOURCE_GROUP: usize = 30;
pub(super) const RESOURCE_URI: usize = 31;
pub(super) const CHARGE_TYPE: usize = 32;
pub(super) const UNIT_PRICE: usize = 33;
pub(super) const QUANTITY: usize = 34;
pub(super) const PRICING_CURRENCY: usize = 39;
pub(super) const TAGS: usize = 42;
pub(super) const PEC_PERCENTAGE: usize = 49;
pub(super) const BENEFIT_TYPE: usize = 54;

/// Columns that must be in the header; their values must be non-empty except `ResourceURI`.
pub(super) const REQUIRED: [usize; 16] = [
    PARTNER_ID,
    CUSTOMER_ID,
    MPN_ID,
    SUBSCRIPTION_ID,
    USAGE_DATE,
    RESOURCE_URI,
    METER_ID,
    METER_NAME,
    METER_CATEGORY,
    PRODUCT_NAME,
    PUBLISHER_NAME,
    CHARGE_TYPE,
    UNIT_PRICE,
    QUANTITY,
    PRICING_CURRENCY,
    PEC_PERCENTAGE,
];

/// The 55 column names of a usage file, in the SPEC's order (SPEC 3.1).
pub fn usage_header() -> &'static [&'static str] {
    &COLUMNS
}

/// The header, mapped onto the known columns.
pub(super) struct Header {
    /// Each field's name as written (trimmed).
    pub(super) names: Vec<String>,
    /// Each field's known column, if it is one of the 55.
    pub(super) known: Vec<Option<usize>>,
}

impl Header {
    /// The column name an error on field `i` reports: the SPEC's spelling for a known column.
    pub(super) fn column_name(&self, i: usize) -> &str {
        match self.known.get(i).copied().flatten() {
            Some(k) => COLUMNS[k],
            None => self.names.get(i).map(String::as_str).unwrap_or(""),
        }
    }
}

/// Maps the header record onto the known columns, reporting bad, duplicated and missing
/// headers; `None` if the file must be rejected.
pub(super) fn read_header(
    record: &csv::ByteRecord,
    line: u64,
    errors: &mut Errors,
) -> Option<Header> {
    let mut names = Vec::with_capacity(record.len());
    let mut known = Vec::with_capacity(record.len());
    let mut position: [Option<usize>; N_COLUMNS] = [None; N_COLUMNS];
    let before = errors.count;
    for (i, raw) in record.iter().enumerate() {
        let Ok(name) = std::str::from_utf8(raw) else {
            let lossy = String::from_utf8_lossy(raw);
            errors.add(line, "", &lossy, || "the header is not valid UTF-8".into());
            names.push(lossy.trim().to_string());
            known.push(None);
            continue;
        };
        let name = name.trim();
        let k = COLUMNS.iter().position(|c| c.eq_ignore_ascii_case(name));
        if let Some(k) = k {
            if position[k].is_some() {
                errors.add(line, COLUMNS[k], name, || {
                    format!("duplicated header: {} appears more than once", COLUMNS[k])
                });
            } else {
                position[k] = Some(i);
            }
        }
        names.push(name.to_string());
        known.push(k);
    }
    for k in REQUIRED {
        if position[k].is_none() {
            errors.add(line, COLUMNS[k], "", || {
                format!("missing required header {}", COLUMNS[k])
            });
        }
    }
    (errors.count == before).then_some(Header { names, known })
}
