//! SQL persistence of MediTrustAl behind one trait, [`Store`], with two implementations:
//! SQLite (the embedded default) and PostgreSQL (production). Both run the same SQL text
//! (`sql_store!` below generates their trait impls from one body) so that one repository
//! test-suite proves both. Each backend has its own migrations folder, embedded at build time.
//!
//! The store knows nothing about HTTP, tokens or policy: it saves and loads rows, and does
//! each multi-row change in one transaction.

mod cdss;
mod chain;
mod data_sql;
mod error;
pub mod fhir;
mod group_commit;
mod ledger;
mod postgres;
mod records;
mod research;
mod rows;
mod sealed_derived;
pub mod snapshot;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use std::collections::HashMap;

use meditrustal_domain::{
    ConsentGrant, EmergencyGrant, RecordId, Role, UserId, UserStatus, Username,
};
use meditrustal_ledger::{Hash, NodeId, SignedTreeHead, SigningKey};
use time::OffsetDateTime;
use uuid::Uuid;

pub use cdss::{AlertRow, CdssStore, NlpResultRow, ObservationBatch, ObservationSource};
pub use chain::{ChainAnchorRow, ChainStore, MirroredVersion};
pub use error::StoreError;
pub use fhir::{FhirIndexRow, FhirOrder, FhirSearch, FhirStore, FhirToken, TokenFilter};
pub use ledger::{AuditFilter, Change, Committed, LeafRow, LedgerEvent, Write};
pub use postgres::PostgresStore;
pub use records::{
    AccessRequest, AccessRequestStatus, CorrectionRequest, CorrectionStatus, ERASED_SEALED,
    Erasure, ExportJob, ExportStatus, LegalHold, NewRecord, NewRecordVersion, Notification,
    RecordFilter, RecordMeta, RecordVersion,
};
pub use research::{
    ProjectStatus, ResearchConsent, ResearchExport, ResearchParticipation, ResearchProject,
    ResearchStore, ResearchWrite,
};
pub use rows::{NewRefreshToken, NewUser, RefreshToken, TokenRotation, User};
pub use sealed_derived::{DerivedKey, DerivedSealed, DerivedTable};
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

/// Everything the application persists. One trait per area; a backend implements all.
pub trait Store:
    AccountStore + RecordStore + LedgerStore + CdssStore + ChainStore + ResearchStore + FhirStore
{
}

impl<T> Store for T where
    T: AccountStore
        + RecordStore
        + LedgerStore
        + CdssStore
        + ChainStore
        + ResearchStore
        + FhirStore
{
}

/// Reads of records, consents, access requests, emergencies and notifications. Every write
/// of these goes through [`LedgerStore::commit`], so it is audited in the same transaction.
#[async_trait]
pub trait RecordStore: Send + Sync + 'static {
    async fn record(&self, id: RecordId) -> Result<Option<RecordMeta>, StoreError>;
    /// A record with one of its versions (the current one when `version` is `None`) in one
    /// query; the version is `None` when the record has no such version.
    async fn record_and_version(
        &self,
        id: RecordId,
        version: Option<u32>,
    ) -> Result<Option<(RecordMeta, Option<RecordVersion>)>, StoreError>;
    async fn list_records(
        &self,
        patient: UserId,
        filter: RecordFilter,
        page: Page,
    ) -> Result<Vec<RecordMeta>, StoreError>;
    /// All versions of a record, oldest first.
    async fn record_versions(&self, id: RecordId) -> Result<Vec<RecordVersion>, StoreError>;
    /// Every version of every record in (record id, version) order, a page at a time (for
    /// `verify` and `gc`).
    async fn record_versions_after(
        &self,
        after: Option<(RecordId, u32)>,
        limit: u32,
    ) -> Result<Vec<RecordVersion>, StoreError>;
    /// Replaces a version's sealed metadata when it still is `expected`; `false` when it is
    /// not (changed meanwhile, or no such version). Only KEK rotation uses this: it re-wraps
    /// the data key, which changes neither the content nor its ledger commitment.
    async fn replace_sealed(
        &self,
        record: RecordId,
        version: u32,
        expected: &str,
        sealed: &str,
    ) -> Result<bool, StoreError>;
    async fn consent(&self, id: Uuid) -> Result<Option<ConsentGrant>, StoreError>;
    /// Consents filtered by patient and/or grantee, newest first.
    async fn consents(
        &self,
        patient: Option<UserId>,
        grantee: Option<UserId>,
    ) -> Result<Vec<ConsentGrant>, StoreError>;
    async fn access_request(&self, id: Uuid) -> Result<Option<AccessRequest>, StoreError>;
    async fn access_requests(
        &self,
        patient: Option<UserId>,
        doctor: Option<UserId>,
    ) -> Result<Vec<AccessRequest>, StoreError>;
    async fn emergency_grants(
        &self,
        patient: UserId,
        doctor: UserId,
    ) -> Result<Vec<EmergencyGrant>, StoreError>;
    async fn notifications(
        &self,
        user: UserId,
        page: Page,
    ) -> Result<Vec<Notification>, StoreError>;
    /// How many sealed items other than record versions (NLP results, observations, alerts,
    /// correction proposals, export archives) have a data key wrapped under this KEK; `keys
    /// retire` must not delete a KEK they still need.
    async fn derived_items_under_kek(&self, kek_id: &str) -> Result<u64, StoreError>;
    /// Sealed items of `table` whose data key is not wrapped under `kek_id`, after `after`
    /// (a key of the same table) in key order, at most `limit` (for KEK rotation).
    async fn derived_not_under_kek(
        &self,
        table: DerivedTable,
        kek_id: &str,
        after: Option<DerivedKey>,
        limit: u32,
    ) -> Result<Vec<DerivedSealed>, StoreError>;
    /// Replaces an item's sealed text when it still is `expected`; `false` when it is not
    /// (changed or removed meanwhile). KEK rotation only: the content does not change.
    async fn replace_derived_sealed(
        &self,
        key: DerivedKey,
        expected: &str,
        sealed: &str,
    ) -> Result<bool, StoreError>;
    async fn correction_request(&self, id: Uuid) -> Result<Option<CorrectionRequest>, StoreError>;
    async fn export_job(&self, id: Uuid) -> Result<Option<ExportJob>, StoreError>;
    /// Export jobs (of one patient, or all), newest first.
    async fn export_jobs(&self, patient: Option<UserId>) -> Result<Vec<ExportJob>, StoreError>;
    /// Correction requests of a record and/or a patient, newest first.
    async fn correction_requests(
        &self,
        record: Option<RecordId>,
        patient: Option<UserId>,
    ) -> Result<Vec<CorrectionRequest>, StoreError>;
}

/// The verifiable log and the unit of work that appends to it.
#[async_trait]
pub trait LedgerStore: Send + Sync + 'static {
    /// Appends the change's events, applies its writes and stores a new signed tree head,
    /// all in one transaction; appends are totally ordered across concurrent callers.
    async fn commit(
        &self,
        change: Change,
        signer: &SigningKey,
        timestamp_ms: u64,
    ) -> Result<Committed, StoreError>;
    async fn latest_tree_head(&self) -> Result<Option<SignedTreeHead>, StoreError>;
    async fn tree_head(&self, tree_size: u64) -> Result<Option<SignedTreeHead>, StoreError>;
    /// Every signed tree head, by size (for `verify`).
    async fn tree_heads(&self) -> Result<Vec<SignedTreeHead>, StoreError>;
    async fn leaves(&self, from: u64, limit: u32) -> Result<Vec<LeafRow>, StoreError>;
    /// Audit listing, newest first.
    async fn audit_events(
        &self,
        filter: AuditFilter,
        page: Page,
    ) -> Result<Vec<LeafRow>, StoreError>;
    /// Stored perfect-subtree hashes; a missing one is [`StoreError::Corrupt`].
    async fn nodes(&self, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>, StoreError>;
}

#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
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

    /// Counts one login attempt against a throttled key by the generic cell rate algorithm,
    /// atomically for every process on the database: the attempt is admitted when the key's
    /// theoretical arrival time, moved on by one interval, stays within the tolerance of
    /// now, and then the moved time is stored. A refusal returns the stored time unchanged.
    async fn admit_login_attempt(
        &self,
        key_hash: &str,
        step: RateStep,
    ) -> Result<RateAdmission, StoreError>;
    /// Deletes the keys whose theoretical arrival time has passed (the same as no row).
    async fn prune_login_throttle(&self, now_us: i64) -> Result<u64, StoreError>;
}

/// One attempt's parameters for [`AccountStore::admit_login_attempt`], in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateStep {
    pub now_us: i64,
    /// The time one attempt uses up (a minute divided by the attempts allowed per minute).
    pub interval_us: i64,
    /// How far ahead of now a key's arrival time may run (the burst times the interval).
    pub tolerance_us: i64,
}

/// What [`AccountStore::admit_login_attempt`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateAdmission {
    Admitted,
    /// Refused; the key's theoretical arrival time (`None` if it was pruned meanwhile).
    Refused {
        tat_us: Option<i64>,
    },
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
        impl $crate::AccountStore for $store {
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

            async fn admit_login_attempt(
                &self,
                key_hash: &str,
                step: $crate::RateStep,
            ) -> Result<$crate::RateAdmission, $crate::StoreError> {
                // One statement, so concurrent attempts on any replica are serialised by the
                // row: the update happens only while the moved time stays within tolerance.
                let admitted = sqlx::query(
                    "INSERT INTO login_throttle (key_hash, tat_us) VALUES ($1, $2 + $3) \
                     ON CONFLICT (key_hash) DO UPDATE SET tat_us = \
                     CASE WHEN login_throttle.tat_us > $2 THEN login_throttle.tat_us ELSE $2 END + $3 \
                     WHERE CASE WHEN login_throttle.tat_us > $2 THEN login_throttle.tat_us ELSE $2 END \
                     + $3 - $2 <= $4 \
                     RETURNING tat_us",
                )
                .bind(key_hash)
                .bind(step.now_us)
                .bind(step.interval_us)
                .bind(step.tolerance_us)
                .fetch_optional(&self.pool)
                .await?;
                if admitted.is_some() {
                    return Ok($crate::RateAdmission::Admitted);
                }
                let tat_us: Option<i64> =
                    sqlx::query_scalar("SELECT tat_us FROM login_throttle WHERE key_hash = $1")
                        .bind(key_hash)
                        .fetch_optional(&self.pool)
                        .await?;
                Ok($crate::RateAdmission::Refused { tat_us })
            }

            async fn prune_login_throttle(&self, now_us: i64) -> Result<u64, $crate::StoreError> {
                let done = sqlx::query("DELETE FROM login_throttle WHERE tat_us < $1")
                    .bind(now_us)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }
        }
    };
}
pub(crate) use sql_store;

/// Ties a store type to its sqlx database, for the functions `data_store!` generates.
mod sql_backend {
    pub trait SqlBackend {
        type Db: sqlx::Database;
    }
}
