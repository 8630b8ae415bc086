//! The one commit machine: a dedicated thread that writes queued courses in batches and makes
//! every write durable with one `flush()` shared by all writers waiting at that moment.
//!
//! Two kinds of job reach it through one queue:
//! - a **course** to write: courses are the write users make most, so the thread checks and
//!   writes every course queued meanwhile in one transaction;
//! - a **durable** request from a writer that already applied its transaction under the
//!   store's write lock and now waits until it is on disk.
//!
//! Per batch the thread writes the courses, calls `flush()` once (which covers every write
//! applied before the batch was taken), then answers every job of the batch. A dedicated
//! thread, not tasks: per batch that saves the hand-offs between runtime threads, blocking
//! threads and a flusher task, which cost more than the write itself (BENCHMARKS.md). sled
//! 0.34.7's `flush_async()` hangs once 16 or more calls are in flight (sled #1308), so it is
//! never used.

use super::{Inner, Result, SledStore, StoreError};
use crate::domain::{Actor, Course};
use crate::store::AlertsAfter;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use tokio::sync::oneshot;

/// Most courses one batch writes.
const COURSE_BATCH: usize = 1024;

/// A batch at least this large means concurrent writers: the next one lingers for them.
const LINGER_FROM: usize = 4;

/// The longest the committer lingers for a batch to fill (see [`CommitQueue::next_batch`]).
const LINGER: std::time::Duration = std::time::Duration::from_millis(1);

/// Work for the committer thread.
// Jobs only pass through the queue's vector; boxing the course would cost an allocation per
// course written.
#[allow(clippy::large_enum_variant)]
pub(super) enum Job {
    /// A course to check and write; the answer is the stored course.
    Course {
        course: Course,
        /// Who logs it, for its history entry.
        actor: Option<Arc<Actor>>,
        /// Run inside the batch's write for the course's holder.
        after: Option<Arc<dyn AlertsAfter>>,
        /// Refused when the holder has a course that looks the same.
        distinct: bool,
        reply: oneshot::Sender<Result<Course>>,
    },
    /// A write already applied that must be made durable.
    Durable { reply: oneshot::Sender<Result<()>> },
}

/// Jobs waiting for the committer thread, and how to wake it.
#[derive(Default)]
pub(super) struct CommitQueue {
    state: Mutex<QueueState>,
    wake: Condvar,
    /// Set once a flush failed: what is in memory may not be on disk, so writes stop.
    failed: AtomicBool,
}

#[derive(Default)]
struct QueueState {
    jobs: Vec<Job>,
    /// The committer waits on `wake`: only then does a new job need a notify (a syscall).
    idle: bool,
    /// While lingering, the queue length worth waking the committer for.
    want: usize,
    stopping: bool,
}

impl CommitQueue {
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a flush has failed since start-up.
    pub(super) fn failed(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }

    fn fail(&self, error: &str) {
        self.failed.store(true, Ordering::SeqCst);
        tracing::error!(error = %error, "flushing the store failed; refusing further writes until restart");
    }

    /// Queues `job`; false (and `job` dropped) if the store is shutting down.
    fn push(&self, job: Job) -> bool {
        let mut state = self.lock();
        if state.stopping {
            return false;
        }
        state.jobs.push(job);
        if state.idle && state.jobs.len() >= state.want {
            state.idle = false;
            self.wake.notify_one();
        }
        true
    }

    /// Refuses new jobs; the committer finishes what is queued, then ends.
    pub(super) fn stop(&self) {
        let mut state = self.lock();
        state.stopping = true;
        state.idle = false;
        self.wake.notify_one();
    }

    /// Queues a course and waits for its answer.
    pub(super) async fn write_course(
        &self,
        course: Course,
        actor: Option<Arc<Actor>>,
        after: Option<Arc<dyn AlertsAfter>>,
        distinct: bool,
    ) -> Result<Course> {
        if self.failed() {
            return Err(StoreError::WriteFailed);
        }
        let (reply, answer) = oneshot::channel();
        if !self.push(Job::Course {
            course,
            actor,
            after,
            distinct,
            reply,
        }) {
            return Err(shutting_down());
        }
        answer.await.unwrap_or_else(|_| Err(shutting_down()))
    }

    /// Waits until every write applied before this call is on disk.
    pub(super) async fn wait_durable(&self) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        if !self.push(Job::Durable { reply }) {
            return Err(shutting_down());
        }
        answer.await.unwrap_or_else(|_| Err(shutting_down()))
    }

    /// The next batch, waiting for one; `None` once stopping and empty.
    ///
    /// Group commit with a short linger: when the previous batch had [`LINGER_FROM`] or more
    /// jobs, several writers are active, so it waits up to [`LINGER`] for as many to queue
    /// again. Fewer, larger batches cost less CPU per write (each batch is a transaction, a
    /// flush and their thread hand-offs); a lone writer never waits.
    fn next_batch(&self, previous: usize) -> Option<Vec<Job>> {
        let mut state = self.lock();
        loop {
            if !state.jobs.is_empty() {
                if previous >= LINGER_FROM && state.jobs.len() < previous && !state.stopping {
                    let deadline = std::time::Instant::now() + LINGER;
                    state.want = previous;
                    while state.jobs.len() < previous && !state.stopping {
                        let left = deadline.saturating_duration_since(std::time::Instant::now());
                        if left.is_zero() {
                            break;
                        }
                        state.idle = true;
                        state = self
                            .wake
                            .wait_timeout(state, left)
                            .map(|(s, _)| s)
                            .unwrap_or_else(|p| p.into_inner().0);
                    }
                    state.want = 0;
                    state.idle = false;
                }
                let n = state.jobs.len().min(COURSE_BATCH);
                return Some(state.jobs.drain(..n).collect());
            }
            if state.stopping {
                return None;
            }
            state.idle = true;
            state = self.wake.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }
}

fn shutting_down() -> StoreError {
    StoreError::Storage("the store is shutting down".into())
}

/// A course of a batch and its answer so far.
pub(super) type CourseAnswer = (oneshot::Sender<Result<Course>>, Result<Course>);

/// A queued course: where to answer, the course, and whether a twin refuses it.
pub(super) type CourseJob = (oneshot::Sender<Result<Course>>, Result<Course>, bool);

/// The committer thread: runs batches until the store stops and the queue is empty. Holds a
/// weak reference so that dropping every store handle still closes sled.
pub(super) fn committer(inner: &Weak<Inner>, queue: &CommitQueue) {
    let mut previous = 0;
    while let Some(jobs) = queue.next_batch(previous) {
        previous = jobs.len();
        let Some(strong) = inner.upgrade() else {
            return;
        };
        let store = SledStore {
            inner: strong,
            actor: None,
            after: None,
        };
        let mut courses = Vec::new();
        let mut actors = Vec::new();
        // Every handle of one daemon carries the same rule; a batch runs it once.
        let mut rule: Option<Arc<dyn AlertsAfter>> = None;
        let mut durable = Vec::new();
        for job in jobs {
            match job {
                Job::Course {
                    course,
                    actor,
                    after,
                    distinct,
                    reply,
                } => {
                    courses.push((reply, Ok(course), distinct));
                    actors.push(actor);
                    rule = rule.or(after);
                }
                Job::Durable { reply } => durable.push(reply),
            }
        }
        let mut answers: Vec<CourseAnswer> = if courses.is_empty() {
            Vec::new()
        } else {
            store.write_course_batch(courses, actors, rule)
        };
        let wrote = !durable.is_empty() || answers.iter().any(|(_, a)| a.is_ok());
        let flushed = if wrote && !queue.failed() {
            store.inner.db.flush().map(drop).map_err(|e| {
                queue.fail(&e.to_string());
            })
        } else if queue.failed() {
            Err(())
        } else {
            Ok(())
        };
        drop(store);
        if flushed.is_err() {
            for (_, answer) in &mut answers {
                if answer.is_ok() {
                    *answer = Err(StoreError::WriteFailed);
                }
            }
        }
        for (reply, answer) in answers {
            let _ = reply.send(answer);
        }
        for reply in durable {
            let _ = reply.send(flushed.map_err(|()| StoreError::WriteFailed));
        }
    }
}
