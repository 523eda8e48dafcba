//! Extractive summary of an analysed note.

use serde::Serialize;

use crate::types::{Analysis, EntityType, Measurement};

/// A problem on the active list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub text: String,
    pub icd10: Option<String>,
}

/// Chief complaint, active problems with codes, pertinent negatives, medications, the latest
/// value of each vital sign, and the plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub chief_complaint: Option<String>,
    pub active_problems: Vec<Problem>,
    pub pertinent_negatives: Vec<String>,
    pub medications: Vec<String>,
    pub latest_vitals: Vec<Measurement>,
    pub plan: Option<String>,
}

const VITALS: &[&str] = &[
    "temperature",
    "pulse",
    "heart_rate",
    "respiratory_rate",
    "blood_pressure",
    "spo2",
    "mean_arterial_pressure",
    "weight",
];
const PLAN_SECTIONS: &[&str] = &[
    "诊疗计划",
    "治疗计划",
    "处理",
    "处理意见",
    "计划",
    "出院医嘱",
    "医嘱",
    "随访计划",
    "建议",
];

/// Builds the summary from the note and its analysis.
pub fn summarize(text: &str, analysis: &Analysis) -> Summary {
    let chars: Vec<char> = text.chars().collect();
    let body = |title: &[&str]| -> Option<String> {
        let s = analysis
            .sections
            .iter()
            .find(|s| title.contains(&s.title.as_str()))?;
        let raw: String = chars.get(s.start..s.end)?.iter().collect();
        let rest = raw.get(s.title.len()..).unwrap_or("");
        let rest = rest
            .trim_start_matches([':', '：', ' ', '\u{3000}', '\n'])
            .trim();
        (!rest.is_empty()).then(|| rest.to_string())
    };
    let mut s = Summary {
        chief_complaint: body(&["主诉"]),
        plan: body(PLAN_SECTIONS),
        ..Summary::default()
    };
    for e in &analysis.entities {
        match e.kind {
            EntityType::Dis
                if !e.negated
                    && !e.family
                    && !e.uncertain
                    && !e.historical
                    && !s.active_problems.iter().any(|p| p.text == e.text) =>
            {
                s.active_problems.push(Problem {
                    text: e.text.clone(),
                    icd10: e.icd10.clone(),
                });
            }
            EntityType::Dis | EntityType::Sym if e.negated && !e.family => {
                push_unique(&mut s.pertinent_negatives, &e.text);
            }
            EntityType::Dru => push_unique(&mut s.medications, &e.text),
            _ => {}
        }
    }
    for name in VITALS {
        if let Some(m) = analysis.measurements.iter().rev().find(|m| m.name == *name) {
            s.latest_vitals.push(m.clone());
        }
    }
    s
}

fn push_unique(v: &mut Vec<String>, t: &str) {
    if !v.iter().any(|x| x == t) {
        v.push(t.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_picks_the_parts() {
        let text = "主诉：发热3天。\n现病史：无胸痛，T 38.5℃，T 37.2℃。\n初步诊断：社区获得性肺炎\n诊疗计划：予头孢曲松抗感染。";
        let a = crate::test_engine().analyze(text);
        let s = summarize(text, &a);
        assert_eq!(s.chief_complaint.as_deref(), Some("发热3天。"));
        assert!(
            s.active_problems.iter().any(|p| p.text == "社区获得性肺炎"),
            "{s:?}"
        );
        assert_eq!(s.pertinent_negatives, vec!["胸痛".to_string()]);
        assert_eq!(s.medications, vec!["头孢曲松".to_string()]);
        assert_eq!(s.latest_vitals[0].value, "37.2");
        assert_eq!(s.plan.as_deref(), Some("予头孢曲松抗感染。"));
    }
}
