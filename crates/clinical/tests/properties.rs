//! Properties that must hold for every input, not just the worked examples.

// Test helpers outside #[test] fns may unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use meditrustal_clinical::rounding::round_half_up;
use meditrustal_clinical::scores::egfr::ckd_epi_2021;
use meditrustal_clinical::scores::news2::{Acvpu, News2Input, Spo2Scale, news2};
use meditrustal_clinical::scores::sofa::{SofaInput, sofa};
use meditrustal_clinical::units::{Bilirubin, Creatinine};
use meditrustal_clinical::{SCORE_NAMES, Sex, score};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn acvpu() -> impl Strategy<Value = Acvpu> {
    prop_oneof![
        Just(Acvpu::A),
        Just(Acvpu::C),
        Just(Acvpu::V),
        Just(Acvpu::P),
        Just(Acvpu::U)
    ]
}

prop_compose! {
    fn complete_news2()(
        rr in 0.0..80.0f64, spo2 in 50.0..100.0f64, scale2 in any::<bool>(), o2 in any::<bool>(),
        sbp in 40.0..280.0f64, pulse in 20.0..250.0f64, level in acvpu(), temp in 30.0..43.0f64,
    ) -> News2Input {
        News2Input {
            resp_rate: Some(rr), spo2_pct: Some(spo2),
            spo2_scale: Some(if scale2 { Spo2Scale::Scale2 } else { Spo2Scale::Scale1 }),
            on_oxygen: Some(o2), sbp_mmhg: Some(sbp), pulse_bpm: Some(pulse),
            consciousness: Some(level), temp_c: Some(temp), age: None,
        }
    }
}

/// Removes the fields selected by `mask` (bit i ⇒ field i).
fn without(input: &News2Input, mask: u8) -> News2Input {
    let mut out = input.clone();
    let bit = |i: u8| mask & (1 << i) != 0;
    if bit(0) {
        out.resp_rate = None;
    }
    if bit(1) {
        out.spo2_pct = None;
    }
    if bit(2) {
        out.on_oxygen = None;
    }
    if bit(3) {
        out.sbp_mmhg = None;
    }
    if bit(4) {
        out.pulse_bpm = None;
    }
    if bit(5) {
        out.consciousness = None;
    }
    if bit(6) {
        out.temp_c = None;
    }
    out
}

fn json_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        (-1000i64..1000).prop_map(|i| json!(i)),
        any::<bool>().prop_map(Value::Bool),
        "[a-zA-Z0-9 ]{0,6}".prop_map(Value::String),
        Just(Value::Null),
        Just(json!([])),
        (
            -10.0..2000.0f64,
            prop_oneof![
                Just("μmol/L"),
                Just("mg/dL"),
                Just("mmol/L"),
                Just("g/L"),
                Just("")
            ]
        )
            .prop_map(|(v, u)| json!({"value": v, "unit": u})),
    ]
}

const FIELDS: [&str; 29] = [
    "resp_rate",
    "spo2_pct",
    "spo2_scale",
    "on_oxygen",
    "sbp_mmhg",
    "pulse_bpm",
    "consciousness",
    "temp_c",
    "gcs",
    "age",
    "sex",
    "creatinine_umol_l",
    "bilirubin_mg_dl",
    "platelets_10e3_ul",
    "eye",
    "verbal",
    "motor",
    "urea_mmol_l",
    "dbp_mmhg",
    "waist_cm",
    "bmi",
    "egfr",
    "acr_mg_g",
    "labile_inr",
    "creatinine",
    "bilirubin",
    "urea",
    "tc",
    "acr",
];

proptest! {
    #[test]
    fn complete_news2_total_is_sum_of_components_within_0_to_20(input in complete_news2()) {
        let r = news2(&input).unwrap();
        let total = r.total.unwrap();
        let sum: f64 = r.components.iter().filter_map(|c| c.points).sum();
        prop_assert_eq!(total, sum);
        prop_assert!((0.0..=20.0).contains(&total));
        prop_assert!(r.band.is_some());
    }

    #[test]
    fn missing_news2_input_never_gives_a_total_and_a_stated_band_is_sound(
        input in complete_news2(), mask in 1u8..128,
    ) {
        let full = news2(&input).unwrap();
        let partial = news2(&without(&input, mask)).unwrap();
        prop_assert_eq!(partial.total, None);
        prop_assert!(!partial.missing.is_empty());
        let range = partial.possible_range.unwrap();
        let total = full.total.unwrap();
        prop_assert!(range.min <= total && total <= range.max);
        if let Some(band) = &partial.band {
            // whatever the missing values are, the band stated while incomplete is right
            prop_assert_eq!(Some(band), full.band.as_ref());
        }
    }

    #[test]
    fn entry_point_never_panics(
        name_index in 0usize..SCORE_NAMES.len(),
        entries in proptest::collection::vec((0usize..FIELDS.len(), json_value()), 0..8),
    ) {
        let mut map = Map::new();
        for (i, v) in entries {
            map.insert(FIELDS[i].to_owned(), v);
        }
        let _ = score(SCORE_NAMES[name_index], &Value::Object(map));
    }

    #[test]
    fn rounding_is_idempotent_and_close(x in 0.0..1000.0f64, d in 0u8..3) {
        let r = round_half_up(x, d);
        prop_assert_eq!(round_half_up(r, d), r);
        prop_assert!((r - x).abs() <= 0.5 / 10f64.powi(i32::from(d)) + 1e-9);
    }

    #[test]
    fn egfr_falls_with_creatinine_and_age(age in 18.0..100.0f64, scr in 0.2..15.0f64, female in any::<bool>()) {
        let sex = if female { Sex::Female } else { Sex::Male };
        let e = ckd_epi_2021(age, sex, scr);
        prop_assert!(e > 0.0);
        prop_assert!(ckd_epi_2021(age, sex, scr * 1.05) < e);
        prop_assert!(ckd_epi_2021(age + 1.0, sex, scr) < e);
    }
}

prop_compose! {
    fn complete_sofa()(
        pf in 50.0..600.0f64, support in any::<bool>(), platelets in 5.0..400.0f64,
        bilirubin in 2.0..400.0f64, map in 30.0..120.0f64, norepi in 0.0..0.5f64,
        gcs in 3u8..=15, creatinine in 30.0..900.0f64, urine in 0.0..3000.0f64,
    ) -> SofaInput {
        SofaInput {
            pao2_fio2_mmhg: Some(pf), resp_support: Some(support), platelets_10e3_ul: Some(platelets),
            bilirubin: Some(Bilirubin::UmolL(bilirubin)), map_mmhg: Some(map),
            norepinephrine_ug_kg_min: Some(norepi), gcs: Some(f64::from(gcs)),
            creatinine: Some(Creatinine::UmolL(creatinine)), urine_output_ml_day: Some(urine),
            ..SofaInput::default()
        }
    }
}

proptest! {
    #[test]
    fn sofa_partial_range_always_contains_the_full_total(input in complete_sofa(), mask in 1u16..512) {
        let full = sofa(&input).unwrap().total.unwrap();
        prop_assert!((0.0..=24.0).contains(&full));
        let mut partial_input = input.clone();
        let bit = |i: u16| mask & (1 << i) != 0;
        if bit(0) { partial_input.pao2_fio2_mmhg = None; }
        if bit(1) { partial_input.resp_support = None; }
        if bit(2) { partial_input.platelets_10e3_ul = None; }
        if bit(3) { partial_input.bilirubin = None; }
        if bit(4) { partial_input.map_mmhg = None; }
        if bit(5) { partial_input.norepinephrine_ug_kg_min = None; }
        if bit(6) { partial_input.gcs = None; }
        if bit(7) { partial_input.creatinine = None; }
        if bit(8) { partial_input.urine_output_ml_day = None; }
        let r = sofa(&partial_input).unwrap();
        match r.total {
            // some removals cannot matter (e.g. support when P/F ≥ 200): then it must agree
            Some(t) => prop_assert_eq!(t, full),
            None => {
                let range = r.possible_range.unwrap();
                prop_assert!(range.min <= full && full <= range.max);
                prop_assert!(!r.missing.is_empty());
            }
        }
    }
}
