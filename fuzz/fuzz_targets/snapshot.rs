//! Access snapshots (SPEC 3.2): arbitrary bytes through `parse_snapshot`, the parser the webhook
//! and `pec access post` use.
//!
//! Invariants: no panic; a rejected body has 1 to 101 errors, each with a JSON path starting at
//! `$` and a message (the 101st, if any, is the `… N more` entry); a leading byte-order mark
//! changes nothing; an accepted snapshot is normalised (ids trimmed and lower-cased, scopes
//! resource ids), and its JSON serialisation parses back to the same snapshot, both through
//! `parse_snapshot` and serde, with the same content digest.
#![no_main]

use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use pec_ledger::snapshot::{parse_snapshot, Snapshot, MAX_REPORTED_ERRORS};

fuzz_target!(|body: &[u8]| {
    let now = Utc.with_ymd_and_hms(2026, 10, 2, 12, 0, 0).unwrap();
    let parsed = parse_snapshot(body, now);

    let mut with_bom = b"\xEF\xBB\xBF".to_vec();
    with_bom.extend_from_slice(body);
    if !body.starts_with(b"\xEF\xBB\xBF") {
        assert_eq!(
            parse_snapshot(&with_bom, now),
            parsed,
            "a BOM changes nothing"
        );
    }

    match parsed {
        Err(errors) => {
            assert!(!errors.is_empty() && errors.len() <= MAX_REPORTED_ERRORS + 1);
            for e in &errors {
                assert!(e.path.starts_with('$'), "{e:?}");
                assert!(!e.message.is_empty(), "{e:?}");
            }
            if errors.len() == MAX_REPORTED_ERRORS + 1 {
                let last = &errors[MAX_REPORTED_ERRORS];
                assert!(
                    last.path == "$" && last.message.starts_with("… "),
                    "{last:?}"
                );
            }
        }
        Ok(s) => {
            for id in [&s.snapshot_id, &s.partner_id, &s.customer_id] {
                assert_eq!(id, &id.trim().to_ascii_lowercase());
                assert!(!id.is_empty());
            }
            assert!(s.taken_at <= now + chrono::Duration::minutes(5));
            for a in &s.assignments {
                assert!(a.scope.starts_with('/') && a.scope != "/", "{:?}", a.scope);
                if let Some(pal) = &a.partner_admin_link_mpn_id {
                    assert!(!pal.is_empty() && pal.trim() == pal, "{pal:?}");
                }
            }
            let json = serde_json::to_vec(&s).expect("a snapshot serialises");
            let again = parse_snapshot(&json, now).expect("a serialised snapshot parses");
            assert_eq!(
                again, s,
                "parse ∘ serialise is the identity on accepted snapshots"
            );
            assert_eq!(again.content_digest(), s.content_digest());
            let de: Snapshot = serde_json::from_slice(&json).expect("serde reads it back");
            assert_eq!(de, s);
        }
    }
});
