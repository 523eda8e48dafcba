//! Data-subject rights (PIPL): erasure of a record or an account, legal holds,
//! corrections, and exports.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use meditrustal_app::{App, CorrectionDecision, CorrectionInput, ErasureOutcome};
use meditrustal_domain::{RecordId, UserId};
use meditrustal_store::{CorrectionRequest, ExportJob, ExportStatus};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::ErrorEnvelope;
use super::records::{ReadQuery, RecordView, purpose};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, AuthUser};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErasureBody {
    /// Required from an administrator executing a verified request (1–500 characters, a
    /// request reference, never personal data); a patient's own request needs none and
    /// none is kept.
    pub reason: Option<String>,
}

/// A tombstone: all that remains of an erased record.
#[derive(Serialize, ToSchema)]
pub struct TombstoneView {
    pub record_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub erased_at: OffsetDateTime,
    /// `pipl-art47-subject-request`, `pipl-art47-verified-request` or
    /// `pipl-art47-retention-expired`.
    pub legal_basis: String,
}

#[derive(Serialize, ToSchema)]
pub struct ErasureView {
    pub erased: Vec<TombstoneView>,
    /// Ciphertext objects deleted from object storage.
    pub objects_deleted: u64,
    /// Objects that could not be deleted now; unreadable already (their keys are gone),
    /// and removed by `meditrustal gc`.
    pub objects_left: u64,
}

impl From<ErasureOutcome> for ErasureView {
    fn from(outcome: ErasureOutcome) -> Self {
        ErasureView {
            erased: outcome
                .records
                .into_iter()
                .map(|(id, erasure)| TombstoneView {
                    record_id: id.0,
                    erased_at: erasure.at,
                    legal_basis: erasure.basis,
                })
                .collect(),
            objects_deleted: outcome.objects_deleted,
            objects_left: outcome.objects_left,
        }
    }
}

/// Erase a record (crypto-shredding): its data keys are destroyed and its ciphertext
/// deleted; the ledger keeps its entries. The patient, or an administrator with a reason.
#[utoipa::path(post, path = "/api/v1/records/{id}/erasure", tag = "rights", params(("id" = Uuid, Path)),
    request_body = ErasureBody, security(("bearer" = [])),
    responses((status = 200, body = ErasureView),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "`LEGAL_HOLD`: the record must be kept", body = ErrorEnvelope),
        (status = 410, description = "`RECORD_ERASED`: already erased", body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn erase_record(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<ErasureBody>,
) -> Result<axum::Json<ErasureView>, ApiError> {
    let outcome = app
        .erase_record(&actor, RecordId(id), body.reason.as_deref())
        .await?;
    Ok(axum::Json(outcome.into()))
}

/// Erase one's own patient account: every record, then the account's personal data.
/// Refused as a whole (409 `LEGAL_HOLD`) while any record is on legal hold.
#[utoipa::path(post, path = "/api/v1/me/erasure", tag = "rights",
    request_body = ErasureBody, security(("bearer" = [])),
    responses((status = 200, body = ErasureView), (status = 403, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope)))]
pub async fn erase_my_account(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    ApiJson(body): ApiJson<ErasureBody>,
) -> Result<axum::Json<ErasureView>, ApiError> {
    let patient = actor.user_id;
    let outcome = app
        .erase_account(&actor, patient, body.reason.as_deref())
        .await?;
    Ok(axum::Json(outcome.into()))
}

/// Execute a verified erasure request for a patient's account (administrators; reason
/// required).
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/erasure", tag = "rights",
    params(("id" = Uuid, Path, description = "Patient id")),
    request_body = ErasureBody, security(("bearer" = [])),
    responses((status = 200, body = ErasureView), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn erase_account(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<ErasureBody>,
) -> Result<axum::Json<ErasureView>, ApiError> {
    let outcome = app
        .erase_account(&actor, UserId(id), body.reason.as_deref())
        .await?;
    Ok(axum::Json(outcome.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldBody {
    /// Why the record must be kept (1–500 characters, e.g. a case number).
    pub reason: String,
}

/// Put a record under legal hold (administrators): erasure is refused until cleared.
#[utoipa::path(put, path = "/api/v1/admin/records/{id}/legal-hold", tag = "rights",
    params(("id" = Uuid, Path)), request_body = HoldBody, security(("bearer" = [])),
    responses((status = 200, body = RecordView), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, description = "already held", body = ErrorEnvelope),
        (status = 410, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn set_legal_hold(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<HoldBody>,
) -> Result<axum::Json<RecordView>, ApiError> {
    let meta = app
        .set_legal_hold(&actor, RecordId(id), &body.reason)
        .await?;
    Ok(axum::Json(meta.into()))
}

/// Clear a record's legal hold (administrators).
#[utoipa::path(delete, path = "/api/v1/admin/records/{id}/legal-hold", tag = "rights",
    params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = RecordView), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, description = "not held", body = ErrorEnvelope)))]
pub async fn clear_legal_hold(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<RecordView>, ApiError> {
    let meta = app.clear_legal_hold(&actor, RecordId(id)).await?;
    Ok(axum::Json(meta.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectionBody {
    /// The corrected content, as text (it becomes the next version when accepted).
    pub content: String,
    /// Media type of `content`; default `text/plain; charset=utf-8`.
    pub content_type: Option<String>,
    /// Why the record is wrong (1–500 characters).
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct CorrectionView {
    pub id: Uuid,
    pub record_id: Uuid,
    pub patient_id: Uuid,
    /// The version the patient asked to correct.
    pub base_version: u32,
    pub content_type: String,
    pub reason: String,
    /// `pending`, `accepted` or `rejected`.
    pub status: &'static str,
    pub decided_by: Option<Uuid>,
    /// Why a request was rejected.
    pub decision_reason: Option<String>,
    /// The version an acceptance created (older versions are kept, superseded).
    pub new_version: Option<u32>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub decided_at: Option<OffsetDateTime>,
}

impl From<CorrectionRequest> for CorrectionView {
    fn from(c: CorrectionRequest) -> Self {
        CorrectionView {
            id: c.id,
            record_id: c.record_id.0,
            patient_id: c.patient.0,
            base_version: c.base_version,
            content_type: c.content_type,
            reason: c.reason,
            status: c.status.as_str(),
            decided_by: c.decided_by.map(|u| u.0),
            decision_reason: c.decision_reason,
            new_version: c.new_version,
            created_at: c.created_at,
            decided_at: c.decided_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CorrectionList {
    pub corrections: Vec<CorrectionView>,
}

/// Ask for a record to be corrected (the patient): the proposed content and the reason.
#[utoipa::path(post, path = "/api/v1/records/{id}/corrections", tag = "rights", params(("id" = Uuid, Path)),
    request_body = CorrectionBody, security(("bearer" = [])),
    responses((status = 201, body = CorrectionView), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 410, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn request_correction(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<CorrectionBody>,
) -> Result<impl IntoResponse, ApiError> {
    if body.content.is_empty() {
        return Err(ApiError::invalid_field(
            "content",
            "EMPTY_CONTENT",
            "the corrected content is empty",
        ));
    }
    let input = CorrectionInput {
        content_type: body
            .content_type
            .unwrap_or_else(|| "text/plain; charset=utf-8".to_owned()),
        content: body.content.into_bytes(),
        reason: body.reason,
    };
    let request = app.request_correction(&actor, RecordId(id), input).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CorrectionView::from(request)),
    ))
}

/// A record's correction requests (for those who may read the record).
#[utoipa::path(get, path = "/api/v1/records/{id}/corrections", tag = "rights",
    params(("id" = Uuid, Path), ReadQuery), security(("bearer" = [])),
    responses((status = 200, body = CorrectionList), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 410, body = ErrorEnvelope)))]
pub async fn list_corrections(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    Path(id): Path<Uuid>,
    ApiQuery(query): ApiQuery<ReadQuery>,
) -> Result<axum::Json<CorrectionList>, ApiError> {
    let purpose = purpose(query.purpose.as_deref())?;
    let corrections = app
        .record_corrections(&actor, RecordId(id), purpose)
        .await?;
    Ok(axum::Json(CorrectionList {
        corrections: corrections.into_iter().map(CorrectionView::from).collect(),
    }))
}

/// Accept a correction (a doctor whose consent allows writing the record): the proposal
/// becomes the next version; the patient is notified.
#[utoipa::path(post, path = "/api/v1/corrections/{id}/accept", tag = "rights", params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = CorrectionView), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub async fn accept_correction(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<CorrectionView>, ApiError> {
    let decided = app
        .decide_correction(&actor, id, CorrectionDecision::Accept)
        .await?;
    Ok(axum::Json(decided.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    /// Why the record stays as it is (1–500 characters); shown to the patient.
    pub reason: String,
}

/// Reject a correction with a reason; the patient is notified.
#[utoipa::path(post, path = "/api/v1/corrections/{id}/reject", tag = "rights", params(("id" = Uuid, Path)),
    request_body = RejectBody, security(("bearer" = [])),
    responses((status = 200, body = CorrectionView), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn reject_correction(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<RejectBody>,
) -> Result<axum::Json<CorrectionView>, ApiError> {
    let decision = CorrectionDecision::Reject {
        reason: body.reason,
    };
    Ok(axum::Json(
        app.decide_correction(&actor, id, decision).await?.into(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct ExportView {
    pub id: Uuid,
    /// `pending`, `running`, `done` or `failed`.
    pub status: &'static str,
    pub size_bytes: Option<u64>,
    /// SHA-256 (hex) of the archive.
    pub sha256: Option<String>,
    pub error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<OffsetDateTime>,
    /// Where to download the archive once `done`.
    pub download: Option<String>,
}

impl From<ExportJob> for ExportView {
    fn from(job: ExportJob) -> Self {
        let done = job.status == ExportStatus::Done;
        ExportView {
            id: job.id,
            status: job.status.as_str(),
            size_bytes: job.size_bytes,
            sha256: job.sha256,
            error: job.error,
            created_at: job.created_at,
            finished_at: job.finished_at,
            download: done.then(|| format!("/api/v1/me/exports/{}/download", job.id)),
        }
    }
}

/// Start an export of everything held about the caller (patients; PIPL Art. 45). Built in
/// the background: poll the job, then download the zip.
#[utoipa::path(post, path = "/api/v1/me/exports", tag = "rights", security(("bearer" = [])),
    responses((status = 202, body = ExportView), (status = 403, body = ErrorEnvelope)))]
pub async fn start_export(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
) -> Result<impl IntoResponse, ApiError> {
    let job = app.start_export(&actor).await?;
    let location = format!("/api/v1/me/exports/{}", job.id);
    Ok((
        StatusCode::ACCEPTED,
        [(axum::http::header::LOCATION, location)],
        axum::Json(ExportView::from(job)),
    ))
}

/// An export job's status.
#[utoipa::path(get, path = "/api/v1/me/exports/{id}", tag = "rights", params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = ExportView), (status = 404, body = ErrorEnvelope)))]
pub async fn export_status(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<ExportView>, ApiError> {
    Ok(axum::Json(app.export_status(&actor, id).await?.into()))
}

/// Download a finished export: a zip with `bundle.json` (FHIR R4), the original files and
/// `manifest.json` (hashes, ledger inclusion proofs, signed tree head); check it offline
/// with `scripts/check-export.py`.
#[utoipa::path(get, path = "/api/v1/me/exports/{id}/download", tag = "rights", params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, description = "The zip archive", content_type = "application/zip"),
        (status = 404, body = ErrorEnvelope), (status = 409, description = "not done yet", body = ErrorEnvelope)))]
pub async fn download_export(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    Path(id): Path<Uuid>,
) -> Result<impl IntoResponse, ApiError> {
    let export = app.download_export(&actor, id).await?;
    let disposition = format!(
        "attachment; filename=\"meditrustal-export-{}.zip\"",
        export.job.id
    );
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/zip".to_owned(),
            ),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        export.archive,
    ))
}
