//! Plausibility limits: values outside them cannot come from a living patient (or are
//! unit mistakes, e.g. °F in a °C field) and are rejected with the field named.

use crate::error::ScoreError;

/// Inclusive limits of a physiologically possible value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) min: f64,
    pub(crate) max: f64,
    pub(crate) unit: &'static str,
}

pub(crate) const RESP_RATE: Limits = Limits {
    min: 0.0,
    max: 80.0,
    unit: "/min",
};
pub(crate) const SPO2_PCT: Limits = Limits {
    min: 1.0,
    max: 100.0,
    unit: "%",
};
pub(crate) const SBP_MMHG: Limits = Limits {
    min: 20.0,
    max: 300.0,
    unit: "mmHg",
};
pub(crate) const DBP_MMHG: Limits = Limits {
    min: 5.0,
    max: 200.0,
    unit: "mmHg",
};
pub(crate) const MAP_MMHG: Limits = Limits {
    min: 10.0,
    max: 250.0,
    unit: "mmHg",
};
pub(crate) const PULSE_BPM: Limits = Limits {
    min: 0.0,
    max: 300.0,
    unit: "/min",
};
pub(crate) const TEMP_C: Limits = Limits {
    min: 25.0,
    max: 45.0,
    unit: "°C",
};
pub(crate) const PACO2_MMHG: Limits = Limits {
    min: 5.0,
    max: 200.0,
    unit: "mmHg",
};
pub(crate) const WBC_10E9_L: Limits = Limits {
    min: 0.0,
    max: 1000.0,
    unit: "×10⁹/L",
};
pub(crate) const PERCENT: Limits = Limits {
    min: 0.0,
    max: 100.0,
    unit: "%",
};
pub(crate) const PAO2_MMHG: Limits = Limits {
    min: 10.0,
    max: 700.0,
    unit: "mmHg",
};
pub(crate) const PF_RATIO_MMHG: Limits = Limits {
    min: 10.0,
    max: 800.0,
    unit: "mmHg",
};
pub(crate) const PLATELETS_10E3_UL: Limits = Limits {
    min: 0.0,
    max: 5000.0,
    unit: "×10³/µL",
};
pub(crate) const BILIRUBIN_MG_DL: Limits = Limits {
    min: 0.0,
    max: 100.0,
    unit: "mg/dL",
};
pub(crate) const BILIRUBIN_UMOL_L: Limits = Limits {
    min: 0.0,
    max: 1710.0,
    unit: "µmol/L",
};
pub(crate) const CREATININE_MG_DL: Limits = Limits {
    min: 0.05,
    max: 40.0,
    unit: "mg/dL",
};
pub(crate) const CREATININE_UMOL_L: Limits = Limits {
    min: 4.0,
    max: 3536.0,
    unit: "µmol/L",
};
pub(crate) const URINE_ML_DAY: Limits = Limits {
    min: 0.0,
    max: 20000.0,
    unit: "mL/day",
};
pub(crate) const VASOPRESSOR_UG_KG_MIN: Limits = Limits {
    min: 0.0,
    max: 100.0,
    unit: "µg/kg/min",
};
pub(crate) const GCS_TOTAL: Limits = Limits {
    min: 3.0,
    max: 15.0,
    unit: "",
};
pub(crate) const SOFA_TOTAL: Limits = Limits {
    min: 0.0,
    max: 24.0,
    unit: "points",
};
pub(crate) const AGE_YEARS: Limits = Limits {
    min: 0.0,
    max: 130.0,
    unit: "years",
};
pub(crate) const UREA_MMOL_L: Limits = Limits {
    min: 0.0,
    max: 150.0,
    unit: "mmol/L",
};
pub(crate) const BUN_MG_DL: Limits = Limits {
    min: 0.0,
    max: 420.0,
    unit: "mg/dL",
};
pub(crate) const BMI: Limits = Limits {
    min: 8.0,
    max: 100.0,
    unit: "kg/m²",
};
pub(crate) const WAIST_CM: Limits = Limits {
    min: 30.0,
    max: 250.0,
    unit: "cm",
};
pub(crate) const TIMES_ULN: Limits = Limits {
    min: 0.0,
    max: 1000.0,
    unit: "× ULN",
};
pub(crate) const ALCOHOL_UNITS_WEEK: Limits = Limits {
    min: 0.0,
    max: 700.0,
    unit: "units/week",
};
pub(crate) const CHOLESTEROL_MG_DL: Limits = Limits {
    min: 20.0,
    max: 1500.0,
    unit: "mg/dL",
};
pub(crate) const HDL_MG_DL: Limits = Limits {
    min: 5.0,
    max: 250.0,
    unit: "mg/dL",
};
pub(crate) const EGFR: Limits = Limits {
    min: 0.0,
    max: 250.0,
    unit: "mL/min/1.73m²",
};
pub(crate) const ACR_MG_G: Limits = Limits {
    min: 0.0,
    max: 100000.0,
    unit: "mg/g",
};
pub(crate) const ACR_MG_MMOL: Limits = Limits {
    min: 0.0,
    max: 11300.0,
    unit: "mg/mmol",
};

/// Rejects non-finite values and values outside `limits`.
pub(crate) fn check(field: &str, value: f64, limits: Limits) -> Result<f64, ScoreError> {
    if !value.is_finite() {
        return Err(ScoreError::invalid(field, "must be a finite number"));
    }
    if value < limits.min || value > limits.max {
        return Err(ScoreError::invalid(
            field,
            format!(
                "{value} {} is outside the possible range {}–{} {}",
                limits.unit, limits.min, limits.max, limits.unit
            ),
        ));
    }
    Ok(value)
}

/// `check` for an optional value.
pub(crate) fn check_opt(
    field: &str,
    value: Option<f64>,
    limits: Limits,
) -> Result<Option<f64>, ScoreError> {
    value.map(|v| check(field, v, limits)).transpose()
}

/// Requires a whole number (GCS components, points) within `limits`.
pub(crate) fn check_integer(field: &str, value: f64, limits: Limits) -> Result<f64, ScoreError> {
    let v = check(field, value, limits)?;
    if v.fract() != 0.0 {
        return Err(ScoreError::invalid(
            field,
            format!("{v} is not a whole number"),
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_inclusive() {
        assert!(check("temp_c", 25.0, TEMP_C).is_ok());
        assert!(check("temp_c", 45.0, TEMP_C).is_ok());
        assert!(check("temp_c", 45.01, TEMP_C).is_err());
        assert!(check("temp_c", 24.99, TEMP_C).is_err());
    }

    #[test]
    fn fahrenheit_in_celsius_field_is_rejected_by_name() {
        let err = check("temp_c", 101.3, TEMP_C).unwrap_err();
        assert!(matches!(err, ScoreError::InvalidInput { ref field, .. } if field == "temp_c"));
    }

    #[test]
    fn non_finite_rejected() {
        assert!(check("resp_rate", f64::NAN, RESP_RATE).is_err());
        assert!(check("resp_rate", f64::INFINITY, RESP_RATE).is_err());
    }

    #[test]
    fn fractional_gcs_rejected() {
        assert!(check_integer("gcs", 14.5, GCS_TOTAL).is_err());
        assert!(check_integer("gcs", 14.0, GCS_TOTAL).is_ok());
    }
}
