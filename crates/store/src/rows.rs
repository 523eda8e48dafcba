//! Row types: what the store saves and returns. Enums are stored as their snake_case names.

use meditrustal_domain::{Did, Email, Role, UserId, UserStatus, Username};
use sqlx::query::Query;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::StoreError;

/// An account to create. The password is already hashed (argon2id PHC string).
#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: UserId,
    pub username: Username,
    pub email: Email,
    pub password_hash: String,
    pub role: Role,
    pub status: UserStatus,
    pub did: Did,
    pub created_at: OffsetDateTime,
}

/// A stored account.
#[derive(Clone)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub email: String,
    pub password_hash: String,
    pub role: Role,
    pub status: UserStatus,
    pub did: Did,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl std::fmt::Debug for User {
    // The hash is not a secret in the strict sense, but it has no business in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: Uuid,
    username: String,
    email: String,
    password_hash: String,
    role: String,
    status: String,
    did: String,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(row: UserRow) -> Result<Self, Self::Error> {
        let corrupt = |column: &'static str| StoreError::Corrupt {
            table: "users",
            column,
        };
        Ok(User {
            id: UserId(row.id),
            role: row.role.parse().map_err(|_| corrupt("role"))?,
            status: row.status.parse().map_err(|_| corrupt("status"))?,
            did: Did::parse(&row.did).ok_or_else(|| corrupt("did"))?,
            username: row.username,
            email: row.email,
            password_hash: row.password_hash,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// A refresh token to store. Only the SHA-256 of the token is kept, so a copy of the
/// database does not let anyone refresh a session.
#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    pub id: Uuid,
    /// All tokens descended from one login share a family; replay of a used token revokes it.
    pub family_id: Uuid,
    pub user_id: UserId,
    pub token_hash: [u8; 32],
    pub issued_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefreshToken {
    pub id: Uuid,
    pub family_id: Uuid,
    #[sqlx(try_from = "Uuid")]
    pub user_id: UserId,
    pub issued_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

/// Outcome of [`crate::Store::rotate_refresh_token`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRotation {
    Rotated,
    /// The old token had been used or revoked meanwhile: a replay or a lost race.
    AlreadyUsed,
}

pub(crate) const INSERT_REFRESH_TOKEN: &str = "INSERT INTO refresh_tokens \
    (id, family_id, user_id, token_hash, issued_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)";

pub(crate) fn bind_refresh_token<'q, DB>(
    query: Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>,
    token: &'q NewRefreshToken,
) -> Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
where
    DB: sqlx::Database,
    Uuid: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q [u8]: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    OffsetDateTime: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    query
        .bind(token.id)
        .bind(token.family_id)
        .bind(token.user_id.0)
        .bind(&token.token_hash[..])
        .bind(token.issued_at)
        .bind(token.expires_at)
}
