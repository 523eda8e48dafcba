//! FHIR's `date`, `dateTime` and `instant` formats, and the time range a value stands for
//! (`2024-03` is all of March 2024), which is what date search compares.

use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, Month, OffsetDateTime, Time, UtcOffset};

/// Which of FHIR's temporal primitives a value must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateKind {
    /// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
    Date,
    /// A date, or a full date and time with a time zone.
    DateTime,
    /// A full date and time with seconds and a time zone.
    Instant,
}

/// A parsed temporal value and its precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FhirDate {
    Year(i32),
    Month(i32, Month),
    Day(Date),
    Moment(OffsetDateTime),
}

/// Half-open interval `[start, end)` in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
}

impl FhirDate {
    /// `None` when the text is not of `kind`'s shape or names an impossible date
    /// (`2023-02-30`, month 13, hour 25).
    pub fn parse(text: &str, kind: DateKind) -> Option<FhirDate> {
        let value = if text.len() > 10 {
            if text.as_bytes().get(10).is_none_or(|b| *b != b'T') {
                return None;
            }
            FhirDate::Moment(OffsetDateTime::parse(text, &Rfc3339).ok()?)
        } else {
            if kind == DateKind::Instant {
                return None;
            }
            partial_date(text)?
        };
        if kind == DateKind::Date && matches!(value, FhirDate::Moment(_)) {
            return None;
        }
        Some(value)
    }

    /// The interval the value covers; dates without a zone are taken as UTC.
    pub fn range(self) -> DateRange {
        let midnight = |date: Date| date.with_time(Time::MIDNIGHT).assume_utc();
        let (start, end) = match self {
            FhirDate::Year(year) => (
                first_day(year, Month::January),
                first_day(year + 1, Month::January),
            ),
            FhirDate::Month(year, month) => {
                let next_year = if month == Month::December {
                    year + 1
                } else {
                    year
                };
                (first_day(year, month), first_day(next_year, month.next()))
            }
            FhirDate::Day(date) => {
                let start = midnight(date);
                (start, start + Duration::DAY)
            }
            FhirDate::Moment(at) => {
                let utc = at.to_offset(UtcOffset::UTC);
                (utc, utc + Duration::SECOND)
            }
        };
        DateRange { start, end }
    }
}

fn first_day(year: i32, month: Month) -> OffsetDateTime {
    Date::from_calendar_date(year, month, 1)
        .unwrap_or(Date::MAX)
        .with_time(Time::MIDNIGHT)
        .assume_utc()
}

fn partial_date(text: &str) -> Option<FhirDate> {
    let mut parts = text.split('-');
    let year = number(parts.next()?, 4)?;
    if year == 0 {
        return None;
    }
    let Some(month) = parts.next() else {
        return Some(FhirDate::Year(year));
    };
    let month = Month::try_from(u8::try_from(number(month, 2)?).ok()?).ok()?;
    let Some(day) = parts.next() else {
        return Some(FhirDate::Month(year, month));
    };
    let day = u8::try_from(number(day, 2)?).ok()?;
    if parts.next().is_some() {
        return None;
    }
    Date::from_calendar_date(year, month, day)
        .ok()
        .map(FhirDate::Day)
}

fn number(text: &str, digits: usize) -> Option<i32> {
    if text.len() != digits || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// An instant as FHIR writes it (RFC 3339, UTC, `Z`).
pub fn instant_text(at: OffsetDateTime) -> String {
    at.to_offset(UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_shapes_of_each_kind() {
        for text in ["2024", "2024-02", "2024-02-29"] {
            assert!(FhirDate::parse(text, DateKind::Date).is_some(), "{text}");
            assert!(
                FhirDate::parse(text, DateKind::DateTime).is_some(),
                "{text}"
            );
            assert!(FhirDate::parse(text, DateKind::Instant).is_none(), "{text}");
        }
        for text in ["2024-02-29T10:15:00Z", "2024-02-29T10:15:00.123+08:00"] {
            assert!(FhirDate::parse(text, DateKind::Date).is_none(), "{text}");
            assert!(
                FhirDate::parse(text, DateKind::DateTime).is_some(),
                "{text}"
            );
            assert!(FhirDate::parse(text, DateKind::Instant).is_some(), "{text}");
        }
    }

    #[test]
    fn refuses_impossible_or_malformed_dates() {
        for text in [
            "2023-02-29",
            "2024-13",
            "2024-02-30",
            "24-01-01",
            "2024-1-1",
            "0000",
            "2024-02-29T25:00:00Z",
            "2024-02-29T10:15:00",
            "2024-02-29 10:15:00Z",
            "yesterday",
            "",
        ] {
            assert!(
                FhirDate::parse(text, DateKind::DateTime).is_none(),
                "{text}"
            );
        }
    }

    #[test]
    fn a_partial_date_covers_its_whole_period() {
        let range = FhirDate::parse("2024-12", DateKind::Date).unwrap().range();
        assert_eq!(instant_text(range.start), "2024-12-01T00:00:00Z");
        assert_eq!(instant_text(range.end), "2025-01-01T00:00:00Z");
        let range = FhirDate::parse("2024-03-01T08:00:00+08:00", DateKind::DateTime)
            .unwrap()
            .range();
        assert_eq!(instant_text(range.start), "2024-03-01T00:00:00Z");
    }
}
