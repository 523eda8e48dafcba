//! Erasure by crypto-shredding (PIPL Art. 47, DESIGN.md §3.7) and legal holds.
//!
//! Erasing a record removes the wrapped data key and commitment salt of every version in
//! the same transaction as its `record.erased` ledger entry and tombstone; without the
//! data keys the ciphertexts are unreadable wherever copies of them remain (backups hold
//! only wrapped keys). The ciphertext objects are then deleted from object storage; one
//! that cannot be deleted now is no longer referenced, so `meditrustal gc` removes it.
//! The ledger is never rewritten: its entries hold DIDs and salted commitments only, and
//! with the salt gone a commitment cannot even be checked against a guessed content.

use meditrustal_domain::{RecordId, Role, UserId, parse_reason};
use meditrustal_store::{ERASED_SEALED, Erasure, LegalHold, Page, RecordFilter, RecordMeta, Write};
use meditrustal_vault::{ObjectKey, SealedRecord};
use serde_json::json;

use crate::events::{AuditEvent, Outcome};
use crate::policy::{Action, Actor, Basis, Denial, Resource};
use crate::{App, AppError};

/// Why a record was erased; its code is on the ledger and in the tombstone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErasureBasis {
    /// The patient asked, through their own account.
    SubjectRequest,
    /// An administrator executed a request verified outside the platform.
    VerifiedRequest,
    /// The retention period of the record's category has passed.
    RetentionExpired,
}

impl ErasureBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            ErasureBasis::SubjectRequest => "pipl-art47-subject-request",
            ErasureBasis::VerifiedRequest => "pipl-art47-verified-request",
            ErasureBasis::RetentionExpired => "pipl-art47-retention-expired",
        }
    }

    fn for_basis(basis: Basis) -> ErasureBasis {
        match basis {
            Basis::Owner => ErasureBasis::SubjectRequest,
            Basis::Role | Basis::Consent(_) | Basis::Emergency(_) => ErasureBasis::VerifiedRequest,
        }
    }
}

/// What an erasure did.
#[derive(Debug, Clone)]
pub struct ErasureOutcome {
    /// The tombstones written, one per erased record.
    pub records: Vec<(RecordId, Erasure)>,
    /// Ciphertext objects deleted from object storage.
    pub objects_deleted: u64,
    /// Objects that could not be deleted now (unreferenced: `gc` removes them).
    pub objects_left: u64,
}

/// Records of one patient read per query when erasing an account.
const PAGE_SIZE: u32 = 200;

impl App {
    /// Erases one record. Patients erase their own; an administrator executes a verified
    /// request and must give a reason (a request reference, never personal data).
    pub async fn erase_record(
        &self,
        actor: &Actor,
        id: RecordId,
        reason: Option<&str>,
    ) -> Result<ErasureOutcome, AppError> {
        self.erase_one(actor, id, reason, None).await
    }

    /// Erases a record under a given legal basis (retention); the policy decides as for
    /// any erasure.
    pub(crate) async fn erase_record_as(
        &self,
        actor: &Actor,
        id: RecordId,
        reason: Option<&str>,
        legal: ErasureBasis,
    ) -> Result<ErasureOutcome, AppError> {
        self.erase_one(actor, id, reason, Some(legal)).await
    }

    async fn erase_one(
        &self,
        actor: &Actor,
        id: RecordId,
        reason: Option<&str>,
        legal: Option<ErasureBasis>,
    ) -> Result<ErasureOutcome, AppError> {
        let reason = admin_reason(actor, reason)?;
        let (meta, patient_did, basis) = self
            .decide_on_record(actor, id, Action::EraseRecord, None)
            .await?;
        if meta.hold.is_some() {
            return Err(self.refuse_held(actor, &meta, patient_did).await?);
        }
        let legal = legal.unwrap_or(ErasureBasis::for_basis(basis));
        let mut objects = self.record_objects(&meta).await?;
        objects.extend(self.export_objects(meta.patient).await?);
        let now = self.clock.now();
        let event = AuditEvent::new("record.erased", now, actor, Outcome::Allowed(basis))
            .patient(meta.patient, patient_did)
            .record(id, None)
            .legal_basis(legal.as_str());
        let mut writes = vec![Write::EraseRecord {
            id,
            at: now,
            basis: legal.as_str().to_owned(),
            reason: reason.clone(),
        }];
        if actor.user_id != meta.patient {
            let payload = json!({ "record_id": id.0, "legal_basis": legal.as_str() });
            writes.push(Write::InsertNotification(self.notification(
                meta.patient,
                "record.erased",
                payload,
            )?));
        }
        self.commit(writes, vec![event]).await?;
        tracing::info!(record = %id, actor = %actor.user_id, basis = legal.as_str(), "record erased");
        let (objects_deleted, objects_left) = self.delete_objects(&objects).await;
        let erasure = Erasure {
            at: now,
            basis: legal.as_str().to_owned(),
            reason,
        };
        Ok(ErasureOutcome {
            records: vec![(id, erasure)],
            objects_deleted,
            objects_left,
        })
    }

    /// Erases a patient's account: every record (refused as a whole when one is on legal
    /// hold), then the account's personal data, in one transaction.
    pub async fn erase_account(
        &self,
        actor: &Actor,
        patient: UserId,
        reason: Option<&str>,
    ) -> Result<ErasureOutcome, AppError> {
        let reason = admin_reason(actor, reason)?;
        let patient_did = self.patient_did(patient).await?;
        let basis = self
            .decide_clinical(
                actor,
                Action::EraseAccount,
                Resource::Patient(patient),
                None,
                patient_did.clone(),
                None,
            )
            .await?;
        let legal = ErasureBasis::for_basis(basis);
        let records = self.all_records(patient).await?;
        if let Some(held) = records.iter().find(|r| r.hold.is_some()) {
            return Err(self.refuse_held(actor, held, patient_did).await?);
        }
        let now = self.clock.now();
        let (mut writes, mut events, mut objects, mut erased) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for meta in records.iter().filter(|r| r.erasure.is_none()) {
            objects.extend(self.record_objects(meta).await?);
            writes.push(Write::EraseRecord {
                id: meta.id,
                at: now,
                basis: legal.as_str().to_owned(),
                reason: reason.clone(),
            });
            events.push(
                AuditEvent::new("record.erased", now, actor, Outcome::Allowed(basis))
                    .patient(patient, patient_did.clone())
                    .record(meta.id, None)
                    .legal_basis(legal.as_str()),
            );
            let erasure = Erasure {
                at: now,
                basis: legal.as_str().to_owned(),
                reason: reason.clone(),
            };
            erased.push((meta.id, erasure));
        }
        objects.extend(self.export_objects(patient).await?);
        writes.push(Write::EraseAccount {
            user: patient,
            at: now,
        });
        events.push(
            AuditEvent::new("account.erased", now, actor, Outcome::Allowed(basis))
                .patient(patient, patient_did)
                .legal_basis(legal.as_str()),
        );
        self.commit(writes, events).await?;
        tracing::info!(patient = %patient, actor = %actor.user_id, records = erased.len(), "account erased");
        let (objects_deleted, objects_left) = self.delete_objects(&objects).await;
        Ok(ErasureOutcome {
            records: erased,
            objects_deleted,
            objects_left,
        })
    }

    /// Puts a record under legal hold (administrators only): erasure is refused until
    /// the hold is cleared.
    pub async fn set_legal_hold(
        &self,
        actor: &Actor,
        id: RecordId,
        reason: &str,
    ) -> Result<RecordMeta, AppError> {
        let reason = parse_reason(reason)?;
        let (meta, patient_did, basis) = self
            .decide_on_record(actor, id, Action::SetLegalHold, None)
            .await?;
        let now = self.clock.now();
        let hold = LegalHold {
            reason,
            set_by: actor.user_id,
            set_at: now,
        };
        let event = AuditEvent::new("record.hold_set", now, actor, Outcome::Allowed(basis))
            .patient(meta.patient, patient_did)
            .record(id, None);
        let write = Write::SetLegalHold {
            id,
            hold: Some(hold),
        };
        self.commit(vec![write], vec![event]).await?;
        self.store
            .record(id)
            .await?
            .ok_or(AppError::NotFound { what: "record" })
    }

    pub async fn clear_legal_hold(
        &self,
        actor: &Actor,
        id: RecordId,
    ) -> Result<RecordMeta, AppError> {
        let (meta, patient_did, basis) = self
            .decide_on_record(actor, id, Action::SetLegalHold, None)
            .await?;
        let now = self.clock.now();
        let event = AuditEvent::new("record.hold_cleared", now, actor, Outcome::Allowed(basis))
            .patient(meta.patient, patient_did)
            .record(id, None);
        let write = Write::SetLegalHold { id, hold: None };
        self.commit(vec![write], vec![event]).await?;
        self.store
            .record(id)
            .await?
            .ok_or(AppError::NotFound { what: "record" })
    }

    /// Audits the refusal to erase a held record and returns the error to answer.
    async fn refuse_held(
        &self,
        actor: &Actor,
        held: &RecordMeta,
        patient_did: meditrustal_domain::Did,
    ) -> Result<AppError, AppError> {
        let event = AuditEvent::new(
            "record.erase_refused",
            self.clock.now(),
            actor,
            Outcome::Denied(Denial::LegalHold),
        )
        .patient(held.patient, patient_did)
        .record(held.id, None);
        self.commit(vec![], vec![event]).await?;
        Ok(AppError::LegalHold)
    }

    pub(crate) async fn all_records(&self, patient: UserId) -> Result<Vec<RecordMeta>, AppError> {
        let mut all = Vec::new();
        let mut offset = 0;
        loop {
            let page = Page {
                limit: PAGE_SIZE,
                offset,
            };
            let batch = self
                .store
                .list_records(patient, RecordFilter::default(), page)
                .await?;
            let done = batch.len() < PAGE_SIZE as usize;
            all.extend(batch);
            if done {
                return Ok(all);
            }
            offset += PAGE_SIZE;
        }
    }

    /// The objects of a record's versions and correction proposals (not yet erased).
    async fn record_objects(&self, meta: &RecordMeta) -> Result<Vec<ObjectKey>, AppError> {
        let versions = self.store.record_versions(meta.id).await?;
        let proposals = self.store.correction_requests(Some(meta.id), None).await?;
        let sealed = versions
            .iter()
            .filter(|v| !v.is_erased())
            .map(|v| (v.version.to_string(), v.sealed.as_str()))
            .chain(
                proposals
                    .iter()
                    .filter(|c| c.proposal != ERASED_SEALED)
                    .map(|c| (format!("correction {}", c.id), c.proposal.as_str())),
            );
        sealed
            .map(|(what, json)| {
                serde_json::from_str::<SealedRecord>(json)
                    .map(|sealed| sealed.object_key)
                    .map_err(|err| {
                        AppError::Integrity(format!("record {} {what}: metadata: {err}", meta.id))
                    })
            })
            .collect()
    }

    /// The archives of the patient's finished exports: decrypted copies of their data,
    /// withdrawn by any erasure.
    async fn export_objects(&self, patient: UserId) -> Result<Vec<ObjectKey>, AppError> {
        let jobs = self.store.export_jobs(Some(patient)).await?;
        jobs.iter()
            .filter_map(|job| job.sealed.as_deref().map(|sealed| (job.id, sealed)))
            .map(|(id, sealed)| {
                serde_json::from_str::<SealedRecord>(sealed)
                    .map(|sealed| sealed.object_key)
                    .map_err(|err| AppError::Integrity(format!("export {id}: metadata: {err}")))
            })
            .collect()
    }

    /// Deletes ciphertext objects; returns (deleted, left for `gc`).
    async fn delete_objects(&self, objects: &[ObjectKey]) -> (u64, u64) {
        let (mut deleted, mut left) = (0, 0);
        for key in objects {
            match self.vault.delete_object(key).await {
                Ok(()) => deleted += 1,
                Err(err) => {
                    tracing::warn!(object = %key, error = %err, "erased object not deleted; gc will remove it");
                    left += 1;
                }
            }
        }
        (deleted, left)
    }
}

/// Administrators must say why (a request reference). A patient's own request needs no
/// reason, and none is kept: free text in a tombstone could hold the very data erased.
fn admin_reason(actor: &Actor, reason: Option<&str>) -> Result<Option<String>, AppError> {
    match actor.role {
        Role::Admin => Ok(Some(parse_reason(reason.unwrap_or_default())?)),
        Role::Patient | Role::Doctor | Role::Researcher => Ok(None),
    }
}
