//! HTTP handlers, one module per area of `/api/v1`.

pub mod admin;
pub mod audit;
pub mod auth;
pub mod cdss;
pub mod consents;
pub mod fhir;
pub mod health;
pub mod me;
pub mod nlp;
pub mod records;
pub mod research;
pub mod rights;

use meditrustal_domain::{Did, Role, UserStatus};
use meditrustal_store::User;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// An account as clients see it (no password hash, ever).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub username: String,
    pub email: String,
    pub role: Role,
    pub status: UserStatus,
    /// Pseudonymous identifier used on the ledger: `did:meditrustal:<32 hex>`.
    #[schema(value_type = String, example = "did:meditrustal:4f1c2a9be07d4c55a1e3b6d2f08c9a71")]
    pub did: Did,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<User> for UserView {
    fn from(user: User) -> Self {
        UserView {
            id: user.id.0,
            username: user.username,
            email: user.email,
            role: user.role,
            status: user.status,
            did: user.did,
            created_at: user.created_at,
        }
    }
}

/// A listing page from `limit` (1–200, default 50) and `offset`.
pub(crate) fn page(
    limit: Option<u32>,
    offset: Option<u32>,
) -> Result<meditrustal_store::Page, crate::error::ApiError> {
    let limit = limit.unwrap_or(50);
    if limit == 0 || limit > 200 {
        return Err(crate::error::ApiError::invalid_query(
            "limit must be between 1 and 200",
        ));
    }
    Ok(meditrustal_store::Page {
        limit,
        offset: offset.unwrap_or(0),
    })
}

/// Schema of the error envelope, for the OpenAPI document.
#[derive(Serialize, ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `CONSENT_REQUIRED`, `INVALID_USERNAME`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    /// The `x-request-id` of the request, for support.
    pub request_id: String,
}
