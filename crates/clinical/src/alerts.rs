//! Early-warning rules: from one patient's timestamped observations, recompute NEWS2,
//! qSOFA and SIRS on the latest value of each vital inside a look-back window and raise
//! alerts.
//!
//! Pure: the evaluation time is a parameter. Observations after `now` or older than the
//! window are ignored; unusable observations (unknown unit, impossible value) are
//! reported in `rejected` instead of blocking the other rules. While a score is
//! incomplete the alert uses the band it is guaranteed to reach (missing items can only
//! add points), and says so. The de-duplication key is a function of patient, rule and
//! band only, so re-evaluating an unchanged situation yields the same key.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::error::ScoreError;
use crate::observation::{
    Coded, Observation, Reading, Vital, read, recognise, split_blood_pressure,
};
use crate::result::ScoreResult;
use crate::scores::news2::{self, Acvpu, News2Input, Spo2Scale};
use crate::scores::qsofa::{self, QsofaInput};
use crate::scores::sirs::{self, SirsInput};

/// The rule that raised an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertRule {
    News2,
    Qsofa,
    Sirs,
}

impl AlertRule {
    fn name(self) -> &'static str {
        match self {
            Self::News2 => "news2",
            Self::Qsofa => "qsofa",
            Self::Sirs => "sirs",
        }
    }
}

/// How urgently a clinician must respond.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Urgent ward-based response (NEWS2 single 3; SIRS).
    Medium,
    /// Urgent response (NEWS2 5–6; qSOFA ≥ 2).
    High,
    /// Emergency response (NEWS2 ≥ 7).
    Critical,
}

/// One alert for the doctor's portal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    pub patient_id: String,
    pub rule: AlertRule,
    pub severity: Severity,
    /// Band of the score that fired (guaranteed minimum when incomplete).
    pub band: String,
    pub total: Option<f64>,
    pub partial_total: Option<f64>,
    pub complete: bool,
    pub explanation: String,
    pub observations_used: Vec<Observation>,
    /// Same patient + rule + band ⇒ same key.
    pub dedup_key: String,
    pub raised_at: DateTime<Utc>,
}

/// An observation that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RejectedObservation {
    pub index: usize,
    pub error: ScoreError,
}

/// What to evaluate and when.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertContext {
    pub patient_id: String,
    pub now: DateTime<Utc>,
    /// Look-back window: only observations with `now - window <= time <= now` count.
    pub window: Duration,
    /// Prescribed SpO2 scale for NEWS2 (Scale 1 when `None`).
    pub spo2_scale: Option<Spo2Scale>,
}

/// Scores and alerts of one evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub patient_id: String,
    pub evaluated_at: DateTime<Utc>,
    pub news2: ScoreResult,
    pub qsofa: ScoreResult,
    pub sirs: ScoreResult,
    pub alerts: Vec<Alert>,
    pub rejected: Vec<RejectedObservation>,
}

/// The latest reading of each vital with the observation it came from.
type Latest = BTreeMap<Vital, (Reading, Observation)>;

fn keep_latest(latest: &mut Latest, vital: Vital, reading: Reading, obs: &Observation) {
    let newer = latest
        .get(&vital)
        .is_none_or(|(_, old)| obs.time >= old.time);
    if newer {
        latest.insert(vital, (reading, obs.clone()));
    }
}

fn collect(observations: &[Observation], ctx: &AlertContext) -> (Latest, Vec<RejectedObservation>) {
    let mut latest = Latest::new();
    let mut rejected = Vec::new();
    // A window reaching before the representable past simply means "everything".
    let oldest = ctx
        .now
        .checked_sub_signed(ctx.window)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    for (index, obs) in observations.iter().enumerate() {
        if obs.time > ctx.now || obs.time < oldest {
            continue;
        }
        let outcome = match recognise(&obs.code) {
            None => continue,
            Some(Coded::Vital(v)) => read(v, obs).map(|r| (v, r)),
            Some(Coded::BloodPressure) => {
                split_blood_pressure(obs).map(|s| (Vital::SystolicBp, Reading::Number(s)))
            }
        };
        match outcome {
            Ok((vital, reading)) => keep_latest(&mut latest, vital, reading, obs),
            Err(error) => rejected.push(RejectedObservation { index, error }),
        }
    }
    (latest, rejected)
}

fn number(latest: &Latest, vital: Vital) -> Option<f64> {
    match latest.get(&vital) {
        Some((Reading::Number(v), _)) => Some(*v),
        _ => None,
    }
}

fn level(latest: &Latest) -> Option<Acvpu> {
    match latest.get(&Vital::Consciousness) {
        Some((Reading::Level(l), _)) => Some(*l),
        _ => None,
    }
}

fn flag(latest: &Latest, vital: Vital) -> Option<bool> {
    match latest.get(&vital) {
        Some((Reading::Flag(b), _)) => Some(*b),
        _ => None,
    }
}

fn used(latest: &Latest, vitals: &[Vital]) -> Vec<Observation> {
    vitals
        .iter()
        .filter_map(|v| latest.get(v).map(|(_, o)| o.clone()))
        .collect()
}

const NEWS2_VITALS: [Vital; 7] = [
    Vital::RespRate,
    Vital::Spo2,
    Vital::OnOxygen,
    Vital::SystolicBp,
    Vital::HeartRate,
    Vital::Consciousness,
    Vital::Temperature,
];
const QSOFA_VITALS: [Vital; 4] = [
    Vital::RespRate,
    Vital::Gcs,
    Vital::Consciousness,
    Vital::SystolicBp,
];
const SIRS_VITALS: [Vital; 6] = [
    Vital::Temperature,
    Vital::HeartRate,
    Vital::RespRate,
    Vital::Paco2,
    Vital::Wbc,
    Vital::BandsPct,
];

/// The band a possibly incomplete result is guaranteed to reach: its band when known,
/// else the band of its scored components alone.
fn guaranteed_band(result: &ScoreResult, band_of_known: impl Fn(f64, bool) -> String) -> String {
    match &result.band {
        Some(b) => b.clone(),
        None => {
            let partial = result.partial_total.unwrap_or(0.0);
            let any_three = result
                .components
                .iter()
                .any(|c| c.points.is_some_and(|p| p >= 3.0));
            band_of_known(partial, any_three)
        }
    }
}

fn explain(result: &ScoreResult, band: &str) -> String {
    let contributing: Vec<String> = result
        .components
        .iter()
        .filter(|c| c.points.is_some_and(|p| p > 0.0))
        .map(|c| {
            format!(
                "{} {} → {}",
                c.name,
                c.value.clone().unwrap_or_default(),
                c.points.unwrap_or(0.0)
            )
        })
        .collect();
    let total = match (result.total, result.partial_total) {
        (Some(t), _) => format!("{} {t}", result.score),
        (None, Some(p)) => format!(
            "{} ≥{p} (incomplete, missing {})",
            result.score,
            result.missing.join(", ")
        ),
        (None, None) => result.score.clone(),
    };
    format!("{total}, band {band}: {}", contributing.join("; "))
}

fn alert(
    ctx: &AlertContext,
    rule: AlertRule,
    severity: Severity,
    band: String,
    result: &ScoreResult,
    observations_used: Vec<Observation>,
) -> Alert {
    let mut explanation = explain(result, &band);
    if let Some(meaning) = &result.band_meaning {
        explanation = format!("{explanation}. {meaning}");
    }
    Alert {
        patient_id: ctx.patient_id.clone(),
        rule,
        severity,
        dedup_key: format!("{}|{}|{}", ctx.patient_id, rule.name(), band),
        band,
        total: result.total,
        partial_total: result.partial_total,
        complete: result.complete,
        explanation,
        observations_used,
        raised_at: ctx.now,
    }
}

fn news2_alert(ctx: &AlertContext, result: &ScoreResult, latest: &Latest) -> Option<Alert> {
    let band = guaranteed_band(result, |t, three| news2::band(t, three).code);
    let severity = match band.as_str() {
        "high" => Severity::Critical,
        "medium" => Severity::High,
        "low-medium" => Severity::Medium,
        _ => return None,
    };
    Some(alert(
        ctx,
        AlertRule::News2,
        severity,
        band,
        result,
        used(latest, &NEWS2_VITALS),
    ))
}

fn qsofa_alert(ctx: &AlertContext, result: &ScoreResult, latest: &Latest) -> Option<Alert> {
    let band = guaranteed_band(result, |t, _| qsofa::band(t).code);
    (band == "positive").then(|| {
        alert(
            ctx,
            AlertRule::Qsofa,
            Severity::High,
            band,
            result,
            used(latest, &QSOFA_VITALS),
        )
    })
}

fn sirs_alert(ctx: &AlertContext, result: &ScoreResult, latest: &Latest) -> Option<Alert> {
    let band = guaranteed_band(result, |t, _| sirs::band(t).code);
    (band == "positive").then(|| {
        alert(
            ctx,
            AlertRule::Sirs,
            Severity::Medium,
            band,
            result,
            used(latest, &SIRS_VITALS),
        )
    })
}

/// Evaluates the early-warning rules for one patient at `ctx.now`.
pub fn evaluate(
    observations: &[Observation],
    ctx: &AlertContext,
) -> Result<Evaluation, ScoreError> {
    if ctx.window < Duration::zero() {
        return Err(ScoreError::invalid("window", "must not be negative"));
    }
    let (latest, rejected) = collect(observations, ctx);
    let consciousness = level(&latest);
    let news2 = news2::news2(&News2Input {
        resp_rate: number(&latest, Vital::RespRate),
        spo2_pct: number(&latest, Vital::Spo2),
        spo2_scale: ctx.spo2_scale,
        on_oxygen: flag(&latest, Vital::OnOxygen),
        sbp_mmhg: number(&latest, Vital::SystolicBp),
        pulse_bpm: number(&latest, Vital::HeartRate),
        consciousness,
        temp_c: number(&latest, Vital::Temperature),
        age: None,
    })?;
    let qsofa = qsofa::qsofa(&QsofaInput {
        resp_rate: number(&latest, Vital::RespRate),
        gcs: number(&latest, Vital::Gcs),
        // Any ACVPU level other than Alert is altered mentation.
        altered_mentation: consciousness.map(|c| c != Acvpu::A),
        sbp_mmhg: number(&latest, Vital::SystolicBp),
    })?;
    let sirs = sirs::sirs(&SirsInput {
        temp_c: number(&latest, Vital::Temperature),
        heart_rate: number(&latest, Vital::HeartRate),
        resp_rate: number(&latest, Vital::RespRate),
        paco2_mmhg: number(&latest, Vital::Paco2),
        wbc_10e9_l: number(&latest, Vital::Wbc),
        bands_pct: number(&latest, Vital::BandsPct),
    })?;
    let mut alerts: Vec<Alert> = [
        news2_alert(ctx, &news2, &latest),
        qsofa_alert(ctx, &qsofa, &latest),
        sirs_alert(ctx, &sirs, &latest),
    ]
    .into_iter()
    .flatten()
    .collect();
    alerts.sort_by_key(|a| std::cmp::Reverse(a.severity));
    Ok(Evaluation {
        patient_id: ctx.patient_id.clone(),
        evaluated_at: ctx.now,
        news2,
        qsofa,
        sirs,
        alerts,
        rejected,
    })
}
