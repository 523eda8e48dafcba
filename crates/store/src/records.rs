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
    /// Set when the record was erased (crypto-shredded); the row is then its tombstone.
    pub erasure: Option<Erasure>,
    /// Set while an administrator holds the record (erasure is then refused).
    pub hold: Option<LegalHold>,
}

/// The tombstone of an erased record: when, and under which legal basis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erasure {
    pub at: OffsetDateTime,
    /// A stable code, e.g. `pipl-art47-subject-request`.
    pub basis: String,
    /// An administrator's reason (a request reference); `None` when the patient erased.
    pub reason: Option<String>,
}

/// A legal hold: the record must be kept (a dispute, an investigation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalHold {
    pub reason: String,
    pub set_by: UserId,
    pub set_at: OffsetDateTime,
}

/// A new record with its first version.
#[derive(Debug, Clone)]
pub struct NewRecord {
    pub id: RecordId,
    pub patient: UserId,
    pub category: RecordCategory,
    pub first_version: NewRecordVersion,
}

impl NewRecord {
    /// The metadata row this record is created with.
    pub fn meta(&self) -> RecordMeta {
        let first = &self.first_version;
        RecordMeta {
            id: self.id,
            patient: self.patient,
            category: self.category,
            current_version: first.version,
            created_by: first.created_by,
            created_at: first.created_at,
            updated_at: first.created_at,
            erasure: None,
            hold: None,
        }
    }
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
    /// The accepted correction request this version comes from, if any.
    pub correction_id: Option<Uuid>,
}

/// A stored record version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordVersion {
    pub record_id: RecordId,
    pub version: u32,
    pub content_type: String,
    pub size_bytes: u64,
    /// The vault's `SealedRecord` as JSON; [`ERASED_SEALED`] once the record is erased.
    pub sealed: String,
    /// Empty once the record is erased.
    pub commitment_salt: Vec<u8>,
    pub leaf_index: u64,
    pub created_by: UserId,
    pub created_at: OffsetDateTime,
    /// The accepted correction request this version comes from, if any.
    pub correction_id: Option<Uuid>,
}

/// What an erased version's `sealed` holds: nothing (its wrapped data key is destroyed).
pub const ERASED_SEALED: &str = "";

impl RecordVersion {
    /// Whether the version's data key was destroyed by an erasure.
    pub fn is_erased(&self) -> bool {
        self.sealed == ERASED_SEALED
    }
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorrectionStatus {
    Pending,
    Accepted,
    Rejected,
}

impl CorrectionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CorrectionStatus::Pending => "pending",
            CorrectionStatus::Accepted => "accepted",
            CorrectionStatus::Rejected => "rejected",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        [Self::Pending, Self::Accepted, Self::Rejected]
            .into_iter()
            .find(|s| s.as_str() == value)
    }
}

/// A patient's request to correct a record (PIPL Art. 46).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrectionRequest {
    pub id: Uuid,
    pub record_id: RecordId,
    pub patient: UserId,
    /// The version the patient asked to correct.
    pub base_version: u32,
    pub content_type: String,
    /// The vault's `SealedRecord` of the proposed content, serialised ([`ERASED_SEALED`]
    /// once the record is erased).
    pub proposal: String,
    pub reason: String,
    pub status: CorrectionStatus,
    pub decided_by: Option<UserId>,
    pub decision_reason: Option<String>,
    /// The version an acceptance created.
    pub new_version: Option<u32>,
    pub created_at: OffsetDateTime,
    pub decided_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportStatus {
    Pending,
    Running,
    Done,
    Failed,
}

impl ExportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportStatus::Pending => "pending",
            ExportStatus::Running => "running",
            ExportStatus::Done => "done",
            ExportStatus::Failed => "failed",
        }
    }

    pub(crate) fn parse(value: &str) -> Option<Self> {
        [Self::Pending, Self::Running, Self::Done, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == value)
    }
}

/// A patient's export (PIPL Art. 45), built in the background.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportJob {
    pub id: Uuid,
    pub patient: UserId,
    pub status: ExportStatus,
    /// The vault's `SealedRecord` of the encrypted archive, once done.
    pub sealed: Option<String>,
    pub size_bytes: Option<u64>,
    /// SHA-256 (hex) of the archive.
    pub sha256: Option<String>,
    /// Why the export failed (no personal data).
    pub error: Option<String>,
    pub created_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
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
    erased_at: Option<OffsetDateTime>,
    erasure_basis: Option<String>,
    erasure_reason: Option<String>,
    hold_reason: Option<String>,
    hold_set_by: Option<Uuid>,
    hold_set_at: Option<OffsetDateTime>,
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
            erasure: match (row.erased_at, row.erasure_basis) {
                (Some(at), Some(basis)) => Some(Erasure {
                    at,
                    basis,
                    reason: row.erasure_reason,
                }),
                (None, None) => None,
                _ => return Err(corrupt("records", "erasure_basis")),
            },
            hold: match (row.hold_reason, row.hold_set_by, row.hold_set_at) {
                (Some(reason), Some(set_by), Some(set_at)) => Some(LegalHold {
                    reason,
                    set_by: UserId(set_by),
                    set_at,
                }),
                (None, None, None) => None,
                _ => return Err(corrupt("records", "hold_reason")),
            },
        })
    }
}

/// A record joined with one of its versions (`v_*`, absent when there is no such version).
#[derive(sqlx::FromRow)]
pub(crate) struct RecordAndVersionSqlRow {
    #[sqlx(flatten)]
    record: RecordSqlRow,
    v_version: Option<i64>,
    v_content_type: Option<String>,
    v_size_bytes: Option<i64>,
    v_sealed: Option<String>,
    v_commitment_salt: Option<Vec<u8>>,
    v_leaf_index: Option<i64>,
    v_created_by: Option<Uuid>,
    v_created_at: Option<OffsetDateTime>,
    v_correction_id: Option<Uuid>,
}

impl TryFrom<RecordAndVersionSqlRow> for (RecordMeta, Option<RecordVersion>) {
    type Error = StoreError;

    fn try_from(row: RecordAndVersionSqlRow) -> Result<Self, Self::Error> {
        let record_id = row.record.id;
        let version = match (
            row.v_version,
            row.v_content_type,
            row.v_size_bytes,
            row.v_sealed,
            row.v_commitment_salt,
            row.v_leaf_index,
            row.v_created_by,
            row.v_created_at,
        ) {
            (
                Some(version),
                Some(content_type),
                Some(size_bytes),
                Some(sealed),
                Some(commitment_salt),
                Some(leaf_index),
                Some(created_by),
                Some(created_at),
            ) => Some(RecordVersion::try_from(VersionSqlRow {
                record_id,
                version,
                content_type,
                size_bytes,
                sealed,
                commitment_salt,
                leaf_index,
                created_by,
                created_at,
                correction_id: row.v_correction_id,
            })?),
            (None, None, None, None, None, None, None, None) => None,
            _ => return Err(corrupt("record_versions", "version")),
        };
        Ok((RecordMeta::try_from(row.record)?, version))
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
    correction_id: Option<Uuid>,
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
            correction_id: row.correction_id,
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

#[derive(sqlx::FromRow)]
pub(crate) struct CorrectionSqlRow {
    id: Uuid,
    record_id: Uuid,
    patient_id: Uuid,
    base_version: i64,
    content_type: String,
    proposal: String,
    reason: String,
    status: String,
    decided_by: Option<Uuid>,
    decision_reason: Option<String>,
    new_version: Option<i64>,
    created_at: OffsetDateTime,
    decided_at: Option<OffsetDateTime>,
}

impl TryFrom<CorrectionSqlRow> for CorrectionRequest {
    type Error = StoreError;

    fn try_from(row: CorrectionSqlRow) -> Result<Self, Self::Error> {
        let table = "correction_requests";
        Ok(CorrectionRequest {
            id: row.id,
            record_id: RecordId(row.record_id),
            patient: UserId(row.patient_id),
            base_version: to_u32(row.base_version, table, "base_version")?,
            content_type: row.content_type,
            proposal: row.proposal,
            reason: row.reason,
            status: CorrectionStatus::parse(&row.status).ok_or_else(|| corrupt(table, "status"))?,
            decided_by: row.decided_by.map(UserId),
            decision_reason: row.decision_reason,
            new_version: row
                .new_version
                .map(|v| to_u32(v, table, "new_version"))
                .transpose()?,
            created_at: row.created_at,
            decided_at: row.decided_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ExportSqlRow {
    id: Uuid,
    patient_id: Uuid,
    status: String,
    sealed: Option<String>,
    size_bytes: Option<i64>,
    sha256: Option<String>,
    error: Option<String>,
    created_at: OffsetDateTime,
    finished_at: Option<OffsetDateTime>,
}

impl TryFrom<ExportSqlRow> for ExportJob {
    type Error = StoreError;

    fn try_from(row: ExportSqlRow) -> Result<Self, Self::Error> {
        let table = "export_jobs";
        Ok(ExportJob {
            id: row.id,
            patient: UserId(row.patient_id),
            status: ExportStatus::parse(&row.status).ok_or_else(|| corrupt(table, "status"))?,
            sealed: row.sealed,
            size_bytes: row
                .size_bytes
                .map(|v| u64::try_from(v).map_err(|_| corrupt(table, "size_bytes")))
                .transpose()?,
            sha256: row.sha256,
            error: row.error,
            created_at: row.created_at,
            finished_at: row.finished_at,
        })
    }
}
