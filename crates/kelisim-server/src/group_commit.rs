//! Group commit: receipts posted at about the same time are stored in one transaction, so one
//! fsync acknowledges many of them. Handlers hand each receipt to [`ReceiptWriter::insert`] and
//! wait for the answer; one writer task takes everything waiting (up to [`MAX_BATCH`]), stores
//! it with [`Store::insert_receipts`] and answers each request only after the commit, so every
//! `201` is still durable. Under light load a batch is one receipt and nothing waits longer
//! than its own commit; under heavy load the batch grows while the previous one commits.
//!
//! After each commit the writer notes the new chain heads in the head log (`heads`), which
//! signs and appends them at most once per [`crate::heads::HEAD_INTERVAL`], and once more when
//! the writer stops.
//!
//! If a batch fails, each of its receipts is retried in a transaction of its own, so one bad
//! receipt never fails the others and each request gets its own error; when the database is
//! unavailable, every request of the batch is answered at once (`503` with `Retry-After`).

use crate::chain::Signer;
use crate::error::StoreUnavailable;
use crate::heads::HeadLog;
use crate::receipt::ReceiptRecord;
use crate::store::{NewReceipt, Store};
use anyhow::{anyhow, Result};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// The most receipts stored in one transaction.
pub const MAX_BATCH: usize = 512;

/// Requests waiting for the writer before new ones wait for room (back-pressure).
const QUEUE_LENGTH: usize = 4096;

type Answer = Result<(ReceiptRecord, bool)>;

struct Job {
    receipt: NewReceipt,
    reply: oneshot::Sender<Answer>,
}

/// The handle handlers use; the writer task ends when the last handle is dropped, after
/// storing what was already handed to it.
#[derive(Clone)]
pub struct ReceiptWriter {
    sender: mpsc::Sender<Job>,
}

impl ReceiptWriter {
    /// Starts the writer task on the current tokio runtime.
    /// Starts the writer task on the current tokio runtime; `heads` (when given) receives
    /// every committed chain head. The returned handle finishes once the writer has stored
    /// everything handed to it and written the last heads, after every `ReceiptWriter` is gone.
    pub fn spawn(
        store: Store,
        signer: Arc<Signer>,
        heads: Option<HeadLog>,
    ) -> (ReceiptWriter, tokio::task::JoinHandle<()>) {
        let (sender, receiver) = mpsc::channel(QUEUE_LENGTH);
        let task = tokio::spawn(run(store, signer, receiver, heads));
        (ReceiptWriter { sender }, task)
    }

    /// Stores one receipt (see [`Store::insert_receipts`]) and answers after its commit.
    pub async fn insert(&self, receipt: NewReceipt) -> Answer {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Job { receipt, reply })
            .await
            .map_err(|_| anyhow!("the receipt writer has stopped"))?;
        let waiting = self.sender.max_capacity() - self.sender.capacity();
        metrics::gauge!(crate::telemetry::QUEUE_DEPTH).set(waiting as f64);
        answer
            .await
            .map_err(|_| anyhow!("the receipt writer stopped before answering"))?
    }
}

async fn run(
    store: Store,
    signer: Arc<Signer>,
    mut receiver: mpsc::Receiver<Job>,
    mut heads: Option<HeadLog>,
) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    loop {
        let due = heads.as_ref().and_then(HeadLog::due_at);
        let received = match due {
            Some(due) => {
                let wait =
                    tokio::time::timeout_at(due.into(), receiver.recv_many(&mut jobs, MAX_BATCH));
                wait.await.ok()
            }
            None => Some(receiver.recv_many(&mut jobs, MAX_BATCH).await),
        };
        match received {
            // The heads are due and nothing came meanwhile.
            None => write_heads(&mut heads, &signer),
            Some(0) => break,
            Some(_) => {
                store_batch(&store, &signer, &mut jobs, &mut heads).await;
                if heads
                    .as_ref()
                    .and_then(HeadLog::due_at)
                    .is_some_and(|due| due <= std::time::Instant::now())
                {
                    write_heads(&mut heads, &signer);
                }
            }
        }
    }
    write_heads(&mut heads, &signer);
}

/// Signs and appends the pending heads. A failure to write them is logged, not fatal: the
/// receipts are stored and signed, and the log only lags (verify then checks less far).
fn write_heads(heads: &mut Option<HeadLog>, signer: &Signer) {
    if let Some(log) = heads {
        if let Err(error) = log.write(signer) {
            tracing::error!("could not write the head log: {error:#}");
        }
    }
}

/// Stores one batch and answers each of its requests.
async fn store_batch(
    store: &Store,
    signer: &Signer,
    jobs: &mut Vec<Job>,
    heads: &mut Option<HeadLog>,
) {
    let (receipts, replies): (Vec<NewReceipt>, Vec<oneshot::Sender<Answer>>) =
        jobs.drain(..).map(|job| (job.receipt, job.reply)).unzip();
    let mut note = |answer: &Answer| match answer {
        Ok((record, false)) => {
            metrics::counter!(crate::telemetry::RECEIPTS_STORED).increment(1);
            if let Some(log) = heads.as_mut() {
                log.note(&record.stored.receipt.site, record.stored.seq, &record.hash);
            }
        }
        Ok((_, true)) => metrics::counter!(crate::telemetry::RECEIPTS_REPLAYED).increment(1),
        Err(_) => {}
    };
    let started = std::time::Instant::now();
    let stored = store.insert_receipts(&receipts, signer).await;
    metrics::histogram!(crate::telemetry::COMMIT_SECONDS).record(started.elapsed().as_secs_f64());
    match stored {
        Ok(answers) => {
            for (reply, answer) in replies.into_iter().zip(answers) {
                let answer = Ok(answer);
                note(&answer);
                // The request may have gone away (client disconnected): the receipt is
                // stored all the same, and a retry with its id is answered from the store.
                let _ = reply.send(answer);
            }
        }
        Err(error) if receipts.len() == 1 => {
            if let Some(reply) = replies.into_iter().next() {
                let _ = reply.send(Err(error));
            }
        }
        Err(error) if crate::error::is_unavailable(&error) => {
            // Retrying one by one would only wait for the database again per receipt.
            let cause = format!("{error:#}");
            for reply in replies {
                let _ = reply.send(Err(StoreUnavailable(cause.clone()).into()));
            }
        }
        Err(error) => {
            tracing::warn!(
                "a batch of {} receipts failed ({error:#}); storing them one by one",
                receipts.len()
            );
            for (new, reply) in receipts.into_iter().zip(replies) {
                let answer = store
                    .insert_receipt(new.receipt, new.ip_prefix, signer, new.now)
                    .await;
                note(&answer);
                let _ = reply.send(answer);
            }
        }
    }
}
