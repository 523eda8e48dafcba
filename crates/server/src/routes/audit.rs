use axum::extract::State;
use meditrustal_app::{App, AuditEntry};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::consents::PageQuery;
use super::records::TreeHeadView;
use super::{ErrorEnvelope, page};
use crate::error::ApiError;
use crate::extract::{ApiQuery, AuthUser};

#[derive(Serialize, ToSchema)]
pub struct AuditView {
    pub leaf_index: u64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    /// `record.read`, `record.created`, `access.denied`, `consent.granted`, …
    pub kind: String,
    /// `allowed` or `denied`.
    pub outcome: String,
    pub actor_id: Option<Uuid>,
    pub actor_username: Option<String>,
    pub record_id: Option<Uuid>,
    /// The ledger entry (canonical JSON): purpose, basis, reason, DIDs, commitments.
    #[schema(value_type = Object)]
    pub entry: serde_json::Value,
}

impl From<AuditEntry> for AuditView {
    fn from(e: AuditEntry) -> Self {
        AuditView {
            leaf_index: e.leaf_index,
            at: e.at,
            kind: e.kind,
            outcome: e.outcome,
            actor_id: e.actor.map(|a| a.0),
            actor_username: e.actor_username,
            record_id: e.record.map(|r| r.0),
            entry: e.entry,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AuditList {
    pub events: Vec<AuditView>,
}

/// Audit trail: a patient's data (patients), one's own actions (doctors, researchers),
/// everything (admins; entries hold no clinical content). Newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = AuditList), (status = 401, body = ErrorEnvelope)))]
pub async fn audit(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<axum::Json<AuditList>, ApiError> {
    let events = app.audit(&actor, page(query.limit, query.offset)?).await?;
    Ok(axum::Json(AuditList {
        events: events.into_iter().map(AuditView::from).collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct LedgerHead {
    pub tree_head: TreeHeadView,
    /// Ed25519 public key (hex) that verifies tree heads.
    pub public_key: String,
}

/// The latest signed tree head.
#[utoipa::path(get, path = "/api/v1/ledger/head", tag = "audit", security(("bearer" = [])),
    responses((status = 200, body = LedgerHead), (status = 404, body = ErrorEnvelope)))]
pub async fn ledger_head(
    State(app): State<App>,
    AuthUser(_): AuthUser,
) -> Result<axum::Json<LedgerHead>, ApiError> {
    let (head, key) = app.ledger_head().await?;
    Ok(axum::Json(LedgerHead {
        tree_head: (&head).into(),
        public_key: meditrustal_ledger::public_key_to_hex(&key),
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EntriesQuery {
    /// First leaf index (default 0).
    pub from: Option<u64>,
    /// At most 200; default 50.
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct LedgerLeaf {
    pub leaf_index: u64,
    /// The canonical JSON entry.
    pub entry: String,
    /// SHA-256(0x00 ‖ entry), hex.
    pub leaf_hash: String,
}

#[derive(Serialize, ToSchema)]
pub struct LedgerEntries {
    pub entries: Vec<LedgerLeaf>,
}

/// Ledger entries in order (pseudonymous: DIDs, ids, codes and commitments only).
#[utoipa::path(get, path = "/api/v1/ledger/entries", tag = "audit", params(EntriesQuery), security(("bearer" = [])),
    responses((status = 200, body = LedgerEntries)))]
pub async fn ledger_entries(
    State(app): State<App>,
    AuthUser(_): AuthUser,
    ApiQuery(query): ApiQuery<EntriesQuery>,
) -> Result<axum::Json<LedgerEntries>, ApiError> {
    let limit = page(query.limit, None)?.limit;
    let rows = app.ledger_entries(query.from.unwrap_or(0), limit).await?;
    let entries = rows
        .into_iter()
        .map(|row| LedgerLeaf {
            leaf_index: row.leaf_index,
            leaf_hash: meditrustal_ledger::leaf_hash(&row.entry).to_hex(),
            entry: String::from_utf8_lossy(&row.entry).into_owned(),
        })
        .collect();
    Ok(axum::Json(LedgerEntries { entries }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InclusionQuery {
    pub leaf_index: u64,
    pub tree_size: u64,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyQuery {
    pub from: u64,
    pub to: u64,
}

#[derive(Serialize, ToSchema)]
pub struct ProofPath {
    /// RFC 9162 proof path, hex.
    pub path: Vec<String>,
}

/// RFC 9162 inclusion proof of a leaf in the tree of a given size.
#[utoipa::path(get, path = "/api/v1/ledger/proof/inclusion", tag = "audit", params(InclusionQuery), security(("bearer" = [])),
    responses((status = 200, body = ProofPath), (status = 404, body = ErrorEnvelope)))]
pub async fn inclusion_proof(
    State(app): State<App>,
    AuthUser(_): AuthUser,
    ApiQuery(query): ApiQuery<InclusionQuery>,
) -> Result<axum::Json<ProofPath>, ApiError> {
    let proof = app
        .ledger_inclusion(query.leaf_index, query.tree_size)
        .await?;
    Ok(axum::Json(ProofPath {
        path: proof.path.iter().map(|h| h.to_hex()).collect(),
    }))
}

/// RFC 9162 consistency proof between two tree sizes.
#[utoipa::path(get, path = "/api/v1/ledger/proof/consistency", tag = "audit", params(ConsistencyQuery), security(("bearer" = [])),
    responses((status = 200, body = ProofPath), (status = 404, body = ErrorEnvelope)))]
pub async fn consistency_proof(
    State(app): State<App>,
    AuthUser(_): AuthUser,
    ApiQuery(query): ApiQuery<ConsistencyQuery>,
) -> Result<axum::Json<ProofPath>, ApiError> {
    let proof = app.ledger_consistency(query.from, query.to).await?;
    Ok(axum::Json(ProofPath {
        path: proof.path.iter().map(|h| h.to_hex()).collect(),
    }))
}
