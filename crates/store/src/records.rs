//! Row types of records, consents, access requests, emergencies and notifications.

use std::collections::BTreeSet;

use meditrustal_domain::{
    ConsentGrant, ConsentScope, EmergencyGrant, Purpose, RecordCategory, RecordId, UserId,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::StoreError;

/// A record's metadata (content lives encrypted in the vault).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMeta {
    pub id: RecordId,
    pub patient: UserId,
    pub category: RecordCategory,
    pub current_version: u32,
    pub created_by: UserId,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A new record with its first version.
#[derive(Debug, Clone)]
pub struct NewRecord {
    pub id: RecordId,
    pub patient: UserId,
    pub category: RecordCategory,
    pub first_version: NewRecordVersion,
}

#[derive(Debug, Clone)]
pub struct NewRecordVersion {
    pub record_id: RecordId,
    pub version: u32,
    pub content_type: String,
    pub size_bytes: u64,
    /// The vault's `SealedRecord`, serialised.
    pub sealed: String,
    pub commitment_salt: [u8; 32],
    pub created_by: UserId,
    pub created_at: OffsetDateTime,
    /// Index into the change's events of the entry that records this version.
    pub event: usize,
}

/// A stored record version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordVersion {
    pub record_id: RecordId,
    pub version: u32,
    pub content_type: String,
    pub size_bytes: u64,
    pub sealed: String,
    pub commitment_salt: Vec<u8>,
    pub leaf_index: u64,
    pub created_by: UserId,
    pub created_at: OffsetDateTime,
}

/// Listing filter for a patient's records.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordFilter {
    pub category: Option<RecordCategory>,
    pub created_from: Option<OffsetDateTime>,
    pub created_before: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessRequestStatus {
    Pending,
    Approved,
    Denied,
}

impl AccessRequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessRequestStatus::Pending => "pending",
            AccessRequestStatus::Approved => "approved",
            AccessRequestStatus::Denied => "denied",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        [Self::Pending, Self::Approved, Self::Denied]
            .into_iter()
            .find(|s| s.as_str() == value)
    }
}

/// A doctor's request for access, waiting for the patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRequest {
    pub id: Uuid,
    pub doctor: UserId,
    pub patient: UserId,
    pub scope: ConsentScope,
    pub purpose: Purpose,
    pub reason: String,
    pub status: AccessRequestStatus,
    pub consent_id: Option<Uuid>,
    pub created_at: OffsetDateTime,
    pub decided_at: Option<OffsetDateTime>,
}

/// Something a user must be told (an access request, an emergency access).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub id: Uuid,
    pub user: UserId,
    pub kind: String,
    /// JSON object; ids and codes only, never clinical text.
    pub payload: String,
    pub created_at: OffsetDateTime,
}

// ---- SQL row shapes -------------------------------------------------------------------

fn corrupt(table: &'static str, column: &'static str) -> StoreError {
    StoreError::Corrupt { table, column }
}

fn to_u32(value: i64, table: &'static str, column: &'static str) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| corrupt(table, column))
}

#[derive(sqlx::FromRow)]
pub(crate) struct RecordSqlRow {
    id: Uuid,
    patient_id: Uuid,
    category: String,
    current_version: i64,
    created_by: Uuid,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl TryFrom<RecordSqlRow> for RecordMeta {
    type Error = StoreError;

    fn try_from(row: RecordSqlRow) -> Result<Self, Self::Error> {
        Ok(RecordMeta {
            id: RecordId(row.id),
            patient: UserId(row.patient_id),
            category: row
                .category
                .parse()
                .map_err(|_| corrupt("records", "category"))?,
            current_version: to_u32(row.current_version, "records", "current_version")?,
            created_by: UserId(row.created_by),
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct VersionSqlRow {
    record_id: Uuid,
    version: i64,
    content_type: String,
    size_bytes: i64,
    sealed: String,
    commitment_salt: Vec<u8>,
    leaf_index: i64,
    created_by: Uuid,
    created_at: OffsetDateTime,
}

impl TryFrom<VersionSqlRow> for RecordVersion {
    type Error = StoreError;

    fn try_from(row: VersionSqlRow) -> Result<Self, Self::Error> {
        Ok(RecordVersion {
            record_id: RecordId(row.record_id),
            version: to_u32(row.version, "record_versions", "version")?,
            content_type: row.content_type,
            size_bytes: u64::try_from(row.size_bytes)
                .map_err(|_| corrupt("record_versions", "size_bytes"))?,
            sealed: row.sealed,
            commitment_salt: row.commitment_salt,
            leaf_index: u64::try_from(row.leaf_index)
                .map_err(|_| corrupt("record_versions", "leaf_index"))?,
            created_by: UserId(row.created_by),
            created_at: row.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ConsentSqlRow {
    id: Uuid,
    patient_id: Uuid,
    grantee_id: Uuid,
    scope: String,
    purposes: String,
    allow_write: bool,
    created_at: OffsetDateTime,
    expires_at: Option<OffsetDateTime>,
    revoked_at: Option<OffsetDateTime>,
}

impl TryFrom<ConsentSqlRow> for ConsentGrant {
    type Error = StoreError;

    fn try_from(row: ConsentSqlRow) -> Result<Self, Self::Error> {
        Ok(ConsentGrant {
            id: row.id,
            patient: UserId(row.patient_id),
            grantee: UserId(row.grantee_id),
            scope: serde_json::from_str(&row.scope).map_err(|_| corrupt("consents", "scope"))?,
            purposes: serde_json::from_str::<BTreeSet<Purpose>>(&row.purposes)
                .map_err(|_| corrupt("consents", "purposes"))?,
            allow_write: row.allow_write,
            created_at: row.created_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AccessRequestSqlRow {
    id: Uuid,
    doctor_id: Uuid,
    patient_id: Uuid,
    scope: String,
    purpose: String,
    reason: String,
    status: String,
    consent_id: Option<Uuid>,
    created_at: OffsetDateTime,
    decided_at: Option<OffsetDateTime>,
}

impl TryFrom<AccessRequestSqlRow> for AccessRequest {
    type Error = StoreError;

    fn try_from(row: AccessRequestSqlRow) -> Result<Self, Self::Error> {
        let table = "access_requests";
        Ok(AccessRequest {
            id: row.id,
            doctor: UserId(row.doctor_id),
            patient: UserId(row.patient_id),
            scope: serde_json::from_str(&row.scope).map_err(|_| corrupt(table, "scope"))?,
            purpose: row.purpose.parse().map_err(|_| corrupt(table, "purpose"))?,
            reason: row.reason,
            status: AccessRequestStatus::parse(&row.status)
                .ok_or_else(|| corrupt(table, "status"))?,
            consent_id: row.consent_id,
            created_at: row.created_at,
            decided_at: row.decided_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct EmergencySqlRow {
    id: Uuid,
    doctor_id: Uuid,
    patient_id: Uuid,
    reason: String,
    created_at: OffsetDateTime,
    expires_at: OffsetDateTime,
}

impl From<EmergencySqlRow> for EmergencyGrant {
    fn from(row: EmergencySqlRow) -> Self {
        EmergencyGrant {
            id: row.id,
            patient: UserId(row.patient_id),
            doctor: UserId(row.doctor_id),
            reason: row.reason,
            created_at: row.created_at,
            expires_at: row.expires_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct NotificationSqlRow {
    id: Uuid,
    user_id: Uuid,
    kind: String,
    payload: String,
    created_at: OffsetDateTime,
}

impl From<NotificationSqlRow> for Notification {
    fn from(row: NotificationSqlRow) -> Self {
        Notification {
            id: row.id,
            user: UserId(row.user_id),
            kind: row.kind,
            payload: row.payload,
            created_at: row.created_at,
        }
    }
}

pub(crate) fn scope_json(scope: &ConsentScope) -> Result<String, StoreError> {
    serde_json::to_string(scope).map_err(|_| corrupt("consents", "scope"))
}

pub(crate) fn purposes_json(purposes: &BTreeSet<Purpose>) -> Result<String, StoreError> {
    serde_json::to_string(purposes).map_err(|_| corrupt("consents", "purposes"))
}

pub(crate) fn to_i64(
    value: u64,
    table: &'static str,
    column: &'static str,
) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| corrupt(table, column))
}
