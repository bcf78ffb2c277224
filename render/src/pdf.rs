//! The monthly statement as a PDF (A4): the HTML page's content ([`crate::html`]) without its
//! charts, as real text that can be searched, copied and extracted. Tables flow onto as many
//! pages as they need, a row is never split, and each page repeats its table's header; every page
//! ends with "Page N of M". Names lead, their ids beside them (ids alone where a name is unknown);
//! amounts are rounded for display as on the HTML page ([`crate::money`]), the exact figures are
//! the JSON and CSV statements'.
//!
//! Written with `pdf-writer` (typst's low-level writer): maintained, small, and with no
//! dependencies of its own beyond four tiny crates the workspace already has, so the
//! monthly-statement function's Lambda binary (near its size budget) grows only by the writer and
//! this module. No browser and no font files at run time: the text is set in the standard
//! Helvetica fonts, which every PDF reader has, with WinAnsiEncoding. The limit of that choice:
//! characters outside WinAnsi (Latin-1 and a few typographic extras; CJK or Cyrillic names, for
//! example) are shown as `?`, since showing them would mean embedding a font in every statement
//! and the Lambda binary. Ids stand beside the names, so every row stays identifiable.
//!
//! Content streams are not compressed (about 10 KB a page): compressing them would link a deflate
//! encoder into the monthly-statement function, which writes no other compressed file. The
//! output is deterministic: the same statement gives the same bytes (no render time; the
//! document information holds the title and producer only).

use crate::html::{reason_text, shown};
use crate::money::{money, percent};
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use pec_ledger::statement::{
    CurrencyStatement, CustomerTotals, Month, Statement, StatementScope, Totals,
};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

mod fonts;

use fonts::{encode, Font};

/// A4, in points.
const PAGE_WIDTH: f32 = 595.276;
const PAGE_HEIGHT: f32 = 841.89;
const MARGIN: f32 = 42.0;
const CONTENT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN;
/// The top of a page's content and the lowest its content may reach (the footer is below).
const TOP: f32 = PAGE_HEIGHT - MARGIN;
const BOTTOM: f32 = MARGIN + 18.0;
const FOOTER_BASELINE: f32 = MARGIN - 6.0;
/// Space inside table cells, and after a table or paragraph.
const CELL_PAD_X: f32 = 3.0;
const CELL_PAD_Y: f32 = 2.5;
const GAP: f32 = 8.0;
/// The first column of the customer and adjustment tables; the figures share the rest.
const LABEL_WIDTH: f32 = 235.0;

/// How a run of text is set: font, size (points) and grey level (0 black, 1 white).
#[derive(Debug, Clone, Copy)]
struct Style {
    font: Font,
    size: f32,
    gray: f32,
}

impl Style {
    /// The height of a line of this style.
    fn line_height(self) -> f32 {
        self.size * 1.3
    }
}

const TITLE: Style = Style {
    font: Font::Bold,
    size: 15.0,
    gray: 0.0,
};
const SECTION: Style = Style {
    font: Font::Bold,
    size: 12.5,
    gray: 0.0,
};
const HEADING: Style = Style {
    font: Font::Bold,
    size: 10.0,
    gray: 0.0,
};
const BODY: Style = Style {
    font: Font::Regular,
    size: 8.5,
    gray: 0.0,
};
const LABEL: Style = Style {
    font: Font::Regular,
    size: 8.5,
    gray: 0.35,
};
const NOTE: Style = Style {
    font: Font::Regular,
    size: 7.0,
    gray: 0.35,
};
const HEADER: Style = Style {
    font: Font::Bold,
    size: 7.0,
    gray: 0.2,
};
const CELL: Style = Style {
    font: Font::Regular,
    size: 7.5,
    gray: 0.0,
};
const CELL_BOLD: Style = Style {
    font: Font::Bold,
    ..CELL
};
/// The lines under a name: its domain and id, a customer's reseller.
const DETAIL: Style = Style {
    font: Font::Regular,
    size: 6.5,
    gray: 0.35,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Right,
}

struct Column {
    title: String,
    width: f32,
    align: Align,
}

impl Column {
    fn left(title: impl Into<String>, width: f32) -> Column {
        Column {
            title: title.into(),
            width,
            align: Align::Left,
        }
    }

    fn right(title: impl Into<String>, width: f32) -> Column {
        Column {
            title: title.into(),
            width,
            align: Align::Right,
        }
    }
}

/// A table row: each cell's lines; the first cell may be indented (a subscription under its
/// customer).
struct Row {
    cells: Vec<Vec<(String, Style)>>,
    indent: f32,
}

impl Row {
    /// A row of a label's lines and figures in one style.
    fn new(label: Vec<(String, Style)>, figures: Vec<String>, style: Style) -> Row {
        let mut cells = vec![label];
        cells.extend(figures.into_iter().map(|f| vec![(f, style)]));
        Row { cells, indent: 0.0 }
    }

    fn height(&self) -> f32 {
        let tallest = self
            .cells
            .iter()
            .map(|lines| lines.iter().map(|(_, s)| s.line_height()).sum::<f32>())
            .fold(0.0, f32::max);
        tallest + 2.0 * CELL_PAD_Y
    }
}

/// `text` encoded, cut short with "..." where it is wider than `width`.
fn fit(text: &str, style: Style, width: f32) -> Vec<u8> {
    let mut bytes = encode(text);
    let width_of = |b: &[u8]| style.font.text_width(b, style.size);
    if width_of(&bytes) <= width {
        return bytes;
    }
    let ellipsis = width_of(b"...");
    while !bytes.is_empty() && width_of(&bytes) + ellipsis > width {
        bytes.pop();
    }
    bytes.extend_from_slice(b"...");
    bytes
}

/// `text` in lines no wider than `width` (a word wider than that is cut short).
fn wrap(text: &str, style: Style, width: f32) -> Vec<Vec<u8>> {
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let mut line: Vec<u8> = Vec::new();
    for word in text.split_whitespace() {
        let word = fit(word, style, width);
        let mut longer = line.clone();
        if !longer.is_empty() {
            longer.push(b' ');
        }
        longer.extend_from_slice(&word);
        if line.is_empty() || style.font.text_width(&longer, style.size) <= width {
            line = longer;
        } else {
            lines.push(std::mem::replace(&mut line, word));
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The pages being laid out, top to bottom.
struct Layout {
    done: Vec<Content>,
    page: Content,
    /// The top of what comes next on the page.
    y: f32,
}

impl Layout {
    fn new() -> Layout {
        Layout {
            done: Vec::new(),
            page: Content::new(),
            y: TOP,
        }
    }

    fn new_page(&mut self) {
        self.done
            .push(std::mem::replace(&mut self.page, Content::new()));
        self.y = TOP;
    }

    /// Starts a new page unless `height` still fits on this one.
    fn keep(&mut self, height: f32) {
        if self.y - height < BOTTOM && self.y < TOP {
            self.new_page();
        }
    }

    fn show(&mut self, x: f32, baseline: f32, style: Style, bytes: &[u8]) {
        self.page
            .begin_text()
            .set_font(Name(style.font.resource()), style.size)
            .set_fill_gray(style.gray)
            .next_line(x, baseline)
            .show(Str(bytes))
            .end_text();
    }

    /// A horizontal line from the left margin, `length` long.
    fn rule(&mut self, y: f32, length: f32, thickness: f32, gray: f32) {
        self.page
            .set_line_width(thickness)
            .set_stroke_gray(gray)
            .move_to(MARGIN, y)
            .line_to(MARGIN + length, y)
            .stroke();
    }

    /// A line of text at the left margin.
    fn line(&mut self, text: &str, style: Style) {
        self.keep(style.line_height());
        self.y -= style.line_height();
        let bytes = fit(text, style, CONTENT_WIDTH);
        self.show(MARGIN, self.y + style.size * 0.25, style, &bytes);
    }

    fn paragraph(&mut self, text: &str, style: Style) {
        for bytes in wrap(text, style, CONTENT_WIDTH) {
            self.keep(style.line_height());
            self.y -= style.line_height();
            self.show(MARGIN, self.y + style.size * 0.25, style, &bytes);
        }
        self.y -= GAP / 2.0;
    }

    /// A heading, kept on the page with some of what follows it.
    fn heading(&mut self, text: &str, style: Style) {
        self.keep(style.line_height() + 60.0);
        self.y -= GAP / 2.0;
        self.line(text, style);
        self.y -= 2.0;
    }

    /// A currency's section under a shaded band; a section after another one starts a page.
    fn section(&mut self, text: &str, first: bool) {
        if first {
            self.keep(200.0);
        } else if self.y < TOP {
            self.new_page();
        }
        let height = SECTION.line_height() + 4.0;
        self.page
            .set_fill_gray(0.92)
            .rect(MARGIN, self.y - height, CONTENT_WIDTH, height)
            .fill_nonzero();
        self.y -= 2.0;
        let bytes = fit(text, SECTION, CONTENT_WIDTH - 8.0);
        self.y -= SECTION.line_height();
        self.show(MARGIN + 4.0, self.y + SECTION.size * 0.25, SECTION, &bytes);
        self.y -= 2.0 + GAP / 2.0;
    }

    /// Label-value lines (the statement's header).
    fn facts(&mut self, facts: &[(&str, String)]) {
        for (label, value) in facts {
            self.keep(BODY.line_height());
            self.y -= BODY.line_height();
            let baseline = self.y + BODY.size * 0.25;
            self.show(MARGIN, baseline, LABEL, &fit(label, LABEL, 120.0));
            let value = fit(value, BODY, CONTENT_WIDTH - 125.0);
            self.show(MARGIN + 125.0, baseline, BODY, &value);
        }
        self.y -= GAP;
    }

    /// A table: flows onto new pages between rows, repeating its header there.
    fn table(&mut self, columns: &[Column], rows: &[Row]) {
        let titles: Vec<Vec<Vec<u8>>> = columns
            .iter()
            .map(|c| wrap(&c.title, HEADER, c.width - 2.0 * CELL_PAD_X))
            .collect();
        let header_height = titles.iter().map(Vec::len).max().unwrap_or(0) as f32
            * HEADER.line_height()
            + 2.0 * CELL_PAD_Y;
        self.keep(header_height + rows.first().map_or(0.0, Row::height));
        self.table_header(columns, &titles, header_height);
        for row in rows {
            let height = row.height();
            if self.y - height < BOTTOM {
                self.new_page();
                self.table_header(columns, &titles, header_height);
            }
            self.table_row(columns, row, height);
        }
        self.y -= GAP;
    }

    fn table_header(&mut self, columns: &[Column], titles: &[Vec<Vec<u8>>], height: f32) {
        let mut x = MARGIN;
        for (column, lines) in columns.iter().zip(titles) {
            // Titles sit on the header's bottom line.
            let mut baseline = self.y - height + CELL_PAD_Y + HEADER.size * 0.25;
            for bytes in lines.iter().rev() {
                let left = match column.align {
                    Align::Left => x + CELL_PAD_X,
                    Align::Right => {
                        x + column.width - CELL_PAD_X - HEADER.font.text_width(bytes, HEADER.size)
                    }
                };
                self.show(left, baseline, HEADER, bytes);
                baseline += HEADER.line_height();
            }
            x += column.width;
        }
        self.y -= height;
        self.rule(self.y, table_width(columns), 0.8, 0.1);
    }

    fn table_row(&mut self, columns: &[Column], row: &Row, height: f32) {
        let mut x = MARGIN;
        for (i, (column, lines)) in columns.iter().zip(&row.cells).enumerate() {
            let indent = if i == 0 { row.indent } else { 0.0 };
            let width = column.width - 2.0 * CELL_PAD_X - indent;
            let mut top = self.y - CELL_PAD_Y;
            for (text, style) in lines {
                top -= style.line_height();
                let baseline = top + style.size * 0.25;
                match column.align {
                    Align::Left => {
                        let bytes = fit(text, *style, width);
                        self.show(x + CELL_PAD_X + indent, baseline, *style, &bytes);
                    }
                    Align::Right => {
                        // Figures are never cut: a wide one is set smaller.
                        let bytes = encode(text);
                        let natural = style.font.text_width(&bytes, style.size);
                        let style = Style {
                            size: if natural > width {
                                style.size * width / natural
                            } else {
                                style.size
                            },
                            ..*style
                        };
                        let left = x + column.width
                            - CELL_PAD_X
                            - style.font.text_width(&bytes, style.size);
                        self.show(left, baseline, style, &bytes);
                    }
                }
            }
            x += column.width;
        }
        self.y -= height;
        self.rule(self.y, table_width(columns), 0.4, 0.82);
    }

    /// The pages as a PDF of that title, each page with the title and its number at the foot.
    fn finish(mut self, title: &str) -> Vec<u8> {
        self.done.push(self.page);
        let count = self.done.len();
        let catalog = Ref::new(1);
        let tree = Ref::new(2);
        let info = Ref::new(3);
        let fonts = [(Font::Regular, Ref::new(4)), (Font::Bold, Ref::new(5))];
        let page_ids: Vec<(Ref, Ref)> = (6..)
            .step_by(2)
            .take(count)
            .map(|n| (Ref::new(n), Ref::new(n + 1)))
            .collect();

        let mut pdf = Pdf::new();
        pdf.catalog(catalog).pages(tree);
        pdf.pages(tree)
            .kids(page_ids.iter().map(|(page, _)| *page))
            .count(i32::try_from(count).unwrap_or(i32::MAX));
        pdf.document_info(info)
            .title(TextStr(title))
            .producer(TextStr("pec-ledger"));
        for (font, id) in fonts {
            pdf.type1_font(id)
                .base_font(Name(font.base_font()))
                .encoding_predefined(Name(b"WinAnsiEncoding"));
        }
        let footer = fit(title, NOTE, CONTENT_WIDTH - 80.0);
        for (n, (mut content, (page_id, content_id))) in
            self.done.into_iter().zip(page_ids).enumerate()
        {
            let number = encode(&format!("Page {} of {count}", n + 1));
            let right = MARGIN + CONTENT_WIDTH - NOTE.font.text_width(&number, NOTE.size);
            for (x, bytes) in [(MARGIN, &footer), (right, &number)] {
                content
                    .begin_text()
                    .set_font(Name(NOTE.font.resource()), NOTE.size)
                    .set_fill_gray(NOTE.gray)
                    .next_line(x, FOOTER_BASELINE)
                    .show(Str(bytes))
                    .end_text();
            }
            let mut page = pdf.page(page_id);
            page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT))
                .parent(tree)
                .contents(content_id);
            let mut resources = page.resources();
            let mut names = resources.fonts();
            for (font, id) in fonts {
                names.pair(Name(font.resource()), id);
            }
            names.finish();
            resources.finish();
            page.finish();
            pdf.stream(content_id, &content.finish());
        }
        pdf.finish()
    }
}

fn table_width(columns: &[Column]) -> f32 {
    columns.iter().map(|c| c.width).sum()
}

/// A name with its id beside it, or the id alone when the name is unknown.
fn named(name: &str, id: &str) -> String {
    if name.trim().is_empty() {
        id.to_string()
    } else {
        format!("{name} ({id})")
    }
}

/// The statement as a PDF document (A4 pages).
pub fn render_pdf(s: &Statement) -> Vec<u8> {
    let month_title = Month::parse(&s.month)
        .map(|m| m.first_day().format("%B %Y").to_string())
        .unwrap_or_else(|_| s.month.clone());
    let as_of = serde_json::to_value(s.as_of)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| s.as_of.to_rfc3339());
    let mut l = Layout::new();
    l.line(
        &format!("Partner Earned Credit statement - {month_title}"),
        TITLE,
    );
    l.y -= 4.0;
    l.rule(l.y, CONTENT_WIDTH, 1.5, 0.1);
    l.y -= 4.0;
    let mut facts = vec![
        ("Partner", named(&s.partner_name, &s.partner_id)),
        ("Month (usage dates)", s.month.clone()),
        ("As of", as_of.clone()),
    ];
    facts.extend(scope_facts(&s.scope));
    facts.push((
        "Currencies",
        if s.currencies.is_empty() {
            "none".to_string()
        } else {
            s.currencies
                .iter()
                .map(|c| c.currency.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        },
    ));
    l.facts(&facts);
    if s.currencies.is_empty() {
        l.paragraph(
            &format!(
                "No ledger entries for usage dates in {} were posted by {as_of}.",
                s.month
            ),
            BODY,
        );
    }
    for (i, c) in s.currencies.iter().enumerate() {
        currency_section(&mut l, c, i == 0);
    }
    l.y -= GAP;
    l.paragraph(
        &format!(
            "Generated by pec-ledger from the append-only ledger: entries for usage dates in {} \
             posted by {as_of}. Amounts are rounded to cents (half away from zero) and rates to \
             two decimals of a percent, each figure on its own, so rows may differ from their \
             total by a rounding difference; the exact figures are those of the JSON and CSV \
             statements and the workbook's Exact sheet. Earned credit is eligible consumption × \
             the PEC rate on resource-days with eligible, permanent access for the whole UTC day; \
             lost credit is the same on every other resource-day. Variance = earned credit - what \
             Microsoft applied. Characters that the standard PDF fonts cannot show are printed \
             as ?.",
            s.month
        ),
        NOTE,
    );
    let partner = if s.partner_name.trim().is_empty() {
        &s.partner_id
    } else {
        &s.partner_name
    };
    let title = format!("PEC statement {} - {partner}", s.month);
    l.finish(&title)
}

/// The header lines naming a statement's scope (one customer, one reseller), if it has one.
fn scope_facts(scope: &StatementScope) -> Vec<(&'static str, String)> {
    let mut facts = Vec::new();
    if let Some(c) = &scope.customer_id {
        facts.push(("Customer", named(&scope.customer_name, c)));
    }
    if let Some(r) = &scope.reseller_mpn_id {
        facts.push(("Reseller (Tier 2 MPN ID)", named(&scope.reseller_name, r)));
    }
    facts
}

/// An amount given as exact text (the by-reason maps), rounded for display.
fn amount_text(exact: &str) -> String {
    shown("amount", exact)
}

fn currency_section(l: &mut Layout, c: &CurrencyStatement, first: bool) {
    let cur = &c.currency;
    l.section(cur, first);

    let t = &c.totals;
    let totals: [(&str, String, bool); 8] = [
        ("List amount", money(t.list_amount), false),
        ("Eligible amount", money(t.eligible_amount), false),
        ("Ineligible amount", money(t.ineligible_amount), false),
        ("Earned credit", money(t.earned_credit), true),
        ("Lost credit", money(t.lost_credit), true),
        ("Credit Microsoft applied", money(t.microsoft_credit), false),
        ("Variance (earned - Microsoft)", money(t.variance), true),
        (
            "Effective rate (earned / eligible)",
            percent(t.effective_rate),
            false,
        ),
    ];
    l.heading("Totals", HEADING);
    let rows: Vec<Row> = totals
        .into_iter()
        .map(|(label, value, key)| {
            let style = if key { CELL_BOLD } else { CELL };
            Row::new(vec![(label.to_string(), style)], vec![value], style)
        })
        .collect();
    l.table(
        &[
            Column::left("Total", 200.0),
            Column::right(format!("Amount ({cur})"), 110.0),
        ],
        &rows,
    );

    by_reason(
        l,
        "Lost credit by reason",
        "No credit was lost.",
        &format!("Lost credit ({cur})"),
        &c.lost_credit_by_reason,
    );
    by_reason(
        l,
        "Ineligible consumption by reason",
        "All consumption was eligible for PEC.",
        &format!("Ineligible amount ({cur})"),
        &c.ineligible_by_reason,
    );
    customers_tables(l, c);
    days_table(l, c);
    adjustments_table(l, c);
}

fn by_reason(
    l: &mut Layout,
    title: &str,
    none: &str,
    figure: &str,
    amounts: &BTreeMap<String, String>,
) {
    l.heading(title, HEADING);
    if amounts.is_empty() {
        l.paragraph(none, NOTE);
        return;
    }
    let rows: Vec<Row> = amounts
        .iter()
        .map(|(reason, amount)| Row {
            cells: vec![
                vec![(reason.clone(), CELL)],
                vec![(reason_text(reason).to_string(), CELL)],
                vec![(amount_text(amount), CELL)],
            ],
            indent: 0.0,
        })
        .collect();
    l.table(
        &[
            Column::left("Reason", 120.0),
            Column::left("Meaning", CONTENT_WIDTH - 240.0),
            Column::right(figure, 120.0),
        ],
        &rows,
    );
}

/// The figures of the two customer tables: credit, then consumption.
type Figures = [(&'static str, fn(&Totals) -> String); 4];
const CREDIT: Figures = [
    ("Earned credit", |t| money(t.earned_credit)),
    ("Lost credit", |t| money(t.lost_credit)),
    ("Credit Microsoft applied", |t| money(t.microsoft_credit)),
    ("Variance", |t| money(t.variance)),
];
const CONSUMPTION: Figures = [
    ("List amount", |t| money(t.list_amount)),
    ("Eligible amount", |t| money(t.eligible_amount)),
    ("Ineligible amount", |t| money(t.ineligible_amount)),
    ("Effective rate", |t| percent(t.effective_rate)),
];

/// A customer's cell: its name and id (the id alone when the name is unknown), its domain, its
/// reseller; each on a line of its own, so that an id is never cut short.
fn customer_lines(cu: &CustomerTotals) -> Vec<(String, Style)> {
    let mut lines = name_lines(&cu.customer_name, &cu.customer_id, CELL_BOLD);
    if !cu.customer_domain.trim().is_empty() {
        lines.push((cu.customer_domain.clone(), DETAIL));
    }
    let reseller = match &cu.tier2_mpn_id {
        Some(mpn) => format!("Tier 2: {}", named(&cu.reseller_name, mpn)),
        None => "Tier 2: direct".to_string(),
    };
    lines.push((reseller, DETAIL));
    lines
}

/// A name (or the id alone), with the id under it.
fn name_lines(name: &str, id: &str, style: Style) -> Vec<(String, Style)> {
    if name.trim().is_empty() {
        vec![(id.to_string(), style)]
    } else {
        vec![(name.to_string(), style), (id.to_string(), DETAIL)]
    }
}

/// Per customer and subscription, in two tables (credit, consumption) as on the HTML page.
fn customers_tables(l: &mut Layout, c: &CurrencyStatement) {
    let cur = &c.currency;
    if c.customers.is_empty() {
        l.heading(&format!("Customers and subscriptions ({cur})"), HEADING);
        l.paragraph("No customers.", NOTE);
        return;
    }
    let figure_width = (CONTENT_WIDTH - LABEL_WIDTH) / 4.0;
    for (title, figures) in [("credit", &CREDIT), ("consumption", &CONSUMPTION)] {
        l.heading(
            &format!("Customers and subscriptions: {title} ({cur})"),
            HEADING,
        );
        let mut columns = vec![Column::left("Customer / subscription", LABEL_WIDTH)];
        columns.extend(
            figures
                .iter()
                .map(|(label, _)| Column::right(*label, figure_width)),
        );
        let values = |t: &Totals| figures.iter().map(|(_, f)| f(t)).collect::<Vec<_>>();
        let mut rows = Vec::new();
        for cu in &c.customers {
            rows.push(Row::new(customer_lines(cu), values(&cu.totals), CELL_BOLD));
            for su in &cu.subscriptions {
                rows.push(Row {
                    indent: 8.0,
                    ..Row::new(
                        name_lines(&su.subscription_name, &su.subscription_id, CELL),
                        values(&su.totals),
                        CELL,
                    )
                });
            }
        }
        l.table(&columns, &rows);
    }
}

fn days_table(l: &mut Layout, c: &CurrencyStatement) {
    l.heading(&format!("Days ({})", c.currency), HEADING);
    if c.days.is_empty() {
        l.paragraph("No usage dates with ledger entries.", NOTE);
        return;
    }
    let rows: Vec<Row> = c
        .days
        .iter()
        .map(|d| {
            Row::new(
                vec![(d.date.to_string(), CELL)],
                [d.earned_credit, d.lost_credit, d.microsoft_credit]
                    .map(money)
                    .to_vec(),
                CELL,
            )
        })
        .collect();
    let width = (CONTENT_WIDTH - 120.0) / 3.0;
    l.table(
        &[
            Column::left("Usage date", 120.0),
            Column::right("Earned credit", width),
            Column::right("Lost credit", width),
            Column::right("Credit Microsoft applied", width),
        ],
        &rows,
    );
}

fn adjustments_table(l: &mut Layout, c: &CurrencyStatement) {
    let cur = &c.currency;
    l.heading("Prior-period adjustments", HEADING);
    l.paragraph(
        "Adjustments posted during this month to earlier usage months (late usage files, late \
         snapshots, restated files), by usage month and customer.",
        NOTE,
    );
    if c.prior_period_adjustments.is_empty() {
        l.paragraph("None.", NOTE);
        return;
    }
    let figures = |e: Decimal, lo: Decimal, m: Decimal| [e, lo, m].map(money).to_vec();
    let mut rows = Vec::new();
    for p in &c.prior_period_adjustments {
        rows.push(Row::new(
            vec![(p.usage_month.clone(), CELL_BOLD)],
            figures(p.earned_credit, p.lost_credit, p.microsoft_credit),
            CELL_BOLD,
        ));
        for cu in &p.customers {
            rows.push(Row {
                indent: 8.0,
                ..Row::new(
                    name_lines(&cu.customer_name, &cu.customer_id, CELL),
                    figures(cu.earned_credit, cu.lost_credit, cu.microsoft_credit),
                    CELL,
                )
            });
        }
    }
    let width = (CONTENT_WIDTH - LABEL_WIDTH) / 3.0;
    l.table(
        &[
            Column::left("Usage month / customer", LABEL_WIDTH),
            Column::right(format!("Earned credit ({cur})"), width),
            Column::right(format!("Lost credit ({cur})"), width),
            Column::right(format!("Credit Microsoft applied ({cur})"), width),
        ],
        &rows,
    );
}

#[cfg(test)]
mod tests;
