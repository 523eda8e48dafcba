//! `meditrustal retention run`: erases records past their category's retention period
//! (`[retention]` in the configuration file, days per category) that are not on legal hold.
//! A dry run by default; `--execute` erases, each erasure on the ledger.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use meditrustal_app::{RetentionPolicy, RetentionReport};

use crate::config::Settings;
use crate::maintenance::{
    INTERRUPTED_STATUS, ProgressBars, explain, interrupted, open_existing_app,
};

#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// List (and with --execute erase) records past their retention period.
    Run(RunArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Erase them; without it nothing changes (dry run).
    #[arg(long)]
    execute: bool,
    /// The administrator account the erasures are made by (on the ledger).
    #[arg(long = "as", value_name = "ADMIN")]
    admin: String,
}

pub async fn run(settings: &Settings, command: RetentionCommand) -> anyhow::Result<ExitCode> {
    let RetentionCommand::Run(args) = command;
    let policy: &RetentionPolicy = &settings.retention;
    if policy.periods.is_empty() {
        println!(
            "no retention periods configured ([retention] in the configuration file): nothing is due"
        );
        return Ok(ExitCode::SUCCESS);
    }
    let app = open_existing_app(settings).await?;
    let actor = app.act_as(&args.admin).await.map_err(explain)?;
    let bars = ProgressBars::new(false);
    let report = tokio::select! {
        report = app.run_retention(&actor, policy, args.execute, &bars) => report.map_err(explain)?,
        () = interrupted() => {
            bars.clear();
            eprintln!("retention run interrupted; each erasure already made is complete and on the ledger");
            return Ok(ExitCode::from(INTERRUPTED_STATUS));
        }
    };
    print_report(&report, args.execute);
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_report(report: &RetentionReport, execute: bool) {
    for due in &report.due {
        let what = match (due.held, execute) {
            (true, _) => "kept (legal hold)",
            (false, true) if report.erased.contains(&due.record) => "erased",
            (false, true) => "NOT erased",
            (false, false) => "would erase",
        };
        println!(
            "{what} record {} ({}, last changed {})",
            due.record,
            due.category.as_str(),
            due.last_change.date()
        );
    }
    for (record, why) in &report.failed {
        println!("FAILED record {record}: {why}");
    }
    println!(
        "scanned {} records: {} past their period, {} erased, {} failed",
        report.records_scanned,
        report.due.len(),
        report.erased.len(),
        report.failed.len()
    );
    if !execute && !report.due.is_empty() {
        println!("dry run: nothing erased; run with --execute to erase");
    }
}
