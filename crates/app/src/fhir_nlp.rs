//! What the NLP engine found in a note, as FHIR: diseases and symptoms as Condition, drugs
//! as MedicationStatement, measurements as Observation, and one Provenance saying they were
//! derived from the note's DocumentReference. Assertions decide the statuses: a negated
//! finding is `refuted` (never an active problem), an uncertain one `provisional`, a
//! family-history mention is left out (it is not the patient's condition).
//!
//! These resources are computed from the stored analysis when asked for; they are not
//! records themselves (see docs/fhir.md).

use meditrustal_domain::Purpose;
use meditrustal_fhir::datetime::instant_text;
use meditrustal_fhir::definitions::{CONDITION_CLINICAL, CONDITION_VERIFICATION};
use meditrustal_nlp::{Analysis, EntityType};
use serde_json::{Value, json};

use crate::App;
use crate::fhir::{FhirError, record_id};
use crate::policy::Actor;

const ICD10: &str = "http://hl7.org/fhir/sid/icd-10";
const UCUM: &str = "http://unitsofmeasure.org";

impl App {
    /// The resources derived from a note's current analysis, as a `collection` Bundle. A
    /// read of the note: decided and audited as one.
    pub async fn fhir_note_findings(
        &self,
        actor: &Actor,
        note: &str,
        purpose: Option<Purpose>,
    ) -> Result<Value, FhirError> {
        let id = record_id(note)?;
        let stored = self.record_analysis(actor, id, None, purpose).await?;
        let meta = self.record_meta_unchecked(id).await?;
        let resources = findings(
            &stored.analysis,
            &meta.patient.to_string(),
            &id.to_string(),
            &instant_text(stored.analyzed_at),
        );
        let entries: Vec<Value> = resources
            .into_iter()
            .map(|resource| json!({ "resource": resource }))
            .collect();
        Ok(json!({ "resourceType": "Bundle", "type": "collection", "entry": entries }))
    }
}

fn concept(text: &str, icd10: Option<&str>) -> Value {
    match icd10 {
        Some(code) => json!({ "coding": [{ "system": ICD10, "code": code }], "text": text }),
        None => json!({ "text": text }),
    }
}

fn status(system: &str, code: &str) -> Value {
    json!({ "coding": [{ "system": system, "code": code }] })
}

/// The FHIR resources of one analysis of note `note` of `patient`.
pub fn findings(analysis: &Analysis, patient: &str, note: &str, recorded: &str) -> Vec<Value> {
    let subject = json!({ "reference": format!("Patient/{patient}") });
    let mut out = Vec::new();
    for (index, entity) in analysis.entities.iter().enumerate() {
        if entity.family {
            continue;
        }
        let id = format!("{note}-e{index}");
        let resource = match entity.kind {
            EntityType::Dis | EntityType::Sym => {
                let mut condition = json!({
                    "resourceType": "Condition",
                    "id": id,
                    "category": [status(
                        "http://terminology.hl7.org/CodeSystem/condition-category",
                        if entity.kind == EntityType::Dis { "encounter-diagnosis" } else { "problem-list-item" },
                    )],
                    "code": concept(&entity.text, entity.icd10.as_deref()),
                    "subject": subject,
                });
                let verification = if entity.negated {
                    "refuted"
                } else if entity.uncertain {
                    "provisional"
                } else {
                    "confirmed"
                };
                condition["verificationStatus"] = status(CONDITION_VERIFICATION, verification);
                // A refuted finding has no clinical status: it is not a problem at all.
                if !entity.negated {
                    let clinical = if entity.historical {
                        "inactive"
                    } else {
                        "active"
                    };
                    condition["clinicalStatus"] = status(CONDITION_CLINICAL, clinical);
                }
                condition
            }
            EntityType::Dru => json!({
                "resourceType": "MedicationStatement",
                "id": id,
                "status": if entity.negated { "not-taken" } else if entity.historical { "completed" } else { "active" },
                "medicationCodeableConcept": { "text": entity.text },
                "subject": subject,
            }),
            _ => continue,
        };
        out.push(resource);
    }
    for (index, measurement) in analysis.measurements.iter().enumerate() {
        let mut observation = json!({
            "resourceType": "Observation",
            "id": format!("{note}-m{index}"),
            "status": "preliminary",
            "code": { "text": measurement.name },
            "subject": subject,
        });
        match measurement.value.parse::<f64>() {
            Ok(value) if value.is_finite() && !measurement.unit.is_empty() => {
                observation["valueQuantity"] = json!({
                    "value": value, "unit": measurement.unit, "system": UCUM, "code": measurement.unit,
                });
            }
            Ok(value) if value.is_finite() => {
                observation["valueQuantity"] = json!({ "value": value })
            }
            _ => observation["valueString"] = json!(measurement.value),
        }
        out.push(observation);
    }
    if !out.is_empty() {
        let targets: Vec<Value> = out
            .iter()
            .map(|r| json!({ "reference": format!("{}/{}", r["resourceType"].as_str().unwrap_or_default(), r["id"].as_str().unwrap_or_default()) }))
            .collect();
        out.push(json!({
            "resourceType": "Provenance",
            "id": format!("{note}-nlp"),
            "target": targets,
            "recorded": recorded,
            "activity": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-DataOperation", "code": "CREATE" }] },
            "agent": [{
                "type": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type", "code": "assembler" }] },
                "who": { "display": "MediTrustAl clinical NLP" }
            }],
            "entity": [{ "role": "source", "what": { "reference": format!("DocumentReference/{note}") } }],
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use meditrustal_nlp::Entity;

    use super::*;

    fn entity(
        text: &str,
        kind: EntityType,
        negated: bool,
        uncertain: bool,
        family: bool,
    ) -> Entity {
        Entity {
            start: 0,
            end: 1,
            text: text.to_owned(),
            kind,
            negated,
            uncertain,
            historical: false,
            family,
            icd10: Some("I10".to_owned()),
        }
    }

    #[test]
    fn assertions_decide_the_statuses() {
        let analysis = Analysis {
            entities: vec![
                entity("高血压", EntityType::Dis, false, false, false),
                entity("发热", EntityType::Sym, true, false, false),
                entity("肺炎", EntityType::Dis, false, true, false),
                entity("糖尿病", EntityType::Dis, false, false, true),
                entity("阿司匹林", EntityType::Dru, false, false, false),
            ],
            measurements: vec![],
            phi: vec![],
            sections: vec![],
        };
        let out = findings(&analysis, "p", "n", "2026-01-01T00:00:00Z");
        let kinds: Vec<&str> = out
            .iter()
            .map(|r| r["resourceType"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            [
                "Condition",
                "Condition",
                "Condition",
                "MedicationStatement",
                "Provenance"
            ]
        );
        assert_eq!(out[0]["clinicalStatus"]["coding"][0]["code"], "active");
        assert_eq!(out[1]["verificationStatus"]["coding"][0]["code"], "refuted");
        assert!(
            out[1].get("clinicalStatus").is_none(),
            "a negated finding is not a problem"
        );
        assert_eq!(
            out[2]["verificationStatus"]["coding"][0]["code"],
            "provisional"
        );
        assert_eq!(
            out[4]["entity"][0]["what"]["reference"],
            "DocumentReference/n"
        );
        assert_eq!(out[4]["target"].as_array().unwrap().len(), 4);
        for resource in &out {
            let kind =
                meditrustal_fhir::ResourceType::parse(resource["resourceType"].as_str().unwrap())
                    .unwrap();
            meditrustal_fhir::validate(resource, kind).unwrap();
        }
    }
}
