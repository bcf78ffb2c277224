//! pec-render: the monthly statement (`pec_ledger::statement::Statement`) as a printable HTML
//! page ([`html::render_html`]), as a PDF ([`pdf::render_pdf`]) and as an Excel workbook
//! ([`xlsx::render_xlsx`]); the claims pack (`pec_ledger::claims::Claims`) as a workbook
//! ([`xlsx::claims::render_claims_xlsx`]). JSON and CSV, the exact forms, are the domain's own
//! (`pec_ledger::statement`, `pec_ledger::claims`).
#![forbid(unsafe_code)]

pub mod html;
pub mod money;
pub mod pdf;
pub mod xlsx;
