//! Timestamped observations of one patient (from devices, nurses' charts or NLP of
//! notes) and their normalisation to the vital signs the early-warning scores use.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::ScoreError;
use crate::scores::news2::Acvpu;
use crate::units::{Unit, convert};
use crate::validate::{self, Limits};

/// A recorded value: a number, a yes/no flag, or a text (e.g. ACVPU "C", BP "88/52").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ObservedValue {
    Number(f64),
    Flag(bool),
    Text(String),
}

/// One observation. `code` is a LOINC code, a snake_case name (`resp_rate`) or a
/// Chinese chart label (`呼吸`); `unit` may be UCUM, English or Chinese.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub code: String,
    pub value: ObservedValue,
    #[serde(default)]
    pub unit: String,
    pub time: DateTime<Utc>,
}

/// The vital signs the early-warning rules read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Vital {
    RespRate,
    Spo2,
    OnOxygen,
    SystolicBp,
    HeartRate,
    Consciousness,
    Temperature,
    Gcs,
    Wbc,
    Paco2,
    BandsPct,
}

/// What a code stands for: one vital, or a combined blood pressure "SBP/DBP".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coded {
    Vital(Vital),
    BloodPressure,
}

/// Recognises an observation code; `None` for codes the rules do not use.
pub(crate) fn recognise(code: &str) -> Option<Coded> {
    use Vital::*;
    let vital = match code.trim().to_lowercase().as_str() {
        "resp_rate" | "respiratory_rate" | "rr" | "9279-1" | "呼吸" | "呼吸频率" => RespRate,
        "spo2" | "spo2_pct" | "59408-5" | "2708-6" | "血氧饱和度" | "氧饱和度" | "血氧" => {
            Spo2
        }
        "on_oxygen" | "supplemental_oxygen" | "吸氧" => OnOxygen,
        "sbp" | "sbp_mmhg" | "systolic_bp" | "8480-6" | "收缩压" => SystolicBp,
        "heart_rate" | "pulse" | "pulse_bpm" | "hr" | "8867-4" | "心率" | "脉搏" => HeartRate,
        "consciousness" | "acvpu" | "80288-4" | "意识" | "神志" => Consciousness,
        "temp_c" | "temperature" | "8310-5" | "体温" => Temperature,
        "gcs" | "9269-2" | "格拉斯哥昏迷评分" => Gcs,
        "wbc" | "wbc_10e9_l" | "6690-2" | "26464-8" | "白细胞" | "白细胞计数" => Wbc,
        "paco2" | "paco2_mmhg" | "2019-8" | "二氧化碳分压" => Paco2,
        "bands_pct" | "764-1" | "杆状核粒细胞" => BandsPct,
        "blood_pressure" | "bp" | "85354-9" | "血压" => return Some(Coded::BloodPressure),
        _ => return None,
    };
    Some(Coded::Vital(vital))
}

/// A normalised reading of one vital.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Reading {
    Number(f64),
    Flag(bool),
    Level(Acvpu),
}

/// Canonical unit and plausibility limits of a numeric vital.
fn numeric_spec(vital: Vital) -> Option<(Unit, Limits)> {
    use Vital::*;
    Some(match vital {
        RespRate => (Unit::PerMinute, validate::RESP_RATE),
        Spo2 => (Unit::Percent, validate::SPO2_PCT),
        SystolicBp => (Unit::MmHg, validate::SBP_MMHG),
        HeartRate => (Unit::PerMinute, validate::PULSE_BPM),
        Temperature => (Unit::Celsius, validate::TEMP_C),
        Gcs => (Unit::Dimensionless, validate::GCS_TOTAL),
        Wbc => (Unit::TenE9PerL, validate::WBC_10E9_L),
        Paco2 => (Unit::MmHg, validate::PACO2_MMHG),
        BandsPct => (Unit::Percent, validate::PERCENT),
        OnOxygen | Consciousness => return None,
    })
}

fn field(vital: Vital) -> &'static str {
    use Vital::*;
    match vital {
        RespRate => "resp_rate",
        Spo2 => "spo2_pct",
        OnOxygen => "on_oxygen",
        SystolicBp => "sbp_mmhg",
        HeartRate => "pulse_bpm",
        Consciousness => "consciousness",
        Temperature => "temp_c",
        Gcs => "gcs",
        Wbc => "wbc_10e9_l",
        Paco2 => "paco2_mmhg",
        BandsPct => "bands_pct",
    }
}

/// Converts a number in `unit` (empty = canonical) to the vital's unit and checks it.
fn number(vital: Vital, value: f64, unit: &str) -> Result<Reading, ScoreError> {
    let name = field(vital);
    let Some((canonical, limits)) = numeric_spec(vital) else {
        return Err(ScoreError::WrongType {
            field: name.into(),
            expected: "a flag or a level, not a number".into(),
        });
    };
    let from = if unit.trim().is_empty() {
        canonical
    } else {
        Unit::parse(unit)
            .ok_or_else(|| ScoreError::invalid(name, format!("unknown unit `{unit}`")))?
    };
    let converted = convert(value, from, canonical).ok_or_else(|| {
        ScoreError::invalid(name, format!("unit `{unit}` does not fit this observation"))
    })?;
    let checked = validate::check(name, converted, limits)?;
    if vital == Vital::Gcs {
        validate::check_integer(name, checked, limits)?;
    }
    Ok(Reading::Number(checked))
}

/// Maps ACVPU letters and Chinese chart wording to ACVPU.
///
/// 清醒/清楚 → A; 模糊/谵妄/新发意识混乱 → C (new confusion); 嗜睡 → V; 昏睡 → P; 昏迷 → U.
pub fn parse_consciousness(text: &str) -> Option<Acvpu> {
    if let Some(level) = Acvpu::parse(text) {
        return Some(level);
    }
    let t = text.trim();
    if t.contains("昏迷") {
        Some(Acvpu::U)
    } else if t.contains("昏睡") {
        Some(Acvpu::P)
    } else if t.contains("嗜睡") {
        Some(Acvpu::V)
    } else if t.contains("模糊") || t.contains("谵妄") || t.contains("混乱") {
        Some(Acvpu::C)
    } else if t.contains("清醒") || t.contains("清楚") || t.contains("清晰") {
        Some(Acvpu::A)
    } else {
        None
    }
}

/// Normalises one observation of a known vital.
pub(crate) fn read(vital: Vital, obs: &Observation) -> Result<Reading, ScoreError> {
    let name = field(vital);
    match (&obs.value, vital) {
        (ObservedValue::Flag(b), Vital::OnOxygen) => Ok(Reading::Flag(*b)),
        (ObservedValue::Text(t), Vital::Consciousness) => {
            parse_consciousness(t).map(Reading::Level).ok_or_else(|| {
                ScoreError::invalid(
                    name,
                    format!("`{t}` is not a consciousness level (A, C, V, P, U)"),
                )
            })
        }
        (ObservedValue::Number(v), _) => number(vital, *v, &obs.unit),
        _ => Err(ScoreError::WrongType {
            field: name.into(),
            expected: match vital {
                Vital::OnOxygen => "true or false".into(),
                Vital::Consciousness => "a level A, C, V, P or U".into(),
                _ => "a number".into(),
            },
        }),
    }
}

/// Splits "88/52" into systolic and diastolic numbers.
pub(crate) fn split_blood_pressure(obs: &Observation) -> Result<f64, ScoreError> {
    let ObservedValue::Text(text) = &obs.value else {
        return Err(ScoreError::WrongType {
            field: "blood_pressure".into(),
            expected: "text \"SBP/DBP\"".into(),
        });
    };
    let systolic = text
        .split('/')
        .next()
        .map(str::trim)
        .and_then(|s| s.parse::<f64>().ok())
        .ok_or_else(|| {
            ScoreError::invalid("blood_pressure", format!("`{text}` is not \"SBP/DBP\""))
        })?;
    match number(Vital::SystolicBp, systolic, &obs.unit)? {
        Reading::Number(v) => Ok(v),
        _ => Err(ScoreError::invalid("blood_pressure", "not a number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn obs(code: &str, value: ObservedValue, unit: &str) -> Observation {
        Observation {
            code: code.into(),
            value,
            unit: unit.into(),
            time: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        }
    }

    #[test]
    fn codes_in_three_vocabularies() {
        assert_eq!(recognise("8867-4"), Some(Coded::Vital(Vital::HeartRate)));
        assert_eq!(recognise("心率"), Some(Coded::Vital(Vital::HeartRate)));
        assert_eq!(
            recognise("heart_rate"),
            Some(Coded::Vital(Vital::HeartRate))
        );
        assert_eq!(recognise("血压"), Some(Coded::BloodPressure));
        assert_eq!(recognise("血糖"), None);
    }

    #[test]
    fn fahrenheit_converted_and_kpa_converted() {
        let r = read(
            Vital::Temperature,
            &obs("体温", ObservedValue::Number(102.0), "°F"),
        )
        .unwrap();
        assert!(matches!(r, Reading::Number(t) if (t - 38.888_888).abs() < 1e-3));
        let r = read(
            Vital::Paco2,
            &obs("paco2", ObservedValue::Number(4.0), "kPa"),
        )
        .unwrap();
        assert!(matches!(r, Reading::Number(p) if (p - 30.002_48).abs() < 1e-3));
    }

    #[test]
    fn absurd_and_mismatched_values_rejected_by_field() {
        let err = read(
            Vital::HeartRate,
            &obs("心率", ObservedValue::Number(900.0), "次/分"),
        )
        .unwrap_err();
        assert!(matches!(err, ScoreError::InvalidInput { ref field, .. } if field == "pulse_bpm"));
        let err = read(
            Vital::Temperature,
            &obs("体温", ObservedValue::Number(38.0), "mmHg"),
        )
        .unwrap_err();
        assert!(matches!(err, ScoreError::InvalidInput { ref field, .. } if field == "temp_c"));
        let err = read(
            Vital::RespRate,
            &obs("呼吸", ObservedValue::Text("26".into()), ""),
        )
        .unwrap_err();
        assert!(matches!(err, ScoreError::WrongType { ref field, .. } if field == "resp_rate"));
    }

    #[test]
    fn chinese_consciousness_wording() {
        assert_eq!(parse_consciousness("神志模糊"), Some(Acvpu::C));
        assert_eq!(parse_consciousness("神志清楚"), Some(Acvpu::A));
        assert_eq!(parse_consciousness("嗜睡"), Some(Acvpu::V));
        assert_eq!(parse_consciousness("昏睡"), Some(Acvpu::P));
        assert_eq!(parse_consciousness("浅昏迷"), Some(Acvpu::U));
        assert_eq!(parse_consciousness("P"), Some(Acvpu::P));
        assert_eq!(parse_consciousness("???"), None);
    }

    #[test]
    fn blood_pressure_text_split() {
        assert_eq!(
            split_blood_pressure(&obs("血压", ObservedValue::Text("88/52".into()), "mmHg"))
                .unwrap(),
            88.0
        );
        assert!(
            split_blood_pressure(&obs("血压", ObservedValue::Text("high".into()), "mmHg")).is_err()
        );
    }
}
