//! Measures engine load time and analysis throughput on the texts of a JSONL file, repeated
//! until about `MB` megabytes (default 10) have been analysed as one long document and as
//! individual notes. Usage: `throughput FILE.jsonl [MB]`.

use std::time::Instant;

use meditrustal_nlp::Engine;
use meditrustal_nlp::segment::Segmenter;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: throughput FILE.jsonl [MB]")?;
    let mb: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(10);
    let texts: Vec<String> = std::fs::read_to_string(path)?
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("text").and_then(|t| t.as_str()).map(str::to_string))
        .collect();
    let t0 = Instant::now();
    let engine = Engine::new()?;
    println!(
        "engine load: {:.3} s ({} lexicon terms)",
        t0.elapsed().as_secs_f64(),
        engine.lexicon().len()
    );
    let mut notes = Vec::new();
    let mut bytes = 0;
    while bytes < mb * 1_000_000 && !texts.is_empty() {
        for t in &texts {
            bytes += t.len();
            notes.push(t.as_str());
        }
    }
    let t1 = Instant::now();
    let mut entities = 0;
    for n in &notes {
        entities += engine.analyze(n).entities.len();
    }
    let s = t1.elapsed().as_secs_f64();
    println!(
        "per-note: {} notes, {:.1} MB in {:.3} s = {:.2} MB/s ({entities} entities)",
        notes.len(),
        bytes as f64 / 1e6,
        s,
        bytes as f64 / 1e6 / s
    );
    let big = notes.join("\n");
    let t2 = Instant::now();
    let a = engine.analyze(&big);
    let s = t2.elapsed().as_secs_f64();
    println!(
        "one document of {:.1} MB: {:.3} s = {:.2} MB/s ({} entities, {} phi)",
        big.len() as f64 / 1e6,
        s,
        big.len() as f64 / 1e6 / s,
        a.entities.len(),
        a.phi.len()
    );
    let t3 = Instant::now();
    let seg = Segmenter::new(engine.lexicon());
    println!("segmenter build: {:.3} s", t3.elapsed().as_secs_f64());
    let t4 = Instant::now();
    let mut toks = 0;
    for n in &notes {
        toks += seg.segment(n).len();
    }
    let s = t4.elapsed().as_secs_f64();
    println!(
        "segmentation: {:.2} MB/s ({toks} tokens)",
        bytes as f64 / 1e6 / s
    );
    Ok(())
}
