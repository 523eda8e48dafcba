//! What a new record version feeds into clinical decision support: a note is analysed (its
//! result stored beside it, its vital signs handed to early warning); a vital-signs record
//! in JSON hands its observations to early warning. Its content is checked before the
//! version is stored, so a malformed vital-signs document is refused with nothing changed.

use meditrustal_clinical::observation::Observation;
use meditrustal_domain::{MediaType, Purpose, RecordCategory};
use meditrustal_store::{ObservationSource, RecordMeta};
use time::OffsetDateTime;

use crate::early_warning::{Arrival, SourceRecord, parse_vital_signs, to_chrono};
use crate::nlp::MAX_TEXT_BYTES;
use crate::policy::{Actor, Basis};
use crate::record_nlp::is_note;
use crate::{App, AppError};

/// The media type of a structured vital-signs record.
pub const VITAL_SIGNS_JSON: &str = "application/json";

pub(crate) enum Derived {
    Nothing,
    Note(String),
    VitalSigns(Vec<Observation>),
}

impl Derived {
    pub(crate) fn of(
        category: RecordCategory,
        media: &MediaType,
        content: &[u8],
        now: OffsetDateTime,
    ) -> Result<Derived, AppError> {
        let media = media.as_str();
        if is_note(category) && media == MediaType::TEXT && content.len() <= MAX_TEXT_BYTES {
            // check_content has already refused text that is not UTF-8.
            return Ok(std::str::from_utf8(content)
                .map_or(Derived::Nothing, |text| Derived::Note(text.to_owned())));
        }
        if category == RecordCategory::VitalSigns && media == VITAL_SIGNS_JSON {
            return Ok(Derived::VitalSigns(parse_vital_signs(
                content,
                to_chrono(now),
            )?));
        }
        Ok(Derived::Nothing)
    }
}

impl App {
    /// Runs after the version is committed. A failure here must not turn a stored record
    /// into an error for the client (who would retry and duplicate it); it is logged with
    /// the record's id, and analysing the record again (`POST /records/{id}/nlp`) retries.
    pub(crate) async fn derive(
        &self,
        actor: &Actor,
        basis: Basis,
        meta: &RecordMeta,
        version: u32,
        derived: Derived,
        purpose: Option<Purpose>,
    ) {
        let result = match derived {
            Derived::Nothing => Ok(()),
            Derived::Note(text) => self
                .store_analysis(actor, basis, meta, version, text, purpose)
                .await
                .map(|_| ()),
            Derived::VitalSigns(observations) => match self.patient_did(meta.patient).await {
                Ok(patient_did) => self
                    .observations_arrived(Arrival {
                        actor,
                        basis,
                        patient: meta.patient,
                        patient_did,
                        source: ObservationSource::Record,
                        record: Some(SourceRecord {
                            id: meta.id,
                            version,
                            category: meta.category,
                        }),
                        observations,
                    })
                    .await
                    .map(|_| ()),
                Err(err) => Err(err),
            },
        };
        if let Err(err) = result {
            tracing::error!(record = %meta.id, version, error = %err, "clinical decision support on a new record version failed");
        }
    }
}
