use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use meditrustal_app::{App, RecordUpload};
use meditrustal_domain::{Purpose, RecordCategory, RecordId, UserId};
use meditrustal_store::{RecordFilter, RecordMeta, RecordVersion};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{ErrorEnvelope, page};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, AuthUser};

/// Largest record content accepted (the vault's limit).
pub const MAX_RECORD_BYTES: usize = 25 * 1024 * 1024;

#[derive(Serialize, ToSchema)]
pub struct RecordView {
    pub id: Uuid,
    pub patient_id: Uuid,
    #[schema(value_type = String, example = "clinical-note")]
    pub category: RecordCategory,
    pub current_version: u32,
    pub created_by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
    /// Set when the record was erased: it is then a tombstone and its content is gone.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub erased_at: Option<OffsetDateTime>,
    /// Legal basis of the erasure (`pipl-art47-…`), when erased.
    pub legal_basis: Option<String>,
    /// Whether an administrator holds the record (erasure is then refused).
    pub legal_hold: bool,
}

impl From<RecordMeta> for RecordView {
    fn from(meta: RecordMeta) -> Self {
        RecordView {
            id: meta.id.0,
            patient_id: meta.patient.0,
            category: meta.category,
            current_version: meta.current_version,
            created_by: meta.created_by.0,
            created_at: meta.created_at,
            updated_at: meta.updated_at,
            erased_at: meta.erasure.as_ref().map(|e| e.at),
            legal_basis: meta.erasure.map(|e| e.basis),
            legal_hold: meta.hold.is_some(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct VersionView {
    pub version: u32,
    pub content_type: String,
    pub size_bytes: u64,
    /// Leaf of the ledger entry that recorded this version (see `/proof`).
    pub leaf_index: u64,
    pub created_by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// The accepted correction request this version comes from (its reason is there).
    pub correction_id: Option<Uuid>,
    /// The version that replaced this one; `None` for the current version. Superseded
    /// versions stay readable.
    pub superseded_by: Option<u32>,
}

impl From<RecordVersion> for VersionView {
    fn from(v: RecordVersion) -> Self {
        VersionView {
            correction_id: v.correction_id,
            superseded_by: None,
            version: v.version,
            content_type: v.content_type,
            size_bytes: v.size_bytes,
            leaf_index: v.leaf_index,
            created_by: v.created_by.0,
            created_at: v.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RecordDetails {
    pub record: RecordView,
    pub versions: Vec<VersionView>,
}

#[derive(Serialize, ToSchema)]
pub struct RecordList {
    pub records: Vec<RecordView>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// Record category (required when creating).
    pub category: Option<String>,
    /// Patient id; defaults to the caller (patients writing their own records).
    pub patient: Option<Uuid>,
    /// Why the caller writes; doctors need `treatment` under a consent that allows writing.
    pub purpose: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReadQuery {
    /// Version to read; default the current one.
    pub version: Option<u32>,
    /// Why the caller reads (`treatment`, `care-coordination`, `emergency`, `research`);
    /// doctors must give a purpose their consent allows.
    pub purpose: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Patient id; defaults to the caller.
    pub patient: Option<Uuid>,
    pub category: Option<String>,
    /// Created at or after (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>)]
    pub from: Option<OffsetDateTime>,
    /// Created before (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>)]
    pub to: Option<OffsetDateTime>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

pub(crate) fn purpose(value: Option<&str>) -> Result<Option<Purpose>, ApiError> {
    value
        .map(Purpose::parse)
        .transpose()
        .map_err(|e| ApiError::invalid_field(e.field, e.code, e.message))
}

async fn read_body(headers: &HeaderMap, body: Body) -> Result<(String, Vec<u8>), ApiError> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                "a Content-Type is required",
            )
        })?
        .to_owned();
    let bytes = axum::body::to_bytes(body, MAX_RECORD_BYTES)
        .await
        .map_err(|_| ApiError::payload_too_large())?;
    if bytes.is_empty() {
        return Err(ApiError::invalid_field(
            "content",
            "EMPTY_CONTENT",
            "the record content is empty",
        ));
    }
    Ok((content_type, Vec::from(bytes)))
}

/// Create a record: the body is the content, its Content-Type the record's media type.
#[utoipa::path(post, path = "/api/v1/records", tag = "records", params(UploadQuery),
    request_body(content = Vec<u8>, description = "The content (text/plain, application/fhir+json, application/pdf, any binary), up to 25 MiB", content_type = "application/octet-stream"),
    security(("bearer" = [])),
    responses(
        (status = 201, body = RecordView),
        (status = 403, description = "`CONSENT_REQUIRED` or `FORBIDDEN`", body = ErrorEnvelope),
        (status = 413, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope),
    ))]
pub async fn create_record(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    ApiQuery(query): ApiQuery<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    let purpose = purpose(query.purpose.as_deref())?;
    let (content_type, content) = read_body(&headers, body).await?;
    let upload = RecordUpload {
        patient: query.patient.map(UserId),
        category: query.category,
        content_type,
        purpose,
        content,
    };
    let meta = app.create_record(&actor, upload).await?;
    Ok((StatusCode::CREATED, axum::Json(RecordView::from(meta))))
}

/// Add a new version of a record (older versions stay readable).
#[utoipa::path(put, path = "/api/v1/records/{id}", tag = "records", params(("id" = Uuid, Path), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    security(("bearer" = [])),
    responses((status = 200, body = RecordView), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub async fn update_record(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    Path(id): Path<Uuid>,
    ApiQuery(query): ApiQuery<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<axum::Json<RecordView>, ApiError> {
    let purpose = purpose(query.purpose.as_deref())?;
    let (content_type, content) = read_body(&headers, body).await?;
    let upload = RecordUpload {
        patient: None,
        category: None,
        content_type,
        purpose,
        content,
    };
    Ok(axum::Json(
        app.update_record(&actor, RecordId(id), upload)
            .await?
            .into(),
    ))
}

/// List a patient's records (metadata only), newest first.
#[utoipa::path(get, path = "/api/v1/records", tag = "records", params(ListQuery), security(("bearer" = [])),
    responses((status = 200, body = RecordList), (status = 403, body = ErrorEnvelope)))]
pub async fn list_records(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<axum::Json<RecordList>, ApiError> {
    let category = query
        .category
        .as_deref()
        .map(RecordCategory::parse)
        .transpose()
        .map_err(|e| ApiError::invalid_query(e.message))?;
    let filter = RecordFilter {
        category,
        created_from: query.from,
        created_before: query.to,
    };
    let records = app
        .list_records(
            &actor,
            query.patient.map(UserId),
            filter,
            page(query.limit, query.offset)?,
        )
        .await?;
    Ok(axum::Json(RecordList {
        records: records.into_iter().map(RecordView::from).collect(),
    }))
}

/// A record's metadata and versions.
#[utoipa::path(get, path = "/api/v1/records/{id}", tag = "records", params(("id" = Uuid, Path), ReadQuery),
    security(("bearer" = [])),
    responses((status = 200, body = RecordDetails), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn get_record(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    Path(id): Path<Uuid>,
    ApiQuery(query): ApiQuery<ReadQuery>,
) -> Result<axum::Json<RecordDetails>, ApiError> {
    let (meta, versions) = app
        .record_details(&actor, RecordId(id), purpose(query.purpose.as_deref())?)
        .await?;
    let mut versions: Vec<VersionView> = versions.into_iter().map(VersionView::from).collect();
    let numbers: Vec<u32> = versions.iter().map(|v| v.version).collect();
    for (view, next) in versions.iter_mut().zip(numbers.iter().skip(1)) {
        view.superseded_by = Some(*next);
    }
    Ok(axum::Json(RecordDetails {
        record: meta.into(),
        versions,
    }))
}

/// The decrypted content of a version, exactly as stored, with its media type.
#[utoipa::path(get, path = "/api/v1/records/{id}/content", tag = "records", params(("id" = Uuid, Path), ReadQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "The content bytes", content_type = "application/octet-stream"),
        (status = 403, description = "`CONSENT_REQUIRED` or `FORBIDDEN`", body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn read_content(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    Path(id): Path<Uuid>,
    ApiQuery(query): ApiQuery<ReadQuery>,
) -> Result<Response, ApiError> {
    let purpose = purpose(query.purpose.as_deref())?;
    let read = app
        .read_record(&actor, RecordId(id), query.version, purpose)
        .await?;
    let media = HeaderValue::from_str(&read.version.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let mut response = read.content.into_response();
    response.headers_mut().insert(CONTENT_TYPE, media);
    response
        .headers_mut()
        .insert("x-record-version", HeaderValue::from(read.version.version));
    Ok(response)
}

#[derive(Serialize, ToSchema)]
pub struct ProofView {
    /// Index of the version's ledger entry.
    pub leaf_index: u64,
    /// The ledger entry (canonical JSON); its leaf hash is SHA-256(0x00 ‖ entry).
    pub entry: String,
    /// RFC 9162 inclusion path, hex, from the leaf upwards.
    pub path: Vec<String>,
    pub tree_head: TreeHeadView,
    /// Ed25519 public key (hex) that signs tree heads.
    pub public_key: String,
}

#[derive(Serialize, ToSchema)]
pub struct TreeHeadView {
    pub tree_size: u64,
    /// Merkle root, hex.
    pub root: String,
    pub timestamp_ms: u64,
    /// Ed25519 signature (hex) over `meditrustal-tree-head-v1\0` ‖ size (u64 BE) ‖ root ‖ timestamp (u64 BE).
    pub signature: String,
}

impl From<&meditrustal_ledger::SignedTreeHead> for TreeHeadView {
    fn from(head: &meditrustal_ledger::SignedTreeHead) -> Self {
        TreeHeadView {
            tree_size: head.head.tree_size,
            root: head.head.root.to_hex(),
            timestamp_ms: head.head.timestamp_ms,
            signature: head.signature_hex(),
        }
    }
}

/// Proof that a version is on the ledger: inclusion path, signed tree head, public key.
#[utoipa::path(get, path = "/api/v1/records/{id}/proof", tag = "records", params(("id" = Uuid, Path), ReadQuery),
    security(("bearer" = [])),
    responses((status = 200, body = ProofView), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn record_proof(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    Path(id): Path<Uuid>,
    ApiQuery(query): ApiQuery<ReadQuery>,
) -> Result<axum::Json<ProofView>, ApiError> {
    let purpose = purpose(query.purpose.as_deref())?;
    let proof = app
        .record_proof(&actor, RecordId(id), query.version, purpose)
        .await?;
    Ok(axum::Json(ProofView {
        leaf_index: proof.leaf_index,
        entry: String::from_utf8_lossy(&proof.entry).into_owned(),
        path: proof.proof.path.iter().map(|h| h.to_hex()).collect(),
        tree_head: (&proof.tree_head).into(),
        public_key: meditrustal_ledger::public_key_to_hex(&proof.public_key),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmergencyBody {
    /// Why consent cannot be obtained (1–500 characters); shown to the patient.
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct EmergencyView {
    pub id: Uuid,
    pub patient_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: OffsetDateTime,
}

/// Break-glass: read access to the record's patient for 4 hours, flagged and notified.
#[utoipa::path(post, path = "/api/v1/records/{id}/emergency-access", tag = "consent", params(("id" = Uuid, Path)),
    request_body = EmergencyBody, security(("bearer" = [])),
    responses((status = 201, body = EmergencyView), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn emergency_access(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<EmergencyBody>,
) -> Result<impl IntoResponse, ApiError> {
    let grant = app
        .declare_emergency(&actor, RecordId(id), &body.reason)
        .await?;
    let view = EmergencyView {
        id: grant.id,
        patient_id: grant.patient.0,
        expires_at: grant.expires_at,
    };
    Ok((StatusCode::CREATED, axum::Json(view)))
}

/// The stored NLP result of a note version, for the OpenAPI document (the handler
/// serialises the application's `RecordAnalysis`).
#[derive(ToSchema)]
#[schema(as = RecordAnalysis)]
#[allow(dead_code)]
pub struct RecordAnalysisDoc {
    record_id: Uuid,
    version: u32,
    #[schema(value_type = String, format = DateTime)]
    analyzed_at: String,
    /// The engine's output, schema of `POST /api/v1/nlp/analyze`: `entities`,
    /// `measurements`, `phi`, `sections`.
    #[schema(value_type = Object)]
    analysis: serde_json::Value,
}

/// Analyse a clinical note with the NLP engine and store the result beside the version.
///
/// A read of the record (same consent and purpose rules, audited as `record.analyzed`).
/// Only `text/plain` records of category `clinical-note` or `discharge-summary`. Analysing
/// the same version again replaces its result. The note's vital signs feed early warning
/// (notes are also analysed when they are created or updated).
#[utoipa::path(post, path = "/api/v1/records/{id}/nlp", tag = "records", params(("id" = Uuid, Path), ReadQuery),
    security(("bearer" = [])),
    responses((status = 200, body = RecordAnalysisDoc), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 422, description = "`NOT_A_NOTE`", body = ErrorEnvelope)))]
pub async fn analyze_record(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    Path(id): Path<Uuid>,
    ApiQuery(query): ApiQuery<ReadQuery>,
) -> Result<Response, ApiError> {
    let purpose = purpose(query.purpose.as_deref())?;
    let analysis = app
        .analyze_record(&actor, RecordId(id), query.version, purpose)
        .await?;
    Ok(axum::Json(analysis).into_response())
}

/// The stored NLP result of a note version (the current one by default); audited as a read.
#[utoipa::path(get, path = "/api/v1/records/{id}/nlp", tag = "records", params(("id" = Uuid, Path), ReadQuery),
    security(("bearer" = [])),
    responses((status = 200, body = RecordAnalysisDoc), (status = 403, body = ErrorEnvelope),
        (status = 404, description = "No such record, or the version was not analysed", body = ErrorEnvelope)))]
pub async fn record_analysis(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    Path(id): Path<Uuid>,
    ApiQuery(query): ApiQuery<ReadQuery>,
) -> Result<Response, ApiError> {
    let purpose = purpose(query.purpose.as_deref())?;
    let analysis = app
        .record_analysis(&actor, RecordId(id), query.version, purpose)
        .await?;
    Ok(axum::Json(analysis).into_response())
}
