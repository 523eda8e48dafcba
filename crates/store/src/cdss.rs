//! Rows of clinical decision support: NLP results beside note versions, observation batches
//! and early-warning alerts. Their clinical content is sealed by the caller (a vault
//! `SealedBlob` as JSON); the store sees only ids, times and the alert's rule, severity and
//! band.

use async_trait::async_trait;
use meditrustal_domain::{RecordCategory, RecordId, UserId};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::StoreError;

/// The sealed NLP analysis of one record version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NlpResultRow {
    pub record_id: RecordId,
    pub version: u32,
    pub sealed: String,
    pub created_by: UserId,
    pub created_at: OffsetDateTime,
}

/// Where an observation batch came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObservationSource {
    /// A vital-signs record's structured content.
    Record,
    /// Measurements the NLP engine extracted from a clinical note.
    Note,
    /// A FHIR Observation.
    Fhir,
}

impl ObservationSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Record => "record",
            Self::Note => "note",
            Self::Fhir => "fhir",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "record" => Ok(Self::Record),
            "note" => Ok(Self::Note),
            "fhir" => Ok(Self::Fhir),
            _ => Err(corrupt("observations", "source")),
        }
    }
}

/// A batch of one patient's observations from one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservationBatch {
    pub id: Uuid,
    pub patient: UserId,
    pub source: ObservationSource,
    /// The record version the batch came from, if any (one batch per version).
    pub record: Option<(RecordId, u32)>,
    /// The latest observation time in the batch.
    pub observed_at: OffsetDateTime,
    pub sealed: String,
    pub created_at: OffsetDateTime,
}

/// An early-warning alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRow {
    pub id: Uuid,
    pub patient: UserId,
    /// `news2`, `qsofa` or `sirs`.
    pub rule: String,
    /// `medium`, `high` or `critical`.
    pub severity: String,
    pub band: String,
    /// The record whose arrival raised it (decides who may see it).
    pub record: Option<(RecordId, RecordCategory)>,
    /// Explanation, totals and observations used, sealed.
    pub sealed: String,
    pub raised_at: OffsetDateTime,
    pub resolved_at: Option<OffsetDateTime>,
}

/// Reads of clinical decision support data; writes go through `LedgerStore::commit`.
#[async_trait]
pub trait CdssStore: Send + Sync + 'static {
    async fn nlp_result(
        &self,
        record: RecordId,
        version: u32,
    ) -> Result<Option<NlpResultRow>, StoreError>;
    /// A patient's newest `limit` observation batches observed at or after `since`, oldest
    /// first.
    async fn observation_batches(
        &self,
        patient: UserId,
        since: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<ObservationBatch>, StoreError>;
    /// A patient's alerts, newest first; `unresolved_only` for the de-duplication check.
    async fn alerts(
        &self,
        patient: UserId,
        unresolved_only: bool,
        limit: u32,
    ) -> Result<Vec<AlertRow>, StoreError>;
}

#[derive(sqlx::FromRow)]
pub(crate) struct NlpResultSqlRow {
    record_id: Uuid,
    version: i64,
    sealed: String,
    created_by: Uuid,
    created_at: OffsetDateTime,
}

impl TryFrom<NlpResultSqlRow> for NlpResultRow {
    type Error = StoreError;

    fn try_from(row: NlpResultSqlRow) -> Result<Self, Self::Error> {
        Ok(NlpResultRow {
            record_id: RecordId(row.record_id),
            version: u32::try_from(row.version).map_err(|_| corrupt("nlp_results", "version"))?,
            sealed: row.sealed,
            created_by: UserId(row.created_by),
            created_at: row.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ObservationSqlRow {
    id: Uuid,
    patient_id: Uuid,
    source: String,
    record_id: Option<Uuid>,
    version: Option<i64>,
    observed_at: OffsetDateTime,
    sealed: String,
    created_at: OffsetDateTime,
}

impl TryFrom<ObservationSqlRow> for ObservationBatch {
    type Error = StoreError;

    fn try_from(row: ObservationSqlRow) -> Result<Self, Self::Error> {
        let record = match (row.record_id, row.version) {
            (Some(id), Some(v)) => Some((
                RecordId(id),
                u32::try_from(v).map_err(|_| corrupt("observations", "version"))?,
            )),
            (None, None) => None,
            _ => return Err(corrupt("observations", "version")),
        };
        Ok(ObservationBatch {
            id: row.id,
            patient: UserId(row.patient_id),
            source: ObservationSource::parse(&row.source)?,
            record,
            observed_at: row.observed_at,
            sealed: row.sealed,
            created_at: row.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AlertSqlRow {
    id: Uuid,
    patient_id: Uuid,
    rule: String,
    severity: String,
    band: String,
    record_id: Option<Uuid>,
    category: Option<String>,
    sealed: String,
    raised_at: OffsetDateTime,
    resolved_at: Option<OffsetDateTime>,
}

impl TryFrom<AlertSqlRow> for AlertRow {
    type Error = StoreError;

    fn try_from(row: AlertSqlRow) -> Result<Self, Self::Error> {
        let record = match (row.record_id, row.category) {
            (Some(id), Some(c)) => Some((
                RecordId(id),
                RecordCategory::parse(&c).map_err(|_| corrupt("cdss_alerts", "category"))?,
            )),
            (None, None) => None,
            _ => return Err(corrupt("cdss_alerts", "category")),
        };
        Ok(AlertRow {
            id: row.id,
            patient: UserId(row.patient_id),
            rule: row.rule,
            severity: row.severity,
            band: row.band,
            record,
            sealed: row.sealed,
            raised_at: row.raised_at,
            resolved_at: row.resolved_at,
        })
    }
}

fn corrupt(table: &'static str, column: &'static str) -> StoreError {
    StoreError::Corrupt { table, column }
}

/// Generates `CdssStore` for a backend from one body of SQL.
macro_rules! cdss_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::CdssStore for $store {
            async fn nlp_result(
                &self,
                record: meditrustal_domain::RecordId,
                version: u32,
            ) -> Result<Option<$crate::NlpResultRow>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::cdss::NlpResultSqlRow>(
                    "SELECT * FROM nlp_results WHERE record_id = $1 AND version = $2",
                )
                .bind(record.0)
                .bind(i64::from(version))
                .fetch_optional(&self.pool)
                .await?
                .map(TryInto::try_into)
                .transpose()
            }

            async fn observation_batches(
                &self,
                patient: meditrustal_domain::UserId,
                since: time::OffsetDateTime,
                limit: u32,
            ) -> Result<Vec<$crate::ObservationBatch>, $crate::StoreError> {
                let mut batches = sqlx::query_as::<_, $crate::cdss::ObservationSqlRow>(
                    "SELECT * FROM observations WHERE patient_id = $1 AND observed_at >= $2 \
                     ORDER BY observed_at DESC, created_at DESC, id DESC LIMIT $3",
                )
                .bind(patient.0)
                .bind(since)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(TryInto::try_into)
                .collect::<Result<Vec<$crate::ObservationBatch>, $crate::StoreError>>()?;
                batches.reverse();
                Ok(batches)
            }

            async fn alerts(
                &self,
                patient: meditrustal_domain::UserId,
                unresolved_only: bool,
                limit: u32,
            ) -> Result<Vec<$crate::AlertRow>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::cdss::AlertSqlRow>(
                    "SELECT * FROM cdss_alerts WHERE patient_id = $1 \
                     AND ($2 = FALSE OR resolved_at IS NULL) \
                     ORDER BY raised_at DESC, id LIMIT $3",
                )
                .bind(patient.0)
                .bind(unresolved_only)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(TryInto::try_into)
                .collect()
            }
        }
    };
}
pub(crate) use cdss_store;
