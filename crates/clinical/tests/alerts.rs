//! Early-warning rules over timestamped observations.

// Test helpers outside #[test] fns may unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use meditrustal_clinical::alerts::{AlertContext, AlertRule, Severity, evaluate};
use meditrustal_clinical::observation::{Observation, ObservedValue};

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 4, 8, minute, 0).unwrap()
}

fn obs(code: &str, value: ObservedValue, unit: &str, minute: u32) -> Observation {
    Observation {
        code: code.into(),
        value,
        unit: unit.into(),
        time: at(minute),
    }
}

fn n(v: f64) -> ObservedValue {
    ObservedValue::Number(v)
}

fn ctx(now: DateTime<Utc>) -> AlertContext {
    AlertContext {
        patient_id: "pt-001".into(),
        now,
        window: Duration::hours(4),
        spo2_scale: None,
    }
}

/// "体温38.9℃，心率118次/分，呼吸26次/分，血压88/52mmHg，神志模糊" as NLP would extract it.
fn septic_note(minute: u32) -> Vec<Observation> {
    vec![
        obs("体温", n(38.9), "℃", minute),
        obs("心率", n(118.0), "次/分", minute),
        obs("呼吸", n(26.0), "次/分", minute),
        obs("血压", ObservedValue::Text("88/52".into()), "mmHg", minute),
        obs("神志", ObservedValue::Text("神志模糊".into()), "", minute),
    ]
}

#[test]
fn septic_note_raises_news2_high_qsofa_and_sirs() {
    let e = evaluate(&septic_note(0), &ctx(at(5))).unwrap();
    assert_eq!(e.news2.partial_total, Some(12.0));
    assert_eq!(e.news2.band.as_deref(), Some("high"));
    assert_eq!(e.qsofa.total, Some(3.0));
    assert_eq!(e.sirs.partial_total, Some(3.0));
    let rules: Vec<(AlertRule, Severity, &str)> = e
        .alerts
        .iter()
        .map(|a| (a.rule, a.severity, a.band.as_str()))
        .collect();
    assert_eq!(
        rules,
        vec![
            (AlertRule::News2, Severity::Critical, "high"),
            (AlertRule::Qsofa, Severity::High, "positive"),
            (AlertRule::Sirs, Severity::Medium, "positive"),
        ]
    );
    let news = &e.alerts[0];
    assert_eq!(news.dedup_key, "pt-001|news2|high");
    assert_eq!(news.observations_used.len(), 5);
    assert!(news.explanation.contains("incomplete"));
    assert!(news.explanation.contains("respiration_rate"));
    assert!(e.rejected.is_empty());
}

#[test]
fn dedup_key_is_stable_across_evaluations_and_changes_with_band() {
    let first = evaluate(&septic_note(0), &ctx(at(5))).unwrap();
    let again = evaluate(&septic_note(10), &ctx(at(15))).unwrap();
    let keys = |e: &meditrustal_clinical::alerts::Evaluation| {
        e.alerts
            .iter()
            .map(|a| a.dedup_key.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(&first), keys(&again));
    // improvement: only a single 3 (new confusion) left ⇒ low-medium, a different key
    let better = vec![
        obs("体温", n(37.0), "℃", 20),
        obs("心率", n(80.0), "次/分", 20),
        obs("呼吸", n(16.0), "次/分", 20),
        obs("收缩压", n(125.0), "mmHg", 20),
        obs("神志", ObservedValue::Text("C".into()), "", 20),
        obs("血氧饱和度", n(97.0), "%", 20),
        obs("吸氧", ObservedValue::Flag(false), "", 20),
    ];
    let mut all = septic_note(0);
    all.extend(better);
    let e = evaluate(&all, &ctx(at(25))).unwrap();
    assert_eq!(e.news2.total, Some(3.0));
    let news = e
        .alerts
        .iter()
        .find(|a| a.rule == AlertRule::News2)
        .unwrap();
    assert_eq!(news.band, "low-medium");
    assert_eq!(news.dedup_key, "pt-001|news2|low-medium");
}

#[test]
fn window_and_future_observations_are_ignored() {
    let old = septic_note(0);
    let e = evaluate(
        &old,
        &AlertContext {
            window: Duration::minutes(3),
            ..ctx(at(5))
        },
    )
    .unwrap();
    assert!(e.alerts.is_empty());
    assert_eq!(e.news2.partial_total, Some(0.0));
    let e = evaluate(&septic_note(30), &ctx(at(5))).unwrap();
    assert!(
        e.alerts.is_empty(),
        "observations after `now` must not count"
    );
}

#[test]
fn latest_value_wins() {
    let observations = vec![
        obs("呼吸", n(30.0), "次/分", 0),
        obs("呼吸", n(16.0), "次/分", 10),
        obs("呼吸", n(28.0), "次/分", 5),
    ];
    let e = evaluate(&observations, &ctx(at(20))).unwrap();
    let rr = e
        .news2
        .components
        .iter()
        .find(|c| c.name == "respiration_rate")
        .unwrap();
    assert_eq!(rr.points, Some(0.0));
}

#[test]
fn bad_observations_are_rejected_not_fatal() {
    let mut observations = septic_note(0);
    observations.push(obs("心率", n(1200.0), "次/分", 1));
    observations.push(obs("体温", n(38.0), "furlongs", 1));
    observations.push(obs("血糖", n(7.8), "mmol/L", 1));
    let e = evaluate(&observations, &ctx(at(5))).unwrap();
    assert_eq!(e.rejected.len(), 2);
    assert_eq!(e.rejected[0].index, 5);
    assert_eq!(e.alerts.len(), 3);
}

#[test]
fn normal_patient_raises_nothing() {
    let observations = vec![
        obs("8310-5", n(98.6), "[degF]", 0),
        obs("8867-4", n(72.0), "/min", 0),
        obs("9279-1", n(14.0), "/min", 0),
        obs("8480-6", n(16.0), "kPa", 0),
        obs("80288-4", ObservedValue::Text("A".into()), "", 0),
        obs("59408-5", n(98.0), "%", 0),
        obs("on_oxygen", ObservedValue::Flag(false), "", 0),
        obs("6690-2", n(7500.0), "/uL", 0),
    ];
    let e = evaluate(&observations, &ctx(at(1))).unwrap();
    assert_eq!(e.news2.total, Some(0.0));
    assert_eq!(e.sirs.total, Some(0.0));
    assert!(e.alerts.is_empty());
}

#[test]
fn huge_window_does_not_overflow() {
    let e = evaluate(
        &septic_note(0),
        &AlertContext {
            window: Duration::MAX,
            ..ctx(at(5))
        },
    )
    .unwrap();
    assert_eq!(e.alerts.len(), 3);
    let err = evaluate(
        &septic_note(0),
        &AlertContext {
            window: Duration::minutes(-1),
            ..ctx(at(5))
        },
    )
    .unwrap_err();
    assert!(
        matches!(err, meditrustal_clinical::ScoreError::InvalidInput { ref field, .. } if field == "window")
    );
}
