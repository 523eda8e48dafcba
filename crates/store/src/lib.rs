//! SQL persistence of MediTrustAl behind one trait, [`Store`], with two implementations:
//! SQLite (the embedded default) and PostgreSQL (production). Both run the same SQL text
//! (`sql_store!` below generates their trait impls from one body) so that one repository
//! test-suite proves both. Each backend has its own migrations folder, embedded at build time.
//!
//! The store knows nothing about HTTP, tokens or policy: it saves and loads rows, and does
//! each multi-row change in one transaction.

mod error;
mod postgres;
mod rows;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use meditrustal_domain::{Role, UserId, UserStatus, Username};
use time::OffsetDateTime;
use uuid::Uuid;

pub use error::StoreError;
pub use postgres::PostgresStore;
pub use rows::{NewRefreshToken, NewUser, RefreshToken, TokenRotation, User};
pub use sqlite::SqliteStore;

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A page of a listing: at most `limit` rows after skipping `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: u32,
    pub offset: u32,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// Cheap round trip used by `/readyz`.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Applies pending migrations of this backend.
    async fn migrate(&self) -> Result<(), StoreError>;

    /// Fails with [`StoreError::Conflict`] naming `username` or `email` when taken.
    async fn insert_user(&self, user: &NewUser) -> Result<User, StoreError>;
    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError>;
    async fn user_by_username(&self, username: &Username) -> Result<Option<User>, StoreError>;
    async fn list_users(
        &self,
        status: Option<UserStatus>,
        role: Option<Role>,
        page: Page,
    ) -> Result<Vec<User>, StoreError>;
    async fn count_users_with_role(&self, role: Role) -> Result<u64, StoreError>;
    /// Returns the updated user, or `None` when no such user exists.
    async fn set_user_status(
        &self,
        id: UserId,
        status: UserStatus,
        now: OffsetDateTime,
    ) -> Result<Option<User>, StoreError>;
    async fn set_password_hash(
        &self,
        id: UserId,
        password_hash: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    async fn insert_refresh_token(&self, token: &NewRefreshToken) -> Result<(), StoreError>;
    async fn refresh_token_by_hash(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<RefreshToken>, StoreError>;
    /// Marks `old` used and stores `new` in one transaction, but only if `old` was still
    /// unused and unrevoked; concurrent rotations of the same token: exactly one wins.
    async fn rotate_refresh_token(
        &self,
        old: Uuid,
        new: &NewRefreshToken,
        now: OffsetDateTime,
    ) -> Result<TokenRotation, StoreError>;
    async fn revoke_token_family(
        &self,
        family_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    async fn revoke_user_tokens(&self, user: UserId, now: OffsetDateTime)
    -> Result<(), StoreError>;
}

/// Opens the database a URL names: `sqlite:…` or `postgres://…` / `postgresql://…`.
/// Does not migrate; call [`Store::migrate`].
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::connect(url).await?))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl)
    }
}

/// Generates the [`Store`] impl for a backend from one body of SQL shared by both; the
/// queries use only syntax SQLite and PostgreSQL agree on (`$n` parameters, `RETURNING`).
macro_rules! sql_store {
    ($store:ty, $backend:expr) => {
        #[async_trait::async_trait]
        impl $crate::Store for $store {
            fn backend(&self) -> $crate::Backend {
                $backend
            }

            async fn ping(&self) -> Result<(), $crate::StoreError> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn migrate(&self) -> Result<(), $crate::StoreError> {
                Self::MIGRATOR.run(&self.pool).await?;
                Ok(())
            }

            async fn insert_user(
                &self,
                user: &$crate::NewUser,
            ) -> Result<$crate::User, $crate::StoreError> {
                let row = sqlx::query_as::<_, $crate::rows::UserRow>(
                    "INSERT INTO users (id, username, email, password_hash, role, status, did, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
                     RETURNING *",
                )
                .bind(user.id.0)
                .bind(user.username.as_str())
                .bind(user.email.as_str())
                .bind(&user.password_hash)
                .bind(user.role.as_str())
                .bind(user.status.as_str())
                .bind(user.did.as_str())
                .bind(user.created_at)
                .fetch_one(&self.pool)
                .await
                .map_err($crate::StoreError::from_insert)?;
                row.try_into()
            }

            async fn user_by_id(
                &self,
                id: meditrustal_domain::UserId,
            ) -> Result<Option<$crate::User>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::rows::UserRow>("SELECT * FROM users WHERE id = $1")
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(TryInto::try_into)
                    .transpose()
            }

            async fn user_by_username(
                &self,
                username: &meditrustal_domain::Username,
            ) -> Result<Option<$crate::User>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::rows::UserRow>(
                    "SELECT * FROM users WHERE username = $1",
                )
                .bind(username.as_str())
                .fetch_optional(&self.pool)
                .await?
                .map(TryInto::try_into)
                .transpose()
            }

            async fn list_users(
                &self,
                status: Option<meditrustal_domain::UserStatus>,
                role: Option<meditrustal_domain::Role>,
                page: $crate::Page,
            ) -> Result<Vec<$crate::User>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::rows::UserRow>(
                    "SELECT * FROM users WHERE ($1 IS NULL OR status = $1) \
                     AND ($2 IS NULL OR role = $2) \
                     ORDER BY created_at, id LIMIT $3 OFFSET $4",
                )
                .bind(status.map(|s| s.as_str()))
                .bind(role.map(|r| r.as_str()))
                .bind(i64::from(page.limit))
                .bind(i64::from(page.offset))
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(TryInto::try_into)
                .collect()
            }

            async fn count_users_with_role(
                &self,
                role: meditrustal_domain::Role,
            ) -> Result<u64, $crate::StoreError> {
                let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = $1")
                    .bind(role.as_str())
                    .fetch_one(&self.pool)
                    .await?;
                Ok(u64::try_from(count).unwrap_or(0))
            }

            async fn set_user_status(
                &self,
                id: meditrustal_domain::UserId,
                status: meditrustal_domain::UserStatus,
                now: time::OffsetDateTime,
            ) -> Result<Option<$crate::User>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::rows::UserRow>(
                    "UPDATE users SET status = $2, updated_at = $3 WHERE id = $1 RETURNING *",
                )
                .bind(id.0)
                .bind(status.as_str())
                .bind(now)
                .fetch_optional(&self.pool)
                .await?
                .map(TryInto::try_into)
                .transpose()
            }

            async fn set_password_hash(
                &self,
                id: meditrustal_domain::UserId,
                password_hash: &str,
                now: time::OffsetDateTime,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
                    .bind(id.0)
                    .bind(password_hash)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn insert_refresh_token(
                &self,
                token: &$crate::NewRefreshToken,
            ) -> Result<(), $crate::StoreError> {
                $crate::rows::bind_refresh_token(
                    sqlx::query($crate::rows::INSERT_REFRESH_TOKEN),
                    token,
                )
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn refresh_token_by_hash(
                &self,
                token_hash: &[u8; 32],
            ) -> Result<Option<$crate::RefreshToken>, $crate::StoreError> {
                let row = sqlx::query_as::<_, $crate::RefreshToken>(
                    "SELECT id, family_id, user_id, issued_at, expires_at, used_at, revoked_at \
                     FROM refresh_tokens WHERE token_hash = $1",
                )
                .bind(&token_hash[..])
                .fetch_optional(&self.pool)
                .await?;
                Ok(row)
            }

            async fn rotate_refresh_token(
                &self,
                old: uuid::Uuid,
                new: &$crate::NewRefreshToken,
                now: time::OffsetDateTime,
            ) -> Result<$crate::TokenRotation, $crate::StoreError> {
                let mut tx = self.pool.begin().await?;
                let claimed = sqlx::query(
                    "UPDATE refresh_tokens SET used_at = $2 \
                     WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL",
                )
                .bind(old)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if claimed != 1 {
                    return Ok($crate::TokenRotation::AlreadyUsed);
                }
                $crate::rows::bind_refresh_token(
                    sqlx::query($crate::rows::INSERT_REFRESH_TOKEN),
                    new,
                )
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok($crate::TokenRotation::Rotated)
            }

            async fn revoke_token_family(
                &self,
                family_id: uuid::Uuid,
                now: time::OffsetDateTime,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "UPDATE refresh_tokens SET revoked_at = $2 \
                     WHERE family_id = $1 AND revoked_at IS NULL",
                )
                .bind(family_id)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn revoke_user_tokens(
                &self,
                user: meditrustal_domain::UserId,
                now: time::OffsetDateTime,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "UPDATE refresh_tokens SET revoked_at = $2 \
                     WHERE user_id = $1 AND revoked_at IS NULL",
                )
                .bind(user.0)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(())
            }
        }
    };
}
pub(crate) use sql_store;
