//! Early warning: whenever observations of a patient arrive (a vital-signs record, the
//! measurements the NLP engine finds in a note, later FHIR), NEWS2, qSOFA and SIRS are
//! recomputed from the patient's latest value of each vital inside a look-back window, and
//! alerts are raised, de-duplicated, audited and broadcast.
//!
//! De-duplication: an alert stays open while its rule keeps firing with the same band; a
//! re-evaluation that gives the same band raises nothing; another band resolves the open
//! alert and raises a new one; a rule that stops firing resolves its open alert (so that a
//! relapse is raised again). Two arrivals for one patient evaluated concurrently may both
//! raise; the store orders them, and the next arrival resolves the older.
//!
//! Clinical content (observations, explanations) is sealed with the vault before it is
//! stored; ledger entries carry ids, the rule and the band only.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::stream::{self, BoxStream, StreamExt as _};
use meditrustal_clinical::alerts::{self, Alert, AlertContext, AlertRule, Severity};
use meditrustal_clinical::observation::{Observation, ObservedValue, parse_consciousness};
use meditrustal_domain::{Did, Purpose, RecordCategory, RecordId, Role, UserId};
use meditrustal_nlp::{Analysis, EntityType};
use meditrustal_store::{AlertRow, ObservationBatch, ObservationSource, Write};
use meditrustal_vault::{RecordBinding, SealedBlob};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::access::Facts;
use crate::events::{AuditEvent, Outcome};
use crate::policy::{self, Action, Actor, Basis, Context, Decision, Resource};
use crate::{App, AppError};

/// Observations older than this (before the evaluation time) no longer count.
pub const WINDOW_HOURS: i64 = 24;
/// At most this many of a patient's newest observation batches feed one evaluation. The
/// scores use the latest value of each vital sign, which a monitor refreshes far more often;
/// a value older than this many batches counts as missing (reported, never assumed normal).
pub const RECENT_BATCHES: u32 = 20;

/// How many alerts the broadcast channel keeps for slow subscribers.
pub(crate) const BROADCAST_DEPTH: usize = 256;

/// The rules evaluated, by their names on the ledger and in the API.
const RULES: [&str; 3] = ["news2", "qsofa", "sirs"];

/// The record version observations came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceRecord {
    pub id: RecordId,
    pub version: u32,
    pub category: RecordCategory,
}

/// New observations of a patient, brought by an actor whose access was already decided
/// (`basis`). This is the entry point for every source: records, notes and FHIR.
pub(crate) struct Arrival<'a> {
    pub actor: &'a Actor,
    pub basis: Basis,
    pub patient: UserId,
    pub patient_did: Did,
    pub source: ObservationSource,
    pub record: Option<SourceRecord>,
    pub observations: Vec<Observation>,
}

/// An alert as clients see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertView {
    pub id: Uuid,
    pub patient_id: Uuid,
    /// `news2`, `qsofa` or `sirs`.
    pub rule: String,
    /// `medium`, `high` or `critical`.
    pub severity: String,
    /// The band that fired (the band an incomplete score is guaranteed to reach).
    pub band: String,
    pub total: Option<f64>,
    pub partial_total: Option<f64>,
    pub complete: bool,
    /// Score, band and every contributing component with its points.
    pub explanation: String,
    pub observations_used: Vec<Observation>,
    /// The record whose arrival raised the alert.
    pub record_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub raised_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub resolved_at: Option<OffsetDateTime>,
}

/// The sealed part of a stored alert.
#[derive(Serialize, Deserialize)]
struct AlertDetail {
    total: Option<f64>,
    partial_total: Option<f64>,
    complete: bool,
    explanation: String,
    observations_used: Vec<Observation>,
}

/// A newly raised alert on the broadcast channel (filtered per subscriber before delivery).
#[derive(Debug, Clone)]
pub(crate) struct Raised {
    row: AlertRow,
    view: AlertView,
}

pub(crate) fn channel() -> broadcast::Sender<Arc<Raised>> {
    broadcast::channel(BROADCAST_DEPTH).0
}

pub(crate) fn to_chrono(at: OffsetDateTime) -> DateTime<Utc> {
    let nanos = at.unix_timestamp_nanos();
    let secs = i64::try_from(nanos.div_euclid(1_000_000_000)).unwrap_or(i64::MAX);
    let sub = u32::try_from(nanos.rem_euclid(1_000_000_000)).unwrap_or(0);
    DateTime::<Utc>::from_timestamp(secs, sub).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

pub(crate) fn to_time(at: DateTime<Utc>) -> OffsetDateTime {
    let nanos =
        i128::from(at.timestamp()) * 1_000_000_000 + i128::from(at.timestamp_subsec_nanos());
    OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn rule_name(rule: AlertRule) -> &'static str {
    match rule {
        AlertRule::News2 => "news2",
        AlertRule::Qsofa => "qsofa",
        AlertRule::Sirs => "sirs",
    }
}

fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Medium => "medium",
        Severity::High => "high",
        Severity::Critical => "critical",
    }
}

/// Words that make a symptom entity a statement about consciousness (so that e.g. 视物模糊,
/// blurred vision, is not read as confusion).
const CONSCIOUSNESS_WORDS: [&str; 7] = ["神志", "意识", "谵妄", "嗜睡", "昏睡", "昏迷", "混乱"];

/// The observations a note's analysis yields: every measurement (the early-warning rules
/// ignore codes they do not use) and, from an affirmed, current symptom about consciousness
/// (神志模糊, 意识不清, 嗜睡, 昏迷 …), its ACVPU level: the NLP engine has no measurement
/// for consciousness, and new confusion is NEWS2's "C" and qSOFA's altered mentation.
pub(crate) fn note_observations(analysis: &Analysis, time: DateTime<Utc>) -> Vec<Observation> {
    let mut observations: Vec<Observation> = analysis
        .measurements
        .iter()
        .map(|m| Observation {
            code: m.name.clone(),
            value: m.value.trim().parse::<f64>().map_or_else(
                |_| ObservedValue::Text(m.value.clone()),
                ObservedValue::Number,
            ),
            unit: m.unit.clone(),
            time,
        })
        .collect();
    let consciousness = analysis.entities.iter().rev().find(|e| {
        e.kind == EntityType::Sym
            && !(e.negated || e.uncertain || e.historical || e.family)
            && CONSCIOUSNESS_WORDS.iter().any(|w| e.text.contains(w))
            && parse_consciousness(&e.text).is_some()
    });
    if let Some(entity) = consciousness {
        observations.push(Observation {
            code: "consciousness".into(),
            value: ObservedValue::Text(entity.text.clone()),
            unit: String::new(),
            time,
        });
    }
    observations
}

/// The structured content of a vital-signs record (`application/json`), see docs/cdss.md.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VitalSignsDocument {
    observations: Vec<VitalSignInput>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VitalSignInput {
    code: String,
    value: ObservedValue,
    #[serde(default)]
    unit: String,
    /// RFC 3339; the record's time when absent.
    #[serde(default)]
    time: Option<DateTime<Utc>>,
}

/// The most observations one vital-signs record may hold.
const MAX_OBSERVATIONS: usize = 1000;

/// Parses and checks a vital-signs record's JSON content. Every observation of a vital the
/// rules use must be valid (unit known and fitting, value plausible); other codes are kept.
pub(crate) fn parse_vital_signs(
    content: &[u8],
    recorded_at: DateTime<Utc>,
) -> Result<Vec<Observation>, AppError> {
    let invalid = |message: String| {
        meditrustal_domain::ValidationError::new("content", "INVALID_OBSERVATIONS", message)
    };
    let document: VitalSignsDocument = serde_json::from_slice(content)
        .map_err(|err| invalid(format!("vital-signs JSON: {err}")))?;
    if document.observations.len() > MAX_OBSERVATIONS {
        return Err(invalid(format!("at most {MAX_OBSERVATIONS} observations")).into());
    }
    let observations: Vec<Observation> = document
        .observations
        .into_iter()
        .enumerate()
        .map(|(i, o)| {
            let code = o.code.trim();
            if code.is_empty() || code.chars().count() > 64 {
                return Err(invalid(format!(
                    "observations[{i}].code must be 1 to 64 characters"
                )));
            }
            Ok(Observation {
                code: code.to_owned(),
                value: o.value,
                unit: o.unit,
                time: o.time.unwrap_or(recorded_at),
            })
        })
        .collect::<Result<_, _>>()?;
    // Evaluating the batch alone, over all time, checks every value the rules would read.
    let context = AlertContext {
        patient_id: String::new(),
        now: DateTime::<Utc>::MAX_UTC,
        window: chrono::Duration::MAX,
        spo2_scale: None,
    };
    let evaluation = alerts::evaluate(&observations, &context)?;
    if let Some(rejected) = evaluation.rejected.first() {
        return Err(invalid(format!(
            "observations[{}]: {}",
            rejected.index, rejected.error
        ))
        .into());
    }
    Ok(observations)
}

impl App {
    /// Stores new observations of a patient, re-evaluates the early-warning rules on the
    /// patient's latest values and raises, resolves, audits and broadcasts alerts. Returns
    /// the alerts raised now. The caller has decided the actor's access (`basis`).
    pub(crate) async fn observations_arrived(
        &self,
        arrival: Arrival<'_>,
    ) -> Result<Vec<AlertView>, AppError> {
        if arrival.observations.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.clock.now();
        let patient = arrival.patient;
        let mut all = self
            .recent_observations(patient, now, arrival.record)
            .await?;
        all.extend(arrival.observations.iter().cloned());
        let context = AlertContext {
            patient_id: patient.to_string(),
            now: to_chrono(now),
            window: chrono::Duration::hours(WINDOW_HOURS),
            spo2_scale: None,
        };
        let evaluation = alerts::evaluate(&all, &context)?;

        let batch_id = Uuid::now_v7();
        let observed_at = arrival
            .observations
            .iter()
            .map(|o| o.time)
            .max()
            .map_or(now, to_time);
        let sealed = self.seal_json(
            &arrival.observations,
            &format!("observations/{batch_id}"),
            patient,
        )?;
        let mut writes = vec![Write::InsertObservations(ObservationBatch {
            id: batch_id,
            patient,
            source: arrival.source,
            record: arrival.record.map(|r| (r.id, r.version)),
            observed_at,
            sealed,
            created_at: now,
        })];
        let base = |kind| {
            let event = AuditEvent::new(kind, now, arrival.actor, Outcome::Allowed(arrival.basis))
                .patient(patient, arrival.patient_did.clone());
            match arrival.record {
                Some(r) => event.record(r.id, Some(r.version)),
                None => event,
            }
        };
        let mut events = vec![base("cdss.observations_added")];

        let open = self.store.alerts(patient, true, 100).await?;
        let mut raised = Vec::new();
        for rule in RULES {
            let fired = evaluation.alerts.iter().find(|a| rule_name(a.rule) == rule);
            let open_for_rule: Vec<&AlertRow> = open.iter().filter(|a| a.rule == rule).collect();
            if let Some(alert) = fired
                && open_for_rule.iter().any(|a| a.band == alert.band)
            {
                continue; // unchanged: already raised and still open
            }
            for stale in open_for_rule {
                writes.push(Write::ResolveAlert {
                    id: stale.id,
                    at: now,
                });
                events.push(base("cdss.alert_resolved").alert(stale.id, rule, stale.band.clone()));
            }
            if let Some(alert) = fired {
                let row = self.alert_row(alert, &arrival, now)?;
                events.push(base("cdss.alert_raised").alert(row.id, rule, row.band.clone()));
                let view = view_of(&row, alert_detail(alert));
                writes.push(Write::InsertAlert(row.clone()));
                raised.push(Raised { row, view });
            }
        }
        self.commit(writes, events).await?;
        tracing::info!(patient = %patient, raised = raised.len(), "early warning evaluated");
        let views = raised.iter().map(|r| r.view.clone()).collect();
        for alert in raised {
            self.activity.alert_raised(&alert.row.rule, &alert.row.band);
            // No subscriber is not an error.
            let _ = self.alerts.send(Arc::new(alert));
        }
        Ok(views)
    }

    /// The patient's stored observations inside the window (except those of `skip`, the
    /// version being added now), decrypted: the newest [`RECENT_BATCHES`] batches only, so
    /// the cost of an arrival does not grow with a closely monitored patient's history.
    pub(crate) async fn recent_observations(
        &self,
        patient: UserId,
        now: OffsetDateTime,
        skip: Option<SourceRecord>,
    ) -> Result<Vec<Observation>, AppError> {
        let since = now - time::Duration::hours(WINDOW_HOURS);
        let mut all = Vec::new();
        for batch in self
            .store
            .observation_batches(patient, since, RECENT_BATCHES)
            .await?
        {
            if batch.record.is_some() && batch.record == skip.map(|r| (r.id, r.version)) {
                continue;
            }
            let observations: Vec<Observation> = self.open_json(
                &batch.sealed,
                &format!("observations/{}", batch.id),
                patient,
            )?;
            all.extend(observations);
        }
        Ok(all)
    }

    fn alert_row(
        &self,
        alert: &Alert,
        arrival: &Arrival<'_>,
        now: OffsetDateTime,
    ) -> Result<AlertRow, AppError> {
        let id = Uuid::now_v7();
        let sealed = self.seal_json(
            &alert_detail(alert),
            &format!("alert/{id}"),
            arrival.patient,
        )?;
        Ok(AlertRow {
            id,
            patient: arrival.patient,
            rule: rule_name(alert.rule).to_owned(),
            severity: severity_name(alert.severity).to_owned(),
            band: alert.band.clone(),
            record: arrival.record.map(|r| (r.id, r.category)),
            sealed,
            raised_at: now,
            resolved_at: None,
        })
    }

    /// Alerts the actor may see: a patient their own; a doctor those of patients whose
    /// consent (for `purpose`, treatment by default) covers the record that raised each
    /// alert. Each patient whose alerts are shown is one audited read.
    pub async fn list_alerts(
        &self,
        actor: &Actor,
        purpose: Option<Purpose>,
        include_resolved: bool,
    ) -> Result<Vec<AlertView>, AppError> {
        self.authorize_derived(actor).await?;
        let purpose = purpose.or(Some(Purpose::Treatment));
        let now = self.clock.now();
        let patients: Vec<UserId> = match actor.role {
            Role::Patient => vec![actor.user_id],
            _ => {
                let mut ids: Vec<UserId> = self
                    .store
                    .consents(None, Some(actor.user_id))
                    .await?
                    .into_iter()
                    .filter(|c| c.is_active(now))
                    .map(|c| c.patient)
                    .collect();
                ids.sort();
                ids.dedup();
                ids
            }
        };
        let mut shown = Vec::new();
        for patient in patients {
            let facts = self.facts(actor, patient).await?;
            let mut basis = None;
            for row in self.store.alerts(patient, !include_resolved, 200).await? {
                if let Some(allowed) = visible(actor, &row, purpose, &facts, now) {
                    basis.get_or_insert(allowed);
                    shown.push(self.open_alert(&row)?);
                }
            }
            if let Some(basis) = basis {
                let did = self.patient_did(patient).await?;
                let event =
                    AuditEvent::new("cdss.alerts_read", now, actor, Outcome::Allowed(basis))
                        .patient(patient, did)
                        .purpose(purpose);
                self.commit(vec![], vec![event]).await?;
            }
        }
        shown.sort_by(|a, b| b.raised_at.cmp(&a.raised_at).then(b.id.cmp(&a.id)));
        Ok(shown)
    }

    /// Alerts raised from now on that the holder of `bearer` may see (as
    /// [`App::list_alerts`] decides), each delivery audited.
    ///
    /// The stream lives only as long as its access token would be accepted by a new
    /// request: the token and the account are checked again before every delivery and every
    /// 15 s while idle, so a suspended account or an expired token gets nothing more and the
    /// stream ends (a client reconnects with a fresh token). It also ends at
    /// [`App::end_alert_streams`].
    pub async fn alert_stream(
        &self,
        bearer: &str,
        purpose: Option<Purpose>,
    ) -> Result<BoxStream<'static, AlertView>, AppError> {
        let actor = self.authenticate(bearer).await?;
        self.authorize_derived(&actor).await?;
        let mut recheck =
            tokio::time::interval_at(tokio::time::Instant::now() + STREAM_RECHECK, STREAM_RECHECK);
        recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let subscription = Subscription {
            app: self.clone(),
            bearer: bearer.to_owned(),
            actor,
            purpose: purpose.or(Some(Purpose::Treatment)),
            alerts: self.alerts.subscribe(),
            closing: self.closing.subscribe(),
            recheck,
        };
        Ok(stream::unfold(subscription, Subscription::next_delivery).boxed())
    }

    /// Whether `actor` may receive `raised`; an allowed delivery is audited first.
    async fn deliver(
        &self,
        actor: &Actor,
        raised: &Raised,
        purpose: Option<Purpose>,
    ) -> Result<bool, AppError> {
        let patient = raised.row.patient;
        let facts = self.facts(actor, patient).await?;
        let now = self.clock.now();
        let Some(basis) = visible(actor, &raised.row, purpose, &facts, now) else {
            return Ok(false);
        };
        let did = self.patient_did(patient).await?;
        let event = AuditEvent::new("cdss.alert_delivered", now, actor, Outcome::Allowed(basis))
            .patient(patient, did)
            .purpose(purpose)
            .alert(
                raised.row.id,
                rule_static(&raised.row.rule),
                raised.row.band.clone(),
            );
        self.commit(vec![], vec![event]).await?;
        Ok(true)
    }

    /// May the actor look for alerts at all (patients and doctors); a denial is audited.
    pub(crate) async fn authorize_derived(&self, actor: &Actor) -> Result<Basis, AppError> {
        let now = self.clock.now();
        match policy::decide(
            actor,
            Action::ReadDerived,
            Resource::System,
            &Context::bare(now),
        ) {
            Decision::Allow(basis) => Ok(basis),
            Decision::Deny(denial) => {
                let event = AuditEvent::new("access.denied", now, actor, Outcome::Denied(denial));
                self.commit(vec![], vec![event]).await?;
                Err(AppError::Forbidden)
            }
        }
    }

    pub(crate) fn open_alert(&self, row: &AlertRow) -> Result<AlertView, AppError> {
        let detail: AlertDetail =
            self.open_json(&row.sealed, &format!("alert/{}", row.id), row.patient)?;
        Ok(view_of(row, detail))
    }

    /// Seals a JSON value with the vault, bound to `name` and the patient.
    pub(crate) fn seal_json<T: Serialize + ?Sized>(
        &self,
        value: &T,
        name: &str,
        patient: UserId,
    ) -> Result<String, AppError> {
        let plaintext =
            serde_json::to_vec(value).map_err(|err| AppError::internal(err.to_string()))?;
        let patient_text = patient.to_string();
        let blob = self
            .vault
            .seal_blob(plaintext, &RecordBinding::new(name, &patient_text, 1))
            .map_err(AppError::vault)?;
        serde_json::to_string(&blob).map_err(|err| AppError::internal(err.to_string()))
    }

    /// Opens what [`App::seal_json`] sealed under the same name and patient.
    pub(crate) fn open_json<T: for<'de> Deserialize<'de>>(
        &self,
        sealed: &str,
        name: &str,
        patient: UserId,
    ) -> Result<T, AppError> {
        let integrity = |err: String| AppError::Integrity(format!("{name}: {err}"));
        let blob: SealedBlob =
            serde_json::from_str(sealed).map_err(|err| integrity(err.to_string()))?;
        let patient_text = patient.to_string();
        let plaintext = self
            .vault
            .open_blob(&blob, &RecordBinding::new(name, &patient_text, 1))
            .map_err(|err| integrity(err.to_string()))?;
        serde_json::from_slice(&plaintext).map_err(|err| integrity(err.to_string()))
    }
}

/// How often an idle alert stream checks that its token and account are still good.
const STREAM_RECHECK: std::time::Duration = std::time::Duration::from_secs(15);

/// One open alert stream: who it is for, on what token, and what it listens to.
struct Subscription {
    app: App,
    bearer: String,
    actor: Actor,
    purpose: Option<Purpose>,
    alerts: broadcast::Receiver<Arc<Raised>>,
    closing: tokio::sync::watch::Receiver<bool>,
    recheck: tokio::time::Interval,
}

impl Subscription {
    /// Waits for the next alert this subscriber may see; `None` once the server is closing
    /// or the subscriber's token or account is no longer good.
    async fn next_delivery(mut self) -> Option<(AlertView, Subscription)> {
        loop {
            let received = tokio::select! {
                received = self.alerts.recv() => Some(received),
                _ = self.recheck.tick() => None,
                _ = self.closing.wait_for(|closed| *closed) => return None,
            };
            let Some(received) = received else {
                if !self.still_signed_in().await {
                    return None;
                }
                continue;
            };
            let raised = match received {
                Ok(raised) => raised,
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "alert subscriber lagged");
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            };
            if !self.still_signed_in().await {
                return None;
            }
            match self.app.deliver(&self.actor, &raised, self.purpose).await {
                Ok(true) => return Some((raised.view.clone(), self)),
                Ok(false) => {}
                Err(err) => tracing::warn!(error = %err, "alert delivery check failed"),
            }
        }
    }

    /// Whether the stream's token would still be accepted for the same account; a failure
    /// to check counts as no (the client reconnects).
    async fn still_signed_in(&self) -> bool {
        match self.app.authenticate(&self.bearer).await {
            Ok(actor) => actor.user_id == self.actor.user_id,
            Err(err) => {
                tracing::debug!(reason = %err, "alert stream ended");
                false
            }
        }
    }
}

/// Whether the actor may see an alert, and on what basis (policy `ReadDerived` on the
/// record that raised it, or on the patient as a whole when no record did).
fn visible(
    actor: &Actor,
    row: &AlertRow,
    purpose: Option<Purpose>,
    facts: &Facts,
    now: OffsetDateTime,
) -> Option<Basis> {
    let resource = match row.record {
        Some((id, category)) => Resource::Record {
            patient: row.patient,
            id,
            category,
        },
        None => Resource::Patient(row.patient),
    };
    let context = Context {
        purpose,
        now,
        consents: &facts.0,
        emergencies: &facts.1,
    };
    match policy::decide(actor, Action::ReadDerived, resource, &context) {
        Decision::Allow(basis) => Some(basis),
        Decision::Deny(_) => None,
    }
}

fn rule_static(rule: &str) -> &'static str {
    RULES.into_iter().find(|r| *r == rule).unwrap_or("unknown")
}

fn alert_detail(alert: &Alert) -> AlertDetail {
    AlertDetail {
        total: alert.total,
        partial_total: alert.partial_total,
        complete: alert.complete,
        explanation: alert.explanation.clone(),
        observations_used: alert.observations_used.clone(),
    }
}

fn view_of(row: &AlertRow, detail: AlertDetail) -> AlertView {
    AlertView {
        id: row.id,
        patient_id: row.patient.0,
        rule: row.rule.clone(),
        severity: row.severity.clone(),
        band: row.band.clone(),
        total: detail.total,
        partial_total: detail.partial_total,
        complete: detail.complete,
        explanation: detail.explanation,
        observations_used: detail.observations_used,
        record_id: row.record.map(|(id, _)| id.0),
        raised_at: row.raised_at,
        resolved_at: row.resolved_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use meditrustal_nlp::{Entity, Measurement};

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 8, 0, 0).unwrap()
    }

    fn sym(text: &str, negated: bool) -> Entity {
        Entity {
            start: 0,
            end: text.chars().count(),
            text: text.into(),
            kind: EntityType::Sym,
            negated,
            uncertain: false,
            historical: false,
            family: false,
            icd10: None,
            atc: None,
            loinc: None,
        }
    }

    #[test]
    fn note_consciousness_only_from_affirmed_statements_about_it() {
        let mut analysis = Analysis {
            entities: vec![sym("视物模糊", false)],
            ..Analysis::default()
        };
        assert!(note_observations(&analysis, at()).is_empty());
        analysis.entities.push(sym("神志模糊", true));
        assert!(note_observations(&analysis, at()).is_empty(), "negated");
        analysis.entities.push(sym("神志模糊", false));
        let found = note_observations(&analysis, at());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].code, "consciousness");
        assert_eq!(found[0].value, ObservedValue::Text("神志模糊".into()));
    }

    #[test]
    fn note_measurements_become_observations() {
        let analysis = Analysis {
            measurements: vec![
                Measurement {
                    start: 0,
                    end: 6,
                    text: "呼吸26次/分".into(),
                    name: "respiratory_rate".into(),
                    value: "26".into(),
                    unit: "次/分".into(),
                    loinc: None,
                    ucum: None,
                },
                Measurement {
                    start: 7,
                    end: 20,
                    text: "血压88/52mmHg".into(),
                    name: "blood_pressure".into(),
                    value: "88/52".into(),
                    unit: "mmHg".into(),
                    loinc: None,
                    ucum: None,
                },
            ],
            ..Analysis::default()
        };
        let found = note_observations(&analysis, at());
        assert_eq!(found[0].value, ObservedValue::Number(26.0));
        assert_eq!(found[1].value, ObservedValue::Text("88/52".into()));
        assert_eq!(found[1].time, at());
    }

    #[test]
    fn vital_signs_documents_are_checked_by_field() {
        let ok = br#"{"observations":[{"code":"resp_rate","value":26,"unit":"/min"},
            {"code":"consciousness","value":"C","time":"2026-01-01T07:00:00Z"},
            {"code":"glucose","value":5.5,"unit":"mmol/L"}]}"#;
        let parsed = parse_vital_signs(ok, at()).unwrap();
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed[0].time, at(), "the record's time by default");
        assert_eq!(
            parsed[1].time,
            Utc.with_ymd_and_hms(2026, 1, 1, 7, 0, 0).unwrap()
        );
        for bad in [
            &br#"{"observations":[{"code":"resp_rate","value":900}]}"#[..],
            br#"{"observations":[{"code":"resp_rate","value":"fast"}]}"#,
            br#"{"observations":[{"code":"","value":1}]}"#,
            br#"{"observations":[{"code":"temp_c","value":38,"unit":"mmHg"}]}"#,
            br#"{"obs":[]}"#,
            b"not json",
        ] {
            let err = parse_vital_signs(bad, at()).unwrap_err();
            assert!(
                matches!(err, AppError::Validation(ref v) if v.field == "content"),
                "{err:?}"
            );
        }
    }

    #[test]
    fn times_convert_both_ways() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_767_254_400_123_456_789).unwrap();
        assert_eq!(to_time(to_chrono(t)), t);
    }
}
