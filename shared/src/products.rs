//! Product eligibility of a usage line (SPEC R7).
//!
//! INTERFACE STUB — the implementation replaces the body, keeping the signature.

use crate::config::Config;
use crate::reasons::IneligibleReason;
use crate::usage::UsageLine;

/// Why the line can never earn PEC, first match wins in the SPEC's order; `None` if eligible.
pub fn product_ineligibility(line: &UsageLine, config: &Config) -> Option<IneligibleReason> {
    let _ = (line, config);
    unimplemented!("R7")
}
