//! Export (PIPL Art. 45): a patient's copy of everything the platform holds about them,
//! built in the background as one zip archive:
//!
//! - `bundle.json`: a FHIR R4 `collection` Bundle in the style of `Patient/$everything`:
//!   the Patient, a DocumentReference per record version (its attachment names the file),
//!   a Consent per consent, an AuditEvent per ledger entry about the patient;
//! - `records/<record>/v<n>.<ext>`: each version's original content, decrypted;
//! - `data/*.json`: access requests, correction requests and notifications as stored; the
//!   NLP results of note versions and the early-warning alerts (with their explanations);
//! - `manifest.json`: every file's SHA-256; for record files the ledger leaf and the salt
//!   that bind the content to the ledger's commitment; every ledger entry with its RFC 9162
//!   inclusion path; and the signed tree head and public key they all verify against.
//!
//! `scripts/check-export.py` checks an archive offline with the standard library only.
//! The archive is encrypted in the vault like a record; any erasure withdraws it.

use std::io::Write as _;

use meditrustal_domain::{Did, RecordId, Role, UserId};
use meditrustal_ledger::SignedTreeHead;
use meditrustal_store::{
    AuditFilter, ExportJob, ExportStatus, Page, RecordMeta, RecordVersion, User, Write,
};
use meditrustal_vault::{RecordBinding, SealedRecord};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::events::{AuditEvent, Outcome};
use crate::fhir_platform::{DID_SYSTEM, audit_event_resource};
use crate::policy::{Action, Actor, Basis, Resource};
use crate::{App, AppError};

/// The format name in `manifest.json`; bump on an incompatible change.
pub const EXPORT_FORMAT: &str = "meditrustal-export-v1";
const LEAF_PAGE: u32 = 500;

/// A finished export's archive, decrypted for its patient.
pub struct ExportArchive {
    pub job: ExportJob,
    pub archive: Vec<u8>,
}

fn binding_id(job: Uuid) -> String {
    format!("export/{job}")
}

impl App {
    /// Starts an export of the actor's own data (patients only) and returns the job at
    /// once; poll [`App::export_status`].
    pub async fn start_export(&self, actor: &Actor) -> Result<ExportJob, AppError> {
        let patient = actor.user_id;
        let (patient_did, basis) = self.decide_export(actor, patient).await?;
        let now = self.clock.now();
        let job = ExportJob {
            id: Uuid::now_v7(),
            patient,
            status: ExportStatus::Pending,
            sealed: None,
            size_bytes: None,
            sha256: None,
            error: None,
            created_at: now,
            finished_at: None,
        };
        let event = AuditEvent::new("export.requested", now, actor, Outcome::Allowed(basis))
            .patient(patient, patient_did)
            .request(job.id);
        self.commit(vec![Write::InsertExportJob(job.clone())], vec![event])
            .await?;
        let app = self.clone();
        let (runner, id) = (actor.clone(), job.id);
        tokio::spawn(async move { app.run_export(runner, id).await });
        Ok(job)
    }

    /// Builds again every export a stopped process left unfinished (pending or running: its
    /// builder was a task of that process, gone with it), patients' and research exports
    /// alike; call once at start-up. Each job
    /// starts from scratch for its patient. Should another live replica still be building the
    /// same job, the first to finish wins (finishing is conditional on the job being
    /// unfinished) and the other's archive is an orphan for `gc`. Returns how many were
    /// restarted.
    pub async fn resume_exports(&self) -> Result<usize, AppError> {
        let unfinished = self
            .store
            .export_jobs(None)
            .await?
            .into_iter()
            .filter(|job| matches!(job.status, ExportStatus::Pending | ExportStatus::Running));
        let mut resumed = 0;
        for job in unfinished {
            // An erased account's jobs were withdrawn with it; nothing to build.
            let Some(user) = self.store.user_by_id(job.patient).await? else {
                continue;
            };
            let runner = Actor {
                user_id: user.id,
                role: user.role,
                did: user.did,
            };
            tracing::info!(export = %job.id, "restarting an unfinished export");
            let app = self.clone();
            tokio::spawn(async move { app.run_export(runner, job.id).await });
            resumed += 1;
        }
        Ok(resumed + self.resume_research_exports().await?)
    }

    /// A job's state (its patient only; anyone else gets 404, so ids cannot be probed).
    pub async fn export_status(&self, actor: &Actor, id: Uuid) -> Result<ExportJob, AppError> {
        let job = self.own_job(actor, id).await?;
        self.decide_export(actor, job.patient).await?;
        Ok(job)
    }

    /// The archive of a finished export, decrypted; the download is audited.
    pub async fn download_export(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<ExportArchive, AppError> {
        let job = self.own_job(actor, id).await?;
        let (patient_did, basis) = self.decide_export(actor, job.patient).await?;
        let sealed = match (&job.status, &job.sealed) {
            (ExportStatus::Done, Some(sealed)) => sealed.clone(),
            _ => {
                return Err(AppError::StateConflict(format!(
                    "the export is {}, not ready to download",
                    job.status.as_str()
                )));
            }
        };
        let sealed: SealedRecord = serde_json::from_str(&sealed)
            .map_err(|err| AppError::Integrity(format!("export {id}: {err}")))?;
        let (record_text, patient_text) = (binding_id(id), job.patient.to_string());
        let binding = RecordBinding::new(&record_text, &patient_text, 1);
        let archive = self
            .vault
            .get_record(&sealed, &binding)
            .await
            .map_err(|err| AppError::Integrity(format!("export {id}: {err}")))?;
        let event = AuditEvent::new(
            "export.downloaded",
            self.clock.now(),
            actor,
            Outcome::Allowed(basis),
        )
        .patient(job.patient, patient_did)
        .request(id);
        self.commit(vec![], vec![event]).await?;
        Ok(ExportArchive { job, archive })
    }

    async fn own_job(&self, actor: &Actor, id: Uuid) -> Result<ExportJob, AppError> {
        match self.store.export_job(id).await? {
            Some(job) if job.patient == actor.user_id => Ok(job),
            _ => Err(AppError::NotFound { what: "export" }),
        }
    }

    async fn decide_export(
        &self,
        actor: &Actor,
        patient: UserId,
    ) -> Result<(Did, Basis), AppError> {
        let patient_did = match actor.role {
            Role::Patient => self.patient_did(patient).await?,
            _ => actor.did.clone(),
        };
        let basis = self
            .decide_clinical(
                actor,
                Action::ExportData,
                Resource::Patient(patient),
                None,
                patient_did.clone(),
                None,
            )
            .await?;
        Ok((patient_did, basis))
    }

    /// Builds, encrypts and stores the archive, then records the outcome on the job and
    /// the ledger. A failure is recorded with a reason that holds no personal data.
    async fn run_export(&self, actor: Actor, id: Uuid) {
        let outcome = self.build_and_store(&actor, id).await;
        let now = self.clock.now();
        let (job, kind, outcome_basis) = match outcome {
            Ok((sealed, size, sha256)) => (
                ExportJob {
                    id,
                    patient: actor.user_id,
                    status: ExportStatus::Done,
                    sealed: Some(sealed),
                    size_bytes: Some(size),
                    sha256: Some(sha256),
                    error: None,
                    created_at: now,
                    finished_at: Some(now),
                },
                "export.completed",
                Basis::Owner,
            ),
            Err(err) => {
                tracing::error!(export = %id, error = %err, "export failed");
                (
                    ExportJob {
                        id,
                        patient: actor.user_id,
                        status: ExportStatus::Failed,
                        sealed: None,
                        size_bytes: None,
                        sha256: None,
                        error: Some("the export could not be built; please try again".to_owned()),
                        created_at: now,
                        finished_at: Some(now),
                    },
                    "export.failed",
                    Basis::Owner,
                )
            }
        };
        let event = AuditEvent::new(kind, now, &actor, Outcome::Allowed(outcome_basis))
            .patient(actor.user_id, actor.did.clone())
            .request(id);
        if let Err(err) = self
            .commit(vec![Write::FinishExportJob(job)], vec![event])
            .await
        {
            // An erasure withdrew the job meanwhile; its archive is now an orphan for gc.
            tracing::warn!(export = %id, error = %err, "export outcome not recorded");
        }
    }

    async fn build_and_store(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<(String, u64, String), AppError> {
        let archive = self.build_archive(actor.user_id).await?;
        let size = archive.len() as u64;
        let sha256 = hex::encode(Sha256::digest(&archive));
        let (record_text, patient_text) = (binding_id(id), actor.user_id.to_string());
        let binding = RecordBinding::new(&record_text, &patient_text, 1);
        let sealed = self
            .vault
            .put_record(archive, &binding)
            .await
            .map_err(AppError::vault)?;
        let sealed =
            serde_json::to_string(&sealed).map_err(|err| AppError::internal(err.to_string()))?;
        Ok((sealed, size, sha256))
    }

    /// The zip archive of everything about `patient` (module docs).
    pub(crate) async fn build_archive(&self, patient: UserId) -> Result<Vec<u8>, AppError> {
        let user = self
            .store
            .user_by_id(patient)
            .await?
            .ok_or(AppError::NotFound { what: "patient" })?;
        let head = self
            .store
            .latest_tree_head()
            .await?
            .ok_or(AppError::NotFound { what: "tree head" })?;
        let size = head.head.tree_size;
        let mut archive = Archive::new();
        let mut bundle = vec![patient_resource(&user)];

        // Records: every version's original content, bound to its ledger leaf.
        let mut nlp_results = Vec::new();
        for meta in self.all_records(patient).await? {
            if meta.erasure.is_some() {
                continue;
            }
            let versions = self.store.record_versions(meta.id).await?;
            let current = meta.current_version;
            for version in versions.iter().filter(|v| v.leaf_index < size) {
                if let Some(row) = self.store.nlp_result(meta.id, version.version).await? {
                    let analysis: Value = self.open_json(
                        &row.sealed,
                        &crate::record_nlp::binding_name(meta.id),
                        patient,
                    )?;
                    nlp_results.push(json!({
                        "record_id": meta.id.0, "version": version.version,
                        "analyzed_at": rfc3339(row.created_at), "analysis": analysis,
                    }));
                }
                let content = self.open_version(&meta, version).await?;
                let path = format!(
                    "records/{}/v{}.{}",
                    meta.id,
                    version.version,
                    extension(&version.content_type)
                );
                bundle.push(document_reference(&meta, version, current, &path));
                archive.add_record_file(&path, &content, version)?;
            }
        }
        for consent in self.store.consents(Some(patient), None).await? {
            bundle.push(consent_resource(&consent, &user));
        }
        // Every ledger entry about the patient, as an AuditEvent and with its proof.
        let mut offset = 0;
        loop {
            let page = Page {
                limit: LEAF_PAGE,
                offset,
            };
            let rows = self
                .store
                .audit_events(AuditFilter::Patient(patient), page)
                .await?;
            let done = rows.len() < LEAF_PAGE as usize;
            for row in rows.iter().filter(|r| r.leaf_index < size) {
                bundle.push(audit_event_resource(row)?);
                archive.ledger_entry(row.leaf_index, &row.entry);
            }
            if done {
                break;
            }
            offset += LEAF_PAGE;
        }
        // Record files name their version's leaf (not always an event "about" the
        // patient, e.g. when written under another filter): make sure each is listed.
        for leaf in archive.record_leaves() {
            if !archive.has_entry(leaf)
                && let Some(row) = self.store.leaves(leaf, 1).await?.into_iter().next()
            {
                archive.ledger_entry(row.leaf_index, &row.entry);
            }
        }
        for entry in &mut archive.entries {
            let proof = self.inclusion_proof_at(entry.leaf_index, size).await?;
            entry.path = proof.path.iter().map(|h| h.to_hex()).collect();
        }

        let data = [
            (
                "data/access-requests.json",
                json_list(
                    self.store.access_requests(Some(patient), None).await?,
                    |r| {
                        json!({
                            "id": r.id, "doctor_id": r.doctor.0, "scope": r.scope,
                            "purpose": r.purpose.as_str(), "reason": r.reason,
                            "status": r.status.as_str(), "consent_id": r.consent_id,
                            "created_at": rfc3339(r.created_at), "decided_at": r.decided_at.map(rfc3339),
                        })
                    },
                ),
            ),
            (
                "data/corrections.json",
                json_list(
                    self.store.correction_requests(None, Some(patient)).await?,
                    |c| {
                        json!({
                            "id": c.id, "record_id": c.record_id.0, "base_version": c.base_version,
                            "reason": c.reason, "status": c.status.as_str(),
                            "decision_reason": c.decision_reason, "new_version": c.new_version,
                            "created_at": rfc3339(c.created_at), "decided_at": c.decided_at.map(rfc3339),
                        })
                    },
                ),
            ),
            (
                "data/notifications.json",
                json_list(
                    self.store
                        .notifications(
                            patient,
                            Page {
                                limit: 10_000,
                                offset: 0,
                            },
                        )
                        .await?,
                    |n| {
                        json!({
                            "id": n.id, "kind": n.kind,
                            "payload": serde_json::from_str::<Value>(&n.payload).unwrap_or(Value::Null),
                            "created_at": rfc3339(n.created_at),
                        })
                    },
                ),
            ),
            ("data/nlp-results.json", Value::Array(nlp_results)),
            (
                "data/alerts.json",
                serde_json::to_value(
                    self.store
                        .alerts(patient, false, u32::MAX)
                        .await?
                        .iter()
                        .map(|row| self.open_alert(row))
                        .collect::<Result<Vec<_>, AppError>>()?,
                )
                .map_err(|e| AppError::internal(format!("alerts json: {e}")))?,
            ),
        ];
        for (path, value) in data {
            archive.add_file(path, &to_json(&value)?)?;
        }
        let bundle = json!({
            "resourceType": "Bundle",
            "type": "collection",
            "timestamp": rfc3339(self.clock.now()),
            "entry": bundle.into_iter().map(|r| json!({ "resource": r })).collect::<Vec<_>>(),
        });
        archive.add_file("bundle.json", &to_json(&bundle)?)?;
        let manifest = archive.manifest(&user, &head, &self.ledger_key.verifying_key());
        archive.finish(&to_json(&manifest)?)
    }
}

/// One file's manifest line.
struct FileItem {
    path: String,
    sha256: String,
    /// For a record version: its ledger leaf and the commitment salt (hex).
    ledger: Option<(u64, String, u32, RecordId)>,
}

struct LedgerItem {
    leaf_index: u64,
    entry: String,
    path: Vec<String>,
}

/// The zip being written, and what the manifest will say about it.
struct Archive {
    zip: zip::ZipWriter<std::io::Cursor<Vec<u8>>>,
    files: Vec<FileItem>,
    entries: Vec<LedgerItem>,
}

impl Archive {
    fn new() -> Archive {
        Archive {
            zip: zip::ZipWriter::new(std::io::Cursor::new(Vec::new())),
            files: Vec::new(),
            entries: Vec::new(),
        }
    }

    fn write(&mut self, path: &str, bytes: &[u8]) -> Result<String, AppError> {
        // Stored, not deflated: records are often already compressed (PDF, images), and
        // the checker then needs nothing beyond the standard library's zipfile.
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        self.zip
            .start_file(path, options)
            .and_then(|()| self.zip.write_all(bytes).map_err(Into::into))
            .map_err(|err| AppError::internal(format!("export archive: {err}")))?;
        Ok(hex::encode(Sha256::digest(bytes)))
    }

    fn add_file(&mut self, path: &str, bytes: &[u8]) -> Result<(), AppError> {
        let sha256 = self.write(path, bytes)?;
        self.files.push(FileItem {
            path: path.to_owned(),
            sha256,
            ledger: None,
        });
        Ok(())
    }

    fn add_record_file(
        &mut self,
        path: &str,
        bytes: &[u8],
        version: &RecordVersion,
    ) -> Result<(), AppError> {
        let sha256 = self.write(path, bytes)?;
        self.files.push(FileItem {
            path: path.to_owned(),
            sha256,
            ledger: Some((
                version.leaf_index,
                hex::encode(&version.commitment_salt),
                version.version,
                version.record_id,
            )),
        });
        Ok(())
    }

    fn ledger_entry(&mut self, leaf_index: u64, entry: &[u8]) {
        if self.has_entry(leaf_index) {
            return;
        }
        self.entries.push(LedgerItem {
            leaf_index,
            entry: String::from_utf8_lossy(entry).into_owned(),
            path: Vec::new(),
        });
    }

    fn has_entry(&self, leaf_index: u64) -> bool {
        self.entries.iter().any(|e| e.leaf_index == leaf_index)
    }

    fn record_leaves(&self) -> Vec<u64> {
        self.files
            .iter()
            .filter_map(|f| f.ledger.as_ref().map(|l| l.0))
            .collect()
    }

    fn manifest(
        &mut self,
        user: &User,
        head: &SignedTreeHead,
        key: &meditrustal_ledger::VerifyingKey,
    ) -> Value {
        self.entries.sort_by_key(|e| e.leaf_index);
        json!({
            "format": EXPORT_FORMAT,
            "patient": { "id": user.id.0, "did": user.did.as_str() },
            "tree_head": {
                "tree_size": head.head.tree_size,
                "root": head.head.root.to_hex(),
                "timestamp_ms": head.head.timestamp_ms,
                "signature": head.signature_hex(),
            },
            "public_key": meditrustal_ledger::public_key_to_hex(key),
            "files": self.files.iter().map(|f| {
                let mut item = json!({ "path": f.path, "sha256": f.sha256 });
                if let Some((leaf, salt, version, record)) = &f.ledger {
                    item["leaf_index"] = json!(leaf);
                    item["commitment_salt"] = json!(salt);
                    item["record"] = json!(record.0);
                    item["version"] = json!(version);
                }
                item
            }).collect::<Vec<_>>(),
            "ledger_entries": self.entries.iter().map(|e| json!({
                "leaf_index": e.leaf_index,
                "entry": e.entry,
                "inclusion_path": e.path,
            })).collect::<Vec<_>>(),
        })
    }

    fn finish(mut self, manifest: &[u8]) -> Result<Vec<u8>, AppError> {
        self.write("manifest.json", manifest)?;
        self.zip
            .finish()
            .map(std::io::Cursor::into_inner)
            .map_err(|err| AppError::internal(format!("export archive: {err}")))
    }
}

fn to_json(value: &Value) -> Result<Vec<u8>, AppError> {
    serde_json::to_vec_pretty(value).map_err(|err| AppError::internal(err.to_string()))
}

fn json_list<T>(items: Vec<T>, each: impl Fn(T) -> Value) -> Value {
    Value::Array(items.into_iter().map(each).collect())
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

fn extension(content_type: &str) -> &'static str {
    match content_type {
        "text/plain" => "txt",
        "application/json" | "application/fhir+json" => "json",
        "application/pdf" => "pdf",
        "image/png" => "png",
        "image/jpeg" => "jpg",
        _ => "bin",
    }
}

fn patient_resource(user: &User) -> Value {
    json!({
        "resourceType": "Patient",
        "id": user.id.0,
        "identifier": [{ "system": DID_SYSTEM, "value": user.did.as_str() }],
        "telecom": [{ "system": "email", "value": user.email }],
    })
}

fn document_reference(
    meta: &RecordMeta,
    version: &RecordVersion,
    current: u32,
    path: &str,
) -> Value {
    let id = format!("{}-v{}", meta.id, version.version);
    let mut resource = json!({
        "resourceType": "DocumentReference",
        "id": id,
        "status": if version.version == current { "current" } else { "superseded" },
        "type": { "text": meta.category.as_str() },
        "subject": { "reference": format!("Patient/{}", meta.patient) },
        "date": rfc3339(version.created_at),
        "content": [{
            "attachment": {
                "contentType": version.content_type,
                "url": path,
                "size": version.size_bytes,
                "creation": rfc3339(version.created_at),
            }
        }],
    });
    if version.version > 1 {
        resource["relatesTo"] = json!([{
            "code": "replaces",
            "target": { "reference": format!("DocumentReference/{}-v{}", meta.id, version.version - 1) }
        }]);
    }
    resource
}

fn consent_resource(consent: &meditrustal_domain::ConsentGrant, user: &User) -> Value {
    let active = consent.revoked_at.is_none()
        && consent
            .expires_at
            .is_none_or(|e| e > OffsetDateTime::now_utc());
    let mut period = json!({ "start": rfc3339(consent.created_at) });
    if let Some(end) = consent.revoked_at.or(consent.expires_at) {
        period["end"] = json!(rfc3339(end));
    }
    json!({
        "resourceType": "Consent",
        "id": consent.id,
        "status": if active { "active" } else { "inactive" },
        "scope": { "coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/consentscope",
            "code": "patient-privacy"
        }]},
        "category": [{ "coding": [{ "system": "http://loinc.org", "code": "59284-0" }] }],
        "patient": { "reference": format!("Patient/{}", user.id.0) },
        "dateTime": rfc3339(consent.created_at),
        "provision": {
            "type": "permit",
            "period": period,
            "actor": [{
                "role": { "coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                    "code": "IRCP"
                }]},
                "reference": { "identifier": { "system": "urn:meditrustal:user", "value": consent.grantee.0 } }
            }],
            "purpose": consent.purposes.iter().map(|p| json!({
                "system": "urn:meditrustal:purpose", "code": p.as_str()
            })).collect::<Vec<_>>(),
        },
    })
}
