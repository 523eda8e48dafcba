//! `meditrustal bench`: create+read throughput and latency against a running server, at
//! several levels of concurrency, through `/api/v1/records` or `/fhir/r4/Observation`.
//! Numbers go to docs/benchmarks.md, never into tests.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
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
    /// Size of each record's content in bytes (records workload).
    #[arg(long, default_value_t = 1024)]
    size: usize,
    /// What each cycle creates and reads back.
    #[arg(long, value_enum, default_value_t = Workload::Records)]
    workload: Workload,
}

/// What one create+read cycle does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Workload {
    /// A clinical note through `/api/v1/records` (analysed by the NLP engine when stored).
    Records,
    /// A FHIR Observation through `/fhir/r4/Observation`, one patient per client.
    Fhir,
}

/// What one client measured.
#[derive(Default)]
struct Samples {
    create: Vec<Duration>,
    read: Vec<Duration>,
    errors: u64,
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    let accounts = sign_up_accounts(&http, &args).await?;
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
            .map(|index| {
                let worker = worker(&http, &args, &accounts, index);
                tokio::spawn(worker.cycle_until(deadline))
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

/// The patients the clients act as: one for all clients of the records workload (as a
/// patient uploading many notes), one per client for FHIR (as many patients' systems).
async fn sign_up_accounts(
    http: &reqwest::Client,
    args: &BenchArgs,
) -> anyhow::Result<Vec<Arc<Account>>> {
    let count = match args.workload {
        Workload::Records => 1,
        Workload::Fhir => args.clients.iter().copied().max().unwrap_or(1),
    };
    let mut accounts = Vec::with_capacity(count);
    for index in 0..count {
        accounts.push(Arc::new(sign_up(http, &args.url, index).await?));
    }
    Ok(accounts)
}

fn worker(
    http: &reqwest::Client,
    args: &BenchArgs,
    accounts: &[Arc<Account>],
    index: usize,
) -> Worker {
    let account = accounts[index % accounts.len()].clone();
    let content = match args.workload {
        Workload::Records => content_of(args.size, index),
        Workload::Fhir => observation_of(&account.id).to_string().into_bytes(),
    };
    Worker {
        http: http.clone(),
        url: args.url.clone(),
        account,
        workload: args.workload,
        content,
    }
}

async fn sign_up(http: &reqwest::Client, url: &str, index: usize) -> anyhow::Result<Account> {
    let nonce = Instant::now().elapsed().subsec_nanos();
    let username = format!("bench.{}.{index}.{nonce}", std::process::id());
    let password = "Benchmark-Passphrase-1";
    let body = json!({"username": username, "email": format!("{username}@bench.invalid"), "password": password, "role": "patient"});
    let registered = http
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
    let id = registered.json::<Value>().await?["id"]
        .as_str()
        .map(str::to_owned)
        .context("registration gave no account id")?;
    let session: Value = http
        .post(format!("{url}/api/v1/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await?
        .json()
        .await?;
    let token = session["access_token"]
        .as_str()
        .map(str::to_owned)
        .context("login gave no access token")?;
    Ok(Account { id, token })
}

/// Distinct content per client, so objects (content-addressed) are not all the same.
fn content_of(size: usize, worker: usize) -> Vec<u8> {
    let line = format!("benchmark note from client {worker}: 体温36.8℃，心率72次/分。\n");
    line.bytes().cycle().take(size.max(1)).collect()
}

/// A heart-rate Observation of `patient`, shaped as scripts/bench-fhir's.
fn observation_of(patient: &str) -> Value {
    json!({
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": format!("Patient/{patient}")},
        "effectiveDateTime": "2024-03-01T08:30:00Z",
        "valueQuantity": {"value": 72, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"},
    })
}

/// A signed-up patient: the account id and an access token.
struct Account {
    id: String,
    token: String,
}

/// One benchmark client: its account and what each cycle creates.
struct Worker {
    http: reqwest::Client,
    url: String,
    account: Arc<Account>,
    workload: Workload,
    content: Vec<u8>,
}

impl Worker {
    /// Creates one item; its id when the server answered 201.
    async fn create(&self) -> Option<String> {
        let request = match self.workload {
            Workload::Records => self
                .http
                .post(format!(
                    "{}/api/v1/records?category=clinical-note",
                    self.url
                ))
                .header("content-type", "text/plain"),
            Workload::Fhir => self
                .http
                .post(format!("{}/fhir/r4/Observation", self.url))
                .header("content-type", "application/fhir+json"),
        };
        let response = request
            .bearer_auth(&self.account.token)
            .body(self.content.clone())
            .send()
            .await
            .ok()?;
        if response.status() != reqwest::StatusCode::CREATED {
            return None;
        }
        let body: Value = response.json().await.ok()?;
        body["id"].as_str().map(str::to_owned)
    }

    /// Reads the item back; whether it came back as sent.
    async fn read(&self, id: &str) -> bool {
        let path = match self.workload {
            Workload::Records => format!("/api/v1/records/{id}/content"),
            Workload::Fhir => format!("/fhir/r4/Observation/{id}"),
        };
        let Ok(response) = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.account.token)
            .send()
            .await
        else {
            return false;
        };
        if !response.status().is_success() {
            return false;
        }
        let Ok(body) = response.bytes().await else {
            return false;
        };
        match self.workload {
            Workload::Records => body == self.content,
            Workload::Fhir => serde_json::from_slice::<Value>(&body).is_ok_and(|read| {
                read["id"] == id && read["subject"] == observation_of(&self.account.id)["subject"]
            }),
        }
    }

    async fn cycle_until(self, deadline: Instant) -> Samples {
        let mut samples = Samples::default();
        while Instant::now() < deadline {
            let started = Instant::now();
            let Some(id) = self.create().await else {
                samples.errors += 1;
                continue;
            };
            samples.create.push(started.elapsed());
            let started = Instant::now();
            if self.read(&id).await {
                samples.read.push(started.elapsed());
            } else {
                samples.errors += 1;
            }
        }
        samples
    }
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
