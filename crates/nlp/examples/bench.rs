//! One JSON line of single-threaded figures on a corpus of at least `MB` megabytes (UTF-8)
//! made by repeating the `text`s of a JSON Lines file: engine (lexicon) load time, jieba
//! segmentation alone with the medical user dictionary, and the full pipeline.
//! Usage: `bench FILE.jsonl [MB]` (default 5). Used by `scripts/bench-nlp`.
//!
//! Each phase is timed by the wall clock and by the CPU time of this thread (Linux
//! `/proc/thread-self/schedstat`), which other processes on a busy machine do not inflate.

use std::time::Instant;

use meditrustal_nlp::Engine;
use meditrustal_nlp::segment::Segmenter;

/// CPU time of the calling thread in seconds, when the kernel reports it.
fn thread_cpu_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 / 1e9)
}

/// Wall-clock and CPU seconds of `f`, and its result.
fn timed<T>(f: impl FnOnce() -> T) -> (T, f64, Option<f64>) {
    let cpu = thread_cpu_s();
    let t = Instant::now();
    let out = f();
    let wall = t.elapsed().as_secs_f64();
    let cpu = cpu.zip(thread_cpu_s()).map(|(a, b)| b - a);
    (out, wall, cpu)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: bench FILE.jsonl [MB]")?;
    let mb: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(5);
    let texts: Vec<String> = std::fs::read_to_string(path)?
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("text").and_then(|t| t.as_str()).map(str::to_string))
        .collect();
    let mut corpus: Vec<&str> = Vec::new();
    let mut bytes = 0usize;
    while bytes < mb * 1_000_000 && texts.iter().any(|t| !t.is_empty()) {
        for t in &texts {
            bytes += t.len();
            corpus.push(t);
        }
    }
    let t = Instant::now();
    let engine = Engine::new()?;
    let load_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let segmenter = Segmenter::new(engine.lexicon());
    let segmenter_s = t.elapsed().as_secs_f64();
    let (tokens, segment_s, segment_cpu_s) = timed(|| {
        corpus
            .iter()
            .map(|n| segmenter.segment(n).len())
            .sum::<usize>()
    });
    let (entities, pipeline_s, pipeline_cpu_s) = timed(|| {
        corpus
            .iter()
            .map(|n| engine.analyze(n).entities.len())
            .sum::<usize>()
    });
    let mbytes = bytes as f64 / 1e6;
    let per_cpu_s = |s: Option<f64>| s.map(|s| mbytes / s);
    println!(
        "{}",
        serde_json::json!({
            "corpus_mb": mbytes, "notes": corpus.len(),
            "engine_load_s": load_s, "segmenter_build_s": segmenter_s,
            "segmentation_s": segment_s, "segmentation_mb_s": mbytes / segment_s, "tokens": tokens,
            "pipeline_s": pipeline_s, "pipeline_mb_s": mbytes / pipeline_s, "entities": entities,
            "segmentation_cpu_s": segment_cpu_s, "segmentation_mb_per_cpu_s": per_cpu_s(segment_cpu_s),
            "pipeline_cpu_s": pipeline_cpu_s, "pipeline_mb_per_cpu_s": per_cpu_s(pipeline_cpu_s),
        })
    );
    Ok(())
}
