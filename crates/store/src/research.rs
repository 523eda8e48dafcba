//! Rows of research access (migration 0007): patient profiles (sealed by the caller),
//! research projects, research consent (append-only; the newest row of a patient, purpose
//! and category is the current choice), research export jobs and whose data each finished
//! export holds. Writes go through `LedgerStore::commit` like every audited change.

use async_trait::async_trait;
use meditrustal_domain::{DataCategory, ResearchPurpose, UserId};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::{ExportStatus, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectStatus {
    Pending,
    Approved,
    Rejected,
}

impl ProjectStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectStatus::Pending => "pending",
            ProjectStatus::Approved => "approved",
            ProjectStatus::Rejected => "rejected",
        }
    }

    fn parse(value: &str) -> Result<Self, StoreError> {
        [Self::Pending, Self::Approved, Self::Rejected]
            .into_iter()
            .find(|s| s.as_str() == value)
            .ok_or(corrupt("research_projects", "status"))
    }
}

/// A research project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResearchProject {
    pub id: Uuid,
    pub researcher: UserId,
    pub title: String,
    pub purpose: ResearchPurpose,
    pub description: String,
    pub ethics_approval: String,
    pub categories: Vec<DataCategory>,
    pub period_start: Date,
    pub period_end: Date,
    pub status: ProjectStatus,
    /// The vault-sealed project key (pseudonyms, date shifts, count noise derive from it).
    pub secret: String,
    pub queries_used: u64,
    pub decided_by: Option<UserId>,
    pub decision_reason: Option<String>,
    pub created_at: OffsetDateTime,
    pub decided_at: Option<OffsetDateTime>,
}

/// One research-consent choice of a patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResearchConsent {
    pub patient: UserId,
    pub purpose: ResearchPurpose,
    pub category: DataCategory,
    pub opted_in: bool,
    pub changed_at: OffsetDateTime,
}

/// A research export job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResearchExport {
    pub id: Uuid,
    pub project: Uuid,
    /// `csv` or `ndjson`.
    pub format: String,
    pub k: u32,
    pub status: ExportStatus,
    /// The vault's `SealedRecord` of the file, once done.
    pub sealed: Option<String>,
    pub size_bytes: Option<u64>,
    pub sha256: Option<String>,
    /// The generalisation report (JSON), once done.
    pub report: Option<String>,
    pub error: Option<String>,
    pub created_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
}

/// A finished export that holds a patient's data, as that patient sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResearchParticipation {
    pub export_id: Uuid,
    pub project_id: Uuid,
    pub project_title: String,
    pub researcher_did: String,
    pub sha256: Option<String>,
    pub finished_at: Option<OffsetDateTime>,
}

/// Reads of research data; writes go through `LedgerStore::commit`.
#[async_trait]
pub trait ResearchStore: Send + Sync + 'static {
    /// A patient's sealed profile and when it was last changed.
    async fn patient_profile(
        &self,
        patient: UserId,
    ) -> Result<Option<(String, OffsetDateTime)>, StoreError>;
    async fn research_project(&self, id: Uuid) -> Result<Option<ResearchProject>, StoreError>;
    /// Projects of one researcher (or all), newest first.
    async fn research_projects(
        &self,
        researcher: Option<UserId>,
    ) -> Result<Vec<ResearchProject>, StoreError>;
    /// Current research-consent choices of one patient (or of every patient), for one
    /// purpose or all, ordered by patient, purpose and category.
    async fn research_consents(
        &self,
        patient: Option<UserId>,
        purpose: Option<ResearchPurpose>,
    ) -> Result<Vec<ResearchConsent>, StoreError>;
    /// How many research-consent changes were ever made; a change moves it.
    async fn research_consent_epoch(&self) -> Result<u64, StoreError>;
    async fn research_export(&self, id: Uuid) -> Result<Option<ResearchExport>, StoreError>;
    async fn research_exports(&self, project: Uuid) -> Result<Vec<ResearchExport>, StoreError>;
    /// Finished exports that hold the patient's data, newest first.
    async fn research_participation(
        &self,
        patient: UserId,
    ) -> Result<Vec<ResearchParticipation>, StoreError>;
}

/// The research writes of a [`crate::Change`].
#[derive(Debug, Clone)]
pub enum ResearchWrite {
    UpsertProfile {
        patient: UserId,
        sealed: String,
        at: OffsetDateTime,
    },
    InsertProject(ResearchProject),
    /// Fails with `Stale` unless the project is still pending.
    DecideProject {
        id: Uuid,
        status: ProjectStatus,
        decided_by: UserId,
        reason: Option<String>,
        at: OffsetDateTime,
    },
    InsertConsent(ResearchConsent),
    /// Uses one cohort query of the project's budget; fails with `Stale` when it is spent.
    UseQuery {
        project: Uuid,
        budget: u64,
    },
    InsertExport(ResearchExport),
    /// Ends an export; fails with `Stale` unless it was pending or running and, when
    /// `epoch` is given, no research consent changed since the export read it.
    FinishExport {
        job: ResearchExport,
        epoch: Option<u64>,
        subjects: Vec<UserId>,
    },
}

#[derive(sqlx::FromRow)]
pub(crate) struct ProjectSqlRow {
    id: Uuid,
    researcher_id: Uuid,
    title: String,
    purpose: String,
    description: String,
    ethics_approval: String,
    categories: String,
    period_start: Date,
    period_end: Date,
    status: String,
    secret: String,
    queries_used: i64,
    decided_by: Option<Uuid>,
    decision_reason: Option<String>,
    created_at: OffsetDateTime,
    decided_at: Option<OffsetDateTime>,
}

impl TryFrom<ProjectSqlRow> for ResearchProject {
    type Error = StoreError;

    fn try_from(row: ProjectSqlRow) -> Result<Self, Self::Error> {
        let names: Vec<String> = serde_json::from_str(&row.categories)
            .map_err(|_| corrupt("research_projects", "categories"))?;
        let categories = names
            .iter()
            .map(|n| DataCategory::parse(n).map_err(|_| corrupt("research_projects", "categories")))
            .collect::<Result<_, _>>()?;
        Ok(ResearchProject {
            id: row.id,
            researcher: UserId(row.researcher_id),
            title: row.title,
            purpose: ResearchPurpose::parse(&row.purpose)
                .map_err(|_| corrupt("research_projects", "purpose"))?,
            description: row.description,
            ethics_approval: row.ethics_approval,
            categories,
            period_start: row.period_start,
            period_end: row.period_end,
            status: ProjectStatus::parse(&row.status)?,
            secret: row.secret,
            queries_used: u64::try_from(row.queries_used).unwrap_or(0),
            decided_by: row.decided_by.map(UserId),
            decision_reason: row.decision_reason,
            created_at: row.created_at,
            decided_at: row.decided_at,
        })
    }
}

pub(crate) fn categories_json(categories: &[DataCategory]) -> Result<String, StoreError> {
    serde_json::to_string(&categories.iter().map(|c| c.as_str()).collect::<Vec<_>>())
        .map_err(|_| corrupt("research_projects", "categories"))
}

#[derive(sqlx::FromRow)]
pub(crate) struct ConsentSqlRow {
    patient_id: Uuid,
    purpose: String,
    category: String,
    opted_in: bool,
    changed_at: OffsetDateTime,
}

impl TryFrom<ConsentSqlRow> for ResearchConsent {
    type Error = StoreError;

    fn try_from(row: ConsentSqlRow) -> Result<Self, Self::Error> {
        Ok(ResearchConsent {
            patient: UserId(row.patient_id),
            purpose: ResearchPurpose::parse(&row.purpose)
                .map_err(|_| corrupt("research_consents", "purpose"))?,
            category: DataCategory::parse(&row.category)
                .map_err(|_| corrupt("research_consents", "category"))?,
            opted_in: row.opted_in,
            changed_at: row.changed_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ExportSqlRow {
    id: Uuid,
    project_id: Uuid,
    format: String,
    k: i64,
    status: String,
    sealed: Option<String>,
    size_bytes: Option<i64>,
    sha256: Option<String>,
    report: Option<String>,
    error: Option<String>,
    created_at: OffsetDateTime,
    finished_at: Option<OffsetDateTime>,
}

impl TryFrom<ExportSqlRow> for ResearchExport {
    type Error = StoreError;

    fn try_from(row: ExportSqlRow) -> Result<Self, Self::Error> {
        Ok(ResearchExport {
            id: row.id,
            project: row.project_id,
            format: row.format,
            k: u32::try_from(row.k).map_err(|_| corrupt("research_exports", "k"))?,
            status: ExportStatus::parse(&row.status)
                .ok_or(corrupt("research_exports", "status"))?,
            sealed: row.sealed,
            size_bytes: row
                .size_bytes
                .map(|s| u64::try_from(s).map_err(|_| corrupt("research_exports", "size_bytes")))
                .transpose()?,
            sha256: row.sha256,
            report: row.report,
            error: row.error,
            created_at: row.created_at,
            finished_at: row.finished_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ParticipationSqlRow {
    id: Uuid,
    project_id: Uuid,
    title: String,
    did: String,
    sha256: Option<String>,
    finished_at: Option<OffsetDateTime>,
}

impl From<ParticipationSqlRow> for ResearchParticipation {
    fn from(row: ParticipationSqlRow) -> Self {
        ResearchParticipation {
            export_id: row.id,
            project_id: row.project_id,
            project_title: row.title,
            researcher_did: row.did,
            sha256: row.sha256,
            finished_at: row.finished_at,
        }
    }
}

fn corrupt(table: &'static str, column: &'static str) -> StoreError {
    StoreError::Corrupt { table, column }
}

pub(crate) fn to_i64(value: u64, column: &'static str) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| corrupt("research", column))
}

/// Generates `ResearchStore` for a backend, and `apply_research_write`, which the backend's
/// `apply_write` calls for [`crate::Write::Research`].
macro_rules! research_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::ResearchStore for $store {
            async fn patient_profile(
                &self,
                patient: meditrustal_domain::UserId,
            ) -> Result<Option<(String, time::OffsetDateTime)>, $crate::StoreError> {
                Ok(sqlx::query_as::<_, (String, time::OffsetDateTime)>(
                    "SELECT sealed, updated_at FROM patient_profiles WHERE patient_id = $1",
                )
                .bind(patient.0)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn research_project(
                &self,
                id: uuid::Uuid,
            ) -> Result<Option<$crate::ResearchProject>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::research::ProjectSqlRow>(
                    "SELECT * FROM research_projects WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .map(TryInto::try_into)
                .transpose()
            }

            async fn research_projects(
                &self,
                researcher: Option<meditrustal_domain::UserId>,
            ) -> Result<Vec<$crate::ResearchProject>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::research::ProjectSqlRow>(
                    "SELECT * FROM research_projects WHERE ($1 IS NULL OR researcher_id = $1) \
                     ORDER BY created_at DESC, id",
                )
                .bind(researcher.map(|r| r.0))
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(TryInto::try_into)
                .collect()
            }

            async fn research_consents(
                &self,
                patient: Option<meditrustal_domain::UserId>,
                purpose: Option<meditrustal_domain::ResearchPurpose>,
            ) -> Result<Vec<$crate::ResearchConsent>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::research::ConsentSqlRow>(
                    "SELECT c.patient_id, c.purpose, c.category, c.opted_in, c.changed_at \
                     FROM research_consents c \
                     WHERE ($1 IS NULL OR c.patient_id = $1) AND ($2 IS NULL OR c.purpose = $2) \
                     AND c.seq = (SELECT MAX(d.seq) FROM research_consents d \
                        WHERE d.patient_id = c.patient_id AND d.purpose = c.purpose \
                        AND d.category = c.category) \
                     ORDER BY c.patient_id, c.purpose, c.category",
                )
                .bind(patient.map(|p| p.0))
                .bind(purpose.map(|p| p.as_str()))
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(TryInto::try_into)
                .collect()
            }

            async fn research_consent_epoch(&self) -> Result<u64, $crate::StoreError> {
                let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM research_consents")
                    .fetch_one(&self.pool)
                    .await?;
                Ok(u64::try_from(count).unwrap_or(0))
            }

            async fn research_export(
                &self,
                id: uuid::Uuid,
            ) -> Result<Option<$crate::ResearchExport>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::research::ExportSqlRow>(
                    "SELECT * FROM research_exports WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .map(TryInto::try_into)
                .transpose()
            }

            async fn research_exports(
                &self,
                project: uuid::Uuid,
            ) -> Result<Vec<$crate::ResearchExport>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::research::ExportSqlRow>(
                    "SELECT * FROM research_exports WHERE project_id = $1 ORDER BY created_at DESC, id",
                )
                .bind(project)
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(TryInto::try_into)
                .collect()
            }

            async fn research_participation(
                &self,
                patient: meditrustal_domain::UserId,
            ) -> Result<Vec<$crate::ResearchParticipation>, $crate::StoreError> {
                Ok(sqlx::query_as::<_, $crate::research::ParticipationSqlRow>(
                    "SELECT e.id, e.project_id, p.title, u.did, e.sha256, e.finished_at \
                     FROM research_export_subjects s \
                     JOIN research_exports e ON e.id = s.export_id \
                     JOIN research_projects p ON p.id = e.project_id \
                     JOIN users u ON u.id = p.researcher_id \
                     WHERE s.patient_id = $1 ORDER BY e.finished_at DESC, e.id",
                )
                .bind(patient.0)
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(Into::into)
                .collect())
            }
        }

        async fn apply_research_write(
            tx: &mut <<$store as $crate::sql_backend::SqlBackend>::Db as sqlx::Database>::Connection,
            write: $crate::ResearchWrite,
        ) -> Result<(), $crate::StoreError> {
            use $crate::ResearchWrite as R;
            let stale = |what: &'static str| $crate::StoreError::Stale { what };
            match write {
                R::UpsertProfile { patient, sealed, at } => {
                    sqlx::query(
                        "INSERT INTO patient_profiles (patient_id, sealed, updated_at) VALUES ($1, $2, $3) \
                         ON CONFLICT (patient_id) DO UPDATE SET sealed = excluded.sealed, \
                         updated_at = excluded.updated_at",
                    )
                    .bind(patient.0)
                    .bind(&sealed)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    Ok(())
                }
                R::InsertProject(p) => {
                    sqlx::query(
                        "INSERT INTO research_projects (id, researcher_id, title, purpose, description, \
                         ethics_approval, categories, period_start, period_end, status, secret, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                    )
                    .bind(p.id)
                    .bind(p.researcher.0)
                    .bind(&p.title)
                    .bind(p.purpose.as_str())
                    .bind(&p.description)
                    .bind(&p.ethics_approval)
                    .bind($crate::research::categories_json(&p.categories)?)
                    .bind(p.period_start)
                    .bind(p.period_end)
                    .bind(p.status.as_str())
                    .bind(&p.secret)
                    .bind(p.created_at)
                    .execute(&mut *tx)
                    .await?;
                    Ok(())
                }
                R::DecideProject { id, status, decided_by, reason, at } => {
                    let updated = sqlx::query(
                        "UPDATE research_projects SET status = $2, decided_by = $3, decision_reason = $4, \
                         decided_at = $5 WHERE id = $1 AND status = 'pending'",
                    )
                    .bind(id)
                    .bind(status.as_str())
                    .bind(decided_by.0)
                    .bind(&reason)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if updated == 1 { Ok(()) } else { Err(stale("research project")) }
                }
                R::InsertConsent(c) => {
                    sqlx::query(
                        "INSERT INTO research_consents (seq, patient_id, purpose, category, opted_in, changed_at) \
                         SELECT COALESCE(MAX(seq), 0) + 1, $1, $2, $3, $4, $5 FROM research_consents",
                    )
                    .bind(c.patient.0)
                    .bind(c.purpose.as_str())
                    .bind(c.category.as_str())
                    .bind(c.opted_in)
                    .bind(c.changed_at)
                    .execute(&mut *tx)
                    .await?;
                    Ok(())
                }
                R::UseQuery { project, budget } => {
                    let updated = sqlx::query(
                        "UPDATE research_projects SET queries_used = queries_used + 1 \
                         WHERE id = $1 AND status = 'approved' AND queries_used < $2",
                    )
                    .bind(project)
                    .bind($crate::research::to_i64(budget, "queries_used")?)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if updated == 1 { Ok(()) } else { Err(stale("query budget")) }
                }
                R::InsertExport(job) => {
                    sqlx::query(
                        "INSERT INTO research_exports (id, project_id, format, k, status, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(job.id)
                    .bind(job.project)
                    .bind(&job.format)
                    .bind(i64::from(job.k))
                    .bind(job.status.as_str())
                    .bind(job.created_at)
                    .execute(&mut *tx)
                    .await?;
                    Ok(())
                }
                R::FinishExport { job, epoch, subjects } => {
                    let size = job
                        .size_bytes
                        .map(|v| $crate::research::to_i64(v, "size_bytes"))
                        .transpose()?;
                    let epoch = epoch.map(|e| $crate::research::to_i64(e, "epoch")).transpose()?;
                    let updated = sqlx::query(
                        "UPDATE research_exports SET status = $2, sealed = $3, size_bytes = $4, sha256 = $5, \
                         report = $6, error = $7, finished_at = $8 \
                         WHERE id = $1 AND status IN ('pending', 'running') \
                         AND ($9 IS NULL OR $9 = (SELECT COUNT(*) FROM research_consents))",
                    )
                    .bind(job.id)
                    .bind(job.status.as_str())
                    .bind(&job.sealed)
                    .bind(size)
                    .bind(&job.sha256)
                    .bind(&job.report)
                    .bind(&job.error)
                    .bind(job.finished_at)
                    .bind(epoch)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if updated != 1 {
                        return Err(stale("research export"));
                    }
                    for patient in subjects {
                        sqlx::query(
                            "INSERT INTO research_export_subjects (export_id, patient_id) VALUES ($1, $2)",
                        )
                        .bind(job.id)
                        .bind(patient.0)
                        .execute(&mut *tx)
                        .await?;
                    }
                    Ok(())
                }
            }
        }
    };
}
pub(crate) use research_store;
