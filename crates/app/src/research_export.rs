//! Research access, part three: exports of an approved project, built in the background
//! (FHIR Bulk Data `$export` style: start, poll, download) as CSV or FHIR NDJSON.
//!
//! Every row is one consenting patient: a pseudonym (HMAC of the patient id under a key
//! derived from the project key), quasi-identifiers generalised until k-anonymity holds
//! (`k_anonymity.rs`; dates shifted per patient first), and the requested data: ICD-10
//! codes, numeric observations (no times) and notes de-identified by the NLP engine (every
//! identifier replaced by its type tag, dates moved by the same per-patient shift).
//! Nothing in the file depends on the time or on chance, so the same request over the same
//! data gives the same bytes. The file's SHA-256 is on
//! the ledger; each download is audited. An export reads research consent once, and it
//! can only finish if no research consent changed since; otherwise it is rebuilt, so a
//! withdrawal takes effect even on an export that was running.

use base64::Engine as _;
use meditrustal_domain::{DataCategory, UserId, ValidationError};
use meditrustal_nlp::PhiType;
use meditrustal_nlp::deid::{Strategy, deidentify};
use meditrustal_store::{
    ExportStatus, ProjectStatus, ResearchExport, ResearchProject, ResearchWrite, Write,
};
use meditrustal_vault::{RecordBinding, SealedRecord};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::Duration;
use uuid::Uuid;

use crate::events::{AuditEvent, Outcome};
use crate::k_anonymity::{GeneralisationReport, Generalised, QuasiIdentifiers, anonymise};
use crate::keyed_digest::keyed;
use crate::policy::{Action, Actor, Basis};
use crate::research_cohort::Subject;
use crate::{App, AppError};

/// k when the request names none.
pub const DEFAULT_K: u32 = 5;
/// How often an export is rebuilt when research consent keeps changing under it.
const ATTEMPTS: usize = 5;
/// Dates move by up to this many days either way, per patient.
const MAX_SHIFT_DAYS: i64 = 182;

/// The columns of a CSV export, in order.
pub const CSV_COLUMNS: [&str; 8] = [
    "pseudonym",
    "age",
    "sex",
    "region",
    "index_date",
    "diagnoses",
    "observations",
    "notes",
];

/// A research export's file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResearchFormat {
    Csv,
    Ndjson,
}

impl ResearchFormat {
    pub fn parse(value: &str) -> Result<ResearchFormat, ValidationError> {
        match value {
            "csv" => Ok(ResearchFormat::Csv),
            "ndjson" => Ok(ResearchFormat::Ndjson),
            _ => Err(ValidationError::new(
                "format",
                "INVALID_FORMAT",
                "format must be csv or ndjson",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ResearchFormat::Csv => "csv",
            ResearchFormat::Ndjson => "ndjson",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ResearchFormat::Csv => "text/csv; charset=utf-8",
            ResearchFormat::Ndjson => "application/fhir+ndjson",
        }
    }
}

/// A finished research export's file, decrypted for its researcher.
pub struct ResearchFile {
    pub job: ResearchExport,
    pub format: ResearchFormat,
    pub bytes: Vec<u8>,
}

/// What a build produced.
struct Built {
    bytes: Vec<u8>,
    report: Value,
    subjects: Vec<UserId>,
}

/// One patient's row before it is written.
struct Row {
    pseudonym: String,
    quasi: Generalised,
    diagnoses: Vec<String>,
    observations: Vec<(String, f64, String)>,
    notes: Vec<String>,
    patient: UserId,
}

fn binding_id(job: Uuid) -> String {
    format!("research-export/{job}")
}

impl App {
    /// Starts an export of the project's data (its researcher, once approved) and returns
    /// the job at once; poll [`App::research_export_status`].
    pub async fn start_research_export(
        &self,
        actor: &Actor,
        project: Uuid,
        format: ResearchFormat,
        k: Option<u32>,
    ) -> Result<ResearchExport, AppError> {
        let project = self
            .project_for(actor, project, Action::ExportResearch)
            .await?;
        let k = k.unwrap_or(DEFAULT_K);
        if !(2..=100).contains(&k) {
            return Err(ValidationError::new("k", "INVALID_K", "k must be 2-100").into());
        }
        let now = self.clock.now();
        let job = ResearchExport {
            id: Uuid::now_v7(),
            project: project.id,
            format: format.as_str().to_owned(),
            k,
            status: ExportStatus::Pending,
            sealed: None,
            size_bytes: None,
            sha256: None,
            report: None,
            error: None,
            created_at: now,
            finished_at: None,
        };
        let event = AuditEvent::new(
            "research.export_requested",
            now,
            actor,
            Outcome::Allowed(Basis::Role),
        )
        .project(project.id)
        .request(job.id)
        .purpose(Some(meditrustal_domain::Purpose::Research));
        self.commit(
            vec![Write::Research(ResearchWrite::InsertExport(job.clone()))],
            vec![event],
        )
        .await?;
        let app = self.clone();
        let (runner, queued) = (actor.clone(), job.clone());
        tokio::spawn(async move { app.run_research_export(runner, project, queued).await });
        Ok(job)
    }

    /// Restarts the research exports a stopped process left pending or running, as their
    /// project's researcher; returns how many. Approved projects only: nothing else ever
    /// started an export.
    pub(crate) async fn resume_research_exports(&self) -> Result<usize, AppError> {
        let mut resumed = 0;
        for project in self.store.research_projects(None).await? {
            if project.status != ProjectStatus::Approved {
                continue;
            }
            let Some(user) = self.store.user_by_id(project.researcher).await? else {
                continue;
            };
            let runner = Actor {
                user_id: user.id,
                role: user.role,
                did: user.did,
            };
            for job in self.store.research_exports(project.id).await? {
                if matches!(job.status, ExportStatus::Pending | ExportStatus::Running) {
                    tracing::info!(export = %job.id, "restarting an unfinished research export");
                    let (app, runner, project) = (self.clone(), runner.clone(), project.clone());
                    tokio::spawn(
                        async move { app.run_research_export(runner, project, job).await },
                    );
                    resumed += 1;
                }
            }
        }
        Ok(resumed)
    }

    /// A research export job (its project's researcher or an administrator).
    pub async fn research_export_status(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<ResearchExport, AppError> {
        let job = self
            .store
            .research_export(id)
            .await?
            .ok_or(AppError::NotFound {
                what: "research export",
            })?;
        self.project_for(actor, job.project, Action::ReadResearchProject)
            .await?;
        Ok(job)
    }

    /// The exports of a project, newest first.
    pub async fn research_exports(
        &self,
        actor: &Actor,
        project: Uuid,
    ) -> Result<Vec<ResearchExport>, AppError> {
        let project = self
            .project_for(actor, project, Action::ReadResearchProject)
            .await?;
        Ok(self.store.research_exports(project.id).await?)
    }

    /// The file of a finished export (its researcher only); the download is audited.
    pub async fn download_research_export(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<ResearchFile, AppError> {
        let job = self
            .store
            .research_export(id)
            .await?
            .ok_or(AppError::NotFound {
                what: "research export",
            })?;
        let project = self
            .project_for(actor, job.project, Action::ExportResearch)
            .await?;
        let (sealed, sha256) = match (&job.status, &job.sealed, &job.sha256) {
            (ExportStatus::Done, Some(sealed), Some(sha256)) => (sealed.clone(), sha256.clone()),
            _ => {
                return Err(AppError::StateConflict(format!(
                    "the export is {}, not ready to download",
                    job.status.as_str()
                )));
            }
        };
        let format = ResearchFormat::parse(&job.format)
            .map_err(|_| AppError::Integrity(format!("research export {id}: format")))?;
        let sealed: SealedRecord = serde_json::from_str(&sealed)
            .map_err(|err| AppError::Integrity(format!("research export {id}: {err}")))?;
        let (record_text, owner_text) = (binding_id(id), project.researcher.to_string());
        let bytes = self
            .vault
            .get_record(&sealed, &RecordBinding::new(&record_text, &owner_text, 1))
            .await
            .map_err(|err| AppError::Integrity(format!("research export {id}: {err}")))?;
        let event = AuditEvent::new(
            "research.export_downloaded",
            self.clock.now(),
            actor,
            Outcome::Allowed(Basis::Role),
        )
        .project(project.id)
        .request(id)
        .export_sha256(sha256);
        self.commit(vec![], vec![event]).await?;
        Ok(ResearchFile { job, format, bytes })
    }

    /// Builds, seals and records the export; rebuilt when research consent changed while
    /// it was being built. A failure is recorded with a reason that holds no personal data.
    async fn run_research_export(
        &self,
        actor: Actor,
        project: ResearchProject,
        job: ResearchExport,
    ) {
        for _ in 0..ATTEMPTS {
            let attempt = self.build_research_attempt(&project, &job).await;
            let now = self.clock.now();
            let (finished, epoch, subjects, event) = match attempt {
                Ok((epoch, built, sealed)) => {
                    let sha256 = hex::encode(Sha256::digest(&built.bytes));
                    let finished = ResearchExport {
                        status: ExportStatus::Done,
                        sealed: Some(sealed),
                        size_bytes: Some(built.bytes.len() as u64),
                        sha256: Some(sha256.clone()),
                        report: Some(built.report.to_string()),
                        finished_at: Some(now),
                        ..job.clone()
                    };
                    let event = AuditEvent::new(
                        "research.exported",
                        now,
                        &actor,
                        Outcome::Allowed(Basis::Role),
                    )
                    .project(project.id)
                    .request(job.id)
                    .export_sha256(sha256)
                    .purpose(Some(meditrustal_domain::Purpose::Research));
                    (finished, Some(epoch), built.subjects, event)
                }
                Err(err) => {
                    tracing::error!(export = %job.id, error = %err, "research export failed");
                    let failed = ResearchExport {
                        status: ExportStatus::Failed,
                        error: Some("the export could not be built; please try again".to_owned()),
                        finished_at: Some(now),
                        ..job.clone()
                    };
                    let event = AuditEvent::new(
                        "research.export_failed",
                        now,
                        &actor,
                        Outcome::Allowed(Basis::Role),
                    )
                    .project(project.id)
                    .request(job.id);
                    (failed, None, Vec::new(), event)
                }
            };
            let write = Write::Research(ResearchWrite::FinishExport {
                job: finished,
                epoch,
                subjects,
            });
            match self.commit(vec![write], vec![event]).await {
                Ok(_) => return,
                Err(AppError::StateConflict(_)) => {
                    // Research consent changed meanwhile (or the job was ended): rebuild
                    // from the new consent while the job is still open.
                    let open = matches!(
                        self.store.research_export(job.id).await,
                        Ok(Some(ref j)) if matches!(j.status, ExportStatus::Pending | ExportStatus::Running)
                    );
                    if !open {
                        return;
                    }
                }
                Err(err) => {
                    tracing::warn!(export = %job.id, error = %err, "research export outcome not recorded");
                    return;
                }
            }
        }
        let failed = ResearchExport {
            status: ExportStatus::Failed,
            error: Some("research consent kept changing; please try again".to_owned()),
            finished_at: Some(self.clock.now()),
            ..job.clone()
        };
        let write = Write::Research(ResearchWrite::FinishExport {
            job: failed,
            epoch: None,
            subjects: Vec::new(),
        });
        let event = AuditEvent::new(
            "research.export_failed",
            self.clock.now(),
            &actor,
            Outcome::Allowed(Basis::Role),
        )
        .project(project.id)
        .request(job.id);
        if let Err(err) = self.commit(vec![write], vec![event]).await {
            tracing::warn!(export = %job.id, error = %err, "research export outcome not recorded");
        }
    }

    /// Reads the consent epoch, then builds and seals the file.
    async fn build_research_attempt(
        &self,
        project: &ResearchProject,
        job: &ResearchExport,
    ) -> Result<(u64, Built, String), AppError> {
        let epoch = self.store.research_consent_epoch().await?;
        let format = ResearchFormat::parse(&job.format)?;
        let built = self.build_research_file(project, format, job.k).await?;
        let (record_text, owner_text) = (binding_id(job.id), project.researcher.to_string());
        let sealed = self
            .vault
            .put_record(
                built.bytes.clone(),
                &RecordBinding::new(&record_text, &owner_text, 1),
            )
            .await
            .map_err(AppError::vault)?;
        let sealed =
            serde_json::to_string(&sealed).map_err(|err| AppError::internal(err.to_string()))?;
        Ok((epoch, built, sealed))
    }

    /// The export file of a project (module docs); deterministic.
    async fn build_research_file(
        &self,
        project: &ResearchProject,
        format: ResearchFormat,
        k: u32,
    ) -> Result<Built, AppError> {
        let key = self.project_key(project)?;
        let subjects = self.research_subjects(project, true).await?;
        let reference = project.period_end;
        let mut quasi = Vec::with_capacity(subjects.len());
        let mut prepared = Vec::with_capacity(subjects.len());
        for subject in subjects {
            let patient_bytes = subject.patient.0.as_bytes().to_vec();
            let shift = date_shift(&key, &patient_bytes);
            quasi.push(QuasiIdentifiers {
                age: subject.profile.as_ref().map(|p| p.age_on(reference)),
                sex: subject.profile.as_ref().map(|p| p.sex),
                region: subject.profile.as_ref().map(|p| p.region.clone()),
                index_date: subject
                    .index_date()
                    .and_then(|d| d.checked_add(Duration::days(shift))),
            });
            let notes = self.deidentified_notes(&key, &subject, shift).await?;
            prepared.push((subject, notes));
        }
        let (generalised, report) = anonymise(&quasi, k);
        let mut rows = Vec::new();
        for ((subject, notes), quasi) in prepared.into_iter().zip(generalised) {
            let Some(quasi) = quasi else {
                continue;
            };
            let mut diagnoses: Vec<String> =
                subject.diagnoses.iter().map(|d| d.0.clone()).collect();
            diagnoses.sort();
            diagnoses.dedup();
            rows.push(Row {
                pseudonym: hex::encode(
                    &keyed(&key, &[b"pseudonym", subject.patient.0.as_bytes()])[..16],
                ),
                quasi,
                diagnoses,
                observations: subject
                    .observations
                    .iter()
                    .map(|o| (o.0.clone(), o.1, o.2.clone()))
                    .collect(),
                notes,
                patient: subject.patient,
            });
        }
        rows.sort_by(|a, b| a.pseudonym.cmp(&b.pseudonym));
        let bytes = match format {
            ResearchFormat::Csv => csv_file(&rows)?,
            ResearchFormat::Ndjson => ndjson_file(&rows)?,
        };
        let subjects = rows.iter().map(|r| r.patient).collect();
        Ok(Built {
            bytes,
            report: research_report(project, format, &report),
            subjects,
        })
    }

    /// The patient's notes with PHI replaced: identifiers by their type tag, dates shifted
    /// by the patient's days (as their other dates); the name in their profile, if any, is
    /// replaced wherever it still appears.
    async fn deidentified_notes(
        &self,
        key: &[u8],
        subject: &Subject,
        shift: i64,
    ) -> Result<Vec<String>, AppError> {
        if subject.notes.is_empty() {
            return Ok(Vec::new());
        }
        let surrogate_key = keyed(key, &[b"surrogate", subject.patient.0.as_bytes()]).to_vec();
        let texts: Vec<String> = subject.notes.iter().map(|n| n.1.clone()).collect();
        let name = subject.profile.as_ref().and_then(|p| p.name.clone());
        let engine = std::sync::Arc::clone(&self.nlp);
        crate::nlp::blocking(move || {
            let engine = engine.get()?;
            let failed =
                |err: meditrustal_nlp::NlpError| AppError::internal(format!("deidentify: {err}"));
            let shift_dates = Strategy::DateShift {
                days: shift,
                key: surrogate_key,
            };
            texts
                .iter()
                .map(|text| {
                    // Identifiers become type tags: a realistic surrogate could by chance
                    // be another participant's real name. Dates are then shifted, and only
                    // dates are given to that pass, so it makes no surrogates.
                    let (dates, others): (Vec<_>, Vec<_>) = engine
                        .analyze(text)
                        .phi
                        .into_iter()
                        .partition(|p| p.kind == PhiType::Date);
                    let tagged = deidentify(text, &others, &Strategy::Tag).map_err(failed)?;
                    let dates: Vec<_> = if dates.is_empty() {
                        dates
                    } else {
                        engine
                            .analyze(&tagged)
                            .phi
                            .into_iter()
                            .filter(|p| p.kind == PhiType::Date)
                            .collect()
                    };
                    let mut clean = deidentify(&tagged, &dates, &shift_dates).map_err(failed)?;
                    if let Some(name) = name.as_deref().filter(|n| n.chars().count() >= 2) {
                        clean = clean.replace(name, "[NAME]");
                    }
                    Ok(clean)
                })
                .collect()
        })
        .await
    }
}

/// The patient's date shift in days, from the project key: -182..=182, never 0.
fn date_shift(key: &[u8], patient: &[u8]) -> i64 {
    let digest = keyed(key, &[b"date-shift", patient]);
    let raw = i64::from(u16::from_be_bytes([digest[0], digest[1]]));
    let shift = raw % (2 * MAX_SHIFT_DAYS + 1) - MAX_SHIFT_DAYS;
    if shift == 0 { 1 } else { shift }
}

fn research_report(
    project: &ResearchProject,
    format: ResearchFormat,
    report: &GeneralisationReport,
) -> Value {
    json!({
        "project": project.id,
        "format": format.as_str(),
        "categories": project.categories.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        "quasi_identifiers": ["age", "sex", "region", "index_date"],
        "k_anonymity": report,
        "pseudonyms": "HMAC-SHA256 of the patient id under a key of this project",
        "dates": format!("shifted per patient by a keyed offset of up to {MAX_SHIFT_DAYS} days, then generalised"),
        "free_text": if project.categories.contains(&DataCategory::Notes) {
            "de-identified by the NLP engine (identifiers replaced by type tags, dates shifted)"
        } else {
            "not exported"
        },
    })
}

#[derive(Serialize)]
struct CsvLine<'a> {
    pseudonym: &'a str,
    age: &'a str,
    sex: &'a str,
    region: &'a str,
    index_date: &'a str,
    diagnoses: String,
    observations: String,
    notes: String,
}

fn csv_file(rows: &[Row]) -> Result<Vec<u8>, AppError> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let failed = |err: csv::Error| AppError::internal(format!("csv: {err}"));
    if rows.is_empty() {
        writer.write_record(CSV_COLUMNS).map_err(failed)?;
    }
    for row in rows {
        writer
            .serialize(CsvLine {
                pseudonym: &row.pseudonym,
                age: &row.quasi.age,
                sex: &row.quasi.sex,
                region: &row.quasi.region,
                index_date: &row.quasi.index_date,
                diagnoses: row.diagnoses.join(";"),
                observations: row
                    .observations
                    .iter()
                    .map(|(code, value, unit)| format!("{code}={value}{unit}"))
                    .collect::<Vec<_>>()
                    .join(";"),
                notes: row.notes.join("\n---\n"),
            })
            .map_err(failed)?;
    }
    writer
        .into_inner()
        .map_err(|err| AppError::internal(format!("csv: {err}")))
}

const RESEARCH_EXTENSION: &str = "urn:meditrustal:research";

fn ndjson_file(rows: &[Row]) -> Result<Vec<u8>, AppError> {
    let mut out = Vec::new();
    let mut line = |value: Value| -> Result<(), AppError> {
        serde_json::to_writer(&mut out, &value)
            .map_err(|err| AppError::internal(format!("ndjson: {err}")))?;
        out.push(b'\n');
        Ok(())
    };
    for row in rows {
        let subject = json!({ "reference": format!("Patient/{}", row.pseudonym) });
        let mut patient = json!({
            "resourceType": "Patient",
            "id": row.pseudonym,
            "extension": [
                { "url": format!("{RESEARCH_EXTENSION}:age-band"), "valueString": row.quasi.age },
                { "url": format!("{RESEARCH_EXTENSION}:region"), "valueString": row.quasi.region },
                { "url": format!("{RESEARCH_EXTENSION}:index-period"), "valueString": row.quasi.index_date },
            ],
        });
        if row.quasi.sex != "*" {
            patient["gender"] = json!(row.quasi.sex);
        }
        line(patient)?;
        for (n, code) in row.diagnoses.iter().enumerate() {
            line(json!({
                "resourceType": "Condition",
                "id": format!("{}-c{n}", row.pseudonym),
                "subject": subject,
                "code": { "coding": [{ "system": "http://hl7.org/fhir/sid/icd-10", "code": code }] },
            }))?;
        }
        for (n, (code, value, unit)) in row.observations.iter().enumerate() {
            line(json!({
                "resourceType": "Observation",
                "id": format!("{}-o{n}", row.pseudonym),
                "status": "final",
                "subject": subject,
                "code": { "text": code },
                "valueQuantity": { "value": value, "unit": unit },
            }))?;
        }
        for (n, note) in row.notes.iter().enumerate() {
            line(json!({
                "resourceType": "DocumentReference",
                "id": format!("{}-d{n}", row.pseudonym),
                "status": "current",
                "subject": subject,
                "content": [{ "attachment": {
                    "contentType": "text/plain; charset=utf-8",
                    "data": base64::engine::general_purpose::STANDARD.encode(note.as_bytes()),
                }}],
            }))?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_shifts_are_bounded_keyed_and_never_zero() {
        let mut seen = std::collections::BTreeSet::new();
        for i in 0u32..500 {
            let shift = date_shift(b"key", &i.to_be_bytes());
            assert!(shift != 0 && shift.abs() <= MAX_SHIFT_DAYS);
            assert_eq!(shift, date_shift(b"key", &i.to_be_bytes()));
            seen.insert(shift);
        }
        assert!(seen.len() > 100, "shifts vary between patients");
    }
}
