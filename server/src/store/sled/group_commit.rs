//! Group commit: concurrent writers share one blocking `flush()` instead of paying one each.
//!
//! sled 0.34.7's `flush_async()` hangs once 16 or more calls are in flight (sled #1308), so it
//! is never used. One flusher task runs the blocking `flush()` on a blocking thread; a writer
//! waits for a flush that *started* after its write, which makes its write durable.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{Notify, watch};

/// The outcome of the last finished flush: its epoch and whether it failed.
#[derive(Clone, Debug)]
struct Finished {
    epoch: u64,
    error: Option<Arc<str>>,
}

/// Shared state between writers and the flusher task.
#[derive(Debug)]
pub(crate) struct GroupCommit {
    /// Epoch of the newest flush that has started.
    started: AtomicU64,
    /// Highest epoch any writer waits for.
    wanted: AtomicU64,
    wake: Notify,
    finished: watch::Sender<Finished>,
    /// Set once a flush failed: what is in memory may not be on disk, so writes stop.
    failed: std::sync::atomic::AtomicBool,
}

impl GroupCommit {
    /// A new group commit with no flush started.
    pub(crate) fn new() -> Arc<Self> {
        let (finished, _) = watch::channel(Finished {
            epoch: 0,
            error: None,
        });
        Arc::new(GroupCommit {
            started: AtomicU64::new(0),
            wanted: AtomicU64::new(0),
            wake: Notify::new(),
            finished,
            failed: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Whether a flush has failed since start-up.
    pub(crate) fn failed(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }

    /// Records that a flush failed: what is in memory may not be on disk, so writes stop.
    pub(crate) fn fail(&self, error: &str) {
        self.failed.store(true, Ordering::SeqCst);
        tracing::error!(error = %error, "flushing the store failed; refusing further writes until restart");
    }

    /// Waits until everything written before this call is on disk.
    pub(crate) async fn wait_durable(&self) -> Result<(), Arc<str>> {
        // A flush with an epoch above `started` begins after this load, so after our write.
        let target = self.started.load(Ordering::SeqCst) + 1;
        let mut rx = self.finished.subscribe();
        self.wanted.fetch_max(target, Ordering::SeqCst);
        self.wake.notify_one();
        let done = rx
            .wait_for(|f| f.epoch >= target)
            .await
            .map_err(|_| Arc::<str>::from("the store is shutting down"))?
            .clone();
        match done.error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The flusher loop: runs `flush` whenever a writer waits, until `stop` fires and no
    /// writer waits any more.
    pub(crate) async fn run<F>(self: Arc<Self>, flush: F, stop: tokio_util::sync::CancellationToken)
    where
        F: Fn() -> Result<(), String> + Send + Sync + Clone + 'static,
    {
        loop {
            let finished = self.finished.borrow().epoch;
            if self.wanted.load(Ordering::SeqCst) <= finished {
                tokio::select! {
                    () = self.wake.notified() => continue,
                    () = stop.cancelled() => {
                        if self.wanted.load(Ordering::SeqCst) <= self.finished.borrow().epoch {
                            return;
                        }
                    }
                }
            }
            let epoch = self.started.fetch_add(1, Ordering::SeqCst) + 1;
            let flush = flush.clone();
            let result = tokio::task::spawn_blocking(flush)
                .await
                .unwrap_or_else(|e| Err(format!("flush task failed: {e}")));
            let error = result.err().map(|e| {
                self.fail(&e);
                Arc::<str>::from("the store could not write to disk")
            });
            self.finished.send_replace(Finished { epoch, error });
        }
    }
}
