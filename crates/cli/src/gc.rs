//! `meditrustal gc`: lists (and with `--apply` deletes) vault objects no record version
//! references — what a crash between writing a ciphertext and committing its row leaves.

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::Args;
use meditrustal_app::{GcOptions, GcReport};

use crate::config::Settings;
use crate::maintenance::{
    INTERRUPTED_STATUS, ProgressBars, explain, interrupted, open_existing_app,
};

#[derive(Debug, Args)]
pub struct GcArgs {
    /// Delete the orphans; without it nothing is deleted (dry run).
    #[arg(long)]
    apply: bool,
    /// Spare objects younger than this (`90s`, `30m`, `1h`, `2d`): they may belong to a
    /// record being created right now.
    #[arg(long, default_value = "1h", value_parser = parse_age)]
    min_age: Duration,
}

pub async fn run(settings: &Settings, args: GcArgs) -> anyhow::Result<ExitCode> {
    let app = open_existing_app(settings).await?;
    let bars = ProgressBars::new(false);
    let options = GcOptions {
        min_age: args.min_age,
        apply: args.apply,
    };
    let report = tokio::select! {
        report = app.collect_garbage(options, &bars) => report.map_err(explain)?,
        () = interrupted() => {
            bars.clear();
            eprintln!("gc interrupted; objects already deleted were orphans, nothing else changed");
            return Ok(ExitCode::from(INTERRUPTED_STATUS));
        }
    };
    print_report(&report, &args);
    Ok(ExitCode::SUCCESS)
}

fn print_report(report: &GcReport, args: &GcArgs) {
    let now = SystemTime::now();
    let verb = if args.apply {
        "deleted"
    } else {
        "would delete"
    };
    for object in &report.orphans {
        let age = now
            .duration_since(object.last_modified)
            .unwrap_or(Duration::ZERO);
        println!(
            "{verb} {} ({} bytes, {} old)",
            object.key,
            object.size,
            format_age(age)
        );
    }
    for path in &report.foreign_objects {
        println!("left alone {path} (not a record object)");
    }
    println!(
        "scanned {} objects and {} record versions: {} orphans ({} bytes) older than {}, {} younger orphans spared",
        report.objects_scanned,
        report.versions_scanned,
        report.orphans.len(),
        report.orphan_bytes,
        format_age(args.min_age),
        report.young_orphans
    );
    if args.apply {
        println!("deleted {} objects", report.deleted);
    } else if !report.orphans.is_empty() {
        println!("dry run: nothing deleted; run with --apply to delete them");
    }
}

fn format_age(age: Duration) -> String {
    let seconds = age.as_secs();
    match seconds {
        s if s >= 86_400 && s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s >= 3_600 && s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s >= 60 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// `<number><unit>`, unit one of s, m, h, d.
pub(crate) fn parse_age(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("`{text}` has no unit; use s, m, h or d (e.g. 1h)"))?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` does not start with a whole number"))?;
    let unit_seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        other => return Err(format!("unknown unit `{other}`; use s, m, h or d")),
    };
    number
        .checked_mul(unit_seconds)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("`{text}` is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_parse_with_units() {
        assert_eq!(parse_age("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_age("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_age("30m"), Ok(Duration::from_secs(1_800)));
        assert_eq!(parse_age("1h"), Ok(Duration::from_secs(3_600)));
        assert_eq!(parse_age("2d"), Ok(Duration::from_secs(172_800)));
        for bad in ["", "1", "h", "1x", "-1h", "1.5h"] {
            assert!(parse_age(bad).is_err(), "{bad}");
        }
        assert_eq!(format_age(Duration::from_secs(3_600)), "1h");
        assert_eq!(format_age(Duration::from_secs(61)), "61s");
    }
}
