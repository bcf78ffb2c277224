//! Azure identifiers: GUIDs and resource IDs compared case-insensitively (SPEC R3).

/// The canonical form of an Azure resource ID or scope: lower case, one leading `/`, no empty
/// segments, no trailing `/`.
pub fn normalize_resource_id(id: &str) -> String {
    let mut out = String::with_capacity(id.len() + 1);
    normalize_resource_id_into(id, &mut out);
    out
}

/// [`normalize_resource_id`] into `out` (cleared first), re-using its buffer.
pub fn normalize_resource_id_into(id: &str, out: &mut String) {
    out.clear();
    for segment in id.trim().split('/').filter(|s| !s.is_empty()) {
        out.push('/');
        if segment.is_ascii() {
            // The usual case, and the same result as the general one below.
            let start = out.len();
            out.push_str(segment);
            out[start..].make_ascii_lowercase();
        } else {
            out.extend(segment.chars().flat_map(char::to_lowercase));
        }
    }
    if out.is_empty() {
        out.push('/');
    }
}

/// The resource key of a usage line: its `ResourceURI`, or `/subscriptions/{SubscriptionId}`
/// when that is empty (SPEC R3).
pub fn usage_resource_key(resource_uri: &str, subscription_id: &str) -> String {
    let mut out = String::new();
    usage_resource_key_into(resource_uri, subscription_id, &mut out);
    out
}

/// [`usage_resource_key`] into `out` (cleared first), re-using its buffer.
pub fn usage_resource_key_into(resource_uri: &str, subscription_id: &str, out: &mut String) {
    if resource_uri.trim().is_empty() {
        let scope = format!("/subscriptions/{}", subscription_id.trim());
        normalize_resource_id_into(&scope, out);
    } else {
        normalize_resource_id_into(resource_uri, out);
    }
}

/// Whether `id` is a GUID in its usual text form: 8-4-4-4-12 hexadecimal digits (tenant,
/// subscription and object ids).
pub fn is_guid(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Whether `id` is an MPN ID (a Partner Network id): 1 to 12 decimal digits.
pub fn is_mpn_id(id: &str) -> bool {
    (1..=12).contains(&id.len()) && id.bytes().all(|c| c.is_ascii_digit())
}

/// Lower-cased, trimmed GUID (or any identifier compared case-insensitively).
pub fn normalize_guid(id: &str) -> String {
    id.trim().to_ascii_lowercase()
}

/// [`normalize_guid`] into `out` (cleared first), re-using its buffer.
pub fn normalize_guid_into(id: &str, out: &mut String) {
    out.clear();
    out.push_str(id.trim());
    out.make_ascii_lowercase();
}

/// Whether access at `scope` covers `resource`: a case-insensitive, path-segment prefix match.
/// Both arguments must already be normalised with [`normalize_resource_id`].
pub fn scope_covers(scope: &str, resource: &str) -> bool {
    if scope == "/" {
        return false;
    }
    match resource.strip_prefix(scope) {
        Some("") => true,
        Some(rest) => rest.starts_with('/'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SUB: &str = "/subscriptions/23b8c1e9-3924-46de-beb1-3b9046685257";

    #[test]
    fn subscription_scope_covers_its_resources_not_a_longer_id() {
        let res = normalize_resource_id(&format!(
            "{SUB}/resourceGroups/RG-Web/providers/Microsoft.Web/sites/shop"
        ));
        assert!(scope_covers(&normalize_resource_id(SUB), &res));
        assert!(scope_covers(
            &normalize_resource_id(&SUB.to_uppercase()),
            &res
        ));
        let other = normalize_resource_id(&format!("{SUB}2/resourceGroups/rg-web"));
        assert!(!scope_covers(&normalize_resource_id(SUB), &other));
    }

    #[test]
    fn resource_scope_covers_children_not_siblings() {
        let server = normalize_resource_id(&format!(
            "{SUB}/resourceGroups/rg/providers/Microsoft.Sql/servers/sql1"
        ));
        let db = normalize_resource_id(&format!(
            "{SUB}/resourceGroups/rg/providers/Microsoft.Sql/servers/sql1/databases/orders"
        ));
        let sibling = normalize_resource_id(&format!(
            "{SUB}/resourceGroups/rg/providers/Microsoft.Sql/servers/sql10"
        ));
        assert!(scope_covers(&server, &server));
        assert!(scope_covers(&server, &db));
        assert!(!scope_covers(&server, &sibling));
        assert!(!scope_covers(&db, &server));
    }

    #[test]
    fn empty_resource_uri_is_keyed_to_the_subscription() {
        assert_eq!(usage_resource_key("", "ABC"), "/subscriptions/abc");
        assert_eq!(usage_resource_key("  ", "abc"), "/subscriptions/abc");
        assert_eq!(
            usage_resource_key("/Subscriptions/ABC/", "x"),
            "/subscriptions/abc"
        );
    }

    fn segment() -> impl Strategy<Value = String> {
        "[A-Za-z0-9-]{1,6}"
    }

    proptest! {
        #[test]
        fn prefix_of_segments_always_covers(segs in prop::collection::vec(segment(), 1..8), cut in 1usize..8) {
            let cut = cut.min(segs.len());
            let resource = normalize_resource_id(&format!("/{}", segs.join("/")));
            let scope = normalize_resource_id(&format!("/{}", segs[..cut].join("/").to_uppercase()));
            prop_assert!(scope_covers(&scope, &resource));
        }

        #[test]
        fn covering_means_segment_prefix(a in prop::collection::vec(segment(), 1..5), b in prop::collection::vec(segment(), 1..5)) {
            let scope = normalize_resource_id(&format!("/{}", a.join("/")));
            let resource = normalize_resource_id(&format!("/{}", b.join("/")));
            let a_lc: Vec<String> = a.iter().map(|s| s.to_lowercase()).collect();
            let b_lc: Vec<String> = b.iter().map(|s| s.to_lowercase()).collect();
            let expected = a_lc.len() <= b_lc.len() && b_lc[..a_lc.len()] == a_lc[..];
            prop_assert_eq!(scope_covers(&scope, &resource), expected);
        }

        #[test]
        fn the_into_forms_equal_the_allocating_ones(
            s in "[ /A-Za-zÀ-ÖİΣ0-9.-]{0,40}",
            sub in "[ A-Fa-f0-9-]{0,12}",
            dirty in "[a-zÀ-Ö/]{0,12}",
        ) {
            // The buffer is re-used from row to row: whatever it held must not leak through.
            let mut out = dirty.clone();
            normalize_resource_id_into(&s, &mut out);
            prop_assert_eq!(&out, &normalize_resource_id(&s));
            let mut out = dirty.clone();
            usage_resource_key_into(&s, &sub, &mut out);
            prop_assert_eq!(&out, &usage_resource_key(&s, &sub));
            let mut out = dirty;
            normalize_guid_into(&s, &mut out);
            prop_assert_eq!(out, normalize_guid(&s));
        }

        #[test]
        fn normalisation_is_idempotent(s in "[/A-Za-z0-9.-]{0,40}") {
            let once = normalize_resource_id(&s);
            prop_assert_eq!(normalize_resource_id(&once), once.clone());
        }
    }
}

#[cfg(test)]
mod id_form_tests {
    use super::*;

    #[test]
    fn guids_and_mpn_ids_are_told_by_their_form() {
        assert!(is_guid("7a3c0000-0000-4000-8000-000000000001"));
        assert!(is_guid("7A3C0000-0000-4000-8000-00000000000F"));
        for not in [
            "acme",
            "",
            "7a3c0000-0000-4000-8000-00000000000",
            "7a3c0000-0000-4000-8000-0000000000011",
            "7a3c0000_0000-4000-8000-000000000001",
            "7a3c0000-0000-4000-8000-00000000000g",
            "{7a3c0000-0000-4000-8000-000000000001}",
        ] {
            assert!(!is_guid(not), "{not}");
        }
        assert!(is_mpn_id("4100001"));
        assert!(is_mpn_id("1"));
        for not in ["", "not an mpn", "41-00001", "1234567890123", " 4100001"] {
            assert!(!is_mpn_id(not), "{not:?}");
        }
    }
}
