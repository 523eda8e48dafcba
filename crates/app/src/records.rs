//! Records: create, list, read, update (as a new version) and prove, each decided by the
//! policy and audited on the ledger in the same transaction as its change.

use meditrustal_domain::{Did, MediaType, Purpose, RecordCategory, RecordId, UserId};
use meditrustal_ledger::{InclusionProof, SignedTreeHead, VerifyingKey};
use meditrustal_store::{
    NewRecord, NewRecordVersion, Page, RecordFilter, RecordMeta, RecordVersion, Write,
};
use meditrustal_vault::{RecordBinding, SealedRecord};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::derived::Derived;
use crate::events::{AuditEvent, Outcome};
use crate::policy::{Action, Actor, Basis, Resource};
use crate::random::random_bytes;
use crate::{App, AppError};

/// Content submitted for a new record or version.
#[derive(Debug)]
pub struct RecordUpload {
    /// The patient the record is about; `None` means the actor themself.
    pub patient: Option<UserId>,
    pub category: Option<String>,
    pub content_type: String,
    pub purpose: Option<Purpose>,
    pub content: Vec<u8>,
}

/// A record version's decrypted content.
pub struct RecordContent {
    pub meta: RecordMeta,
    pub version: RecordVersion,
    pub content: Vec<u8>,
}

/// Everything needed to check offline that a record version is on the ledger.
pub struct RecordProof {
    pub leaf_index: u64,
    pub entry: Vec<u8>,
    pub proof: InclusionProof,
    pub tree_head: SignedTreeHead,
    pub public_key: VerifyingKey,
}

/// A record version decided and sealed, waiting for its commit.
pub(crate) struct StagedVersion {
    pub(crate) writes: Vec<Write>,
    pub(crate) event: AuditEvent,
    pub(crate) basis: Basis,
    pub(crate) derived: Derived,
}

/// Which record version a ciphertext belongs to (the AEAD binding).
pub(crate) struct VersionKey {
    pub(crate) patient: UserId,
    pub(crate) id: RecordId,
    pub(crate) version: u32,
}

const COMMITMENT_DOMAIN: &[u8] = b"meditrustal-content-v1\0";

/// SHA-256(domain ‖ salt ‖ SHA-256(content)): binds the ledger to the content while a
/// guess of a short medical value cannot be checked against it without the salt.
pub fn content_commitment(salt: &[u8], content_sha256: &[u8; 32]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(COMMITMENT_DOMAIN);
    hasher.update(salt);
    hasher.update(content_sha256);
    hex::encode(hasher.finalize())
}

impl App {
    pub async fn create_record(
        &self,
        actor: &Actor,
        upload: RecordUpload,
    ) -> Result<RecordMeta, AppError> {
        self.create_record_with(actor, upload, |_| Vec::new()).await
    }

    /// Creates a record whose commit also carries `extra(first version)` (e.g. the search
    /// index rows of a FHIR resource), so they are written with the record or not at all.
    pub(crate) async fn create_record_with(
        &self,
        actor: &Actor,
        upload: RecordUpload,
        extra: impl FnOnce(&NewRecordVersion) -> Vec<Write>,
    ) -> Result<RecordMeta, AppError> {
        let id = RecordId(Uuid::now_v7());
        let purpose = upload.purpose;
        let (staged, meta) = self.stage_create(actor, upload, id, extra).await?;
        let (basis, derived) = (staged.basis, staged.derived);
        self.commit(staged.writes, vec![staged.event]).await?;
        tracing::info!(record = %id, actor = %actor.user_id, "record created");
        self.derive(actor, basis, &meta, 1, derived, purpose).await;
        Ok(meta)
    }

    /// Everything of a new record up to its commit: decided (a denial is audited), content
    /// sealed in the vault, rows and ledger entry ready; and the record's metadata as the
    /// commit will store it.
    pub(crate) async fn stage_create(
        &self,
        actor: &Actor,
        upload: RecordUpload,
        id: RecordId,
        extra: impl FnOnce(&NewRecordVersion) -> Vec<Write>,
    ) -> Result<(StagedVersion, RecordMeta), AppError> {
        let patient = upload.patient.unwrap_or(actor.user_id);
        let category = RecordCategory::parse(upload.category.as_deref().unwrap_or_default())?;
        let media = MediaType::parse(&upload.content_type)?;
        media.check_content(&upload.content)?;
        let derived = Derived::of(category, &media, &upload.content, self.clock.now())?;
        let resource = Resource::NewRecord { patient, category };
        let patient_did = self.patient_did(patient).await?;
        let basis = self
            .decide_clinical(
                actor,
                Action::CreateRecord,
                resource,
                upload.purpose,
                patient_did.clone(),
                None,
            )
            .await?;
        let (version, event) = self
            .seal_version(
                actor,
                VersionKey {
                    patient,
                    id,
                    version: 1,
                },
                media,
                upload.content,
                basis,
            )
            .await?;
        let event = event
            .kind("record.created")
            .patient(patient, patient_did)
            .purpose(upload.purpose);
        let extra = extra(&version);
        let record = NewRecord {
            id,
            patient,
            category,
            first_version: version,
        };
        let meta = record.meta();
        let mut writes = vec![Write::CreateRecord(record)];
        writes.extend(extra);
        let staged = StagedVersion {
            writes,
            event,
            basis,
            derived,
        };
        Ok((staged, meta))
    }

    pub async fn update_record(
        &self,
        actor: &Actor,
        id: RecordId,
        upload: RecordUpload,
    ) -> Result<RecordMeta, AppError> {
        self.update_record_with(actor, id, upload, None, |_| Vec::new())
            .await
    }

    /// Adds a version whose commit also carries `extra(new version)`. With `expected`, the
    /// version is added only if the record's current version is still that one (else
    /// [`AppError::StateConflict`], nothing written).
    pub(crate) async fn update_record_with(
        &self,
        actor: &Actor,
        id: RecordId,
        upload: RecordUpload,
        expected: Option<u32>,
        extra: impl FnOnce(&NewRecordVersion) -> Vec<Write>,
    ) -> Result<RecordMeta, AppError> {
        let purpose = upload.purpose;
        let (staged, next) = self
            .stage_update(actor, id, upload, expected, extra)
            .await?;
        let (basis, derived) = (staged.basis, staged.derived);
        self.commit(staged.writes, vec![staged.event]).await?;
        let updated = self.record_meta_unchecked(id).await?;
        self.derive(actor, basis, &updated, next, derived, purpose)
            .await;
        Ok(updated)
    }

    /// Everything of a new version up to its commit; also returns the version number.
    pub(crate) async fn stage_update(
        &self,
        actor: &Actor,
        id: RecordId,
        upload: RecordUpload,
        expected: Option<u32>,
        extra: impl FnOnce(&NewRecordVersion) -> Vec<Write>,
    ) -> Result<(StagedVersion, u32), AppError> {
        let (meta, patient_did, basis) = self
            .decide_on_record(actor, id, Action::UpdateRecord, upload.purpose)
            .await?;
        let media = MediaType::parse(&upload.content_type)?;
        media.check_content(&upload.content)?;
        let derived = Derived::of(meta.category, &media, &upload.content, self.clock.now())?;
        let next = meta.current_version + 1;
        let (version, event) = self
            .seal_version(
                actor,
                VersionKey {
                    patient: meta.patient,
                    id,
                    version: next,
                },
                media,
                upload.content,
                basis,
            )
            .await?;
        let event = event
            .kind("record.updated")
            .patient(meta.patient, patient_did)
            .purpose(upload.purpose);
        let extra = extra(&version);
        let write = Write::AddRecordVersion {
            version,
            expected_current: expected.unwrap_or(meta.current_version),
        };
        let mut writes = vec![write];
        writes.extend(extra);
        Ok((
            StagedVersion {
                writes,
                event,
                basis,
                derived,
            },
            next,
        ))
    }

    /// Commits staged versions together: all or none (a FHIR transaction).
    pub(crate) async fn commit_staged(&self, staged: Vec<StagedVersion>) -> Result<(), AppError> {
        let mut writes = Vec::new();
        let mut events = Vec::with_capacity(staged.len());
        for (index, mut one) in staged.into_iter().enumerate() {
            // Each version names the ledger event of this change that records it.
            for write in &mut one.writes {
                match write {
                    Write::CreateRecord(record) => record.first_version.event = index,
                    Write::AddRecordVersion { version, .. } => version.event = index,
                    _ => {}
                }
            }
            writes.extend(one.writes);
            events.push(one.event);
        }
        self.commit(writes, events).await?;
        Ok(())
    }

    /// Decrypts a version (the current one by default) for an allowed actor; the read is on
    /// the ledger before the content is returned.
    pub async fn read_record(
        &self,
        actor: &Actor,
        id: RecordId,
        version: Option<u32>,
        purpose: Option<Purpose>,
    ) -> Result<RecordContent, AppError> {
        // The record and the wanted version in one query; the version is only used once
        // the policy allowed the read.
        let (meta, stored) = self
            .store
            .record_and_version(id, version)
            .await?
            .ok_or(AppError::NotFound { what: "record" })?;
        let (patient_did, basis) = self
            .decide_on_meta(actor, &meta, Action::ReadRecord, purpose)
            .await?;
        let stored = stored.ok_or(AppError::NotFound {
            what: "record version",
        })?;
        let wanted = stored.version;
        let content = self.open_version(&meta, &stored).await?;
        let event = self.record_access_event(
            "record.read",
            actor,
            (&meta, patient_did, basis),
            Some(wanted),
            purpose,
        );
        self.commit(vec![], vec![event]).await?;
        Ok(RecordContent {
            meta,
            version: stored,
            content,
        })
    }

    /// A record's metadata and versions (no content). Audited like a read.
    pub async fn record_details(
        &self,
        actor: &Actor,
        id: RecordId,
        purpose: Option<Purpose>,
    ) -> Result<(RecordMeta, Vec<RecordVersion>), AppError> {
        let (meta, patient_did, basis) = self
            .decide_on_record(actor, id, Action::ReadRecord, purpose)
            .await?;
        let event = self.record_access_event(
            "record.viewed",
            actor,
            (&meta, patient_did, basis),
            None,
            purpose,
        );
        self.commit(vec![], vec![event]).await?;
        let versions = self.store.record_versions(id).await?;
        Ok((meta, versions))
    }

    /// A patient's records, limited to what the actor's consents cover.
    pub async fn list_records(
        &self,
        actor: &Actor,
        patient: Option<UserId>,
        filter: RecordFilter,
        page: Page,
    ) -> Result<Vec<RecordMeta>, AppError> {
        let patient = patient.unwrap_or(actor.user_id);
        let patient_did = self.patient_did(patient).await?;
        let facts = self.facts(actor, patient).await?;
        let basis = self
            .decide_with(
                actor,
                Action::ListRecords,
                Resource::Patient(patient),
                None,
                &facts,
                patient_did.clone(),
                None,
            )
            .await?;
        let records = self.store.list_records(patient, filter, page).await?;
        let event = AuditEvent::new(
            "record.listed",
            self.clock.now(),
            actor,
            Outcome::Allowed(basis),
        )
        .patient(patient, patient_did);
        self.commit(vec![], vec![event]).await?;
        let now = self.clock.now();
        // The policy prefers a consent over an emergency grant as the basis, but a doctor
        // under an active emergency grant may read every record, so lists them all too.
        let in_emergency = facts.1.iter().any(|grant| grant.is_active(now));
        let visible = |meta: &RecordMeta| match basis {
            Basis::Consent(_) if !in_emergency => facts.0.iter().any(|c| {
                c.grantee == actor.user_id
                    && c.is_active(now)
                    && c.scope.covers(meta.id, meta.category)
            }),
            Basis::Consent(_) | Basis::Owner | Basis::Emergency(_) | Basis::Role => true,
        };
        Ok(records.into_iter().filter(visible).collect())
    }

    /// The inclusion proof of a version's ledger entry in the latest signed tree head.
    pub async fn record_proof(
        &self,
        actor: &Actor,
        id: RecordId,
        version: Option<u32>,
        purpose: Option<Purpose>,
    ) -> Result<RecordProof, AppError> {
        let (meta, patient_did, basis) = self
            .decide_on_record(actor, id, Action::ReadRecord, purpose)
            .await?;
        let wanted = version.unwrap_or(meta.current_version);
        let stored = self.version_of(id, wanted).await?;
        let event = self.record_access_event(
            "record.proof_read",
            actor,
            (&meta, patient_did, basis),
            Some(wanted),
            purpose,
        );
        self.commit(vec![], vec![event]).await?;
        self.inclusion_proof(stored.leaf_index).await
    }

    pub(crate) async fn seal_version(
        &self,
        actor: &Actor,
        key: VersionKey,
        media: MediaType,
        content: Vec<u8>,
        basis: Basis,
    ) -> Result<(NewRecordVersion, AuditEvent), AppError> {
        let VersionKey {
            patient,
            id,
            version,
        } = key;
        let size_bytes = content.len() as u64;
        let (record_text, patient_text) = (id.to_string(), patient.to_string());
        let binding = RecordBinding::new(&record_text, &patient_text, u64::from(version));
        // Ciphertext first, under a content-derived key: a crash before the commit below
        // leaves only an orphan object for `meditrustal gc` (DESIGN.md §3.3).
        let sealed = self
            .vault
            .put_record(content, &binding)
            .await
            .map_err(AppError::vault)?;
        let salt = random_bytes::<32>()?;
        let commitment = content_commitment(&salt, &sealed.content_sha256);
        let sealed_json =
            serde_json::to_string(&sealed).map_err(|err| AppError::internal(err.to_string()))?;
        let now = self.clock.now();
        let new = NewRecordVersion {
            record_id: id,
            version,
            content_type: media.as_str().to_owned(),
            size_bytes,
            sealed: sealed_json,
            commitment_salt: salt,
            created_by: actor.user_id,
            created_at: now,
            event: 0,
            correction_id: None,
        };
        let event = AuditEvent::new("record.created", now, actor, Outcome::Allowed(basis))
            .record(id, Some(version))
            .commitment(commitment);
        Ok((new, event))
    }

    pub(crate) async fn open_version(
        &self,
        meta: &RecordMeta,
        stored: &RecordVersion,
    ) -> Result<Vec<u8>, AppError> {
        let sealed: SealedRecord = serde_json::from_str(&stored.sealed).map_err(|err| {
            AppError::Integrity(format!(
                "record {} v{}: metadata: {err}",
                meta.id, stored.version
            ))
        })?;
        let (record_text, patient_text) = (meta.id.to_string(), meta.patient.to_string());
        let binding = RecordBinding::new(&record_text, &patient_text, u64::from(stored.version));
        self.vault
            .get_record(&sealed, &binding)
            .await
            .map_err(|err| {
                AppError::Integrity(format!("record {} v{}: {err}", meta.id, stored.version))
            })
    }

    /// The ledger entry of an allowed look at a record (read, view, proof).
    pub(crate) fn record_access_event(
        &self,
        kind: &'static str,
        actor: &Actor,
        (meta, patient_did, basis): (&RecordMeta, Did, Basis),
        version: Option<u32>,
        purpose: Option<Purpose>,
    ) -> AuditEvent {
        AuditEvent::new(kind, self.clock.now(), actor, Outcome::Allowed(basis))
            .patient(meta.patient, patient_did)
            .record(meta.id, version)
            .purpose(purpose)
    }

    /// Loads a record and decides `action` on it for `actor` (a denial is audited first).
    /// An erased record answers [`AppError::Erased`] to those allowed, whatever the action.
    pub(crate) async fn decide_on_record(
        &self,
        actor: &Actor,
        id: RecordId,
        action: Action,
        purpose: Option<Purpose>,
    ) -> Result<(RecordMeta, Did, Basis), AppError> {
        let meta = self.record_meta_unchecked(id).await?;
        let (patient_did, basis) = self.decide_on_meta(actor, &meta, action, purpose).await?;
        Ok((meta, patient_did, basis))
    }

    /// [`App::decide_on_record`] for a record already read.
    pub(crate) async fn decide_on_meta(
        &self,
        actor: &Actor,
        meta: &RecordMeta,
        action: Action,
        purpose: Option<Purpose>,
    ) -> Result<(Did, Basis), AppError> {
        let id = meta.id;
        let resource = Resource::Record {
            patient: meta.patient,
            id,
            category: meta.category,
        };
        let patient_did = self.patient_did(meta.patient).await?;
        let basis = self
            .decide_clinical(
                actor,
                action,
                resource,
                purpose,
                patient_did.clone(),
                Some(id),
            )
            .await?;
        if meta.erasure.is_some() {
            return Err(AppError::Erased);
        }
        Ok((patient_did, basis))
    }

    pub(crate) async fn record_meta_unchecked(&self, id: RecordId) -> Result<RecordMeta, AppError> {
        self.store
            .record(id)
            .await?
            .ok_or(AppError::NotFound { what: "record" })
    }

    pub(crate) async fn version_of(
        &self,
        id: RecordId,
        version: u32,
    ) -> Result<RecordVersion, AppError> {
        self.store
            .record_and_version(id, Some(version))
            .await?
            .and_then(|(_, stored)| stored)
            .ok_or(AppError::NotFound {
                what: "record version",
            })
    }
}
