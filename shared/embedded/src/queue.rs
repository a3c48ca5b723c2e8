//! The queue port on redb: at-least-once, visibility timeouts, receive counts and a dead-letter move, all
//! surviving a restart.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use kefu_ports::queue::{MAX_BATCH, MAX_DELAY, Queue, QueueError, QueueMessage};
use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::keys;
use crate::store::{EmbeddedStore, QUEUE_MESSAGES, QUEUE_READY};

/// One queue of the embedded store.
pub struct EmbeddedQueue {
    store: Arc<EmbeddedStore>,
    name: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Record {
    body: String,
    receive_count: u32,
    visible_at: u64,
    /// Changes with every receive, so a receipt names one delivery.
    delivery: u64,
}

fn db(e: impl std::fmt::Display) -> QueueError {
    QueueError::Unavailable(e.to_string())
}

/// Message ids increase within a millisecond too, so messages sent together are received in order
/// (best-effort FIFO, like a standard SQS queue on a quiet day).
fn next_id() -> String {
    static GENERATOR: std::sync::Mutex<Option<ulid::Generator>> = std::sync::Mutex::new(None);
    let mut g = GENERATOR.lock().expect("id generator");
    let g = g.get_or_insert_with(ulid::Generator::new);
    g.generate().unwrap_or_else(|_| Ulid::new()).to_string()
}

fn message_key(queue: &str, id: &str) -> Vec<u8> {
    keys::encode(&[queue, id])
}

fn ready_key(queue: &str, visible_at: u64, id: &str) -> Vec<u8> {
    let mut k = keys::encode(&[queue]);
    k.extend_from_slice(&visible_at.to_be_bytes());
    k.extend_from_slice(id.as_bytes());
    k
}

/// The time and the message id of a ready-index key, past its queue's prefix (the inverse of [`ready_key`]).
fn ready_entry(rest: &[u8]) -> (u64, &[u8]) {
    let (at, id) = rest.split_at(8);
    (u64::from_be_bytes(at.try_into().expect("8 bytes")), id)
}

fn receipt(id: &str, delivery: u64) -> String {
    format!("{id}.{delivery}")
}

fn parse_receipt(r: &str) -> Result<(String, u64), QueueError> {
    let (id, delivery) = r.split_once('.').ok_or(QueueError::InvalidReceipt)?;
    Ulid::from_string(id).map_err(|_| QueueError::InvalidReceipt)?;
    Ok((id.to_owned(), delivery.parse().map_err(|_| QueueError::InvalidReceipt)?))
}

/// Stores a new message in `queue`, visible now. Used by sends and by the topic's fan-out.
pub(crate) fn enqueue(tx: &WriteTransaction, queue: &str, body: &str, now: u64) -> Result<String, QueueError> {
    enqueue_at(tx, queue, body, now)
}

/// Stores a new message in `queue`, invisible until `visible_at` (ms since the epoch): a delayed send.
fn enqueue_at(tx: &WriteTransaction, queue: &str, body: &str, visible_at: u64) -> Result<String, QueueError> {
    let id = next_id();
    let rec = Record { body: body.to_owned(), receive_count: 0, visible_at, delivery: 0 };
    let bytes = serde_json::to_vec(&rec).map_err(db)?;
    tx.open_table(QUEUE_MESSAGES)
        .map_err(db)?
        .insert(message_key(queue, &id).as_slice(), bytes.as_slice())
        .map_err(db)?;
    tx.open_table(QUEUE_READY).map_err(db)?.insert(ready_key(queue, visible_at, &id).as_slice(), ()).map_err(db)?;
    Ok(id)
}

fn load(tx: &WriteTransaction, queue: &str, id: &str) -> Result<Option<Record>, QueueError> {
    let t = tx.open_table(QUEUE_MESSAGES).map_err(db)?;
    let got = t.get(message_key(queue, id).as_slice()).map_err(db)?;
    got.map(|v| serde_json::from_slice(v.value()).map_err(db)).transpose()
}

fn store(tx: &WriteTransaction, queue: &str, id: &str, old_visible: u64, rec: &Record) -> Result<(), QueueError> {
    let mut ready = tx.open_table(QUEUE_READY).map_err(db)?;
    ready.remove(ready_key(queue, old_visible, id).as_slice()).map_err(db)?;
    ready.insert(ready_key(queue, rec.visible_at, id).as_slice(), ()).map_err(db)?;
    let bytes = serde_json::to_vec(rec).map_err(db)?;
    tx.open_table(QUEUE_MESSAGES)
        .map_err(db)?
        .insert(message_key(queue, id).as_slice(), bytes.as_slice())
        .map_err(db)?;
    Ok(())
}

fn remove(tx: &WriteTransaction, queue: &str, id: &str, visible_at: u64) -> Result<(), QueueError> {
    tx.open_table(QUEUE_READY).map_err(db)?.remove(ready_key(queue, visible_at, id).as_slice()).map_err(db)?;
    tx.open_table(QUEUE_MESSAGES).map_err(db)?.remove(message_key(queue, id).as_slice()).map_err(db)?;
    Ok(())
}

/// Moves every queued message (waiting, in flight and dead-lettered, with its receive count and visibility)
/// from `from` to `to`, and answers how many moved: for a data directory whose queues lived in the same file as
/// the table before they got a file (and a writer) of their own. The copy is written before the originals are
/// removed, so a crash in between delivers a message twice at worst, which at-least-once delivery allows.
pub async fn move_queues(from: &Arc<EmbeddedStore>, to: &Arc<EmbeddedStore>) -> Result<usize, QueueError> {
    type Entries = (Vec<(Vec<u8>, Vec<u8>)>, Vec<Vec<u8>>);
    let (messages, ready): Entries = from
        .blocking(|s| -> Result<Entries, QueueError> {
            let tx = s.db.begin_read().map_err(db)?;
            let mut messages = Vec::new();
            for entry in tx.open_table(QUEUE_MESSAGES).map_err(db)?.iter().map_err(db)? {
                let (k, v) = entry.map_err(db)?;
                messages.push((k.value().to_vec(), v.value().to_vec()));
            }
            let mut ready = Vec::new();
            for entry in tx.open_table(QUEUE_READY).map_err(db)?.iter().map_err(db)? {
                ready.push(entry.map_err(db)?.0.value().to_vec());
            }
            Ok((messages, ready))
        })
        .await?;
    if messages.is_empty() && ready.is_empty() {
        return Ok(0);
    }
    let moved = messages.len();
    let keys: (Vec<Vec<u8>>, Vec<Vec<u8>>) = (messages.iter().map(|(k, _)| k.clone()).collect(), ready.clone());
    to.write(move |tx, _| -> Result<(), QueueError> {
        let mut t = tx.open_table(QUEUE_MESSAGES).map_err(db)?;
        for (k, v) in &messages {
            t.insert(k.as_slice(), v.as_slice()).map_err(db)?;
        }
        let mut r = tx.open_table(QUEUE_READY).map_err(db)?;
        for k in &ready {
            r.insert(k.as_slice(), ()).map_err(db)?;
        }
        Ok(())
    })
    .await?;
    from.write(move |tx, _| -> Result<(), QueueError> {
        let mut t = tx.open_table(QUEUE_MESSAGES).map_err(db)?;
        for k in &keys.0 {
            t.remove(k.as_slice()).map_err(db)?;
        }
        let mut r = tx.open_table(QUEUE_READY).map_err(db)?;
        for k in &keys.1 {
            r.remove(k.as_slice()).map_err(db)?;
        }
        Ok(())
    })
    .await?;
    Ok(moved)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

enum Polled {
    Got(Vec<QueueMessage>),
    /// Nothing visible; the earliest hidden message shows again at this time.
    Empty(Option<u64>),
}

impl EmbeddedQueue {
    pub(crate) fn new(store: Arc<EmbeddedStore>, name: String) -> Self {
        Self { store, name }
    }

    /// This queue's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// When the earliest message of this queue is (or was) visible, in the current snapshot; `None` when the
    /// queue is empty. A read, on the calling task: a receive that finds nothing due costs no write transaction
    /// (and no fsync), where a poll would commit one with no change.
    fn first_visible_at(&self) -> Result<Option<u64>, QueueError> {
        let prefix = keys::encode(&[&self.name]);
        self.store.inline(|s| {
            let tx = s.db.begin_read().map_err(db)?;
            let ready = tx.open_table(QUEUE_READY).map_err(db)?;
            let first = ready.range::<&[u8]>(prefix.as_slice()..).map_err(db)?.next().transpose().map_err(db)?;
            Ok(first.and_then(|(k, _)| k.value().strip_prefix(prefix.as_slice()).map(|rest| ready_entry(rest).0)))
        })
    }

    async fn poll(&self, max: usize, visibility: Duration) -> Result<Polled, QueueError> {
        let name = self.name.clone();
        let (polled, moved_to) = self
            .store
            .write(move |tx, shared| -> Result<(Polled, Option<String>), QueueError> {
                let now = shared.now_ms();
                let redrive = shared.redrive_of(&name);
                let prefix = keys::encode(&[&name]);
                let mut due = Vec::new();
                let mut next_visible = None;
                {
                    let ready = tx.open_table(QUEUE_READY).map_err(db)?;
                    for entry in ready.range::<&[u8]>(prefix.as_slice()..).map_err(db)? {
                        let (k, _) = entry.map_err(db)?;
                        let k = k.value();
                        if !k.starts_with(&prefix) {
                            break;
                        }
                        let (at, id) = ready_entry(&k[prefix.len()..]);
                        if at > now {
                            next_visible = Some(at);
                            break;
                        }
                        due.push(String::from_utf8_lossy(id).into_owned());
                        if due.len() >= max {
                            break;
                        }
                    }
                }
                let mut out = Vec::new();
                let mut moved_to = None;
                for id in due {
                    let Some(mut rec) = load(tx, &name, &id)? else { continue };
                    let old = rec.visible_at;
                    if let Some(p) = redrive.as_ref().filter(|p| rec.receive_count >= p.max_receive_count) {
                        remove(tx, &name, &id, old)?;
                        enqueue(tx, &p.dead_letter_queue, &rec.body, now)?;
                        moved_to = Some(p.dead_letter_queue.clone());
                        continue;
                    }
                    rec.receive_count += 1;
                    rec.delivery += 1;
                    rec.visible_at = now.saturating_add(millis(visibility));
                    store(tx, &name, &id, old, &rec)?;
                    out.push(QueueMessage {
                        receipt: receipt(&id, rec.delivery),
                        id,
                        body: rec.body,
                        receive_count: rec.receive_count,
                    });
                }
                Ok((if out.is_empty() { Polled::Empty(next_visible) } else { Polled::Got(out) }, moved_to))
            })
            .await?;
        if let Some(dlq) = moved_to {
            self.store.notify_of(&dlq).notify_waiters();
        }
        Ok(polled)
    }

    async fn change(&self, receipt_handle: &str, visibility: Option<Duration>) -> Result<(), QueueError> {
        let (id, delivery) = parse_receipt(receipt_handle)?;
        let name = self.name.clone();
        self.store
            .write(move |tx, shared| -> Result<(), QueueError> {
                let now = shared.now_ms();
                match (load(tx, &name, &id)?, visibility) {
                    (None, None) => {}
                    (None, Some(_)) => return Err(QueueError::InvalidReceipt),
                    (Some(rec), None) => {
                        if rec.delivery == delivery {
                            remove(tx, &name, &id, rec.visible_at)?;
                        }
                    }
                    (Some(mut rec), Some(v)) => {
                        if rec.delivery != delivery || rec.visible_at <= now {
                            return Err(QueueError::InvalidReceipt);
                        }
                        let old = rec.visible_at;
                        rec.visible_at = now.saturating_add(millis(v));
                        store(tx, &name, &id, old, &rec)?;
                    }
                }
                Ok(())
            })
            .await?;
        if visibility == Some(Duration::ZERO) {
            self.store.notify_of(&self.name).notify_waiters();
        }
        Ok(())
    }
}

#[async_trait]
impl Queue for EmbeddedQueue {
    async fn send(&self, body: &str) -> Result<String, QueueError> {
        let mut ids = self.send_batch(&[body.to_owned()]).await?;
        Ok(ids.remove(0))
    }

    async fn send_delayed(&self, body: &str, delay: Duration) -> Result<String, QueueError> {
        let name = self.name.clone();
        let body = body.to_owned();
        let delay = millis(delay.min(MAX_DELAY));
        let id = self
            .store
            .write(move |tx, shared| -> Result<String, QueueError> {
                enqueue_at(tx, &name, &body, shared.now_ms().saturating_add(delay))
            })
            .await?;
        // A receiver waiting now recomputes its wake-up from the earliest hidden message.
        self.store.notify_of(&self.name).notify_waiters();
        Ok(id)
    }

    async fn send_batch(&self, bodies: &[String]) -> Result<Vec<String>, QueueError> {
        if bodies.len() > MAX_BATCH {
            return Err(QueueError::BatchTooLarge(bodies.len()));
        }
        let name = self.name.clone();
        let bodies = bodies.to_vec();
        let ids = self
            .store
            .write(move |tx, shared| -> Result<Vec<String>, QueueError> {
                let now = shared.now_ms();
                bodies.iter().map(|b| enqueue(tx, &name, b, now)).collect::<Result<Vec<_>, _>>()
            })
            .await?;
        self.store.notify_of(&self.name).notify_waiters();
        Ok(ids)
    }

    async fn receive(&self, max: usize, visibility: Duration, wait: Duration) -> Result<Vec<QueueMessage>, QueueError> {
        let max = max.clamp(1, MAX_BATCH);
        let deadline = tokio::time::Instant::now() + wait;
        let notify = self.store.notify_of(&self.name);
        loop {
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let next_visible = match self.first_visible_at()? {
                Some(at) if at <= self.store.now_ms() => match self.poll(max, visibility).await? {
                    Polled::Got(msgs) => return Ok(msgs),
                    Polled::Empty(next) => next,
                },
                later => later,
            };
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(Vec::new());
            }
            let mut wake = deadline;
            if let Some(at) = next_visible {
                let in_ms = at.saturating_sub(self.store.now_ms());
                wake = wake.min(now + Duration::from_millis(in_ms.max(1)));
            }
            let _ = tokio::time::timeout_at(wake, notified).await;
        }
    }

    async fn delete(&self, receipt_handle: &str) -> Result<(), QueueError> {
        self.change(receipt_handle, None).await
    }

    async fn change_visibility(&self, receipt_handle: &str, visibility: Duration) -> Result<(), QueueError> {
        self.change(receipt_handle, Some(visibility)).await
    }

    async fn delete_batch(&self, receipts: &[String]) -> Result<Vec<Result<(), QueueError>>, QueueError> {
        if receipts.len() > MAX_BATCH {
            return Err(QueueError::BatchTooLarge(receipts.len()));
        }
        let parsed: Vec<Result<(String, u64), QueueError>> = receipts.iter().map(|r| parse_receipt(r)).collect();
        if parsed.iter().all(Result::is_err) {
            return Ok(parsed.into_iter().map(|p| p.map(drop)).collect());
        }
        let name = self.name.clone();
        // One write job for the whole batch: each delete is what `delete` does (a receipt of an earlier delivery
        // leaves the message; one already gone is fine).
        self.store
            .write(move |tx, _| -> Result<Vec<Result<(), QueueError>>, QueueError> {
                let mut out = Vec::with_capacity(parsed.len());
                for p in parsed {
                    out.push(match p {
                        Ok((id, delivery)) => {
                            if let Some(rec) = load(tx, &name, &id)?
                                && rec.delivery == delivery
                            {
                                remove(tx, &name, &id, rec.visible_at)?;
                            }
                            Ok(())
                        }
                        Err(e) => Err(e),
                    });
                }
                Ok(out)
            })
            .await
    }

    async fn approximate_len(&self) -> Result<usize, QueueError> {
        let prefix = keys::encode(&[&self.name]);
        self.store
            .blocking(move |s| -> Result<usize, QueueError> {
                let tx = s.db.begin_read().map_err(db)?;
                let t = tx.open_table(QUEUE_READY).map_err(db)?;
                let mut n = 0;
                for entry in t.range::<&[u8]>(prefix.as_slice()..).map_err(db)? {
                    if !entry.map_err(db)?.0.value().starts_with(&prefix) {
                        break;
                    }
                    n += 1;
                }
                Ok(n)
            })
            .await
    }
}
