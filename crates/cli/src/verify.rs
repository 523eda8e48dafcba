//! `meditrustal verify`: checks the ledger and every record against each other
//! (DESIGN.md §3.4). Exit 0 only when everything checks; 1 when anything differs.

use std::process::ExitCode;

use clap::Args;
use meditrustal_app::{ChainDivergence, VerifyReport};

use crate::config::Settings;
use crate::maintenance::{
    INTERRUPTED_STATUS, ProgressBars, explain, interrupted, open_existing_app,
};

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Print the report as JSON (counts, elapsed time, every problem) instead of text.
    #[arg(long)]
    json: bool,
    /// Also compare the chain with the database: anchored roots, anchors this node wrote,
    /// and in mirror mode every record commitment and consent.
    #[arg(long)]
    chain: bool,
    #[command(flatten)]
    chain_args: crate::chain::ChainArgs,
}

pub async fn run(settings: &Settings, args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let mut app = open_existing_app(settings).await?;
    if args.chain {
        let link = args.chain_args.link(settings).await?.ok_or_else(|| {
            crate::bad_input::BadInput::new("--chain needs --chain-rpc (or MEDITRUSTAL_CHAIN_RPC)")
        })?;
        app = app.with_chain(link);
    }
    let bars = ProgressBars::new(args.json);
    let report = tokio::select! {
        report = app.verify(&bars) => report.map_err(explain)?,
        () = interrupted() => {
            bars.clear();
            eprintln!("verify interrupted; nothing was changed");
            return Ok(ExitCode::from(INTERRUPTED_STATUS));
        }
    };
    let divergences = if args.chain {
        app.verify_chain().await.map_err(explain)?
    } else {
        Vec::new()
    };
    if args.json {
        // The report's own fields stay at the top level; `--chain` adds `chain`.
        let mut json = serde_json::to_value(&report)?;
        if args.chain
            && let Some(fields) = json.as_object_mut()
        {
            fields.insert("chain".into(), serde_json::to_value(&divergences)?);
        }
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        print_text(&report);
        if args.chain {
            print_chain(&divergences);
        }
    }
    Ok(if report.is_ok() && divergences.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_chain(divergences: &[ChainDivergence]) {
    for divergence in divergences {
        println!("CHAIN PROBLEM: {divergence}");
    }
    match divergences.len() {
        0 => println!("OK: the chain matches the ledger"),
        n => println!("FAILED: {n} differences between chain and database"),
    }
}

fn print_text(report: &VerifyReport) {
    for problem in &report.problems {
        println!("PROBLEM: {problem}");
    }
    let seconds = report.elapsed.as_secs_f64();
    let mebibytes = report.content_bytes as f64 / (1024.0 * 1024.0);
    let rate = if seconds > 0.0 {
        mebibytes / seconds
    } else {
        0.0
    };
    println!(
        "checked {} ledger leaves, {} signed tree heads, {} records ({} versions, {mebibytes:.1} MiB of content) in {seconds:.2} s ({rate:.1} MiB/s)",
        report.leaves, report.tree_heads, report.records, report.versions
    );
    if report.erased_records > 0 {
        // Erased records are accounted for, not tampered: their leaves still check.
        println!(
            "{} records ({} versions) were erased at the patient's request: ledger entries present, content destroyed",
            report.erased_records, report.erased_versions
        );
    }
    match report.problems.len() {
        0 => println!("OK: the ledger and every record check"),
        1 => println!("FAILED: 1 problem"),
        n => println!("FAILED: {n} problems"),
    }
}
