//! Research access: patients' profiles and research consent, research projects, cohort
//! counts and de-identified, k-anonymous exports (docs/research-privacy.md).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use meditrustal_app::{
    App, AppError, CohortCriteria, ObservationRange, ProfileInput, ProjectInput,
    ResearchConsentInput, ResearchFormat,
};
use meditrustal_domain::{DataCategory, PatientProfile, ResearchPurpose, Sex, ValidationError};
use meditrustal_store::{ResearchConsent, ResearchExport, ResearchParticipation, ResearchProject};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;
use uuid::Uuid;

use super::ErrorEnvelope;
use crate::error::ApiError;
use crate::extract::{ApiJson, AuthUser};

const DATE: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

fn parse_date(field: &'static str, value: &str) -> Result<Date, ApiError> {
    Date::parse(value, DATE).map_err(|_| {
        AppError::from(ValidationError::new(
            field,
            "INVALID_DATE",
            format!("{field} must be a date like 2026-01-31"),
        ))
        .into()
    })
}

fn format_date(date: Date) -> String {
    date.format(DATE).unwrap_or_default()
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileBody {
    /// `female`, `male`, `other` or `unknown`.
    pub sex: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// Six-digit administrative division code, e.g. `330106`.
    pub region: String,
    pub name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ProfileView {
    pub sex: Sex,
    pub birth_date: String,
    #[schema(value_type = String)]
    pub region: String,
    pub name: Option<String>,
}

impl From<PatientProfile> for ProfileView {
    fn from(p: PatientProfile) -> Self {
        ProfileView {
            sex: p.sex,
            birth_date: format_date(p.birth_date),
            region: p.region.as_str().to_owned(),
            name: p.name,
        }
    }
}

/// The caller's demographic profile (patients); 404 before one is set.
#[utoipa::path(get, path = "/api/v1/me/profile", tag = "research", security(("bearer" = [])),
    responses((status = 200, body = ProfileView), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope)))]
pub async fn get_profile(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
) -> Result<axum::Json<ProfileView>, ApiError> {
    let profile = app
        .my_profile(&actor)
        .await?
        .ok_or(AppError::NotFound { what: "profile" })?;
    Ok(axum::Json(profile.into()))
}

/// Set the caller's demographic profile (patients). Stored encrypted; research outputs
/// only ever show it generalised.
#[utoipa::path(put, path = "/api/v1/me/profile", tag = "research", security(("bearer" = [])),
    request_body = ProfileBody,
    responses((status = 200, body = ProfileView), (status = 403, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn put_profile(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    ApiJson(body): ApiJson<ProfileBody>,
) -> Result<axum::Json<ProfileView>, ApiError> {
    let input = ProfileInput {
        sex: body.sex,
        birth_date: parse_date("birth_date", &body.birth_date)?,
        region: body.region,
        name: body.name,
    };
    Ok(axum::Json(app.set_my_profile(&actor, input).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResearchConsentBody {
    /// `academic`, `public-health` or `commercial`.
    pub purpose: String,
    /// `demographics`, `diagnoses`, `observations` or `notes`.
    pub category: String,
    pub opted_in: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ResearchConsentView {
    pub purpose: ResearchPurpose,
    pub category: DataCategory,
    pub opted_in: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub changed_at: OffsetDateTime,
}

impl From<ResearchConsent> for ResearchConsentView {
    fn from(c: ResearchConsent) -> Self {
        ResearchConsentView {
            purpose: c.purpose,
            category: c.category,
            opted_in: c.opted_in,
            changed_at: c.changed_at,
        }
    }
}

/// The caller's research-consent choices (patients). Anything not listed is opted out.
#[utoipa::path(get, path = "/api/v1/me/research-consents", tag = "research", security(("bearer" = [])),
    responses((status = 200, body = Vec<ResearchConsentView>), (status = 403, body = ErrorEnvelope)))]
pub async fn list_research_consents(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
) -> Result<axum::Json<Vec<ResearchConsentView>>, ApiError> {
    let consents = app.my_research_consents(&actor).await?;
    Ok(axum::Json(consents.into_iter().map(Into::into).collect()))
}

/// Opt in to or out of research for one purpose and data category (patients). Takes
/// effect at once, also for exports still being built.
#[utoipa::path(put, path = "/api/v1/me/research-consents", tag = "research", security(("bearer" = [])),
    request_body = ResearchConsentBody,
    responses((status = 200, body = ResearchConsentView), (status = 403, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn set_research_consent(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    ApiJson(body): ApiJson<ResearchConsentBody>,
) -> Result<axum::Json<ResearchConsentView>, ApiError> {
    let input = ResearchConsentInput {
        purpose: body.purpose,
        category: body.category,
        opted_in: body.opted_in,
    };
    Ok(axum::Json(
        app.set_research_consent(&actor, input).await?.into(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct ParticipationView {
    pub export_id: Uuid,
    pub project_id: Uuid,
    pub project_title: String,
    /// The researcher's pseudonymous DID.
    pub researcher_did: String,
    /// SHA-256 (hex) of the export file, as on the ledger.
    pub sha256: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub exported_at: Option<OffsetDateTime>,
}

impl From<ResearchParticipation> for ParticipationView {
    fn from(p: ResearchParticipation) -> Self {
        ParticipationView {
            export_id: p.export_id,
            project_id: p.project_id,
            project_title: p.project_title,
            researcher_did: p.researcher_did,
            sha256: p.sha256,
            exported_at: p.finished_at,
        }
    }
}

/// The research exports that included the caller's data (patients).
#[utoipa::path(get, path = "/api/v1/me/research-exports", tag = "research", security(("bearer" = [])),
    responses((status = 200, body = Vec<ParticipationView>), (status = 403, body = ErrorEnvelope)))]
pub async fn my_research_exports(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
) -> Result<axum::Json<Vec<ParticipationView>>, ApiError> {
    let rows = app.my_research_participation(&actor).await?;
    Ok(axum::Json(rows.into_iter().map(Into::into).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectBody {
    pub title: String,
    /// `academic`, `public-health` or `commercial`.
    pub purpose: String,
    pub description: String,
    /// The ethics committee's approval number.
    pub ethics_approval: String,
    /// Data categories requested: `demographics`, `diagnoses`, `observations`, `notes`.
    pub categories: Vec<String>,
    /// `YYYY-MM-DD`; data from this day on.
    pub period_start: String,
    /// `YYYY-MM-DD`; data up to this day; ages are computed on it.
    pub period_end: String,
}

#[derive(Serialize, ToSchema)]
pub struct ProjectView {
    pub id: Uuid,
    pub researcher_id: Uuid,
    pub title: String,
    pub purpose: ResearchPurpose,
    pub description: String,
    pub ethics_approval: String,
    pub categories: Vec<DataCategory>,
    pub period_start: String,
    pub period_end: String,
    /// `pending`, `approved` or `rejected`.
    pub status: &'static str,
    pub decision_reason: Option<String>,
    pub queries_used: u64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<ResearchProject> for ProjectView {
    fn from(p: ResearchProject) -> Self {
        ProjectView {
            id: p.id,
            researcher_id: p.researcher.0,
            title: p.title,
            purpose: p.purpose,
            description: p.description,
            ethics_approval: p.ethics_approval,
            categories: p.categories,
            period_start: format_date(p.period_start),
            period_end: format_date(p.period_end),
            status: p.status.as_str(),
            decision_reason: p.decision_reason,
            queries_used: p.queries_used,
            created_at: p.created_at,
        }
    }
}

/// Propose a research project (researchers); an administrator approves or rejects it.
#[utoipa::path(post, path = "/api/v1/research/projects", tag = "research", security(("bearer" = [])),
    request_body = ProjectBody,
    responses((status = 201, body = ProjectView), (status = 403, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn propose_project(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    ApiJson(body): ApiJson<ProjectBody>,
) -> Result<impl IntoResponse, ApiError> {
    let input = ProjectInput {
        title: body.title,
        purpose: body.purpose,
        description: body.description,
        ethics_approval: body.ethics_approval,
        categories: body.categories,
        period_start: parse_date("period_start", &body.period_start)?,
        period_end: parse_date("period_end", &body.period_end)?,
    };
    let project = app.propose_research_project(&actor, input).await?;
    Ok((StatusCode::CREATED, axum::Json(ProjectView::from(project))))
}

/// The caller's projects (researchers) or all projects (administrators).
#[utoipa::path(get, path = "/api/v1/research/projects", tag = "research", security(("bearer" = [])),
    responses((status = 200, body = Vec<ProjectView>), (status = 403, body = ErrorEnvelope)))]
pub async fn list_projects(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
) -> Result<axum::Json<Vec<ProjectView>>, ApiError> {
    let projects = app.research_projects(&actor).await?;
    Ok(axum::Json(projects.into_iter().map(Into::into).collect()))
}

/// One project (its researcher or an administrator).
#[utoipa::path(get, path = "/api/v1/research/projects/{id}", tag = "research",
    params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = ProjectView), (status = 404, body = ErrorEnvelope)))]
pub async fn get_project(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<ProjectView>, ApiError> {
    Ok(axum::Json(app.research_project(&actor, id).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    pub approve: bool,
    pub reason: Option<String>,
}

/// Approve or reject a pending project (administrators).
#[utoipa::path(post, path = "/api/v1/research/projects/{id}/decision", tag = "research",
    params(("id" = Uuid, Path)), request_body = DecisionBody, security(("bearer" = [])),
    responses((status = 200, body = ProjectView), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub async fn decide_project(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<DecisionBody>,
) -> Result<axum::Json<ProjectView>, ApiError> {
    let project = app
        .decide_research_project(&actor, id, body.approve, body.reason)
        .await?;
    Ok(axum::Json(project.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObservationRangeBody {
    pub code: String,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CriteriaBody {
    pub age_min: Option<u32>,
    pub age_max: Option<u32>,
    /// `female`, `male`, `other` or `unknown`.
    pub sex: Option<String>,
    /// ICD-10 codes (`E11.9`) or prefixes (`E11*`); any one matches.
    #[serde(default)]
    pub icd10: Vec<String>,
    #[serde(default)]
    pub observations: Vec<ObservationRangeBody>,
    /// `YYYY-MM-DD`: diagnoses and observations from this day.
    pub from: Option<String>,
    /// `YYYY-MM-DD`: diagnoses and observations up to this day.
    pub to: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CountView {
    /// The protected count, or null when fewer than 5 (suppressed).
    pub count: Option<u64>,
    /// `<5` or the number.
    pub display: String,
    pub queries_left: u64,
}

/// Count consenting patients matching the criteria (the project's researcher, once
/// approved). Counts under 5 are suppressed; others carry repeatable noise and are rounded
/// to a multiple of 5; each question spends one unit of the project's budget.
#[utoipa::path(post, path = "/api/v1/research/projects/{id}/counts", tag = "research",
    params(("id" = Uuid, Path)), request_body = CriteriaBody, security(("bearer" = [])),
    responses((status = 200, body = CountView), (status = 404, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope),
        (status = 429, description = "`QUERY_BUDGET_SPENT`", body = ErrorEnvelope)))]
pub async fn count_cohort(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<CriteriaBody>,
) -> Result<axum::Json<CountView>, ApiError> {
    let criteria = CohortCriteria {
        age_min: body.age_min,
        age_max: body.age_max,
        sex: body
            .sex
            .as_deref()
            .map(Sex::parse)
            .transpose()
            .map_err(AppError::from)?,
        icd10: body.icd10,
        observations: body
            .observations
            .into_iter()
            .map(|o| ObservationRange {
                code: o.code,
                min: o.min,
                max: o.max,
            })
            .collect(),
        from: body
            .from
            .as_deref()
            .map(|d| parse_date("from", d))
            .transpose()?,
        to: body
            .to
            .as_deref()
            .map(|d| parse_date("to", d))
            .transpose()?,
    };
    let count = app.count_cohort(&actor, id, criteria).await?;
    Ok(axum::Json(CountView {
        count: count.count,
        display: count.display,
        queries_left: count.queries_left,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportBody {
    /// `csv` (default) or `ndjson` (FHIR R4 resources, one per line).
    pub format: Option<String>,
    /// Every combination of quasi-identifiers is shared by at least k rows (2-100, default 5).
    pub k: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct ResearchExportView {
    pub id: Uuid,
    pub project_id: Uuid,
    pub format: String,
    pub k: u32,
    /// `pending`, `running`, `done` or `failed`.
    pub status: &'static str,
    pub size_bytes: Option<u64>,
    /// SHA-256 (hex) of the file, as on the ledger.
    pub sha256: Option<String>,
    /// What was generalised or suppressed, once done.
    #[schema(value_type = Option<Object>)]
    pub report: Option<serde_json::Value>,
    pub error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<OffsetDateTime>,
    pub download: Option<String>,
}

impl From<ResearchExport> for ResearchExportView {
    fn from(job: ResearchExport) -> Self {
        let done = job.status == meditrustal_store::ExportStatus::Done;
        ResearchExportView {
            id: job.id,
            project_id: job.project,
            format: job.format,
            k: job.k,
            status: job.status.as_str(),
            size_bytes: job.size_bytes,
            sha256: job.sha256,
            report: job
                .report
                .as_deref()
                .and_then(|r| serde_json::from_str(r).ok()),
            error: job.error,
            created_at: job.created_at,
            finished_at: job.finished_at,
            download: done.then(|| format!("/api/v1/research/exports/{}/download", job.id)),
        }
    }
}

/// Start a de-identified, k-anonymous export of the project's data (its researcher, once
/// approved). Built in the background: poll the job, then download the file.
#[utoipa::path(post, path = "/api/v1/research/projects/{id}/exports", tag = "research",
    params(("id" = Uuid, Path)), request_body = ExportBody, security(("bearer" = [])),
    responses((status = 202, body = ResearchExportView), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn start_research_export(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<ExportBody>,
) -> Result<impl IntoResponse, ApiError> {
    let format =
        ResearchFormat::parse(body.format.as_deref().unwrap_or("csv")).map_err(AppError::from)?;
    let job = app
        .start_research_export(&actor, id, format, body.k)
        .await?;
    let location = format!("/api/v1/research/exports/{}", job.id);
    Ok((
        StatusCode::ACCEPTED,
        [(axum::http::header::CONTENT_LOCATION, location)],
        axum::Json(ResearchExportView::from(job)),
    ))
}

/// A project's exports, newest first.
#[utoipa::path(get, path = "/api/v1/research/projects/{id}/exports", tag = "research",
    params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Vec<ResearchExportView>), (status = 404, body = ErrorEnvelope)))]
pub async fn list_research_exports(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<Vec<ResearchExportView>>, ApiError> {
    let jobs = app.research_exports(&actor, id).await?;
    Ok(axum::Json(jobs.into_iter().map(Into::into).collect()))
}

/// A research export job's status and, once done, its generalisation report.
#[utoipa::path(get, path = "/api/v1/research/exports/{id}", tag = "research",
    params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = ResearchExportView), (status = 404, body = ErrorEnvelope)))]
pub async fn research_export_status(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<ResearchExportView>, ApiError> {
    Ok(axum::Json(
        app.research_export_status(&actor, id).await?.into(),
    ))
}

/// Download a finished research export (its researcher); audited.
#[utoipa::path(get, path = "/api/v1/research/exports/{id}/download", tag = "research",
    params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, description = "The CSV or NDJSON file", content_type = "text/csv"),
        (status = 404, body = ErrorEnvelope), (status = 409, description = "not done yet", body = ErrorEnvelope)))]
pub async fn download_research_export(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    Path(id): Path<Uuid>,
) -> Result<impl IntoResponse, ApiError> {
    let file = app.download_research_export(&actor, id).await?;
    let disposition = format!(
        "attachment; filename=\"research-export-{}.{}\"",
        file.job.id,
        file.format.as_str()
    );
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                file.format.content_type().to_owned(),
            ),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        file.bytes,
    ))
}
