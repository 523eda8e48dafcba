//! Search: the parameters `/fhir/r4` understands, parsed from a query string into typed
//! bounds ([`SearchQuery`]), and the values a stored resource is indexed by
//! ([`SearchValues`]), so that a store can keep them in typed, indexed columns.

use serde_json::Value;
use time::OffsetDateTime;

use crate::datetime::{DateKind, DateRange, FhirDate};
use crate::definitions::ResourceType;
use crate::outcome::{Issue, IssueCode};
use crate::validate::{Invalid, id_ok};

/// Page size when `_count` is absent, and the largest accepted.
pub const DEFAULT_COUNT: u32 = 20;
pub const MAX_COUNT: u32 = 200;

/// Most comma-separated alternatives one parameter may carry; each is a condition of the
/// search SQL, so the bound keeps a query's size and cost small.
pub const MAX_ALTERNATIVES: usize = 20;

/// A token search value: `code`, `system|code`, `system|` or `|code` (no system, stored as
/// the empty system). `\|`, `\,`, `\$` and `\\` stand for the character itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenValue {
    pub system: Option<String>,
    pub code: Option<String>,
}

impl TokenValue {
    pub fn parse(text: &str) -> Option<TokenValue> {
        let parts = split_unescaped(text, '|');
        let value = match parts.as_slice() {
            [code] => TokenValue {
                system: None,
                code: Some(unescape(code)),
            },
            [system, code] => TokenValue {
                system: Some(unescape(system)),
                code: (!code.is_empty()).then(|| unescape(code)),
            },
            _ => return None,
        };
        (value.code.is_some() || value.system.as_deref().is_some_and(|s| !s.is_empty()))
            .then_some(value)
    }
}

/// Which token parameter a token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenParam {
    Code,
    Category,
}

impl TokenParam {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenParam::Code => "code",
            TokenParam::Category => "category",
        }
    }
}

/// Bounds on a resource's date range `[start, end)`, each optional; every one present must
/// hold. `eq`, `ge`, `gt`, `le` and `lt` all reduce to these four.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DateBounds {
    /// `start >= this`
    pub start_from: Option<OffsetDateTime>,
    /// `start < this`
    pub start_before: Option<OffsetDateTime>,
    /// `end > this`
    pub end_after: Option<OffsetDateTime>,
    /// `end <= this`
    pub end_until: Option<OffsetDateTime>,
}

impl DateBounds {
    pub fn is_empty(&self) -> bool {
        *self == DateBounds::default()
    }
}

/// Bounds on `meta.lastUpdated` (an instant): `from <= t < before`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InstantBounds {
    pub from: Option<OffsetDateTime>,
    pub before: Option<OffsetDateTime>,
}

/// How a searchset is ordered (always with the id as tie-breaker, for stable paging).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    #[default]
    LastUpdated,
    LastUpdatedDesc,
    Date,
    DateDesc,
}

impl Sort {
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::LastUpdated => "_lastUpdated",
            Sort::LastUpdatedDesc => "-_lastUpdated",
            Sort::Date => "date",
            Sort::DateDesc => "-date",
        }
    }
}

/// A parsed search of one resource type. A list holds a parameter's comma-separated
/// alternatives, any of which may match; an empty list does not constrain.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchQuery {
    pub ids: Vec<String>,
    /// The patient's id (`patient=` or `subject=`, with or without `Patient/`).
    pub patient: Option<String>,
    pub code: Vec<TokenValue>,
    pub category: Vec<TokenValue>,
    pub status: Vec<String>,
    pub date: DateBounds,
    pub last_updated: InstantBounds,
    pub count: u32,
    pub offset: u32,
    pub sort: Sort,
    /// `_include=<Type>:patient` (or `:subject`): add the patient to the Bundle.
    pub include_patient: bool,
    /// `identifier=system|value` (Patient, Practitioner).
    pub identifier: Vec<TokenValue>,
}

/// The search parameters a type supports besides `_id`, `_lastUpdated` and the result
/// parameters; what the CapabilityStatement advertises.
pub fn search_params(kind: ResourceType) -> &'static [(&'static str, &'static str)] {
    use ResourceType as R;
    const PATIENT: (&str, &str) = ("patient", "reference");
    const SUBJECT: (&str, &str) = ("subject", "reference");
    const CODE: (&str, &str) = ("code", "token");
    const DATE: (&str, &str) = ("date", "date");
    const CATEGORY: (&str, &str) = ("category", "token");
    const STATUS: (&str, &str) = ("status", "token");
    match kind {
        R::Observation | R::Condition | R::DiagnosticReport => {
            &[PATIENT, SUBJECT, CODE, DATE, CATEGORY, STATUS]
        }
        R::MedicationStatement => &[PATIENT, SUBJECT, CODE, DATE, CATEGORY, STATUS],
        R::AllergyIntolerance => &[PATIENT, CODE, DATE, CATEGORY, STATUS],
        R::DocumentReference => &[PATIENT, SUBJECT, ("type", "token"), DATE, CATEGORY, STATUS],
        R::Encounter => &[PATIENT, SUBJECT, ("type", "token"), DATE, STATUS],
        R::Provenance => &[PATIENT, DATE],
        R::Consent => &[PATIENT, STATUS],
        R::AuditEvent => &[PATIENT, DATE],
        R::Patient | R::Practitioner => &[("identifier", "token")],
    }
}

fn bad(code: IssueCode, message: impl Into<String>, name: &str) -> Invalid {
    Invalid::one(Issue::new(code, message).at(name.to_owned()))
}

/// A parameter given twice would mean AND, which only dates (a range from two bounds)
/// support here; rather than answer for one of the values, a repeat is refused.
/// `patient`/`subject` and `code`/`type` name one parameter.
fn refuse_repeat<'a>(seen: &mut Vec<&'a str>, name: &'a str) -> Result<(), Invalid> {
    let canonical = match name {
        "date" | "_lastUpdated" | "_format" | "_pretty" | "_summary" => return Ok(()),
        "subject" => "patient",
        "type" => "code",
        other => other,
    };
    if seen.contains(&canonical) {
        return Err(bad(
            IssueCode::NotSupported,
            format!("give `{canonical}` once; separate alternatives with commas"),
            name,
        ));
    }
    seen.push(canonical);
    Ok(())
}

impl SearchQuery {
    /// Parses `name=value` pairs (already percent-decoded). An unknown or unsupported
    /// parameter is refused rather than ignored, so a client never gets a broader result
    /// than it asked for.
    pub fn parse(kind: ResourceType, pairs: &[(String, String)]) -> Result<SearchQuery, Invalid> {
        let mut query = SearchQuery {
            count: DEFAULT_COUNT,
            ..SearchQuery::default()
        };
        let supported = search_params(kind);
        let mut seen: Vec<&str> = Vec::with_capacity(pairs.len());
        for (name, value) in pairs {
            let known = |param: &str| supported.iter().any(|(n, _)| *n == param);
            refuse_repeat(&mut seen, name)?;
            match name.as_str() {
                "_format" | "_pretty" | "_summary" if !value.is_empty() => {}
                "_id" => {
                    query.ids = alternatives(value, name)?
                        .into_iter()
                        .map(|id| {
                            let id = unescape(id);
                            id_ok(&id)
                                .then_some(id)
                                .ok_or_else(|| bad(IssueCode::Value, "_id must be a FHIR id", name))
                        })
                        .collect::<Result<_, _>>()?;
                }
                "_count" => {
                    query.count = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=MAX_COUNT).contains(n))
                        .ok_or_else(|| {
                            bad(
                                IssueCode::Value,
                                format!("_count must be between 1 and {MAX_COUNT}"),
                                name,
                            )
                        })?;
                }
                "_offset" => {
                    query.offset = value.parse().map_err(|_| {
                        bad(IssueCode::Value, "_offset must be a whole number", name)
                    })?;
                }
                "_sort" => {
                    query.sort = match value.as_str() {
                        "_lastUpdated" => Sort::LastUpdated,
                        "-_lastUpdated" => Sort::LastUpdatedDesc,
                        "date" if known("date") => Sort::Date,
                        "-date" if known("date") => Sort::DateDesc,
                        _ => {
                            return Err(bad(
                                IssueCode::NotSupported,
                                "_sort supports _lastUpdated, -_lastUpdated, date and -date",
                                name,
                            ));
                        }
                    };
                }
                "_include" => {
                    let target = value.split(':').nth(1);
                    if !matches!(target, Some("patient" | "subject"))
                        || !value.starts_with(kind.as_str())
                    {
                        return Err(bad(
                            IssueCode::NotSupported,
                            format!("only _include={kind}:patient is supported"),
                            name,
                        ));
                    }
                    query.include_patient = true;
                }
                "_lastUpdated" => {
                    let (prefix, range) = date_value(value, name)?;
                    narrow_instant(&mut query.last_updated, prefix, range);
                }
                "patient" | "subject" if known(name) => {
                    let id = value.strip_prefix("Patient/").unwrap_or(value);
                    if !id_ok(id) {
                        return Err(bad(
                            IssueCode::Value,
                            "expected a Patient id or Patient/<id>",
                            name,
                        ));
                    }
                    query.patient = Some(id.to_owned());
                }
                "code" | "type" if known(name) => query.code = tokens(value, name)?,
                "category" if known(name) => query.category = tokens(value, name)?,
                "identifier" if known(name) => query.identifier = tokens(value, name)?,
                "status" if known(name) => {
                    query.status = alternatives(value, name)?
                        .into_iter()
                        .map(unescape)
                        .collect();
                }
                "date" if known(name) => {
                    let (prefix, range) = date_value(value, name)?;
                    narrow_date(&mut query.date, prefix, range);
                }
                other => {
                    return Err(bad(
                        IssueCode::NotSupported,
                        format!(
                            "search parameter `{}` is not supported for {kind}",
                            other.chars().take(60).collect::<String>()
                        ),
                        other,
                    ));
                }
            }
        }
        Ok(query)
    }
}

/// A value's comma-separated alternatives (FHIR's OR), escapes kept: at least one, at most
/// [`MAX_ALTERNATIVES`], none empty.
fn alternatives<'a>(value: &'a str, name: &str) -> Result<Vec<&'a str>, Invalid> {
    let parts = split_unescaped(value, ',');
    if parts.len() > MAX_ALTERNATIVES {
        return Err(bad(
            IssueCode::TooCostly,
            format!("{name} takes at most {MAX_ALTERNATIVES} comma-separated values"),
            name,
        ));
    }
    if parts.iter().any(|part| part.is_empty()) {
        return Err(bad(
            IssueCode::Value,
            format!("{name} has an empty value"),
            name,
        ));
    }
    Ok(parts)
}

fn tokens(value: &str, name: &str) -> Result<Vec<TokenValue>, Invalid> {
    alternatives(value, name)?
        .into_iter()
        .map(|text| {
            TokenValue::parse(text).ok_or_else(|| {
                bad(
                    IssueCode::Value,
                    "expected code, system|code or system| (comma-separated for any of them)",
                    name,
                )
            })
        })
        .collect()
}

/// Splits at each `separator` not escaped by a backslash; escapes stay in the parts.
fn split_unescaped(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (at, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            _ if c == separator => {
                parts.push(&text[start..at]);
                start = at + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// FHIR's search escapes: `\,`, `\|`, `\$` and `\\` are the character itself; any other
/// backslash is kept.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some(&next @ (',' | '|' | '$' | '\\'))) => {
                out.push(next);
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prefix {
    Eq,
    Gt,
    Ge,
    Lt,
    Le,
}

fn date_value(value: &str, name: &str) -> Result<(Prefix, DateRange), Invalid> {
    let (prefix, rest) = match value.get(..2) {
        Some("eq") => (Prefix::Eq, &value[2..]),
        Some("gt") => (Prefix::Gt, &value[2..]),
        Some("ge") => (Prefix::Ge, &value[2..]),
        Some("lt") => (Prefix::Lt, &value[2..]),
        Some("le") => (Prefix::Le, &value[2..]),
        Some(p) if p.chars().all(|c| c.is_ascii_lowercase()) => {
            return Err(bad(
                IssueCode::NotSupported,
                "date prefixes supported: eq, ge, le, gt, lt",
                name,
            ));
        }
        _ => (Prefix::Eq, value),
    };
    let date = FhirDate::parse(rest, DateKind::DateTime).ok_or_else(|| {
        bad(
            IssueCode::Value,
            "expected [prefix]YYYY[-MM[-DD[Thh:mm:ss+zz:zz]]], an existing date",
            name,
        )
    })?;
    Ok((prefix, date.range()))
}

fn later(a: Option<OffsetDateTime>, b: OffsetDateTime) -> Option<OffsetDateTime> {
    Some(a.map_or(b, |a| a.max(b)))
}
fn earlier(a: Option<OffsetDateTime>, b: OffsetDateTime) -> Option<OffsetDateTime> {
    Some(a.map_or(b, |a| a.min(b)))
}

/// FHIR's rules for a ranged target: `eq` = contained in the value's range, `gt` = ends
/// after it, `ge` = overlaps it or later, `lt` = starts before it, `le` = starts before its
/// end.
fn narrow_date(bounds: &mut DateBounds, prefix: Prefix, value: DateRange) {
    match prefix {
        Prefix::Eq => {
            bounds.start_from = later(bounds.start_from, value.start);
            bounds.end_until = earlier(bounds.end_until, value.end);
        }
        Prefix::Gt => bounds.end_after = later(bounds.end_after, value.end),
        Prefix::Ge => bounds.end_after = later(bounds.end_after, value.start),
        Prefix::Lt => bounds.start_before = earlier(bounds.start_before, value.start),
        Prefix::Le => bounds.start_before = earlier(bounds.start_before, value.end),
    }
}

fn narrow_instant(bounds: &mut InstantBounds, prefix: Prefix, value: DateRange) {
    match prefix {
        Prefix::Eq => {
            bounds.from = later(bounds.from, value.start);
            bounds.before = earlier(bounds.before, value.end);
        }
        Prefix::Gt => bounds.from = later(bounds.from, value.end),
        Prefix::Ge => bounds.from = later(bounds.from, value.start),
        Prefix::Lt => bounds.before = earlier(bounds.before, value.start),
        Prefix::Le => bounds.before = earlier(bounds.before, value.end),
    }
}

/// What a stored resource is found by.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchValues {
    /// The id in the resource's patient reference (`Patient/<id>`), if any.
    pub patient: Option<String>,
    pub status: Option<String>,
    pub date: Option<DateRange>,
    pub tokens: Vec<(TokenParam, TokenValue)>,
}

impl SearchValues {
    /// Extracts the indexed values of a (validated) resource of type `kind`.
    pub fn of(kind: ResourceType, resource: &Value) -> SearchValues {
        use ResourceType as R;
        let patient = kind
            .patient_element()
            .and_then(|element| patient_id(&resource[element]));
        let status = match kind {
            R::Condition | R::AllergyIntolerance => resource["clinicalStatus"]["coding"][0]["code"]
                .as_str()
                .map(str::to_owned),
            _ => resource["status"].as_str().map(str::to_owned),
        };
        let date = match kind {
            R::Observation | R::MedicationStatement | R::DiagnosticReport => {
                choice_range(resource, "effective")
            }
            R::Condition => {
                choice_range(resource, "onset").or_else(|| date_range(&resource["recordedDate"]))
            }
            R::AllergyIntolerance => date_range(&resource["recordedDate"]),
            R::Encounter => period_range(&resource["period"]),
            R::DocumentReference => date_range(&resource["date"]),
            R::Provenance => date_range(&resource["recorded"]),
            _ => None,
        };
        let mut tokens = Vec::new();
        let code_element = match kind {
            R::MedicationStatement => "medicationCodeableConcept",
            R::DocumentReference | R::Encounter => "type",
            _ => "code",
        };
        for concept in items(&resource[code_element]) {
            codings(concept, TokenParam::Code, &mut tokens);
        }
        for category in items(&resource["category"]) {
            match category.as_str() {
                // AllergyIntolerance.category is a plain code.
                Some(code) => tokens.push((
                    TokenParam::Category,
                    TokenValue {
                        system: Some(String::new()),
                        code: Some(code.to_owned()),
                    },
                )),
                None => codings(category, TokenParam::Category, &mut tokens),
            }
        }
        SearchValues {
            patient,
            status,
            date,
            tokens,
        }
    }
}

/// The id of a `Patient/<id>` reference.
pub fn patient_id(reference: &Value) -> Option<String> {
    let text = reference["reference"].as_str()?;
    let id = text.strip_prefix("Patient/")?;
    id_ok(id).then(|| id.to_owned())
}

fn items(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

fn codings(concept: &Value, param: TokenParam, out: &mut Vec<(TokenParam, TokenValue)>) {
    for coding in items(&concept["coding"]) {
        if let Some(code) = coding["code"].as_str() {
            out.push((
                param,
                TokenValue {
                    system: Some(coding["system"].as_str().unwrap_or_default().to_owned()),
                    code: Some(code.to_owned()),
                },
            ));
        }
    }
}

fn choice_range(resource: &Value, name: &str) -> Option<DateRange> {
    date_range(&resource[format!("{name}DateTime")])
        .or_else(|| date_range(&resource[format!("{name}Instant")]))
        .or_else(|| period_range(&resource[format!("{name}Period")]))
}

fn date_range(value: &Value) -> Option<DateRange> {
    FhirDate::parse(value.as_str()?, DateKind::DateTime).map(FhirDate::range)
}

/// A period with an open end reaches to the edge of time.
fn period_range(value: &Value) -> Option<DateRange> {
    let start = date_range(&value["start"]);
    let end = date_range(&value["end"]);
    if start.is_none() && end.is_none() {
        return None;
    }
    Some(DateRange {
        start: start.map_or(edge(1), |r| r.start),
        end: end.map_or(edge(9999), |r| r.end),
    })
}

fn edge(year: i32) -> OffsetDateTime {
    FhirDate::Year(year).range().start
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::datetime::instant_text;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn parses_the_supported_parameters() {
        let query = SearchQuery::parse(
            ResourceType::Observation,
            &pairs(&[
                ("subject", "Patient/p-1"),
                ("code", "http://loinc.org|8867-4"),
                ("category", "vital-signs"),
                ("status", "final"),
                ("date", "ge2024-01"),
                ("date", "lt2024-03-01"),
                ("_count", "5"),
                ("_sort", "-date"),
                ("_include", "Observation:patient"),
            ]),
        )
        .unwrap();
        assert_eq!(query.patient.as_deref(), Some("p-1"));
        assert_eq!(
            query.code,
            [TokenValue {
                system: Some("http://loinc.org".into()),
                code: Some("8867-4".into())
            }]
        );
        assert_eq!(query.category[0].system, None);
        assert_eq!(query.status, ["final"]);
        assert_eq!(
            instant_text(query.date.end_after.unwrap()),
            "2024-01-01T00:00:00Z"
        );
        assert_eq!(
            instant_text(query.date.start_before.unwrap()),
            "2024-03-01T00:00:00Z"
        );
        assert_eq!(
            (query.count, query.sort, query.include_patient),
            (5, Sort::DateDesc, true)
        );
    }

    #[test]
    fn refuses_what_it_does_not_support() {
        for (name, value) in [
            ("date", "sa2024"),
            ("date", "2024-02-30"),
            ("_count", "0"),
            ("_count", "100000"),
            ("_sort", "code"),
            ("bogus", "1"),
            ("code", "a,,b"),
            ("code", "a,"),
            ("code", "a|b|c"),
            ("status", ""),
            ("status", "final,"),
            ("_id", "ok,not an id"),
            ("_include", "Observation:performer"),
            ("subject", "Patient/a b"),
        ] {
            assert!(
                SearchQuery::parse(ResourceType::Observation, &pairs(&[(name, value)])).is_err(),
                "{name}={value}"
            );
        }
        assert!(
            SearchQuery::parse(
                ResourceType::AllergyIntolerance,
                &pairs(&[("subject", "p")])
            )
            .is_err()
        );
    }

    fn token(system: Option<&str>, code: Option<&str>) -> TokenValue {
        TokenValue {
            system: system.map(str::to_owned),
            code: code.map(str::to_owned),
        }
    }

    #[test]
    fn commas_separate_alternatives_any_of_which_matches() {
        let query = SearchQuery::parse(
            ResourceType::Observation,
            &pairs(&[
                ("code", "http://loinc.org|8867-4,http://loinc.org|8480-6"),
                ("category", "vital-signs,|laboratory,http://x.org|"),
                ("status", "final,amended"),
                ("_id", "a-1,b-2"),
            ]),
        )
        .unwrap();
        assert_eq!(
            query.code,
            [
                token(Some("http://loinc.org"), Some("8867-4")),
                token(Some("http://loinc.org"), Some("8480-6")),
            ]
        );
        assert_eq!(
            query.category,
            [
                token(None, Some("vital-signs")),
                token(Some(""), Some("laboratory")),
                token(Some("http://x.org"), None),
            ]
        );
        assert_eq!(query.status, ["final", "amended"]);
        assert_eq!(query.ids, ["a-1", "b-2"]);
    }

    #[test]
    fn an_escaped_comma_or_bar_is_part_of_the_value() {
        let query = SearchQuery::parse(
            ResourceType::Observation,
            &pairs(&[
                ("code", r"urn:x\|y|a\,b,c\\"),
                ("status", r"final\,amended"),
            ]),
        )
        .unwrap();
        assert_eq!(
            query.code,
            [
                token(Some(r"urn:x|y"), Some("a,b")),
                token(None, Some(r"c\"))
            ]
        );
        assert_eq!(query.status, ["final,amended"]);
    }

    #[test]
    fn more_than_the_most_alternatives_are_refused_naming_the_parameter() {
        let most = vec!["final"; MAX_ALTERNATIVES].join(",");
        let query =
            SearchQuery::parse(ResourceType::Observation, &pairs(&[("status", &most)])).unwrap();
        assert_eq!(query.status.len(), MAX_ALTERNATIVES);
        for name in ["code", "category", "status", "_id"] {
            let too_many = vec!["x"; MAX_ALTERNATIVES + 1].join(",");
            let err = SearchQuery::parse(ResourceType::Observation, &pairs(&[(name, &too_many)]))
                .unwrap_err();
            assert_eq!(err.issues[0].code, IssueCode::TooCostly, "{name}");
            assert_eq!(err.issues[0].expression.as_deref(), Some(name));
            assert!(err.issues[0].diagnostics.starts_with(name), "{name}");
        }
    }

    #[test]
    fn a_repeated_parameter_is_refused_but_date_bounds_combine() {
        let observation = ResourceType::Observation;
        let document = ResourceType::DocumentReference;
        for (kind, repeat) in [
            (observation, [("code", "8867-4"), ("code", "8480-6")]),
            (document, [("type", "34108-1"), ("type", "11506-3")]),
            (observation, [("patient", "a"), ("subject", "Patient/b")]),
            (observation, [("status", "final"), ("status", "amended")]),
            (observation, [("_count", "5"), ("_count", "50")]),
        ] {
            let err = SearchQuery::parse(kind, &pairs(&repeat)).unwrap_err();
            assert_eq!(err.issues[0].code, IssueCode::NotSupported, "{repeat:?}");
            assert_eq!(err.issues[0].expression.as_deref(), Some(repeat[1].0));
        }
        let range = [("date", "ge2024-01-01"), ("date", "lt2024-07-01")];
        let query = SearchQuery::parse(ResourceType::Observation, &pairs(&range)).unwrap();
        assert!(query.date.end_after.is_some() || query.date.start_from.is_some());
        assert!(query.date.start_before.is_some() || query.date.end_until.is_some());
    }

    #[test]
    fn eq_means_contained_and_ge_means_overlapping() {
        let eq =
            SearchQuery::parse(ResourceType::Observation, &pairs(&[("date", "2024-02")])).unwrap();
        assert_eq!(
            instant_text(eq.date.start_from.unwrap()),
            "2024-02-01T00:00:00Z"
        );
        assert_eq!(
            instant_text(eq.date.end_until.unwrap()),
            "2024-03-01T00:00:00Z"
        );
        let le = SearchQuery::parse(ResourceType::Observation, &pairs(&[("date", "le2024-02")]))
            .unwrap();
        assert_eq!(
            instant_text(le.date.start_before.unwrap()),
            "2024-03-01T00:00:00Z"
        );
    }

    #[test]
    fn extracts_patient_status_date_and_tokens() {
        let observation = json!({
            "resourceType": "Observation", "status": "final",
            "subject": {"reference": "Patient/p-1"},
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}, {"code": "hr"}]},
            "effectivePeriod": {"start": "2024-01-05"}
        });
        let values = SearchValues::of(ResourceType::Observation, &observation);
        assert_eq!(values.patient.as_deref(), Some("p-1"));
        assert_eq!(values.status.as_deref(), Some("final"));
        let date = values.date.unwrap();
        assert_eq!(instant_text(date.start), "2024-01-05T00:00:00Z");
        assert_eq!(instant_text(date.end), "9999-01-01T00:00:00Z");
        assert_eq!(values.tokens.len(), 3);
        assert_eq!(values.tokens[1].1.system.as_deref(), Some(""));
        let allergy = json!({"resourceType": "AllergyIntolerance", "patient": {"reference": "Patient/p-2"}, "category": ["food"],
            "clinicalStatus": {"coding": [{"system": "x:y", "code": "active"}]}});
        let values = SearchValues::of(ResourceType::AllergyIntolerance, &allergy);
        assert_eq!(
            (values.patient.as_deref(), values.status.as_deref()),
            (Some("p-2"), Some("active"))
        );
        assert_eq!(values.tokens[0].0, TokenParam::Category);
    }
}
