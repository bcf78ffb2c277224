//! The monthly statement as one self-contained, printable HTML page (SPEC 5): inline CSS sized
//! for A4, inline SVG charts (daily earned versus lost credit, lost credit by reason, the
//! customers with the most lost credit), and the statement's tables. No script, no external
//! resource: the page renders the same offline, in a browser or printed to PDF.
//!
//! Every figure is the exact decimal string of the JSON statement; each key figure sits in an
//! element with a `data-figure` attribute naming it (`USD.totals.earnedCredit`,
//! `USD.days.2026-09-01.lostCredit`, `USD.customers.{customerId}.totals.lostCredit`, …) so the
//! page can be checked against the JSON. Chart geometry is computed in `f64`; the figures printed
//! beside it are never rounded. Every text from the input (ids, currencies) is HTML-escaped.

use crate::decimal::fmt_amount;
use crate::statement::{CurrencyStatement, CustomerTotals, Month, Statement, Totals};
use rust_decimal::Decimal;
use std::fmt::Write as _;

/// How many customers the "most lost credit" view lists.
pub const TOP_CUSTOMERS: usize = 10;

const EARNED_COLOUR: &str = "#1b7f5b";
const LOST_COLOUR: &str = "#d1495b";
const MICROSOFT_COLOUR: &str = "#2f4b7c";

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

/// A key figure: `<td class="num" data-figure="KEY">VALUE</td>`.
fn figure_cell(key: &str, value: &str) -> String {
    format!(
        r#"<td class="num" data-figure="{}">{}</td>"#,
        escape(key),
        escape(value)
    )
}

/// An amount as an `f64` for drawing only (0 when it cannot be read).
fn to_f64(text: &str) -> f64 {
    text.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .unwrap_or(0.0)
}

/// A decimal for drawing only.
fn dec_f64(d: Decimal) -> f64 {
    to_f64(&fmt_amount(d))
}

/// Geometry to two decimals (keeps the SVG small and deterministic).
fn g(v: f64) -> String {
    let v = if v.is_finite() { v } else { 0.0 };
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" || s.is_empty() {
        "0".into()
    } else {
        s.to_string()
    }
}

/// Round tick values from `lo` to `hi` (about five steps), including 0.
fn nice_ticks(lo: f64, hi: f64) -> (Vec<f64>, f64) {
    let span = (hi - lo).abs();
    if !span.is_finite() || span <= 0.0 {
        return (vec![0.0, 1.0], 1.0);
    }
    let raw = span / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    let first = (lo / step).floor();
    let last = (hi / step).ceil();
    let mut ticks = Vec::new();
    let mut i = first;
    while i <= last && ticks.len() < 50 {
        ticks.push(i * step);
        i += 1.0;
    }
    (ticks, step)
}

fn tick_label(v: f64, step: f64) -> String {
    // As many decimals as the step needs (0.25 → 2, 5 → 0).
    let decimals = (0..=10usize)
        .find(|&d| {
            let scale = 10f64.powi(d as i32);
            ((step * scale).round() - step * scale).abs() < 1e-6
        })
        .unwrap_or(10);
    let s = format!("{v:.decimals$}");
    if s.starts_with('-') && s.trim_start_matches(['-', '0', '.']).is_empty() {
        s.trim_start_matches('-').to_string()
    } else {
        s
    }
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
        escape(&s.partner_id)
    );
    let _ = writeln!(
        h,
        "<style>{CSS}</style>\n</head>\n<body>\n<div class=\"page\">"
    );
    let _ = write!(
        h,
        "<header>\n<h1>Partner Earned Credit statement — {}</h1>\n<dl class=\"meta\">\
         <dt>Partner</dt><dd data-figure=\"partnerId\">{}</dd>\
         <dt>Month (usage dates)</dt><dd data-figure=\"month\">{}</dd>\
         <dt>As of</dt><dd data-figure=\"asOf\">{}</dd>\
         <dt>Currencies</dt><dd>{}</dd></dl>\n</header>\n",
        escape(&month_title),
        escape(&s.partner_id),
        escape(&s.month),
        escape(&as_of),
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
         {} posted by {}. Amounts are exact decimals, never rounded (they are the JSON statement's \
         figures). Earned credit is eligible consumption × the PEC rate on resource-days with \
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
         posted during this month to earlier usage months (late usage files, late snapshots).</p>"
    );
    if c.prior_period_adjustments.is_empty() {
        h.push_str("<p class=\"note\">None.</p>\n");
    } else {
        let _ = writeln!(
            h,
            "<table><thead><tr><th>Usage month</th><th class=\"num\">Earned credit ({cur})</th><th class=\"num\">Lost credit ({cur})</th></tr></thead><tbody>"
        );
        for p in &c.prior_period_adjustments {
            let base = format!("priorPeriodAdjustments.{}", p.usage_month);
            let _ = writeln!(
                h,
                "<tr><td>{}</td>{}{}</tr>",
                escape(&p.usage_month),
                figure_cell(
                    &key(&format!("{base}.earnedCredit")),
                    &fmt_amount(p.earned_credit)
                ),
                figure_cell(
                    &key(&format!("{base}.lostCredit")),
                    &fmt_amount(p.lost_credit)
                ),
            );
        }
        h.push_str("</tbody></table>\n");
    }
    h.push_str("</div>\n</section>\n");
}

/// Grouped bars per usage date: earned and lost credit, with Microsoft's applied credit as a line.
fn daily_chart(h: &mut String, c: &CurrencyStatement, month: Option<Month>) {
    let cur = escape(&c.currency);
    let _ = writeln!(
        h,
        "<figure class=\"block\"><h3>Daily earned versus lost credit ({cur})</h3>"
    );
    if c.days.is_empty() {
        h.push_str("<p class=\"note\">No usage dates with ledger entries.</p></figure>\n");
        return;
    }
    // The x axis is the calendar month (days without entries stay empty); without a month, the
    // listed days in order.
    let first = month.map(|m| m.first_day());
    let slots = match month {
        Some(m) => (m.last_day() - m.first_day()).num_days().max(0) as usize + 1,
        None => c.days.len(),
    };
    let slot_of = |i: usize, d: chrono::NaiveDate| -> Option<usize> {
        match first {
            Some(f) => usize::try_from((d - f).num_days())
                .ok()
                .filter(|&k| k < slots),
            None => Some(i),
        }
    };
    let values: Vec<(usize, chrono::NaiveDate, f64, f64, f64)> = c
        .days
        .iter()
        .enumerate()
        .filter_map(|(i, d)| {
            slot_of(i, d.date).map(|k| {
                (
                    k,
                    d.date,
                    dec_f64(d.earned_credit),
                    dec_f64(d.lost_credit),
                    dec_f64(d.microsoft_credit),
                )
            })
        })
        .collect();
    let lo = values
        .iter()
        .flat_map(|v| [v.2, v.3, v.4])
        .fold(0.0f64, f64::min);
    let hi = values
        .iter()
        .flat_map(|v| [v.2, v.3, v.4])
        .fold(0.0f64, f64::max);
    let (ticks, step) = nice_ticks(lo, if hi > lo { hi } else { lo + 1.0 });
    let y_min = ticks.first().copied().unwrap_or(0.0);
    let y_max = ticks.last().copied().unwrap_or(1.0);
    let (width, height) = (680.0, 270.0);
    let (left, right, top, bottom) = (58.0, 10.0, 30.0, 42.0);
    let plot_w = width - left - right;
    let plot_h = height - top - bottom;
    let y = |v: f64| -> f64 {
        let span = y_max - y_min;
        if span <= 0.0 {
            top + plot_h
        } else {
            top + plot_h - (v - y_min) / span * plot_h
        }
    };
    let slot_w = plot_w / slots.max(1) as f64;
    let _ = writeln!(
        h,
        "<svg viewBox=\"0 0 {} {}\" role=\"img\" \
         aria-label=\"Daily earned and lost credit in {cur}\" font-family=\"Liberation Sans, DejaVu Sans, Arial, sans-serif\" font-size=\"10\">",
        g(width),
        g(height)
    );
    // Grid and y axis.
    for t in &ticks {
        let yy = g(y(*t));
        let _ = writeln!(
            h,
            "<line x1=\"{}\" x2=\"{}\" y1=\"{yy}\" y2=\"{yy}\" stroke=\"{}\" stroke-width=\"{}\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#444\">{}</text>",
            g(left),
            g(width - right),
            if *t == 0.0 { "#555" } else { "#e3e6ea" },
            if *t == 0.0 { "1" } else { "0.7" },
            g(left - 5.0),
            g(y(*t) + 3.5),
            escape(&tick_label(*t, step))
        );
    }
    let _ = writeln!(
        h,
        "<text transform=\"translate(13 {}) rotate(-90)\" text-anchor=\"middle\" fill=\"#333\">Credit ({cur})</text>",
        g(top + plot_h / 2.0)
    );
    // Bars.
    let zero = y(0.0);
    for (k, date, earned, lost, _) in &values {
        let x0 = left + *k as f64 * slot_w;
        let bw = slot_w * 0.36;
        for (i, (v, colour, label)) in [
            (*earned, EARNED_COLOUR, "earned"),
            (*lost, LOST_COLOUR, "lost"),
        ]
        .into_iter()
        .enumerate()
        {
            let x = x0 + slot_w * 0.12 + i as f64 * bw;
            let (y0, y1) = if v >= 0.0 { (y(v), zero) } else { (zero, y(v)) };
            let _ = writeln!(
                h,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{colour}\"><title>{date} {label} {v} {cur}</title></rect>",
                g(x),
                g(y0),
                g(bw),
                g((y1 - y0).max(0.0)),
                v = escape(&fmt_day_value(c, *date, label)),
            );
        }
    }
    // Microsoft's credit as a line through the slots' centres.
    let points: Vec<String> = values
        .iter()
        .map(|(k, _, _, _, m)| format!("{},{}", g(left + (*k as f64 + 0.5) * slot_w), g(y(*m))))
        .collect();
    let _ = writeln!(
        h,
        "<polyline points=\"{}\" fill=\"none\" stroke=\"{MICROSOFT_COLOUR}\" stroke-width=\"1.6\" stroke-dasharray=\"4 2\"/>",
        points.join(" ")
    );
    // X axis labels: every day up to 16 slots, else every few days.
    let every = slots.div_ceil(16).max(1);
    for k in (0..slots).step_by(every) {
        let label = match first {
            Some(f) => f
                .checked_add_days(chrono::Days::new(k as u64))
                .map(|d| d.format("%d").to_string())
                .unwrap_or_default(),
            None => c
                .days
                .get(k)
                .map(|d| d.date.format("%m-%d").to_string())
                .unwrap_or_default(),
        };
        let x = left + (k as f64 + 0.5) * slot_w;
        let _ = writeln!(
            h,
            "<line x1=\"{x}\" x2=\"{x}\" y1=\"{}\" y2=\"{}\" stroke=\"#555\"/><text x=\"{x}\" y=\"{}\" text-anchor=\"middle\" fill=\"#444\">{}</text>",
            g(top + plot_h),
            g(top + plot_h + 3.0),
            g(top + plot_h + 14.0),
            escape(&label),
            x = g(x)
        );
    }
    let _ = writeln!(
        h,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#333\">Usage date ({})</text>",
        g(left + plot_w / 2.0),
        g(height - 6.0),
        escape(
            &month
                .map(|m| m.to_string())
                .unwrap_or_else(|| "day".to_string())
        )
    );
    // Legend.
    let _ = writeln!(
        h,
        "<g transform=\"translate({} 8)\">\
         <rect x=\"0\" y=\"0\" width=\"11\" height=\"11\" fill=\"{EARNED_COLOUR}\"/><text x=\"16\" y=\"9.5\">Earned credit</text>\
         <rect x=\"110\" y=\"0\" width=\"11\" height=\"11\" fill=\"{LOST_COLOUR}\"/><text x=\"126\" y=\"9.5\">Lost credit</text>\
         <line x1=\"210\" x2=\"232\" y1=\"5.5\" y2=\"5.5\" stroke=\"{MICROSOFT_COLOUR}\" stroke-width=\"1.6\" stroke-dasharray=\"4 2\"/><text x=\"238\" y=\"9.5\">Credit Microsoft applied</text>\
         </g>",
        g(left)
    );
    h.push_str("</svg>\n");
    let _ = writeln!(
        h,
        "<figcaption>Per usage date: credit earned and lost (bars) and the credit Microsoft \
         applied (dashed line), in {cur}. Exact figures: the daily table below.</figcaption></figure>"
    );
}

fn fmt_day_value(c: &CurrencyStatement, date: chrono::NaiveDate, which: &str) -> String {
    c.days
        .iter()
        .find(|d| d.date == date)
        .map(|d| {
            fmt_amount(if which == "earned" {
                d.earned_credit
            } else {
                d.lost_credit
            })
        })
        .unwrap_or_default()
}

/// Horizontal bars: lost credit by reason, with the exact amount beside each bar.
fn lost_by_reason_chart(h: &mut String, c: &CurrencyStatement) {
    let cur = escape(&c.currency);
    let _ = writeln!(
        h,
        "<figure class=\"block\"><h3>Lost credit by reason ({cur})</h3>"
    );
    if c.lost_credit_by_reason.is_empty() {
        h.push_str("<p class=\"note\">No credit was lost.</p></figure>\n");
        return;
    }
    let mut rows: Vec<(&String, &String, f64)> = c
        .lost_credit_by_reason
        .iter()
        .map(|(r, a)| (r, a, to_f64(a)))
        .collect();
    rows.sort_by(|a, b| b.2.abs().total_cmp(&a.2.abs()).then(a.0.cmp(b.0)));
    let max = rows.iter().map(|r| r.2.abs()).fold(0.0f64, f64::max);
    let row_h = 24.0;
    let (label_w, bar_max, width) = (250.0, 300.0, 680.0);
    let height = rows.len() as f64 * row_h + 8.0;
    let _ = writeln!(
        h,
        "<svg viewBox=\"0 0 {} {}\" role=\"img\" \
         aria-label=\"Lost credit by reason in {cur}\" font-family=\"Liberation Sans, DejaVu Sans, Arial, sans-serif\" font-size=\"10\">",
        g(width),
        g(height)
    );
    for (i, (reason, amount, v)) in rows.iter().enumerate() {
        let y0 = 4.0 + i as f64 * row_h;
        let w = if max > 0.0 {
            (v.abs() / max * bar_max).max(if *v != 0.0 { 1.0 } else { 0.0 })
        } else {
            0.0
        };
        let _ = writeln!(
            h,
            "<text x=\"0\" y=\"{}\" font-weight=\"bold\" fill=\"#222\">{}</text>\
             <text x=\"0\" y=\"{}\" font-size=\"8.5\" fill=\"#666\">{}</text>\
             <rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"14\" fill=\"{LOST_COLOUR}\"><title>{} {} {cur}</title></rect>\
             <text x=\"{}\" y=\"{}\" fill=\"#222\" data-figure=\"{}\">{}</text>",
            g(y0 + 9.0),
            escape(reason),
            g(y0 + 19.0),
            escape(reason_text(reason)),
            g(label_w),
            g(y0 + 3.0),
            g(w),
            escape(reason),
            escape(amount),
            g(label_w + w + 6.0),
            g(y0 + 14.0),
            escape(&format!("{}.lostCreditByReason.{reason}", c.currency)),
            escape(amount)
        );
    }
    h.push_str("</svg>\n</figure>\n");
}

/// The customers with the most lost credit: a table with a bar per customer.
fn top_customers(h: &mut String, c: &CurrencyStatement) {
    let cur = escape(&c.currency);
    let _ = writeln!(
        h,
        "<div class=\"block\"><h3>Customers with the most lost credit ({cur})</h3>"
    );
    let mut losers: Vec<&CustomerTotals> = c
        .customers
        .iter()
        .filter(|cu| cu.totals.lost_credit > Decimal::ZERO)
        .collect();
    losers.sort_by(|a, b| {
        b.totals
            .lost_credit
            .cmp(&a.totals.lost_credit)
            .then(a.customer_id.cmp(&b.customer_id))
    });
    let total = losers.len();
    losers.truncate(TOP_CUSTOMERS);
    if losers.is_empty() {
        h.push_str("<p class=\"note\">No customer lost credit.</p></div>\n");
        return;
    }
    let max = losers
        .iter()
        .map(|cu| dec_f64(cu.totals.lost_credit))
        .fold(0.0f64, f64::max);
    let _ = writeln!(
        h,
        "<table><thead><tr><th>#</th><th>Customer</th><th>Tier 2 MPN ID</th>\
         <th class=\"num\">Lost credit ({cur})</th><th></th><th class=\"num\">Earned credit ({cur})</th></tr></thead><tbody>"
    );
    for (i, cu) in losers.iter().enumerate() {
        let lost = dec_f64(cu.totals.lost_credit);
        let w = if max > 0.0 {
            (lost / max * 180.0).max(1.0)
        } else {
            0.0
        };
        let base = format!("{}.customers.{}.totals", c.currency, cu.customer_id);
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"id\">{}</td><td class=\"id\">{}</td>{}\
             <td class=\"bar\"><svg viewBox=\"0 0 180 12\" preserveAspectRatio=\"none\" aria-hidden=\"true\"><rect x=\"0\" y=\"0\" width=\"180\" height=\"12\" fill=\"#f3f4f6\"/><rect x=\"0\" y=\"0\" width=\"{}\" height=\"12\" fill=\"{LOST_COLOUR}\"/></svg></td>{}</tr>",
            i + 1,
            escape(&cu.customer_id),
            escape(cu.tier2_mpn_id.as_deref().unwrap_or("direct")),
            figure_cell(&format!("{base}.lostCredit"), &fmt_amount(cu.totals.lost_credit)),
            g(w),
            figure_cell(
                &format!("{base}.earnedCredit"),
                &fmt_amount(cu.totals.earned_credit)
            ),
        );
    }
    h.push_str("</tbody></table>\n");
    if total > TOP_CUSTOMERS {
        let _ = writeln!(
            h,
            "<p class=\"note\">The {TOP_CUSTOMERS} of {total} customers that lost credit; all are in the table below.</p>"
        );
    }
    h.push_str("</div>\n");
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
                "<tr><td class=\"id\"><b>{}</b><br>Tier 2: {}</td>{}</tr>",
                escape(&cu.customer_id),
                escape(cu.tier2_mpn_id.as_deref().unwrap_or("direct")),
                totals_cells(&format!("{base}.totals"), &cu.totals, columns)
            );
            for su in &cu.subscriptions {
                let _ = writeln!(
                    h,
                    "<tr class=\"sub\"><td class=\"id\">{}</td>{}</tr>",
                    escape(&su.subscription_id),
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

/// Every `data-figure="KEY">VALUE<` pair of a page (unescaped), in order: what a test compares
/// with the JSON statement.
pub fn figures_in_page(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("data-figure=\"") {
        rest = &rest[i + "data-figure=\"".len()..];
        let Some(end) = rest.find('"') else { break };
        let key = unescape(&rest[..end]);
        rest = &rest[end..];
        let Some(gt) = rest.find('>') else { break };
        rest = &rest[gt + 1..];
        let Some(lt) = rest.find('<') else { break };
        out.push((key, unescape(rest[..lt].trim())));
        rest = &rest[lt..];
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
    use crate::statement::{CustomerTotals, DayTotals, PriorPeriodAdjustment, SubscriptionTotals};
    use chrono::{NaiveDate, TimeZone, Utc};
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
        tier2_mpn_id: Some("=HYPERLINK(\"evil\")".into()),
        totals: totals("9.33696", "5.66304"),
        subscriptions: vec![SubscriptionTotals {
            subscription_id: "sub-<b>1</b>".into(),
            totals: totals("9.33696", "5.66304"),
        }],
    }];
    for i in 0..12 {
        customers.push(CustomerTotals {
            customer_id: format!("customer-{i:02}"),
            tier2_mpn_id: None,
            totals: totals("1.5", &format!("0.{i}1")),
            subscriptions: vec![],
        });
    }
    Statement {
        partner_id: "7a3c0000-0000-4000-8000-000000000001".into(),
        month: "2026-09".into(),
        as_of: Utc.with_ymd_and_hms(2026, 10, 2, 0, 0, 0).unwrap(),
        currencies: vec![crate::statement::CurrencyStatement {
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
            }],
        }],
    }
}

#[cfg(test)]
mod tests {
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
                for su in cu["subscriptions"].as_array().unwrap() {
                    let sub = format!("{base}.subscriptions.{}.totals", s(&su["subscriptionId"]));
                    totals(&mut out, sub, &su["totals"]);
                }
            }
            for d in c["days"].as_array().unwrap() {
                for f in ["earnedCredit", "lostCredit", "microsoftCredit"] {
                    out.insert(format!("{cur}.days.{}.{f}", s(&d["date"])), s(&d[f]));
                }
            }
            for p in c["priorPeriodAdjustments"].as_array().unwrap() {
                for f in ["earnedCredit", "lostCredit"] {
                    let m = s(&p["usageMonth"]);
                    out.insert(format!("{cur}.priorPeriodAdjustments.{m}.{f}"), s(&p[f]));
                }
            }
        }
        out
    }

    #[test]
    fn every_figure_in_the_page_is_the_jsons_string() {
        let s = sample_statement();
        let page = render_html(&s);
        let json = json_figures(&serde_json::to_value(&s).unwrap());
        let shown = figures_in_page(&page);
        let mut seen = std::collections::BTreeSet::new();
        for (key, value) in &shown {
            let expected = json
                .get(key)
                .unwrap_or_else(|| panic!("page figure {key} is not in the JSON"));
            assert_eq!(value, expected, "{key}");
            seen.insert(key.clone());
        }
        let missing: Vec<&String> = json.keys().filter(|k| !seen.contains(*k)).collect();
        assert!(
            missing.is_empty(),
            "figures missing from the page: {missing:?}"
        );
        // Spot checks of the exact strings.
        assert!(shown.contains(&("USD.totals.earnedCredit".into(), "27.33696".into())));
        assert!(shown.contains(&("USD.totals.lostCredit".into(), "12.0000000001".into())));
        assert!(shown.contains(&("USD.days.2026-09-14.lostCredit".into(), "-0.25".into())));
        assert!(shown.contains(&("asOf".into(), "2026-10-02T00:00:00Z".into())));
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
            .filter(|(k, _)| k.ends_with(".lostCredit"))
            .map(|(_, v)| v.as_str())
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
}
