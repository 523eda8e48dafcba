//! Reads JSON Lines with `id` and `text` from stdin (or the file given as the first
//! argument) and writes the engine's output in the dev-set schema to stdout.

use std::io::{BufRead, BufReader, Write};

use meditrustal_nlp::Engine;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::new()?;
    let input: Box<dyn BufRead> = match std::env::args().nth(1) {
        Some(path) => Box::new(BufReader::new(std::fs::File::open(path)?)),
        None => Box::new(BufReader::new(std::io::stdin())),
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for line in input.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let doc: serde_json::Value = serde_json::from_str(&line)?;
        let text = doc.get("text").and_then(|t| t.as_str()).unwrap_or("");
        let analysis = engine.analyze(text);
        let mut v = serde_json::to_value(&analysis)?;
        if let Some(obj) = v.as_object_mut() {
            obj.insert("id".into(), doc.get("id").cloned().unwrap_or_default());
            obj.insert("text".into(), serde_json::Value::String(text.to_string()));
        }
        writeln!(out, "{}", serde_json::to_string(&v)?)?;
    }
    Ok(())
}
