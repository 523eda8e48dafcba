use axum::extract::{Path, State};
use meditrustal_app::{App, UserFilter};
use meditrustal_domain::{Role, UserId, UserStatus};
use meditrustal_store::Page;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ErrorEnvelope, UserView};
use crate::error::ApiError;
use crate::extract::{ApiQuery, AuthUser};

const MAX_PAGE: u32 = 200;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListUsersQuery {
    /// `pending`, `active` or `suspended`.
    pub status: Option<UserStatus>,
    /// `patient`, `doctor`, `researcher` or `admin`.
    pub role: Option<Role>,
    /// At most 200; default 50.
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct UserList {
    pub users: Vec<UserView>,
}

/// List accounts, e.g. those waiting for approval (`?status=pending`).
#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin", params(ListUsersQuery),
    security(("bearer" = [])),
    responses((status = 200, body = UserList), (status = 403, body = ErrorEnvelope)))]
pub async fn list_users(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    ApiQuery(query): ApiQuery<ListUsersQuery>,
) -> Result<axum::Json<UserList>, ApiError> {
    let limit = query.limit.unwrap_or(50);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::invalid_query("limit must be between 1 and 200"));
    }
    let filter = UserFilter {
        status: query.status,
        role: query.role,
        page: Page {
            limit,
            offset: query.offset.unwrap_or(0),
        },
    };
    let users = app.list_users(&actor, filter).await?;
    Ok(axum::Json(UserList {
        users: users.into_iter().map(UserView::from).collect(),
    }))
}

/// Approve a pending account (or reactivate a suspended one).
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/approve", tag = "admin",
    params(("id" = String, Path, description = "User id")), security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn approve_user(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    Path(id): Path<String>,
) -> Result<axum::Json<UserView>, ApiError> {
    Ok(axum::Json(
        app.approve_user(&actor, target(&id)).await?.into(),
    ))
}

/// Suspend an account; its sessions end at once.
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/suspend", tag = "admin",
    params(("id" = String, Path, description = "User id")), security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn suspend_user(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
    Path(id): Path<String>,
) -> Result<axum::Json<UserView>, ApiError> {
    Ok(axum::Json(
        app.suspend_user(&actor, target(&id)).await?.into(),
    ))
}

/// A malformed id names no account: it becomes the nil id, which never exists, so the policy
/// still answers first (403 for non-admins) and an admin gets 404 — never a parse error that
/// would let a non-admin probe the endpoint.
fn target(id: &str) -> UserId {
    meditrustal_app::parse_user_id(id).unwrap_or(UserId(uuid::Uuid::nil()))
}

/// The chain writer's progress, when a chain is configured.
#[derive(Serialize, ToSchema)]
pub struct ChainStatusView {
    /// `anchor` or `mirror`.
    pub mode: String,
    pub ledger_tree_size: u64,
    /// The largest tree size anchored on the chain.
    pub anchored_tree_size: u64,
    #[schema(value_type = Option<String>, format = DateTime)]
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_anchored_at: Option<time::OffsetDateTime>,
    /// Record versions waiting for the mirror (mirror mode).
    pub mirror_backlog: u64,
}

/// Whether the system's parts answer, probed on each request.
#[derive(Serialize, ToSchema)]
pub struct SystemStatusView {
    pub database: bool,
    pub storage: bool,
    pub ledger_tree_size: u64,
    /// Hex root of the latest signed tree head.
    pub ledger_root: Option<String>,
    /// Absent when no chain is configured.
    pub chain: Option<ChainStatusView>,
}

/// The system's status for administrators: database, object storage, ledger, chain.
#[utoipa::path(get, path = "/api/v1/admin/status", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = SystemStatusView), (status = 403, body = ErrorEnvelope)))]
pub async fn system_status(
    State(app): State<App>,
    AuthUser(actor): AuthUser,
) -> Result<axum::Json<SystemStatusView>, ApiError> {
    let status = app.system_status(&actor).await?;
    Ok(axum::Json(SystemStatusView {
        database: status.database,
        storage: status.storage,
        ledger_tree_size: status.ledger_tree_size,
        ledger_root: status.ledger_root,
        chain: status.chain.map(|chain| ChainStatusView {
            mode: chain.mode.to_owned(),
            ledger_tree_size: chain.ledger_tree_size,
            anchored_tree_size: chain.anchored_tree_size,
            last_anchored_at: chain.last_anchored_at,
            mirror_backlog: chain.mirror_backlog,
        }),
    }))
}
