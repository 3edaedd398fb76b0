//! The server's Prometheus metrics, served at `/metrics` to the `monitor` and `admin` roles:
//! receipts stored and replayed, receipts refused by reason, the receipt writer's queue, the
//! time each group commit takes, impressions counted. Recorded with the `metrics` crate's
//! macros into one process-wide recorder (`metrics-exporter-prometheus`, without its own HTTP
//! listener: the server's router serves it, behind a credential).

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

pub const RECEIPTS_STORED: &str = "kelisim_receipts_stored_total";
pub const RECEIPTS_REPLAYED: &str = "kelisim_receipts_replayed_total";
pub const RECEIPTS_REFUSED: &str = "kelisim_receipts_refused_total";
pub const QUEUE_DEPTH: &str = "kelisim_receipt_queue_depth";
pub const COMMIT_SECONDS: &str = "kelisim_commit_seconds";
pub const IMPRESSIONS: &str = "kelisim_impressions_total";
pub const SMS_SENT: &str = "kelisim_sms_sent_total";
pub const SMS_FAILED: &str = "kelisim_sms_failed_total";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The recorder's handle, installing the recorder on first use (once per process: every
/// `AppState` of a process, as in the tests, shares it).
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                metrics_exporter_prometheus::Matcher::Full(COMMIT_SECONDS.to_owned()),
                &[
                    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0,
                ],
            )
            .expect("the buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics will stay empty");
        }
        metrics::describe_counter!(RECEIPTS_STORED, "Receipts stored (new links in a chain).");
        metrics::describe_counter!(
            RECEIPTS_REPLAYED,
            "Receipts sent again and answered from the store."
        );
        metrics::describe_counter!(RECEIPTS_REFUSED, "Receipts refused, by reason.");
        metrics::describe_counter!(SMS_SENT, "SMS codes a gateway took, by gateway.");
        metrics::describe_counter!(
            SMS_FAILED,
            "SMS codes a gateway refused or could not be reached for, by gateway."
        );
        metrics::describe_gauge!(QUEUE_DEPTH, "Receipts waiting for the writer.");
        metrics::describe_histogram!(COMMIT_SECONDS, "Seconds a group commit takes.");
        metrics::describe_counter!(IMPRESSIONS, "Impressions counted.");
        handle
    })
}

/// The text `/metrics` answers.
pub fn render() -> String {
    handle().render()
}
