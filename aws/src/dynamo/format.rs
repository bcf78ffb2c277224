//! Which table layout the tables hold: the state table's `FORMAT` item. Tables made by this
//! release are marked format 2 on first use; tables without a mark that have format 1's indexes
//! or hold items are format 1 (releases before 2026-12) and are refused until
//! `pec --store aws upgrade` has run.

use super::item::{get_n64, item, n64, s, sdk};
use super::requests::{query_all_with, Query};
use super::store::DynamoStore;
use crate::keys::{self, ONE, TABLE_FORMAT};
use pec_ledger::store::{StoreError, StoreResult};

impl DynamoStore {
    /// A table's index names and (approximate, refreshed about every six hours) item count.
    async fn describe(&self, table: &str) -> StoreResult<(Vec<String>, i64)> {
        let out = self
            .client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(sdk("DescribeTable"))?;
        let t = out.table();
        let indexes = t
            .map(|t| {
                t.global_secondary_indexes()
                    .iter()
                    .filter_map(|i| i.index_name().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        Ok((indexes, t.and_then(|t| t.item_count()).unwrap_or(0)))
    }

    /// The tables' format: `Some(n)` from the `FORMAT` item; without one, `Some(1)` when the
    /// tables have format 1's indexes or hold items, else `None` (new tables). Only `Query` and
    /// `DescribeTable`, which every function role has.
    pub async fn table_format(&self) -> StoreResult<Option<u64>> {
        let q = Query {
            table: self.state_table.clone(),
            index: None,
            key_condition: "pk = :pk",
            values: vec![(":pk", s(keys::FORMAT_PK))],
            consistent: true,
        };
        if let Some(i) = query_all_with(&self.client, &q).await?.first() {
            return get_n64(i, "format").map(Some);
        }
        let (ledger_indexes, ledger_items) = self.describe(&self.ledger_table).await?;
        let (_, state_items) = self.describe(&self.state_table).await?;
        let format1_index = ledger_indexes
            .iter()
            .any(|i| i == "ByUsageMonth" || i == "ByPostingMonth");
        if format1_index || ledger_items > 0 || state_items > 0 {
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

    /// Ready to use: format 2, or new tables (marked format 2 now, by a function that may write
    /// the state table; one that may not leaves the mark to the next; any other failure to mark
    /// fails the start). Format 1 data is refused with what to run.
    pub async fn check_format(&self) -> StoreResult<()> {
        match self.table_format().await? {
            None => match self.mark_format(u64::from(TABLE_FORMAT)).await {
                Ok(()) => Ok(()),
                // A role that may not write the state table (coordinator, statement readers)
                // leaves the mark to the first writer.
                Err(e) if e.to_string().contains("AccessDenied") => {
                    tracing::info!(error = %e, "table format not marked (read-only role)");
                    Ok(())
                }
                // Anything else fails the start, so that no writer stores data in unmarked
                // tables (which would later read as format 1); the next invocation tries again.
                Err(e) => Err(e),
            },
            Some(f) => self.refuse_other(f),
        }
    }

    /// [`DynamoStore::check_format`] for a function that only reads the tables: new tables are
    /// left for a writer to mark, and nothing here can write (so a reader's binary links no
    /// `PutItem`).
    pub async fn check_format_read_only(&self) -> StoreResult<()> {
        match self.table_format().await? {
            None => Ok(()),
            Some(f) => self.refuse_other(f),
        }
    }

    /// Format 2 is this release's; format 1 is refused with what to run, any other as unknown.
    fn refuse_other(&self, format: u64) -> StoreResult<()> {
        match format {
            f if f == u64::from(TABLE_FORMAT) => Ok(()),
            1 => Err(StoreError::Backend(format!(
                "the tables {} and {} hold data in table format 1 (a release before 2026-12); \
                 run `pec --store aws upgrade` with an administrator's credentials first \
                 (aws/README.md, \"Upgrading tables\")",
                self.ledger_table, self.state_table
            ))),
            f => Err(StoreError::Backend(format!(
                "the tables {} and {} are in table format {f}, which this release does not know \
                 (it writes format {TABLE_FORMAT}); use the release that made them",
                self.ledger_table, self.state_table
            ))),
        }
    }
}
