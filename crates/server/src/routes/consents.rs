use std::collections::BTreeSet;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use meditrustal_app::{AccessRequestInput, App, ConsentInput};
use meditrustal_domain::{ConsentGrant, ConsentScope, Purpose};
use meditrustal_store::{AccessRequest, Notification};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::records::purpose;
use super::{ErrorEnvelope, page};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, AuthUser};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantBody {
    /// Username of the doctor who may access.
    pub grantee: String,
    #[schema(value_type = Object)]
    pub scope: ConsentScope,
    /// Allowed purposes, e.g. `["treatment"]`.
    pub purposes: Vec<String>,
    /// Whether the doctor may also add records (notes, results). Default false.
    #[serde(default)]
    pub allow_write: bool,
    /// Optional expiry (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
}

#[derive(Serialize, ToSchema)]
pub struct ConsentView {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub grantee_id: Uuid,
    #[schema(value_type = Object)]
    pub scope: ConsentScope,
    #[schema(value_type = Vec<String>)]
    pub purposes: BTreeSet<Purpose>,
    pub allow_write: bool,
    /// `active`, `expired` or `revoked` at the time of the answer.
    pub state: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<OffsetDateTime>,
}

impl From<ConsentGrant> for ConsentView {
    fn from(c: ConsentGrant) -> Self {
        let now = OffsetDateTime::now_utc();
        let state = if c.revoked_at.is_some() {
            "revoked"
        } else if c.is_active(now) {
            "active"
        } else {
            "expired"
        };
        ConsentView {
            id: c.id,
            patient_id: c.patient.0,
            grantee_id: c.grantee.0,
            scope: c.scope,
            purposes: c.purposes,
            allow_write: c.allow_write,
            state,
            created_at: c.created_at,
            expires_at: c.expires_at,
            revoked_at: c.revoked_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ConsentList {
    pub consents: Vec<ConsentView>,
}

fn purposes(values: &[String]) -> Result<BTreeSet<Purpose>, ApiError> {
    values
        .iter()
        .map(|p| Purpose::parse(p).map_err(|e| ApiError::invalid_field(e.field, e.code, e.message)))
        .collect()
}

/// Grant a doctor access (patients only).
#[utoipa::path(post, path = "/api/v1/consents", tag = "consent", request_body = GrantBody, security(("bearer" = [])),
    responses((status = 201, body = ConsentView), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn grant_consent(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    ApiJson(body): ApiJson<GrantBody>,
) -> Result<impl IntoResponse, ApiError> {
    let input = ConsentInput {
        grantee: body.grantee,
        scope: body.scope,
        purposes: purposes(&body.purposes)?,
        allow_write: body.allow_write,
        expires_at: body.expires_at,
    };
    let consent = app.grant_consent(&actor, input).await?;
    Ok((StatusCode::CREATED, axum::Json(ConsentView::from(consent))))
}

/// Consents given (patient) or received (doctor), newest first.
#[utoipa::path(get, path = "/api/v1/consents", tag = "consent", security(("bearer" = [])),
    responses((status = 200, body = ConsentList), (status = 403, body = ErrorEnvelope)))]
pub async fn list_consents(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
) -> Result<axum::Json<ConsentList>, ApiError> {
    let consents = app.list_consents(&actor).await?;
    Ok(axum::Json(ConsentList {
        consents: consents.into_iter().map(ConsentView::from).collect(),
    }))
}

/// Revoke a consent; effective from the very next request.
#[utoipa::path(post, path = "/api/v1/consents/{id}/revoke", tag = "consent", params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = ConsentView), (status = 404, body = ErrorEnvelope), (status = 409, description = "`STATE_CONFLICT`: already revoked", body = ErrorEnvelope)))]
pub async fn revoke_consent(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<ConsentView>, ApiError> {
    Ok(axum::Json(app.revoke_consent(&actor, id).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestBody {
    /// Username of the patient.
    pub patient: String,
    #[schema(value_type = Object)]
    pub scope: ConsentScope,
    pub purpose: String,
    /// Shown to the patient (1–500 characters).
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct AccessRequestView {
    pub id: Uuid,
    pub doctor_id: Uuid,
    pub patient_id: Uuid,
    #[schema(value_type = Object)]
    pub scope: ConsentScope,
    #[schema(value_type = String)]
    pub purpose: Purpose,
    pub reason: String,
    /// `pending`, `approved` or `denied`.
    pub status: &'static str,
    pub consent_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<AccessRequest> for AccessRequestView {
    fn from(r: AccessRequest) -> Self {
        AccessRequestView {
            id: r.id,
            doctor_id: r.doctor.0,
            patient_id: r.patient.0,
            scope: r.scope,
            purpose: r.purpose,
            reason: r.reason,
            status: r.status.as_str(),
            consent_id: r.consent_id,
            created_at: r.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AccessRequestList {
    pub requests: Vec<AccessRequestView>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ApproveBody {
    #[serde(default)]
    pub allow_write: bool,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
}

/// Ask a patient for access (doctors only); the patient is notified.
#[utoipa::path(post, path = "/api/v1/access-requests", tag = "consent", request_body = RequestBody, security(("bearer" = [])),
    responses((status = 201, body = AccessRequestView), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn request_access(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    ApiJson(body): ApiJson<RequestBody>,
) -> Result<impl IntoResponse, ApiError> {
    let purpose = purpose(Some(&body.purpose))?.unwrap_or(Purpose::Treatment);
    let input = AccessRequestInput {
        patient: body.patient,
        scope: body.scope,
        purpose,
        reason: body.reason,
    };
    let request = app.request_access(&actor, input).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(AccessRequestView::from(request)),
    ))
}

/// Requests received (patient) or made (doctor).
#[utoipa::path(get, path = "/api/v1/access-requests", tag = "consent", security(("bearer" = [])),
    responses((status = 200, body = AccessRequestList)))]
pub async fn list_access_requests(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
) -> Result<axum::Json<AccessRequestList>, ApiError> {
    let requests = app.list_access_requests(&actor).await?;
    Ok(axum::Json(AccessRequestList {
        requests: requests.into_iter().map(AccessRequestView::from).collect(),
    }))
}

/// Approve a request: creates the consent it describes.
#[utoipa::path(post, path = "/api/v1/access-requests/{id}/approve", tag = "consent", params(("id" = Uuid, Path)),
    request_body = ApproveBody, security(("bearer" = [])),
    responses((status = 200, body = AccessRequestView), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub async fn approve_access_request(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<ApproveBody>,
) -> Result<axum::Json<AccessRequestView>, ApiError> {
    Ok(axum::Json(
        app.approve_access_request(&actor, id, body.allow_write, body.expires_at)
            .await?
            .into(),
    ))
}

/// Deny a request.
#[utoipa::path(post, path = "/api/v1/access-requests/{id}/deny", tag = "consent", params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = AccessRequestView), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub async fn deny_access_request(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<AccessRequestView>, ApiError> {
    Ok(axum::Json(
        app.deny_access_request(&actor, id).await?.into(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct NotificationView {
    pub id: Uuid,
    /// `access_request`, `access_request_approved`, `access_request_denied`, `emergency_access`.
    pub kind: String,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<Notification> for NotificationView {
    fn from(n: Notification) -> Self {
        NotificationView {
            id: n.id,
            kind: n.kind,
            payload: serde_json::from_str(&n.payload).unwrap_or_default(),
            created_at: n.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct NotificationList {
    pub notifications: Vec<NotificationView>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// At most 200; default 50.
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

/// The caller's notifications, newest first.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "consent", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = NotificationList)))]
pub async fn notifications(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<axum::Json<NotificationList>, ApiError> {
    let list = app
        .notifications(&actor, page(query.limit, query.offset)?)
        .await?;
    Ok(axum::Json(NotificationList {
        notifications: list.into_iter().map(NotificationView::from).collect(),
    }))
}
