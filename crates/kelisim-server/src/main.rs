//! `kelisim-server`: the command line. `serve` runs the HTTP server; `verify`, `export` and
//! `purge` work on the database directly. Every option has an environment equivalent.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use kelisim_server::chain::{PublicKey, Signer};
use kelisim_server::sites::Sites;
use kelisim_server::store::Store;
use kelisim_server::{app, export, verify, AppState, Settings};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

#[derive(Parser)]
#[command(
    name = "kelisim-server",
    version,
    about = "Self-hosted receipts server for the kelisim consent banner"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct Database {
    /// sqlite://kelisim.db (embedded, created on first run) or postgres://user@host/db
    #[arg(long, env = "KELISIM_DB", default_value = "sqlite://kelisim.db")]
    db: String,
}

#[derive(clap::Args)]
struct Key {
    /// The signing key file (created on first `serve`, kept outside the database).
    #[arg(long, env = "KELISIM_KEY", default_value = "kelisim-signing.key")]
    key: PathBuf,
}

#[derive(clap::Args)]
struct SitesFile {
    /// The sites file: site ids, allowed origins, retention [default: kelisim-sites.json when
    /// it exists; without one, `serve` starts but refuses every receipt until one is given].
    #[arg(long = "sites", env = "KELISIM_SITES")]
    path: Option<PathBuf>,
}

impl SitesFile {
    fn load(&self) -> Result<Sites> {
        let default = PathBuf::from("kelisim-sites.json");
        match &self.path {
            Some(path) => Sites::load(path),
            None if default.exists() => Sites::load(&default),
            None => {
                tracing::warn!("no sites file (--sites, KELISIM_SITES or ./kelisim-sites.json): every receipt will be refused");
                Ok(Sites::default())
            }
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Serve receipts, impressions, the admin API, the dashboard, the SDK and the demo store.
    Serve {
        #[arg(long, env = "KELISIM_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        #[command(flatten)]
        database: Database,
        #[command(flatten)]
        key: Key,
        #[command(flatten)]
        sites: SitesFile,
        /// Bearer token of the admin API; a random one is made and printed when absent.
        #[arg(long, env = "KELISIM_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: Option<String>,
        /// Requests per minute per client network (/24, /48) on the public endpoints. Mobile
        /// carriers put many visitors behind one network, so this is generous.
        #[arg(long, env = "KELISIM_RATE_PER_MINUTE", default_value_t = 600)]
        rate_per_minute: u32,
        /// Folder served at `/` (the demo store).
        #[arg(long, env = "KELISIM_WWW")]
        www: Option<PathBuf>,
        /// Folder served at `/sdk/` (the built `pkg/`).
        #[arg(long, env = "KELISIM_SDK")]
        sdk: Option<PathBuf>,
        /// Seconds a client gets to send a request's headers, and a receipt or impression
        /// whole; slower clients are cut off (408, or the connection closed) so they cannot hold
        /// connections open.
        #[arg(long, env = "KELISIM_CLIENT_TIMEOUT_SECONDS", default_value_t = 10)]
        client_timeout_seconds: u64,
        /// Address of a reverse proxy in front of the server (repeat for several): its
        /// `X-Forwarded-For` then gives the visitor's address for the rate limit and the stored
        /// network. Without one, the header is ignored.
        #[arg(
            long = "trusted-proxy",
            env = "KELISIM_TRUSTED_PROXIES",
            value_delimiter = ','
        )]
        trusted_proxies: Vec<std::net::IpAddr>,
    },
    /// Check every hash and signature of every chain; exit 1 at the first bad receipt.
    Verify {
        #[command(flatten)]
        database: Database,
        #[command(flatten)]
        key: Key,
        /// Verify with this public key (hex) instead of the key file.
        #[arg(long)]
        public_key: Option<String>,
    },
    /// Write every receipt to standard output.
    Export {
        #[command(flatten)]
        database: Database,
        #[arg(long, value_enum, default_value_t = Format::Jsonl)]
        format: Format,
    },
    /// Delete receipts stored before DATE, only when past each site's retention; the chain
    /// keeps verifying from a signed checkpoint.
    Purge {
        #[command(flatten)]
        database: Database,
        #[command(flatten)]
        key: Key,
        #[command(flatten)]
        sites: SitesFile,
        /// YYYY-MM-DD (UTC) or an RFC 3339 time.
        #[arg(long)]
        before: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Jsonl,
    Csv,
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve {
            listen,
            database,
            key,
            sites,
            admin_token,
            rate_per_minute,
            www,
            sdk,
            client_timeout_seconds,
            trusted_proxies,
        } => {
            let client_timeout = Duration::from_secs(client_timeout_seconds.max(1));
            let sites = sites.load()?;
            let signer = Signer::load_or_create(&key.key)?;
            let store = Store::open(&database.db).await?;
            let admin_token = admin_token.unwrap_or_else(random_token);
            let state = AppState::new(Settings {
                store,
                signer,
                sites,
                admin_token: admin_token.clone(),
                rate_per_minute,
                www_dir: www,
                sdk_dir: sdk,
                client_timeout,
                trusted_proxies,
            });
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("listening on {listen}"))?;
            println!("kelisim-server on http://{listen}/  (admin token: {admin_token})");
            println!(
                "  demo store /   SDK /sdk/   dashboard /dashboard   receipts POST /v1/receipts"
            );
            serve(listener, app(state), client_timeout).await?;
            Ok(())
        }
        Command::Verify {
            database,
            key,
            public_key,
        } => {
            let public = match public_key {
                Some(hex) => PublicKey::from_hex(&hex).context("--public-key")?,
                None => {
                    if !key.key.exists() {
                        bail!(
                            "no key file at {}; pass --key or --public-key",
                            key.key.display()
                        );
                    }
                    Signer::load_or_create(&key.key)?.public_key()
                }
            };
            let store = Store::open(&database.db).await?;
            let report = verify::verify(&store, public).await?;
            for (site, count) in &report.checked {
                println!("site {site}: {count} receipts verified");
            }
            if let Some(first) = report.problems.first() {
                for problem in &report.problems {
                    println!("FAILED {problem}");
                }
                println!(
                    "first bad sequence number: {} (site {})",
                    first.seq, first.site
                );
                std::process::exit(1);
            }
            println!("ok: every hash and signature matches");
            Ok(())
        }
        Command::Export { database, format } => {
            let store = Store::open(&database.db).await?;
            let text = match format {
                Format::Jsonl => export::json_lines(&store).await?,
                Format::Csv => export::csv(&store).await?,
            };
            print!("{text}");
            Ok(())
        }
        Command::Purge {
            database,
            key,
            sites,
            before,
        } => {
            let sites = sites.load()?;
            let before = parse_date(&before)?;
            let now = OffsetDateTime::now_utc();
            let signer = Signer::load_or_create(&key.key)?;
            let store = Store::open(&database.db).await?;
            for site in sites.all() {
                let retention_end = now - time::Duration::days(i64::from(site.retention_days));
                if before > retention_end {
                    bail!(
                        "site {}: {} is within its retention of {} days (receipts may be purged only before {})",
                        site.id,
                        before.format(&Rfc3339)?,
                        site.retention_days,
                        retention_end.format(&Rfc3339)?
                    );
                }
            }
            let before_text = before.format(&Rfc3339)?;
            for site in sites.all() {
                let deleted = store.purge(&site.id, &before_text, &signer).await?;
                println!(
                    "site {}: purged {deleted} receipts stored before {before_text}",
                    site.id
                );
            }
            Ok(())
        }
    }
}

fn parse_date(text: &str) -> Result<OffsetDateTime> {
    if let Ok(time) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(time);
    }
    let date = time::Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .with_context(|| format!("--before \"{text}\" must be YYYY-MM-DD or an RFC 3339 time"))?;
    Ok(date.midnight().assume_utc())
}

fn random_token() -> String {
    use rand_core::RngCore;
    let mut bytes = [0u8; 24];
    rand_core::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Serves `router` until Ctrl+C, then lets open requests finish (up to 10 s). Each connection
/// speaks HTTP/1.1 with `TCP_NODELAY` (answers are small: send them at once) and a deadline for
/// the request headers (a client that trickles them is disconnected; hyper enforces it).
async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    header_timeout: Duration,
) -> Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::Service;
    let mut make_service = router.into_make_service_with_connect_info::<SocketAddr>();
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!("accepting a connection failed: {error}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut ctrl_c => break,
        };
        let _ = stream.set_nodelay(true);
        let Ok(service) = make_service.call(remote).await;
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(
                TokioIo::new(stream),
                hyper_util::service::TowerToHyperService::new(service),
            );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A client that goes away or times out is not an error worth logging.
            let _ = connection.await;
        });
    }
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(Duration::from_secs(10)) => {
            tracing::warn!("some connections were still open after 10 s; closing them");
        }
    }
    Ok(())
}
