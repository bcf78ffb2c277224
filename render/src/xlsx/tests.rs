//! Tests of the workbook: sheets in order, typed amounts, spreadsheet-safe text, an empty
//! statement, and byte-identical output for the same statement.

use super::*;
use crate::html::sample_statement;
use std::io::Read;

fn unzip(bytes: &[u8]) -> zip::ZipArchive<std::io::Cursor<Vec<u8>>> {
    zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("an xlsx is a zip")
}

pub(super) fn part(bytes: &[u8], name: &str) -> String {
    let mut z = unzip(bytes);
    let mut f = z
        .by_name(name)
        .unwrap_or_else(|_| panic!("{name} in the xlsx"));
    let mut text = String::new();
    f.read_to_string(&mut text).unwrap();
    text
}

/// The `<c …>…</c>` element of cell `r` in a sheet's XML.
pub(super) fn cell<'a>(sheet: &'a str, r: &str) -> &'a str {
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
        cell(&totals, "I1").contains("t=\"s\""),
        "{}",
        cell(&totals, "I1")
    );
    assert!(totals.contains("state=\"frozen\""));
    // I2 is earnedCredit: a numeric cell (no t="s"/"str"/"inlineStr") with the value rounded to
    // cents.
    let earned = cell(&totals, "I2");
    assert!(!earned.contains(" t="), "numeric cell: {earned}");
    assert!(earned.contains("<v>27.34</v>"), "{earned}");
    let lost = cell(&totals, "J2");
    assert!(lost.contains("<v>12</v>"), "{lost}");
    // Partner name, id and currency are strings; month and asOf are dates (numbers with a
    // format).
    assert!(cell(&totals, "A2").contains("t=\"s\""));
    assert!(cell(&totals, "B2").contains("t=\"s\""));
    assert!(cell(&totals, "E2").contains("t=\"s\""));
    assert!(
        cell(&totals, "C2").contains("<v>46266</v>"),
        "2026-09-01 is serial 46266"
    );
    assert!(!cell(&totals, "D2").contains(" t="));
    // One number format for amounts, one for rates, whatever the figures' decimals.
    let styles = part(&bytes, "xl/styles.xml");
    assert!(styles.contains("formatCode=\"#,##0.00\""));
    assert!(styles.contains("formatCode=\"0.00%\""));
    assert!(
        !styles.contains("formatCode=\"#,##0.000"),
        "no amount format with more decimals: {styles}"
    );
    assert!(styles.contains("formatCode=\"yyyy-mm-dd\""));
    // Days: dates as date cells.
    let days = part(&bytes, "xl/worksheets/sheet6.xml");
    assert!(cell(&days, "B2").contains("<v>46266</v>"));
    assert!(cell(&days, "C2").contains("<v>1.5</v>"));
}

/// The shared strings of a workbook, in order.
pub(super) fn shared_strings(bytes: &[u8]) -> Vec<String> {
    let xml = part(bytes, "xl/sharedStrings.xml");
    let mut out = Vec::new();
    let mut rest = xml.as_str();
    while let Some(i) = rest.find("<si>") {
        rest = &rest[i + 4..];
        let end = rest.find("</si>").expect("</si>");
        let si = &rest[..end];
        let start = si.find('>').map(|j| j + 1).unwrap_or(0);
        let text_end = si.rfind("</t>").unwrap_or(si.len());
        out.push(
            si[start..text_end]
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&amp;", "&"),
        );
        rest = &rest[end..];
    }
    out
}

/// Every cell of a sheet: (reference, `t` attribute, value).
pub(super) fn cells(sheet: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut rest = sheet;
    while let Some(i) = rest.find("<c r=\"") {
        rest = &rest[i + 6..];
        let r_end = rest.find('"').unwrap();
        let r = rest[..r_end].to_string();
        let tag_end = rest.find('>').unwrap();
        let tag = &rest[..tag_end];
        let t = tag
            .find(" t=\"")
            .map(|j| tag[j + 4..].split('"').next().unwrap_or("").to_string())
            .unwrap_or_default();
        let v = if tag.ends_with('/') {
            String::new()
        } else {
            let body_end = rest.find("</c>").unwrap();
            let body = &rest[..body_end];
            body.find("<v>")
                .map(|j| body[j + 3..].split("</v>").next().unwrap_or("").to_string())
                .unwrap_or_default()
        };
        out.push((r, t, v));
    }
    out
}

fn column_of(reference: &str) -> String {
    reference
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect()
}

fn row_of(reference: &str) -> u32 {
    reference
        .chars()
        .skip_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .parse()
        .unwrap()
}

/// Every figure cell of the first seven sheets is its exact figure rounded (cents, or two
/// decimals of a percent for rates), and the Exact sheet lists each one with that exact figure.
#[test]
fn every_rounded_figure_is_the_exact_figure_rounded() {
    let s = sample_statement();
    let bytes = render_xlsx(&s).unwrap();
    let strings = shared_strings(&bytes);
    let text = |t: &str, v: &str| -> String {
        if t == "s" {
            strings[v.parse::<usize>().unwrap()].clone()
        } else {
            v.to_string()
        }
    };
    // The Exact sheet: (sheet, row, column title) → exact figure.
    let exact_sheet = part(&bytes, &format!("xl/worksheets/sheet{}.xml", SHEETS.len()));
    let mut exact: std::collections::BTreeMap<(String, u32, String), String> = Default::default();
    let mut rows: std::collections::BTreeMap<u32, Vec<String>> = Default::default();
    for (r, t, v) in cells(&exact_sheet) {
        rows.entry(row_of(&r)).or_default().push(text(&t, &v));
    }
    for (row, values) in rows.into_iter().skip(1) {
        let [sheet, at, column, figure] =
            <[String; 4]>::try_from(values).unwrap_or_else(|v| panic!("Exact row {row}: {v:?}"));
        exact.insert((sheet, at.parse().unwrap(), column), figure);
    }
    assert!(exact.len() > 100, "{} exact figures", exact.len());
    let date_columns = ["Month", "As of (UTC)", "Usage date", "Usage month"];
    let mut checked = 0;
    for (i, name) in SHEETS.iter().take(SHEETS.len() - 1).enumerate() {
        let xml = part(&bytes, &format!("xl/worksheets/sheet{}.xml", i + 1));
        let all = cells(&xml);
        let titles: std::collections::BTreeMap<String, String> = all
            .iter()
            .filter(|(r, _, _)| row_of(r) == 1)
            .map(|(r, t, v)| (column_of(r), text(t, v)))
            .collect();
        for (r, t, v) in &all {
            let title = &titles[&column_of(r)];
            if row_of(r) == 1 || !t.is_empty() || date_columns.contains(&title.as_str()) {
                continue;
            }
            let figure = exact
                .get(&(name.to_string(), row_of(r), title.clone()))
                .unwrap_or_else(|| panic!("{name} {r} ({title}) is not in the Exact sheet"));
            let d = pec_ledger::decimal::parse_stored(figure).unwrap();
            let rounded = if title == "Effective rate" {
                crate::money::round_rate(d)
            } else {
                crate::money::round_money(d)
            };
            assert_eq!(
                v.parse::<f64>().unwrap(),
                fmt_amount(rounded).parse::<f64>().unwrap(),
                "{name} {r} ({title}): exact {figure}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, exact.len(), "every exact figure is a cell");
    // And they are the JSON's figures: the customers' lost credit, for one.
    let json = serde_json::to_value(&s).unwrap();
    let first = &json["currencies"][0]["customers"][0]["totals"]["lostCredit"];
    assert!(
        exact.values().any(|f| Some(f.as_str()) == first.as_str()),
        "{first}"
    );
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

#[test]
fn names_lead_and_ids_stay_beside_them() {
    let bytes = render_xlsx(&sample_statement()).unwrap();
    let strings = shared_strings(&bytes);
    let text_at = |sheet: &str, r: &str| -> String {
        let c = cell(sheet, r);
        let v = c
            .split("<v>")
            .nth(1)
            .and_then(|v| v.split("</v>").next())
            .unwrap_or_else(|| panic!("{r}: {c}"));
        strings[v.parse::<usize>().unwrap()].clone()
    };
    let summary = part(&bytes, "xl/worksheets/sheet1.xml");
    assert_eq!(text_at(&summary, "A1"), "Partner");
    assert_eq!(text_at(&summary, "A2"), "Fabrikam CSP");
    assert_eq!(
        text_at(&summary, "B2"),
        "7a3c0000-0000-4000-8000-000000000001"
    );
    let customers = part(&bytes, "xl/worksheets/sheet4.xml");
    let row = |r: u32| -> Vec<String> {
        ["B", "C", "D", "E", "F"]
            .iter()
            .map(|c| text_at(&customers, &format!("{c}{r}")))
            .collect()
    };
    assert_eq!(
        row(1),
        [
            "Customer",
            "Domain",
            "Customer ID",
            "Reseller",
            "Tier 2 MPN ID"
        ]
    );
    assert_eq!(
        row(2),
        [
            "Litware <Solutions> & Co",
            "litware.onmicrosoft.com",
            "<script>alert(\"x\")</script>&'",
            "'=VanArsdel",
            "'=HYPERLINK(\"evil\")"
        ]
    );
    let subscriptions = part(&bytes, "xl/worksheets/sheet5.xml");
    assert_eq!(text_at(&subscriptions, "E2"), "Production <EU>");
    assert_eq!(text_at(&subscriptions, "F2"), "sub-<b>1</b>");
}
