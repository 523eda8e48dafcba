//! Worked examples of clinical-references.md and the brief, through the JSON entry point
//! that the HTTP API and CLI use.

// Test helpers outside #[test] fns may unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use meditrustal_clinical::{ScoreError, score};
use serde_json::json;

fn num(v: Option<f64>) -> f64 {
    v.expect("a number")
}

/// "体温38.9℃，心率118次/分，呼吸26次/分，血压88/52mmHg，神志模糊"
#[test]
fn septic_presentation_news2_is_high_even_without_spo2() {
    let r = score(
        "news2",
        &json!({"temp_c": 38.9, "pulse_bpm": 118, "resp_rate": 26, "sbp_mmhg": 88, "consciousness": "C"}),
    )
    .unwrap();
    // RR 26 → 3, SBP 88 → 3, pulse 118 → 2, new confusion → 3, temp 38.9 → 1 = 12
    assert_eq!(r.partial_total, Some(12.0));
    assert_eq!(r.total, None, "SpO2 and air/oxygen were not recorded");
    assert_eq!(
        r.missing,
        vec!["spo2_pct".to_string(), "on_oxygen".to_string()]
    );
    let range = r.possible_range.unwrap();
    assert_eq!((range.min, range.max), (12.0, 17.0));
    assert_eq!(r.band.as_deref(), Some("high"));
    let points: Vec<Option<f64>> = r.components.iter().map(|c| c.points).collect();
    assert_eq!(
        points,
        vec![
            Some(3.0),
            None,
            None,
            Some(3.0),
            Some(2.0),
            Some(3.0),
            Some(1.0)
        ]
    );
}

#[test]
fn septic_presentation_with_spo2_96_on_air_is_exactly_12() {
    let r = score(
        "news2",
        &json!({"temp_c": 38.9, "pulse_bpm": 118, "resp_rate": 26, "sbp_mmhg": 88, "consciousness": "C",
                "spo2_pct": 96, "on_oxygen": false, "spo2_scale": 1}),
    )
    .unwrap();
    assert_eq!(r.total, Some(12.0));
    assert_eq!(r.band.as_deref(), Some("high"));
}

#[test]
fn septic_presentation_qsofa_is_3() {
    let r = score(
        "qsofa",
        &json!({"resp_rate": 26, "sbp_mmhg": 88, "altered_mentation": true}),
    )
    .unwrap();
    assert_eq!(r.total, Some(3.0));
    assert_eq!(r.band.as_deref(), Some("positive"));
    // with GCS 14 (confused) instead of the flag
    let r = score(
        "qsofa",
        &json!({"resp_rate": 26, "sbp_mmhg": 88, "gcs": 14}),
    )
    .unwrap();
    assert_eq!(r.total, Some(3.0));
    assert!(r.total.unwrap() >= 2.0);
}

#[test]
fn septic_presentation_sirs_three_of_four_known() {
    let r = score(
        "sirs",
        &json!({"temp_c": 38.9, "heart_rate": 118, "resp_rate": 26}),
    )
    .unwrap();
    assert_eq!(r.partial_total, Some(3.0));
    assert_eq!(r.band.as_deref(), Some("positive"));
    assert_eq!(
        r.missing,
        vec!["wbc_10e9_l".to_string(), "bands_pct".to_string()]
    );
}

#[test]
fn news2_scale2_oxygen_97_example() {
    let r = score(
        "news2",
        &json!({"resp_rate": 16, "spo2_pct": 97, "spo2_scale": 2, "on_oxygen": true, "sbp_mmhg": 120,
                "pulse_bpm": 70, "consciousness": "A", "temp_c": 37.0}),
    )
    .unwrap();
    assert_eq!(r.total, Some(5.0));
}

#[test]
fn framingham_cvrisk_vector() {
    let r = score(
        "framingham_2008_cvd",
        &json!({"age": 55, "sex": "male", "tc_mg_dl": 213, "hdl_mg_dl": 50, "sbp_mmhg": 140,
                "bp_treated": false, "smoker": false, "diabetes": false}),
    )
    .unwrap();
    assert!((num(r.total) - 13.53).abs() < 0.005);
}

#[test]
fn gcs_profile_example() {
    let r = score("gcs", &json!({"eye": 3, "verbal": 4, "motor": 5})).unwrap();
    assert_eq!(r.total, Some(12.0));
    let r = score("gcs", &json!({"eye": 3, "verbal": "NT", "motor": 5})).unwrap();
    assert_eq!(r.total, None);
}

#[test]
fn sirs_one_criterion_for_rr_and_paco2() {
    let r = score("sirs", &json!({"temp_c": 37, "heart_rate": 80, "resp_rate": 28, "paco2_mmhg": 30, "wbc_10e9_l": 8})).unwrap();
    assert_eq!(r.total, Some(1.0));
}

#[test]
fn sofa_in_chinese_units() {
    let r = score(
        "sofa",
        &json!({"pao2_fio2_mmhg": 250, "resp_support": false, "platelets_10e3_ul": 120,
                "bilirubin_umol_l": 40, "map_mmhg": 65, "gcs": 15, "creatinine_umol_l": 180,
                "urine_output_ml_day": 900, "dopamine_ug_kg_min": 0, "dobutamine_ug_kg_min": 0,
                "epinephrine_ug_kg_min": 0, "norepinephrine_ug_kg_min": 0}),
    )
    .unwrap();
    // resp 2, coag 1, liver 2, cv 1, cns 0, renal 2
    assert_eq!(r.total, Some(8.0));
}

#[test]
fn curb65_with_bun_in_mg_dl() {
    let r = score("curb65", &json!({"new_confusion": true, "bun_mg_dl": 25, "resp_rate": 24, "sbp_mmhg": 110, "dbp_mmhg": 70, "age": 72})).unwrap();
    assert_eq!(r.total, Some(3.0));
    assert_eq!(r.band.as_deref(), Some("high"));
}

#[test]
fn egfr_with_umol_and_kdigo() {
    let r = score(
        "ckd_epi_2021",
        &json!({"age": 60, "sex": "male", "creatinine_mg_dl": 1.0}),
    )
    .unwrap();
    assert!((num(r.total) - 86.16).abs() < 0.05);
    assert_eq!(r.band.as_deref(), Some("g2"));
    let r = score("kdigo_ckd", &json!({"egfr": 38, "acr_mg_g": 450})).unwrap();
    assert_eq!(r.band.as_deref(), Some("g3b-a3"));
}

#[test]
fn cdrs_and_cha2ds2_vasc_and_has_bled() {
    let r = score("cdrs", &json!({"age": 52, "sex": "男", "sbp_mmhg": 135, "bmi": 25, "waist_cm": 88, "family_history_diabetes": false})).unwrap();
    assert_eq!(r.total, Some(31.0));
    let r = score("cha2ds2_vasc", &json!({"age": 72, "sex": "female", "chf": false, "hypertension": true, "diabetes": false, "stroke_tia_te": false, "vascular_disease": false})).unwrap();
    assert_eq!(r.total, Some(3.0));
    let r = score(
        "has_bled",
        &json!({"sbp_mmhg": 150, "dialysis": false, "renal_transplant": false, "creatinine_umol_l": 90,
                "cirrhosis": false, "bilirubin_x_uln": 1, "ast_alt_alp_x_uln": 1, "prior_stroke": true,
                "bleeding_history_or_predisposition": false, "labile_inr": "not_applicable", "age": 70,
                "antiplatelet_or_nsaid": true, "alcohol_units_per_week": 2}),
    )
    .unwrap();
    assert_eq!(r.total, Some(3.0));
    assert_eq!(r.band.as_deref(), Some("high"));
}

#[test]
fn errors_name_the_field() {
    assert_eq!(
        score("apache2", &json!({})).unwrap_err(),
        ScoreError::UnknownScore {
            name: "apache2".into()
        }
    );
    assert_eq!(
        score("news2", &json!({"resp_rate": "26"})).unwrap_err(),
        ScoreError::WrongType {
            field: "resp_rate".into(),
            expected: "a number".into()
        }
    );
    assert!(matches!(
        score("news2", &json!({"resp_rate": 400})).unwrap_err(),
        ScoreError::InvalidInput { field, .. } if field == "resp_rate"
    ));
    assert!(matches!(
        score("news2", &json!({"temp_c": 101.2})).unwrap_err(),
        ScoreError::InvalidInput { field, .. } if field == "temp_c"
    ));
    assert_eq!(
        score("news2", &json!({"heartrate": 80})).unwrap_err(),
        ScoreError::UnknownField {
            field: "heartrate".into()
        }
    );
    assert_eq!(
        score("ckd_epi_2021", &json!({"age": 50, "sex": "male"})).unwrap_err(),
        ScoreError::MissingField {
            field: "creatinine_umol_l".into()
        }
    );
    assert!(matches!(
        score(
            "sofa",
            &json!({"creatinine_mg_dl": 1.0, "creatinine_umol_l": 88})
        )
        .unwrap_err(),
        ScoreError::ConflictingFields { .. }
    ));
    assert_eq!(
        score("gcs", &json!([3, 4, 5])).unwrap_err(),
        ScoreError::NotAnObject
    );
    assert!(matches!(
        score("china_par", &json!({"age": 60, "sex": "male"})).unwrap_err(),
        ScoreError::NotVerified { score, .. } if score == "china_par"
    ));
    assert!(matches!(
        score("cha2ds2_vasc", &json!({"sex": "unknown"})).unwrap_err(),
        ScoreError::InvalidInput { field, .. } if field == "sex"
    ));
}

#[test]
fn every_listed_name_dispatches() {
    for name in meditrustal_clinical::SCORE_NAMES {
        match score(name, &json!({})) {
            Ok(r) => assert!(!r.complete, "{name} complete with no inputs"),
            Err(ScoreError::UnknownScore { .. }) => panic!("{name} is listed but not dispatched"),
            Err(_) => {}
        }
    }
}

#[test]
fn result_serialises_with_section_10_fields() {
    let r = score(
        "qsofa",
        &json!({"resp_rate": 26, "sbp_mmhg": 88, "gcs": 13}),
    )
    .unwrap();
    let v = serde_json::to_value(&r).unwrap();
    for key in ["total", "band", "components", "missing", "reference"] {
        assert!(v.get(key).is_some(), "missing key {key}");
    }
    assert_eq!(v["components"][0]["points"], json!(1.0));
}

#[test]
fn lab_values_as_quantity_objects_with_chinese_units() {
    let by_field = score(
        "ckd_epi_2021",
        &json!({"age": 70, "sex": "女", "creatinine_umol_l": 120}),
    )
    .unwrap();
    let by_object = score(
        "ckd_epi_2021",
        &json!({"age": 70, "sex": "female", "creatinine": {"value": 120, "unit": "μmol/L"}}),
    )
    .unwrap();
    assert_eq!(by_field.total, by_object.total);
    let r = score(
        "framingham_2008_cvd",
        &json!({"age": 55, "sex": "male", "tc": {"value": 213.0 * 0.02586, "unit": "mmol/L"},
                "hdl": {"value": 50.0 * 0.02586, "unit": "mmol/L"}, "sbp_mmhg": 140,
                "bp_treated": false, "smoker": false, "diabetes": false}),
    )
    .unwrap();
    assert!((num(r.total) - 13.53).abs() < 0.005);
    let r = score("curb65", &json!({"new_confusion": false, "urea": {"value": 7.1, "unit": "mmol/L"}, "resp_rate": 18, "sbp_mmhg": 120, "dbp_mmhg": 70, "age": 40})).unwrap();
    assert_eq!(r.total, Some(1.0));
    assert!(matches!(
        score("sofa", &json!({"bilirubin": {"value": 2, "unit": "g/L"}})).unwrap_err(),
        ScoreError::InvalidInput { field, .. } if field == "bilirubin"
    ));
}
