//! eGFR by CKD-EPI 2021 (race-free creatinine equation) and KDIGO 2012 G/A categories,
//! clinical-references.md §9. The eGFR is kept unrounded in `total`; the G category is
//! assigned from the displayed whole number.

use serde::{Deserialize, Serialize};

use crate::Sex;
use crate::error::ScoreError;
use crate::input::{Fields, parse_sex};
use crate::result::{Band, Component, Reference, ScoreResult};
use crate::rounding::round_integer;
use crate::units::{Acr, Creatinine};
use crate::validate;

pub const NAME: &str = "ckd_epi_2021";
pub const KDIGO_NAME: &str = "kdigo_ckd";
const UNIT: &str = "mL/min/1.73m²";

/// Inputs for CKD-EPI 2021; `acr` optionally adds the albuminuria category.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CkdEpiInput {
    pub age: Option<f64>,
    pub sex: Option<Sex>,
    pub creatinine: Option<Creatinine>,
    pub acr: Option<Acr>,
}

/// Inputs for KDIGO staging of an already computed eGFR.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KdigoInput {
    pub egfr: Option<f64>,
    pub acr: Option<Acr>,
}

pub(crate) fn reference() -> Reference {
    Reference {
        citation: "Inker LA, Eneanya ND, Coresh J, et al. New creatinine- and cystatin C-based \
                   equations to estimate GFR without race. N Engl J Med 2021;385:1737–1749. \
                   KDIGO 2012 Clinical Practice Guideline for the Evaluation and Management of \
                   CKD. Kidney Int Suppl 2013;3:1–150."
            .into(),
        rule_set: "CKD-EPI 2021 creatinine equation (no race term); KDIGO G1–G5, A1–A3".into(),
    }
}

/// κ, α and the sex factor of CKD-EPI 2021.
fn sex_constants(sex: Sex) -> (f64, f64, f64) {
    match sex {
        Sex::Female => (0.7, -0.241, 1.012),
        Sex::Male => (0.9, -0.302, 1.0),
    }
}

/// The creatinine term min(Scr/κ,1)^α × max(Scr/κ,1)^−1.200.
pub fn creatinine_factor(sex: Sex, creatinine_mg_dl: f64) -> f64 {
    let (kappa, alpha, _) = sex_constants(sex);
    let ratio = creatinine_mg_dl / kappa;
    ratio.min(1.0).powf(alpha) * ratio.max(1.0).powf(-1.200)
}

/// eGFR (mL/min/1.73 m²) = 142 × min(Scr/κ,1)^α × max(Scr/κ,1)^−1.200 × 0.9938^age × 1.012 [female].
pub fn ckd_epi_2021(age: f64, sex: Sex, creatinine_mg_dl: f64) -> f64 {
    let (_, _, sex_factor) = sex_constants(sex);
    142.0 * creatinine_factor(sex, creatinine_mg_dl) * 0.9938f64.powf(age) * sex_factor
}

/// KDIGO GFR category from an eGFR (rounded to a whole number first).
pub fn g_category(egfr: f64) -> Band {
    match round_integer(egfr) {
        g if g >= 90.0 => Band::new(
            "g1",
            "G1: normal or high GFR (≥90); CKD only with a marker of kidney damage",
        ),
        g if g >= 60.0 => Band::new(
            "g2",
            "G2: mildly decreased GFR (60–89); CKD only with a marker of kidney damage",
        ),
        g if g >= 45.0 => Band::new("g3a", "G3a: mildly to moderately decreased GFR (45–59)"),
        g if g >= 30.0 => Band::new("g3b", "G3b: moderately to severely decreased GFR (30–44)"),
        g if g >= 15.0 => Band::new("g4", "G4: severely decreased GFR (15–29)"),
        _ => Band::new("g5", "G5: kidney failure (GFR <15)"),
    }
}

/// KDIGO albuminuria category, using the edges printed for the unit supplied.
pub fn a_category(acr: Acr) -> Band {
    let (value, a2_from, a3_above) = match acr {
        Acr::MgG(v) => (v, 30.0, 300.0),
        Acr::MgMmol(v) => (v, 3.0, 30.0),
    };
    if value > a3_above {
        Band::new("a3", "A3: severely increased albuminuria")
    } else if value >= a2_from {
        Band::new("a2", "A2: moderately increased albuminuria")
    } else {
        Band::new("a1", "A1: normal to mildly increased albuminuria")
    }
}

fn acr_component(acr: Option<Acr>) -> Option<Component> {
    acr.map(|a| {
        let cat = a_category(a);
        let shown = match a {
            Acr::MgG(v) => format!("ACR {v} mg/g"),
            Acr::MgMmol(v) => format!("ACR {v} mg/mmol"),
        };
        let mut c = Component::scored(
            "albuminuria_category",
            &[a.field()],
            shown,
            0.0,
            0.0,
            cat.meaning,
        );
        c.points = None;
        c.value = c
            .value
            .map(|v| format!("{v} → {}", cat.code.to_uppercase()));
        c
    })
}

const CAVEATS: [&str; 3] = [
    "a single eGFR gives a category, not a diagnosis: CKD needs abnormality for >3 months",
    "unreliable in acute kidney injury and at extremes of muscle mass (frail elderly, amputation)",
    "creatinine must be IDMS-standardised",
];

/// Computes eGFR (CKD-EPI 2021) and its KDIGO category.
pub fn ckd_epi(input: &CkdEpiInput) -> Result<ScoreResult, ScoreError> {
    let age = validate::check(
        "age",
        input.age.ok_or_else(|| ScoreError::missing("age"))?,
        validate::AGE_YEARS,
    )?;
    let sex = input.sex.ok_or_else(|| ScoreError::missing("sex"))?;
    let creatinine = input
        .creatinine
        .ok_or_else(|| ScoreError::missing("creatinine_umol_l"))?
        .validated()?;
    let acr = input.acr.map(Acr::validated).transpose()?;
    let scr = creatinine.mg_dl();
    let egfr = ckd_epi_2021(age, sex, scr);
    let g = g_category(egfr);
    // Components are the multiplicative factors: eGFR = 142 × product of their points.
    let mut components = vec![
        Component::scored(
            "creatinine",
            &[creatinine.field()],
            format!("{scr:.3} mg/dL ({:.0} µmol/L)", creatinine.umol_l()),
            creatinine_factor(sex, scr),
            0.0,
            "factor min(Scr/κ,1)^α × max(Scr/κ,1)^−1.200; eGFR = 142 × product of factors",
        ),
        Component::scored(
            "age",
            &["age"],
            format!("{age} years"),
            0.9938f64.powf(age),
            0.0,
            "factor 0.9938^age",
        ),
        Component::scored(
            "sex",
            &["sex"],
            format!("{sex:?}").to_lowercase(),
            sex_constants(sex).2,
            0.0,
            match sex {
                Sex::Female => "κ 0.7, α −0.241, factor 1.012",
                Sex::Male => "κ 0.9, α −0.302, factor 1",
            },
        ),
    ];
    components.extend(acr_component(acr));
    let band = match acr {
        Some(a) => Band::new(
            &format!("{}-{}", g.code, a_category(a).code),
            &format!("{}; {}", g.meaning, a_category(a).meaning),
        ),
        None => g,
    };
    let mut result =
        ScoreResult::continuous(NAME, Some(egfr), Some(band), UNIT, components, reference())
            .with_note(format!("displayed eGFR {} {UNIT}", round_integer(egfr)))
            .with_notes(CAVEATS.iter().map(|s| (*s).to_owned()));
    if let Creatinine::UmolL(_) = creatinine {
        result = result.with_note("creatinine supplied in µmol/L, converted ÷88.4 to mg/dL");
    }
    if age < 18.0 {
        result = result.not_applicable(format!("CKD-EPI 2021 is for adults ≥18; age {age}"));
    }
    Ok(result)
}

/// Stages an eGFR (and ACR if given) by KDIGO 2012.
pub fn kdigo(input: &KdigoInput) -> Result<ScoreResult, ScoreError> {
    let egfr = validate::check(
        "egfr",
        input.egfr.ok_or_else(|| ScoreError::missing("egfr"))?,
        validate::EGFR,
    )?;
    let acr = input.acr.map(Acr::validated).transpose()?;
    let g = g_category(egfr);
    let mut components = vec![{
        let mut c = Component::scored(
            "gfr_category",
            &["egfr"],
            format!("{egfr} → {}", g.code.to_uppercase()),
            0.0,
            0.0,
            g.meaning.clone(),
        );
        c.points = None;
        c
    }];
    let band = match acr {
        Some(a) => {
            components.extend(acr_component(Some(a)));
            let ac = a_category(a);
            Band::new(
                &format!("{}-{}", g.code, ac.code),
                &format!("{}; {}", g.meaning, ac.meaning),
            )
        }
        None => {
            components.push(Component::unscored(
                "albuminuria_category",
                &["acr_mg_g", "acr_mg_mmol"],
                &["acr_mg_g"],
                0.0,
            ));
            g
        }
    };
    let mut result =
        ScoreResult::computed(KDIGO_NAME, Some(egfr), Some(band), components, reference());
    result.complete = acr.is_some();
    result.unit = Some(UNIT.to_owned());
    Ok(result.with_notes(CAVEATS.iter().take(1).map(|s| (*s).to_owned())))
}

pub(crate) fn from_json(f: &mut Fields<'_>) -> Result<CkdEpiInput, ScoreError> {
    Ok(CkdEpiInput {
        age: f.number(&["age"])?,
        sex: f.text(&["sex"])?.map(|s| parse_sex("sex", s)).transpose()?,
        creatinine: crate::lab_fields::creatinine(f)?,
        acr: crate::lab_fields::acr(f)?,
    })
}

pub(crate) fn kdigo_from_json(f: &mut Fields<'_>) -> Result<KdigoInput, ScoreError> {
    Ok(KdigoInput {
        egfr: f.number(&["egfr"])?,
        acr: crate::lab_fields::acr(f)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn egfr(age: f64, sex: Sex, scr: f64) -> f64 {
        ckd_epi_2021(age, sex, scr)
    }

    #[test]
    fn equation_reference_values() {
        // Hand-evaluated from the published equation (NKF page):
        // female 50 y, Scr 0.7 (=κ): 142 × 0.9938^50 × 1.012
        let expected = 142.0 * 0.9938f64.powf(50.0) * 1.012;
        assert!((egfr(50.0, Sex::Female, 0.7) - expected).abs() < 1e-9);
        // Independently evaluated (Python, same published equation), to 0.01:
        // male 60 y Scr 1.0 → 86.16 (NKF calculator shows 86); female 40 y Scr 0.5 (< κ,
        // α branch) → 121.52; female 80 y 150 µmol/L → 30.20 (G3b); male 45 y Scr 0.6 → 121.32.
        for (age, sex, scr, expected) in [
            (60.0, Sex::Male, 1.0, 86.16),
            (40.0, Sex::Female, 0.5, 121.52),
            (80.0, Sex::Female, 150.0 / 88.4, 30.20),
            (45.0, Sex::Male, 0.6, 121.32),
        ] {
            assert!(
                (egfr(age, sex, scr) - expected).abs() < 0.01,
                "{age} {sex:?} {scr}"
            );
        }
    }

    #[test]
    fn components_multiply_to_egfr() {
        let r = ckd_epi(&CkdEpiInput {
            age: Some(63.0),
            sex: Some(Sex::Male),
            creatinine: Some(Creatinine::UmolL(130.0)),
            acr: None,
        })
        .unwrap();
        let product: f64 = r.components.iter().filter_map(|c| c.points).product();
        assert!((142.0 * product - r.total.unwrap()).abs() < 1e-9);
    }

    #[test]
    fn umol_and_mg_dl_agree() {
        let a = ckd_epi(&CkdEpiInput {
            age: Some(70.0),
            sex: Some(Sex::Female),
            creatinine: Some(Creatinine::UmolL(88.4)),
            acr: None,
        })
        .unwrap();
        let b = ckd_epi(&CkdEpiInput {
            age: Some(70.0),
            sex: Some(Sex::Female),
            creatinine: Some(Creatinine::MgDl(1.0)),
            acr: None,
        })
        .unwrap();
        assert!((a.total.unwrap() - b.total.unwrap()).abs() < 1e-9);
    }

    #[test]
    fn g_category_edges_on_displayed_value() {
        for (e, g) in [
            (90.0, "g1"),
            (89.5, "g1"),
            (89.4, "g2"),
            (60.0, "g2"),
            (59.4, "g3a"),
            (59.5, "g2"),
            (45.0, "g3a"),
            (44.0, "g3b"),
            (30.0, "g3b"),
            (29.0, "g4"),
            (15.0, "g4"),
            (14.5, "g4"),
            (14.4, "g5"),
            (5.0, "g5"),
        ] {
            assert_eq!(g_category(e).code, g, "eGFR {e}");
        }
    }

    #[test]
    fn a_category_edges_both_units() {
        for (v, a) in [(29.9, "a1"), (30.0, "a2"), (300.0, "a2"), (300.1, "a3")] {
            assert_eq!(a_category(Acr::MgG(v)).code, a, "{v} mg/g");
        }
        for (v, a) in [(2.9, "a1"), (3.0, "a2"), (30.0, "a2"), (30.1, "a3")] {
            assert_eq!(a_category(Acr::MgMmol(v)).code, a, "{v} mg/mmol");
        }
    }

    #[test]
    fn missing_required_field_is_an_error() {
        let err = ckd_epi(&CkdEpiInput {
            age: Some(50.0),
            sex: None,
            creatinine: Some(Creatinine::MgDl(1.0)),
            acr: None,
        })
        .unwrap_err();
        assert_eq!(
            err,
            ScoreError::MissingField {
                field: "sex".into()
            }
        );
    }

    #[test]
    fn child_not_applicable() {
        let r = ckd_epi(&CkdEpiInput {
            age: Some(12.0),
            sex: Some(Sex::Male),
            creatinine: Some(Creatinine::MgDl(0.6)),
            acr: None,
        })
        .unwrap();
        assert!(!r.applicable);
        assert_eq!(r.total, None);
    }

    #[test]
    fn kdigo_combined_band_and_missing_acr() {
        let r = kdigo(&KdigoInput {
            egfr: Some(52.0),
            acr: Some(Acr::MgMmol(12.0)),
        })
        .unwrap();
        assert_eq!(r.band.as_deref(), Some("g3a-a2"));
        assert!(r.complete);
        let r = kdigo(&KdigoInput {
            egfr: Some(52.0),
            acr: None,
        })
        .unwrap();
        assert_eq!(r.band.as_deref(), Some("g3a"));
        assert!(!r.complete);
        assert_eq!(r.missing, vec!["acr_mg_g".to_string()]);
    }
}
