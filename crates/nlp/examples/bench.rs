//! One JSON line of single-threaded figures on a corpus of at least `MB` megabytes (UTF-8)
//! made by repeating the `text`s of a JSON Lines file: engine (lexicon) load time, jieba
//! segmentation alone with the medical user dictionary, and the full pipeline.
//! Usage: `bench FILE.jsonl [MB]` (default 5). Used by `scripts/bench-nlp`.

use std::time::Instant;

use meditrustal_nlp::Engine;
use meditrustal_nlp::segment::Segmenter;

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
    let t = Instant::now();
    let tokens: usize = corpus.iter().map(|n| segmenter.segment(n).len()).sum();
    let segment_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let entities: usize = corpus
        .iter()
        .map(|n| engine.analyze(n).entities.len())
        .sum();
    let pipeline_s = t.elapsed().as_secs_f64();
    let mbytes = bytes as f64 / 1e6;
    println!(
        "{}",
        serde_json::json!({
            "corpus_mb": mbytes, "notes": corpus.len(),
            "engine_load_s": load_s, "segmenter_build_s": segmenter_s,
            "segmentation_s": segment_s, "segmentation_mb_s": mbytes / segment_s, "tokens": tokens,
            "pipeline_s": pipeline_s, "pipeline_mb_s": mbytes / pipeline_s, "entities": entities,
        })
    );
    Ok(())
}
