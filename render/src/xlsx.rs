//! The monthly statement as an Excel workbook (SPEC 5), one sheet per view: Totals, Lost by
//! reason, Ineligible by reason, Customers, Subscriptions, Days, Prior-period adjustments (by
//! usage month, and by customer), and Exact.
//!
//! Amounts are typed number cells, so they sum and chart in Excel: each holds the figure rounded
//! to cents ([`crate::money`]) in one format per column (`#,##0.00`), rates as percentages with two
//! decimals (`0.00%`). The last sheet, Exact, lists every such cell (sheet, row, column) with the
//! exact decimal of the JSON statement, as text. Dates are date cells; every text cell goes
//! through [`spreadsheet_safe`]; header rows are bold and frozen, with an autofilter.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use pec_ledger::decimal::fmt_amount;
use pec_ledger::statement::{spreadsheet_safe, Month, Statement, Totals};
use rust_decimal::Decimal;
use rust_xlsxwriter::{
    DocProperties, ExcelDateTime, Format, FormatBorder, Workbook, Worksheet, XlsxError,
};

/// The sheets, in order.
pub const SHEETS: [&str; 9] = [
    "Totals",
    "Lost by reason",
    "Ineligible by reason",
    "Customers",
    "Subscriptions",
    "Days",
    "Prior-period adjustments",
    "Prior-period by customer",
    "Exact",
];

/// The Exact sheet's columns.
const EXACT_COLUMNS: [(&str, f64); 4] = [
    ("Sheet", 24.0),
    ("Row", 7.0),
    ("Column", 20.0),
    ("Exact figure", 36.0),
];

const TOTALS_COLUMNS: [(&str, f64); 8] = [
    ("List amount", 16.0),
    ("Eligible amount", 16.0),
    ("Ineligible amount", 16.0),
    ("Earned credit", 15.0),
    ("Lost credit", 15.0),
    ("Microsoft credit", 16.0),
    ("Variance", 15.0),
    ("Effective rate", 13.0),
];

/// Why a statement could not be written as a workbook.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cannot write the workbook: {0}")]
    Workbook(#[from] XlsxError),
    #[error("amount {0} does not fit an Excel number")]
    NotAnExcelNumber(String),
    #[error(transparent)]
    Amount(#[from] pec_ledger::decimal::DecimalError),
}

/// The formats, and the exact figure of every rounded cell written so far.
struct Styles {
    header: Format,
    date: Format,
    month: Format,
    datetime: Format,
    money: Format,
    rate: Format,
    /// (sheet, row as Excel numbers it, column title, exact figure).
    exact: Vec<(String, u32, String, String)>,
}

impl Styles {
    fn new() -> Styles {
        Styles {
            header: Format::new()
                .set_bold()
                .set_text_wrap()
                .set_border_bottom(FormatBorder::Thin),
            date: Format::new().set_num_format("yyyy-mm-dd"),
            month: Format::new().set_num_format("yyyy-mm"),
            datetime: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
            money: Format::new().set_num_format("#,##0.00"),
            rate: Format::new().set_num_format("0.00%"),
            exact: Vec::new(),
        }
    }
}

/// The double nearest to the exact decimal (parsing its canonical text rounds correctly).
fn to_f64(d: Decimal) -> Result<f64, RenderError> {
    let text = fmt_amount(d);
    text.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or(RenderError::NotAnExcelNumber(text))
}

fn excel_date(d: NaiveDate) -> Option<ExcelDateTime> {
    let year = u16::try_from(d.year()).ok()?;
    ExcelDateTime::from_ymd(year, d.month() as u8, d.day() as u8).ok()
}

fn excel_datetime(t: DateTime<Utc>) -> Option<ExcelDateTime> {
    let seconds = f64::from(t.second()) + f64::from(t.nanosecond() % 1_000_000_000) / 1e9;
    excel_date(t.date_naive())?
        .and_hms(t.hour() as u16, t.minute() as u8, seconds)
        .ok()
}

/// One sheet being written, row by row.
struct Sheet<'a> {
    ws: &'a mut Worksheet,
    styles: &'a mut Styles,
    name: String,
    titles: Vec<String>,
    row: u32,
    columns: u16,
}

impl<'a> Sheet<'a> {
    fn new(
        wb: &'a mut Workbook,
        styles: &'a mut Styles,
        name: &str,
        columns: &[(&str, f64)],
    ) -> Result<Sheet<'a>, RenderError> {
        let ws = wb.add_worksheet();
        ws.set_name(name)?;
        let mut col: u16 = 0;
        for (title, width) in columns {
            ws.write_string_with_format(0, col, *title, &styles.header)?;
            ws.set_column_width(col, *width)?;
            col += 1;
        }
        ws.set_row_height(0, 30)?;
        ws.set_freeze_panes(1, 0)?;
        ws.set_landscape();
        ws.set_paper_size(9); // A4
        ws.set_print_fit_to_pages(1, 0);
        Ok(Sheet {
            ws,
            styles,
            name: name.to_string(),
            titles: columns.iter().map(|(t, _)| t.to_string()).collect(),
            row: 0,
            columns: col,
        })
    }

    fn next_row(&mut self) {
        self.row += 1;
    }

    fn text(&mut self, col: u16, text: &str) -> Result<(), RenderError> {
        if !text.is_empty() {
            self.ws
                .write_string(self.row, col, spreadsheet_safe(text))?;
        }
        Ok(())
    }

    /// Keeps the exact figure of the cell at (row, col) for the Exact sheet.
    fn keep_exact(&mut self, col: u16, d: Decimal) {
        let title = self
            .titles
            .get(usize::from(col))
            .cloned()
            .unwrap_or_default();
        self.styles
            .exact
            .push((self.name.clone(), self.row + 1, title, fmt_amount(d)));
    }

    /// An amount, rounded to cents.
    fn amount(&mut self, col: u16, d: Decimal) -> Result<(), RenderError> {
        let value = to_f64(crate::money::round_money(d))?;
        self.ws
            .write_number_with_format(self.row, col, value, &self.styles.money)?;
        self.keep_exact(col, d);
        Ok(())
    }

    /// A rate, rounded to two decimals of a percent.
    fn rate(&mut self, col: u16, d: Decimal) -> Result<(), RenderError> {
        let value = to_f64(crate::money::round_rate(d))?;
        self.ws
            .write_number_with_format(self.row, col, value, &self.styles.rate)?;
        self.keep_exact(col, d);
        Ok(())
    }

    fn totals(&mut self, first_col: u16, t: &Totals) -> Result<(), RenderError> {
        let amounts = [
            t.list_amount,
            t.eligible_amount,
            t.ineligible_amount,
            t.earned_credit,
            t.lost_credit,
            t.microsoft_credit,
            t.variance,
        ];
        for (i, v) in amounts.into_iter().enumerate() {
            self.amount(first_col + i as u16, v)?;
        }
        self.rate(first_col + 7, t.effective_rate)
    }

    fn date(&mut self, col: u16, d: NaiveDate) -> Result<(), RenderError> {
        match excel_date(d) {
            Some(x) => {
                self.ws
                    .write_date_with_format(self.row, col, &x, &self.styles.date)?;
                Ok(())
            }
            None => self.text(col, &d.to_string()),
        }
    }

    /// A `YYYY-MM` month as a date cell (its first day) shown as `yyyy-mm`.
    fn month(&mut self, col: u16, text: &str) -> Result<(), RenderError> {
        match Month::parse(text)
            .ok()
            .and_then(|m| excel_date(m.first_day()))
        {
            Some(x) => {
                self.ws
                    .write_date_with_format(self.row, col, &x, &self.styles.month)?;
                Ok(())
            }
            None => self.text(col, text),
        }
    }

    fn datetime(&mut self, col: u16, t: DateTime<Utc>) -> Result<(), RenderError> {
        match excel_datetime(t) {
            Some(x) => {
                self.ws
                    .write_datetime_with_format(self.row, col, &x, &self.styles.datetime)?;
                Ok(())
            }
            None => self.text(col, &t.to_rfc3339()),
        }
    }

    fn finish(self) -> Result<(), RenderError> {
        if self.row > 0 && self.columns > 0 {
            self.ws.autofilter(0, 0, self.row, self.columns - 1)?;
        }
        Ok(())
    }
}

fn with_totals(keys: &[(&'static str, f64)]) -> Vec<(&'static str, f64)> {
    keys.iter().copied().chain(TOTALS_COLUMNS).collect()
}

/// The statement as an `.xlsx` workbook (bytes).
pub fn render_xlsx(s: &Statement) -> Result<Vec<u8>, RenderError> {
    let mut wb = Workbook::new();
    // The statement's own time as the document's, so the same statement gives the same bytes.
    let scope = match (&s.scope.customer_id, &s.scope.reseller_mpn_id) {
        (Some(c), Some(r)) => format!(", customer {c}, reseller {r}"),
        (Some(c), None) => format!(", customer {c}"),
        (None, Some(r)) => format!(", reseller {r}"),
        (None, None) => String::new(),
    };
    let mut properties = DocProperties::new()
        .set_title(format!("PEC statement {}", s.month))
        .set_subject(if s.partner_name.is_empty() {
            format!("Partner {}{scope}", s.partner_id)
        } else {
            format!("Partner {} ({}){scope}", s.partner_name, s.partner_id)
        });
    if let Some(t) = excel_datetime(s.as_of) {
        properties = properties.set_creation_datetime(&t);
    }
    wb.set_properties(&properties);
    let mut styles = Styles::new();

    let mut sh = Sheet::new(
        &mut wb,
        &mut styles,
        SHEETS[0],
        &with_totals(&[
            ("Partner", 28.0),
            ("Partner ID", 38.0),
            ("Month", 9.0),
            ("As of (UTC)", 20.0),
            ("Currency", 9.0),
        ]),
    )?;
    for c in &s.currencies {
        sh.next_row();
        sh.text(0, &s.partner_name)?;
        sh.text(1, &s.partner_id)?;
        sh.month(2, &s.month)?;
        sh.datetime(3, s.as_of)?;
        sh.text(4, &c.currency)?;
        sh.totals(5, &c.totals)?;
    }
    sh.finish()?;

    for (name, title, by_reason) in [
        (SHEETS[1], "Lost credit", true),
        (SHEETS[2], "Ineligible amount", false),
    ] {
        let mut sh = Sheet::new(
            &mut wb,
            &mut styles,
            name,
            &[("Currency", 9.0), ("Reason", 20.0), (title, 16.0)],
        )?;
        for c in &s.currencies {
            let map = if by_reason {
                &c.lost_credit_by_reason
            } else {
                &c.ineligible_by_reason
            };
            for (reason, amount) in map {
                sh.next_row();
                sh.text(0, &c.currency)?;
                sh.text(1, reason)?;
                let d = pec_ledger::decimal::parse_stored(amount)?;
                sh.amount(2, d)?;
            }
        }
        sh.finish()?;
    }

    let mut sh = Sheet::new(
        &mut wb,
        &mut styles,
        SHEETS[3],
        &with_totals(&[
            ("Currency", 9.0),
            ("Customer", 28.0),
            ("Domain", 24.0),
            ("Customer ID", 38.0),
            ("Reseller", 20.0),
            ("Tier 2 MPN ID", 14.0),
        ]),
    )?;
    for c in &s.currencies {
        for cu in &c.customers {
            sh.next_row();
            sh.text(0, &c.currency)?;
            sh.text(1, &cu.customer_name)?;
            sh.text(2, &cu.customer_domain)?;
            sh.text(3, &cu.customer_id)?;
            sh.text(4, &cu.reseller_name)?;
            sh.text(5, cu.tier2_mpn_id.as_deref().unwrap_or(""))?;
            sh.totals(6, &cu.totals)?;
        }
    }
    sh.finish()?;

    let mut sh = Sheet::new(
        &mut wb,
        &mut styles,
        SHEETS[4],
        &with_totals(&[
            ("Currency", 9.0),
            ("Customer", 28.0),
            ("Customer ID", 38.0),
            ("Tier 2 MPN ID", 14.0),
            ("Subscription", 28.0),
            ("Subscription ID", 38.0),
        ]),
    )?;
    for c in &s.currencies {
        for cu in &c.customers {
            for su in &cu.subscriptions {
                sh.next_row();
                sh.text(0, &c.currency)?;
                sh.text(1, &cu.customer_name)?;
                sh.text(2, &cu.customer_id)?;
                sh.text(3, cu.tier2_mpn_id.as_deref().unwrap_or(""))?;
                sh.text(4, &su.subscription_name)?;
                sh.text(5, &su.subscription_id)?;
                sh.totals(6, &su.totals)?;
            }
        }
    }
    sh.finish()?;

    let mut sh = Sheet::new(
        &mut wb,
        &mut styles,
        SHEETS[5],
        &[
            ("Currency", 9.0),
            ("Usage date", 12.0),
            ("Earned credit", 15.0),
            ("Lost credit", 15.0),
            ("Microsoft credit", 16.0),
        ],
    )?;
    for c in &s.currencies {
        for d in &c.days {
            sh.next_row();
            sh.text(0, &c.currency)?;
            sh.date(1, d.date)?;
            sh.amount(2, d.earned_credit)?;
            sh.amount(3, d.lost_credit)?;
            sh.amount(4, d.microsoft_credit)?;
        }
    }
    sh.finish()?;

    let mut sh = Sheet::new(
        &mut wb,
        &mut styles,
        SHEETS[6],
        &[
            ("Currency", 9.0),
            ("Usage month", 12.0),
            ("Earned credit", 15.0),
            ("Lost credit", 15.0),
            ("Microsoft credit", 16.0),
        ],
    )?;
    for c in &s.currencies {
        for p in &c.prior_period_adjustments {
            sh.next_row();
            sh.text(0, &c.currency)?;
            sh.month(1, &p.usage_month)?;
            sh.amount(2, p.earned_credit)?;
            sh.amount(3, p.lost_credit)?;
            sh.amount(4, p.microsoft_credit)?;
        }
    }
    sh.finish()?;

    let mut sh = Sheet::new(
        &mut wb,
        &mut styles,
        SHEETS[7],
        &[
            ("Currency", 9.0),
            ("Usage month", 12.0),
            ("Customer", 28.0),
            ("Customer ID", 38.0),
            ("Earned credit", 15.0),
            ("Lost credit", 15.0),
            ("Microsoft credit", 16.0),
        ],
    )?;
    for c in &s.currencies {
        for p in &c.prior_period_adjustments {
            for cu in &p.customers {
                sh.next_row();
                sh.text(0, &c.currency)?;
                sh.month(1, &p.usage_month)?;
                sh.text(2, &cu.customer_name)?;
                sh.text(3, &cu.customer_id)?;
                sh.amount(4, cu.earned_credit)?;
                sh.amount(5, cu.lost_credit)?;
                sh.amount(6, cu.microsoft_credit)?;
            }
        }
    }
    sh.finish()?;

    // Every rounded figure above, exactly.
    let exact = std::mem::take(&mut styles.exact);
    let mut sh = Sheet::new(&mut wb, &mut styles, SHEETS[8], &EXACT_COLUMNS)?;
    for (sheet, row, column, figure) in exact {
        sh.next_row();
        sh.text(0, &sheet)?;
        sh.ws.write_number(sh.row, 1, f64::from(row))?;
        sh.text(2, &column)?;
        sh.ws.write_string(sh.row, 3, figure)?;
    }
    sh.finish()?;

    Ok(wb.save_to_buffer()?)
}

pub mod claims;

#[cfg(test)]
mod tests;
