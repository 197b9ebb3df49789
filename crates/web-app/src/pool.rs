//! Predictions run on a few threads of their own, behind a bounded queue, never on the async
//! workers: a slow or stuck model then delays predictions only, and the server keeps answering
//! every other route (`/healthz` says the model is not answering). A full queue is refused at
//! once ([`PoolError::Busy`], answered 503) rather than waited on.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

type Job = Box<dyn FnOnce() + Send>;

/// Why the pool gave no result.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PoolError {
    /// Every thread is busy and the queue is full.
    #[error("the server is busy: {queue} predictions are already waiting")]
    Busy {
        /// The queue's length.
        queue: usize,
    },
    /// The prediction panicked: a bug of the model, not of the request.
    #[error("the prediction panicked: {0}")]
    Panicked(String),
    /// The pool's threads could not start, or are gone.
    #[error("the prediction threads are not running: {0}")]
    Stopped(String),
}

/// A fixed set of threads running predictions from a bounded queue. The threads start with
/// the first prediction, so that building an app costs nothing until it serves.
#[derive(Clone)]
pub struct PredictionPool {
    started: Arc<OnceLock<Result<SyncSender<Job>, String>>>,
    on_start: Arc<dyn Fn() + Send + Sync>,
    queue: usize,
    threads: usize,
}

impl std::fmt::Debug for PredictionPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PredictionPool")
            .field("threads", &self.threads)
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

impl PredictionPool {
    /// `threads` threads (at least one) taking jobs from a queue of `queue` (at least one);
    /// `on_start` runs first on each thread (to set libtorch's thread count, say).
    pub fn new(
        threads: usize,
        queue: usize,
        on_start: impl Fn() + Send + Sync + 'static,
    ) -> PredictionPool {
        PredictionPool {
            started: Arc::new(OnceLock::new()),
            on_start: Arc::new(on_start),
            queue: queue.max(1),
            threads: threads.max(1),
        }
    }

    /// The queue's sender, starting the threads the first time.
    fn sender(&self) -> Result<&SyncSender<Job>, PoolError> {
        self.started
            .get_or_init(|| {
                let (sender, receiver) = sync_channel::<Job>(self.queue);
                let receiver = Arc::new(Mutex::new(receiver));
                for index in 0..self.threads {
                    let (receiver, on_start) = (receiver.clone(), self.on_start.clone());
                    std::thread::Builder::new()
                        .name(format!("predict-{index}"))
                        .spawn(move || {
                            on_start();
                            work(&receiver);
                        })
                        .map_err(|error| format!("starting a prediction thread: {error}"))?;
                }
                Ok(sender)
            })
            .as_ref()
            .map_err(|message| PoolError::Stopped(message.clone()))
    }

    /// Runs `job` on a pool thread and waits (asynchronously) for its result; refused at once
    /// when the queue is full. A caller that stops waiting (a deadline) leaves the job to
    /// finish and its result unread.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        let (answer, result) = tokio::sync::oneshot::channel();
        let wrapped: Job = Box::new(move || {
            let outcome = catch_unwind(AssertUnwindSafe(job)).map_err(|panic| {
                panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".into())
            });
            let _ = answer.send(outcome);
        });
        self.sender()?
            .try_send(wrapped)
            .map_err(|error| match error {
                TrySendError::Full(_) => PoolError::Busy { queue: self.queue },
                TrySendError::Disconnected(_) => {
                    PoolError::Stopped("every thread has ended".into())
                }
            })?;
        match result.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(message)) => Err(PoolError::Panicked(message)),
            Err(_) => Err(PoolError::Stopped("the thread dropped the job".into())),
        }
    }
}

/// A pool thread: jobs until every sender is gone.
fn work(receiver: &Mutex<Receiver<Job>>) {
    loop {
        let job = {
            let receiver = receiver.lock().unwrap_or_else(PoisonError::into_inner);
            receiver.recv()
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn jobs_run_off_the_caller_and_a_full_queue_is_refused_at_once() {
        let pool = PredictionPool::new(1, 1, || {});
        assert_eq!(pool.run(|| 2 + 2).await.unwrap(), 4);
        // One job blocks the thread, one waits in the queue: the third is refused.
        let (release, blocked) = std::sync::mpsc::channel::<()>();
        let blocker = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(move || blocked.recv().ok()).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let waiting = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(|| 1).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let refused = pool.run(|| 0).await;
        assert!(
            matches!(refused, Err(PoolError::Busy { queue: 1 })),
            "{refused:?}"
        );
        release.send(()).unwrap();
        assert_eq!(blocker.await.unwrap().unwrap(), Some(()));
        assert_eq!(waiting.await.unwrap().unwrap(), 1);
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error_and_the_thread_lives_on() {
        let pool = PredictionPool::new(1, 4, || {});
        let error = pool
            .run(|| -> u8 { panic!("bad model") })
            .await
            .unwrap_err();
        assert!(
            matches!(&error, PoolError::Panicked(m) if m == "bad model"),
            "{error:?}"
        );
        assert_eq!(pool.run(|| 7).await.unwrap(), 7);
    }
}
