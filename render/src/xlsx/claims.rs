//! The claims pack (`pec_ledger::claims::Claims`) as an Excel workbook: a Claims sheet (one row
//! per resource-day, with its evidence), Totals by currency and Totals by customer.
//!
//! Amounts are number cells holding the exact figure (the nearest double: Excel keeps 15
//! significant digits; the CSV and JSON packs are exact to the last digit), in one format per
//! column that shows at least cents and every further decimal up to ten (`#,##0.00########`).
//! Dates and times are date cells; text goes through `spreadsheet_safe`; header rows are bold
//! and frozen, with an autofilter.

use super::{excel_datetime, to_f64, RenderError, Sheet, Styles};
use pec_ledger::claims::{assignment_cells, during_day_cell, ClaimTotals, Claims};
use pec_ledger::explain::SnapshotRef;
use rust_decimal::Decimal;
use rust_xlsxwriter::{DocProperties, Format, Workbook};

/// The sheets, in order.
pub const CLAIM_SHEETS: [&str; 3] = ["Claims", "Totals by currency", "Totals by customer"];

/// The number format of every amount column: cents, and the exact figure's further decimals.
pub const EXACT_AMOUNT_FORMAT: &str = "#,##0.00########";

const AMOUNT_COLUMNS: [(&str, f64); 4] = [
    ("Eligible amount", 16.0),
    ("Earned credit", 15.0),
    ("Microsoft credit", 16.0),
    ("Difference", 15.0),
];

/// An exact amount.
fn exact(sh: &mut Sheet<'_>, format: &Format, col: u16, d: Decimal) -> Result<(), RenderError> {
    let value = to_f64(d)?;
    sh.ws.write_number_with_format(sh.row, col, value, format)?;
    Ok(())
}

/// A snapshot's id and time, in two cells.
fn snapshot(sh: &mut Sheet<'_>, col: u16, s: Option<&SnapshotRef>) -> Result<(), RenderError> {
    if let Some(s) = s {
        sh.text(col, &s.snapshot_id)?;
        sh.datetime(col + 1, s.taken_at)?;
    }
    Ok(())
}

fn amounts(
    sh: &mut Sheet<'_>,
    format: &Format,
    first_col: u16,
    figures: [Decimal; 4],
) -> Result<(), RenderError> {
    for (i, d) in figures.into_iter().enumerate() {
        exact(sh, format, first_col + i as u16, d)?;
    }
    Ok(())
}

fn totals_figures(t: &ClaimTotals) -> [Decimal; 4] {
    [
        t.eligible_amount,
        t.earned_credit,
        t.microsoft_credit,
        t.difference,
    ]
}

/// The claims pack as an `.xlsx` workbook (bytes); the same pack gives the same bytes.
pub fn render_claims_xlsx(c: &Claims) -> Result<Vec<u8>, RenderError> {
    let mut wb = Workbook::new();
    let of = c
        .customer_id
        .as_deref()
        .map(|id| format!(", customer {id}"))
        .unwrap_or_default();
    let mut properties = DocProperties::new()
        .set_title(format!("PEC claims {}", c.month))
        .set_subject(format!("Partner {}{of}", c.partner_id));
    if let Some(t) = excel_datetime(c.as_of) {
        properties = properties.set_creation_datetime(&t);
    }
    wb.set_properties(&properties);
    let mut styles = Styles::new();
    let money = Format::new().set_num_format(EXACT_AMOUNT_FORMAT);

    let mut columns = vec![
        ("Customer", 38.0),
        ("Customer name", 24.0),
        ("Subscription", 38.0),
        ("Subscription name", 20.0),
        ("Resource", 60.0),
        ("Usage date", 12.0),
        ("Currency", 9.0),
    ];
    columns.extend(AMOUNT_COLUMNS);
    columns.extend([
        ("MPN ID", 10.0),
        ("Tier 2 MPN ID", 14.0),
        ("Snapshot before the day", 38.0),
        ("Before, taken at (UTC)", 20.0),
        ("Snapshot after the day", 38.0),
        ("After, taken at (UTC)", 20.0),
        ("Snapshots during the day", 40.0),
        ("Assignment", 60.0),
        ("Principal", 38.0),
        ("Principal type", 14.0),
        ("Role", 16.0),
        ("Scope", 50.0),
        ("Access type", 12.0),
        ("Partner Admin Link", 18.0),
    ]);
    let mut sh = Sheet::new(&mut wb, &mut styles, CLAIM_SHEETS[0], &columns)?;
    for r in &c.resource_days {
        sh.next_row();
        sh.text(0, &r.customer_id)?;
        sh.text(1, &r.customer_name)?;
        sh.text(2, &r.subscription_id)?;
        sh.text(3, &r.subscription_name)?;
        sh.text(4, &r.resource_id)?;
        sh.date(5, r.usage_date)?;
        sh.text(6, &r.currency)?;
        amounts(
            &mut sh,
            &money,
            7,
            [
                r.eligible_amount,
                r.earned_credit,
                r.microsoft_credit,
                r.difference,
            ],
        )?;
        sh.text(11, &r.mpn_id)?;
        sh.text(12, &r.tier2_mpn_id)?;
        let e = &r.evidence;
        snapshot(&mut sh, 13, e.snapshot_before.as_ref())?;
        snapshot(&mut sh, 15, e.snapshot_after.as_ref())?;
        sh.text(17, &during_day_cell(&e.snapshots_during_day))?;
        for (i, text) in assignment_cells(&e.assignments).iter().enumerate() {
            sh.text(18 + i as u16, text)?;
        }
    }
    sh.finish()?;

    let mut columns = vec![
        ("Partner", 38.0),
        ("Partner name", 24.0),
        ("Month", 9.0),
        ("As of (UTC)", 20.0),
        ("Currency", 9.0),
        ("Resource-days", 13.0),
    ];
    columns.extend(AMOUNT_COLUMNS);
    let mut sh = Sheet::new(&mut wb, &mut styles, CLAIM_SHEETS[1], &columns)?;
    for t in &c.totals_by_currency {
        sh.next_row();
        sh.text(0, &c.partner_id)?;
        sh.text(1, &c.partner_name)?;
        sh.month(2, &c.month)?;
        sh.datetime(3, c.as_of)?;
        sh.text(4, &t.currency)?;
        sh.ws.write_number(sh.row, 5, t.resource_days as f64)?;
        amounts(&mut sh, &money, 6, totals_figures(t))?;
    }
    sh.finish()?;

    let mut columns = vec![
        ("Customer", 38.0),
        ("Customer name", 24.0),
        ("Currency", 9.0),
        ("Resource-days", 13.0),
    ];
    columns.extend(AMOUNT_COLUMNS);
    let mut sh = Sheet::new(&mut wb, &mut styles, CLAIM_SHEETS[2], &columns)?;
    for t in &c.totals_by_customer {
        sh.next_row();
        sh.text(0, &t.customer_id)?;
        sh.text(1, &t.customer_name)?;
        sh.text(2, &t.totals.currency)?;
        sh.ws
            .write_number(sh.row, 3, t.totals.resource_days as f64)?;
        amounts(&mut sh, &money, 4, totals_figures(&t.totals))?;
    }
    sh.finish()?;

    Ok(wb.save_to_buffer()?)
}

#[cfg(test)]
mod tests;
