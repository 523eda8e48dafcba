//! `meditrustal bench`: create+read throughput and latency against a running server, at
//! several levels of concurrency. Numbers go to docs/benchmarks.md, never into tests.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Base URL of a running server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Concurrent clients per run, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    clients: Vec<usize>,
    /// Seconds per run.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Size of each record's content in bytes.
    #[arg(long, default_value_t = 1024)]
    size: usize,
}

/// What one client measured.
#[derive(Default)]
struct Samples {
    create: Vec<Duration>,
    read: Vec<Duration>,
    errors: u64,
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    let token = Arc::new(sign_up(&client, &args.url).await?);
    println!(
        "| clients | create+read cycles/s | create p50 | create p99 | read p50 | read p99 | errors |"
    );
    println!("|---|---|---|---|---|---|---|");
    for &clients in &args.clients {
        let deadline = Instant::now() + Duration::from_secs(args.seconds);
        let progress = ProgressBar::new(args.seconds).with_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed}/{len}s")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        progress.set_message(format!("{clients} clients"));
        let ticker = {
            let progress = progress.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    progress.inc(1);
                }
            })
        };
        let tasks: Vec<_> = (0..clients)
            .map(|worker| {
                let (client, token, url) = (client.clone(), token.clone(), args.url.clone());
                let content = content_of(args.size, worker);
                tokio::spawn(
                    async move { cycle_until(&client, &url, &token, content, deadline).await },
                )
            })
            .collect();
        let mut all = Samples::default();
        let stopped = tokio::select! {
            results = futures_util::future::join_all(tasks) => {
                for samples in results.into_iter().flatten() {
                    all.create.extend(samples.create);
                    all.read.extend(samples.read);
                    all.errors += samples.errors;
                }
                false
            }
            _ = tokio::signal::ctrl_c() => true,
        };
        ticker.abort();
        progress.finish_and_clear();
        if stopped {
            bail!("interrupted");
        }
        report(clients, args.seconds, &mut all);
    }
    Ok(())
}

async fn sign_up(client: &reqwest::Client, url: &str) -> anyhow::Result<String> {
    let suffix = std::process::id();
    let username = format!("bench.{suffix}.{}", Instant::now().elapsed().subsec_nanos());
    let password = "Benchmark-Passphrase-1";
    let body = json!({"username": username, "email": format!("{username}@bench.invalid"), "password": password, "role": "patient"});
    let registered = client
        .post(format!("{url}/api/v1/auth/register"))
        .json(&body)
        .send()
        .await?;
    if !registered.status().is_success() {
        bail!(
            "registering the benchmark patient: {}",
            registered.text().await?
        );
    }
    let session: Value = client
        .post(format!("{url}/api/v1/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await?
        .json()
        .await?;
    session["access_token"]
        .as_str()
        .map(str::to_owned)
        .context("login gave no access token")
}

/// Distinct content per client, so objects (content-addressed) are not all the same.
fn content_of(size: usize, worker: usize) -> Vec<u8> {
    let line = format!("benchmark note from client {worker}: 体温36.8℃，心率72次/分。\n");
    line.bytes().cycle().take(size.max(1)).collect()
}

async fn cycle_until(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    content: Vec<u8>,
    deadline: Instant,
) -> Samples {
    let mut samples = Samples::default();
    while Instant::now() < deadline {
        let started = Instant::now();
        let created = client
            .post(format!("{url}/api/v1/records?category=clinical-note"))
            .bearer_auth(token)
            .header("content-type", "text/plain")
            .body(content.clone())
            .send()
            .await;
        let id = match created {
            Ok(response) if response.status() == reqwest::StatusCode::CREATED => {
                samples.create.push(started.elapsed());
                response
                    .json::<Value>()
                    .await
                    .ok()
                    .and_then(|v| v["id"].as_str().map(str::to_owned))
            }
            _ => None,
        };
        let Some(id) = id else {
            samples.errors += 1;
            continue;
        };
        let started = Instant::now();
        let read = client
            .get(format!("{url}/api/v1/records/{id}/content"))
            .bearer_auth(token)
            .send()
            .await;
        let same = match read {
            Ok(response) if response.status().is_success() => {
                response.bytes().await.is_ok_and(|b| b == content)
            }
            _ => false,
        };
        if same {
            samples.read.push(started.elapsed());
        } else {
            samples.errors += 1;
        }
    }
    samples
}

/// The p-quantile of sorted samples (nearest rank).
fn percentile(sorted: &[Duration], p: f64) -> Option<&Duration> {
    sorted.get(((sorted.len() as f64 * p).ceil() as usize).saturating_sub(1))
}

fn report(clients: usize, seconds: u64, samples: &mut Samples) {
    samples.create.sort();
    samples.read.sort();
    let cycles = samples.read.len() as f64 / seconds as f64;
    let ms = |d: Option<&Duration>| {
        d.map_or("-".to_owned(), |d| {
            format!("{:.1} ms", d.as_secs_f64() * 1000.0)
        })
    };
    println!(
        "| {clients} | {cycles:.0} | {} | {} | {} | {} | {} |",
        ms(percentile(&samples.create, 0.50)),
        ms(percentile(&samples.create, 0.99)),
        ms(percentile(&samples.read, 0.50)),
        ms(percentile(&samples.read, 0.99)),
        samples.errors
    );
}
