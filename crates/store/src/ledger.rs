//! The unit of work and the verifiable log in SQL: a [`Change`] writes its rows and appends
//! its ledger entries in ONE transaction (DESIGN.md §3.2), under a lock that totally orders
//! appends (PostgreSQL: a transaction-scoped advisory lock; SQLite: one writer per process).

use meditrustal_domain::{ConsentGrant, EmergencyGrant, RecordId, UserId};
use meditrustal_ledger::{Hash, SignedTreeHead};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::records::{
    AccessRequest, AccessRequestStatus, NewRecord, NewRecordVersion, Notification,
};

/// One row change of a [`Change`].
#[derive(Debug, Clone)]
pub enum Write {
    CreateRecord(NewRecord),
    /// Adds a version; fails with [`crate::StoreError::Stale`] unless the record's current
    /// version is still `expected_current` (two concurrent updates: one wins).
    AddRecordVersion {
        version: NewRecordVersion,
        expected_current: u32,
    },
    InsertConsent(ConsentGrant),
    /// Fails with `Stale` when the consent is already revoked.
    RevokeConsent {
        id: Uuid,
        at: OffsetDateTime,
    },
    InsertAccessRequest(AccessRequest),
    /// Fails with `Stale` unless the request is still pending.
    DecideAccessRequest {
        id: Uuid,
        status: AccessRequestStatus,
        consent_id: Option<Uuid>,
        at: OffsetDateTime,
    },
    InsertEmergencyGrant(EmergencyGrant),
    InsertNotification(Notification),
    /// Stores (or replaces) the NLP result of a record version.
    UpsertNlpResult(crate::NlpResultRow),
    /// Stores an observation batch; a second batch of the same record version is ignored.
    InsertObservations(crate::ObservationBatch),
    InsertAlert(crate::AlertRow),
    /// Marks an alert resolved (its rule no longer fires with that band).
    ResolveAlert {
        id: Uuid,
        at: OffsetDateTime,
    },
    /// Crypto-shreds a record: writes its tombstone and removes the wrapped data key and
    /// commitment salt of every version. Fails with `Stale` when the record is already
    /// erased or on legal hold.
    EraseRecord {
        id: RecordId,
        at: OffsetDateTime,
        basis: String,
        reason: Option<String>,
    },
    /// Sets (`Some`) or clears (`None`) a record's legal hold. Fails with `Stale` when the
    /// record is erased, or when setting a hold that is set / clearing one that is not.
    SetLegalHold {
        id: RecordId,
        hold: Option<crate::records::LegalHold>,
    },
    InsertCorrection(crate::records::CorrectionRequest),
    /// Decides a pending correction request; fails with `Stale` unless it is still
    /// pending. An accepted one comes with the `AddRecordVersion` write of its version.
    DecideCorrection {
        id: Uuid,
        status: crate::records::CorrectionStatus,
        decided_by: UserId,
        decision_reason: Option<String>,
        new_version: Option<u32>,
        at: OffsetDateTime,
    },
    InsertExportJob(crate::records::ExportJob),
    /// Ends an export job (done with its archive, or failed with a reason); fails with
    /// `Stale` unless it was still pending or running.
    FinishExportJob(crate::records::ExportJob),
    /// Removes an account's personal data: username and e-mail become placeholders, the
    /// password can no longer match, the account is suspended, its sessions, active
    /// consents and notifications end. The DID (pseudonymous, on the ledger) stays.
    EraseAccount {
        user: UserId,
        at: OffsetDateTime,
    },
    /// Profiles, research projects, research consent and research exports.
    Research(crate::ResearchWrite),
    /// Replaces a FHIR resource's search-index rows (with each new version of its record).
    IndexFhirResource(crate::fhir::FhirIndexRow),
}

/// A ledger entry to append: its canonical bytes, and index columns for audit queries (kept
/// in the database only; the entry itself holds DIDs, not these ids).
#[derive(Debug, Clone)]
pub struct LedgerEvent {
    pub entry: Vec<u8>,
    pub kind: String,
    pub actor: Option<UserId>,
    pub patient: Option<UserId>,
    pub record: Option<RecordId>,
    pub outcome: String,
    pub at: OffsetDateTime,
}

/// Rows to write and entries to append, atomically. Record versions name the event that
/// records them (`NewRecordVersion::event`), which gives them their leaf index.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub writes: Vec<Write>,
    pub events: Vec<LedgerEvent>,
}

/// What a commit appended.
#[derive(Debug, Clone)]
pub struct Committed {
    pub first_leaf: u64,
    pub head: SignedTreeHead,
}

/// A stored ledger entry with its index columns.
#[derive(Debug, Clone)]
pub struct LeafRow {
    pub leaf_index: u64,
    pub entry: Vec<u8>,
    pub kind: String,
    pub actor: Option<UserId>,
    pub patient: Option<UserId>,
    pub record: Option<RecordId>,
    pub outcome: String,
    pub at: OffsetDateTime,
}

#[derive(sqlx::FromRow)]
pub(crate) struct LeafSqlRow {
    leaf_index: i64,
    leaf_data: Vec<u8>,
    kind: String,
    actor_id: Option<Uuid>,
    patient_id: Option<Uuid>,
    record_id: Option<Uuid>,
    outcome: String,
    created_at: OffsetDateTime,
}

impl From<LeafSqlRow> for LeafRow {
    fn from(row: LeafSqlRow) -> Self {
        LeafRow {
            leaf_index: u64::try_from(row.leaf_index).unwrap_or_default(),
            entry: row.leaf_data,
            kind: row.kind,
            actor: row.actor_id.map(UserId),
            patient: row.patient_id.map(UserId),
            record: row.record_id.map(RecordId),
            outcome: row.outcome,
            at: row.created_at,
        }
    }
}

/// Whose events an audit listing shows.
#[derive(Debug, Clone, Copy)]
pub enum AuditFilter {
    /// Every event about this patient's data.
    Patient(UserId),
    /// Every event this user caused.
    Actor(UserId),
    All,
}

#[derive(sqlx::FromRow)]
pub(crate) struct TreeHeadSqlRow {
    tree_size: i64,
    root: Vec<u8>,
    timestamp_ms: i64,
    signature: Vec<u8>,
}

impl TryFrom<TreeHeadSqlRow> for SignedTreeHead {
    type Error = crate::StoreError;

    fn try_from(row: TreeHeadSqlRow) -> Result<Self, Self::Error> {
        let corrupt = |column| crate::StoreError::Corrupt {
            table: "ledger_tree_heads",
            column,
        };
        let root: [u8; 32] = row.root.try_into().map_err(|_| corrupt("root"))?;
        let signature: [u8; 64] = row.signature.try_into().map_err(|_| corrupt("signature"))?;
        Ok(SignedTreeHead {
            head: meditrustal_ledger::TreeHead {
                tree_size: u64::try_from(row.tree_size).map_err(|_| corrupt("tree_size"))?,
                root: Hash(root),
                timestamp_ms: u64::try_from(row.timestamp_ms)
                    .map_err(|_| corrupt("timestamp_ms"))?,
            },
            signature: meditrustal_ledger::Signature::from_bytes(&signature),
        })
    }
}
