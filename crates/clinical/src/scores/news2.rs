//! NEWS2 — National Early Warning Score 2 (RCP 2017), clinical-references.md §1.
//!
//! Missing observation ⇒ no total (NEWS2 needs all seven parameters); the band is still
//! given when every possible value of the missing parameters leads to the same band
//! (e.g. a partial total already ≥ 7 is "high" whatever is missing).

use serde::{Deserialize, Serialize};

use crate::error::ScoreError;
use crate::input::Fields;
use crate::result::{Band, Component, Reference, ScoreResult, sum_points};
use crate::rounding::{round_integer, round_one_decimal};
use crate::validate;

pub const NAME: &str = "news2";

/// Which SpO2 row of Chart 1 applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Spo2Scale {
    /// Default for everybody.
    #[default]
    Scale1,
    /// Only for hypercapnic respiratory failure with a prescribed target of 88–92 %.
    Scale2,
}

/// Level of consciousness on the ACVPU scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Acvpu {
    /// Alert.
    A,
    /// New confusion (new or worsening disorientation/delirium).
    C,
    /// Responds to voice.
    V,
    /// Responds to pain.
    P,
    /// Unresponsive.
    U,
}

impl Acvpu {
    /// Parses "A", "C", "V", "P", "U" (case-insensitive) and the words.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "a" | "alert" => Some(Self::A),
            "c" | "confusion" | "new confusion" | "confused" => Some(Self::C),
            "v" | "voice" => Some(Self::V),
            "p" | "pain" => Some(Self::P),
            "u" | "unresponsive" => Some(Self::U),
            _ => None,
        }
    }
}

/// Observations for NEWS2; `None` means not recorded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct News2Input {
    pub resp_rate: Option<f64>,
    pub spo2_pct: Option<f64>,
    /// Scale 2 must be explicitly prescribed; absent ⇒ Scale 1.
    pub spo2_scale: Option<Spo2Scale>,
    pub on_oxygen: Option<bool>,
    pub sbp_mmhg: Option<f64>,
    pub pulse_bpm: Option<f64>,
    pub consciousness: Option<Acvpu>,
    pub temp_c: Option<f64>,
    /// Optional: NEWS2 is validated for adults ≥ 16 only.
    pub age: Option<f64>,
}

pub(crate) fn reference() -> Reference {
    Reference {
        citation: "Royal College of Physicians. National Early Warning Score (NEWS) 2: \
                   Standardising the assessment of acute-illness severity in the NHS. \
                   London: RCP, 2017."
            .into(),
        rule_set: "NEWS2 Chart 1 (scale 1 and 2) and Chart 2 thresholds".into(),
    }
}

/// Points for respiration rate (rounded to a whole number).
pub fn resp_rate_points(rr: f64) -> f64 {
    match round_integer(rr) {
        r if r <= 8.0 => 3.0,
        r if r <= 11.0 => 1.0,
        r if r <= 20.0 => 0.0,
        r if r <= 24.0 => 2.0,
        _ => 3.0,
    }
}

/// Points for SpO2 on scale 1.
pub fn spo2_scale1_points(spo2: f64) -> f64 {
    match round_integer(spo2) {
        s if s <= 91.0 => 3.0,
        s if s <= 93.0 => 2.0,
        s if s <= 95.0 => 1.0,
        _ => 0.0,
    }
}

/// Points for SpO2 on scale 2; ≥ 93 % scores only when on oxygen.
pub fn spo2_scale2_points(spo2: f64, on_oxygen: bool) -> f64 {
    match round_integer(spo2) {
        s if s <= 83.0 => 3.0,
        s if s <= 85.0 => 2.0,
        s if s <= 87.0 => 1.0,
        s if s <= 92.0 => 0.0,
        _ if !on_oxygen => 0.0,
        s if s <= 94.0 => 1.0,
        s if s <= 96.0 => 2.0,
        _ => 3.0,
    }
}

/// Points for systolic blood pressure.
pub fn sbp_points(sbp: f64) -> f64 {
    match round_integer(sbp) {
        s if s <= 90.0 => 3.0,
        s if s <= 100.0 => 2.0,
        s if s <= 110.0 => 1.0,
        s if s <= 219.0 => 0.0,
        _ => 3.0,
    }
}

/// Points for pulse.
pub fn pulse_points(pulse: f64) -> f64 {
    match round_integer(pulse) {
        p if p <= 40.0 => 3.0,
        p if p <= 50.0 => 1.0,
        p if p <= 90.0 => 0.0,
        p if p <= 110.0 => 1.0,
        p if p <= 130.0 => 2.0,
        _ => 3.0,
    }
}

/// Points for temperature (rounded half-up to one decimal).
pub fn temp_points(temp: f64) -> f64 {
    match round_one_decimal(temp) {
        t if t <= 35.0 => 3.0,
        t if t <= 36.0 => 1.0,
        t if t <= 38.0 => 0.0,
        t if t <= 39.0 => 1.0,
        _ => 2.0,
    }
}

/// Points for consciousness: anything but Alert scores 3.
pub fn consciousness_points(level: Acvpu) -> f64 {
    if level == Acvpu::A { 0.0 } else { 3.0 }
}

/// Chart 2 band with the RCP precedence: ≥7 high, ≥5 medium, any single 3 low-medium.
pub fn band(total: f64, any_single_three: bool) -> Band {
    if total >= 7.0 {
        Band::new(
            "high",
            "high clinical risk: emergency response — urgent assessment by a critical-care \
             competent team; continuous monitoring of vital signs",
        )
    } else if total >= 5.0 {
        Band::new(
            "medium",
            "medium clinical risk: key threshold for urgent response — urgent review by a \
             clinician competent in acute illness; at least hourly observations",
        )
    } else if any_single_three {
        Band::new(
            "low-medium",
            "low–medium clinical risk (a score of 3 in a single parameter): urgent ward-based \
             response, clinician review; at least hourly observations",
        )
    } else if total >= 1.0 {
        Band::new(
            "low",
            "low clinical risk: ward-based response, assessment by a registered nurse; \
             observations at least every 4–6 hours",
        )
    } else {
        Band::new(
            "low",
            "low clinical risk (score 0): continue routine monitoring at least 12-hourly",
        )
    }
}

fn band_of_points(points: &[f64]) -> Band {
    band(sum_points(points), points.iter().any(|p| *p >= 3.0))
}

fn validated(input: &News2Input) -> Result<News2Input, ScoreError> {
    Ok(News2Input {
        resp_rate: validate::check_opt("resp_rate", input.resp_rate, validate::RESP_RATE)?,
        spo2_pct: validate::check_opt("spo2_pct", input.spo2_pct, validate::SPO2_PCT)?,
        sbp_mmhg: validate::check_opt("sbp_mmhg", input.sbp_mmhg, validate::SBP_MMHG)?,
        pulse_bpm: validate::check_opt("pulse_bpm", input.pulse_bpm, validate::PULSE_BPM)?,
        temp_c: validate::check_opt("temp_c", input.temp_c, validate::TEMP_C)?,
        age: validate::check_opt("age", input.age, validate::AGE_YEARS)?,
        ..input.clone()
    })
}

fn numeric(
    name: &str,
    field: &str,
    value: Option<f64>,
    shown: impl Fn(f64) -> String,
    points: impl Fn(f64) -> f64,
) -> Component {
    match value {
        Some(v) => Component::scored(name, &[field], shown(v), points(v), 3.0, "Chart 1"),
        None => Component::unscored(name, &[field], &[field], 3.0),
    }
}

fn spo2_component(input: &News2Input, scale: Spo2Scale) -> Component {
    let inputs = ["spo2_pct", "spo2_scale", "on_oxygen"];
    match (input.spo2_pct, scale) {
        (None, _) => Component::unscored("spo2", &inputs, &["spo2_pct"], 3.0),
        (Some(s), Spo2Scale::Scale1) => Component::scored(
            "spo2",
            &inputs,
            format!("{} % (scale 1)", round_integer(s)),
            spo2_scale1_points(s),
            3.0,
            "Chart 1, SpO2 scale 1",
        ),
        (Some(s), Spo2Scale::Scale2) if round_integer(s) <= 92.0 => Component::scored(
            "spo2",
            &inputs,
            format!("{} % (scale 2)", round_integer(s)),
            spo2_scale2_points(s, false),
            3.0,
            "Chart 1, SpO2 scale 2",
        ),
        // Scale 2 at ≥ 93 % depends on whether oxygen is given.
        (Some(s), Spo2Scale::Scale2) => match input.on_oxygen {
            None => Component::unscored("spo2", &inputs, &["on_oxygen"], 3.0),
            Some(o2) => Component::scored(
                "spo2",
                &inputs,
                format!(
                    "{} % (scale 2, {})",
                    round_integer(s),
                    if o2 { "on oxygen" } else { "on air" }
                ),
                spo2_scale2_points(s, o2),
                3.0,
                "Chart 1, SpO2 scale 2",
            ),
        },
    }
}

fn components(input: &News2Input, scale: Spo2Scale) -> Vec<Component> {
    let oxygen = match input.on_oxygen {
        Some(o2) => Component::scored(
            "air_or_oxygen",
            &["on_oxygen"],
            if o2 { "oxygen" } else { "air" }.into(),
            if o2 { 2.0 } else { 0.0 },
            2.0,
            "Chart 1: supplemental oxygen scores 2 on both SpO2 scales",
        ),
        None => Component::unscored("air_or_oxygen", &["on_oxygen"], &["on_oxygen"], 2.0),
    };
    let consciousness = match input.consciousness {
        Some(level) => Component::scored(
            "consciousness",
            &["consciousness"],
            format!("{level:?}"),
            consciousness_points(level),
            3.0,
            "Chart 1: new confusion, V, P or U score 3",
        ),
        None => Component::unscored("consciousness", &["consciousness"], &["consciousness"], 3.0),
    };
    vec![
        numeric(
            "respiration_rate",
            "resp_rate",
            input.resp_rate,
            |v| format!("{} /min", round_integer(v)),
            resp_rate_points,
        ),
        spo2_component(input, scale),
        oxygen,
        numeric(
            "systolic_bp",
            "sbp_mmhg",
            input.sbp_mmhg,
            |v| format!("{} mmHg", round_integer(v)),
            sbp_points,
        ),
        numeric(
            "pulse",
            "pulse_bpm",
            input.pulse_bpm,
            |v| format!("{} /min", round_integer(v)),
            pulse_points,
        ),
        consciousness,
        numeric(
            "temperature",
            "temp_c",
            input.temp_c,
            |v| format!("{:.1} °C", round_one_decimal(v)),
            temp_points,
        ),
    ]
}

/// Computes NEWS2.
pub fn news2(input: &News2Input) -> Result<ScoreResult, ScoreError> {
    let input = validated(input)?;
    let scale = input.spo2_scale.unwrap_or_default();
    let mut result =
        ScoreResult::additive(NAME, components(&input, scale), band_of_points, reference());
    if input.spo2_scale.is_none() {
        result = result.with_note(
            "spo2_scale not given: Scale 1 used (Scale 2 only when a target of 88–92 % is \
             prescribed for hypercapnic respiratory failure)",
        );
    }
    if let Some(age) = input.age.filter(|a| *a < 16.0) {
        result = result.not_applicable(format!("NEWS2 is validated for adults ≥16; age {age}"));
    }
    Ok(result)
}

pub(crate) fn from_json(f: &mut Fields<'_>) -> Result<News2Input, ScoreError> {
    let scale = match f.number(&["spo2_scale"])? {
        None => None,
        Some(1.0) => Some(Spo2Scale::Scale1),
        Some(2.0) => Some(Spo2Scale::Scale2),
        Some(s) => {
            return Err(ScoreError::invalid(
                "spo2_scale",
                format!("{s} is not 1 or 2"),
            ));
        }
    };
    let consciousness = match f.text(&["consciousness", "acvpu"])? {
        None => None,
        Some(t) => Some(Acvpu::parse(t).ok_or_else(|| {
            ScoreError::invalid(
                "consciousness",
                format!("`{t}` is not one of A, C, V, P, U"),
            )
        })?),
    };
    Ok(News2Input {
        resp_rate: f.number(&["resp_rate", "respiratory_rate"])?,
        spo2_pct: f.number(&["spo2_pct", "spo2"])?,
        spo2_scale: scale,
        on_oxygen: f.boolean(&["on_oxygen", "supplemental_oxygen"])?,
        sbp_mmhg: f.number(&["sbp_mmhg", "systolic_bp"])?,
        pulse_bpm: f.number(&["pulse_bpm", "heart_rate", "pulse"])?,
        consciousness,
        temp_c: f.number(&["temp_c", "temperature_c"])?,
        age: f.number(&["age"])?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normal() -> News2Input {
        News2Input {
            resp_rate: Some(16.0),
            spo2_pct: Some(97.0),
            spo2_scale: Some(Spo2Scale::Scale1),
            on_oxygen: Some(false),
            sbp_mmhg: Some(120.0),
            pulse_bpm: Some(70.0),
            consciousness: Some(Acvpu::A),
            temp_c: Some(37.0),
            age: None,
        }
    }

    #[test]
    fn resp_rate_edges() {
        for (rr, p) in [
            (7.0, 3.0),
            (8.0, 3.0),
            (9.0, 1.0),
            (11.0, 1.0),
            (12.0, 0.0),
            (20.0, 0.0),
            (21.0, 2.0),
            (24.0, 2.0),
            (25.0, 3.0),
            (26.0, 3.0),
            (8.4, 3.0),
            (8.5, 1.0),
            (20.49, 0.0),
            (20.5, 2.0),
        ] {
            assert_eq!(resp_rate_points(rr), p, "rr {rr}");
        }
    }

    #[test]
    fn spo2_scale1_edges() {
        for (s, p) in [
            (90.0, 3.0),
            (91.0, 3.0),
            (92.0, 2.0),
            (93.0, 2.0),
            (94.0, 1.0),
            (95.0, 1.0),
            (96.0, 0.0),
            (97.0, 0.0),
        ] {
            assert_eq!(spo2_scale1_points(s), p, "spo2 {s}");
        }
    }

    #[test]
    fn spo2_scale2_edges() {
        for (s, o2, p) in [
            (82.0, false, 3.0),
            (83.0, false, 3.0),
            (84.0, false, 2.0),
            (85.0, false, 2.0),
            (86.0, false, 1.0),
            (87.0, false, 1.0),
            (88.0, false, 0.0),
            (92.0, true, 0.0),
            (93.0, false, 0.0),
            (99.0, false, 0.0),
            (93.0, true, 1.0),
            (94.0, true, 1.0),
            (95.0, true, 2.0),
            (96.0, true, 2.0),
            (97.0, true, 3.0),
            (100.0, true, 3.0),
        ] {
            assert_eq!(spo2_scale2_points(s, o2), p, "spo2 {s} o2 {o2}");
        }
    }

    #[test]
    fn sbp_edges() {
        for (s, p) in [
            (89.0, 3.0),
            (90.0, 3.0),
            (91.0, 2.0),
            (100.0, 2.0),
            (101.0, 1.0),
            (110.0, 1.0),
            (111.0, 0.0),
            (219.0, 0.0),
            (220.0, 3.0),
            (221.0, 3.0),
        ] {
            assert_eq!(sbp_points(s), p, "sbp {s}");
        }
    }

    #[test]
    fn pulse_edges() {
        for (x, p) in [
            (39.0, 3.0),
            (40.0, 3.0),
            (41.0, 1.0),
            (50.0, 1.0),
            (51.0, 0.0),
            (90.0, 0.0),
            (91.0, 1.0),
            (110.0, 1.0),
            (111.0, 2.0),
            (130.0, 2.0),
            (131.0, 3.0),
            (132.0, 3.0),
        ] {
            assert_eq!(pulse_points(x), p, "pulse {x}");
        }
    }

    #[test]
    fn temperature_edges_with_half_up_rounding() {
        for (t, p) in [
            (34.9, 3.0),
            (35.0, 3.0),
            (35.04, 3.0),
            (35.05, 1.0),
            (35.1, 1.0),
            (36.0, 1.0),
            (36.05, 0.0),
            (36.1, 0.0),
            (38.0, 0.0),
            (38.1, 1.0),
            (39.0, 1.0),
            (39.1, 2.0),
            (39.2, 2.0),
        ] {
            assert_eq!(temp_points(t), p, "temp {t}");
        }
    }

    #[test]
    fn all_normal_is_zero_low() {
        let r = news2(&normal()).unwrap();
        assert_eq!(r.total, Some(0.0));
        assert_eq!(r.band.as_deref(), Some("low"));
        assert_eq!(r.components.len(), 7);
    }

    #[test]
    fn band_precedence() {
        assert_eq!(band(4.0, false).code, "low");
        assert_eq!(band(3.0, true).code, "low-medium");
        assert_eq!(band(4.0, true).code, "low-medium");
        assert_eq!(band(5.0, true).code, "medium");
        assert_eq!(band(6.0, false).code, "medium");
        assert_eq!(band(7.0, false).code, "high");
        assert_eq!(band(20.0, true).code, "high");
    }

    #[test]
    fn single_three_gives_low_medium() {
        let r = news2(&News2Input {
            consciousness: Some(Acvpu::C),
            ..normal()
        })
        .unwrap();
        assert_eq!(r.total, Some(3.0));
        assert_eq!(r.band.as_deref(), Some("low-medium"));
    }

    #[test]
    fn oxygen_alone_is_two_and_not_a_single_three() {
        let r = news2(&News2Input {
            on_oxygen: Some(true),
            ..normal()
        })
        .unwrap();
        assert_eq!(r.total, Some(2.0));
        assert_eq!(r.band.as_deref(), Some("low"));
    }

    #[test]
    fn scale2_on_oxygen_97_gives_five_from_oxygenation() {
        // clinical-references.md §1 worked example: 3 (SpO2) + 2 (oxygen) = 5.
        let r = news2(&News2Input {
            spo2_pct: Some(97.0),
            spo2_scale: Some(Spo2Scale::Scale2),
            on_oxygen: Some(true),
            ..normal()
        })
        .unwrap();
        assert_eq!(r.total, Some(5.0));
        assert_eq!(r.band.as_deref(), Some("medium"));
    }

    #[test]
    fn scale2_on_air_97_scores_zero() {
        let r = news2(&News2Input {
            spo2_scale: Some(Spo2Scale::Scale2),
            ..normal()
        })
        .unwrap();
        assert_eq!(r.total, Some(0.0));
    }

    #[test]
    fn scale2_high_spo2_without_oxygen_flag_is_missing() {
        let r = news2(&News2Input {
            spo2_scale: Some(Spo2Scale::Scale2),
            on_oxygen: None,
            ..normal()
        })
        .unwrap();
        assert_eq!(r.total, None);
        assert_eq!(r.missing, vec!["on_oxygen".to_string()]);
    }

    #[test]
    fn missing_observation_withholds_total() {
        let r = news2(&News2Input {
            temp_c: None,
            ..normal()
        })
        .unwrap();
        assert_eq!(r.total, None);
        assert!(!r.complete);
        assert_eq!(r.partial_total, Some(0.0));
        assert_eq!(r.missing, vec!["temp_c".to_string()]);
        // temperature could still add 3 ⇒ low or low-medium: band withheld
        assert_eq!(r.band, None);
    }

    #[test]
    fn impossible_values_are_rejected_by_field() {
        let err = news2(&News2Input {
            resp_rate: Some(-1.0),
            ..normal()
        })
        .unwrap_err();
        assert!(matches!(err, ScoreError::InvalidInput { ref field, .. } if field == "resp_rate"));
        let err = news2(&News2Input {
            spo2_pct: Some(101.0),
            ..normal()
        })
        .unwrap_err();
        assert!(matches!(err, ScoreError::InvalidInput { ref field, .. } if field == "spo2_pct"));
    }

    #[test]
    fn child_is_flagged_not_applicable() {
        let r = news2(&News2Input {
            age: Some(12.0),
            ..normal()
        })
        .unwrap();
        assert!(!r.applicable);
        assert_eq!(r.total, None);
    }
}
