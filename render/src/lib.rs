//! pec-render: the monthly statement (`pec_ledger::statement::Statement`) as a printable HTML
//! page ([`html::render_html`]), as a PDF ([`pdf::render_pdf`]) and as an Excel workbook
//! ([`xlsx::render_xlsx`]). JSON and CSV, the exact forms, are the domain's own
//! (`pec_ledger::statement`).
#![forbid(unsafe_code)]

pub mod html;
pub mod money;
pub mod pdf;
pub mod xlsx;
