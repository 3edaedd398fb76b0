//! Scan reports kept by `kelisim-server scan --db --site`: each site's latest is what the
//! dashboard shows, on SQLite and PostgreSQL, escaped on the page.

mod common;

use common::{postgres_url, sqlite_url};
use kelisim_server::store::{ScanReportRow, Store};

fn row(site: &str, scanned_at: &str, ran_before_consent: bool) -> ScanReportRow {
    ScanReportRow {
        site: site.to_owned(),
        scanned_at: scanned_at.to_owned(),
        url: format!("https://{site}.kz/"),
        ran_before_consent,
        clean: !ran_before_consent,
        report: "{}".to_owned(),
        markdown: format!("# kelisim scan of https://{site}.kz/ <script>"),
    }
}

async fn keeps_the_latest_of_each_site(store: &Store) {
    assert!(store.last_scan_reports().await.unwrap().is_empty());
    let first = row("glazik", "2026-12-01T10:00:00Z", true);
    let later = row("glazik", "2026-12-02T10:00:00Z", false);
    let other = row("nlg", "2026-12-01T11:00:00Z", true);
    for report in [&first, &other, &later] {
        store.save_scan_report(&report.site, report).await.unwrap();
    }
    assert_eq!(store.last_scan_reports().await.unwrap(), [later, other]);
}

#[tokio::test]
async fn scan_reports_on_sqlite() {
    let store = Store::open(&sqlite_url()).await.unwrap();
    keeps_the_latest_of_each_site(&store).await;
}

#[tokio::test]
async fn scan_reports_on_postgres() {
    let Some(url) = postgres_url().await else {
        eprintln!("KELISIM_TEST_POSTGRES is not set: skipped (cargo xtask test sets it)");
        return;
    };
    let store = Store::open(&url).await.unwrap();
    keeps_the_latest_of_each_site(&store).await;
}

#[test]
fn the_dashboard_section_states_the_verdict_and_escapes_the_report() {
    use kelisim_server::dashboard::{scans_section, Lang};
    let html = scans_section(
        Lang::choose(Some("ru"), None),
        &[row("glazik", "2026-12-02T10:00:00Z", true)],
    );
    assert!(html.contains("что-то запускалось до согласия"), "{html}");
    assert!(
        html.contains("&lt;script&gt;") && !html.contains("<script>"),
        "{html}"
    );
    let empty = scans_section(Lang::choose(Some("en"), None), &[]);
    assert!(empty.contains("No scan yet"), "{empty}");
}
