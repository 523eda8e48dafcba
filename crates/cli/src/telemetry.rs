//! Logs (text or JSON lines on stderr) and, when an OTLP endpoint is configured, traces
//! exported over OTLP/HTTP with protobuf bodies (what Jaeger, Tempo and the OpenTelemetry
//! Collector accept on port 4318). Spans carry what the server puts in them: method, route
//! template, status and request id, never bodies, tokens or clinical text.

use anyhow::Context;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The service name spans carry unless `OTEL_SERVICE_NAME` says otherwise.
const SERVICE_NAME: &str = "meditrustal";

/// What becomes a span: the platform's own spans and events at info and above (targets
/// `meditrustal` and `meditrustal_*`: a target matches a directive it starts with). Libraries
/// stay out, the HTTP client that exports the spans above all (its own spans would be
/// exported in turn). Independent of the log filter (`MEDITRUSTAL_LOG`).
const TRACE_FILTER: &str = "warn,meditrustal=info";

/// The standard variables that switch trace export on without `--otlp-endpoint`.
const STANDARD_ENDPOINT_VARIABLES: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
];

/// Where traces go, if anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceExport {
    Off,
    /// The collector's base URL (`http://jaeger:4318`); spans are posted to `/v1/traces`.
    Endpoint(String),
    /// `OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT` is set: the exporter reads it as the standard says.
    FromEnvironment,
}

impl TraceExport {
    /// `--otlp-endpoint` wins; otherwise the standard variables, if one is non-empty.
    pub fn resolve(flag: Option<&str>, variable: impl Fn(&str) -> Option<String>) -> TraceExport {
        if let Some(endpoint) = flag.map(str::trim).filter(|endpoint| !endpoint.is_empty()) {
            return TraceExport::Endpoint(endpoint.to_owned());
        }
        let standard = STANDARD_ENDPOINT_VARIABLES
            .iter()
            .any(|name| variable(name).is_some_and(|value| !value.trim().is_empty()));
        if standard {
            TraceExport::FromEnvironment
        } else {
            TraceExport::Off
        }
    }
}

/// What must be flushed before the process exits.
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Sends the spans still queued (the batch exporter holds them up to 5 s) and stops the
    /// exporter. Blocking: it waits for the HTTP export, so call it off the async runtime.
    pub fn shutdown(self) {
        if let Some(provider) = self.traces
            && let Err(err) = provider.shutdown()
        {
            eprintln!("warning: flushing traces failed: {err}");
        }
    }
}

/// Installs the global subscriber: the log format chosen, plus a span exporter when asked.
pub fn init(log_json: bool, traces: &TraceExport) -> anyhow::Result<Telemetry> {
    let filter = EnvFilter::try_from_env("MEDITRUSTAL_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let logs = if log_json {
        logs.json().boxed()
    } else {
        logs.boxed()
    };
    let provider = match traces {
        TraceExport::Off => None,
        TraceExport::Endpoint(base) => Some(tracer_provider(Some(&signal_url(base)))?),
        TraceExport::FromEnvironment => Some(tracer_provider(None)?),
    };
    let spans = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer(SERVICE_NAME))
            .with_filter(EnvFilter::new(TRACE_FILTER))
    });
    tracing_subscriber::registry()
        .with(logs.with_filter(filter))
        .with(spans)
        .try_init()
        .context("installing the log subscriber")?;
    Ok(Telemetry { traces: provider })
}

/// The traces URL under a collector's base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT` is read.
fn signal_url(base: &str) -> String {
    format!("{}/v1/traces", base.trim_end_matches('/'))
}

fn tracer_provider(endpoint: Option<&str>) -> anyhow::Result<SdkTracerProvider> {
    let mut exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary);
    if let Some(endpoint) = endpoint {
        exporter = exporter.with_endpoint(endpoint);
    }
    let exporter = exporter
        .build()
        .context("setting up the OTLP trace exporter")?;
    let mut resource = Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name(SERVICE_NAME);
    }
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn environment<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        }
    }

    #[test]
    fn traces_are_off_unless_an_endpoint_is_configured() {
        assert_eq!(
            TraceExport::resolve(None, environment(&[])),
            TraceExport::Off
        );
        assert_eq!(
            TraceExport::resolve(
                Some("  "),
                environment(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "")])
            ),
            TraceExport::Off
        );
    }

    #[test]
    fn the_flag_wins_over_the_standard_variables() {
        let env = [("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")];
        assert_eq!(
            TraceExport::resolve(Some("http://jaeger:4318"), environment(&env)),
            TraceExport::Endpoint("http://jaeger:4318".into())
        );
        assert_eq!(
            TraceExport::resolve(None, environment(&env)),
            TraceExport::FromEnvironment
        );
        let traces_only = [(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "http://c:4318/v1/traces",
        )];
        assert_eq!(
            TraceExport::resolve(None, environment(&traces_only)),
            TraceExport::FromEnvironment
        );
    }

    #[test]
    fn spans_go_to_v1_traces_under_the_base_url() {
        assert_eq!(
            signal_url("http://jaeger:4318"),
            "http://jaeger:4318/v1/traces"
        );
        assert_eq!(
            signal_url("http://jaeger:4318/"),
            "http://jaeger:4318/v1/traces"
        );
    }
}
