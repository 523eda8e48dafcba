//! What the application reports as it works, for operators' metrics. The application does not
//! know Prometheus: an adapter (the HTTP server) installs an [`ActivityObserver`] and turns
//! the reports into series. Reports carry categories and sizes only, never ids or text.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Where an analysed text came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextSource {
    /// Text sent to the analysis endpoints (analyze, de-identify, summary).
    Request,
    /// A clinical note stored as a record version.
    Record,
}

impl TextSource {
    pub fn as_str(self) -> &'static str {
        match self {
            TextSource::Request => "request",
            TextSource::Record => "record",
        }
    }
}

/// Receives the application's reports. Calls happen on the paths that do the work (blocking
/// NLP threads included), so an implementation must be quick and must not block.
pub trait ActivityObserver: Send + Sync {
    /// An early-warning alert was raised: its rule (`news2`, `qsofa`, `sirs`) and band.
    fn alert_raised(&self, rule: &str, band: &str);
    /// The NLP engine analysed `bytes` bytes of UTF-8 text in `elapsed`.
    fn text_analysed(&self, source: TextSource, bytes: usize, elapsed: Duration);
}

/// The observer an [`App`](crate::App) and its clones report to, once one is installed.
#[derive(Default)]
pub(crate) struct Activity(OnceLock<Arc<dyn ActivityObserver>>);

impl Activity {
    /// The first observer installed stays: one process, one set of metrics.
    pub(crate) fn install(&self, observer: Arc<dyn ActivityObserver>) -> bool {
        self.0.set(observer).is_ok()
    }

    pub(crate) fn alert_raised(&self, rule: &str, band: &str) {
        if let Some(observer) = self.0.get() {
            observer.alert_raised(rule, band);
        }
    }

    pub(crate) fn text_analysed(&self, source: TextSource, bytes: usize, elapsed: Duration) {
        if let Some(observer) = self.0.get() {
            observer.text_analysed(source, bytes, elapsed);
        }
    }
}
