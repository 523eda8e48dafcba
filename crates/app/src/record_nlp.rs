//! The NLP result of a clinical note, stored beside the record version it was computed
//! from. Analysing is a read of the record (same policy, audited), followed by a write of
//! the result, sealed with the vault under a binding of its own (`<record id>/nlp`, the
//! patient, the version), so it can never pass for the note. One result per version:
//! analysing again replaces it. The note's measurements feed the early-warning rules.

use std::sync::Arc;

use meditrustal_domain::{MediaType, Purpose, RecordCategory, RecordId};
use meditrustal_nlp::Analysis;
use meditrustal_store::{NlpResultRow, ObservationSource, RecordMeta, Write};
use serde::Serialize;
use time::OffsetDateTime;

use crate::early_warning::{Arrival, SourceRecord, note_observations, to_chrono};
use crate::events::{AuditEvent, Outcome};
use crate::nlp::MAX_TEXT_BYTES;
use crate::policy::{Action, Actor, Basis};
use crate::{App, AppError};

/// A stored analysis of a note version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordAnalysis {
    pub record_id: RecordId,
    pub version: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub analyzed_at: OffsetDateTime,
    pub analysis: Analysis,
}

/// Categories whose text the NLP engine reads.
pub(crate) fn is_note(category: RecordCategory) -> bool {
    matches!(
        category,
        RecordCategory::ClinicalNote | RecordCategory::DischargeSummary
    )
}

pub(crate) fn binding_name(id: RecordId) -> String {
    format!("{id}/nlp")
}

impl App {
    /// Analyses a note version (the current one by default) and stores the result beside
    /// it, replacing an earlier analysis of that version.
    pub async fn analyze_record(
        &self,
        actor: &Actor,
        id: RecordId,
        version: Option<u32>,
        purpose: Option<Purpose>,
    ) -> Result<RecordAnalysis, AppError> {
        let (meta, _, basis) = self
            .decide_on_record(actor, id, Action::ReadRecord, purpose)
            .await?;
        let wanted = version.unwrap_or(meta.current_version);
        let stored = self.version_of(id, wanted).await?;
        check_note(&meta, &stored.content_type, stored.size_bytes)?;
        let content = self.open_version(&meta, &stored).await?;
        let text = String::from_utf8(content)
            .map_err(|_| AppError::Integrity(format!("record {id} v{wanted}: not UTF-8")))?;
        let stored = self
            .store_analysis(actor, basis, &meta, wanted, text, purpose)
            .await?;
        Ok(stored)
    }

    /// The stored analysis of a note version (the current one by default); a read of the
    /// record, audited.
    pub async fn record_analysis(
        &self,
        actor: &Actor,
        id: RecordId,
        version: Option<u32>,
        purpose: Option<Purpose>,
    ) -> Result<RecordAnalysis, AppError> {
        let (meta, patient_did, basis) = self
            .decide_on_record(actor, id, Action::ReadRecord, purpose)
            .await?;
        let wanted = version.unwrap_or(meta.current_version);
        let row = self
            .store
            .nlp_result(id, wanted)
            .await?
            .ok_or(AppError::NotFound {
                what: "analysis of this record version",
            })?;
        let event = AuditEvent::new(
            "record.analysis_read",
            self.clock.now(),
            actor,
            Outcome::Allowed(basis),
        )
        .patient(meta.patient, patient_did)
        .record(id, Some(wanted))
        .purpose(purpose);
        self.commit(vec![], vec![event]).await?;
        let analysis = self.open_json(&row.sealed, &binding_name(id), meta.patient)?;
        Ok(RecordAnalysis {
            record_id: id,
            version: wanted,
            analyzed_at: row.created_at,
            analysis,
        })
    }

    /// Runs the engine on a note's text, stores the sealed result with its ledger entry and
    /// hands the note's vital signs to the early-warning rules.
    pub(crate) async fn store_analysis(
        &self,
        actor: &Actor,
        basis: Basis,
        meta: &RecordMeta,
        version: u32,
        text: String,
        purpose: Option<Purpose>,
    ) -> Result<RecordAnalysis, AppError> {
        let (engine, activity) = (Arc::clone(&self.nlp), Arc::clone(&self.activity));
        let analysis = crate::nlp::blocking(move || {
            engine.analyze(&text, crate::TextSource::Record, &activity)
        })
        .await?;
        let now = self.clock.now();
        let sealed = self.seal_json(&analysis, &binding_name(meta.id), meta.patient)?;
        let row = NlpResultRow {
            record_id: meta.id,
            version,
            sealed,
            created_by: actor.user_id,
            created_at: now,
        };
        let patient_did = self.patient_did(meta.patient).await?;
        let event = AuditEvent::new("record.analyzed", now, actor, Outcome::Allowed(basis))
            .patient(meta.patient, patient_did.clone())
            .record(meta.id, Some(version))
            .purpose(purpose);
        self.commit(vec![Write::UpsertNlpResult(row)], vec![event])
            .await?;
        let observations = note_observations(&analysis, to_chrono(now));
        self.observations_arrived(Arrival {
            actor,
            basis,
            patient: meta.patient,
            patient_did,
            source: ObservationSource::Note,
            record: Some(SourceRecord {
                id: meta.id,
                version,
                category: meta.category,
            }),
            observations,
        })
        .await?;
        Ok(RecordAnalysis {
            record_id: meta.id,
            version,
            analyzed_at: now,
            analysis,
        })
    }
}

/// Only plain-text notes within the engine's size limit are analysed.
fn check_note(meta: &RecordMeta, content_type: &str, size: u64) -> Result<(), AppError> {
    let refuse = |message: &str| {
        AppError::from(meditrustal_domain::ValidationError::new(
            "record",
            "NOT_A_NOTE",
            message,
        ))
    };
    if !is_note(meta.category) || content_type != MediaType::TEXT {
        return Err(refuse(
            "only text/plain clinical-note and discharge-summary records can be analysed",
        ));
    }
    if size > MAX_TEXT_BYTES as u64 {
        return Err(refuse("notes over 1 MiB are not analysed"));
    }
    Ok(())
}
