//! The headline figures of `shared/nlp-dev/score_nlp.py`, ported definition by definition
//! (documents keyed by `id`, spans with integer offsets and `end > start`, exact matches on
//! `(start, end, type)` keeping the first duplicate, overlap matches of the same type, Python
//! truthiness of assertion flags, NFKC + casefold units, float tuples for values), printed as
//! the scorer's last line: `{"name": value, …}` with floats rounded to 4 places.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use anyhow::Context;
use serde_json::{Value, json};
use unicode_normalization::UnicodeNormalization;

use crate::bad_input::BadInput;

pub fn run(gold_path: &Path) -> anyhow::Result<()> {
    let name = gold_path.display().to_string();
    let file = std::fs::File::open(gold_path).with_context(|| format!("opening {name}"))?;
    let notes = crate::nlp::read_notes(&mut std::io::BufReader::new(file), &name)?;
    let text = std::fs::read_to_string(gold_path)?;
    let gold = load(&text, &name)?;
    let engine = crate::nlp::engine()?;
    let mut system = Vec::new();
    for (id, text) in notes {
        let mut doc = serde_json::to_value(engine.analyze(&text))?;
        if let Some(obj) = doc.as_object_mut() {
            obj.insert("id".into(), id);
        }
        system.push(doc);
    }
    let system = index(system);
    println!("{}", headline_line(&headline(&gold, &system)));
    Ok(())
}

/// Documents by id (the JSON text of the id), the last of duplicates kept, in file order.
type Docs = Vec<(String, Value)>;

fn load(text: &str, name: &str) -> anyhow::Result<Docs> {
    let mut docs = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let doc: Value = serde_json::from_str(line)
            .map_err(|err| BadInput::new(format!("{name}:{}: invalid JSON ({err})", n + 1)))?;
        if doc.get("id").is_none() {
            return Err(BadInput::new(format!("{name}:{}: document without id", n + 1)).into());
        }
        docs.push(doc);
    }
    Ok(index(docs))
}

fn index(docs: Vec<Value>) -> Docs {
    let mut out: Docs = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    for doc in docs {
        let key = doc.get("id").map(Value::to_string).unwrap_or_default();
        match at.get(&key) {
            Some(&i) => {
                if let Some(slot) = out.get_mut(i) {
                    slot.1 = doc;
                }
            }
            None => {
                at.insert(key.clone(), out.len());
                out.push((key, doc));
            }
        }
    }
    out
}

fn find<'a>(docs: &'a Docs, id: &str) -> Option<&'a Value> {
    docs.iter().find(|(k, _)| k == id).map(|(_, d)| d)
}

#[derive(Clone, Copy)]
struct Span<'a> {
    start: i64,
    end: i64,
    value: &'a Value,
}

impl Span<'_> {
    fn get(&self, key: &str) -> &Value {
        self.value.get(key).unwrap_or(&Value::Null)
    }
}

fn spans<'a>(doc: Option<&'a Value>, layer: &str) -> Vec<Span<'a>> {
    let Some(list) = doc.and_then(|d| d.get(layer)).and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|sp| {
            let start = sp.get("start")?.as_i64()?;
            let end = sp.get("end")?.as_i64()?;
            (end > start).then_some(Span {
                start,
                end,
                value: sp,
            })
        })
        .collect()
}

fn overlap(a: &Span, b: &Span) -> bool {
    a.start < b.end && b.start < a.end
}

fn prf(tp_p: usize, n_sys: usize, tp_r: usize, n_gold: usize) -> (f64, f64, f64) {
    let p = if n_sys > 0 {
        tp_p as f64 / n_sys as f64
    } else if n_gold == 0 {
        1.0
    } else {
        0.0
    };
    let r = if n_gold > 0 {
        tp_r as f64 / n_gold as f64
    } else if n_sys == 0 {
        1.0
    } else {
        0.0
    };
    let f = if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    };
    (p, r, f)
}

fn ratio(a: usize, n: usize) -> Option<f64> {
    (n > 0).then(|| a as f64 / n as f64)
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Micro counts of exact and overlap matching, and the exactly matched pairs.
#[derive(Default)]
struct Matching<'a> {
    gold: usize,
    sys: usize,
    tp_exact: usize,
    gold_overlap: usize,
    sys_overlap: usize,
    pairs: Vec<(Span<'a>, Span<'a>)>,
}

impl Matching<'_> {
    fn exact(&self) -> (f64, f64, f64) {
        prf(self.tp_exact, self.sys, self.tp_exact, self.gold)
    }
    fn relaxed(&self) -> (f64, f64, f64) {
        prf(self.sys_overlap, self.sys, self.gold_overlap, self.gold)
    }
}

fn exact_and_relaxed<'a>(gold: &'a Docs, system: &'a Docs, layer: &str) -> Matching<'a> {
    let mut m = Matching::default();
    for (id, g) in gold {
        let s = find(system, id);
        let (gs, ss) = (spans(Some(g), layer), spans(s, layer));
        let mut sys_index: Vec<((i64, i64, String), Span)> = Vec::new();
        let mut seen = HashSet::new();
        for sp in &ss {
            let key = (sp.start, sp.end, sp.get("type").to_string());
            if seen.insert(key.clone()) {
                sys_index.push((key, *sp));
            }
        }
        let lookup: HashMap<&(i64, i64, String), &Span> =
            sys_index.iter().map(|(k, s)| (k, s)).collect();
        for sp in &gs {
            let t = sp.get("type");
            let key = (sp.start, sp.end, t.to_string());
            m.gold += 1;
            if let Some(hit) = lookup.get(&key) {
                m.tp_exact += 1;
                m.pairs.push((*sp, **hit));
            }
            if ss.iter().any(|x| overlap(sp, x) && x.get("type") == t) {
                m.gold_overlap += 1;
            }
        }
        for (_, sp) in &sys_index {
            m.sys += 1;
            let t = sp.get("type");
            if gs.iter().any(|x| overlap(sp, x) && x.get("type") == t) {
                m.sys_overlap += 1;
            }
        }
    }
    m
}

fn fw2ascii(s: &str) -> String {
    s.chars()
        .map(|ch| match u32::from(ch) {
            o @ 0xFF01..=0xFF5E => char::from_u32(o - 0xFEE0).unwrap_or(ch),
            0x3000 => ' ',
            _ => ch,
        })
        .collect()
}

fn py_str(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[derive(PartialEq)]
enum NormValue {
    Numbers(Vec<f64>),
    Text(String),
}

fn norm_value(v: &Value) -> NormValue {
    let v: String = fw2ascii(&py_str(v))
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let numbers: Result<Vec<f64>, _> = v.split('/').map(str::parse::<f64>).collect();
    match numbers {
        Ok(n) => NormValue::Numbers(n),
        Err(_) => NormValue::Text(v.to_lowercase()),
    }
}

fn norm_unit(v: &Value) -> String {
    let u: String = py_str(v)
        .nfkc()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_lowercase();
    u.replace(['μ', 'µ'], "u")
}

fn norm_icd(v: &Value) -> String {
    if !truthy(v) {
        return String::new();
    }
    py_str(v)
        .to_uppercase()
        .chars()
        .filter(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        .collect()
}

fn prefix3(s: &str) -> String {
    s.chars().take(3).collect()
}

fn headline(gold: &Docs, system: &Docs) -> Vec<(&'static str, Option<f64>)> {
    let ent = exact_and_relaxed(gold, system, "entities");
    let phi = exact_and_relaxed(gold, system, "phi");

    // Assertions and ICD-10 on exactly matched entities.
    let assert_pairs: Vec<_> = ent
        .pairs
        .iter()
        .filter(|(g, _)| matches!(g.get("type").as_str(), Some("dis" | "sym")))
        .collect();
    let accuracy = |attr: &str| {
        let correct = assert_pairs
            .iter()
            .filter(|(g, s)| truthy(g.get(attr)) == truthy(s.get(attr)))
            .count();
        ratio(correct, assert_pairs.len())
    };
    let icd: Vec<_> = ent
        .pairs
        .iter()
        .filter(|(g, _)| g.get("type").as_str() == Some("dis") && truthy(g.get("icd10")))
        .collect();
    let icd_ok = icd
        .iter()
        .filter(|(g, s)| prefix3(&norm_icd(s.get("icd10"))) == prefix3(&norm_icd(g.get("icd10"))))
        .count();

    // Measurements.
    let (mut n_gold, mut n_sys, mut tp, mut both_ok) = (0, 0, 0, 0);
    for (id, g) in gold {
        let gs = spans(Some(g), "measurements");
        let ss = spans(find(system, id), "measurements");
        let mut idx: BTreeMap<(i64, i64), Span> = BTreeMap::new();
        for sp in &ss {
            idx.entry((sp.start, sp.end)).or_insert(*sp);
        }
        n_gold += gs.len();
        n_sys += idx.len();
        for sp in &gs {
            let Some(m) = idx.get(&(sp.start, sp.end)) else {
                continue;
            };
            tp += 1;
            let v = norm_value(sp.get("value")) == norm_value(m.get("value"));
            let u = norm_unit(sp.get("unit")) == norm_unit(m.get("unit"));
            both_ok += usize::from(v && u);
        }
    }

    // PHI without types, and de-identification recall.
    let (mut hit_all, mut gold_all, mut deid_gold, mut deid_hit) = (0, 0, 0, 0);
    for (id, g) in gold {
        let gs = spans(Some(g), "phi");
        let ss = spans(find(system, id), "phi");
        for sp in &gs {
            let hit = ss.iter().any(|x| overlap(sp, x));
            gold_all += 1;
            hit_all += usize::from(hit);
            let keepable = sp.get("type").as_str() == Some("AGE") && sp.get("phi") == &json!(false);
            if !keepable {
                deid_gold += 1;
                deid_hit += usize::from(hit);
            }
        }
    }
    let untyped_r = prf(0, 0, hit_all, gold_all).1;

    vec![
        ("entity_exact_micro_f1", Some(ent.exact().2)),
        ("entity_relaxed_micro_f1", Some(ent.relaxed().2)),
        ("assertion_accuracy_negated", accuracy("negated")),
        ("assertion_accuracy_uncertain", accuracy("uncertain")),
        ("assertion_accuracy_historical", accuracy("historical")),
        ("assertion_accuracy_family", accuracy("family")),
        ("measurement_span_f1", Some(prf(tp, n_sys, tp, n_gold).2)),
        ("measurement_value_unit_accuracy", ratio(both_ok, tp)),
        (
            "measurement_strict_f1",
            Some(prf(both_ok, n_sys, both_ok, n_gold).2),
        ),
        ("phi_exact_micro_f1", Some(phi.exact().2)),
        ("phi_overlap_micro_f1", Some(phi.relaxed().2)),
        ("phi_overlap_recall", Some(phi.relaxed().1)),
        ("phi_overlap_recall_untyped", Some(untyped_r)),
        ("phi_deid_recall_overlap", ratio(deid_hit, deid_gold)),
        ("icd10_accuracy_3char", ratio(icd_ok, icd.len())),
    ]
}

/// `json.dumps({k: round(v, 4)})` as Python prints it.
fn headline_line(figures: &[(&str, Option<f64>)]) -> String {
    let fields: Vec<String> = figures
        .iter()
        .map(|(k, v)| {
            let value = match v {
                None => "null".to_owned(),
                Some(v) => {
                    let rounded: f64 = format!("{v:.4}").parse().unwrap_or(*v);
                    let text = rounded.to_string();
                    if text.contains('.') || text.contains('e') {
                        text
                    } else {
                        format!("{text}.0")
                    }
                }
            };
            format!("\"{k}\": {value}")
        })
        .collect();
    format!("{{{}}}", fields.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_print_like_python() {
        let line = headline_line(&[
            ("a", Some(1.0)),
            ("b", None),
            ("c", Some(0.853_249_9)),
            ("d", Some(0.0)),
        ]);
        assert_eq!(line, r#"{"a": 1.0, "b": null, "c": 0.8532, "d": 0.0}"#);
    }

    #[test]
    fn gold_against_itself_scores_one() {
        let doc = json!({"id": "x", "text": "发热", "entities": [{"start": 0, "end": 2, "type": "sym", "negated": true}],
            "measurements": [{"start": 0, "end": 1, "value": "1", "unit": "μg"}],
            "phi": [{"start": 0, "end": 1, "type": "AGE", "phi": false}]});
        let gold = index(vec![doc.clone()]);
        let figures = headline(&gold, &index(vec![doc]));
        for (name, v) in figures {
            assert!(v.is_none() || v == Some(1.0), "{name} {v:?}");
        }
    }
}
