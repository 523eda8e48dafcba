//! Research access, part two: who is in a project's population, what the platform knows
//! about each of them within the project's period, and cohort counts over them.
//!
//! The population is every active patient who opted in to the project's purpose for every
//! data category it asks for. Counts below [`MIN_CELL`] are suppressed; larger ones get
//! noise of -2..=+2 derived from the project key and the normalised query (so asking the
//! same question again gives the same answer and noise cannot be averaged away), are
//! rounded to a multiple of 5, and each question spends one unit of the project's query
//! budget, which bounds how many overlapping questions can be differenced.

use std::collections::{BTreeMap, BTreeSet};

use meditrustal_clinical::observation::{Observation, ObservedValue};
use meditrustal_domain::{
    DataCategory, PatientProfile, Role, Sex, UserId, UserStatus, ValidationError,
};
use meditrustal_nlp::Analysis;
use meditrustal_store::{ResearchProject, ResearchWrite, Write};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime, Time};

use crate::early_warning::to_time;
use crate::events::{AuditEvent, Outcome};
use crate::keyed_digest::keyed;
use crate::policy::{Action, Actor};
use crate::record_nlp::{binding_name, is_note};
use crate::{App, AppError};

/// Counts below this are shown as `<5`.
pub const MIN_CELL: u64 = 5;
/// Cohort questions each project may ask.
pub const QUERY_BUDGET: u64 = 100;
const MAX_LIST: usize = 20;

/// An observation criterion: code (as recorded: LOINC, snake_case name or chart label) and
/// an inclusive value range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObservationRange {
    pub code: String,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// Who to count. Every given criterion must hold; dates limit which diagnoses and
/// observations count (within the project's period in any case).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CohortCriteria {
    pub age_min: Option<u32>,
    pub age_max: Option<u32>,
    pub sex: Option<Sex>,
    /// ICD-10 codes (`E11.9`) or prefixes (`E11*`); any one matches.
    #[serde(default)]
    pub icd10: Vec<String>,
    #[serde(default)]
    pub observations: Vec<ObservationRange>,
    pub from: Option<Date>,
    pub to: Option<Date>,
}

/// A suppressed, noised and rounded count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CohortCount {
    /// `None` when suppressed.
    pub count: Option<u64>,
    /// `<5` or the number.
    pub display: String,
    pub queries_left: u64,
}

/// What the platform holds about one consenting patient within a project's period.
pub(crate) struct Subject {
    pub patient: UserId,
    pub profile: Option<PatientProfile>,
    /// ICD-10 code and the date of the note it was found in.
    pub diagnoses: Vec<(String, Date)>,
    /// Code, value, unit and date of numeric observations.
    pub observations: Vec<(String, f64, String, Date)>,
    /// Date and text of notes (only when asked for).
    pub notes: Vec<(Date, String)>,
}

impl Subject {
    /// The first date anything is known in the period.
    pub(crate) fn index_date(&self) -> Option<Date> {
        let diagnoses = self.diagnoses.iter().map(|d| d.1);
        let observations = self.observations.iter().map(|o| o.3);
        let notes = self.notes.iter().map(|n| n.0);
        diagnoses.chain(observations).chain(notes).min()
    }
}

fn invalid(field: &'static str, message: &str) -> AppError {
    ValidationError::new(field, "INVALID_CRITERIA", message).into()
}

impl CohortCriteria {
    /// Checks the criteria against the project and puts lists in a canonical order, so that
    /// the same question always has the same form (and the same noise).
    pub(crate) fn normalised(mut self, project: &ResearchProject) -> Result<Self, AppError> {
        let wants = |c: DataCategory| project.categories.contains(&c);
        let demographic = self.age_min.is_some() || self.age_max.is_some() || self.sex.is_some();
        if demographic && !wants(DataCategory::Demographics) {
            return Err(invalid(
                "age_min",
                "the project did not ask for demographics",
            ));
        }
        if !self.icd10.is_empty() && !wants(DataCategory::Diagnoses) {
            return Err(invalid("icd10", "the project did not ask for diagnoses"));
        }
        if !self.observations.is_empty() && !wants(DataCategory::Observations) {
            return Err(invalid(
                "observations",
                "the project did not ask for observations",
            ));
        }
        if self.age_min.zip(self.age_max).is_some_and(|(a, b)| a > b)
            || self.age_max.is_some_and(|a| a > 150)
        {
            return Err(invalid(
                "age_max",
                "ages must be 0-150 with age_min <= age_max",
            ));
        }
        if self.from.zip(self.to).is_some_and(|(a, b)| a > b) {
            return Err(invalid("to", "to must not be before from"));
        }
        if self.icd10.len() > MAX_LIST || self.observations.len() > MAX_LIST {
            return Err(invalid(
                "icd10",
                "at most 20 codes and 20 observation ranges",
            ));
        }
        for code in &mut self.icd10 {
            *code = code.trim().to_uppercase();
            if !icd10_pattern(code) {
                return Err(invalid("icd10", "ICD-10 codes look like E11.9 or E11*"));
            }
        }
        self.icd10.sort();
        self.icd10.dedup();
        for range in &mut self.observations {
            range.code = range.code.trim().to_lowercase();
            let bad_code = range.code.is_empty() || range.code.chars().count() > 64;
            let bad_range = range.min.zip(range.max).is_some_and(|(a, b)| a > b)
                || [range.min, range.max]
                    .iter()
                    .flatten()
                    .any(|v| !v.is_finite());
            if bad_code || bad_range {
                return Err(invalid(
                    "observations",
                    "an observation range needs a code (1-64 characters) and finite min <= max",
                ));
            }
        }
        self.observations
            .sort_by(|a, b| a.code.cmp(&b.code).then(a.min.total_cmp_opt(b.min)));
        Ok(self)
    }

    pub(crate) fn matches(&self, subject: &Subject, reference: Date) -> bool {
        let in_window =
            |d: Date| self.from.is_none_or(|f| d >= f) && self.to.is_none_or(|t| d <= t);
        let demographic = self.age_min.is_some() || self.age_max.is_some() || self.sex.is_some();
        if demographic {
            let Some(profile) = &subject.profile else {
                return false;
            };
            let age = u32::try_from(profile.age_on(reference)).unwrap_or(0);
            if self.age_min.is_some_and(|m| age < m)
                || self.age_max.is_some_and(|m| age > m)
                || self.sex.is_some_and(|s| s != profile.sex)
            {
                return false;
            }
        }
        if !self.icd10.is_empty() {
            let found = subject.diagnoses.iter().any(|(code, date)| {
                in_window(*date) && self.icd10.iter().any(|c| icd10_matches(c, code))
            });
            if !found {
                return false;
            }
        }
        for range in &self.observations {
            let found = subject.observations.iter().any(|(code, value, _, date)| {
                in_window(*date)
                    && code.to_lowercase() == range.code
                    && range.min.is_none_or(|m| *value >= m)
                    && range.max.is_none_or(|m| *value <= m)
            });
            if !found {
                return false;
            }
        }
        let dated = self.from.is_some() || self.to.is_some();
        if dated && self.icd10.is_empty() && self.observations.is_empty() {
            let any = subject.diagnoses.iter().map(|d| d.1);
            let any = any.chain(subject.observations.iter().map(|o| o.3));
            let any = any.chain(subject.notes.iter().map(|n| n.0)).any(in_window);
            return any;
        }
        true
    }
}

trait TotalCmpOpt {
    fn total_cmp_opt(&self, other: Option<f64>) -> std::cmp::Ordering;
}

impl TotalCmpOpt for Option<f64> {
    fn total_cmp_opt(&self, other: Option<f64>) -> std::cmp::Ordering {
        match (self, other) {
            (Some(a), Some(b)) => a.total_cmp(&b),
            (a, b) => a.is_some().cmp(&b.is_some()),
        }
    }
}

fn icd10_pattern(code: &str) -> bool {
    let body = code.strip_suffix('*').unwrap_or(code);
    let bytes = body.as_bytes();
    bytes.len() >= 3
        && bytes.len() <= 8
        && bytes[0].is_ascii_uppercase()
        && bytes[1..3].iter().all(u8::is_ascii_digit)
        && (bytes.len() == 3
            || (bytes[3] == b'.'
                && bytes.len() > 4
                && bytes[4..].iter().all(u8::is_ascii_alphanumeric)))
}

/// `E11*` matches `E11` and `E11.9`; `E11.9` matches only itself.
fn icd10_matches(criterion: &str, code: &str) -> bool {
    let code = code.trim().to_uppercase();
    match criterion.strip_suffix('*') {
        Some(prefix) => code.starts_with(prefix),
        None => code == criterion,
    }
}

/// The published form of a true count (module docs).
pub(crate) fn protected_count(true_count: u64, noise_seed: u8) -> Option<u64> {
    if true_count < MIN_CELL {
        return None;
    }
    let noise = i64::from(noise_seed % 5) - 2;
    let noisy = i64::try_from(true_count)
        .unwrap_or(i64::MAX)
        .saturating_add(noise);
    let rounded = (noisy + 2).div_euclid(5) * 5;
    Some(u64::try_from(rounded).unwrap_or(0).max(MIN_CELL))
}

impl App {
    /// Counts the project's consenting patients who match `criteria` (the project's
    /// researcher, once approved); spends one query of the budget, audited.
    pub async fn count_cohort(
        &self,
        actor: &Actor,
        project: uuid::Uuid,
        criteria: CohortCriteria,
    ) -> Result<CohortCount, AppError> {
        let project = self
            .project_for(actor, project, Action::QueryCohort)
            .await?;
        let criteria = criteria.normalised(&project)?;
        if project.queries_used >= QUERY_BUDGET {
            return Err(AppError::QueryBudgetSpent);
        }
        let subjects = self.research_subjects(&project, false).await?;
        let reference = project.period_end;
        let true_count = subjects
            .iter()
            .filter(|s| criteria.matches(s, reference))
            .count() as u64;
        let key = self.project_key(&project)?;
        let canonical = serde_json::to_vec(&criteria)
            .map_err(|err| AppError::internal(format!("criteria: {err}")))?;
        let seed = keyed(&key, &[b"cohort-count", &canonical])[0];
        let count = protected_count(true_count, seed);
        let now = self.clock.now();
        let event = AuditEvent::new(
            "research.cohort_counted",
            now,
            actor,
            Outcome::Allowed(crate::policy::Basis::Role),
        )
        .project(project.id)
        .purpose(Some(meditrustal_domain::Purpose::Research));
        let write = Write::Research(ResearchWrite::UseQuery {
            project: project.id,
            budget: QUERY_BUDGET,
        });
        self.commit(vec![write], vec![event])
            .await
            .map_err(|err| match err {
                AppError::StateConflict(_) => AppError::QueryBudgetSpent,
                other => other,
            })?;
        Ok(CohortCount {
            count,
            display: count.map_or_else(|| format!("<{MIN_CELL}"), |c| c.to_string()),
            queries_left: QUERY_BUDGET.saturating_sub(project.queries_used + 1),
        })
    }

    /// Active patients who opted in to the project's purpose for all its categories.
    pub(crate) async fn consenting_patients(
        &self,
        project: &ResearchProject,
    ) -> Result<Vec<UserId>, AppError> {
        let mut opted: BTreeMap<UserId, BTreeSet<DataCategory>> = BTreeMap::new();
        for consent in self
            .store
            .research_consents(None, Some(project.purpose))
            .await?
        {
            if consent.opted_in {
                opted
                    .entry(consent.patient)
                    .or_default()
                    .insert(consent.category);
            }
        }
        let mut patients = Vec::new();
        for (patient, categories) in opted {
            if !project.categories.iter().all(|c| categories.contains(c)) {
                continue;
            }
            let active = self
                .store
                .user_by_id(patient)
                .await?
                .is_some_and(|u| u.role == Role::Patient && u.status == UserStatus::Active);
            if active {
                patients.push(patient);
            }
        }
        Ok(patients)
    }

    /// What the project may use of each consenting patient, within its period.
    pub(crate) async fn research_subjects(
        &self,
        project: &ResearchProject,
        with_notes: bool,
    ) -> Result<Vec<Subject>, AppError> {
        let mut subjects = Vec::new();
        for patient in self.consenting_patients(project).await? {
            subjects.push(self.research_subject(project, patient, with_notes).await?);
        }
        Ok(subjects)
    }

    async fn research_subject(
        &self,
        project: &ResearchProject,
        patient: UserId,
        with_notes: bool,
    ) -> Result<Subject, AppError> {
        let wants = |c: DataCategory| project.categories.contains(&c);
        let in_period = |d: Date| d >= project.period_start && d <= project.period_end;
        let mut subject = Subject {
            patient,
            profile: None,
            diagnoses: Vec::new(),
            observations: Vec::new(),
            notes: Vec::new(),
        };
        if wants(DataCategory::Demographics) {
            subject.profile = self.profile_of(patient).await?;
        }
        let notes = with_notes && wants(DataCategory::Notes);
        if wants(DataCategory::Diagnoses) || notes {
            for meta in self.all_records(patient).await? {
                if meta.erasure.is_some() || !is_note(meta.category) {
                    continue;
                }
                let version = self.version_of(meta.id, meta.current_version).await?;
                let date = version.created_at.date();
                if !in_period(date) {
                    continue;
                }
                if wants(DataCategory::Diagnoses)
                    && let Some(row) = self.store.nlp_result(meta.id, version.version).await?
                {
                    let analysis: Analysis =
                        self.open_json(&row.sealed, &binding_name(meta.id), patient)?;
                    for entity in analysis.entities {
                        if entity.negated || entity.family || entity.uncertain {
                            continue;
                        }
                        if let Some(code) = entity.icd10 {
                            subject.diagnoses.push((code, date));
                        }
                    }
                }
                if notes {
                    let content = self.open_version(&meta, &version).await?;
                    subject
                        .notes
                        .push((date, String::from_utf8_lossy(&content).into_owned()));
                }
            }
        }
        if wants(DataCategory::Observations) {
            let since = OffsetDateTime::new_utc(project.period_start, Time::MIDNIGHT);
            for batch in self
                .store
                .observation_batches(patient, since, u32::MAX)
                .await?
            {
                let observations: Vec<Observation> = self.open_json(
                    &batch.sealed,
                    &format!("observations/{}", batch.id),
                    patient,
                )?;
                for o in observations {
                    let date = to_time(o.time).date();
                    if let ObservedValue::Number(value) = o.value
                        && in_period(date)
                        && value.is_finite()
                    {
                        subject.observations.push((o.code, value, o.unit, date));
                    }
                }
            }
        }
        subject.diagnoses.sort();
        subject.diagnoses.dedup();
        subject
            .observations
            .sort_by(|a, b| a.0.cmp(&b.0).then(a.3.cmp(&b.3)).then(a.1.total_cmp(&b.1)));
        subject.notes.sort();
        Ok(subject)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_counts_are_suppressed_and_others_rounded_to_fives() {
        for n in 0..MIN_CELL {
            for seed in 0..=255 {
                assert_eq!(protected_count(n, seed), None);
            }
        }
        for n in MIN_CELL..200 {
            for seed in 0..=255u8 {
                let shown = protected_count(n, seed).unwrap_or(0);
                assert_eq!(shown % 5, 0, "{n}");
                assert!(shown >= MIN_CELL);
                assert!(shown.abs_diff(n) <= 4, "{n} -> {shown}");
            }
        }
    }

    #[test]
    fn icd10_codes_and_prefixes() {
        assert!(icd10_pattern("E11") && icd10_pattern("E11.9") && icd10_pattern("E11*"));
        assert!(
            !icd10_pattern("11")
                && !icd10_pattern("E1")
                && !icd10_pattern("E11.")
                && !icd10_pattern("e11")
        );
        assert!(icd10_matches("E11*", "E11.9") && icd10_matches("E11*", "e11"));
        assert!(!icd10_matches("E11", "E11.9") && icd10_matches("E11.9", "E11.9"));
        assert!(!icd10_matches("E11*", "E10.1"));
    }
}
