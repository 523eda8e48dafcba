//! Reading a laboratory value that may arrive in any of its accepted units: as a
//! unit-named field (`creatinine_umol_l`, §10 names) or as a quantity object under the
//! generic name (`"creatinine": {"value": 88, "unit": "μmol/L"}`), as NLP and LIS
//! interfaces deliver them. At most one form may be given.

use serde_json::Value;

use crate::error::ScoreError;
use crate::input::Fields;
use crate::units::{Acr, Bilirubin, Cholesterol, Creatinine, Urea};

/// Units laboratory values are reported in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LabUnit {
    MgPerDl,
    MicromolPerL,
    MmolPerL,
    MgPerG,
    MgPerMmol,
}

impl LabUnit {
    fn parse(text: &str) -> Option<Self> {
        let t: String = text
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_lowercase();
        match t.as_str() {
            "mg/dl" | "毫克/分升" => Some(Self::MgPerDl),
            "umol/l" | "µmol/l" | "μmol/l" | "微摩尔/升" => Some(Self::MicromolPerL),
            "mmol/l" | "毫摩尔/升" => Some(Self::MmolPerL),
            "mg/g" | "mg/g{creat}" => Some(Self::MgPerG),
            "mg/mmol" | "mg/mmol{creat}" => Some(Self::MgPerMmol),
            _ => None,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::MgPerDl => "mg/dL",
            Self::MicromolPerL => "µmol/L",
            Self::MmolPerL => "mmol/L",
            Self::MgPerG => "mg/g",
            Self::MgPerMmol => "mg/mmol",
        }
    }
}

/// The accepted forms of one laboratory value.
pub(crate) struct LabSpec {
    /// Name of the quantity-object form.
    pub(crate) generic: &'static str,
    /// Units the quantity-object form may use.
    pub(crate) generic_units: &'static [LabUnit],
    /// Unit-named numeric fields; the first is the one named when the value is missing.
    pub(crate) unit_fields: &'static [(&'static str, LabUnit)],
}

pub(crate) const CREATININE: LabSpec = LabSpec {
    generic: "creatinine",
    generic_units: &[LabUnit::MgPerDl, LabUnit::MicromolPerL],
    unit_fields: &[
        ("creatinine_umol_l", LabUnit::MicromolPerL),
        ("creatinine_mg_dl", LabUnit::MgPerDl),
    ],
};
pub(crate) const BILIRUBIN: LabSpec = LabSpec {
    generic: "bilirubin",
    generic_units: &[LabUnit::MgPerDl, LabUnit::MicromolPerL],
    unit_fields: &[
        ("bilirubin_umol_l", LabUnit::MicromolPerL),
        ("bilirubin_mg_dl", LabUnit::MgPerDl),
    ],
};
/// Generic `urea` is accepted in mmol/L only: "urea in mg/dL" and "BUN in mg/dL" differ.
pub(crate) const UREA: LabSpec = LabSpec {
    generic: "urea",
    generic_units: &[LabUnit::MmolPerL],
    unit_fields: &[
        ("urea_mmol_l", LabUnit::MmolPerL),
        ("bun_mg_dl", LabUnit::MgPerDl),
    ],
};
pub(crate) const TOTAL_CHOLESTEROL: LabSpec = LabSpec {
    generic: "tc",
    generic_units: &[LabUnit::MgPerDl, LabUnit::MmolPerL],
    unit_fields: &[
        ("tc_mg_dl", LabUnit::MgPerDl),
        ("tc_mmol_l", LabUnit::MmolPerL),
    ],
};
pub(crate) const HDL_CHOLESTEROL: LabSpec = LabSpec {
    generic: "hdl",
    generic_units: &[LabUnit::MgPerDl, LabUnit::MmolPerL],
    unit_fields: &[
        ("hdl_mg_dl", LabUnit::MgPerDl),
        ("hdl_mmol_l", LabUnit::MmolPerL),
    ],
};
pub(crate) const ACR: LabSpec = LabSpec {
    generic: "acr",
    generic_units: &[LabUnit::MgPerG, LabUnit::MgPerMmol],
    unit_fields: &[
        ("acr_mg_g", LabUnit::MgPerG),
        ("acr_mg_mmol", LabUnit::MgPerMmol),
    ],
};

/// Parses `{"value": <number>, "unit": "<unit>"}` for `spec.generic`.
fn quantity(spec: &LabSpec, value: &Value) -> Result<(LabUnit, f64), ScoreError> {
    let field = spec.generic;
    let wrong = || ScoreError::WrongType {
        field: field.to_owned(),
        expected: "an object {\"value\": number, \"unit\": string}".into(),
    };
    let Value::Object(map) = value else {
        return Err(wrong());
    };
    if let Some(extra) = map.keys().find(|k| !matches!(k.as_str(), "value" | "unit")) {
        return Err(ScoreError::UnknownField {
            field: format!("{field}.{extra}"),
        });
    }
    let number = map.get("value").and_then(Value::as_f64).ok_or_else(wrong)?;
    let text = map.get("unit").and_then(Value::as_str).ok_or_else(wrong)?;
    let accepted = || {
        spec.generic_units
            .iter()
            .map(|u| u.label())
            .collect::<Vec<_>>()
            .join(" or ")
    };
    match LabUnit::parse(text) {
        Some(unit) if spec.generic_units.contains(&unit) => Ok((unit, number)),
        _ => Err(ScoreError::invalid(
            field,
            format!("unit `{text}` is not accepted here; use {}", accepted()),
        )),
    }
}

/// Reads one laboratory value in whichever accepted form was supplied.
pub(crate) fn read(
    f: &mut Fields<'_>,
    spec: &LabSpec,
) -> Result<Option<(LabUnit, f64)>, ScoreError> {
    let mut found: Vec<(&'static str, LabUnit, f64)> = Vec::new();
    for (field, unit) in spec.unit_fields {
        if let Some(v) = f.number(&[field])? {
            found.push((field, *unit, v));
        }
    }
    if let Some(raw) = f.raw(&[spec.generic])? {
        let (unit, v) = quantity(spec, raw)?;
        found.push((spec.generic, unit, v));
    }
    match found.as_slice() {
        [] => Ok(None),
        [(_, unit, v)] => Ok(Some((*unit, *v))),
        [(a, ..), (b, ..), ..] => Err(ScoreError::ConflictingFields {
            field: (*a).to_owned(),
            other: (*b).to_owned(),
        }),
    }
}

pub(crate) fn creatinine(f: &mut Fields<'_>) -> Result<Option<Creatinine>, ScoreError> {
    Ok(read(f, &CREATININE)?.map(|(unit, v)| {
        if unit == LabUnit::MgPerDl {
            Creatinine::MgDl(v)
        } else {
            Creatinine::UmolL(v)
        }
    }))
}

pub(crate) fn bilirubin(f: &mut Fields<'_>) -> Result<Option<Bilirubin>, ScoreError> {
    Ok(read(f, &BILIRUBIN)?.map(|(unit, v)| {
        if unit == LabUnit::MgPerDl {
            Bilirubin::MgDl(v)
        } else {
            Bilirubin::UmolL(v)
        }
    }))
}

pub(crate) fn urea(f: &mut Fields<'_>) -> Result<Option<Urea>, ScoreError> {
    Ok(read(f, &UREA)?.map(|(unit, v)| {
        if unit == LabUnit::MgPerDl {
            Urea::BunMgDl(v)
        } else {
            Urea::MmolL(v)
        }
    }))
}

pub(crate) fn cholesterol(
    f: &mut Fields<'_>,
    spec: &LabSpec,
) -> Result<Option<Cholesterol>, ScoreError> {
    Ok(read(f, spec)?.map(|(unit, v)| {
        if unit == LabUnit::MgPerDl {
            Cholesterol::MgDl(v)
        } else {
            Cholesterol::MmolL(v)
        }
    }))
}

pub(crate) fn acr(f: &mut Fields<'_>) -> Result<Option<Acr>, ScoreError> {
    Ok(read(f, &ACR)?.map(|(unit, v)| {
        if unit == LabUnit::MgPerG {
            Acr::MgG(v)
        } else {
            Acr::MgMmol(v)
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn creat(v: Value) -> Result<Option<Creatinine>, ScoreError> {
        let mut f = Fields::new(&v)?;
        let c = creatinine(&mut f)?;
        f.finish()?;
        Ok(c)
    }

    #[test]
    fn three_forms_of_creatinine() {
        assert_eq!(
            creat(json!({"creatinine_umol_l": 88})).unwrap(),
            Some(Creatinine::UmolL(88.0))
        );
        assert_eq!(
            creat(json!({"creatinine_mg_dl": 1.0})).unwrap(),
            Some(Creatinine::MgDl(1.0))
        );
        assert_eq!(
            creat(json!({"creatinine": {"value": 88, "unit": "μmol/L"}})).unwrap(),
            Some(Creatinine::UmolL(88.0))
        );
        assert_eq!(
            creat(json!({"creatinine": {"value": 1.1, "unit": "mg/dL"}})).unwrap(),
            Some(Creatinine::MgDl(1.1))
        );
        assert_eq!(creat(json!({})).unwrap(), None);
    }

    #[test]
    fn conflicting_and_bad_forms_name_the_field() {
        assert!(matches!(
            creat(json!({"creatinine_umol_l": 88, "creatinine": {"value": 1, "unit": "mg/dL"}})),
            Err(ScoreError::ConflictingFields { .. })
        ));
        assert!(
            matches!(creat(json!({"creatinine": {"value": 88, "unit": "g/L"}})), Err(ScoreError::InvalidInput { ref field, .. }) if field == "creatinine")
        );
        assert!(
            matches!(creat(json!({"creatinine": 88})), Err(ScoreError::WrongType { ref field, .. }) if field == "creatinine")
        );
        assert!(matches!(
            creat(json!({"creatinine": {"value": "88", "unit": "μmol/L"}})),
            Err(ScoreError::WrongType { .. })
        ));
        assert!(matches!(
            creat(json!({"creatinine": {"value": 88, "unit": "μmol/L", "flag": "H"}})),
            Err(ScoreError::UnknownField { .. })
        ));
    }

    #[test]
    fn generic_urea_only_in_mmol() {
        let v = json!({"urea": {"value": 20, "unit": "mg/dL"}});
        let mut f = Fields::new(&v).unwrap();
        assert!(
            matches!(urea(&mut f), Err(ScoreError::InvalidInput { ref field, .. }) if field == "urea")
        );
        let v = json!({"urea": {"value": 8.2, "unit": "mmol/L"}});
        let mut f = Fields::new(&v).unwrap();
        assert_eq!(urea(&mut f).unwrap(), Some(Urea::MmolL(8.2)));
    }
}
