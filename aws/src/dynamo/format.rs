//! Which table layout the tables hold: the state table's `FORMAT` item. Tables made by this
//! release are marked format 2 on first use; tables that hold data but no mark are format 1
//! (releases before issue 13) and are refused until `pec --store aws upgrade` has run.

use super::item::{get_n64, item, n64, s, sdk};
use super::store::DynamoStore;
use crate::keys::{self, ONE, TABLE_FORMAT};
use pec_ledger::store::{StoreError, StoreResult};

impl DynamoStore {
    /// Whether `table` holds any item.
    async fn holds_items(&self, table: &str) -> StoreResult<bool> {
        let out = self
            .client
            .scan()
            .table_name(table)
            .limit(1)
            .send()
            .await
            .map_err(sdk("Scan"))?;
        Ok(out.count() > 0 || out.last_evaluated_key.is_some_and(|k| !k.is_empty()))
    }

    /// The tables' format: `Some(n)` from the mark, `None` when unmarked and empty, `Some(1)`
    /// when unmarked with data.
    pub async fn table_format(&self) -> StoreResult<Option<u64>> {
        if let Some(i) = self
            .get_item(&self.state_table, keys::FORMAT_PK, ONE)
            .await?
        {
            return get_n64(&i, "format").map(Some);
        }
        if self.holds_items(&self.state_table).await?
            || self.holds_items(&self.ledger_table).await?
        {
            return Ok(Some(1));
        }
        Ok(None)
    }

    /// Marks the tables as holding `format` (only if no mark is there yet).
    pub async fn mark_format(&self, format: u64) -> StoreResult<()> {
        let r = self
            .client
            .put_item()
            .table_name(&self.state_table)
            .set_item(Some(item(vec![
                ("pk", s(keys::FORMAT_PK)),
                ("sk", s(ONE)),
                ("format", n64(format)),
            ])))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        super::item::unless_condition_failed("PutItem", r)
    }

    /// Ready to use: format 2, or empty tables (marked format 2 now). Format 1 data is refused
    /// with what to run.
    pub async fn check_format(&self) -> StoreResult<()> {
        match self.table_format().await? {
            Some(f) if f == u64::from(TABLE_FORMAT) => Ok(()),
            None => self.mark_format(u64::from(TABLE_FORMAT)).await,
            Some(1) => Err(StoreError::Backend(format!(
                "the tables {} and {} hold data in table format 1 (a release before 2026-12); \
                 run `pec --store aws upgrade` with an administrator's credentials first \
                 (aws/README.md, \"Upgrading tables\")",
                self.ledger_table, self.state_table
            ))),
            Some(f) => Err(StoreError::Backend(format!(
                "the tables {} and {} are in table format {f}, which this release does not know \
                 (it writes format {TABLE_FORMAT}); use the release that made them",
                self.ledger_table, self.state_table
            ))),
        }
    }
}
