//! `kelisim-server`: the command line. `serve` runs the HTTP server; `verify`, `export` and
//! `purge` work on the database directly. Every option has an environment equivalent.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use kelisim_server::access::{self, Credential, CredentialsFile, Role};
use kelisim_server::chain::{PublicKey, Signer};
use kelisim_server::sites::Sites;
use kelisim_server::store::Store;
use kelisim_server::{app, export, heads, startup, verify, AppState, Settings};
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

impl Key {
    /// The head log's default place: beside the key, so that it is kept (and backed up) with it.
    fn default_heads(&self) -> PathBuf {
        self.key
            .parent()
            .unwrap_or(std::path::Path::new(""))
            .join(heads::DEFAULT_FILE_NAME)
    }
}

#[derive(clap::Args)]
struct SitesFile {
    /// The sites file: site ids, allowed origins, retention [default: kelisim-sites.json when
    /// it exists; without one, `serve` starts but refuses every receipt until one is given].
    #[arg(long = "sites", env = "KELISIM_SITES")]
    path: Option<PathBuf>,
}

impl SitesFile {
    /// The sites file for `purge`, which must know every site's retention: one is required.
    fn load_required(&self) -> Result<Sites> {
        let default = PathBuf::from("kelisim-sites.json");
        match &self.path {
            Some(path) => Sites::load(path),
            None if default.exists() => Sites::load(&default),
            None => bail!(
                "purge needs the sites file (--sites, KELISIM_SITES or ./kelisim-sites.json): \
                 it holds each site's retention, and nothing is purged without it"
            ),
        }
    }

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

#[derive(clap::Args)]
struct CredentialsPath {
    /// The credentials file of the dpo, marketer and monitor roles (digests only; written by
    /// `kelisim-server credential add`) [default: kelisim-credentials.json beside the key,
    /// when it exists].
    #[arg(long = "credentials", env = "KELISIM_CREDENTIALS")]
    credentials_file: Option<PathBuf>,
}

impl CredentialsPath {
    /// The file and whether it may be missing (only the default may).
    fn resolve(&self, key: &Key) -> (PathBuf, bool) {
        match &self.credentials_file {
            Some(path) => (path.clone(), false),
            None => (
                key.key
                    .parent()
                    .unwrap_or(std::path::Path::new(""))
                    .join("kelisim-credentials.json"),
                true,
            ),
        }
    }

    fn load(&self, key: &Key) -> Result<CredentialsFile> {
        let (path, may_be_missing) = self.resolve(key);
        CredentialsFile::load(&path, may_be_missing)
    }
}

/// `kelisim-server serve`'s options.
#[derive(clap::Args)]
struct ServeArgs {
    #[arg(long, env = "KELISIM_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    #[command(flatten)]
    database: Database,
    #[command(flatten)]
    key: Key,
    #[command(flatten)]
    sites: SitesFile,
    /// A file holding the bearer token of the admin API and the dashboard (at least 16
    /// characters). The token may also come from `KELISIM_ADMIN_TOKEN`; never from the
    /// command line, where `ps` would show it. With neither, a random token is made once
    /// and kept in `kelisim-admin.token` beside the signing key.
    #[arg(long, env = "KELISIM_ADMIN_TOKEN_FILE")]
    admin_token_file: Option<PathBuf>,
    /// The head log: signed chain heads, appended beside the signing key unless given
    /// (see `verify --heads`).
    #[arg(long, env = "KELISIM_HEADS")]
    heads: Option<PathBuf>,
    /// The key of the phone numbers' hashes (SMS-confirmed consent): made on first
    /// `serve` beside the signing key unless given. Keep it with the key and the backups:
    /// without it receipts can no longer be found by phone number.
    #[arg(long, env = "KELISIM_PHONE_KEY")]
    phone_key: Option<PathBuf>,
    #[command(flatten)]
    credentials: CredentialsPath,
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
}

/// `kelisim-server scan`'s options.
#[derive(clap::Args)]
struct ScanArgs {
    /// The store's start page; only pages of its origin are visited.
    url: String,
    /// Most pages to visit in each pass (found from the links of the start page on).
    #[arg(long, default_value_t = 20)]
    pages: usize,
    /// The store's kelisim.json, to compare with what was found.
    #[arg(long)]
    config: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "md")]
    format: ScanFormat,
    /// Write the report here instead of to standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// The Chromium binary.
    #[arg(long, default_value = "chromium")]
    chromium: PathBuf,
    /// The chromedriver binary (Debian's chromium-driver).
    #[arg(long, default_value = "chromedriver")]
    chromedriver: PathBuf,
    /// Another Chromium flag (repeat for several), e.g. `--proxy-server=…`.
    #[arg(long = "browser-arg", allow_hyphen_values = true)]
    browser_args: Vec<String>,
    /// Seconds a page may take to load.
    #[arg(long, default_value_t = 20)]
    page_timeout: u64,
    /// Milliseconds to let a page's scripts run after it loaded, before looking.
    #[arg(long, default_value_t = 1500)]
    settle_ms: u64,
    /// Also keep the report in this database, for the dashboard (with `--site`).
    #[arg(long, requires = "site")]
    db: Option<String>,
    /// The site (as in the sites file) the report is for.
    #[arg(long, requires = "db")]
    site: Option<String>,
}

#[derive(Subcommand)]
enum CredentialCommand {
    /// Make a token for a person or system with a role; the token is printed once, only its
    /// SHA-256 is kept. A running server takes it on `SIGHUP`.
    Add {
        #[arg(long)]
        name: String,
        /// admin, dpo, marketer, monitor or kiosk
        #[arg(long)]
        role: String,
        /// Role kiosk: the site whose forms the tablet shows.
        #[arg(long)]
        site: Option<String>,
        /// Role kiosk: the store the tablet stands in, recorded in each receipt.
        #[arg(long)]
        location: Option<String>,
    },
    /// Remove a name's credential (its dashboard sessions end at their expiry).
    Remove {
        #[arg(long)]
        name: String,
    },
    /// List names and roles.
    List,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Check a kelisim.json: every problem with its line, column and a suggestion, exit 1;
    /// or a one-line summary, exit 0.
    Check { file: PathBuf },
    /// Compile a kelisim.json for static hosting: writes `<site>-<hash>/{kk,ru,en,default}.json`
    /// under `--out` (named by their content, so they may be cached for a year) and prints
    /// the folder.
    Build {
        file: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// Also archive the compiled configs in this receipts database (it must exist), so
        /// the server can show the texts of receipts made with them.
        #[arg(long)]
        db: Option<String>,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Check or compile a site's kelisim.json.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Visit a store's pages in headless Chromium with no choice, after "accept all" and after
    /// "reject all", and report every cookie, storage key and third-party request: what ran
    /// before consent, what survived a rejection, what the config does not declare, and the
    /// services to add. Exit 1 when anything ran before consent, 2 when the scan could not run.
    Scan(ScanArgs),
    /// Run a stand-in for the Mobizon and SMSC.kz APIs that records messages instead of
    /// sending them (`GET /messages` lists them): for trying SMS confirmation without a gateway
    /// account, and for the end-to-end tests. Point a site's `sms.api_url` at it.
    SmsDouble {
        #[arg(long, default_value = "127.0.0.1:9100")]
        listen: SocketAddr,
        /// The Mobizon API key it accepts [default: mobizon-test-key].
        #[arg(long)]
        mobizon_key: Option<String>,
    },
    /// Run a stand-in for NCALayer on this computer (wss://127.0.0.1:13579, a self-signed
    /// certificate) with a test certification authority made at start: it signs every
    /// request as a test person, or answers as a cancelled dialog or a failure. For the
    /// end-to-end tests and for trying signed forms without a real key; the CA certificate
    /// goes to --ca-out, for the sites file's `eds.ca_certificates`.
    NcalayerDouble {
        #[arg(long, default_value = "127.0.0.1:13579")]
        listen: SocketAddr,
        /// Where to write the test CA's certificate (PEM).
        #[arg(long)]
        ca_out: PathBuf,
        /// sign, cancel or fail.
        #[arg(long, default_value = "sign")]
        answer: String,
    },
    /// Serve receipts, impressions, the admin API, the dashboard, the SDK and the demo store.
    Serve(ServeArgs),
    /// Manage the dpo, marketer and monitor credentials (the credentials file).
    Credential {
        #[command(flatten)]
        key: Key,
        #[command(flatten)]
        credentials: CredentialsPath,
        #[command(subcommand)]
        command: CredentialCommand,
    },
    /// Check every hash and signature of every chain, and where each chain ends against the
    /// signed heads; exit 1 on any problem, naming the first bad receipt of each site.
    Verify {
        #[command(flatten)]
        database: Database,
        #[command(flatten)]
        key: Key,
        /// Verify with this public key (hex) instead of the key file.
        #[arg(long)]
        public_key: Option<String>,
        /// Signed chain heads to check the ends of the chains against: the server's head log,
        /// or lines fetched from `/v1/chain-heads` and kept elsewhere (repeat for several)
        /// [default: the head log beside the key].
        #[arg(long = "heads")]
        heads: Vec<PathBuf>,
        /// Check without signed heads: receipts cut from the end of a chain then go unseen.
        #[arg(long, conflicts_with = "heads")]
        without_heads: bool,
    },
    /// Replace the signing key, with every server of the database stopped: a new key is made
    /// at --new-key and the rotation, signed by both keys, is recorded in the database, so
    /// `verify` (trusting the new key) still checks every receipt the old key signed. Then
    /// start `serve` with `--key` set to the new key, and destroy the old one.
    RotateKey {
        #[command(flatten)]
        database: Database,
        #[command(flatten)]
        key: Key,
        /// Where to create the new key (must not exist).
        #[arg(long)]
        new_key: PathBuf,
    },
    /// Copy a SQLite database while the server runs, with the head log beside it
    /// (`FILE.heads.jsonl`); the signing key is not copied: keep it with every backup.
    Backup {
        #[command(flatten)]
        database: Database,
        #[command(flatten)]
        key: Key,
        /// The head log to copy [default: beside the key].
        #[arg(long, env = "KELISIM_HEADS")]
        heads: Option<PathBuf>,
        /// The new file (never overwritten).
        #[arg(long)]
        out: PathBuf,
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

/// The formats of a scan report.
#[derive(Clone, Copy, ValueEnum)]
enum ScanFormat {
    Md,
    Json,
    Html,
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        // Colours only on a terminal: journald and log files get plain `key=value` lines.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let matches = <Cli as clap::CommandFactory>::command().get_matches();
    refuse_password_on_command_line(&matches)?;
    let cli = <Cli as clap::FromArgMatches>::from_arg_matches(&matches)?;
    match cli.command {
        Command::Serve(args) => serve_command(args).await,
        Command::Credential {
            key,
            credentials,
            command,
        } => credential(&key, &credentials, command),
        Command::NcalayerDouble {
            listen,
            ca_out,
            answer,
        } => {
            use kelisim_server::signature_double::{NcaLayerAnswer, SignerKind, TestAuthority};
            let answer = match answer.as_str() {
                "sign" => NcaLayerAnswer::Sign,
                "cancel" => NcaLayerAnswer::Cancel,
                "fail" => NcaLayerAnswer::Fail,
                other => bail!("--answer \"{other}\" must be sign, cancel or fail"),
            };
            let authority = TestAuthority::generate("KELISIM TEST CA (RSA)");
            std::fs::write(&ca_out, authority.certificate_pem())
                .with_context(|| format!("writing {}", ca_out.display()))?;
            let signer = authority.issue(SignerKind::Valid, "ТЕСТОВА", "АЙГЕРІМ", "900101400123");
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("listening on {listen}"))?;
            println!(
                "NCALayer double on wss://{} (test CA in {}), signing as ТЕСТОВА АЙГЕРІМ, IIN 900101400123",
                listener.local_addr()?,
                ca_out.display()
            );
            kelisim_server::signature_double::serve_ncalayer(
                listener,
                std::sync::Arc::new(signer),
                answer,
            )
            .await
        }
        Command::SmsDouble {
            listen,
            mobizon_key,
        } => {
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("listening on {listen}"))?;
            let mut keys = kelisim_server::sms_double::DoubleKeys::default();
            if let Some(key) = mobizon_key {
                keys.mobizon_key = key;
            }
            println!(
                "SMS gateway double on http://{}/ (Mobizon key {}, SMSC.kz login {} password {}); messages at /messages",
                listener.local_addr()?,
                keys.mobizon_key,
                keys.smsc_login,
                keys.smsc_password
            );
            kelisim_server::sms_double::serve(listener, keys).await?;
            Ok(())
        }
        Command::Verify {
            database,
            key,
            public_key,
            heads: heads_files,
            without_heads,
        } => verify_command(database, key, public_key, heads_files, without_heads).await,
        Command::RotateKey {
            database,
            key,
            new_key,
        } => rotate_key_command(database, key, new_key).await,
        Command::Backup {
            database,
            key,
            heads,
            out,
        } => backup_command(database, key, heads, out).await,
        Command::Config { command } => config_command(command).await,
        Command::Scan(args) => scan_command(args).await,
        Command::Export { database, format } => {
            let store = Store::open_existing(&database.db).await?;
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
        } => purge_command(database, key, sites, before).await,
    }
}

/// `kelisim-server serve`.
async fn serve_command(args: ServeArgs) -> Result<()> {
    let ServeArgs {
        listen,
        database,
        key,
        sites,
        admin_token_file,
        heads,
        phone_key,
        credentials,
        rate_per_minute,
        www,
        sdk,
        client_timeout_seconds,
        trusted_proxies,
    } = args;
    let client_timeout = Duration::from_secs(client_timeout_seconds.max(1));
    let sites_now = sites.load()?;
    let (admin_token, token_source) = admin_token(admin_token_file, &key)?;
    let credentials_file = credentials.load(&key)?;
    let store = Store::open(&database.db).await?;
    if !key.key.exists() && store.heads().await?.iter().any(|(_, seq, _)| *seq > 0) {
        bail!(
            "the database holds receipts but there is no signing key at {}: restore the key \
             that signed them (it is kept beside the database, and in every backup) and pass \
             it with --key; a new key would sign receipts the old ones cannot be checked with",
            key.key.display()
        );
    }
    let signer = Signer::load_or_create(&key.key)?;
    let phone_key_path = phone_key.unwrap_or_else(|| {
        key.key
            .parent()
            .unwrap_or(std::path::Path::new(""))
            .join("kelisim-phone.key")
    });
    let phone_key = kelisim_server::confirmations::PhoneKey::load_or_create(&phone_key_path)?;
    let heads_path = heads.unwrap_or_else(|| key.default_heads());
    let head_log = heads::HeadLog::open(&heads_path)?;
    startup::check_database(&store, signer.public_key(), &head_log.latest(), &heads_path).await?;
    let served = [
        ("demo store /", www.is_some()),
        ("SDK /sdk/", sdk.is_some()),
        ("dashboard /dashboard", true),
        ("receipts POST /v1/receipts", true),
    ];
    let state = AppState::new(Settings {
        store,
        signer,
        sites: sites_now,
        admin_token,
        credentials: credentials_file,
        rate_per_minute,
        www_dir: www,
        sdk_dir: sdk,
        client_timeout,
        trusted_proxies,
        head_log: Some(head_log),
        phone_key,
    });
    let archived = state.archive_configs(&state.sites()).await?;
    if archived > 0 {
        tracing::info!("archived {archived} new compiled configs");
    }
    state.sites().configs().compress_in_background();
    let writer_task = state.writer_task();
    let reloader = tokio::spawn(reload_on_hangup(
        state.clone(),
        sites,
        credentials,
        Key {
            key: key.key.clone(),
        },
    ));
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    println!("kelisim-server on http://{listen}/  (admin token {token_source})");
    let served: Vec<&str> = served
        .iter()
        .filter(|(_, on)| *on)
        .map(|(what, _)| *what)
        .collect();
    println!("  {}", served.join("   "));
    serve(listener, app(state), client_timeout).await?;
    reloader.abort();
    let _ = reloader.await;
    // Every handle of the state is gone with the router and the reloader: the writer
    // stores what is queued, writes the last chain heads and ends.
    if let Some(task) = writer_task {
        if tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .is_err()
        {
            tracing::warn!("the receipt writer did not finish within 10 s");
        }
    }
    Ok(())
}

/// `kelisim-server verify`.
async fn verify_command(
    database: Database,
    key: Key,
    public_key: Option<String>,
    heads_files: Vec<PathBuf>,
    without_heads: bool,
) -> Result<()> {
    let public = match public_key {
        Some(hex) => PublicKey::from_hex(&hex).context("--public-key")?,
        None => {
            if !key.key.exists() {
                bail!(
                    "no key file at {}; pass --key or --public-key",
                    key.key.display()
                );
            }
            Signer::load(&key.key)?.public_key()
        }
    };
    let heads_files = if without_heads {
        Vec::new()
    } else if heads_files.is_empty() {
        let beside_key = key.default_heads();
        if !beside_key.exists() {
            bail!(
                "no signed chain heads at {}: without them, receipts cut from the end of a chain go unseen. \
                 Pass --heads FILE (the server's head log, or a copy of /v1/chain-heads), or --without-heads",
                beside_key.display()
            );
        }
        vec![beside_key]
    } else {
        heads_files
    };
    let mut signed_heads = Vec::new();
    for file in &heads_files {
        signed_heads.extend(heads::read(file)?);
    }
    let store = Store::open_existing(&database.db).await?;
    let report = verify::verify(&store, public, &signed_heads).await?;
    for (site, count) in &report.checked {
        match report.signed_heads.get(site) {
            Some(last) => println!(
                "site {site}: {count} receipts verified; the signed heads vouch for receipts up to {last}"
            ),
            None => println!("site {site}: {count} receipts verified; no signed head"),
        }
    }
    if without_heads {
        println!(
            "not checked: whether receipts were cut from the end of a chain (--without-heads)"
        );
    }
    let configs = verify::check_configs(&store).await?;
    for (site, seq, config_id) in &configs.unknown {
        println!(
            "WARNING site {site} receipt {seq}: its compiled config {config_id} is not in the \
             archive, so the texts it attests cannot be shown (archive configs hosted \
             elsewhere with `config build --db`)"
        );
    }
    if configs.with_config > 0 {
        println!(
            "{} receipts name a compiled config; {} of them one the archive holds",
            configs.with_config,
            configs.with_config - configs.unknown.len()
        );
    }
    for (site, config_id) in &configs.altered {
        println!(
            "FAILED [archived config edited] site {site}: the archived config {config_id} \
             no longer hashes to its id"
        );
    }
    if !configs.altered.is_empty() && report.problems.is_empty() {
        std::process::exit(1);
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

/// `kelisim-server rotate-key`.
async fn rotate_key_command(database: Database, key: Key, new_key: PathBuf) -> Result<()> {
    if new_key.exists() {
        bail!(
            "{} exists already; --new-key names a file to create",
            new_key.display()
        );
    }
    let old = Signer::load(&key.key)?;
    let store = Store::open_existing(&database.db).await?;
    // The old key must be the one the database's chains end with.
    let ring = kelisim_server::keys::KeyRing::build(old.public_key(), &store.rotations().await?)?;
    for (site, seq, _) in store.heads().await? {
        if let Some((hash, signature)) = store.link_at(&site, seq).await? {
            if ring.key_for(&site, seq).verify(&hash, &signature).is_err() {
                bail!(
                    "site {site}: its last receipt was not signed by {}: rotate with the key that signs this database",
                    key.key.display()
                );
            }
        }
    }
    let new = Signer::load_or_create(&new_key)?;
    let rotation = store.rotate_key(&old, &new).await?;
    println!(
        "rotated on {}: the new key {} (public {}) signs from {}",
        rotation.rotated_at,
        new_key.display(),
        rotation.to_public,
        rotation
            .starts
            .iter()
            .map(|(site, seq)| format!("receipt {seq} of {site}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "start serve with --key {}; then destroy {} (verify needs only the new public key)",
        new_key.display(),
        key.key.display()
    );
    Ok(())
}

/// `kelisim-server backup`.
async fn backup_command(
    database: Database,
    key: Key,
    heads: Option<PathBuf>,
    out: PathBuf,
) -> Result<()> {
    let store = Store::open_existing(&database.db).await?;
    let heads = heads.unwrap_or_else(|| key.default_heads());
    let heads_copy = PathBuf::from(format!("{}.heads.jsonl", out.display()));
    if heads_copy.exists() {
        bail!(
            "{} exists already; a backup never overwrites a file",
            heads_copy.display()
        );
    }
    // The heads first: the database copy, taken after, holds at least every receipt
    // they vouch for, so the pair restores and verifies.
    let copied_heads = if heads.exists() {
        std::fs::copy(&heads, &heads_copy)
            .with_context(|| format!("copying the head log {}", heads.display()))?;
        true
    } else {
        false
    };
    store.backup_sqlite(&out).await?;
    println!("backup written: {}", out.display());
    if copied_heads {
        println!("head log copied: {}", heads_copy.display());
    } else {
        println!("no head log at {} (nothing to copy)", heads.display());
    }
    println!(
        "keep the signing key {} with it: without the key a restored database cannot be extended",
        key.key.display()
    );
    Ok(())
}

/// `kelisim-server scan`.
async fn scan_command(args: ScanArgs) -> Result<()> {
    let ScanArgs {
        url,
        pages,
        config,
        format,
        out,
        chromium,
        chromedriver,
        browser_args,
        page_timeout,
        settle_ms,
        db,
        site,
    } = args;
    use kelisim_server::scan::{self, report};
    anyhow::ensure!(pages > 0, "--pages must be at least 1");
    // Opened first: a wrong database fails before minutes of scanning, not after.
    let store = match &db {
        Some(db) => Some(Store::open_existing(db).await?),
        None => None,
    };
    let declared = match &config {
        Some(file) => Some(report::declared_services(
            &kelisim_server::configs::compile_file(file, None)?,
        )),
        None => None,
    };
    let options = scan::ScanOptions {
        url: url.clone(),
        pages,
        chromium,
        chromedriver,
        browser_args,
        page_timeout: std::time::Duration::from_secs(page_timeout),
        settle: std::time::Duration::from_millis(settle_ms),
    };
    // Exit 2 when the scan could not run, so a store's CI tells it from exit 1, what
    // ran before consent.
    let phases = match scan::scan(&options).await {
        Ok(phases) => phases,
        Err(error) => {
            eprintln!("kelisim-server scan: {error:#}");
            std::process::exit(2);
        }
    };
    let judged = report::judge(&url, &phases, declared.as_deref());
    let text = match format {
        ScanFormat::Md => report::markdown(&judged),
        ScanFormat::Json => serde_json::to_string_pretty(&judged)? + "\n",
        ScanFormat::Html => report::html(&judged),
    };
    match &out {
        Some(path) => {
            std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?
        }
        None => print!("{text}"),
    }
    if let (Some(store), Some(site)) = (&store, &site) {
        let row = kelisim_server::store::ScanReportRow {
            site: site.clone(),
            scanned_at: kelisim_server::receipt::format_time(time::OffsetDateTime::now_utc()),
            url: url.clone(),
            ran_before_consent: judged.ran_before_consent(),
            clean: judged.is_clean(),
            report: serde_json::to_string(&judged)?,
            markdown: report::markdown(&judged),
        };
        store.save_scan_report(site, &row).await?;
        eprintln!("kept the report for site {site} (the dashboard shows the latest)");
    }
    if judged.ran_before_consent() {
        eprintln!("something ran or stored data before consent (see the report)");
        std::process::exit(1);
    }
    Ok(())
}

/// `kelisim-server purge`.
async fn purge_command(
    database: Database,
    key: Key,
    sites: SitesFile,
    before: String,
) -> Result<()> {
    let sites = sites.load_required()?;
    let before = parse_date(&before)?;
    let now = OffsetDateTime::now_utc();
    // A purge signs a checkpoint: with the key that signed the chain, never a new one.
    let signer = Signer::load(&key.key)?;
    let store = Store::open_existing(&database.db).await?;
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
        if deleted == 0 {
            println!(
                "site {}: nothing to purge (no receipt was stored before {before_text})",
                site.id
            );
        } else {
            println!(
                "site {}: purged {deleted} receipts stored before {before_text}",
                site.id
            );
        }
    }
    Ok(())
}

/// `kelisim-server credential …`.
fn credential(key: &Key, path: &CredentialsPath, command: CredentialCommand) -> Result<()> {
    let (file_path, _) = path.resolve(key);
    let mut file = path.load(key)?;
    match command {
        CredentialCommand::Add {
            name,
            role,
            site,
            location,
        } => {
            let role = Role::parse(&role).with_context(|| {
                format!("--role \"{role}\" must be admin, dpo, marketer, monitor or kiosk")
            })?;
            let kiosk = match (role, site, location) {
                (Role::Kiosk, Some(site), Some(location))
                    if !site.trim().is_empty() && !location.trim().is_empty() =>
                {
                    Some(access::KioskScope { site, location })
                }
                (Role::Kiosk, _, _) => {
                    bail!("--role kiosk needs --site (the sites file's id) and --location (the store, e.g. \"Алматы, Достық 5\")")
                }
                (_, None, None) => None,
                _ => bail!("--site and --location are for --role kiosk only"),
            };
            if name.trim().is_empty() {
                bail!("--name must not be empty");
            }
            if file.credentials.iter().any(|c| c.name == name) {
                bail!(
                    "{} already has a credential in {}; remove it first",
                    name,
                    file_path.display()
                );
            }
            let token = access::new_token();
            file.credentials.push(Credential {
                name: name.clone(),
                role,
                token_sha256: hex::encode(access::digest(&token)),
                kiosk,
            });
            file.save(&file_path)?;
            eprintln!(
                "added {name} ({}) to {}; the token, shown this once:",
                role.name(),
                file_path.display()
            );
            println!("{token}");
        }
        CredentialCommand::Remove { name } => {
            let before = file.credentials.len();
            file.credentials.retain(|c| c.name != name);
            if file.credentials.len() == before {
                bail!("{name} has no credential in {}", file_path.display());
            }
            file.save(&file_path)?;
            println!("removed {name} from {}", file_path.display());
        }
        CredentialCommand::List => {
            if file.credentials.is_empty() {
                println!("no credentials in {}", file_path.display());
            }
            for credential in &file.credentials {
                println!("{}\t{}", credential.name, credential.role.name());
            }
        }
    }
    Ok(())
}

async fn config_command(command: ConfigCommand) -> Result<()> {
    use kelisim_server::configs::{compile_file, summary, write_build};
    match command {
        ConfigCommand::Check { file } => match compile_file(&file, None) {
            Ok(compiled) => println!("{}", summary(&file, &compiled)),
            Err(error) => {
                // Every problem on its own line, as an editor's problem matcher reads them.
                eprintln!("{error:#}");
                std::process::exit(1);
            }
        },
        ConfigCommand::Build { file, out, db } => {
            let compiled = compile_file(&file, None)?;
            if let Some(db) = db {
                let store = Store::open_existing(&db).await?;
                let added = store.archive_configs(&compiled).await?;
                eprintln!("archived {added} new compiled configs in {db}");
            }
            let folder = write_build(&compiled, &out)?;
            println!("{}", summary(&file, &compiled));
            println!("{}", folder.display());
        }
    }
    Ok(())
}

/// Reloads the sites file and the credentials file on every `SIGHUP`. A file that does not
/// load is reported and the server keeps what it had.
async fn reload_on_hangup(
    state: AppState,
    sites: SitesFile,
    credentials: CredentialsPath,
    key: Key,
) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hangups) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP; a changed sites file needs a restart");
        return;
    };
    while hangups.recv().await.is_some() {
        match (sites.load(), credentials.load(&key)) {
            (Ok(new_sites), Ok(new_credentials)) => {
                if let Err(error) = state.archive_configs(&new_sites).await {
                    tracing::error!(
                        "reload refused: the compiled configs could not be archived: {error:#}"
                    );
                    continue;
                }
                let count = new_sites.all().len();
                new_sites.configs().compress_in_background();
                state.reload(new_sites, &new_credentials);
                tracing::info!(
                    "reloaded: {count} sites, {} credentials",
                    new_credentials.credentials.len()
                );
            }
            (Err(error), _) | (_, Err(error)) => {
                tracing::error!("reload refused, keeping the files loaded before: {error:#}");
            }
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

/// Refuses a database URL with a password given on the command line, where `ps` and the shell's
/// history show it: the same URL in `KELISIM_DB` (or PostgreSQL's own `PGPASSFILE`) is fine.
fn refuse_password_on_command_line(matches: &clap::ArgMatches) -> Result<()> {
    let Some((_, sub)) = matches.subcommand() else {
        return Ok(());
    };
    let from_argv = sub
        .try_get_one::<String>("db")
        .ok()
        .flatten()
        .filter(|_| sub.value_source("db") == Some(clap::parser::ValueSource::CommandLine));
    if let Some(url) = from_argv {
        let credentials = url
            .split_once("://")
            .and_then(|(_, rest)| rest.split_once('@'))
            .map(|(userinfo, _)| userinfo);
        if credentials.is_some_and(|userinfo| userinfo.contains(':')) {
            bail!(
                "--db holds a password, which the process list and the shell's history would show: \
                 put the URL in KELISIM_DB, or the password in PostgreSQL's PGPASSFILE"
            );
        }
    }
    Ok(())
}

/// The shortest admin token accepted.
const MIN_TOKEN_CHARS: usize = 16;

/// The admin token, and where it came from (for the start-up line, which never shows the token
/// itself): the file given, `KELISIM_ADMIN_TOKEN`, or a token made once and kept beside the key.
fn admin_token(file: Option<PathBuf>, key: &Key) -> Result<(String, String)> {
    let (token, source) = if let Some(file) = file {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading the admin token file {}", file.display()))?;
        (text.trim().to_owned(), format!("from {}", file.display()))
    } else if let Ok(token) = std::env::var("KELISIM_ADMIN_TOKEN") {
        (
            token.trim().to_owned(),
            "from KELISIM_ADMIN_TOKEN".to_owned(),
        )
    } else {
        let file = key
            .key
            .parent()
            .unwrap_or(std::path::Path::new(""))
            .join("kelisim-admin.token");
        if !file.exists() {
            use rand_core::RngCore;
            let mut bytes = [0u8; 24];
            rand_core::OsRng.fill_bytes(&mut bytes);
            kelisim_server::chain::write_private(&file, &hex::encode(bytes))
                .with_context(|| format!("writing a new admin token to {}", file.display()))?;
        }
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading the admin token file {}", file.display()))?;
        (text.trim().to_owned(), format!("in {}", file.display()))
    };
    if token.chars().count() < MIN_TOKEN_CHARS {
        bail!(
            "the admin token {source} is {}: it must be at least {MIN_TOKEN_CHARS} characters \
             (make one with `openssl rand -hex 24`)",
            if token.is_empty() {
                "empty".to_owned()
            } else {
                format!("only {} characters", token.chars().count())
            }
        );
    }
    Ok((token, source))
}

/// Ctrl+C (`SIGINT`) or `SIGTERM` (what systemd and container engines send).
async fn stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    tracing::info!("stopping: answering the requests already received");
}

/// Serves `router` until `SIGINT` or `SIGTERM`, then lets open requests finish (up to 10 s). Each connection
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
    let mut stop = std::pin::pin!(stop_signal());
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
            _ = &mut stop => break,
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

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
