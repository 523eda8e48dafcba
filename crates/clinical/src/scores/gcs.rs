//! Glasgow Coma Scale (Teasdale & Jennett 1974), clinical-references.md §8b. A component
//! that cannot be tested is recorded as NT: never replaced by 1, and the sum is then not
//! computable.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ScoreError;
use crate::input::{Fields, Names};
use crate::result::{Band, Component, Reference, ScoreResult};

pub const NAME: &str = "gcs";

/// One GCS item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GcsItem {
    Score(u8),
    /// Not testable (e.g. intubated for verbal, eyes closed by swelling).
    NotTestable,
}

/// Eye, verbal and motor responses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GcsInput {
    pub eye: Option<GcsItem>,
    pub verbal: Option<GcsItem>,
    pub motor: Option<GcsItem>,
}

pub(crate) fn reference() -> Reference {
    Reference {
        citation: "Teasdale G, Jennett B. Assessment of coma and impaired consciousness: a \
                   practical scale. Lancet 1974;2:81–84 (structured descriptors per Teasdale \
                   et al. 2014)."
            .into(),
        rule_set: "GCS E1–4, V1–5, M1–6; bands 13–15 mild, 9–12 moderate, 3–8 severe (head-injury convention)".into(),
    }
}

/// Head-injury severity band of a GCS total.
pub fn band(total: f64) -> Band {
    if total >= 13.0 {
        Band::new("mild", "GCS 13–15: mild impairment")
    } else if total >= 9.0 {
        Band::new("moderate", "GCS 9–12: moderate impairment")
    } else {
        Band::new(
            "severe",
            "GCS 3–8: severe impairment (coma); consider airway protection",
        )
    }
}

const EYE: (&str, &str, u8, [&str; 6]) = (
    "eye",
    "E",
    4,
    ["none", "to pressure", "to sound", "spontaneous", "", ""],
);
const VERBAL: (&str, &str, u8, [&str; 6]) = (
    "verbal",
    "V",
    5,
    ["none", "sounds", "words", "confused", "oriented", ""],
);
const MOTOR: (&str, &str, u8, [&str; 6]) = (
    "motor",
    "M",
    6,
    [
        "none",
        "extension",
        "abnormal flexion",
        "normal flexion",
        "localising",
        "obeys commands",
    ],
);

fn item(
    spec: (&str, &str, u8, [&str; 6]),
    value: Option<GcsItem>,
) -> Result<(Component, String), ScoreError> {
    let (name, letter, max, words) = spec;
    match value {
        None => Ok((
            Component::unscored(name, &[name], &[name], f64::from(max)),
            format!("{letter}?"),
        )),
        Some(GcsItem::NotTestable) => {
            let mut c = Component::unscored(name, &[name], &[], f64::from(max));
            c.value = Some("NT".into());
            c.detail = "not testable: the sum is not computable".into();
            Ok((c, format!("{letter}NT")))
        }
        Some(GcsItem::Score(s)) if (1..=max).contains(&s) => {
            let word = words.get(usize::from(s - 1)).copied().unwrap_or_default();
            Ok((
                Component::scored(
                    name,
                    &[name],
                    format!("{letter}{s}"),
                    f64::from(s),
                    f64::from(max),
                    word,
                ),
                format!("{letter}{s}"),
            ))
        }
        Some(GcsItem::Score(s)) => {
            Err(ScoreError::invalid(name, format!("{s} is outside 1–{max}")))
        }
    }
}

/// Computes the GCS total and its E/V/M profile.
pub fn gcs(input: &GcsInput) -> Result<ScoreResult, ScoreError> {
    let (e, pe) = item(EYE, input.eye)?;
    let (v, pv) = item(VERBAL, input.verbal)?;
    let (m, pm) = item(MOTOR, input.motor)?;
    let components = vec![e, v, m];
    let total: Option<f64> = components.iter().map(|c| c.points).sum();
    let profile = format!("{pe}{pv}{pm}");
    let mut result = ScoreResult::computed(NAME, total, total.map(band), components, reference());
    result = match total {
        Some(t) => result.with_note(format!("{profile} = {t}")),
        None => result.with_note(format!("{profile}: sum not computable")),
    };
    Ok(result)
}

fn read_item(f: &mut Fields<'_>, names: Names<'_>) -> Result<Option<GcsItem>, ScoreError> {
    let field = names.first().copied().unwrap_or_default();
    match f.raw(names)? {
        None => Ok(None),
        Some(Value::String(s))
            if s.trim().eq_ignore_ascii_case("nt") || s.trim().eq_ignore_ascii_case("t") =>
        {
            Ok(Some(GcsItem::NotTestable))
        }
        Some(Value::Number(n)) => match n
            .as_f64()
            .filter(|v| v.fract() == 0.0 && (0.0..=255.0).contains(v))
        {
            // whole numbers written as 3 or 3.0 are both accepted
            Some(v) => Ok(Some(GcsItem::Score(v as u8))),
            None => Err(ScoreError::invalid(
                field,
                format!("{n} is not a whole GCS score"),
            )),
        },
        Some(_) => Err(ScoreError::WrongType {
            field: field.to_owned(),
            expected: "a whole number or \"NT\"".into(),
        }),
    }
}

pub(crate) fn from_json(f: &mut Fields<'_>) -> Result<GcsInput, ScoreError> {
    Ok(GcsInput {
        eye: read_item(f, &["eye", "e"])?,
        verbal: read_item(f, &["verbal", "v"])?,
        motor: read_item(f, &["motor", "m"])?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use GcsItem::*;

    fn input(e: GcsItem, v: GcsItem, m: GcsItem) -> GcsInput {
        GcsInput {
            eye: Some(e),
            verbal: Some(v),
            motor: Some(m),
        }
    }

    #[test]
    fn e3v4m5_is_12_moderate() {
        // worked example of clinical-references.md §8b
        let r = gcs(&input(Score(3), Score(4), Score(5))).unwrap();
        assert_eq!(r.total, Some(12.0));
        assert_eq!(r.band.as_deref(), Some("moderate"));
        assert!(r.notes.iter().any(|n| n == "E3V4M5 = 12"));
    }

    #[test]
    fn band_edges() {
        for (t, b) in [
            (15.0, "mild"),
            (13.0, "mild"),
            (12.0, "moderate"),
            (9.0, "moderate"),
            (8.0, "severe"),
            (3.0, "severe"),
        ] {
            assert_eq!(band(t).code, b, "gcs {t}");
        }
    }

    #[test]
    fn extremes() {
        assert_eq!(
            gcs(&input(Score(4), Score(5), Score(6))).unwrap().total,
            Some(15.0)
        );
        assert_eq!(
            gcs(&input(Score(1), Score(1), Score(1))).unwrap().total,
            Some(3.0)
        );
    }

    #[test]
    fn not_testable_verbal_makes_sum_not_computable() {
        let r = gcs(&input(Score(3), NotTestable, Score(5))).unwrap();
        assert_eq!(r.total, None);
        assert_eq!(r.band, None);
        assert!(r.missing.is_empty());
        assert!(r.notes.iter().any(|n| n.starts_with("E3VNTM5")));
    }

    #[test]
    fn out_of_range_item_rejected() {
        let err = gcs(&input(Score(5), Score(5), Score(6))).unwrap_err();
        assert!(matches!(err, ScoreError::InvalidInput { ref field, .. } if field == "eye"));
        let err = gcs(&input(Score(4), Score(0), Score(6))).unwrap_err();
        assert!(matches!(err, ScoreError::InvalidInput { ref field, .. } if field == "verbal"));
        let err = gcs(&input(Score(4), Score(5), Score(7))).unwrap_err();
        assert!(matches!(err, ScoreError::InvalidInput { ref field, .. } if field == "motor"));
    }

    #[test]
    fn json_items_accept_whole_floats_and_nt_but_not_fractions() {
        let read = |v: serde_json::Value| {
            let mut f = Fields::new(&v).unwrap();
            from_json(&mut f)
        };
        let input = read(serde_json::json!({"eye": 3.0, "verbal": "NT", "motor": 5})).unwrap();
        assert_eq!(input.eye, Some(Score(3)));
        assert_eq!(input.verbal, Some(NotTestable));
        assert!(
            matches!(read(serde_json::json!({"eye": 2.5})), Err(ScoreError::InvalidInput { ref field, .. }) if field == "eye")
        );
        assert!(
            matches!(read(serde_json::json!({"motor": true})), Err(ScoreError::WrongType { ref field, .. }) if field == "motor")
        );
    }

    #[test]
    fn missing_item_listed() {
        let r = gcs(&GcsInput {
            eye: Some(Score(4)),
            verbal: None,
            motor: Some(Score(6)),
        })
        .unwrap();
        assert_eq!(r.total, None);
        assert_eq!(r.missing, vec!["verbal".to_string()]);
    }
}
