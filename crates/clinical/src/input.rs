//! Reading score inputs from JSON with errors that name the field.
//!
//! Every field is looked up under its canonical name (clinical-references.md §10) and
//! its aliases; errors always name the canonical field. Keys a score does not read are
//! rejected, so a misspelt field cannot silently become a "missing" one.

use serde_json::{Map, Value};

use crate::error::ScoreError;

/// A field name and the aliases accepted for it; the first entry is canonical.
pub(crate) type Names<'n> = &'n [&'n str];

/// Reads typed values out of a JSON object and remembers which keys were consumed.
pub(crate) struct Fields<'a> {
    map: &'a Map<String, Value>,
    consumed: Vec<&'a str>,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(input: &'a Value) -> Result<Self, ScoreError> {
        match input {
            Value::Object(map) => Ok(Self {
                map,
                consumed: Vec::new(),
            }),
            _ => Err(ScoreError::NotAnObject),
        }
    }

    /// The value under the first of `names` that is present and not null.
    fn lookup(&mut self, names: Names<'_>) -> Result<Option<&'a Value>, ScoreError> {
        let mut found: Option<(&'a str, &'a Value)> = None;
        for name in names {
            if let Some((key, value)) = self.map.get_key_value(*name) {
                self.consumed.push(key.as_str());
                if value.is_null() {
                    continue;
                }
                if let Some((first, _)) = found {
                    return Err(ScoreError::ConflictingFields {
                        field: first.to_owned(),
                        other: key.clone(),
                    });
                }
                found = Some((key.as_str(), value));
            }
        }
        Ok(found.map(|(_, v)| v))
    }

    fn canonical(names: Names<'_>) -> String {
        names.first().copied().unwrap_or_default().to_owned()
    }

    fn wrong_type(names: Names<'_>, expected: &str) -> ScoreError {
        ScoreError::WrongType {
            field: Self::canonical(names),
            expected: expected.to_owned(),
        }
    }

    /// A number, or `None` when absent/null. Strings are rejected, not parsed.
    pub(crate) fn number(&mut self, names: Names<'_>) -> Result<Option<f64>, ScoreError> {
        match self.lookup(names)? {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_f64()
                .filter(|v| v.is_finite())
                .map(Some)
                .ok_or_else(|| Self::wrong_type(names, "a finite number")),
            Some(_) => Err(Self::wrong_type(names, "a number")),
        }
    }

    /// A boolean, or `None` when absent/null.
    pub(crate) fn boolean(&mut self, names: Names<'_>) -> Result<Option<bool>, ScoreError> {
        match self.lookup(names)? {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(Self::wrong_type(names, "true or false")),
        }
    }

    /// A string, or `None` when absent/null.
    pub(crate) fn text(&mut self, names: Names<'_>) -> Result<Option<&'a str>, ScoreError> {
        match self.lookup(names)? {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(Self::wrong_type(names, "a string")),
        }
    }

    /// The raw value (for fields that accept several JSON types, e.g. GCS "NT").
    pub(crate) fn raw(&mut self, names: Names<'_>) -> Result<Option<&'a Value>, ScoreError> {
        self.lookup(names)
    }

    /// Fails on the first key that no reader asked for.
    pub(crate) fn finish(self) -> Result<(), ScoreError> {
        match self
            .map
            .keys()
            .find(|k| !self.consumed.contains(&k.as_str()))
        {
            Some(unknown) => Err(ScoreError::UnknownField {
                field: unknown.clone(),
            }),
            None => Ok(()),
        }
    }
}

/// Parses "male"/"female" (and common aliases, including Chinese).
pub(crate) fn parse_sex(field: &str, text: &str) -> Result<crate::Sex, ScoreError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "male" | "m" | "man" | "男" => Ok(crate::Sex::Male),
        "female" | "f" | "woman" | "女" => Ok(crate::Sex::Female),
        other => Err(ScoreError::invalid(
            field,
            format!("`{other}` is not a sex: use \"male\" or \"female\""),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn alias_is_read_and_error_names_canonical_field() {
        let v = json!({"respiratory_rate": "20"});
        let mut f = Fields::new(&v).unwrap();
        let err = f.number(&["resp_rate", "respiratory_rate"]).unwrap_err();
        assert_eq!(
            err,
            ScoreError::WrongType {
                field: "resp_rate".into(),
                expected: "a number".into()
            }
        );
    }

    #[test]
    fn null_is_absent() {
        let v = json!({"resp_rate": null});
        let mut f = Fields::new(&v).unwrap();
        assert_eq!(f.number(&["resp_rate"]).unwrap(), None);
        assert!(f.finish().is_ok());
    }

    #[test]
    fn unknown_key_rejected() {
        let v = json!({"resp_rat": 20});
        let mut f = Fields::new(&v).unwrap();
        assert_eq!(f.number(&["resp_rate"]).unwrap(), None);
        assert_eq!(
            f.finish().unwrap_err(),
            ScoreError::UnknownField {
                field: "resp_rat".into()
            }
        );
    }

    #[test]
    fn alias_and_canonical_together_conflict() {
        let v = json!({"resp_rate": 20, "respiratory_rate": 22});
        let mut f = Fields::new(&v).unwrap();
        assert!(matches!(
            f.number(&["resp_rate", "respiratory_rate"]),
            Err(ScoreError::ConflictingFields { .. })
        ));
    }

    #[test]
    fn non_object_rejected() {
        assert!(matches!(
            Fields::new(&json!([1, 2])),
            Err(ScoreError::NotAnObject)
        ));
    }
}
