//! A patient's risk at a glance: every score the platform can compute from the patient's
//! latest stored observations (vital-signs records and the vital signs of notes, inside the
//! early-warning window), and for every other score the inputs it still lacks. A read of
//! data derived from the patient's records: consent-checked (`ReadDerived` on the patient)
//! and audited.

use meditrustal_clinical::alerts::{self, AlertContext};
use meditrustal_clinical::{SCORE_NAMES, ScoreResult};
use meditrustal_domain::{Purpose, UserId};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::early_warning::{WINDOW_HOURS, to_chrono};
use crate::events::{AuditEvent, Outcome};
use crate::policy::{Action, Actor, Resource};
use crate::{App, AppError};

/// A score that the patient's stored data cannot feed yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UncomputedScore {
    pub score: String,
    /// The inputs it needs that no stored observation provides.
    pub missing: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatientRisk {
    pub patient_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub evaluated_at: OffsetDateTime,
    /// Observations older than this many hours are not used.
    pub window_hours: i64,
    /// Scores with at least one item scored from the patient's data (possibly incomplete:
    /// `missing` names what is lacking; a missing item is never scored as normal).
    pub scores: Vec<ScoreResult>,
    /// Every other score, with the inputs it lacks.
    pub not_computed: Vec<UncomputedScore>,
}

/// Whether any item of the result was scored from data.
fn has_data(result: &ScoreResult) -> bool {
    result.components.iter().any(|c| c.points.is_some())
}

impl App {
    pub async fn patient_risk(
        &self,
        actor: &Actor,
        patient: UserId,
        purpose: Option<Purpose>,
    ) -> Result<PatientRisk, AppError> {
        let purpose = purpose.or(Some(Purpose::Treatment));
        let patient_did = self.patient_did(patient).await?;
        let basis = self
            .decide_clinical(
                actor,
                Action::ReadDerived,
                Resource::Patient(patient),
                purpose,
                patient_did.clone(),
                None,
            )
            .await?;
        let now = self.clock.now();
        let observations = self.recent_observations(patient, now, None).await?;
        let context = AlertContext {
            patient_id: patient.to_string(),
            now: to_chrono(now),
            window: chrono::Duration::hours(WINDOW_HOURS),
            spo2_scale: None,
        };
        let evaluation = alerts::evaluate(&observations, &context)?;
        let event = AuditEvent::new("cdss.risk_read", now, actor, Outcome::Allowed(basis))
            .patient(patient, patient_did)
            .purpose(purpose);
        self.commit(vec![], vec![event]).await?;

        let mut scores = Vec::new();
        let mut not_computed = Vec::new();
        for result in [evaluation.news2, evaluation.qsofa, evaluation.sirs] {
            if has_data(&result) {
                scores.push(result);
            } else {
                not_computed.push(UncomputedScore {
                    score: result.score.clone(),
                    missing: result.missing.clone(),
                });
            }
        }
        let evaluated: Vec<String> = scores
            .iter()
            .map(|s| s.score.clone())
            .chain(not_computed.iter().map(|s| s.score.clone()))
            .collect();
        // The other scores need labs, history or demographics that are not stored as
        // structured data yet: what they lack is what an empty input lacks.
        for name in SCORE_NAMES
            .iter()
            .filter(|n| !evaluated.iter().any(|e| e == *n))
        {
            let missing = match meditrustal_clinical::score(name, &serde_json::json!({})) {
                Ok(result) => result.missing,
                Err(err) => vec![err.to_string()],
            };
            not_computed.push(UncomputedScore {
                score: (*name).to_owned(),
                missing,
            });
        }
        Ok(PatientRisk {
            patient_id: patient.0,
            evaluated_at: now,
            window_hours: WINDOW_HOURS,
            scores,
            not_computed,
        })
    }
}
