//! Tests of the workbook: sheets in order, typed amounts, spreadsheet-safe text, an empty
//! statement, and byte-identical output for the same statement.

use super::*;
use crate::html::sample_statement;
use std::io::Read;

fn unzip(bytes: &[u8]) -> zip::ZipArchive<std::io::Cursor<Vec<u8>>> {
    zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("an xlsx is a zip")
}

fn part(bytes: &[u8], name: &str) -> String {
    let mut z = unzip(bytes);
    let mut f = z
        .by_name(name)
        .unwrap_or_else(|_| panic!("{name} in the xlsx"));
    let mut text = String::new();
    f.read_to_string(&mut text).unwrap();
    text
}

/// The `<c …>…</c>` element of cell `r` in a sheet's XML.
fn cell<'a>(sheet: &'a str, r: &str) -> &'a str {
    let start = sheet
        .find(&format!("<c r=\"{r}\""))
        .unwrap_or_else(|| panic!("cell {r}"));
    let rest = &sheet[start..];
    let end = rest
        .find("</c>")
        .map(|i| i + 4)
        .or_else(|| rest.find("/>").map(|i| i + 2))
        .unwrap();
    &rest[..end]
}

#[test]
fn one_sheet_per_view_in_order() {
    let bytes = render_xlsx(&sample_statement()).unwrap();
    assert_eq!(&bytes[..2], b"PK");
    let workbook = part(&bytes, "xl/workbook.xml");
    let mut at = 0;
    for name in SHEETS {
        let i = workbook[at..]
            .find(&format!("<sheet name=\"{name}\""))
            .unwrap_or_else(|| panic!("sheet {name} (in order) in {workbook}"));
        at += i + 1;
    }
    for i in 1..=SHEETS.len() {
        part(&bytes, &format!("xl/worksheets/sheet{i}.xml"));
    }
}

#[test]
fn amounts_are_typed_numbers_and_text_is_text() {
    let bytes = render_xlsx(&sample_statement()).unwrap();
    let totals = part(&bytes, "xl/worksheets/sheet1.xml");
    // Row 1 is the header (shared strings), frozen.
    assert!(
        cell(&totals, "H1").contains("t=\"s\""),
        "{}",
        cell(&totals, "H1")
    );
    assert!(totals.contains("state=\"frozen\""));
    // H2 is earnedCredit: a numeric cell (no t="s"/"str"/"inlineStr") with the value.
    let earned = cell(&totals, "H2");
    assert!(!earned.contains(" t="), "numeric cell: {earned}");
    assert!(earned.contains("<v>27.33696</v>"), "{earned}");
    let lost = cell(&totals, "I2");
    assert!(lost.contains("<v>12.0000000001</v>"), "{lost}");
    // Partner and currency are strings; month and asOf are dates (numbers with a format).
    assert!(cell(&totals, "A2").contains("t=\"s\""));
    assert!(cell(&totals, "D2").contains("t=\"s\""));
    assert!(
        cell(&totals, "B2").contains("<v>46266</v>"),
        "2026-09-01 is serial 46266"
    );
    assert!(!cell(&totals, "C2").contains(" t="));
    // The number formats show every decimal of the exact figures.
    let styles = part(&bytes, "xl/styles.xml");
    assert!(
        styles.contains("formatCode=\"#,##0.00000\""),
        "5 decimals for 27.33696"
    );
    assert!(
        styles.contains("formatCode=\"#,##0.0000000000\""),
        "10 for 12.0000000001"
    );
    assert!(styles.contains("formatCode=\"yyyy-mm-dd\""));
    // Days: dates as date cells.
    let days = part(&bytes, "xl/worksheets/sheet6.xml");
    assert!(cell(&days, "B2").contains("<v>46266</v>"));
    assert!(cell(&days, "C2").contains("<v>1.5</v>"));
}

#[test]
fn text_cells_are_spreadsheet_safe() {
    let bytes = render_xlsx(&sample_statement()).unwrap();
    let strings = part(&bytes, "xl/sharedStrings.xml");
    assert!(
        strings.contains("&apos;=HYPERLINK") || strings.contains("'=HYPERLINK"),
        "{strings}"
    );
    assert!(strings.contains("&lt;script&gt;"));
    let customers = part(&bytes, "xl/worksheets/sheet4.xml");
    assert!(!customers.contains("<f>"), "no formulas anywhere");
}

#[test]
fn the_same_statement_gives_the_same_bytes() {
    let bytes = render_xlsx(&sample_statement()).unwrap();
    let core = part(&bytes, "docProps/core.xml");
    assert!(core.contains("2026-10-02T00:00:00Z"), "{core}");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(render_xlsx(&sample_statement()).unwrap(), bytes);
}

#[test]
fn an_empty_statement_has_every_sheet() {
    let mut s = sample_statement();
    s.currencies.clear();
    let bytes = render_xlsx(&s).unwrap();
    let workbook = part(&bytes, "xl/workbook.xml");
    for name in SHEETS {
        assert!(workbook.contains(&format!("<sheet name=\"{name}\"")));
    }
}
