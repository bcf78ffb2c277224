//! The monthly statement as one self-contained, printable HTML page (SPEC 5): inline CSS sized
//! for A4, inline SVG charts (daily earned versus lost credit, lost credit by reason, the
//! customers with the most lost credit), and the statement's tables. No script, no external
//! resource: the page renders the same offline, in a browser or printed to PDF.
//!
//! Amounts are shown rounded to cents with thousands separators and rates as percentages
//! ([`crate::money`]); each key figure sits in an element with a `data-figure` attribute naming it
//! (`USD.totals.earnedCredit`, `USD.days.2026-09-01.lostCredit`,
//! `USD.customers.{customerId}.totals.lostCredit`, …) and a `data-exact` attribute holding the
//! JSON statement's exact decimal, so the page can be checked against the JSON. Chart geometry is
//! computed in `f64`. Every text from the input (ids, currencies) is HTML-escaped.

use pec_ledger::decimal::fmt_amount;
use pec_ledger::statement::{CurrencyStatement, Month, Statement, Totals};
use rust_decimal::Decimal;
use std::fmt::Write as _;

mod charts;

use charts::{daily_chart, lost_by_reason_chart, top_customers};

/// How many customers the "most lost credit" view lists.
pub const TOP_CUSTOMERS: usize = 10;

const CSS: &str = r#"
@page { size: A4; margin: 15mm; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; background: #e8e8e8; color: #1d1d1f;
  font: 9.5pt/1.35 "Liberation Sans", "DejaVu Sans", Arial, Helvetica, sans-serif; }
.page { width: 210mm; margin: 8mm auto; padding: 15mm; background: #fff;
  box-shadow: 0 1px 6px rgba(0,0,0,.25); }
@media print {
  body { background: #fff; }
  .page { width: auto; margin: 0; padding: 0; box-shadow: none; }
}
header { border-bottom: 2px solid #1d1d1f; padding-bottom: 3mm; margin-bottom: 4mm; }
h1 { font-size: 17pt; margin: 0 0 1mm; }
h2 { font-size: 13pt; margin: 5mm 0 2mm; padding: 1mm 2mm; background: #f0f2f5;
  border-left: 4px solid #2f4b7c; }
h3 { font-size: 10.5pt; margin: 4mm 0 1.5mm; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .5mm 4mm; margin: 0; }
dl.meta dt { color: #555; }
dl.meta dd { margin: 0; font-family: "DejaVu Sans Mono", "Liberation Mono", monospace;
  font-size: 8.5pt; word-break: break-all; }
p.note { color: #555; font-size: 8pt; margin: 1mm 0; }
table { border-collapse: collapse; width: 100%; margin: 1mm 0 2mm; }
th, td { padding: .6mm 1.5mm; border-bottom: 1px solid #dde1e6; vertical-align: top;
  text-align: left; }
thead th { border-bottom: 1.5px solid #1d1d1f; font-size: 8pt; color: #333; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.id { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 7pt;
  word-break: break-all; }
table.totals { width: auto; min-width: 60%; }
table.totals td.num { font-size: 10pt; }
table.totals tr.key td { font-weight: bold; }
table.small { font-size: 7.5pt; }
table.small td.num { white-space: normal; word-break: break-all; width: 19%; }
tr.sub td { color: #444; }
.name { font-family: system-ui, "DejaVu Sans", sans-serif; font-size: 8pt; word-break: normal; }
.domain { font-size: 7pt; color: #555; }
td .id, dd .id { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 7pt;
  color: #555; word-break: break-all; }
tr.sub td.id { padding-left: 5mm; }
figure { margin: 2mm 0 3mm; break-inside: avoid; }
figure svg { width: 100%; height: auto; display: block; }
figcaption { font-size: 8pt; color: #555; margin-top: 1mm; }
.bar svg { width: 45mm; height: 3mm; display: block; }
.block { break-inside: avoid; }
section.currency + section.currency { break-before: page; }
footer { margin-top: 5mm; border-top: 1px solid #ccc; padding-top: 2mm; color: #555;
  font-size: 7.5pt; }
"#;

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// How a figure is shown: a rate (`….effectiveRate`) as a percentage, any other amount rounded
/// to cents; a value that is not a decimal as it is.
pub(crate) fn shown(key: &str, exact: &str) -> String {
    match pec_ledger::decimal::parse_stored(exact) {
        Ok(d) if key.ends_with("effectiveRate") => crate::money::percent(d),
        Ok(d) => crate::money::money(d),
        Err(_) => exact.to_string(),
    }
}

/// A key figure: `<td class="num" data-figure="KEY" data-exact="EXACT">SHOWN</td>`.
fn figure_cell(key: &str, exact: &str) -> String {
    format!(
        r#"<td class="num" data-figure="{}" data-exact="{}">{}</td>"#,
        escape(key),
        escape(exact),
        escape(&shown(key, exact))
    )
}

/// Plain-language meaning of a loss or ineligibility reason code.
pub fn reason_text(code: &str) -> &'static str {
    match code {
        "NO_EVIDENCE" => "no access snapshot after the day yet",
        "PAL_MISSING" => "access without a matching Partner Admin Link",
        "ROLE_NOT_ELIGIBLE" => "access through a role that does not earn PEC",
        "NOT_PERMANENT" => "PIM-eligible or just-in-time access",
        "PARTIAL_DAY" => "eligible access for part of the day only",
        "NO_ACCESS" => "no eligible access at any time of the day",
        "NOT_CONSUMPTION" => "not Azure consumption",
        "RESERVATION" => "reservations",
        "SAVINGS_PLAN" => "savings plans",
        "THIRD_PARTY" => "third-party products",
        "SPOT" => "spot virtual machines",
        "CONFIGURED" => "excluded by configuration",
        _ => "",
    }
}

/// A name above its id, or the id alone when the name is unknown; `key` is the name's
/// `data-figure` (the JSON field it shows).
pub(crate) fn named(name: &str, key: &str, id: &str) -> String {
    if name.is_empty() {
        escape(id)
    } else {
        format!(
            "<b class=\"name\" data-figure=\"{}\">{}</b><br><span class=\"id\">{}</span>",
            escape(key),
            escape(name),
            escape(id)
        )
    }
}

/// The header rows naming a statement's scope (one customer, one reseller), if it has one.
fn scope_rows(scope: &pec_ledger::statement::StatementScope) -> String {
    let mut out = String::new();
    if let Some(c) = &scope.customer_id {
        let _ = write!(
            out,
            "<dt>Customer</dt><dd>{}</dd>",
            named(&scope.customer_name, "scope.customerName", c)
        );
    }
    if let Some(r) = &scope.reseller_mpn_id {
        let _ = write!(
            out,
            "<dt>Reseller (Tier 2 MPN ID)</dt><dd>{}</dd>",
            named(&scope.reseller_name, "scope.resellerName", r)
        );
    }
    out
}

/// The statement as a self-contained printable HTML page (A4).
pub fn render_html(s: &Statement) -> String {
    let month = Month::parse(&s.month).ok();
    let month_title = month
        .map(|m| m.first_day().format("%B %Y").to_string())
        .unwrap_or_else(|| s.month.clone());
    let as_of = serde_json::to_value(s.as_of)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| s.as_of.to_rfc3339());
    let mut h = String::with_capacity(64 * 1024);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(
        h,
        "<title>PEC statement {} — {}</title>",
        escape(&s.month),
        escape(if s.partner_name.is_empty() {
            &s.partner_id
        } else {
            &s.partner_name
        })
    );
    let _ = writeln!(
        h,
        "<style>{CSS}</style>\n</head>\n<body>\n<div class=\"page\">"
    );
    let _ = write!(
        h,
        "<header>\n<h1>Partner Earned Credit statement — {}</h1>\n<dl class=\"meta\">\
         <dt>Partner</dt><dd>{}<span class=\"id\" data-figure=\"partnerId\">{}</span></dd>\
         <dt>Month (usage dates)</dt><dd data-figure=\"month\">{}</dd>\
         <dt>As of</dt><dd data-figure=\"asOf\">{}</dd>{}\
         <dt>Currencies</dt><dd>{}</dd></dl>\n</header>\n",
        escape(&month_title),
        if s.partner_name.is_empty() {
            String::new()
        } else {
            format!(
                "<b class=\"name\" data-figure=\"partnerName\">{}</b><br>",
                escape(&s.partner_name)
            )
        },
        escape(&s.partner_id),
        escape(&s.month),
        escape(&as_of),
        scope_rows(&s.scope),
        if s.currencies.is_empty() {
            "none".to_string()
        } else {
            s.currencies
                .iter()
                .map(|c| escape(&c.currency))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    if s.currencies.is_empty() {
        let _ = writeln!(
            h,
            "<p>No ledger entries for usage dates in {} were posted by {}.</p>",
            escape(&s.month),
            escape(&as_of)
        );
    }
    for c in &s.currencies {
        currency_section(&mut h, c, month);
    }
    let _ = writeln!(
        h,
        "<footer>Generated by pec-ledger from the append-only ledger: entries for usage dates in \
         {} posted by {}. Amounts are rounded to cents (half away from zero) and rates to two \
         decimals of a percent, each figure on its own, so rows may differ from their total by a \
         rounding difference; the exact figures are those of the JSON and CSV statements and the \
         workbook's Exact sheet. Earned credit is eligible consumption × the PEC rate on resource-days with \
         eligible, permanent access for the whole UTC day; lost credit is the same on every other \
         resource-day. Variance = earned credit − what Microsoft applied.</footer>",
        escape(&s.month),
        escape(&as_of)
    );
    h.push_str("</div>\n</body>\n</html>\n");
    h
}

fn currency_section(h: &mut String, c: &CurrencyStatement, month: Option<Month>) {
    let cur = escape(&c.currency);
    let key = |rest: &str| format!("{}.{rest}", c.currency);
    let _ = writeln!(h, "<section class=\"currency\">\n<h2>{cur}</h2>");

    // Totals.
    let t = &c.totals;
    let rows: [(&str, &str, Decimal, bool); 8] = [
        ("listAmount", "List amount", t.list_amount, false),
        (
            "eligibleAmount",
            "Eligible amount",
            t.eligible_amount,
            false,
        ),
        (
            "ineligibleAmount",
            "Ineligible amount",
            t.ineligible_amount,
            false,
        ),
        ("earnedCredit", "Earned credit", t.earned_credit, true),
        ("lostCredit", "Lost credit", t.lost_credit, true),
        (
            "microsoftCredit",
            "Credit Microsoft applied",
            t.microsoft_credit,
            false,
        ),
        (
            "variance",
            "Variance (earned − Microsoft)",
            t.variance,
            true,
        ),
        (
            "effectiveRate",
            "Effective rate (earned / eligible)",
            t.effective_rate,
            false,
        ),
    ];
    let _ = writeln!(
        h,
        "<div class=\"block\"><h3>Totals</h3>\n<table class=\"totals\"><tbody>"
    );
    for (field, label, value, strong) in rows {
        let _ = writeln!(
            h,
            "<tr{}><td>{label}</td>{}<td>{}</td></tr>",
            if strong { " class=\"key\"" } else { "" },
            figure_cell(&key(&format!("totals.{field}")), &fmt_amount(value)),
            if field == "effectiveRate" { "" } else { &cur }
        );
    }
    h.push_str("</tbody></table></div>\n");

    daily_chart(h, c, month);
    lost_by_reason_chart(h, c);
    top_customers(h, c);

    // Ineligible by reason.
    let _ = writeln!(
        h,
        "<div class=\"block\"><h3>Ineligible consumption by reason</h3>"
    );
    if c.ineligible_by_reason.is_empty() {
        h.push_str("<p class=\"note\">All consumption was eligible for PEC.</p>\n");
    } else {
        let _ = writeln!(
            h,
            "<table><thead><tr><th>Reason</th><th>Meaning</th><th class=\"num\">Ineligible amount ({cur})</th></tr></thead><tbody>"
        );
        for (reason, amount) in &c.ineligible_by_reason {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td>{}</tr>",
                escape(reason),
                escape(reason_text(reason)),
                figure_cell(&key(&format!("ineligibleByReason.{reason}")), amount)
            );
        }
        h.push_str("</tbody></table>\n");
    }
    h.push_str("</div>\n");

    customers_table(h, c);
    days_table(h, c);

    // Prior-period adjustments.
    let _ = writeln!(
        h,
        "<div class=\"block\"><h3>Prior-period adjustments</h3>\n<p class=\"note\">Adjustments \
         posted during this month to earlier usage months (late usage files, late snapshots, \
         restated files), by usage month and customer.</p>"
    );
    if c.prior_period_adjustments.is_empty() {
        h.push_str("<p class=\"note\">None.</p>\n");
    } else {
        let _ = writeln!(
            h,
            "<table><thead><tr><th>Usage month / customer</th><th class=\"num\">Earned credit ({cur})</th><th class=\"num\">Lost credit ({cur})</th><th class=\"num\">Credit Microsoft applied ({cur})</th></tr></thead><tbody>"
        );
        for p in &c.prior_period_adjustments {
            let base = format!("priorPeriodAdjustments.{}", p.usage_month);
            let cells = |base: &str, e: Decimal, l: Decimal, m: Decimal| {
                [
                    ("earnedCredit", e),
                    ("lostCredit", l),
                    ("microsoftCredit", m),
                ]
                .iter()
                .map(|(f, v)| figure_cell(&key(&format!("{base}.{f}")), &fmt_amount(*v)))
                .collect::<String>()
            };
            let _ = writeln!(
                h,
                "<tr><td>{}</td>{}</tr>",
                escape(&p.usage_month),
                cells(&base, p.earned_credit, p.lost_credit, p.microsoft_credit)
            );
            for cu in &p.customers {
                let _ = writeln!(
                    h,
                    "<tr class=\"sub\"><td class=\"id\">{}</td>{}</tr>",
                    named(
                        &cu.customer_name,
                        &key(&format!("{base}.customers.{}.customerName", cu.customer_id)),
                        &cu.customer_id
                    ),
                    cells(
                        &format!("{base}.customers.{}", cu.customer_id),
                        cu.earned_credit,
                        cu.lost_credit,
                        cu.microsoft_credit
                    )
                );
            }
        }
        h.push_str("</tbody></table>\n");
    }
    h.push_str("</div>\n</section>\n");
}

/// The figures of the two customer tables: credit, then consumption.
const CREDIT_COLUMNS: [(&str, &str); 4] = [
    ("earnedCredit", "Earned credit"),
    ("lostCredit", "Lost credit"),
    ("microsoftCredit", "Credit Microsoft applied"),
    ("variance", "Variance"),
];
const CONSUMPTION_COLUMNS: [(&str, &str); 4] = [
    ("listAmount", "List amount"),
    ("eligibleAmount", "Eligible amount"),
    ("ineligibleAmount", "Ineligible amount"),
    ("effectiveRate", "Effective rate"),
];

fn totals_field(t: &Totals, field: &str) -> Decimal {
    match field {
        "listAmount" => t.list_amount,
        "eligibleAmount" => t.eligible_amount,
        "ineligibleAmount" => t.ineligible_amount,
        "earnedCredit" => t.earned_credit,
        "lostCredit" => t.lost_credit,
        "microsoftCredit" => t.microsoft_credit,
        "variance" => t.variance,
        _ => t.effective_rate,
    }
}

fn totals_cells(base: &str, t: &Totals, columns: &[(&str, &str)]) -> String {
    columns
        .iter()
        .map(|(field, _)| {
            figure_cell(
                &format!("{base}.{field}"),
                &fmt_amount(totals_field(t, field)),
            )
        })
        .collect()
}

/// Per customer and subscription, in two tables (credit, consumption) so every exact figure
/// fits the A4 width.
fn customers_table(h: &mut String, c: &CurrencyStatement) {
    let cur = escape(&c.currency);
    if c.customers.is_empty() {
        let _ = writeln!(h, "<h3>Customers and subscriptions ({cur})</h3>");
        h.push_str("<p class=\"note\">No customers.</p>\n");
        return;
    }
    for (title, columns) in [
        ("credit", &CREDIT_COLUMNS),
        ("consumption", &CONSUMPTION_COLUMNS),
    ] {
        let _ = writeln!(
            h,
            "<h3>Customers and subscriptions: {title} ({cur})</h3>\n<table class=\"small\"><thead><tr><th>Customer / subscription</th>{}</tr></thead><tbody>",
            columns
                .iter()
                .map(|(_, label)| format!("<th class=\"num\">{label}</th>"))
                .collect::<String>()
        );
        for cu in &c.customers {
            let base = format!("{}.customers.{}", c.currency, cu.customer_id);
            let _ = writeln!(
                h,
                "<tr><td class=\"id\">{}{}<br>Tier 2: {}</td>{}</tr>",
                named(
                    &cu.customer_name,
                    &format!("{base}.customerName"),
                    &cu.customer_id
                ),
                if cu.customer_domain.is_empty() {
                    String::new()
                } else {
                    format!(
                        "<br><span class=\"domain\" data-figure=\"{}\">{}</span>",
                        escape(&format!("{base}.customerDomain")),
                        escape(&cu.customer_domain)
                    )
                },
                reseller(cu, &base),
                totals_cells(&format!("{base}.totals"), &cu.totals, columns)
            );
            for su in &cu.subscriptions {
                let _ = writeln!(
                    h,
                    "<tr class=\"sub\"><td class=\"id\">{}</td>{}</tr>",
                    named(
                        &su.subscription_name,
                        &format!(
                            "{base}.subscriptions.{}.subscriptionName",
                            su.subscription_id
                        ),
                        &su.subscription_id
                    ),
                    totals_cells(
                        &format!("{base}.subscriptions.{}.totals", su.subscription_id),
                        &su.totals,
                        columns
                    )
                );
            }
        }
        h.push_str("</tbody></table>\n");
    }
}

/// A customer's reseller: its name and MPN ID, the MPN ID alone, or "direct".
pub(crate) fn reseller(cu: &pec_ledger::statement::CustomerTotals, base: &str) -> String {
    match cu.tier2_mpn_id.as_deref() {
        None => "direct".to_string(),
        Some(mpn) if cu.reseller_name.is_empty() => escape(mpn),
        Some(mpn) => format!(
            "<span class=\"name\" data-figure=\"{}\">{}</span> ({})",
            escape(&format!("{base}.resellerName")),
            escape(&cu.reseller_name),
            escape(mpn)
        ),
    }
}

fn days_table(h: &mut String, c: &CurrencyStatement) {
    let cur = escape(&c.currency);
    let _ = writeln!(h, "<h3>Days ({cur})</h3>");
    if c.days.is_empty() {
        h.push_str("<p class=\"note\">No usage dates with ledger entries.</p>\n");
        return;
    }
    let _ = writeln!(
        h,
        "<table class=\"small\"><thead><tr><th>Usage date</th><th class=\"num\">Earned credit</th>\
         <th class=\"num\">Lost credit</th><th class=\"num\">Credit Microsoft applied</th></tr></thead><tbody>"
    );
    for d in &c.days {
        let base = format!("{}.days.{}", c.currency, d.date);
        let _ = writeln!(
            h,
            "<tr><td>{}</td>{}{}{}</tr>",
            d.date,
            figure_cell(
                &format!("{base}.earnedCredit"),
                &fmt_amount(d.earned_credit)
            ),
            figure_cell(&format!("{base}.lostCredit"), &fmt_amount(d.lost_credit)),
            figure_cell(
                &format!("{base}.microsoftCredit"),
                &fmt_amount(d.microsoft_credit)
            ),
        );
    }
    h.push_str("</tbody></table>\n");
}

/// A figure of a page: its key, its exact value (`data-exact`, or the text where the figure is
/// not an amount: ids, dates) and the text shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageFigure {
    pub key: String,
    pub exact: String,
    pub shown: String,
}

/// Every `data-figure` of a page (unescaped), in order: what a test compares with the JSON
/// statement.
pub fn figures_in_page(html: &str) -> Vec<PageFigure> {
    let attr = |tag: &str, name: &str| -> Option<String> {
        let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
        let end = tag[start..].find('"')? + start;
        Some(unescape(&tag[start..end]))
    };
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("data-figure=\"") {
        // The tag around the attribute: back to its `<`, on to its `>`.
        let open = rest[..i].rfind('<').unwrap_or(i);
        rest = &rest[open..];
        let Some(gt) = rest.find('>') else { break };
        let tag = &rest[..gt];
        rest = &rest[gt + 1..];
        let Some(lt) = rest.find('<') else { break };
        let text = unescape(rest[..lt].trim());
        rest = &rest[lt..];
        let Some(key) = attr(tag, "data-figure") else {
            continue;
        };
        out.push(PageFigure {
            exact: attr(tag, "data-exact").unwrap_or_else(|| text.clone()),
            key,
            shown: text,
        });
    }
    out
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// A statement with awkward text (markup and formula characters in ids) and every section
/// filled, for the renderers' tests.
#[cfg(test)]
pub(crate) fn sample_statement() -> Statement {
    use chrono::{NaiveDate, TimeZone, Utc};
    use pec_ledger::statement::{
        CustomerTotals, DayTotals, PriorPeriodAdjustment, SubscriptionTotals,
    };
    use std::str::FromStr;
    let d = |s: &str| Decimal::from_str(s).unwrap();
    let totals = |earned: &str, lost: &str| {
        let mut t = Totals {
            list_amount: d("123.456789"),
            eligible_amount: d("100"),
            ineligible_amount: d("23.456789"),
            earned_credit: d(earned),
            lost_credit: d(lost),
            microsoft_credit: d("15"),
            variance: d(earned) - d("15"),
            effective_rate: Decimal::ZERO,
        };
        t.effective_rate = (t.earned_credit / t.eligible_amount).normalize();
        t
    };
    let day = |n: u32, e: &str, l: &str| DayTotals {
        date: NaiveDate::from_ymd_opt(2026, 9, n).unwrap(),
        earned_credit: d(e),
        lost_credit: d(l),
        microsoft_credit: d("0.5"),
    };
    let mut customers = vec![CustomerTotals {
        customer_id: "<script>alert(\"x\")</script>&'".into(),
        customer_name: "Litware <Solutions> & Co".into(),
        customer_domain: "litware.onmicrosoft.com".into(),
        tier2_mpn_id: Some("=HYPERLINK(\"evil\")".into()),
        reseller_name: "=VanArsdel".into(),
        totals: totals("9.33696", "5.66304"),
        subscriptions: vec![SubscriptionTotals {
            subscription_id: "sub-<b>1</b>".into(),
            subscription_name: "Production <EU>".into(),
            totals: totals("9.33696", "5.66304"),
        }],
    }];
    for i in 0..12 {
        customers.push(CustomerTotals {
            customer_id: format!("customer-{i:02}"),
            customer_name: String::new(),
            customer_domain: String::new(),
            tier2_mpn_id: None,
            reseller_name: String::new(),
            totals: totals("1.5", &format!("0.{i}1")),
            subscriptions: vec![],
        });
    }
    Statement {
        partner_id: "7a3c0000-0000-4000-8000-000000000001".into(),
        partner_name: "Fabrikam CSP".into(),
        month: "2026-09".into(),
        as_of: Utc.with_ymd_and_hms(2026, 10, 2, 0, 0, 0).unwrap(),
        scope: Default::default(),
        currencies: vec![pec_ledger::statement::CurrencyStatement {
            currency: "USD".into(),
            totals: totals("27.33696", "12.0000000001"),
            lost_credit_by_reason: [
                ("PARTIAL_DAY".to_string(), "10.5".to_string()),
                ("PAL_MISSING".to_string(), "1.5000000001".to_string()),
            ]
            .into_iter()
            .collect(),
            ineligible_by_reason: [("RESERVATION".to_string(), "23.456789".to_string())]
                .into_iter()
                .collect(),
            customers,
            days: vec![
                day(1, "1.5", "0"),
                day(2, "0.75", "0.75"),
                day(14, "0", "-0.25"),
                day(30, "12.123456789", "3"),
            ],
            prior_period_adjustments: vec![PriorPeriodAdjustment {
                usage_month: "2026-08".into(),
                earned_credit: d("-1.5"),
                lost_credit: d("1.5"),
                microsoft_credit: d("4.6809"),
                customers: vec![
                    pec_ledger::statement::CustomerAdjustment {
                        customer_id: "cust-1".into(),
                        customer_name: "Contoso".into(),
                        earned_credit: d("-1.5"),
                        lost_credit: d("1.5"),
                        microsoft_credit: d("0"),
                    },
                    pec_ledger::statement::CustomerAdjustment {
                        customer_id: "cust-<b>2</b>".into(),
                        customer_name: String::new(),
                        earned_credit: d("0"),
                        lost_credit: d("0"),
                        microsoft_credit: d("4.6809"),
                    },
                ],
            }],
        }],
    }
}

#[cfg(test)]
mod tests;
