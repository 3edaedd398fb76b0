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
use crate::receipt::{format_time, ReceiptInput, ReceiptRecord, StoredReceipt};
use anyhow::{bail, Context, Result};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};
use time::OffsetDateTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer; taking this lock first avoids SQLITE_BUSY on lock upgrades.
    write_lock: tokio::sync::Mutex<()>,
}

/// One row of a chain, as `verify` and `export` read it.
#[derive(Clone, Debug)]
pub struct ChainRow {
    pub site: String,
    pub seq: i64,
    pub receipt_id: String,
    pub body: String,
    pub prev_hash: String,
    pub hash: String,
    pub signature: String,
}

/// One row of the impressions table.
#[derive(Clone, Debug)]
pub struct ImpressionCount {
    pub day: String,
    pub language: String,
    pub variant: String,
    pub page: String,
    pub count: i64,
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

impl Store {
    /// Opens (creating a SQLite file on first run) and migrates the database.
    pub async fn open(url: &str) -> Result<Store> {
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
                format!("{url}{separator}mode=rwc")
            }
            _ => url.to_owned(),
        };
        let mut options =
            AnyPoolOptions::new().max_connections(if backend == Backend::Sqlite { 4 } else { 8 });
        if backend == Backend::Sqlite {
            options = options.after_connect(|connection, _| {
                Box::pin(async move {
                    for pragma in [
                        "PRAGMA journal_mode=WAL",
                        "PRAGMA synchronous=FULL",
                        "PRAGMA busy_timeout=5000",
                    ] {
                        connection.execute(pragma).await?;
                    }
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
        Ok(Store {
            pool,
            backend,
            write_lock: tokio::sync::Mutex::new(()),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Stores a receipt at the end of its site's chain; `true` in the answer means the id was
    /// already stored and the stored record is returned unchanged (idempotency).
    pub async fn insert_receipt(
        &self,
        receipt: ReceiptInput,
        ip_prefix: Option<String>,
        signer: &Signer,
        now: OffsetDateTime,
    ) -> Result<(ReceiptRecord, bool)> {
        if let Some(existing) = self.receipt(&receipt.receipt_id).await? {
            return Ok((existing, true));
        }
        let _guard = match self.backend {
            Backend::Sqlite => Some(self.write_lock.lock().await),
            Backend::Postgres => None,
        };
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO chain_heads (site, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (site) DO NOTHING")
            .bind(&receipt.site)
            .bind(GENESIS_HASH)
            .execute(&mut *tx)
            .await?;
        let head_sql = match self.backend {
            Backend::Sqlite => "SELECT seq, hash FROM chain_heads WHERE site = $1",
            Backend::Postgres => "SELECT seq, hash FROM chain_heads WHERE site = $1 FOR UPDATE",
        };
        let head = sqlx::query(head_sql)
            .bind(&receipt.site)
            .fetch_one(&mut *tx)
            .await?;
        let (head_seq, head_hash): (i64, String) = (head.try_get(0)?, head.try_get(1)?);
        // Another instance may have stored the same id while this one waited for the head lock.
        let again = sqlx::query(
            "SELECT body, prev_hash, hash, signature FROM receipts WHERE receipt_id = $1",
        )
        .bind(&receipt.receipt_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = again {
            tx.rollback().await?;
            return Ok((record_from_row(&row)?, true));
        }
        let stored = StoredReceipt {
            seq: head_seq + 1,
            server_time: format_time(now),
            ip_prefix,
            receipt,
        };
        let body = serde_json::to_string(&stored)?;
        let hash = link_hash(&head_hash, &body);
        let signature = signer.sign(&hash);
        sqlx::query(
            "INSERT INTO receipts (site, seq, receipt_id, consent_id, server_time, action, body, prev_hash, hash, signature) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&stored.receipt.site)
        .bind(stored.seq)
        .bind(&stored.receipt.receipt_id)
        .bind(&stored.receipt.consent_id)
        .bind(&stored.server_time)
        .bind(&stored.receipt.action)
        .bind(&body)
        .bind(&head_hash)
        .bind(&hash)
        .bind(&signature)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE chain_heads SET seq = $2, hash = $3 WHERE site = $1")
            .bind(&stored.receipt.site)
            .bind(stored.seq)
            .bind(&hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok((
            ReceiptRecord {
                stored,
                prev_hash: head_hash,
                hash,
                signature,
            },
            false,
        ))
    }

    pub async fn receipt(&self, receipt_id: &str) -> Result<Option<ReceiptRecord>> {
        let row = sqlx::query(
            "SELECT body, prev_hash, hash, signature FROM receipts WHERE receipt_id = $1",
        )
        .bind(receipt_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(record_from_row).transpose()
    }

    /// Every receipt of one browser's consent id, oldest first.
    pub async fn consent_history(&self, consent_id: &str) -> Result<Vec<ReceiptRecord>> {
        let rows = sqlx::query(
            "SELECT body, prev_hash, hash, signature FROM receipts WHERE consent_id = $1 ORDER BY server_time, site, seq",
        )
        .bind(consent_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(record_from_row).collect()
    }

    /// Every stored receipt in chain order (site, then seq).
    pub async fn chain_rows(&self) -> Result<Vec<ChainRow>> {
        let rows = sqlx::query(
            "SELECT site, seq, receipt_id, body, prev_hash, hash, signature FROM receipts ORDER BY site, seq",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ChainRow {
                    site: row.try_get(0)?,
                    seq: row.try_get(1)?,
                    receipt_id: row.try_get(2)?,
                    body: row.try_get(3)?,
                    prev_hash: row.try_get(4)?,
                    hash: row.try_get(5)?,
                    signature: row.try_get(6)?,
                })
            })
            .collect()
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
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO impressions (site, day, language, variant, page, count) VALUES ($1, $2, $3, $4, $5, 1) \
             ON CONFLICT (site, day, language, variant, page) DO UPDATE SET count = impressions.count + 1",
        )
        .bind(site)
        .bind(day)
        .bind(language)
        .bind(variant)
        .bind(page)
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

    /// Impression counts of a site between two days (inclusive, `YYYY-MM-DD`).
    pub async fn impressions(
        &self,
        site: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<ImpressionCount>> {
        let rows = sqlx::query(
            "SELECT day, language, variant, page, count FROM impressions WHERE site = $1 AND day >= $2 AND day <= $3",
        )
        .bind(site)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ImpressionCount {
                    day: row.try_get(0)?,
                    language: row.try_get(1)?,
                    variant: row.try_get(2)?,
                    page: row.try_get(3)?,
                    count: row.try_get(4)?,
                })
            })
            .collect()
    }

    /// The stored receipts of one site in chain order (the stats read their bodies).
    pub async fn site_receipts(&self, site: &str) -> Result<Vec<StoredReceipt>> {
        let rows = sqlx::query("SELECT body FROM receipts WHERE site = $1 ORDER BY seq")
            .bind(site)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok(serde_json::from_str(&row.try_get::<String, _>(0)?)?))
            .collect()
    }

    /// Deletes a site's receipts stored before `before` and records a signed checkpoint at
    /// the last deleted link, so the rest of the chain still verifies. Returns how many rows
    /// were deleted.
    pub async fn purge(&self, site: &str, before: &str, signer: &Signer) -> Result<u64> {
        let _guard = match self.backend {
            Backend::Sqlite => Some(self.write_lock.lock().await),
            Backend::Postgres => None,
        };
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT seq FROM chain_heads WHERE site = $1 FOR UPDATE")
                .bind(site)
                .fetch_optional(&mut *tx)
                .await?;
        }
        let last = sqlx::query(
            "SELECT seq, hash FROM receipts WHERE site = $1 AND server_time < $2 ORDER BY seq DESC LIMIT 1",
        )
        .bind(site)
        .bind(before)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(last) = last else {
            tx.rollback().await?;
            return Ok(0);
        };
        let (seq, hash): (i64, String) = (last.try_get(0)?, last.try_get(1)?);
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
        let deleted = sqlx::query("DELETE FROM receipts WHERE site = $1 AND seq <= $2")
            .bind(site)
            .bind(seq)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(deleted)
    }

    /// Raw SQL for tests that tamper with the database to prove `verify` notices.
    pub async fn execute_raw(&self, sql: &str) -> Result<u64> {
        Ok(sqlx::query(sql).execute(&self.pool).await?.rows_affected())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
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
