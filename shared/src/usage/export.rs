//! The exports partners already have, read into the same [`UsageLine`]s as a DRU file:
//! Azure Cost Management cost details of a partner (MCA) billing account, and FOCUS 1.0–1.3
//! cost exports (Microsoft's, with its `x_` columns).
//!
//! Each format is a table of [`Col`]s: the [`UsageLine`] field a column feeds, the header names
//! it goes by (first found wins, so a newer name is preferred to a deprecated one), and whether
//! it is required. The rules the table cannot say — amounts, the PEC percentage, benefit and
//! spot — are in [`check_row`]. The README's "Inputs you already have" has the whole mapping.
//!
//! Everything else is the DRU reader's: the same reader chain, line numbers, error report
//! (line, column, value, message), all-or-nothing hand-over and limits.

use super::chain::LineTracker;
use super::date::parse_usage_date;
use super::line::{UsageLine, UsageLineView};
use super::reader::{next_record, Context, Progress, UsageFormat};
use super::report::{record_text, Errors};
use super::{amount_too_large, MAX_LINE_AMOUNT};
use crate::decimal::{parse_decimal, parse_percentage, DecimalError};
use crate::ids::{normalize_guid, usage_resource_key};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::io::Read;

/// Header names only a Cost Management export uses (for [`super::detect_usage_format`]).
pub(super) const COST_MANAGEMENT_MARKERS: &[&str] = &[
    "partnerTenantId",
    "customerTenantId",
    "partnerEarnedCreditRate",
    "partnerEarnedCreditApplied",
    "billingProfileId",
    "PayGPrice",
    "paygCostInBillingCurrency",
    "costInBillingCurrency",
    "resellerMpnId",
];

/// Header names only a FOCUS export uses (for [`super::detect_usage_format`]).
pub(super) const FOCUS_MARKERS: &[&str] = &[
    "ChargePeriodStart",
    "ChargeCategory",
    "BilledCost",
    "ListCost",
    "ListUnitPrice",
    "EffectiveCost",
    "PricingQuantity",
    "SubAccountId",
    "x_CustomerId",
    "x_PartnerCreditApplied",
    "x_PartnerCreditRate",
];

/// The PEC percentage Microsoft applies when an export says only that PEC was applied.
const APPLIED_PERCENTAGE: Decimal = Decimal::from_parts(15, 0, 0, false, 0);

/// What a column feeds. `Tags` must stay last (it sizes the arrays).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum F {
    PartnerTenant,
    Customer,
    CustomerName,
    PartnerName,
    SubscriptionName,
    ResellerName,
    Tier2,
    Subscription,
    Date,
    PeriodEnd,
    Resource,
    ResourceGroup,
    MeterId,
    MeterName,
    MeterCategory,
    MeterSubCategory,
    Product,
    Publisher,
    PublisherKind,
    ChargeType,
    /// Cost Management `quantity`.
    Quantity,
    /// Cost Management `PayGPrice`, FOCUS `ListUnitPrice`.
    ListUnitPrice,
    /// Cost Management `unitPrice` (used without `PayGPrice`).
    UnitPrice,
    ListCost,
    PricingQuantity,
    ConsumedQuantity,
    Currency,
    /// Cost Management `billingCurrency` (used without `pricingCurrency`).
    FallbackCurrency,
    PecRate,
    PecApplied,
    /// Cost Management `PricingModel`, FOCUS `CommitmentDiscountType`.
    Benefit,
    PricingCategory,
    PricingSubcategory,
    Tags,
}

const N_FIELDS: usize = F::Tags as usize + 1;

// A row's unreadable fields are a bit set in a u64.
const _: () = assert!(N_FIELDS <= 64);

/// Whether a column must be there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// In the header, and non-empty in every row.
    Value,
    /// In the header; an empty value is allowed.
    Header,
    /// Used when present.
    Optional,
    /// At least one column of the group (numbered within the format) in the header.
    OneOf(u8),
}

/// One column of a format.
struct Col {
    field: F,
    /// Header names, preferred first; errors name the one the file uses.
    names: &'static [&'static str],
    need: Need,
}

const fn col(field: F, names: &'static [&'static str], need: Need) -> Col {
    Col { field, names, need }
}

/// Cost Management cost details for a partner (MCA) billing account, versions 2019-11-01 to
/// 2023-12-01-preview.
const COST_MANAGEMENT: &[Col] = &[
    col(F::PartnerTenant, &["partnerTenantId"], Need::Optional),
    col(F::Customer, &["customerTenantId"], Need::Value),
    col(F::CustomerName, &["customerName"], Need::Optional),
    col(F::Tier2, &["resellerMpnId"], Need::Optional),
    col(F::PartnerName, &["partnerName"], Need::Optional),
    col(F::ResellerName, &["resellerName"], Need::Optional),
    col(F::SubscriptionName, &["subscriptionName"], Need::Optional),
    col(
        F::Subscription,
        &["SubscriptionId", "subscriptionGuid"],
        Need::Value,
    ),
    col(F::Date, &["date", "usageDate"], Need::Value),
    col(F::Resource, &["ResourceId", "InstanceName"], Need::Header),
    col(
        F::ResourceGroup,
        &["resourceGroupName", "resourceGroup"],
        Need::Optional,
    ),
    col(F::MeterId, &["meterId"], Need::Header),
    col(F::MeterName, &["meterName"], Need::Header),
    col(F::MeterCategory, &["meterCategory"], Need::Header),
    col(F::MeterSubCategory, &["meterSubCategory"], Need::Optional),
    col(F::Product, &["ProductName", "product"], Need::Optional),
    col(F::Publisher, &["publisherName"], Need::Header),
    col(F::PublisherKind, &["publisherType"], Need::Optional),
    col(F::ChargeType, &["chargeType"], Need::Value),
    col(F::Quantity, &["quantity"], Need::Value),
    col(F::ListUnitPrice, &["PayGPrice"], Need::OneOf(0)),
    col(F::UnitPrice, &["unitPrice"], Need::OneOf(0)),
    col(
        F::Currency,
        &["pricingCurrency", "pricingCurrencyCode"],
        Need::OneOf(1),
    ),
    col(
        F::FallbackCurrency,
        &["billingCurrency", "billingCurrencyCode"],
        Need::OneOf(1),
    ),
    col(F::PecRate, &["partnerEarnedCreditRate"], Need::OneOf(2)),
    col(
        F::PecApplied,
        &["partnerEarnedCreditApplied"],
        Need::OneOf(2),
    ),
    col(F::Benefit, &["PricingModel"], Need::Optional),
    col(F::Tags, &["tags"], Need::Optional),
];

/// FOCUS 1.0-preview, 1.0, 1.0r2, 1.1, 1.2(-preview) and 1.3 cost and usage exports (1.3
/// deprecates `PublisherName` for `ServiceProviderName`).
const FOCUS: &[Col] = &[
    col(F::Customer, &["x_CustomerId"], Need::Value),
    col(F::CustomerName, &["x_CustomerName"], Need::Optional),
    col(F::Tier2, &["x_ResellerId"], Need::Optional),
    col(F::ResellerName, &["x_ResellerName"], Need::Optional),
    col(F::SubscriptionName, &["SubAccountName"], Need::Optional),
    col(F::Subscription, &["SubAccountId"], Need::Value),
    col(F::Date, &["ChargePeriodStart"], Need::Value),
    col(F::PeriodEnd, &["ChargePeriodEnd"], Need::Optional),
    col(F::Resource, &["ResourceId"], Need::Header),
    col(F::ResourceGroup, &["x_ResourceGroupName"], Need::Optional),
    col(F::MeterId, &["x_SkuMeterId"], Need::Header),
    col(F::MeterName, &["SkuMeter", "x_SkuMeterName"], Need::Header),
    col(F::MeterCategory, &["x_SkuMeterCategory"], Need::Header),
    col(
        F::MeterSubCategory,
        &["x_SkuMeterSubcategory"],
        Need::Optional,
    ),
    col(
        F::Product,
        &["ChargeDescription", "x_SkuDescription"],
        Need::Optional,
    ),
    col(
        F::Publisher,
        &["PublisherName", "ServiceProviderName"],
        Need::Header,
    ),
    col(F::PublisherKind, &["x_PublisherCategory"], Need::Optional),
    col(F::ChargeType, &["ChargeCategory"], Need::Value),
    col(F::ListCost, &["ListCost"], Need::Value),
    col(F::ListUnitPrice, &["ListUnitPrice"], Need::Optional),
    col(F::PricingQuantity, &["PricingQuantity"], Need::Optional),
    col(
        F::ConsumedQuantity,
        &["ConsumedQuantity", "UsageQuantity"],
        Need::Optional,
    ),
    col(F::Currency, &["BillingCurrency"], Need::Value),
    col(F::PecRate, &["x_PartnerCreditRate"], Need::OneOf(0)),
    col(F::PecApplied, &["x_PartnerCreditApplied"], Need::OneOf(0)),
    col(F::Benefit, &["CommitmentDiscountType"], Need::Optional),
    col(F::PricingCategory, &["PricingCategory"], Need::Optional),
    col(
        F::PricingSubcategory,
        &["x_PricingSubcategory"],
        Need::Optional,
    ),
    col(F::Tags, &["Tags"], Need::Optional),
];

fn columns(format: UsageFormat) -> &'static [Col] {
    match format {
        UsageFormat::CostManagement => COST_MANAGEMENT,
        // Not called for DRU.
        UsageFormat::Focus | UsageFormat::Dru => FOCUS,
    }
}

/// The header of an export, mapped onto its format's columns.
struct Header {
    format: UsageFormat,
    /// Each field's name as written (trimmed).
    names: Vec<String>,
    /// The field each header column feeds (only the preferred column of a field).
    field_of: Vec<Option<F>>,
    /// Per field: the header name the file uses for it, if it has one.
    used: [Option<&'static str>; N_FIELDS],
}

impl Header {
    fn has(&self, f: F) -> bool {
        self.used[f as usize].is_some()
    }

    /// The name errors give a field: the header name the file uses, else the format's first.
    fn name(&self, f: F) -> &'static str {
        self.used[f as usize]
            .or_else(|| {
                columns(self.format)
                    .iter()
                    .find(|c| c.field == f)
                    .and_then(|c| c.names.first().copied())
            })
            .unwrap_or("")
    }

    /// The column an error on header field `i` names.
    fn column_name(&self, i: usize) -> &str {
        match self.field_of.get(i).copied().flatten() {
            Some(f) => self.name(f),
            None => self.names.get(i).map(String::as_str).unwrap_or(""),
        }
    }
}

/// Maps an export's header, reporting bad, duplicated and missing headers and a missing MPN ID;
/// `None` if the file must be rejected.
fn read_header(
    format: UsageFormat,
    record: &csv::ByteRecord,
    line: u64,
    context: &Context,
    errors: &mut Errors,
) -> Option<Header> {
    let cols = columns(format);
    let before = errors.count;
    let mut names = Vec::with_capacity(record.len());
    // Per header field: (column index in `cols`, name index) it matches.
    let mut matched: Vec<Option<(usize, usize)>> = Vec::with_capacity(record.len());
    for raw in record.iter() {
        let Ok(name) = std::str::from_utf8(raw) else {
            let lossy = String::from_utf8_lossy(raw);
            errors.add(line, "", &lossy, || "the header is not valid UTF-8".into());
            names.push(lossy.trim().to_string());
            matched.push(None);
            continue;
        };
        let name = name.trim();
        let found = cols.iter().enumerate().find_map(|(c, col)| {
            col.names
                .iter()
                .position(|n| n.eq_ignore_ascii_case(name))
                .map(|k| (c, k))
        });
        if let Some((c, k)) = found {
            if matched.contains(&Some((c, k))) {
                let canonical = cols[c].names[k];
                errors.add(line, canonical, name, || {
                    format!("duplicated header: {canonical} appears more than once")
                });
            }
        }
        names.push(name.to_string());
        matched.push(found);
    }
    // Each field takes its most preferred name present: (header index, name index).
    let mut best: [Option<(usize, usize)>; N_FIELDS] = [None; N_FIELDS];
    for (i, m) in matched.iter().enumerate() {
        if let Some((c, k)) = *m {
            let f = cols[c].field as usize;
            let better = match best[f] {
                None => true,
                Some((_, kb)) => k < kb,
            };
            if better {
                best[f] = Some((i, k));
            }
        }
    }
    let mut field_of = vec![None; names.len()];
    let mut used: [Option<&'static str>; N_FIELDS] = [None; N_FIELDS];
    for col in cols {
        if let Some((i, k)) = best[col.field as usize] {
            field_of[i] = Some(col.field);
            used[col.field as usize] = col.names.get(k).copied();
        }
    }
    for col in cols {
        let required = col.need == Need::Value || col.need == Need::Header;
        if required && used[col.field as usize].is_none() {
            let name = col.names.first().copied().unwrap_or("");
            errors.add(line, name, "", || format!("missing required header {name}"));
        }
    }
    for group in 0..=u8::MAX {
        let members: Vec<&Col> = cols
            .iter()
            .filter(|c| c.need == Need::OneOf(group))
            .collect();
        if members.is_empty() {
            break;
        }
        if members.iter().all(|c| used[c.field as usize].is_none()) {
            let first = members[0].names.first().copied().unwrap_or("");
            let others: Vec<&str> = members[1..]
                .iter()
                .filter_map(|c| c.names.first().copied())
                .collect();
            errors.add(line, first, "", || {
                format!(
                    "missing required header {first} (or {})",
                    others.join(" or ")
                )
            });
        }
    }
    if context.partner.is_empty() {
        errors.add(line, "PartnerId", "", || {
            format!(
                "this is {}, whose rows belong to the uploading partner: its tenant id must be \
                 given",
                format.describe()
            )
        });
    }
    if context.mpn_id.is_none() {
        errors.add(line, "MpnId", "", || {
            format!(
                "this is {}, which has no MpnId column: the partner's own MPN ID must be given \
                 with the upload (pec usage upload --mpn-id)",
                format.describe()
            )
        });
    }
    (errors.count == before).then_some(Header {
        format,
        names,
        field_of,
        used,
    })
}

/// Reads the rows of an export whose header is in `record` (on `progress.line`).
pub(super) fn read_rows<R: Read, E>(
    format: UsageFormat,
    csv: &mut csv::Reader<LineTracker<R>>,
    record: &mut csv::ByteRecord,
    mut progress: Progress,
    context: &Context,
    errors: &mut Errors,
    on_line: &mut impl FnMut(&UsageLineView<'_>) -> Result<(), E>,
) -> Result<Progress, E> {
    let Some(header) = read_header(format, record, progress.line, context, errors) else {
        return Ok(progress);
    };
    let mpn_id = context.mpn_id.clone().unwrap_or_default();
    loop {
        match next_record(csv, record) {
            Ok(Some(line)) => {
                progress.rows += 1;
                progress.line = line;
                let Some(usage) = check_row(record, line, &header, context, &mpn_id, errors) else {
                    continue;
                };
                if errors.count == 0 {
                    on_line(&usage.view())?;
                }
            }
            Ok(None) => return Ok(progress),
            Err((line, message)) => {
                errors.add(line, "", "", || message);
                return Ok(progress);
            }
        }
    }
}

/// Validates one export row, reporting every problem in it; the usage line if it is valid.
fn check_row(
    record: &csv::ByteRecord,
    line: u64,
    header: &Header,
    context: &Context,
    mpn_id: &str,
    errors: &mut Errors,
) -> Option<UsageLine> {
    if record.len() != header.field_of.len() {
        let value = if errors.listing() {
            record_text(record)
        } else {
            String::new()
        };
        errors.add(line, "", &value, || {
            format!(
                "the row has {} fields, the header has {}",
                record.len(),
                header.field_of.len()
            )
        });
        return None;
    }
    let before = errors.count;
    let mut values = [""; N_FIELDS];
    let mut unreadable = 0u64; // bit f: field f is not UTF-8 (already reported)
    for (i, raw) in record.iter().enumerate() {
        match std::str::from_utf8(raw) {
            Ok(text) => {
                if let Some(f) = header.field_of[i] {
                    values[f as usize] = text;
                }
            }
            Err(e) => {
                if let Some(f) = header.field_of[i] {
                    unreadable |= 1 << (f as usize);
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
    let readable = |f: F| unreadable & (1 << (f as usize)) == 0;
    // A value that is present and readable, trimmed.
    let given = |f: F| {
        let text = values[f as usize].trim();
        (readable(f) && !text.is_empty()).then_some(text)
    };
    for c in columns(header.format) {
        if c.need == Need::Value && readable(c.field) && given(c.field).is_none() {
            let name = header.name(c.field);
            errors.add(line, name, values[c.field as usize], || {
                format!("{name} is required")
            });
        }
    }

    if let Some(id) = given(F::PartnerTenant) {
        if !id.eq_ignore_ascii_case(&context.partner) {
            let name = header.name(F::PartnerTenant);
            errors.add(line, name, values[F::PartnerTenant as usize], || {
                format!(
                    "TENANT_MISMATCH: {name} {id} is not the uploading partner {}",
                    context.partner
                )
            });
        }
    }
    let usage_date = given(F::Date).and_then(|text| {
        parse_export_date(text)
            .ok_or_else(|| {
                let name = header.name(F::Date);
                errors.add(line, name, values[F::Date as usize], || {
                    format!(
                        "not a valid {name} {text:?}: expected YYYY-MM-DD, \
                         YYYY-MM-DDThh:mm[:ss][Z] or M/D/YYYY[ h:mm:ss AM|PM]"
                    )
                })
            })
            .ok()
    });
    // A charge period longer than one day (a monthly row) is booked to its first day: said.
    if let (Some(start), Some(end)) = (usage_date, given(F::PeriodEnd).and_then(parse_export_date))
    {
        let days = (end - start).num_days();
        if days > 1 {
            errors.warn(line, header.name(F::PeriodEnd), || {
                format!(
                    "the charge period runs {days} days ({start} to {end}): it is booked to its \
                     first day, {start}"
                )
            });
        }
    }
    let mut number = |f: F| {
        given(f).and_then(|text| {
            parse_decimal(text)
                .map_err(|m| errors.add(line, header.name(f), values[f as usize], || m.to_string()))
                .ok()
        })
    };

    // Amounts: quantity × unit price is the list (pay-as-you-go) amount.
    let amounts = match header.format {
        UsageFormat::CostManagement => {
            let quantity = number(F::Quantity);
            // A purchase (reservation, savings plan, marketplace) has no pay-as-you-go price:
            // with a zero PayGPrice it counts at what it was billed, unitPrice.
            let purchase = !given(F::ChargeType)
                .unwrap_or("usage")
                .trim()
                .eq_ignore_ascii_case("usage");
            let zero_list = given(F::ListUnitPrice)
                .and_then(|t| parse_decimal(t).ok())
                .is_some_and(|p| p.is_zero());
            let price = if purchase && zero_list && given(F::UnitPrice).is_some() {
                number(F::UnitPrice)
            } else if given(F::ListUnitPrice).is_some() || !readable(F::ListUnitPrice) {
                number(F::ListUnitPrice)
            } else if given(F::UnitPrice).is_some() || !readable(F::UnitPrice) {
                number(F::UnitPrice)
            } else {
                let name = header.name(if header.has(F::ListUnitPrice) {
                    F::ListUnitPrice
                } else {
                    F::UnitPrice
                });
                errors.add(line, name, "", || {
                    "PayGPrice (or unitPrice) is required".into()
                });
                None
            };
            quantity.zip(price)
        }
        _ => {
            let list_cost = number(F::ListCost);
            let list_unit_price = number(F::ListUnitPrice);
            let pricing_quantity = number(F::PricingQuantity);
            let consumed_quantity = number(F::ConsumedQuantity);
            list_cost.map(|cost| {
                let multiplies_to_cost = |q: Option<Decimal>| {
                    q.zip(list_unit_price)
                        .filter(|(q, p)| q.checked_mul(*p) == Some(cost))
                };
                multiplies_to_cost(pricing_quantity)
                    .or_else(|| multiplies_to_cost(consumed_quantity))
                    .unwrap_or((Decimal::ONE, cost))
            })
        }
    };

    // The PEC percentage Microsoft applied: the rate (a fraction) unless PEC was not applied.
    let rate = given(F::PecRate).and_then(|text| {
        parse_rate(text)
            .map_err(|m| {
                errors.add(
                    line,
                    header.name(F::PecRate),
                    values[F::PecRate as usize],
                    || m.to_string(),
                )
            })
            .ok()
    });
    let applied = given(F::PecApplied).and_then(|text| {
        let parsed = parse_flag(text);
        if parsed.is_none() {
            let name = header.name(F::PecApplied);
            errors.add(line, name, values[F::PecApplied as usize], || {
                format!("{name} must be true or false")
            });
        }
        parsed
    });
    let pec_percentage = match (applied, rate) {
        (Some(false), _) => Decimal::ZERO,
        (_, Some(rate)) => rate,
        (Some(true), None) => APPLIED_PERCENTAGE,
        (None, None) => Decimal::ZERO,
    };

    if let Some((quantity, price)) = amounts {
        let amount_column = match header.format {
            UsageFormat::CostManagement => F::Quantity,
            _ => F::ListCost,
        };
        let name = header.name(amount_column);
        let value = values[amount_column as usize];
        match quantity.checked_mul(price) {
            None => errors.add(line, name, value, || {
                "quantity × unit price is too large to compute".into()
            }),
            Some(amount) => {
                if amount.checked_mul(pec_percentage).is_none() {
                    errors.add(line, name, value, || {
                        "the amount × the PEC percentage is too large to compute".into()
                    });
                } else if amount.abs() > MAX_LINE_AMOUNT {
                    errors.add(line, name, value, || amount_too_large(amount));
                }
            }
        }
    }

    let currency_field = if given(F::Currency).is_some() || !readable(F::Currency) {
        F::Currency
    } else {
        F::FallbackCurrency
    };
    let currency = given(currency_field);
    match currency {
        Some(code) => {
            if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
                let name = header.name(currency_field);
                errors.add(line, name, values[currency_field as usize], || {
                    format!("{name} must be a three-letter ISO 4217 code")
                });
            }
        }
        None => {
            // FOCUS's BillingCurrency is reported as required above.
            if header.format == UsageFormat::CostManagement
                && readable(F::Currency)
                && readable(F::FallbackCurrency)
            {
                let name = header.name(if header.has(F::Currency) {
                    F::Currency
                } else {
                    F::FallbackCurrency
                });
                errors.add(line, name, "", || {
                    "pricingCurrency (or billingCurrency) is required".into()
                });
            }
        }
    }
    if errors.count != before {
        return None;
    }
    let (quantity, unit_price) = amounts?;
    let usage_date = usage_date?;
    let text = |f: F| values[f as usize].trim().to_string();
    let subscription = subscription_guid(values[F::Subscription as usize]);
    Some(UsageLine {
        line,
        partner_id: context.partner.clone(),
        customer_id: normalize_guid(values[F::Customer as usize]),
        subscription_id: normalize_guid(subscription),
        customer_name: text(F::CustomerName),
        partner_name: text(F::PartnerName),
        customer_domain: String::new(),
        subscription_name: text(F::SubscriptionName),
        reseller_name: text(F::ResellerName),
        mpn_id: mpn_id.to_string(),
        tier2_mpn_id: text(F::Tier2),
        usage_date,
        resource_key: usage_resource_key(values[F::Resource as usize], subscription),
        resource_group: text(F::ResourceGroup),
        meter_id: text(F::MeterId),
        meter_name: text(F::MeterName),
        meter_category: text(F::MeterCategory),
        meter_sub_category: text(F::MeterSubCategory),
        product_name: text(F::Product),
        publisher_name: publisher(
            header.format,
            values[F::Publisher as usize],
            values[F::PublisherKind as usize],
        ),
        charge_type: values[F::ChargeType as usize].trim().to_ascii_lowercase(),
        unit_price,
        quantity,
        pricing_currency: currency.unwrap_or_default().to_ascii_uppercase(),
        pec_percentage,
        benefit_type: benefit(header.format, &values),
        tags: text(F::Tags),
    })
}

/// A date of an export: what `UsageDate` accepts, and also FOCUS 1.0's `YYYY-MM-DDThh:mmZ`
/// (no seconds).
fn parse_export_date(text: &str) -> Option<NaiveDate> {
    if let Ok(date) = parse_usage_date(text) {
        return Some(date);
    }
    let t = text.trim();
    let b = t.as_bytes();
    let no_seconds = b.len() >= 16
        && matches!(b[10], b'T' | b't' | b' ')
        && b[13] == b':'
        && b.get(16) != Some(&b':');
    // Bytes 10 and 13 are ASCII, but byte 16 may fall inside a character (found by fuzzing).
    if !no_seconds || !t.is_char_boundary(16) {
        return None;
    }
    let (head, tail) = t.split_at(16);
    parse_usage_date(&format!("{head}:00{tail}")).ok()
}

/// A PEC rate as the exports give it: a fraction (`0.15`) or a percentage (`15%`); the
/// percentage (0–100).
fn parse_rate(text: &str) -> Result<Decimal, RateError> {
    let percentage = if text.ends_with('%') {
        parse_percentage(text)?
    } else {
        let fraction = parse_decimal(text)?;
        if fraction < Decimal::ZERO || fraction > Decimal::ONE {
            return Err(RateError::Fraction(text.to_string()));
        }
        fraction * Decimal::ONE_HUNDRED
    };
    if percentage < Decimal::ZERO || percentage > Decimal::ONE_HUNDRED {
        return Err(RateError::Percentage);
    }
    Ok(percentage)
}

/// A PEC rate of an export that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum RateError {
    #[error(transparent)]
    Decimal(#[from] DecimalError),
    #[error("the PEC rate must be a fraction between 0 and 1 (0.15 for 15 %), found {0}")]
    Fraction(String),
    #[error("the PEC rate must be between 0 % and 100 %")]
    Percentage,
}

/// `true`/`false` as exports write them (any case; also `yes`/`no`, `1`/`0`).
fn parse_flag(text: &str) -> Option<bool> {
    let t = text.trim();
    let is = |s: &str| t.eq_ignore_ascii_case(s);
    if is("true") || is("yes") || is("1") {
        Some(true)
    } else if is("false") || is("no") || is("0") {
        Some(false)
    } else {
        None
    }
}

/// The subscription GUID of a `SubscriptionId` / `SubAccountId`, which FOCUS may write as
/// `/subscriptions/{guid}`.
fn subscription_guid(text: &str) -> &str {
    let t = text.trim();
    let Some(prefix) = t.get(..15) else {
        return t;
    };
    if !prefix.eq_ignore_ascii_case("/subscriptions/") {
        return t;
    }
    let rest = &t[15..];
    rest.split('/').next().unwrap_or(rest).trim()
}

/// `PublisherName`, or when it is empty what the publisher kind says: Cost Management
/// `publisherType` `Microsoft`/`Azure`, FOCUS `x_PublisherCategory` `Cloud Provider` are
/// Microsoft; anything else is kept (and is not Microsoft).
fn publisher(format: UsageFormat, name: &str, kind: &str) -> String {
    let name = name.trim();
    if !name.is_empty() {
        return name.to_string();
    }
    let kind = kind.trim();
    let first_party = match format {
        UsageFormat::CostManagement => {
            kind.eq_ignore_ascii_case("Microsoft") || kind.eq_ignore_ascii_case("Azure")
        }
        _ => kind.eq_ignore_ascii_case("Cloud Provider"),
    };
    if first_party {
        "Microsoft".to_string()
    } else {
        kind.to_string()
    }
}

/// The benefit type: Cost Management `PricingModel` (`Reservation`, `SavingsPlan`, `Spot`; `On
/// Demand` is none), FOCUS `CommitmentDiscountType` (`Reservation`, `Savings Plan`), or `Spot`
/// for FOCUS `PricingCategory` `Dynamic` or `x_PricingSubcategory` `Spot`.
fn benefit(format: UsageFormat, values: &[&str; N_FIELDS]) -> String {
    let value = |f: F| values[f as usize].trim();
    match format {
        UsageFormat::CostManagement => {
            let model = value(F::Benefit);
            let on_demand: String = model.chars().filter(|c| !c.is_whitespace()).collect();
            if on_demand.eq_ignore_ascii_case("OnDemand") {
                String::new()
            } else {
                model.to_string()
            }
        }
        _ => {
            let commitment = value(F::Benefit);
            if !commitment.is_empty() {
                commitment.to_string()
            } else if value(F::PricingCategory).eq_ignore_ascii_case("Dynamic")
                || value(F::PricingSubcategory).eq_ignore_ascii_case("Spot")
            {
                "Spot".to_string()
            } else {
                String::new()
            }
        }
    }
}

#[cfg(test)]
mod tests;
