//! One DRU data record: validated field by field ([`check_row`], every problem reported) into a
//! [`Row`], and normalised into a [`UsageLineView`].

use super::columns::*;
use super::date::parse_usage_date;
use super::line::UsageLineView;
use super::report::{record_text, Errors};
use super::{amount_too_large, MAX_LINE_AMOUNT};
use crate::decimal::{parse_decimal, parse_percentage, DecimalError};
use crate::ids::{normalize_guid_into, usage_resource_key_into};
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// The checked values of one row, borrowing its text.
pub(super) struct Row<'a> {
    values: [&'a str; N_COLUMNS],
    usage_date: NaiveDate,
    unit_price: Decimal,
    quantity: Decimal,
    pec_percentage: Decimal,
}

/// The reader's buffers for the values a row's view normalises (re-used row after row).
#[derive(Default)]
pub(super) struct Normalised {
    partner_id: String,
    customer_id: String,
    subscription_id: String,
    resource_key: String,
    pricing_currency: String,
}

impl<'a> Row<'a> {
    /// The row as a [`UsageLineView`]: trimmed values borrowed from the record, GUIDs
    /// lower-cased, the resource key normalised and the currency upper-cased into `normalised`.
    pub(super) fn view<'b>(&self, line: u64, normalised: &'b mut Normalised) -> UsageLineView<'b>
    where
        'a: 'b,
    {
        let v = |k: usize| self.values[k].trim();
        normalize_guid_into(self.values[PARTNER_ID], &mut normalised.partner_id);
        normalize_guid_into(self.values[CUSTOMER_ID], &mut normalised.customer_id);
        normalize_guid_into(
            self.values[SUBSCRIPTION_ID],
            &mut normalised.subscription_id,
        );
        usage_resource_key_into(
            self.values[RESOURCE_URI],
            self.values[SUBSCRIPTION_ID],
            &mut normalised.resource_key,
        );
        let currency = &mut normalised.pricing_currency;
        currency.clear();
        currency.push_str(v(PRICING_CURRENCY));
        currency.make_ascii_uppercase();
        UsageLineView {
            line,
            partner_id: &normalised.partner_id,
            customer_id: &normalised.customer_id,
            subscription_id: &normalised.subscription_id,
            customer_name: v(CUSTOMER_NAME),
            partner_name: v(PARTNER_NAME),
            customer_domain: v(CUSTOMER_DOMAIN),
            subscription_name: v(SUBSCRIPTION_DESCRIPTION),
            reseller_name: "",
            mpn_id: v(MPN_ID),
            tier2_mpn_id: v(TIER2_MPN_ID),
            usage_date: self.usage_date,
            resource_key: &normalised.resource_key,
            resource_group: v(RESOURCE_GROUP),
            meter_id: v(METER_ID),
            meter_name: v(METER_NAME),
            meter_category: v(METER_CATEGORY),
            meter_sub_category: v(METER_SUB_CATEGORY),
            product_name: v(PRODUCT_NAME),
            publisher_name: v(PUBLISHER_NAME),
            charge_type: v(CHARGE_TYPE),
            unit_price: self.unit_price,
            quantity: self.quantity,
            pricing_currency: &normalised.pricing_currency,
            pec_percentage: self.pec_percentage,
            benefit_type: v(BENEFIT_TYPE),
            tags: v(TAGS),
        }
    }
}

/// Validates one data record, reporting every problem in it; `Some` if it is valid.
pub(super) fn check_row<'a>(
    record: &'a csv::ByteRecord,
    line: u64,
    header: &Header,
    partner: &str,
    errors: &mut Errors,
) -> Option<Row<'a>> {
    if record.len() != header.known.len() {
        let value = if errors.listing() {
            record_text(record)
        } else {
            String::new()
        };
        errors.add(line, "", &value, || {
            format!(
                "the row has {} fields, the header has {}",
                record.len(),
                header.known.len()
            )
        });
        return None;
    }
    let before = errors.count;
    let mut values = [""; N_COLUMNS];
    let mut unreadable = 0u64; // bit k: known column k is not UTF-8 (already reported)
                               // Nearly every record is UTF-8 as a whole: one check, then each field is sliced out of it
                               // (a field boundary inside a character falls back to checking that field alone).
    let whole = std::str::from_utf8(record.as_slice()).ok();
    for (i, raw) in record.iter().enumerate() {
        let text = match whole.zip(record.range(i)).and_then(|(w, r)| w.get(r)) {
            Some(text) => Ok(text),
            None => std::str::from_utf8(raw),
        };
        match text {
            Ok(text) => {
                if let Some(k) = header.known[i] {
                    values[k] = text;
                }
            }
            Err(e) => {
                if let Some(k) = header.known[i] {
                    unreadable |= 1 << k;
                }
                errors.add(
                    line,
                    header.column_name(i),
                    &String::from_utf8_lossy(raw),
                    || {
                        format!(
                            "not valid UTF-8 (byte {} of the value)",
                            e.valid_up_to() + 1
                        )
                    },
                );
            }
        }
    }
    for k in REQUIRED {
        if k != RESOURCE_URI && unreadable & (1 << k) == 0 && values[k].trim().is_empty() {
            errors.add(line, COLUMNS[k], values[k], || {
                format!("{} is required", COLUMNS[k])
            });
        }
    }
    // A required value that is present and readable, trimmed.
    let given = |k: usize| {
        let text = values[k].trim();
        (unreadable & (1 << k) == 0 && !text.is_empty()).then_some(text)
    };

    if let Some(id) = given(PARTNER_ID) {
        if !id.eq_ignore_ascii_case(partner) {
            errors.add(line, COLUMNS[PARTNER_ID], values[PARTNER_ID], || {
                format!("TENANT_MISMATCH: PartnerId {id} is not the uploading partner {partner}")
            });
        }
    }
    // Ids have their forms: tenant and subscription ids are GUIDs, MPN IDs digits.
    // (PartnerId is the uploading partner's, checked above.)
    for (k, what) in [
        (CUSTOMER_ID, "a GUID (the customer's tenant id)"),
        (SUBSCRIPTION_ID, "a GUID"),
    ] {
        if let Some(id) = given(k) {
            if !crate::ids::is_guid(id) {
                errors.add(line, COLUMNS[k], values[k], || {
                    format!("{} must be {what}", COLUMNS[k])
                });
            }
        }
    }
    for k in [MPN_ID, TIER2_MPN_ID] {
        if let Some(id) = given(k) {
            if !crate::ids::is_mpn_id(id) {
                errors.add(line, COLUMNS[k], values[k], || {
                    format!("{} must be an MPN ID (its digits)", COLUMNS[k])
                });
            }
        }
    }
    let usage_date = given(USAGE_DATE).and_then(|text| {
        parse_usage_date(text)
            .map_err(|m| {
                errors.add(line, COLUMNS[USAGE_DATE], values[USAGE_DATE], || {
                    m.to_string()
                })
            })
            .ok()
    });
    let mut number = |k: usize, parse: fn(&str) -> Result<Decimal, DecimalError>| {
        given(k).and_then(|text| {
            parse(text)
                .map_err(|m| errors.add(line, COLUMNS[k], values[k], || m.to_string()))
                .ok()
        })
    };
    let unit_price = number(UNIT_PRICE, parse_decimal);
    let quantity = number(QUANTITY, parse_decimal);
    let pec_percentage = number(PEC_PERCENTAGE, parse_percentage);
    if let Some(pec) = pec_percentage {
        if pec < Decimal::ZERO || pec > Decimal::ONE_HUNDRED {
            errors.add(
                line,
                COLUMNS[PEC_PERCENTAGE],
                values[PEC_PERCENTAGE],
                || "PartnerEarnedCreditPercentage must be between 0 and 100".into(),
            );
        }
    }
    if let (Some(price), Some(quantity)) = (unit_price, quantity) {
        match price.checked_mul(quantity) {
            None => errors.add(line, COLUMNS[QUANTITY], values[QUANTITY], || {
                "Quantity × UnitPrice is too large to compute".into()
            }),
            Some(amount) => {
                if pec_percentage.is_some_and(|pec| amount.checked_mul(pec).is_none()) {
                    errors.add(line, COLUMNS[QUANTITY], values[QUANTITY], || {
                        "Quantity × UnitPrice × PartnerEarnedCreditPercentage is too large to \
                         compute"
                            .into()
                    });
                } else if amount.abs() > MAX_LINE_AMOUNT {
                    errors.add(line, COLUMNS[QUANTITY], values[QUANTITY], || {
                        amount_too_large(amount)
                    });
                }
            }
        }
    }
    if let Some(code) = given(PRICING_CURRENCY) {
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
            errors.add(
                line,
                COLUMNS[PRICING_CURRENCY],
                values[PRICING_CURRENCY],
                || "PricingCurrency must be a three-letter ISO 4217 code".into(),
            );
        }
    }

    if errors.count != before {
        return None;
    }
    Some(Row {
        values,
        usage_date: usage_date?,
        unit_price: unit_price?,
        quantity: quantity?,
        pec_percentage: pec_percentage?,
    })
}
