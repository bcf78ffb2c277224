//! The page's inline SVG charts (daily earned versus lost credit, lost credit by reason, the
//! customers with the most lost credit) and their geometry helpers (f64, ticks, labels).

use super::{escape, figure_cell, reason_text, shown, TOP_CUSTOMERS};
use pec_ledger::decimal::fmt_amount;
use pec_ledger::statement::{CurrencyStatement, CustomerTotals, Month};
use rust_decimal::Decimal;
use std::fmt::Write as _;

const EARNED_COLOUR: &str = "#1b7f5b";
const LOST_COLOUR: &str = "#d1495b";
const MICROSOFT_COLOUR: &str = "#2f4b7c";

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
pub(super) fn nice_ticks(lo: f64, hi: f64) -> (Vec<f64>, f64) {
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

pub(super) fn tick_label(v: f64, step: f64) -> String {
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

/// Grouped bars per usage date: earned and lost credit, with Microsoft's applied credit as a line.
pub(super) fn daily_chart(h: &mut String, c: &CurrencyStatement, month: Option<Month>) {
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
            crate::money::money(if which == "earned" {
                d.earned_credit
            } else {
                d.lost_credit
            })
        })
        .unwrap_or_default()
}

/// Horizontal bars: lost credit by reason, with the amount beside each bar.
pub(super) fn lost_by_reason_chart(h: &mut String, c: &CurrencyStatement) {
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
             <text x=\"{}\" y=\"{}\" fill=\"#222\" data-figure=\"{}\" data-exact=\"{}\">{}</text>",
            g(y0 + 9.0),
            escape(reason),
            g(y0 + 19.0),
            escape(reason_text(reason)),
            g(label_w),
            g(y0 + 3.0),
            g(w),
            escape(reason),
            escape(&shown("", amount)),
            g(label_w + w + 6.0),
            g(y0 + 14.0),
            escape(&format!("{}.lostCreditByReason.{reason}", c.currency)),
            escape(amount),
            escape(&shown("", amount))
        );
    }
    h.push_str("</svg>\n</figure>\n");
}

/// The customers with the most lost credit: a table with a bar per customer.
pub(super) fn top_customers(h: &mut String, c: &CurrencyStatement) {
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
        "<table><thead><tr><th>#</th><th>Customer</th><th>Reseller (Tier 2 MPN ID)</th>\
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
            super::named(
                &cu.customer_name,
                &format!("{}.customers.{}.customerName", c.currency, cu.customer_id),
                &cu.customer_id
            ),
            super::reseller(cu, &format!("{}.customers.{}", c.currency, cu.customer_id)),
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
