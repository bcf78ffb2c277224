//! Which Azure roles earn PEC (SPEC R4): Microsoft's published table, built into the crate,
//! the four built-in role definition GUIDs, and configured overrides.

use std::collections::HashMap;

/// Microsoft's table "Roles and permissions eligible to earn PEC" (`role_name,pec_eligible`).
const TABLE: &str = include_str!("../data/pec-role-eligibility.csv");

/// Built-in role definition GUIDs the SPEC names, with their role names.
pub const BUILT_IN_ROLE_IDS: [(&str, &str); 4] = [
    ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner"),
    ("b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor"),
    ("acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader"),
    (
        "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
        "User Access Administrator",
    ),
];

/// Role eligibility lookup. Keys are lower-cased role names and role definition GUIDs.
#[derive(Debug, Clone)]
pub struct RoleTable {
    by_name: HashMap<String, bool>,
    by_id: HashMap<String, bool>,
    overrides: HashMap<String, bool>,
}

impl RoleTable {
    /// Microsoft's table with no overrides.
    pub fn builtin() -> Self {
        let mut by_name = HashMap::new();
        for line in TABLE.lines().skip(1) {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            // The table's names never contain commas; the last field is the flag.
            if let Some((name, flag)) = line.rsplit_once(',') {
                let name = name.trim().trim_matches('"').to_lowercase();
                by_name.insert(name, flag.trim().eq_ignore_ascii_case("true"));
            }
        }
        let by_id = BUILT_IN_ROLE_IDS
            .iter()
            .map(|(id, name)| {
                (
                    id.to_string(),
                    by_name.get(&name.to_lowercase()).copied().unwrap_or(false),
                )
            })
            .collect();
        RoleTable {
            by_name,
            by_id,
            overrides: HashMap::new(),
        }
    }

    /// Adds configured overrides: role name or role definition GUID → eligible.
    pub fn with_overrides<'a>(
        mut self,
        overrides: impl IntoIterator<Item = (&'a String, &'a bool)>,
    ) -> Self {
        for (k, v) in overrides {
            self.overrides.insert(k.trim().to_lowercase(), *v);
        }
        self
    }

    /// Number of named roles in the built-in table.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Whether an assignment of this role earns PEC. `role_definition_id` may be a bare GUID or a
    /// full `/…/roleDefinitions/{guid}` path. Overrides win, then the GUID, then the name;
    /// unknown roles are not eligible.
    pub fn is_eligible(&self, role_definition_id: &str, role_name: &str) -> bool {
        let guid = role_definition_id
            .trim()
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_lowercase();
        let name = role_name.trim().to_lowercase();
        if let Some(v) = self
            .overrides
            .get(&guid)
            .or_else(|| self.overrides.get(&name))
        {
            return *v;
        }
        if let Some(v) = self.by_id.get(&guid) {
            return *v;
        }
        self.by_name.get(&name).copied().unwrap_or(false)
    }
}

impl Default for RoleTable {
    fn default() -> Self {
        Self::builtin()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_table_has_microsofts_122_roles() {
        let t = RoleTable::builtin();
        assert_eq!(t.len(), 122);
        assert!(t.is_eligible("", "Owner"));
        assert!(t.is_eligible("", "contributor"));
        assert!(!t.is_eligible("", "Reader"));
        assert!(!t.is_eligible("", "Some Custom Role"));
    }

    #[test]
    fn built_in_guids_are_recognised_without_a_name() {
        let t = RoleTable::builtin();
        assert!(t.is_eligible("8E3AF657-A8FF-443C-A75C-2FE8C4BCB635", ""));
        assert!(t.is_eligible(
            "/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c",
            "renamed"
        ));
        assert!(!t.is_eligible("acdd72a7-3385-48ef-bd42-f606fba81ae7", "Owner"));
        assert!(t.is_eligible("18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", ""));
    }

    #[test]
    fn overrides_win() {
        let o: HashMap<String, bool> = [
            ("Reader".to_string(), true),
            ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635".to_string(), false),
        ]
        .into();
        let t = RoleTable::builtin().with_overrides(&o);
        assert!(t.is_eligible("", "reader"));
        assert!(!t.is_eligible("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner"));
    }
}
