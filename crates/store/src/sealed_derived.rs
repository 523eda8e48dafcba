//! Sealed items other than record versions, for key-encryption-key rotation: each table that
//! keeps a data key wrapped under a KEK, how to page through the items not yet under a
//! given KEK, and how to replace one item's sealed text conditionally.

use uuid::Uuid;

/// A table whose rows hold a sealed item (a `SealedBlob` inline, or a `SealedRecord` whose
/// ciphertext is an object in the vault).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DerivedTable {
    /// NLP results beside note versions (`SealedBlob`).
    NlpResults,
    /// Observation batches (`SealedBlob`).
    Observations,
    /// Early-warning alerts' details (`SealedBlob`).
    Alerts,
    /// Correction proposals (`SealedRecord`).
    CorrectionProposals,
    /// Finished export archives (`SealedRecord`).
    ExportArchives,
}

impl DerivedTable {
    pub const ALL: [DerivedTable; 5] = [
        DerivedTable::NlpResults,
        DerivedTable::Observations,
        DerivedTable::Alerts,
        DerivedTable::CorrectionProposals,
        DerivedTable::ExportArchives,
    ];

    /// Whether the item is a `SealedRecord` (else a `SealedBlob`).
    pub fn holds_records(self) -> bool {
        matches!(
            self,
            DerivedTable::CorrectionProposals | DerivedTable::ExportArchives
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            DerivedTable::NlpResults => "nlp_results",
            DerivedTable::Observations => "observations",
            DerivedTable::Alerts => "cdss_alerts",
            DerivedTable::CorrectionProposals => "correction_requests",
            DerivedTable::ExportArchives => "export_jobs",
        }
    }

    /// Items whose sealed text names a KEK but not `$2`'s, after the key ($3, $4), in key
    /// order, at most $5. `$1` is [`SEALED_PATTERN`]. Keys are (id, 0) except for NLP
    /// results, which are keyed by (record id, version).
    pub(crate) fn select_sql(self) -> &'static str {
        match self {
            DerivedTable::NlpResults => {
                "SELECT record_id AS id, version, sealed FROM nlp_results \
                 WHERE sealed LIKE $1 AND sealed NOT LIKE $2 \
                 AND (record_id > $3 OR (record_id = $3 AND version > $4)) \
                 ORDER BY record_id, version LIMIT $5"
            }
            DerivedTable::Observations => {
                "SELECT id, CAST(0 AS BIGINT) AS version, sealed FROM observations \
                 WHERE sealed LIKE $1 AND sealed NOT LIKE $2 \
                 AND (id > $3 OR (id = $3 AND 0 > $4)) ORDER BY id LIMIT $5"
            }
            DerivedTable::Alerts => {
                "SELECT id, CAST(0 AS BIGINT) AS version, sealed FROM cdss_alerts \
                 WHERE sealed LIKE $1 AND sealed NOT LIKE $2 \
                 AND (id > $3 OR (id = $3 AND 0 > $4)) ORDER BY id LIMIT $5"
            }
            DerivedTable::CorrectionProposals => {
                "SELECT id, CAST(0 AS BIGINT) AS version, proposal AS sealed \
                 FROM correction_requests \
                 WHERE proposal LIKE $1 AND proposal NOT LIKE $2 \
                 AND (id > $3 OR (id = $3 AND 0 > $4)) ORDER BY id LIMIT $5"
            }
            DerivedTable::ExportArchives => {
                "SELECT id, CAST(0 AS BIGINT) AS version, sealed FROM export_jobs \
                 WHERE sealed LIKE $1 AND sealed NOT LIKE $2 \
                 AND (id > $3 OR (id = $3 AND 0 > $4)) ORDER BY id LIMIT $5"
            }
        }
    }

    /// Sets the sealed text to $4 where the key is ($1, $2) and the text still is $3.
    pub(crate) fn replace_sql(self) -> &'static str {
        match self {
            DerivedTable::NlpResults => {
                "UPDATE nlp_results SET sealed = $4 \
                 WHERE record_id = $1 AND version = $2 AND sealed = $3"
            }
            DerivedTable::Observations => {
                "UPDATE observations SET sealed = $4 WHERE id = $1 AND 0 = $2 AND sealed = $3"
            }
            DerivedTable::Alerts => {
                "UPDATE cdss_alerts SET sealed = $4 WHERE id = $1 AND 0 = $2 AND sealed = $3"
            }
            DerivedTable::CorrectionProposals => {
                "UPDATE correction_requests SET proposal = $4 \
                 WHERE id = $1 AND 0 = $2 AND proposal = $3"
            }
            DerivedTable::ExportArchives => {
                "UPDATE export_jobs SET sealed = $4 WHERE id = $1 AND 0 = $2 AND sealed = $3"
            }
        }
    }
}

/// Matches any sealed text that names a KEK (not an erased, empty one).
pub(crate) const SEALED_PATTERN: &str = "%\"kek_id\":\"%";

/// Matches sealed text whose data key is wrapped under `kek_id`. Sealed JSON names its KEK as
/// `"kek_id":"<16 hex digits>"`; hex digits are not LIKE wildcards.
pub(crate) fn kek_pattern(kek_id: &str) -> String {
    format!("%\"kek_id\":\"{kek_id}\"%")
}

/// Where a sealed item is: its table and key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DerivedKey {
    pub table: DerivedTable,
    pub id: Uuid,
    /// The record version for NLP results; 0 elsewhere.
    pub version: i64,
}

/// A sealed item and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedSealed {
    pub key: DerivedKey,
    pub sealed: String,
}

#[derive(sqlx::FromRow)]
pub(crate) struct DerivedSqlRow {
    pub(crate) id: Uuid,
    pub(crate) version: i64,
    pub(crate) sealed: String,
}
