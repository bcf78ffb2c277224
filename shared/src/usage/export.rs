//! The exports partners already have, read into the same [`UsageLine`]s as a DRU file:
//! Azure Cost Management cost details of a partner (MCA) billing account, and FOCUS 1.0–1.2
//! cost exports (Microsoft's, with its `x_` columns).
//!
//! Each format is a table of [`Col`]s: the [`UsageLine`] field a column feeds, the header names
//! it goes by (first found wins, so a newer name is preferred to a deprecated one), and whether
//! it is required. The rules the table cannot say — amounts, the PEC percentage, benefit and
//! spot — are in [`check_row`]. The README's "Inputs you already have" has the whole mapping.
//!
//! Everything else is the DRU reader's: the same reader chain, line numbers, error report
//! (line, column, value, message), all-or-nothing hand-over and limits.

use super::{
    amount_too_large, next_record, parse_usage_date, record_text, Context, Errors, LineTracker,
    Progress, UsageFormat, UsageLine, UsageLineView, MAX_LINE_AMOUNT,
};
use crate::decimal::{parse_decimal, parse_percentage};
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
    Tier2,
    Subscription,
    Date,
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
    col(F::Currency, &["pricingCurrency"], Need::OneOf(1)),
    col(F::FallbackCurrency, &["billingCurrency"], Need::OneOf(1)),
    col(F::PecRate, &["partnerEarnedCreditRate"], Need::OneOf(2)),
    col(
        F::PecApplied,
        &["partnerEarnedCreditApplied"],
        Need::OneOf(2),
    ),
    col(F::Benefit, &["PricingModel"], Need::Optional),
    col(F::Tags, &["tags"], Need::Optional),
];

/// FOCUS 1.0-preview, 1.0, 1.0r2, 1.1 and 1.2(-preview) cost and usage exports.
const FOCUS: &[Col] = &[
    col(F::Customer, &["x_CustomerId"], Need::Value),
    col(F::CustomerName, &["x_CustomerName"], Need::Optional),
    col(F::Tier2, &["x_ResellerId"], Need::Optional),
    col(F::Subscription, &["SubAccountId"], Need::Value),
    col(F::Date, &["ChargePeriodStart"], Need::Value),
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
    col(F::Publisher, &["PublisherName"], Need::Header),
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
pub(super) fn read_rows<R: Read>(
    format: UsageFormat,
    csv: &mut csv::Reader<LineTracker<R>>,
    record: &mut csv::ByteRecord,
    mut progress: Progress,
    context: &Context,
    errors: &mut Errors,
    on_line: &mut impl FnMut(&UsageLineView<'_>) -> Result<(), String>,
) -> Result<Progress, String> {
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
    let mut number = |f: F| {
        given(f).and_then(|text| {
            parse_decimal(text)
                .map_err(|m| errors.add(line, header.name(f), values[f as usize], || m))
                .ok()
        })
    };

    // Amounts: quantity × unit price is the list (pay-as-you-go) amount.
    let amounts = match header.format {
        UsageFormat::CostManagement => {
            let quantity = number(F::Quantity);
            let price = if given(F::ListUnitPrice).is_some() || !readable(F::ListUnitPrice) {
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
                    || m,
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
    if !no_seconds {
        return None;
    }
    let (head, tail) = t.split_at(16);
    parse_usage_date(&format!("{head}:00{tail}")).ok()
}

/// A PEC rate as the exports give it: a fraction (`0.15`) or a percentage (`15%`); the
/// percentage (0–100).
fn parse_rate(text: &str) -> Result<Decimal, String> {
    let percentage = if text.ends_with('%') {
        parse_percentage(text)?
    } else {
        let fraction = parse_decimal(text)?;
        if fraction < Decimal::ZERO || fraction > Decimal::ONE {
            return Err(format!(
                "the PEC rate must be a fraction between 0 and 1 (0.15 for 15 %), found {text}"
            ));
        }
        fraction * Decimal::ONE_HUNDRED
    };
    if percentage < Decimal::ZERO || percentage > Decimal::ONE_HUNDRED {
        return Err("the PEC rate must be between 0 % and 100 %".into());
    }
    Ok(percentage)
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
mod tests {
    use super::super::{
        detect_usage_format, read_usage_file, read_usage_file_with, ReadOptions, RowError,
        UsageFileReport, MAX_REPORTED_ERRORS,
    };
    use super::*;
    use crate::config::Config;
    use crate::ingest::microsoft_credit;
    use crate::products::product_ineligibility;
    use crate::reasons::IneligibleReason;
    use proptest::prelude::*;
    use std::io::Write;

    const PARTNER: &str = "7a3c0000-0000-4000-8000-000000000001";
    const MPN: &str = "4100001";

    const COST_DETAILS: &[u8] = include_bytes!("../../tests/fixtures/cost-details-mca-partner.csv");
    const FOCUS_1_0: &[u8] = include_bytes!("../../tests/fixtures/focus-1.0.csv");
    const FOCUS_1_2: &[u8] = include_bytes!("../../tests/fixtures/focus-1.2.csv");

    fn dru_example() -> Vec<u8> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/examples/daily-rated-usage.csv"
        );
        std::fs::read(path).expect("the SPEC's example usage file")
    }

    fn options(mpn: Option<&str>) -> ReadOptions {
        ReadOptions {
            partner_id: PARTNER.into(),
            mpn_id: mpn.map(str::to_string),
        }
    }

    fn read(bytes: &[u8]) -> (UsageFileReport, Vec<UsageLine>) {
        read_opts(bytes, &options(Some(MPN)))
    }

    fn read_opts(bytes: &[u8], options: &ReadOptions) -> (UsageFileReport, Vec<UsageLine>) {
        let mut lines = Vec::new();
        let report = read_usage_file_with(bytes, options, |l| {
            lines.push(l);
            Ok(())
        })
        .expect("on_line never fails here");
        (report, lines)
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(bytes).expect("in memory");
        enc.finish().expect("in memory")
    }

    fn dec(text: &str) -> Decimal {
        parse_decimal(text).expect("test decimal")
    }

    /// A fixture as records of text (BOM dropped).
    fn records(bytes: &[u8]) -> Vec<Vec<String>> {
        let text = String::from_utf8_lossy(bytes);
        let text = text.trim_start_matches('\u{feff}');
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes());
        r.records()
            .map(|rec| {
                rec.expect("fixture CSV")
                    .iter()
                    .map(str::to_string)
                    .collect()
            })
            .collect()
    }

    fn write_csv(records: &[Vec<String>]) -> Vec<u8> {
        let mut w = csv::WriterBuilder::new()
            .flexible(true)
            .from_writer(Vec::new());
        for r in records {
            w.write_record(r).expect("in memory");
        }
        w.into_inner().expect("in memory")
    }

    /// A fixture with one value changed: data row `row` (0-based), column `name`.
    fn with(bytes: &[u8], row: usize, name: &str, value: &str) -> Vec<u8> {
        let mut recs = records(bytes);
        let c = recs[0]
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"));
        recs[row + 1][c] = value.into();
        write_csv(&recs)
    }

    /// A fixture without a column.
    fn without(bytes: &[u8], name: &str) -> Vec<u8> {
        let mut recs = records(bytes);
        let c = recs[0]
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"));
        for r in recs.iter_mut() {
            r.remove(c);
        }
        write_csv(&recs)
    }

    /// What decides a line's figures and access: everything but descriptive text.
    type Figures = (
        NaiveDate,
        String,
        String,
        String,
        String,
        String,
        String,
        Decimal,
        Decimal,
        String,
        Option<IneligibleReason>,
    );

    fn figures(lines: &[UsageLine]) -> Vec<Figures> {
        lines
            .iter()
            .map(|l| {
                (
                    l.usage_date,
                    l.partner_id.clone(),
                    l.customer_id.clone(),
                    l.subscription_id.clone(),
                    l.resource_key.clone(),
                    l.mpn_id.clone(),
                    l.tier2_mpn_id.clone(),
                    (l.quantity * l.unit_price).normalize(),
                    l.pec_percentage.normalize(),
                    l.pricing_currency.clone(),
                    product_ineligibility(l, &Config::default()),
                )
            })
            .collect()
    }

    /// Σ list amount, Σ Microsoft credit, Σ reservation amount.
    fn totals(lines: &[UsageLine]) -> (Decimal, Decimal, Decimal) {
        let mut list = Decimal::ZERO;
        let mut microsoft = Decimal::ZERO;
        let mut reservation = Decimal::ZERO;
        for l in lines {
            let amount = l.quantity * l.unit_price;
            list += amount;
            microsoft += microsoft_credit(l);
            if product_ineligibility(l, &Config::default()) == Some(IneligibleReason::Reservation) {
                reservation += amount;
            }
        }
        (
            list.normalize(),
            microsoft.normalize(),
            reservation.normalize(),
        )
    }

    #[test]
    fn each_format_is_told_from_its_header() {
        let dru = dru_example();
        assert_eq!(detect_usage_format(&dru[..]), UsageFormat::Dru);
        assert_eq!(
            detect_usage_format(COST_DETAILS),
            UsageFormat::CostManagement
        );
        assert_eq!(detect_usage_format(FOCUS_1_0), UsageFormat::Focus);
        assert_eq!(detect_usage_format(FOCUS_1_2), UsageFormat::Focus);
        // Compressed, with a byte-order mark, or not.
        assert_eq!(
            detect_usage_format(&gzip(COST_DETAILS)[..]),
            UsageFormat::CostManagement
        );
        let mut bom = "\u{feff}".as_bytes().to_vec();
        bom.extend_from_slice(FOCUS_1_0);
        assert_eq!(detect_usage_format(&gzip(&bom)[..]), UsageFormat::Focus);
        // Unrecognised, empty or unreadable: DRU.
        for junk in [&b""[..], b"a,b,c\n1,2,3\n", &[0x1f, 0x8b, 0, 1]] {
            assert_eq!(detect_usage_format(junk), UsageFormat::Dru);
        }
        // A DRU file keeps being DRU when it also has an export's column.
        let mut dru_plus = String::from_utf8(dru).expect("UTF-8");
        dru_plus = dru_plus.replacen("BenefitType", "ListCost", 1);
        assert_eq!(detect_usage_format(dru_plus.as_bytes()), UsageFormat::Dru);
        // A few distinctive names are enough.
        assert_eq!(
            detect_usage_format(&b"ChargePeriodStart,ListCost\n"[..]),
            UsageFormat::Focus
        );
        assert_eq!(
            detect_usage_format(&b"customerTenantId,PayGPrice\n"[..]),
            UsageFormat::CostManagement
        );
    }

    #[test]
    fn an_unrecognised_header_gets_the_dru_errors() {
        let (report, lines) = read(b"Foo,Bar\n1,2\n");
        assert!(lines.is_empty());
        assert_eq!(report.error_count, 16);
        assert_eq!(
            report.errors[0].message,
            "missing required header PartnerId"
        );
    }

    #[test]
    fn cost_details_read_as_the_same_lines_as_the_dru_file() {
        let (dru_report, dru) = read(&dru_example());
        assert_eq!(dru_report.error_count, 0);
        let (report, lines) = read(COST_DETAILS);
        assert_eq!(report.errors, vec![]);
        assert_eq!(report.rows, 8);
        assert_eq!(figures(&lines), figures(&dru));
        assert_eq!(
            totals(&lines),
            (dec("71.4624"), dec("2.0736"), dec("9.216"))
        );
        assert_eq!(totals(&dru), totals(&lines));
        // Quantity and PayGPrice as they are.
        let shop = &lines[0];
        assert_eq!((shop.quantity, shop.unit_price), (dec("24"), dec("0.288")));
        assert_eq!(shop.pec_percentage, dec("15"));
        assert_eq!(shop.charge_type, "usage");
        assert_eq!(shop.mpn_id, MPN);
        assert_eq!(shop.customer_name, "Customer bdd6");
        assert_eq!(shop.resource_group, "rg-web");
        assert_eq!(shop.meter_name, "P1v3 App");
        assert_eq!(shop.tags, "\"env\": \"prod\"");
        assert_eq!(shop.line, 2);
        assert_eq!(lines[2].benefit_type, "Reservation");
        assert_eq!(lines[1].benefit_type, "", "OnDemand is no benefit");
        assert_eq!(
            lines[3].resource_key,
            "/subscriptions/23b8c1e9-3924-46de-beb1-3b9046685257"
        );
    }

    #[test]
    fn focus_exports_read_as_the_same_lines_as_the_dru_file() {
        let (_, dru) = read(&dru_example());
        for fixture in [FOCUS_1_0, FOCUS_1_2] {
            let (report, lines) = read(fixture);
            assert_eq!(report.errors, vec![]);
            assert_eq!(report.rows, 8);
            assert_eq!(figures(&lines), figures(&dru));
            assert_eq!(
                totals(&lines),
                (dec("71.4624"), dec("2.0736"), dec("9.216"))
            );
            // PricingQuantity × ListUnitPrice when they multiply to ListCost ...
            assert_eq!(
                (lines[1].quantity, lines[1].unit_price),
                (dec("48"), dec("0.5044"))
            );
            // ... else 1 × ListCost (day 2's App Service has a rounded ListUnitPrice 0.29).
            assert_eq!(
                (lines[4].quantity, lines[4].unit_price),
                (dec("1"), dec("6.912"))
            );
            assert_eq!(lines[2].benefit_type, "Reservation");
            // Only x_PartnerCreditApplied = true (no rate): 15 %.
            assert_eq!(lines[3].pec_percentage, dec("15"));
            assert_eq!(lines[0].partner_id, PARTNER, "the uploading partner");
            assert_eq!(lines[0].publisher_name, "Microsoft");
            assert_eq!(lines[0].meter_name, "P1v3 App");
            assert_eq!(lines[0].meter_category, "Azure App Service");
        }
    }

    #[test]
    fn gzip_and_bom_as_for_dru_files() {
        let (_, plain) = read(COST_DETAILS);
        let (report, lines) = read(&gzip(COST_DETAILS));
        assert_eq!(report.error_count, 0);
        assert_eq!(lines, plain);
        let without_bom = &COST_DETAILS[3..];
        assert_eq!(read(without_bom).1, plain);
        let (_, plain) = read(FOCUS_1_2);
        let mut bom = "\u{feff}".as_bytes().to_vec();
        bom.extend_from_slice(FOCUS_1_2);
        assert_eq!(read(&gzip(&bom)).1, plain);
    }

    #[test]
    fn an_export_needs_the_partners_mpn_id() {
        for (fixture, kind) in [
            (COST_DETAILS, "an Azure Cost Management cost-details export"),
            (FOCUS_1_0, "a FOCUS cost export"),
        ] {
            for mpn in [None, Some("  ")] {
                let (report, lines) = read_opts(fixture, &options(mpn));
                assert!(lines.is_empty());
                assert_eq!(report.rows, 0);
                assert_eq!(report.error_count, 1);
                let e = &report.errors[0];
                assert_eq!((e.line, e.column.as_str()), (1, "MpnId"));
                assert!(e.message.contains(kind), "{}", e.message);
                assert!(e.message.contains("--mpn-id"), "{}", e.message);
            }
        }
        // The old entry point has no MPN ID.
        let report = read_usage_file(FOCUS_1_0, PARTNER, |_| Ok(())).expect("no consumer error");
        assert_eq!(report.errors[0].column, "MpnId");
        // Nor can it do without the partner.
        let mut no_partner = options(Some(MPN));
        no_partner.partner_id = " ".into();
        let (report, _) = read_opts(FOCUS_1_2, &no_partner);
        assert_eq!(report.errors[0].column, "PartnerId");
        // A DRU file ignores it.
        let (report, lines) = read_opts(&dru_example(), &options(Some("999")));
        assert_eq!(report.error_count, 0);
        assert_eq!(lines[0].mpn_id, "4100001");
    }

    #[test]
    fn missing_required_headers_are_named() {
        let cases: [(&[u8], &str, &str); 7] = [
            (
                COST_DETAILS,
                "customerTenantId",
                "missing required header customerTenantId",
            ),
            (
                COST_DETAILS,
                "ResourceId",
                "missing required header ResourceId",
            ),
            (
                FOCUS_1_0,
                "x_CustomerId",
                "missing required header x_CustomerId",
            ),
            (FOCUS_1_0, "ListCost", "missing required header ListCost"),
            (
                FOCUS_1_0,
                "ChargePeriodStart",
                "missing required header ChargePeriodStart",
            ),
            (
                FOCUS_1_0,
                "SubAccountId",
                "missing required header SubAccountId",
            ),
            (
                FOCUS_1_0,
                "x_SkuMeterName",
                "missing required header SkuMeter",
            ),
        ];
        for (fixture, name, message) in cases {
            let (report, lines) = read(&without(fixture, name));
            assert!(lines.is_empty(), "{name}");
            assert_eq!(report.rows, 0);
            assert_eq!(report.errors.len(), 1, "{name}: {:?}", report.errors);
            assert_eq!(report.errors[0].line, 1);
            assert_eq!(report.errors[0].message, message);
        }
        // Groups: one of the columns is enough ...
        let (report, lines) = read(&without(COST_DETAILS, "PayGPrice"));
        assert_eq!(report.error_count, 0);
        assert_eq!(lines[2].unit_price, dec("0"), "unitPrice of covered usage");
        let (report, _) = read(&without(FOCUS_1_0, "x_PartnerCreditRate"));
        assert_eq!(report.error_count, 0);
        // ... none is not.
        let both = without(&without(COST_DETAILS, "PayGPrice"), "unitPrice");
        let (report, _) = read(&both);
        assert_eq!(
            report.errors,
            vec![RowError {
                line: 1,
                column: "PayGPrice".into(),
                value: String::new(),
                message: "missing required header PayGPrice (or unitPrice)".into(),
            }]
        );
        let both = without(
            &without(FOCUS_1_2, "x_PartnerCreditRate"),
            "x_PartnerCreditApplied",
        );
        assert_eq!(
            read(&both).0.errors[0].message,
            "missing required header x_PartnerCreditRate (or x_PartnerCreditApplied)"
        );
        // FOCUS 1.2 has both SkuMeter and the deprecated x_SkuMeterName: either will do.
        assert_eq!(read(&without(FOCUS_1_2, "SkuMeter")).0.error_count, 0);
        assert_eq!(read(&without(FOCUS_1_2, "x_SkuMeterName")).0.error_count, 0);
    }

    #[test]
    fn a_duplicated_header_rejects_the_file() {
        let mut recs = records(FOCUS_1_0);
        for (i, r) in recs.iter_mut().enumerate() {
            r.push(if i == 0 {
                " listcost ".into()
            } else {
                "1".into()
            });
        }
        let (report, lines) = read(&write_csv(&recs));
        assert!(lines.is_empty());
        assert_eq!(
            report.errors,
            vec![RowError {
                line: 1,
                column: "ListCost".into(),
                value: "listcost".into(),
                message: "duplicated header: ListCost appears more than once".into(),
            }]
        );
    }

    #[test]
    fn bad_values_are_reported_by_line_and_column() {
        let cases: [(&[u8], usize, &str, &str, &str); 12] = [
            (
                FOCUS_1_0,
                2,
                "x_PartnerCreditRate",
                "1.5",
                "fraction between 0 and 1",
            ),
            (
                FOCUS_1_0,
                0,
                "x_PartnerCreditRate",
                "abc",
                "not a decimal number",
            ),
            (
                FOCUS_1_0,
                0,
                "x_PartnerCreditApplied",
                "maybe",
                "must be true or false",
            ),
            (
                FOCUS_1_0,
                5,
                "ChargePeriodStart",
                "2026-02-30T00:00Z",
                "not a valid ChargePeriodStart",
            ),
            (FOCUS_1_0, 1, "ListCost", "", "ListCost is required"),
            (
                FOCUS_1_0,
                1,
                "x_CustomerId",
                " ",
                "x_CustomerId is required",
            ),
            (FOCUS_1_0, 3, "BillingCurrency", "US", "three-letter"),
            (
                FOCUS_1_2,
                7,
                "PricingQuantity",
                "many",
                "not a decimal number",
            ),
            (
                COST_DETAILS,
                0,
                "partnerTenantId",
                "11111111-2222-3333-4444-555555555555",
                "TENANT_MISMATCH",
            ),
            (COST_DETAILS, 4, "date", "31/12/2026", "not a valid date"),
            (COST_DETAILS, 6, "quantity", "x", "not a decimal number"),
            (
                COST_DETAILS,
                7,
                "partnerEarnedCreditRate",
                "15",
                "fraction between 0 and 1",
            ),
        ];
        for (fixture, row, column, value, message) in cases {
            let (report, lines) = read(&with(fixture, row, column, value));
            assert_eq!(
                report.error_count, 1,
                "{column}={value}: {:?}",
                report.errors
            );
            let e = &report.errors[0];
            assert_eq!(
                (e.line, e.column.as_str(), e.value.as_str()),
                (row as u64 + 2, column, value),
                "{column}"
            );
            assert!(e.message.contains(message), "{column}: {}", e.message);
            // All or nothing: nothing after the first bad row is handed over.
            assert_eq!(lines.len(), row, "{column}");
        }
        // Both price columns empty.
        let bad = with(&with(COST_DETAILS, 0, "PayGPrice", ""), 0, "unitPrice", "");
        let (report, _) = read(&bad);
        assert_eq!(
            (
                report.errors[0].column.as_str(),
                report.errors[0].message.as_str()
            ),
            ("PayGPrice", "PayGPrice (or unitPrice) is required")
        );
        // A wrong number of fields, as for DRU files.
        let mut recs = records(FOCUS_1_0);
        recs[3].truncate(5);
        let (report, _) = read(&write_csv(&recs));
        assert_eq!(report.errors[0].line, 4);
        assert_eq!(
            report.errors[0].message,
            "the row has 5 fields, the header has 96"
        );
    }

    /// Found with the `usage_file` fuzz target (`fuzz/`): see `usage::MAX_LINE_AMOUNT`.
    #[test]
    fn export_line_amounts_are_bounded() {
        let (report, lines) = read(&with(COST_DETAILS, 0, "quantity", "5000000000000000"));
        assert!(lines.is_empty());
        assert_eq!(
            report.errors,
            vec![RowError {
                line: 2,
                column: "quantity".into(),
                value: "5000000000000000".into(),
                message: "the line's amount (quantity × unit price) is 1440000000000000.000, \
                          more than the ±1000000000000000 a usage line may have"
                    .into(),
            }]
        );
        let (report, _) = read(&with(FOCUS_1_0, 0, "ListCost", "-1000000000000000.1"));
        assert_eq!(report.error_count, 1);
        assert_eq!(report.errors[0].column, "ListCost");
    }

    #[test]
    fn pec_percentage_rules() {
        let pec = |rate: &str, applied: &str| {
            let bytes = with(
                &with(FOCUS_1_0, 0, "x_PartnerCreditRate", rate),
                0,
                "x_PartnerCreditApplied",
                applied,
            );
            let (report, lines) = read(&bytes);
            assert_eq!(report.errors, vec![], "{rate}/{applied}");
            lines[0].pec_percentage.normalize()
        };
        assert_eq!(pec("0.15", "true"), dec("15"));
        assert_eq!(pec("0.15", "false"), dec("0"), "not applied wins");
        assert_eq!(pec("", "TRUE"), dec("15"));
        assert_eq!(pec("", ""), dec("0"));
        assert_eq!(pec("0.15", ""), dec("15"));
        assert_eq!(pec("15%", "1"), dec("15"));
        assert_eq!(pec("0.2", "yes"), dec("20"));
        assert_eq!(pec("0", "true"), dec("0"), "a given rate wins");
    }

    #[test]
    fn spot_and_savings_plan() {
        let (_, lines) = read(&with(COST_DETAILS, 1, "PricingModel", "Spot"));
        assert_eq!(lines[1].benefit_type, "Spot");
        assert_eq!(
            product_ineligibility(&lines[1], &Config::default()),
            Some(IneligibleReason::Spot)
        );
        let (_, lines) = read(&with(COST_DETAILS, 1, "PricingModel", "SavingsPlan"));
        assert_eq!(
            product_ineligibility(&lines[1], &Config::default()),
            Some(IneligibleReason::SavingsPlan)
        );
        let (_, lines) = read(&with(FOCUS_1_0, 1, "PricingCategory", "Dynamic"));
        assert_eq!(
            product_ineligibility(&lines[1], &Config::default()),
            Some(IneligibleReason::Spot)
        );
        let (_, lines) = read(&with(
            FOCUS_1_2,
            1,
            "CommitmentDiscountType",
            "Savings Plan",
        ));
        assert_eq!(
            product_ineligibility(&lines[1], &Config::default()),
            Some(IneligibleReason::SavingsPlan)
        );
        let (_, lines) = read(&with(FOCUS_1_2, 1, "ChargeCategory", "Purchase"));
        assert_eq!(lines[1].charge_type, "purchase");
        assert_eq!(
            product_ineligibility(&lines[1], &Config::default()),
            Some(IneligibleReason::NotConsumption)
        );
        // Marketplace: an empty publisher name takes the publisher type.
        let bad = with(
            &with(COST_DETAILS, 1, "publisherName", ""),
            1,
            "publisherType",
            "Marketplace",
        );
        let (_, lines) = read(&bad);
        assert_eq!(
            product_ineligibility(&lines[1], &Config::default()),
            Some(IneligibleReason::ThirdParty)
        );
        let (_, lines) = read(&with(FOCUS_1_0, 1, "PublisherName", ""));
        assert_eq!(
            lines[1].publisher_name, "Microsoft",
            "x_PublisherCategory Cloud Provider"
        );
    }

    #[test]
    fn dates_and_subscriptions_as_the_exports_write_them() {
        assert_eq!(
            parse_export_date("2026-09-01T00:00Z"),
            NaiveDate::from_ymd_opt(2026, 9, 1)
        );
        assert_eq!(
            parse_export_date("2026-09-01T23:30-01:00"),
            NaiveDate::from_ymd_opt(2026, 9, 2)
        );
        assert_eq!(
            parse_export_date("09/01/2026"),
            NaiveDate::from_ymd_opt(2026, 9, 1)
        );
        for bad in [
            "2026-09-01T00:00:",
            "2026-09-01T0000Z",
            "2026-09-01Tx",
            "",
            "é",
        ] {
            assert_eq!(parse_export_date(bad), None, "{bad:?}");
        }
        assert_eq!(subscription_guid(" /Subscriptions/ABC/ "), "ABC");
        assert_eq!(
            subscription_guid("/subscriptions/abc/resourceGroups/x"),
            "abc"
        );
        assert_eq!(subscription_guid("abc"), "abc");
        assert_eq!(subscription_guid("/subscriptions"), "/subscriptions");
        assert_eq!(subscription_guid("/subscriptionsé"), "/subscriptionsé");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn arbitrary_bytes_after_an_export_header_never_panic(
            bytes in prop::collection::vec(any::<u8>(), 0..3000),
            which in 0usize..3,
            mpn in any::<bool>(),
        ) {
            let fixture = [COST_DETAILS, FOCUS_1_0, FOCUS_1_2][which];
            let header_end = fixture.iter().position(|&b| b == b'\n').unwrap_or(0) + 1;
            let mut input = fixture[..header_end].to_vec();
            input.extend(&bytes);
            let (report, lines) = read_opts(&input, &options(mpn.then_some(MPN)));
            prop_assert_eq!(report.bytes, input.len() as u64);
            prop_assert!(report.errors.len() as u64 <= report.error_count);
            prop_assert!(report.errors.len() <= MAX_REPORTED_ERRORS);
            if report.error_count == 0 {
                prop_assert_eq!(lines.len() as u64, report.rows);
            }
        }

        #[test]
        fn damaged_exports_are_accepted_whole_or_reported(
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
            which in 0usize..3,
        ) {
            let mut input = [COST_DETAILS, FOCUS_1_0, FOCUS_1_2][which].to_vec();
            for (at, byte) in edits {
                let i = at.index(input.len());
                input[i] = byte;
            }
            let (report, lines) = read(&input);
            if report.error_count == 0 {
                prop_assert_eq!(lines.len() as u64, report.rows);
            } else {
                prop_assert!(!report.errors.is_empty());
                prop_assert!(lines.iter().all(|l| l.line < report.errors[0].line));
            }
        }
    }
}
