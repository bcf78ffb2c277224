//! Product eligibility of a usage line (SPEC R7).

use crate::config::Config;
use crate::reasons::IneligibleReason;
use crate::usage::{UsageLine, UsageLineView};

/// Why the line can never earn PEC, first match wins; `None` if eligible.
///
/// The order: configuration first — a meter ID in `eligibleMeterIds` or a product name in
/// `eligibleProductNames` makes the line eligible, one in `ineligibleMeterIds` or
/// `ineligibleProductNames` gives [`IneligibleReason::Configured`] (IDs and names compared
/// case-insensitively, trimmed) — then the SPEC's order: `NOT_CONSUMPTION`, `RESERVATION`,
/// `SAVINGS_PLAN`, `THIRD_PARTY`, `SPOT`. Besides `MeterName`/`MeterSubCategory`, `SPOT` is also
/// a `BenefitType` naming the word Spot: the Cost Management and FOCUS readers mark Spot pricing
/// (`PricingModel` `Spot`, `PricingCategory` `Dynamic`) that way, DRU files never do.
pub fn product_ineligibility(line: &UsageLine, config: &Config) -> Option<IneligibleReason> {
    product_ineligibility_of(&line.view(), config)
}

/// [`product_ineligibility`] of a borrowed line (what ingestion reads).
pub fn product_ineligibility_of(
    line: &UsageLineView<'_>,
    config: &Config,
) -> Option<IneligibleReason> {
    with_overrides(
        line.meter_id,
        line.product_name,
        rule_ineligibility(line),
        config,
    )
}

/// R7's configured overrides, checked first: a meter ID or product name forced eligible is
/// eligible, one forced ineligible is `CONFIGURED`; otherwise the rules' verdict `rule` stands.
/// Settlement applies this to the products a usage aggregate keeps, so a configuration change
/// reaches every re-settled day.
pub fn with_overrides(
    meter_id: &str,
    product_name: &str,
    rule: Option<IneligibleReason>,
    config: &Config,
) -> Option<IneligibleReason> {
    let listed = |list: &[String], value: &str| {
        let value = value.trim();
        list.iter()
            .any(|item| item.trim().eq_ignore_ascii_case(value))
    };
    if listed(&config.eligible_meter_ids, meter_id)
        || listed(&config.eligible_product_names, product_name)
    {
        return None;
    }
    if listed(&config.ineligible_meter_ids, meter_id)
        || listed(&config.ineligible_product_names, product_name)
    {
        return Some(IneligibleReason::Configured);
    }
    rule
}

/// R7 by Microsoft's rules alone, without configuration: the first of `NOT_CONSUMPTION`,
/// `RESERVATION`, `SAVINGS_PLAN`, `THIRD_PARTY`, `SPOT` that the line meets.
pub fn rule_ineligibility(line: &UsageLineView<'_>) -> Option<IneligibleReason> {
    let charge_type = line.charge_type.trim();
    if !charge_type.eq_ignore_ascii_case("new") && !charge_type.eq_ignore_ascii_case("usage") {
        return Some(IneligibleReason::NotConsumption);
    }
    let names_reservation = |text: &str| {
        contains_ci(text, "reservation")
            || contains_ci(text, "reserved instance")
            || contains_ci(text, "reserved vm instance")
    };
    if contains_ci(line.benefit_type, "reservation")
        || names_reservation(line.product_name)
        || names_reservation(line.meter_category)
    {
        return Some(IneligibleReason::Reservation);
    }
    if contains_ci(line.benefit_type, "savings plan")
        || contains_ci(line.benefit_type, "savingsplan")
    {
        return Some(IneligibleReason::SavingsPlan);
    }
    let publisher = line.publisher_name.trim();
    if !(publisher.eq_ignore_ascii_case("Microsoft")
        || publisher.eq_ignore_ascii_case("Microsoft Corporation"))
        || tags_mark_third_party(line.tags)
    {
        return Some(IneligibleReason::ThirdParty);
    }
    if contains_word_ci(line.meter_name, "spot")
        || contains_word_ci(line.meter_sub_category, "spot")
        || contains_word_ci(line.benefit_type, "spot")
    {
        return Some(IneligibleReason::Spot);
    }
    None
}

/// Whether `haystack` contains `needle` (ASCII), ignoring ASCII case.
fn contains_ci(haystack: &str, needle: &str) -> bool {
    match_starts_ci(haystack, needle).next().is_some()
}

/// Byte offsets where `needle` (ASCII) occurs in `haystack`, ignoring ASCII case.
fn match_starts_ci<'a>(haystack: &'a str, needle: &'a str) -> impl Iterator<Item = usize> + 'a {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    let last = h.len().checked_sub(n.len());
    last.into_iter()
        .flat_map(|last| 0..=last)
        .filter(move |&i| {
            h.get(i..i + n.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(n))
        })
}

/// Whether `haystack` contains `word` as a whole word, ignoring ASCII case: the characters
/// either side are not letters or digits ("D4s v5 Spot", "Spot-Low" yes; "Spotify" no).
fn contains_word_ci(haystack: &str, word: &str) -> bool {
    let is_word_char = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    match_starts_ci(haystack, word).any(|i| {
        let before = haystack.get(..i).and_then(|s| s.chars().next_back());
        let after = haystack
            .get(i + word.len()..)
            .and_then(|s| s.chars().next());
        !is_word_char(before) && !is_word_char(after)
    })
}

/// Whether a key names the third-party marker: its lower-cased letters and digits are
/// `thirdparty` (`ThirdParty`, `third-party`, `third_party`, …).
fn is_third_party_key(key: &str) -> bool {
    let mut letters = key
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase);
    "thirdparty".chars().all(|c| letters.next() == Some(c)) && letters.next().is_none()
}

/// Whether a tag value says yes: `true` or `yes`, ignoring case and quotes.
fn is_yes(value: &str) -> bool {
    let v = value.trim().trim_matches(|c| c == '"' || c == '\'').trim();
    v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("yes")
}

/// Whether `Tags` marks the line third party: a JSON object (braces optional) with a
/// third-party key whose value is `true`, `"true"` or `"yes"`; or a `key=value;key:value` list
/// (`;` or `,` separated) with such a pair.
fn tags_mark_third_party(tags: &str) -> bool {
    let t = tags.trim();
    if t.is_empty() {
        return false;
    }
    let json = serde_json::from_str::<serde_json::Value>(t)
        .ok()
        .filter(serde_json::Value::is_object)
        .or_else(|| serde_json::from_str::<serde_json::Value>(&format!("{{{t}}}")).ok());
    if let Some(serde_json::Value::Object(map)) = json {
        return map.iter().any(|(key, value)| {
            is_third_party_key(key)
                && match value {
                    serde_json::Value::Bool(b) => *b,
                    serde_json::Value::String(s) => is_yes(s),
                    _ => false,
                }
        });
    }
    t.split([';', ','])
        .filter_map(|pair| pair.split_once(['=', ':']))
        .any(|(key, value)| is_third_party_key(key) && is_yes(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use rust_decimal::Decimal;

    /// The App Service line of the example file: eligible.
    fn line() -> UsageLine {
        UsageLine {
            line: 2,
            partner_id: "7a3c0000-0000-4000-8000-000000000001".into(),
            customer_id: "bdd640fb-0667-4ad1-9c80-317fa3b1799d".into(),
            subscription_id: "23b8c1e9-3924-46de-beb1-3b9046685257".into(),
            customer_name: "Customer bdd6".into(),
            partner_name: String::new(),
            customer_domain: String::new(),
            subscription_name: String::new(),
            reseller_name: String::new(),
            mpn_id: "4100001".into(),
            tier2_mpn_id: String::new(),
            usage_date: NaiveDate::from_ymd_opt(2026, 9, 1).unwrap_or_default(),
            resource_key: "/subscriptions/23b8c1e9-3924-46de-beb1-3b9046685257/resourcegroups/\
                           rg-web/providers/microsoft.web/sites/shop"
                .into(),
            resource_group: "rg-web".into(),
            meter_id: "7c52739c-65c2-5f49-bcde-403d7bdebb4f".into(),
            meter_name: "P1v3 App".into(),
            meter_category: "Azure App Service".into(),
            meter_sub_category: "Dv5 Series".into(),
            product_name: "Azure plan".into(),
            publisher_name: "Microsoft".into(),
            charge_type: "new".into(),
            unit_price: Decimal::new(288, 3),
            quantity: Decimal::new(24, 0),
            pricing_currency: "USD".into(),
            pec_percentage: Decimal::new(15, 0),
            benefit_type: String::new(),
            tags: String::new(),
        }
    }

    fn reason(edit: impl FnOnce(&mut UsageLine)) -> Option<IneligibleReason> {
        let mut l = line();
        edit(&mut l);
        product_ineligibility(&l, &Config::default())
    }

    use IneligibleReason::*;

    #[test]
    fn first_party_consumption_is_eligible() {
        assert_eq!(reason(|_| {}), None);
        assert_eq!(reason(|l| l.charge_type = " Usage ".into()), None);
        assert_eq!(
            reason(|l| l.publisher_name = "microsoft corporation".into()),
            None
        );
        assert_eq!(
            reason(|l| l.tags = r#"{"env":"prod","thirdParty":false}"#.into()),
            None
        );
    }

    #[test]
    fn not_consumption() {
        for charge_type in ["purchase", "refund", "Cycle fee", ""] {
            assert_eq!(
                reason(|l| l.charge_type = charge_type.into()),
                Some(NotConsumption)
            );
        }
        // First match wins: a non-consumption reservation is NOT_CONSUMPTION.
        let r = reason(|l| {
            l.charge_type = "purchase".into();
            l.benefit_type = "Reservation".into();
        });
        assert_eq!(r, Some(NotConsumption));
    }

    #[test]
    fn reservation() {
        assert_eq!(
            reason(|l| l.benefit_type = "Reservation".into()),
            Some(Reservation)
        );
        assert_eq!(
            reason(|l| l.benefit_type = "VM RESERVATION".into()),
            Some(Reservation)
        );
        let r = reason(|l| l.product_name = "Reserved Instance D2s v3 1 year".into());
        assert_eq!(r, Some(Reservation));
        let r = reason(|l| l.product_name = "Reserved VM Instance, Standard_D2s_v3".into());
        assert_eq!(r, Some(Reservation));
        assert_eq!(
            reason(|l| l.meter_category = "Reservation-Base VM".into()),
            Some(Reservation)
        );
        // Before SAVINGS_PLAN and THIRD_PARTY.
        let r = reason(|l| {
            l.benefit_type = "Reservation".into();
            l.publisher_name = "Contoso".into();
        });
        assert_eq!(r, Some(Reservation));
    }

    #[test]
    fn savings_plan() {
        assert_eq!(
            reason(|l| l.benefit_type = "Savings Plan".into()),
            Some(SavingsPlan)
        );
        assert_eq!(
            reason(|l| l.benefit_type = "SavingsPlan".into()),
            Some(SavingsPlan)
        );
        assert_eq!(
            reason(|l| l.product_name = "Azure savings plan for compute".into()),
            None,
            "only BenefitType names a savings plan"
        );
        let r = reason(|l| {
            l.benefit_type = "savingsplan".into();
            l.meter_name = "D4s v5 Spot".into();
        });
        assert_eq!(r, Some(SavingsPlan));
    }

    #[test]
    fn third_party_by_publisher() {
        assert_eq!(
            reason(|l| l.publisher_name = "Contoso Ltd".into()),
            Some(ThirdParty)
        );
        assert_eq!(
            reason(|l| l.publisher_name = "Microsoft Partner".into()),
            Some(ThirdParty)
        );
        assert_eq!(reason(|l| l.publisher_name = " MICROSOFT ".into()), None);
        let r = reason(|l| {
            l.publisher_name = "Canonical".into();
            l.meter_name = "Spot".into();
        });
        assert_eq!(r, Some(ThirdParty));
    }

    #[test]
    fn third_party_by_tags() {
        let marked = [
            r#"{"ThirdParty": true}"#,
            r#"{"env":"prod","third-party":"yes"}"#,
            r#"{"third_party":"TRUE"}"#,
            r#""thirdParty": "true", "env": "dev""#,
            "env=prod;ThirdParty=true",
            "Third Party: yes",
            "thirdparty=\"true\"",
        ];
        for tags in marked {
            assert_eq!(reason(|l| l.tags = tags.into()), Some(ThirdParty), "{tags}");
        }
        let unmarked = [
            r#"{"ThirdParty": false}"#,
            r#"{"ThirdParty": "no"}"#,
            r#"{"thirdPartyVendor": "true"}"#,
            r#"{"env": "thirdparty=true"}"#,
            "env=prod",
            "thirdparty=1",
            "not tags at all",
        ];
        for tags in unmarked {
            assert_eq!(reason(|l| l.tags = tags.into()), None, "{tags}");
        }
    }

    #[test]
    fn spot_is_a_whole_word() {
        for name in [
            "D4s v5 Spot",
            "spot",
            "Standard_D2 Spot-Low",
            "(Spot) D2",
            "E2 v3/SPOT",
        ] {
            assert_eq!(reason(|l| l.meter_name = name.into()), Some(Spot), "{name}");
        }
        assert_eq!(
            reason(|l| l.meter_sub_category = "Dv5 Series Windows Spot".into()),
            Some(Spot)
        );
        for name in ["Spotify", "Hotspot", "D4s v5 Spots", "spotlight", "XSpot2"] {
            assert_eq!(reason(|l| l.meter_name = name.into()), None, "{name}");
        }
    }

    #[test]
    fn spot_as_the_exports_mark_it() {
        // The Cost Management and FOCUS readers put Spot pricing into BenefitType.
        assert_eq!(reason(|l| l.benefit_type = "Spot".into()), Some(Spot));
        assert_eq!(reason(|l| l.benefit_type = "spotlight".into()), None);
        // Third party still comes first.
        let r = reason(|l| {
            l.benefit_type = "Spot".into();
            l.publisher_name = "Canonical".into();
        });
        assert_eq!(r, Some(ThirdParty));
    }

    #[test]
    fn configuration_overrides_come_first() {
        let mut config = Config::default();
        config
            .ineligible_meter_ids
            .push("7C52739C-65C2-5F49-BCDE-403D7BDEBB4F".into());
        assert_eq!(product_ineligibility(&line(), &config), Some(Configured));

        let mut config = Config::default();
        config.ineligible_product_names.push(" azure PLAN ".into());
        assert_eq!(product_ineligibility(&line(), &config), Some(Configured));

        // Eligible by configuration despite a rule that would exclude it.
        let mut spot = line();
        spot.meter_name = "D4s v5 Spot".into();
        let mut config = Config::default();
        config.eligible_meter_ids.push(spot.meter_id.to_uppercase());
        assert_eq!(product_ineligibility(&spot, &config), None);

        let mut config = Config::default();
        config.eligible_product_names.push("AZURE PLAN".into());
        assert_eq!(product_ineligibility(&spot, &config), None);

        // Eligible wins over ineligible; configuration wins over NOT_CONSUMPTION.
        let mut config = Config::default();
        config.eligible_meter_ids.push(spot.meter_id.clone());
        config.ineligible_product_names.push("Azure plan".into());
        assert_eq!(product_ineligibility(&spot, &config), None);
        let mut purchase = line();
        purchase.charge_type = "purchase".into();
        let mut config = Config::default();
        config.ineligible_meter_ids.push(purchase.meter_id.clone());
        assert_eq!(product_ineligibility(&purchase, &config), Some(Configured));

        // Other IDs and names change nothing.
        let mut config = Config::default();
        config
            .ineligible_meter_ids
            .push("00000000-0000-0000-0000-000000000000".into());
        config.ineligible_product_names.push("Azure plan 2".into());
        assert_eq!(product_ineligibility(&line(), &config), None);
    }

    #[test]
    fn matching_helpers() {
        assert!(contains_ci("Azure Reservation", "reservation"));
        assert!(!contains_ci("Res", "reservation"));
        assert!(!contains_ci("", "spot"));
        assert!(contains_word_ci("é spot é", "spot"));
        assert!(!contains_word_ci("éspot", "spot"));
        assert!(is_third_party_key("Third-Party"));
        assert!(!is_third_party_key("thirdparty2"));
        assert!(!is_third_party_key("third"));
    }
}
