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
    /// Patients' demographic profiles (`SealedBlob`).
    PatientProfiles,
    /// Research projects' pseudonymisation keys (`SealedBlob`).
    ResearchProjectKeys,
    /// Finished research export files (`SealedRecord`).
    ResearchExportFiles,
    /// The key of the FHIR token index's hashes (`SealedBlob`).
    FhirIndexKey,
}

/// Where a table keeps its item: the table, its key columns (a second one only for NLP
/// results, keyed by record id and version) and the column with the sealed text.
struct Columns {
    table: &'static str,
    id: &'static str,
    version: Option<&'static str>,
    sealed: &'static str,
}

impl DerivedTable {
    pub const ALL: [DerivedTable; 9] = [
        DerivedTable::NlpResults,
        DerivedTable::Observations,
        DerivedTable::Alerts,
        DerivedTable::CorrectionProposals,
        DerivedTable::ExportArchives,
        DerivedTable::PatientProfiles,
        DerivedTable::ResearchProjectKeys,
        DerivedTable::ResearchExportFiles,
        DerivedTable::FhirIndexKey,
    ];

    /// Whether the item is a `SealedRecord` (else a `SealedBlob`).
    pub fn holds_records(self) -> bool {
        matches!(
            self,
            DerivedTable::CorrectionProposals
                | DerivedTable::ExportArchives
                | DerivedTable::ResearchExportFiles
        )
    }

    pub fn name(self) -> &'static str {
        self.columns().table
    }

    fn columns(self) -> Columns {
        let plain = |table, sealed| Columns {
            table,
            id: "id",
            version: None,
            sealed,
        };
        match self {
            DerivedTable::NlpResults => Columns {
                table: "nlp_results",
                id: "record_id",
                version: Some("version"),
                sealed: "sealed",
            },
            DerivedTable::Observations => plain("observations", "sealed"),
            DerivedTable::Alerts => plain("cdss_alerts", "sealed"),
            DerivedTable::CorrectionProposals => plain("correction_requests", "proposal"),
            DerivedTable::ExportArchives => plain("export_jobs", "sealed"),
            DerivedTable::PatientProfiles => Columns {
                id: "patient_id",
                ..plain("patient_profiles", "sealed")
            },
            DerivedTable::ResearchProjectKeys => plain("research_projects", "secret"),
            DerivedTable::ResearchExportFiles => plain("research_exports", "sealed"),
            DerivedTable::FhirIndexKey => plain("fhir_index_keys", "sealed"),
        }
    }

    /// How many items name the KEK matched by `$1` (a [`kek_pattern`]).
    pub(crate) fn count_sql(self) -> String {
        let Columns { table, sealed, .. } = self.columns();
        format!("SELECT COUNT(*) FROM {table} WHERE {sealed} LIKE $1")
    }

    /// Items whose sealed text names a KEK but not `$2`'s, after the key ($3, $4), in key
    /// order, at most $5. `$1` is [`SEALED_PATTERN`]. The version is 0 where a table has
    /// no second key column.
    pub(crate) fn select_sql(self) -> String {
        let Columns {
            table,
            id,
            version,
            sealed,
        } = self.columns();
        let version = version.unwrap_or("CAST(0 AS BIGINT)");
        format!(
            "SELECT {id} AS id, {version} AS version, {sealed} AS sealed FROM {table} \
             WHERE {sealed} LIKE $1 AND {sealed} NOT LIKE $2 \
             AND ({id} > $3 OR ({id} = $3 AND {version} > $4)) \
             ORDER BY {id}, {version} LIMIT $5"
        )
    }

    /// Sets the sealed text to $4 where the key is ($1, $2) and the text still is $3.
    pub(crate) fn replace_sql(self) -> String {
        let Columns {
            table,
            id,
            version,
            sealed,
        } = self.columns();
        let version = version.unwrap_or("0");
        format!(
            "UPDATE {table} SET {sealed} = $4 \
             WHERE {id} = $1 AND {version} = $2 AND {sealed} = $3"
        )
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
