//! Reads the training table of `meditrustal model train` from CSV.
//!
//! Schema: a header row naming the columns; one row per patient; every used cell a finite
//! decimal number (`.` as decimal point); the outcome column holds `0` or `1`. Columns that
//! are neither the outcome nor a selected feature are ignored, so they may hold anything
//! (e.g. a pseudonymous id). Empty cells are refused: missing values are never imputed
//! silently, the caller decides how to handle them before training.

use std::io::Read;

use crate::bad_input::BadInput;

/// Feature matrix and 0/1 outcome, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingData {
    pub feature_names: Vec<String>,
    pub rows: Vec<Vec<f64>>,
    pub labels: Vec<bool>,
}

impl TrainingData {
    pub fn events(&self) -> usize {
        self.labels.iter().filter(|&&event| event).count()
    }
}

/// Parses `source` (named `origin` in messages). `features` = `None` uses every column but
/// the outcome, in header order.
pub fn read_csv(
    source: impl Read,
    origin: &str,
    outcome: &str,
    features: Option<&[String]>,
) -> Result<TrainingData, BadInput> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(source);
    let header: Vec<String> = reader
        .headers()
        .map_err(|err| csv_error(origin, &err))?
        .iter()
        .map(str::to_owned)
        .collect();
    if header.iter().all(String::is_empty) {
        return Err(BadInput::new(format!(
            "{origin} is empty: expected a header row naming the columns"
        )));
    }
    if let Some(duplicate) = header
        .iter()
        .enumerate()
        .find_map(|(i, name)| header.iter().skip(i + 1).find(|other| *other == name))
    {
        return Err(BadInput::new(format!(
            "{origin}: column `{duplicate}` appears twice in the header"
        )));
    }
    let outcome_index = column_index(&header, outcome, origin)?;
    let feature_names: Vec<String> = match features {
        Some(chosen) => chosen.to_vec(),
        None => header.iter().filter(|c| *c != outcome).cloned().collect(),
    };
    if feature_names.is_empty() {
        return Err(BadInput::new(format!(
            "{origin}: no feature columns besides the outcome `{outcome}`"
        )));
    }
    if feature_names.iter().any(|f| f == outcome) {
        return Err(BadInput::new(format!(
            "the outcome `{outcome}` cannot also be a feature"
        )));
    }
    let feature_indices = feature_names
        .iter()
        .map(|name| column_index(&header, name, origin))
        .collect::<Result<Vec<_>, _>>()?;

    let mut rows = Vec::new();
    let mut labels = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|err| csv_error(origin, &err))?;
        let line = record.position().map_or(0, csv::Position::line);
        let cell = |index: usize, name: &str| -> Result<f64, BadInput> {
            number(record.get(index).unwrap_or(""), origin, line, name)
        };
        let label = match cell(outcome_index, outcome)? {
            0.0 => false,
            1.0 => true,
            other => {
                return Err(BadInput::new(format!(
                    "{origin}, line {line}, column `{outcome}`: the outcome must be 0 or 1, found {other}"
                )));
            }
        };
        let values = feature_indices
            .iter()
            .zip(&feature_names)
            .map(|(&index, name)| cell(index, name))
            .collect::<Result<Vec<_>, _>>()?;
        rows.push(values);
        labels.push(label);
    }
    if rows.is_empty() {
        return Err(BadInput::new(format!(
            "{origin} has a header but no data rows"
        )));
    }
    Ok(TrainingData {
        feature_names,
        rows,
        labels,
    })
}

fn column_index(header: &[String], name: &str, origin: &str) -> Result<usize, BadInput> {
    header.iter().position(|c| c == name).ok_or_else(|| {
        BadInput::new(format!(
            "{origin}: no column `{name}`; the header has: {}",
            header.join(", ")
        ))
    })
}

fn number(cell: &str, origin: &str, line: u64, column: &str) -> Result<f64, BadInput> {
    let at = || format!("{origin}, line {line}, column `{column}`");
    if cell.is_empty() {
        return Err(BadInput::new(format!(
            "{}: empty cell (missing values are not imputed)",
            at()
        )));
    }
    // `f64::from_str` also accepts "NaN" and "inf", which are not measurements.
    match cell.parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(value),
        _ => Err(BadInput::new(format!(
            "{}: `{}` is not a number",
            at(),
            cell.chars().take(40).collect::<String>()
        ))),
    }
}

fn csv_error(origin: &str, err: &csv::Error) -> BadInput {
    match err.kind() {
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => {
            let line = pos.as_ref().map_or(0, csv::Position::line);
            BadInput::new(format!(
                "{origin}, line {line}: {len} cells, but the header has {expected_len} columns"
            ))
        }
        _ => BadInput::new(format!("{origin} is not readable as CSV: {err}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, features: Option<&[&str]>) -> Result<TrainingData, String> {
        let features: Option<Vec<String>> =
            features.map(|f| f.iter().map(|s| (*s).to_owned()).collect());
        read_csv(text.as_bytes(), "data.csv", "died", features.as_deref()).map_err(|e| e.0)
    }

    #[test]
    fn reads_features_in_header_order_and_ignores_unselected_columns() {
        let data = read(
            "id,age,died,lactate\np1,70,1,4.2\np2,45,0,1.1\n",
            Some(&["lactate", "age"]),
        )
        .unwrap();
        assert_eq!(data.feature_names, ["lactate", "age"]);
        assert_eq!(data.rows, vec![vec![4.2, 70.0], vec![1.1, 45.0]]);
        assert_eq!(data.labels, [true, false]);
        assert_eq!(data.events(), 1);
        let all = read("age, died ,lactate\n70, 1 ,4.2\n", None).unwrap();
        assert_eq!(all.feature_names, ["age", "lactate"]);
    }

    #[test]
    fn errors_name_the_line_and_column() {
        let err = read("age,died\n70,1\nseventy,0\n", None).unwrap_err();
        assert!(
            err.contains("line 3") && err.contains("`age`") && err.contains("seventy"),
            "{err}"
        );
        let err = read("age,died\n70,2\n", None).unwrap_err();
        assert!(err.contains("`died`") && err.contains("0 or 1"), "{err}");
        let err = read("age,died\n,1\n", None).unwrap_err();
        assert!(err.contains("empty cell") && err.contains("`age`"), "{err}");
        let err = read("age,died\nNaN,1\n", None).unwrap_err();
        assert!(err.contains("not a number"), "{err}");
        let err = read("age,died\n70,1,5\n", None).unwrap_err();
        assert!(err.contains("line 2") && err.contains("3 cells"), "{err}");
    }

    #[test]
    fn missing_columns_empty_files_and_headers_only_are_refused() {
        let err = read("age,outcome\n70,1\n", None).unwrap_err();
        assert!(
            err.contains("no column `died`") && err.contains("age, outcome"),
            "{err}"
        );
        let err = read("age,died\n70,1\n", Some(&["bmi"])).unwrap_err();
        assert!(err.contains("no column `bmi`"), "{err}");
        assert!(read("", None).unwrap_err().contains("empty"));
        assert!(
            read("age,died\n", None)
                .unwrap_err()
                .contains("no data rows")
        );
        assert!(
            read("died\n1\n", None)
                .unwrap_err()
                .contains("no feature columns")
        );
        assert!(
            read("age,age,died\n1,2,1\n", None)
                .unwrap_err()
                .contains("twice")
        );
        assert!(
            read("age,died\n1,1\n", Some(&["died"]))
                .unwrap_err()
                .contains("cannot also be")
        );
    }
}
