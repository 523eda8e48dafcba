//! Full-domain generalisation of the quasi-identifiers of a research export until every
//! combination of them is shared by at least k rows. The ladder coarsens age, region and
//! date together; at each step rows still in groups smaller than k would be suppressed, and
//! the first step that suppresses at most [`MAX_SUPPRESSED_PERCENT`] of the rows wins (the
//! last step suppresses whatever remains). Pure: no I/O.

use std::collections::BTreeMap;

use meditrustal_domain::{RegionCode, Sex};
use serde::Serialize;
use time::Date;

/// A step may suppress at most this share of the rows.
pub const MAX_SUPPRESSED_PERCENT: usize = 5;

/// One person's quasi-identifiers before generalisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuasiIdentifiers {
    pub age: Option<i32>,
    pub sex: Option<Sex>,
    pub region: Option<RegionCode>,
    /// Already shifted per patient.
    pub index_date: Option<Date>,
}

/// Generalised quasi-identifiers, as written to the export.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Generalised {
    pub age: String,
    pub sex: String,
    pub region: String,
    pub index_date: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DatePrecision {
    Month,
    Quarter,
    Year,
    Hidden,
}

/// One step of the ladder.
#[derive(Debug, Clone, Copy)]
struct Level {
    /// Width of age bands in years; 0 hides age.
    age_band: i32,
    /// Digits of the region code kept (6, 4, 2 or 0).
    region_digits: usize,
    date: DatePrecision,
    sex: bool,
}

const LEVELS: [Level; 6] = [
    Level {
        age_band: 5,
        region_digits: 6,
        date: DatePrecision::Month,
        sex: true,
    },
    Level {
        age_band: 10,
        region_digits: 4,
        date: DatePrecision::Quarter,
        sex: true,
    },
    Level {
        age_band: 20,
        region_digits: 2,
        date: DatePrecision::Year,
        sex: true,
    },
    Level {
        age_band: 20,
        region_digits: 0,
        date: DatePrecision::Year,
        sex: true,
    },
    Level {
        age_band: 0,
        region_digits: 0,
        date: DatePrecision::Hidden,
        sex: true,
    },
    Level {
        age_band: 0,
        region_digits: 0,
        date: DatePrecision::Hidden,
        sex: false,
    },
];

/// What generalisation did, for the export's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GeneralisationReport {
    pub k: u32,
    /// Index into the ladder (0 = finest).
    pub level: usize,
    pub age: String,
    pub sex: String,
    pub region: String,
    pub index_date: String,
    pub rows_in: usize,
    pub rows_suppressed: usize,
}

/// Generalises `rows`; `None` for a suppressed row. Every combination of the returned
/// values is shared by at least `k` rows.
pub fn anonymise(
    rows: &[QuasiIdentifiers],
    k: u32,
) -> (Vec<Option<Generalised>>, GeneralisationReport) {
    let k = usize::try_from(k.max(1)).unwrap_or(usize::MAX);
    let allowed = rows.len() * MAX_SUPPRESSED_PERCENT / 100;
    let last = LEVELS.len() - 1;
    for (index, level) in LEVELS.iter().enumerate() {
        let generalised: Vec<Generalised> = rows.iter().map(|r| generalise(r, level)).collect();
        let mut sizes: BTreeMap<&Generalised, usize> = BTreeMap::new();
        for g in &generalised {
            *sizes.entry(g).or_default() += 1;
        }
        let small = generalised.iter().filter(|g| sizes[g] < k).count();
        if small <= allowed || index == last {
            let kept: Vec<Option<Generalised>> = generalised
                .iter()
                .map(|g| (sizes[g] >= k).then(|| g.clone()))
                .collect();
            let report = GeneralisationReport {
                k: u32::try_from(k).unwrap_or(u32::MAX),
                level: index,
                age: match level.age_band {
                    0 => "removed".to_owned(),
                    w => format!("{w}-year bands, 90 and over together"),
                },
                sex: if level.sex { "kept" } else { "removed" }.to_owned(),
                region: match level.region_digits {
                    6 => "county (6 digits)",
                    4 => "city (first 4 digits)",
                    2 => "province (first 2 digits)",
                    _ => "removed",
                }
                .to_owned(),
                index_date: match level.date {
                    DatePrecision::Month => "month",
                    DatePrecision::Quarter => "quarter",
                    DatePrecision::Year => "year",
                    DatePrecision::Hidden => "removed",
                }
                .to_owned(),
                rows_in: rows.len(),
                rows_suppressed: small,
            };
            return (kept, report);
        }
    }
    // LEVELS is not empty, so the loop returned.
    (Vec::new(), empty_report(k))
}

fn empty_report(k: usize) -> GeneralisationReport {
    GeneralisationReport {
        k: u32::try_from(k).unwrap_or(u32::MAX),
        level: 0,
        age: String::new(),
        sex: String::new(),
        region: String::new(),
        index_date: String::new(),
        rows_in: 0,
        rows_suppressed: 0,
    }
}

const HIDDEN: &str = "*";

fn generalise(row: &QuasiIdentifiers, level: &Level) -> Generalised {
    let age = match (row.age, level.age_band) {
        (Some(age), width) if width > 0 => {
            if age >= 90 {
                "90+".to_owned()
            } else {
                let low = age.div_euclid(width) * width;
                format!("{low}-{}", (low + width - 1).min(89))
            }
        }
        _ => HIDDEN.to_owned(),
    };
    let sex = match (row.sex, level.sex) {
        (Some(sex), true) => sex.as_str().to_owned(),
        _ => HIDDEN.to_owned(),
    };
    let region = match &row.region {
        Some(region) if level.region_digits > 0 => region.truncated(level.region_digits),
        _ => HIDDEN.to_owned(),
    };
    let index_date = match row.index_date {
        Some(d) => match level.date {
            DatePrecision::Month => format!("{:04}-{:02}", d.year(), d.month() as u8),
            DatePrecision::Quarter => {
                format!("{:04}-Q{}", d.year(), (d.month() as u8 - 1) / 3 + 1)
            }
            DatePrecision::Year => format!("{:04}", d.year()),
            DatePrecision::Hidden => HIDDEN.to_owned(),
        },
        None => HIDDEN.to_owned(),
    };
    Generalised {
        age,
        sex,
        region,
        index_date,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use time::macros::date;

    fn row(age: i32, sex: Sex, region: &str, day: Date) -> QuasiIdentifiers {
        QuasiIdentifiers {
            age: Some(age),
            sex: Some(sex),
            region: Some(RegionCode::parse(region).unwrap()),
            index_date: Some(day),
        }
    }

    /// Checks the property from the output alone.
    fn groups_hold_k(out: &[Option<Generalised>], k: usize) -> bool {
        let mut sizes: BTreeMap<&Generalised, usize> = BTreeMap::new();
        for g in out.iter().flatten() {
            *sizes.entry(g).or_default() += 1;
        }
        sizes.values().all(|&n| n >= k)
    }

    #[test]
    fn identical_rows_stay_fine_grained() {
        let rows = vec![row(41, Sex::Female, "330106", date!(2026 - 03 - 04)); 6];
        let (out, report) = anonymise(&rows, 5);
        assert_eq!(report.level, 0);
        assert_eq!(report.rows_suppressed, 0);
        assert_eq!(out[0].as_ref().unwrap().age, "40-44");
        assert_eq!(out[0].as_ref().unwrap().index_date, "2026-03");
        assert!(groups_hold_k(&out, 5));
    }

    #[test]
    fn diverse_rows_are_generalised_then_suppressed() {
        let mut rows = Vec::new();
        for i in 0..12 {
            let sex = if i % 2 == 0 { Sex::Female } else { Sex::Male };
            rows.push(row(
                30 + i * 3,
                sex,
                &format!("3301{:02}", i + 1),
                date!(2026 - 01 - 10),
            ));
        }
        rows.push(row(95, Sex::Other, "110101", date!(2025 - 06 - 01)));
        let (out, report) = anonymise(&rows, 5);
        assert!(report.level > 0);
        assert!(groups_hold_k(&out, 5));
        assert_eq!(
            out.iter().filter(|r| r.is_none()).count(),
            report.rows_suppressed
        );
    }

    proptest::proptest! {
        #[test]
        fn every_output_group_holds_k(
            people in proptest::collection::vec((0i32..110, 0usize..4, 0usize..40, 0i64..800), 0..60),
            k in 2u32..8,
        ) {
            let sexes = [Sex::Female, Sex::Male, Sex::Other, Sex::Unknown];
            let rows: Vec<QuasiIdentifiers> = people
                .iter()
                .map(|&(age, sex, region, day)| QuasiIdentifiers {
                    age: Some(age),
                    sex: Some(sexes[sex]),
                    region: Some(RegionCode::parse(&format!("{:02}{:02}{:02}", 11 + region % 3, region % 5, region)).unwrap()),
                    index_date: date!(2025 - 01 - 01).checked_add(time::Duration::days(day)),
                })
                .collect();
            let (out, report) = anonymise(&rows, k);
            proptest::prop_assert_eq!(out.len(), rows.len());
            proptest::prop_assert!(groups_hold_k(&out, k as usize));
            proptest::prop_assert_eq!(out.iter().filter(|r| r.is_none()).count(), report.rows_suppressed);
        }
    }

    #[test]
    fn fewer_rows_than_k_are_all_suppressed() {
        let rows = vec![row(41, Sex::Female, "330106", date!(2026 - 03 - 04)); 3];
        let (out, report) = anonymise(&rows, 5);
        assert!(out.iter().all(Option::is_none));
        assert_eq!(report.rows_suppressed, 3);
    }
}
