//! The result every score returns: total, band, per-component explanation, what was
//! missing and where the rules come from.
//!
//! Invariant: `total` is `Some` only when every component was scored (`complete`), so a
//! missing input is never silently scored as normal. For additive scores whose points are
//! never negative, a missing component can only raise the total; the result therefore also
//! carries `partial_total` and the `possible_range`, and states a `band` while incomplete
//! only when every completion of the missing inputs lands in that same band.

use serde::Serialize;

/// Where the rules of a score come from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reference {
    /// Bibliographic citation of the primary source.
    pub citation: String,
    /// The rule set implemented, e.g. "RCP NEWS2 2017, Chart 1 and Chart 2".
    pub rule_set: String,
}

/// One scored item (e.g. "respiration rate") and how it contributed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Component {
    /// Stable machine name of the item, snake_case.
    pub name: String,
    /// Input fields the item was read from.
    pub inputs: Vec<String>,
    /// The value as scored, with its unit, after rounding/conversion (e.g. "26 /min").
    pub value: Option<String>,
    /// Points (or, for continuous models, the contribution); `None` when not scorable.
    pub points: Option<f64>,
    /// The most points this item can give (used to bound incomplete totals).
    pub max_points: f64,
    /// Why these points: the band of the table that applied.
    pub detail: String,
    /// Inputs that were needed for this item but absent.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

impl Component {
    /// A scored item.
    pub(crate) fn scored(
        name: &str,
        inputs: &[&str],
        value: String,
        points: f64,
        max_points: f64,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            name: name.to_owned(),
            inputs: inputs.iter().map(|s| (*s).to_owned()).collect(),
            value: Some(value),
            points: Some(points),
            max_points,
            detail: detail.into(),
            missing: Vec::new(),
        }
    }

    /// An item that could not be scored because `missing` inputs are absent.
    pub(crate) fn unscored(name: &str, inputs: &[&str], missing: &[&str], max_points: f64) -> Self {
        Self {
            name: name.to_owned(),
            inputs: inputs.iter().map(|s| (*s).to_owned()).collect(),
            value: None,
            points: None,
            max_points,
            detail: format!("not scored: missing {}", missing.join(", ")),
            missing: missing.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

/// The band a total falls in and what it means clinically.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Band {
    /// Lower-case code, e.g. "low", "low-medium", "high", "g3a".
    pub code: String,
    /// What the band means / the recommended response.
    pub meaning: String,
}

impl Band {
    pub(crate) fn new(code: &str, meaning: &str) -> Self {
        Self {
            code: code.to_owned(),
            meaning: meaning.to_owned(),
        }
    }
}

/// Lowest and highest totals still possible while inputs are missing.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PossibleRange {
    pub min: f64,
    pub max: f64,
}

/// The result of one score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreResult {
    /// Score name as in the API (`news2`, `qsofa`, …).
    pub score: String,
    /// The total; `None` when any component is missing or the score does not apply.
    pub total: Option<f64>,
    /// `true` when every component was scored.
    pub complete: bool,
    /// Sum of the components that could be scored (only when incomplete).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial_total: Option<f64>,
    /// Range the total could still take (only when incomplete).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub possible_range: Option<PossibleRange>,
    /// Band code (lower-case); `None` when it cannot be determined.
    pub band: Option<String>,
    /// Clinical meaning of the band.
    pub band_meaning: Option<String>,
    /// Unit of `total` for continuous scores (e.g. "%", "mL/min/1.73m²").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Each item with its points: the explanation of the total.
    pub components: Vec<Component>,
    /// Input fields that were absent and prevented a complete score.
    pub missing: Vec<String>,
    /// `false` when the patient is outside the score's validated population.
    pub applicable: bool,
    /// Conventions applied, units supplied, assumptions and caveats.
    pub notes: Vec<String>,
    /// Source of the rules.
    pub reference: Reference,
}

/// Sums of an additive score over its components.
struct Sums {
    known: f64,
    max: f64,
    complete: bool,
}

fn sums(components: &[Component]) -> Sums {
    let known = components.iter().filter_map(|c| c.points).sum();
    let max = components
        .iter()
        .map(|c| c.points.unwrap_or(c.max_points))
        .sum();
    let complete = components.iter().all(|c| c.points.is_some());
    Sums {
        known,
        max,
        complete,
    }
}

/// Points per component when each missing one takes `fill(max_points)`.
fn scenario(components: &[Component], fill: impl Fn(f64) -> f64) -> Vec<f64> {
    components
        .iter()
        .map(|c| c.points.unwrap_or_else(|| fill(c.max_points)))
        .collect()
}

fn union_missing(components: &[Component]) -> Vec<String> {
    let mut missing: Vec<String> = Vec::new();
    for field in components.iter().flat_map(|c| c.missing.iter()) {
        if !missing.contains(field) {
            missing.push(field.clone());
        }
    }
    missing
}

impl ScoreResult {
    /// Builds the result of an additive score whose components score 0 at best.
    ///
    /// `band_of` maps the points of every component to a band; it is evaluated on the
    /// best case (missing → 0) and the worst case (missing → its maximum), and the band
    /// is reported while incomplete only if both agree.
    pub(crate) fn additive(
        score: &str,
        components: Vec<Component>,
        band_of: impl Fn(&[f64]) -> Band,
        reference: Reference,
    ) -> Self {
        let Sums {
            known,
            max,
            complete,
        } = sums(&components);
        let best = band_of(&scenario(&components, |_| 0.0));
        let worst = band_of(&scenario(&components, |m| m));
        let mut notes = Vec::new();
        // Equal codes at both extremes fix the band; the worst case's meaning is the
        // conservative one to show.
        let band = if complete || best.code == worst.code {
            if !complete {
                notes.push(format!(
                    "incomplete: total withheld, but every possible value of the missing inputs \
                     gives band `{}`",
                    worst.code
                ));
            }
            Some(if complete { best } else { worst })
        } else {
            notes.push(format!(
                "incomplete: total and band withheld; with the missing inputs the band would be \
                 at least `{}`",
                best.code
            ));
            None
        };
        Self {
            score: score.to_owned(),
            total: complete.then_some(known),
            complete,
            partial_total: (!complete).then_some(known),
            possible_range: (!complete).then_some(PossibleRange { min: known, max }),
            band_meaning: band.as_ref().map(|b| b.meaning.clone()),
            band: band.map(|b| b.code),
            unit: None,
            missing: union_missing(&components),
            components,
            applicable: true,
            notes,
            reference,
        }
    }

    /// Builds a result whose total is computed directly (not a sum of bounded items).
    pub(crate) fn computed(
        score: &str,
        total: Option<f64>,
        band: Option<Band>,
        components: Vec<Component>,
        reference: Reference,
    ) -> Self {
        Self {
            score: score.to_owned(),
            total,
            complete: total.is_some(),
            partial_total: None,
            possible_range: None,
            band_meaning: band.as_ref().map(|b| b.meaning.clone()),
            band: band.map(|b| b.code),
            unit: None,
            missing: union_missing(&components),
            components,
            applicable: true,
            notes: Vec::new(),
            reference,
        }
    }

    /// Builds the result of a continuous model (eGFR, Framingham): `value` is `None` when
    /// a needed input is missing.
    pub(crate) fn continuous(
        score: &str,
        value: Option<f64>,
        band: Option<Band>,
        unit: &str,
        components: Vec<Component>,
        reference: Reference,
    ) -> Self {
        let mut result = Self::computed(score, value, band, components, reference);
        result.unit = Some(unit.to_owned());
        result
    }

    /// Marks the patient as outside the validated population: no total, no band.
    pub(crate) fn not_applicable(mut self, why: String) -> Self {
        self.applicable = false;
        self.total = None;
        self.band = None;
        self.band_meaning = None;
        self.notes.push(format!("not applicable: {why}"));
        self
    }

    /// For scores without published bands: clears the band and states why.
    pub(crate) fn without_band(mut self, meaning: &str) -> Self {
        self.band = None;
        self.band_meaning = Some(meaning.to_owned());
        self.notes.retain(|n| !n.starts_with("incomplete:"));
        if !self.complete {
            self.notes.push(
                "incomplete: total withheld; partial_total covers only the items scored".to_owned(),
            );
        }
        self
    }

    pub(crate) fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub(crate) fn with_notes(mut self, notes: impl IntoIterator<Item = String>) -> Self {
        self.notes.extend(notes);
        self
    }
}

/// Sum of points, treating unscored components as absent (helper for band functions).
pub(crate) fn sum_points(points: &[f64]) -> f64 {
    points.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference() -> Reference {
        Reference {
            citation: "test".into(),
            rule_set: "test".into(),
        }
    }

    fn band(points: &[f64]) -> Band {
        if sum_points(points) >= 5.0 {
            Band::new("high", "")
        } else {
            Band::new("low", "")
        }
    }

    #[test]
    fn complete_components_give_a_total() {
        let comps = vec![
            Component::scored("a", &["a"], "1".into(), 1.0, 3.0, ""),
            Component::scored("b", &["b"], "2".into(), 2.0, 3.0, ""),
        ];
        let r = ScoreResult::additive("t", comps, band, reference());
        assert_eq!(r.total, Some(3.0));
        assert!(r.complete);
        assert_eq!(r.band.as_deref(), Some("low"));
        assert!(r.missing.is_empty());
    }

    #[test]
    fn missing_component_withholds_total_and_undetermined_band() {
        let comps = vec![
            Component::scored("a", &["a"], "1".into(), 1.0, 3.0, ""),
            Component::unscored("b", &["b"], &["b"], 3.0),
        ];
        let r = ScoreResult::additive("t", comps, band, reference());
        assert_eq!(r.total, None);
        assert_eq!(r.partial_total, Some(1.0));
        assert_eq!(r.possible_range, Some(PossibleRange { min: 1.0, max: 4.0 }));
        assert_eq!(r.band, Some("low".into()));
        assert_eq!(r.missing, vec!["b".to_string()]);
    }

    #[test]
    fn band_withheld_when_missing_could_change_it() {
        let comps = vec![
            Component::scored("a", &["a"], "3".into(), 3.0, 3.0, ""),
            Component::unscored("b", &["b"], &["b"], 3.0),
        ];
        let r = ScoreResult::additive("t", comps, band, reference());
        assert_eq!(r.band, None);
        assert_eq!(r.total, None);
    }
}
