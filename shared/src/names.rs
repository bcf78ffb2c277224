//! The names a partner's usage files give its ids: the partner's own name, its customers' names
//! and domains, its subscriptions' descriptions and its resellers' names. Statements show them
//! beside the ids; the newest accepted upload that gives a name wins.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A customer's name and domain as a usage file gives them (either may be empty).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerName {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub domain: String,
}

/// What kind of id a name belongs to (how stores file them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NameKind {
    Partner,
    Customer,
    CustomerDomain,
    Subscription,
    Reseller,
}

impl NameKind {
    pub const ALL: [NameKind; 5] = [
        NameKind::Partner,
        NameKind::Customer,
        NameKind::CustomerDomain,
        NameKind::Subscription,
        NameKind::Reseller,
    ];

    /// The code stores keep.
    pub fn code(self) -> &'static str {
        match self {
            NameKind::Partner => "partner",
            NameKind::Customer => "customer",
            NameKind::CustomerDomain => "domain",
            NameKind::Subscription => "subscription",
            NameKind::Reseller => "reseller",
        }
    }

    pub fn from_code(code: &str) -> Option<NameKind> {
        NameKind::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// One partner's names. Ids are as the ledger keeps them (lower-case GUIDs, MPN digits).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Names {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub partner: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub customers: BTreeMap<String, CustomerName>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub subscriptions: BTreeMap<String, String>,
    /// By the reseller's (Tier-2) MPN ID.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resellers: BTreeMap<String, String>,
}

/// Upper bound on a name's length in characters (longer names are cut; a usage file's text
/// columns are free text).
pub const MAX_NAME_CHARS: usize = 200;

fn clean(text: &str) -> Option<String> {
    let t: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_NAME_CHARS)
        .collect();
    let t = t.trim();
    (!t.is_empty()).then(|| t.to_string())
}

impl Names {
    pub fn is_empty(&self) -> bool {
        self.partner.is_empty()
            && self.customers.is_empty()
            && self.subscriptions.is_empty()
            && self.resellers.is_empty()
    }

    /// Notes the names one usage line gives; a later line's non-empty name replaces an earlier
    /// one (within a file the last row wins, as between files the last upload does).
    pub fn note(&mut self, line: &crate::usage::UsageLineView<'_>) {
        // Rows of a file mostly repeat the names before them: compare before allocating.
        let fresh = |stored: Option<&String>, raw: &str| {
            let raw = raw.trim();
            if raw.is_empty() || stored.is_some_and(|s| s == raw) {
                None
            } else {
                clean(raw)
            }
        };
        if let Some(n) = fresh(Some(&self.partner), line.partner_name) {
            self.partner = n;
        }
        let known = self.customers.get(line.customer_id);
        let name = fresh(known.map(|c| &c.name), line.customer_name);
        let domain = fresh(known.map(|c| &c.domain), line.customer_domain);
        if name.is_some() || domain.is_some() {
            let c = self
                .customers
                .entry(line.customer_id.to_string())
                .or_default();
            if let Some(n) = name {
                c.name = n;
            }
            if let Some(d) = domain {
                c.domain = d;
            }
        }
        if let Some(n) = fresh(
            self.subscriptions.get(line.subscription_id),
            line.subscription_name,
        ) {
            self.subscriptions
                .insert(line.subscription_id.to_string(), n);
        }
        let mpn = line.tier2_mpn_id.trim();
        if !mpn.is_empty() {
            if let Some(n) = fresh(self.resellers.get(mpn), line.reseller_name) {
                self.resellers.insert(mpn.to_string(), n);
            }
        }
    }

    /// Every name as (kind, id, name); the partner's name has an empty id.
    pub fn rows(&self) -> Vec<(NameKind, &str, &str)> {
        let mut rows = Vec::new();
        if !self.partner.is_empty() {
            rows.push((NameKind::Partner, "", self.partner.as_str()));
        }
        for (id, c) in &self.customers {
            if !c.name.is_empty() {
                rows.push((NameKind::Customer, id.as_str(), c.name.as_str()));
            }
            if !c.domain.is_empty() {
                rows.push((NameKind::CustomerDomain, id.as_str(), c.domain.as_str()));
            }
        }
        for (id, n) in &self.subscriptions {
            rows.push((NameKind::Subscription, id.as_str(), n.as_str()));
        }
        for (id, n) in &self.resellers {
            rows.push((NameKind::Reseller, id.as_str(), n.as_str()));
        }
        rows
    }

    /// Adds one stored row ([`Names::rows`]' inverse).
    pub fn set(&mut self, kind: NameKind, id: &str, name: &str) {
        let name = name.to_string();
        match kind {
            NameKind::Partner => self.partner = name,
            NameKind::Customer => self.customers.entry(id.to_string()).or_default().name = name,
            NameKind::CustomerDomain => {
                self.customers.entry(id.to_string()).or_default().domain = name
            }
            NameKind::Subscription => {
                self.subscriptions.insert(id.to_string(), name);
            }
            NameKind::Reseller => {
                self.resellers.insert(id.to_string(), name);
            }
        }
    }

    pub fn customer(&self, id: &str) -> Option<&CustomerName> {
        self.customers.get(id)
    }

    pub fn subscription(&self, id: &str) -> Option<&str> {
        self.subscriptions.get(id).map(String::as_str)
    }

    pub fn reseller(&self, mpn_id: &str) -> Option<&str> {
        self.resellers.get(mpn_id.trim()).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_and_names_are_cleaned() {
        let mut n = Names::default();
        n.set(NameKind::Partner, "", "Fabrikam CSP");
        n.set(NameKind::Customer, "c1", "Litware Solutions");
        n.set(NameKind::CustomerDomain, "c1", "litware.onmicrosoft.com");
        n.set(NameKind::Subscription, "s1", "Production");
        n.set(NameKind::Reseller, "1234567", "VanArsdel");
        let mut back = Names::default();
        for (k, id, name) in n.rows() {
            back.set(k, id, name);
        }
        assert_eq!(back, n);
        assert_eq!(clean("  a\u{7}b \n"), Some("a b".to_string()));
        assert_eq!(clean(" \t "), None);
        assert_eq!(clean(&"x".repeat(300)).map(|s| s.len()), Some(200));
        for k in NameKind::ALL {
            assert_eq!(NameKind::from_code(k.code()), Some(k));
        }
    }
}
