//! Tests of the PDF: its text as `pdftotext` extracts it (names, ids and every total of the
//! statement), pages and page breaks, text the standard fonts cannot show, long names, and
//! byte-identical output for the same statement. `pdftotext` (Debian's poppler-utils) must be
//! installed: `tests/run.sh` installs it, and without it these tests fail.

use super::*;
use crate::html::sample_statement;
use pec_ledger::statement::{CustomerTotals, SubscriptionTotals};
use std::process::Command;

/// The PDF's text, laid out as on the page (`pdftotext -layout`).
fn pdf_text(bytes: &[u8]) -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("pec-render-{}-{n}.pdf", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output();
    let _ = std::fs::remove_file(&path);
    let out = out.expect(
        "pdftotext runs (Debian's poppler-utils: tests/run.sh installs it; \
         apt-get install poppler-utils)",
    );
    assert!(
        out.status.success(),
        "pdftotext failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The eight totals as shown: amounts rounded to cents, the rate as a percentage.
fn shown_totals(t: &Totals) -> Vec<String> {
    let mut figures: Vec<String> = [
        t.list_amount,
        t.eligible_amount,
        t.ineligible_amount,
        t.earned_credit,
        t.lost_credit,
        t.microsoft_credit,
        t.variance,
    ]
    .into_iter()
    .map(money)
    .collect();
    figures.push(percent(t.effective_rate));
    figures
}

/// Pages in `pdftotext`'s output: it ends each with a form feed.
fn page_count(text: &str) -> usize {
    text.matches('\x0c').count()
}

#[test]
fn the_text_has_the_names_ids_and_every_total() {
    let s = sample_statement();
    let bytes = render_pdf(&s);
    assert!(bytes.starts_with(b"%PDF-"));
    let text = pdf_text(&bytes);
    for needle in [
        "Partner Earned Credit statement - September 2026",
        "Fabrikam CSP (7a3c0000-0000-4000-8000-000000000001)",
        "2026-09",
        "2026-10-02T00:00:00Z",
        "Litware <Solutions> & Co",
        "litware.onmicrosoft.com",
        "<script>alert(\"x\")</script>&'",
        "Tier 2: =VanArsdel (=HYPERLINK(\"evil\"))",
        "Production <EU>",
        "sub-<b>1</b>",
        "customer-00",
        "customer-11",
        "Tier 2: direct",
        "Contoso",
        "cust-1",
        "cust-<b>2</b>",
        "PARTIAL_DAY",
        "eligible access for part of the day only",
        "RESERVATION",
        "2026-09-30",
        "2026-08",
        "Page 1 of ",
    ] {
        assert!(text.contains(needle), "{needle:?} in\n{text}");
    }
    let c = &s.currencies[0];
    let mut figures = shown_totals(&c.totals);
    for cu in &c.customers {
        figures.extend(shown_totals(&cu.totals));
    }
    figures.extend(["10.50", "1.50", "23.46", "12.12", "-0.25", "4.68", "-1.50"].map(String::from));
    for figure in figures {
        assert!(text.contains(&figure), "{figure} in\n{text}");
    }
}

#[test]
fn the_same_statement_gives_the_same_bytes() {
    let s = sample_statement();
    assert_eq!(render_pdf(&s), render_pdf(&s));
    let empty = Statement {
        currencies: vec![],
        ..s
    };
    let text = pdf_text(&render_pdf(&empty));
    assert!(
        text.contains("No ledger entries for usage dates in 2026-09 were posted by"),
        "{text}"
    );
    assert!(text.contains("Page 1 of 1"), "{text}");
}

#[test]
fn hundreds_of_customers_flow_onto_pages_with_their_headers() {
    let mut s = sample_statement();
    let template = s.currencies[0].customers[0].clone();
    s.currencies[0].customers = (0..300)
        .map(|i| CustomerTotals {
            customer_id: format!("00000000-0000-4000-8000-{i:012}"),
            customer_name: format!("Customer number {i:03}"),
            subscriptions: vec![SubscriptionTotals {
                subscription_id: format!("sub-{i}"),
                subscription_name: format!("Subscription {i:03}"),
                totals: template.totals.clone(),
            }],
            ..template.clone()
        })
        .collect();
    let text = pdf_text(&render_pdf(&s));
    let pages = page_count(&text);
    assert!(pages > 10, "{pages} pages");
    assert!(text.contains(&format!("Page {pages} of {pages}")), "{text}");
    // Both customer tables repeat their header on each page they reach.
    let headers = text.matches("Customer / subscription").count();
    assert!(headers > pages / 2, "{headers} headers on {pages} pages");
    for cu in &s.currencies[0].customers {
        for needle in [
            &cu.customer_id,
            &cu.customer_name,
            &cu.subscriptions[0].subscription_name,
        ] {
            assert_eq!(text.matches(needle.as_str()).count(), 2, "{needle}");
        }
    }
}

#[test]
fn text_outside_win_ansi_is_a_question_mark_beside_its_id() {
    let mut s = sample_statement();
    s.partner_name = "Contoso Ltd - Zoë".into();
    s.currencies[0].customers[1].customer_name = "株式会社テスト".into();
    let text = pdf_text(&render_pdf(&s));
    assert!(text.contains("Contoso Ltd - Zoë ("), "{text}");
    assert!(text.contains("???????"), "{text}");
    assert!(text.contains("customer-00"), "{text}");
}

#[test]
fn long_names_are_cut_to_their_column() {
    let mut s = sample_statement();
    let long = "Very Long Customer Name ".repeat(10);
    s.currencies[0].customers[1].customer_name = long.clone();
    let text = pdf_text(&render_pdf(&s));
    assert!(!text.contains(long.trim()), "{text}");
    assert!(text.contains("Very Long Customer Name Very Long"), "{text}");
    assert!(text.contains("..."), "{text}");
    assert!(text.contains("customer-00"), "{text}");
    // Figures are never cut.
    assert_eq!(fit("1,234.56", CELL, 1000.0), b"1,234.56");
}

#[test]
fn wide_figures_are_set_smaller_not_cut() {
    let mut s = sample_statement();
    s.currencies[0].customers[1].totals.earned_credit = Decimal::new(123_456_789_012_345, 2);
    let text = pdf_text(&render_pdf(&s));
    assert!(text.contains("1,234,567,890,123.45"), "{text}");
}

#[test]
fn a_scoped_statement_names_its_customer_and_reseller() {
    let mut s = sample_statement();
    s.scope = StatementScope {
        customer_id: Some("bdd640fb-0667-4ad1-9c80-317fa3b1799d".into()),
        reseller_mpn_id: Some("2000002".into()),
        customer_name: "Customer bdd6".into(),
        reseller_name: String::new(),
    };
    let text = pdf_text(&render_pdf(&s));
    assert!(
        text.contains("Customer bdd6 (bdd640fb-0667-4ad1-9c80-317fa3b1799d)"),
        "{text}"
    );
    assert!(text.contains("Reseller (Tier 2 MPN ID)"), "{text}");
    assert!(text.contains("2000002"), "{text}");
}
