//! Storage side of `cargo xtask bench` (run in release by the xtask; not part of the server):
//!
//! - `raw <db-url> <seconds>`: the database's own durable insert rate, with the server's settings
//!   (SQLite WAL + `synchronous=FULL`): ~1 KB rows committed one at a time, then 100 per commit,
//!   each for `seconds`. Prints `{"single_per_s": .., "batched_per_s": ..}`.
//! - `fresh-postgres <admin-url> <name>`: drops and creates database `name`; prints its URL.
//! - `seed <db-url> <receipts> <impressions> <days>`: fills an empty database through
//!   `Store::insert_receipts` (real chains, signatures and rollups) with synthetic but realistic
//!   traffic spread over the last `days` days (today included), and the impression counts to
//!   go with it.
//!
//! - `public-key`: the public key (hex) of the key `seed` signs with, for `verify --public-key`.
//! - `seed-key`: that key's secret (hex), the form of a key file, for the benchmark's server
//!   (synthetic data only).
//!
//! Everything it writes is synthetic; it never touches a database it did not create.

use anyhow::{bail, Context, Result};
use kelisim_server::chain::Signer;
use kelisim_server::receipt::Receipt;
use kelisim_server::store::{NewReceipt, Store};
use sqlx::{Connection, Executor};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |n: usize| -> Result<&str> {
        args.get(n)
            .map(String::as_str)
            .with_context(|| format!("argument {n} is missing; see the module comment"))
    };
    match arg(0)? {
        "raw" => raw(arg(1)?, arg(2)?.parse()?).await,
        "fresh-postgres" => fresh_postgres(arg(1)?, arg(2)?).await,
        "seed" => {
            seed(
                arg(1)?,
                arg(2)?.parse()?,
                arg(3)?.parse()?,
                arg(4)?.parse()?,
            )
            .await
        }
        "seed-key" => {
            println!("{}", hex::encode(SEED_KEY));
            Ok(())
        }
        "public-key" => {
            println!("{}", seed_signer().public_key().to_hex());
            Ok(())
        }
        other => {
            bail!("unknown command {other:?}: raw, fresh-postgres, seed, public-key or seed-key")
        }
    }
}

/// The key `seed` signs with (synthetic data, so a fixed key).
const SEED_KEY: [u8; 32] = [9; 32];

fn seed_signer() -> Signer {
    Signer::from_seed(SEED_KEY)
}

/// A ~1 KB row, like a stored receipt.
fn payload(n: u64) -> String {
    format!("{n:016}{}", "x".repeat(1000))
}

async fn raw(url: &str, seconds: u64) -> Result<()> {
    sqlx::any::install_default_drivers();
    let mut connection = sqlx::AnyConnection::connect(url).await?;
    if url.starts_with("sqlite:") {
        // The server's settings (store.rs).
        connection.execute("PRAGMA journal_mode=WAL").await?;
        connection.execute("PRAGMA synchronous=FULL").await?;
    }
    connection
        .execute("DROP TABLE IF EXISTS bench_rows")
        .await?;
    connection
        .execute("CREATE TABLE bench_rows (id BIGINT PRIMARY KEY, body TEXT NOT NULL)")
        .await?;
    let window = Duration::from_secs(seconds);
    let mut n = 0_u64;
    let started = Instant::now();
    while started.elapsed() < window {
        sqlx::query("INSERT INTO bench_rows (id, body) VALUES ($1, $2)")
            .bind(n as i64)
            .bind(payload(n))
            .execute(&mut connection)
            .await?;
        n += 1;
    }
    let single = n as f64 / started.elapsed().as_secs_f64();
    let mut batched_rows = 0_u64;
    let started = Instant::now();
    while started.elapsed() < window {
        let mut tx = connection.begin().await?;
        for _ in 0..100 {
            sqlx::query("INSERT INTO bench_rows (id, body) VALUES ($1, $2)")
                .bind(n as i64)
                .bind(payload(n))
                .execute(&mut *tx)
                .await?;
            n += 1;
        }
        tx.commit().await?;
        batched_rows += 100;
    }
    let batched = batched_rows as f64 / started.elapsed().as_secs_f64();
    connection.execute("DROP TABLE bench_rows").await?;
    println!("{{\"single_per_s\": {single:.0}, \"batched_per_s\": {batched:.0}}}");
    Ok(())
}

async fn fresh_postgres(admin: &str, name: &str) -> Result<()> {
    if !name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
        bail!("a bench database name is lowercase letters and _ only");
    }
    sqlx::any::install_default_drivers();
    let mut connection = sqlx::AnyConnection::connect(admin).await?;
    connection
        .execute(format!("DROP DATABASE IF EXISTS {name}").as_str())
        .await?;
    connection
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await?;
    let (before, after) = admin
        .split_once("/postgres")
        .context("the admin URL names the postgres database")?;
    println!("{before}/{name}{after}");
    Ok(())
}

/// A small deterministic generator (xorshift), so every run seeds the same traffic.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn uuid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            b >> 52,
            b & 0xffff_ffff_ffff
        )
    }
}

const PAGES: usize = 40;
const USER_AGENTS: [&str; 3] = [
    "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
];

fn synthetic_receipt(random: &mut Random, consent_id: &str, first: bool) -> Receipt {
    let (action, granted, denied): (&str, &[&str], &[&str]) = match random.below(10) {
        0..=4 => ("accept_all", &["analytics", "marketing", "necessary"], &[]),
        5..=7 => ("reject_all", &["necessary"], &["analytics", "marketing"]),
        _ => ("custom", &["analytics", "necessary"], &["marketing"]),
    };
    let strings = |ids: &[&str]| ids.iter().map(|id| (*id).to_owned()).collect::<Vec<_>>();
    Receipt {
        receipt_id: random.uuid(),
        consent_id: consent_id.to_owned(),
        site: "bench-kz".into(),
        policy_version: "2026-11-01".into(),
        policy_url: "https://bench.kz/ru/privacy".into(),
        revision: 1,
        language: ["kk", "ru", "ru", "en"][random.below(4) as usize].into(),
        action: if first || random.below(3) > 0 {
            action.into()
        } else {
            "withdraw".into()
        },
        granted_categories: strings(granted),
        denied_categories: strings(denied),
        granted_services: Vec::new(),
        denied_services: Vec::new(),
        countries: Vec::new(),
        variant: Some(["a", "b"][random.below(2) as usize].into()),
        texts_hash: "a".repeat(64),
        config_id: None,
        operator: "ТОО «Бенч»".into(),
        bin: "180540012345".into(),
        expires_at: "2027-11-22T08:00:00Z".into(),
        method: "button:accept-all".into(),
        page_url: format!("https://bench.kz/catalog/{}", random.below(PAGES as u64)),
        user_agent: USER_AGENTS[random.below(3) as usize].into(),
        client_time: "2026-11-22T08:00:00Z".into(),
        form_id: None,
        granted_purposes: Vec::new(),
        denied_purposes: Vec::new(),
        sms: None,
        eds: None,
    }
}

async fn seed(url: &str, receipts: u64, impressions: u64, days: u64) -> Result<()> {
    let store = Store::open(url).await?;
    let signer = seed_signer();
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    let today = OffsetDateTime::now_utc().replace_time(time::Time::MIDNIGHT);
    let per_day = receipts.div_ceil(days);
    let started = Instant::now();
    let mut stored = 0_u64;
    let mut consent_id = random.uuid();
    let mut batch = Vec::with_capacity(512);
    for day in 0..days {
        let midnight = today - time::Duration::days((days - 1 - day) as i64);
        for n in 0..per_day.min(receipts - stored) {
            // About one visitor in five chooses again later (a change or a withdrawal).
            let first = random.below(5) > 0;
            if first {
                consent_id = random.uuid();
            }
            let receipt = synthetic_receipt(&mut random, &consent_id, first);
            let now = midnight + time::Duration::seconds((n * 86_400 / per_day) as i64);
            batch.push(NewReceipt {
                receipt,
                ip_prefix: None,
                now,
            });
            if batch.len() == 512 {
                store.insert_receipts(&batch, &signer).await?;
                batch.clear();
            }
        }
        stored += per_day.min(receipts - stored);
    }
    if !batch.is_empty() {
        store.insert_receipts(&batch, &signer).await?;
    }
    let receipts_seconds = started.elapsed().as_secs_f64();
    // Impressions are stored as daily counts per (language, variant, page, device): spread
    // `impressions` over them.
    let cells = days * 3 * 2 * PAGES as u64 * 3;
    let mut sql = String::new();
    let mut rows = 0_u64;
    let mut counted = 0_u64;
    for day in 0..days {
        let date = (today - time::Duration::days((days - 1 - day) as i64)).date();
        for language in ["kk", "ru", "en"] {
            for variant in ["a", "b"] {
                for page in 0..PAGES {
                    for device in ["mobile", "desktop", "tablet"] {
                        // The remainder goes one by one to the first cells.
                        let count = impressions / cells + u64::from(rows < impressions % cells);
                        counted += count;
                        sql.push_str(&format!(
                            "INSERT INTO impressions (site, day, language, variant, page, device, count) VALUES \
                             ('bench-kz', '{date}', '{language}', '{variant}', '/catalog/{page}', '{device}', {count});"
                        ));
                        rows += 1;
                    }
                }
            }
        }
    }
    store
        .execute_raw(&format!("BEGIN; {sql} COMMIT;"))
        .await
        .context("seeding impressions")?;
    store.close().await;
    println!(
        "{{\"receipts\": {receipts}, \"impressions\": {counted}, \"impression_rows\": {rows}, \"receipts_seconds\": {receipts_seconds:.1}}}"
    );
    Ok(())
}
