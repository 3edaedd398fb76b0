//! All SQL of the server, for SQLite (the embedded default) and PostgreSQL, through sqlx's
//! `AnyPool` with runtime queries. The two backends share every statement except where noted.
//!
//! Durability: SQLite runs in WAL mode with `synchronous=FULL`, so a committed receipt survives
//! a crash or `kill -9`; PostgreSQL commits are durable by default. A receipt is answered only
//! after its transaction commits.
//!
//! Chain writes: each site has one chain and one `chain_heads` row. On PostgreSQL the head row
//! is locked with `SELECT ... FOR UPDATE`, so any number of server instances can write to one
//! database and the chain stays linear; on SQLite writes are serialised in-process (one server
//! process per SQLite file).

use crate::chain::{link_hash, Signer, GENESIS_HASH};
use crate::receipt::{format_time, Receipt, ReceiptRecord, StoredReceipt};
use crate::stats::{self, DecisionCount, Filter, GroupBy, ImpressionCount, Rollup};
use anyhow::{bail, Context, Result};
use kelisim_core::compile::CompiledConfig;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};
use std::collections::HashMap;
use std::collections::HashSet;
use std::sync::Arc;
use time::OffsetDateTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Cheap to clone: clones share one pool and one write lock.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer; taking this lock first avoids SQLITE_BUSY on lock upgrades.
    write_lock: Arc<tokio::sync::Mutex<()>>,
}

/// A stored scan report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanReportRow {
    pub site: String,
    pub scanned_at: String,
    pub url: String,
    pub ran_before_consent: bool,
    pub clean: bool,
    /// The report as JSON.
    pub report: String,
    /// The report as Markdown, as the dashboard shows it.
    pub markdown: String,
}

/// One row of a chain, as `verify` and `export` read it.
#[derive(Clone, Debug)]
pub struct ChainRow {
    pub site: String,
    pub seq: i64,
    pub receipt_id: String,
    pub consent_id: String,
    pub server_time: String,
    pub action: String,
    pub body: String,
    pub prev_hash: String,
    pub hash: String,
    pub signature: String,
    /// The keyed hash of the number that confirmed it by SMS code, if one did.
    pub phone_hash: Option<String>,
}

/// Where a purge cut a site's chain.
#[derive(Clone, Debug)]
pub struct Checkpoint {
    pub site: String,
    pub seq: i64,
    pub hash: String,
    pub purged_before: String,
    pub signature: String,
}

impl Checkpoint {
    /// The text a checkpoint's signature covers.
    pub fn signed_text(site: &str, seq: i64, hash: &str, purged_before: &str) -> String {
        format!("kelisim-checkpoint\n{site}\n{seq}\n{hash}\n{purged_before}")
    }
}

/// One SMS code sent (table `confirmations`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfirmationRow {
    pub confirmation_id: String,
    pub site: String,
    pub form_id: String,
    /// `consent` or `withdraw`.
    pub kind: String,
    pub phone_hash: String,
    pub network: Option<String>,
    /// HMAC of the confirmation id and the code, keyed with the phone key.
    pub code_hash: String,
    /// What the code confirms, as JSON (see `confirmations`).
    pub pending: String,
    pub gateway: String,
    pub message_id: String,
    /// RFC 3339 in whole seconds, UTC, so that they compare as text.
    pub created_at: String,
    pub expires_at: String,
    pub attempts: i64,
    /// `pending`, `confirmed`, `replaced` (a newer code was sent), `locked` (too many wrong
    /// codes) or `failed` (the gateway did not take it).
    pub state: String,
}

/// A consent document written for signing (table `signature_requests`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureRequestRow {
    pub signature_id: String,
    pub site: String,
    pub form_id: String,
    /// The exact text to be signed.
    pub document: String,
    /// The receipt the signature completes, as JSON.
    pub pending: String,
    pub network: Option<String>,
    pub created_at: String,
    pub expires_at: String,
    /// `pending` or `signed`.
    pub state: String,
}

/// A receipt to store, with what the server adds to it.
#[derive(Debug)]
pub struct NewReceipt {
    pub receipt: Receipt,
    /// The client's network (see `receipt::ip_prefix`), when known.
    pub ip_prefix: Option<String>,
    /// The server time recorded in the receipt.
    pub now: OffsetDateTime,
}

/// Rows per multi-row statement. Only these sizes are used, so that a handful of statement
/// texts repeat and stay in sqlx's prepared-statement cache: preparing a fresh 500-row statement
/// for every batch size cost more than running it. 64 rows × 10 columns stays far below both
/// databases' limits on bound parameters (SQLite 32,766; PostgreSQL 65,535).
const CHUNK_SIZES: [usize; 4] = [64, 16, 4, 1];

/// `items` cut greedily into chunks of `CHUNK_SIZES` (100 → 64, 16, 16, 4).
fn statement_chunks<T>(items: &[T]) -> Vec<&[T]> {
    let mut chunks = Vec::new();
    let mut rest = items;
    while !rest.is_empty() {
        let size = CHUNK_SIZES
            .into_iter()
            .find(|size| *size <= rest.len())
            .unwrap_or(1);
        let (chunk, after) = rest.split_at(size);
        chunks.push(chunk);
        rest = after;
    }
    chunks
}

impl Store {
    /// Opens (creating a SQLite file on first run) and migrates the database.
    pub async fn open(url: &str) -> Result<Store> {
        Store::connect(url, true).await
    }

    /// Opens a database that must exist already (`verify`, `export`, `purge`): a mistyped
    /// SQLite path is an error, not a new empty database that verifies.
    pub async fn open_existing(url: &str) -> Result<Store> {
        Store::connect(url, false).await
    }

    async fn connect(url: &str, create: bool) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            bail!("--db must start with sqlite:// or postgres:// (got \"{url}\")");
        };
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                let separator = if url.contains('?') { '&' } else { '?' };
                let mode = if create { "rwc" } else { "rw" };
                format!("{url}{separator}mode={mode}")
            }
            _ => url.to_owned(),
        };
        if backend == Backend::Sqlite && !create {
            let path = url
                .trim_start_matches("sqlite://")
                .trim_start_matches("sqlite:")
                .split('?')
                .next()
                .unwrap_or_default();
            if !std::path::Path::new(path).exists() {
                bail!("no database at {path}: check --db (nothing was created)");
            }
        }
        let mut options = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 8 })
            // With the database down, answer 503 after a few seconds rather than hold the
            // request for sqlx's default 30 s.
            .acquire_timeout(std::time::Duration::from_secs(3));
        if backend == Backend::Sqlite {
            // A page cache of 32 MB per connection (SQLite's default is 2 MB): the stats and
            // dashboard queries read the same rollup pages again and again, and with the
            // default each connection of the pool evicted them between two requests (a
            // query's time varied threefold with the connection it got).
            options = options.after_connect(|connection, _| {
                Box::pin(async move {
                    for pragma in [
                        "PRAGMA journal_mode=WAL",
                        "PRAGMA synchronous=FULL",
                        "PRAGMA busy_timeout=5000",
                        "PRAGMA cache_size=-32000",
                    ] {
                        connection.execute(pragma).await?;
                    }
                    Ok(())
                })
            });
        } else {
            options = options.after_connect(|connection, _| {
                Box::pin(async move {
                    // Plan each statement with its values: a generic plan cached while a table
                    // was still small keeps scanning it sequentially once it has grown (the
                    // IN-list lookups of a batch went from 0.3 ms to 8 ms that way).
                    connection
                        .execute("SET plan_cache_mode = force_custom_plan")
                        .await?;
                    Ok(())
                })
            });
        }
        let pool = options
            .connect(&url)
            .await
            .with_context(|| format!("connecting to {}", redact(&url)))?;
        match backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&pool).await?,
            Backend::Postgres => sqlx::migrate!("./migrations/postgres").run(&pool).await?,
        }
        let store = Store {
            pool,
            backend,
            write_lock: Arc::new(tokio::sync::Mutex::new(())),
        };
        store.build_rollups_once().await?;
        Ok(store)
    }

    /// The in-process write lock on SQLite (one writer per file), nothing on PostgreSQL.
    async fn write_guard(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.backend {
            Backend::Sqlite => Some(self.write_lock.lock().await),
            Backend::Postgres => None,
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Stores a receipt at the end of its site's chain; `true` in the answer means the id was
    /// already stored and the stored record is returned unchanged (idempotency).
    pub async fn insert_receipt(
        &self,
        receipt: Receipt,
        ip_prefix: Option<String>,
        signer: &Signer,
        now: OffsetDateTime,
    ) -> Result<(ReceiptRecord, bool)> {
        let mut stored = self
            .insert_receipts(
                &[NewReceipt {
                    receipt,
                    ip_prefix,
                    now,
                }],
                signer,
            )
            .await?;
        Ok(stored.remove(0))
    }

    /// Stores many receipts in one transaction (group commit: one fsync for the whole batch),
    /// in the order given, and answers one `(record, already_stored)` per receipt in that order.
    /// A receipt id already stored, or repeated within the batch, is answered with the stored
    /// record and not stored again. Either the whole batch commits or none of it does.
    pub async fn insert_receipts(
        &self,
        batch: &[NewReceipt],
        signer: &Signer,
    ) -> Result<Vec<(ReceiptRecord, bool)>> {
        let _guard = match self.backend {
            Backend::Sqlite => Some(self.write_lock.lock().await),
            Backend::Postgres => None,
        };
        let mut tx = self.pool.begin().await?;
        let mut heads = self.lock_heads(&mut tx, batch).await?;
        let stored_before = stored_before(&mut tx, batch).await?;
        let Links { answers, fresh } = chain_links(batch, &mut heads, &stored_before, signer)?;
        // Which new receipts are first decisions is asked before they are inserted.
        let firsts = self.first_decisions(&mut tx, &answers, &fresh).await?;
        let mut rollup = Rollup::default();
        for ((index, _), first) in fresh.iter().zip(firsts) {
            rollup.add(&answers[*index].0.stored, first);
        }
        add_rollup(&mut tx, &rollup).await?;
        insert_links(&mut tx, &answers, &fresh).await?;
        for (site, (seq, hash)) in &heads {
            sqlx::query("UPDATE chain_heads SET seq = $2, hash = $3 WHERE site = $1")
                .bind(site)
                .bind(seq)
                .bind(hash)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(answers)
    }

    /// The head (last seq and hash) of every site the batch extends, created when missing and,
    /// on PostgreSQL, locked. Sites are locked in one order (sorted), so that two instances
    /// writing to one PostgreSQL never wait on each other in a cycle.
    async fn lock_heads(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        batch: &[NewReceipt],
    ) -> Result<HashMap<String, (i64, String)>> {
        let mut sites: Vec<&str> = batch.iter().map(|new| new.receipt.site.as_str()).collect();
        sites.sort_unstable();
        sites.dedup();
        let head_sql = match self.backend {
            Backend::Sqlite => "SELECT seq, hash FROM chain_heads WHERE site = $1",
            Backend::Postgres => "SELECT seq, hash FROM chain_heads WHERE site = $1 FOR UPDATE",
        };
        let mut heads = HashMap::new();
        for site in sites {
            sqlx::query("INSERT INTO chain_heads (site, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (site) DO NOTHING")
                .bind(site)
                .bind(GENESIS_HASH)
                .execute(&mut **tx)
                .await?;
            let head = sqlx::query(head_sql)
                .bind(site)
                .fetch_one(&mut **tx)
                .await?;
            heads.insert(site.to_owned(), (head.try_get(0)?, head.try_get(1)?));
        }
        Ok(heads)
    }

    /// For each new receipt (`fresh`, in chain order), whether it is its consent id's first
    /// banner decision: not in `decided_consents` (one index probe each, however many receipts
    /// a consent id has), not earlier in the batch. Records the new first deciders.
    async fn first_decisions(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        answers: &[(ReceiptRecord, bool)],
        fresh: &[(usize, String)],
    ) -> Result<Vec<bool>> {
        let receipts: Vec<&Receipt> = fresh
            .iter()
            .map(|(index, _)| &answers[*index].0.stored.receipt)
            .collect();
        let mut deciding: Vec<(&str, &str)> = receipts
            .iter()
            .filter(|receipt| stats::DECISIONS.contains(&receipt.action.as_str()))
            .map(|receipt| (receipt.consent_id.as_str(), receipt.site.as_str()))
            .collect();
        deciding.sort_unstable();
        deciding.dedup();
        let mut decided: HashSet<(String, String)> = HashSet::new();
        for chunk in statement_chunks(&deciding) {
            // By consent id only (an index probe each on both databases); sites are compared
            // below, in the set.
            let sql = format!(
                "SELECT site, consent_id FROM decided_consents WHERE consent_id IN ({})",
                placeholders(1, chunk.len())
            );
            let mut query = sqlx::query(&sql);
            for (consent_id, _) in chunk {
                query = query.bind(*consent_id);
            }
            for row in query.fetch_all(&mut **tx).await? {
                decided.insert((row.try_get(0)?, row.try_get(1)?));
            }
        }
        let firsts: Vec<bool> = receipts
            .iter()
            .map(|receipt| first_decision(&mut decided, receipt))
            .collect();
        let new_ids: Vec<(&str, &str)> = receipts
            .iter()
            .zip(&firsts)
            .filter(|(_, first)| **first)
            .map(|(receipt, _)| (receipt.consent_id.as_str(), receipt.site.as_str()))
            .collect();
        add_decided_consents(tx, &new_ids).await?;
        Ok(firsts)
    }

    /// Builds the stats rollups from the receipts stored before they existed (once, at the
    /// first start of a version with rollups); later receipts add to them as they are stored.
    async fn build_rollups_once(&self) -> Result<()> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            // Two instances starting at once: the second waits here, then finds the marker.
            sqlx::query("LOCK TABLE rollups_built IN EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await?;
        }
        let built = sqlx::query("SELECT version FROM rollups_built")
            .fetch_optional(&mut *tx)
            .await?;
        if built.is_some() {
            return Ok(());
        }
        let mut decided: HashSet<(String, String)> = HashSet::new();
        let (mut after_site, mut after_seq) = (String::new(), 0_i64);
        let mut built_from = 0_usize;
        loop {
            // Pages in chain order (keyset pagination, so memory stays bounded).
            let rows = sqlx::query(
                "SELECT site, seq, body FROM receipts WHERE site > $1 OR (site = $1 AND seq > $2) \
                 ORDER BY site, seq LIMIT 5000",
            )
            .bind(&after_site)
            .bind(after_seq)
            .fetch_all(&mut *tx)
            .await?;
            let Some(last) = rows.last() else { break };
            (after_site, after_seq) = (last.try_get(0)?, last.try_get(1)?);
            let mut rollup = Rollup::default();
            for row in &rows {
                let stored: StoredReceipt = serde_json::from_str(&row.try_get::<String, _>(2)?)
                    .context("a stored receipt body is not valid JSON")?;
                let first = first_decision(&mut decided, &stored.receipt);
                rollup.add(&stored, first);
            }
            built_from += rows.len();
            add_rollup(&mut tx, &rollup).await?;
        }
        let decided: Vec<(String, String)> = decided.into_iter().collect();
        let decided: Vec<(&str, &str)> = decided
            .iter()
            .map(|(site, consent_id)| (consent_id.as_str(), site.as_str()))
            .collect();
        for chunk in decided.chunks(4096) {
            add_decided_consents(&mut tx, chunk).await?;
        }
        sqlx::query("INSERT INTO rollups_built (version) VALUES (1)")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        if built_from > 0 {
            tracing::info!("built the stats rollups from {built_from} stored receipts");
        }
        Ok(())
    }

    /// Rolled-up decisions of `site` for a stats query, one row per group, kind and categories.
    /// Page groups cannot be narrowed by language, variant or device (see `stats`).
    pub async fn decision_counts(
        &self,
        site: &str,
        filter: &Filter,
        by: GroupBy,
    ) -> Result<Vec<DecisionCount>> {
        let (table, key) = match by {
            GroupBy::Page => ("page_decision_counts", "page"),
            GroupBy::Category => ("decision_counts", "''"),
            other => ("decision_counts", group_column(other)),
        };
        if by == GroupBy::Page && filter.narrows() {
            bail!("page counts are not split by language, variant or device");
        }
        let conditions = filter_conditions(filter).0;
        // PostgreSQL refuses a constant in GROUP BY: the category grouping's empty key is not.
        let groups = if by == GroupBy::Category {
            "kind, granted, denied".to_owned()
        } else {
            format!("{key}, kind, granted, denied")
        };
        let sql = format!(
            "SELECT {key}, kind, granted, denied, CAST(SUM(count) AS BIGINT) FROM {table} \
             WHERE site = $1 AND day >= $2 AND day <= $3{conditions} GROUP BY {groups}"
        );
        let rows = filtered_query(&sql, site, filter)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(DecisionCount {
                    key: row.try_get(0)?,
                    kind: row.try_get(1)?,
                    granted: row.try_get(2)?,
                    denied: row.try_get(3)?,
                    count: row.try_get(4)?,
                })
            })
            .collect()
    }

    /// Impressions of `site` for a stats query, one row per group (one row, empty key, when
    /// grouping by category).
    pub async fn impression_counts(
        &self,
        site: &str,
        filter: &Filter,
        by: GroupBy,
    ) -> Result<Vec<ImpressionCount>> {
        let key = match by {
            GroupBy::Page => "page",
            GroupBy::Category => "''",
            other => group_column(other),
        };
        let conditions = filter_conditions(filter).0;
        // By category, one total row (an aggregate without GROUP BY; COALESCE for no rows).
        let groups = if by == GroupBy::Category {
            String::new()
        } else {
            format!(" GROUP BY {key}")
        };
        let sql = format!(
            "SELECT {key}, CAST(COALESCE(SUM(count), 0) AS BIGINT) FROM impressions \
             WHERE site = $1 AND day >= $2 AND day <= $3{conditions}{groups}"
        );
        let rows = filtered_query(&sql, site, filter)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(ImpressionCount {
                    key: row.try_get(0)?,
                    count: row.try_get(1)?,
                })
            })
            .collect()
    }

    /// Decisions and impressions of `site` for the filter, split by day, language, variant and
    /// device (not by page): two statements that serve every grouping of a dashboard page
    /// (`stats::regroup_decisions`), where one statement per grouping read the same rows again.
    pub async fn split_counts(
        &self,
        site: &str,
        filter: &Filter,
    ) -> Result<(Vec<stats::SplitDecision>, Vec<stats::SplitImpression>)> {
        let conditions = filter_conditions(filter).0;
        let sql = format!(
            "SELECT day, language, variant, device, kind, granted, denied, count FROM decision_counts \
             WHERE site = $1 AND day >= $2 AND day <= $3{conditions}"
        );
        let decisions = filtered_query(&sql, site, filter)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                Ok(stats::SplitDecision {
                    day: row.try_get(0)?,
                    language: row.try_get(1)?,
                    variant: row.try_get(2)?,
                    device: row.try_get(3)?,
                    kind: row.try_get(4)?,
                    granted: row.try_get(5)?,
                    denied: row.try_get(6)?,
                    count: row.try_get(7)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let sql = format!(
            "SELECT day, language, variant, device, CAST(SUM(count) AS BIGINT) FROM impressions \
             WHERE site = $1 AND day >= $2 AND day <= $3{conditions} GROUP BY day, language, variant, device"
        );
        let impressions = filtered_query(&sql, site, filter)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                Ok(stats::SplitImpression {
                    day: row.try_get(0)?,
                    language: row.try_get(1)?,
                    variant: row.try_get(2)?,
                    device: row.try_get(3)?,
                    count: row.try_get(4)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((decisions, impressions))
    }

    pub async fn receipt(&self, receipt_id: &str) -> Result<Option<ReceiptRecord>> {
        let row = sqlx::query(
            "SELECT body, prev_hash, hash, signature FROM receipts WHERE receipt_id = $1",
        )
        .bind(receipt_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let record = record_from_row(&row)?;
        let signed = record.stored.receipt.receipt_id.clone();
        check_read(&row, &record, "receipt_id", receipt_id, &signed)?;
        Ok(Some(record))
    }

    /// Archives compiled configs (a config already archived stays as it was first seen);
    /// answers how many were new.
    pub async fn archive_configs<'a>(
        &self,
        configs: impl IntoIterator<Item = &'a CompiledConfig>,
    ) -> Result<u64> {
        let now = crate::receipt::format_time(OffsetDateTime::now_utc());
        let mut added = 0;
        for config in configs {
            added += sqlx::query(
                "INSERT INTO config_archive (site, config_id, language, body, first_seen) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (site, config_id) DO NOTHING",
            )
            .bind(&config.site)
            .bind(&config.config_id)
            .bind(&config.language)
            .bind(config.to_json())
            .bind(&now)
            .execute(&self.pool)
            .await?
            .rows_affected();
        }
        Ok(added)
    }

    /// An archived compiled config, checked against its own `config_id` as it is read: a row
    /// edited in the database is an error, never texts shown as what a visitor saw.
    pub async fn archived_config(
        &self,
        site: &str,
        config_id: &str,
    ) -> Result<Option<(CompiledConfig, String)>> {
        let row = sqlx::query(
            "SELECT body, first_seen FROM config_archive WHERE site = $1 AND config_id = $2",
        )
        .bind(site)
        .bind(config_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let body: String = row.try_get(0)?;
        let compiled = CompiledConfig::from_json(&body)
            .ok()
            .filter(|compiled| compiled.site == site && compiled.config_id == config_id)
            .ok_or_else(|| {
                anyhow::Error::new(crate::error::Tampered(format!(
                    "the archived config {config_id} of site {site} was altered"
                )))
            })?;
        Ok(Some((compiled, row.try_get(1)?)))
    }

    /// Every archived config: site, config id and body, for `verify`.
    pub async fn config_archive(&self) -> Result<Vec<(String, String, String)>> {
        let rows = sqlx::query("SELECT site, config_id, body FROM config_archive")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)))
            .collect()
    }

    /// Keeps a scan report of `site` (`kelisim-server scan --db`).
    pub async fn save_scan_report(&self, site: &str, report: &ScanReportRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO scan_reports (site, scanned_at, url, ran_before_consent, clean, report, markdown) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(site)
        .bind(&report.scanned_at)
        .bind(&report.url)
        .bind(i32::from(report.ran_before_consent))
        .bind(i32::from(report.clean))
        .bind(&report.report)
        .bind(&report.markdown)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The latest scan report of each site, by site.
    pub async fn last_scan_reports(&self) -> Result<Vec<ScanReportRow>> {
        let rows = sqlx::query(
            "SELECT site, scanned_at, url, ran_before_consent, clean, report, markdown FROM scan_reports \
             WHERE id IN (SELECT MAX(id) FROM scan_reports GROUP BY site) ORDER BY site",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ScanReportRow {
                    site: row.try_get(0)?,
                    scanned_at: row.try_get(1)?,
                    url: row.try_get(2)?,
                    ran_before_consent: row.try_get::<i32, _>(3)? != 0,
                    clean: row.try_get::<i32, _>(4)? != 0,
                    report: row.try_get(5)?,
                    markdown: row.try_get(6)?,
                })
            })
            .collect()
    }

    /// Every receipt of one browser's consent id, oldest first.
    pub async fn consent_history(&self, consent_id: &str) -> Result<Vec<ReceiptRecord>> {
        let rows = sqlx::query(
            "SELECT body, prev_hash, hash, signature FROM receipts WHERE consent_id = $1 ORDER BY server_time, site, seq",
        )
        .bind(consent_id)
        .fetch_all(&self.pool)
        .await?;
        let mut records = Vec::with_capacity(rows.len());
        for row in &rows {
            let record = record_from_row(row)?;
            let signed = record.stored.receipt.consent_id.clone();
            check_read(row, &record, "consent_id", consent_id, &signed)?;
            records.push(record);
        }
        Ok(records)
    }

    /// Every receipt an SMS code to the phone with keyed hash `phone_hash` confirmed, and every
    /// later receipt of the same consents (a withdrawal the staff recorded, say), oldest first.
    pub async fn receipts_by_phone(&self, phone_hash: &str) -> Result<Vec<ReceiptRecord>> {
        let rows = sqlx::query(
            "SELECT body, prev_hash, hash, signature FROM receipts WHERE phone_hash = $1 ORDER BY site, seq",
        )
        .bind(phone_hash)
        .fetch_all(&self.pool)
        .await?;
        let mut consent_ids: Vec<String> = Vec::new();
        for row in &rows {
            let record = record_from_row(row)?;
            // The column must say what the signed text says, or it could point a person's
            // access request at someone else's receipts.
            let signed = record
                .stored
                .receipt
                .sms
                .as_ref()
                .map(|sms| sms.phone_hash.clone())
                .unwrap_or_default();
            check_read(row, &record, "phone_hash", phone_hash, &signed)?;
            if !consent_ids.contains(&record.stored.receipt.consent_id) {
                consent_ids.push(record.stored.receipt.consent_id);
            }
        }
        let mut records = Vec::new();
        for consent_id in &consent_ids {
            records.extend(self.consent_history(consent_id).await?);
        }
        records.sort_by(|a, b| a.stored.server_time.cmp(&b.stored.server_time));
        Ok(records)
    }

    /// Records an SMS code sent (or that the gateway refused: state `failed`).
    pub async fn insert_confirmation(&self, row: &ConfirmationRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO confirmations (confirmation_id, site, form_id, kind, phone_hash, network, code_hash, pending, gateway, message_id, created_at, expires_at, attempts, state) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&row.confirmation_id)
        .bind(&row.site)
        .bind(&row.form_id)
        .bind(&row.kind)
        .bind(&row.phone_hash)
        .bind(&row.network)
        .bind(&row.code_hash)
        .bind(&row.pending)
        .bind(&row.gateway)
        .bind(&row.message_id)
        .bind(&row.created_at)
        .bind(&row.expires_at)
        .bind(row.attempts)
        .bind(&row.state)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn confirmation(&self, confirmation_id: &str) -> Result<Option<ConfirmationRow>> {
        let row = sqlx::query(
            "SELECT confirmation_id, site, form_id, kind, phone_hash, network, code_hash, pending, gateway, message_id, created_at, expires_at, attempts, state \
             FROM confirmations WHERE confirmation_id = $1",
        )
        .bind(confirmation_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(ConfirmationRow {
                confirmation_id: row.try_get(0)?,
                site: row.try_get(1)?,
                form_id: row.try_get(2)?,
                kind: row.try_get(3)?,
                phone_hash: row.try_get(4)?,
                network: row.try_get(5)?,
                code_hash: row.try_get(6)?,
                pending: row.try_get(7)?,
                gateway: row.try_get(8)?,
                message_id: row.try_get(9)?,
                created_at: row.try_get(10)?,
                expires_at: row.try_get(11)?,
                attempts: row.try_get(12)?,
                state: row.try_get(13)?,
            })
        })
        .transpose()
    }

    /// Codes sent to one phone for one site since `since`, and when the last one was sent.
    pub async fn codes_sent_to_phone(
        &self,
        site: &str,
        phone_hash: &str,
        since: &str,
    ) -> Result<(i64, Option<String>)> {
        let row = sqlx::query(
            "SELECT COUNT(*), MAX(created_at) FROM confirmations \
             WHERE site = $1 AND phone_hash = $2 AND created_at >= $3 AND state <> 'failed'",
        )
        .bind(site)
        .bind(phone_hash)
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }

    /// Codes asked for from one client network since `since` (sent or not: a network flooding
    /// numbers is stopped whether or not the gateway takes its requests).
    pub async fn codes_asked_from_network(&self, network: &str, since: &str) -> Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) FROM confirmations WHERE network = $1 AND created_at >= $2",
        )
        .bind(network)
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get(0)?)
    }

    /// Counts one attempt at a pending confirmation's code; answers the attempts made so far,
    /// or `None` when it is not pending (confirmed, replaced, locked).
    pub async fn count_attempt(&self, confirmation_id: &str) -> Result<Option<i64>> {
        let _guard = self.write_guard().await;
        let changed = sqlx::query(
            "UPDATE confirmations SET attempts = attempts + 1 WHERE confirmation_id = $1 AND state = 'pending'",
        )
        .bind(confirmation_id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if changed == 0 {
            return Ok(None);
        }
        let row = sqlx::query("SELECT attempts FROM confirmations WHERE confirmation_id = $1")
            .bind(confirmation_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(Some(row.try_get(0)?))
    }

    /// Moves a confirmation from state `from` to `to`; `false` when it was not in `from` (a
    /// code is used once: of two requests confirming together, one moves it).
    pub async fn move_confirmation(
        &self,
        confirmation_id: &str,
        from: &str,
        to: &str,
    ) -> Result<bool> {
        self.move_state(
            "confirmations",
            "confirmation_id",
            confirmation_id,
            from,
            to,
        )
        .await
    }

    /// Moves a signature request from state `from` to `to`; `false` when it was not in `from`.
    pub async fn move_signature_request(
        &self,
        signature_id: &str,
        from: &str,
        to: &str,
    ) -> Result<bool> {
        self.move_state("signature_requests", "signature_id", signature_id, from, to)
            .await
    }

    /// `UPDATE table SET state = to WHERE id_column = id AND state = from` (the table and the
    /// column are this module's constants); whether a row moved.
    async fn move_state(
        &self,
        table: &str,
        id_column: &str,
        id: &str,
        from: &str,
        to: &str,
    ) -> Result<bool> {
        let _guard = self.write_guard().await;
        let sql = format!("UPDATE {table} SET state = $3 WHERE {id_column} = $1 AND state = $2");
        let changed = sqlx::query(&sql)
            .bind(id)
            .bind(from)
            .bind(to)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(changed == 1)
    }

    /// A new code for a phone and form replaces the ones sent before: only the newest works.
    pub async fn replace_pending_codes(
        &self,
        site: &str,
        form_id: &str,
        phone_hash: &str,
    ) -> Result<()> {
        let _guard = self.write_guard().await;
        sqlx::query(
            "UPDATE confirmations SET state = 'replaced' \
             WHERE site = $1 AND form_id = $2 AND phone_hash = $3 AND state = 'pending'",
        )
        .bind(site)
        .bind(form_id)
        .bind(phone_hash)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records a consent document written for signing.
    pub async fn insert_signature_request(&self, row: &SignatureRequestRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO signature_requests (signature_id, site, form_id, document, pending, network, created_at, expires_at, state) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&row.signature_id)
        .bind(&row.site)
        .bind(&row.form_id)
        .bind(&row.document)
        .bind(&row.pending)
        .bind(&row.network)
        .bind(&row.created_at)
        .bind(&row.expires_at)
        .bind(&row.state)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn signature_request(
        &self,
        signature_id: &str,
    ) -> Result<Option<SignatureRequestRow>> {
        let row = sqlx::query(
            "SELECT signature_id, site, form_id, document, pending, network, created_at, expires_at, state \
             FROM signature_requests WHERE signature_id = $1",
        )
        .bind(signature_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(SignatureRequestRow {
                signature_id: row.try_get(0)?,
                site: row.try_get(1)?,
                form_id: row.try_get(2)?,
                document: row.try_get(3)?,
                pending: row.try_get(4)?,
                network: row.try_get(5)?,
                created_at: row.try_get(6)?,
                expires_at: row.try_get(7)?,
                state: row.try_get(8)?,
            })
        })
        .transpose()
    }

    /// Documents asked for from one client network since `since`.
    pub async fn signature_requests_from_network(&self, network: &str, since: &str) -> Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) FROM signature_requests WHERE network = $1 AND created_at >= $2",
        )
        .bind(network)
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get(0)?)
    }

    /// Every stored receipt in chain order (site, then seq).
    pub async fn chain_rows(&self) -> Result<Vec<ChainRow>> {
        let sql = format!("SELECT {CHAIN_COLUMNS} FROM receipts ORDER BY site, seq");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(chain_row).collect()
    }

    /// One site's receipts in chain order.
    pub async fn site_chain_rows(&self, site: &str) -> Result<Vec<ChainRow>> {
        let sql = format!("SELECT {CHAIN_COLUMNS} FROM receipts WHERE site = $1 ORDER BY seq");
        let rows = sqlx::query(&sql).bind(site).fetch_all(&self.pool).await?;
        rows.iter().map(chain_row).collect()
    }

    /// The hash and signature of `site`'s receipt `seq`, if stored.
    pub async fn link_at(&self, site: &str, seq: i64) -> Result<Option<(String, String)>> {
        let row = sqlx::query("SELECT hash, signature FROM receipts WHERE site = $1 AND seq = $2")
            .bind(site)
            .bind(seq)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .transpose()
    }

    /// The head (last seq and hash) of every site's chain.
    pub async fn heads(&self) -> Result<Vec<(String, i64, String)>> {
        let rows = sqlx::query("SELECT site, seq, hash FROM chain_heads ORDER BY site")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)))
            .collect()
    }

    pub async fn checkpoints(&self) -> Result<Vec<Checkpoint>> {
        let rows = sqlx::query(
            "SELECT site, seq, hash, purged_before, signature FROM checkpoints ORDER BY site",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Checkpoint {
                    site: row.try_get(0)?,
                    seq: row.try_get(1)?,
                    hash: row.try_get(2)?,
                    purged_before: row.try_get(3)?,
                    signature: row.try_get(4)?,
                })
            })
            .collect()
    }

    /// Counts one first-layer impression (anonymous: no id, no address).
    pub async fn add_impression(
        &self,
        site: &str,
        day: &str,
        language: &str,
        variant: &str,
        page: &str,
        device: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO impressions (site, day, language, variant, page, device, count) VALUES ($1, $2, $3, $4, $5, $6, 1) \
             ON CONFLICT (site, day, language, variant, page, device) DO UPDATE SET count = impressions.count + 1",
        )
        .bind(site)
        .bind(day)
        .bind(language)
        .bind(variant)
        .bind(page)
        .bind(device)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn impression_count(&self, site: &str) -> Result<i64> {
        let row = sqlx::query("SELECT COALESCE(SUM(count), 0) FROM impressions WHERE site = $1")
            .bind(site)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<i64, _>(0)?)
    }

    /// Deletes a site's receipts stored before `before` (RFC 3339) and records a signed
    /// checkpoint at the last deleted link, so the rest of the chain still verifies. Returns
    /// how many rows were deleted. The stats rollups are anonymous aggregates and keep
    /// counting them.
    ///
    /// A purge signs what it leaves, so it first verifies the site's whole chain and refuses
    /// to go on over any problem (it would otherwise sign a checkpoint over a loss), and it
    /// decides by the signed time of storage: it deletes the receipts from the start of the
    /// chain up to the first one signed at or after `before`.
    pub async fn purge(&self, site: &str, before: &str, signer: &Signer) -> Result<u64> {
        let before_time =
            OffsetDateTime::parse(before, &time::format_description::well_known::Rfc3339)
                .with_context(|| format!("\"{before}\" is not an RFC 3339 time"))?;
        let _guard = match self.backend {
            Backend::Sqlite => Some(self.write_lock.lock().await),
            Backend::Postgres => None,
        };
        let mut tx = self.pool.begin().await?;
        let head = sqlx::query(match self.backend {
            Backend::Sqlite => "SELECT seq, hash FROM chain_heads WHERE site = $1",
            Backend::Postgres => "SELECT seq, hash FROM chain_heads WHERE site = $1 FOR UPDATE",
        })
        .bind(site)
        .fetch_optional(&mut *tx)
        .await?;
        let heads: Vec<(String, i64, String)> = match head {
            Some(head) => vec![(site.to_owned(), head.try_get(0)?, head.try_get(1)?)],
            None => Vec::new(),
        };
        let sql = format!("SELECT {CHAIN_COLUMNS} FROM receipts WHERE site = $1 ORDER BY seq");
        let rows: Vec<ChainRow> = sqlx::query(&sql)
            .bind(site)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(chain_row)
            .collect::<Result<_>>()?;
        let checkpoints: Vec<Checkpoint> = self
            .checkpoints()
            .await?
            .into_iter()
            .filter(|c| c.site == site)
            .collect();
        let ring = crate::keys::KeyRing::build(signer.public_key(), &self.rotations().await?)?;
        let report = crate::verify::verify_rows(&rows, &checkpoints, &heads, &[], &ring);
        if let Some(problem) = report.problems.first() {
            bail!("refusing to purge: {problem}; run `kelisim-server verify` and restore the database from a backup");
        }
        // Verified above: every server_time column equals its signed time.
        let mut last = None;
        for row in &rows {
            let stored = OffsetDateTime::parse(
                &row.server_time,
                &time::format_description::well_known::Rfc3339,
            )
            .with_context(|| format!("receipt {} of site {site}: its server time", row.seq))?;
            if stored >= before_time {
                break;
            }
            last = Some(row);
        }
        let Some(last) = last else {
            tx.rollback().await?;
            return Ok(0);
        };
        let (seq, hash) = (last.seq, last.hash.clone());
        let signature = signer.sign(&Checkpoint::signed_text(site, seq, &hash, before));
        sqlx::query(
            "INSERT INTO checkpoints (site, seq, hash, purged_before, signature) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (site) DO UPDATE SET seq = $2, hash = $3, purged_before = $4, signature = $5",
        )
        .bind(site)
        .bind(seq)
        .bind(&hash)
        .bind(before)
        .bind(&signature)
        .execute(&mut *tx)
        .await?;
        // The codes sent and documents written before the cut go with the receipts.
        for table in ["confirmations", "signature_requests"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE site = $1 AND created_at < $2"
            ))
            .bind(site)
            .bind(before)
            .execute(&mut *tx)
            .await?;
        }
        let deleted = sqlx::query("DELETE FROM receipts WHERE site = $1 AND seq <= $2")
            .bind(site)
            .bind(seq)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        // Consent ids with no receipt left are not kept for the stats either.
        sqlx::query(
            "DELETE FROM decided_consents WHERE site = $1 AND NOT EXISTS \
             (SELECT 1 FROM receipts WHERE receipts.consent_id = decided_consents.consent_id AND receipts.site = $1)",
        )
        .bind(site)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(deleted)
    }

    /// Records a dashboard session (by the SHA-256 of its id) and forgets the sessions that
    /// expired before it was made (times in whole seconds, RFC 3339, so they compare as text).
    pub async fn create_session(
        &self,
        id_sha256: &str,
        role: &str,
        name: &str,
        expires_at: &str,
    ) -> Result<()> {
        let now = OffsetDateTime::now_utc();
        let now = crate::receipt::format_time(now.replace_nanosecond(0).unwrap_or(now));
        sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(&now)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (id_sha256, role, name, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(id_sha256)
        .bind(role)
        .bind(name)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The role and name of a session that expires after `now`.
    pub async fn session(&self, id_sha256: &str, now: &str) -> Result<Option<(String, String)>> {
        let row =
            sqlx::query("SELECT role, name FROM sessions WHERE id_sha256 = $1 AND expires_at > $2")
                .bind(id_sha256)
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .transpose()
    }

    pub async fn delete_session(&self, id_sha256: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id_sha256 = $1")
            .bind(id_sha256)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Writes and commits one row: whether the database takes writes now (`/readyz`).
    pub async fn check_writable(&self) -> Result<()> {
        let now = crate::receipt::format_time(OffsetDateTime::now_utc());
        sqlx::query(
            "INSERT INTO readiness (id, checked_at) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET checked_at = $1",
        )
        .bind(&now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Writes a consistent copy of a SQLite database to `out` while the server goes on
    /// writing (`VACUUM INTO` reads one snapshot and writes a compact new file). PostgreSQL has
    /// its own tool for this, `pg_dump`.
    pub async fn backup_sqlite(&self, out: &std::path::Path) -> Result<()> {
        if self.backend != Backend::Sqlite {
            bail!("backup copies SQLite databases; back up PostgreSQL with pg_dump (docs/operating.md, \"Backup and restore\")");
        }
        if out.exists() {
            bail!(
                "{} exists already; a backup never overwrites a file",
                out.display()
            );
        }
        let target = out
            .to_str()
            .context("the backup's path must be valid UTF-8")?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(&self.pool)
            .await
            .with_context(|| format!("writing the backup {}", out.display()))?;
        Ok(())
    }

    /// Every recorded signing-key rotation.
    pub async fn rotations(&self) -> Result<Vec<crate::keys::Rotation>> {
        let rows = sqlx::query(
            "SELECT rotated_at, from_public, to_public, starts, from_signature, to_signature \
             FROM key_rotations ORDER BY rotated_at",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let starts: String = row.try_get(3)?;
                Ok(crate::keys::Rotation {
                    rotated_at: row.try_get(0)?,
                    from_public: row.try_get(1)?,
                    to_public: row.try_get(2)?,
                    starts: serde_json::from_str(&starts)
                        .context("a key rotation's starts are not JSON")?,
                    from_signature: row.try_get(4)?,
                    to_signature: row.try_get(5)?,
                })
            })
            .collect()
    }

    /// Records a rotation from `from` to `to`: the new key signs each site's receipts from the
    /// one after its current head. Everything in one transaction, under the chains' locks, so
    /// that no receipt lands between reading the heads and recording the rotation.
    pub async fn rotate_key(&self, from: &Signer, to: &Signer) -> Result<crate::keys::Rotation> {
        let _guard = match self.backend {
            Backend::Sqlite => Some(self.write_lock.lock().await),
            Backend::Postgres => None,
        };
        let mut tx = self.pool.begin().await?;
        let sql = match self.backend {
            Backend::Sqlite => "SELECT site, seq FROM chain_heads ORDER BY site",
            Backend::Postgres => "SELECT site, seq FROM chain_heads ORDER BY site FOR UPDATE",
        };
        let mut starts = std::collections::BTreeMap::new();
        for row in sqlx::query(sql).fetch_all(&mut *tx).await? {
            let (site, seq): (String, i64) = (row.try_get(0)?, row.try_get(1)?);
            starts.insert(site, seq + 1);
        }
        let rotation = crate::keys::Rotation::new(from, to, starts, OffsetDateTime::now_utc());
        sqlx::query(
            "INSERT INTO key_rotations (rotated_at, from_public, to_public, starts, from_signature, to_signature) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&rotation.rotated_at)
        .bind(&rotation.from_public)
        .bind(&rotation.to_public)
        .bind(serde_json::to_string(&rotation.starts)?)
        .bind(&rotation.from_signature)
        .bind(&rotation.to_signature)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rotation)
    }

    /// Raw SQL for tests that tamper with the database to prove `verify` notices.
    pub async fn execute_raw(&self, sql: &str) -> Result<u64> {
        Ok(sqlx::query(sql).execute(&self.pool).await?.rows_affected())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The columns of a [`ChainRow`], in the order [`chain_row`] reads them.
const CHAIN_COLUMNS: &str = "site, seq, receipt_id, consent_id, server_time, action, body, \
     prev_hash, hash, signature, phone_hash";

fn chain_row(row: &AnyRow) -> Result<ChainRow> {
    Ok(ChainRow {
        site: row.try_get(0)?,
        seq: row.try_get(1)?,
        receipt_id: row.try_get(2)?,
        consent_id: row.try_get(3)?,
        server_time: row.try_get(4)?,
        action: row.try_get(5)?,
        body: row.try_get(6)?,
        prev_hash: row.try_get(7)?,
        hash: row.try_get(8)?,
        signature: row.try_get(9)?,
        phone_hash: row.try_get(10)?,
    })
}

/// A stored record as it is read for a person (a DPO, a visitor's access request): refused
/// when its text no longer hashes to its hash, or when the column it was found by says
/// something else than its signed text. Whoever edited the database then gets an error in
/// front of the DPO, not a quietly wrong answer.
fn check_read(
    row: &AnyRow,
    record: &ReceiptRecord,
    column: &str,
    asked: &str,
    signed: &str,
) -> Result<()> {
    let body: String = row.try_get(0)?;
    if link_hash(&record.prev_hash, &body) != record.hash || asked != signed {
        return Err(crate::error::Tampered(format!(
            "receipt {} of site {}: its stored text or its {column} column was altered",
            record.stored.seq, record.stored.receipt.site
        ))
        .into());
    }
    Ok(())
}

fn record_from_row(row: &AnyRow) -> Result<ReceiptRecord> {
    let body: String = row.try_get(0)?;
    Ok(ReceiptRecord {
        stored: serde_json::from_str(&body).context("a stored receipt body is not valid JSON")?,
        prev_hash: row.try_get(1)?,
        hash: row.try_get(2)?,
        signature: row.try_get(3)?,
    })
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://…@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// Whether `receipt` is its consent id's first banner decision, given the (site, consent id)
/// pairs that decided before it; records it when it is.
fn first_decision(decided: &mut HashSet<(String, String)>, receipt: &Receipt) -> bool {
    stats::DECISIONS.contains(&receipt.action.as_str())
        && decided.insert((receipt.site.clone(), receipt.consent_id.clone()))
}

/// The stored records of the batch's receipt ids that are already in the database (stored
/// earlier by this or another instance), by id.
async fn stored_before(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    batch: &[NewReceipt],
) -> Result<HashMap<String, ReceiptRecord>> {
    let mut stored = HashMap::new();
    for chunk in statement_chunks(batch) {
        let sql = format!(
            "SELECT body, prev_hash, hash, signature, receipt_id FROM receipts WHERE receipt_id IN ({})",
            placeholders(1, chunk.len())
        );
        let mut query = sqlx::query(&sql);
        for new in chunk {
            query = query.bind(&new.receipt.receipt_id);
        }
        for row in query.fetch_all(&mut **tx).await? {
            stored.insert(row.try_get(4)?, record_from_row(&row)?);
        }
    }
    Ok(stored)
}

/// The answers of a batch, and which of them are new links.
struct Links {
    /// One `(record, already_stored)` per receipt of the batch, in its order.
    answers: Vec<(ReceiptRecord, bool)>,
    /// The new links: index into `answers`, and the exact body text their hash covers.
    fresh: Vec<(usize, String)>,
}

/// Chains the batch's new receipts onto `heads` (moving them), in order: a receipt id stored
/// before is answered with its record, one repeated within the batch with the first's. Hashes
/// are made one after the other (each covers the previous); the signatures then all at once.
fn chain_links(
    batch: &[NewReceipt],
    heads: &mut HashMap<String, (i64, String)>,
    stored_before: &HashMap<String, ReceiptRecord>,
    signer: &Signer,
) -> Result<Links> {
    let mut answers: Vec<(ReceiptRecord, bool)> = Vec::with_capacity(batch.len());
    let mut fresh: Vec<(usize, String)> = Vec::new();
    let mut fresh_by_id: HashMap<&str, usize> = HashMap::new();
    // Ids repeated within the batch: (index of the repeat, index of the first).
    let mut repeats: Vec<(usize, usize)> = Vec::new();
    for new in batch {
        let id = new.receipt.receipt_id.as_str();
        if let Some(record) = stored_before.get(id) {
            answers.push((record.clone(), true));
            continue;
        }
        if let Some(&earlier) = fresh_by_id.get(id) {
            // Copied again once the earlier one is signed.
            repeats.push((answers.len(), earlier));
            answers.push((answers[earlier].0.clone(), true));
            continue;
        }
        let (head_seq, head_hash) = heads
            .get_mut(&new.receipt.site)
            .context("every site of the batch has a head")?;
        let stored = StoredReceipt {
            seq: *head_seq + 1,
            server_time: format_time(new.now),
            ip_prefix: new.ip_prefix.clone(),
            receipt: new.receipt.clone(),
        };
        let body = serde_json::to_string(&stored)?;
        let hash = link_hash(head_hash, &body);
        *head_seq = stored.seq;
        let prev_hash = std::mem::replace(head_hash, hash.clone());
        fresh_by_id.insert(id, answers.len());
        fresh.push((answers.len(), body));
        answers.push((
            ReceiptRecord {
                stored,
                prev_hash,
                hash,
                // Signed below, all at once.
                signature: String::new(),
            },
            false,
        ));
    }
    let hashes: Vec<&str> = fresh
        .iter()
        .map(|(index, _)| answers[*index].0.hash.as_str())
        .collect();
    let signatures = signer.sign_all(&hashes);
    for ((index, _), signature) in fresh.iter().zip(signatures) {
        answers[*index].0.signature = signature;
    }
    for (repeat, first) in repeats {
        answers[repeat].0 = answers[first].0.clone();
    }
    Ok(Links { answers, fresh })
}

/// Inserts the new links with multi-row statements.
async fn insert_links(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    answers: &[(ReceiptRecord, bool)],
    fresh: &[(usize, String)],
) -> Result<()> {
    for chunk in statement_chunks(fresh) {
        let sql = format!(
            "INSERT INTO receipts (site, seq, receipt_id, consent_id, server_time, action, body, prev_hash, hash, signature, phone_hash) VALUES {}",
            value_rows(chunk.len(), 11)
        );
        let mut query = sqlx::query(&sql);
        for (index, body) in chunk {
            let record = &answers[*index].0;
            query = query
                .bind(&record.stored.receipt.site)
                .bind(record.stored.seq)
                .bind(&record.stored.receipt.receipt_id)
                .bind(&record.stored.receipt.consent_id)
                .bind(&record.stored.server_time)
                .bind(&record.stored.receipt.action)
                .bind(body)
                .bind(&record.prev_hash)
                .bind(&record.hash)
                .bind(&record.signature)
                .bind(
                    record
                        .stored
                        .receipt
                        .sms
                        .as_ref()
                        .map(|sms| sms.phone_hash.clone()),
                );
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// `$first, $first+1, ...` for `count` bound values.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `($1, ..., $c), ($c+1, ...), ...` for a multi-row insert of `rows` rows of `columns` values.
fn value_rows(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|row| format!("({})", placeholders(row * columns + 1, columns)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The column of a grouping that is one (not page, not category).
fn group_column(by: GroupBy) -> &'static str {
    match by {
        GroupBy::Day => "day",
        GroupBy::Language => "language",
        GroupBy::Variant => "variant",
        GroupBy::Device => "device",
        GroupBy::Page => "page",
        GroupBy::Category => "''",
    }
}

/// The extra `AND column = $n` conditions of a filter (after `$1..$3`: site, from, to), and
/// their values in order.
fn filter_conditions(filter: &Filter) -> (String, Vec<&str>) {
    let mut conditions = String::new();
    let mut values = Vec::new();
    for (column, value) in [
        ("language", &filter.language),
        ("variant", &filter.variant),
        ("device", &filter.device),
    ] {
        if let Some(value) = value {
            values.push(value.as_str());
            conditions.push_str(&format!(" AND {column} = ${}", values.len() + 3));
        }
    }
    (conditions, values)
}

/// Records consent ids (with their sites) as having decided.
async fn add_decided_consents(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ids: &[(&str, &str)],
) -> Result<()> {
    for chunk in statement_chunks(ids) {
        let sql = format!(
            "INSERT INTO decided_consents (consent_id, site) VALUES {} ON CONFLICT DO NOTHING",
            value_rows(chunk.len(), 2)
        );
        let mut query = sqlx::query(&sql);
        for (consent_id, site) in chunk {
            query = query.bind(*consent_id).bind(*site);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// A stats statement with its values bound: `$1` site, `$2`/`$3` the days, then the filter's
/// (in the order of `filter_conditions`).
fn filtered_query<'q>(
    sql: &'q str,
    site: &'q str,
    filter: &'q Filter,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    let mut query = sqlx::query(sql)
        .bind(site)
        .bind(&filter.from)
        .bind(&filter.to);
    for value in filter_conditions(filter).1 {
        query = query.bind(value);
    }
    query
}

/// Adds rollup increments (within the caller's transaction).
async fn add_rollup(tx: &mut sqlx::Transaction<'_, sqlx::Any>, rollup: &Rollup) -> Result<()> {
    let decisions: Vec<_> = rollup.decisions.iter().collect();
    for chunk in statement_chunks(&decisions) {
        let sql = format!(
            "INSERT INTO decision_counts (site, day, language, variant, device, kind, granted, denied, count) VALUES {} \
             ON CONFLICT (site, day, language, variant, device, kind, granted, denied) \
             DO UPDATE SET count = decision_counts.count + excluded.count",
            value_rows(chunk.len(), 9)
        );
        let mut query = sqlx::query(&sql);
        for (key, count) in chunk {
            query = query
                .bind(&key.site)
                .bind(&key.day)
                .bind(&key.language)
                .bind(&key.variant)
                .bind(&key.device)
                .bind(key.kind)
                .bind(&key.granted)
                .bind(&key.denied)
                .bind(**count);
        }
        query.execute(&mut **tx).await?;
    }
    let pages: Vec<_> = rollup.pages.iter().collect();
    for chunk in statement_chunks(&pages) {
        let sql = format!(
            "INSERT INTO page_decision_counts (site, day, page, kind, granted, denied, count) VALUES {} \
             ON CONFLICT (site, day, page, kind, granted, denied) \
             DO UPDATE SET count = page_decision_counts.count + excluded.count",
            value_rows(chunk.len(), 7)
        );
        let mut query = sqlx::query(&sql);
        for (key, count) in chunk {
            query = query
                .bind(&key.site)
                .bind(&key.day)
                .bind(&key.page)
                .bind(key.kind)
                .bind(&key.granted)
                .bind(&key.denied)
                .bind(**count);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}
