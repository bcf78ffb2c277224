//! The codes the SPEC fixes: day status, why credit was lost, why a line is ineligible.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Status of a resource-day's access (SPEC 3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DayStatus {
    Full,
    Partial,
    None,
    Unknown,
}

/// Why a resource-day did not earn (SPEC 3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LossReason {
    NoEvidence,
    PalMissing,
    RoleNotEligible,
    NotPermanent,
    PartialDay,
    NoAccess,
}

/// Why a usage line is not eligible for PEC at all (SPEC R7). `Configured` is a line excluded
/// by a configured meter ID or product name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IneligibleReason {
    NotConsumption,
    Reservation,
    SavingsPlan,
    ThirdParty,
    Spot,
    Configured,
}

macro_rules! codes {
    ($t:ty { $($v:ident => $s:literal),* $(,)? }) => {
        impl $t {
            pub const ALL: &'static [$t] = &[$(<$t>::$v),*];
            pub fn code(self) -> &'static str {
                match self { $(<$t>::$v => $s),* }
            }
            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($s => Some(<$t>::$v),)* _ => None }
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

codes!(DayStatus { Full => "FULL", Partial => "PARTIAL", None => "NONE", Unknown => "UNKNOWN" });
codes!(LossReason {
    NoEvidence => "NO_EVIDENCE",
    PalMissing => "PAL_MISSING",
    RoleNotEligible => "ROLE_NOT_ELIGIBLE",
    NotPermanent => "NOT_PERMANENT",
    PartialDay => "PARTIAL_DAY",
    NoAccess => "NO_ACCESS",
});
codes!(IneligibleReason {
    NotConsumption => "NOT_CONSUMPTION",
    Reservation => "RESERVATION",
    SavingsPlan => "SAVINGS_PLAN",
    ThirdParty => "THIRD_PARTY",
    Spot => "SPOT",
    Configured => "CONFIGURED",
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_match_serde() {
        for r in LossReason::ALL {
            assert_eq!(LossReason::from_code(r.code()), Some(*r));
            assert_eq!(
                serde_json::to_string(r).unwrap(),
                format!("\"{}\"", r.code())
            );
        }
        for r in IneligibleReason::ALL {
            assert_eq!(IneligibleReason::from_code(r.code()), Some(*r));
            assert_eq!(
                serde_json::to_string(r).unwrap(),
                format!("\"{}\"", r.code())
            );
        }
        assert_eq!(
            serde_json::to_string(&DayStatus::Partial).unwrap(),
            "\"PARTIAL\""
        );
    }
}
