//! What this node has written to the EVM chain: anchored tree heads and the mirror's
//! progress. Written directly (not through `LedgerStore::commit`): these rows describe the
//! chain, they are not decisions to audit.

use async_trait::async_trait;
use meditrustal_domain::RecordId;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::StoreError;

/// A tree head this node anchored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainAnchorRow {
    pub tree_size: u64,
    pub root: Vec<u8>,
    pub tx_hash: Vec<u8>,
    pub block_number: u64,
    pub anchored_at: OffsetDateTime,
}

/// A record version waiting to be (or already) mirrored, with what its commitment needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirroredVersion {
    pub record_id: RecordId,
    pub version: u32,
    pub patient_did: String,
    /// The vault's sealed metadata (JSON), which holds the content's SHA-256.
    pub sealed: String,
    pub commitment_salt: Vec<u8>,
    pub leaf_index: u64,
}

#[async_trait]
pub trait ChainStore: Send + Sync + 'static {
    /// Every anchor this node wrote, by tree size.
    async fn chain_anchors(&self) -> Result<Vec<ChainAnchorRow>, StoreError>;
    /// The anchor of the largest tree size, `None` before the first.
    async fn latest_chain_anchor(&self) -> Result<Option<ChainAnchorRow>, StoreError>;
    async fn insert_chain_anchor(&self, row: &ChainAnchorRow) -> Result<(), StoreError>;
    /// The named cursor's position, `None` before its first move.
    async fn chain_cursor(&self, name: &str) -> Result<Option<u64>, StoreError>;
    async fn set_chain_cursor(&self, name: &str, position: u64) -> Result<(), StoreError>;
    /// Record versions whose ledger leaf index is above `after`, in leaf order.
    async fn versions_after_leaf(
        &self,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Vec<MirroredVersion>, StoreError>;
    /// How many record versions have a leaf index above `after` (the mirror's backlog).
    async fn count_versions_after_leaf(&self, after: Option<u64>) -> Result<u64, StoreError>;
}

#[derive(sqlx::FromRow)]
pub(crate) struct ChainAnchorSqlRow {
    tree_size: i64,
    root: Vec<u8>,
    tx_hash: Vec<u8>,
    block_number: i64,
    anchored_at: OffsetDateTime,
}

impl TryFrom<ChainAnchorSqlRow> for ChainAnchorRow {
    type Error = StoreError;

    fn try_from(row: ChainAnchorSqlRow) -> Result<Self, Self::Error> {
        Ok(ChainAnchorRow {
            tree_size: u64::try_from(row.tree_size)
                .map_err(|_| corrupt("chain_anchors", "tree_size"))?,
            root: row.root,
            tx_hash: row.tx_hash,
            block_number: u64::try_from(row.block_number)
                .map_err(|_| corrupt("chain_anchors", "block_number"))?,
            anchored_at: row.anchored_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MirroredSqlRow {
    record_id: Uuid,
    version: i64,
    did: String,
    sealed: String,
    commitment_salt: Vec<u8>,
    leaf_index: i64,
}

impl TryFrom<MirroredSqlRow> for MirroredVersion {
    type Error = StoreError;

    fn try_from(row: MirroredSqlRow) -> Result<Self, Self::Error> {
        Ok(MirroredVersion {
            record_id: RecordId(row.record_id),
            version: u32::try_from(row.version)
                .map_err(|_| corrupt("record_versions", "version"))?,
            patient_did: row.did,
            sealed: row.sealed,
            commitment_salt: row.commitment_salt,
            leaf_index: u64::try_from(row.leaf_index)
                .map_err(|_| corrupt("record_versions", "leaf_index"))?,
        })
    }
}

fn corrupt(table: &'static str, column: &'static str) -> StoreError {
    StoreError::Corrupt { table, column }
}

pub(crate) fn to_i64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Corrupt {
        table: "chain",
        column: "out of range",
    })
}

/// Generates `ChainStore` for a backend from one body of SQL.
macro_rules! chain_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::ChainStore for $store {
            async fn chain_anchors(&self) -> Result<Vec<$crate::ChainAnchorRow>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::chain::ChainAnchorSqlRow>("SELECT * FROM chain_anchors ORDER BY tree_size")
                    .fetch_all(&self.pool)
                    .await?
                    .into_iter()
                    .map(TryInto::try_into)
                    .collect()
            }

            async fn latest_chain_anchor(&self) -> Result<Option<$crate::ChainAnchorRow>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::chain::ChainAnchorSqlRow>(
                    "SELECT * FROM chain_anchors ORDER BY tree_size DESC LIMIT 1",
                )
                .fetch_optional(&self.pool)
                .await?
                .map(TryInto::try_into)
                .transpose()
            }

            async fn insert_chain_anchor(&self, row: &$crate::ChainAnchorRow) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO chain_anchors (tree_size, root, tx_hash, block_number, anchored_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind($crate::chain::to_i64(row.tree_size)?)
                .bind(&row.root)
                .bind(&row.tx_hash)
                .bind($crate::chain::to_i64(row.block_number)?)
                .bind(row.anchored_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn chain_cursor(&self, name: &str) -> Result<Option<u64>, $crate::StoreError> {
                let position: Option<i64> = sqlx::query_scalar("SELECT position FROM chain_cursors WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await?;
                position
                    .map(|p| u64::try_from(p).map_err(|_| $crate::StoreError::Corrupt { table: "chain_cursors", column: "position" }))
                    .transpose()
            }

            async fn set_chain_cursor(&self, name: &str, position: u64) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO chain_cursors (name, position) VALUES ($1, $2) \
                     ON CONFLICT (name) DO UPDATE SET position = excluded.position",
                )
                .bind(name)
                .bind($crate::chain::to_i64(position)?)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn versions_after_leaf(
                &self,
                after: Option<u64>,
                limit: u32,
            ) -> Result<Vec<$crate::MirroredVersion>, $crate::StoreError> {
                let after = after.map($crate::chain::to_i64).transpose()?.unwrap_or(-1);
                sqlx::query_as::<_, $crate::chain::MirroredSqlRow>(
                    "SELECT v.record_id, v.version, u.did, v.sealed, v.commitment_salt, v.leaf_index \
                     FROM record_versions v JOIN records r ON r.id = v.record_id \
                     JOIN users u ON u.id = r.patient_id \
                     WHERE v.leaf_index > $1 ORDER BY v.leaf_index LIMIT $2",
                )
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(TryInto::try_into)
                .collect()
            }

            async fn count_versions_after_leaf(&self, after: Option<u64>) -> Result<u64, $crate::StoreError> {
                let after = after.map($crate::chain::to_i64).transpose()?.unwrap_or(-1);
                let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM record_versions WHERE leaf_index > $1")
                    .bind(after)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(u64::try_from(count).unwrap_or(0))
            }
        }
    };
}
pub(crate) use chain_store;
