//! Tests of the HTML page: every figure is the JSON's string, escaping and self-containment,
//! the top customers, an empty statement, and the chart ticks.

use super::charts::{nice_ticks, tick_label};
use super::*;
use serde_json::Value;
use std::collections::BTreeMap;

/// The figures the page must show, read from the statement's JSON (not from the struct the
/// page was rendered from).
fn json_figures(v: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let s = |v: &Value| v.as_str().unwrap().to_string();
    out.insert("partnerId".into(), s(&v["partnerId"]));
    out.insert("month".into(), s(&v["month"]));
    out.insert("asOf".into(), s(&v["asOf"]));
    // Names, where the JSON has them.
    let name = |out: &mut BTreeMap<String, String>, key: String, x: &Value| {
        if let Some(n) = x.as_str() {
            out.insert(key, n.to_string());
        }
    };
    name(&mut out, "partnerName".into(), &v["partnerName"]);
    name(
        &mut out,
        "scope.customerName".into(),
        &v["scope"]["customerName"],
    );
    name(
        &mut out,
        "scope.resellerName".into(),
        &v["scope"]["resellerName"],
    );
    let totals = |out: &mut BTreeMap<String, String>, base: String, t: &Value| {
        for (k, x) in t.as_object().unwrap() {
            out.insert(format!("{base}.{k}"), s(x));
        }
    };
    for c in v["currencies"].as_array().unwrap() {
        let cur = s(&c["currency"]);
        totals(&mut out, format!("{cur}.totals"), &c["totals"]);
        for map in ["lostCreditByReason", "ineligibleByReason"] {
            for (k, x) in c[map].as_object().unwrap() {
                out.insert(format!("{cur}.{map}.{k}"), s(x));
            }
        }
        for cu in c["customers"].as_array().unwrap() {
            let base = format!("{cur}.customers.{}", s(&cu["customerId"]));
            totals(&mut out, format!("{base}.totals"), &cu["totals"]);
            for f in ["customerName", "customerDomain", "resellerName"] {
                name(&mut out, format!("{base}.{f}"), &cu[f]);
            }
            for su in cu["subscriptions"].as_array().unwrap() {
                let sub = format!("{base}.subscriptions.{}.totals", s(&su["subscriptionId"]));
                name(
                    &mut out,
                    format!(
                        "{base}.subscriptions.{}.subscriptionName",
                        s(&su["subscriptionId"])
                    ),
                    &su["subscriptionName"],
                );
                totals(&mut out, sub, &su["totals"]);
            }
        }
        for d in c["days"].as_array().unwrap() {
            for f in ["earnedCredit", "lostCredit", "microsoftCredit"] {
                out.insert(format!("{cur}.days.{}.{f}", s(&d["date"])), s(&d[f]));
            }
        }
        for p in c["priorPeriodAdjustments"].as_array().unwrap() {
            let m = s(&p["usageMonth"]);
            for f in ["earnedCredit", "lostCredit", "microsoftCredit"] {
                out.insert(format!("{cur}.priorPeriodAdjustments.{m}.{f}"), s(&p[f]));
                for cu in p["customers"].as_array().unwrap() {
                    let id = s(&cu["customerId"]);
                    name(
                        &mut out,
                        format!("{cur}.priorPeriodAdjustments.{m}.customers.{id}.customerName"),
                        &cu["customerName"],
                    );
                    out.insert(
                        format!("{cur}.priorPeriodAdjustments.{m}.customers.{id}.{f}"),
                        s(&cu[f]),
                    );
                }
            }
        }
    }
    out
}

#[test]
fn every_figure_in_the_page_is_the_jsons_rounded() {
    let s = sample_statement();
    let page = render_html(&s);
    let json = json_figures(&serde_json::to_value(&s).unwrap());
    let figures = figures_in_page(&page);
    let mut seen = std::collections::BTreeSet::new();
    for f in &figures {
        let expected = json
            .get(&f.key)
            .unwrap_or_else(|| panic!("page figure {} is not in the JSON", f.key));
        assert_eq!(&f.exact, expected, "{} (data-exact)", f.key);
        // What is shown is the JSON's figure rounded: cents, or a percentage for rates.
        let rounded = match pec_ledger::decimal::parse_stored(expected) {
            Ok(d) if f.key.ends_with("effectiveRate") => crate::money::percent(d),
            Ok(d) => crate::money::money(d),
            Err(_) => expected.clone(),
        };
        assert_eq!(f.shown, rounded, "{} (shown)", f.key);
        seen.insert(f.key.clone());
    }
    let missing: Vec<&String> = json.keys().filter(|k| !seen.contains(*k)).collect();
    assert!(
        missing.is_empty(),
        "figures missing from the page: {missing:?}"
    );
    // Spot checks.
    let get = |key: &str| {
        figures
            .iter()
            .find(|f| f.key == key)
            .map(|f| (f.exact.as_str(), f.shown.as_str()))
    };
    assert_eq!(get("USD.totals.earnedCredit"), Some(("27.33696", "27.34")));
    assert_eq!(
        get("USD.totals.lostCredit"),
        Some(("12.0000000001", "12.00"))
    );
    assert_eq!(
        get("USD.days.2026-09-14.lostCredit"),
        Some(("-0.25", "-0.25"))
    );
    assert_eq!(
        get("asOf"),
        Some(("2026-10-02T00:00:00Z", "2026-10-02T00:00:00Z"))
    );
    let rate = get("USD.totals.effectiveRate").unwrap();
    assert!(rate.1.ends_with(" %"), "{rate:?}");
}

#[test]
fn input_text_is_escaped_and_the_page_is_self_contained() {
    let page = render_html(&sample_statement());
    assert!(
        !page.contains("<script"),
        "no script element, not even from ids"
    );
    assert!(page.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"));
    assert!(!page.contains("<b>1</b>"));
    assert!(page.contains("sub-&lt;b&gt;1&lt;/b&gt;"));
    for external in ["http://", "https://", "src=", "@import", "url("] {
        assert!(!page.contains(external), "page references {external}");
    }
    assert!(page.contains("@page { size: A4; margin: 15mm; }"));
    assert_eq!(page.matches("<svg").count(), 2 + TOP_CUSTOMERS);
    assert_eq!(escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
}

#[test]
fn the_top_customers_are_the_ten_that_lost_most() {
    let page = render_html(&sample_statement());
    let start = page.find("Customers with the most lost credit").unwrap();
    let end = page[start..].find("</table>").unwrap() + start;
    let top = figures_in_page(&page[start..end]);
    let lost: Vec<&str> = top
        .iter()
        .filter(|f| f.key.ends_with(".lostCredit"))
        .map(|f| f.exact.as_str())
        .collect();
    assert_eq!(lost.len(), TOP_CUSTOMERS);
    assert_eq!(lost[0], "5.66304");
    assert_eq!(lost[1], "0.91");
    assert_eq!(lost[9], "0.111", "compared as decimals, not as text");
    assert!(page.contains("The 10 of 13 customers that lost credit"));
}

#[test]
fn an_empty_statement_still_renders() {
    let mut s = sample_statement();
    s.currencies.clear();
    let page = render_html(&s);
    assert!(page.contains("No ledger entries"));
    assert!(page.ends_with("</html>\n"));
}

#[test]
fn ticks_are_round() {
    let (ticks, step) = nice_ticks(0.0, 13.7);
    assert_eq!(step, 5.0);
    assert_eq!(ticks.first(), Some(&0.0));
    assert_eq!(ticks.last(), Some(&15.0));
    assert_eq!(tick_label(7.5, 2.5), "7.5");
    assert_eq!(tick_label(10.0, 2.5), "10.0");
    assert_eq!(tick_label(0.2, 0.1), "0.2");
    assert_eq!(tick_label(-0.0, 0.1), "0.0");
    assert_eq!(nice_ticks(0.0, 12.0).1, 2.5);
    let (ticks, _) = nice_ticks(-0.25, 12.12);
    assert!(ticks[0] < 0.0 && ticks.contains(&0.0));
}
